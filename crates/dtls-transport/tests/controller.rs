//! Two TransportControllers connected through memory: ICE, then DTLS over the
//! selected pair, DTLS-SRTP keys that agree, application data, media gated on
//! DTLS verification, combined states, and a fingerprint mismatch failing.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dtls_transport::certificate::{Certificate, KeyType};
use dtls_transport::controller::{
    ControllerConfig, ControllerEvent, PeerConnectionState, TransportController, TransportId,
    TransportSetup,
};
use dtls_transport::dtls::DtlsRole;
use ice::{IceConfig, IceRole, Receive};

struct Side {
    c: TransportController,
    /// Transport "0".
    id: TransportId,
    /// Local sockets and the component each belongs to.
    addrs: Vec<(SocketAddr, u16)>,
    events: Vec<ControllerEvent>,
}

impl Side {
    fn component_of(&self, addr: SocketAddr) -> u16 {
        self.addrs
            .iter()
            .find(|(a, _)| *a == addr)
            .map(|(_, c)| *c)
            .expect("one of our sockets")
    }
}

fn side(role: IceRole, dtls: DtlsRole, addr: &str, seed: u64) -> Side {
    let mut setup = TransportSetup::new(dtls);
    setup.ice_role = Some(role);
    side_with(setup, addr, seed)
}

/// A side whose transport "0" runs without rtcp-mux: RTCP on component 2 at port + 1.
fn side_without_mux(role: IceRole, dtls: DtlsRole, addr: &str, seed: u64) -> Side {
    let certificate =
        Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400)).unwrap();
    let ice = IceConfig {
        role,
        seed: Some(seed),
        ..Default::default()
    };
    let mut c = TransportController::new(ControllerConfig::new(certificate, ice));
    let now = Instant::now();
    let id = c
        .add_transport_without_rtcp_mux(now, "0", dtls, None)
        .unwrap();
    let rtp: SocketAddr = addr.parse().unwrap();
    let rtcp = SocketAddr::new(rtp.ip(), rtp.port() + 1);
    let t = c.transport("0").unwrap();
    t.ice()
        .add_local_socket(now, rtp, ice::NetworkType::Loopback);
    t.ice().finish_local_sockets(now);
    t.rtcp_ice()
        .unwrap()
        .add_local_socket(now, rtcp, ice::NetworkType::Loopback);
    t.rtcp_ice().unwrap().finish_local_sockets(now);
    Side {
        c,
        id,
        addrs: vec![(rtp, 1), (rtcp, 2)],
        events: Vec::new(),
    }
}

/// Signals credentials, candidates and fingerprints (optionally a wrong one for `b`).
fn signal(a: &mut Side, b: &mut Side, wrong_fingerprint_for_b: bool) {
    let now = Instant::now();
    let ca =
        a.c.transport("0")
            .unwrap()
            .ice()
            .local_credentials()
            .clone();
    let cb =
        b.c.transport("0")
            .unwrap()
            .ice()
            .local_credentials()
            .clone();
    a.c.transport("0")
        .unwrap()
        .ice()
        .set_remote_credentials(now, cb);
    b.c.transport("0")
        .unwrap()
        .ice()
        .set_remote_credentials(now, ca);
    let fa = a.c.local_fingerprint();
    let fb = b.c.local_fingerprint();
    a.c.set_remote_fingerprint("0", fb).unwrap();
    let fa_for_b = if wrong_fingerprint_for_b {
        let other = Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400)).unwrap();
        other.fingerprint(Default::default())
    } else {
        fa
    };
    b.c.set_remote_fingerprint("0", fa_for_b).unwrap();
    let from_a = a.c.transport("0").unwrap().ice().local_candidates();
    let from_b = b.c.transport("0").unwrap().ice().local_candidates();
    for cand in from_a {
        b.c.transport("0")
            .unwrap()
            .ice()
            .add_remote_candidate(now, cand)
            .unwrap();
    }
    for cand in from_b {
        a.c.transport("0")
            .unwrap()
            .ice()
            .add_remote_candidate(now, cand)
            .unwrap();
    }
    // The RTCP component, when there is one (same credentials as RTP).
    let rtcp_a =
        a.c.transport("0")
            .unwrap()
            .rtcp_ice()
            .map(|i| (i.local_credentials().clone(), i.local_candidates()));
    let rtcp_b =
        b.c.transport("0")
            .unwrap()
            .rtcp_ice()
            .map(|i| (i.local_credentials().clone(), i.local_candidates()));
    if let (Some((cra, ka)), Some((crb, kb))) = (rtcp_a, rtcp_b) {
        let ta = a.c.transport("0").unwrap().rtcp_ice().unwrap();
        ta.set_remote_credentials(now, crb);
        for cand in kb {
            ta.add_remote_candidate(now, cand).unwrap();
        }
        let tb = b.c.transport("0").unwrap().rtcp_ice().unwrap();
        tb.set_remote_credentials(now, cra);
        for cand in ka {
            tb.add_remote_candidate(now, cand).unwrap();
        }
    }
}

