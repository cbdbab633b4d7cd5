//! The codec on hand-made and generated messages (round trips, compression,
//! hostile input), the resolver and responder on virtual time.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::wire::{self, Message, MessageBuilder, RecordType, Section, FLAG_RESPONSE};
use super::*;
use crate::error::DnsWireError;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A response with one A answer for `name`.
fn answer(id: u16, name: &str, addr: IpAddr, ttl: u32) -> Vec<u8> {
    let mut buf = [0u8; 600];
    let mut b =
        MessageBuilder::new(&mut buf, id, FLAG_RESPONSE | wire::FLAG_AUTHORITATIVE).unwrap();
    b.answer(name, addr, ttl, true).unwrap();
    let len = b.finish();
    buf[..len].to_vec()
}

// ------------------------------------------------------------------- wire

#[test]
fn questions_and_answers_round_trip() {
    let mut buf = [0u8; 512];
    let mut b = MessageBuilder::new(&mut buf, 7, FLAG_RESPONSE).unwrap();
    b.question("a.local", RecordType::A, true).unwrap();
    b.question("B.Local.", RecordType::Aaaa, false).unwrap();
    b.answer("a.local", ip("192.0.2.1"), 120, true).unwrap();
    b.answer("b.local", ip("2001:db8::1"), 10, false).unwrap();
    let len = b.finish();
    let m = Message::new_checked(&buf[..len]).unwrap();
    assert_eq!(
        (m.id(), m.is_response(), m.opcode(), m.rcode()),
        (7, true, 0, 0)
    );
    assert_eq!((m.question_count(), m.answer_count()), (2, 2));
    let q: Vec<_> = m.questions().collect();
    assert!(q[0].name.eq_str("A.LOCAL") && q[0].unicast_response);
    assert_eq!(q[0].record_type, RecordType::A);
    assert!(q[1].name.eq_str("b.local.") && !q[1].unicast_response);
    assert_eq!(q[1].name.to_string(), "B.Local");
    let r: Vec<_> = m.records().collect();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].addr(), Some(ip("192.0.2.1")));
    assert!(r[0].cache_flush && r[0].ttl == 120 && r[0].section == Section::Answer);
    assert_eq!(r[1].addr(), Some(ip("2001:db8::1")));
    assert!(!r[1].cache_flush);
}

/// Header, question `host.local` A, then an answer whose name is a pointer
/// to the question's name, and one whose name is `x` + a pointer to `local`.
fn compressed() -> Vec<u8> {
    let mut m = vec![0, 1, 0x84, 0, 0, 1, 0, 2, 0, 0, 0, 0];
    m.extend_from_slice(b"\x04host\x05local\x00");
    m.extend_from_slice(&[0, 1, 0, 1]);
    // Answer 1: pointer to offset 12.
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0x80, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]);
    // Answer 2: "x" then a pointer to "local" (offset 12 + 5).
    m.extend_from_slice(b"\x01x");
    m.extend_from_slice(&[0xc0, 17, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 2]);
    m
}

#[test]
fn compressed_names_are_followed() {
    let m = compressed();
    let m = Message::new_checked(&m[..]).unwrap();
    let r: Vec<_> = m.records().collect();
    assert!(r[0].name.eq_str("host.local"));
    assert_eq!(r[0].addr(), Some(ip("10.0.0.1")));
    assert!(r[1].name.eq_str("x.local"));
    assert!(!r[1].name.eq_str("x.local.more"));
    assert!(!r[1].name.eq_str("x"));
    assert_eq!(r[1].addr(), Some(ip("10.0.0.2")));
}

