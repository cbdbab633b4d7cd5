//! Arbitrary packets into an `SctpTransport`: a fresh one of either role, or
//! one with an established association and an open channel (a real
//! handshake with a second transport first). Nothing may panic, and every
//! output must be drainable.
//!
//! Input: one mode byte, then packets, each a 2-byte big-endian length and
//! that many bytes. Mode bit 0: established (else fresh); bit 1: give each
//! packet a valid SCTP common header (the verification tag the association
//! expects, or 0 when fresh, and a correct CRC32c) so it reaches the chunk
//! parsers instead of stopping at the checksum; bit 2: the fresh transport
//! is the DTLS server.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use media_channels::data::{DataChannelInit, DtlsRole, SctpConfig, SctpTransport};

fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    !crc
}

fn frame(vtag: [u8; 4], chunks: &[u8]) -> Vec<u8> {
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

/// a (client) and b (server) with the association up and channel 0 open;
/// the verification tag b expects.
fn established(now: &mut Instant) -> Option<(SctpTransport, SctpTransport, [u8; 4])> {
    let mut a = SctpTransport::new(SctpConfig::default(), DtlsRole::Client);
    let mut b = SctpTransport::new(SctpConfig::default(), DtlsRole::Server);
    a.connect(*now).ok()?;
    b.connect(*now).ok()?;
    a.create_channel(*now, DataChannelInit::new("fuzz")).ok()?;
    for _ in 0..20 {
        drain(&mut a, Some(&mut b), *now);
        drain(&mut b, Some(&mut a), *now);
        if b.channel(0).is_some() {
            a.send(*now, 0, b"tag", true).ok()?;
            let p = a.poll_transmit(*now)?;
            b.handle_receive(*now, &p);
            return Some((a, b, [p[4], p[5], p[6], p[7]]));
        }
        *now += Duration::from_millis(250);
        a.handle_timeout(*now);
        b.handle_timeout(*now);
    }
    None
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else { return };
    let mut packets = Vec::new();
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        packets.push(&rest[2..2 + len]);
        rest = &rest[2 + len..];
    }
    let mut now = Instant::now();
    let (mut peer, mut target, vtag) = if mode & 1 != 0 {
        let Some((a, b, vtag)) = established(&mut now) else { panic!("handshake failed") };
        (Some(a), b, vtag)
    } else {
        let role = if mode & 4 != 0 { DtlsRole::Server } else { DtlsRole::Client };
        let mut t = SctpTransport::new(SctpConfig::default(), role);
        t.connect(now).expect("fresh transport connects");
        (None, t, [0; 4])
    };
    for p in packets {
        if mode & 2 != 0 {
            target.handle_receive(now, &frame(vtag, p));
        } else {
            target.handle_receive(now, p);
        }
        drain(&mut target, peer.as_mut(), now);
        if let Some(peer) = peer.as_mut() {
            drain(peer, Some(&mut target), now);
        }
        now += Duration::from_millis(50);
        target.handle_timeout(now);
    }
    let _ = target.send(now, 0, b"after", true);
    let _ = target.close(now, 0);
    drain(&mut target, peer.as_mut(), now);
    if let Some(t) = target.poll_timeout() {
        target.handle_timeout(t.max(now));
    }
});
