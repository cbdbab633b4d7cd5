//! JSEP objects: candidate collections built from real descriptions,
//! trickled candidates added, deduplicated, refused and removed,
//! end-of-candidates, and candidates written back into the SDP.

use sdp::{Error, IceCandidateInit, JsepIceCandidate, JsepSessionDescription, SdpType};

fn corpus(path: &str) -> String {
    let full = format!("{}/tests/corpus/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn candidate(mid: &str, index: usize, line: &str, ufrag: &str) -> JsepIceCandidate {
    JsepIceCandidate::from_json(&format!(
        r#"{{"candidate":"{line}","sdpMid":"{mid}","sdpMLineIndex":{index},"usernameFragment":"{ufrag}"}}"#
    ))
    .unwrap()
    .unwrap()
}

#[test]
fn candidates_from_the_description_go_to_their_collections_and_back() {
    let text = corpus("chromium/offer-audio-video-data.sdp");
    let desc = JsepSessionDescription::parse(SdpType::Offer, &text).unwrap();
    assert_eq!(desc.sdp_type(), SdpType::Offer);
    assert_eq!(desc.number_of_mediasections(), 3);
    let in_text = text.matches("a=candidate:").count();
    let collected: usize = (0..3).map(|i| desc.candidates(i).unwrap().len()).sum();
    assert_eq!(collected, in_text);
    assert!(in_text > 0);
    // The description itself no longer carries them.
    assert!(desc
        .description()
        .contents
        .iter()
        .all(|c| c.transport.candidates.is_empty()));
    let first = desc.candidates(0).unwrap().iter().next().unwrap();
    assert_eq!(first.sdp_mid.as_deref(), Some("0"));
    assert_eq!(first.sdp_mline_index, Some(0));
    assert_eq!(
        first.username_fragment.as_deref(),
        Some(desc.description().contents[0].transport.ice_ufrag.as_str())
    );
    // Written back: the same SDP, byte for byte (Chromium's is canonical).
    assert_eq!(desc.to_sdp(), text);
}

#[test]
fn trickled_candidates_update_the_sdp() {
    let text = corpus("chromium/offer-audio-video-data-trickle.sdp");
    let mut desc = JsepSessionDescription::parse(SdpType::Offer, &text).unwrap();
    assert!(desc.candidates(0).unwrap().is_empty());
    let ufrag = desc.description().contents[0].transport.ice_ufrag.clone();

    let host = "candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host generation 0";
    let tcp = "candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0";
    assert!(desc.add_candidate(candidate("0", 0, tcp, &ufrag)).unwrap());
    assert!(desc.add_candidate(candidate("0", 0, host, &ufrag)).unwrap());
    // The same candidate again (another priority does not make it new).
    let dup = "candidate:1 1 udp 2122260000 127.0.0.1 40000 typ host generation 0";
    assert!(!desc.add_candidate(candidate("0", 0, dup, &ufrag)).unwrap());
    assert_eq!(desc.candidates(0).unwrap().len(), 2);

    let sdp = desc.to_sdp();
    assert!(sdp.contains(&format!("a={host}\r\n")), "{sdp}");
    assert!(sdp.contains(&format!("a={tcp}\r\n")), "{sdp}");
    // The UDP candidate is the default: m= port and c= follow it.
    assert!(sdp.contains("m=audio 40000 UDP/TLS/RTP/SAVPF"), "{sdp}");
    let audio_block = &sdp[sdp.find("m=audio").unwrap()..sdp.find("m=video").unwrap()];
    assert!(
        audio_block.contains("c=IN IP4 127.0.0.1\r\n"),
        "{audio_block}"
    );
    // Sections without candidates keep port 9 and 0.0.0.0.
    assert!(sdp.contains("m=video 9 UDP/TLS/RTP/SAVPF"), "{sdp}");
    let reparsed = sdp::parse(&sdp).unwrap();
    assert_eq!(reparsed.contents[0].transport.candidates.len(), 2);

    // By index only, to the video section.
    let by_index = IceCandidateInit {
        candidate: "candidate:3 1 udp 2122260223 ::1 40002 typ host".into(),
        sdp_mid: None,
        sdp_mline_index: Some(1),
        username_fragment: None,
    };
    assert!(desc.add_candidate_init(&by_index).unwrap());
    assert_eq!(desc.candidates(1).unwrap().len(), 1);
    assert!(desc.to_sdp().contains("m=video 40002 "));
    assert!(desc.to_sdp().contains("c=IN IP6 ::1\r\n"));

    // End of candidates for the data section, by mid.
    let end = IceCandidateInit::from_json(r#"{"candidate":"","sdpMid":"2"}"#).unwrap();
    assert!(end.is_end_of_candidates());
    desc.add_candidate_init(&end).unwrap();
    assert!(desc.candidates(2).unwrap().end_of_candidates());
    let sdp = desc.to_sdp();
    let data_block = &sdp[sdp.find("m=application").unwrap()..];
    assert!(
        data_block.contains("a=end-of-candidates\r\n"),
        "{data_block}"
    );
    assert!(
        sdp::parse(&sdp).unwrap().contents[2]
            .transport
            .end_of_candidates
    );

    // Removal.
    let removed = desc.remove_candidates(&[candidate("0", 0, host, &ufrag)]);
    assert_eq!(removed, 1);
    assert_eq!(desc.candidates(0).unwrap().len(), 1);
    assert!(
        desc.to_sdp().contains("m=audio 9 "),
        "TCP active port 9 is the default now"
    );
}

#[test]
fn bad_candidates_are_refused() {
    let text = corpus("chromium/offer-audio-video-data-trickle.sdp");
    let mut desc = JsepSessionDescription::parse(SdpType::Offer, &text).unwrap();
    let line = "candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host";
    assert!(matches!(
        desc.add_candidate(candidate("7", 0, line, "x")),
        Err(Error::UnknownSection { .. })
    ));
    let mut no_mid = candidate("0", 9, line, "x");
    no_mid.sdp_mid = None;
    assert!(matches!(
        desc.add_candidate(no_mid),
        Err(Error::UnknownSection { .. })
    ));
    // A candidate of an older ICE generation (another ufrag).
    assert!(matches!(
        desc.add_candidate(candidate("0", 0, line, "old-ufrag")),
        Err(Error::Candidate(_))
    ));
    let garbage = IceCandidateInit {
        candidate: "candidate:1 1 udp".into(),
        sdp_mid: Some("0".into()),
        ..Default::default()
    };
    assert!(matches!(
        desc.add_candidate_init(&garbage),
        Err(Error::Candidate(_))
    ));
    assert!(desc.set_end_of_candidates(Some("nope"), None).is_err());
}

#[test]
fn firefox_candidates_and_end_of_candidates_survive() {
    let text = corpus("firefox/answer-to-chromium-audio-video-data.sdp");
    let desc = JsepSessionDescription::parse(SdpType::Answer, &text).unwrap();
    let total: usize = (0..desc.number_of_mediasections())
        .map(|i| desc.candidates(i).unwrap().len())
        .sum();
    assert_eq!(total, text.matches("a=candidate:").count());
    assert!(desc.candidates(0).unwrap().end_of_candidates());
    let again = sdp::parse(&desc.to_sdp()).unwrap();
    let mut expected = sdp::parse(&text).unwrap();
    // The default destination is libwebrtc's: the UDP server-reflexive
    // candidate before the host one (the file was written with the host's).
    let c0 = expected.contents[0].media.connection.as_mut().unwrap();
    assert_eq!(c0.address, "127.0.0.1");
    c0.address = "198.51.100.7".into();
    assert_eq!(again, expected);
}

#[test]
fn json_shape_matches_the_w3c_dictionary() {
    let line = "candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host generation 0";
    let c = candidate("0", 0, line, "abcd");
    let json: serde_json::Value = serde_json::from_str(&c.to_json()).unwrap();
    assert_eq!(json["candidate"], line);
    assert_eq!(json["sdpMid"], "0");
    assert_eq!(json["sdpMLineIndex"], 0);
    assert_eq!(json["usernameFragment"], "abcd");
}

mod props {
    use proptest::prelude::*;
    use sdp::{JsepIceCandidate, JsepSessionDescription, SdpType};

    fn candidate_line() -> impl Strategy<Value = String> {
        (
            "[A-Za-z0-9+/]{1,32}",
            1u16..=2,
            any::<u32>(),
            any::<[u8; 4]>(),
            1u16..,
            prop_oneof![Just("host"), Just("srflx"), Just("relay")],
            any::<[u8; 4]>(),
            1u16..,
            proptest::option::of(0u32..10),
        )
            .prop_map(|(f, comp, prio, ip, port, typ, rip, rport, generation)| {
                let ip = std::net::Ipv4Addr::from(ip);
                let mut line = format!("candidate:{f} {comp} udp {prio} {ip} {port} typ {typ}");
                if typ != "host" {
                    line += &format!(" raddr {} rport {rport}", std::net::Ipv4Addr::from(rip));
                }
                if let Some(g) = generation {
                    line += &format!(" generation {g}");
                }
                line
            })
    }

    proptest! {
        /// Any candidate line in the W3C JSON shape survives to_json/from_json, is added to a
        /// real description once (twice is a duplicate) and is written into SDP that parses.
        #[test]
        fn candidate_json_round_trips_and_lands_in_the_sdp(line in candidate_line(), index in 0usize..3) {
            let json = format!(
                r#"{{"candidate":"{line}","sdpMid":null,"sdpMLineIndex":{index}}}"#
            );
            let c = JsepIceCandidate::from_json(&json).unwrap().unwrap();
            prop_assert_eq!(c.candidate_line(), line.clone());
            let again = JsepIceCandidate::from_json(&c.to_json()).unwrap().unwrap();
            prop_assert_eq!(&again, &c);

            let offer = super::corpus("chromium/offer-audio-video-data-trickle.sdp");
            let mut desc = JsepSessionDescription::parse(SdpType::Offer, &offer).unwrap();
            prop_assert!(desc.add_candidate(c.clone()).unwrap());
            prop_assert!(!desc.add_candidate(c).unwrap());
            let sdp = desc.to_sdp();
            let parsed = sdp::parse(&sdp).unwrap();
            let attr = format!("a={line}\r\n");
            prop_assert!(sdp.contains(&attr));
            prop_assert_eq!(parsed.contents[index].transport.candidates.len(), 1);
        }
    }
}

#[test]
fn a_candidate_matches_the_description_of_its_ufrag_only() {
    let desc = JsepSessionDescription::parse(
        SdpType::Offer,
        &corpus("chromium/offer-audio-video-data.sdp"),
    )
    .unwrap();
    let ufrag = desc.description().contents[0]
        .transport
        .ice_ufrag
        .to_string();
    let line = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host";
    assert!(candidate("0", 0, line, &ufrag).matches_ufrag_of(&desc));
    // A rolled-back or restarted description's candidate.
    assert!(!candidate("0", 0, line, "gone").matches_ufrag_of(&desc));
    // The ufrag on the line itself counts too; no ufrag at all matches.
    let on_line = format!("{line} ufrag gone");
    let c = JsepIceCandidate::from_json(&format!(
        r#"{{"candidate":"{on_line}","sdpMid":"0","sdpMLineIndex":0}}"#
    ))
    .unwrap()
    .unwrap();
    assert!(!c.matches_ufrag_of(&desc));
    let c = JsepIceCandidate::from_json(&format!(
        r#"{{"candidate":"{line}","sdpMid":"0","sdpMLineIndex":0}}"#
    ))
    .unwrap()
    .unwrap();
    assert!(c.matches_ufrag_of(&desc));
}
