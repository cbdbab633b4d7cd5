//! Properties of SRTP/SRTCP protect and unprotect, for every profile: round
//! trips, replay and tamper rejection, the replay window's edge, the rollover
//! counter across a sequence-number wrap (in and out of order), bounded SSRC
//! tables, and that unprotecting arbitrary bytes never panics.

use dtls_transport::srtp::{SrtpConfig, SrtpContext, SrtpProfile, SrtpSession};
use dtls_transport::Error;
use proptest::prelude::*;

const SSRC: u32 = 0x1234_5678;

fn keys(profile: SrtpProfile, fill: u8) -> (Vec<u8>, Vec<u8>) {
    (
        (0..profile.master_key_len())
            .map(|i| fill.wrapping_add(i as u8))
            .collect(),
        (0..profile.master_salt_len())
            .map(|i| fill ^ (i as u8).wrapping_mul(7))
            .collect(),
    )
}

fn pair(profile: SrtpProfile, config: SrtpConfig) -> (SrtpContext, SrtpContext) {
    let (k, s) = keys(profile, 0x42);
    (
        SrtpContext::with_config(profile, &k, &s, config.clone()).unwrap(),
        SrtpContext::with_config(profile, &k, &s, config).unwrap(),
    )
}

/// An RTP packet with `csrcs` CSRCs and an optional one-byte-header extension
/// of `ext_words` words.
fn rtp(seq: u16, ssrc: u32, payload: &[u8], csrcs: u8, ext_words: Option<u16>) -> Vec<u8> {
    let mut p = vec![0x80 | (csrcs & 0x0f), 96];
    if ext_words.is_some() {
        p[0] |= 0x10;
    }
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&0x0102_0304u32.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    for c in 0..csrcs & 0x0f {
        p.extend_from_slice(&(0xc000_0000u32 + u32::from(c)).to_be_bytes());
    }
    if let Some(words) = ext_words {
        p.extend_from_slice(&[0xbe, 0xde]);
        p.extend_from_slice(&words.to_be_bytes());
        p.extend((0..words * 4).map(|i| i as u8));
    }
    p.extend_from_slice(payload);
    p
}

/// An RTCP receiver report from `ssrc` followed by `body`.
fn rtcp(ssrc: u32, body: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 201, 0, 0];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(body);
    p
}

fn protect(ctx: &mut SrtpContext, pkt: &[u8]) -> Vec<u8> {
    let mut v = pkt.to_vec();
    ctx.protect_rtp_vec(&mut v).unwrap();
    v
}

fn protect_rtcp(ctx: &mut SrtpContext, pkt: &[u8]) -> Vec<u8> {
    let mut v = pkt.to_vec();
    ctx.protect_rtcp_vec(&mut v).unwrap();
    v
}

fn unprotect(ctx: &mut SrtpContext, pkt: &[u8]) -> Result<Vec<u8>, Error> {
    let mut v = pkt.to_vec();
    ctx.unprotect_rtp_vec(&mut v).map(|()| v)
}

fn unprotect_rtcp(ctx: &mut SrtpContext, pkt: &[u8]) -> Result<Vec<u8>, Error> {
    let mut v = pkt.to_vec();
    ctx.unprotect_rtcp_vec(&mut v).map(|()| v)
}

