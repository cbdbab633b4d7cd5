//! Arbitrary bytes into the mDNS message parser, resolver and responder:
//! never panics; whatever parses can be walked in full, and its questions
//! and A/AAAA answers (with names of plain labels) written again with the
//! builder parse back to the same values.
#![no_main]

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use ice::mdns::wire::{Message, MessageBuilder, Name};
use ice::mdns::{MdnsResolver, MdnsResolverConfig, MdnsResponder, MdnsResponderConfig};
use libfuzzer_sys::fuzz_target;

/// The name as dotted text, when every label is letters, digits and `-`.
fn plain(name: &Name<'_>) -> Option<String> {
    let mut out = String::new();
    for label in name.labels() {
        if label.is_empty() || !label.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
            return None;
        }
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(std::str::from_utf8(label).ok()?);
    }
    (!out.is_empty()).then_some(out)
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let from: SocketAddr = "10.0.0.2:5353".parse().unwrap();
    let mut resolver = MdnsResolver::new(MdnsResolverConfig { seed: Some(1), ..Default::default() });
    let _ = resolver.resolve(now, "fuzz.local");
    let _ = resolver.handle_receive(now, from, data);
    while resolver.poll_event().is_some() {}
    let mut responder = MdnsResponder::new(MdnsResponderConfig { seed: Some(1), ..Default::default() });
    let _ = responder.register(IpAddr::from([10, 0, 0, 1]));
    let _ = responder.handle_receive(now, from, data);
    let mut out = [0u8; 9000];
    while responder.poll_transmit(now, &mut out).is_some() {}

    let Ok(msg) = Message::new_checked(data) else { return };
    let questions: Vec<_> = msg.questions().collect();
    assert_eq!(questions.len(), msg.question_count() as usize);
    let records: Vec<_> = msg.records().collect();
    let total = msg.answer_count() as usize + msg.authority_count() as usize + msg.additional_count() as usize;
    assert_eq!(records.len(), total);

    let mut written_q = Vec::new();
    let mut written_a = Vec::new();
    let mut b = MessageBuilder::new(&mut out, msg.id(), msg.flags()).unwrap();
    for q in &questions {
        let _ = q.name.to_string();
        if let Some(name) = plain(&q.name) {
            if b.question(&name, q.record_type, q.unicast_response).is_ok() {
                written_q.push((name, q.record_type, q.unicast_response));
            }
        }
    }
    for r in &records {
        let _ = r.name.to_string();
        if let (Some(name), Some(addr)) = (plain(&r.name), r.addr()) {
            if b.answer(&name, addr, r.ttl, r.cache_flush).is_ok() {
                written_a.push((name, addr, r.ttl, r.cache_flush));
            }
        }
    }
    let len = b.finish();
    let again = Message::new_checked(&out[..len]).expect("our own output parses");
    assert_eq!((again.id(), again.flags()), (msg.id(), msg.flags()));
    let q: Vec<_> = again
        .questions()
        .map(|q| (plain(&q.name).unwrap(), q.record_type, q.unicast_response))
        .collect();
    assert_eq!(q, written_q);
    let a: Vec<_> = again
        .records()
        .map(|r| (plain(&r.name).unwrap(), r.addr().unwrap(), r.ttl, r.cache_flush))
        .collect();
    assert_eq!(a, written_a);
});
