//! Packetize → (lose, duplicate, reorder) → sort → depacketize, for every
//! codec, with random frames from a seeded generator (each failure names
//! its seed, so it replays).
//!
//! The receiving side is a minimal jitter buffer: it sorts what arrived by
//! sequence number (dropping duplicates), groups packets by RTP timestamp,
//! and hands a group to the depacketizer only when it is complete as far as
//! sequence numbers tell: no gap inside, the last packet ends the frame
//! (`is_frame_end` with its marker), and the frame's first packet is known,
//! either because the packet before it ended the previous frame or, for
//! VP8 and VP9 whose start flag is unique to a frame's first packet,
//! because `is_frame_start` says so. The property: every such frame comes
//! out byte-identical with the right keyframe flag; every other frame is
//! reported lost (and feeding its remains to the depacketizer anyway must
//! not panic).

use bytes::BytesMut;
use media_channels::packetizer::{
    AudioDepacketizer, AudioPacketizer, Av1Depacketizer, Av1Packetizer, Codec, Depacketizer,
    H264Depacketizer, H264PacketizationMode, H264Packetizer, Packetizer, Payloads, PictureId,
    Vp8Depacketizer, Vp8Packetizer, Vp9Depacketizer, Vp9LayerIndices, Vp9Packetizer,
    Vp9PictureGroup, Vp9RefDiffs,
};

/// splitmix64: small, seedable, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A frame to send and what the receiver must get back.
struct TestFrame {
    input: Vec<u8>,
    expected: Vec<u8>,
    keyframe: bool,
}

#[derive(Clone)]
struct Packet {
    seq: u16,
    timestamp: u32,
    marker: bool,
    payload: Vec<u8>,
}

#[derive(Default, Debug)]
struct Outcome {
    delivered: usize,
    lost: usize,
}

/// One trial's network and receiver settings.
struct Scenario {
    seed: u64,
    max_payload: usize,
    loss_percent: usize,
    /// The format's frame-start flag is unique to a frame's first packet.
    start_is_unique: bool,
}

