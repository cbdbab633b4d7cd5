//! Property tests: whatever bytes arrive from DTLS, `SctpTransport` never
//! panics — fresh (either role), and established with a channel open, where
//! the packets get a valid common header (the association's verification
//! tag, a correct CRC32c) so they reach chunk parsing, the association and
//! the DCEP layer instead of stopping at the checksum.

use std::time::{Duration, Instant};

use media_channels::data::{
    DataChannelEvent, DataChannelInit, DtlsRole, SctpConfig, SctpTransport,
};
use proptest::collection::vec;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// CRC32c (Castagnoli), as SCTP computes it (RFC 9260 appendix A).
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// An SCTP packet: ports 5000→5000, `vtag`, `chunks`, and a valid checksum.
fn packet(vtag: [u8; 4], chunks: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + chunks.len());
    p.extend_from_slice(&5000u16.to_be_bytes());
    p.extend_from_slice(&5000u16.to_be_bytes());
    p.extend_from_slice(&vtag);
    p.extend_from_slice(&[0; 4]);
    p.extend_from_slice(chunks);
    let crc = crc32c(&p);
    p[8..12].copy_from_slice(&crc.to_le_bytes());
    p
}

/// Drains everything a transport wants to say, handing packets to `peer`.
fn drain(t: &mut SctpTransport, peer: Option<&mut SctpTransport>, now: Instant) {
    while t.poll_event().is_some() {}
    let mut out = Vec::new();
    while let Some(p) = t.poll_transmit(now) {
        out.push(p);
    }
    if let Some(peer) = peer {
        for p in out {
            peer.handle_receive(now, &p);
        }
    }
}

