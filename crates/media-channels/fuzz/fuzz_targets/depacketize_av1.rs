//! Arbitrary payload sequences into the AV1 depacketizer: aggregation headers and OBU elements with LEB128 lengths; the frame form is a fixed point.
//! The properties are in `depacketize_common.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media_channels::packetizer::{Av1Depacketizer, Av1Packetizer};

#[path = "depacketize_common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::exercise(
        data,
        |limit| {
            let mut d = Av1Depacketizer::new();
            d.set_max_frame_size(limit);
            d
        },
        Av1Packetizer::new(),
        true,
    );
});
