//! Arbitrary payload sequences into the H.264 depacketizer: single NAL units, STAP-A, FU-A and the unsupported mode-2 types. Not a fixed point: Annex-B framing of arbitrary NAL unit bytes is ambiguous (a NAL unit may end in zeros or hold a start code).
//! The properties are in `depacketize_common.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media_channels::packetizer::{H264Depacketizer, H264PacketizationMode, H264Packetizer};

#[path = "depacketize_common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::exercise(
        data,
        |limit| {
            let mut d = H264Depacketizer::new();
            d.set_max_frame_size(limit);
            d
        },
        H264Packetizer::new(H264PacketizationMode::NonInterleaved),
        false,
    );
});
