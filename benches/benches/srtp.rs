//! SRTP benchmarks: protect and unprotect of 1200-byte RTP packets (12-byte
//! header + 1188-byte payload) for every profile, peerstack's `dtls-transport`
//! side by side with webrtc-rs `webrtc-srtp` 0.17 (default features: RustCrypto
//! AES/CTR/GCM and HMAC-SHA1) and libsrtp 2 with OpenSSL (the copy in the
//! `pylibsrtp` wheel, loaded at run time: see `common/libsrtp.rs`), one thread.
//!
//! ```text
//! cargo xtask bench srtp        # makes target/srtp-venv (libsrtp), then:
//! cargo bench -p peerstack-benches --bench srtp -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! libsrtp is `$PEERSTACK_LIBSRTP_SO`, else the wheel in `target/srtp-venv`;
//! without either its benchmarks are skipped with a message, unless
//! `PEERSTACK_REQUIRE_PEERS=1` (which `cargo xtask bench srtp` sets, see there
//! for its opt-out) makes the run fail: a comparison without its competitor
//! must not look like a complete one.
//!
//! Groups (throughput in packets, criterion's "elem/s"):
//! - `srtp_protect/<profile>`: `ours` protects in place in a buffer with tail
//!   room (only the sequence number changes between iterations, so each call
//!   has a new index); `webrtc-srtp` is `Context::encrypt_rtp(&[u8]) -> Bytes`;
//!   `libsrtp` is `srtp_protect` in place, the same way as ours.
//! - `srtp_unprotect/<profile>`: a ring of 256 packets (310 KB, cache-resident) protected beforehand
//!   is unprotected in order (`ours` copies each into a receive buffer first,
//!   as a socket read would; `webrtc-srtp` is `decrypt_rtp(&[u8]) -> Bytes`,
//!   with its 128-packet replay detector like ours; `libsrtp` copies and calls
//!   `srtp_unprotect` in place, 128-packet window). A fresh receiver per pass
//!   over the ring, created outside the timed region.
//! - `srtp_primitives`: the building blocks on 1188 bytes, to show why AES-GCM
//!   uses ring: OpenSSL AES-128-GCM with a reused `CipherCtx` vs ring's
//!   `LessSafeKey`, and HMAC-SHA1 with a cloned keyed state.
//!
//! Setup asserts that all implementations produce byte-identical packets and
//! unprotect each other's, so the comparison is of the same work.

#[path = "common/libsrtp.rs"]
mod libsrtp;

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dtls_transport::srtp::{SrtpContext, SrtpProfile};
use webrtc_srtp::context::Context as WebrtcContext;
use webrtc_srtp::option::srtp_replay_protection;
use webrtc_srtp::protection_profile::ProtectionProfile as WebrtcProfile;

const PACKET: usize = 1200;
const SSRC: u32 = 0x1234_5678;
const RING: usize = 256;

fn webrtc_profile(p: SrtpProfile) -> WebrtcProfile {
    match p {
        SrtpProfile::Aes128CmHmacSha1_80 => WebrtcProfile::Aes128CmHmacSha1_80,
        SrtpProfile::Aes128CmHmacSha1_32 => WebrtcProfile::Aes128CmHmacSha1_32,
        SrtpProfile::AeadAes128Gcm => WebrtcProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm => WebrtcProfile::AeadAes256Gcm,
    }
}

fn libsrtp_profile(p: SrtpProfile) -> libsrtp::Profile {
    match p {
        SrtpProfile::Aes128CmHmacSha1_80 => libsrtp::Profile::Aes128CmSha1_80,
        SrtpProfile::Aes128CmHmacSha1_32 => libsrtp::Profile::Aes128CmSha1_32,
        SrtpProfile::AeadAes128Gcm => libsrtp::Profile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm => libsrtp::Profile::AeadAes256Gcm,
    }
}

/// libsrtp loaded once; `None` (after saying why) when it is not available.
fn libsrtp() -> Option<&'static libsrtp::Libsrtp> {
    static LIB: OnceLock<Option<libsrtp::Libsrtp>> = OnceLock::new();
    LIB.get_or_init(|| match libsrtp::load() {
        Ok(l) => {
            println!("libsrtp: {}", l.description);
            Some(l)
        }
        Err(why) if std::env::var("PEERSTACK_REQUIRE_PEERS").is_ok_and(|v| v == "1") => {
            panic!("no libsrtp to compare with ({why}), and PEERSTACK_REQUIRE_PEERS=1")
        }
        Err(why) => {
            println!(
                "libsrtp benchmarks SKIPPED: {why}; PEERSTACK_REQUIRE_PEERS=1 makes this a failure"
            );
            None
        }
    })
    .as_ref()
}

fn key_salt(p: SrtpProfile) -> (Vec<u8>, Vec<u8>) {
    (
        (0..p.master_key_len()).map(|i| i as u8 ^ 0x5a).collect(),
        (0..p.master_salt_len()).map(|i| i as u8 ^ 0xa5).collect(),
    )
}

