//! Two sessions negotiating and connecting in memory, on virtual time.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::*;
use media_channels::sdp::dtls_transport::certificate::KeyType;

struct Peer {
    s: Session,
    /// Our sockets: address → (transport, component), as a driver tags them.
    sockets: HashMap<SocketAddr, (TransportId, u16)>,
    next_port: u16,
    events: Vec<SessionEvent>,
}

impl Peer {
    fn new(seed: u64, base_port: u16, now: Instant) -> Peer {
        let certificate =
            Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400)).unwrap();
        let mut config = SessionConfig::new(certificate);
        config.ice.seed = Some(seed);
        config.seed = seed;
        Peer {
            s: Session::new(config, now),
            sockets: HashMap::new(),
            next_port: base_port,
            events: Vec::new(),
        }
    }

    /// Binds (pretend) sockets for every gather request.
    fn gather(&mut self, now: Instant) {
        while let Some(request) = self.s.poll_gather() {
            let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.next_port);
            self.next_port += 1;
            let id = self
                .s
                .controller()
                .transport_id(&request.transport)
                .unwrap();
            self.sockets.insert(addr, (id, request.component));
            self.s
                .add_local_socket(
                    now,
                    &request.transport,
                    request.component,
                    addr,
                    NetworkType::Loopback,
                )
                .unwrap();
            self.s
                .finish_local_sockets(now, &request.transport, request.component)
                .unwrap();
        }
    }

    fn opened(&self, remote: bool) -> Option<DataChannelId> {
        self.events.iter().find_map(|e| match e {
            SessionEvent::DataChannelOpen {
                channel, remote: r, ..
            } if *r == remote => Some(*channel),
            _ => None,
        })
    }

    fn messages(&self) -> Vec<Bytes> {
        self.events
            .iter()
            .filter_map(|e| match e {
                SessionEvent::DataChannelMessage { data, .. } => Some(data.clone()),
                _ => None,
            })
            .collect()
    }
}

/// One turn of `x`: sockets, timers, datagrams to `y`, candidates to `y`.
fn step(x: &mut Peer, y: &mut Peer, now: Instant) {
    x.gather(now);
    x.s.handle_timeout(now);
    while let Some(t) = x.s.poll_transmit(now).map(|t| t.transmit) {
        if let Some((transport, component)) = y.sockets.get(&t.destination).cloned() {
            // The driver's path: by id, decrypted in its buffer.
            let mut buf = t.contents.to_vec();
            let (local, source) = (t.destination, t.source);
            if let Some(m) =
                y.s.handle_receive_in_place(now, transport, component, local, source, &mut buf)
            {
                let packet = Bytes::from(buf).slice(m.range);
                y.s.handle_media(now, transport, m.rtcp, packet);
            }
        }
    }
    while let Some(e) = x.s.poll_event() {
        if let SessionEvent::IceCandidate(c) = &e {
            if let Some(remote) = y.s.remote_description() {
                let stale = !c.matches_ufrag_of(remote);
                match y.s.add_ice_candidate(now, c.clone()) {
                    // (One may also be held for a transport not made yet.)
                    Ok(()) => {}
                    // W3C addIceCandidate: OperationError for a ufrag no
                    // applied remote description has (gathered for an
                    // offer that was rolled back).
                    Err(e) => assert!(stale, "candidate refused: {e}"),
                }
            }
        }
        x.events.push(e);
    }
}