/// Hands everything `from` wants to send to `to`; returns whether anything moved.
fn deliver(from: &mut Side, to: &mut Side) -> bool {
    let mut moved = false;
    while let Some(t) = from.c.poll_transmit(Instant::now()) {
        let component = to.component_of(t.destination);
        assert_eq!(
            component,
            from.component_of(t.source),
            "components stay apart"
        );
        let rx = Receive {
            local: t.destination,
            source: t.source,
            data: &t.contents,
        };
        to.c.handle_receive_component(Instant::now(), "0", component, rx);
        moved = true;
    }
    moved
}

/// Shuttles datagrams until `done` or `limit` real time passes.
fn run(
    a: &mut Side,
    b: &mut Side,
    limit: Duration,
    mut done: impl FnMut(&Side, &Side) -> bool,
) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        let now = Instant::now();
        a.c.handle_timeout(now);
        b.c.handle_timeout(now);
        while deliver(a, b) | deliver(b, a) {}
        for side in [&mut *a, &mut *b] {
            while let Some(e) = side.c.poll_event() {
                side.events.push(e);
            }
        }
        if done(a, b) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

#[test]
fn ice_then_dtls_then_data_and_media() {
    let mut a = side(IceRole::Controlling, DtlsRole::Client, "127.0.0.1:5000", 1);
    let mut b = side(IceRole::Controlled, DtlsRole::Server, "127.0.0.1:6000", 2);
    assert!(a.events.is_empty());
    signal(&mut a, &mut b, false);
    let ok = run(&mut a, &mut b, Duration::from_secs(10), |a, b| {
        a.c.state() == PeerConnectionState::Connected
            && b.c.state() == PeerConnectionState::Connected
    });
    assert!(ok, "a={:?} b={:?}", a.c.state(), b.c.state());
    // Candidates were tagged with their transport; the gathering of each transport ended.
    assert!(a
        .events
        .iter()
        .any(|e| matches!(e, ControllerEvent::Candidate { transport, .. } if transport == "0")));
    assert!(a
        .events
        .iter()
        .any(|e| matches!(e, ControllerEvent::EndOfCandidates { .. })));
    // Both sides made an SRTP session with the same profile.
    let profile = |s: &Side| {
        s.events
            .iter()
            .find_map(|e| match e {
                ControllerEvent::DtlsConnected { srtp_profile, .. } => *srtp_profile,
                _ => None,
            })
            .expect("an SRTP profile")
    };
    assert_eq!(profile(&a), profile(&b));
    assert_eq!(
        a.c.transport("0").unwrap().srtp_profile(),
        Some(profile(&a))
    );
    // Application data over DTLS, both ways.
    a.c.send_application_data(Instant::now(), "0", b"over dtls")
        .unwrap();
    b.c.send_application_data(Instant::now(), "0", b"and back")
        .unwrap();
    assert!(run(&mut a, &mut b, Duration::from_secs(5), |a, b| {
        b.events.iter().any(|e| matches!(e, ControllerEvent::ApplicationData { data, .. } if &data[..] == b"over dtls"))
            && a.events.iter().any(|e| matches!(e, ControllerEvent::ApplicationData { data, .. } if &data[..] == b"and back"))
    }));
    // Plain RTP and RTCP in, SRTP/SRTCP on the wire, plain RTP and RTCP out:
    // the DTLS-SRTP keys agree, and the wire never carries the plaintext.
    let rtp = [0x80u8, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7, 0xAA, 0xBB];
    let rtcp = [0x80u8, 200, 0, 1, 0, 0, 0, 7];
    a.c.send_rtp(Instant::now(), a.id, &rtp).unwrap();
    a.c.send_rtcp(Instant::now(), a.id, &rtcp).unwrap();
    let wire: Vec<ice::Transmit> =
        std::iter::from_fn(|| a.c.poll_transmit(Instant::now())).collect();
    assert_eq!(wire.len(), 2);
    assert_ne!(&wire[0].contents[12..14], &rtp[12..]);
    assert!(wire[0].contents.len() > rtp.len(), "SRTP adds a tag");
    for t in &wire {
        let rx = Receive {
            local: t.destination,
            source: t.source,
            data: &t.contents,
        };
        b.c.handle_receive_component(Instant::now(), "0", 1, rx);
    }
    while let Some(e) = b.c.poll_event() {
        b.events.push(e);
    }
    assert!(b.events.iter().any(
        |e| matches!(e, ControllerEvent::Media { rtcp: false, packet, .. } if packet[..] == rtp)
    ));
    assert!(b.events.iter().any(
        |e| matches!(e, ControllerEvent::Media { rtcp: true, packet, .. } if packet[..] == rtcp)
    ));
    // The same datagram again is a replay: refused and counted.
    let mut replay = wire[0].contents.to_vec();
    let got = b.c.handle_receive_in_place(
        Instant::now(),
        b.id,
        1,
        wire[0].destination,
        wire[0].source,
        &mut replay,
    );
    assert_eq!(got, Err(dtls_transport::Error::Replayed));
    assert_eq!(b.c.transport("0").unwrap().srtp_errors(), 1);
    // In place: decrypted in the caller's buffer.
    let rtp2 = [0x80u8, 96, 0, 2, 0, 0, 0, 2, 0, 0, 0, 7, 0xCC];
    b.c.send_rtp(Instant::now(), b.id, &rtp2).unwrap();
    let t = b.c.poll_transmit(Instant::now()).unwrap();
    let mut buf = t.contents.to_vec();
    let media =
        a.c.handle_receive_in_place(Instant::now(), a.id, 1, t.destination, t.source, &mut buf)
            .unwrap()
            .expect("media");
    assert!(!media.rtcp);
    assert_eq!(&buf[media.range], &rtp2);
    // A tampered packet fails authentication.
    let rtp3 = [0x80u8, 96, 0, 3, 0, 0, 0, 3, 0, 0, 0, 7, 0xDD];
    b.c.send_rtp(Instant::now(), b.id, &rtp3).unwrap();
    let t = b.c.poll_transmit(Instant::now()).unwrap();
    let mut bad = t.contents.to_vec();
    bad[13] ^= 1;
    let got =
        a.c.handle_receive_in_place(Instant::now(), a.id, 1, t.destination, t.source, &mut bad);
    assert!(got.is_err(), "{got:?}");
    a.c.close(Instant::now());
    assert_eq!(a.c.state(), PeerConnectionState::Closed);
}

