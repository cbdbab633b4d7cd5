//! The typed WebRTC session description (libwebrtc's `cricket::SessionDescription`,
//! `ContentInfo`, `MediaContentDescription` and `TransportDescription`).
//!
//! [`parse`](crate::parse()) builds these from SDP text and [`write`](crate::write())
//! turns them back into SDP. The model is what offer/answer negotiation works
//! on: codecs with their `rtpmap`/`fmtp`/`rtcp-fb`, header extensions,
//! directions, streams, and per-section transport parameters. Attributes the
//! model does not know are kept in order in `extra_attributes` and written
//! back.
//!
//! ```
//! use sdp::model::{Codec, Direction, MediaType};
//!
//! let opus = Codec::new(111, "opus", 48000, Some(2)).with_param("useinbandfec", "1");
//! assert_eq!(opus.rtpmap(), "opus/48000/2");
//! assert_eq!(opus.param("useinbandfec"), Some("1"));
//! assert_eq!(Direction::SendOnly.reversed(), Direction::RecvOnly);
//! assert_eq!(MediaType::Audio.as_str(), "audio");
//! ```

use std::fmt;

pub use smol_str::SmolStr;

// The value types this model shares with the layers below, re-exported so that the layers
// above (media channels, the peer connection) reach them through `sdp` alone: a transport's
// fingerprints and DTLS role (dtls-transport), and candidates with the types of their fields
// (ice, through dtls-transport's re-export).
pub use dtls_transport::certificate::{Fingerprint, HashAlgorithm};
pub use dtls_transport::dtls::Setup;
pub use dtls_transport::ice::candidate::{
    Candidate, CandidateAddress, CandidateKind, TcpType, TransportProtocol,
};

/// The `o=` line (RFC 8866 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `<username>`, `-` in WebRTC.
    pub username: SmolStr,
    /// `<sess-id>`: a random 62-bit number chosen once per session.
    pub session_id: u64,
    /// `<sess-version>`: incremented on every new local description.
    pub session_version: u64,
    /// `<nettype>`, `IN`.
    pub net_type: SmolStr,
    /// `<addrtype>`, `IP4` or `IP6`.
    pub address_type: SmolStr,
    /// `<unicast-address>`, `127.0.0.1` in browsers' descriptions.
    pub address: SmolStr,
}

impl Origin {
    /// An origin as browsers write it: `- <id> <version> IN IP4 127.0.0.1`.
    pub fn new(session_id: u64, session_version: u64) -> Origin {
        Origin {
            username: SmolStr::new_static("-"),
            session_id,
            session_version,
            net_type: SmolStr::new_static("IN"),
            address_type: SmolStr::new_static("IP4"),
            address: SmolStr::new_static("127.0.0.1"),
        }
    }
}

/// A `c=` line (RFC 8866 §5.7): `IN IP4 0.0.0.0` in WebRTC media sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `<nettype>`, `IN`.
    pub net_type: SmolStr,
    /// `<addrtype>`, `IP4` or `IP6`.
    pub address_type: SmolStr,
    /// `<connection-address>` (possibly with a TTL or count suffix, kept as written).
    pub address: SmolStr,
}

impl Connection {
    /// `IN IP4 0.0.0.0`, what JSEP writes before candidates are known.
    pub fn dummy_ip4() -> Connection {
        Connection {
            net_type: SmolStr::new_static("IN"),
            address_type: SmolStr::new_static("IP4"),
            address: SmolStr::new_static("0.0.0.0"),
        }
    }
}

/// A `b=` line (RFC 8866 §5.8, RFC 3890 for `TIAS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// `AS`, `CT`, `TIAS`, …
    pub kind: SmolStr,
    /// The value (kbit/s for `AS` and `CT`, bit/s for `TIAS`).
    pub value: u64,
}

/// An attribute the model has no field for, kept verbatim: `a=<name>` or
/// `a=<name>:<value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute name (before the first `:`).
    pub name: SmolStr,
    /// Everything after the first `:`, if there was one.
    pub value: Option<SmolStr>,
}