/// A 1200-byte RTP packet: V=2, PT 96, the given seq, SSRC, 1188-byte payload.
fn rtp_packet(seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    p.extend_from_slice(&SSRC.to_be_bytes());
    p.extend((0..PACKET - 12).map(|i| (i * 7) as u8));
    p
}

fn ours(p: SrtpProfile) -> SrtpContext {
    let (k, s) = key_salt(p);
    SrtpContext::new(p, &k, &s).expect("ours")
}

fn webrtc(p: SrtpProfile, replay: bool) -> WebrtcContext {
    let (k, s) = key_salt(p);
    let opt = replay.then(|| srtp_replay_protection(128));
    WebrtcContext::new(&k, &s, webrtc_profile(p), opt, None).expect("webrtc-srtp")
}

fn libsrtp_session(lib: &libsrtp::Libsrtp, p: SrtpProfile) -> libsrtp::Session<'_> {
    let (k, s) = key_salt(p);
    lib.session(libsrtp_profile(p), &[k, s].concat(), SSRC)
}

/// Protected packets with seq 1..=RING, after checking all sides agree.
fn protected_ring(p: SrtpProfile) -> Vec<Vec<u8>> {
    let mut tx = ours(p);
    let mut wtx = webrtc(p, false);
    let mut wrx = webrtc(p, true);
    let mut rx = ours(p);
    let mut lib = libsrtp().map(|l| (libsrtp_session(l, p), libsrtp_session(l, p), ours(p)));
    (1..=RING as u16)
        .map(|seq| {
            let plain = rtp_packet(seq);
            let mut v = plain.clone();
            tx.protect_rtp_vec(&mut v).expect("protect");
            let w = wtx.encrypt_rtp(&plain).expect("webrtc-srtp protect");
            assert_eq!(&v[..], &w[..], "{p}: protected packets differ");
            assert_eq!(
                &wrx.decrypt_rtp(&v).expect("webrtc-srtp unprotects ours")[..],
                &plain[..]
            );
            let mut u = w.to_vec();
            rx.unprotect_rtp_vec(&mut u)
                .expect("ours unprotects webrtc-srtp's");
            assert_eq!(u, plain);
            if let Some((ltx, lrx, orx)) = &mut lib {
                let mut buf = libsrtp::PacketBuf::boxed();
                buf.0[..PACKET].copy_from_slice(&plain);
                let n = ltx.protect(&mut buf, PACKET).expect("libsrtp protect");
                assert_eq!(
                    &buf.0[..n],
                    &v[..],
                    "{p}: libsrtp's protected packet differs"
                );
                let mut u = buf.0[..n].to_vec();
                orx.unprotect_rtp_vec(&mut u)
                    .expect("ours unprotects libsrtp's");
                assert_eq!(u, plain);
                buf.0[..v.len()].copy_from_slice(&v);
                let n = lrx
                    .unprotect(&mut buf, v.len())
                    .expect("libsrtp unprotects ours");
                assert_eq!(&buf.0[..n], &plain[..]);
            }
            v
        })
        .collect()
}

fn protect(c: &mut Criterion) {
    for p in SrtpProfile::ALL {
        let mut g = c.benchmark_group(format!("srtp_protect/{}", p.name()));
        g.throughput(Throughput::Elements(1));

        let mut ctx = ours(p);
        let mut buf = rtp_packet(0);
        buf.resize(PACKET + p.rtp_overhead(), 0);
        let mut seq = 0u16;
        g.bench_function("ours", |b| {
            b.iter(|| {
                seq = seq.wrapping_add(1);
                buf[2..4].copy_from_slice(&seq.to_be_bytes());
                ctx.protect_rtp(black_box(&mut buf), PACKET)
                    .expect("protect")
            })
        });

        let mut wctx = webrtc(p, false);
        let mut pkt = rtp_packet(0);
        let mut seq = 0u16;
        g.bench_function("webrtc-srtp", |b| {
            b.iter(|| {
                seq = seq.wrapping_add(1);
                pkt[2..4].copy_from_slice(&seq.to_be_bytes());
                wctx.encrypt_rtp(black_box(&pkt)).expect("protect")
            })
        });

        if let Some(lib) = libsrtp() {
            let mut s = libsrtp_session(lib, p);
            let mut buf = libsrtp::PacketBuf::boxed();
            buf.0[..PACKET].copy_from_slice(&rtp_packet(0));
            let mut seq = 0u16;
            g.bench_function("libsrtp", |b| {
                b.iter(|| {
                    seq = seq.wrapping_add(1);
                    buf.0[2..4].copy_from_slice(&seq.to_be_bytes());
                    s.protect(black_box(&mut buf), PACKET).expect("protect")
                })
            });
        }
        g.finish();
    }
}