fn profile() -> impl Strategy<Value = SrtpProfile> {
    prop::sample::select(SrtpProfile::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn rtp_round_trip(
        profile in profile(),
        seqs in prop::collection::vec(any::<u16>(), 1..8),
        payload in prop::collection::vec(any::<u8>(), 0..300),
        csrcs in 0u8..4,
        ext in prop::option::of(0u16..4),
        ssrc in any::<u32>(),
    ) {
        let (mut tx, mut rx) = pair(profile, SrtpConfig { allow_repeat_tx: true, ..SrtpConfig::default() });
        let mut seqs = seqs;
        seqs.sort_unstable();
        seqs.dedup();
        for seq in seqs {
            let plain = rtp(seq, ssrc, &payload, csrcs, ext);
            let srtp = protect(&mut tx, &plain);
            prop_assert_eq!(srtp.len(), plain.len() + profile.rtp_overhead());
            // The header stays in the clear; a non-empty payload does not.
            let hdr = plain.len() - payload.len();
            prop_assert_eq!(&srtp[..hdr], &plain[..hdr]);
            if payload.len() >= 8 {
                prop_assert_ne!(&srtp[hdr..plain.len()], &plain[hdr..]);
            }
            prop_assert_eq!(unprotect(&mut rx, &srtp)?, plain);
        }
    }

    #[test]
    fn rtcp_round_trip(
        profile in profile(),
        count in 1usize..6,
        body in prop::collection::vec(any::<u8>(), 0..300),
        ssrc in any::<u32>(),
    ) {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        for i in 0..count {
            let plain = rtcp(ssrc, &body);
            let srtcp = protect_rtcp(&mut tx, &plain);
            prop_assert_eq!(srtcp.len(), plain.len() + profile.rtcp_overhead());
            prop_assert_eq!(&srtcp[..8], &plain[..8]);
            // E-bit set and the index counting from 0.
            let word_at = if profile.is_aead() { srtcp.len() - 4 } else { plain.len() };
            let word = u32::from_be_bytes(srtcp[word_at..word_at + 4].try_into().unwrap());
            prop_assert_eq!(word, 0x8000_0000 | i as u32);
            prop_assert_eq!(unprotect_rtcp(&mut rx, &srtcp)?, plain);
            // And once only.
            prop_assert_eq!(unprotect_rtcp(&mut rx, &srtcp), Err(Error::Replayed));
        }
    }

    /// Any single flipped bit anywhere in an SRTP or SRTCP packet is rejected.
    #[test]
    fn tampered_packets_rejected(
        profile in profile(),
        payload in prop::collection::vec(any::<u8>(), 0..200),
        bit in any::<prop::sample::Index>(),
        rtcp_bit in any::<prop::sample::Index>(),
    ) {
        let (mut tx, _) = pair(profile, SrtpConfig::default());
        let srtp = protect(&mut tx, &rtp(7, SSRC, &payload, 1, Some(1)));
        let b = bit.index(srtp.len() * 8);
        let mut bad = srtp.clone();
        bad[b / 8] ^= 1 << (b % 8);
        let (_, mut rx) = pair(profile, SrtpConfig::default());
        prop_assert!(unprotect(&mut rx, &bad).is_err(), "bit {} accepted", b);
        // The untouched packet still goes through afterwards (state unchanged).
        prop_assert!(unprotect(&mut rx, &srtp).is_ok());

        let srtcp = protect_rtcp(&mut tx, &rtcp(SSRC, &payload));
        let b = rtcp_bit.index(srtcp.len() * 8);
        let mut bad = srtcp.clone();
        bad[b / 8] ^= 1 << (b % 8);
        prop_assert!(unprotect_rtcp(&mut rx, &bad).is_err(), "RTCP bit {} accepted", b);
        prop_assert!(unprotect_rtcp(&mut rx, &srtcp).is_ok());
    }

    /// Unprotecting arbitrary bytes returns an error (or, never in practice, a
    /// packet) and does not panic; neither does protecting them.
    #[test]
    fn arbitrary_bytes_never_panic(
        profile in profile(),
        bytes in prop::collection::vec(any::<u8>(), 0..120),
        tail in 0usize..24,
    ) {
        let (mut tx, mut rx) = pair(profile, SrtpConfig { max_ssrcs: 4, ..SrtpConfig::default() });
        let mut b = bytes.clone();
        let _ = rx.unprotect_rtp(&mut b);
        let mut b = bytes.clone();
        let _ = rx.unprotect_rtcp(&mut b);
        let len = bytes.len();
        let mut b = bytes.clone();
        b.resize(len + tail, 0);
        let _ = tx.protect_rtp(&mut b, len);
        let mut b = bytes.clone();
        b.resize(len + tail, 0);
        let _ = tx.protect_rtcp(&mut b, len);
        // A length past the buffer is refused, not a panic.
        let mut b = bytes.clone();
        prop_assert_eq!(tx.protect_rtp(&mut b, len + 1), Err(Error::BufferTooSmall));
    }

    /// Valid-looking headers with arbitrary bodies: still no panic, and with a
    /// real key stream in between, the real packets still pass.
    #[test]
    fn arbitrary_bodies_with_rtp_headers(
        profile in profile(),
        first in any::<u8>(),
        body in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let mut junk = vec![first | 0x80, 96, 0, 9, 0, 0, 0, 0];
        junk.extend_from_slice(&SSRC.to_be_bytes());
        junk.extend_from_slice(&body);
        let _ = unprotect(&mut rx, &junk);
        let _ = unprotect_rtcp(&mut rx, &junk);
        let good = protect(&mut tx, &rtp(9, SSRC, b"payload", 0, None));
        prop_assert!(unprotect(&mut rx, &good).is_ok());
    }
}

#[test]
fn replayed_rtp_rejected() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let a = protect(&mut tx, &rtp(100, SSRC, b"one", 0, None));
        let b = protect(&mut tx, &rtp(101, SSRC, b"two", 0, None));
        assert!(unprotect(&mut rx, &b).is_ok());
        assert!(unprotect(&mut rx, &a).is_ok(), "{profile}: late but new");
        assert_eq!(unprotect(&mut rx, &a), Err(Error::Replayed), "{profile}");
        assert_eq!(unprotect(&mut rx, &b), Err(Error::Replayed), "{profile}");
    }
}

