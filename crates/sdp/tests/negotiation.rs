//! Offer/answer negotiation tables: our offers answered by our answerer,
//! captured Chromium and Firefox offers answered by ours, rejected sections,
//! renegotiation (adding, stopping and reusing sections), ICE restart, H.264
//! profile/level rules, codec preferences and simulcast.

use dtls_transport::certificate::{Certificate, HashAlgorithm, KeyType, DEFAULT_VALIDITY};
use dtls_transport::dtls::Setup;
use sdp::factory::{
    offer_restarts_ice, BundlePolicy, MediaDescriptionOptions, MediaSessionDescriptionFactory,
    MediaSessionOptions, SenderOptions, TransportDescriptionFactory,
};
use sdp::model::{Codec, ContentInfo, Direction, MediaType, RidDirection, SessionDescription};
use sdp::{Error, SmolStr};

fn factory() -> MediaSessionDescriptionFactory {
    let cert = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap();
    MediaSessionDescriptionFactory::new(TransportDescriptionFactory::new(
        cert.fingerprint(HashAlgorithm::Sha256),
    ))
}

fn corpus(path: &str) -> SessionDescription {
    let full = format!("{}/tests/corpus/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    sdp::parse(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Payload types of a section's m= line as (pt, name) pairs.
fn codec_table(c: &ContentInfo) -> Vec<(u8, SmolStr)> {
    c.media
        .codecs
        .iter()
        .map(|c| (c.payload_type, c.name.clone()))
        .collect()
}

fn sendrecv_av_data() -> MediaSessionOptions {
    MediaSessionOptions::with_sections(vec![
        MediaDescriptionOptions::audio("0").with_sender(SenderOptions::new("mic", &["stream"])),
        MediaDescriptionOptions::video("1").with_sender(SenderOptions::new("cam", &["stream"])),
        MediaDescriptionOptions::data("2"),
    ])
}

/// Every description we produce must survive our own writer and parser.
fn reparsed(d: &SessionDescription) -> SessionDescription {
    let text = sdp::write(d);
    let back = sdp::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(&back, d, "write → parse changed the description:\n{text}");
    back
}

#[test]
fn our_offer_answered_by_our_answerer() {
    let (alice, bob) = (factory(), factory());
    let offer = alice.create_offer(&sendrecv_av_data(), None).unwrap();
    reparsed(&offer);

    assert_eq!(offer.bundle_group().unwrap().mids, ["0", "1", "2"]);
    assert!(offer.extmap_allow_mixed);
    assert_eq!(offer.origin.session_version, 2);
    assert_eq!(offer.msid_semantic.as_ref().unwrap().ids, ["stream"]);
    let t0 = &offer.contents[0].transport;
    assert_eq!(t0.setup, Some(Setup::ActPass));
    assert!(t0.ice_ufrag.len() >= 4 && t0.ice_pwd.len() >= 22);
    assert!(t0.supports_trickle());
    // BUNDLE: every section carries the same transport parameters.
    assert!(offer.contents.iter().all(|c| &c.transport == t0));

    let audio = &offer.contents[0].media;
    assert_eq!(audio.codecs[0].rtpmap(), "opus/48000/2");
    assert_eq!(
        audio.codecs[0].fmtp().as_deref(),
        Some("minptime=10;useinbandfec=1")
    );
    assert!(audio.rtcp_mux && audio.rtcp_rsize);
    let names: Vec<&str> = audio.codecs.iter().map(|c| c.name.as_str()).collect();
    for n in ["opus", "PCMU", "PCMA", "G722", "telephone-event"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let video = &offer.contents[1].media;
    for c in video.codecs.iter().filter(|c| c.is_rtx()) {
        let apt = c.apt().expect("rtx has apt");
        assert!(
            video.codec(apt).is_some(),
            "rtx {} points at {apt}",
            c.payload_type
        );
    }
    let vp8 = video.codecs.iter().find(|c| c.is("VP8")).unwrap();
    let fb: Vec<String> = vp8.feedback.iter().map(|f| f.to_string()).collect();
    assert_eq!(
        fb,
        ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"]
    );
    // A video sender with RTX: two SSRCs in an FID group, each with cname and msid.
    assert_eq!(video.ssrc_groups.len(), 1);
    assert_eq!(video.ssrc_groups[0].semantics, "FID");
    let streams = video.streams();
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0].id, "cam");
    assert_eq!(streams[0].stream_ids, ["stream"]);
    assert_eq!(streams[0].ssrcs, video.ssrc_groups[0].ssrcs);
    assert_eq!(offer.contents[2].media.sctp_port, Some(5000));

    let answer_options = MediaSessionOptions::with_sections(vec![
        MediaDescriptionOptions::audio("0").with_sender(SenderOptions::new("bob-mic", &["b"])),
        MediaDescriptionOptions::video("1").with_direction(Direction::RecvOnly),
        MediaDescriptionOptions::data("2"),
    ]);
    let answer = bob.create_answer(&offer, &answer_options, None).unwrap();
    reparsed(&answer);
    assert_eq!(answer.bundle_group().unwrap().mids, ["0", "1", "2"]);
    assert_eq!(answer.contents[0].transport.setup, Some(Setup::Active));
    assert_ne!(answer.contents[0].transport.ice_ufrag, t0.ice_ufrag);
    assert_ne!(
        answer.contents[0].transport.fingerprints,
        offer.contents[0].transport.fingerprints
    );
    // Same codecs, same payload types, same order.
    assert_eq!(
        codec_table(&answer.contents[0]),
        codec_table(&offer.contents[0])
    );
    assert_eq!(
        codec_table(&answer.contents[1]),
        codec_table(&offer.contents[1])
    );
    assert_eq!(answer.contents[0].media.direction, Direction::SendRecv);
    assert_eq!(answer.contents[1].media.direction, Direction::RecvOnly);
    assert!(answer.contents[1].media.ssrcs.is_empty());
    assert_eq!(answer.contents[0].media.streams()[0].id, "bob-mic");
    assert_eq!(
        answer.contents[1].media.header_extensions,
        offer.contents[1].media.header_extensions
    );
    assert!(!answer.contents[2].rejected);
    assert_eq!(answer.contents[2].media.max_message_size, Some(262_144));
}

#[test]
fn chromium_offer_answered() {
    let offer = corpus("chromium/offer-audio-video-data.sdp");
    let answer = factory()
        .create_answer(&offer, &sendrecv_av_data(), None)
        .unwrap();
    reparsed(&answer);
    assert_eq!(answer.bundle_group().unwrap().mids, ["0", "1", "2"]);
    assert_eq!(answer.contents[0].transport.setup, Some(Setup::Active));

    // Audio: offerer's order and payload types; Chromium's RED (63 111/111)
    // is not among our defaults, so it is left out.
    let audio: Vec<(u8, SmolStr)> = codec_table(&answer.contents[0]);
    let expected: Vec<(u8, SmolStr)> = [
        (111, "opus"),
        (9, "G722"),
        (0, "PCMU"),
        (8, "PCMA"),
        (13, "CN"),
        (110, "telephone-event"),
        (126, "telephone-event"),
    ]
    .iter()
    .map(|(p, n)| (*p, SmolStr::new(n)))
    .collect();
    assert_eq!(audio, expected);
    let opus = &answer.contents[0].media.codecs[0];
    assert_eq!(opus.feedback.len(), 1);
    assert_eq!(opus.feedback[0].kind, "transport-cc");

    // Video: Chromium's order; H.264 matched by profile and packetization
    // mode (Main 4d001f is not ours), RTX only for what was negotiated.
    let video = codec_table(&answer.contents[1]);
    let pts: Vec<u8> = video.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        pts,
        [96, 97, 102, 103, 104, 107, 108, 109, 114, 115, 45, 46, 98, 99, 100, 101, 118, 119, 120]
    );
    let media = &answer.contents[1].media;
    assert_eq!(
        media.codec(104).unwrap().param("packetization-mode"),
        Some("0")
    );
    assert_eq!(
        media.codec(108).unwrap().param("profile-level-id"),
        Some("42e01f")
    );
    assert_eq!(media.codec(107).unwrap().apt(), Some(104));
    assert!(media.codec(116).is_none() && media.codec(117).is_none());

    // Header extensions: the ones we support, with Chromium's ids.
    let exts: Vec<(u16, &str)> = media
        .header_extensions
        .iter()
        .map(|e| (e.id, e.uri.as_str()))
        .collect();
    assert_eq!(
        exts,
        [
            (14, sdp::codecs::EXT_TOFFSET),
            (2, sdp::codecs::EXT_ABS_SEND_TIME),
            (13, sdp::codecs::EXT_VIDEO_ORIENTATION),
            (3, sdp::codecs::EXT_TRANSPORT_CC),
            (4, sdp::codecs::EXT_MID),
            (10, sdp::codecs::EXT_RTP_STREAM_ID),
            (11, sdp::codecs::EXT_REPAIRED_RTP_STREAM_ID),
        ]
    );
    assert_eq!(media.direction, Direction::SendRecv);
    assert!(answer.contents[1].media.rtcp_rsize);
    assert_eq!(answer.contents[2].media.sctp_port, Some(5000));
}