#[test]
fn hostile_messages_are_typed_errors() {
    use DnsWireError as E;
    let header = |qd: u8, an: u8| vec![0, 0, 0x84, 0, 0, qd, 0, an, 0, 0, 0, 0];
    let cases: Vec<(Vec<u8>, DnsWireError)> = vec![
        (vec![0; 11], E::Truncated),
        (vec![0; wire::MAX_MESSAGE + 1], E::TooLong),
        // A pointer to itself.
        (
            [header(1, 0), vec![0xc0, 12, 0, 1, 0, 1]].concat(),
            E::PointerLoop,
        ),
        // A forward pointer.
        (
            [header(1, 0), vec![0xc0, 14, 0, 0, 0, 1, 0, 1]].concat(),
            E::PointerLoop,
        ),
        // A pointer into the header.
        (
            [header(1, 0), vec![0xc0, 2, 0, 1, 0, 1]].concat(),
            E::PointerLoop,
        ),
        // Two pointers chasing each other backwards and forwards: a label,
        // then a pointer back to it.
        (
            [header(1, 0), vec![1, b'a', 0xc0, 12, 0, 1, 0, 1]].concat(),
            E::PointerLoop,
        ),
        // Reserved label types.
        (
            [header(1, 0), vec![0x40, 0, 0, 1, 0, 1]].concat(),
            E::BadLabel,
        ),
        (
            [header(1, 0), vec![0x80, 0, 0, 1, 0, 1]].concat(),
            E::BadLabel,
        ),
        // A label running past the end.
        ([header(1, 0), vec![5, b'a', b'b']].concat(), E::Truncated),
        // An A record with five bytes of data.
        (
            [
                header(0, 1),
                vec![1, b'a', 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5],
            ]
            .concat(),
            E::BadRecord,
        ),
        // Record data past the end.
        (
            [
                header(0, 1),
                vec![1, b'a', 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2],
            ]
            .concat(),
            E::Truncated,
        ),
        // More questions than there are.
        ([header(3, 0), vec![0, 0, 1, 0, 1]].concat(), E::Truncated),
    ];
    for (i, (bytes, err)) in cases.into_iter().enumerate() {
        assert_eq!(
            Message::new_checked(&bytes[..]).err(),
            Some(err),
            "case {i}"
        );
    }
    // A name over 255 bytes: five labels of 63.
    let mut long = header(1, 0);
    for _ in 0..5 {
        long.push(63);
        long.extend_from_slice(&[b'a'; 63]);
    }
    long.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(Message::new_checked(&long[..]).err(), Some(E::NameTooLong));
    // Every strict prefix of a good message is refused.
    let good = compressed();
    for n in 0..good.len() {
        assert!(Message::new_checked(&good[..n]).is_err(), "prefix {n}");
    }
}

#[test]
fn builder_refuses_bad_input() {
    use DnsWireError as E;
    let mut small = [0u8; 11];
    assert_eq!(
        MessageBuilder::new(&mut small, 0, 0).err(),
        Some(E::BufferTooSmall)
    );
    let mut buf = [0u8; 40];
    let mut b = MessageBuilder::new(&mut buf, 0, 0).unwrap();
    assert_eq!(b.question("", RecordType::A, false).err(), Some(E::BadName));
    assert_eq!(
        b.question("a..local", RecordType::A, false).err(),
        Some(E::BadName)
    );
    let label64 = format!("{}.local", "a".repeat(64));
    assert_eq!(
        b.question(&label64, RecordType::A, false).err(),
        Some(E::BadName)
    );
    let too_long = format!("{}local", "abcdefg.".repeat(32));
    assert_eq!(
        b.question(&too_long, RecordType::A, false).err(),
        Some(E::BadName)
    );
    assert_eq!(
        b.question("a-rather-long-name.local", RecordType::A, false)
            .err(),
        Some(E::BufferTooSmall)
    );
    b.answer("a.local", ip("10.0.0.1"), 1, false).unwrap();
    assert_eq!(
        b.question("a.local", RecordType::A, false).err(),
        Some(E::Order)
    );
    let len = b.finish();
    // What was refused left the message valid.
    let m = Message::new_checked(&buf[..len]).unwrap();
    assert_eq!((m.question_count(), m.answer_count()), (0, 1));
    assert!(E::Truncated.is_peer_fault() && !E::BadName.is_peer_fault());
}

#[test]
fn names_display_with_escapes() {
    let mut m = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(b"\x03a.b\x02\x00z\x00");
    m.extend_from_slice(&[0, 1, 0, 1]);
    let m = Message::new_checked(&m[..]).unwrap();
    assert_eq!(
        m.questions().next().unwrap().name.to_string(),
        "a\\046b.\\000z"
    );
}

#[test]
fn local_names() {
    assert!(is_local_name("a.local"));
    assert!(is_local_name("A.LOCAL."));
    assert!(!is_local_name("local"));
    assert!(!is_local_name("a.localhost"));
    assert!(!is_local_name("a..local"));
    assert!(!is_local_name("é.local\u{301}"));
}

fn label() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9-]{1,20}"
}

