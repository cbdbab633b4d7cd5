//! Arbitrary bytes into the STUN decoder: parse, decode every attribute,
//! verify integrity and fingerprint, re-encode; and the ChannelData parser and
//! demultiplexer, and the Binding server core. Nothing may panic, and whatever parses must re-encode
//! byte-exact (attributes copied raw, integrity and fingerprint recomputed
//! only when they verified).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stun::{classify, Attribute, ChannelData, IntegrityKey, Message, MessageBuilder};

fuzz_target!(|data: &[u8]| {
    let _ = classify(data);
    // The Binding server's core answers anything without panicking, and what
    // it answers is a valid STUN message.
    let mut out = [0u8; 1500];
    let server = stun::server::BindingServer::new("fuzz");
    if let Some(n) = server.handle(data, "127.0.0.1:9".parse().unwrap(), &mut out) {
        if stun::is_stun(&out[..n]) {
            Message::parse(&out[..n]).expect("server output parses");
        }
    }
    if let Ok(cd) = ChannelData::parse(data) {
        let mut out = vec![0u8; cd.data.len() + 8];
        let n = ChannelData::encode(cd.channel, cd.data, &mut out, false).expect("valid channel");
        assert_eq!(&out[..n], &data[..n]);
    }
    let Ok(msg) = Message::parse(data) else { return };
    let tid = *msg.transaction_id_bytes();
    for attr in msg.typed_attributes() {
        if let Ok(a) = attr {
            // Whatever decodes must encode to the same length.
            let mut v = vec![0u8; a.encoded_len()];
            a.encode(&mut v, &tid);
        }
    }
    let _ = msg.unknown_comprehension_required().count();
    let key = IntegrityKey::short_term("VOkJxbRl1RmTxUk/WvJxBt").expect("ascii");
    let integrity_ok = msg.verify_integrity(&key).is_ok();
    let fingerprint_ok = msg.verify_fingerprint().is_ok();

    // Re-encode: raw copy of every attribute is byte-exact.
    let mut buf = vec![0u8; data.len()];
    let mut b = MessageBuilder::new(&mut buf, msg.class(), msg.method(), msg.transaction_id()).expect("fits");
    for raw in msg.attributes() {
        b.add_raw(&raw).expect("same size as input");
    }
    let n = b.finish();
    assert_eq!(&buf[..n], data);

    // Re-sign: when integrity and fingerprint verified, recomputing them gives the same bytes.
    if integrity_ok && fingerprint_ok && msg.get::<stun::attributes::MessageIntegritySha256<'_>>().ok().flatten().is_none() {
        let mut buf = vec![0u8; data.len()];
        let mut b = MessageBuilder::new(&mut buf, msg.class(), msg.method(), msg.transaction_id()).expect("fits");
        for raw in msg.attributes() {
            match raw.typ {
                stun::AttributeType::MESSAGE_INTEGRITY => {
                    b.add_message_integrity(&key).expect("fits");
                }
                stun::AttributeType::FINGERPRINT => {
                    b.add_fingerprint().expect("fits");
                }
                _ => {
                    b.add_raw(&raw).expect("fits");
                }
            }
        }
        let n = b.finish();
        // Padding bytes of MI/FP are zero-length, so only the values matter.
        assert_eq!(&buf[..n], data);
    }
    let _ = Attribute::decode;
});
