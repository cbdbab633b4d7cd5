//! Memory held by an idle, connected ICE agent: live heap bytes measured with
//! a counting global allocator (one agent of a connected pair, after the
//! connection settled and the queues were drained).
#![allow(unsafe_code)] // GlobalAlloc is an unsafe trait; this test binary only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use ice::{IceAgent, IceConfig, IceRole, Receive};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

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
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn idle_connected_agent_memory() {
    let now = Instant::now();
    let before = LIVE.load(Ordering::Relaxed);
    let mut a = IceAgent::new(IceConfig {
        role: IceRole::Controlling,
        seed: Some(1),
        ..Default::default()
    });
    let after_new = LIVE.load(Ordering::Relaxed);
    let mut b = IceAgent::new(IceConfig {
        role: IceRole::Controlled,
        seed: Some(2),
        ..Default::default()
    });
    let a_addr = "127.0.0.1:5000".parse().unwrap();
    let b_addr = "127.0.0.1:6000".parse().unwrap();
    a.add_local_socket(now, a_addr, ice::NetworkType::Loopback);
    b.add_local_socket(now, b_addr, ice::NetworkType::Loopback);
    let (ca, cb) = (a.local_credentials().clone(), b.local_credentials().clone());
    a.set_remote_credentials(now, cb);
    b.set_remote_credentials(now, ca);
    for c in a.local_candidates() {
        b.add_remote_candidate(now, c).unwrap();
    }
    for c in b.local_candidates() {
        a.add_remote_candidate(now, c).unwrap();
    }
    let mut t = now;
    for _ in 0..50 {
        while let Some(x) = a.poll_transmit(t) {
            b.handle_receive(
                t,
                Receive {
                    local: x.destination,
                    source: x.source,
                    data: &x.contents,
                },
            );
        }
        while let Some(x) = b.poll_transmit(t) {
            a.handle_receive(
                t,
                Receive {
                    local: x.destination,
                    source: x.source,
                    data: &x.contents,
                },
            );
        }
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        t += Duration::from_millis(100);
        a.handle_timeout(t);
        b.handle_timeout(t);
    }
    assert!(a.route().is_some() && b.route().is_some());
    // Both agents live: half the growth is one agent (they are symmetric up to role).
    let live_pair = LIVE.load(Ordering::Relaxed) - before;
    let inline = std::mem::size_of::<IceAgent>() as isize;
    let per_agent = live_pair / 2 + inline;
    println!(
        "ICE agent: {} B inline + {} B heap after new(); idle connected: ~{} B per agent ({} B heap for the pair + {} B inline each)",
        inline,
        after_new - before,
        per_agent,
        live_pair,
        inline
    );
    // A bound that catches regressions (a runaway queue or table), not a goal.
    assert!(per_agent < 64 * 1024, "idle agent holds {per_agent} bytes");
    drop((a, b));
}