/// Runs both sessions on virtual time until `done` or `limit` passes:
/// datagrams delivered by address, candidates trickled as they come.
fn run(
    a: &mut Peer,
    b: &mut Peer,
    now: &mut Instant,
    limit: Duration,
    mut done: impl FnMut(&Peer, &Peer) -> bool,
) -> bool {
    let end = *now + limit;
    while *now < end {
        step(a, b, *now);
        step(b, a, *now);
        if done(a, b) {
            return true;
        }
        let next = [a.s.poll_timeout(), b.s.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(*now + Duration::from_millis(10));
        *now = next.clamp(
            *now + Duration::from_micros(100),
            *now + Duration::from_millis(10),
        );
    }
    false
}

/// Offer from `a`, answer from `b`, both applied.
fn negotiate(a: &mut Peer, b: &mut Peer, now: Instant) {
    let offer = a.s.create_offer().unwrap();
    a.s.set_local_description(now, offer.clone()).unwrap();
    // Through the wire format, as signaling would carry it.
    let offer = JsepSessionDescription::parse(SdpType::Offer, &offer.to_sdp()).unwrap();
    b.s.set_remote_description(now, offer).unwrap();
    let answer = b.s.create_answer().unwrap();
    b.s.set_local_description(now, answer.clone()).unwrap();
    let answer = JsepSessionDescription::parse(SdpType::Answer, &answer.to_sdp()).unwrap();
    a.s.set_remote_description(now, answer).unwrap();
}

#[test]
fn data_channel_and_audio_between_two_sessions() {
    let mut now = Instant::now();
    let mut a = Peer::new(1, 40_000, now);
    let mut b = Peer::new(2, 50_000, now);
    let chat =
        a.s.create_data_channel(now, DataChannelInit::new("chat"))
            .unwrap();
    let audio =
        a.s.add_transceiver(MediaType::Audio, Direction::SendRecv, "mic", &["stream"])
            .unwrap();
    negotiate(&mut a, &mut b, now);
    assert_eq!(a.s.signaling_state(), SignalingState::Stable);
    assert_eq!(b.s.signaling_state(), SignalingState::Stable);
    // b got a transceiver for the audio section, recvonly, and a track event
    // for it (a sends).
    let (b_audio, kind) =
        b.s.transceivers()
            .next()
            .map(|(id, k)| (id, k.clone()))
            .unwrap();
    assert_eq!(kind, MediaType::Audio);
    assert_eq!(b.s.transceiver_mid(b_audio), a.s.transceiver_mid(audio));

    let connected = run(&mut a, &mut b, &mut now, Duration::from_secs(10), |a, b| {
        a.opened(false).is_some() && b.opened(true).is_some()
    });
    assert!(
        connected,
        "a: {:?}\nb: {:?}",
        a.s.connection_state(),
        b.s.connection_state()
    );
    assert_eq!(a.s.connection_state(), PeerConnectionState::Connected);
    assert_eq!(a.opened(false), Some(chat));
    assert!(b
        .events
        .iter()
        .any(|e| matches!(e, SessionEvent::Track { transceiver, .. } if *transceiver == b_audio)));

    // A message each way on the channel.
    a.s.send_data(now, chat, b"hello", false).unwrap();
    let theirs = b.opened(true).unwrap();
    b.s.send_data(now, theirs, b"\x00\x01binary", true).unwrap();
    assert!(run(
        &mut a,
        &mut b,
        &mut now,
        Duration::from_secs(2),
        |a, b| { !a.messages().is_empty() && !b.messages().is_empty() }
    ));
    assert_eq!(b.messages(), vec![Bytes::from_static(b"hello")]);
    assert_eq!(a.messages(), vec![Bytes::from_static(b"\x00\x01binary")]);

    // Opus frames from a arrive at b as frames on its transceiver.
    for i in 0..20u32 {
        a.s.send_frame(now, audio, i * 960, &[0xfc, i as u8, 0x55, 0xaa])
            .unwrap();
        run(
            &mut a,
            &mut b,
            &mut now,
            Duration::from_millis(20),
            |_, _| false,
        );
    }
    let frames: Vec<&AssembledFrame> = b
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Frame {
                transceiver, frame, ..
            } if *transceiver == b_audio => Some(frame),
            _ => None,
        })
        .collect();
    assert!(frames.len() >= 18, "{} frames arrived", frames.len());
    assert_eq!(&frames[1].data[..], &[0xfc, 1, 0x55, 0xaa]);
    // b's transceiver is recvonly: it cannot send.
    assert!(b.s.send_frame(now, b_audio, 0, &[1, 2, 3]).is_err());

    // getStats on both sides, as JSON with the W3C member names.
    let sa: serde_json::Value = serde_json::from_str(&a.s.stats(1.0e12).to_json()).unwrap();
    let sb: serde_json::Value = serde_json::from_str(&b.s.stats(1.0e12).to_json()).unwrap();
    let of_type = |v: &serde_json::Value, t: &str| -> Vec<serde_json::Value> {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|s| s["type"] == t)
            .cloned()
            .collect()
    };
    let out = &of_type(&sa, "outbound-rtp")[0];
    assert_eq!(out["kind"], "audio");
    assert_eq!(out["packetsSent"], 20);
    let inbound = &of_type(&sb, "inbound-rtp")[0];
    assert_eq!(inbound["ssrc"], out["ssrc"]);
    assert!(inbound["packetsReceived"].as_u64().unwrap() >= 18);
    let pair = &of_type(&sa, "candidate-pair")[0];
    assert_eq!(pair["nominated"], true);
    let transport = &of_type(&sa, "transport")[0];
    assert_eq!(transport["selectedCandidatePairId"], pair["id"]);
    assert_eq!(transport["dtlsState"], "connected");
    let local = of_type(&sa, "local-candidate");
    assert_eq!(local[0]["address"], "127.0.0.1");
    assert_eq!(local[0]["candidateType"], "host");
    let dc = &of_type(&sa, "data-channel")[0];
    assert_eq!(dc["label"], "chat");
    assert_eq!(dc["state"], "open");
    assert_eq!(dc["messagesSent"], 1);
    assert_eq!(dc["messagesReceived"], 1);
    assert_eq!(of_type(&sa, "peer-connection")[0]["dataChannelsOpened"], 1);
}

#[test]
fn calls_in_the_wrong_state_change_nothing() {
    let now = Instant::now();
    let mut a = Peer::new(3, 40_100, now);
    let mut b = Peer::new(4, 50_100, now);
    // No remote offer: no answer.
    assert!(matches!(
        a.s.create_answer(),
        Err(Error::InvalidState { .. })
    ));
    a.s.create_data_channel(now, DataChannelInit::new("x"))
        .unwrap();
    let offer = a.s.create_offer().unwrap();
    // An offer cannot be applied as the remote side's answer.
    let as_answer = JsepSessionDescription::parse(SdpType::Answer, &offer.to_sdp());
    if let Ok(answer) = as_answer {
        assert!(b.s.set_remote_description(now, answer).is_err());
    }
    assert_eq!(b.s.signaling_state(), SignalingState::Stable);
    assert!(b.s.remote_description().is_none());

    a.s.set_local_description(now, offer.clone()).unwrap();
    assert_eq!(a.s.signaling_state(), SignalingState::HaveLocalOffer);
    b.s.set_remote_description(now, offer).unwrap();
    let answer = b.s.create_answer().unwrap();
    // An answer with a section too few does not match the offer: refused,
    // and a stays in have-local-offer with nothing applied.
    let mut short = answer.to_description();
    short.contents.clear();
    short.groups.clear();
    let short = JsepSessionDescription::new(SdpType::Answer, short);
    assert!(a.s.set_remote_description(now, short).is_err());
    assert_eq!(a.s.signaling_state(), SignalingState::HaveLocalOffer);
    assert!(a.s.remote_description().is_none());

    // Rolling the offer back returns a to stable.
    let rollback = JsepSessionDescription::new(
        SdpType::Rollback,
        a.s.local_description().unwrap().to_description(),
    );
    a.s.set_local_description(now, rollback).unwrap();
    assert_eq!(a.s.signaling_state(), SignalingState::Stable);
    assert!(a.s.local_description().is_none());
}

