//! TURN over TLS (`turns:`, RFC 8656 §3.1) against coturn on 127.0.0.1 with
//! a CA and a server certificate made at test time (rcgen): a module of
//! `turn.rs`, `#[ignore]`d like the other coturn tests, run by `cargo xtask
//! test-all --only interop-ice-coturn`.
//!
//! Two relay-only agents on the tokio driver connect through TLS relays and
//! exchange data with verification on (the test CA trusted); a server whose
//! certificate is not trusted, or is for another name, fails the allocation
//! with [`IceEvent::CandidateError`] naming the certificate problem.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ice::allocator::{CandidateError, CandidateFilter, TurnServerConfig};
use ice::driver::{DriverConfig, IceTransport};
use ice::network::NetworkFilter;
use ice::port::TurnTlsConfig;
use ice::{CandidateKind, GatheringState, IceConfig, IceEvent, IceRole};
use tokio::time::timeout;

use super::coturn::Coturn;
use super::coturn_process::TempDir;

const WAIT: Duration = Duration::from_secs(20);

/// A test CA, and a server certificate it signed for 127.0.0.1 (IP SAN)
/// and `turn.test`, written to a temp dir for coturn.
struct Pki {
    ca_pem: String,
    dir: TempDir,
}

impl Pki {
    fn new() -> Pki {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "peerstack test CA");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "turn.test".into()]).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let dir = TempDir::new("coturn-tls");
        std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
        Pki {
            ca_pem: ca.pem(),
            dir,
        }
    }
}

/// coturn with TLS on a free port besides its UDP/TCP one; its TLS address.
fn coturn_with_tls(pki: &Pki) -> Option<(Coturn, SocketAddr)> {
    let tls_port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cert = format!("--cert={}", pki.dir.path().join("cert.pem").display());
    let pkey = format!("--pkey={}", pki.dir.path().join("key.pem").display());
    let port = format!("--tls-listening-port={tls_port}");
    let coturn = Coturn::start(&[&cert, &pkey, &port])?;
    Some((
        coturn,
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), tls_port),
    ))
}

fn agent(role: IceRole, turn: TurnServerConfig) -> IceTransport {
    let config = DriverConfig {
        ice: IceConfig {
            role,
            candidate_filter: CandidateFilter::RelayOnly,
            turn_servers: vec![turn],
            ..Default::default()
        },
        networks: NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        ..Default::default()
    };
    IceTransport::bind(config).unwrap()
}

/// Forwards `from`'s candidates to `to` until `from` finished gathering;
/// every event seen.
async fn signal(from: &IceTransport, to: &IceTransport) -> Vec<IceEvent> {
    let mut seen = Vec::new();
    loop {
        let event = timeout(WAIT, from.next_event())
            .await
            .unwrap_or_else(|_| panic!("gathering did not complete; events: {seen:?}"))
            .expect("alive");
        seen.push(event.clone());
        match event {
            IceEvent::LocalCandidate(c) => to.add_remote_candidate(c).await.unwrap(),
            IceEvent::GatheringStateChanged(GatheringState::Complete) => break,
            _ => {}
        }
    }
    to.end_of_remote_candidates().await.unwrap();
    seen
}

