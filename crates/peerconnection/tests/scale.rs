//! How many connected PeerConnections one process holds (issue #10: 10,000 on
//! this 24 GiB machine). Pairs connect over 127.0.0.1 (a data channel open on
//! both sides), all stay connected together for a while, then every one
//! closes. Prints the resident memory per connection.
//!
//! Ignored by `cargo test` (a minute of work and 10,000 sockets); the
//! main-job step of `cargo xtask test-all` runs it in release:
//! `cargo test --release -p peerconnection --test scale -- --ignored --nocapture`.
//! `PEERSTACK_SCALE_CONNECTIONS` changes the count (default 10,000).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use peerconnection::media_channels::data::DataChannelInit;
use peerconnection::media_channels::sdp::dtls_transport::certificate::{
    Certificate, KeyType, DEFAULT_VALIDITY,
};
use peerconnection::media_channels::sdp::dtls_transport::controller::PeerConnectionState;
use peerconnection::media_channels::sdp::dtls_transport::ice::network::NetworkFilter;
use peerconnection::peer_connection::{
    PeerConnection, PeerConnectionEvents, PeerConnectionFactory,
};
use peerconnection::session::SessionEvent;
use peerconnection::RtcConfiguration;
use tokio::sync::Semaphore;

#[path = "support/signal.rs"]
mod signal;

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        * 4
}

/// Candidates to `to` once it has the remote description; true when the
/// channel opened here. The events keep being drained afterwards (so the
/// connection's queue never fills) until the stream ends.
async fn pump(
    mut events: PeerConnectionEvents,
    to: PeerConnection,
    opened: tokio::sync::oneshot::Sender<bool>,
) {
    let mut held = Vec::new();
    let mut opened = Some(opened);
    while let Some(e) = events.recv().await {
        match e {
            SessionEvent::IceCandidate(c) => held.push(c),
            SessionEvent::DataChannelOpen { .. } => {
                if let Some(tx) = opened.take() {
                    let _ = tx.send(true);
                }
            }
            _ => {}
        }
        if !held.is_empty() && matches!(to.remote_description().await, Ok(Some(_))) {
            for c in held.drain(..) {
                let _ = to.add_ice_candidate(c).await;
            }
        }
    }
}

async fn connect_pair(
    factory: &PeerConnectionFactory,
    certs: &[Certificate; 2],
) -> (PeerConnection, PeerConnection) {
    let config = |c: &Certificate| RtcConfiguration {
        certificates: vec![c.clone()],
        ..RtcConfiguration::default()
    };
    let (a, ea) = factory
        .create_peer_connection(config(&certs[0]))
        .await
        .unwrap();
    let (b, eb) = factory
        .create_peer_connection(config(&certs[1]))
        .await
        .unwrap();
    let (ta, ra) = tokio::sync::oneshot::channel();
    let (tb, rb) = tokio::sync::oneshot::channel();
    tokio::spawn(pump(ea, b.clone(), ta));
    tokio::spawn(pump(eb, a.clone(), tb));
    a.create_data_channel(DataChannelInit::new("s"))
        .await
        .unwrap();
    signal::negotiate(&a, &b).await;
    let wait = Duration::from_secs(30);
    assert!(tokio::time::timeout(wait, ra).await.unwrap().unwrap());
    assert!(tokio::time::timeout(wait, rb).await.unwrap().unwrap());
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "10,000 connections: run by the main-job step in release"]
async fn ten_thousand_connected_peer_connections_in_one_process() {
    let connections: usize = std::env::var("PEERSTACK_SCALE_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let pairs = connections / 2;
    // One UDP socket per connection, plus the runtime's own.
    let soft_limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse::<usize>().ok())
        });
    if let Some(limit) = soft_limit {
        assert!(
            limit >= connections + 256,
            "the open-file limit is {limit}: {connections} connections need more (ulimit -n)"
        );
    }
    let factory = Arc::new(
        PeerConnectionFactory::new()
            .with_network_filter(NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)])),
    );
    let certs = Arc::new([
        Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap(),
        Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap(),
    ]);
    let rss_before = rss_kib();
    let start = Instant::now();
    let limit = Arc::new(Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..pairs {
        let (factory, certs, limit) = (factory.clone(), certs.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            connect_pair(&factory, &certs).await
        });
    }
    let mut all = Vec::with_capacity(pairs);
    while let Some(pair) = tasks.join_next().await {
        all.push(pair.expect("a pair connected"));
    }
    let connected_in = start.elapsed();
    // All of them at once, idle for a while (consent checks keep running).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut still = 0;
    for (a, b) in &all {
        for pc in [a, b] {
            if pc.connection_state().await.unwrap() == PeerConnectionState::Connected {
                still += 1;
            }
        }
    }
    let rss = rss_kib().saturating_sub(rss_before);
    println!(
        "{} connected PeerConnections ({pairs} pairs) in {connected_in:.1?}; {still} still \
         connected after 3 s idle; RSS {} MiB, {} KiB per connection (task, sockets, session, OpenSSL)",
        2 * all.len(),
        rss / 1024,
        rss / (2 * all.len() as u64).max(1)
    );
    assert_eq!(still, 2 * pairs, "every connection stays connected");
    for (a, b) in &all {
        a.close().await;
        b.close().await;
    }
}
