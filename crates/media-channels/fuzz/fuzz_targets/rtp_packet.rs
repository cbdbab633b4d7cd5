//! Arbitrary bytes into the RTP parser: parse, read every accessor, iterate
//! the CSRCs and header extensions, decode each element as every typed
//! extension, and look kinds up through an extension map. Nothing may panic,
//! and whatever parses must come back with the same fields when rebuilt with
//! `RtpBuilder` (RFC 8285 elements re-encoded; other extension profiles are
//! not carried by the builder and are left out).
#![no_main]

use libfuzzer_sys::fuzz_target;
use media_channels::rtp::extensions::{
    AbsSendTime, AudioLevel, ExtensionKind, ExtensionMap, ExtensionValue, Mid, PlayoutDelay,
    RepairedRtpStreamId, RtpStreamId, TransportSequenceNumber, VideoOrientation,
};
use media_channels::rtp::{ExtensionElement, RtpBuilder, RtpPacket};

fn typed(data: &[u8]) {
    // Whatever decodes writes back to bytes that decode the same.
    let mut out = [0u8; 256];
    if let Ok(v) = Mid::parse(data) {
        let n = v.write(&mut out).expect("a parsed mid writes");
        assert_eq!(Mid::parse(&out[..n]), Ok(v));
    }
    let _ = RtpStreamId::parse(data);
    let _ = RepairedRtpStreamId::parse(data);
    if let Ok(v) = AbsSendTime::parse(data) {
        v.write(&mut out).expect("24 bits");
        assert_eq!(AbsSendTime::from_duration(v.to_duration()), v);
    }
    if let Ok(v) = TransportSequenceNumber::parse(data) {
        assert_eq!(v.to_bytes(), data);
    }
    if let Ok(v) = AudioLevel::parse(data) {
        v.write(&mut out).expect("7 bits");
        assert_eq!(out[0], data[0]);
    }
    if let Ok(v) = VideoOrientation::parse(data) {
        assert_eq!(v.to_byte(), data[0] & 0x0F);
    }
    if let Ok(v) = PlayoutDelay::parse(data) {
        v.write(&mut out).expect("12 bits each, min <= max");
        assert_eq!(&out[..3], data);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(p) = RtpPacket::parse(data) else {
        return;
    };
    let _ = format!("{p:?}");
    let csrcs: Vec<u32> = p.csrcs().collect();
    assert_eq!(csrcs.len(), usize::from(p.csrc_count()));
    assert_eq!(
        p.header_len() + p.payload().len() + p.padding_len(),
        p.len()
    );
    let _ = (p.extension_profile(), p.extension_data(), p.version());
    let elements: Vec<ExtensionElement<'_>> = p.extensions().collect();
    for e in &elements {
        typed(e.data);
        assert!(p.extension(e.id).is_some());
    }
    let mut map = ExtensionMap::new();
    for (i, kind) in ExtensionKind::ALL.into_iter().enumerate() {
        map.register(i as u8 + 1, kind).expect("distinct ids");
    }
    let _ = map.get::<Mid<'_>>(&p);
    let _ = map.get::<AbsSendTime>(&p);
    let _ = map.get::<TransportSequenceNumber>(&p);
    let _ = map.get::<PlayoutDelay>(&p);

    // Rebuild and compare.
    let known_form = p.extension_form().is_some();
    let b = RtpBuilder {
        marker: p.marker(),
        payload_type: p.payload_type(),
        sequence_number: p.sequence_number(),
        timestamp: p.timestamp(),
        ssrc: p.ssrc(),
        csrcs: &csrcs,
        extensions: if known_form { &elements } else { &[] },
        extension_form: None,
        padding: p.padding_len() as u8,
    };
    let mut out = vec![0u8; data.len() + 4 * elements.len() + 8];
    let n = b
        .write(&mut out, p.payload())
        .expect("parsed fields rebuild");
    let q = RtpPacket::parse(&out[..n]).expect("our output parses");
    assert_eq!(q.marker(), p.marker());
    assert_eq!(q.payload_type(), p.payload_type());
    assert_eq!(q.sequence_number(), p.sequence_number());
    assert_eq!(q.timestamp(), p.timestamp());
    assert_eq!(q.ssrc(), p.ssrc());
    assert!(q.csrcs().eq(csrcs.iter().copied()));
    assert_eq!(q.payload(), p.payload());
    assert_eq!(q.padding_len(), p.padding_len());
    if known_form {
        assert!(q.extensions().eq(elements.iter().copied()));
    }
});
