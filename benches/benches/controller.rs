//! The TransportController's per-packet cost: ICE pair check, DTLS-verified
//! gating and SRTP, one 1,200-byte RTP packet each way per iteration, through
//! the two APIs the controller offers, in the same run:
//!
//! - `zero_copy`: `send_rtp_into` (protect into the caller's buffer, return
//!   where to send) and `handle_receive_in_place` (decrypt in the datagram
//!   buffer) — nothing allocated, nothing looked up by name;
//! - `queued_copy`: `send_rtp` + `poll_transmit` (a `Transmit` with its own
//!   copy) and `handle_receive_component` + `poll_event` (a plain copy in a
//!   `Media` event carrying the transport name) — the path the tokio driver
//!   and earlier versions used.
//!
//! `cargo bench -p peerstack-benches --bench controller`

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dtls_transport::controller::ControllerEvent;
use ice::Receive;

#[path = "../tests/common/controller_pair.rs"]
mod controller_pair;
use controller_pair::{connected_pair, write_rtp, zero_copy_packet, Side};

fn zero_copy(from: &mut Side, to: &mut Side, rtp: &[u8], out: &mut [u8]) -> usize {
    zero_copy_packet(from, to, false, rtp, out).range.len()
}

fn queued_copy(from: &mut Side, to: &mut Side, rtp: &[u8]) -> usize {
    let now = Instant::now();
    from.c.send_rtp(now, from.id, rtp).expect("protect");
    let t = from.c.poll_transmit(now).expect("a datagram");
    let rx = Receive {
        local: t.destination,
        source: t.source,
        data: &t.contents,
    };
    to.c.handle_receive_component(now, "0", 1, rx);
    match to.c.poll_event() {
        Some(ControllerEvent::Media { packet, .. }) => packet.len(),
        other => panic!("expected media, got {other:?}"),
    }
}

fn bench_per_packet(c: &mut Criterion) {
    let mut g = c.benchmark_group("controller_per_packet");
    // Two packets per iteration: A → B and B → A.
    g.throughput(Throughput::Elements(2));
    let (mut a, mut b) = connected_pair();
    let mut rtp_a = [0u8; 1200];
    let mut rtp_b = [0u8; 1200];
    let mut out = vec![0u8; 1500];
    let mut seq = 0u16;
    g.bench_function("zero_copy", |bench| {
        bench.iter(|| {
            seq = seq.wrapping_add(1);
            write_rtp(&mut rtp_a, seq, 0xaaaa);
            write_rtp(&mut rtp_b, seq, 0xbbbb);
            zero_copy(&mut a, &mut b, &rtp_a, &mut out)
                + zero_copy(&mut b, &mut a, &rtp_b, &mut out)
        })
    });
    let (mut a, mut b) = connected_pair();
    let mut seq = 0u16;
    g.bench_function("queued_copy", |bench| {
        bench.iter(|| {
            seq = seq.wrapping_add(1);
            write_rtp(&mut rtp_a, seq, 0xaaaa);
            write_rtp(&mut rtp_b, seq, 0xbbbb);
            queued_copy(&mut a, &mut b, &rtp_a) + queued_copy(&mut b, &mut a, &rtp_b)
        })
    });
    g.finish();
}

criterion_group!(benches, bench_per_packet);
criterion_main!(benches);