#[test]
fn firefox_offer_answered() {
    let offer = corpus("firefox/offer-audio-video-data.sdp");
    let mids: Vec<SmolStr> = offer.contents.iter().map(|c| c.mid.clone()).collect();
    let options = MediaSessionOptions::with_sections(
        offer
            .contents
            .iter()
            .map(|c| MediaDescriptionOptions::new(c.media.media_type.clone(), &c.mid))
            .collect(),
    );
    let answer = factory().create_answer(&offer, &options, None).unwrap();
    reparsed(&answer);
    assert_eq!(
        answer
            .contents
            .iter()
            .map(|c| c.mid.clone())
            .collect::<Vec<_>>(),
        mids
    );
    for (a, o) in answer.contents.iter().zip(&offer.contents) {
        assert!(!a.rejected, "section {} rejected", a.mid);
        // Firefox puts its fingerprint at session level; the answer has ours per section.
        assert_eq!(a.transport.fingerprints.len(), 1);
        for c in &a.media.codecs {
            let offered = o.media.codec(c.payload_type).expect("offered payload type");
            assert!(offered.name.eq_ignore_ascii_case(&c.name));
        }
        if a.media.media_type == MediaType::Audio {
            assert!(a.media.codecs[0].is("opus"));
        }
    }
}

#[test]
fn answer_rejects_stopped_missing_and_unsupported_sections() {
    let offer = corpus("chromium/offer-audio-video-data.sdp");
    let options = MediaSessionOptions::with_sections(vec![
        MediaDescriptionOptions::audio("0"),
        MediaDescriptionOptions::video("1").stopped(),
        // No options for the data section "2".
    ]);
    let answer = factory().create_answer(&offer, &options, None).unwrap();
    let text = sdp::write(&answer);
    reparsed(&answer);
    assert!(!answer.contents[0].rejected);
    assert!(answer.contents[1].rejected && answer.contents[2].rejected);
    assert!(text.contains("\r\nm=video 0 UDP/TLS/RTP/SAVPF "), "{text}");
    assert!(
        text.contains("\r\nm=application 0 UDP/DTLS/SCTP webrtc-datachannel"),
        "{text}"
    );
    assert_eq!(answer.bundle_group().unwrap().mids, ["0"]);

    // Nothing in common: only a codec we do not have.
    let mut offer = corpus("chromium/offer-audio-only.sdp");
    offer.contents[0].media.codecs = vec![Codec::new(100, "iLBC", 8000, None)];
    let answer = factory()
        .create_answer(
            &offer,
            &MediaSessionOptions::with_sections(vec![MediaDescriptionOptions::audio("0")]),
            None,
        )
        .unwrap();
    assert!(answer.contents[0].rejected);
    assert!(answer.bundle_group().is_none());
}