#[test]
fn an_offer_without_bundle_is_refused_under_max_bundle_and_nothing_changes() {
    let now = Instant::now();
    let mut a = Peer::new(5, 40_200, now);
    let mut b = Peer::new(6, 50_200, now);
    a.s.add_transceiver(MediaType::Audio, Direction::SendRecv, "t", &["s"])
        .unwrap();
    a.s.add_transceiver(MediaType::Video, Direction::SendRecv, "v", &["s"])
        .unwrap();
    let mut offer = a.s.create_offer().unwrap().to_description();
    offer.groups.clear();
    let offer = JsepSessionDescription::new(SdpType::Offer, offer);
    b.s.set_remote_description(now, offer).unwrap();
    assert!(
        b.s.create_answer().is_err(),
        "max-bundle cannot answer two unbundled sections"
    );
    assert_eq!(b.s.signaling_state(), SignalingState::HaveRemoteOffer);
}

#[test]
fn an_answerer_adds_a_track_to_the_offered_transceiver_and_sends_back() {
    let mut now = Instant::now();
    let mut a = Peer::new(7, 40_300, now);
    let mut b = Peer::new(8, 50_300, now);
    let a_audio =
        a.s.add_transceiver(MediaType::Audio, Direction::SendRecv, "mic", &["s"])
            .unwrap();
    let offer = a.s.create_offer().unwrap();
    a.s.set_local_description(now, offer.clone()).unwrap();
    b.s.set_remote_description(now, offer).unwrap();
    // addTrack takes the recvonly transceiver the offer made, not a new one.
    let (made, _) =
        b.s.transceivers()
            .next()
            .map(|(id, k)| (id, k.clone()))
            .unwrap();
    let echo = b.s.add_track(MediaType::Audio, "echo", &["e"]).unwrap();
    assert_eq!(echo, made);
    assert_eq!(b.s.transceivers().count(), 1);
    let answer = b.s.create_answer().unwrap();
    assert_eq!(
        answer.description().contents[0].media.direction,
        Direction::SendRecv
    );
    b.s.set_local_description(now, answer.clone()).unwrap();
    a.s.set_remote_description(now, answer).unwrap();
    assert!(run(
        &mut a,
        &mut b,
        &mut now,
        Duration::from_secs(10),
        |a, b| {
            a.s.connection_state() == PeerConnectionState::Connected
                && b.s.connection_state() == PeerConnectionState::Connected
        }
    ));
    for i in 0..5u32 {
        b.s.send_frame(now, echo, i * 960, &[0xfc, 9, i as u8])
            .unwrap();
        run(
            &mut a,
            &mut b,
            &mut now,
            Duration::from_millis(20),
            |_, _| false,
        );
    }
    let back = a
        .events
        .iter()
        .filter(|e| matches!(e, SessionEvent::Frame { transceiver, .. } if *transceiver == a_audio))
        .count();
    assert!(back >= 4, "{back} frames came back");
    assert!(a
        .events
        .iter()
        .any(|e| matches!(e, SessionEvent::Track { .. })));
}

#[test]
fn ice_restart_renews_credentials_and_keeps_the_channel() {
    let mut now = Instant::now();
    let mut a = Peer::new(9, 40_400, now);
    let mut b = Peer::new(10, 50_400, now);
    let chat =
        a.s.create_data_channel(now, DataChannelInit::new("chat"))
            .unwrap();
    negotiate(&mut a, &mut b, now);
    assert!(run(
        &mut a,
        &mut b,
        &mut now,
        Duration::from_secs(10),
        |a, b| { a.opened(false).is_some() && b.opened(true).is_some() }
    ));
    let ufrag = |s: &Session| {
        s.local_description().unwrap().description().contents[0]
            .transport
            .ice_ufrag
            .clone()
    };
    let (old_a, old_b) = (ufrag(&a.s), ufrag(&b.s));
    a.events.clear();
    b.events.clear();

    a.s.restart_ice();
    negotiate(&mut a, &mut b, now);
    assert_ne!(ufrag(&a.s), old_a, "the offer restarted ICE");
    assert_ne!(
        ufrag(&b.s),
        old_b,
        "the answer followed (RFC 8839 §4.4.1.1.1)"
    );
    // The agents use the new credentials.
    let agent_ufrag = |s: &Session| {
        let mid = ufrag(s);
        let name = s.controller().transport_names().next().unwrap().to_string();
        (
            mid,
            s.controller()
                .local_credentials(&name)
                .unwrap()
                .ufrag
                .clone(),
        )
    };
    let (desc, agent) = agent_ufrag(&a.s);
    assert_eq!(desc.as_str(), agent.as_str());
    let (desc, agent) = agent_ufrag(&b.s);
    assert_eq!(desc.as_str(), agent.as_str());

    // New candidates are signalled, a new pair is selected, and the channel still works.
    assert!(run(
        &mut a,
        &mut b,
        &mut now,
        Duration::from_secs(10),
        |a, _| {
            a.events
            .iter()
            .any(|e| matches!(e, SessionEvent::IceCandidate(c) if c.candidate.ufrag.as_deref() == Some(ufrag(&a.s).as_str())))
            && a.s.ice_connection_state() == IceConnectionState::Connected
        }
    ));
    a.s.send_data(now, chat, b"after the restart", false)
        .unwrap();
    assert!(run(
        &mut a,
        &mut b,
        &mut now,
        Duration::from_secs(2),
        |_, b| { b.messages().iter().any(|m| &m[..] == b"after the restart") }
    ));
}

