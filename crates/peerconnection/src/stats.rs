//! W3C `RTCStats` objects (webrtc-stats) and the [`RtcStatsReport`] that
//! holds them, with the JSON shape browsers give for
//! `JSON.stringify([...report.values()])`.
//!
//! Every stats object is one plain struct with public fields, named after
//! its W3C dictionary (`RTCInboundRtpStreamStats` → [`RtcInboundRtpStreamStats`]).
//! Members the W3C marks `required` are plain fields; the rest are `Option`s,
//! left out of the JSON when `None`. [`RtcStats`] is tagged by `type` with the
//! W3C `RTCStatsType` strings (`"candidate-pair"`, `"inbound-rtp"` …), and
//! every object carries its `id` and `timestamp` (milliseconds since the Unix
//! epoch, as `DOMHighResTimeStamp` in a browser).
//!
//! The session fills these from the lower layers' counters; this module only
//! defines the shapes.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// A stats report (W3C `RTCStatsReport`): stats objects by `id`.
///
/// Iterates and serialises in `id` order, as a JSON array of objects.
///
/// ```
/// use peerconnection::stats::{RtcPeerConnectionStats, RtcStats, RtcStatsReport};
///
/// let mut report = RtcStatsReport::new();
/// report.insert(RtcStats::PeerConnection(RtcPeerConnectionStats {
///     id: "P".into(),
///     timestamp: 1_700_000_000_000.0,
///     data_channels_opened: Some(1),
///     data_channels_closed: None,
/// }));
/// assert_eq!(
///     report.to_json(),
///     r#"[{"type":"peer-connection","id":"P","timestamp":1700000000000.0,"dataChannelsOpened":1}]"#
/// );
/// assert_eq!(RtcStatsReport::from_json(&report.to_json())?, report);
/// # Ok::<(), peerconnection::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RtcStatsReport {
    stats: BTreeMap<String, RtcStats>,
}

impl RtcStatsReport {
    /// An empty report.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `stats`, returning the object it replaced (same `id`), if any.
    pub fn insert(&mut self, stats: RtcStats) -> Option<RtcStats> {
        self.stats.insert(stats.id().to_owned(), stats)
    }

    /// The object with this `id`.
    pub fn get(&self, id: &str) -> Option<&RtcStats> {
        self.stats.get(id)
    }

    /// The objects, in `id` order.
    pub fn iter(&self) -> impl Iterator<Item = &RtcStats> {
        self.stats.values()
    }

    /// How many objects the report holds.
    pub fn len(&self) -> usize {
        self.stats.len()
    }

    /// Whether the report is empty.
    pub fn is_empty(&self) -> bool {
        self.stats.is_empty()
    }

    /// The report as a JSON array of stats objects, the shape of
    /// `JSON.stringify([...report.values()])` in a browser.
    pub fn to_json(&self) -> String {
        // Plain structs with string keys: serde_json cannot fail on them.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a JSON array of stats objects (what [`to_json`](Self::to_json)
    /// writes); a later object replaces an earlier one with the same `id`.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|source| Error::Json {
            what: "RTCStatsReport",
            source,
        })
    }
}

impl FromIterator<RtcStats> for RtcStatsReport {
    fn from_iter<I: IntoIterator<Item = RtcStats>>(iter: I) -> Self {
        let mut report = RtcStatsReport::new();
        report.extend(iter);
        report
    }
}

impl Extend<RtcStats> for RtcStatsReport {
    fn extend<I: IntoIterator<Item = RtcStats>>(&mut self, iter: I) {
        for stats in iter {
            self.insert(stats);
        }
    }
}

impl Serialize for RtcStatsReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.stats.values())
    }
}

impl<'de> Deserialize<'de> for RtcStatsReport {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Vec::<RtcStats>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

/// One stats object, tagged in JSON by its W3C `type` (`RTCStatsType`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RtcStats {
    /// `"codec"`.
    Codec(RtcCodecStats),
    /// `"inbound-rtp"`.
    InboundRtp(RtcInboundRtpStreamStats),
    /// `"outbound-rtp"`.
    OutboundRtp(RtcOutboundRtpStreamStats),
    /// `"remote-inbound-rtp"`.
    RemoteInboundRtp(RtcRemoteInboundRtpStreamStats),
    /// `"remote-outbound-rtp"`.
    RemoteOutboundRtp(RtcRemoteOutboundRtpStreamStats),
    /// `"media-source"`.
    MediaSource(RtcMediaSourceStats),
    /// `"peer-connection"`.
    PeerConnection(RtcPeerConnectionStats),
    /// `"data-channel"`.
    DataChannel(RtcDataChannelStats),
    /// `"transport"`.
    Transport(RtcTransportStats),
    /// `"candidate-pair"`.
    CandidatePair(RtcIceCandidatePairStats),
    /// `"local-candidate"`.
    LocalCandidate(RtcIceCandidateStats),
    /// `"remote-candidate"`.
    RemoteCandidate(RtcIceCandidateStats),
    /// `"certificate"`.
    Certificate(RtcCertificateStats),
}

