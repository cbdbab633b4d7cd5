//! Two TransportControllers connected through memory: ICE, then DTLS over the
//! selected pair, DTLS-SRTP keys that agree, application data, media gated on
//! DTLS verification, combined states, and a fingerprint mismatch failing.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dtls_transport::certificate::{Certificate, KeyType};
use dtls_transport::controller::{
    ControllerConfig, ControllerEvent, PeerConnectionState, TransportController,
};
use dtls_transport::dtls::DtlsRole;
use ice::{IceConfig, IceRole, Receive};

struct Side {
    c: TransportController,
    addr: SocketAddr,
    events: Vec<ControllerEvent>,
}

fn side(role: IceRole, dtls: DtlsRole, addr: &str, seed: u64) -> Side {
    let certificate =
        Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400)).unwrap();
    let mut c = TransportController::new(ControllerConfig {
        certificate,
        ice: IceConfig {
            role,
            seed: Some(seed),
            ..Default::default()
        },
    });
    let now = Instant::now();
    c.add_transport(now, "0", dtls, None).unwrap();
    let addr: SocketAddr = addr.parse().unwrap();
    c.transport("0")
        .unwrap()
        .ice()
        .add_local_socket(now, addr, ice::NetworkType::Loopback);
    c.transport("0").unwrap().ice().finish_local_sockets(now);
    Side {
        c,
        addr,
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
    a.c.transport("0").unwrap().ice().set_remote_credentials(cb);
    b.c.transport("0").unwrap().ice().set_remote_credentials(ca);
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
        let mut moved = true;
        while moved {
            moved = false;
            while let Some(t) = a.c.poll_transmit() {
                assert_eq!(t.destination, b.addr);
                b.c.handle_receive(
                    Instant::now(),
                    "0",
                    Receive {
                        local: t.destination,
                        source: t.source,
                        data: &t.contents,
                    },
                );
                moved = true;
            }
            while let Some(t) = b.c.poll_transmit() {
                assert_eq!(t.destination, a.addr);
                a.c.handle_receive(
                    Instant::now(),
                    "0",
                    Receive {
                        local: t.destination,
                        source: t.source,
                        data: &t.contents,
                    },
                );
                moved = true;
            }
        }
        while let Some(e) = a.c.poll_event() {
            a.events.push(e);
        }
        while let Some(e) = b.c.poll_event() {
            b.events.push(e);
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
    // DTLS-SRTP keys agree across the two sides.
    let keys = |s: &Side| {
        s.events
            .iter()
            .find_map(|e| match e {
                ControllerEvent::DtlsConnected { srtp, .. } => srtp.clone(),
                _ => None,
            })
            .expect("SRTP keys")
    };
    let (ka, kb) = (keys(&a), keys(&b));
    assert_eq!(ka.profile, kb.profile);
    assert_eq!(ka.local_key, kb.remote_key);
    assert_eq!(ka.local_salt, kb.remote_salt);
    assert_eq!(kb.local_key, ka.remote_key);
    // Application data over DTLS, both ways.
    a.c.send_application_data(Instant::now(), "0", b"over dtls")
        .unwrap();
    b.c.send_application_data(Instant::now(), "0", b"and back")
        .unwrap();
    assert!(run(&mut a, &mut b, Duration::from_secs(5), |a, b| {
        b.events.iter().any(|e| matches!(e, ControllerEvent::ApplicationData { data, .. } if &data[..] == b"over dtls"))
            && a.events.iter().any(|e| matches!(e, ControllerEvent::ApplicationData { data, .. } if &data[..] == b"and back"))
    }));
    // Media (an SRTP-looking packet) reaches the other side's media layer.
    let rtp = [0x80u8, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7, 0xAA, 0xBB];
    let rtcp = [0x80u8, 200, 0, 1, 0, 0, 0, 7];
    a.c.send_media("0", &rtp).unwrap();
    a.c.send_media("0", &rtcp).unwrap();
    assert!(run(&mut a, &mut b, Duration::from_secs(5), |_, b| {
        b.events.iter().any(|e| matches!(e, ControllerEvent::Media { rtcp: false, packet, .. } if packet[..] == rtp))
            && b.events.iter().any(|e| matches!(e, ControllerEvent::Media { rtcp: true, .. }))
    }));
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
    assert!(!b
        .events
        .iter()
        .any(|e| matches!(e, ControllerEvent::DtlsConnected { .. })));
    // Media from the unverified peer never reaches b's media layer.
    let _ =
        a.c.send_media("0", &[0x80u8, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7]);
    run(&mut a, &mut b, Duration::from_millis(200), |_, _| false);
    assert!(!b.events.iter().any(|e| matches!(
        e,
        ControllerEvent::Media { .. } | ControllerEvent::ApplicationData { .. }
    )));
}