/// Sends `frames`, loses `loss_percent` of the packets, duplicates and
/// reorders some, then reassembles; panics on any corrupted frame.
fn run(
    s: &Scenario,
    rng: &mut Rng,
    packetizer: &mut dyn Packetizer,
    depacketizer: &mut impl Depacketizer,
    frames: &[TestFrame],
) -> Outcome {
    let Scenario {
        seed,
        max_payload,
        loss_percent,
        start_is_unique,
    } = *s;
    // ---- send
    let first_seq = rng.next() as u16;
    let first_ts = rng.next() as u32;
    let mut seq = first_seq;
    let mut sent = Vec::new();
    let mut payloads = Payloads::new();
    for (i, frame) in frames.iter().enumerate() {
        packetizer
            .packetize(&frame.input, max_payload, &mut payloads)
            .unwrap_or_else(|e| panic!("seed {seed}: packetize frame {i}: {e}"));
        for p in payloads.iter() {
            assert!(
                p.data.len() <= max_payload,
                "seed {seed}: payload too large"
            );
            sent.push(Packet {
                seq,
                timestamp: first_ts.wrapping_add(3000 * i as u32),
                marker: p.marker,
                payload: p.data.to_vec(),
            });
            seq = seq.wrapping_add(1);
        }
    }

    // ---- the network: loss, duplication, local reordering
    let mut arrived: Vec<Packet> = Vec::new();
    for p in &sent {
        if rng.chance(loss_percent) {
            continue;
        }
        arrived.push(p.clone());
        if rng.chance(3) {
            arrived.push(p.clone());
        }
    }
    for i in 1..arrived.len() {
        if rng.chance(20) {
            let j = i.saturating_sub(rng.range(1, 4));
            arrived.swap(i, j);
        }
    }

    // ---- the reorder step: sort by sequence number (relative to the
    // first, which the receiver would learn from its unwrapper), dedup.
    arrived.sort_by_key(|p| p.seq.wrapping_sub(first_seq));
    arrived.dedup_by_key(|p| p.seq);

    // ---- frames: group by timestamp
    let mut outcome = Outcome::default();
    let mut frame_buf = BytesMut::new();
    let mut delivered = vec![false; frames.len()];
    let mut start = 0;
    while start < arrived.len() {
        let ts = arrived[start].timestamp;
        let end = start
            + arrived[start..]
                .iter()
                .take_while(|p| p.timestamp == ts)
                .count();
        let group = &arrived[start..end];
        let index = ts.wrapping_sub(first_ts) as usize / 3000;
        let contiguous = group
            .windows(2)
            .all(|w| w[1].seq == w[0].seq.wrapping_add(1));
        let last = &group[group.len() - 1];
        let ends = depacketizer.is_frame_end(&last.payload, last.marker);
        let head_known = if group[0].seq == first_seq {
            true
        } else {
            let before = group[0].seq.wrapping_sub(1);
            let prev = start.checked_sub(1).map(|i| &arrived[i]);
            prev.is_some_and(|p| p.seq == before && p.marker)
                || (start_is_unique && depacketizer.is_frame_start(&group[0].payload))
        };
        let result = depacketizer.depacketize(group.iter().map(|p| &p.payload[..]), &mut frame_buf);
        if contiguous && ends && head_known {
            let info = result.unwrap_or_else(|e| {
                panic!("seed {seed}: complete frame {index} not reassembled: {e}")
            });
            let want = &frames[index];
            assert_eq!(
                &frame_buf[..],
                &want.expected[..],
                "seed {seed}: frame {index} corrupted"
            );
            assert_eq!(
                info.keyframe, want.keyframe,
                "seed {seed}: frame {index} keyframe"
            );
            assert_eq!(info.len, want.expected.len());
            assert!(!delivered[index], "seed {seed}: frame {index} twice");
            delivered[index] = true;
            outcome.delivered += 1;
        }
        start = end;
    }
    outcome.lost = frames.len() - outcome.delivered;
    if loss_percent == 0 {
        assert_eq!(outcome.lost, 0, "seed {seed}: frames lost without loss");
    }
    outcome
}

/// Runs `trials` seeds at each loss rate.
fn exercise(
    name: &str,
    trials: u64,
    start_is_unique: bool,
    mut setup: impl FnMut(
        &mut Rng,
    ) -> (
        Box<dyn Packetizer>,
        Box<dyn FnMut(&mut Rng) -> TestFrame>,
        usize,
    ),
    mut depacketizer: impl Depacketizer,
) {
    let mut totals = Outcome::default();
    for loss in [0, 2, 10, 30] {
        for t in 0..trials {
            let seed = (u64::from(name.as_bytes()[0]) << 32) ^ (loss as u64) << 16 ^ t;
            let mut rng = Rng(seed);
            let (mut packetizer, mut make_frame, max_payload) = setup(&mut rng);
            let count = rng.range(1, 30);
            let frames: Vec<TestFrame> = (0..count).map(|_| make_frame(&mut rng)).collect();
            let scenario = Scenario {
                seed,
                max_payload,
                loss_percent: loss,
                start_is_unique,
            };
            let o = run(
                &scenario,
                &mut rng,
                packetizer.as_mut(),
                &mut depacketizer,
                &frames,
            );
            totals.delivered += o.delivered;
            totals.lost += o.lost;
        }
    }
    eprintln!("{name}: {totals:?}");
    // The losses must have exercised both outcomes.
    assert!(
        totals.delivered > 0 && totals.lost > 0,
        "{name}: {totals:?}"
    );
}

/// A payload size: mostly realistic, sometimes tiny to force heavy
/// fragmentation.
fn max_payload(rng: &mut Rng, min: usize) -> usize {
    if rng.chance(30) {
        rng.range(min, min + 30)
    } else {
        rng.range(200, 1200)
    }
}

