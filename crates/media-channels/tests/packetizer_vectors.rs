//! Fixed vectors for the packetizers and depacketizers: byte layouts worked
//! out from the RFCs and the AV1 RTP specification, and payloads from
//! pion/rtp's test files (`codecs/*_test.go`; each use says which), plus the
//! loss cases a depacketizer must report instead of producing a frame.

use bytes::BytesMut;
use media_channels::packetizer::{
    AnyDepacketizer, AnyPacketizer, AudioDepacketizer, AudioPacketizer, Av1Depacketizer,
    Av1Packetizer, Codec, Depacketizer, H264Depacketizer, H264PacketizationMode, H264Packetizer,
    Packetizer, Payloads, PictureId, Vp8Depacketizer, Vp8Descriptor, Vp8Packetizer,
    Vp9Depacketizer, Vp9Descriptor, Vp9Packetizer,
};
use media_channels::Error;

fn payloads_of(p: &Payloads) -> Vec<Vec<u8>> {
    p.iter().map(|p| p.data.to_vec()).collect()
}

fn depacketize(d: &mut impl Depacketizer, payloads: &[&[u8]]) -> Result<(Vec<u8>, bool), Error> {
    let mut out = BytesMut::new();
    let info = d.depacketize(payloads.iter().copied(), &mut out)?;
    Ok((out.to_vec(), info.keyframe))
}

// ---- VP8 -------------------------------------------------------------------

#[test]
fn vp8_descriptor_vectors() {
    // pion/rtp codecs/vp8_packet_test.go, TestVP8Packet_Unmarshal.
    let (d, len) = Vp8Descriptor::parse(&[0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x90]).unwrap();
    assert_eq!((d, len), (Vp8Descriptor::default(), 1));
    assert_eq!(
        Vp8Descriptor::parse(&[0x80, 0x00, 0x00, 0x00]).unwrap().1,
        2
    );
    let (d, len) = Vp8Descriptor::parse(&[0x80, 0x80, 0x00, 0x00]).unwrap();
    assert_eq!((d.picture_id, len), (Some(PictureId::Short(0)), 3));
    let (d, len) = Vp8Descriptor::parse(&[0x80, 0x80, 0x81, 0x00]).unwrap();
    assert_eq!((d.picture_id, len), (Some(PictureId::Long(0x100)), 4));
    assert_eq!(
        Vp8Descriptor::parse(&[0x80, 0x40, 0x00, 0x00])
            .unwrap()
            .0
            .tl0_pic_idx,
        Some(0)
    );
    assert_eq!(
        Vp8Descriptor::parse(&[0x80, 0x20, 0x00, 0x00])
            .unwrap()
            .0
            .temporal,
        Some((0, false))
    );
    assert_eq!(
        Vp8Descriptor::parse(&[0x80, 0x10, 0x00, 0x00])
            .unwrap()
            .0
            .key_idx,
        Some(0)
    );
    // All flags: the T/K byte is missing.
    assert_eq!(
        Vp8Descriptor::parse(&[0xff, 0xff, 0x00, 0x00]),
        Err(Error::PayloadTruncated(Codec::Vp8))
    );
    assert_eq!(
        Vp8Descriptor::parse(&[]),
        Err(Error::PayloadTruncated(Codec::Vp8))
    );
    // A 15-bit picture ID with nothing after it: no frame data.
    let mut d = Vp8Depacketizer::new();
    assert!(matches!(
        depacketize(&mut d, &[&[0x90, 0x80, 0x81, 0x00]]),
        Err(Error::PayloadMalformed {
            codec: Codec::Vp8,
            ..
        })
    ));

    // RFC 7741 §4.2: X=1, S=1; I, L, T, K; M=1 PictureID 0x1234; TL0PICIDX 5;
    // TID 2, Y 1, KEYIDX 7.
    let (d, len) =
        Vp8Descriptor::parse(&[0x90, 0xF0, 0x92, 0x34, 0x05, 0b1010_0111, 0x10]).unwrap();
    assert_eq!(len, 6);
    assert!(d.starts_frame());
    assert_eq!(d.picture_id, Some(PictureId::Long(0x1234)));
    assert_eq!(d.tl0_pic_idx, Some(5));
    assert_eq!(d.temporal, Some((2, true)));
    assert_eq!(d.key_idx, Some(7));
}

/// A VP8 key frame's first bytes (RFC 6386 §9.1): frame tag with the key
/// frame bit (RFC 7741's P bit) 0 and show_frame 1, the start code 9d 01 2a,
/// 640 × 480.
const VP8_KEYFRAME: [u8; 10] = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];

