//! Strings of the model: inline when short, shared when known.
//!
//! A [`SmolStr`] of at most 23 bytes lives inline (no allocation); a longer
//! one is an `Arc<str>` unless it is `&'static`. The long values WebRTC
//! descriptions repeat most are the RTP header extension URIs, so those map
//! to the constants of [`codecs`](crate::codecs) and cost nothing.

use smol_str::SmolStr;

use crate::codecs::*;

/// The longest string [`SmolStr`] keeps inline.
pub(crate) const INLINE_CAP: usize = 23;

/// `s` as a [`SmolStr`]: inline when short, a static constant for a known
/// header extension URI, else one shared heap copy.
#[inline]
pub(crate) fn smol(s: &str) -> SmolStr {
    if s.len() <= INLINE_CAP {
        // Inlined (unlike `SmolStr::new`, which is an out-of-line call).
        return SmolStr::new_inline(s);
    }
    match known_long(s) {
        Some(k) => SmolStr::new_static(k),
        None => SmolStr::new(s),
    }
}

/// Header extension URIs Chromium and libwebrtc write (all longer than
/// [`INLINE_CAP`]).
const KNOWN_LONG: [&str; 20] = [
    EXT_AUDIO_LEVEL,
    EXT_ABS_SEND_TIME,
    EXT_TRANSPORT_CC,
    EXT_MID,
    EXT_RTP_STREAM_ID,
    EXT_REPAIRED_RTP_STREAM_ID,
    EXT_TOFFSET,
    EXT_VIDEO_ORIENTATION,
    EXT_PLAYOUT_DELAY,
    EXT_VIDEO_CONTENT_TYPE,
    EXT_VIDEO_TIMING,
    EXT_COLOR_SPACE,
    EXT_ABS_CAPTURE_TIME,
    EXT_VIDEO_LAYERS_ALLOCATION,
    EXT_VIDEO_FRAME_TRACKING_ID,
    EXT_GENERIC_FRAME_DESCRIPTOR,
    EXT_TRANSPORT_CC_02,
    EXT_DEPENDENCY_DESCRIPTOR,
    EXT_CSRC_AUDIO_LEVEL,
    EXT_ENCRYPT,
];

/// The static copy of a known value longer than [`INLINE_CAP`]. Comparing
/// `&str`s checks the length first, so most entries cost one compare.
pub(crate) fn known_long(s: &str) -> Option<&'static str> {
    KNOWN_LONG.into_iter().find(|k| *k == s)
}

/// The static copy of a token Chromium writes on many lines: RTCP feedback
/// kinds and parameters, codec names, fmtp keys, SSRC attribute names.
/// Static `SmolStr`s are built without copying.
#[inline]
pub(crate) fn known_token(s: &str) -> Option<&'static str> {
    Some(match s {
        "nack" => "nack",
        "pli" => "pli",
        "ccm" => "ccm",
        "fir" => "fir",
        "goog-remb" => "goog-remb",
        "transport-cc" => "transport-cc",
        "rtx" => "rtx",
        "apt" => "apt",
        "H264" => "H264",
        "VP8" => "VP8",
        "VP9" => "VP9",
        "AV1" => "AV1",
        "opus" => "opus",
        "red" => "red",
        "ulpfec" => "ulpfec",
        "telephone-event" => "telephone-event",
        "level-asymmetry-allowed" => "level-asymmetry-allowed",
        "packetization-mode" => "packetization-mode",
        "profile-level-id" => "profile-level-id",
        "profile-id" => "profile-id",
        "minptime" => "minptime",
        "useinbandfec" => "useinbandfec",
        "cname" => "cname",
        "msid" => "msid",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_uris_are_static_and_others_are_kept() {
        for uri in KNOWN_LONG {
            assert!(uri.len() > INLINE_CAP, "{uri}");
            let s = smol(uri);
            assert_eq!(s, uri);
            assert!(!s.is_heap_allocated(), "{uri}");
            assert_eq!(known_long(uri), Some(uri), "{uri}");
        }
        let other = "http://www.webrtc.org/experiments/rtp-hdrext/something-else";
        assert_eq!(smol(other), other);
        assert!(smol(other).is_heap_allocated());
        assert_eq!(smol("nack"), "nack");
        assert!(!smol("nack").is_heap_allocated());
    }
}