#[test]
fn fingerprint_mismatch_fails_the_connection_and_delivers_nothing() {
    let mut a = side(IceRole::Controlling, DtlsRole::Client, "127.0.0.1:5000", 3);
    let mut b = side(IceRole::Controlled, DtlsRole::Server, "127.0.0.1:6000", 4);
    signal(&mut a, &mut b, true);
    let failed = run(&mut a, &mut b, Duration::from_secs(10), |_, b| {
        b.c.state() == PeerConnectionState::Failed
    });
    assert!(failed, "b={:?}", b.c.state());
    // The failure is reported with its reason.
    assert!(b.events.iter().any(|e| matches!(
        e,
        ControllerEvent::DtlsFailed { transport, component: 1, error: dtls_transport::Error::FingerprintMismatch } if transport == "0"
    )));
    assert!(!b
        .events
        .iter()
        .any(|e| matches!(e, ControllerEvent::DtlsConnected { .. })));
    // Media from the unverified peer never reaches b's media layer (a
    // considers b verified, so it protects and sends).
    let _ = a.c.send_rtp(
        Instant::now(),
        a.id,
        &[0x80u8, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7],
    );
    // b has no SRTP session and refuses to send.
    assert!(b
        .c
        .send_rtp(
            Instant::now(),
            b.id,
            &[0x80u8, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7]
        )
        .is_err());
    run(&mut a, &mut b, Duration::from_millis(200), |_, _| false);
    assert!(!b.events.iter().any(|e| matches!(
        e,
        ControllerEvent::Media { .. } | ControllerEvent::ApplicationData { .. }
    )));
}