impl Attribute {
    /// An attribute with a value.
    pub fn new(name: impl Into<SmolStr>, value: Option<impl Into<SmolStr>>) -> Attribute {
        Attribute {
            name: name.into(),
            value: value.map(Into::into),
        }
    }
}

/// An `a=group:` line (RFC 5888), e.g. `BUNDLE 0 1 2` (RFC 9143).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The semantics token: `BUNDLE`, `LS`, `FID`, …
    pub semantics: SmolStr,
    /// The identification tags (mids) in the group, in order.
    pub mids: Vec<SmolStr>,
}

impl Group {
    /// A `BUNDLE` group of the given mids.
    pub fn bundle<I, S>(mids: I) -> Group
    where
        I: IntoIterator<Item = S>,
        S: Into<SmolStr>,
    {
        Group {
            semantics: SmolStr::new_static(GROUP_BUNDLE),
            mids: mids.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether this is a `BUNDLE` group.
    pub fn is_bundle(&self) -> bool {
        self.semantics.eq_ignore_ascii_case(GROUP_BUNDLE)
    }
}

/// The `BUNDLE` group semantics token.
pub const GROUP_BUNDLE: &str = "BUNDLE";

/// `a=msid-semantic:` (draft-ietf-mmusic-msid, still written by Chromium):
/// `WMS` and the stream ids (or `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsidSemantic {
    /// The semantic token, `WMS`.
    pub semantic: SmolStr,
    /// Stream ids, possibly empty.
    pub ids: Vec<SmolStr>,
}

/// The session level of a description (libwebrtc's `SessionDescription`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`.
    pub origin: Origin,
    /// `s=`, `-` in WebRTC.
    pub session_name: SmolStr,
    /// `i=` at session level, if present.
    pub session_info: Option<SmolStr>,
    /// A session-level `c=`, if present (browsers put it per section).
    pub connection: Option<Connection>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=<start> <stop>`, `0 0` in WebRTC.
    pub timing: (u64, u64),
    /// `a=group:` lines (BUNDLE first when present).
    pub groups: Vec<Group>,
    /// `a=msid-semantic:`.
    pub msid_semantic: Option<MsidSemantic>,
    /// `a=ice-lite` (RFC 8839 §5.3).
    pub ice_lite: bool,
    /// Session-level `a=ice-options:` tokens. Also inherited by each section's
    /// [`TransportDescription::ice_options`] when the section has none.
    pub ice_options: Vec<SmolStr>,
    /// Session-level `a=extmap-allow-mixed` (RFC 8285 §6).
    pub extmap_allow_mixed: bool,
    /// Session-level attributes the model does not know, in input order.
    pub extra_attributes: Vec<Attribute>,
    /// The media sections (`m=` lines) in order.
    pub contents: Vec<ContentInfo>,
}

impl SessionDescription {
    /// An empty session with the given origin and JSEP's fixed lines
    /// (`s=-`, `t=0 0`).
    pub fn new(origin: Origin) -> SessionDescription {
        SessionDescription {
            origin,
            session_name: SmolStr::new_static("-"),
            session_info: None,
            connection: None,
            bandwidths: Vec::new(),
            timing: (0, 0),
            groups: Vec::new(),
            msid_semantic: None,
            ice_lite: false,
            ice_options: Vec::new(),
            extmap_allow_mixed: false,
            extra_attributes: Vec::new(),
            contents: Vec::new(),
        }
    }

    /// The content with this mid.
    pub fn content(&self, mid: &str) -> Option<&ContentInfo> {
        self.contents.iter().find(|c| c.mid == mid)
    }

    /// The content with this mid, mutably.
    pub fn content_mut(&mut self, mid: &str) -> Option<&mut ContentInfo> {
        self.contents.iter_mut().find(|c| c.mid == mid)
    }

    /// The first `BUNDLE` group, if any.
    pub fn bundle_group(&self) -> Option<&Group> {
        self.groups.iter().find(|g| g.is_bundle())
    }

    /// Every `BUNDLE` group.
    pub fn bundle_groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.iter().filter(|g| g.is_bundle())
    }

    /// The transport name (the mid whose transport carries it) for the
    /// content `mid`: the first mid of its BUNDLE group, or `mid` itself.
    /// This is the name a `TransportController` uses.
    pub fn transport_name<'a>(&'a self, mid: &'a str) -> &'a str {
        self.bundle_groups()
            .find(|g| g.mids.iter().any(|m| m == mid))
            .and_then(|g| g.mids.first())
            .map(SmolStr::as_str)
            .unwrap_or(mid)
    }
}

/// One media section: its mid, whether it is rejected, its media
/// description and its transport (libwebrtc's `ContentInfo` + `TransportInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentInfo {
    /// `a=mid:` (RFC 5888). Every WebRTC section has one.
    pub mid: SmolStr,
    /// Rejected or stopped: written with port 0 (RFC 8829 §5.2.2, §5.3.1).
    pub rejected: bool,
    /// `a=bundle-only` (RFC 9143 §6): port 0 in an offer, but not rejected.
    pub bundle_only: bool,
    /// Codecs, extensions, direction, streams, SCTP parameters.
    pub media: MediaContentDescription,
    /// ICE and DTLS parameters and candidates of this section.
    pub transport: TransportDescription,
}

impl ContentInfo {
    /// A content with default transport parameters.
    pub fn new(mid: impl Into<SmolStr>, media: MediaContentDescription) -> ContentInfo {
        ContentInfo {
            mid: mid.into(),
            rejected: false,
            bundle_only: false,
            media,
            transport: TransportDescription::default(),
        }
    }
}

/// The `m=` media type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `application` (data channels).
    Application,
    /// Anything else (kept as written, e.g. `text`, `message`).
    Other(SmolStr),
}