impl RtcStats {
    /// The object's `id`.
    pub fn id(&self) -> &str {
        match self {
            RtcStats::Codec(s) => &s.id,
            RtcStats::InboundRtp(s) => &s.id,
            RtcStats::OutboundRtp(s) => &s.id,
            RtcStats::RemoteInboundRtp(s) => &s.id,
            RtcStats::RemoteOutboundRtp(s) => &s.id,
            RtcStats::MediaSource(s) => &s.id,
            RtcStats::PeerConnection(s) => &s.id,
            RtcStats::DataChannel(s) => &s.id,
            RtcStats::Transport(s) => &s.id,
            RtcStats::CandidatePair(s) => &s.id,
            RtcStats::LocalCandidate(s) | RtcStats::RemoteCandidate(s) => &s.id,
            RtcStats::Certificate(s) => &s.id,
        }
    }

    /// The object's `timestamp` (milliseconds since the Unix epoch).
    pub fn timestamp(&self) -> f64 {
        match self {
            RtcStats::Codec(s) => s.timestamp,
            RtcStats::InboundRtp(s) => s.timestamp,
            RtcStats::OutboundRtp(s) => s.timestamp,
            RtcStats::RemoteInboundRtp(s) => s.timestamp,
            RtcStats::RemoteOutboundRtp(s) => s.timestamp,
            RtcStats::MediaSource(s) => s.timestamp,
            RtcStats::PeerConnection(s) => s.timestamp,
            RtcStats::DataChannel(s) => s.timestamp,
            RtcStats::Transport(s) => s.timestamp,
            RtcStats::CandidatePair(s) => s.timestamp,
            RtcStats::LocalCandidate(s) | RtcStats::RemoteCandidate(s) => s.timestamp,
            RtcStats::Certificate(s) => s.timestamp,
        }
    }

    /// The W3C `RTCStatsType` string, as in the JSON `type` member.
    pub fn stats_type(&self) -> &'static str {
        match self {
            RtcStats::Codec(_) => "codec",
            RtcStats::InboundRtp(_) => "inbound-rtp",
            RtcStats::OutboundRtp(_) => "outbound-rtp",
            RtcStats::RemoteInboundRtp(_) => "remote-inbound-rtp",
            RtcStats::RemoteOutboundRtp(_) => "remote-outbound-rtp",
            RtcStats::MediaSource(_) => "media-source",
            RtcStats::PeerConnection(_) => "peer-connection",
            RtcStats::DataChannel(_) => "data-channel",
            RtcStats::Transport(_) => "transport",
            RtcStats::CandidatePair(_) => "candidate-pair",
            RtcStats::LocalCandidate(_) => "local-candidate",
            RtcStats::RemoteCandidate(_) => "remote-candidate",
            RtcStats::Certificate(_) => "certificate",
        }
    }
}

/// `kind` of an RTP stream or media source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// `"audio"`.
    #[default]
    Audio,
    /// `"video"`.
    Video,
}

/// W3C `RTCIceCandidateType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IceCandidateType {
    /// `"host"`.
    #[default]
    Host,
    /// `"srflx"`: server reflexive.
    Srflx,
    /// `"prflx"`: peer reflexive.
    Prflx,
    /// `"relay"`.
    Relay,
}

/// W3C `RTCIceProtocol`: the transport of a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IceProtocol {
    /// `"udp"`.
    #[default]
    Udp,
    /// `"tcp"`.
    Tcp,
}

/// W3C `RTCIceServerTransportProtocol`: how a relay candidate reached its TURN server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayProtocol {
    /// `"udp"`.
    Udp,
    /// `"tcp"`.
    Tcp,
    /// `"tls"`.
    Tls,
}

/// W3C `RTCStatsIceCandidatePairState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IceCandidatePairState {
    /// `"frozen"`.
    #[default]
    Frozen,
    /// `"waiting"`.
    Waiting,
    /// `"in-progress"`.
    InProgress,
    /// `"failed"`.
    Failed,
    /// `"succeeded"`.
    Succeeded,
}

/// W3C `RTCDtlsTransportState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DtlsTransportState {
    /// `"new"`.
    #[default]
    New,
    /// `"connecting"`.
    Connecting,
    /// `"connected"`.
    Connected,
    /// `"closed"`.
    Closed,
    /// `"failed"`.
    Failed,
}

/// W3C `RTCIceTransportState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IceTransportState {
    /// `"new"`.
    #[default]
    New,
    /// `"checking"`.
    Checking,
    /// `"connected"`.
    Connected,
    /// `"completed"`.
    Completed,
    /// `"disconnected"`.
    Disconnected,
    /// `"failed"`.
    Failed,
    /// `"closed"`.
    Closed,
}

/// W3C `RTCDataChannelState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataChannelState {
    /// `"connecting"`.
    #[default]
    Connecting,
    /// `"open"`.
    Open,
    /// `"closing"`.
    Closing,
    /// `"closed"`.
    Closed,
}

/// W3C `RTCIceRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IceRole {
    /// `"unknown"`.
    Unknown,
    /// `"controlling"`.
    Controlling,
    /// `"controlled"`.
    Controlled,
}

/// W3C `RTCDtlsRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DtlsRole {
    /// `"client"`.
    Client,
    /// `"server"`.
    Server,
    /// `"unknown"`.
    Unknown,
}

