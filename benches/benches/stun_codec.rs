//! STUN codec benchmarks: peerstack's `stun` crate side by side with stun_codec 0.4
//! and webrtc-rs `stun` 0.17 on the same 92-byte ICE Binding request.
//!
//! ```text
//! cargo bench -p peerstack-benches --bench stun_codec -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Groups (each with `ours`, `stun_codec`, `webrtc-rs` side by side):
//! - `decode_verify`: validate, check MESSAGE-INTEGRITY and FINGERPRINT, read
//!   USERNAME, PRIORITY, ICE-CONTROLLING and USE-CANDIDATE. The key is built once.
//! - `encode_sign`: build the request with MESSAGE-INTEGRITY and FINGERPRINT.
//! - `decode_all`: the same request without MESSAGE-INTEGRITY/FINGERPRINT,
//!   validated and every attribute decoded.
//! - `decode_verify_parts` (ours only): parse, MESSAGE-INTEGRITY, FINGERPRINT,
//!   the typed reads and building the key, separately.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

#[path = "common/competitors.rs"]
mod competitors;

use competitors::{codec, ours, webrtc};
use peerstack_benches::{ice_key, ice_request, ice_request_unsecured, ICE_PWD};

fn decode_verify(c: &mut Criterion) {
    let req = ice_request();
    let key = ice_key();
    let mut decoder = codec::Decoder::default();
    let mut wm = webrtc::Message::new();
    let wkey = webrtc::key();
    // All three must accept the message and read the same values, or the comparison is void.
    let expected = ours::decode_verify(&req, &key).expect("ours accepts");
    assert_eq!(
        codec::decode_verify(&mut decoder, &req, ICE_PWD),
        Some(expected)
    );
    assert_eq!(webrtc::decode_verify(&mut wm, &req, &wkey), Some(expected));

    let mut g = c.benchmark_group("decode_verify");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ours", |b| {
        b.iter(|| ours::decode_verify(black_box(&req), &key))
    });
    g.bench_function("stun_codec", |b| {
        b.iter(|| codec::decode_verify(&mut decoder, black_box(&req), ICE_PWD))
    });
    g.bench_function("webrtc-rs", |b| {
        b.iter(|| webrtc::decode_verify(&mut wm, black_box(&req), &wkey))
    });
    g.finish();
}

fn encode_sign(c: &mut Criterion) {
    let key = ice_key();
    let expected = ice_request();
    let mut encoder = codec::Encoder::default();
    let mut wm = webrtc::Message::new();
    let wkey = webrtc::key();
    let wuser = webrtc::username();
    // Byte-identical output from all three.
    assert_eq!(codec::encode_sign(&mut encoder), expected);
    webrtc::encode_sign(&mut wm, &wuser, &wkey);
    assert_eq!(wm.raw, expected);

    let mut g = c.benchmark_group("encode_sign");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ours", |b| {
        let mut buf = [0u8; 128];
        b.iter(|| {
            let n = ours::encode_sign(black_box(&mut buf), &key);
            black_box(&buf[..n]);
        })
    });
    g.bench_function("stun_codec", |b| {
        b.iter(|| codec::encode_sign(&mut encoder))
    });
    g.bench_function("webrtc-rs", |b| {
        b.iter(|| {
            webrtc::encode_sign(&mut wm, &wuser, &wkey);
            black_box(&wm.raw);
        })
    });
    g.finish();
}

fn decode_all(c: &mut Criterion) {
    let req = ice_request_unsecured();
    let mut decoder = codec::Decoder::default();
    let mut wm = webrtc::Message::new();
    let expected = ours::decode_all(&req).expect("ours accepts");
    assert_eq!(codec::decode_all(&mut decoder, &req), Some(expected));
    assert_eq!(webrtc::decode_all(&mut wm, &req), Some(expected));

    let mut g = c.benchmark_group("decode_all");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ours", |b| b.iter(|| ours::decode_all(black_box(&req))));
    g.bench_function("stun_codec", |b| {
        b.iter(|| codec::decode_all(&mut decoder, black_box(&req)))
    });
    g.bench_function("webrtc-rs", |b| {
        b.iter(|| webrtc::decode_all(&mut wm, black_box(&req)))
    });
    g.finish();
}

/// Where `decode_verify/ours` spends its time (ours only, no competitor).
fn decode_verify_parts(c: &mut Criterion) {
    use stun::attributes::{IceControlling, Priority, UseCandidate, Username};
    use stun::Message;
    let req = ice_request();
    let key = ice_key();
    let msg = Message::parse(&req).expect("valid");
    let mut g = c.benchmark_group("decode_verify_parts");
    g.bench_function("parse", |b| b.iter(|| Message::parse(black_box(&req))));
    g.bench_function("verify_integrity", |b| {
        b.iter(|| black_box(&msg).verify_integrity(&key))
    });
    g.bench_function("verify_fingerprint", |b| {
        b.iter(|| black_box(&msg).verify_fingerprint())
    });
    g.bench_function("typed_reads", |b| {
        b.iter(|| {
            let m = black_box(&msg);
            (
                m.get::<Username<'_>>(),
                m.get::<Priority>(),
                m.get::<IceControlling>(),
                m.get::<UseCandidate>(),
            )
        })
    });
    g.bench_function("short_term_key", |b| {
        b.iter(|| stun::IntegrityKey::short_term(black_box(ICE_PWD)))
    });
    g.finish();
}

criterion_group!(
    benches,
    decode_verify,
    encode_sign,
    decode_all,
    decode_verify_parts
);
criterion_main!(benches);