#[test]
fn answers_require_rtcp_mux_mids_and_bundle_under_max_bundle() {
    let base = corpus("chromium/offer-audio-video-data.sdp");
    let opts = sendrecv_av_data();
    let f = factory();

    let mut no_mux = base.clone();
    no_mux.contents[0].media.rtcp_mux = false;
    assert_eq!(
        f.create_answer(&no_mux, &opts, None),
        Err(Error::Negotiation(sdp::NegotiationError::RtcpMuxRequired(
            no_mux.contents[0].mid.clone()
        )))
    );

    let mut no_bundle = base.clone();
    no_bundle.groups.clear();
    let err = f.create_answer(&no_bundle, &opts, None).unwrap_err();
    assert_eq!(
        err,
        Error::Negotiation(sdp::NegotiationError::NoBundleGroup)
    );
    assert!(err.is_peer_fault());
    // Balanced: each section gets its own transport.
    let balanced = MediaSessionOptions {
        bundle_policy: BundlePolicy::Balanced,
        ..opts.clone()
    };
    let answer = f.create_answer(&no_bundle, &balanced, None).unwrap();
    assert!(answer.bundle_group().is_none());
    assert_ne!(
        answer.contents[0].transport.ice_ufrag,
        answer.contents[1].transport.ice_ufrag
    );

    // Max-bundle: a section outside the offered group is rejected.
    let mut partial = base.clone();
    partial.groups[0].mids = vec!["0".into(), "1".into()];
    let answer = f.create_answer(&partial, &opts, None).unwrap();
    assert!(answer.contents[2].rejected);
    assert_eq!(answer.bundle_group().unwrap().mids, ["0", "1"]);

    let mut dup = base.clone();
    dup.contents[1].mid = "0".into();
    assert!(f.create_answer(&dup, &opts, None).is_err());
}

