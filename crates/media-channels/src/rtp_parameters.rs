//! What a BaseChannel sends and receives with, read off the negotiated
//! descriptions (libwebrtc's `RtpParameters` as `BaseChannel::SetLocalContent`
//! / `SetRemoteContent` derive them: receive parameters from the local
//! description, send parameters from the remote one).
//!
//! - **Codecs** by payload type, with the RTX payload type that repairs each
//!   (`a=fmtp:<rtx> apt=<pt>`) and the feedback negotiated for it (NACK, PLI,
//!   FIR, transport-cc, goog-remb). We receive with the payload types we
//!   offered or answered; we send with the ones the peer listed, preferring
//!   its first media codec.
//! - **Header extensions** as an [`ExtensionMap`] (ids from the description
//!   they are read from; JSEP makes both directions agree).
//! - **Streams**: SSRCs (primary, RTX via `FID`), CNAME and RIDs: ours from
//!   the local description (what we send), the peer's from the remote one
//!   (what the demuxer expects).

use sdp::model::{Codec, Direction, MediaContentDescription, MediaType};

use crate::rtp::extensions::{ExtensionKind, ExtensionMap};

/// One negotiated media codec (RTX and other auxiliary formats are folded
/// into the codec they serve).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedCodec {
    /// The payload type.
    pub payload_type: u8,
    /// Encoding name as signalled (`opus`, `VP8`, `H264`…).
    pub name: String,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// Audio channels, if signalled.
    pub channels: Option<u16>,
    /// `a=fmtp` parameters.
    pub params: Vec<(String, String)>,
    /// The RTX payload type repairing this one (RFC 4588), if negotiated.
    pub rtx_payload_type: Option<u8>,
    /// `a=rtcp-fb:<pt> nack`.
    pub nack: bool,
    /// `a=rtcp-fb:<pt> nack pli`.
    pub pli: bool,
    /// `a=rtcp-fb:<pt> ccm fir`.
    pub fir: bool,
    /// `a=rtcp-fb:<pt> transport-cc`.
    pub transport_cc: bool,
    /// `a=rtcp-fb:<pt> goog-remb`.
    pub remb: bool,
}

impl NegotiatedCodec {
    /// Whether the encoding name is `name` (ASCII case ignored).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// fmtp parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// One RTP stream a side sends: its SSRCs and names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamSsrcs {
    /// The primary SSRC.
    pub ssrc: u32,
    /// The RTX SSRC paired with it by an `FID` group, if any.
    pub rtx_ssrc: Option<u32>,
    /// The RTCP CNAME.
    pub cname: String,
    /// Simulcast RIDs (when the stream is identified by RIDs, not SSRCs).
    pub rids: Vec<String>,
}

/// What one side of a BaseChannel uses (send or receive).
#[derive(Debug, Clone, Default)]
pub struct RtpParameters {
    /// The MID (`a=mid`) of the section.
    pub mid: String,
    /// Media codecs in preference order.
    pub codecs: Vec<NegotiatedCodec>,
    /// Header extension ids.
    pub extensions: ExtensionMap,
    /// The streams (ours when sending, the peer's when receiving).
    pub streams: Vec<StreamSsrcs>,
    /// RTCP on the RTP component (RFC 5761).
    pub rtcp_mux: bool,
    /// Reduced-size RTCP allowed (RFC 5506).
    pub rtcp_reduced_size: bool,
    /// RED (RFC 2198) payload type, when negotiated: a sender may wrap media
    /// (and ULPFEC) in it.
    pub red_payload_type: Option<u8>,
    /// ULPFEC (RFC 5109) payload type, when negotiated.
    pub ulpfec_payload_type: Option<u8>,
    /// Every RTX payload type with the payload type it repairs (`apt`),
    /// RED's included.
    pub rtx_apt: Vec<(u8, u8)>,
    /// RID simulcast (RFC 8853) this description sends: the first
    /// alternative of each stream of `a=simulcast:send`, paused ones left
    /// out, in order (empty without simulcast).
    pub simulcast_send: Vec<String>,
    /// RID simulcast this description receives (`a=simulcast:recv`), the same way.
    pub simulcast_recv: Vec<String>,
}

