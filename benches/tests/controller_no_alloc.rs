//! Proof that the TransportController's media path (ICE + DTLS-verified
//! gating + SRTP) allocates nothing per packet, in either direction, neither
//! on Rust's heap nor OpenSSL's: `send_rtp_into` protects a plain RTP or RTCP
//! packet into the caller's buffer and says where to send it, and
//! `handle_receive_in_place` checks the pair, gates on DTLS and decrypts in
//! the caller's datagram buffer. Replays and forgeries are refused without
//! allocating too. (`send_rtp` and `handle_receive_component`, which queue
//! copies, are the convenient paths and do allocate.)
//!
//! One test function only: OpenSSL accepts the counting memory functions only
//! before its first allocation in the process.

// The workspace forbids unsafe code; a `GlobalAlloc` and OpenSSL's memory
// hooks need it. Every function there only forwards to the system allocator.
#![allow(unsafe_code)]

#[path = "common/controller_pair.rs"]
mod controller_pair;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;
#[path = "common/openssl_alloc.rs"]
mod openssl_alloc;

use std::time::Instant;

use controller_pair::{connected_pair, write_rtp, zero_copy_packet, Side};
use counting_alloc::allocations_in;

/// Sends one RTP packet from `from` to `to` through the zero-copy calls; the
/// plain length `to` got.
fn one_packet(from: &mut Side, to: &mut Side, seq: u16, ssrc: u32, out: &mut [u8]) -> usize {
    let mut rtp = [0u8; 1200];
    write_rtp(&mut rtp, seq, ssrc);
    let media = zero_copy_packet(from, to, false, &rtp, out);
    assert!(!media.rtcp);
    media.range.len()
}

#[test]
fn the_controller_media_path_does_not_allocate() {
    openssl_alloc::count_openssl_allocations();
    let (mut a, mut b) = connected_pair();
    let mut out = vec![0u8; 1500];
    let mut spare = vec![0u8; 1500];
    // The first packet of each SSRC creates its SRTP table entry (allocates once).
    assert_eq!(one_packet(&mut a, &mut b, 1, 0xaaaa, &mut out), 1200);
    assert_eq!(one_packet(&mut b, &mut a, 1, 0xbbbb, &mut out), 1200);
    let rtcp = [
        0x81u8, 201, 0, 7, 0, 0, 0xbb, 0xbb, 0, 0, 0xaa, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0,
    ];

    // Likewise the first SRTCP packet of an SSRC, on both sides.
    let send =
        b.c.send_rtp_into(Instant::now(), b.id, true, &rtcp, &mut out)
            .expect("protect rtcp")
            .expect("a direct route");
    let (dst, src) = (send.destination, send.source);
    a.c.handle_receive_in_place(Instant::now(), a.id, 1, dst, src, &mut out[send.range()])
        .expect("unprotect rtcp");

    let (allocs, ()) = allocations_in(|| {
        for seq in 2..=2001u16 {
            assert_eq!(one_packet(&mut a, &mut b, seq, 0xaaaa, &mut out), 1200);
            assert_eq!(one_packet(&mut b, &mut a, seq, 0xbbbb, &mut out), 1200);
            // SRTCP back from B.
            let now = Instant::now();
            let send =
                b.c.send_rtp_into(now, b.id, true, &rtcp, &mut out)
                    .expect("protect rtcp")
                    .expect("a direct route");
            // A forged copy and a replay are refused without allocating.
            spare[..send.len].copy_from_slice(send.datagram(&out));
            spare[send.len - 1] ^= 1;
            let (dst, src) = (send.destination, send.source);
            assert!(a
                .c
                .handle_receive_in_place(now, a.id, 1, dst, src, &mut spare[..send.len])
                .is_err());
            spare[..send.len].copy_from_slice(send.datagram(&out));
            let media =
                a.c.handle_receive_in_place(now, a.id, 1, dst, src, &mut out[send.range()])
                    .expect("unprotect rtcp")
                    .expect("media");
            assert!(media.rtcp);
            assert_eq!(&out[send.range()][media.range], &rtcp[..]);
            assert!(a
                .c
                .handle_receive_in_place(now, a.id, 1, dst, src, &mut spare[..send.len])
                .is_err());
        }
    });
    assert_eq!(allocs, 0, "allocations on the controller's media path");
    // Refusals were counted, not lost.
    assert_eq!(a.c.transport("0").unwrap().srtp_errors(), 4000);

    // The counter is live: the queueing path is seen allocating.
    let mut rtp = [0u8; 1200];
    write_rtp(&mut rtp, 3000, 0xaaaa);
    let (allocs, ()) = allocations_in(|| {
        a.c.send_rtp(Instant::now(), a.id, &rtp).expect("send");
        drop(a.c.poll_transmit(Instant::now()).expect("a datagram"));
    });
    assert!(allocs >= 1, "a queued Transmit allocates");
}
