//! Arbitrary payload sequences into the H264 depacketizer: H.264 payloads (single NAL units, STAP-A, FU-A and the unsupported mode-2 types).
//!
//! Input: a control byte (bit 0: use a frame size limit of
//! `(control >> 1) * 64` bytes), then payloads, each a length byte and that
//! many bytes. Properties:
//! - nothing panics, pushed one by one (finishing after every third) or all
//!   at once;
//! - no frame grows past the limit, and a failed frame leaves nothing;
//! - whatever frame comes out and our packetizer accepts again, our
//!   depacketizer reassembles (Annex-B framing of arbitrary NAL unit bytes
//!   is not a fixed point: a NAL unit may end in zeros or hold a start code).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use media_channels::packetizer::{Depacketizer, Packetizer, Payloads, H264Depacketizer, H264PacketizationMode, H264Packetizer};

fn split(mut rest: &[u8]) -> Vec<&[u8]> {
    let mut payloads = Vec::new();
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        payloads.push(&tail[..n]);
        rest = &tail[n..];
    }
    payloads
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let limit = if control & 1 == 0 {
        usize::MAX
    } else {
        usize::from(control >> 1) * 64
    };
    let payloads = split(rest);
    let mut d = H264Depacketizer::new();
    d.set_max_frame_size(limit);
    let mut frame = BytesMut::new();

    for (i, p) in payloads.iter().enumerate() {
        let _ = d.is_frame_start(p);
        let _ = d.is_frame_end(p, i % 2 == 0);
        if d.push(p, &mut frame).is_err() {
            frame.clear();
            continue;
        }
        assert!(frame.len() <= limit);
        if i % 3 == 2 {
            if let Ok(info) = d.finish(&mut frame) {
                assert_eq!(info.len, frame.len());
            }
            frame.clear();
        }
    }

    let Ok(info) = d.depacketize(payloads.iter().copied(), &mut frame) else {
        assert!(frame.is_empty());
        return;
    };
    assert_eq!(info.len, frame.len());
    assert!(frame.len() <= limit);

    let mut packetizer = H264Packetizer::new(H264PacketizationMode::NonInterleaved);
    let mut out = Payloads::new();
    if packetizer.packetize(&frame, 1200, &mut out).is_ok() {
        let mut fresh = H264Depacketizer::new();
        let mut again = BytesMut::new();
        fresh
            .depacketize(out.iter().map(|p| p.data), &mut again)
            .expect("our own payloads depacketize");
        let _ = again;
    }
});
