//! The built-in codecs and RTP header extensions offered by default (the
//! lists libwebrtc's `WebRtcVoiceEngine` / `WebRtcVideoEngine` report), and
//! the codec-matching rules used in negotiation (`cricket::Codec::Matches`,
//! H.264 `profile-level-id` matching from libwebrtc's `h264_profile_level_id`).
//!
//! Payload types follow Chromium's defaults so descriptions look familiar.
//!
//! ```
//! use sdp::codecs::{audio_codecs, video_codecs, CodecConfig, H264ProfileLevelId, H264Profile};
//!
//! let audio = audio_codecs(&CodecConfig::default());
//! assert_eq!(audio[0].rtpmap(), "opus/48000/2");
//! assert_eq!(audio[0].param("useinbandfec"), Some("1"));
//! let video = video_codecs(&CodecConfig::default());
//! assert!(video.iter().any(|c| c.is("AV1")));
//! let id = H264ProfileLevelId::parse("42e01f").unwrap();
//! assert_eq!(id.profile, H264Profile::ConstrainedBaseline);
//! ```

use crate::model::{Codec, HeaderExtension, MediaType, SmolStr};

/// `urn:ietf:params:rtp-hdrext:ssrc-audio-level` (RFC 6464).
pub const EXT_AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
/// abs-send-time (libwebrtc).
pub const EXT_ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
/// Transport-wide congestion control sequence numbers.
pub const EXT_TRANSPORT_CC: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
/// `urn:ietf:params:rtp-hdrext:sdes:mid` (RFC 9143 §15.2).
pub const EXT_MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
/// `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id` (RFC 8852).
pub const EXT_RTP_STREAM_ID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
/// `urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id` (RFC 8852).
pub const EXT_REPAIRED_RTP_STREAM_ID: &str =
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
/// `urn:ietf:params:rtp-hdrext:toffset` (RFC 5450).
pub const EXT_TOFFSET: &str = "urn:ietf:params:rtp-hdrext:toffset";
/// `urn:3gpp:video-orientation` (3GPP TS 26.114).
pub const EXT_VIDEO_ORIENTATION: &str = "urn:3gpp:video-orientation";
/// playout-delay (libwebrtc).
pub const EXT_PLAYOUT_DELAY: &str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
/// video-content-type (libwebrtc).
pub const EXT_VIDEO_CONTENT_TYPE: &str =
    "http://www.webrtc.org/experiments/rtp-hdrext/video-content-type";
/// video-timing (libwebrtc).
pub const EXT_VIDEO_TIMING: &str = "http://www.webrtc.org/experiments/rtp-hdrext/video-timing";
/// color-space (libwebrtc).
pub const EXT_COLOR_SPACE: &str = "http://www.webrtc.org/experiments/rtp-hdrext/color-space";
/// abs-capture-time (libwebrtc).
pub const EXT_ABS_CAPTURE_TIME: &str =
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
/// video-layers-allocation00 (libwebrtc).
pub const EXT_VIDEO_LAYERS_ALLOCATION: &str =
    "http://www.webrtc.org/experiments/rtp-hdrext/video-layers-allocation00";
/// video-frame-tracking-id (libwebrtc).
pub const EXT_VIDEO_FRAME_TRACKING_ID: &str =
    "http://www.webrtc.org/experiments/rtp-hdrext/video-frame-tracking-id";
/// generic-frame-descriptor-00 (libwebrtc).
pub const EXT_GENERIC_FRAME_DESCRIPTOR: &str =
    "http://www.webrtc.org/experiments/rtp-hdrext/generic-frame-descriptor-00";
/// transport-wide-cc-02 (libwebrtc's variant with feedback requests).
pub const EXT_TRANSPORT_CC_02: &str =
    "http://www.webrtc.org/experiments/rtp-hdrext/transport-wide-cc-02";