#[test]
fn renegotiation_applies_remove_track_codec_preferences_and_stop() {
    let mut now = Instant::now();
    let mut a = Peer::new(11, 40_500, now);
    let mut b = Peer::new(12, 50_500, now);
    let audio =
        a.s.add_transceiver(MediaType::Audio, Direction::SendRecv, "mic", &["s"])
            .unwrap();
    let video =
        a.s.add_transceiver(MediaType::Video, Direction::SendRecv, "cam", &["s"])
            .unwrap();
    negotiate(&mut a, &mut b, now);
    assert!(run(
        &mut a,
        &mut b,
        &mut now,
        Duration::from_secs(10),
        |a, b| {
            a.s.connection_state() == PeerConnectionState::Connected
                && b.s.connection_state() == PeerConnectionState::Connected
        }
    ));
    let section =
        |s: &Session, i: usize| s.local_description().unwrap().description().contents[i].clone();
    let pcmu = section(&a.s, 0)
        .media
        .codecs
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case("PCMU"))
        .cloned()
        .expect("PCMU offered by default");

    a.s.remove_track(audio).unwrap();
    a.s.set_codec_preferences(audio, vec![pcmu]).unwrap();
    a.s.stop_transceiver(video).unwrap();
    negotiate(&mut a, &mut b, now);
    let audio_section = section(&a.s, 0);
    assert_eq!(audio_section.media.direction, Direction::RecvOnly);
    let names: Vec<&str> = audio_section
        .media
        .codecs
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["PCMU"], "only the preferred codec is offered");
    assert!(
        section(&a.s, 1).rejected,
        "the stopped transceiver's section is rejected"
    );
    assert!(section(&b.s, 1).rejected, "and so is the answer's");
    assert_eq!(
        b.s.remote_description().unwrap().description().contents[0]
            .media
            .direction,
        Direction::RecvOnly
    );
    // a no longer sends audio; the connection is still up.
    assert!(a.s.send_frame(now, audio, 0, &[1, 2, 3]).is_err());
    assert!(a.s.send_frame(now, video, 0, &[1, 2, 3]).is_err());
    assert_eq!(a.s.connection_state(), PeerConnectionState::Connected);
}

#[test]
fn a_data_channel_added_later_opens_after_renegotiation() {
    let mut now = Instant::now();
    let mut a = Peer::new(13, 40_600, now);
    let mut b = Peer::new(14, 50_600, now);
    let audio =
        a.s.add_transceiver(MediaType::Audio, Direction::SendRecv, "mic", &["s"])
            .unwrap();
    negotiate(&mut a, &mut b, now);
    assert!(run(
        &mut a,
        &mut b,
        &mut now,
        Duration::from_secs(10),
        |a, b| {
            a.s.connection_state() == PeerConnectionState::Connected
                && b.s.connection_state() == PeerConnectionState::Connected
        }
    ));
    a.events.clear();
    // The first data channel needs a data section: negotiation needed.
    let chat =
        a.s.create_data_channel(now, DataChannelInit::new("late"))
            .unwrap();
    assert!(a
        .s
        .poll_event()
        .is_some_and(|e| e == SessionEvent::NegotiationNeeded));
    negotiate(&mut a, &mut b, now);
    let contents = &a.s.local_description().unwrap().description().contents;
    assert_eq!(
        contents.len(),
        2,
        "the audio section kept, a data section added"
    );
    assert_eq!(contents[1].media.media_type, MediaType::Application);
    // DTLS is already up: the association starts at once on the same transport.
    assert!(run(
        &mut a,
        &mut b,
        &mut now,
        Duration::from_secs(5),
        |a, b| { a.opened(false) == Some(chat) && b.opened(true).is_some() }
    ));
    a.s.send_data(now, chat, b"late hello", false).unwrap();
    assert!(run(
        &mut a,
        &mut b,
        &mut now,
        Duration::from_secs(2),
        |_, b| { b.messages().iter().any(|m| &m[..] == b"late hello") }
    ));
    // And audio still flows on the old section.
    a.s.send_frame(now, audio, 0, &[0xfc, 1, 2]).unwrap();
}

