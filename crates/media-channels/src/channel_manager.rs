//! libwebrtc's ChannelManager with the RTP routing of its RtpTransport and
//! the congestion control of its RtpTransportControllerSend: the media
//! channels of a session, the BUNDLE demultiplexing of the plain RTP/RTCP
//! each transport delivers, and GoogCC per transport.
//!
//! Transports are named by the caller's key `T` (the TransportController's
//! `TransportId` in a PeerConnection), so this crate needs nothing from the
//! layers below. Per transport there is one [`RtpDemuxer`]: each channel's
//! criteria (MID, the peer's SSRCs, our payload types) are registered when
//! its descriptions change ([`ChannelManager::update_demuxer`]), RTP goes to
//! the channel the demuxer picks, and each packet of an RTCP compound is
//! routed by SSRC (libwebrtc's RtcpDemuxer): a sender report to the channel
//! receiving its sender SSRC, report blocks, NACK, PLI, FIR and REMB to the
//! channels sending the SSRCs they name, BYE to the channels receiving them;
//! transport-wide feedback goes to the congestion controller alone, and a
//! packet naming no SSRC of ours (SDES, APP, XR) to no channel.
//!
//! **Data channels.** A transport's `m=application` section gets an
//! [`SctpTransport`] ([`ChannelManager::set_data_transport`]): DTLS
//! application data goes in with
//! [`handle_application_data`](ChannelManager::handle_application_data), SCTP
//! packets come out of
//! [`poll_application_data`](ChannelManager::poll_application_data), and the
//! channels' events out of [`poll_data_event`](ChannelManager::poll_data_event);
//! its timers run with the rest.
//!
//! **Congestion control.** When a channel on a transport negotiated
//! transport-wide congestion control (the extension and `transport-cc`
//! feedback), that transport gets libwebrtc's send-side machinery
//! ([`crate::congestion`]): our RTP goes through a [`Pacer`]; as the pacer
//! releases a packet its transport-wide sequence number is written (one
//! sequence across every channel of the transport, so BUNDLEd streams never
//! reuse a number) and the [`GoogCcController`] is told; the peer's
//! transport-wide feedback and REMB feed the controller, whose target comes
//! out as [`TransportEvent::TargetBitrate`] (and sets the pacer's rate). The
//! receive side answers the peer's sequence numbers with transport-wide
//! feedback every 100 ms ([`TransportFeedbackGenerator`]). Stamping a
//! released packet copies it once into the manager's pooled buffer (the
//! channel's send history keeps the unstamped one, which RTX restamps).
//!
//! ```
//! use std::time::Instant;
//! use media_channels::base_channel::{BaseChannel, ChannelConfig};
//! use media_channels::channel_manager::ChannelManager;
//! use media_channels::rtp::stats::NtpTime;
//! use sdp::model::MediaType;
//!
//! let now = Instant::now();
//! let mut manager: ChannelManager<u32> = ChannelManager::new();
//! let config = ChannelConfig::new(now, NtpTime(0));
//! let audio = manager.add_channel(0, BaseChannel::new("0", MediaType::Audio, config.clone()));
//! let video = manager.add_channel(0, BaseChannel::new("1", MediaType::Video, config));
//! assert_eq!(manager.channel(audio).unwrap().mid(), "0");
//! assert_eq!(manager.find("1"), Some(video));
//! assert!(manager.poll_transmit(now).is_none());
//! ```

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sdp::model::MediaType;

use crate::base_channel::{BaseChannel, ChannelEvent, OutgoingPacket};
use crate::congestion::{
    FeedbackGeneratorConfig, GoogCcConfig, GoogCcController, GoogCcEvent, Pacer, PacerConfig,
    PacketClass, TransportFeedbackGenerator,
};
use crate::data::{DataChannelEvent, SctpTransport};
use crate::rtcp::{Compound, CompoundWriter, ReceiverReportBuilder, RtcpPacket};
use crate::rtp::extensions::ExtensionMap;
use crate::rtp::RtpPacket;
use crate::rtp_demuxer::RtpDemuxer;

/// A channel's handle in its [`ChannelManager`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(usize);

/// What a transport reports (rather than one channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportEvent {
    /// The congestion controller's new target: what the encoders of the
    /// transport's channels may produce together, and the pacing rate.
    TargetBitrate {
        /// Bits per second for media.
        bitrate_bps: u64,
        /// Bits per second the pacer sends at.
        pacing_rate_bps: u64,
    },
}

