//! The tokio driver on real UDP sockets, 127.0.0.1 only: connect, exchange
//! data, close; ICE restart with data flowing; a peer that disappears;
//! the bounded receive queue.
//!
//! Every wait has a timeout, so a regression fails instead of hanging.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ice::driver::{DriverConfig, IceTransport};
use ice::network::NetworkFilter;
use ice::{Error, GatheringState, IceConfig, IceConnectionState, IceEvent, IceRole};
use stun::RetransmitConfig;
use tokio::time::timeout;

/// Generous: the machine is small and shared.
const WAIT: Duration = Duration::from_secs(20);

#[path = "support/tracing.rs"]
mod tracing_support;
use tracing_support::init_tracing;

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

/// Short consent timers, so a dead peer is noticed within seconds.
fn fast_consent(role: IceRole) -> DriverConfig {
    let mut c = config(role);
    c.ice.consent_interval = Duration::from_millis(200);
    c.ice.consent_timeout = Duration::from_secs(2);
    c.ice.keepalive_interval = Duration::from_millis(500);
    c.ice.check_retransmit = RetransmitConfig {
        initial_rto: Duration::from_millis(50),
        max_rto: Duration::from_millis(200),
        max_transmissions: 3,
        last_wait: Duration::from_millis(200),
        reliable_timeout: Duration::from_secs(1),
        max_outstanding: 256,
    };
    c
}

/// Forwards `from`'s candidates to `to` until `from` has gathered everything,
/// then signals end-of-candidates.
async fn signal(from: &IceTransport, to: &IceTransport) -> usize {
    let mut n = 0;
    loop {
        let event = timeout(WAIT, from.next_event())
            .await
            .expect("gathering completes")
            .expect("transport alive");
        match event {
            IceEvent::LocalCandidate(c) => {
                assert_eq!(c.socket_addr().unwrap().ip(), Ipv4Addr::LOCALHOST);
                to.add_remote_candidate(c).await.unwrap();
                n += 1;
            }
            IceEvent::GatheringStateChanged(GatheringState::Complete) => {
                to.end_of_remote_candidates().await.unwrap();
                return n;
            }
            _ => {}
        }
    }
}

/// Binds two transports, signals, waits until both are connected; returns
/// them and the time from "both have the other's candidates" to "both connected".
async fn connect(ca: DriverConfig, cb: DriverConfig) -> (IceTransport, IceTransport, Duration) {
    let a = IceTransport::bind(ca).unwrap();
    let b = IceTransport::bind(cb).unwrap();
    a.set_remote_credentials(b.local_credentials())
        .await
        .unwrap();
    b.set_remote_credentials(a.local_credentials())
        .await
        .unwrap();
    let (na, nb) = tokio::join!(signal(&a, &b), signal(&b, &a));
    assert!(na >= 1 && nb >= 1, "one host candidate each on 127.0.0.1");
    let signalled = Instant::now();
    let (ra, rb) = timeout(WAIT, async { tokio::join!(a.connected(), b.connected()) })
        .await
        .expect("both connect in time");
    ra.unwrap();
    rb.unwrap();
    let elapsed = signalled.elapsed();
    assert!(a.route().is_some() && b.route().is_some());
    (a, b, elapsed)
}

/// Sends `msg` from `from` until `to` receives it (UDP: retry, bounded).
async fn deliver(from: &IceTransport, to: &IceTransport, msg: &[u8]) {
    let mut buf = [0u8; 1500];
    for _ in 0..50 {
        from.send(msg).await.unwrap();
        if let Ok(r) = timeout(Duration::from_millis(200), to.recv(&mut buf)).await {
            let n = r.unwrap();
            if &buf[..n] == msg {
                return;
            }
        }
    }
    panic!("{:?} never arrived", String::from_utf8_lossy(msg));
}

async fn wait_for_event(t: &IceTransport, mut f: impl FnMut(&IceEvent) -> bool) -> IceEvent {
    timeout(WAIT, async {
        loop {
            let e = t.next_event().await.expect("transport alive");
            if f(&e) {
                return e;
            }
        }
    })
    .await
    .expect("event arrives in time")
}