#[test]
fn direction_table() {
    use Direction::*;
    let f = factory();
    // (offered, our wish, answered)
    let table = [
        (SendRecv, SendRecv, SendRecv),
        (SendOnly, SendRecv, RecvOnly),
        (RecvOnly, SendRecv, SendOnly),
        (Inactive, SendRecv, Inactive),
        (SendRecv, RecvOnly, RecvOnly),
        (SendRecv, SendOnly, SendOnly),
        (SendOnly, SendOnly, Inactive),
        (RecvOnly, RecvOnly, Inactive),
    ];
    for (offered, wish, expected) in table {
        let mut offer = corpus("chromium/offer-audio-only.sdp");
        offer.contents[0].media.direction = offered;
        let options = MediaSessionOptions::with_sections(vec![MediaDescriptionOptions::audio("0")
            .with_direction(wish)
            .with_sender(SenderOptions::new("t", &["s"]))]);
        let answer = f.create_answer(&offer, &options, None).unwrap();
        let m = &answer.contents[0].media;
        assert_eq!(m.direction, expected, "offer {offered}, wish {wish}");
        assert_eq!(
            !m.ssrcs.is_empty(),
            expected.sends(),
            "offer {offered}, wish {wish}"
        );
    }
}

fn first_cname(d: &SessionDescription) -> SmolStr {
    d.contents[0].media.streams()[0].cname.clone()
}

#[test]
fn renegotiation_adds_a_section_and_keeps_everything_else() {
    let (alice, bob) = (factory(), factory());
    let audio = MediaDescriptionOptions::audio("0").with_sender(SenderOptions::new("mic", &["s"]));
    let first = alice
        .create_offer(
            &MediaSessionOptions::with_sections(vec![audio.clone()]),
            None,
        )
        .unwrap();
    let bob_opts = MediaSessionOptions::with_sections(vec![
        MediaDescriptionOptions::audio("0"),
        MediaDescriptionOptions::video("1"),
    ]);
    let first_answer = bob.create_answer(&first, &bob_opts, None).unwrap();

    // The CNAME is per PeerConnection: the same in every offer.
    let second_opts = MediaSessionOptions {
        rtcp_cname: first_cname(&first),
        ..MediaSessionOptions::with_sections(vec![
            audio,
            MediaDescriptionOptions::video("1").with_sender(SenderOptions::new("cam", &["s"])),
        ])
    };
    let second = alice.create_offer(&second_opts, Some(&first)).unwrap();
    reparsed(&second);
    assert_eq!(second.origin.session_id, first.origin.session_id);
    assert_eq!(
        second.origin.session_version,
        first.origin.session_version + 1
    );
    assert_eq!(second.contents.len(), 2);
    assert_eq!(second.contents[0].mid, "0");
    assert_eq!(
        second.contents[0].transport.ice_ufrag,
        first.contents[0].transport.ice_ufrag
    );
    assert_eq!(
        second.contents[0].media.codecs,
        first.contents[0].media.codecs
    );
    assert_eq!(
        second.contents[0].media.ssrcs,
        first.contents[0].media.ssrcs
    );
    assert_eq!(second.bundle_group().unwrap().mids, ["0", "1"]);

    // Bob answers the re-offer: same credentials and role as his first answer.
    let second_answer = bob
        .create_answer(&second, &bob_opts, Some(&first_answer))
        .unwrap();
    assert_eq!(
        second_answer.contents[0].transport.ice_ufrag,
        first_answer.contents[0].transport.ice_ufrag
    );
    assert_eq!(
        second_answer.contents[1].transport.setup,
        Some(Setup::Active)
    );
    assert!(!second_answer.contents[1].rejected);
    assert_eq!(
        second_answer.origin.session_version,
        first_answer.origin.session_version + 1
    );

    // A re-offer by the answerer keeps the negotiated DTLS role (RFC 8842 §5.5).
    let bob_offer = bob.create_offer(&bob_opts, Some(&second_answer)).unwrap();
    assert_eq!(bob_offer.contents[0].transport.setup, Some(Setup::Active));
}

