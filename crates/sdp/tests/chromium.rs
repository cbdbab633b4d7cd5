//! Negotiation against real headless Chromium (`cargo xtask test-all --only interop-sdp`, which
//! runs this file in a loopback-only network namespace with `PEERSTACK_REQUIRE_CHROMIUM=1`).
//! Without Chromium or its venv the tests print why and pass; see `support/chromium.rs`.

mod support;

use std::time::Duration;

use serde_json::json;
use support::chromium::{ChromiumPeer, Media};

/// Two peer connections in one Chromium page: `a` offers audio + video + a data channel, `b`
/// answers, trickled candidates are exchanged both ways and both reach `connected`.
#[test]
fn chromium_offer_answered_by_chromium_connects() -> Result<(), Box<dyn std::error::Error>> {
    let Some(mut chromium) = ChromiumPeer::start()? else {
        return Ok(());
    };
    eprintln!("{}", chromium.product);
    chromium.new_pc("a", json!({"bundlePolicy": "max-bundle"}))?;
    chromium.new_pc("b", json!({}))?;
    let media = Media {
        audio: 1,
        video: 1,
        data: true,
        ..Media::default()
    };
    chromium.add_transceivers("a", &media)?;

    let offer = chromium.create_offer("a")?;
    for line in [
        "a=group:BUNDLE 0 1 2",
        "a=fingerprint:sha-256 ",
        "a=setup:actpass",
        "m=audio ",
        "m=video ",
        "m=application ",
    ] {
        assert!(offer.contains(line), "no {line:?} in the offer:\n{offer}");
    }
    chromium.set_local("a", "offer", &offer)?;
    chromium.set_remote("b", "offer", &offer)?;
    let answer = chromium.create_answer("b")?;
    assert!(answer.contains("a=setup:active"), "answer:\n{answer}");
    chromium.set_local("b", "answer", &answer)?;
    chromium.set_remote("a", "answer", &answer)?;

    // Trickle: the offer and answer above carry no candidates; send each side's to the other.
    let (_, a_candidates) = chromium.wait_gathering("a")?;
    let (_, b_candidates) = chromium.wait_gathering("b")?;
    assert!(
        a_candidates
            .iter()
            .any(|c| c.candidate.contains(" 127.0.0.1 ")),
        "no loopback candidate: {a_candidates:?}"
    );
    for c in &a_candidates {
        chromium.add_ice_candidate("b", c)?;
    }
    for c in &b_candidates {
        chromium.add_ice_candidate("a", c)?;
    }
    chromium.wait_state("a", "connected", Duration::from_secs(20))?;
    chromium.wait_state("b", "connected", Duration::from_secs(20))?;

    // The browser's own exception text comes back for SDP it refuses.
    let err = chromium
        .set_remote("b", "offer", "v=0\r\nbogus\r\n")
        .expect_err("Chromium accepted a bogus offer");
    assert!(err.to_string().contains("setRemoteDescription"), "{err}");

    chromium.close("a")?;
    chromium.close("b")?;
    Ok(())
}

/// The hand-made Firefox and Safari SDPs of `tests/corpus` are ones a browser accepts: each
/// offer is set as remote description and answered; each answer (all answer a Chromium offer
/// with audio, video and a data channel, mids 0 1 2) is applied to such an offer.
#[test]
fn handmade_corpus_is_accepted_by_chromium() -> Result<(), Box<dyn std::error::Error>> {
    let Some(mut chromium) = ChromiumPeer::start()? else {
        return Ok(());
    };
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut checked = 0;
    for browser in ["firefox", "safari"] {
        let mut files: Vec<_> = std::fs::read_dir(corpus.join(browser))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        files.sort();
        for path in files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "sdp"))
        {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let sdp = std::fs::read_to_string(path)?;
            let id = format!("{browser}/{name}");
            chromium.new_pc(&id, json!({}))?;
            let result = if name.starts_with("offer") {
                chromium.set_remote(&id, "offer", &sdp).and_then(|()| {
                    let answer = chromium.create_answer(&id)?;
                    chromium.set_local(&id, "answer", &answer)
                })
            } else {
                let media = Media {
                    audio: 1,
                    video: 1,
                    data: true,
                    ..Media::default()
                };
                chromium.add_transceivers(&id, &media).and_then(|()| {
                    let offer = chromium.create_offer(&id)?;
                    chromium.set_local(&id, "offer", &offer)?;
                    chromium.set_remote(&id, "answer", &sdp)
                })
            };
            if let Err(e) = result {
                panic!("Chromium refused {id}: {e}");
            }
            chromium.close(&id)?;
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} hand-made SDPs found");
    Ok(())
}