impl RtpParameters {
    /// Reads the parameters of `content` (the local description gives the
    /// receive side, the remote one the send side). `mid` is the section's MID.
    pub fn from_content(mid: &str, content: &MediaContentDescription) -> RtpParameters {
        let mut extensions = ExtensionMap::new();
        for e in &content.header_extensions {
            // An id outside 1..=255, or a second id for a kind, is skipped:
            // the SDP layer validated the section; this only keeps what we use.
            if let (Ok(id), Some(kind)) = (u8::try_from(e.id), ExtensionKind::from_uri(&e.uri)) {
                let _ = extensions.register(id, kind);
            }
        }
        let codecs = content
            .codecs
            .iter()
            .filter(|c| !c.is_resiliency_or_auxiliary())
            .map(|c| negotiated(c, content))
            .collect();
        let streams = content
            .streams()
            .into_iter()
            .filter_map(|s| {
                let ssrc = *s.ssrcs.first()?;
                let rtx_ssrc = s
                    .ssrc_groups
                    .iter()
                    .find(|g| {
                        g.semantics.eq_ignore_ascii_case("FID") && g.ssrcs.first() == Some(&ssrc)
                    })
                    .and_then(|g| g.ssrcs.get(1).copied());
                Some(StreamSsrcs {
                    ssrc,
                    rtx_ssrc,
                    cname: s.cname.to_string(),
                    rids: s.rids.iter().map(|r| r.to_string()).collect(),
                })
            })
            .collect();
        let first_named = |name: &str| {
            content
                .codecs
                .iter()
                .find(|c| c.is(name))
                .map(|c| c.payload_type)
        };
        RtpParameters {
            mid: mid.to_owned(),
            codecs,
            extensions,
            streams,
            rtcp_mux: content.rtcp_mux,
            rtcp_reduced_size: content.rtcp_rsize,
            red_payload_type: first_named("red"),
            ulpfec_payload_type: first_named("ulpfec"),
            rtx_apt: content
                .codecs
                .iter()
                .filter(|c| c.is_rtx())
                .filter_map(|c| Some((c.payload_type, c.apt()?)))
                .collect(),
            simulcast_send: simulcast_rids(content.simulcast.as_ref().map(|s| &s.send)),
            simulcast_recv: simulcast_rids(content.simulcast.as_ref().map(|s| &s.recv)),
        }
    }

    /// The RID simulcast layers we send: those our description (`self`,
    /// the local one) sends that `remote` receives, in our order. A peer
    /// without `a=simulcast` gets our first layer alone (libwebrtc's
    /// fallback); empty when we offered no simulcast.
    pub fn simulcast_layers(&self, remote: &RtpParameters) -> Vec<String> {
        if remote.simulcast_recv.is_empty() {
            return self.simulcast_send.iter().take(1).cloned().collect();
        }
        self.simulcast_send
            .iter()
            .filter(|r| remote.simulcast_recv.contains(r))
            .cloned()
            .collect()
    }

    /// The codec with payload type `pt`.
    pub fn codec(&self, pt: u8) -> Option<&NegotiatedCodec> {
        self.codecs.iter().find(|c| c.payload_type == pt)
    }

    /// The codec an RTX payload type repairs.
    pub fn codec_for_rtx(&self, rtx_pt: u8) -> Option<&NegotiatedCodec> {
        self.codecs
            .iter()
            .find(|c| c.rtx_payload_type == Some(rtx_pt))
    }

    /// The payload type an RTX payload type repairs (`apt`).
    pub fn rtx_apt(&self, rtx_pt: u8) -> Option<u8> {
        self.rtx_apt
            .iter()
            .find(|(rtx, _)| *rtx == rtx_pt)
            .map(|(_, apt)| *apt)
    }

    /// Every payload type in use (media, RTX, RED, ULPFEC), for the demuxer.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.codecs
            .iter()
            .map(|c| c.payload_type)
            .chain(self.rtx_apt.iter().map(|(rtx, _)| *rtx))
            .chain(self.red_payload_type)
            .chain(self.ulpfec_payload_type)
    }

    /// The preferred codec to send (the first).
    pub fn preferred_codec(&self) -> Option<&NegotiatedCodec> {
        self.codecs.first()
    }
}

fn negotiated(c: &Codec, content: &MediaContentDescription) -> NegotiatedCodec {
    let rtx_payload_type = content
        .codecs
        .iter()
        .find(|r| r.is_rtx() && r.apt() == Some(c.payload_type))
        .map(|r| r.payload_type);
    // Feedback for the codec, plus the `a=rtcp-fb:*` lines that apply to all.
    let feedback = || c.feedback.iter().chain(content.wildcard_feedback.iter());
    let has = |kind: &str, param: Option<&str>| {
        feedback().any(|f| {
            f.kind.eq_ignore_ascii_case(kind)
                && f.param.as_deref().map(str::to_ascii_lowercase).as_deref() == param
        })
    };
    NegotiatedCodec {
        payload_type: c.payload_type,
        name: c.name.to_string(),
        clock_rate: c.clock_rate,
        channels: c.channels,
        params: c
            .params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        rtx_payload_type,
        nack: has("nack", None),
        pli: has("nack", Some("pli")),
        fir: has("ccm", Some("fir")),
        transport_cc: has("transport-cc", None),
        remb: has("goog-remb", None),
    }
}