#[test]
fn vp8_packetizer_layout_and_keyframes() {
    let mut p = Vp8Packetizer::with_picture_id(PictureId::Long(0x7FFF));
    let mut payloads = Payloads::new();
    p.packetize(&VP8_KEYFRAME, 8, &mut payloads).unwrap();
    // Descriptor X|S, I, M + 15-bit ID: 4 bytes, so 4 data bytes a payload; 10
    // bytes go in 3 payloads of 4, 3, 3.
    assert_eq!(
        payloads_of(&payloads),
        [
            vec![0x90, 0x80, 0xFF, 0xFF, 0x10, 0x02, 0x00, 0x9d],
            vec![0x80, 0x80, 0xFF, 0xFF, 0x01, 0x2a, 0x80],
            vec![0x80, 0x80, 0xFF, 0xFF, 0x02, 0xe0, 0x01],
        ]
    );
    let mut d = Vp8Depacketizer::new();
    assert!(d.is_frame_start(payloads.get(0).unwrap()));
    assert!(!d.is_frame_start(payloads.get(1).unwrap()));
    let list: Vec<&[u8]> = payloads.iter().map(|p| p.data).collect();
    assert_eq!(
        depacketize(&mut d, &list).unwrap(),
        (VP8_KEYFRAME.to_vec(), true)
    );

    // The picture ID wrapped; an inter frame (P bit 1).
    p.packetize(&[0x31, 0x01, 0x00, 0x42], 1200, &mut payloads)
        .unwrap();
    assert_eq!(
        payloads_of(&payloads),
        [vec![0x90, 0x80, 0x80, 0x00, 0x31, 0x01, 0x00, 0x42]]
    );
    let (frame, key) = depacketize(&mut d, &[payloads.get(0).unwrap()]).unwrap();
    assert_eq!((frame, key), (vec![0x31, 0x01, 0x00, 0x42], false));

    // The first payload lost: the depacketizer refuses the rest.
    p.packetize(&VP8_KEYFRAME, 8, &mut payloads).unwrap();
    assert_eq!(
        depacketize(
            &mut d,
            &[payloads.get(1).unwrap(), payloads.get(2).unwrap()]
        ),
        Err(Error::FrameStartMissing(Codec::Vp8))
    );
    // Two frames' payloads mixed: the picture ID changes.
    let mut other = Payloads::new();
    p.packetize(&VP8_KEYFRAME, 8, &mut other).unwrap();
    assert!(matches!(
        depacketize(&mut d, &[payloads.get(0).unwrap(), other.get(1).unwrap()]),
        Err(Error::PayloadMalformed { .. })
    ));
    // Too small for the descriptor and a byte.
    assert_eq!(
        p.packetize(&VP8_KEYFRAME, 4, &mut payloads),
        Err(Error::PayloadSizeTooSmall(4))
    );
    assert!(payloads.is_empty());
}

// ---- VP9 -------------------------------------------------------------------

#[test]
fn vp9_descriptor_vectors() {
    // pion/rtp codecs/vp9_packet_test.go, TestVP9Packet_Unmarshal.
    let (d, len) = Vp9Descriptor::parse(&[0x00, 0xAA]).unwrap();
    assert_eq!((d, len), (Vp9Descriptor::default(), 1));
    let (d, len) = Vp9Descriptor::parse(&[0x80, 0x81, 0xFF, 0xAA]).unwrap();
    assert_eq!((d.picture_id, len), (Some(PictureId::Long(0x01FF)), 3));
    assert!(Vp9Descriptor::parse(&[0x80, 0x81]).is_err());
    // Non-flexible with layer indices: TID 1, SID 1, D, TL0PICIDX 1.
    let (d, len) = Vp9Descriptor::parse(&[0xA0, 0x02, 0x23, 0x01, 0xAA]).unwrap();
    let l = d.layer.unwrap();
    assert_eq!(
        (l.tid, l.sid, l.inter_layer_dependent, l.tl0_pic_idx),
        (1, 1, true, Some(1))
    );
    assert_eq!(len, 4);
    // The same in flexible mode: no TL0PICIDX, so 0x01 is frame data.
    let (d, len) = Vp9Descriptor::parse(&[0xB0, 0x02, 0x23, 0x01, 0xAA]).unwrap();
    assert_eq!((d.layer.unwrap().tl0_pic_idx, len), (None, 3));
    assert!(Vp9Descriptor::parse(&[0xA0, 0x02, 0x23]).is_err());
    // Flexible, P: reference differences 1 and 2.
    let (d, len) = Vp9Descriptor::parse(&[0xD0, 0x02, 0x03, 0x04, 0xAA]).unwrap();
    assert_eq!((d.ref_diffs.as_slice(), len), (&[1u8, 2][..], 4));
    assert!(matches!(
        Vp9Descriptor::parse(&[0xD0, 0x02, 0x03, 0x05, 0x07, 0x09, 0x10, 0xAA]),
        Err(Error::PayloadMalformed { .. })
    ));
    assert!(Vp9Descriptor::parse(&[0xD0, 0x02, 0x03]).is_err());
    // Scalability structure: two layers with resolutions, no payload.
    let ss = [
        0x0A,
        (1 << 5) | (1 << 4),
        0x02,
        0x80,
        0x01,
        0x68,
        0x05,
        0x00,
        0x02,
        0xD0,
    ];
    let (d, len) = Vp9Descriptor::parse(&ss).unwrap();
    assert_eq!(len, ss.len());
    let s = d.scalability_structure.unwrap();
    assert_eq!(s.spatial_layers(), 2);
    assert_eq!(
        s.resolutions().unwrap().collect::<Vec<_>>(),
        [(640, 360), (1280, 720)]
    );
    // Two picture groups: (T 0, U 1, no refs), (T 2, U 0, one ref 33).
    let ss = [
        0x0A,
        (1 << 5) | (1 << 3),
        2,
        1 << 4,
        (2 << 5) | (1 << 2),
        33,
    ];
    let (d, _) = Vp9Descriptor::parse(&ss).unwrap();
    let groups: Vec<_> = d
        .scalability_structure
        .unwrap()
        .picture_groups()
        .unwrap()
        .collect();
    assert_eq!(
        (groups[0].tid, groups[0].switching_up, groups[0].p_diffs),
        (0, true, &[][..])
    );
    assert_eq!((groups[1].tid, groups[1].p_diffs), (2, &[33][..]));
    // Every truncation of either structure is refused.
    let with_resolutions = [
        0x0A,
        (1 << 5) | (1 << 4),
        0x02,
        0x80,
        0x01,
        0x68,
        0x05,
        0x00,
        0x02,
        0xD0,
    ];
    for cut in [&with_resolutions[..], &ss[..]] {
        for len in 0..cut.len() {
            assert_eq!(
                Vp9Descriptor::parse(&cut[..len]),
                Err(Error::PayloadTruncated(Codec::Vp9)),
                "{:?}",
                &cut[..len]
            );
        }
    }
}

