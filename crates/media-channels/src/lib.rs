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
//! | [`rtcp`] | compound iterator, SR/RR/SDES/BYE/APP, NACK, PLI, FIR, REMB, transport-wide CC; builders | 3550, 4585, 5104, 5506 |
//! | [`data`] | data channels: sans-IO [`SctpTransport`](data::SctpTransport) over sctp-proto, DCEP views and builders | 8831, 8832, 8841 |
//!
//! Nothing reads a clock or a random source: times are passed in.
#![forbid(unsafe_code)]

pub mod data;
mod error;
pub mod rtcp;
pub mod rtp;

pub use error::Error;
