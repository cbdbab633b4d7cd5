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