impl MediaType {
    /// The SDP token.
    pub fn as_str(&self) -> &str {
        match self {
            MediaType::Audio => "audio",
            MediaType::Video => "video",
            MediaType::Application => "application",
            MediaType::Other(s) => s,
        }
    }

    /// From the SDP token (case-sensitive, as RFC 8866 registers them).
    pub fn from_token(token: &str) -> MediaType {
        match token {
            "audio" => MediaType::Audio,
            "video" => MediaType::Video,
            "application" => MediaType::Application,
            other => MediaType::Other(other.into()),
        }
    }

    /// Audio or video: an RTP section.
    pub fn is_rtp(&self) -> bool {
        matches!(self, MediaType::Audio | MediaType::Video)
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The media direction attribute (RFC 8866 §6.7, RFC 3264 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// `sendrecv` (the default when absent).
    #[default]
    SendRecv,
    /// `sendonly`.
    SendOnly,
    /// `recvonly`.
    RecvOnly,
    /// `inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// From an attribute name.
    pub fn from_token(token: &str) -> Option<Direction> {
        match token {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// From "do we send" and "do we receive".
    pub fn from_send_recv(send: bool, recv: bool) -> Direction {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// Whether this side sends.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether this side receives.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The direction as seen from the other side (sendonly ⇄ recvonly).
    pub fn reversed(self) -> Direction {
        Direction::from_send_recv(self.receives(), self.sends())
    }

    /// Both sides' wishes combined: we send only if we want to and they
    /// receive (RFC 3264 §6.1 answer rules).
    pub fn intersect(self, other: Direction) -> Direction {
        Direction::from_send_recv(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `a=rtcp-fb:` entry of a codec (RFC 4585 §4.2), e.g. `nack pli`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtcpFeedback {
    /// `nack`, `ccm`, `goog-remb`, `transport-cc`, …
    pub kind: SmolStr,
    /// `pli` for `nack pli`, `fir` for `ccm fir`; `None` for a bare kind.
    pub param: Option<SmolStr>,
}

impl RtcpFeedback {
    /// A feedback entry.
    pub fn new(kind: &str, param: Option<&str>) -> RtcpFeedback {
        RtcpFeedback {
            kind: crate::names::smol(kind),
            param: param.map(crate::names::smol),
        }
    }
}

impl fmt::Display for RtcpFeedback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.param {
            Some(p) => write!(f, "{} {}", self.kind, p),
            None => f.write_str(&self.kind),
        }
    }
}

/// A payload type: `a=rtpmap` + `a=fmtp` + its `a=rtcp-fb` lines (libwebrtc's
/// `cricket::Codec`). For `application` sections, the formats are not codecs
/// and live in [`MediaContentDescription::formats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    /// The payload type (0–127).
    pub payload_type: u8,
    /// The encoding name as written (`opus`, `VP8`, `H264`, `rtx`, …).
    pub name: SmolStr,
    /// The RTP clock rate.
    pub clock_rate: u32,
    /// Audio channels (the third `rtpmap` field), if written.
    pub channels: Option<u16>,
    /// `a=fmtp` parameters in order. A part without `=` (RED's `111/111`) is
    /// kept with an empty key.
    pub params: Vec<(SmolStr, SmolStr)>,
    /// `a=rtcp-fb` entries in order.
    pub feedback: Vec<RtcpFeedback>,
}

impl Codec {
    /// A codec without parameters or feedback.
    pub fn new(payload_type: u8, name: &str, clock_rate: u32, channels: Option<u16>) -> Codec {
        Codec {
            payload_type,
            name: crate::names::smol(name),
            clock_rate,
            channels,
            params: Vec::new(),
            feedback: Vec::new(),
        }
    }

    /// The same codec with `key=value` appended to its fmtp parameters.
    pub fn with_param(mut self, key: &str, value: &str) -> Codec {
        self.set_param(key, value);
        self
    }

    /// The same codec with a feedback entry appended.
    pub fn with_feedback(mut self, kind: &str, param: Option<&str>) -> Codec {
        self.feedback.push(RtcpFeedback::new(kind, param));
        self
    }

    /// The value of fmtp parameter `key` (keys compare ASCII case-insensitively).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Sets fmtp parameter `key`, replacing an existing value in place.
    pub fn set_param(&mut self, key: &str, value: &str) {
        match self
            .params
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            Some((_, v)) => *v = value.into(),
            None => self.params.push((crate::names::smol(key), value.into())),
        }
    }

    /// The `a=rtpmap` value after the payload type: `name/clock[/channels]`.
    pub fn rtpmap(&self) -> String {
        match self.channels {
            Some(ch) => format!("{}/{}/{}", self.name, self.clock_rate, ch),
            None => format!("{}/{}", self.name, self.clock_rate),
        }
    }

    /// The `a=fmtp` value after the payload type (`k=v;k=v`), or `None`
    /// without parameters.
    pub fn fmtp(&self) -> Option<String> {
        if self.params.is_empty() {
            return None;
        }
        let mut out = String::new();
        for (i, (k, v)) in self.params.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            if !k.is_empty() {
                out.push_str(k);
                out.push('=');
            }
            out.push_str(v);
        }
        Some(out)
    }

    /// Whether the encoding name is `name` (ASCII case ignored, as RFC 4855 says).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// An RTX codec (RFC 4588), whose `apt` names the payload type it repairs.
    pub fn is_rtx(&self) -> bool {
        self.is("rtx")
    }

    /// The associated payload type of an RTX (or RED's first) codec: `apt=`.
    pub fn apt(&self) -> Option<u8> {
        self.param("apt").and_then(|v| v.parse().ok())
    }

    /// A "codec" that carries no media of its own: RTX, RED, ULPFEC,
    /// FlexFEC, comfort noise or telephone events.
    pub fn is_resiliency_or_auxiliary(&self) -> bool {
        [
            "rtx",
            "red",
            "ulpfec",
            "flexfec-03",
            "CN",
            "telephone-event",
        ]
        .iter()
        .any(|n| self.is(n))
    }
}

/// An `a=extmap:` line (RFC 8285 §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderExtension {
    /// The local identifier (1–14 one-byte, 1–255 two-byte).
    pub id: u16,
    /// The extension URI.
    pub uri: SmolStr,
    /// An optional direction (`a=extmap:1/sendonly uri`).
    pub direction: Option<Direction>,
    /// Extension attributes after the URI, kept as written.
    pub attributes: Option<SmolStr>,
}

impl HeaderExtension {
    /// An extension with no direction or attributes.
    pub fn new(id: u16, uri: &str) -> HeaderExtension {
        HeaderExtension {
            id,
            uri: crate::names::smol(uri),
            direction: None,
            attributes: None,
        }
    }
}

/// `a=msid:<stream id> [<track id>]` (RFC 8830).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msid {
    /// The MediaStream id (`-` for no stream).
    pub stream_id: SmolStr,
    /// The track id ("appdata"), if written.
    pub track_id: Option<SmolStr>,
}

/// One `a=ssrc:<ssrc> <attribute>[:<value>]` line (RFC 5576 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrcAttribute {
    /// The SSRC.
    pub ssrc: u32,
    /// `cname`, `msid`, `mslabel`, `label`, …
    pub name: SmolStr,
    /// The value after `:`, if any.
    pub value: Option<SmolStr>,
}