#[test]
fn repeated_index_on_send() {
    for profile in SrtpProfile::ALL {
        let (mut tx, _) = pair(profile, SrtpConfig::default());
        let plain = rtp(5, SSRC, b"x", 0, None);
        protect(&mut tx, &plain);
        let mut v = plain.clone();
        assert_eq!(
            tx.protect_rtp_vec(&mut v),
            Err(Error::Replayed),
            "{profile}"
        );
        assert_eq!(v, plain, "a refused packet is left as it was");

        let (mut tx, mut rx) = pair(
            profile,
            SrtpConfig {
                allow_repeat_tx: true,
                ..SrtpConfig::default()
            },
        );
        let first = protect(&mut tx, &plain);
        let again = protect(&mut tx, &plain);
        assert_eq!(first, again, "{profile}: same index, same packet");
        assert!(unprotect(&mut rx, &first).is_ok());
        assert_eq!(unprotect(&mut rx, &again), Err(Error::Replayed));
    }
}

#[test]
fn packets_older_than_the_window_rejected() {
    for (window, profile) in [
        (128, SrtpProfile::Aes128CmHmacSha1_80),
        (64, SrtpProfile::AeadAes128Gcm),
        (1000, SrtpProfile::Aes128CmHmacSha1_32),
        (200, SrtpProfile::AeadAes256Gcm),
    ] {
        let config = SrtpConfig {
            replay_window: window,
            ..SrtpConfig::default()
        };
        let (mut tx, mut rx) = pair(profile, config);
        let packets: Vec<Vec<u8>> = (0..1500u16)
            .map(|seq| protect(&mut tx, &rtp(seq, SSRC, b"media", 0, None)))
            .collect();
        let rtcps: Vec<Vec<u8>> = (0..1500)
            .map(|_| protect_rtcp(&mut tx, &rtcp(SSRC, b"report")))
            .collect();
        let newest = 1400usize;
        assert!(unprotect(&mut rx, &packets[newest]).is_ok());
        assert!(unprotect_rtcp(&mut rx, &rtcps[newest]).is_ok());
        // Exactly `window` indices are accepted: newest - window + 1 ..= newest.
        let edge = newest - window;
        assert_eq!(
            unprotect(&mut rx, &packets[edge]),
            Err(Error::Replayed),
            "{profile} window {window}"
        );
        assert_eq!(unprotect_rtcp(&mut rx, &rtcps[edge]), Err(Error::Replayed));
        assert!(unprotect(&mut rx, &packets[edge + 1]).is_ok(), "{profile}");
        assert!(unprotect_rtcp(&mut rx, &rtcps[edge + 1]).is_ok());
        assert_eq!(unprotect(&mut rx, &packets[edge + 1]), Err(Error::Replayed));
        // Newer packets keep coming.
        for p in &packets[newest + 1..] {
            assert!(unprotect(&mut rx, p).is_ok());
        }
    }
}