/// W3C `RTCCodecStats` (`"codec"`): a codec in use on a transport.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcCodecStats {
    /// `id`.
    pub id: String,
    /// `timestamp`, ms since the Unix epoch.
    pub timestamp: f64,
    /// `payloadType`.
    pub payload_type: u32,
    /// `transportId`: the `"transport"` object it is used on.
    pub transport_id: String,
    /// `mimeType`, e.g. `"video/VP8"`.
    pub mime_type: String,
    /// `clockRate`, Hz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_rate: Option<u32>,
    /// `channels` (audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u32>,
    /// `sdpFmtpLine`: the `a=fmtp` parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_fmtp_line: Option<String>,
}

/// W3C `RTCInboundRtpStreamStats` (`"inbound-rtp"`): one received SSRC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcInboundRtpStreamStats {
    /// `id`.
    pub id: String,
    /// `timestamp`, ms since the Unix epoch.
    pub timestamp: f64,
    /// `ssrc`.
    pub ssrc: u32,
    /// `kind`.
    pub kind: MediaKind,
    /// `transportId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_id: Option<String>,
    /// `codecId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec_id: Option<String>,
    /// `packetsReceived`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets_received: Option<u64>,
    /// `packetsLost` (signed: duplicates can make it negative, RFC 3550).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets_lost: Option<i64>,
    /// `jitter`, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<f64>,
    /// `trackIdentifier`: the receiving track's id.
    pub track_identifier: String,
    /// `mid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// `remoteId`: the matching `"remote-outbound-rtp"` object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    /// `bytesReceived` (payload bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_received: Option<u64>,
    /// `headerBytesReceived`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_bytes_received: Option<u64>,
    /// `lastPacketReceivedTimestamp`, ms since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_packet_received_timestamp: Option<f64>,
    /// `framesReceived` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_received: Option<u32>,
    /// `framesDecoded` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_decoded: Option<u32>,
    /// `keyFramesDecoded` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_frames_decoded: Option<u32>,
    /// `framesDropped` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_dropped: Option<u32>,
    /// `frameWidth` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_width: Option<u32>,
    /// `frameHeight` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_height: Option<u32>,
    /// `framesPerSecond` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_per_second: Option<f64>,
    /// `jitterBufferDelay`, seconds (sum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_buffer_delay: Option<f64>,
    /// `jitterBufferEmittedCount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_buffer_emitted_count: Option<u64>,
    /// `nackCount`: NACKs sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nack_count: Option<u32>,
    /// `firCount`: FIRs sent (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fir_count: Option<u32>,
    /// `pliCount`: PLIs sent (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pli_count: Option<u32>,
    /// `totalSamplesReceived` (audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_samples_received: Option<u64>,
    /// `concealedSamples` (audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concealed_samples: Option<u64>,
    /// `audioLevel`, 0.0 to 1.0 (audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_level: Option<f64>,
}

/// W3C `RTCOutboundRtpStreamStats` (`"outbound-rtp"`): one sent SSRC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcOutboundRtpStreamStats {
    /// `id`.
    pub id: String,
    /// `timestamp`, ms since the Unix epoch.
    pub timestamp: f64,
    /// `ssrc`.
    pub ssrc: u32,
    /// `kind`.
    pub kind: MediaKind,
    /// `transportId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_id: Option<String>,
    /// `codecId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec_id: Option<String>,
    /// `packetsSent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets_sent: Option<u64>,
    /// `bytesSent` (payload bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_sent: Option<u64>,
    /// `headerBytesSent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_bytes_sent: Option<u64>,
    /// `retransmittedPacketsSent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmitted_packets_sent: Option<u64>,
    /// `retransmittedBytesSent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmitted_bytes_sent: Option<u64>,
    /// `mid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// `mediaSourceId`: the `"media-source"` object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_source_id: Option<String>,
    /// `remoteId`: the matching `"remote-inbound-rtp"` object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    /// `rid` (simulcast).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// `targetBitrate`, bits per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_bitrate: Option<f64>,
    /// `framesEncoded` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_encoded: Option<u32>,
    /// `keyFramesEncoded` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_frames_encoded: Option<u32>,
    /// `framesSent` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_sent: Option<u32>,
    /// `frameWidth` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_width: Option<u32>,
    /// `frameHeight` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_height: Option<u32>,
    /// `framesPerSecond` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_per_second: Option<f64>,
    /// `nackCount`: NACKs received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nack_count: Option<u32>,
    /// `firCount`: FIRs received (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fir_count: Option<u32>,
    /// `pliCount`: PLIs received (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pli_count: Option<u32>,
    /// `active`: whether the encoding is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// W3C `RTCRemoteInboundRtpStreamStats` (`"remote-inbound-rtp"`): what the
/// peer reports (RTCP RR) about a stream we send.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcRemoteInboundRtpStreamStats {
    /// `id`.
    pub id: String,
    /// `timestamp`, ms since the Unix epoch.
    pub timestamp: f64,
    /// `ssrc`.
    pub ssrc: u32,
    /// `kind`.
    pub kind: MediaKind,
    /// `transportId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_id: Option<String>,
    /// `codecId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec_id: Option<String>,
    /// `packetsReceived`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets_received: Option<u64>,
    /// `packetsLost` (cumulative, signed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets_lost: Option<i64>,
    /// `jitter`, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<f64>,
    /// `localId`: the matching `"outbound-rtp"` object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_id: Option<String>,
    /// `roundTripTime`, seconds (latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_trip_time: Option<f64>,
    /// `totalRoundTripTime`, seconds (sum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_round_trip_time: Option<f64>,
    /// `fractionLost`, 0.0 to 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction_lost: Option<f64>,
    /// `roundTripTimeMeasurements`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_trip_time_measurements: Option<u64>,
}