/// `a=ssrc-group:<semantics> <ssrc>…` (RFC 5576 §4.2): `FID` (RTX), `SIM`,
/// `FEC-FR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrcGroup {
    /// `FID`, `SIM`, `FEC-FR`, …
    pub semantics: SmolStr,
    /// The SSRCs, in order.
    pub ssrcs: Vec<u32>,
}

/// Direction of an `a=rid` (RFC 8851).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RidDirection {
    /// `send`.
    Send,
    /// `recv`.
    Recv,
}

impl RidDirection {
    /// The SDP token.
    pub fn as_str(self) -> &'static str {
        match self {
            RidDirection::Send => "send",
            RidDirection::Recv => "recv",
        }
    }

    /// The other direction.
    pub fn reversed(self) -> RidDirection {
        match self {
            RidDirection::Send => RidDirection::Recv,
            RidDirection::Recv => RidDirection::Send,
        }
    }
}

/// `a=rid:<id> <send|recv> [<restrictions>]` (RFC 8851).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rid {
    /// The RTP stream id.
    pub id: SmolStr,
    /// Whether this side sends or receives the stream.
    pub direction: RidDirection,
    /// Restrictions (`pt=…;max-width=…`), kept as written.
    pub restrictions: Option<SmolStr>,
}

/// One simulcast stream alternative list entry: a rid, possibly paused (`~`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulcastLayer {
    /// The rid.
    pub rid: SmolStr,
    /// Written with a leading `~`.
    pub paused: bool,
}

