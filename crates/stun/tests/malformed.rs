//! A corpus of malformed inputs, each rejected with the typed error that names its fault.

use stun::attributes::*;
use stun::{
    AttributeType, Class, Error, IntegrityKey, Message, MessageBuilder, Method, TransactionId,
};

/// A valid Binding request with USERNAME, PRIORITY, MI and FINGERPRINT.
fn valid() -> Vec<u8> {
    let key = IntegrityKey::short_term("pwd-pwd-pwd-pwd-pwd-pwd").unwrap();
    let mut buf = vec![0u8; 256];
    let mut b = MessageBuilder::new(
        &mut buf,
        Class::Request,
        Method::BINDING,
        TransactionId([1; 12]),
    )
    .unwrap();
    b.add(&Username("abcd:efgh")).unwrap();
    b.add(&Priority(42)).unwrap();
    b.add_message_integrity(&key).unwrap();
    b.add_fingerprint().unwrap();
    let n = b.finish();
    buf.truncate(n);
    buf
}

fn set_len(m: &mut [u8], len: u16) {
    m[2..4].copy_from_slice(&len.to_be_bytes());
}

/// Appends a raw attribute (header + value + zero padding) and fixes the header length.
fn append(m: &mut Vec<u8>, typ: u16, value: &[u8]) {
    m.extend_from_slice(&typ.to_be_bytes());
    m.extend_from_slice(&(value.len() as u16).to_be_bytes());
    m.extend_from_slice(value);
    while m.len() % 4 != 0 {
        m.push(0);
    }
    let l = (m.len() - 20) as u16;
    set_len(m, l);
}

fn header(typ: u16) -> Vec<u8> {
    let mut m = vec![0u8; 20];
    m[0..2].copy_from_slice(&typ.to_be_bytes());
    m[4..8].copy_from_slice(&0x2112A442u32.to_be_bytes());
    m
}

#[test]
fn the_valid_message_is_valid() {
    let m = valid();
    let msg = Message::parse(&m).unwrap();
    msg.verify_fingerprint().unwrap();
    msg.verify_integrity(&IntegrityKey::short_term("pwd-pwd-pwd-pwd-pwd-pwd").unwrap())
        .unwrap();
}

#[test]
fn header_faults() {
    let m = valid();
    // Truncated anywhere inside the header.
    for n in 0..20 {
        assert_eq!(
            Message::parse(&m[..n]).unwrap_err(),
            Error::TooShort(n),
            "cut at {n}"
        );
    }
    // Truncated after the header: the declared length no longer matches.
    assert_eq!(
        Message::parse(&m[..m.len() - 4]).unwrap_err(),
        Error::LengthMismatch {
            declared: m.len() - 20,
            available: m.len() - 24
        }
    );
    // Trailing garbage after the message.
    let mut long = m.clone();
    long.extend_from_slice(&[0; 4]);
    assert!(matches!(
        Message::parse(&long),
        Err(Error::LengthMismatch { .. })
    ));
    // First two bits set (RTP, DTLS, …).
    let mut x = m.clone();
    x[0] |= 0x80;
    assert_eq!(Message::parse(&x).unwrap_err(), Error::NotStun);
    // Wrong magic cookie.
    let mut x = m.clone();
    x[4] = 0;
    assert_eq!(
        Message::parse(&x).unwrap_err(),
        Error::BadMagicCookie(0x0012A442)
    );
    // Length not a multiple of four.
    let mut x = m.clone();
    set_len(&mut x, (m.len() - 20 - 2) as u16);
    assert_eq!(
        Message::parse(&x).unwrap_err(),
        Error::LengthNotAligned((m.len() - 22) as u16)
    );
}