#[tokio::test]
async fn connect_exchange_and_close() {
    init_tracing();
    let (a, b, elapsed) = connect(config(IceRole::Controlling), config(IceRole::Controlled)).await;
    println!("loopback: connected {elapsed:?} after both had the other's candidates");

    deliver(&a, &b, b"hello from a").await;
    deliver(&b, &a, b"hello from b").await;
    // A short buffer truncates, as UDP does.
    a.send(b"0123456789").await.unwrap();
    let mut small = [0u8; 4];
    let n = timeout(WAIT, b.recv(&mut small)).await.unwrap().unwrap();
    assert_eq!(&small[..n], b"0123");

    // Both agree on the pair: each sends to the other's socket.
    let (ra, rb) = (a.route().unwrap(), b.route().unwrap());
    assert_eq!(ra.destination, rb.source);
    assert_eq!(rb.destination, ra.source);
    assert_eq!(a.local_addrs(), vec![ra.source]);

    // Eventually Completed on the controlling side (nominated, checks over,
    // end-of-candidates received).
    timeout(
        WAIT,
        a.wait_for_state(|s| s == IceConnectionState::Completed),
    )
    .await
    .expect("completes")
    .unwrap();

    a.close().await.unwrap();
    assert_eq!(a.state(), IceConnectionState::Closed);
    assert_eq!(a.send(b"late").await, Err(Error::Closed));
    assert!(a.route().is_none());
    // The queues drain, then end.
    let last = wait_for_event(&a, |e| {
        matches!(
            e,
            IceEvent::ConnectionStateChanged(IceConnectionState::Closed)
        )
    })
    .await;
    assert_eq!(
        last,
        IceEvent::ConnectionStateChanged(IceConnectionState::Closed)
    );
    assert_eq!(timeout(WAIT, a.next_event()).await.unwrap(), None);
    assert_eq!(
        timeout(WAIT, a.recv(&mut small)).await.unwrap(),
        Err(Error::Closed)
    );
    assert!(matches!(
        a.add_remote_candidate("candidate:1 1 udp 1 127.0.0.1 9 typ host".parse().unwrap())
            .await,
        Err(Error::Closed)
    ));
    a.close().await.unwrap(); // twice is fine
    b.close().await.unwrap();
    assert_eq!(b.connected().await, Err(Error::Closed));
}