/// `a=simulcast:` (RFC 8853): send and receive stream lists, each a list of
/// alternatives (`;` separates streams, `,` alternatives).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Simulcast {
    /// Streams this side sends.
    pub send: Vec<Vec<SimulcastLayer>>,
    /// Streams this side receives.
    pub recv: Vec<Vec<SimulcastLayer>>,
}

impl Simulcast {
    /// The description from the other side: send and receive swapped.
    pub fn reversed(&self) -> Simulcast {
        Simulcast {
            send: self.recv.clone(),
            recv: self.send.clone(),
        }
    }
}

/// A media source as libwebrtc's `StreamParams` sees it: derived from the
/// `msid`, `ssrc`, `ssrc-group` and `rid` lines of one section by
/// [`MediaContentDescription::streams`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamParams {
    /// The track id.
    pub id: SmolStr,
    /// The MediaStream ids.
    pub stream_ids: Vec<SmolStr>,
    /// Every SSRC (primary, RTX, FEC).
    pub ssrcs: Vec<u32>,
    /// SSRC groups among `ssrcs`.
    pub ssrc_groups: Vec<SsrcGroup>,
    /// The RTCP CNAME.
    pub cname: SmolStr,
    /// Simulcast rids, when sent with rids instead of SSRCs.
    pub rids: Vec<SmolStr>,
}