#[test]
fn without_rtcp_mux_rtcp_has_its_own_ice_and_dtls() {
    let mut a = side_without_mux(IceRole::Controlling, DtlsRole::Client, "127.0.0.1:5000", 5);
    let mut b = side_without_mux(IceRole::Controlled, DtlsRole::Server, "127.0.0.1:6000", 6);
    signal(&mut a, &mut b, false);
    let ok = run(&mut a, &mut b, Duration::from_secs(10), |a, b| {
        a.c.state() == PeerConnectionState::Connected
            && b.c.state() == PeerConnectionState::Connected
    });
    assert!(ok, "a={:?} b={:?}", a.c.state(), b.c.state());
    // Both components completed DTLS, each with its own SRTP keys.
    for s in [&a, &b] {
        for wanted in [1u16, 2] {
            let found = s.events.iter().any(|e| match e {
                ControllerEvent::DtlsConnected {
                    component,
                    srtp_profile,
                    ..
                } => *component == wanted && srtp_profile.is_some(),
                _ => false,
            });
            assert!(found, "component {wanted} has DTLS-SRTP keys");
        }
    }
    // SRTCP goes over the RTCP component and still reaches the media layer as RTCP.
    let rtcp = [0x80u8, 200, 0, 1, 0, 0, 0, 7];
    a.c.send_rtcp(Instant::now(), a.id, &rtcp).unwrap();
    assert!(run(&mut a, &mut b, Duration::from_secs(5), |_, b| {
        b.events.iter().any(|e| matches!(e, ControllerEvent::Media { rtcp: true, packet, .. } if packet[..] == rtcp))
    }));
}

/// A side made with `add_transport_with`: its roles and credentials as a
/// description fixed them.
fn side_with(setup: TransportSetup, addr: &str, seed: u64) -> Side {
    let certificate =
        Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400)).unwrap();
    let ice = IceConfig {
        seed: Some(seed),
        ..Default::default()
    };
    let mut c = TransportController::new(ControllerConfig::new(certificate, ice));
    let now = Instant::now();
    let id = c.add_transport_with(now, "0", setup).unwrap();
    let addr: SocketAddr = addr.parse().unwrap();
    c.transport("0")
        .unwrap()
        .ice()
        .add_local_socket(now, addr, ice::NetworkType::Loopback);
    c.transport("0").unwrap().ice().finish_local_sockets(now);
    Side {
        c,
        id,
        addrs: vec![(addr, 1)],
        events: Vec::new(),
    }
}

#[test]
fn an_offerer_picks_its_dtls_role_when_the_answer_comes() {
    // The offerer wrote actpass and its own credentials; it guessed "server".
    let offered = ice::Credentials::new("offr", "offererpasswordoffererpw").unwrap();
    let mut setup = TransportSetup::new(DtlsRole::Server);
    setup.ice_role = Some(IceRole::Controlling);
    setup.credentials = Some(offered.clone());
    let mut a = side_with(setup, "127.0.0.1:5100", 11);
    assert_eq!(
        a.c.transport("0").unwrap().ice().local_credentials(),
        &offered,
        "the description's credentials are the agent's"
    );
    assert_eq!(
        a.c.transport("0").unwrap().ice().role(),
        IceRole::Controlling
    );
    // The answerer chose a=setup:passive (server), so the offerer is the client.
    let mut setup = TransportSetup::new(DtlsRole::Server);
    setup.ice_role = Some(IceRole::Controlled);
    let mut b = side_with(setup, "127.0.0.1:6100", 12);
    let fb = b.c.local_fingerprint();
    a.c.set_remote_fingerprint("0", fb).unwrap();
    a.c.set_dtls_role("0", DtlsRole::Client).unwrap();
    assert_eq!(a.c.transport("0").unwrap().dtls().role(), DtlsRole::Client);
    signal(&mut a, &mut b, false);
    let ok = run(&mut a, &mut b, Duration::from_secs(10), |a, b| {
        a.c.state() == PeerConnectionState::Connected
            && b.c.state() == PeerConnectionState::Connected
    });
    assert!(ok, "a={:?} b={:?}", a.c.state(), b.c.state());
    // Once the handshake ran, the role is fixed; asking again for the same one is fine.
    assert!(matches!(
        a.c.set_dtls_role("0", DtlsRole::Server),
        Err(dtls_transport::Error::DtlsRoleFixed)
    ));
    a.c.set_dtls_role("0", DtlsRole::Client).unwrap();
    assert_eq!(a.c.state(), PeerConnectionState::Connected);
}