/// W3C `RTCRemoteOutboundRtpStreamStats` (`"remote-outbound-rtp"`): what the
/// peer reports (RTCP SR) about a stream it sends us.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcRemoteOutboundRtpStreamStats {
    /// `id`.
    pub id: String,
    /// `timestamp`, ms since the Unix epoch.
    pub timestamp: f64,
    /// `ssrc`.
    pub ssrc: u32,
    /// `kind`.
    pub kind: MediaKind,
    /// `transportId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_id: Option<String>,
    /// `codecId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec_id: Option<String>,
    /// `packetsSent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets_sent: Option<u64>,
    /// `bytesSent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_sent: Option<u64>,
    /// `localId`: the matching `"inbound-rtp"` object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_id: Option<String>,
    /// `remoteTimestamp`: the SR's NTP time, ms since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_timestamp: Option<f64>,
    /// `reportsSent`: SRs received for this SSRC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reports_sent: Option<u64>,
    /// `roundTripTime`, seconds (latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_trip_time: Option<f64>,
}

/// W3C `RTCMediaSourceStats` with its audio and video members
/// (`"media-source"`): a track attached to a sender.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcMediaSourceStats {
    /// `id`.
    pub id: String,
    /// `timestamp`, ms since the Unix epoch.
    pub timestamp: f64,
    /// `trackIdentifier`: the track's id.
    pub track_identifier: String,
    /// `kind`.
    pub kind: MediaKind,
    /// `audioLevel`, 0.0 to 1.0 (audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_level: Option<f64>,
    /// `totalAudioEnergy` (audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_audio_energy: Option<f64>,
    /// `totalSamplesDuration`, seconds (audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_samples_duration: Option<f64>,
    /// `width` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// `height` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// `frames` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<u32>,
    /// `framesPerSecond` (video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_per_second: Option<f64>,
}

/// W3C `RTCPeerConnectionStats` (`"peer-connection"`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcPeerConnectionStats {
    /// `id`.
    pub id: String,
    /// `timestamp`, ms since the Unix epoch.
    pub timestamp: f64,
    /// `dataChannelsOpened`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_channels_opened: Option<u32>,
    /// `dataChannelsClosed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_channels_closed: Option<u32>,
}

/// W3C `RTCDataChannelStats` (`"data-channel"`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcDataChannelStats {
    /// `id`.
    pub id: String,
    /// `timestamp`, ms since the Unix epoch.
    pub timestamp: f64,
    /// `label`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `protocol`: the subprotocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// `dataChannelIdentifier`: the SCTP stream id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_channel_identifier: Option<u16>,
    /// `state`.
    pub state: DataChannelState,
    /// `messagesSent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_sent: Option<u32>,
    /// `bytesSent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_sent: Option<u64>,
    /// `messagesReceived`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_received: Option<u32>,
    /// `bytesReceived`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_received: Option<u64>,
}

/// W3C `RTCTransportStats` (`"transport"`): one ICE + DTLS transport.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcTransportStats {
    /// `id`.
    pub id: String,
    /// `timestamp`, ms since the Unix epoch.
    pub timestamp: f64,
    /// `packetsSent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets_sent: Option<u64>,
    /// `packetsReceived`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets_received: Option<u64>,
    /// `bytesSent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_sent: Option<u64>,
    /// `bytesReceived`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_received: Option<u64>,
    /// `iceRole`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ice_role: Option<IceRole>,
    /// `iceLocalUsernameFragment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ice_local_username_fragment: Option<String>,
    /// `dtlsState`.
    pub dtls_state: DtlsTransportState,
    /// `iceState`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ice_state: Option<IceTransportState>,
    /// `selectedCandidatePairId`: the `"candidate-pair"` in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_candidate_pair_id: Option<String>,
    /// `localCertificateId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_certificate_id: Option<String>,
    /// `remoteCertificateId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_certificate_id: Option<String>,
    /// `tlsVersion`, e.g. `"FEFD"` for DTLS 1.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    /// `dtlsCipher`: the IANA cipher suite name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtls_cipher: Option<String>,
    /// `dtlsRole`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtls_role: Option<DtlsRole>,
    /// `srtpCipher`: the SRTP protection profile name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srtp_cipher: Option<String>,
    /// `selectedCandidatePairChanges`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_candidate_pair_changes: Option<u32>,
}