#[test]
fn chromium_renegotiation_offer_answered_with_stable_mids() {
    let first = corpus("chromium/offer-audio-only.sdp");
    let again = corpus("chromium/offer-renegotiation-add-video.sdp");
    let f = factory();
    let opts = MediaSessionOptions::with_sections(
        again
            .contents
            .iter()
            .map(|c| MediaDescriptionOptions::new(c.media.media_type.clone(), &c.mid))
            .collect(),
    );
    let first_answer = f
        .create_answer(
            &first,
            &MediaSessionOptions::with_sections(vec![MediaDescriptionOptions::audio(
                &first.contents[0].mid,
            )]),
            None,
        )
        .unwrap();
    let answer = f.create_answer(&again, &opts, Some(&first_answer)).unwrap();
    assert_eq!(answer.contents.len(), again.contents.len());
    assert!(answer.contents.iter().all(|c| !c.rejected));
    assert_eq!(
        answer.contents[0].transport.ice_ufrag,
        first_answer.contents[0].transport.ice_ufrag
    );
}

#[test]
fn stopped_sections_are_rejected_and_their_slot_reused() {
    let f = factory();
    let opts = MediaSessionOptions::with_sections(vec![
        MediaDescriptionOptions::audio("0"),
        MediaDescriptionOptions::video("1"),
    ]);
    let first = f.create_offer(&opts, None).unwrap();
    let stop = MediaSessionOptions::with_sections(vec![
        MediaDescriptionOptions::audio("0"),
        MediaDescriptionOptions::video("1").stopped(),
    ]);
    let second = f.create_offer(&stop, Some(&first)).unwrap();
    assert!(second.contents[1].rejected);
    assert_eq!(second.contents[1].media.port, 0);
    assert_eq!(second.bundle_group().unwrap().mids, ["0"]);
    let text = sdp::write(&second);
    assert!(text.contains("\r\nm=video 0 "), "{text}");

    // A new transceiver takes the rejected slot with its own mid.
    let reuse = MediaSessionOptions::with_sections(vec![
        MediaDescriptionOptions::audio("0"),
        MediaDescriptionOptions::audio("2"),
    ]);
    let third = f.create_offer(&reuse, Some(&second)).unwrap();
    assert_eq!(third.contents.len(), 2);
    assert_eq!(third.contents[1].mid, "2");
    assert_eq!(third.contents[1].media.media_type, MediaType::Audio);
    assert!(!third.contents[1].rejected);
    assert_eq!(third.bundle_group().unwrap().mids, ["0", "2"]);

    // Without a rejected slot, new sections are appended.
    let more = MediaSessionOptions::with_sections(vec![
        MediaDescriptionOptions::audio("0"),
        MediaDescriptionOptions::audio("2"),
        MediaDescriptionOptions::data("3"),
    ]);
    let fourth = f.create_offer(&more, Some(&third)).unwrap();
    let mids: Vec<&str> = fourth.contents.iter().map(|c| c.mid.as_str()).collect();
    assert_eq!(mids, ["0", "2", "3"]);

    // A section cannot change its media type.
    let clash = MediaSessionOptions::with_sections(vec![MediaDescriptionOptions::video("0")]);
    assert!(f.create_offer(&clash, Some(&first)).is_err());
}

