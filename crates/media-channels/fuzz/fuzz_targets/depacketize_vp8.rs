//! Arbitrary payload sequences into the VP8 depacketizer: VP8 payload descriptors (X/N/S/PID, I/L/T/K, 7- and 15-bit picture IDs); the frame form is a fixed point.
//! The properties are in `depacketize_common.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media_channels::packetizer::{Vp8Depacketizer, Vp8Packetizer, PictureId};

#[path = "depacketize_common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::exercise(
        data,
        |limit| {
            let mut d = Vp8Depacketizer::new();
            d.set_max_frame_size(limit);
            d
        },
        Vp8Packetizer::with_picture_id(PictureId::Long(0x1234)),
        true,
    );
});
