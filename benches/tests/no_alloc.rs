//! Proof that decoding and verifying a STUN message does not touch the heap.
//!
//! A counting `#[global_allocator]` wraps the system allocator. Counting is
//! switched on per thread, only around the measured region, so the test
//! harness's own threads cannot disturb the count. The sanity tests show that
//! an allocation inside the region is counted, so a zero is meaningful.

// The workspace forbids unsafe code; implementing `GlobalAlloc` requires
// `unsafe impl`. This test (in the benchmark package only) is the one place
// that needs it, and it only forwards to `System`.
#![allow(unsafe_code)]

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations_in;
use std::hint::black_box;

use peerstack_benches::{ice_key, ice_request, ice_request_unsecured, write_ice_request};
use stun::attributes::{IceControlling, Priority, UseCandidate, Username};
use stun::{Message, MessageBuilder};

#[test]
fn decode_verify_and_typed_reads_do_not_allocate() {
    let req = ice_request();
    let key = ice_key();
    let (allocs, values) = allocations_in(|| {
        let msg = Message::parse(black_box(&req)).expect("valid");
        msg.verify_integrity(&key).expect("integrity");
        msg.verify_fingerprint().expect("fingerprint");
        let user = msg
            .get::<Username<'_>>()
            .expect("well-formed")
            .expect("present");
        let prio = msg
            .get::<Priority>()
            .expect("well-formed")
            .expect("present");
        let ctl = msg
            .get::<IceControlling>()
            .expect("well-formed")
            .expect("present");
        let nominate = msg.get::<UseCandidate>().expect("well-formed").is_some();
        let tid = msg.transaction_id();
        black_box((user.0.len(), prio.0, ctl.0, nominate, tid))
    });
    assert_eq!(values.0, peerstack_benches::USERNAME.len());
    assert_eq!(values.1, peerstack_benches::PRIORITY);
    assert_eq!(values.2, peerstack_benches::TIE_BREAKER);
    assert!(values.3);
    assert_eq!(allocs, 0, "decode + verify allocated {allocs} times");
}

#[test]
fn decoding_every_attribute_does_not_allocate() {
    let secured = ice_request();
    let plain = ice_request_unsecured();
    let (allocs, count) = allocations_in(|| {
        let mut count = 0;
        for bytes in [&secured, &plain] {
            let msg = Message::parse(black_box(bytes)).expect("valid");
            for a in msg.typed_attributes() {
                black_box(a.expect("well-formed"));
                count += 1;
            }
            count += msg.unknown_comprehension_required().count();
        }
        count
    });
    assert_eq!(count, 6 + 4);
    assert_eq!(allocs, 0, "typed attribute walk allocated {allocs} times");
}

#[test]
fn rejecting_a_bad_message_does_not_allocate() {
    let mut req = ice_request();
    let key = ice_key();
    let n = req.len();
    req[n - 1] ^= 1; // breaks FINGERPRINT
    req[24] ^= 1; // breaks MESSAGE-INTEGRITY (inside USERNAME)
    let (allocs, ()) = allocations_in(|| {
        let msg = Message::parse(black_box(&req)).expect("layout still valid");
        assert!(msg.verify_integrity(&key).is_err());
        assert!(msg.verify_fingerprint().is_err());
        assert!(Message::parse(black_box(&req[..n - 4])).is_err());
    });
    assert_eq!(allocs, 0, "rejection allocated {allocs} times");
}

#[test]
fn encode_and_sign_does_not_allocate() {
    let key = ice_key();
    let mut buf = [0u8; 128];
    let (allocs, n) = allocations_in(|| write_ice_request(black_box(&mut buf), &key, true));
    assert_eq!(&buf[..n], &ice_request()[..]);
    assert_eq!(allocs, 0, "encode + sign allocated {allocs} times");
    // The builder on its own, too.
    let (allocs, ()) = allocations_in(|| {
        let b = MessageBuilder::new(
            &mut buf,
            stun::Class::Request,
            stun::Method::BINDING,
            stun::TransactionId([0; 12]),
        );
        black_box(b.expect("fits").finish());
    });
    assert_eq!(allocs, 0);
}

#[test]
fn sanity_an_allocation_in_the_region_is_counted() {
    let (allocs, v) = allocations_in(|| black_box(Vec::<u8>::with_capacity(16)));
    assert_eq!(allocs, 1);
    drop(v);
    let (allocs, _) = allocations_in(|| {
        let mut v = black_box(Vec::<u8>::with_capacity(1));
        v.extend_from_slice(black_box(&[1, 2, 3, 4, 5, 6, 7, 8, 9]));
        black_box(v)
    });
    assert_eq!(allocs, 2, "alloc + realloc");
    let (allocs, s) = allocations_in(|| black_box(String::from("x")));
    assert_eq!(allocs, 1);
    drop(s);
}

#[test]
fn sanity_allocations_outside_the_region_are_not_counted() {
    let v = black_box(vec![1u8; 32]);
    let (allocs, ()) = allocations_in(|| {
        black_box(&v);
    });
    assert_eq!(allocs, 0);
    drop(v);
}