/// seq 65535 → 0 increments the ROC on both sides; packets from either side
/// of the wrap, delivered out of order, all decrypt, once.
#[test]
fn rollover_counter_wrap() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        // 65500 ..= 65535, 0 ..= 99, then a second wrap later.
        let seqs: Vec<u16> = (65500..=65535).chain(0..100).collect();
        let plain: Vec<Vec<u8>> = seqs
            .iter()
            .map(|&s| rtp(s, SSRC, &s.to_be_bytes().repeat(20), 0, None))
            .collect();
        let srtp: Vec<Vec<u8>> = plain.iter().map(|p| protect(&mut tx, p)).collect();
        assert_eq!(tx.roc(SSRC), Some(1), "{profile}: sender ROC after wrap");
        assert_eq!(tx.highest_index(SSRC), Some(65536 + 99));

        // Deliver: first a few before the wrap, then post-wrap ones, then the
        // remaining pre-wrap ones late, interleaved.
        let mut order: Vec<usize> = (0..10).collect();
        order.extend([40, 36, 50, 35, 34, 37]); // 0-index 36 is seq 0
        order.extend((10..34).rev());
        order.extend((38..40).chain(41..50).chain(51..seqs.len()));
        let mut seen = vec![false; seqs.len()];
        for &i in &order {
            if seen[i] {
                continue;
            }
            seen[i] = true;
            let got = unprotect(&mut rx, &srtp[i])
                .unwrap_or_else(|e| panic!("{profile}: seq {} (pos {i}) rejected: {e}", seqs[i]));
            assert_eq!(got, plain[i], "{profile}: seq {}", seqs[i]);
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(rx.roc(SSRC), Some(1), "{profile}: receiver ROC after wrap");
        // Nothing twice, from either side of the wrap.
        for i in [0, 30, 35, 36, 37, seqs.len() - 1] {
            assert_eq!(unprotect(&mut rx, &srtp[i]), Err(Error::Replayed));
        }

        // A second wrap with losses: 100 .. 65535 in strides, then 0 again.
        let mut last = Vec::new();
        for seq in (100..=65535u16).step_by(1000).chain([65535, 3]) {
            let p = rtp(seq, SSRC, b"later", 0, None);
            let s = protect(&mut tx, &p);
            assert_eq!(unprotect(&mut rx, &s).unwrap(), p, "{profile} seq {seq}");
            last = s;
        }
        assert_eq!(tx.roc(SSRC), Some(2));
        assert_eq!(rx.roc(SSRC), Some(2));
        assert_eq!(rx.highest_index(SSRC), Some(2 * 65536 + 3));
        assert_eq!(unprotect(&mut rx, &last), Err(Error::Replayed));
    }
}

/// A receiver joining mid-stream with the ROC signalled out of band.
#[test]
fn set_roc_joins_a_stream() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        tx.set_roc(SSRC, 7).unwrap();
        let p = rtp(1000, SSRC, b"late joiner", 0, None);
        let s = protect(&mut tx, &p);
        // Without the ROC the receiver guesses 0: authentication fails.
        assert_eq!(unprotect(&mut rx, &s), Err(Error::AuthenticationFailed));
        rx.set_roc(SSRC, 7).unwrap();
        assert_eq!(unprotect(&mut rx, &s).unwrap(), p);
        assert_eq!(rx.roc(SSRC), Some(7));
    }
}

#[test]
fn ssrc_tables_are_bounded() {
    for profile in SrtpProfile::ALL {
        let config = SrtpConfig {
            max_ssrcs: 3,
            ..SrtpConfig::default()
        };
        let (mut tx, mut rx) = pair(profile, config);
        let mut sent = Vec::new();
        for ssrc in 1..=3 {
            sent.push(protect(&mut tx, &rtp(1, ssrc, b"a", 0, None)));
            protect_rtcp(&mut tx, &rtcp(ssrc, b"r"));
        }
        let mut v = rtp(1, 4, b"a", 0, None);
        assert_eq!(tx.protect_rtp_vec(&mut v), Err(Error::TooManySsrcs));
        let mut v = rtcp(4, b"r");
        assert_eq!(tx.protect_rtcp_vec(&mut v), Err(Error::TooManySsrcs));

        // Unauthenticated packets from unknown SSRCs take no slot.
        for ssrc in 100..200u32 {
            let mut junk = rtp(1, ssrc, &[0u8; 40], 0, None);
            assert_eq!(
                rx.unprotect_rtp_vec(&mut junk),
                Err(Error::AuthenticationFailed)
            );
        }
        for s in &sent {
            assert!(unprotect(&mut rx, s).is_ok(), "{profile}");
        }
        tx.remove_ssrc(1);
        let fourth = protect(&mut tx, &rtp(1, 4, b"a", 0, None));
        assert_eq!(unprotect(&mut rx, &fourth), Err(Error::TooManySsrcs));
        rx.remove_ssrc(1);
        assert!(unprotect(&mut rx, &fourth).is_ok());
    }
}