fn frame_len(rng: &mut Rng) -> usize {
    if rng.chance(10) {
        rng.range(5_000, 30_000)
    } else {
        rng.range(1, 3_000)
    }
}

#[test]
fn audio_round_trip() {
    for codec in [Codec::Opus, Codec::Pcmu, Codec::Pcma, Codec::G722] {
        exercise(
            codec.name(),
            20,
            true,
            |rng| {
                let max = rng.range(1, 1200);
                let make: Box<dyn FnMut(&mut Rng) -> TestFrame> = Box::new(move |rng| {
                    let n = rng.range(1, max);
                    let input = rng.bytes(n);
                    TestFrame {
                        expected: input.clone(),
                        input,
                        keyframe: true,
                    }
                });
                (Box::new(AudioPacketizer::new(codec)), make, max)
            },
            AudioDepacketizer::new(codec),
        );
    }
}

#[test]
fn vp8_round_trip() {
    exercise(
        "vp8",
        30,
        true,
        |rng| {
            let mut p = Vp8Packetizer::new();
            match rng.below(4) {
                0 => {}
                1 => p.picture_id = Some(PictureId::Short(rng.next() as u8 & 0x7F)),
                2 => p.picture_id = Some(PictureId::Long(rng.next() as u16 & 0x7FFF)),
                _ => {
                    p.picture_id = Some(PictureId::Long(rng.next() as u16 & 0x7FFF));
                    p.tl0_pic_idx = Some(rng.next() as u8);
                    p.temporal = Some((rng.below(4) as u8, rng.chance(50)));
                    p.key_idx = Some(rng.below(32) as u8);
                }
            }
            let make: Box<dyn FnMut(&mut Rng) -> TestFrame> = Box::new(|rng| {
                let n = frame_len(rng);
                let input = rng.bytes(n);
                TestFrame {
                    keyframe: input[0] & 1 == 0,
                    expected: input.clone(),
                    input,
                }
            });
            (Box::new(p), make, max_payload(rng, 7))
        },
        Vp8Depacketizer::new(),
    );
}

#[test]
fn vp9_round_trip() {
    exercise(
        "vp9",
        30,
        true,
        |rng| {
            let mut p = Vp9Packetizer::new(rng.next() as u16 & 0x7FFF);
            p.flexible = rng.chance(50);
            if rng.chance(50) {
                p.layer = Some(Vp9LayerIndices {
                    tid: rng.below(8) as u8,
                    switching_up: rng.chance(50),
                    sid: 0,
                    inter_layer_dependent: false,
                    tl0_pic_idx: Some(rng.next() as u8),
                });
            }
            if rng.chance(30) {
                p.ref_diffs = Vp9RefDiffs::new(&[1, 2, 4][..rng.range(1, 3)]).unwrap();
            }
            if rng.chance(50) {
                let groups = [Vp9PictureGroup {
                    tid: 0,
                    switching_up: true,
                    p_diffs: &[1],
                }];
                p.set_scalability_structure(1, Some(&[(1280, 720)]), Some(&groups))
                    .unwrap();
            }
            let make: Box<dyn FnMut(&mut Rng) -> TestFrame> = Box::new(|rng| {
                let n = frame_len(rng).max(4);
                let mut input = rng.bytes(n);
                // The uncompressed header's first byte: profile 0, a key
                // frame (0x82) or an inter frame (0x86).
                let keyframe = rng.chance(20);
                input[0] = if keyframe { 0x82 } else { 0x86 };
                TestFrame {
                    keyframe,
                    expected: input.clone(),
                    input,
                }
            });
            // Descriptor up to 1 + 2 + 2 + 3 + SS (1 + 4 + 1 + 2) bytes.
            (Box::new(p), make, max_payload(rng, 17))
        },
        Vp9Depacketizer::new(),
    );
}

