//! DTLS over real ICE on loopback: two ICE transports (the tokio driver, real
//! UDP sockets on 127.0.0.1) connect, then two DtlsTransports handshake over
//! the selected pair, verify each other's fingerprints, agree on DTLS-SRTP
//! keys and exchange application data.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use dtls_transport::certificate::{Certificate, KeyType};
use dtls_transport::dtls::{DtlsConfig, DtlsEvent, DtlsRole, DtlsState, DtlsTransport};
use ice::driver::{DriverConfig, IceTransport};
use ice::network::NetworkFilter;
use ice::{GatheringState, IceConfig, IceEvent, IceRole};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(20);

fn config(role: IceRole) -> DriverConfig {
    DriverConfig {
        ice: IceConfig {
            role,
            ..Default::default()
        },
        networks: NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        ..Default::default()
    }
}

async fn signal(from: &IceTransport, to: &IceTransport) {
    loop {
        match timeout(WAIT, from.next_event())
            .await
            .expect("gathering")
            .expect("alive")
        {
            IceEvent::LocalCandidate(c) => to.add_remote_candidate(c).await.unwrap(),
            IceEvent::GatheringStateChanged(GatheringState::Complete) => {
                to.end_of_remote_candidates().await.unwrap();
                return;
            }
            _ => {}
        }
    }
}

/// Moves DTLS datagrams over ICE until both transports are connected (or one fails).
async fn pump(
    a: &mut DtlsTransport,
    ia: &IceTransport,
    b: &mut DtlsTransport,
    ib: &IceTransport,
    events: &mut Vec<(bool, DtlsEvent)>,
) {
    let deadline = Instant::now() + WAIT;
    let mut buf = vec![0u8; 2048];
    while Instant::now() < deadline {
        for (is_b, d, i) in [(false, &mut *a, ia), (true, &mut *b, ib)] {
            d.handle_timeout(Instant::now());
            while let Some(datagram) = d.poll_transmit() {
                i.send(&datagram).await.unwrap();
            }
            while let Some(e) = d.poll_event() {
                events.push((is_b, e));
            }
        }
        let done = |s: DtlsState| matches!(s, DtlsState::Connected | DtlsState::Failed);
        if done(a.state())
            && done(b.state())
            && events
                .iter()
                .filter(|(_, e)| matches!(e, DtlsEvent::ApplicationData(_)))
                .count()
                >= 2
        {
            return;
        }
        for (d, i) in [(&mut *a, ia), (&mut *b, ib)] {
            if let Ok(Ok(n)) = timeout(Duration::from_millis(5), i.recv(&mut buf)).await {
                d.handle_receive(Instant::now(), &buf[..n]);
            }
        }
        if a.state() == DtlsState::Connected
            && b.state() == DtlsState::Connected
            && !events
                .iter()
                .any(|(_, e)| matches!(e, DtlsEvent::ApplicationData(_)))
        {
            let _ = a.send(b"from the client");
            let _ = b.send(b"from the server");
        }
    }
    panic!(
        "DTLS over ICE did not finish: a={:?} b={:?}",
        a.state(),
        b.state()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dtls_handshake_and_data_over_real_ice() {
    let ia = IceTransport::bind(config(IceRole::Controlling)).unwrap();
    let ib = IceTransport::bind(config(IceRole::Controlled)).unwrap();
    ia.set_remote_credentials(ib.local_credentials())
        .await
        .unwrap();
    ib.set_remote_credentials(ia.local_credentials())
        .await
        .unwrap();
    tokio::join!(signal(&ia, &ib), signal(&ib, &ia));
    timeout(WAIT, ia.connected()).await.unwrap().unwrap();
    timeout(WAIT, ib.connected()).await.unwrap().unwrap();

    let ca = Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400)).unwrap();
    let cb = Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400)).unwrap();
    let fa = ca.fingerprint(Default::default());
    let fb = cb.fingerprint(Default::default());
    let mut a =
        DtlsTransport::new(DtlsConfig::new(ca, DtlsRole::Client).with_remote_fingerprint(fb))
            .unwrap();
    let mut b =
        DtlsTransport::new(DtlsConfig::new(cb, DtlsRole::Server).with_remote_fingerprint(fa))
            .unwrap();
    let now = Instant::now();
    b.start(now);
    a.start(now);
    let mut events = Vec::new();
    pump(&mut a, &ia, &mut b, &ib, &mut events).await;
    assert_eq!(
        (a.state(), b.state()),
        (DtlsState::Connected, DtlsState::Connected)
    );
    let (ka, kb) = (a.srtp_keys().unwrap(), b.srtp_keys().unwrap());
    assert_eq!(ka.local_key, kb.remote_key);
    assert_eq!(kb.local_key, ka.remote_key);
    assert!(events.iter().any(|(is_b, e)| *is_b
        && matches!(e, DtlsEvent::ApplicationData(d) if &d[..] == b"from the client")));
    assert!(events.iter().any(|(is_b, e)| !*is_b
        && matches!(e, DtlsEvent::ApplicationData(d) if &d[..] == b"from the server")));
    ia.close().await.unwrap();
    ib.close().await.unwrap();
}
