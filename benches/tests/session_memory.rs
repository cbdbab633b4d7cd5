//! Memory held by a connected, idle `Session` (the sans-IO core of a
//! PeerConnection: ICE, DTLS, SRTP, SCTP with one open data channel), issue
//! #10's "at most 64 KiB per idle connection in the core".
//!
//! Pairs of sessions are connected in memory on virtual time (fake socket
//! addresses, every datagram handed over), a data channel opened, the
//! queues drained and 30 s of virtual time run (consent checks, heartbeats,
//! and the timer-driven idle compaction of the event queues and DTLS
//! buffers); then
//! - Rust heap bytes still allocated per session (a counting global
//!   allocator; OpenSSL's own allocations go through libc `malloc` and are
//!   not in this number), and
//! - resident memory per session (RSS growth over all pairs / sessions),
//!   which includes OpenSSL's SSL objects.
#![allow(unsafe_code)] // GlobalAlloc is an unsafe trait; this test binary only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use media_channels::sdp::dtls_transport::certificate::{Certificate, KeyType, DEFAULT_VALIDITY};
use media_channels::sdp::dtls_transport::ice::{NetworkType, Receive};
use peerconnection::media_channels::data::DataChannelInit;
use peerconnection::session::{Session, SessionConfig, SessionEvent};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` unchanged; the counter is an atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many connected pairs are measured.
const PAIRS: usize = 200;

fn rss_kib() -> i64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(0)
        * 4
}

struct Peer {
    s: Session,
    sockets: HashMap<SocketAddr, (String, u16)>,
    port: u16,
    open: bool,
}

impl Peer {
    fn new(seed: u64, port: u16, certificate: &Certificate, now: Instant) -> Peer {
        let mut config = SessionConfig::new(certificate.clone());
        config.ice.seed = Some(seed);
        Peer {
            s: Session::new(config, now),
            sockets: HashMap::new(),
            port,
            open: false,
        }
    }

    fn step(&mut self, other: &mut Peer, now: Instant) {
        while let Some(request) = self.s.poll_gather() {
            let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
            self.port += 1;
            self.sockets
                .insert(addr, (request.transport.clone(), request.component));
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
        self.s.handle_timeout(now);
        while let Some(t) = self.s.poll_transmit(now).map(|t| t.transmit) {
            if let Some((transport, component)) = other.sockets.get(&t.destination).cloned() {
                let receive = Receive {
                    local: t.destination,
                    source: t.source,
                    data: &t.contents,
                };
                other.s.handle_receive(now, &transport, component, receive);
            }
        }
        while let Some(e) = self.s.poll_event() {
            match e {
                SessionEvent::IceCandidate(c) if other.s.remote_description().is_some() => {
                    other.s.add_ice_candidate(now, c).unwrap();
                }
                SessionEvent::DataChannelOpen { .. } => self.open = true,
                _ => {}
            }
        }
    }
}

/// Two sessions with a data channel open between them, then `idle` of
/// virtual time with timers (consent checks, SCTP heartbeats) running.
fn connected_pair(
    i: usize,
    certs: &[Certificate; 2],
    start: Instant,
    idle: Duration,
) -> (Peer, Peer) {
    let base = 10_000 + (i as u16 % 2_000) * 8;
    let mut a = Peer::new(2 * i as u64 + 1, base, &certs[0], start);
    let mut b = Peer::new(2 * i as u64 + 2, base + 4, &certs[1], start);
    let now = start;
    a.s.create_data_channel(now, DataChannelInit::new("idle"))
        .unwrap();
    let offer = a.s.create_offer().unwrap();
    a.s.set_local_description(now, offer.clone()).unwrap();
    b.s.set_remote_description(now, offer).unwrap();
    let answer = b.s.create_answer().unwrap();
    b.s.set_local_description(now, answer.clone()).unwrap();
    a.s.set_remote_description(now, answer).unwrap();
    let mut t = now;
    while !(a.open && b.open) {
        a.step(&mut b, t);
        b.step(&mut a, t);
        t += Duration::from_millis(1);
        assert!(t - start < Duration::from_secs(10), "pair {i} never opened");
    }
    let end = t + idle;
    while t < end {
        a.step(&mut b, t);
        b.step(&mut a, t);
        t += Duration::from_millis(100);
    }
    (a, b)
}

#[test]
fn idle_connected_session_memory() {
    let certs = [
        Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap(),
        Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap(),
    ];
    let start = Instant::now();
    // Warm up the allocator and OpenSSL's tables.
    drop(connected_pair(0, &certs, start, Duration::from_secs(1)));
    let (heap_before, rss_before) = (LIVE.load(Ordering::Relaxed), rss_kib());
    let pairs: Vec<(Peer, Peer)> = (1..=PAIRS)
        .map(|i| connected_pair(i, &certs, start, Duration::from_secs(30)))
        .collect();
    let (heap_after, rss_after) = (LIVE.load(Ordering::Relaxed), rss_kib());
    let sessions = (2 * PAIRS) as i64;
    let inline = std::mem::size_of::<Session>() as i64;
    let heap_per = (heap_after - heap_before) as i64 / sessions;
    let rss_per = (rss_after - rss_before) * 1024 / sessions;
    println!(
        "idle connected Session (data channel open): {heap_per} B Rust heap + {inline} B inline \
         per session; RSS {} KiB per session with OpenSSL ({sessions} sessions)",
        rss_per / 1024
    );
    assert!(pairs.iter().all(|(a, b)| a.open && b.open));
    assert!(
        heap_per + inline <= 64 * 1024,
        "an idle session holds {} bytes of Rust heap (target: 64 KiB)",
        heap_per + inline
    );
}