/// W3C `sendEncodings` with rids: the offer carries `a=simulcast:send`, the
/// answering session receives every layer, and each layer's frames arrive
/// on their own SSRC, intact.
#[test]
fn rid_simulcast_layers_flow_between_two_sessions() {
    let mut now = Instant::now();
    let mut a = Peer::new(21, 41_700, now);
    let mut b = Peer::new(22, 51_700, now);
    for bad in [&["q", "q"][..], &["not valid!"][..], &[""][..]] {
        assert!(matches!(
            a.s.add_transceiver_with_rids(
                MediaType::Video,
                Direction::SendOnly,
                "cam",
                &["s"],
                bad
            ),
            Err(Error::InvalidSendEncodings(_))
        ));
    }
    let video =
        a.s.add_transceiver_with_rids(
            MediaType::Video,
            Direction::SendOnly,
            "cam",
            &["s"],
            &["q", "h", "f"],
        )
        .unwrap();
    assert!(
        a.s.send_layers(video).unwrap().is_empty(),
        "not negotiated yet"
    );
    negotiate(&mut a, &mut b, now);
    let offer = a.s.local_description().unwrap().to_sdp();
    assert!(offer.contains("a=simulcast:send q;h;f"), "{offer}");
    let answer = b.s.local_description().unwrap().to_sdp();
    assert!(answer.contains("a=simulcast:recv q;h;f"), "{answer}");
    assert!(run(
        &mut a,
        &mut b,
        &mut now,
        Duration::from_secs(10),
        |a, b| a.s.connection_state() == PeerConnectionState::Connected
            && b.s.connection_state() == PeerConnectionState::Connected
    ));
    let layers = a.s.send_layers(video).unwrap();
    assert_eq!(
        layers
            .iter()
            .map(|(r, _)| r.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["q", "h", "f"]
    );
    let mut sent: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 3];
    for i in 0..10u32 {
        for (l, (rid, _)) in layers.iter().enumerate() {
            let key = i == 0;
            let mut frame = vec![0x40 + l as u8; 800 * (l + 1)];
            let head: &[u8] = if key {
                &[0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]
            } else {
                &[0x51, 0x2d, 0x01]
            };
            frame[..head.len()].copy_from_slice(head);
            frame[head.len()] = i as u8;
            a.s.send_frame_on_layer(now, video, rid.as_deref().unwrap(), i * 3000, &frame)
                .unwrap();
            sent[l].push(frame);
        }
        run(
            &mut a,
            &mut b,
            &mut now,
            Duration::from_millis(40),
            |_, _| false,
        );
    }
    run(
        &mut a,
        &mut b,
        &mut now,
        Duration::from_millis(200),
        |_, _| false,
    );
    for (l, (rid, ssrc)) in layers.iter().enumerate() {
        let got: Vec<Vec<u8>> = b
            .events
            .iter()
            .filter_map(|e| match e {
                SessionEvent::Frame { ssrc: s, frame, .. } if s == ssrc => {
                    Some(frame.data.to_vec())
                }
                _ => None,
            })
            .collect();
        let first_difference = got.iter().zip(&sent[l]).position(|(g, s)| g != s);
        assert!(
            got.len() == sent[l].len() && first_difference.is_none(),
            "layer {rid:?} on SSRC {ssrc}: {} frames of {}, first difference at {first_difference:?}",
            got.len(),
            sent[l].len()
        );
    }
}

#[test]
fn a_track_added_later_flows_after_renegotiation() {
    let mut now = Instant::now();
    let mut a = Peer::new(15, 40_700, now);
    let mut b = Peer::new(16, 50_700, now);
    let chat =
        a.s.create_data_channel(now, DataChannelInit::new("first"))
            .unwrap();
    negotiate(&mut a, &mut b, now);
    assert!(run(
        &mut a,
        &mut b,
        &mut now,
        Duration::from_secs(10),
        |a, b| { a.opened(false) == Some(chat) && b.opened(true).is_some() }
    ));
    // Video added to a running session: a new section on the same BUNDLE transport.
    let video = a.s.add_track(MediaType::Video, "cam", &["s"]).unwrap();
    negotiate(&mut a, &mut b, now);
    let sections = &a.s.local_description().unwrap().description().contents;
    assert_eq!(
        sections.len(),
        2,
        "the data section kept, a video section added"
    );
    assert_eq!(sections[1].media.media_type, MediaType::Video);
    assert_eq!(
        a.s.local_description()
            .unwrap()
            .description()
            .bundle_group()
            .unwrap()
            .mids
            .len(),
        2
    );
    let b_video =
        b.s.transceivers()
            .find(|(_, k)| **k == MediaType::Video)
            .map(|(id, _)| id)
            .unwrap();
    for i in 0..10u32 {
        let key = i == 0;
        let mut frame = vec![0x5a_u8; 2500];
        let head: &[u8] = if key {
            &[0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]
        } else {
            &[0x51, 0x2d, 0x01]
        };
        frame[..head.len()].copy_from_slice(head);
        a.s.send_frame(now, video, i * 3000, &frame).unwrap();
        run(
            &mut a,
            &mut b,
            &mut now,
            Duration::from_millis(40),
            |_, _| false,
        );
    }
    let frames = b
        .events
        .iter()
        .filter(|e| matches!(e, SessionEvent::Frame { transceiver, .. } if *transceiver == b_video))
        .count();
    assert!(
        frames >= 8,
        "{frames} video frames arrived on the renegotiated section"
    );
    // The data channel kept working across the renegotiation.
    a.s.send_data(now, chat, b"still here", false).unwrap();
    assert!(run(
        &mut a,
        &mut b,
        &mut now,
        Duration::from_secs(2),
        |_, b| { b.messages().iter().any(|m| &m[..] == b"still here") }
    ));
}

/// The signaling states the conformance table starts from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Start {
    Stable,
    HaveLocalOffer,
    HaveRemoteOffer,
    HaveLocalPrAnswer,
    HaveRemotePrAnswer,
    Closed,
}

/// The calls of the table.
#[derive(Debug, Clone, Copy)]
enum Call {
    CreateOffer,
    CreateAnswer,
    SetLocal(SdpType),
    SetRemote(SdpType),
    AddIceCandidate,
}

