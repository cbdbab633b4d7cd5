//! Property tests for the packetizers and depacketizers:
//!
//! - arbitrary payload sequences never panic any depacketizer, never grow a
//!   frame past its limit, and leave the frame empty on an error;
//! - arbitrary frames and payload sizes never panic any packetizer, and
//!   every payload it writes fits;
//! - whatever a packetizer accepts, its depacketizer gives back (for H.264
//!   and AV1 in their normalised forms: see the round-trip tests).

use bytes::BytesMut;
use media_channels::packetizer::{
    AnyDepacketizer, AnyPacketizer, Codec, Depacketizer, Packetizer, Payloads, Vp8Descriptor,
    Vp9Descriptor,
};
use proptest::collection::vec;
use proptest::prelude::*;

const CODECS: [Codec; 8] = [
    Codec::Opus,
    Codec::Pcmu,
    Codec::Pcma,
    Codec::G722,
    Codec::Vp8,
    Codec::Vp9,
    Codec::H264,
    Codec::Av1,
];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn codec() -> impl Strategy<Value = Codec> {
    (0..CODECS.len()).prop_map(|i| CODECS[i])
}

/// Payloads biased towards each format's header bits: the first byte is
/// often one that begins a frame or a fragment.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..40),
        (
            prop::sample::select(vec![
                0x10u8, 0x90, 0x08, 0x0C, 0x8E, 0xDA, 0x18, 0x1C, 0x7C, 0x78, 0x65, 0x00, 0x28,
                0x58, 0x90, 0xD0, 0x40, 0x10,
            ]),
            vec(any::<u8>(), 0..40)
        )
            .prop_map(|(first, mut rest)| {
                rest.insert(0, first);
                rest
            }),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn depacketizers_never_panic(
        codec in codec(),
        payloads in vec(payload(), 0..8),
        limit in prop_oneof![Just(usize::MAX), 0usize..64],
    ) {
        let mut d = AnyDepacketizer::with_max_frame_size(codec, limit);
        let mut frame = BytesMut::new();
        for p in &payloads {
            let _ = d.is_frame_start(p);
            let _ = d.is_frame_end(p, true);
        }
        // Push by push, finishing at random points.
        for (i, p) in payloads.iter().enumerate() {
            if d.push(p, &mut frame).is_err() {
                frame.clear();
            } else if i % 3 == 2 {
                if let Ok(info) = d.finish(&mut frame) {
                    prop_assert!(info.len <= limit && frame.len() <= limit);
                }
                frame.clear();
            }
        }
        // And all at once.
        match d.depacketize(payloads.iter().map(Vec::as_slice), &mut frame) {
            Ok(info) => {
                prop_assert_eq!(info.len, frame.len());
                prop_assert!(frame.len() <= limit);
            }
            Err(_) => prop_assert!(frame.is_empty()),
        }
    }

    #[test]
    fn descriptors_never_panic(data in vec(any::<u8>(), 0..64)) {
        if let Ok((d, len)) = Vp8Descriptor::parse(&data) {
            prop_assert!(len <= data.len());
            // Written back (canonically: no empty extension byte), it reads
            // the same.
            let mut out = BytesMut::new();
            d.write(&mut out);
            prop_assert_eq!(Vp8Descriptor::parse(&out).unwrap(), (d, d.len()));
        }
        if let Ok((d, len)) = Vp9Descriptor::parse(&data) {
            prop_assert!(len <= data.len());
            if let Some(ss) = d.scalability_structure {
                let _ = ss.spatial_layers();
                let _ = ss.resolutions().map(Iterator::count);
                let _ = ss.picture_groups().map(|g| g.map(|g| g.p_diffs.len()).sum::<usize>());
            }
            let mut out = BytesMut::new();
            d.write(&mut out);
            prop_assert_eq!(Vp9Descriptor::parse(&out).unwrap(), (d, d.len()));
        }
    }

    #[test]
    fn packetizers_never_panic_and_fit(
        codec in codec(),
        frame in prop_oneof![
            vec(any::<u8>(), 0..3000),
            // Annex-B- and OBU-shaped frames.
            vec(prop_oneof![Just(0u8), Just(1), Just(0x65), Just(0x32), any::<u8>()], 0..300),
        ],
        max_payload in 0usize..1300,
    ) {
        let mut p = AnyPacketizer::new(codec, 0x1234);
        let mut payloads = Payloads::new();
        match p.packetize(&frame, max_payload, &mut payloads) {
            Ok(()) => {
                prop_assert!(!payloads.is_empty());
                for pl in payloads.iter() {
                    prop_assert!(pl.data.len() <= max_payload);
                }
                // Whatever was sent comes back as one frame.
                let mut d = AnyDepacketizer::new(codec);
                let mut out = BytesMut::new();
                let result = d.depacketize(payloads.iter().map(|p| p.data), &mut out);
                prop_assert!(result.is_ok(), "{:?}", result);
                if matches!(codec, Codec::Vp8 | Codec::Vp9) || codec.is_audio() {
                    prop_assert_eq!(&out[..], &frame[..]);
                }
            }
            Err(e) => {
                prop_assert!(!e.is_peer_fault());
                prop_assert!(payloads.is_empty());
            }
        }
    }
}