fn local_name() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 1..4).prop_map(|l| format!("{}.local", l.join(".")))
}

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(m) = Message::new_checked(&bytes[..]) {
            for q in m.questions() {
                let _ = q.name.to_string();
                prop_assert!(q.name.labels().count() <= 128);
            }
            prop_assert_eq!(m.records().count(), m.answer_count() as usize + m.authority_count() as usize + m.additional_count() as usize);
            for r in m.records() {
                let _ = (r.addr(), r.name.to_string());
            }
        }
    }

    #[test]
    fn built_messages_parse_to_what_was_written(
        id in any::<u16>(),
        questions in prop::collection::vec((local_name(), any::<bool>(), any::<bool>()), 0..4),
        answers in prop::collection::vec((local_name(), any_ip(), any::<u32>(), any::<bool>()), 0..6),
    ) {
        let mut buf = [0u8; 4000];
        let mut b = MessageBuilder::new(&mut buf, id, FLAG_RESPONSE).unwrap();
        for (n, aaaa, qu) in &questions {
            b.question(n, if *aaaa { RecordType::Aaaa } else { RecordType::A }, *qu).unwrap();
        }
        for (n, addr, ttl, flush) in &answers {
            b.answer(n, *addr, *ttl, *flush).unwrap();
        }
        let len = b.finish();
        let m = Message::new_checked(&buf[..len]).unwrap();
        prop_assert_eq!(m.id(), id);
        let got: Vec<_> = m.questions().collect();
        prop_assert_eq!(got.len(), questions.len());
        for (g, (n, aaaa, qu)) in got.iter().zip(&questions) {
            prop_assert!(g.name.eq_str(n));
            prop_assert_eq!(g.name.to_string(), n.clone());
            prop_assert_eq!(g.unicast_response, *qu);
            prop_assert_eq!(g.record_type == RecordType::Aaaa, *aaaa);
        }
        let got: Vec<_> = m.records().collect();
        prop_assert_eq!(got.len(), answers.len());
        for (g, (n, addr, ttl, flush)) in got.iter().zip(&answers) {
            prop_assert!(g.name.eq_str(n));
            prop_assert_eq!(g.addr(), Some(*addr));
            prop_assert_eq!((g.ttl, g.cache_flush), (*ttl, *flush));
        }
    }

    /// A record whose name is a pointer (to the question's name, or to a
    /// suffix of it after a label of its own) reads as the full name.
    #[test]
    fn compression_pointers_read_as_the_full_name(name in local_name(), prefix in label(), addr in any::<[u8; 4]>()) {
        let mut buf = [0u8; 600];
        let mut b = MessageBuilder::new(&mut buf, 0, FLAG_RESPONSE).unwrap();
        b.question(&name, RecordType::A, false).unwrap();
        let len = b.finish();
        let mut m = buf[..len].to_vec();
        m[7] = 2; // two answers
        let first_label = name.split('.').next().unwrap().len();
        let record = |m: &mut Vec<u8>, addr: [u8; 4]| {
            m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 9, 0, 4]);
            m.extend_from_slice(&addr);
        };
        m.extend_from_slice(&[0xc0, 12]);
        record(&mut m, addr);
        m.push(prefix.len() as u8);
        m.extend_from_slice(prefix.as_bytes());
        m.extend_from_slice(&[0xc0, (12 + 1 + first_label) as u8]);
        record(&mut m, addr);
        let msg = Message::new_checked(&m[..]).unwrap();
        let r: Vec<_> = msg.records().collect();
        prop_assert!(r[0].name.eq_str(&name));
        let rest = name.split_once('.').unwrap().1;
        let prefixed = format!("{prefix}.{rest}");
        prop_assert!(r[1].name.eq_str(&prefixed));
        prop_assert_eq!(r[1].addr(), Some(IpAddr::from(addr)));
    }

    /// Any byte of a good message changed, or any prefix taken: a typed
    /// error or a message, never a panic.
    #[test]
    fn mutated_messages_never_panic(at in 0usize..200, value in any::<u8>(), cut in 0usize..200) {
        let mut m = compressed();
        let n = m.len();
        m[at % n] = value;
        m.truncate(cut.max(1).min(n));
        if let Ok(msg) = Message::new_checked(&m[..]) {
            for r in msg.records() {
                let _ = (r.addr(), r.name.to_string());
            }
        }
    }

    /// The resolver and responder take any bytes without panicking.
    #[test]
    fn resolver_and_responder_take_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let now = Instant::now();
        let mut r = MdnsResolver::new(MdnsResolverConfig { seed: Some(1), ..Default::default() });
        r.resolve(now, "a.local").unwrap();
        let _ = r.handle_receive(now, sa("10.0.0.2:5353"), &bytes);
        let mut s = MdnsResponder::new(MdnsResponderConfig { seed: Some(1), ..Default::default() });
        s.register(ip("10.0.0.1")).unwrap();
        let _ = s.handle_receive(now, sa("10.0.0.2:5353"), &bytes);
        let mut buf = [0u8; 1500];
        while s.poll_transmit(now, &mut buf).is_some() {}
    }
}

