//! Arbitrary text as a trickled `RTCIceCandidateInit` JSON object, applied to a real
//! description (Chromium's offer). Nothing may panic; what is accepted is in a collection,
//! survives the JSON round trip, and is written into SDP that parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdp::{IceCandidateInit, JsepIceCandidate, JsepSessionDescription, SdpType};

const OFFER: &str = include_str!("../../tests/corpus/chromium/offer-audio-video-data-trickle.sdp");

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(Some(c)) = JsepIceCandidate::from_json(json) {
        let again = JsepIceCandidate::from_json(&c.to_json())
            .expect("our JSON parses")
            .expect("a candidate, not end-of-candidates");
        assert_eq!(again, c);
    }
    let Ok(init) = IceCandidateInit::from_json(json) else {
        return;
    };
    let mut desc = JsepSessionDescription::parse(SdpType::Offer, OFFER).expect("corpus offer");
    if desc.add_candidate_init(&init).is_ok() {
        let sdp = desc.to_sdp();
        if let Err(e) = sdp::parse(&sdp) {
            panic!("SDP with an accepted candidate does not parse: {e}\n{sdp}");
        }
    }
});