/// What a media section describes besides transport (libwebrtc's
/// `MediaContentDescription`, `AudioContentDescription`,
/// `VideoContentDescription`, `SctpDataContentDescription` in one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaContentDescription {
    /// `audio`, `video`, `application`.
    pub media_type: MediaType,
    /// The `m=` port: 9 ("discard") in JSEP; 0 marks rejection and is
    /// reflected in [`ContentInfo::rejected`].
    pub port: u16,
    /// `UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP`, …
    pub protocol: SmolStr,
    /// The `m=` format list for non-RTP sections (`webrtc-datachannel`). RTP
    /// sections list their payload types through [`Self::codecs`].
    pub formats: Vec<SmolStr>,
    /// The section's `c=` line.
    pub connection: Option<Connection>,
    /// `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `a=rtcp:` (RFC 3605), kept as written (`9 IN IP4 0.0.0.0`).
    pub rtcp: Option<SmolStr>,
    /// Codecs in preference order (the `m=` line order).
    pub codecs: Vec<Codec>,
    /// `a=extmap:` lines.
    pub header_extensions: Vec<HeaderExtension>,
    /// Section-level `a=extmap-allow-mixed`.
    pub extmap_allow_mixed: bool,
    /// The direction attribute; `sendrecv` when absent.
    pub direction: Direction,
    /// Whether a direction attribute was written (for `application`
    /// sections it usually is not).
    pub direction_written: bool,
    /// `a=rtcp-mux` (RFC 5761).
    pub rtcp_mux: bool,
    /// `a=rtcp-mux-only` (RFC 8858).
    pub rtcp_mux_only: bool,
    /// `a=rtcp-rsize` (RFC 5506).
    pub rtcp_rsize: bool,
    /// `a=msid:` lines.
    pub msids: Vec<Msid>,
    /// `a=ssrc:` lines in order.
    pub ssrcs: Vec<SsrcAttribute>,
    /// `a=ssrc-group:` lines.
    pub ssrc_groups: Vec<SsrcGroup>,
    /// `a=rid:` lines.
    pub rids: Vec<Rid>,
    /// `a=simulcast:`.
    pub simulcast: Option<Simulcast>,
    /// `a=sctp-port:` (RFC 8841).
    pub sctp_port: Option<u16>,
    /// `a=max-message-size:` (RFC 8841).
    pub max_message_size: Option<u64>,
    /// `a=ptime:` (RFC 4566).
    pub ptime: Option<u32>,
    /// `a=maxptime:`.
    pub max_ptime: Option<u32>,
    /// `a=rtcp-fb:*` entries (apply to every codec of the section).
    pub wildcard_feedback: Vec<RtcpFeedback>,
    /// Section-level attributes the model does not know, in input order.
    pub extra_attributes: Vec<Attribute>,
}

/// The profile WebRTC RTP sections use (RFC 8829 §5.1.2).
pub const PROTOCOL_RTP: &str = "UDP/TLS/RTP/SAVPF";
/// The profile WebRTC data sections use (RFC 8841).
pub const PROTOCOL_SCTP: &str = "UDP/DTLS/SCTP";
/// The `m=application` format of data channels (RFC 8841).
pub const FORMAT_DATACHANNEL: &str = "webrtc-datachannel";

impl MediaContentDescription {
    /// A section with nothing but its `m=` line: no `c=`, no attributes,
    /// direction `sendrecv` not written (what the parser starts from).
    pub fn new(media_type: MediaType, port: u16, protocol: SmolStr) -> MediaContentDescription {
        MediaContentDescription {
            media_type,
            port,
            protocol,
            formats: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            rtcp: None,
            codecs: Vec::new(),
            header_extensions: Vec::new(),
            extmap_allow_mixed: false,
            direction: Direction::SendRecv,
            direction_written: false,
            rtcp_mux: false,
            rtcp_mux_only: false,
            rtcp_rsize: false,
            msids: Vec::new(),
            ssrcs: Vec::new(),
            ssrc_groups: Vec::new(),
            rids: Vec::new(),
            simulcast: None,
            sctp_port: None,
            max_message_size: None,
            ptime: None,
            max_ptime: None,
            wildcard_feedback: Vec::new(),
            extra_attributes: Vec::new(),
        }
    }