// --------------------------------------------------------------- resolver

fn resolver(config: MdnsResolverConfig) -> MdnsResolver {
    MdnsResolver::new(MdnsResolverConfig {
        ipv6: false,
        seed: Some(7),
        ..config
    })
}

/// The id and questions of the query `r` sends next.
/// A query as sent: id, destination, questions.
type SentQuery = (u16, SocketAddr, Vec<(String, RecordType)>);

fn sent_query(r: &mut MdnsResolver) -> Option<SentQuery> {
    let mut buf = [0u8; 600];
    let t = r.poll_transmit(&mut buf)?;
    let m = Message::new_checked(&buf[..t.len]).unwrap();
    assert!(!m.is_response());
    let q = m
        .questions()
        .map(|q| (q.name.to_string(), q.record_type))
        .collect();
    Some((m.id(), t.destination, q))
}

#[test]
fn resolver_resolves_caches_and_expires() {
    let t0 = Instant::now();
    let mut r = resolver(Default::default());
    assert_eq!(
        r.resolve(t0, "Host.local").unwrap(),
        ResolveStarted::Queried
    );
    assert_eq!(
        r.resolve(t0, "host.local.").unwrap(),
        ResolveStarted::Joined
    );
    let (id, dest, q) = sent_query(&mut r).unwrap();
    assert_eq!(dest, sa("224.0.0.251:5353"));
    assert_eq!(
        q,
        vec![
            ("host.local".into(), RecordType::A),
            ("host.local".into(), RecordType::Aaaa)
        ]
    );
    assert!(sent_query(&mut r).is_none());
    // An answer from another port, or for another name, changes nothing.
    r.handle_receive(
        t0,
        sa("10.0.0.2:6000"),
        &answer(id, "host.local", ip("10.0.0.2"), 60),
    )
    .unwrap();
    r.handle_receive(
        t0,
        sa("10.0.0.2:5353"),
        &answer(id, "other.local", ip("10.0.0.3"), 60),
    )
    .unwrap();
    // Nor does one with another id.
    r.handle_receive(
        t0,
        sa("10.0.0.2:5353"),
        &answer(id ^ 1, "host.local", ip("10.0.0.2"), 60),
    )
    .unwrap();
    assert_eq!(r.poll_event(), None);
    assert_eq!(r.cached(), 0, "unasked names are not cached");
    r.handle_receive(
        t0 + ms(5),
        sa("10.0.0.2:5353"),
        &answer(id, "HOST.local", ip("10.0.0.2"), 60),
    )
    .unwrap();
    let resolved = |name: &str| MdnsEvent::Resolved {
        name: name.into(),
        addrs: vec![ip("10.0.0.2")],
    };
    assert_eq!(r.poll_event(), Some(resolved("Host.local")));
    assert_eq!(r.poll_event(), Some(resolved("host.local.")));
    assert_eq!(r.poll_event(), None);
    assert_eq!((r.in_flight(), r.poll_timeout()), (0, None));
    // Cached for the TTL...
    assert_eq!(
        r.resolve(t0 + ms(59_000), "host.local").unwrap(),
        ResolveStarted::Cached
    );
    assert_eq!(r.poll_event(), Some(resolved("host.local")));
    assert!(sent_query(&mut r).is_none());
    // ...and not after.
    assert_eq!(r.lookup(t0 + ms(60_005), "host.local"), None);
    assert_eq!(
        r.resolve(t0 + ms(60_005), "host.local").unwrap(),
        ResolveStarted::Queried
    );
    assert!(sent_query(&mut r).is_some());
}