/// Two transports with the association up and channel 0 open both ways;
/// returns them, the time, and the verification tag b expects.
fn established() -> (SctpTransport, SctpTransport, Instant, [u8; 4]) {
    let mut now = Instant::now();
    let mut a = SctpTransport::new(SctpConfig::default(), DtlsRole::Client);
    let mut b = SctpTransport::new(SctpConfig::default(), DtlsRole::Server);
    a.connect(now).unwrap();
    b.connect(now).unwrap();
    a.create_channel(now, DataChannelInit::new("x")).unwrap();
    let mut vtag = None;
    for _ in 0..20 {
        while let Some(p) = a.poll_transmit(now) {
            // After the handshake a's packets carry b's tag.
            if b.is_connected() {
                vtag = Some([p[4], p[5], p[6], p[7]]);
            }
            b.handle_receive(now, &p);
        }
        drain(&mut b, Some(&mut a), now);
        while a.poll_event().is_some() {}
        if vtag.is_some() && b.channel(0).is_some() {
            break;
        }
        now += Duration::from_millis(250);
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    if vtag.is_none() {
        // Make a send something now that the association is up.
        a.send(now, 0, b"tag", true).unwrap();
        let p = a.poll_transmit(now).expect("a DATA packet");
        vtag = Some([p[4], p[5], p[6], p[7]]);
        b.handle_receive(now, &p);
    }
    assert!(b.channel(0).is_some(), "channel open on b");
    (a, b, now, vtag.unwrap())
}

/// A chunk: a type SCTP knows (mostly), flags, and a body; the length field
/// is usually right and sometimes arbitrary.
fn chunk() -> impl Strategy<Value = Vec<u8>> {
    let kinds = prop_oneof![
        Just(0u8),   // DATA
        Just(1u8),   // INIT
        Just(2u8),   // INIT ACK
        Just(3u8),   // SACK
        Just(4u8),   // HEARTBEAT
        Just(5u8),   // HEARTBEAT ACK
        Just(6u8),   // ABORT
        Just(7u8),   // SHUTDOWN
        Just(8u8),   // SHUTDOWN ACK
        Just(9u8),   // ERROR
        Just(10u8),  // COOKIE ECHO
        Just(11u8),  // COOKIE ACK
        Just(14u8),  // SHUTDOWN COMPLETE
        Just(130u8), // RE-CONFIG
        Just(192u8), // FORWARD TSN
        any::<u8>(),
    ];
    (
        kinds,
        any::<u8>(),
        vec(any::<u8>(), 0..64),
        any::<bool>(),
        any::<u16>(),
    )
        .prop_map(|(kind, flags, body, honest, len)| {
            let len = if honest { 4 + body.len() as u16 } else { len };
            let mut c = vec![kind, flags];
            c.extend_from_slice(&len.to_be_bytes());
            c.extend_from_slice(&body);
            while c.len() % 4 != 0 {
                c.push(0);
            }
            c
        })
}

/// A DATA chunk on a stream with a PPID and payload, often DCEP.
fn data_chunk() -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..8,
        any::<u32>(),
        0u16..4,
        any::<u16>(),
        prop_oneof![
            Just(50u32),
            Just(51),
            Just(53),
            Just(56),
            Just(57),
            any::<u32>()
        ],
        vec(any::<u8>(), 0..40),
    )
        .prop_map(|(flags, tsn, stream, ssn, ppid, payload)| {
            let mut c = vec![0, flags];
            c.extend_from_slice(&(16 + payload.len() as u16).to_be_bytes());
            c.extend_from_slice(&tsn.to_be_bytes());
            c.extend_from_slice(&stream.to_be_bytes());
            c.extend_from_slice(&ssn.to_be_bytes());
            c.extend_from_slice(&ppid.to_be_bytes());
            c.extend_from_slice(&payload);
            while c.len() % 4 != 0 {
                c.push(0);
            }
            c
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fresh_transport_survives_anything(
        server in any::<bool>(),
        packets in vec(vec(any::<u8>(), 0..200), 1..8),
        framed in any::<bool>(),
    ) {
        let role = if server { DtlsRole::Server } else { DtlsRole::Client };
        let mut now = Instant::now();
        let mut t = SctpTransport::new(SctpConfig::default(), role);
        t.connect(now).unwrap();
        for p in packets {
            if framed {
                t.handle_receive(now, &packet([0; 4], &p));
            } else {
                t.handle_receive(now, &p);
            }
            drain(&mut t, None, now);
            now += Duration::from_millis(100);
            t.handle_timeout(now);
        }
    }

    #[test]
    fn established_transport_survives_anything(
        chunks in vec(prop_oneof![chunk(), data_chunk()], 1..6),
        raw in vec(any::<u8>(), 0..100),
        right_tag in any::<bool>(),
    ) {
        let (mut a, mut b, mut now, vtag) = established();
        let tag = if right_tag { vtag } else { [0; 4] };
        b.handle_receive(now, &raw);
        for c in &chunks {
            b.handle_receive(now, &packet(tag, c));
            drain(&mut b, Some(&mut a), now);
        }
        b.handle_receive(now, &packet(tag, &chunks.concat()));
        for _ in 0..5 {
            drain(&mut b, Some(&mut a), now);
            drain(&mut a, Some(&mut b), now);
            now += Duration::from_millis(300);
            a.handle_timeout(now);
            b.handle_timeout(now);
        }
        // Whatever happened, the API still answers without panicking.
        let _ = b.send(now, 0, b"after", true);
        let _ = b.close(now, 0);
        drain(&mut b, Some(&mut a), now);
    }

    #[test]
    fn garbage_with_a_wrong_tag_leaves_the_association_alone(
        chunks in vec(chunk(), 1..4),
    ) {
        let (mut a, mut b, now, vtag) = established();
        let wrong = [vtag[0] ^ 0x55, vtag[1], vtag[2], vtag[3]];
        for c in &chunks {
            b.handle_receive(now, &packet(wrong, c));
        }
        // Channel 0 still carries a message from a to b.
        a.send(now, 0, b"still here", true).unwrap();
        drain(&mut a, Some(&mut b), now);
        let mut got = false;
        while let Some(e) = b.poll_event() {
            if let DataChannelEvent::Message { id: 0, data, .. } = e {
                got |= &data[..] == b"still here";
            }
        }
        prop_assert!(got);
    }
}

/// The framing reaches the association: an ABORT with the right tag and
/// checksum ends it (so the properties above exercise more than the CRC).
#[test]
fn framed_packets_reach_the_association() {
    let (_a, mut b, now, vtag) = established();
    while b.poll_event().is_some() {}
    b.handle_receive(now, &packet(vtag, &[6, 0, 0, 4]));
    let events: Vec<_> = std::iter::from_fn(|| b.poll_event()).collect();
    assert_eq!(
        events,
        vec![
            DataChannelEvent::Error {
                id: None,
                error: media_channels::Error::SctpAssociationLost
            },
            DataChannelEvent::ChannelClosed { id: 0 },
        ]
    );
    assert!(b.is_closed());
    assert_eq!(
        b.send(now, 0, b"x", true),
        Err(media_channels::Error::NotConnected)
    );
}
