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

// ---------------------------------------------------------------------------------------------
// Our descriptions against Chromium: its offers answered by our factory, our offers answered by
// Chromium, renegotiation, and ICE + DTLS to `connected` between Chromium and our
// `AsyncTransportController` using nothing but these descriptions.
// ---------------------------------------------------------------------------------------------

use std::net::{IpAddr, Ipv4Addr};

use dtls_transport::certificate::{Certificate, KeyType, DEFAULT_VALIDITY};
use dtls_transport::controller::{ControllerConfig, ControllerEvent};
use dtls_transport::driver::{AsyncTransportController, DriverConfig, TransportHandle};
use dtls_transport::dtls::{DtlsRole, Setup};
use dtls_transport::ice::network::NetworkFilter;
use dtls_transport::ice::{Credentials, IceConfig, IceRole};
use sdp::factory::{
    MediaDescriptionOptions, MediaSessionDescriptionFactory, MediaSessionOptions, SenderOptions,
    TransportDescriptionFactory,
};
use sdp::model::{Direction, MediaType, SessionDescription};
use sdp::{JsepIceCandidate, JsepSessionDescription, SdpType};
use support::chromium::Candidate as BrowserCandidate;

const WAIT: Duration = Duration::from_secs(20);

fn av_data() -> Media {
    Media {
        audio: 1,
        video: 1,
        data: true,
        ..Media::default()
    }
}

/// A transport controller on 127.0.0.1 and a factory writing its fingerprint.
fn our_side(role: IceRole) -> (AsyncTransportController, MediaSessionDescriptionFactory) {
    let certificate = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap();
    let ice = IceConfig {
        role,
        ..Default::default()
    };
    let mut config = DriverConfig::new(ControllerConfig::new(certificate, ice));
    config.networks = NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    let controller = AsyncTransportController::new(config).unwrap();
    let factory = MediaSessionDescriptionFactory::new(TransportDescriptionFactory::new(
        controller.local_fingerprint(),
    ));
    (controller, factory)
}

/// Options accepting every section of `offer` (sendrecv with a track on RTP sections).
fn accept_all(offer: &SessionDescription) -> MediaSessionOptions {
    MediaSessionOptions::with_sections(
        offer
            .contents
            .iter()
            .map(|c| {
                let o = MediaDescriptionOptions::new(c.media.media_type.clone(), &c.mid);
                if c.media.media_type.is_rtp() {
                    o.with_sender(SenderOptions::new(&format!("track-{}", c.mid), &["ours"]))
                } else {
                    o
                }
            })
            .collect(),
    )
}

/// Creates the bundled transport for `local` (our description, whose ICE credentials become
/// the transport's) and returns its name.
async fn prepare_transport(
    controller: &AsyncTransportController,
    local: &mut SessionDescription,
    role: DtlsRole,
) -> (String, TransportHandle) {
    let name = local.bundle_group().expect("bundled").mids[0].clone();
    let handle = controller.add_transport(&name, role).await.unwrap();
    let creds = handle.local_credentials().clone();
    for c in local.contents.iter_mut().filter(|c| !c.rejected) {
        c.transport.ice_ufrag = creds.ufrag.as_str().into();
        c.transport.ice_pwd = creds.pwd.as_str().into();
    }
    (name.to_string(), handle)
}

/// Feeds the transport `name` the remote description's credentials, fingerprint and
/// candidates (of the section `name`).
async fn apply_remote(
    controller: &AsyncTransportController,
    name: &str,
    remote: &JsepSessionDescription,
) {
    let index = remote
        .description()
        .contents
        .iter()
        .position(|c| c.mid == name)
        .unwrap();
    let theirs = &remote.description().contents[index].transport;
    controller
        .set_remote_fingerprints(name, &theirs.fingerprints)
        .await
        .unwrap();
    let creds = Credentials::new(&theirs.ice_ufrag, &theirs.ice_pwd).unwrap();
    controller
        .set_remote_credentials(name, creds)
        .await
        .unwrap();
    let mut usable = 0;
    for c in remote.candidates(index).unwrap().iter() {
        // Chromium's TCP-active candidates (port 9) are not for a UDP-only agent.
        if controller
            .add_remote_candidate(name, c.candidate.clone())
            .await
            .is_ok()
        {
            usable += 1;
        }
    }
    assert!(usable > 0, "no usable candidate from Chromium");
}