/// The session under test (`x`) brought to `start` with a peer `y`, and a
/// description of `y`'s that fits `x` for each remote call (its offer, or
/// its answer to `x`'s offer).
struct Setup {
    x: Peer,
    y: Peer,
    y_offer: Option<JsepSessionDescription>,
    y_answer: Option<JsepSessionDescription>,
}

fn retype(kind: SdpType, d: &JsepSessionDescription) -> JsepSessionDescription {
    JsepSessionDescription::new(kind, d.to_description())
}

fn setup(start: Start, now: Instant, seed: u64) -> Setup {
    let mut x = Peer::new(seed, 41_000, now);
    let mut y = Peer::new(seed + 1, 51_000, now);
    for p in [&mut x, &mut y] {
        p.s.create_data_channel(now, DataChannelInit::new("t"))
            .unwrap();
    }
    let (mut y_offer, mut y_answer) = (None, None);
    match start {
        Start::Stable => {}
        Start::Closed => {
            // Closed with a remote description, so that only the closing
            // refuses a candidate.
            let offer = y.s.create_offer().unwrap();
            x.s.set_remote_description(now, offer).unwrap();
            x.s.close(now);
        }
        Start::HaveLocalOffer | Start::HaveRemotePrAnswer => {
            let offer = x.s.create_offer().unwrap();
            x.s.set_local_description(now, offer.clone()).unwrap();
            y.s.set_remote_description(now, offer).unwrap();
            let answer = y.s.create_answer().unwrap();
            if start == Start::HaveRemotePrAnswer {
                x.s.set_remote_description(now, retype(SdpType::PrAnswer, &answer))
                    .unwrap();
            }
            y_answer = Some(answer);
        }
        Start::HaveRemoteOffer | Start::HaveLocalPrAnswer => {
            let offer = y.s.create_offer().unwrap();
            y.s.set_local_description(now, offer.clone()).unwrap();
            x.s.set_remote_description(now, offer.clone()).unwrap();
            if start == Start::HaveLocalPrAnswer {
                let answer = x.s.create_answer().unwrap();
                x.s.set_local_description(now, retype(SdpType::PrAnswer, &answer))
                    .unwrap();
            }
            // A new offer of y's, as a renegotiating peer would send.
            y_offer = Some(y.s.create_offer().unwrap());
        }
    }
    if y_offer.is_none() && y.s.signaling_state() == SignalingState::Stable {
        y_offer = Some(y.s.create_offer().unwrap());
    }
    Setup {
        x,
        y,
        y_offer,
        y_answer,
    }
}

/// W3C webrtc-pc §4.4.1.6 and JSEP (RFC 9429 §3.2): the state each call
/// leads to from each state, `None` where it is refused.
fn expected(start: Start, call: Call) -> Option<SignalingState> {
    use SignalingState as S;
    use Start::*;
    match (start, call) {
        (Closed, _) => None,
        // createOffer checks only [[IsClosed]] and leaves the state alone.
        (s, Call::CreateOffer) => Some(state_of(s)),
        (HaveRemoteOffer | HaveLocalPrAnswer, Call::CreateAnswer) => Some(state_of(start)),
        (Stable | HaveLocalOffer, Call::SetLocal(SdpType::Offer)) => Some(S::HaveLocalOffer),
        (HaveRemoteOffer | HaveLocalPrAnswer, Call::SetLocal(SdpType::Answer)) => Some(S::Stable),
        (HaveRemoteOffer | HaveLocalPrAnswer, Call::SetLocal(SdpType::PrAnswer)) => {
            Some(S::HaveLocalPrAnswer)
        }
        (Stable | HaveRemoteOffer, Call::SetRemote(SdpType::Offer)) => Some(S::HaveRemoteOffer),
        (HaveLocalOffer | HaveRemotePrAnswer, Call::SetRemote(SdpType::Answer)) => Some(S::Stable),
        (HaveLocalOffer | HaveRemotePrAnswer, Call::SetRemote(SdpType::PrAnswer)) => {
            Some(S::HaveRemotePrAnswer)
        }
        // Rollback only from an offer state, through either call.
        (HaveLocalOffer | HaveRemoteOffer, Call::SetLocal(SdpType::Rollback))
        | (HaveLocalOffer | HaveRemoteOffer, Call::SetRemote(SdpType::Rollback)) => Some(S::Stable),
        // addIceCandidate needs a remote description.
        (HaveRemoteOffer | HaveLocalPrAnswer | HaveRemotePrAnswer, Call::AddIceCandidate) => {
            Some(state_of(start))
        }
        _ => None,
    }
}

fn state_of(start: Start) -> SignalingState {
    match start {
        Start::Stable => SignalingState::Stable,
        Start::HaveLocalOffer => SignalingState::HaveLocalOffer,
        Start::HaveRemoteOffer => SignalingState::HaveRemoteOffer,
        Start::HaveLocalPrAnswer => SignalingState::HaveLocalPrAnswer,
        Start::HaveRemotePrAnswer => SignalingState::HaveRemotePrAnswer,
        Start::Closed => SignalingState::Closed,
    }
}