/// A NAL unit of about `len` (≥ 2; one more after an emulation prevention byte) bytes with header `header`: random body with
/// emulation prevention applied and a non-zero last byte, as a real one.
fn nal_unit(rng: &mut Rng, header: u8, len: usize) -> Vec<u8> {
    let mut nal = vec![header];
    let mut zeros = 0;
    while nal.len() < len - 1 {
        // Plenty of zeros, so start-code emulation is exercised.
        let b = if rng.chance(30) { 0 } else { rng.next() as u8 };
        if zeros >= 2 && b <= 3 {
            nal.push(3);
            zeros = 0;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        nal.push(b);
    }
    nal.push(0x80 | rng.next() as u8);
    nal
}

fn h264_frame(rng: &mut Rng, max_nal: usize) -> TestFrame {
    let idr = rng.chance(20);
    let mut nals = Vec::new();
    if idr || rng.chance(10) {
        let n = rng.range(4, 30);
        nals.push(nal_unit(rng, 0x67, n));
        let n = rng.range(2, 10);
        nals.push(nal_unit(rng, 0x68, n));
    }
    if rng.chance(20) {
        let n = rng.range(2, 50);
        nals.push(nal_unit(rng, 0x06, n));
    }
    for _ in 0..rng.range(1, 4) {
        let header = if idr { 0x65 } else { 0x41 };
        let hi = frame_len(rng).clamp(2, max_nal);
        let len = rng.range(2, hi);
        nals.push(nal_unit(rng, header, len));
    }
    let mut input = Vec::new();
    for nal in &nals {
        input.extend_from_slice(&[0, 0, 0, 1]);
        input.extend_from_slice(nal);
    }
    TestFrame {
        expected: input.clone(),
        input,
        keyframe: idr,
    }
}

#[test]
fn h264_mode1_round_trip() {
    exercise(
        "h264",
        30,
        false,
        |rng| {
            let make: Box<dyn FnMut(&mut Rng) -> TestFrame> =
                Box::new(|rng| h264_frame(rng, usize::MAX));
            (
                Box::new(H264Packetizer::new(H264PacketizationMode::NonInterleaved)),
                make,
                max_payload(rng, 3),
            )
        },
        H264Depacketizer::new(),
    );
}

#[test]
fn h264_mode0_round_trip() {
    exercise(
        "H264-mode0",
        30,
        false,
        |_rng| {
            let make: Box<dyn FnMut(&mut Rng) -> TestFrame> = Box::new(|rng| h264_frame(rng, 1100));
            (
                Box::new(H264Packetizer::new(H264PacketizationMode::SingleNalUnit)),
                make,
                1200,
            )
        },
        H264Depacketizer::new(),
    );
}

fn leb128(mut v: usize, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// An OBU of type `obu_type` with `len` payload bytes: the packetizer's
/// input form (size field unless `without_size`) and the depacketizer's output
/// form (always sized).
fn obu(
    rng: &mut Rng,
    obu_type: u8,
    len: usize,
    without_size: bool,
    first_byte: Option<u8>,
) -> (Vec<u8>, Vec<u8>) {
    let ext = rng.chance(30);
    let header = obu_type << 3 | u8::from(ext) << 2;
    let ext_byte = rng.next() as u8;
    let mut payload = rng.bytes(len);
    if let (Some(b), Some(first)) = (first_byte, payload.first_mut()) {
        *first = b;
    }
    let mut sized = vec![header | 0x02];
    if ext {
        sized.push(ext_byte);
    }
    leb128(len, &mut sized);
    sized.extend_from_slice(&payload);
    if !without_size {
        return (sized.clone(), sized);
    }
    let mut input = vec![header];
    if ext {
        input.push(ext_byte);
    }
    input.extend_from_slice(&payload);
    (input, sized)
}

fn av1_frame(rng: &mut Rng) -> TestFrame {
    let mut input = Vec::new();
    let mut expected = Vec::new();
    if rng.chance(50) {
        // A temporal delimiter: sent by encoders, dropped on the wire.
        input.extend_from_slice(&[0x12, 0x00]);
    }
    let keyframe = rng.chance(20);
    let mut obus = Vec::new();
    if keyframe {
        obus.push((1, rng.range(5, 20)));
    }
    if rng.chance(20) {
        obus.push((5, rng.range(1, 40)));
    }
    for _ in 0..rng.range(1, 4) {
        obus.push((6, (frame_len(rng) / 2).max(1)));
    }
    if rng.chance(10) {
        obus.push((15, rng.range(0, 10)));
    }
    let n = obus.len();
    let mut first_frame = true;
    for (i, (t, len)) in obus.into_iter().enumerate() {
        let without_size = i + 1 == n && rng.chance(30);
        // The first frame header's first bits: show_existing_frame 0 and
        // frame_type KEY_FRAME (0) in key frames, INTER_FRAME (1) otherwise.
        let first_byte = match t {
            6 if first_frame => {
                first_frame = false;
                Some(if keyframe { 0x00 } else { 0x20 })
            }
            _ => None,
        };
        let (inp, exp) = obu(rng, t, len, without_size, first_byte);
        input.extend_from_slice(&inp);
        expected.extend_from_slice(&exp);
    }
    TestFrame {
        input,
        expected,
        keyframe,
    }
}

#[test]
fn av1_round_trip() {
    exercise(
        "av1",
        30,
        false,
        |rng| {
            let make: Box<dyn FnMut(&mut Rng) -> TestFrame> = Box::new(av1_frame);
            (Box::new(Av1Packetizer::new()), make, max_payload(rng, 3))
        },
        Av1Depacketizer::new(),
    );
}

#[test]
fn frame_size_limit_holds() {
    // Every depacketizer refuses to grow a frame past its limit.
    let mut rng = Rng(7);
    let frame = rng.bytes(5000);
    let mut payloads = Payloads::new();
    let mut out = BytesMut::new();

    let mut p = Vp8Packetizer::new();
    p.packetize(&frame, 1000, &mut payloads).unwrap();
    let mut d = Vp8Depacketizer::new();
    d.set_max_frame_size(4999);
    let err = d
        .depacketize(payloads.iter().map(|p| p.data), &mut out)
        .unwrap_err();
    assert_eq!(err, media_channels::Error::FrameTooLarge { limit: 4999 });
    assert!(out.is_empty());
    d.set_max_frame_size(5000);
    d.depacketize(payloads.iter().map(|p| p.data), &mut out)
        .unwrap();
    assert_eq!(&out[..], &frame[..]);

    let h264 = h264_frame(&mut rng, 4000);
    H264Packetizer::new(H264PacketizationMode::NonInterleaved)
        .packetize(&h264.input, 500, &mut payloads)
        .unwrap();
    let mut d = H264Depacketizer::new();
    d.set_max_frame_size(h264.expected.len() - 1);
    assert!(matches!(
        d.depacketize(payloads.iter().map(|p| p.data), &mut out),
        Err(media_channels::Error::FrameTooLarge { .. })
    ));

    let av1 = av1_frame(&mut rng);
    Av1Packetizer::new()
        .packetize(&av1.input, 100, &mut payloads)
        .unwrap();
    let mut d = Av1Depacketizer::new();
    d.set_max_frame_size(av1.expected.len() - 1);
    assert!(matches!(
        d.depacketize(payloads.iter().map(|p| p.data), &mut out),
        Err(media_channels::Error::FrameTooLarge { .. })
    ));
    d.set_max_frame_size(av1.expected.len());
    d.depacketize(payloads.iter().map(|p| p.data), &mut out)
        .unwrap();
    assert_eq!(&out[..], &av1.expected[..]);
}