#[tokio::test]
async fn ice_restart_keeps_data_flowing() {
    init_tracing();
    let (a, b, _) = connect(config(IceRole::Controlling), config(IceRole::Controlled)).await;
    // Forget the first generation's events.
    while a.try_next_event().is_some() {}
    while b.try_next_event().is_some() {}
    let old = a.route().unwrap();

    // A steady stream from A to B during the whole restart.
    let stop = Arc::new(AtomicBool::new(false));
    let send_errors = Arc::new(AtomicU64::new(0));
    // How many were sent, once the sender has stopped.
    let total = Arc::new(AtomicU32::new(u32::MAX));
    let sender = {
        let (a, stop, errors, total) =
            (a.clone(), stop.clone(), send_errors.clone(), total.clone());
        tokio::spawn(async move {
            let mut seq = 0u32;
            while !stop.load(Ordering::Relaxed) {
                // Application data must not look like STUN (first byte 0–3, RFC 7983).
                let mut msg = [b'd'; 5];
                msg[1..].copy_from_slice(&seq.to_be_bytes());
                if a.send(&msg).await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                seq += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            total.store(seq, Ordering::Release);
            seq
        })
    };
    let receiver = {
        let (b, total) = (b.clone(), total.clone());
        tokio::spawn(async move {
            let mut seen = std::collections::BTreeSet::new();
            let mut buf = [0u8; 64];
            // Until everything sent has arrived, or nothing arrives for WAIT.
            let mut progress = Instant::now();
            while seen.len() as u64 != u64::from(total.load(Ordering::Acquire))
                && progress.elapsed() < WAIT
            {
                if let Ok(r) = timeout(Duration::from_millis(50), b.recv(&mut buf)).await {
                    let n = r.expect("receive");
                    if n == 5 && buf[0] == b'd' {
                        seen.insert(u32::from_be_bytes(buf[1..5].try_into().unwrap()));
                        progress = Instant::now();
                    }
                }
            }
            seen
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;

    let before = a.local_credentials();
    let (ca, cb) = (a.restart().await.unwrap(), b.restart().await.unwrap());
    assert_ne!(ca.ufrag, before.ufrag);
    assert_eq!(a.local_credentials(), ca);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The old pair still carries data while the new credentials travel.
    assert_eq!(a.route(), Some(old));
    a.set_remote_credentials(cb.clone()).await.unwrap();
    b.set_remote_credentials(ca.clone()).await.unwrap();
    // restart() queued the new generation's candidates before returning.
    // Draining them may also consume the selection of the new pair: remember it.
    let new_pair = |e: &IceEvent, ufrag: &str| {
        matches!(e, IceEvent::SelectedPairChanged { local, .. }
            if local.ufrag.as_deref() == Some(ufrag))
    };
    let mut selected = [false, false];
    for (i, from, to, ufrag) in [(0, &a, &b, &ca.ufrag), (1, &b, &a, &cb.ufrag)] {
        let mut n = 0;
        while let Some(e) = from.try_next_event() {
            selected[i] |= new_pair(&e, ufrag);
            if let IceEvent::LocalCandidate(c) = e {
                assert_eq!(c.ufrag.as_ref(), Some(ufrag));
                to.add_remote_candidate(c).await.unwrap();
                n += 1;
            }
        }
        assert!(n >= 1, "restart re-signals the candidates");
        to.end_of_remote_candidates().await.unwrap();
    }
    // Both select a pair of the new generation.
    for (i, t, ufrag) in [(0, &a, &ca.ufrag), (1, &b, &cb.ufrag)] {
        if !selected[i] {
            wait_for_event(t, |e| new_pair(e, ufrag)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let sent = sender.await.unwrap();
    let seen = receiver.await.unwrap();
    assert_eq!(
        send_errors.load(Ordering::Relaxed),
        0,
        "there was always a route"
    );
    let missing: Vec<u32> = (0..sent).filter(|s| !seen.contains(s)).collect();
    assert!(
        missing.is_empty(),
        "{} of {sent} datagrams lost: {missing:?}",
        missing.len()
    );
    assert!(sent > 10, "the stream ran during the restart ({sent} sent)");
    println!("ICE restart: {sent} datagrams sent during the restart, none lost, no send error");
    deliver(&b, &a, b"after restart").await;
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test]
async fn vanished_peer_disconnects_then_fails() {
    init_tracing();
    let (a, b, _) = connect(
        fast_consent(IceRole::Controlling),
        fast_consent(IceRole::Controlled),
    )
    .await;
    deliver(&a, &b, b"before").await;
    // Dropping the only handle stops B's task and closes its socket.
    drop(b);
    let t0 = Instant::now();
    // Events, unlike `state()`, show every step in order.
    wait_for_event(&a, |e| {
        *e == IceEvent::ConnectionStateChanged(IceConnectionState::Disconnected)
    })
    .await;
    let disconnected = t0.elapsed();
    wait_for_event(&a, |e| {
        *e == IceEvent::ConnectionStateChanged(IceConnectionState::Failed)
    })
    .await;
    assert_eq!(a.state(), IceConnectionState::Failed);
    println!(
        "vanished peer: Disconnected after {disconnected:?}, Failed after {:?}",
        t0.elapsed()
    );
    // RFC 7675: no more data once consent has expired.
    assert_eq!(a.route(), None);
    assert_eq!(a.send(b"anyone?").await, Err(Error::NotConnected));
    a.close().await.unwrap();
}

#[tokio::test]
async fn full_receive_queue_drops_and_counts() {
    init_tracing();
    let mut cb = config(IceRole::Controlled);
    cb.recv_queue = 8;
    let (a, b, _) = connect(config(IceRole::Controlling), cb).await;
    // Nobody reads B: eight datagrams queue, the rest are dropped and counted.
    for i in 0..100u8 {
        a.send(&[b'd', i]).await.unwrap();
    }
    let ok = timeout(WAIT, async {
        while b.dropped_datagrams() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(ok.is_ok(), "datagrams beyond the queue are counted");
    let mut got = 0;
    let mut buf = [0u8; 16];
    while let Ok(Ok(_)) = timeout(Duration::from_millis(300), b.recv(&mut buf)).await {
        got += 1;
    }
    assert!((8..=100).contains(&got), "{got} received");
    assert!(b.dropped_datagrams() + got as u64 <= 100);
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test]
async fn dropping_every_handle_stops_the_task() {
    init_tracing();
    let a = IceTransport::bind(config(IceRole::Controlling)).unwrap();
    let addr = a.local_addrs()[0];
    let clone = a.clone();
    drop(a);
    // A clone keeps it alive.
    assert_ne!(clone.state(), IceConnectionState::Closed);
    drop(clone);
    // The socket is released: the address can be bound again.
    let rebound = timeout(WAIT, async {
        loop {
            if std::net::UdpSocket::bind(addr).is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        rebound.is_ok(),
        "the socket closes when the last handle goes"
    );
}