#[test]
fn vp9_pion_payloads_depacketize() {
    // pion/rtp codecs/vp9_packet_test.go, TestVP9Payloader_Payload: a
    // non-flexible key frame with a scalability structure (one layer,
    // 1920 × 804, one picture group), in one packet and in two.
    let frame = [0x82, 0x49, 0x83, 0x42, 0x00, 0x77, 0xf0, 0x32, 0x34];
    let one = [
        0x8f, 0xa1, 0xf4, 0x18, 0x07, 0x80, 0x03, 0x24, 0x01, 0x14, 0x01, 0x82, 0x49, 0x83, 0x42,
        0x00, 0x77, 0xf0, 0x32, 0x34,
    ];
    let (d, len) = Vp9Descriptor::parse(&one).unwrap();
    assert_eq!(len, 11);
    assert!(d.start_of_frame && d.end_of_frame && !d.inter_picture_predicted);
    assert_eq!(d.picture_id, Some(PictureId::Long(0x21f4)));
    let ss = d.scalability_structure.unwrap();
    assert_eq!(ss.resolutions().unwrap().collect::<Vec<_>>(), [(1920, 804)]);
    let mut dp = Vp9Depacketizer::new();
    assert_eq!(
        depacketize(&mut dp, &[&one]).unwrap(),
        (frame.to_vec(), true)
    );

    let first = [
        0x8b, 0xa1, 0xf4, 0x18, 0x07, 0x80, 0x03, 0x24, 0x01, 0x14, 0x01, 0x82,
    ];
    let second = [
        0x85, 0xa1, 0xf4, 0x49, 0x83, 0x42, 0x00, 0x77, 0xf0, 0x32, 0x34,
    ];
    assert_eq!(
        depacketize(&mut dp, &[&first, &second]).unwrap(),
        (frame.to_vec(), true)
    );
    assert!(dp.is_frame_start(&first) && !dp.is_frame_start(&second));
    assert!(dp.is_frame_end(&second, true) && !dp.is_frame_end(&first, true));
    // The end lost: incomplete. The start lost: start missing.
    assert_eq!(
        depacketize(&mut dp, &[&first]),
        Err(Error::FrameIncomplete(Codec::Vp9))
    );
    assert_eq!(
        depacketize(&mut dp, &[&second]),
        Err(Error::FrameStartMissing(Codec::Vp9))
    );

    // A non-key frame: P set.
    let inter = [
        0xcd, 0xa1, 0xf4, 0x86, 0x00, 0x40, 0x92, 0xe1, 0x31, 0x42, 0x8c, 0xc0, 0x40,
    ];
    assert_eq!(
        depacketize(&mut dp, &[&inter]).unwrap(),
        (inter[3..].to_vec(), false)
    );

    // Our packetizer on the same key frame: I, B, E, V with our own SS.
    let mut p = Vp9Packetizer::new(0x21f4);
    p.set_scalability_structure(1, Some(&[(1920, 804)]), None)
        .unwrap();
    let mut payloads = Payloads::new();
    p.packetize(&frame, 1200, &mut payloads).unwrap();
    let mut want = vec![0x8e, 0xa1, 0xf4, 0x10, 0x07, 0x80, 0x03, 0x24];
    want.extend_from_slice(&frame);
    assert_eq!(payloads_of(&payloads), [want]);
    // The next, inter frame: no SS, P set, picture ID + 1.
    p.packetize(&inter[3..], 1200, &mut payloads).unwrap();
    assert_eq!(&payloads.get(0).unwrap()[..3], &[0xcc, 0xa1, 0xf5]);
}

