//! Arbitrary bytes through the entry points a server hands an HTTP body to:
//! `parse_bytes`, then `validate` for every description type. Nothing may
//! panic; `JsepSessionDescription::parse_bytes` accepts exactly what parses
//! and validates; and a description that validates still parses and
//! validates after our writer has written it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdp::{JsepSessionDescription, SdpType};

const TYPES: [SdpType; 4] = [
    SdpType::Offer,
    SdpType::PrAnswer,
    SdpType::Answer,
    SdpType::Rollback,
];

fuzz_target!(|data: &[u8]| {
    let parsed = sdp::parse::parse_bytes(data);
    if let Err(sdp::Error::NotUtf8 { offset, .. }) = &parsed {
        assert!(std::str::from_utf8(data).is_err());
        assert!(std::str::from_utf8(&data[..*offset]).is_ok());
    }
    for sdp_type in TYPES {
        let jsep = JsepSessionDescription::parse_bytes(sdp_type, data);
        let verdict = parsed
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|d| sdp::validate(d, sdp_type));
        assert_eq!(jsep.is_ok(), verdict.is_ok(), "{sdp_type}: {verdict:?}");
        if let Err(e) = &verdict {
            // Every refusal says where, or is about the whole input.
            let _ = e.to_string();
        }
        let Ok(desc) = &parsed else { continue };
        if verdict.is_ok() {
            let written = sdp::write(desc);
            let again = sdp::parse(&written)
                .unwrap_or_else(|e| panic!("our own output does not parse: {e}\n{written}"));
            if let Err(e) = sdp::validate(&again, sdp_type) {
                panic!("valid before writing, not after: {e}\n{written}");
            }
        }
    }
});