/// The AV1 RTP specification's dependency descriptor.
pub const EXT_DEPENDENCY_DESCRIPTOR: &str =
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension";
/// `urn:ietf:params:rtp-hdrext:csrc-audio-level` (RFC 6465).
pub const EXT_CSRC_AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:csrc-audio-level";
/// `urn:ietf:params:rtp-hdrext:encrypt` (RFC 6904).
pub const EXT_ENCRYPT: &str = "urn:ietf:params:rtp-hdrext:encrypt";

/// Which optional codecs the built-in lists include.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecConfig {
    /// Offer RED for Opus (RFC 2198, `red/48000/2` with `111/111`). Default off.
    pub audio_red: bool,
    /// Offer RED + ULPFEC for video (RFC 5109), as Chromium does. Default on.
    pub video_red_ulpfec: bool,
}

impl Default for CodecConfig {
    fn default() -> CodecConfig {
        CodecConfig {
            audio_red: false,
            video_red_ulpfec: true,
        }
    }
}

/// The audio codecs in preference order: Opus (`minptime=10;useinbandfec=1`,
/// transport-cc), optionally RED, G722, PCMU, PCMA, CN, telephone-event at
/// 48 kHz and 8 kHz.
pub fn audio_codecs(config: &CodecConfig) -> Vec<Codec> {
    let mut v = vec![Codec::new(111, "opus", 48000, Some(2))
        .with_param("minptime", "10")
        .with_param("useinbandfec", "1")
        .with_feedback("transport-cc", None)];
    if config.audio_red {
        let mut red = Codec::new(63, "red", 48000, Some(2));
        red.params
            .push((SmolStr::default(), SmolStr::new_static("111/111")));
        v.push(red);
    }
    v.extend([
        Codec::new(9, "G722", 8000, None),
        Codec::new(0, "PCMU", 8000, None),
        Codec::new(8, "PCMA", 8000, None),
        Codec::new(13, "CN", 8000, None),
        Codec::new(110, "telephone-event", 48000, None),
        Codec::new(126, "telephone-event", 8000, None),
    ]);
    v
}

/// The RTCP feedback every video codec gets (libwebrtc's defaults).
fn with_video_feedback(c: Codec) -> Codec {
    c.with_feedback("goog-remb", None)
        .with_feedback("transport-cc", None)
        .with_feedback("ccm", Some("fir"))
        .with_feedback("nack", None)
        .with_feedback("nack", Some("pli"))
}

fn rtx(payload_type: u8, apt: u8) -> Codec {
    Codec::new(payload_type, "rtx", 90000, None).with_param("apt", &apt.to_string())
}

fn h264(profile_level_id: &str, packetization_mode: &str) -> Codec {
    Codec::new(0, "H264", 90000, None)
        .with_param("level-asymmetry-allowed", "1")
        .with_param("packetization-mode", packetization_mode)
        .with_param("profile-level-id", profile_level_id)
}

/// The video codecs in preference order, each followed by its RTX: VP8, VP9
/// profile 0 and 2, H.264 constrained baseline and baseline (42e01f /
/// 42001f) with packetization-mode 1 and 0, AV1, then optionally RED (+RTX)
/// and ULPFEC.
pub fn video_codecs(config: &CodecConfig) -> Vec<Codec> {
    let primaries: [(u8, Codec); 8] = [
        (96, Codec::new(0, "VP8", 90000, None)),
        (
            98,
            Codec::new(0, "VP9", 90000, None).with_param("profile-id", "0"),
        ),
        (
            100,
            Codec::new(0, "VP9", 90000, None).with_param("profile-id", "2"),
        ),
        (102, h264("42001f", "1")),
        (104, h264("42001f", "0")),
        (106, h264("42e01f", "1")),
        (108, h264("42e01f", "0")),
        (
            45,
            Codec::new(0, "AV1", 90000, None)
                .with_param("level-idx", "5")
                .with_param("profile", "0")
                .with_param("tier", "0"),
        ),
    ];
    let mut v = Vec::new();
    for (pt, mut codec) in primaries {
        codec.payload_type = pt;
        v.push(with_video_feedback(codec));
        v.push(rtx(pt + 1, pt));
    }
    if config.video_red_ulpfec {
        v.push(Codec::new(116, "red", 90000, None));
        v.push(rtx(117, 116));
        v.push(Codec::new(118, "ulpfec", 90000, None));
    }
    v
}