// ---- H.264 -----------------------------------------------------------------

#[test]
fn h264_fu_a_vector() {
    // pion/rtp codecs/h264_packet_test.go: a 16-byte NAL unit (header 0x00)
    // in five FU-A packets of 5 bytes.
    let frame = [
        0x00, 0x00, 0x01, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x10, 0x11,
        0x12, 0x13, 0x14, 0x15,
    ];
    let packets: [&[u8]; 5] = [
        &[0x1c, 0x80, 0x01, 0x02, 0x03],
        &[0x1c, 0x00, 0x04, 0x05, 0x06],
        &[0x1c, 0x00, 0x07, 0x08, 0x09],
        &[0x1c, 0x00, 0x10, 0x11, 0x12],
        &[0x1c, 0x40, 0x13, 0x14, 0x15],
    ];
    let mut d = H264Depacketizer::new();
    let mut want = vec![0, 0, 0, 1];
    want.extend_from_slice(&frame[3..]);
    assert_eq!(depacketize(&mut d, &packets).unwrap(), (want, false));
    // Loss inside the FU-A.
    assert_eq!(
        depacketize(&mut d, &packets[1..]),
        Err(Error::FrameStartMissing(Codec::H264))
    );
    assert_eq!(
        depacketize(&mut d, &packets[..4]),
        Err(Error::FrameIncomplete(Codec::H264))
    );
    assert!(!d.is_frame_end(packets[3], true) && d.is_frame_end(packets[4], true));
    assert!(d.is_frame_start(packets[0]) && !d.is_frame_start(packets[1]));
    // Our packetizer refuses type 0 (it would be ambiguous sent alone); with
    // an IDR slice header (0x65) instead it writes the same layout: FU
    // indicator F 0, NRI 3, type 28; FU headers S|5, 5, …, E|5.
    let mut p = H264Packetizer::new(H264PacketizationMode::NonInterleaved);
    let mut payloads = Payloads::new();
    assert!(matches!(
        p.packetize(&frame, 5, &mut payloads),
        Err(Error::InvalidFrame { .. })
    ));
    let mut idr = frame;
    idr[3] = 0x65;
    p.packetize(&idr, 5, &mut payloads).unwrap();
    let want: Vec<Vec<u8>> = packets
        .iter()
        .map(|pkt| {
            let mut v = pkt.to_vec();
            v[0] = 0x7c;
            v[1] |= 0x05;
            v
        })
        .collect();
    assert_eq!(payloads_of(&payloads), want);
    let list: Vec<&[u8]> = payloads.iter().map(|p| p.data).collect();
    let (out, key) = depacketize(&mut d, &list).unwrap();
    assert_eq!((&out[4..], key), (&idr[3..], true));

    // Mode 0 refuses the NAL unit.
    let mut p0 = H264Packetizer::new(H264PacketizationMode::SingleNalUnit);
    let err = p0.packetize(&idr, 5, &mut payloads).unwrap_err();
    assert_eq!(
        err,
        Error::FrameDoesNotFit {
            codec: Codec::H264,
            len: 16,
            max_payload: 5
        }
    );
    assert!(!err.is_peer_fault());
}