#[test]
fn buffer_and_length_errors() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let p = rtp(1, SSRC, b"payload", 0, None);
        let mut buf = p.clone();
        buf.resize(p.len() + profile.rtp_overhead() - 1, 0);
        assert_eq!(
            tx.protect_rtp(&mut buf, p.len()),
            Err(Error::BufferTooSmall)
        );
        let mut buf = vec![0x80u8; 11];
        buf.resize(40, 0);
        assert_eq!(tx.protect_rtp(&mut buf, 11), Err(Error::PacketTooShort));
        let r = rtcp(SSRC, b"");
        let mut buf = r.clone();
        buf.resize(r.len() + profile.rtcp_overhead() - 1, 0);
        assert_eq!(
            tx.protect_rtcp(&mut buf, r.len()),
            Err(Error::BufferTooSmall)
        );
        let mut buf = [0u8; 40];
        assert_eq!(tx.protect_rtcp(&mut buf, 7), Err(Error::PacketTooShort));
        // An empty RTP payload and a bare RTCP header work.
        let s = protect(&mut tx, &rtp(2, SSRC, b"", 0, None));
        assert_eq!(unprotect(&mut rx, &s).unwrap(), rtp(2, SSRC, b"", 0, None));
        let s = protect_rtcp(&mut tx, &r);
        assert_eq!(unprotect_rtcp(&mut rx, &s).unwrap(), r);
        // Truncated packets.
        for cut in 1..=s.len() {
            assert!(unprotect_rtcp(&mut rx, &s[..s.len() - cut]).is_err());
        }
        let s = protect(&mut tx, &rtp(3, SSRC, b"abc", 2, Some(1)));
        for cut in 1..=s.len() {
            assert!(unprotect(&mut rx, &s[..s.len() - cut]).is_err());
        }
    }
}

#[test]
fn srtcp_index_exhaustion() {
    let (mut tx, mut rx) = pair(SrtpProfile::AeadAes128Gcm, SrtpConfig::default());
    tx.set_srtcp_index(SSRC, 0x7fff_ffff).unwrap();
    let last = protect_rtcp(&mut tx, &rtcp(SSRC, b"last"));
    assert_eq!(unprotect_rtcp(&mut rx, &last).unwrap(), rtcp(SSRC, b"last"));
    let mut v = rtcp(SSRC, b"one more");
    assert_eq!(tx.protect_rtcp_vec(&mut v), Err(Error::KeyExhausted));
}

/// Client and server sessions built from the same DTLS-SRTP keying material
/// talk to each other in both directions, and not to themselves.
#[test]
fn session_from_dtls_keying_material() {
    for profile in SrtpProfile::ALL {
        let material: Vec<u8> = (0..profile.keying_material_len())
            .map(|i| (i * 37 + 11) as u8)
            .collect();
        let mut client =
            SrtpSession::from_dtls_keying_material(profile, &material, true, SrtpConfig::default())
                .unwrap();
        let mut server = SrtpSession::from_dtls_keying_material(
            profile,
            &material,
            false,
            SrtpConfig::default(),
        )
        .unwrap();
        assert_eq!(client.profile(), profile);
        assert_eq!(
            SrtpSession::from_dtls_keying_material(
                profile,
                &material[1..],
                true,
                SrtpConfig::default()
            )
            .map(drop),
            Err(Error::KeyLength)
        );
        let p = rtp(1, SSRC, b"hello server", 0, None);
        let mut buf = p.clone();
        buf.resize(p.len() + profile.rtp_overhead(), 0);
        let n = client.protect_rtp(&mut buf, p.len()).unwrap();
        let mut copy = buf[..n].to_vec();
        assert_eq!(
            client.unprotect_rtp(&mut copy),
            Err(Error::AuthenticationFailed),
            "{profile}: client's own packet is not for its inbound key"
        );
        let m = server.unprotect_rtp(&mut buf[..n]).unwrap();
        assert_eq!(&buf[..m], &p[..]);

        let r = rtcp(SSRC, b"hello client");
        let mut buf = r.clone();
        buf.resize(r.len() + profile.rtcp_overhead(), 0);
        let n = server.protect_rtcp(&mut buf, r.len()).unwrap();
        let m = client.unprotect_rtcp(&mut buf[..n]).unwrap();
        assert_eq!(&buf[..m], &r[..]);
    }
}