#[test]
fn attribute_faults() {
    // An attribute whose length runs past the end.
    let mut m = header(0x0001);
    append(&mut m, 0x0006, b"abcd");
    m[22..24].copy_from_slice(&8u16.to_be_bytes());
    assert_eq!(
        Message::parse(&m).unwrap_err(),
        Error::AttributeTruncated(AttributeType::USERNAME)
    );

    // Bad padding: a 5-byte value whose three padding bytes are missing.
    let mut m = header(0x0001);
    m.extend_from_slice(&[0x00, 0x06, 0x00, 0x05, b'a', b'b', b'c', b'd', b'e']);
    m.truncate(m.len()); // 29 bytes: declared length 12 would cover the padding
    let mut padded = m.clone();
    padded.extend_from_slice(&[0, 0, 0]);
    set_len(&mut padded, 12);
    assert!(Message::parse(&padded).is_ok());
    let mut short = m.clone();
    short.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0]); // make total aligned but value+pad cut
    set_len(&mut short, 8);
    short.truncate(28);
    assert_eq!(
        Message::parse(&short).unwrap_err(),
        Error::AttributeTruncated(AttributeType::USERNAME)
    );

    // Attribute header cut in half is impossible with an aligned length; an aligned
    // length that leaves a partial header is caught as truncation.
    let mut m = header(0x0001);
    m.extend_from_slice(&[0x80, 0x22, 0x00, 0x08, 0, 0, 0, 0]);
    set_len(&mut m, 8);
    assert_eq!(
        Message::parse(&m).unwrap_err(),
        Error::AttributeTruncated(AttributeType::SOFTWARE)
    );
}

#[test]
fn ordering_faults() {
    let m = valid();
    // FINGERPRINT not last.
    let mut x = m.clone();
    append(&mut x, 0x8022, b"late");
    assert_eq!(
        Message::parse(&x).unwrap_err(),
        Error::AttributeAfterFingerprint(AttributeType::SOFTWARE)
    );
    // Two FINGERPRINTs.
    let mut x = m.clone();
    append(&mut x, 0x8028, &[0; 4]);
    assert_eq!(
        Message::parse(&x).unwrap_err(),
        Error::AttributeAfterFingerprint(AttributeType::FINGERPRINT)
    );
    // An attribute after MESSAGE-INTEGRITY (other than MI-SHA256 / FINGERPRINT).
    let mut x = m[..m.len() - 8].to_vec();
    let l = (x.len() - 20) as u16;
    set_len(&mut x, l);
    append(&mut x, 0x0024, &[0, 0, 0, 1]);
    assert_eq!(
        Message::parse(&x).unwrap_err(),
        Error::AttributeAfterIntegrity(AttributeType::PRIORITY)
    );
    // Two MESSAGE-INTEGRITY attributes.
    let mut x = m[..m.len() - 8].to_vec();
    let l = (x.len() - 20) as u16;
    set_len(&mut x, l);
    append(&mut x, 0x0008, &[0; 20]);
    assert_eq!(
        Message::parse(&x).unwrap_err(),
        Error::DuplicateAttribute(AttributeType::MESSAGE_INTEGRITY)
    );
    // MESSAGE-INTEGRITY after MESSAGE-INTEGRITY-SHA256.
    let mut x = header(0x0001);
    append(&mut x, 0x001C, &[0; 32]);
    append(&mut x, 0x0008, &[0; 20]);
    assert_eq!(
        Message::parse(&x).unwrap_err(),
        Error::AttributeAfterIntegrity(AttributeType::MESSAGE_INTEGRITY)
    );
}