/// Each call in each signaling state: the state it leads to, or a typed
/// error and nothing changed (state, both descriptions, transceivers). A
/// rollback, through either call, returns to what was there before the
/// offer.
#[test]
fn every_call_in_every_signaling_state() {
    let now = Instant::now();
    let starts = [
        Start::Stable,
        Start::HaveLocalOffer,
        Start::HaveRemoteOffer,
        Start::HaveLocalPrAnswer,
        Start::HaveRemotePrAnswer,
        Start::Closed,
    ];
    let calls = [
        Call::CreateOffer,
        Call::CreateAnswer,
        Call::SetLocal(SdpType::Offer),
        Call::SetLocal(SdpType::Answer),
        Call::SetLocal(SdpType::PrAnswer),
        Call::SetLocal(SdpType::Rollback),
        Call::SetRemote(SdpType::Offer),
        Call::SetRemote(SdpType::Answer),
        Call::SetRemote(SdpType::PrAnswer),
        Call::SetRemote(SdpType::Rollback),
        Call::AddIceCandidate,
    ];
    let mut seed = 100;
    for start in starts {
        for call in calls {
            seed += 2;
            let Setup {
                mut x,
                mut y,
                y_offer,
                y_answer,
            } = setup(start, now, seed);
            let sdp = |d: Option<&JsepSessionDescription>| d.map(|d| d.to_sdp());
            let before = (
                x.s.signaling_state(),
                sdp(x.s.local_description()),
                sdp(x.s.remote_description()),
                x.s.transceivers().count(),
            );
            // Something of the right type whose content fits where the
            // call is allowed; where it is refused, the type alone decides.
            let any = y.s.create_offer().ok().or(y_offer.clone()).unwrap();
            let result = match call {
                Call::CreateOffer => x.s.create_offer().map(drop),
                Call::CreateAnswer => x.s.create_answer().map(drop),
                Call::SetLocal(kind) => {
                    let d = match kind {
                        SdpType::Offer => x.s.create_offer().unwrap_or_else(|_| any.clone()),
                        SdpType::Answer | SdpType::PrAnswer => {
                            x.s.create_answer()
                                .map(|a| retype(kind, &a))
                                .unwrap_or_else(|_| retype(kind, &any))
                        }
                        _ => retype(kind, &any),
                    };
                    x.s.set_local_description(now, d)
                }
                Call::SetRemote(kind) => {
                    let d = match kind {
                        SdpType::Offer => y_offer.clone().unwrap_or_else(|| any.clone()),
                        SdpType::Answer | SdpType::PrAnswer => {
                            retype(kind, y_answer.as_ref().unwrap_or(&any))
                        }
                        _ => retype(kind, &any),
                    };
                    x.s.set_remote_description(now, d)
                }
                Call::AddIceCandidate => {
                    let mid = x.s.remote_description().map_or("0".to_string(), |r| {
                        r.description().contents[0].mid.to_string()
                    });
                    let json = format!(
                        r#"{{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host","sdpMid":"{mid}","sdpMLineIndex":0}}"#
                    );
                    let c = JsepIceCandidate::from_json(&json).unwrap().unwrap();
                    x.s.add_ice_candidate(now, c)
                }
            };
            let case = format!("{call:?} in {start:?}");
            match (expected(start, call), result) {
                (Some(next), Ok(())) => {
                    assert_eq!(x.s.signaling_state(), next, "{case}");
                    if matches!(
                        call,
                        Call::SetLocal(SdpType::Rollback) | Call::SetRemote(SdpType::Rollback)
                    ) {
                        // Back to before the offer: a fresh session has neither.
                        assert!(x.s.local_description().is_none(), "{case}");
                        assert!(x.s.remote_description().is_none(), "{case}");
                        assert_eq!(x.s.transceivers().count(), 0, "{case}");
                    }
                }
                (Some(_), Err(e)) => panic!("{case}: refused ({e})"),
                (None, Ok(())) => panic!("{case}: accepted, but W3C refuses it"),
                (None, Err(e)) => {
                    let typed = matches!(
                        e,
                        Error::InvalidState { .. } | Error::Closed | Error::NoOffer(_)
                    );
                    assert!(typed, "{case}: {e:?}");
                    let after = (
                        x.s.signaling_state(),
                        sdp(x.s.local_description()),
                        sdp(x.s.remote_description()),
                        x.s.transceivers().count(),
                    );
                    assert_eq!(before, after, "{case}: changed on refusal");
                }
            }
        }
    }
}

/// rtcpMuxPolicy "require": a remote offer whose audio section lacks
/// a=rtcp-mux is refused with a typed error naming the section, and nothing
/// changes (W3C setRemoteDescription, InvalidAccessError).
#[test]
fn a_remote_offer_without_rtcp_mux_is_refused() {
    let now = Instant::now();
    let mut a = Peer::new(7, 42_000, now);
    let mut b = Peer::new(8, 52_000, now);
    a.s.add_transceiver(MediaType::Audio, Direction::SendRecv, "m", &["s"])
        .unwrap();
    let offer = a.s.create_offer().unwrap();
    let sdp = offer.to_sdp();
    assert!(sdp.contains("a=rtcp-mux\r\n"));
    let without = sdp.replace("a=rtcp-mux\r\n", "");
    let without = JsepSessionDescription::parse(SdpType::Offer, &without).unwrap();
    let mid = without.description().contents[0].mid.to_string();
    match b.s.set_remote_description(now, without) {
        Err(Error::RtcpMuxRequired { mid: refused }) => assert_eq!(refused, mid),
        other => panic!("accepted or wrong error: {other:?}"),
    }
    assert_eq!(b.s.signaling_state(), SignalingState::Stable);
    assert!(b.s.remote_description().is_none());
    assert_eq!(b.s.transceivers().count(), 0);
    // The same offer with a=rtcp-mux is taken.
    let offer = JsepSessionDescription::parse(SdpType::Offer, &sdp).unwrap();
    b.s.set_remote_description(now, offer).unwrap();
}

