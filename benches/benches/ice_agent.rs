//! ICE agent benchmarks on the sans-IO core (no sockets, no clock):
//!
//! - `ice_connect/in_memory`: two agents that already hold each other's
//!   credentials and host candidates exchange checks through memory until both
//!   have a route: the CPU cost of an ICE connection, without network latency.
//! - `ice_checks/handle_check`: one authenticated connectivity check in, its
//!   signed response out (the per-check cost that bounds checks/s).
//!
//! Run: `cargo bench -p peerstack-benches --bench ice_agent -- --warm-up-time 1 --measurement-time 3`

use std::net::SocketAddr;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ice::{Credentials, IceAgent, IceConfig, IceRole, Receive};

fn agents(now: Instant) -> (IceAgent, IceAgent, SocketAddr, SocketAddr) {
    let a_addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let b_addr: SocketAddr = "127.0.0.1:6000".parse().unwrap();
    let mut a = IceAgent::new(IceConfig {
        role: IceRole::Controlling,
        seed: Some(1),
        ..Default::default()
    });
    let mut b = IceAgent::new(IceConfig {
        role: IceRole::Controlled,
        seed: Some(2),
        ..Default::default()
    });
    a.add_local_socket(now, a_addr, ice::NetworkType::Loopback);
    b.add_local_socket(now, b_addr, ice::NetworkType::Loopback);
    let (ca, cb) = (a.local_credentials().clone(), b.local_credentials().clone());
    a.set_remote_credentials(now, cb);
    b.set_remote_credentials(now, ca);
    while a.poll_event().is_some() {}
    while b.poll_event().is_some() {}
    (a, b, a_addr, b_addr)
}

/// Exchanges candidates and datagrams until both agents have a route; returns the rounds used.
fn connect(a: &mut IceAgent, b: &mut IceAgent, now: Instant) -> usize {
    for c in a.local_candidates() {
        b.add_remote_candidate(now, c).unwrap();
    }
    for c in b.local_candidates() {
        a.add_remote_candidate(now, c).unwrap();
    }
    for round in 0..20 {
        while let Some(t) = a.poll_transmit(now) {
            b.handle_receive(
                now,
                Receive {
                    local: t.destination,
                    source: t.source,
                    data: &t.contents,
                },
            );
        }
        while let Some(t) = b.poll_transmit(now) {
            a.handle_receive(
                now,
                Receive {
                    local: t.destination,
                    source: t.source,
                    data: &t.contents,
                },
            );
        }
        if a.route().is_some() && b.route().is_some() {
            return round;
        }
    }
    panic!("agents did not connect");
}

fn bench_connect(c: &mut Criterion) {
    let mut g = c.benchmark_group("ice_connect");
    g.bench_function("in_memory", |bench| {
        bench.iter_batched(
            || {
                let now = Instant::now();
                let (a, b, _, _) = agents(now);
                (a, b, now)
            },
            |(mut a, mut b, now)| connect(&mut a, &mut b, now),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn bench_checks(c: &mut Criterion) {
    let now = Instant::now();
    let mut agent = IceAgent::new(IceConfig {
        role: IceRole::Controlled,
        seed: Some(3),
        credentials: Some(Credentials::new("locl", "VOkJxbRl1RmTxUk/WvJxBt").unwrap()),
        ..Default::default()
    });
    let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let source: SocketAddr = "127.0.0.1:6000".parse().unwrap();
    agent.add_local_socket(now, local, ice::NetworkType::Loopback);
    agent.set_remote_credentials(
        now,
        Credentials::new("remt", "remotepassword0123456789").unwrap(),
    );
    let key = stun::IntegrityKey::short_term("VOkJxbRl1RmTxUk/WvJxBt").unwrap();
    let mut buf = [0u8; 256];
    let mut b = stun::MessageBuilder::new(
        &mut buf,
        stun::Class::Request,
        stun::Method::BINDING,
        stun::TransactionId([9; 12]),
    )
    .unwrap();
    b.add(&stun::attributes::Username("locl:remt")).unwrap();
    b.add(&stun::attributes::Priority(1_845_501_695)).unwrap();
    b.add(&stun::attributes::IceControlling(42)).unwrap();
    b.add_message_integrity(&key).unwrap();
    b.add_fingerprint().unwrap();
    let n = b.finish();
    let check = buf[..n].to_vec();
    // The first check learns the peer-reflexive candidate and triggers a check; after that
    // every check is the steady state: verify, answer, touch the pair.
    agent.handle_receive(
        now,
        Receive {
            local,
            source,
            data: &check,
        },
    );
    while agent.poll_transmit(now).is_some() {}
    while agent.poll_event().is_some() {}
    let mut g = c.benchmark_group("ice_checks");
    g.throughput(criterion::Throughput::Elements(1));
    g.bench_function("handle_check", |bench| {
        bench.iter(|| {
            let r = agent.handle_receive(
                now,
                Receive {
                    local,
                    source,
                    data: &check,
                },
            );
            let t = agent.poll_transmit(now).expect("a response");
            (r, t.contents.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_connect, bench_checks);
criterion_main!(benches);