#[test]
fn resolver_retransmits_once_then_gives_up() {
    let t0 = Instant::now();
    let mut r = resolver(Default::default());
    r.resolve(t0, "gone.local").unwrap();
    let (id, ..) = sent_query(&mut r).unwrap();
    assert_eq!(r.poll_timeout(), Some(t0 + ms(1000)));
    r.handle_timeout(t0 + ms(999));
    assert!(sent_query(&mut r).is_none());
    r.handle_timeout(t0 + ms(1000));
    let (again, ..) = sent_query(&mut r).expect("one retransmit");
    assert_eq!(again, id, "the retransmit is the same query");
    assert_eq!(r.poll_event(), None);
    assert_eq!(r.poll_timeout(), Some(t0 + ms(2000)));
    r.handle_timeout(t0 + ms(2000));
    assert!(sent_query(&mut r).is_none());
    assert_eq!(
        r.poll_event(),
        Some(MdnsEvent::Unresolved {
            name: "gone.local".into()
        })
    );
    assert_eq!((r.in_flight(), r.poll_timeout()), (0, None));
    // A late answer is ignored.
    r.handle_receive(
        t0 + ms(2100),
        sa("10.0.0.2:5353"),
        &answer(id, "gone.local", ip("10.0.0.2"), 60),
    )
    .unwrap();
    assert_eq!((r.poll_event(), r.cached()), (None, 0));
}

#[test]
fn resolver_bounds_queries_cache_and_ttl() {
    let t0 = Instant::now();
    let mut r = resolver(MdnsResolverConfig {
        max_in_flight: 2,
        cache_size: 2,
        max_ttl: Duration::from_secs(30),
        ..Default::default()
    });
    assert_eq!(r.resolve(t0, "example.com"), Err(Error::InvalidMdnsName));
    r.resolve(t0, "a.local").unwrap();
    r.resolve(t0, "b.local").unwrap();
    assert_eq!(r.resolve(t0, "c.local"), Err(Error::TooManyMdnsQueries(2)));
    assert_eq!(r.in_flight(), 2);
    let a = sent_query(&mut r).unwrap().0;
    let b = sent_query(&mut r).unwrap().0;
    assert_ne!(a, b);
    let from = sa("10.0.0.9:5353");
    r.handle_receive(t0, from, &answer(a, "a.local", ip("10.0.0.1"), 4500))
        .unwrap();
    r.handle_receive(t0, from, &answer(b, "b.local", ip("10.0.0.2"), 4500))
        .unwrap();
    // TTL capped at 30 s.
    assert!(r.lookup(t0 + ms(29_999), "a.local").is_some());
    assert!(r.lookup(t0 + ms(30_000), "a.local").is_none());
    assert_eq!(
        r.resolve(t0 + ms(10), "c.local"),
        Err(Error::TooManyMdnsQueries(2)),
        "two answers unread"
    );
    while r.poll_event().is_some() {}
    r.resolve(t0 + ms(10), "c.local").unwrap();
    let c = sent_query(&mut r).unwrap().0;
    r.handle_receive(t0 + ms(10), from, &answer(c, "c.local", ip("10.0.0.3"), 60))
        .unwrap();
    assert_eq!(r.cached(), 2, "the cache stays bounded");
    assert!(r.lookup(t0 + ms(10), "c.local").is_some());
    // Unread events are bounded too.
    while r.poll_event().is_some() {}
    assert_eq!(
        r.resolve(t0 + ms(20), "c.local"),
        Ok(ResolveStarted::Cached)
    );
    assert_eq!(
        r.resolve(t0 + ms(20), "c.local"),
        Ok(ResolveStarted::Cached)
    );
    assert_eq!(
        r.resolve(t0 + ms(20), "c.local"),
        Err(Error::TooManyMdnsQueries(2))
    );
}

