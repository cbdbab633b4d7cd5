//! libwebrtc's BaseChannel with its Voice/VideoMediaChannel, sans-IO: one
//! audio or video m-section, encoded frames in and out.
//!
//! [`set_local_content`](BaseChannel::set_local_content) and
//! [`set_remote_content`](BaseChannel::set_remote_content) take the
//! negotiated [`MediaContentDescription`]s: the local one says what we
//! receive (payload types, extension ids) and which SSRCs we send with
//! (`a=ssrc`, RTX by `FID`), the remote one what we send (the peer's first
//! media codec that both descriptions list, its extension ids) and which
//! SSRCs to expect. The direction
//! is the local description's. Media flows only while the transport is
//! writable ([`set_writable`](BaseChannel::set_writable): ICE connected and
//! DTLS-SRTP keys set, which the [`ChannelManager`](crate::channel_manager)
//! learns from the TransportController).
//!
//! - **Sending** ([`send_frame`](BaseChannel::send_frame)): the frame is
//!   split by the codec's packetizer, each payload gets an RTP header with
//!   the negotiated MID, abs-send-time and transport-wide sequence number
//!   extensions and goes out as plain RTP
//!   ([`poll_transmit`](BaseChannel::poll_transmit); SRTP is the
//!   TransportController's). Sent packets are kept for NACK; a NACK is
//!   answered once per round trip, as RTX when negotiated.
//! - **RID simulcast** (RFC 8853; [`send_frame_on_layer`](BaseChannel::send_frame_on_layer)):
//!   when our description sends `a=simulcast:send` layers, each layer the
//!   peer receives is its own stream (an SSRC of our own, its sequence
//!   numbers, the `rid` extension beside the MID, its own SR); the
//!   application encodes the layers. Layers have no RTX (a NACK resends the
//!   packet as it was), and a peer answering without simulcast gets the
//!   first layer alone.
//! - **Receiving** ([`handle_rtp`](BaseChannel::handle_rtp), after the BUNDLE
//!   demuxer): per SSRC a [`ReceiveStream`] (statistics, NACK) and a
//!   [`FrameAssembler`] (jitter buffer) turn packets, RTX included, into
//!   [`ChannelEvent::Frame`]s; gaps are NACKed when negotiated, and a
//!   missing keyframe is asked for with PLI (or FIR when only that was
//!   negotiated), at most once per 300 ms.
//! - **RTCP** ([`handle_rtcp`](BaseChannel::handle_rtcp)): SR (lip sync, LSR),
//!   report blocks about our streams (round-trip time), NACK, PLI/FIR
//!   ([`ChannelEvent::KeyframeRequested`]), REMB ([`ChannelEvent::Remb`]),
//!   BYE. Every 1 s (video) or 5 s (audio), randomised as RFC 3550 §6.3.1
//!   says, an SR (when sending) or RR with report blocks and our CNAME goes
//!   out.
//!
//! Time is passed in; the wall clock that SRs carry comes from
//! [`ChannelConfig::ntp_origin`], a pairing of an `Instant` with its NTP
//! time made once by the application.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use sdp::model::{Direction, MediaContentDescription, MediaType};

use crate::frame_assembler::{AssembledFrame, AssemblerConfig, FrameAssembler};
use crate::packetizer::{AnyDepacketizer, AnyPacketizer, Codec, Packetizer, Payloads};
use crate::receive_stream::{Arrival, NackConfig, PacketInfo, ReceiveStream};
use crate::rtcp::{
    CompoundWriter, FirBuilder, FirEntry, NackBuilder, Pli, ReceiverReportBuilder, ReportBlock,
    RtcpPacket, RtcpWrite, SdesBuilder, SdesChunkBuilder, SdesItem, SenderReportBuilder,
};
use crate::rtp::extensions::{AbsSendTime, ExtensionKind, ExtensionMap, TransportSequenceNumber};
use crate::rtp::stats::{round_trip_time, NtpTime};
use crate::rtp::{ExtensionElement, RtpBuilder, RtpPacket};
use crate::rtp_demuxer::RtpDemuxerCriteria;
use crate::rtp_parameters::{NegotiatedCodec, RtpParameters};
use crate::send_stream::{unwrap_rtx, SendStream, DEFAULT_HISTORY};
use crate::Error;

/// Settings of a [`BaseChannel`].
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    /// Largest plain RTP packet we build (SRTP's tag is added after). 1,200
    /// bytes keeps every packet under common path MTUs.
    pub mtu: usize,
    /// NACK behaviour of the receive streams (on only where negotiated).
    pub nack: NackConfig,
    /// Sent packets kept for retransmission.
    pub history: usize,
    /// Seeds the sequence-number starts and the RTCP timing, so runs replay.
    pub seed: u64,
    /// An `Instant` and the NTP (wall-clock) time it corresponds to.
    pub ntp_origin: (Instant, NtpTime),
    /// Most SSRCs received at once (each costs a jitter buffer).
    pub max_receive_streams: usize,
}

impl ChannelConfig {
    /// Defaults with the wall clock paired with `now`.
    pub fn new(now: Instant, ntp_now: NtpTime) -> ChannelConfig {
        ChannelConfig {
            mtu: 1200,
            nack: NackConfig::default(),
            history: DEFAULT_HISTORY,
            seed: 0x5eed,
            ntp_origin: (now, ntp_now),
            max_receive_streams: 16,
        }
    }
}