#[test]
fn ice_restart_option_and_detection() {
    let (alice, bob) = (factory(), factory());
    let opts = sendrecv_av_data();
    let offer = alice.create_offer(&opts, None).unwrap();
    let answer = bob.create_answer(&offer, &opts, None).unwrap();

    let same = alice.create_offer(&opts, Some(&offer)).unwrap();
    assert!(!offer_restarts_ice(&offer, &same));
    let restart_opts = MediaSessionOptions {
        ice_restart: true,
        ..opts.clone()
    };
    let restarted = alice.create_offer(&restart_opts, Some(&offer)).unwrap();
    assert!(offer_restarts_ice(&offer, &restarted));
    assert_ne!(
        restarted.contents[0].transport.ice_pwd,
        offer.contents[0].transport.ice_pwd
    );
    // Still one bundled transport.
    assert!(restarted
        .contents
        .iter()
        .all(|c| c.transport == restarted.contents[0].transport));

    // The answerer restarts too when told to; otherwise keeps its credentials.
    let kept = bob.create_answer(&restarted, &opts, Some(&answer)).unwrap();
    assert_eq!(
        kept.contents[0].transport.ice_ufrag,
        answer.contents[0].transport.ice_ufrag
    );
    let renewed = bob
        .create_answer(&restarted, &restart_opts, Some(&answer))
        .unwrap();
    assert_ne!(
        renewed.contents[0].transport.ice_ufrag,
        answer.contents[0].transport.ice_ufrag
    );

    // Chromium's captured restart offer changes credentials relative to its first.
    let before = corpus("chromium/offer-audio-video-data.sdp");
    let after = corpus("chromium/offer-ice-restart.sdp");
    if before.origin.session_id == after.origin.session_id {
        assert!(offer_restarts_ice(&before, &after));
    }
}

#[test]
fn h264_profile_and_level_negotiation() {
    let f = factory();
    let mut offer = corpus("chromium/offer-audio-video-data.sdp");
    let video = &mut offer.contents[1].media;
    // Constrained baseline level 5.2 with asymmetry allowed: we answer our own level.
    video.codecs = vec![
        Codec::new(108, "H264", 90000, None)
            .with_param("level-asymmetry-allowed", "1")
            .with_param("packetization-mode", "1")
            .with_param("profile-level-id", "42e034"),
        // The same without asymmetry: the lower level wins.
        Codec::new(110, "H264", 90000, None)
            .with_param("packetization-mode", "0")
            .with_param("profile-level-id", "42e00d"),
        // High profile: we do not support it.
        Codec::new(112, "H264", 90000, None)
            .with_param("packetization-mode", "1")
            .with_param("profile-level-id", "640032"),
    ];
    let opts = MediaSessionOptions::with_sections(vec![MediaDescriptionOptions::video("1")]);
    let mut offer_video_only = offer.clone();
    offer_video_only.contents.retain(|c| c.mid == "1");
    offer_video_only.groups[0].mids = vec!["1".into()];
    let answer = f.create_answer(&offer_video_only, &opts, None).unwrap();
    let m = &answer.contents[0].media;
    assert_eq!(m.codecs.len(), 2, "{:?}", m.codecs);
    assert_eq!(
        m.codec(108).unwrap().param("profile-level-id"),
        Some("42e01f")
    );
    assert_eq!(
        m.codec(110).unwrap().param("profile-level-id"),
        Some("42e00d")
    );
    assert_eq!(m.codec(110).unwrap().param("level-asymmetry-allowed"), None);
    assert!(m.codec(112).is_none());
}

#[test]
fn codec_preferences_filter_and_order() {
    let f = factory();
    let vp9 = Codec::new(0, "VP9", 90000, None).with_param("profile-id", "0");
    let vp8 = Codec::new(0, "VP8", 90000, None);
    let rtx = Codec::new(0, "rtx", 90000, None);
    let mut prefs = MediaDescriptionOptions::video("0");
    prefs.codec_preferences = vec![vp9.clone(), vp8.clone(), rtx];
    let offer = f
        .create_offer(
            &MediaSessionOptions::with_sections(vec![prefs.clone()]),
            None,
        )
        .unwrap();
    let names: Vec<&str> = offer.contents[0]
        .media
        .codecs
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["VP9", "rtx", "VP8", "rtx"]);
    let m = &offer.contents[0].media;
    assert_eq!(m.codecs[1].apt(), Some(m.codecs[0].payload_type));

    // Without an rtx entry, no RTX.
    prefs.codec_preferences = vec![vp8];
    let offer = f
        .create_offer(
            &MediaSessionOptions::with_sections(vec![prefs.clone()]),
            None,
        )
        .unwrap();
    assert_eq!(offer.contents[0].media.codecs.len(), 1);

    // Answer side: Chromium offers VP8 first; our preference puts VP9 first.
    let chrome = corpus("chromium/offer-audio-video-data.sdp");
    let mut video = MediaDescriptionOptions::video("1");
    video.codec_preferences = vec![vp9, Codec::new(0, "rtx", 90000, None)];
    let opts = MediaSessionOptions::with_sections(vec![
        MediaDescriptionOptions::audio("0"),
        video,
        MediaDescriptionOptions::data("2"),
    ]);
    let answer = f.create_answer(&chrome, &opts, None).unwrap();
    assert_eq!(
        codec_table(&answer.contents[1]),
        [(98, "VP9".into()), (99, "rtx".into())]
    );
}