/// The built-in codecs for a media type (empty for data and others).
pub fn codecs_for(media_type: &MediaType, config: &CodecConfig) -> Vec<Codec> {
    match media_type {
        MediaType::Audio => audio_codecs(config),
        MediaType::Video => video_codecs(config),
        _ => Vec::new(),
    }
}

/// The header extensions offered for a media type, with Chromium's ids.
pub fn header_extensions_for(media_type: &MediaType) -> Vec<HeaderExtension> {
    let list: &[(u16, &str)] = match media_type {
        MediaType::Audio => &[
            (1, EXT_AUDIO_LEVEL),
            (2, EXT_ABS_SEND_TIME),
            (3, EXT_TRANSPORT_CC),
            (4, EXT_MID),
        ],
        MediaType::Video => &[
            (14, EXT_TOFFSET),
            (2, EXT_ABS_SEND_TIME),
            (13, EXT_VIDEO_ORIENTATION),
            (3, EXT_TRANSPORT_CC),
            (4, EXT_MID),
            (10, EXT_RTP_STREAM_ID),
            (11, EXT_REPAIRED_RTP_STREAM_ID),
        ],
        _ => &[],
    };
    list.iter()
        .map(|(id, uri)| HeaderExtension::new(*id, uri))
        .collect()
}

/// H.264 profiles as libwebrtc distinguishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum H264Profile {
    /// Constrained Baseline.
    ConstrainedBaseline,
    /// Baseline.
    Baseline,
    /// Main.
    Main,
    /// Constrained High.
    ConstrainedHigh,
    /// High.
    High,
    /// Predictive High 4:4:4.
    PredictiveHigh444,
}

/// A parsed H.264 `profile-level-id` (RFC 6184 §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H264ProfileLevelId {
    /// The profile.
    pub profile: H264Profile,
    /// `level_idc` (10 × level, e.g. 31 for 3.1); level 1b is 9 here.
    pub level: u8,
}

/// The level 1b marker in [`H264ProfileLevelId::level`] (ordered between 1 and 1.1).
pub const H264_LEVEL_1B: u8 = 0;

impl H264ProfileLevelId {
    /// The default when `profile-level-id` is absent (RFC 6184: 420010,
    /// constrained baseline level 3.1 as libwebrtc assumes).
    pub const DEFAULT: H264ProfileLevelId = H264ProfileLevelId {
        profile: H264Profile::ConstrainedBaseline,
        level: 31,
    };