/// What a [`BaseChannel`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelEvent {
    /// A frame arrived, reassembled.
    Frame {
        /// The SSRC it came on.
        ssrc: u32,
        /// The payload type it came with.
        payload_type: u8,
        /// The frame.
        frame: AssembledFrame,
    },
    /// The peer asked for a keyframe on one of our streams (PLI or FIR).
    KeyframeRequested {
        /// Our SSRC it asked about.
        ssrc: u32,
    },
    /// The peer's receiver-estimated maximum bitrate (REMB).
    Remb {
        /// Bits per second.
        bitrate_bps: u64,
    },
    /// A new SSRC is being received.
    ReceiveStreamStarted {
        /// The SSRC.
        ssrc: u32,
    },
    /// The peer ended a stream (BYE).
    ReceiveStreamEnded {
        /// The SSRC.
        ssrc: u32,
    },
}

/// A packet for the transport: plain RTP or RTCP (the TransportController
/// protects it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingPacket {
    /// RTCP (true) or RTP.
    pub rtcp: bool,
    /// An RTP retransmission (RTX, or a resent packet): paced ahead of new media.
    pub retransmission: bool,
    /// The packet.
    pub data: Bytes,
}

/// The primary and RTX SSRCs our description signals for a stream.
type SignalledSsrcs = (u32, Option<u32>);

/// One stream we send: the section's only one, or one RID simulcast layer.
#[derive(Debug)]
struct Sender {
    /// The simulcast layer (`a=rid`) this stream is, written in every packet.
    rid: Option<String>,
    stream: SendStream,
    codec: NegotiatedCodec,
    packetizer: AnyPacketizer,
    payloads: Payloads,
}

#[derive(Debug)]
struct Receiver {
    stream: ReceiveStream,
    assembler: FrameAssembler,
    payload_type: u8,
    last_keyframe_request: Option<Instant>,
}

/// Shortest time between two keyframe requests for one stream.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(300);

/// Room for one RTCP compound we build.
const RTCP_BUFFER: usize = 1200;

/// The channel; see the [module docs](self).
#[derive(Debug)]
pub struct BaseChannel {
    mid: String,
    media_type: MediaType,
    config: ChannelConfig,
    local: Option<RtpParameters>,
    remote: Option<RtpParameters>,
    direction: Direction,
    writable: bool,
    /// What we send: one stream, or one per RID simulcast layer (in the
    /// order of our `a=simulcast:send`).
    senders: Vec<Sender>,
    receivers: BTreeMap<u32, Receiver>,
    /// RTX SSRC → the media SSRC it repairs (from the peer's FID groups, or
    /// learned from the only receive stream).
    rtx_to_media: HashMap<u32, u32>,
    /// Our SSRC for RTCP when we send nothing.
    rtcp_ssrc: u32,
    cname: String,
    out: VecDeque<OutgoingPacket>,
    events: VecDeque<ChannelEvent>,
    pool: BytesMut,
    scratch: Vec<u8>,
    nacks: Vec<u16>,
    rtt: Option<Duration>,
    next_report: Option<Instant>,
    transport_seq: u16,
    fir_seq: u8,
    rng: u64,
}

impl BaseChannel {
    /// A channel for section `mid` of `media_type` (audio or video).
    pub fn new(mid: &str, media_type: MediaType, config: ChannelConfig) -> BaseChannel {
        let mut rng = config.seed ^ 0x9e37_79b9_7f4a_7c15;
        let rtcp_ssrc = (splitmix(&mut rng) as u32).max(1);
        BaseChannel {
            mid: mid.to_owned(),
            media_type,
            config,
            local: None,
            remote: None,
            direction: Direction::Inactive,
            writable: false,
            senders: Vec::new(),
            receivers: BTreeMap::new(),
            rtx_to_media: HashMap::new(),
            rtcp_ssrc,
            cname: String::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            pool: BytesMut::new(),
            scratch: vec![0; 1500],
            nacks: Vec::new(),
            rtt: None,
            next_report: None,
            transport_seq: 0,
            fir_seq: 0,
            rng,
        }
    }

    /// The section's MID.
    pub fn mid(&self) -> &str {
        &self.mid
    }

    /// Audio or video.
    pub fn media_type(&self) -> &MediaType {
        &self.media_type
    }

    /// The local description's direction (what we do).
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The round-trip time last measured from report blocks.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// Our (first) sending SSRC, once the descriptions gave us a stream.
    pub fn send_ssrc(&self) -> Option<u32> {
        self.senders.first().map(|s| s.stream.ssrc())
    }