#[test]
fn resolver_goodbye_removes_an_address() {
    let t0 = Instant::now();
    let mut r = resolver(Default::default());
    r.resolve(t0, "h.local").unwrap();
    let id = sent_query(&mut r).unwrap().0;
    // Two addresses in one answer (A and AAAA, the second in the additional section).
    let mut buf = [0u8; 600];
    let mut b = MessageBuilder::new(&mut buf, id, FLAG_RESPONSE).unwrap();
    b.answer("h.local", ip("10.0.0.1"), 60, true).unwrap();
    b.answer("h.local", ip("fe80::1"), 60, true).unwrap();
    let len = b.finish();
    buf[7] = 1;
    buf[11] = 1; // one answer, one additional record
    r.handle_receive(t0, sa("10.0.0.1:5353"), &buf[..len])
        .unwrap();
    match r.poll_event() {
        Some(MdnsEvent::Resolved { addrs, .. }) => {
            assert_eq!(addrs, vec![ip("10.0.0.1"), ip("fe80::1")])
        }
        other => panic!("{other:?}"),
    }
    // A goodbye for one of them while a new query is in flight.
    r.handle_timeout(t0 + ms(200_000));
    r.resolve(t0 + ms(200_000), "h.local").unwrap();
    let id = sent_query(&mut r).unwrap().0;
    r.handle_receive(
        t0 + ms(200_001),
        sa("10.0.0.1:5353"),
        &answer(id, "h.local", ip("10.0.0.1"), 0),
    )
    .unwrap();
    assert_eq!(r.poll_event(), None, "a goodbye alone resolves nothing");
    assert_eq!(r.in_flight(), 1);
}

#[test]
fn resolver_sends_to_both_groups() {
    let t0 = Instant::now();
    let mut r = MdnsResolver::new(MdnsResolverConfig {
        seed: Some(1),
        ..Default::default()
    });
    r.resolve(t0, "h.local").unwrap();
    assert_eq!(sent_query(&mut r).unwrap().1, sa("224.0.0.251:5353"));
    assert_eq!(sent_query(&mut r).unwrap().1, sa("[ff02::fb]:5353"));
    assert!(sent_query(&mut r).is_none());
}

// -------------------------------------------------------------- responder

fn query(id: u16, name: &str, rtype: RecordType, qu: bool) -> Vec<u8> {
    let mut buf = [0u8; 600];
    let mut b = MessageBuilder::new(&mut buf, id, 0).unwrap();
    b.question(name, rtype, qu).unwrap();
    let len = b.finish();
    buf[..len].to_vec()
}

fn responder() -> MdnsResponder {
    MdnsResponder::new(MdnsResponderConfig {
        seed: Some(3),
        max_names: 2,
        max_pending: 2,
        ..Default::default()
    })
}

/// The next answer: destination, id, questions, (name, addr, ttl, flush).
type Sent = (SocketAddr, u16, usize, Vec<(String, IpAddr, u32, bool)>);

fn sent_answer(s: &mut MdnsResponder, now: Instant) -> Option<Sent> {
    let mut buf = [0u8; 1500];
    let t = s.poll_transmit(now, &mut buf)?;
    let m = Message::new_checked(&buf[..t.len]).unwrap();
    assert!(m.is_response());
    let answers = m
        .records()
        .map(|r| (r.name.to_string(), r.addr().unwrap(), r.ttl, r.cache_flush))
        .collect();
    Some((t.destination, m.id(), m.question_count() as usize, answers))
}

#[test]
fn responder_names_are_uuid_v4_and_bounded() {
    let mut s = responder();
    let a = s.register(ip("10.0.0.1")).unwrap();
    assert_eq!(
        s.register(ip("10.0.0.1")).unwrap(),
        a,
        "one name per address"
    );
    let b = s.register(ip("fe80::1")).unwrap();
    assert_ne!(a, b);
    assert_eq!(s.register(ip("10.0.0.3")), Err(Error::TooManyMdnsNames(2)));
    for name in [&a, &b] {
        let uuid = name.strip_suffix(".local").unwrap();
        let parts: Vec<_> = uuid.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12], "{name}");
        assert_eq!(&uuid[14..15], "4", "version 4: {name}");
        assert!("89ab".contains(&uuid[19..20]), "variant: {name}");
        assert!(is_local_name(name));
        // Parses as a candidate address.
        let line = format!("candidate:1 1 udp 1 {name} 9 typ host");
        assert!(line.parse::<crate::Candidate>().is_ok());
    }
    assert_eq!(s.name_of(ip("fe80::1")), Some(b.as_str()));
    assert!(s.unregister(&a.to_uppercase()));
    assert!(!s.unregister(&a));
    assert_eq!(s.names().count(), 1);
}