    /// Parses six hex digits: `profile_idc`, `profile_iop`, `level_idc`.
    pub fn parse(hex: &str) -> Option<H264ProfileLevelId> {
        if hex.len() != 6 || !hex.is_ascii() {
            return None;
        }
        let v = u32::from_str_radix(hex, 16).ok()?;
        let idc = (v >> 16) as u8;
        let iop = (v >> 8) as u8;
        let level_idc = v as u8;
        // (profile_idc, iop mask, iop value, profile): libwebrtc's kProfilePatterns.
        const PATTERNS: [(u8, u8, u8, H264Profile); 9] = [
            (0x42, 0x4f, 0x40, H264Profile::ConstrainedBaseline), // x1xx0000
            (0x4d, 0x8f, 0x80, H264Profile::ConstrainedBaseline), // 1xxx0000
            (0x58, 0xcf, 0xc0, H264Profile::ConstrainedBaseline), // 11xx0000
            (0x42, 0x4f, 0x00, H264Profile::Baseline),            // x0xx0000
            (0x58, 0xcf, 0x80, H264Profile::Baseline),            // 10xx0000
            (0x4d, 0xaf, 0x00, H264Profile::Main),                // 0x0x0000
            (0x64, 0xff, 0x00, H264Profile::High),                // 00000000
            (0x64, 0xff, 0x0c, H264Profile::ConstrainedHigh),     // 00001100
            (0xf4, 0xff, 0x00, H264Profile::PredictiveHigh444),   // 00000000
        ];
        let profile = PATTERNS
            .iter()
            .find(|(p, mask, value, _)| *p == idc && iop & mask == *value)
            .map(|(_, _, _, profile)| *profile)?;
        let level = match level_idc {
            // Level 1b: level_idc 11 with constraint_set3 in the baseline-like profiles.
            11 if iop & 0x10 != 0
                && matches!(
                    profile,
                    H264Profile::Baseline | H264Profile::ConstrainedBaseline | H264Profile::Main
                ) =>
            {
                H264_LEVEL_1B
            }
            9 => H264_LEVEL_1B,
            10..=13 | 20..=22 | 30..=32 | 40..=42 | 50..=52 => level_idc,
            _ => return None,
        };
        Some(H264ProfileLevelId { profile, level })
    }

    /// The `profile-level-id` of a codec's fmtp, or the default.
    pub fn of_codec(codec: &Codec) -> Option<H264ProfileLevelId> {
        match codec.param("profile-level-id") {
            Some(v) => H264ProfileLevelId::parse(v),
            None => Some(H264ProfileLevelId::DEFAULT),
        }
    }

    /// Six hex digits for this profile and level (libwebrtc's
    /// `H264ProfileLevelIdToString`).
    pub fn to_hex(self) -> String {
        let (idc, iop) = match self.profile {
            H264Profile::ConstrainedBaseline => (0x42, 0xe0),
            H264Profile::Baseline => (0x42, 0x00),
            H264Profile::Main => (0x4d, 0x00),
            H264Profile::ConstrainedHigh => (0x64, 0x0c),
            H264Profile::High => (0x64, 0x00),
            H264Profile::PredictiveHigh444 => (0xf4, 0x00),
        };
        if self.level == H264_LEVEL_1B {
            return match self.profile {
                H264Profile::ConstrainedBaseline => "42f00b".into(),
                H264Profile::Baseline => "42100b".into(),
                H264Profile::Main => "4d100b".into(),
                _ => format!("{idc:02x}{iop:02x}09"),
            };
        }
        format!("{idc:02x}{iop:02x}{:02x}", self.level)
    }
}

/// Orders levels with 1b between 1 and 1.1 (libwebrtc's `IsLess`).
fn level_rank(level: u8) -> u16 {
    if level == H264_LEVEL_1B {
        21
    } else {
        u16::from(level) * 2
    }
}

/// The lower of two levels.
pub fn min_level(a: u8, b: u8) -> u8 {
    if level_rank(a) <= level_rank(b) {
        a
    } else {
        b
    }
}

fn param_or<'a>(c: &'a Codec, key: &str, default: &'a str) -> &'a str {
    c.param(key).unwrap_or(default)
}