#[test]
fn h264_stap_a_vectors() {
    // pion/rtp codecs/h264_packet_test.go: an SPS and a PPS in one STAP-A.
    let stap = [
        0x78, 0x00, 0x0f, 0x67, 0x42, 0xc0, 0x1f, 0x1a, 0x32, 0x35, 0x01, 0x40, 0x7a, 0x40, 0x3c,
        0x22, 0x11, 0xa8, 0x00, 0x05, 0x68, 0x1a, 0x34, 0xe3, 0xc8,
    ];
    let annex_b = [
        0x00, 0x00, 0x00, 0x01, 0x67, 0x42, 0xc0, 0x1f, 0x1a, 0x32, 0x35, 0x01, 0x40, 0x7a, 0x40,
        0x3c, 0x22, 0x11, 0xa8, 0x00, 0x00, 0x00, 0x01, 0x68, 0x1a, 0x34, 0xe3, 0xc8,
    ];
    let mut d = H264Depacketizer::new();
    assert_eq!(
        depacketize(&mut d, &[&stap]).unwrap(),
        (annex_b.to_vec(), false)
    );
    assert!(d.has_parameter_sets());
    // Our packetizer aggregates them into the same STAP-A (F 0, NRI 3).
    let mut p = H264Packetizer::new(H264PacketizationMode::NonInterleaved);
    let mut payloads = Payloads::new();
    p.packetize(&annex_b, 1200, &mut payloads).unwrap();
    assert_eq!(payloads_of(&payloads), [stap.to_vec()]);
    // Mode 0 sends them one by one.
    let mut p0 = H264Packetizer::new(H264PacketizationMode::SingleNalUnit);
    p0.packetize(&annex_b, 1200, &mut payloads).unwrap();
    assert_eq!(
        payloads_of(&payloads),
        [annex_b[4..19].to_vec(), annex_b[23..].to_vec()]
    );

    // Truncated STAP-A, unhandled NAL unit type, a single NAL unit.
    assert_eq!(
        depacketize(&mut d, &[&stap[..17]]),
        Err(Error::PayloadTruncated(Codec::H264))
    );
    assert_eq!(
        depacketize(&mut d, &[&[0xFF, 0x00, 0x00]]),
        Err(Error::PayloadUnsupported {
            codec: Codec::H264,
            kind: 31
        })
    );
    assert_eq!(
        depacketize(&mut d, &[&[0x90, 0x90, 0x90]]).unwrap(),
        (vec![0x00, 0x00, 0x00, 0x01, 0x90, 0x90, 0x90], false)
    );

    // pion's SPS + PPS STAP-A followed by an IDR slice: a keyframe.
    let first = [
        0x78, 0x00, 0x03, 0x07, 0x00, 0x01, 0x00, 0x03, 0x08, 0x02, 0x03,
    ];
    let idr = [0x05, 0x04, 0x05];
    let (frame, key) = depacketize(&mut d, &[&first, &idr]).unwrap();
    assert!(key && d.has_parameter_sets());
    assert_eq!(
        frame,
        [
            0, 0, 0, 1, 0x07, 0x00, 0x01, 0, 0, 0, 1, 0x08, 0x02, 0x03, 0, 0, 0, 1, 0x05, 0x04,
            0x05
        ]
    );
    // An IDR slice alone is a keyframe without parameter sets.
    let (_, key) = depacketize(&mut d, &[&[0x65, 0x88, 0x84]]).unwrap();
    assert!(key && !d.has_parameter_sets());
}

#[test]
fn h264_malformed_fu_a() {
    let mut d = H264Depacketizer::new();
    // S and E both set (RFC 6184 §5.8).
    assert!(matches!(
        depacketize(&mut d, &[&[0x7c, 0xC5, 0x01]]),
        Err(Error::PayloadMalformed { .. })
    ));
    // A new FU-A before the previous one ended, and a single NAL unit inside one.
    assert_eq!(
        depacketize(&mut d, &[&[0x7c, 0x85, 0x01], &[0x7c, 0x85, 0x02]]),
        Err(Error::FrameIncomplete(Codec::H264))
    );
    assert_eq!(
        depacketize(&mut d, &[&[0x7c, 0x85, 0x01], &[0x65, 0x01]]),
        Err(Error::FrameIncomplete(Codec::H264))
    );
    // STAP-B, MTAP16, MTAP24, FU-B: packetization-mode 2.
    for kind in [25u8, 26, 27, 29] {
        assert_eq!(
            depacketize(&mut d, &[&[0x60 | kind, 0x80, 0x00, 0x01]]),
            Err(Error::PayloadUnsupported {
                codec: Codec::H264,
                kind
            })
        );
    }
    // Not Annex-B.
    let mut p = H264Packetizer::new(H264PacketizationMode::NonInterleaved);
    assert!(matches!(
        p.packetize(&[0x65, 0x00], 1200, &mut Payloads::new()),
        Err(Error::InvalidFrame { .. })
    ));
}

// ---- AV1 -------------------------------------------------------------------