#[test]
fn responder_answers_one_shot_queries_unicast() {
    let t0 = Instant::now();
    let mut s = responder();
    let name = s.register(ip("10.0.0.1")).unwrap();
    let querier = sa("10.0.0.2:40000");
    s.handle_receive(
        t0,
        querier,
        &query(77, &name.to_uppercase(), RecordType::A, false),
    )
    .unwrap();
    let (dest, id, questions, answers) = sent_answer(&mut s, t0).unwrap();
    assert_eq!((dest, id, questions), (querier, 77, 1));
    assert_eq!(answers, vec![(name.clone(), ip("10.0.0.1"), 10, false)]);
    // Other names, other types, responses: ignored.
    s.handle_receive(t0, querier, &query(1, "other.local", RecordType::A, false))
        .unwrap();
    s.handle_receive(t0, querier, &query(1, &name, RecordType::Aaaa, false))
        .unwrap();
    s.handle_receive(t0, querier, &answer(1, &name, ip("10.9.9.9"), 10))
        .unwrap();
    assert!(sent_answer(&mut s, t0).is_none());
    // Malformed input is an error and changes nothing.
    assert!(s.handle_receive(t0, querier, &[0xff; 5]).is_err());
    // ANY asks for every record.
    s.handle_receive(t0, querier, &query(2, &name, RecordType::Any, false))
        .unwrap();
    assert_eq!(sent_answer(&mut s, t0).unwrap().3.len(), 1);
}

#[test]
fn responder_multicasts_to_port_5353_queriers_at_most_once_a_second() {
    let t0 = Instant::now();
    let mut s = responder();
    let name = s.register(ip("2001:db8::5")).unwrap();
    let mdns_peer = sa("10.0.0.2:5353");
    s.handle_receive(t0, mdns_peer, &query(9, &name, RecordType::Aaaa, false))
        .unwrap();
    let (dest, id, questions, answers) = sent_answer(&mut s, t0).unwrap();
    assert_eq!((dest, id, questions), (sa("224.0.0.251:5353"), 0, 0));
    assert_eq!(answers, vec![(name.clone(), ip("2001:db8::5"), 120, true)]);
    // Again within a second: not answered; a QU question is, unicast.
    s.handle_receive(
        t0 + ms(500),
        mdns_peer,
        &query(9, &name, RecordType::Aaaa, false),
    )
    .unwrap();
    assert!(sent_answer(&mut s, t0).is_none());
    s.handle_receive(
        t0 + ms(500),
        mdns_peer,
        &query(9, &name, RecordType::Aaaa, true),
    )
    .unwrap();
    assert_eq!(sent_answer(&mut s, t0).unwrap().0, mdns_peer);
    // A second later, multicast again; from IPv6 to the IPv6 group.
    s.handle_receive(
        t0 + ms(1000),
        sa("[fe80::2]:5353"),
        &query(9, &name, RecordType::Aaaa, false),
    )
    .unwrap();
    assert_eq!(sent_answer(&mut s, t0).unwrap().0, sa("[ff02::fb]:5353"));
}

#[test]
fn responder_queue_is_bounded() {
    let t0 = Instant::now();
    let mut s = responder();
    let name = s.register(ip("10.0.0.1")).unwrap();
    for port in 40000..40010 {
        s.handle_receive(
            t0,
            SocketAddr::new(ip("10.0.0.2"), port),
            &query(1, &name, RecordType::A, false),
        )
        .unwrap();
    }
    assert!(sent_answer(&mut s, t0).is_some());
    assert!(sent_answer(&mut s, t0).is_some());
    assert!(sent_answer(&mut s, t0).is_none());
}

/// Resolver and responder end to end on virtual time, with the first query lost.
#[test]
fn resolver_and_responder_on_virtual_time() {
    let t0 = Instant::now();
    let mut s = responder();
    let name = s.register(ip("10.0.0.1")).unwrap();
    let mut r = resolver(Default::default());
    r.resolve(t0, &name).unwrap();
    let mut buf = [0u8; 1500];
    assert!(r.poll_transmit(&mut buf).is_some()); // lost
    let t1 = r.poll_timeout().unwrap();
    r.handle_timeout(t1);
    let q = r.poll_transmit(&mut buf).unwrap();
    let querier = sa("10.0.0.2:40000");
    let query = buf[..q.len].to_vec();
    s.handle_receive(t1, querier, &query).unwrap();
    let a = s.poll_transmit(t1, &mut buf).unwrap();
    assert_eq!(a.destination, querier);
    r.handle_receive(t1 + ms(1), sa("10.0.0.1:5353"), &buf[..a.len])
        .unwrap();
    assert_eq!(
        r.poll_event(),
        Some(MdnsEvent::Resolved {
            name,
            addrs: vec![ip("10.0.0.1")]
        })
    );
}