#[test]
fn integrity_and_fingerprint_faults() {
    let key = IntegrityKey::short_term("pwd-pwd-pwd-pwd-pwd-pwd").unwrap();
    let m = valid();
    // FINGERPRINT wrong.
    let mut x = m.clone();
    let last = x.len() - 1;
    x[last] ^= 1;
    let msg = Message::parse(&x).unwrap();
    assert_eq!(
        msg.verify_fingerprint().unwrap_err(),
        Error::FingerprintMismatch
    );
    // Integrity wrong: a changed USERNAME byte breaks both.
    let mut x = m.clone();
    x[24] ^= 0x20;
    let msg = Message::parse(&x).unwrap();
    assert_eq!(
        msg.verify_integrity(&key).unwrap_err(),
        Error::IntegrityMismatch
    );
    assert_eq!(
        msg.verify_fingerprint().unwrap_err(),
        Error::FingerprintMismatch
    );
    // Wrong-size MI, MI-SHA256 and FINGERPRINT.
    for (typ, len) in [
        (0x0008u16, 16usize),
        (0x001C, 12),
        (0x001C, 36),
        (0x001C, 18),
        (0x8028, 8),
    ] {
        let mut x = header(0x0001);
        append(&mut x, typ, &vec![0; len]);
        assert_eq!(
            Message::parse(&x).unwrap_err(),
            Error::BadAttributeLength {
                attribute: AttributeType(typ),
                len
            },
            "type {typ:#x} len {len}"
        );
    }
    // No integrity at all.
    let mut x = header(0x0001);
    append(&mut x, 0x0024, &[0, 0, 0, 1]);
    let msg = Message::parse(&x).unwrap();
    assert_eq!(
        msg.verify_integrity(&key).unwrap_err(),
        Error::IntegrityMissing
    );
    assert_eq!(
        msg.verify_fingerprint().unwrap_err(),
        Error::FingerprintMissing
    );
}

#[test]
fn typed_value_faults() {
    let cases: &[(u16, &[u8], Error)] = &[
        (
            0x0020,
            &[0, 1, 0, 0],
            Error::BadAttributeLength {
                attribute: AttributeType::XOR_MAPPED_ADDRESS,
                len: 4,
            },
        ),
        (
            0x0020,
            &[0, 3, 0, 0, 1, 2, 3, 4],
            Error::UnknownAddressFamily(3),
        ),
        (
            0x0001,
            &[0, 2, 0, 0, 1, 2, 3, 4],
            Error::BadAttributeLength {
                attribute: AttributeType::MAPPED_ADDRESS,
                len: 8,
            },
        ),
        (
            0x0006,
            &[0xff, 0xfe],
            Error::InvalidUtf8(AttributeType::USERNAME),
        ),
        (
            0x0009,
            &[0, 0, 2, 0],
            Error::InvalidValue(AttributeType::ERROR_CODE),
        ),
        (
            0x0009,
            &[0, 0, 4, 100],
            Error::InvalidValue(AttributeType::ERROR_CODE),
        ),
        (
            0x0009,
            &[0, 0],
            Error::BadAttributeLength {
                attribute: AttributeType::ERROR_CODE,
                len: 2,
            },
        ),
        (
            0x0024,
            &[0, 0, 1],
            Error::BadAttributeLength {
                attribute: AttributeType::PRIORITY,
                len: 3,
            },
        ),
        (
            0x8029,
            &[0; 4],
            Error::BadAttributeLength {
                attribute: AttributeType::ICE_CONTROLLED,
                len: 4,
            },
        ),
        (
            0x0025,
            &[1],
            Error::BadAttributeLength {
                attribute: AttributeType::USE_CANDIDATE,
                len: 1,
            },
        ),
        (
            0x000A,
            &[0, 1, 0],
            Error::BadAttributeLength {
                attribute: AttributeType::UNKNOWN_ATTRIBUTES,
                len: 3,
            },
        ),
        (
            0x8002,
            &[0, 1, 0, 8, 0, 0],
            Error::BadAttributeLength {
                attribute: AttributeType::PASSWORD_ALGORITHMS,
                len: 6,
            },
        ),
        (
            0x001D,
            &[0, 1, 0, 0, 0, 0, 0, 0],
            Error::BadAttributeLength {
                attribute: AttributeType::PASSWORD_ALGORITHM,
                len: 8,
            },
        ),
        (
            0x001E,
            &[0; 16],
            Error::BadAttributeLength {
                attribute: AttributeType::USERHASH,
                len: 16,
            },
        ),
        (0x0017, &[9, 0, 0, 0], Error::UnknownAddressFamily(9)),
        (
            0x0018,
            &[0, 0],
            Error::BadAttributeLength {
                attribute: AttributeType::EVEN_PORT,
                len: 2,
            },
        ),
        (0x8001, &[7, 0, 4, 1], Error::UnknownAddressFamily(7)),
        (
            0x8004,
            &[0; 4],
            Error::BadAttributeLength {
                attribute: AttributeType::ICMP,
                len: 4,
            },
        ),
        (
            0xC057,
            &[0; 2],
            Error::BadAttributeLength {
                attribute: AttributeType::GOOG_NETWORK_INFO,
                len: 2,
            },
        ),
    ];
    for (typ, value, err) in cases {
        let mut m = header(0x0001);
        append(&mut m, *typ, value);
        let msg = Message::parse(&m).expect("layout is valid");
        let got = msg.typed_attributes().next().unwrap();
        assert_eq!(got.unwrap_err(), *err, "type {typ:#06x}");
    }
    // Over-long text attributes.
    let mut m = header(0x0001);
    append(&mut m, 0x0006, &[b'a'; 600]);
    let msg = Message::parse(&m).unwrap();
    assert_eq!(
        msg.get::<Username<'_>>().unwrap_err(),
        Error::BadAttributeLength {
            attribute: AttributeType::USERNAME,
            len: 600
        }
    );
}