/// Whether a channel of `media_type` with local direction `direction` sends
/// and receives media.
pub fn sends_and_receives(media_type: &MediaType, direction: Direction) -> (bool, bool) {
    if !media_type.is_rtp() {
        return (false, false);
    }
    (direction.sends(), direction.receives())
}

/// The first alternative of each stream of a simulcast list, paused ones left out.
fn simulcast_rids(list: Option<&Vec<Vec<sdp::model::SimulcastLayer>>>) -> Vec<String> {
    list.into_iter()
        .flatten()
        .filter_map(|alternatives| alternatives.first())
        .filter(|layer| !layer.paused)
        .map(|layer| layer.rid.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sdp::model::{HeaderExtension, SsrcAttribute, SsrcGroup};

    fn video() -> MediaContentDescription {
        let mut m = MediaContentDescription::new_rtp(MediaType::Video);
        m.codecs = vec![
            Codec::new(96, "VP8", 90_000, None)
                .with_feedback("nack", None)
                .with_feedback("nack", Some("pli"))
                .with_feedback("ccm", Some("fir"))
                .with_feedback("goog-remb", None),
            Codec::new(97, "rtx", 90_000, None).with_param("apt", "96"),
            Codec::new(102, "H264", 90_000, None)
                .with_param("packetization-mode", "1")
                .with_param("profile-level-id", "42e01f"),
        ];
        m.wildcard_feedback = vec![sdp::model::RtcpFeedback::new("transport-cc", None)];
        m.header_extensions = vec![
            HeaderExtension {
                id: 4,
                uri: "urn:ietf:params:rtp-hdrext:sdes:mid".into(),
                direction: None,
                attributes: None,
            },
            HeaderExtension {
                id: 3,
                uri: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
                    .into(),
                direction: None,
                attributes: None,
            },
            HeaderExtension {
                id: 13,
                uri: "urn:example:unknown".into(),
                direction: None,
                attributes: None,
            },
        ];
        m.ssrcs = vec![
            SsrcAttribute {
                ssrc: 1000,
                name: "cname".into(),
                value: Some("c1".into()),
            },
            SsrcAttribute {
                ssrc: 1001,
                name: "cname".into(),
                value: Some("c1".into()),
            },
        ];
        m.ssrc_groups = vec![SsrcGroup {
            semantics: "FID".into(),
            ssrcs: vec![1000, 1001],
        }];
        m.rtcp_mux = true;
        m.rtcp_rsize = true;
        m
    }

    #[test]
    fn codecs_rtx_feedback_extensions_and_streams() {
        let p = RtpParameters::from_content("1", &video());
        assert_eq!(p.mid, "1");
        assert_eq!(p.codecs.len(), 2, "rtx folded into VP8");
        let vp8 = p.preferred_codec().unwrap();
        assert!(vp8.is("vp8"));
        assert_eq!(vp8.rtx_payload_type, Some(97));
        assert!(vp8.nack && vp8.pli && vp8.fir && vp8.remb && vp8.transport_cc);
        let h264 = p.codec(102).unwrap();
        assert_eq!(h264.param("PACKETIZATION-MODE"), Some("1"));
        assert!(!h264.nack && h264.transport_cc);
        assert_eq!(p.codec_for_rtx(97).map(|c| c.payload_type), Some(96));
        assert_eq!(p.payload_types().collect::<Vec<_>>(), vec![96, 102, 97]);
        assert_eq!(p.rtx_apt(97), Some(96));
        assert_eq!(p.extensions.id(ExtensionKind::Mid), Some(4));
        assert_eq!(p.extensions.id(ExtensionKind::TransportWideCc), Some(3));
        assert_eq!(p.extensions.iter().count(), 2, "unknown URIs are skipped");
        assert_eq!(
            p.streams,
            vec![StreamSsrcs {
                ssrc: 1000,
                rtx_ssrc: Some(1001),
                cname: "c1".into(),
                rids: vec![],
            }]
        );
        assert!(p.rtcp_mux && p.rtcp_reduced_size);
    }

    #[test]
    fn data_sections_neither_send_nor_receive_rtp() {
        assert_eq!(
            sends_and_receives(&MediaType::Application, Direction::SendRecv),
            (false, false)
        );
        assert_eq!(
            sends_and_receives(&MediaType::Audio, Direction::RecvOnly),
            (false, true)
        );
    }
}
