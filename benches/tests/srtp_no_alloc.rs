//! Proof that SRTP/SRTCP protect and unprotect do not touch the heap, neither
//! Rust's nor OpenSSL's.
//!
//! A counting `#[global_allocator]` counts Rust allocations, and
//! `CRYPTO_set_mem_functions` routes OpenSSL's `CRYPTO_malloc`/`realloc`
//! through the same counter (ring's AES-GCM never allocates). Counting is
//! switched on per thread around the measured region; the sanity checks show
//! that a Rust and an OpenSSL allocation inside the region are counted, so a
//! zero is meaningful.
//!
//! One test function only: OpenSSL accepts new memory functions only before
//! its first allocation in the process.

// The workspace forbids unsafe code; a `GlobalAlloc` and OpenSSL's memory
// hooks need it. Every function here only forwards to the system allocator.
#![allow(unsafe_code)]

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
#[path = "common/openssl_alloc.rs"]
mod openssl_alloc;
use counting_alloc::allocations_in;
use std::hint::black_box;

use dtls_transport::srtp::{SrtpContext, SrtpProfile};

fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0]);
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..1188).map(|i| i as u8));
    p
}

#[test]
fn srtp_protect_and_unprotect_do_not_allocate() {
    // This is the binary's only test: nothing used OpenSSL yet.
    openssl_alloc::count_openssl_allocations();

    // Sanity: both kinds of allocation are counted inside the region.
    let (n, v) = allocations_in(|| Vec::<u8>::with_capacity(black_box(16)));
    drop(v);
    assert_eq!(n, 1, "a Rust allocation is counted");
    let (n, ctx) = allocations_in(|| openssl::cipher_ctx::CipherCtx::new().expect("ctx"));
    drop(ctx);
    assert!(n >= 1, "an OpenSSL allocation is counted");

    for profile in SrtpProfile::ALL {
        let key = vec![0x11u8; profile.master_key_len()];
        let salt = vec![0x22u8; profile.master_salt_len()];
        let mut tx = SrtpContext::new(profile, &key, &salt).expect("tx");
        let mut rx = SrtpContext::new(profile, &key, &salt).expect("rx");
        let ssrc: u32 = 0xfeed_f00d;
        let mut buf = vec![0u8; 1500];
        let mut spare = vec![0u8; 1500];
        let mut rtcp_buf = vec![0u8; 200];
        let rtcp = {
            let mut r = vec![0x80, 201, 0, 1];
            r.extend_from_slice(&ssrc.to_be_bytes());
            r.extend_from_slice(&[9u8; 40]);
            r
        };

        // The first packet of an SSRC creates its table entry (allocates once).
        let plain = rtp(65000, ssrc);
        buf[..plain.len()].copy_from_slice(&plain);
        let n = tx.protect_rtp(&mut buf, plain.len()).expect("protect");
        rx.unprotect_rtp(&mut buf[..n]).expect("unprotect");
        rtcp_buf[..rtcp.len()].copy_from_slice(&rtcp);
        let n = tx
            .protect_rtcp(&mut rtcp_buf, rtcp.len())
            .expect("protect rtcp");
        rx.unprotect_rtcp(&mut rtcp_buf[..n])
            .expect("unprotect rtcp");

        let (allocs, ()) = allocations_in(|| {
            // 2000 packets, across a rollover (65001 → 65535 → 0 → 1464).
            for i in 1..=2000u32 {
                let seq = (65000 + i) as u16;
                buf[..plain.len()].copy_from_slice(&plain);
                buf[2..4].copy_from_slice(&seq.to_be_bytes());
                let n = tx.protect_rtp(&mut buf, plain.len()).expect("protect");
                // Rejections do not allocate either: a tampered copy (a failed
                // GCM open leaves its buffer garbled), then the packet, then
                // the packet replayed.
                spare[..n].copy_from_slice(&buf[..n]);
                spare[n - 1] ^= 1;
                assert!(rx.unprotect_rtp(&mut spare[..n]).is_err());
                let m = rx.unprotect_rtp(&mut buf[..n]).expect("unprotect");
                assert_eq!(m, plain.len());
                // (The replay check comes before any crypto.)
                assert!(rx.unprotect_rtp(&mut buf[..n]).is_err());

                rtcp_buf[..rtcp.len()].copy_from_slice(&rtcp);
                let n = tx
                    .protect_rtcp(&mut rtcp_buf, rtcp.len())
                    .expect("protect rtcp");
                rx.unprotect_rtcp(&mut rtcp_buf[..n])
                    .expect("unprotect rtcp");
            }
        });
        assert_eq!(
            allocs, 0,
            "{profile}: allocations while protecting/unprotecting"
        );
        assert_eq!(rx.roc(ssrc), Some(1));
    }
}