#[test]
fn unknown_attributes_are_kept_and_required_ones_reported() {
    let mut m = header(0x0001);
    append(&mut m, 0x7FFF, b"required");
    append(&mut m, 0xFFFF, b"optional");
    let msg = Message::parse(&m).unwrap();
    assert_eq!(
        msg.unknown_comprehension_required().collect::<Vec<_>>(),
        vec![AttributeType(0x7FFF)]
    );
    let attrs: Vec<_> = msg.typed_attributes().map(Result::unwrap).collect();
    assert_eq!(
        attrs,
        vec![
            stun::Attribute::Unknown {
                typ: AttributeType(0x7FFF),
                value: b"required"
            },
            stun::Attribute::Unknown {
                typ: AttributeType(0xFFFF),
                value: b"optional"
            },
        ]
    );
}

#[test]
fn builder_faults() {
    let key = IntegrityKey::short_term("x").unwrap();
    let mut small = [0u8; 19];
    assert!(matches!(
        MessageBuilder::new(
            &mut small,
            Class::Request,
            Method::BINDING,
            TransactionId([0; 12])
        ),
        Err(Error::BufferTooSmall)
    ));
    let mut buf = [0u8; 40];
    let mut b = MessageBuilder::new(
        &mut buf,
        Class::Request,
        Method::BINDING,
        TransactionId([0; 12]),
    )
    .unwrap();
    assert_eq!(
        b.add(&Software("this does not fit in forty bytes")).err(),
        Some(Error::BufferTooSmall)
    );
    b.add_fingerprint().unwrap();
    assert_eq!(
        b.add(&Priority(1)).err(),
        Some(Error::BuilderOrder(AttributeType::PRIORITY))
    );
    assert_eq!(
        b.add_message_integrity(&key).err(),
        Some(Error::BuilderOrder(AttributeType::MESSAGE_INTEGRITY))
    );
    let mut big = vec![0u8; 70_000];
    let mut b = MessageBuilder::new(
        &mut big,
        Class::Indication,
        Method::SEND,
        TransactionId([0; 12]),
    )
    .unwrap();
    assert_eq!(
        b.add(&Data(&[0; 65_536])).err(),
        Some(Error::ValueTooLong(AttributeType::DATA))
    );
    b.add(&Data(&[0; 65_000])).unwrap();
    assert_eq!(
        b.add(&Data(&[0; 600])).err(),
        Some(Error::ValueTooLong(AttributeType::DATA))
    );
}
