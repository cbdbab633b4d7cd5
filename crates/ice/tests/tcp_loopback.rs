//! ICE-TCP (RFC 6544) through the tokio driver on real sockets, 127.0.0.1
//! only: only the TCP candidates are signalled, so the agents must connect
//! over a TCP connection the active side opens, and data flows framed per
//! RFC 4571.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ice::driver::{DriverConfig, IceTransport};
use ice::network::NetworkFilter;
use ice::{GatheringState, IceConfig, IceEvent, IceRole, TransportProtocol};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(20);

fn config(role: IceRole) -> DriverConfig {
    DriverConfig {
        ice: IceConfig {
            role,
            ..Default::default()
        },
        networks: NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        tcp: true,
        ..Default::default()
    }
}

/// Forwards only `from`'s TCP candidates to `to` until gathering completed
/// and `expected` of them went over (an event order under load is not
/// promised between the two: see the CI note in the commit); returns how many
/// TCP candidates were forwarded, and fails with the events seen if they do
/// not all come within the wait.
async fn signal_tcp_only(from: &IceTransport, to: &IceTransport, expected: usize) -> usize {
    let mut n = 0;
    let mut complete = false;
    let mut seen = Vec::new();
    while !(complete && n >= expected) {
        let event = match timeout(WAIT, from.next_event()).await {
            Ok(event) => event.expect("alive"),
            Err(_) => {
                panic!("{n} TCP candidate(s) of {expected} within {WAIT:?}; events: {seen:?}")
            }
        };
        seen.push(format!("{event:?}"));
        match event {
            IceEvent::LocalCandidate(c) if c.transport == TransportProtocol::Tcp => {
                to.add_remote_candidate(c).await.unwrap();
                n += 1;
            }
            IceEvent::GatheringStateChanged(GatheringState::Complete) => complete = true,
            _ => {}
        }
    }
    to.end_of_remote_candidates().await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_and_carries_data_over_tcp() {
    let a = IceTransport::bind(config(IceRole::Controlling)).unwrap();
    let b = IceTransport::bind(config(IceRole::Controlled)).unwrap();
    a.set_remote_credentials(b.local_credentials())
        .await
        .unwrap();
    b.set_remote_credentials(a.local_credentials())
        .await
        .unwrap();
    // A passive and an active candidate each.
    assert_eq!(signal_tcp_only(&a, &b, 2).await, 2);
    assert_eq!(signal_tcp_only(&b, &a, 2).await, 2);
    timeout(WAIT, a.connected()).await.unwrap().unwrap();
    timeout(WAIT, b.connected()).await.unwrap().unwrap();
    // Let nomination settle: a switch between the two TCP connections (one each
    // way) mid-stream could reorder frames across them.
    for t in [&a, &b] {
        timeout(
            WAIT,
            t.wait_for_state(|s| s == ice::IceConnectionState::Completed),
        )
        .await
        .unwrap()
        .unwrap();
    }
    assert_eq!(a.route().unwrap().transport, TransportProtocol::Tcp);
    assert_eq!(b.route().unwrap().transport, TransportProtocol::Tcp);
    // Frames keep their boundaries, both ways, including a large one.
    let big = vec![0x80u8; 1200];
    for i in 0..20u8 {
        a.send(&[0x80, i]).await.unwrap();
    }
    a.send(&big).await.unwrap();
    let mut buf = [0u8; 2048];
    for i in 0..20u8 {
        let n = timeout(WAIT, b.recv(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf[..n], &[0x80, i]);
    }
    let n = timeout(WAIT, b.recv(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf[..n], &big[..]);
    b.send(b"\x80back").await.unwrap();
    let n = timeout(WAIT, a.recv(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"\x80back");
    a.close().await.unwrap();
    b.close().await.unwrap();
}