/// W3C `RTCIceCandidatePairStats` (`"candidate-pair"`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcIceCandidatePairStats {
    /// `id`.
    pub id: String,
    /// `timestamp`, ms since the Unix epoch.
    pub timestamp: f64,
    /// `transportId`.
    pub transport_id: String,
    /// `localCandidateId`.
    pub local_candidate_id: String,
    /// `remoteCandidateId`.
    pub remote_candidate_id: String,
    /// `state`.
    pub state: IceCandidatePairState,
    /// `nominated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nominated: Option<bool>,
    /// `packetsSent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets_sent: Option<u64>,
    /// `packetsReceived`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets_received: Option<u64>,
    /// `bytesSent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_sent: Option<u64>,
    /// `bytesReceived`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_received: Option<u64>,
    /// `lastPacketSentTimestamp`, ms since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_packet_sent_timestamp: Option<f64>,
    /// `lastPacketReceivedTimestamp`, ms since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_packet_received_timestamp: Option<f64>,
    /// `totalRoundTripTime`, seconds (sum over STUN checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_round_trip_time: Option<f64>,
    /// `currentRoundTripTime`, seconds (latest STUN check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_round_trip_time: Option<f64>,
    /// `availableOutgoingBitrate`, bits per second (congestion control).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_outgoing_bitrate: Option<f64>,
    /// `availableIncomingBitrate`, bits per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_incoming_bitrate: Option<f64>,
    /// `requestsReceived`: STUN connectivity checks received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_received: Option<u64>,
    /// `requestsSent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_sent: Option<u64>,
    /// `responsesReceived`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responses_received: Option<u64>,
    /// `responsesSent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responses_sent: Option<u64>,
    /// `consentRequestsSent` (RFC 7675).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_requests_sent: Option<u64>,
}

/// W3C `RTCIceCandidateStats` (`"local-candidate"` or `"remote-candidate"`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcIceCandidateStats {
    /// `id`.
    pub id: String,
    /// `timestamp`, ms since the Unix epoch.
    pub timestamp: f64,
    /// `transportId`.
    pub transport_id: String,
    /// `address`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `protocol`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<IceProtocol>,
    /// `candidateType`.
    pub candidate_type: IceCandidateType,
    /// `priority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// `url`: the STUN/TURN server this candidate came from (local only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `relayProtocol`: how a relay candidate reached its TURN server (local only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_protocol: Option<RelayProtocol>,
    /// `foundation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foundation: Option<String>,
    /// `relatedAddress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_address: Option<String>,
    /// `relatedPort`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_port: Option<u16>,
    /// `usernameFragment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