fn relay_candidates(events: &[IceEvent]) -> Vec<&ice::Candidate> {
    events
        .iter()
        .filter_map(|e| match e {
            IceEvent::LocalCandidate(c) => Some(c),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs coturn; run in a loopback-only namespace (see the module docs)"]
async fn coturn_tls_relay_only_agents_exchange_data() {
    let pki = Pki::new();
    let Some((coturn, tls_addr)) = coturn_with_tls(&pki) else {
        return;
    };
    // Verification on: the test CA is trusted, the name is the IP.
    let turn = TurnServerConfig::tls(
        tls_addr,
        TurnTlsConfig::new("127.0.0.1").with_extra_ca_pem(pki.ca_pem.clone()),
        "user",
        "pass",
    );
    let a = agent(IceRole::Controlling, turn.clone());
    let b = agent(IceRole::Controlled, turn);
    a.set_remote_credentials(b.local_credentials())
        .await
        .unwrap();
    b.set_remote_credentials(a.local_credentials())
        .await
        .unwrap();
    let from_a = signal(&a, &b).await;
    let from_b = signal(&b, &a).await;
    for events in [&from_a, &from_b] {
        let relays = relay_candidates(events);
        assert!(
            !relays.is_empty() && relays.iter().all(|c| c.kind == CandidateKind::Relay),
            "relay-only over TLS signalled {events:?}; coturn log:\n{}",
            coturn.log()
        );
        // TLS relays rank lowest: type preference 0 (UDP 2, TCP 1).
        assert!(relays.iter().all(|c| c.priority >> 24 == 0), "{relays:?}");
        assert!(!events
            .iter()
            .any(|e| matches!(e, IceEvent::CandidateError(_))));
    }
    timeout(WAIT, a.connected()).await.unwrap().unwrap();
    timeout(WAIT, b.connected()).await.unwrap().unwrap();
    let mut buf = [0u8; 2048];
    let big = vec![0x80u8; 1200];
    for i in 0..10u8 {
        a.send(&[0x80, i]).await.unwrap();
        let n = timeout(WAIT, b.recv(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf[..n], &[0x80, i]);
        // Odd lengths exercise ChannelData padding inside TLS.
        let reply = vec![0x81; 1 + i as usize];
        b.send(&reply).await.unwrap();
        let n = timeout(WAIT, a.recv(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf[..n], &reply[..]);
    }
    a.send(&big).await.unwrap();
    let n = timeout(WAIT, b.recv(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf[..n], &big[..]);
    // The route goes through the TURN server over its TLS connection.
    let route = a.route().unwrap();
    assert_eq!(route.transport, ice::TransportProtocol::Udp, "{route:?}");
    println!("relay <-> relay over TLS: {route:?}");
    a.close().await.unwrap();
    b.close().await.unwrap();
    drop(coturn);
}

/// Gathers with `tls` against coturn's TLS port; the candidate error.
async fn rejected(tls_addr: SocketAddr, tls: TurnTlsConfig) -> CandidateError {
    let a = agent(
        IceRole::Controlling,
        TurnServerConfig::tls(tls_addr, tls, "user", "pass"),
    );
    let mut seen = Vec::new();
    let error = loop {
        let event = timeout(WAIT, a.next_event())
            .await
            .unwrap_or_else(|_| panic!("no candidate error; events: {seen:?}"))
            .expect("alive");
        match event {
            IceEvent::CandidateError(e) => break e,
            IceEvent::LocalCandidate(c) => panic!("a relay candidate despite the certificate: {c}"),
            other => seen.push(other),
        }
    };
    // Gathering still completes, without a relay candidate.
    loop {
        match timeout(WAIT, a.next_event()).await.unwrap().expect("alive") {
            IceEvent::GatheringStateChanged(GatheringState::Complete) => break,
            IceEvent::LocalCandidate(c) => panic!("a relay candidate despite the certificate: {c}"),
            _ => {}
        }
    }
    a.close().await.unwrap();
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs coturn; run in a loopback-only namespace (see the module docs)"]
async fn coturn_tls_untrusted_certificate_fails_the_allocation() {
    let pki = Pki::new();
    let Some((coturn, tls_addr)) = coturn_with_tls(&pki) else {
        return;
    };
    // Verification on, the test CA not trusted.
    let e = rejected(tls_addr, TurnTlsConfig::new("127.0.0.1")).await;
    println!("untrusted: {e:?}");
    assert_eq!((e.server, e.tls, e.code), (tls_addr, true, None));
    assert!(
        e.reason.contains("certificate rejected") && e.reason.contains("issuer"),
        "{}",
        e.reason
    );
    // Trusted CA, but the certificate is not for this name.
    let tls = TurnTlsConfig::new("other.test").with_extra_ca_pem(pki.ca_pem.clone());
    let e = rejected(tls_addr, tls).await;
    println!("misnamed: {e:?}");
    assert!(
        e.reason.contains("certificate rejected") && e.reason.contains("mismatch"),
        "{}",
        e.reason
    );
    drop(coturn);
}