#[derive(Debug)]
struct Slot<T> {
    transport: T,
    channel: BaseChannel,
}

/// GoogCC of one transport.
#[derive(Debug)]
struct TransportCc {
    controller: GoogCcController,
    pacer: Pacer<OutgoingPacket>,
    /// The id our packets carry the transport-wide sequence number under.
    send_id: u8,
    /// The next transport-wide sequence number.
    next_seq: u16,
}

#[derive(Debug)]
struct TransportState {
    demuxer: RtpDemuxer<ChannelId>,
    /// The SCTP association of the data channels on this transport (the
    /// `m=application` section's), fed with DTLS application data.
    sctp: Option<SctpTransport>,
    /// Congestion control was negotiated with this send extension id; the
    /// controller starts at the first `now` the manager sees.
    cc_send_id: Option<u8>,
    cc: Option<TransportCc>,
    /// Transport-wide feedback to the peer, with the id its packets use.
    feedback: Option<(TransportFeedbackGenerator, u8, bool)>,
    out: VecDeque<OutgoingPacket>,
}

impl TransportState {
    fn new() -> TransportState {
        TransportState {
            demuxer: RtpDemuxer::new(),
            sctp: None,
            cc_send_id: None,
            cc: None,
            feedback: None,
            out: VecDeque::new(),
        }
    }
}

/// The channels of a session; see the [module docs](self).
#[derive(Debug)]
pub struct ChannelManager<T> {
    channels: Vec<Option<Slot<T>>>,
    transports: HashMap<T, TransportState>,
    events: VecDeque<(T, TransportEvent)>,
    /// Which channel `poll_transmit` looks at first (fairness).
    next_poll: usize,
    dropped_rtp: u64,
    pacer_drops: u64,
    pool: BytesMut,
    cc_config: GoogCcConfig,
    /// For demuxing on a transport whose channels negotiated no extensions.
    no_extensions: ExtensionMap,
    /// The channels one RTCP packet goes to (kept to reuse its capacity).
    rtcp_targets: Vec<usize>,
}

impl<T: Copy + Eq + Hash> Default for ChannelManager<T> {
    fn default() -> Self {
        ChannelManager {
            channels: Vec::new(),
            transports: HashMap::new(),
            events: VecDeque::new(),
            next_poll: 0,
            dropped_rtp: 0,
            pacer_drops: 0,
            pool: BytesMut::new(),
            rtcp_targets: Vec::new(),
            cc_config: GoogCcConfig::default(),
            no_extensions: ExtensionMap::new(),
        }
    }
}

/// Writes `seq` into the two-byte extension `id` of `data`, in a copy split
/// off `pool`; `None` when the packet does not carry that extension.
fn stamp(pool: &mut BytesMut, data: &Bytes, id: u8, seq: u16) -> Option<Bytes> {
    let packet = RtpPacket::parse(data).ok()?;
    let value = packet.extension(id).filter(|v| v.len() == 2)?;
    let offset = value.as_ptr() as usize - data.as_ptr() as usize;
    if pool.capacity() < data.len() {
        pool.reserve(64 * 1024);
    }
    pool.extend_from_slice(data);
    pool[offset..offset + 2].copy_from_slice(&seq.to_be_bytes());
    Some(pool.split().freeze())
}

impl<T: Copy + Eq + Hash> ChannelManager<T> {
    /// No channels.
    pub fn new() -> ChannelManager<T> {
        ChannelManager::default()
    }

    /// Start rate and limits of the congestion controllers created from now on.
    pub fn set_congestion_config(&mut self, config: GoogCcConfig) {
        self.cc_config = config;
    }

    /// Adds `channel` on `transport` (its BUNDLE group's transport, or its own).
    pub fn add_channel(&mut self, transport: T, channel: BaseChannel) -> ChannelId {
        let id = ChannelId(self.channels.len());
        self.channels.push(Some(Slot { transport, channel }));
        self.transports
            .entry(transport)
            .or_insert_with(TransportState::new);
        self.update_demuxer(id);
        id
    }

    /// Destroys a channel (its section was rejected or removed).
    pub fn remove_channel(&mut self, id: ChannelId) -> Option<BaseChannel> {
        let slot = self.channels.get_mut(id.0)?.take()?;
        if let Some(t) = self.transports.get_mut(&slot.transport) {
            t.demuxer.remove_sink(id);
        }
        Some(slot.channel)
    }

