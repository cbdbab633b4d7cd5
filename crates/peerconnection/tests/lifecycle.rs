//! Closing releases everything: create, connect (a data channel open on both
//! sides over 127.0.0.1) and close two PeerConnections, many times; the
//! process's file descriptors, live tokio tasks and resident memory do not
//! grow. `PEERSTACK_LIFECYCLE_CYCLES` sets how many cycles (1,000 by default,
//! about 17 s in a debug build; the `test` step of `cargo xtask test-all` runs it).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use peerconnection::media_channels::data::DataChannelInit;
use peerconnection::media_channels::sdp::dtls_transport::ice::network::NetworkFilter;
use peerconnection::peer_connection::{
    PeerConnection, PeerConnectionEvents, PeerConnectionFactory,
};
use peerconnection::session::SessionEvent;
use peerconnection::RtcConfiguration;

#[path = "support/signal.rs"]
mod signal;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Resident memory in KiB (`/proc/self/statm`).
fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

/// Candidates from `events` to `to` once it has the remote description;
/// resolves when the local data channel end opens.
async fn pump(mut events: PeerConnectionEvents, to: PeerConnection) -> bool {
    let mut held = Vec::new();
    let mut open = false;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
        match e {
            SessionEvent::IceCandidate(c) => held.push(c),
            SessionEvent::DataChannelOpen { .. } => open = true,
            _ => {}
        }
        if !held.is_empty() && matches!(to.remote_description().await, Ok(Some(_))) {
            for c in held.drain(..) {
                let _ = to.add_ice_candidate(c).await;
            }
        }
        if open && held.is_empty() {
            return true;
        }
    }
    open
}

async fn cycle(factory: &PeerConnectionFactory) {
    let (a, ea) = factory
        .create_peer_connection(RtcConfiguration::default())
        .await
        .unwrap();
    let (b, eb) = factory
        .create_peer_connection(RtcConfiguration::default())
        .await
        .unwrap();
    a.create_data_channel(DataChannelInit::new("c"))
        .await
        .unwrap();
    signal::negotiate(&a, &b).await;
    let (pa, pb) = (
        tokio::spawn(pump(ea, b.clone())),
        tokio::spawn(pump(eb, a.clone())),
    );
    assert!(pa.await.unwrap(), "a's channel opened");
    assert!(pb.await.unwrap(), "b's channel opened");
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_connect_close_cycles_leak_nothing() {
    let cycles: usize = std::env::var("PEERSTACK_LIFECYCLE_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let factory = PeerConnectionFactory::new()
        .with_network_filter(NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]));
    let metrics = tokio::runtime::Handle::current().metrics();
    // Warm up: the allocator, OpenSSL and tokio grow their pools once.
    let warmup = (cycles / 10).max(5);
    for _ in 0..warmup {
        cycle(&factory).await;
    }
    let settle = || async {
        // Closed connections' tasks end once their close_notify is out.
        for _ in 0..100 {
            if metrics.num_alive_tasks() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    settle().await;
    let (fds, tasks, rss) = (open_fds(), metrics.num_alive_tasks(), rss_kib());
    let start = std::time::Instant::now();
    for _ in 0..cycles {
        cycle(&factory).await;
    }
    let elapsed = start.elapsed();
    settle().await;
    let (fds_after, tasks_after, rss_after) = (open_fds(), metrics.num_alive_tasks(), rss_kib());
    println!(
        "{cycles} cycles in {elapsed:.1?} ({:.1} ms each): fds {fds} -> {fds_after}, \
         tasks {tasks} -> {tasks_after}, RSS {rss} -> {rss_after} KiB",
        elapsed.as_secs_f64() * 1e3 / cycles as f64
    );
    assert_eq!(fds_after, fds, "file descriptors leaked");
    assert_eq!(tasks_after, tasks, "tasks left running");
    // Memory: a leak of even 1 KiB per connection would show as 2 MiB at
    // 1,000 cycles; allow allocator noise below that.
    let growth = rss_after.saturating_sub(rss);
    assert!(
        growth < 2048,
        "resident memory grew by {growth} KiB over {cycles} cycles"
    );
}
