//! Arbitrary payload sequences into the VP9 depacketizer: VP9 payload descriptors (flexible and non-flexible modes, layer indices, scalability structures); the frame form is a fixed point.
//! The properties are in `depacketize_common.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media_channels::packetizer::{Vp9Depacketizer, Vp9Packetizer};

#[path = "depacketize_common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::exercise(
        data,
        |limit| {
            let mut d = Vp9Depacketizer::new();
            d.set_max_frame_size(limit);
            d
        },
        Vp9Packetizer::new(0x1234),
        true,
    );
});