#[test]
fn av1_spec_layout() {
    // Worked from the AV1 RTP payload format §4.4-§5: a temporal unit of a
    // temporal delimiter (dropped), a sequence header (3 bytes) and a frame
    // OBU (2 bytes; its first bits: shown, KEY_FRAME), both with
    // obu_has_size_field.
    let frame = [
        0x12, 0x00, 0x0A, 0x03, 0xA1, 0xA2, 0xA3, 0x32, 0x02, 0x10, 0xB2,
    ];
    let mut p = Av1Packetizer::new();
    let mut payloads = Payloads::new();
    p.packetize(&frame, 1200, &mut payloads).unwrap();
    // Z 0, Y 0, W 2, N 1; the first element with its length, the size
    // fields removed (0x0A → 0x08, 0x32 → 0x30).
    assert_eq!(
        payloads_of(&payloads),
        [vec![0x28, 0x04, 0x08, 0xA1, 0xA2, 0xA3, 0x30, 0x10, 0xB2]]
    );
    let mut d = Av1Depacketizer::new();
    let (out, key) = depacketize(&mut d, &[payloads.get(0).unwrap()]).unwrap();
    assert_eq!(out, &frame[2..]);
    assert!(key);

    // Five bytes a payload: the sequence header is fragmented.
    p.packetize(&frame, 5, &mut payloads).unwrap();
    assert_eq!(
        payloads_of(&payloads),
        [
            // Y, W 1, N: the sequence header's first 3 bytes.
            vec![0x58, 0x08, 0xA1, 0xA2],
            // Z, W 1: its last byte; the frame OBU would not fit whole.
            vec![0x90, 0xA3],
            // W 1: the frame OBU.
            vec![0x10, 0x30, 0x10, 0xB2],
        ]
    );
    let list: Vec<&[u8]> = payloads.iter().map(|p| p.data).collect();
    assert!(payloads.iter().all(|p| p.data.len() <= 5));
    assert_eq!(
        depacketize(&mut d, &list).unwrap(),
        (frame[2..].to_vec(), true)
    );
    // Temporal delimiters and tile lists that arrive anyway are dropped.
    assert_eq!(
        depacketize(&mut d, &[&[0x20, 0x01, 0x10, 0x40, 0x01]]).unwrap(),
        (vec![], false)
    );
    // Losing the continuation leaves the OBU open; losing the start leaves Z.
    assert_eq!(
        depacketize(&mut d, &list[..1]),
        Err(Error::FrameIncomplete(Codec::Av1))
    );
    assert_eq!(
        depacketize(&mut d, &list[1..]),
        Err(Error::FrameStartMissing(Codec::Av1))
    );
}

#[test]
fn av1_fragment_layout() {
    // One 6-byte frame OBU (header 0x30 + 5 bytes) in payloads of 4 bytes:
    // each carries the aggregation header, W = 1 (no length) and 3 bytes.
    let frame = [0x32, 0x05, 1, 2, 3, 4, 5];
    let mut p = Av1Packetizer::new();
    let mut payloads = Payloads::new();
    p.packetize(&frame, 4, &mut payloads).unwrap();
    // The packetizer reserves a length byte while filling, then drops it for
    // W = 1: 2 bytes of OBU in each payload, Y on all but the last, Z on all
    // but the first.
    assert_eq!(
        payloads_of(&payloads),
        [vec![0x50, 0x30, 1], vec![0xD0, 2, 3], vec![0x90, 4, 5],]
    );
    let mut d = Av1Depacketizer::new();
    let list: Vec<&[u8]> = payloads.iter().map(|p| p.data).collect();
    assert_eq!(depacketize(&mut d, &list).unwrap(), (frame.to_vec(), false));
    assert!(d.is_frame_start(list[0]) && !d.is_frame_start(list[1]));
    assert!(!d.is_frame_end(list[1], true) && d.is_frame_end(list[2], true));
}

#[test]
fn av1_pion_vectors() {
    // pion/rtp codecs/av1_packet_test.go, TestAV1_Unmarshal: the first 28
    // bytes of a real key frame payload (Z 0, Y 1, W 2, N 1): a 12-byte
    // sequence header element, then a frame OBU that continues.
    let payload = [
        0x68, 0x0c, 0x08, 0x00, 0x00, 0x00, 0x2c, 0xd6, 0xd3, 0x0c, 0xd5, 0x02, 0x00, 0x80, 0x30,
        0x10, 0xc3, 0xc0, 0x07, 0xff, 0xff, 0xf8, 0xb7, 0x30, 0xc0, 0x00, 0x00, 0x88,
    ];
    let mut d = Av1Depacketizer::new();
    assert!(d.is_frame_start(&payload));
    assert!(!d.is_frame_end(&payload, true));
    let mut out = BytesMut::new();
    d.push(&payload, &mut out).unwrap();
    // The sequence header, sized: 0x0A, 11, then its 11 bytes.
    let mut want = vec![0x0A, 0x0B];
    want.extend_from_slice(&payload[3..14]);
    assert_eq!(&out[..], &want[..]);
    assert_eq!(d.finish(&mut out), Err(Error::FrameIncomplete(Codec::Av1)));

    // TestAV1_Unmarshal_Error, in our terms.
    let mut d = Av1Depacketizer::new();
    assert!(matches!(
        depacketize(&mut d, &[&[0x00]]),
        Err(Error::PayloadMalformed { .. })
    ));
    assert!(matches!(
        depacketize(&mut d, &[&[0b1000_1000, 0x00]]),
        Err(Error::PayloadMalformed { .. })
    ));
    assert!(matches!(
        depacketize(&mut d, &[&[0x00, 0xFF, 0xFF]]),
        Err(Error::PayloadMalformed { .. })
    ));
    assert_eq!(
        depacketize(&mut d, &[&[0x00, 0xFF, 0x0F, 0x00, 0x00]]),
        Err(Error::PayloadTruncated(Codec::Av1))
    );
    // An element that keeps its size field must agree with its length.
    assert!(matches!(
        depacketize(&mut d, &[&[0x10, 0x32, 0x05, 0x01]]),
        Err(Error::PayloadMalformed { .. })
    ));
    assert_eq!(
        depacketize(&mut d, &[&[0x10, 0x32, 0x01, 0x01]]).unwrap(),
        (vec![0x32, 0x01, 0x01], false)
    );
    // W says two elements, the first runs to the end.
    assert!(matches!(
        depacketize(&mut d, &[&[0x20, 0x02, 0x30, 0x01]]),
        Err(Error::PayloadMalformed { .. })
    ));
}