/// Gathers on every transport and returns `local` with the candidates of transport `name`
/// (and end-of-candidates) in its first section.
async fn gather(
    controller: &AsyncTransportController,
    name: &str,
    local_type: SdpType,
    local: &SessionDescription,
) -> JsepSessionDescription {
    controller.start_gathering().await.unwrap();
    let mut ours = JsepSessionDescription::new(local_type, local.clone());
    loop {
        match tokio::time::timeout(WAIT, controller.next_event())
            .await
            .expect("gathering ends")
            .expect("driver alive")
        {
            ControllerEvent::Candidate {
                transport,
                candidate,
            } if transport == name => {
                assert!(ours
                    .add_candidate(JsepIceCandidate::new(name, 0, candidate))
                    .unwrap());
            }
            ControllerEvent::EndOfCandidates { transport } if transport == name => break,
            _ => {}
        }
    }
    ours.set_end_of_candidates(Some(name), None).unwrap();
    assert!(!ours.candidates(0).unwrap().is_empty());
    ours
}

/// Chromium offers audio + video + a data channel (candidates gathered into the SDP); our
/// factory answers and our transport controller connects: Chromium reports `connected`
/// (ICE and DTLS with our fingerprint verified) and so does the controller.
#[test]
fn our_answer_to_chromium_connects_ice_and_dtls() -> Result<(), Box<dyn std::error::Error>> {
    let Some(mut chromium) = ChromiumPeer::start()? else {
        return Ok(());
    };
    chromium.new_pc("c", json!({"bundlePolicy": "max-bundle"}))?;
    chromium.add_transceivers("c", &av_data())?;
    let offer = chromium.create_offer("c")?;
    chromium.set_local("c", "offer", &offer)?;
    let (gathered, _) = chromium.wait_gathering("c")?;
    let offer = JsepSessionDescription::parse(SdpType::Offer, &gathered.sdp)?;

    let rt = tokio::runtime::Runtime::new()?;
    let (controller, factory) = rt.block_on(async { our_side(IceRole::Controlled) });
    let mut answer =
        factory.create_answer(offer.description(), &accept_all(offer.description()), None)?;
    assert_eq!(answer.contents[0].transport.setup, Some(Setup::Active));
    assert_eq!(answer.contents.len(), 3);
    assert!(answer.contents.iter().all(|c| !c.rejected));
    let role = DtlsRole::from_setup(Setup::Active, Setup::ActPass)?;
    let (answer_sdp, handle) = rt.block_on(async {
        let (name, handle) = prepare_transport(&controller, &mut answer, role).await;
        apply_remote(&controller, &name, &offer).await;
        let sdp = gather(&controller, &name, SdpType::Answer, &answer)
            .await
            .to_sdp();
        (sdp, handle)
    });
    chromium.set_remote("c", "answer", &answer_sdp)?;
    chromium.wait_state("c", "connected", WAIT)?;
    rt.block_on(async { tokio::time::timeout(WAIT, controller.connected()).await })??;

    // What Chromium holds as its remote description is our answer, parsed the same; it
    // re-serializes candidates (drops `ufrag`, `network-cost` and end-of-candidates), so
    // those fields are left out of the comparison.
    let remote = chromium
        .remote_description("c")?
        .expect("remote description");
    let (mut theirs, mut ours) = (sdp::parse(&remote.sdp)?, sdp::parse(&answer_sdp)?);
    for d in [&mut theirs, &mut ours] {
        for c in &mut d.contents {
            for cand in &mut c.transport.candidates {
                cand.ufrag = None;
                cand.network_cost = None;
            }
            c.transport.end_of_candidates = false;
        }
    }
    assert!(!ours.contents[0].transport.candidates.is_empty());
    assert_eq!(theirs, ours);

    // Media both ways over DTLS-SRTP: Chromium's fake microphone reaches us (SRTP from
    // Chromium unprotected by ours, with the SSRC and payload type its offer signalled), and
    // Opus-typed RTP we protect reaches Chromium's decoder pipeline (counted by getStats
    // only after its SRTP check passed).
    let offered_audio = &offer.description().contents[0].media;
    let their_ssrcs: Vec<u32> = offered_audio.ssrcs.iter().map(|a| a.ssrc).collect();
    let opus_pt = answer.contents[0].media.codecs[0].payload_type;
    let (rtp_from_chromium, rtcp_from_chromium) = rt.block_on(async {
        let (mut rtp, mut rtcp) = (0, 0);
        while rtp < 10 || rtcp < 1 {
            let p = tokio::time::timeout(WAIT, handle.recv_media())
                .await
                .expect("media from Chromium")
                .unwrap();
            if p.rtcp {
                rtcp += 1;
            } else if rtp_ssrc(&p.packet) == Some(their_ssrcs[0]) {
                assert_eq!(
                    p.packet[1] & 0x7f,
                    opus_pt,
                    "payload type of Chromium's audio"
                );
                rtp += 1;
            }
        }
        (rtp, rtcp)
    });
    assert!(rtp_from_chromium >= 10 && rtcp_from_chromium >= 1);
    assert_eq!(handle.srtp_errors(), 0);

    let our_ssrc = answer.contents[0].media.ssrcs[0].ssrc;
    rt.block_on(async {
        for seq in 0..100u16 {
            let packet = rtp_packet(
                opus_pt,
                seq,
                u32::from(seq) * 960,
                our_ssrc,
                &[0xf8, 0xff, 0xfe],
            );
            handle.send_rtp(packet).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let stats = chromium.wait_inbound_rtp("c", "audio", 50, WAIT)?;
    assert_eq!(stats["ssrc"].as_u64(), Some(u64::from(our_ssrc)), "{stats}");
    assert_eq!(
        stats["payloadType"].as_u64(),
        Some(u64::from(opus_pt)),
        "{stats}"
    );
    assert_eq!(stats["mimeType"].as_str(), Some("audio/opus"), "{stats}");
    chromium.close("c")?;
    Ok(())
}

/// The SSRC of an RTP packet.
fn rtp_ssrc(packet: &[u8]) -> Option<u32> {
    packet
        .get(8..12)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// A minimal RTP packet (RFC 3550 §5.1, version 2, no CSRC or extension).
fn rtp_packet(payload_type: u8, seq: u16, timestamp: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, payload_type & 0x7f];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&timestamp.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// Our offer (audio and video with tracks, a data channel) answered by Chromium: the answer
/// uses our payload types, accepts every section with the directions a browser without
/// tracks gives, takes the DTLS client role; our candidates are trickled to Chromium and the
/// two sides connect.
#[test]
fn chromium_answers_our_offer_and_connects() -> Result<(), Box<dyn std::error::Error>> {
    let Some(mut chromium) = ChromiumPeer::start()? else {
        return Ok(());
    };
    let rt = tokio::runtime::Runtime::new()?;
    let (controller, factory) = rt.block_on(async { our_side(IceRole::Controlling) });
    let options = MediaSessionOptions::with_sections(vec![
        MediaDescriptionOptions::audio("0").with_sender(SenderOptions::new("mic", &["s"])),
        MediaDescriptionOptions::video("1").with_sender(SenderOptions::new("cam", &["s"])),
        MediaDescriptionOptions::data("2"),
    ]);
    let mut offer = factory.create_offer(&options, None)?;
    // We are the DTLS server if Chromium answers active, as browsers do.
    let role = DtlsRole::from_setup(Setup::ActPass, Setup::Active)?;
    let (name, _handle) = rt.block_on(prepare_transport(&controller, &mut offer, role));

    chromium.new_pc("d", json!({"bundlePolicy": "max-bundle"}))?;
    chromium.set_remote("d", "offer", &sdp::write(&offer))?;
    let answer_text = chromium.create_answer("d")?;
    chromium.set_local("d", "answer", &answer_text)?;
    let (gathered, _) = chromium.wait_gathering("d")?;
    let answer = JsepSessionDescription::parse(SdpType::Answer, &gathered.sdp)?;
    let a = answer.description();

    assert_eq!(a.bundle_group().unwrap().mids, ["0", "1", "2"]);
    assert_eq!(a.contents[0].transport.setup, Some(Setup::Active));
    for (theirs, mine) in a.contents.iter().zip(&offer.contents) {
        assert!(!theirs.rejected, "Chromium rejected {}", theirs.mid);
        for codec in &theirs.media.codecs {
            let offered = mine
                .media
                .codec(codec.payload_type)
                .unwrap_or_else(|| panic!("payload type {} not offered", codec.payload_type));
            assert!(offered.name.eq_ignore_ascii_case(&codec.name), "{codec:?}");
        }
        if theirs.media.media_type.is_rtp() {
            // Chromium has no track to send: it only receives what we send.
            assert_eq!(
                theirs.media.direction,
                Direction::RecvOnly,
                "{}",
                theirs.mid
            );
        }
    }
    assert!(a.contents[0].media.codecs[0].is("opus"));
    assert!(a.contents[1].media.codecs.iter().any(|c| c.is("VP8")));
    assert!(a.contents[1].media.codecs.iter().any(|c| c.is_rtx()));
    assert_eq!(a.contents[2].media.media_type, MediaType::Application);
    assert_eq!(a.contents[2].media.sctp_port, Some(5000));

    // Trickle our candidates to Chromium in the W3C JSON shape.
    let ours = rt.block_on(async {
        apply_remote(&controller, &name, &answer).await;
        gather(&controller, &name, SdpType::Offer, &offer).await
    });
    for c in ours.candidates(0).unwrap().iter() {
        let json: serde_json::Value = serde_json::from_str(&c.to_json())?;
        chromium.add_ice_candidate(
            "d",
            &BrowserCandidate {
                candidate: json["candidate"].as_str().unwrap_or_default().to_string(),
                sdp_mid: json["sdpMid"].as_str().map(str::to_string),
                sdp_mline_index: json["sdpMLineIndex"].as_u64().map(|i| i as u32),
                username_fragment: json["usernameFragment"].as_str().map(str::to_string),
            },
        )?;
    }
    chromium.wait_state("d", "connected", WAIT)?;
    rt.block_on(async { tokio::time::timeout(WAIT, controller.connected()).await })??;
    chromium.close("d")?;
    Ok(())
}

/// Renegotiation with Chromium answering: a second offer stops video and adds a data
/// section; Chromium accepts it and answers the stopped section with port 0; a third offer
/// reuses the rejected slot for a new audio section with a new mid.
#[test]
fn chromium_follows_our_renegotiation() -> Result<(), Box<dyn std::error::Error>> {
    let Some(mut chromium) = ChromiumPeer::start()? else {
        return Ok(());
    };
    let certificate = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
    let factory = MediaSessionDescriptionFactory::new(TransportDescriptionFactory::new(
        certificate.fingerprint(dtls_transport::certificate::HashAlgorithm::Sha256),
    ));
    let exchange = |chromium: &mut ChromiumPeer,
                    offer: &SessionDescription|
     -> Result<SessionDescription, Box<dyn std::error::Error>> {
        chromium.set_remote("r", "offer", &sdp::write(offer))?;
        let answer = chromium.create_answer("r")?;
        chromium.set_local("r", "answer", &answer)?;
        Ok(sdp::parse(&answer)?)
    };
    chromium.new_pc("r", json!({"bundlePolicy": "max-bundle"}))?;

    let first_options = MediaSessionOptions::with_sections(vec![
        MediaDescriptionOptions::audio("0").with_sender(SenderOptions::new("mic", &["s"])),
        MediaDescriptionOptions::video("1").with_sender(SenderOptions::new("cam", &["s"])),
    ]);
    let first = factory.create_offer(&first_options, None)?;
    let answer = exchange(&mut chromium, &first)?;
    assert_eq!(answer.contents.len(), 2);

    let second_options = MediaSessionOptions {
        rtcp_cname: first_options.rtcp_cname.clone(),
        ..MediaSessionOptions::with_sections(vec![
            MediaDescriptionOptions::audio("0").with_sender(SenderOptions::new("mic", &["s"])),
            MediaDescriptionOptions::video("1").stopped(),
            MediaDescriptionOptions::data("2"),
        ])
    };
    let second = factory.create_offer(&second_options, Some(&first))?;
    assert_eq!(
        second.origin.session_version,
        first.origin.session_version + 1
    );
    let answer = exchange(&mut chromium, &second)?;
    let mids: Vec<&str> = answer.contents.iter().map(|c| c.mid.as_str()).collect();
    assert_eq!(mids, ["0", "1", "2"]);
    assert!(answer.contents[1].rejected, "video answered with port 0");
    assert!(!answer.contents[2].rejected);
    assert_eq!(answer.bundle_group().unwrap().mids, ["0", "2"]);

    let third_options = MediaSessionOptions {
        rtcp_cname: first_options.rtcp_cname.clone(),
        ..MediaSessionOptions::with_sections(vec![
            MediaDescriptionOptions::audio("0").with_sender(SenderOptions::new("mic", &["s"])),
            MediaDescriptionOptions::data("2"),
            MediaDescriptionOptions::audio("3").with_sender(SenderOptions::new("mic2", &["s"])),
        ])
    };
    let third = factory.create_offer(&third_options, Some(&second))?;
    let mids: Vec<&str> = third.contents.iter().map(|c| c.mid.as_str()).collect();
    assert_eq!(mids, ["0", "3", "2"], "the rejected slot is reused");
    let answer = exchange(&mut chromium, &third)?;
    assert!(!answer.contents[1].rejected);
    assert_eq!(answer.contents[1].mid, "3");
    chromium.close("r")?;
    Ok(())
}

/// Chromium's offers (simulcast, data only, ICE restart) answered by our factory are accepted
/// by Chromium as remote answers.
#[test]
fn chromium_accepts_our_answers_to_its_offer_shapes() -> Result<(), Box<dyn std::error::Error>> {
    let Some(mut chromium) = ChromiumPeer::start()? else {
        return Ok(());
    };
    let certificate = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
    let factory = MediaSessionDescriptionFactory::new(TransportDescriptionFactory::new(
        certificate.fingerprint(dtls_transport::certificate::HashAlgorithm::Sha256),
    ));
    let shapes = [
        (
            "simulcast",
            Media {
                video: 1,
                simulcast: true,
                ..Media::default()
            },
        ),
        (
            "data",
            Media {
                data: true,
                ..Media::default()
            },
        ),
        ("av", av_data()),
    ];
    for (id, media) in shapes {
        chromium.new_pc(id, json!({"bundlePolicy": "max-bundle"}))?;
        chromium.add_transceivers(id, &media)?;
        let offer_text = chromium.create_offer(id)?;
        chromium.set_local(id, "offer", &offer_text)?;
        let offer = sdp::parse(&offer_text)?;
        let answer = factory.create_answer(&offer, &accept_all(&offer), None)?;
        if id == "simulcast" {
            let video = &answer.contents[0].media;
            assert_eq!(video.rids.len(), 3, "{}", sdp::write(&answer));
        }
        chromium
            .set_remote(id, "answer", &sdp::write(&answer))
            .unwrap_or_else(|e| panic!("Chromium refused our answer to its {id} offer: {e}"));
        // An ICE restart re-offer from Chromium, answered with new credentials.
        let restart_text = chromium.create_offer_ice_restart(id)?;
        chromium.set_local(id, "offer", &restart_text)?;
        let restart = sdp::parse(&restart_text)?;
        assert!(sdp::factory::offer_restarts_ice(&offer, &restart));
        let options = MediaSessionOptions {
            ice_restart: true,
            ..accept_all(&restart)
        };
        let again = factory.create_answer(&restart, &options, Some(&answer))?;
        assert_ne!(
            again.contents[0].transport.ice_ufrag,
            answer.contents[0].transport.ice_ufrag
        );
        chromium.set_remote(id, "answer", &sdp::write(&again))?;
        chromium.close(id)?;
    }
    // An answer rejecting video (stopped) and data (no options): port 0, accepted.
    chromium.new_pc("rej", json!({"bundlePolicy": "max-bundle"}))?;
    chromium.add_transceivers("rej", &av_data())?;
    let offer_text = chromium.create_offer("rej")?;
    chromium.set_local("rej", "offer", &offer_text)?;
    let offer = sdp::parse(&offer_text)?;
    let options = MediaSessionOptions::with_sections(vec![
        MediaDescriptionOptions::audio("0"),
        MediaDescriptionOptions::video("1").stopped(),
    ]);
    let answer = factory.create_answer(&offer, &options, None)?;
    let text = sdp::write(&answer);
    assert!(text.contains("\r\nm=video 0 ") && text.contains("\r\nm=application 0 "));
    chromium
        .set_remote("rej", "answer", &text)
        .unwrap_or_else(|e| panic!("Chromium refused our rejecting answer: {e}\n{text}"));
    let transceivers = chromium.transceivers("rej")?;
    // The rejected video transceiver is stopped and gone from getTransceivers(); audio stays.
    assert!(
        transceivers.iter().all(|t| t.kind != "video"),
        "{transceivers:?}"
    );
    assert!(
        transceivers.iter().any(|t| t.kind == "audio"),
        "{transceivers:?}"
    );
    chromium.close("rej")?;
    Ok(())
}