    /// The SSRCs we send with (media and RTX), for RTCP routing.
    pub fn send_ssrcs(&self) -> impl Iterator<Item = u32> + '_ {
        self.senders.iter().flat_map(|s| {
            std::iter::once(s.stream.ssrc()).chain(s.stream.rtx().map(|(ssrc, _)| ssrc))
        })
    }

    /// The streams we send: the RID simulcast layer (`None` without
    /// simulcast) and its SSRC, in order. A
    /// [`ChannelEvent::KeyframeRequested`] names one of these SSRCs.
    pub fn send_layers(&self) -> impl Iterator<Item = (Option<&str>, u32)> + '_ {
        self.senders
            .iter()
            .map(|s| (s.rid.as_deref(), s.stream.ssrc()))
    }

    /// The transport-wide sequence number extension id we write, when the
    /// peer negotiated it with `transport-cc` feedback for our send codec
    /// (the manager's congestion controller then stamps and counts packets).
    pub fn send_transport_cc_id(&self) -> Option<u8> {
        let sender = self.senders.first()?;
        if !sender.codec.transport_cc {
            return None;
        }
        self.remote
            .as_ref()?
            .extensions
            .id(ExtensionKind::TransportWideCc)
    }

    /// The transport-wide sequence number extension id the peer writes, when
    /// we negotiated `transport-cc` feedback for something we receive (the
    /// manager then sends transport-wide feedback).
    pub fn receive_transport_cc_id(&self) -> Option<u8> {
        let local = self.local.as_ref()?;
        if !self.direction.receives() || !local.codecs.iter().any(|c| c.transport_cc) {
            return None;
        }
        local.extensions.id(ExtensionKind::TransportWideCc)
    }

    /// Whether reduced-size RTCP (RFC 5506) was negotiated both ways.
    pub fn reduced_size_rtcp(&self) -> bool {
        self.remote.as_ref().is_some_and(|r| r.rtcp_reduced_size)
            && self.local.as_ref().is_some_and(|l| l.rtcp_reduced_size)
    }

    /// Our SSRC in RTCP (the sending SSRC, or our RTCP-only one).
    pub fn rtcp_ssrc(&self) -> u32 {
        self.report_ssrc()
    }

    /// The receive-side extension map (for the BUNDLE demuxer).
    pub fn receive_extensions(&self) -> Option<&ExtensionMap> {
        self.local.as_ref().map(|p| &p.extensions)
    }

    /// Sends and receives per the local description.
    pub fn set_local_content(&mut self, content: &MediaContentDescription) -> Result<(), Error> {
        if !content.media_type.is_rtp() {
            return Err(Error::InvalidInput("a BaseChannel carries audio or video"));
        }
        let params = RtpParameters::from_content(&self.mid, content);
        self.direction = content.direction;
        if let Some(stream) = params.streams.first() {
            self.cname = stream.cname.clone();
        }
        self.local = Some(params);
        self.rebuild_sender();
        Ok(())
    }

    /// What the peer accepts and sends, per its description.
    pub fn set_remote_content(&mut self, content: &MediaContentDescription) -> Result<(), Error> {
        if !content.media_type.is_rtp() {
            return Err(Error::InvalidInput("a BaseChannel carries audio or video"));
        }
        let params = RtpParameters::from_content(&self.mid, content);
        self.rtx_to_media = params
            .streams
            .iter()
            .filter_map(|s| s.rtx_ssrc.map(|rtx| (rtx, s.ssrc)))
            .collect();
        self.remote = Some(params);
        self.rebuild_sender();
        Ok(())
    }

    /// (Re)creates the send streams from both descriptions: our SSRCs (or
    /// our RID simulcast layers the peer receives), the peer's preferred codec.
    fn rebuild_sender(&mut self) {
        let (Some(local), Some(remote)) = (&self.local, &self.remote) else {
            return;
        };
        // The peer's first codec that both descriptions list (answers keep the
        // offer's payload types) and that we can packetize.
        let Some(codec) = remote
            .codecs
            .iter()
            .find(|c| {
                Codec::from_name(&c.name).is_some()
                    && local
                        .codec(c.payload_type)
                        .is_some_and(|l| l.name.eq_ignore_ascii_case(&c.name))
            })
            .cloned()
        else {
            self.senders.clear();
            return;
        };
        let Some(kind) = Codec::from_name(&codec.name) else {
            self.senders.clear();
            return;
        };
        // What to send: the signalled stream, or (RID simulcast, RFC 8853:
        // no SSRC signalled) one stream per layer with SSRCs of our own.
        let layers = local.simulcast_layers(remote);
        let wanted: Vec<(Option<String>, Option<SignalledSsrcs>)> = match local.streams.first() {
            Some(ours) if layers.is_empty() => vec![(None, Some((ours.ssrc, ours.rtx_ssrc)))],
            _ if !layers.is_empty() => layers.into_iter().map(|rid| (Some(rid), None)).collect(),
            _ => {
                self.senders.clear();
                return;
            }
        };
        let same = self.senders.len() == wanted.len()
            && self.senders.iter().zip(&wanted).all(|(s, (rid, ssrcs))| {
                s.codec == codec
                    && s.rid == *rid
                    && ssrcs.is_none_or(|(ssrc, _)| s.stream.ssrc() == ssrc)
            });
        if same {
            return;
        }
        let mut senders = Vec::with_capacity(wanted.len());
        for (rid, ssrcs) in wanted {
            let (ssrc, rtx) = match ssrcs {
                Some((ssrc, rtx_ssrc)) => {
                    let rtx = match (rtx_ssrc, codec.rtx_payload_type) {
                        (Some(ssrc), Some(pt)) => Some((ssrc, pt)),
                        _ => None,
                    };
                    (ssrc, rtx)
                }
                // A layer's SSRC is ours to pick (a layer kept from before
                // keeps its own). No RTX for layers: a repair stream would
                // need the repaired-rid extension and an SSRC the peer can
                // bind; a lost packet is resent as it was (RFC 4585 NACK).
                None => {
                    let kept = self
                        .senders
                        .iter()
                        .find(|s| s.rid == rid)
                        .map(|s| s.stream.ssrc());
                    let ssrc = kept.unwrap_or_else(|| self.new_send_ssrc(&senders));
                    (ssrc, None)
                }
            };
            let first_seq = splitmix(&mut self.rng) as u16;
            let picture_id = splitmix(&mut self.rng) as u16;
            senders.push(Sender {
                rid,
                stream: SendStream::new(
                    ssrc,
                    rtx,
                    codec.clock_rate,
                    first_seq,
                    self.config.history,
                ),
                packetizer: AnyPacketizer::new(kind, picture_id),
                codec: codec.clone(),
                payloads: Payloads::new(),
            });
        }
        self.senders = senders;
    }

    /// A random SSRC for a simulcast layer, distinct from our RTCP SSRC,
    /// the layers made so far and every SSRC the peer sends.
    fn new_send_ssrc(&mut self, made: &[Sender]) -> u32 {
        loop {
            let ssrc = splitmix(&mut self.rng) as u32;
            let taken = ssrc == 0
                || ssrc == self.rtcp_ssrc
                || made.iter().any(|s| s.stream.ssrc() == ssrc)
                || self.receivers.contains_key(&ssrc)
                || self.remote.as_ref().is_some_and(|r| {
                    r.streams
                        .iter()
                        .any(|st| st.ssrc == ssrc || st.rtx_ssrc == Some(ssrc))
                });
            if !taken {
                return ssrc;
            }
        }
    }

    /// The transport is writable (ICE connected, SRTP keys set) or not.
    pub fn set_writable(&mut self, now: Instant, writable: bool) {
        self.writable = writable;
        if writable && self.next_report.is_none() {
            // The first report soon, then every interval (RFC 3550 §6.3.1).
            self.next_report = Some(now + self.report_interval() / 2);
        }
    }

    /// What the BUNDLE demuxer needs to route the peer's packets here.
    pub fn demuxer_criteria(&self) -> RtpDemuxerCriteria {
        let mut c = RtpDemuxerCriteria::mid(&self.mid);
        if let Some(local) = &self.local {
            c.payload_types.extend(local.payload_types());
        }
        c.payload_types.sort_unstable();
        c.payload_types.dedup();
        if let Some(remote) = &self.remote {
            for s in &remote.streams {
                c.ssrcs.push(s.ssrc);
                c.ssrcs.extend(s.rtx_ssrc);
            }
        }
        c
    }

    fn sending(&self) -> bool {
        self.writable && self.direction.sends() && !self.senders.is_empty()
    }

    fn receiving(&self) -> bool {
        self.direction.receives() && self.local.is_some()
    }

    fn ntp(&self, now: Instant) -> NtpTime {
        let (origin, ntp) = self.config.ntp_origin;
        let since = now.saturating_duration_since(origin);
        NtpTime(
            ntp.0
                .wrapping_add(((since.as_nanos() << 32) / 1_000_000_000) as u64),
        )
    }

    /// Sends one encoded frame with RTP timestamp `rtp_timestamp`: on our
    /// stream, or with RID simulcast on the first layer (see
    /// [`send_frame_on_layer`](Self::send_frame_on_layer)).
    /// [`Error::NotSending`] when the channel does not send now (direction,
    /// no negotiated codec or SSRC, transport not writable).
    pub fn send_frame(
        &mut self,
        now: Instant,
        rtp_timestamp: u32,
        frame: &[u8],
    ) -> Result<(), Error> {
        self.send_on(now, 0, rtp_timestamp, frame)
    }

    /// Sends one encoded frame of RID simulcast layer `rid` (RFC 8853): each
    /// layer is its own RTP stream (its own SSRC, sequence numbers and, for
    /// VP8/VP9, picture ids) whose packets carry the `rid` header extension
    /// (RFC 8852) beside the MID, so the peer tells the layers apart without
    /// signalled SSRCs. The application encodes each layer (frames of the
    /// layers of one picture share the timestamp). Only the layers we offered
    /// that the peer receives are sent ([`send_layers`](Self::send_layers));
    /// another `rid` is [`Error::UnknownSimulcastLayer`].
    pub fn send_frame_on_layer(
        &mut self,
        now: Instant,
        rid: &str,
        rtp_timestamp: u32,
        frame: &[u8],
    ) -> Result<(), Error> {
        let Some(layer) = self
            .senders
            .iter()
            .position(|s| s.rid.as_deref() == Some(rid))
        else {
            return Err(if self.senders.is_empty() {
                Error::NotSending
            } else {
                Error::UnknownSimulcastLayer
            });
        };
        self.send_on(now, layer, rtp_timestamp, frame)
    }

    fn send_on(
        &mut self,
        now: Instant,
        layer: usize,
        rtp_timestamp: u32,
        frame: &[u8],
    ) -> Result<(), Error> {
        if !self.sending() {
            return Err(Error::NotSending);
        }
        let ntp = self.ntp(now);
        let send_extensions = &self.remote.as_ref().ok_or(Error::NotSending)?.extensions;
        let mid_id = send_extensions.id(ExtensionKind::Mid);
        let abs_id = send_extensions.id(ExtensionKind::AbsSendTime);
        let twcc_id = send_extensions.id(ExtensionKind::TransportWideCc);
        let rid_id = send_extensions.id(ExtensionKind::RtpStreamId);
        let sender = self.senders.get_mut(layer).ok_or(Error::NotSending)?;
        let rid = sender.rid.as_deref().zip(rid_id);
        let abs = AbsSendTime::from_ntp(ntp).0.to_be_bytes();
        // Header room: fixed header, and the extension block (each element
        // at most 2 header bytes + value, padded).
        let ext_room = 4
            + mid_id.map_or(0, |_| 2 + self.mid.len())
            + rid.map_or(0, |(r, _)| 2 + r.len())
            + abs_id.map_or(0, |_| 5)
            + twcc_id.map_or(0, |_| 4)
            + 3;
        let max_payload = self.config.mtu.saturating_sub(12 + ext_room);
        sender
            .packetizer
            .packetize(frame, max_payload, &mut sender.payloads)?;
        let count = sender.payloads.len();
        sender.stream.counters_mut().frames += 1;
        for (i, payload) in sender.payloads.iter().enumerate() {
            let seq = sender.stream.next_sequence_number();
            let twcc = TransportSequenceNumber(self.transport_seq).to_bytes();
            let mut elements: [ExtensionElement<'_>; 4] = [ExtensionElement::new(0, &[]); 4];
            let mut n = 0;
            if let Some(id) = mid_id {
                elements[n] = ExtensionElement::new(id, self.mid.as_bytes());
                n += 1;
            }
            if let Some((r, id)) = rid {
                elements[n] = ExtensionElement::new(id, r.as_bytes());
                n += 1;
            }
            if let Some(id) = abs_id {
                elements[n] = ExtensionElement::new(id, &abs[1..]);
                n += 1;
            }
            if let Some(id) = twcc_id {
                elements[n] = ExtensionElement::new(id, &twcc);
                n += 1;
                self.transport_seq = self.transport_seq.wrapping_add(1);
            }
            let builder = RtpBuilder {
                marker: payload.marker || i + 1 == count,
                extensions: &elements[..n],
                ..RtpBuilder::new(
                    sender.codec.payload_type,
                    seq,
                    rtp_timestamp,
                    sender.stream.ssrc(),
                )
            };
            let len = builder.encoded_len(payload.data.len())?;
            self.pool.reserve(len.max(16 * 1024));
            self.pool.resize(len, 0);
            builder.write(&mut self.pool[..len], payload.data)?;
            let data = self.pool.split().freeze();
            sender.stream.on_sent(now, data.clone())?;
            self.out.push_back(OutgoingPacket {
                rtcp: false,
                retransmission: false,
                data,
            });
        }
        Ok(())
    }

    /// Asks the peer for a keyframe on every stream we receive (PLI, or FIR
    /// when only that was negotiated).
    pub fn request_keyframe(&mut self, now: Instant) {
        let ssrcs: Vec<u32> = self.receivers.keys().copied().collect();
        for ssrc in ssrcs {
            self.send_keyframe_request(now, ssrc, true);
        }
    }

    /// Handles one plain RTP packet the demuxer gave this channel; `data`
    /// holds the whole packet (its payload is kept without a copy).
    pub fn handle_rtp(&mut self, now: Instant, data: &Bytes) {
        if let Ok(packet) = RtpPacket::parse(data) {
            self.handle_parsed_rtp(now, &packet, data);
        }
    }

    /// [`handle_rtp`](Self::handle_rtp) for a packet the caller parsed
    /// already (the manager, which demuxed it): `packet` is a view of `data`.
    pub(crate) fn handle_parsed_rtp(&mut self, now: Instant, packet: &RtpPacket<'_>, data: &Bytes) {
        if !self.receiving() {
            return;
        }
        let Some(local) = &self.local else {
            return;
        };
        let mut pt = packet.payload_type();
        let mut ssrc = packet.ssrc();
        let mut seq = packet.sequence_number();
        let start = packet.header_len();
        let mut range = start..start + packet.payload().len();
        let mut retransmission = false;
        // RTX (RFC 4588): the original sequence number, payload type and payload,
        // on the media SSRC its FID group names (or the channel's only stream).
        if let Some(apt) = local.rtx_apt(pt) {
            let Some((osn, original)) = unwrap_rtx(packet) else {
                return; // padding only (bandwidth probing)
            };
            let media_ssrc = self.rtx_to_media.get(&ssrc).copied().or_else(|| {
                let mut it = self.receivers.keys();
                match (it.next(), it.next()) {
                    (Some(&s), None) => Some(s),
                    _ => None,
                }
            });
            let Some(media_ssrc) = media_ssrc else {
                return;
            };
            self.rtx_to_media.insert(ssrc, media_ssrc);
            ssrc = media_ssrc;
            seq = osn;
            pt = apt;
            range = start + 2..start + 2 + original.len();
            retransmission = true;
        }
        // RED (RFC 2198): the primary block (libwebrtc's video RED carries only that).
        if Some(pt) == local.red_payload_type {
            let Some((inner, offset)) = red_primary(&data[range.clone()]) else {
                return;
            };
            pt = inner;
            range = range.start + offset..range.end;
        }
        // ULPFEC is not decoded (NACK repairs loss); it and empty payloads keep
        // their sequence numbers so that nothing waits for them.
        let filler = Some(pt) == local.ulpfec_payload_type || range.is_empty();
        if !filler && local.codec(pt).is_none() {
            return;
        }
        if !self.receivers.contains_key(&ssrc) && (filler || !self.add_receiver(ssrc, pt)) {
            return;
        }
        let Some(r) = self.receivers.get_mut(&ssrc) else {
            return;
        };
        let info = PacketInfo {
            sequence_number: seq,
            timestamp: packet.timestamp(),
            payload_len: range.len(),
            len: packet.len(),
        };
        let ext = match r.stream.on_packet_info(now, info, retransmission) {
            Arrival::New(e) | Arrival::Recovered(e) => e,
            Arrival::Duplicate => return,
        };
        if filler {
            r.assembler.insert_filler(now, ext);
        } else {
            r.assembler
                .insert(now, ext, info.timestamp, packet.marker(), data.slice(range));
        }
        self.drain_receiver(now, ssrc);
    }

    fn add_receiver(&mut self, ssrc: u32, pt: u8) -> bool {
        if self.receivers.len() >= self.config.max_receive_streams {
            tracing::debug!(ssrc, "receive stream limit reached: packet dropped");
            return false;
        }
        let Some(codec) = self.local.as_ref().and_then(|l| l.codec(pt)) else {
            return false;
        };
        let Some(kind) = Codec::from_name(&codec.name) else {
            return false;
        };
        let nack = NackConfig {
            enabled: self.config.nack.enabled && codec.nack,
            ..self.config.nack
        };
        let assembler_config = if kind.is_audio() {
            AssemblerConfig::audio()
        } else {
            AssemblerConfig::video()
        };
        self.receivers.insert(
            ssrc,
            Receiver {
                stream: ReceiveStream::new(ssrc, codec.clock_rate, nack),
                assembler: FrameAssembler::new(AnyDepacketizer::new(kind), assembler_config),
                payload_type: pt,
                last_keyframe_request: None,
            },
        );
        self.events
            .push_back(ChannelEvent::ReceiveStreamStarted { ssrc });
        true
    }

    /// Frames out, NACKs and keyframe requests for one receive stream.
    fn drain_receiver(&mut self, now: Instant, ssrc: u32) {
        let rtt = self.rtt;
        let Some(r) = self.receivers.get_mut(&ssrc) else {
            return;
        };
        while let Some(frame) = r.assembler.poll_frame(now) {
            r.stream.count_frame(frame.keyframe);
            self.events.push_back(ChannelEvent::Frame {
                ssrc,
                payload_type: r.payload_type,
                frame,
            });
        }
        let mut nacks = std::mem::take(&mut self.nacks);
        if r.stream.nack_timeout(rtt).is_some_and(|t| t <= now) {
            // At most what one NACK packet in an MTU carries comfortably.
            r.stream.nack_list(now, rtt, 256, &mut nacks);
        } else {
            nacks.clear();
        }
        let video = !self.media_type.eq(&MediaType::Audio);
        let keyframe = video && (r.stream.take_keyframe_request() || r.assembler.needs_keyframe());
        if !nacks.is_empty() {
            let sender_ssrc = self.report_ssrc();
            let nack = NackBuilder {
                sender_ssrc,
                media_ssrc: ssrc,
                lost: &nacks,
            };
            self.send_feedback(&nack);
        }
        self.nacks = nacks;
        if keyframe {
            self.send_keyframe_request(now, ssrc, false);
        }
    }

    fn send_keyframe_request(&mut self, now: Instant, ssrc: u32, forced: bool) {
        let sender_ssrc = self.report_ssrc();
        let Some(r) = self.receivers.get_mut(&ssrc) else {
            return;
        };
        if !forced
            && r.last_keyframe_request
                .is_some_and(|t| now < t + KEYFRAME_REQUEST_INTERVAL)
        {
            return;
        }
        r.last_keyframe_request = Some(now);
        let codec = self.local.as_ref().and_then(|l| l.codec(r.payload_type));
        let use_fir = codec.is_some_and(|c| c.fir && !c.pli);
        if use_fir {
            // RFC 5104 §4.3.1.2: a new request gets the next sequence number.
            self.fir_seq = self.fir_seq.wrapping_add(1);
            let entries = [FirEntry {
                ssrc,
                seq_nr: self.fir_seq,
            }];
            self.send_feedback(&FirBuilder {
                sender_ssrc,
                media_ssrc: 0,
                entries: &entries,
            });
        } else {
            self.send_feedback(&Pli {
                sender_ssrc,
                media_ssrc: ssrc,
            });
        }
    }

    /// Our SSRC in RTCP: the media SSRC when we send, else our RTCP SSRC.
    fn report_ssrc(&self) -> u32 {
        self.send_ssrc().unwrap_or(self.rtcp_ssrc)
    }

    /// Queues a feedback packet: alone with reduced-size RTCP (RFC 5506),
    /// else after an empty RR and our SDES (a compound, RFC 3550 §6.1).
    fn send_feedback<P: RtcpWrite>(&mut self, packet: &P) {
        let reduced = self.reduced_size_rtcp();
        let ssrc = self.report_ssrc();
        let cname = self.cname.clone();
        let items = [SdesItem::cname(&cname)];
        let chunks = [SdesChunkBuilder {
            ssrc,
            items: &items,
        }];
        self.queue_rtcp("RTCP feedback", |w| {
            if !reduced {
                w.push(&ReceiverReportBuilder {
                    ssrc,
                    report_blocks: &[],
                    extension: &[],
                })?;
                w.push(&SdesBuilder { chunks: &chunks })?;
            }
            w.push(packet)?;
            Ok(())
        });
    }

    /// Builds one RTCP compound with `build` and queues it (`what` names it
    /// in the log when it cannot be built).
    fn queue_rtcp(
        &mut self,
        what: &str,
        build: impl FnOnce(&mut CompoundWriter<'_>) -> Result<(), Error>,
    ) {
        let mut buf = [0u8; RTCP_BUFFER];
        let mut w = CompoundWriter::new(&mut buf);
        match build(&mut w) {
            Ok(()) => {
                let n = w.finish();
                self.out.push_back(OutgoingPacket {
                    rtcp: true,
                    retransmission: false,
                    data: Bytes::copy_from_slice(&buf[..n]),
                });
            }
            Err(e) => tracing::debug!(error = %e, "{what} not built"),
        }
    }

    /// Handles one RTCP packet of a compound the manager routed here.
    pub fn handle_rtcp(&mut self, now: Instant, packet: &RtcpPacket<'_>) {
        match packet {
            RtcpPacket::SenderReport(sr) => {
                if let Some(r) = self.receivers.get_mut(&sr.ssrc()) {
                    r.stream.on_sender_report(now, sr.ntp_time(), sr.rtp_time());
                }
                for block in sr.report_blocks() {
                    self.on_report_block(now, &block);
                }
            }
            RtcpPacket::ReceiverReport(rr) => {
                for block in rr.report_blocks() {
                    self.on_report_block(now, &block);
                }
            }
            RtcpPacket::Nack(nack) => {
                let rtt = self.rtt.unwrap_or(Duration::from_millis(100));
                let media_ssrc = nack.media_ssrc();
                let Some(sender) = self
                    .senders
                    .iter_mut()
                    .find(|s| s.stream.ssrc() == media_ssrc)
                else {
                    return;
                };
                for seq in nack.lost() {
                    match sender.stream.retransmit(now, seq, rtt, &mut self.scratch) {
                        Ok(Some(n)) => self.out.push_back(OutgoingPacket {
                            rtcp: false,
                            retransmission: true,
                            data: Bytes::copy_from_slice(&self.scratch[..n]),
                        }),
                        Ok(None) => {}
                        Err(e) => tracing::debug!(error = %e, seq, "retransmission failed"),
                    }
                }
            }
            RtcpPacket::Pli(pli) => {
                if let Some(sender) = self
                    .senders
                    .iter_mut()
                    .find(|s| s.stream.ssrc() == pli.media_ssrc)
                {
                    sender.stream.counters_mut().plis_received += 1;
                    self.events.push_back(ChannelEvent::KeyframeRequested {
                        ssrc: pli.media_ssrc,
                    });
                }
            }
            RtcpPacket::Fir(fir) => {
                for sender in &mut self.senders {
                    let ours = sender.stream.ssrc();
                    if fir.entries().any(|e| e.ssrc == ours) {
                        sender.stream.counters_mut().firs_received += 1;
                        self.events
                            .push_back(ChannelEvent::KeyframeRequested { ssrc: ours });
                    }
                }
            }
            RtcpPacket::Remb(remb) => self.events.push_back(ChannelEvent::Remb {
                bitrate_bps: remb.bitrate_bps(),
            }),
            RtcpPacket::Bye(bye) => {
                for ssrc in bye.ssrcs() {
                    if self.receivers.remove(&ssrc).is_some() {
                        self.events
                            .push_back(ChannelEvent::ReceiveStreamEnded { ssrc });
                    }
                }
            }
            _ => {}
        }
    }

    /// A report block about one of our streams: the round-trip time.
    fn on_report_block(&mut self, now: Instant, block: &ReportBlock) {
        if !self.send_ssrcs().any(|s| s == block.ssrc) || block.last_sr == 0 {
            return;
        }
        let arrival = self.ntp(now).compact();
        if let Some(rtt) = round_trip_time(arrival, block.last_sr, block.delay_since_last_sr) {
            self.rtt = Some(rtt);
        }
    }

    fn report_interval(&self) -> Duration {
        if self.media_type == MediaType::Audio {
            Duration::from_secs(5)
        } else {
            Duration::from_secs(1)
        }
    }

    /// Builds the periodic compound: SR or RR with report blocks, then SDES.
    fn send_report(&mut self, now: Instant) {
        let ntp = self.ntp(now);
        let blocks: Vec<ReportBlock> = self
            .receivers
            .values_mut()
            .filter_map(|r| r.stream.report_block(now))
            .take(31)
            .collect();
        let ssrc = self.report_ssrc();
        let cname = self.cname.clone();
        let items = [SdesItem::cname(&cname)];
        let chunks = [SdesChunkBuilder {
            ssrc,
            items: &items,
        }];
        let sends = self.direction.sends();
        let info = self
            .senders
            .first()
            .filter(|_| sends)
            .and_then(|s| s.stream.sender_info(now, ntp));
        // Every other simulcast layer gets its own SR (no report blocks), so
        // the peer can map each layer's RTP time to wall-clock time.
        let layers: Vec<(u32, crate::send_stream::SenderInfo)> = self
            .senders
            .iter()
            .skip(1)
            .filter(|_| sends)
            .filter_map(|s| Some((s.stream.ssrc(), s.stream.sender_info(now, ntp)?)))
            .collect();
        self.queue_rtcp("RTCP report", |w| {
            match info {
                Some(info) => w.push(&SenderReportBuilder {
                    ssrc,
                    ntp_time: info.ntp,
                    rtp_time: info.rtp,
                    packet_count: info.packets,
                    octet_count: info.octets,
                    report_blocks: &blocks,
                    extension: &[],
                })?,
                None => w.push(&ReceiverReportBuilder {
                    ssrc,
                    report_blocks: &blocks,
                    extension: &[],
                })?,
            };
            for (ssrc, info) in &layers {
                w.push(&SenderReportBuilder {
                    ssrc: *ssrc,
                    ntp_time: info.ntp,
                    rtp_time: info.rtp,
                    packet_count: info.packets,
                    octet_count: info.octets,
                    report_blocks: &[],
                    extension: &[],
                })?;
            }
            w.push(&SdesBuilder { chunks: &chunks })?;
            Ok(())
        });
    }

    /// Runs timers: the periodic report, jitter-buffer waits, NACK retries.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.writable && self.next_report.is_some_and(|t| t <= now) {
            self.send_report(now);
            // RFC 3550 §6.3.1: the interval times a random factor in [0.5, 1.5).
            let factor = 0.5 + (splitmix(&mut self.rng) % 1000) as f64 / 1000.0;
            self.next_report = Some(now + self.report_interval().mul_f64(factor));
        }
        // Key by key through the ordered map (drain_receiver needs all of
        // self): nothing collected, nothing allocated per tick.
        let mut next = self.receivers.keys().next().copied();
        while let Some(ssrc) = next {
            self.drain_receiver(now, ssrc);
            next = self
                .receivers
                .range((std::ops::Bound::Excluded(ssrc), std::ops::Bound::Unbounded))
                .next()
                .map(|(&k, _)| k);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let report = self.next_report.filter(|_| self.writable);
        let receivers = self
            .receivers
            .values()
            .flat_map(|r| [r.assembler.poll_timeout(), r.stream.nack_timeout(self.rtt)]);
        std::iter::once(report).chain(receivers).flatten().min()
    }

    /// The next packet to send.
    pub fn poll_transmit(&mut self) -> Option<OutgoingPacket> {
        if !self.writable {
            return None;
        }
        self.out.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ChannelEvent> {
        self.events.pop_front()
    }

    /// Counters of our (first) send stream.
    pub fn send_counters(&self) -> Option<crate::send_stream::SendCounters> {
        self.senders.first().map(|s| s.stream.counters())
    }

    /// Counters of the send stream with SSRC `ssrc` (a simulcast layer's,
    /// from [`send_layers`](Self::send_layers)).
    pub fn send_counters_of(&self, ssrc: u32) -> Option<crate::send_stream::SendCounters> {
        self.senders
            .iter()
            .find(|s| s.stream.ssrc() == ssrc)
            .map(|s| s.stream.counters())
    }

    /// Counters of a receive stream.
    pub fn receive_counters(&self, ssrc: u32) -> Option<crate::receive_stream::ReceiveCounters> {
        self.receivers.get(&ssrc).map(|r| r.stream.counters())
    }

    /// Frames the jitter buffer of a receive stream gave up on (incomplete
    /// or undecodable; getStats `framesDropped`).
    pub fn frames_dropped(&self, ssrc: u32) -> Option<u64> {
        self.receivers
            .get(&ssrc)
            .map(|r| r.assembler.dropped_frames())
    }

    /// The last sender report of receive stream `ssrc`: its NTP time and
    /// the RTP timestamp it maps to (RFC 3550 §6.4.1; lip sync, and W3C
    /// `remote-outbound-rtp`).
    pub fn receive_sender_report(&self, ssrc: u32) -> Option<(NtpTime, u32)> {
        self.receivers.get(&ssrc)?.stream.last_sender_report()
    }

    /// The interarrival jitter of a receive stream, in its timestamp units.
    pub fn receive_jitter(&self, ssrc: u32) -> Option<u32> {
        self.receivers.get(&ssrc).map(|r| r.stream.jitter())
    }

    /// The SSRCs being received.
    pub fn receive_ssrcs(&self) -> impl Iterator<Item = u32> + '_ {
        self.receivers.keys().copied()
    }
}