#[test]
fn payload_types_stay_stable_after_answering_a_foreign_offer() {
    // Answer Firefox (its own payload types), then re-offer from that state:
    // the negotiated payload types are kept and new codecs avoid them.
    let f = factory();
    let offer = corpus("firefox/offer-audio-video-data.sdp");
    let options = MediaSessionOptions::with_sections(
        offer
            .contents
            .iter()
            .map(|c| MediaDescriptionOptions::new(c.media.media_type.clone(), &c.mid))
            .collect(),
    );
    let answer = f.create_answer(&offer, &options, None).unwrap();
    let reoffer = f.create_offer(&options, Some(&answer)).unwrap();
    reparsed(&reoffer);
    for (a, r) in answer.contents.iter().zip(&reoffer.contents) {
        for c in &a.media.codecs {
            let again = r
                .media
                .codecs
                .iter()
                .find(|x| x.payload_type == c.payload_type)
                .unwrap_or_else(|| panic!("pt {} dropped in {}", c.payload_type, r.mid));
            assert!(again.name.eq_ignore_ascii_case(&c.name));
        }
        let mut pts: Vec<u8> = r.media.codecs.iter().map(|c| c.payload_type).collect();
        let n = pts.len();
        pts.sort_unstable();
        pts.dedup();
        assert_eq!(pts.len(), n, "duplicate payload types in {}", r.mid);
        for c in r.media.codecs.iter().filter(|c| c.is_rtx()) {
            assert!(r.media.codec(c.apt().unwrap()).is_some());
        }
    }
}

#[test]
fn simulcast_offer_answered_with_receive_rids() {
    let offer = corpus("chromium/offer-simulcast.sdp");
    let opts = MediaSessionOptions::with_sections(
        offer
            .contents
            .iter()
            .map(|c| {
                MediaDescriptionOptions::new(c.media.media_type.clone(), &c.mid)
                    .with_direction(Direction::RecvOnly)
            })
            .collect(),
    );
    let answer = factory().create_answer(&offer, &opts, None).unwrap();
    reparsed(&answer);
    let video = answer
        .contents
        .iter()
        .find(|c| c.media.media_type == MediaType::Video)
        .unwrap();
    let rids: Vec<(&str, RidDirection)> = video
        .media
        .rids
        .iter()
        .map(|r| (r.id.as_str(), r.direction))
        .collect();
    assert_eq!(
        rids,
        [
            ("q", RidDirection::Recv),
            ("h", RidDirection::Recv),
            ("f", RidDirection::Recv)
        ]
    );
    let sim = video.media.simulcast.as_ref().unwrap();
    assert!(sim.send.is_empty());
    let recv: Vec<&str> = sim.recv.iter().map(|alts| alts[0].rid.as_str()).collect();
    assert_eq!(recv, ["q", "h", "f"]);

    // Our own simulcast offer.
    let f = factory();
    let opts = MediaSessionOptions::with_sections(vec![MediaDescriptionOptions::video("0")
        .with_sender(SenderOptions::new("cam", &["s"]).with_rids(&["lo", "mid", "hi"]))]);
    let ours = f.create_offer(&opts, None).unwrap();
    let text = sdp::write(&ours);
    assert!(text.contains("a=rid:lo send\r\n"), "{text}");
    assert!(text.contains("a=simulcast:send lo;mid;hi\r\n"), "{text}");
    assert!(ours.contents[0].media.ssrcs.is_empty());
}

#[test]
fn duplicate_option_mids_are_refused() {
    let opts = MediaSessionOptions::with_sections(vec![
        MediaDescriptionOptions::audio("0"),
        MediaDescriptionOptions::video("0"),
    ]);
    assert!(matches!(
        factory().create_offer(&opts, None),
        Err(Error::Negotiation(_))
    ));
}