// ---- audio and dispatch ----------------------------------------------------

#[test]
fn audio_is_one_frame_per_payload() {
    let mut p = AudioPacketizer::new(Codec::Pcmu);
    let mut payloads = Payloads::new();
    let frame = [0xFF; 160];
    p.packetize(&frame, 200, &mut payloads).unwrap();
    assert_eq!(payloads_of(&payloads), [frame.to_vec()]);
    assert_eq!(
        p.packetize(&frame, 100, &mut payloads),
        Err(Error::FrameDoesNotFit {
            codec: Codec::Pcmu,
            len: 160,
            max_payload: 100
        })
    );
    assert!(payloads.is_empty());
    let mut d = AudioDepacketizer::new(Codec::Pcmu);
    assert_eq!(
        depacketize(&mut d, &[&frame]).unwrap(),
        (frame.to_vec(), true)
    );
    assert!(matches!(
        depacketize(&mut d, &[&frame, &frame]),
        Err(Error::PayloadMalformed { .. })
    ));
    assert_eq!(
        depacketize(&mut d, &[]),
        Err(Error::FrameStartMissing(Codec::Pcmu))
    );
}

#[test]
fn dispatch_by_codec() {
    let frames: [(Codec, &[u8]); 5] = [
        (Codec::Opus, &[0xFC, 1, 2]),
        (Codec::Vp8, &VP8_KEYFRAME),
        (Codec::Vp9, &[0x82, 0x49, 0x83, 0x42, 0x00]),
        (Codec::H264, &[0, 0, 0, 1, 0x65, 0x88, 0x84]),
        (Codec::Av1, &[0x0A, 0x01, 0x00, 0x32, 0x01, 0x07]),
    ];
    let mut payloads = Payloads::new();
    for (codec, frame) in frames {
        let mut p = AnyPacketizer::new(codec, 100);
        assert_eq!(p.codec(), codec);
        p.packetize(frame, 4, &mut payloads)
            .or_else(|_| p.packetize(frame, 1200, &mut payloads))
            .unwrap();
        let mut d = AnyDepacketizer::with_max_frame_size(codec, 1 << 20);
        assert_eq!(d.codec(), codec);
        let list: Vec<&[u8]> = payloads.iter().map(|p| p.data).collect();
        let (out, key) = depacketize(&mut d, &list).unwrap();
        assert_eq!(out, frame, "{codec:?}");
        assert!(key, "{codec:?}");
    }
}