    /// The channel `id`.
    pub fn channel(&self, id: ChannelId) -> Option<&BaseChannel> {
        Some(&self.channels.get(id.0)?.as_ref()?.channel)
    }

    /// The channel `id`, to set descriptions or send frames. Call
    /// [`update_demuxer`](Self::update_demuxer) after changing its descriptions.
    pub fn channel_mut(&mut self, id: ChannelId) -> Option<&mut BaseChannel> {
        Some(&mut self.channels.get_mut(id.0)?.as_mut()?.channel)
    }

    /// The channel with MID `mid`.
    pub fn find(&self, mid: &str) -> Option<ChannelId> {
        self.channels.iter().enumerate().find_map(|(i, s)| {
            s.as_ref()
                .filter(|s| s.channel.mid() == mid)
                .map(|_| ChannelId(i))
        })
    }

    /// Every channel.
    pub fn channels(&self) -> impl Iterator<Item = (ChannelId, &BaseChannel)> {
        self.channels
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((ChannelId(i), &s.as_ref()?.channel)))
    }

    /// Registers channel `id`'s current criteria with its transport's demuxer,
    /// and starts congestion control on the transport when the channel
    /// negotiated it. `false` if the criteria clash with another channel's
    /// (the same MID or SSRC).
    pub fn update_demuxer(&mut self, id: ChannelId) -> bool {
        let Some(Some(slot)) = self.channels.get(id.0) else {
            return false;
        };
        let channel = &slot.channel;
        let criteria = channel.demuxer_criteria();
        let state = self
            .transports
            .entry(slot.transport)
            .or_insert_with(TransportState::new);
        if state.cc_send_id.is_none() {
            state.cc_send_id = channel.send_transport_cc_id();
        }
        if let (None, Some(receive_id)) = (&state.feedback, channel.receive_transport_cc_id()) {
            let config = FeedbackGeneratorConfig {
                sender_ssrc: channel.rtcp_ssrc(),
                ..FeedbackGeneratorConfig::default()
            };
            state.feedback = Some((
                TransportFeedbackGenerator::new(config),
                receive_id,
                channel.reduced_size_rtcp(),
            ));
        }
        state.demuxer.remove_sink(id);
        state.demuxer.add_sink(id, criteria)
    }

    /// Puts the data channels of `transport` (its `m=application` section)
    /// on `sctp`; DTLS application data of the transport goes to it
    /// ([`handle_application_data`](Self::handle_application_data)). A
    /// second call replaces the association.
    pub fn set_data_transport(&mut self, transport: T, sctp: SctpTransport) {
        self.transports
            .entry(transport)
            .or_insert_with(TransportState::new)
            .sctp = Some(sctp);
    }

    /// The SCTP association of `transport`'s data channels, to open, send on
    /// and close channels.
    pub fn data_transport(&mut self, transport: T) -> Option<&mut SctpTransport> {
        self.transports.get_mut(&transport)?.sctp.as_mut()
    }

    /// DTLS application data `transport` delivered: SCTP for its data channels.
    pub fn handle_application_data(&mut self, now: Instant, transport: T, data: Bytes) {
        if let Some(sctp) = self.data_transport(transport) {
            sctp.handle_receive_bytes(now, data);
        }
    }

    /// The next SCTP packet to send as DTLS application data, and its transport.
    pub fn poll_application_data(&mut self, now: Instant) -> Option<(T, Bytes)> {
        self.transports.iter_mut().find_map(|(t, state)| {
            let data = state.sctp.as_mut()?.poll_transmit(now)?;
            Some((*t, data))
        })
    }

    /// The next data channel event of any transport.
    pub fn poll_data_event(&mut self) -> Option<(T, DataChannelEvent)> {
        self.transports.iter_mut().find_map(|(t, state)| {
            let event = state.sctp.as_mut()?.poll_event()?;
            Some((*t, event))
        })
    }

    /// Marks every channel of `transport` writable or not.
    pub fn set_writable(&mut self, now: Instant, transport: T, writable: bool) {
        for slot in self.channels.iter_mut().flatten() {
            if slot.transport == transport {
                slot.channel.set_writable(now, writable);
            }
        }
    }

    /// A plain RTP packet `transport` delivered (`data` is the whole packet).
    pub fn handle_rtp(&mut self, now: Instant, transport: T, data: Bytes) {
        let Ok(packet) = RtpPacket::parse(&data) else {
            self.dropped_rtp += 1;
            return;
        };
        // BUNDLE: every section uses the same ids; the first channel's serve.
        let extensions = self
            .channels
            .iter()
            .flatten()
            .filter(|s| s.transport == transport)
            .find_map(|s| s.channel.receive_extensions())
            .unwrap_or(&self.no_extensions);
        let Some(state) = self.transports.get_mut(&transport) else {
            self.dropped_rtp += 1;
            return;
        };
        let mut feedback_due = false;
        if let Some((generator, id, _)) = &mut state.feedback {
            if let Some(value) = packet.extension(*id).filter(|v| v.len() == 2) {
                generator.on_packet_received(now, u16::from_be_bytes([value[0], value[1]]));
                // Early feedback only when enough is pending; the rest is timed.
                feedback_due = generator.pending() >= generator.config().early_feedback_packets;
            }
        }
        let sink = state.demuxer.demux(&packet, extensions);
        // The channel takes the parsed packet: one parse per packet.
        match sink.and_then(|id| self.channel_mut(id)) {
            Some(channel) => channel.handle_parsed_rtp(now, &packet, &data),
            None => self.dropped_rtp += 1,
        }
        if feedback_due {
            self.drain_feedback(transport);
        }
    }

    /// Writes pending transport-wide feedback of `transport` as RTCP (after
    /// an empty RR unless reduced-size RTCP was negotiated).
    fn drain_feedback(&mut self, transport: T) {
        let Some(state) = self.transports.get_mut(&transport) else {
            return;
        };
        let Some((generator, _, reduced)) = &mut state.feedback else {
            return;
        };
        loop {
            let mut buf = [0u8; 1200];
            let mut w = CompoundWriter::new(&mut buf);
            if !*reduced {
                let rr = ReceiverReportBuilder {
                    ssrc: generator.config().sender_ssrc,
                    report_blocks: &[],
                    extension: &[],
                };
                if w.push(&rr).is_err() {
                    return;
                }
            }
            let start = w.len();
            match generator.poll_feedback(&mut buf[start..]) {
                Ok(Some(n)) => state.out.push_back(OutgoingPacket {
                    rtcp: true,
                    retransmission: false,
                    data: Bytes::copy_from_slice(&buf[..start + n]),
                }),
                Ok(None) => return,
                Err(e) => {
                    tracing::debug!(error = %e, "transport-wide feedback not written");
                    return;
                }
            }
        }
    }

    /// A plain RTCP compound `transport` delivered.
    pub fn handle_rtcp(&mut self, now: Instant, transport: T, data: &[u8]) {
        let Ok(compound) = Compound::parse(data) else {
            return;
        };
        let state = self.transports.get_mut(&transport);
        let mut cc = state.and_then(|s| s.cc.as_mut());
        let mut targets = std::mem::take(&mut self.rtcp_targets);
        for packet in compound.packets().flatten() {
            if let Some(cc) = cc.as_mut() {
                cc.controller.handle_rtcp(now, &packet);
            }
            targets.clear();
            rtcp_targets(&self.channels, transport, &packet, &mut targets);
            for &i in &targets {
                if let Some(slot) = self.channels[i].as_mut() {
                    slot.channel.handle_rtcp(now, &packet);
                }
            }
        }
        self.rtcp_targets = targets;
        self.drain_controller_events(now);
    }

    fn drain_controller_events(&mut self, now: Instant) {
        for (transport, state) in self.transports.iter_mut() {
            let Some(cc) = state.cc.as_mut() else {
                continue;
            };
            while let Some(event) = cc.controller.poll_event() {
                let GoogCcEvent::TargetBitrate {
                    bitrate_bps,
                    pacing_rate_bps,
                } = event;
                cc.pacer.set_pacing_rate(now, pacing_rate_bps);
                self.events.push_back((
                    *transport,
                    TransportEvent::TargetBitrate {
                        bitrate_bps,
                        pacing_rate_bps,
                    },
                ));
            }
        }
    }

    /// RTP packets no channel took (malformed, or no sink matched).
    pub fn dropped_rtp(&self) -> u64 {
        self.dropped_rtp
    }

    /// Packets the pacers refused because their queue was full.
    pub fn pacer_drops(&self) -> u64 {
        self.pacer_drops
    }

    /// The congestion controller's target for `transport`, once it runs one.
    pub fn target_bitrate(&self, transport: T) -> Option<u64> {
        Some(
            self.transports
                .get(&transport)?
                .cc
                .as_ref()?
                .controller
                .target_bitrate(),
        )
    }

    /// Runs every channel's timers and the transports' congestion control.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.start_congestion_control(now);
        for slot in self.channels.iter_mut().flatten() {
            if slot.channel.poll_timeout().is_some_and(|t| t <= now) {
                slot.channel.handle_timeout(now);
            }
        }
        let mut feedback = Vec::new();
        for (transport, state) in self.transports.iter_mut() {
            if let Some((generator, _, _)) = &mut state.feedback {
                if generator.poll_timeout().is_some_and(|t| t <= now) {
                    generator.handle_timeout(now);
                    feedback.push(*transport);
                }
            }
            if let Some(sctp) = &mut state.sctp {
                if sctp.poll_timeout().is_some_and(|t| t <= now) {
                    sctp.handle_timeout(now);
                }
            }
            if let Some(cc) = &mut state.cc {
                if cc.controller.poll_timeout().is_some_and(|t| t <= now) {
                    cc.controller.handle_timeout(now);
                }
                if cc.pacer.poll_timeout().is_some_and(|t| t <= now) {
                    cc.pacer.handle_timeout(now);
                }
            }
        }
        for transport in feedback {
            self.drain_feedback(transport);
        }
        self.drain_controller_events(now);
    }

    /// The earliest timer of any channel or transport.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let channels = self
            .channels
            .iter()
            .flatten()
            .filter_map(|s| s.channel.poll_timeout());
        let transports = self.transports.values().flat_map(|t| {
            let feedback = t.feedback.as_ref().and_then(|(g, _, _)| g.poll_timeout());
            let sctp = t.sctp.as_ref().and_then(SctpTransport::poll_timeout);
            let cc = t.cc.as_ref().map_or([None, None], |cc| {
                [cc.controller.poll_timeout(), cc.pacer.poll_timeout()]
            });
            [feedback, sctp].into_iter().chain(cc).flatten()
        });
        channels.chain(transports).min()
    }

    /// Starts the congestion controllers negotiated since the last call.
    fn start_congestion_control(&mut self, now: Instant) {
        for state in self.transports.values_mut() {
            if let (None, Some(send_id)) = (&state.cc, state.cc_send_id) {
                let controller = GoogCcController::new(now, self.cc_config);
                let pacing = controller.pacing_rate();
                state.cc = Some(TransportCc {
                    controller,
                    pacer: Pacer::new(PacerConfig::default(), pacing),
                    send_id,
                    next_seq: 0,
                });
            }
        }
    }

    /// The next packet to send at `now` and the transport it goes on: RTCP at
    /// once, RTP as the transport's pacer releases it (stamped with its
    /// transport-wide sequence number), channels taken in turn.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(T, OutgoingPacket)> {
        self.start_congestion_control(now);
        // What the channels produced goes to their transport's queue or pacer.
        let n = self.channels.len();
        for k in 0..n {
            let i = (self.next_poll + k) % n;
            let Some(slot) = self.channels[i].as_mut() else {
                continue;
            };
            let Some(state) = self.transports.get_mut(&slot.transport) else {
                continue;
            };
            let class = if *slot.channel.media_type() == MediaType::Audio {
                PacketClass::Audio
            } else {
                PacketClass::Video
            };
            while let Some(p) = slot.channel.poll_transmit() {
                match (&mut state.cc, p.rtcp) {
                    (Some(cc), false) => {
                        let len = p.data.len();
                        let class = if p.retransmission {
                            PacketClass::Retransmission
                        } else {
                            class
                        };
                        if !matches!(cc.pacer.enqueue(now, p, len, class), Ok(None)) {
                            self.pacer_drops += 1;
                        }
                    }
                    _ => state.out.push_back(p),
                }
            }
        }
        self.next_poll = (self.next_poll + 1) % n.max(1);
        // Released packets get their transport-wide sequence number.
        for state in self.transports.values_mut() {
            let Some(cc) = &mut state.cc else {
                continue;
            };
            while let Some(mut p) = cc.pacer.poll_packet(now) {
                let seq = cc.next_seq;
                if let Some(stamped) = stamp(&mut self.pool, &p.data, cc.send_id, seq) {
                    cc.next_seq = seq.wrapping_add(1);
                    cc.controller.on_packet_sent(now, seq, stamped.len());
                    p.data = stamped;
                }
                state.out.push_back(p);
            }
        }
        self.transports
            .iter_mut()
            .find_map(|(t, s)| s.out.pop_front().map(|p| (*t, p)))
    }

    /// The next event of any channel.
    pub fn poll_event(&mut self) -> Option<(ChannelId, ChannelEvent)> {
        self.channels.iter_mut().enumerate().find_map(|(i, s)| {
            let e = s.as_mut()?.channel.poll_event()?;
            Some((ChannelId(i), e))
        })
    }

    /// The next event of a transport (its congestion controller's target).
    pub fn poll_transport_event(&mut self) -> Option<(T, TransportEvent)> {
        self.events.pop_front()
    }
}