/// The primary block of a RED payload (RFC 2198 §3): its payload type and
/// where its data starts (redundant blocks, described by 4-byte headers
/// with the F bit, come first).
fn red_primary(payload: &[u8]) -> Option<(u8, usize)> {
    let (mut pos, mut redundant) = (0usize, 0usize);
    loop {
        let first = *payload.get(pos)?;
        if first & 0x80 == 0 {
            let data = pos + 1 + redundant;
            return (data <= payload.len()).then_some((first & 0x7f, data));
        }
        let header = payload.get(pos..pos + 4)?;
        redundant += (usize::from(header[2] & 0x03) << 8) | usize::from(header[3]);
        pos += 4;
    }
}

/// SplitMix64: the channel's small deterministic random source.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_primary_block_after_redundant_ones() {
        // Only a primary block (libwebrtc's video RED): one header byte.
        assert_eq!(red_primary(&[96, 1, 2, 3]), Some((96, 1)));
        // One redundant block of 2 bytes (PT 111, offset 960), then the primary.
        let red = [0x80 | 111, 0x0f, 0x00, 2, 111, 9, 9, 7, 7, 7];
        assert_eq!(red_primary(&red), Some((111, 7)));
        // Truncated headers or block lengths past the end: refused, no panic.
        assert_eq!(red_primary(&[]), None);
        assert_eq!(red_primary(&[0x80 | 111, 0, 0]), None);
        assert_eq!(red_primary(&[0x80 | 111, 0, 0, 9, 111]), None);
    }
}
