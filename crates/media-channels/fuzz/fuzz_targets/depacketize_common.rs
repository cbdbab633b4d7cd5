//! What every `depacketize_*` target checks, for one depacketizer and the
//! matching packetizer (included with `#[path]`; not a target itself).
//!
//! Input: a control byte (bit 0: use a frame size limit of
//! `(control >> 1) * 64` bytes), then payloads, each a length byte and that
//! many bytes. Properties:
//! - nothing panics, pushed one by one (finishing after every third) or all
//!   at once;
//! - no frame grows past the limit, and a failed frame leaves nothing;
//! - whatever frame comes out and our packetizer accepts again, our
//!   depacketizer reassembles; with `fixed_point`, into the same frame.

use bytes::BytesMut;
use media_channels::packetizer::{Depacketizer, Packetizer, Payloads};

fn split(mut rest: &[u8]) -> Vec<&[u8]> {
    let mut payloads = Vec::new();
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        payloads.push(&tail[..n]);
        rest = &tail[n..];
    }
    payloads
}

/// Runs the properties above; `make(limit)` builds a depacketizer with a
/// frame size limit (`usize::MAX`: none).
pub fn exercise<D: Depacketizer, P: Packetizer>(
    data: &[u8],
    make: impl Fn(usize) -> D,
    mut packetizer: P,
    fixed_point: bool,
) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let limit = if control & 1 == 0 {
        usize::MAX
    } else {
        usize::from(control >> 1) * 64
    };
    let payloads = split(rest);
    let mut d = make(limit);
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

    let mut out = Payloads::new();
    if packetizer.packetize(&frame, 1200, &mut out).is_ok() {
        let mut fresh = make(usize::MAX);
        let mut again = BytesMut::new();
        fresh
            .depacketize(out.iter().map(|p| p.data), &mut again)
            .expect("our own payloads depacketize");
        if fixed_point {
            assert_eq!(&again[..], &frame[..], "re-packetized frame differs");
        }
    }
}