/// W3C iceCandidatePoolSize: a session made with a pool gathers before any
/// description, signals nothing until setLocalDescription, then signals the
/// pooled candidates under the description's mid and ufrag, and connects on
/// them; the answerer without a pool connects to it as usual.
#[test]
fn a_pooled_transport_gathers_early_and_is_taken_by_the_first_description() {
    let now = Instant::now();
    let mut a = Peer::new(21, 43_000, now);
    let certificate =
        Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400)).unwrap();
    let mut config = SessionConfig::new(certificate);
    config.ice.seed = Some(22);
    config.seed = 22;
    config.ice_candidate_pool_size = 1;
    a.s = Session::new(config, now);
    let mut b = Peer::new(23, 53_000, now);

    // Before any description: sockets asked for and bound, no candidate
    // signalled, gathering still "new" as far as the session goes.
    a.gather(now);
    assert_eq!(a.sockets.len(), 1, "the pool asked for a socket");
    a.s.handle_timeout(now);
    while let Some(e) = a.s.poll_event() {
        assert!(
            !matches!(
                e,
                SessionEvent::IceCandidate(_)
                    | SessionEvent::EndOfCandidates
                    | SessionEvent::IceGatheringState(_)
            ),
            "pooled gathering leaked: {e:?}"
        );
    }
    assert_eq!(a.s.ice_gathering_state(), GatheringState::New);

    a.s.create_data_channel(now, DataChannelInit::new("pooled"))
        .unwrap();
    let offer = a.s.create_offer().unwrap();
    let mid = offer.description().contents[0].mid.to_string();
    let ufrag = offer.description().contents[0]
        .transport
        .ice_ufrag
        .to_string();
    a.s.set_local_description(now, offer.clone()).unwrap();
    // No new socket: the pooled transport took the section.
    a.gather(now);
    assert_eq!(a.sockets.len(), 1);
    a.s.handle_timeout(now);
    let mut candidates = Vec::new();
    while let Some(e) = a.s.poll_event() {
        if let SessionEvent::IceCandidate(c) = &e {
            candidates.push(c.clone());
        }
        a.events.push(e);
    }
    assert_eq!(
        candidates.len(),
        1,
        "the pooled host candidate, signalled now"
    );
    assert_eq!(candidates[0].sdp_mid.as_deref(), Some(mid.as_str()));
    assert!(
        candidates[0]
            .candidate_line()
            .contains(&format!("ufrag {ufrag}")),
        "{}",
        candidates[0].candidate_line()
    );

    b.s.set_remote_description(now, offer).unwrap();
    for c in candidates {
        b.s.add_ice_candidate(now, c).unwrap();
    }
    let answer = b.s.create_answer().unwrap();
    b.s.set_local_description(now, answer.clone()).unwrap();
    a.s.set_remote_description(now, answer).unwrap();
    let mut t = now;
    assert!(
        run(&mut a, &mut b, &mut t, Duration::from_secs(10), |a, b| {
            a.opened(false).is_some() && b.opened(true).is_some()
        }),
        "the channel opened over the pooled transport"
    );
    assert_eq!(a.s.connection_state(), PeerConnectionState::Connected);
}

/// Glare: b's own offer made a transport before b rolled it back and
/// answered a's offer. That transport serves the answer with the answerer's
/// role (controlled) and the answer's credentials, without an ICE restart,
/// so the two agents never both control; the channel opens.
#[test]
fn after_glare_the_rolled_back_transport_takes_the_answerers_role() {
    let now = Instant::now();
    let mut a = Peer::new(31, 44_000, now);
    let mut b = Peer::new(32, 54_000, now);
    for p in [&mut a, &mut b] {
        p.s.create_data_channel(now, DataChannelInit::new("g"))
            .unwrap();
    }
    let offer_a = a.s.create_offer().unwrap();
    a.s.set_local_description(now, offer_a.clone()).unwrap();
    let offer_b = b.s.create_offer().unwrap();
    b.s.set_local_description(now, offer_b.clone()).unwrap();
    b.gather(now);
    let name = offer_b.description().contents[0].mid.to_string();
    let role = |p: &mut Peer, name: &str| {
        p.s.controller
            .transport(name)
            .map(|t| t.ice().role())
            .unwrap()
    };
    assert_eq!(role(&mut b, &name), IceRole::Controlling);

    let rollback = JsepSessionDescription::new(SdpType::Rollback, offer_b.to_description());
    b.s.set_local_description(now, rollback).unwrap();
    b.s.set_remote_description(now, offer_a).unwrap();
    let answer = b.s.create_answer().unwrap();
    b.s.set_local_description(now, answer.clone()).unwrap();
    let ufrag = answer.description().contents[0]
        .transport
        .ice_ufrag
        .to_string();
    assert_eq!(role(&mut b, &name), IceRole::Controlled);
    let t = b.s.controller.transport(&name).unwrap();
    assert_eq!(t.ice().local_credentials().ufrag.as_str(), ufrag);
    a.s.set_remote_description(now, answer).unwrap();
    let mut t = now;
    assert!(
        run(&mut a, &mut b, &mut t, Duration::from_secs(10), |a, b| {
            a.opened(false).is_some() && b.opened(true).is_some()
        }),
        "the channel opened after glare"
    );
}
