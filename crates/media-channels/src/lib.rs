//! # media-channels: RTP, RTCP and (later) the media and data channels
//!
//! The fifth layer of peerstack, above [`sdp`]. In libwebrtc's structure it
//! will hold `BaseChannel` (one RTP and one RTCP transport, or one with
//! rtcp-mux), the `VoiceChannel`/`VideoChannel` pair with their media
//! channels, `DataChannel` (SCTP + DCEP) and the `ChannelManager` that
//! creates them: sans-IO cores in the shape of `docs/architecture.md`.
//!
//! What is here now is the wire layer those will stand on, in the `stun`
//! crate's pattern (parse validates once and records offsets, accessors read
//! the borrowed bytes and cannot panic, builders write into the caller's
//! buffer without allocating, one `Copy` error type that tells the peer's
//! fault from the caller's):
//!
//! | module | what | RFCs |
//! |---|---|---|
//! | [`rtp`] | [`RtpPacket`](rtp::RtpPacket) view, [`RtpBuilder`](rtp::RtpBuilder), header extensions | 3550, 8285 |
//! | [`rtp::extensions`] | mid, rid, repaired-rid, abs-send-time, transport-cc, audio level, CVO, playout delay; [`ExtensionMap`](rtp::extensions::ExtensionMap) | 8843, 8852, 6464 |
//! | [`rtp::sequence`] | sequence/timestamp unwrapping, A.1 sequence validation | 3550 A.1 |
//! | [`rtp::stats`] | loss (A.3), jitter (A.8), NTP/compact NTP, RTT, RTP↔NTP | 3550 |
//! | [`rtp_demuxer`] | libwebrtc's RtpDemuxer: BUNDLE demultiplexing by MID, SSRC, RID, payload type | 8843 §9.2, 8852 |
//! | [`rtp_parameters`] | libwebrtc's RtpParameters from the negotiated descriptions: codecs with RTX and feedback, extension ids, streams | 3264, 4588, 8285 |
//! | [`receive_stream`] | one received SSRC: A.1 sequence, A.3 loss, A.8 jitter, LSR/DLSR, NACK requests (libwebrtc's ReceiveStatistics + NackRequester) | 3550, 4585 |
//! | [`send_stream`] | one sent SSRC: sequence numbers, bounded packet history, RTX retransmission, SR sender info (libwebrtc's RTPSender + RtpPacketHistory) | 3550, 4588 |
//! | [`packetizer`] | encoded frames ↔ RTP payloads: Opus/G.711/G.722, VP8, VP9, H.264 (modes 0, 1), AV1; keyframe detection | 7587, 7741, 9628, 6184, AV1 RTP |
//! | [`frame_assembler`] | the jitter buffer: packets in, whole frames out in order; waits for NACKed packets, skips to keyframes | |
//! | [`base_channel`] | libwebrtc's BaseChannel + Voice/VideoMediaChannel: one m-section, encoded frames in and out, NACK/RTX, PLI/FIR, SR/RR | 3550, 4585, 4588, 5104 |
//! | [`channel_manager`] | libwebrtc's ChannelManager: channels per MID, one BUNDLE demuxer per transport, RTCP routing | 8843 |
//! | [`congestion`] | libwebrtc's GoogCC: TWCC feedback generator (RemoteEstimatorProxy), delay- and loss-based send-side estimator, pacer | draft-holmer-rmcat-transport-wide-cc-extensions-01, draft-ietf-rmcat-gcc-02 |
//! | [`rtcp`] | compound iterator, SR/RR/SDES/BYE/APP, NACK, PLI, FIR, REMB, transport-wide CC; builders | 3550, 4585, 5104, 5506 |
//! | [`data`] | data channels: sans-IO [`SctpTransport`](data::SctpTransport) over sctp-proto, DCEP views and builders | 8831, 8832, 8841 |
//!
//! Nothing reads a clock or a random source: times are passed in.
#![forbid(unsafe_code)]

pub mod base_channel;
pub mod channel_manager;
pub mod congestion;
pub mod data;
mod error;
pub mod frame_assembler;
pub mod packetizer;
pub mod receive_stream;
pub mod rtcp;
pub mod rtp;
pub mod rtp_demuxer;
pub mod rtp_parameters;
pub mod send_stream;

pub use error::Error;
/// The layer below, re-exported so the layer above (peerconnection) reaches
/// the descriptions, the TransportController, certificates and ICE through
/// this crate, as the layering rule asks.
pub use sdp;
