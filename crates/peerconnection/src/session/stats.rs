//! `getStats` of a [`Session`]: the W3C stats objects filled from the
//! counters of the layers below (libwebrtc's RTCStatsCollector).

use super::*;
use crate::stats::{
    DataChannelState, DtlsTransportState, IceCandidatePairState, IceCandidateType, IceProtocol,
    IceTransportState, MediaKind, RtcDataChannelStats, RtcIceCandidatePairStats,
    RtcIceCandidateStats, RtcInboundRtpStreamStats, RtcOutboundRtpStreamStats,
    RtcPeerConnectionStats, RtcStats, RtcStatsReport, RtcTransportStats,
};
use media_channels::sdp::dtls_transport::ice::{Candidate, CandidateKind, TransportProtocol};

/// What the session counts per data channel for its stats.
#[derive(Debug, Clone, Default)]
pub(super) struct DataChannelCounters {
    pub(super) label: String,
    pub(super) protocol: String,
    pub(super) open: bool,
    pub(super) closed: bool,
    pub(super) messages_sent: u32,
    pub(super) bytes_sent: u64,
    pub(super) messages_received: u32,
    pub(super) bytes_received: u64,
}

fn candidate_stats(
    id: String,
    transport_id: &str,
    c: &Candidate,
    timestamp: f64,
) -> RtcIceCandidateStats {
    RtcIceCandidateStats {
        id,
        timestamp,
        transport_id: transport_id.to_string(),
        address: Some(c.address.to_string()),
        port: Some(c.port),
        protocol: Some(match c.transport {
            TransportProtocol::Udp => IceProtocol::Udp,
            _ => IceProtocol::Tcp,
        }),
        candidate_type: match c.kind {
            CandidateKind::Host => IceCandidateType::Host,
            CandidateKind::ServerReflexive => IceCandidateType::Srflx,
            CandidateKind::PeerReflexive => IceCandidateType::Prflx,
            CandidateKind::Relay => IceCandidateType::Relay,
        },
        priority: Some(c.priority),
        foundation: Some(c.foundation.clone()),
        related_address: c.related.as_ref().map(|(a, _)| a.to_string()),
        related_port: c.related.as_ref().map(|(_, p)| *p),
        username_fragment: c.ufrag.clone(),
        ..RtcIceCandidateStats::default()
    }
}