/// W3C `RTCCertificateStats` (`"certificate"`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcCertificateStats {
    /// `id`.
    pub id: String,
    /// `timestamp`, ms since the Unix epoch.
    pub timestamp: f64,
    /// `fingerprint`: colon-separated upper-case hex, as in SDP.
    pub fingerprint: String,
    /// `fingerprintAlgorithm`, e.g. `"sha-256"`.
    pub fingerprint_algorithm: String,
    /// `base64Certificate`: the DER certificate, base64.
    pub base64_certificate: String,
    /// `issuerCertificateId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_certificate_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const T: f64 = 1_700_000_000_123.5;

    /// One object of every type with its members set, and the JSON a browser
    /// would give for it, written by hand with the W3C member names.
    fn golden() -> Vec<(RtcStats, Value)> {
        vec![
            (
                RtcStats::Codec(RtcCodecStats {
                    id: "COT01_111".into(),
                    timestamp: T,
                    payload_type: 111,
                    transport_id: "T01".into(),
                    mime_type: "audio/opus".into(),
                    clock_rate: Some(48_000),
                    channels: Some(2),
                    sdp_fmtp_line: Some("minptime=10;useinbandfec=1".into()),
                }),
                json!({"type": "codec", "id": "COT01_111", "timestamp": T, "payloadType": 111,
                       "transportId": "T01", "mimeType": "audio/opus", "clockRate": 48000,
                       "channels": 2, "sdpFmtpLine": "minptime=10;useinbandfec=1"}),
            ),
            (
                RtcStats::InboundRtp(RtcInboundRtpStreamStats {
                    id: "IT01V1234".into(),
                    timestamp: T,
                    ssrc: 1234,
                    kind: MediaKind::Video,
                    transport_id: Some("T01".into()),
                    codec_id: Some("CIT01_96".into()),
                    packets_received: Some(1000),
                    packets_lost: Some(-2),
                    jitter: Some(0.004),
                    track_identifier: "track-1".into(),
                    mid: Some("1".into()),
                    remote_id: Some("ROV1234".into()),
                    bytes_received: Some(1_200_000),
                    header_bytes_received: Some(12_000),
                    last_packet_received_timestamp: Some(T - 5.0),
                    frames_received: Some(300),
                    frames_decoded: Some(299),
                    key_frames_decoded: Some(3),
                    frames_dropped: Some(1),
                    frame_width: Some(640),
                    frame_height: Some(480),
                    frames_per_second: Some(30.0),
                    jitter_buffer_delay: Some(12.5),
                    jitter_buffer_emitted_count: Some(299),
                    nack_count: Some(4),
                    fir_count: Some(0),
                    pli_count: Some(1),
                    total_samples_received: None,
                    concealed_samples: None,
                    audio_level: None,
                }),
                json!({"type": "inbound-rtp", "id": "IT01V1234", "timestamp": T, "ssrc": 1234,
                       "kind": "video", "transportId": "T01", "codecId": "CIT01_96",
                       "packetsReceived": 1000, "packetsLost": -2, "jitter": 0.004,
                       "trackIdentifier": "track-1", "mid": "1", "remoteId": "ROV1234",
                       "bytesReceived": 1200000, "headerBytesReceived": 12000,
                       "lastPacketReceivedTimestamp": T - 5.0, "framesReceived": 300,
                       "framesDecoded": 299, "keyFramesDecoded": 3, "framesDropped": 1,
                       "frameWidth": 640, "frameHeight": 480, "framesPerSecond": 30.0,
                       "jitterBufferDelay": 12.5, "jitterBufferEmittedCount": 299,
                       "nackCount": 4, "firCount": 0, "pliCount": 1}),
            ),
            (
                RtcStats::OutboundRtp(RtcOutboundRtpStreamStats {
                    id: "OT01A5678".into(),
                    timestamp: T,
                    ssrc: 5678,
                    kind: MediaKind::Audio,
                    transport_id: Some("T01".into()),
                    codec_id: Some("COT01_111".into()),
                    packets_sent: Some(500),
                    bytes_sent: Some(40_000),
                    header_bytes_sent: Some(6_000),
                    retransmitted_packets_sent: Some(0),
                    retransmitted_bytes_sent: Some(0),
                    mid: Some("0".into()),
                    media_source_id: Some("SA1".into()),
                    remote_id: Some("RIA5678".into()),
                    rid: None,
                    target_bitrate: Some(32_000.0),
                    frames_encoded: None,
                    key_frames_encoded: None,
                    frames_sent: None,
                    frame_width: None,
                    frame_height: None,
                    frames_per_second: None,
                    nack_count: Some(0),
                    fir_count: None,
                    pli_count: None,
                    active: Some(true),
                }),
                json!({"type": "outbound-rtp", "id": "OT01A5678", "timestamp": T, "ssrc": 5678,
                       "kind": "audio", "transportId": "T01", "codecId": "COT01_111",
                       "packetsSent": 500, "bytesSent": 40000, "headerBytesSent": 6000,
                       "retransmittedPacketsSent": 0, "retransmittedBytesSent": 0, "mid": "0",
                       "mediaSourceId": "SA1", "remoteId": "RIA5678", "targetBitrate": 32000.0,
                       "nackCount": 0, "active": true}),
            ),
            (
                RtcStats::RemoteInboundRtp(RtcRemoteInboundRtpStreamStats {
                    id: "RIA5678".into(),
                    timestamp: T,
                    ssrc: 5678,
                    kind: MediaKind::Audio,
                    transport_id: Some("T01".into()),
                    codec_id: Some("COT01_111".into()),
                    packets_received: None,
                    packets_lost: Some(3),
                    jitter: Some(0.002),
                    local_id: Some("OT01A5678".into()),
                    round_trip_time: Some(0.021),
                    total_round_trip_time: Some(0.5),
                    fraction_lost: Some(0.0),
                    round_trip_time_measurements: Some(24),
                }),
                json!({"type": "remote-inbound-rtp", "id": "RIA5678", "timestamp": T,
                       "ssrc": 5678, "kind": "audio", "transportId": "T01",
                       "codecId": "COT01_111", "packetsLost": 3, "jitter": 0.002,
                       "localId": "OT01A5678", "roundTripTime": 0.021,
                       "totalRoundTripTime": 0.5, "fractionLost": 0.0,
                       "roundTripTimeMeasurements": 24}),
            ),
            (
                RtcStats::RemoteOutboundRtp(RtcRemoteOutboundRtpStreamStats {
                    id: "ROV1234".into(),
                    timestamp: T,
                    ssrc: 1234,
                    kind: MediaKind::Video,
                    transport_id: Some("T01".into()),
                    codec_id: None,
                    packets_sent: Some(1002),
                    bytes_sent: Some(1_201_000),
                    local_id: Some("IT01V1234".into()),
                    remote_timestamp: Some(T - 100.0),
                    reports_sent: Some(10),
                    round_trip_time: None,
                }),
                json!({"type": "remote-outbound-rtp", "id": "ROV1234", "timestamp": T,
                       "ssrc": 1234, "kind": "video", "transportId": "T01",
                       "packetsSent": 1002, "bytesSent": 1201000, "localId": "IT01V1234",
                       "remoteTimestamp": T - 100.0, "reportsSent": 10}),
            ),
            (
                RtcStats::MediaSource(RtcMediaSourceStats {
                    id: "SA1".into(),
                    timestamp: T,
                    track_identifier: "mic".into(),
                    kind: MediaKind::Audio,
                    audio_level: Some(0.25),
                    total_audio_energy: Some(1.5),
                    total_samples_duration: Some(10.0),
                    width: None,
                    height: None,
                    frames: None,
                    frames_per_second: None,
                }),
                json!({"type": "media-source", "id": "SA1", "timestamp": T,
                       "trackIdentifier": "mic", "kind": "audio", "audioLevel": 0.25,
                       "totalAudioEnergy": 1.5, "totalSamplesDuration": 10.0}),
            ),
            (
                RtcStats::PeerConnection(RtcPeerConnectionStats {
                    id: "P".into(),
                    timestamp: T,
                    data_channels_opened: Some(2),
                    data_channels_closed: Some(1),
                }),
                json!({"type": "peer-connection", "id": "P", "timestamp": T,
                       "dataChannelsOpened": 2, "dataChannelsClosed": 1}),
            ),
            (
                RtcStats::DataChannel(RtcDataChannelStats {
                    id: "D1".into(),
                    timestamp: T,
                    label: Some("chat".into()),
                    protocol: Some(String::new()),
                    data_channel_identifier: Some(1),
                    state: DataChannelState::Open,
                    messages_sent: Some(7),
                    bytes_sent: Some(70),
                    messages_received: Some(8),
                    bytes_received: Some(80),
                }),
                json!({"type": "data-channel", "id": "D1", "timestamp": T, "label": "chat",
                       "protocol": "", "dataChannelIdentifier": 1, "state": "open",
                       "messagesSent": 7, "bytesSent": 70, "messagesReceived": 8,
                       "bytesReceived": 80}),
            ),
            (
                RtcStats::Transport(RtcTransportStats {
                    id: "T01".into(),
                    timestamp: T,
                    packets_sent: Some(1500),
                    packets_received: Some(1600),
                    bytes_sent: Some(100_000),
                    bytes_received: Some(1_300_000),
                    ice_role: Some(IceRole::Controlling),
                    ice_local_username_fragment: Some("abcd".into()),
                    dtls_state: DtlsTransportState::Connected,
                    ice_state: Some(IceTransportState::Connected),
                    selected_candidate_pair_id: Some("CPa_b".into()),
                    local_certificate_id: Some("CFlocal".into()),
                    remote_certificate_id: Some("CFremote".into()),
                    tls_version: Some("FEFD".into()),
                    dtls_cipher: Some("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into()),
                    dtls_role: Some(DtlsRole::Client),
                    srtp_cipher: Some("AES_CM_128_HMAC_SHA1_80".into()),
                    selected_candidate_pair_changes: Some(1),
                }),
                json!({"type": "transport", "id": "T01", "timestamp": T, "packetsSent": 1500,
                       "packetsReceived": 1600, "bytesSent": 100000, "bytesReceived": 1300000,
                       "iceRole": "controlling", "iceLocalUsernameFragment": "abcd",
                       "dtlsState": "connected", "iceState": "connected",
                       "selectedCandidatePairId": "CPa_b", "localCertificateId": "CFlocal",
                       "remoteCertificateId": "CFremote", "tlsVersion": "FEFD",
                       "dtlsCipher": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                       "dtlsRole": "client", "srtpCipher": "AES_CM_128_HMAC_SHA1_80",
                       "selectedCandidatePairChanges": 1}),
            ),
            (
                RtcStats::CandidatePair(RtcIceCandidatePairStats {
                    id: "CPa_b".into(),
                    timestamp: T,
                    transport_id: "T01".into(),
                    local_candidate_id: "Ia".into(),
                    remote_candidate_id: "Ib".into(),
                    state: IceCandidatePairState::InProgress,
                    nominated: Some(true),
                    packets_sent: Some(10),
                    packets_received: Some(11),
                    bytes_sent: Some(1000),
                    bytes_received: Some(1100),
                    last_packet_sent_timestamp: Some(T - 1.0),
                    last_packet_received_timestamp: Some(T - 2.0),
                    total_round_trip_time: Some(0.3),
                    current_round_trip_time: Some(0.01),
                    available_outgoing_bitrate: Some(2_500_000.0),
                    available_incoming_bitrate: None,
                    requests_received: Some(5),
                    requests_sent: Some(6),
                    responses_received: Some(6),
                    responses_sent: Some(5),
                    consent_requests_sent: Some(2),
                }),
                json!({"type": "candidate-pair", "id": "CPa_b", "timestamp": T,
                       "transportId": "T01", "localCandidateId": "Ia", "remoteCandidateId": "Ib",
                       "state": "in-progress", "nominated": true, "packetsSent": 10,
                       "packetsReceived": 11, "bytesSent": 1000, "bytesReceived": 1100,
                       "lastPacketSentTimestamp": T - 1.0,
                       "lastPacketReceivedTimestamp": T - 2.0, "totalRoundTripTime": 0.3,
                       "currentRoundTripTime": 0.01, "availableOutgoingBitrate": 2500000.0,
                       "requestsReceived": 5, "requestsSent": 6, "responsesReceived": 6,
                       "responsesSent": 5, "consentRequestsSent": 2}),
            ),
            (
                RtcStats::LocalCandidate(RtcIceCandidateStats {
                    id: "Ia".into(),
                    timestamp: T,
                    transport_id: "T01".into(),
                    address: Some("127.0.0.1".into()),
                    port: Some(50_000),
                    protocol: Some(IceProtocol::Udp),
                    candidate_type: IceCandidateType::Relay,
                    priority: Some(41_885_439),
                    url: Some("turn:127.0.0.1:3478?transport=udp".into()),
                    relay_protocol: Some(RelayProtocol::Udp),
                    foundation: Some("1".into()),
                    related_address: Some("127.0.0.1".into()),
                    related_port: Some(40_000),
                    username_fragment: Some("abcd".into()),
                }),
                json!({"type": "local-candidate", "id": "Ia", "timestamp": T,
                       "transportId": "T01", "address": "127.0.0.1", "port": 50000,
                       "protocol": "udp", "candidateType": "relay", "priority": 41885439,
                       "url": "turn:127.0.0.1:3478?transport=udp", "relayProtocol": "udp",
                       "foundation": "1", "relatedAddress": "127.0.0.1", "relatedPort": 40000,
                       "usernameFragment": "abcd"}),
            ),
            (
                RtcStats::RemoteCandidate(RtcIceCandidateStats {
                    id: "Ib".into(),
                    timestamp: T,
                    transport_id: "T01".into(),
                    address: Some("::1".into()),
                    port: Some(50_001),
                    protocol: Some(IceProtocol::Tcp),
                    candidate_type: IceCandidateType::Srflx,
                    ..RtcIceCandidateStats::default()
                }),
                json!({"type": "remote-candidate", "id": "Ib", "timestamp": T,
                       "transportId": "T01", "address": "::1", "port": 50001,
                       "protocol": "tcp", "candidateType": "srflx"}),
            ),
            (
                RtcStats::Certificate(RtcCertificateStats {
                    id: "CFlocal".into(),
                    timestamp: T,
                    fingerprint: "AB:CD:EF".into(),
                    fingerprint_algorithm: "sha-256".into(),
                    base64_certificate: "MIIB".into(),
                    issuer_certificate_id: None,
                }),
                json!({"type": "certificate", "id": "CFlocal", "timestamp": T,
                       "fingerprint": "AB:CD:EF", "fingerprintAlgorithm": "sha-256",
                       "base64Certificate": "MIIB"}),
            ),
        ]
    }

    #[test]
    fn every_type_serialises_to_the_w3c_json() {
        for (stats, expected) in golden() {
            let written = serde_json::to_value(&stats).expect("serialise");
            assert_eq!(written, expected, "{}", stats.stats_type());
            assert_eq!(written["type"], stats.stats_type());
            assert_eq!(written["id"], stats.id());
            assert_eq!(written["timestamp"], stats.timestamp());
        }
    }

    #[test]
    fn every_w3c_type_string_is_covered_once() {
        let types: Vec<&str> = golden().iter().map(|(s, _)| s.stats_type()).collect();
        assert_eq!(
            types,
            [
                "codec",
                "inbound-rtp",
                "outbound-rtp",
                "remote-inbound-rtp",
                "remote-outbound-rtp",
                "media-source",
                "peer-connection",
                "data-channel",
                "transport",
                "candidate-pair",
                "local-candidate",
                "remote-candidate",
                "certificate",
            ]
        );
    }

    #[test]
    fn the_browser_json_reads_back_into_the_same_objects() {
        for (stats, json) in golden() {
            let read: RtcStats = serde_json::from_value(json).expect("deserialise");
            assert_eq!(read, stats);
        }
    }

    #[test]
    fn a_report_round_trips_as_a_json_array_in_id_order() {
        let report: RtcStatsReport = golden().into_iter().map(|(s, _)| s).collect();
        assert_eq!(report.len(), 13);
        let json = report.to_json();
        let array: Value = serde_json::from_str(&json).expect("JSON");
        let ids: Vec<&str> = array
            .as_array()
            .expect("an array")
            .iter()
            .filter_map(|s| s["id"].as_str())
            .collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted);
        assert_eq!(
            RtcStatsReport::from_json(&json).expect("round trip"),
            report
        );
        assert!(matches!(
            report.get("CPa_b"),
            Some(RtcStats::CandidatePair(pair)) if pair.nominated == Some(true)
        ));
    }

    #[test]
    fn none_members_are_absent() {
        let stats = RtcStats::OutboundRtp(RtcOutboundRtpStreamStats {
            id: "O".into(),
            timestamp: T,
            ssrc: 1,
            kind: MediaKind::Video,
            ..RtcOutboundRtpStreamStats::default()
        });
        let written = serde_json::to_value(&stats).expect("serialise");
        assert_eq!(
            written,
            json!({"type": "outbound-rtp", "id": "O", "timestamp": T, "ssrc": 1, "kind": "video"})
        );
        let pair = RtcStats::CandidatePair(RtcIceCandidatePairStats::default());
        let written = serde_json::to_value(&pair).expect("serialise");
        let members: Vec<&str> = written
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(members.len(), 7, "{members:?}");
        for member in ["bytesSent", "nominated", "currentRoundTripTime"] {
            assert!(written.get(member).is_none(), "{member}");
        }
    }

    #[test]
    fn a_later_object_with_the_same_id_replaces_the_earlier() {
        let mut report = RtcStatsReport::new();
        let first = RtcStats::PeerConnection(RtcPeerConnectionStats {
            id: "P".into(),
            ..RtcPeerConnectionStats::default()
        });
        let second = RtcStats::PeerConnection(RtcPeerConnectionStats {
            id: "P".into(),
            data_channels_opened: Some(1),
            ..RtcPeerConnectionStats::default()
        });
        assert_eq!(report.insert(first.clone()), None);
        assert_eq!(report.insert(second.clone()), Some(first));
        assert_eq!(report.iter().collect::<Vec<_>>(), [&second]);
    }

    #[test]
    fn malformed_reports_are_refused() {
        for json in [
            r#"{}"#,
            r#"[{"type": "candidate-pair", "id": "x"}]"#,
            r#"[{"type": "rtp", "id": "x", "timestamp": 1}]"#,
            r#"[{"type": "candidate-pair", "id": "x", "timestamp": 1, "transportId": "T",
                 "localCandidateId": "a", "remoteCandidateId": "b", "state": "inprogress"}]"#,
        ] {
            assert!(
                matches!(
                    RtcStatsReport::from_json(json),
                    Err(Error::Json {
                        what: "RTCStatsReport",
                        ..
                    })
                ),
                "{json}"
            );
        }
        let empty = RtcStatsReport::from_json("[]").expect("empty report");
        assert!(empty.is_empty());
    }
}