/// Whether two codecs are the same format for negotiation (libwebrtc's
/// `Codec::Matches` plus the format-specific checks): same encoding name
/// and clock rate, same channel count for audio (absent = 1), H.264 same
/// profile and packetization-mode, VP9 same profile-id, AV1 same profile.
/// RTX, RED and ULPFEC match by name and clock; RTX association is checked
/// separately by the factory.
pub fn codecs_match(a: &Codec, b: &Codec) -> bool {
    if !a.name.eq_ignore_ascii_case(&b.name) || a.clock_rate != b.clock_rate {
        return false;
    }
    if a.channels.unwrap_or(1) != b.channels.unwrap_or(1) {
        return false;
    }
    if a.is("H264") {
        let (Some(pa), Some(pb)) = (
            H264ProfileLevelId::of_codec(a),
            H264ProfileLevelId::of_codec(b),
        ) else {
            return false;
        };
        return pa.profile == pb.profile
            && param_or(a, "packetization-mode", "0") == param_or(b, "packetization-mode", "0");
    }
    if a.is("VP9") {
        return param_or(a, "profile-id", "0") == param_or(b, "profile-id", "0");
    }
    if a.is("AV1") {
        return param_or(a, "profile", "0") == param_or(b, "profile", "0");
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_profiles_parse_like_libwebrtc() {
        let cases = [
            ("42e01f", H264Profile::ConstrainedBaseline, 31),
            ("42001f", H264Profile::Baseline, 31),
            ("4d001f", H264Profile::Main, 31),
            ("640c1f", H264Profile::ConstrainedHigh, 31),
            ("640032", H264Profile::High, 50),
            ("f4001f", H264Profile::PredictiveHigh444, 31),
            ("4de01f", H264Profile::ConstrainedBaseline, 31),
            ("42f00b", H264Profile::ConstrainedBaseline, H264_LEVEL_1B),
        ];
        for (hex, profile, level) in cases {
            let id = H264ProfileLevelId::parse(hex).unwrap();
            assert_eq!((id.profile, id.level), (profile, level), "{hex}");
        }
        for bad in ["", "42e0", "zzzzzz", "ff001f", "42e0ff", "42e01f00"] {
            assert_eq!(H264ProfileLevelId::parse(bad), None, "{bad}");
        }
        let round = |hex: &str| H264ProfileLevelId::parse(hex).unwrap().to_hex();
        assert_eq!(round("42e01f"), "42e01f");
        assert_eq!(round("640c34"), "640c34");
        assert_eq!(round("42f00b"), "42f00b");
        assert!(level_rank(10) < level_rank(H264_LEVEL_1B));
        assert!(level_rank(H264_LEVEL_1B) < level_rank(11));
        assert_eq!(min_level(31, 13), 13);
    }

    #[test]
    fn matching_rules() {
        let video = video_codecs(&CodecConfig::default());
        let by_pt = |pt: u8| video.iter().find(|c| c.payload_type == pt).unwrap();
        // 42001f (baseline) and 42e01f (constrained baseline) differ in profile.
        assert!(!codecs_match(by_pt(102), by_pt(106)));
        // Packetization modes differ.
        assert!(!codecs_match(by_pt(102), by_pt(104)));
        // Different level, same profile: a match.
        let other_level = by_pt(106).clone().with_param("profile-level-id", "42e034");
        assert!(codecs_match(by_pt(106), &other_level));
        // VP9 profiles.
        assert!(!codecs_match(by_pt(98), by_pt(100)));
        // Opus with and without explicit channels.
        let opus1 = Codec::new(109, "OPUS", 48000, Some(2));
        assert!(codecs_match(
            &audio_codecs(&CodecConfig::default())[0],
            &opus1
        ));
        assert!(!codecs_match(
            &Codec::new(0, "PCMU", 8000, None),
            &Codec::new(0, "PCMU", 16000, None)
        ));
    }

    #[test]
    fn payload_types_are_unique() {
        let cfg = CodecConfig {
            audio_red: true,
            video_red_ulpfec: true,
        };
        for list in [audio_codecs(&cfg), video_codecs(&cfg)] {
            let mut pts: Vec<u8> = list.iter().map(|c| c.payload_type).collect();
            pts.sort_unstable();
            pts.dedup();
            assert_eq!(pts.len(), list.len());
        }
        for c in video_codecs(&cfg).iter().filter(|c| c.is_rtx()) {
            let apt = c.apt().unwrap();
            assert!(video_codecs(&cfg).iter().any(|p| p.payload_type == apt));
        }
    }
}