impl Session {
    /// A W3C stats report (`getStats`) at `timestamp` (milliseconds since
    /// the Unix epoch): the peer connection, each transport with its
    /// selected candidate pair and that pair's two candidates (the local
    /// one is the candidate the path really uses: a peer-reflexive one when
    /// a NAT mapped us, RFC 8445 §7.2.5.3.2), an `outbound-rtp` per stream
    /// we send, an `inbound-rtp` per stream we receive, and each data
    /// channel.
    pub fn stats(&mut self, timestamp: f64) -> RtcStatsReport {
        let mut report = RtcStatsReport::new();
        let counters = &self.data.counters;
        report.insert(RtcStats::PeerConnection(RtcPeerConnectionStats {
            id: "P".into(),
            timestamp,
            data_channels_opened: Some(counters.values().filter(|c| c.open).count() as u32),
            data_channels_closed: Some(counters.values().filter(|c| c.closed).count() as u32),
        }));
        let mut names: Vec<(String, TransportId)> = self
            .transports
            .iter()
            .map(|(n, id)| (n.clone(), *id))
            .collect();
        names.sort();
        for (name, _) in &names {
            let transport_id = format!("T{name}");
            let Some(t) = self.controller.transport(name) else {
                continue;
            };
            let dtls_state = match t.dtls().state() {
                DtlsState::New => DtlsTransportState::New,
                DtlsState::Connecting => DtlsTransportState::Connecting,
                DtlsState::Connected => DtlsTransportState::Connected,
                DtlsState::Closed => DtlsTransportState::Closed,
                _ => DtlsTransportState::Failed,
            };
            let dtls_role = t.dtls().role();
            let ice = t.ice();
            let ice_state = match ice.state() {
                IceConnectionState::New => IceTransportState::New,
                IceConnectionState::Checking => IceTransportState::Checking,
                IceConnectionState::Connected => IceTransportState::Connected,
                IceConnectionState::Completed => IceTransportState::Completed,
                IceConnectionState::Disconnected => IceTransportState::Disconnected,
                IceConnectionState::Failed => IceTransportState::Failed,
                _ => IceTransportState::Closed,
            };
            let ufrag = ice.local_credentials().ufrag.clone();
            let ice_role = ice.role();
            let selected = ice.selected_pair();
            let rtt = ice.selected_rtt();
            let pair_id = selected.as_ref().map(|_| format!("CP{name}"));
            if let Some((local, remote)) = &selected {
                let local_id = format!("I{name}L");
                let remote_id = format!("I{name}R");
                report.insert(RtcStats::LocalCandidate(candidate_stats(
                    local_id.clone(),
                    &transport_id,
                    local,
                    timestamp,
                )));
                report.insert(RtcStats::RemoteCandidate(candidate_stats(
                    remote_id.clone(),
                    &transport_id,
                    remote,
                    timestamp,
                )));
                report.insert(RtcStats::CandidatePair(RtcIceCandidatePairStats {
                    id: pair_id.clone().unwrap_or_default(),
                    timestamp,
                    transport_id: transport_id.clone(),
                    local_candidate_id: local_id,
                    remote_candidate_id: remote_id,
                    state: IceCandidatePairState::Succeeded,
                    nominated: Some(true),
                    current_round_trip_time: rtt.map(|d| d.as_secs_f64()),
                    ..RtcIceCandidatePairStats::default()
                }));
            }
            report.insert(RtcStats::Transport(RtcTransportStats {
                id: transport_id,
                timestamp,
                ice_role: Some(match ice_role {
                    IceRole::Controlling => crate::stats::IceRole::Controlling,
                    IceRole::Controlled => crate::stats::IceRole::Controlled,
                }),
                ice_local_username_fragment: Some(ufrag),
                dtls_state,
                ice_state: Some(ice_state),
                selected_candidate_pair_id: pair_id,
                dtls_role: Some(match dtls_role {
                    DtlsRole::Client => crate::stats::DtlsRole::Client,
                    DtlsRole::Server => crate::stats::DtlsRole::Server,
                }),
                ..RtcTransportStats::default()
            }));
        }
        for t in &self.transceivers {
            let Some(channel) = t.channel.and_then(|c| self.manager.channel(c)) else {
                continue;
            };
            let kind = match t.kind {
                MediaType::Video => MediaKind::Video,
                _ => MediaKind::Audio,
            };
            let mid = t.mid.as_deref().map(str::to_string);
            let transport_id = names
                .iter()
                .find(|(_, id)| Some(*id) == self.manager_transport_of(t.channel))
                .map(|(n, _)| format!("T{n}"));
            if let (Some(ssrc), Some(sent)) = (channel.send_ssrc(), channel.send_counters()) {
                report.insert(RtcStats::OutboundRtp(RtcOutboundRtpStreamStats {
                    id: format!("OT{ssrc}"),
                    timestamp,
                    ssrc,
                    kind,
                    transport_id: transport_id.clone(),
                    packets_sent: Some(sent.packets),
                    bytes_sent: Some(sent.payload_bytes),
                    header_bytes_sent: Some(sent.header_bytes),
                    retransmitted_packets_sent: Some(sent.retransmitted_packets),
                    retransmitted_bytes_sent: Some(sent.retransmitted_bytes),
                    mid: mid.clone(),
                    frames_sent: Some(sent.frames as u32),
                    nack_count: Some(sent.nacks_received as u32),
                    pli_count: Some(sent.plis_received as u32),
                    fir_count: Some(sent.firs_received as u32),
                    ..RtcOutboundRtpStreamStats::default()
                }));
            }
            for ssrc in channel.receive_ssrcs() {
                let Some(received) = channel.receive_counters(ssrc) else {
                    continue;
                };
                report.insert(RtcStats::InboundRtp(RtcInboundRtpStreamStats {
                    id: format!("IT{ssrc}"),
                    timestamp,
                    ssrc,
                    kind,
                    transport_id: transport_id.clone(),
                    packets_received: Some(received.packets),
                    bytes_received: Some(received.payload_bytes),
                    header_bytes_received: Some(received.header_bytes),
                    track_identifier: format!("{}-{ssrc}", t.mid.as_deref().unwrap_or_default()),
                    mid: mid.clone(),
                    frames_received: Some(received.frames as u32),
                    key_frames_decoded: None,
                    frames_dropped: channel.frames_dropped(ssrc).map(|n| n as u32),
                    nack_count: Some(received.nack_requests as u32),
                    pli_count: Some(received.keyframe_requests as u32),
                    ..RtcInboundRtpStreamStats::default()
                }));
            }
        }
        let mut channels: Vec<(&DataChannelId, &DataChannelCounters)> =
            self.data.counters.iter().collect();
        channels.sort_by_key(|(id, _)| **id);
        for (id, c) in channels {
            report.insert(RtcStats::DataChannel(RtcDataChannelStats {
                id: format!("D{}", id.0),
                timestamp,
                label: Some(c.label.clone()),
                protocol: Some(c.protocol.clone()),
                data_channel_identifier: self.data.by_id.get(id).copied(),
                state: if c.closed {
                    DataChannelState::Closed
                } else if c.open {
                    DataChannelState::Open
                } else {
                    DataChannelState::Connecting
                },
                messages_sent: Some(c.messages_sent),
                bytes_sent: Some(c.bytes_sent),
                messages_received: Some(c.messages_received),
                bytes_received: Some(c.bytes_received),
            }));
        }
        report
    }

    fn manager_transport_of(&self, channel: Option<ChannelId>) -> Option<TransportId> {
        let channel = channel?;
        self.transceivers
            .iter()
            .find(|t| t.channel == Some(channel))
            .and_then(|t| t.mid.as_deref())
            .and_then(|mid| {
                let local = self.local_description()?.description();
                self.transports
                    .get(&super::negotiation::transport_name(local, mid))
                    .copied()
            })
    }
}