    /// An empty RTP section of the given type (`UDP/TLS/RTP/SAVPF`,
    /// port 9, `c=IN IP4 0.0.0.0`, `a=rtcp:9 IN IP4 0.0.0.0`, rtcp-mux).
    pub fn new_rtp(media_type: MediaType) -> MediaContentDescription {
        MediaContentDescription {
            connection: Some(Connection::dummy_ip4()),
            rtcp: Some(SmolStr::new_static("9 IN IP4 0.0.0.0")),
            direction_written: true,
            rtcp_mux: true,
            ..MediaContentDescription::new(media_type, 9, SmolStr::new_static(PROTOCOL_RTP))
        }
    }

    /// An SCTP data section (`m=application 9 UDP/DTLS/SCTP
    /// webrtc-datachannel`, `a=sctp-port:5000`, `a=max-message-size:262144`).
    pub fn new_data() -> MediaContentDescription {
        MediaContentDescription {
            formats: vec![SmolStr::new_static(FORMAT_DATACHANNEL)],
            connection: Some(Connection::dummy_ip4()),
            sctp_port: Some(5000),
            max_message_size: Some(262_144),
            ..MediaContentDescription::new(
                MediaType::Application,
                9,
                SmolStr::new_static(PROTOCOL_SCTP),
            )
        }
    }

    /// Whether this is an SCTP data-channel section.
    pub fn is_sctp(&self) -> bool {
        self.media_type == MediaType::Application && self.protocol.contains("SCTP")
    }

    /// The codec with this payload type.
    pub fn codec(&self, payload_type: u8) -> Option<&Codec> {
        self.codecs.iter().find(|c| c.payload_type == payload_type)
    }

    /// The header extension with this URI.
    pub fn header_extension(&self, uri: &str) -> Option<&HeaderExtension> {
        self.header_extensions.iter().find(|e| e.uri == uri)
    }

    /// The value of `a=ssrc:<ssrc> <name>:<value>`.
    pub fn ssrc_attribute(&self, ssrc: u32, name: &str) -> Option<&str> {
        self.ssrcs
            .iter()
            .find(|a| a.ssrc == ssrc && a.name == name)
            .and_then(|a| a.value.as_deref())
    }

    /// The sources this section sends, as libwebrtc's `StreamParams`: one
    /// per `a=msid` track (or per SSRC group/lone SSRC without one), with its
    /// SSRCs, groups, CNAME and rids.
    pub fn streams(&self) -> Vec<StreamParams> {
        let mut ssrcs: Vec<u32> = Vec::new();
        for a in &self.ssrcs {
            if !ssrcs.contains(&a.ssrc) {
                ssrcs.push(a.ssrc);
            }
        }
        let send_rids: Vec<SmolStr> = self
            .rids
            .iter()
            .filter(|r| r.direction == RidDirection::Send)
            .map(|r| r.id.clone())
            .collect();
        if ssrcs.is_empty() && send_rids.is_empty() && self.msids.is_empty() {
            return Vec::new();
        }
        // Section-level msid names the track; legacy `ssrc … msid:` lines too.
        let (stream_ids, id) = match self.msids.first() {
            Some(m) => (
                self.msids.iter().map(|m| m.stream_id.clone()).collect(),
                m.track_id.clone().unwrap_or_default(),
            ),
            None => match ssrcs.first().and_then(|s| self.ssrc_attribute(*s, "msid")) {
                Some(v) => {
                    let mut it = v.split_whitespace();
                    let stream = SmolStr::new(it.next().unwrap_or_default());
                    (vec![stream], SmolStr::new(it.next().unwrap_or_default()))
                }
                None => (Vec::new(), SmolStr::default()),
            },
        };
        let cname = ssrcs
            .iter()
            .find_map(|s| self.ssrc_attribute(*s, "cname"))
            .map(SmolStr::new)
            .unwrap_or_default();
        vec![StreamParams {
            id,
            stream_ids,
            ssrcs,
            ssrc_groups: self.ssrc_groups.clone(),
            cname,
            rids: send_rids,
        }]
    }
}