#[test]
// The binary literals are grouped by field (Z Y W N, forbidden type X S R).
#[allow(clippy::unusual_byte_groupings)]
fn av1_libwebrtc_vectors() {
    // libwebrtc modules/rtp_rtcp/source/video_rtp_depacketizer_av1_unittest.cc
    // (AssembleFrame… cases): payloads and the temporal unit they assemble to.
    let mut big = vec![0u8; 4 + 127];
    big[..4].copy_from_slice(&[0b00_00_0000, 0x80, 0x01, 0b0_0110_000]);
    big[4 + 42] = 0x42;
    let mut big_out = vec![0u8; 2 + 127];
    big_out[..2].copy_from_slice(&[0b0_0110_010, 127]);
    big_out[2 + 42] = 0x42;
    let cases: Vec<(Vec<&[u8]>, Vec<u8>)> = vec![
        // The minimum frame: an OBU header alone gets a size of 0.
        (vec![&[0b00_01_0000, 0b0_0110_000]], vec![0b0_0110_010, 0]),
        // obu_size present, and after an extension header, absent or present.
        (
            vec![&[0b00_01_0000, 0b0_0110_010, 3, 20, 30, 40]],
            vec![0b0_0110_010, 3, 20, 30, 40],
        ),
        (
            vec![&[0b00_01_0000, 0b0_0110_100, 0b010_01_000, 20, 30, 40]],
            vec![0b0_0110_110, 0b010_01_000, 3, 20, 30, 40],
        ),
        (
            vec![&[0b00_01_0000, 0b0_0110_110, 0b010_01_000, 3, 20, 30, 40]],
            vec![0b0_0110_110, 0b010_01_000, 3, 20, 30, 40],
        ),
        // Two OBUs in one packet (W = 2).
        (
            vec![&[0b00_10_0000, 2, 0b0_0001_000, 10, 0b0_0110_000, 20]],
            vec![0b0_0001_010, 1, 10, 0b0_0110_010, 1, 20],
        ),
        // One OBU over two packets, then over four.
        (
            vec![&[0b01_01_0000, 0b0_0110_000, 20, 30], &[0b10_01_0000, 40]],
            vec![0b0_0110_010, 3, 20, 30, 40],
        ),
        (
            vec![
                &[0b01_01_0000, 0b0_0110_000, 11, 12],
                &[0b11_01_0000, 13, 14],
                &[0b11_01_0000, 15, 16, 17],
                &[0b10_01_0000, 18],
            ],
            vec![0b0_0110_010, 8, 11, 12, 13, 14, 15, 16, 17, 18],
        ),
        // W = 0 with OBUs with and without extensions, the last continued.
        (
            vec![
                &[
                    0b01_00_0000,
                    2,
                    0b0_0001_000,
                    10,
                    2,
                    0b0_0101_000,
                    20,
                    4,
                    0b0_0101_100,
                    0b001_10_000,
                    20,
                    30,
                    5,
                    0b0_0110_100,
                    0b001_10_000,
                    40,
                    50,
                    60,
                ],
                &[0b10_01_0000, 70, 80, 90],
            ],
            vec![
                0b0_0001_010,
                1,
                10,
                0b0_0101_010,
                1,
                20,
                0b0_0101_110,
                0b001_10_000,
                2,
                20,
                30,
                0b0_0110_110,
                0b001_10_000,
                6,
                40,
                50,
                60,
                70,
                80,
                90,
            ],
        ),
        // OBU borders aligned with packet borders.
        (
            vec![
                &[
                    0b01_10_0000,
                    3,
                    0b0_0011_000,
                    11,
                    12,
                    0b0_0100_000,
                    21,
                    22,
                    23,
                ],
                &[0b10_01_0000, 24, 25, 26, 27],
                &[0b01_10_0000, 3, 0b0_0111_000, 11, 12, 0b0_0100_000, 31, 32],
                &[0b10_01_0000, 33, 34, 35, 36],
            ],
            vec![
                0b0_0011_010,
                2,
                11,
                12,
                0b0_0100_010,
                7,
                21,
                22,
                23,
                24,
                25,
                26,
                27,
                0b0_0111_010,
                2,
                11,
                12,
                0b0_0100_010,
                6,
                31,
                32,
                33,
                34,
                35,
                36,
            ],
        ),
        // A 128-byte element length: the 127-byte payload's size fits one byte.
        (vec![&big], big_out),
    ];
    let mut d = Av1Depacketizer::new();
    for (payloads, want) in cases {
        let (frame, _) = depacketize(&mut d, &payloads).unwrap();
        assert_eq!(frame, want, "{payloads:?}");
        // Our packetizer turns the temporal unit back into payloads that
        // assemble to it.
        let mut p = Av1Packetizer::new();
        let mut out = Payloads::new();
        for max in [3, 5, 8, 1200] {
            p.packetize(&want, max, &mut out).unwrap();
            let list: Vec<&[u8]> = out.iter().map(|p| p.data).collect();
            assert_eq!(depacketize(&mut d, &list).unwrap().0, want);
        }
    }
    // The N bit marks a key frame; N with Z is refused.
    let (frame, key) = depacketize(&mut d, &[&[0b00_01_1000, 0b0_0001_000]]).unwrap();
    assert_eq!((frame, key), (vec![0b0_0001_010, 0], true));
    let (_, key) = depacketize(&mut d, &[&[0b00_01_0000, 0b0_0001_000]]).unwrap();
    assert!(!key);
    assert!(matches!(
        depacketize(&mut d, &[&[0b10_01_1000, 0b0_0001_000]]),
        Err(Error::PayloadMalformed { .. })
    ));
    // Without N, a sequence header and a key frame header make a key frame
    // (a sequence header's fifth bit, reduced_still_picture_header, alone
    // does too); a sequence header before an inter frame does not.
    for (frame_header, key) in [
        (0b000_00000, true),
        (0b001_00000, false),
        (0b100_00000, false),
    ] {
        let payload = [0b00_10_0000, 2, 0b0_0001_000, 0, 0b0_0110_000, frame_header];
        assert_eq!(depacketize(&mut d, &[&payload]).unwrap().1, key);
        let mut out = Payloads::new();
        let (tu, _) = depacketize(&mut d, &[&payload]).unwrap();
        Av1Packetizer::new().packetize(&tu, 1200, &mut out).unwrap();
        assert_eq!(out.get(0).unwrap()[0] & 0x08 != 0, key, "N bit");
    }
    let reduced = [0b00_10_0000, 2, 0b0_0001_000, 0x08, 0b0_0110_000, 0xFF];
    assert!(depacketize(&mut d, &[&reduced]).unwrap().1);
    assert!(d.is_frame_start(&[0b00_01_0000, 0b0_0110_000]));
    assert!(!d.is_frame_start(&[0b10_01_0000, 0b0_0110_000]));
    assert!(!d.is_frame_end(&[0b01_01_0000, 0b0_0110_000], true));
    assert!(d.is_frame_end(&[0b00_01_0000, 0b0_0110_000], true));
}