/// Runs `one` over the ring `iters` times in total, with a fresh receiver
/// (made by `fresh`, untimed) per pass.
fn over_ring<R>(
    ring: &[Vec<u8>],
    iters: u64,
    mut fresh: impl FnMut() -> R,
    mut one: impl FnMut(&mut R, &[u8]),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0u64;
    while done < iters {
        let mut rx = fresh();
        let n = (iters - done).min(ring.len() as u64) as usize;
        let start = Instant::now();
        for pkt in &ring[..n] {
            one(&mut rx, pkt);
        }
        total += start.elapsed();
        done += n as u64;
    }
    total
}

fn unprotect(c: &mut Criterion) {
    for p in SrtpProfile::ALL {
        let ring = protected_ring(p);
        let mut g = c.benchmark_group(format!("srtp_unprotect/{}", p.name()));
        g.throughput(Throughput::Elements(1));

        let mut work = vec![0u8; PACKET + p.rtp_overhead()];
        g.bench_function("ours", |b| {
            b.iter_custom(|iters| {
                over_ring(
                    &ring,
                    iters,
                    || ours(p),
                    |rx, pkt| {
                        let w = &mut work[..pkt.len()];
                        w.copy_from_slice(pkt);
                        black_box(rx.unprotect_rtp(w).expect("unprotect"));
                    },
                )
            })
        });
        g.bench_function("webrtc-srtp", |b| {
            b.iter_custom(|iters| {
                over_ring(
                    &ring,
                    iters,
                    || webrtc(p, true),
                    |rx, pkt| {
                        black_box(rx.decrypt_rtp(black_box(pkt)).expect("unprotect"));
                    },
                )
            })
        });
        if let Some(lib) = libsrtp() {
            let mut buf = libsrtp::PacketBuf::boxed();
            g.bench_function("libsrtp", |b| {
                b.iter_custom(|iters| {
                    over_ring(
                        &ring,
                        iters,
                        || libsrtp_session(lib, p),
                        |rx, pkt| {
                            buf.0[..pkt.len()].copy_from_slice(pkt);
                            black_box(rx.unprotect(&mut buf, pkt.len()).expect("unprotect"));
                        },
                    )
                })
            });
        }
        g.finish();
    }
}

fn primitives(c: &mut Criterion) {
    use hmac::{Hmac, Mac};
    use openssl::cipher::Cipher;
    use openssl::cipher_ctx::CipherCtx;
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};

    let mut g = c.benchmark_group("srtp_primitives");
    g.throughput(Throughput::Elements(1));
    let key = [7u8; 16];
    let mut data = vec![0x55u8; PACKET + 16];
    let header = [0x80u8; 12];
    let mut n = 0u64;

    let mut gcm = CipherCtx::new().expect("ctx");
    gcm.encrypt_init(Some(Cipher::aes_128_gcm()), Some(&key), None)
        .expect("init");
    g.bench_function("aes128gcm_1188/openssl_reused_ctx", |b| {
        b.iter(|| {
            n += 1;
            let mut iv = [0u8; 12];
            iv[..8].copy_from_slice(&n.to_be_bytes());
            gcm.encrypt_init(None, None, Some(&iv)).expect("iv");
            gcm.cipher_update(&header, None).expect("aad");
            gcm.cipher_update_inplace(&mut data[..PACKET - 12], PACKET - 12)
                .expect("encrypt");
            gcm.cipher_final(&mut []).expect("final");
            let mut tag = [0u8; 16];
            gcm.tag(&mut tag).expect("tag");
            tag
        })
    });

    let rk = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).expect("key"));
    g.bench_function("aes128gcm_1188/ring", |b| {
        b.iter(|| {
            n += 1;
            let mut iv = [0u8; 12];
            iv[..8].copy_from_slice(&n.to_be_bytes());
            rk.seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(iv),
                Aad::from(&header),
                &mut data[..PACKET - 12],
            )
            .expect("seal")
        })
    });

    let mut ctr = CipherCtx::new().expect("ctx");
    ctr.encrypt_init(Some(Cipher::aes_128_ctr()), Some(&key), Some(&[0u8; 16]))
        .expect("init");
    g.bench_function("aes128ctr_1188/openssl_reused_ctx", |b| {
        b.iter(|| {
            n += 1;
            let mut iv = [0u8; 16];
            iv[..8].copy_from_slice(&n.to_be_bytes());
            ctr.encrypt_init(None, None, Some(&iv)).expect("iv");
            ctr.cipher_update_inplace(&mut data[..PACKET - 12], PACKET - 12)
                .expect("encrypt")
        })
    });

    let mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(&[3u8; 20]).expect("key");
    g.bench_function("hmac_sha1_1204/rustcrypto_cloned_state", |b| {
        b.iter(|| {
            let mut m = mac.clone();
            m.update(black_box(&data[..PACKET]));
            m.update(&[0, 0, 0, 1]);
            m.finalize().into_bytes()
        })
    });
    g.finish();
}

criterion_group!(benches, protect, unprotect, primitives);
criterion_main!(benches);