/// The channels of `transport` an RTCP packet concerns, each once, into
/// `out` (positions in `channels`): see the [module docs](self).
fn rtcp_targets<T: Copy + Eq>(
    channels: &[Option<Slot<T>>],
    transport: T,
    packet: &RtcpPacket<'_>,
    out: &mut Vec<usize>,
) {
    let mut add = |ssrc: u32, sending: bool| {
        let owner = channels.iter().position(|slot| {
            slot.as_ref().is_some_and(|s| {
                s.transport == transport
                    && if sending {
                        s.channel.send_ssrcs().any(|x| x == ssrc)
                    } else {
                        s.channel.receive_ssrcs().any(|x| x == ssrc)
                    }
            })
        });
        if let Some(i) = owner {
            if !out.contains(&i) {
                out.push(i);
            }
        }
    };
    match packet {
        RtcpPacket::SenderReport(sr) => {
            add(sr.ssrc(), false);
            for block in sr.report_blocks() {
                add(block.ssrc, true);
            }
        }
        RtcpPacket::ReceiverReport(rr) => {
            for block in rr.report_blocks() {
                add(block.ssrc, true);
            }
        }
        RtcpPacket::Nack(nack) => add(nack.media_ssrc(), true),
        RtcpPacket::Pli(pli) => add(pli.media_ssrc, true),
        RtcpPacket::Fir(fir) => {
            for entry in fir.entries() {
                add(entry.ssrc, true);
            }
        }
        RtcpPacket::Remb(remb) => {
            for ssrc in remb.ssrcs() {
                add(ssrc, true);
            }
        }
        RtcpPacket::Bye(bye) => {
            for ssrc in bye.ssrcs() {
                add(ssrc, false);
            }
        }
        // Transport-wide feedback is the congestion controller's; SDES, APP
        // and what this crate does not decode name no stream a channel acts on.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::data::{DataChannelInit, DtlsRole, SctpConfig};

    #[test]
    fn data_channels_ride_the_managers_transports() {
        let mut now = Instant::now();
        let mut a: ChannelManager<u8> = ChannelManager::new();
        let mut b: ChannelManager<u8> = ChannelManager::new();
        let mut client = SctpTransport::new(SctpConfig::default(), DtlsRole::Client);
        client.connect(now).unwrap();
        a.set_data_transport(7, client);
        b.set_data_transport(
            7,
            SctpTransport::new(SctpConfig::default(), DtlsRole::Server),
        );
        let mut got = Vec::new();
        let mut opened = false;
        for _ in 0..2000 {
            while let Some((t, data)) = a.poll_application_data(now) {
                assert_eq!(t, 7);
                b.handle_application_data(now, t, data);
            }
            while let Some((t, data)) = b.poll_application_data(now) {
                a.handle_application_data(now, t, data);
            }
            while let Some((_, e)) = a.poll_data_event() {
                if e == DataChannelEvent::Connected {
                    let sctp = a.data_transport(7).unwrap();
                    let id = sctp.create_channel(now, DataChannelInit::new("m")).unwrap();
                    sctp.send_text(now, id, "through the manager").unwrap();
                }
            }
            while let Some((_, e)) = b.poll_data_event() {
                match e {
                    DataChannelEvent::ChannelOpen { label, .. } => opened = label == "m",
                    DataChannelEvent::Message { data, .. } => got.push(data),
                    _ => {}
                }
            }
            if !got.is_empty() {
                break;
            }
            now += Duration::from_millis(1);
            a.handle_timeout(now);
            b.handle_timeout(now);
        }
        assert!(opened);
        assert_eq!(got, vec![Bytes::from_static(b"through the manager")]);
        assert!(
            a.poll_timeout().is_some(),
            "the association's timers are the manager's"
        );
    }
}