/// ICE and DTLS parameters of one media section (libwebrtc's
/// `TransportDescription`), plus the candidates written in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransportDescription {
    /// `a=ice-ufrag:`.
    pub ice_ufrag: SmolStr,
    /// `a=ice-pwd:`.
    pub ice_pwd: SmolStr,
    /// `a=ice-options:` tokens (`trickle`, `renomination`, …).
    pub ice_options: Vec<SmolStr>,
    /// `a=fingerprint:` lines (section level, or inherited from the session
    /// level), in the order written. Peers may list one per hash function
    /// (aiortc sends sha-256, sha-384 and sha-512) or one per certificate;
    /// DTLS accepts a certificate that matches one of those with the
    /// strongest hash function listed (RFC 8122 §5).
    pub fingerprints: Vec<Fingerprint>,
    /// `a=setup:` (RFC 8842).
    pub setup: Option<Setup>,
    /// `a=candidate:` lines.
    pub candidates: Vec<Candidate>,
    /// `a=end-of-candidates` (RFC 8840).
    pub end_of_candidates: bool,
}

impl TransportDescription {
    /// Whether `a=ice-options` contains `trickle`.
    pub fn supports_trickle(&self) -> bool {
        self.ice_options.iter().any(|o| o == "trickle")
    }

    /// The first fingerprint with the strongest hash function listed: the
    /// one verification compares against first.
    ///
    /// ```
    /// use sdp::model::{Fingerprint, TransportDescription};
    /// use dtls_transport::certificate::HashAlgorithm;
    ///
    /// let mut t = TransportDescription::default();
    /// t.fingerprints.push(Fingerprint::new(HashAlgorithm::Sha256, &[1; 32]).unwrap());
    /// t.fingerprints.push(Fingerprint::new(HashAlgorithm::Sha512, &[2; 64]).unwrap());
    /// assert_eq!(t.strongest_fingerprint().unwrap().algorithm(), HashAlgorithm::Sha512);
    /// ```
    pub fn strongest_fingerprint(&self) -> Option<&Fingerprint> {
        // `max_by_key` keeps the last of equals: search from the end.
        self.fingerprints
            .iter()
            .rev()
            .max_by_key(|f| f.algorithm().digest_len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_combine_like_rfc3264() {
        use Direction::*;
        for d in [SendRecv, SendOnly, RecvOnly, Inactive] {
            assert_eq!(d.reversed().reversed(), d);
            assert_eq!(Direction::from_token(d.as_str()), Some(d));
        }
        // Offer sendonly: we may at most receive.
        assert_eq!(SendRecv.intersect(SendOnly.reversed()), RecvOnly);
        assert_eq!(SendOnly.intersect(SendOnly.reversed()), Inactive);
        assert_eq!(SendRecv.intersect(SendRecv), SendRecv);
    }

    #[test]
    fn fmtp_round_trip_keeps_red_style_values() {
        let mut red = Codec::new(63, "red", 48000, Some(2));
        red.params.push((SmolStr::default(), "111/111".into()));
        assert_eq!(red.fmtp().as_deref(), Some("111/111"));
        let h264 = Codec::new(102, "H264", 90000, None)
            .with_param("level-asymmetry-allowed", "1")
            .with_param("packetization-mode", "1")
            .with_param("PROFILE-LEVEL-ID", "42001f");
        assert_eq!(h264.param("profile-level-id"), Some("42001f"));
        assert_eq!(
            h264.fmtp().as_deref(),
            Some("level-asymmetry-allowed=1;packetization-mode=1;PROFILE-LEVEL-ID=42001f")
        );
    }

    #[test]
    fn transport_name_follows_bundle() {
        let mut s = SessionDescription::new(Origin::new(1, 2));
        s.groups.push(Group::bundle(["a", "b"]));
        assert_eq!(s.transport_name("b"), "a");
        assert_eq!(s.transport_name("c"), "c");
    }
}
