//! Property tests for the STUN codec.
//!
//! - Arbitrary messages (every typed attribute of [`stun::Attribute`] plus unknown
//!   comprehension-optional ones, then optional MESSAGE-INTEGRITY,
//!   MESSAGE-INTEGRITY-SHA256 and FINGERPRINT) round-trip through
//!   [`MessageBuilder`] and [`Message::parse`]: same header, same typed attributes
//!   in the same order, integrity and fingerprint verify, and re-encoding the
//!   decoded attributes (typed or raw) is byte-identical.
//! - Arbitrary and half-valid bytes never make the parser, the attribute decoders
//!   or the verifiers panic.
//! - Every single-bit flip of a protected message is detected, padding included.
//! - ChannelData and the RFC 7983 demultiplexer.
//! - A wrong key is reported as `IntegrityMismatch`.

use std::net::{IpAddr, SocketAddr};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::strategy::Union;
use stun::attributes::{
    AdditionalAddressFamily, AddressErrorCode, AddressFamily, AlternateDomain, AlternateServer,
    ChangeRequest, ChannelNumber, Data, DontFragment, ErrorCode, EvenPort, GoogNetworkInfo,
    IceControlled, IceControlling, Icmp, Lifetime, MappedAddress, Nonce, PasswordAlgorithmAttr,
    PasswordAlgorithmEntry, PasswordAlgorithms, Priority, Realm, RequestedAddressFamily,
    RequestedTransport, ReservationToken, Software, UnknownAttributes, UseCandidate, UserHash,
    Username, XorMappedAddress, XorPeerAddress, XorRelayedAddress,
};
use stun::integrity::opaque_string;
use stun::message::{decode_message_type, encode_message_type, message_len};
use stun::{
    classify, is_stun, Attribute, AttributeType, ChannelData, Class, Error, IntegrityKey, Message,
    MessageBuilder, Method, PacketKind, PasswordAlgorithm, RawAttribute, TransactionId,
};

const CASES: u32 = 256;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        // Failures print their minimal input; keep the source tree clean.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

// ---------------------------------------------------------------------------
// An owned model of every attribute the builder can write.

/// One attribute, owned, so that strategies can generate it and tests can compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Spec {
    MappedAddress(SocketAddr),
    XorMappedAddress(SocketAddr),
    Username(String),
    UserHash([u8; 32]),
    ErrorCode(u16, String),
    Realm(String),
    Nonce(String),
    PasswordAlgorithms(Vec<(u16, Vec<u8>)>),
    PasswordAlgorithm(u16, Vec<u8>),
    UnknownAttributes(Vec<u16>),
    Software(String),
    AlternateServer(SocketAddr),
    AlternateDomain(String),
    Priority(u32),
    UseCandidate,
    IceControlled(u64),
    IceControlling(u64),
    ChannelNumber(u16),
    Lifetime(u32),
    XorPeerAddress(SocketAddr),
    Data(Vec<u8>),
    XorRelayedAddress(SocketAddr),
    RequestedAddressFamily(AddressFamily),
    EvenPort(bool),
    RequestedTransport(u8),
    DontFragment,
    ReservationToken(u64),
    AdditionalAddressFamily(AddressFamily),
    AddressErrorCode(AddressFamily, u16, String),
    Icmp(u8, u8, u32),
    GoogNetworkInfo(u16, u16),
    ChangeRequest(bool, bool),
    /// A comprehension-optional type this crate does not know.
    Unknown(u16, Vec<u8>),
}

/// Slices some attributes borrow when they are encoded.
struct Aux<'s> {
    entries: Vec<PasswordAlgorithmEntry<'s>>,
    types: Vec<AttributeType>,
}

impl Spec {
    fn aux(&self) -> Aux<'_> {
        let mut aux = Aux {
            entries: Vec::new(),
            types: Vec::new(),
        };
        match self {
            Spec::PasswordAlgorithms(list) => {
                aux.entries = list
                    .iter()
                    .map(|(algorithm, parameters)| PasswordAlgorithmEntry {
                        algorithm: *algorithm,
                        parameters,
                    })
                    .collect();
            }
            Spec::UnknownAttributes(list) => {
                aux.types = list.iter().map(|&t| AttributeType(t)).collect();
            }
            _ => {}
        }
        aux
    }

    fn attribute<'s>(&'s self, aux: &'s Aux<'s>) -> Attribute<'s> {
        match self {
            Spec::MappedAddress(a) => Attribute::MappedAddress(MappedAddress(*a)),
            Spec::XorMappedAddress(a) => Attribute::XorMappedAddress(XorMappedAddress(*a)),
            Spec::Username(s) => Attribute::Username(Username(s)),
            Spec::UserHash(h) => Attribute::UserHash(UserHash(h)),
            Spec::ErrorCode(code, reason) => Attribute::ErrorCode(ErrorCode {
                code: *code,
                reason,
            }),
            Spec::Realm(s) => Attribute::Realm(Realm(s)),
            Spec::Nonce(s) => Attribute::Nonce(Nonce(s)),
            Spec::PasswordAlgorithms(_) => {
                Attribute::PasswordAlgorithms(PasswordAlgorithms::Entries(&aux.entries))
            }
            Spec::PasswordAlgorithm(algorithm, parameters) => {
                Attribute::PasswordAlgorithm(PasswordAlgorithmAttr(PasswordAlgorithmEntry {
                    algorithm: *algorithm,
                    parameters,
                }))
            }
            Spec::UnknownAttributes(_) => {
                Attribute::UnknownAttributes(UnknownAttributes::from_types(&aux.types))
            }
            Spec::Software(s) => Attribute::Software(Software(s)),
            Spec::AlternateServer(a) => Attribute::AlternateServer(AlternateServer(*a)),
            Spec::AlternateDomain(s) => Attribute::AlternateDomain(AlternateDomain(s)),
            Spec::Priority(p) => Attribute::Priority(Priority(*p)),
            Spec::UseCandidate => Attribute::UseCandidate(UseCandidate),
            Spec::IceControlled(t) => Attribute::IceControlled(IceControlled(*t)),
            Spec::IceControlling(t) => Attribute::IceControlling(IceControlling(*t)),
            Spec::ChannelNumber(n) => Attribute::ChannelNumber(ChannelNumber(*n)),
            Spec::Lifetime(l) => Attribute::Lifetime(Lifetime(*l)),
            Spec::XorPeerAddress(a) => Attribute::XorPeerAddress(XorPeerAddress(*a)),
            Spec::Data(d) => Attribute::Data(Data(d)),
            Spec::XorRelayedAddress(a) => Attribute::XorRelayedAddress(XorRelayedAddress(*a)),
            Spec::RequestedAddressFamily(f) => {
                Attribute::RequestedAddressFamily(RequestedAddressFamily(*f))
            }
            Spec::EvenPort(r) => Attribute::EvenPort(EvenPort { reserve_next: *r }),
            Spec::RequestedTransport(p) => Attribute::RequestedTransport(RequestedTransport(*p)),
            Spec::DontFragment => Attribute::DontFragment(DontFragment),
            Spec::ReservationToken(t) => Attribute::ReservationToken(ReservationToken(*t)),
            Spec::AdditionalAddressFamily(f) => {
                Attribute::AdditionalAddressFamily(AdditionalAddressFamily(*f))
            }
            Spec::AddressErrorCode(family, code, reason) => {
                Attribute::AddressErrorCode(AddressErrorCode {
                    family: *family,
                    code: *code,
                    reason,
                })
            }
            Spec::Icmp(icmp_type, icmp_code, error_data) => Attribute::Icmp(Icmp {
                icmp_type: *icmp_type,
                icmp_code: *icmp_code,
                error_data: *error_data,
            }),
            Spec::GoogNetworkInfo(network_id, network_cost) => {
                Attribute::GoogNetworkInfo(GoogNetworkInfo {
                    network_id: *network_id,
                    network_cost: *network_cost,
                })
            }
            Spec::ChangeRequest(change_ip, change_port) => {
                Attribute::ChangeRequest(ChangeRequest {
                    change_ip: *change_ip,
                    change_port: *change_port,
                })
            }
            Spec::Unknown(typ, value) => Attribute::Unknown {
                typ: AttributeType(*typ),
                value,
            },
        }
    }

    /// The model of a decoded attribute; `None` for the three computed ones.
    fn of(a: &Attribute<'_>) -> Option<Spec> {
        Some(match *a {
            Attribute::MappedAddress(MappedAddress(x)) => Spec::MappedAddress(x),
            Attribute::XorMappedAddress(XorMappedAddress(x)) => Spec::XorMappedAddress(x),
            Attribute::Username(Username(s)) => Spec::Username(s.to_owned()),
            Attribute::UserHash(UserHash(h)) => Spec::UserHash(*h),
            Attribute::ErrorCode(ErrorCode { code, reason }) => {
                Spec::ErrorCode(code, reason.to_owned())
            }
            Attribute::Realm(Realm(s)) => Spec::Realm(s.to_owned()),
            Attribute::Nonce(Nonce(s)) => Spec::Nonce(s.to_owned()),
            Attribute::PasswordAlgorithms(p) => Spec::PasswordAlgorithms(
                p.iter()
                    .map(|e| (e.algorithm, e.parameters.to_vec()))
                    .collect(),
            ),
            Attribute::PasswordAlgorithm(PasswordAlgorithmAttr(e)) => {
                Spec::PasswordAlgorithm(e.algorithm, e.parameters.to_vec())
            }
            Attribute::UnknownAttributes(u) => {
                Spec::UnknownAttributes(u.iter().map(|t| t.0).collect())
            }
            Attribute::Software(Software(s)) => Spec::Software(s.to_owned()),
            Attribute::AlternateServer(AlternateServer(x)) => Spec::AlternateServer(x),
            Attribute::AlternateDomain(AlternateDomain(s)) => Spec::AlternateDomain(s.to_owned()),
            Attribute::Priority(Priority(p)) => Spec::Priority(p),
            Attribute::UseCandidate(_) => Spec::UseCandidate,
            Attribute::IceControlled(IceControlled(t)) => Spec::IceControlled(t),
            Attribute::IceControlling(IceControlling(t)) => Spec::IceControlling(t),
            Attribute::ChannelNumber(ChannelNumber(n)) => Spec::ChannelNumber(n),
            Attribute::Lifetime(Lifetime(l)) => Spec::Lifetime(l),
            Attribute::XorPeerAddress(XorPeerAddress(x)) => Spec::XorPeerAddress(x),
            Attribute::Data(Data(d)) => Spec::Data(d.to_vec()),
            Attribute::XorRelayedAddress(XorRelayedAddress(x)) => Spec::XorRelayedAddress(x),
            Attribute::RequestedAddressFamily(RequestedAddressFamily(f)) => {
                Spec::RequestedAddressFamily(f)
            }
            Attribute::EvenPort(EvenPort { reserve_next }) => Spec::EvenPort(reserve_next),
            Attribute::RequestedTransport(RequestedTransport(p)) => Spec::RequestedTransport(p),
            Attribute::DontFragment(_) => Spec::DontFragment,
            Attribute::ReservationToken(ReservationToken(t)) => Spec::ReservationToken(t),
            Attribute::AdditionalAddressFamily(AdditionalAddressFamily(f)) => {
                Spec::AdditionalAddressFamily(f)
            }
            Attribute::AddressErrorCode(AddressErrorCode {
                family,
                code,
                reason,
            }) => Spec::AddressErrorCode(family, code, reason.to_owned()),
            Attribute::Icmp(Icmp {
                icmp_type,
                icmp_code,
                error_data,
            }) => Spec::Icmp(icmp_type, icmp_code, error_data),
            Attribute::GoogNetworkInfo(GoogNetworkInfo {
                network_id,
                network_cost,
            }) => Spec::GoogNetworkInfo(network_id, network_cost),
            Attribute::ChangeRequest(ChangeRequest {
                change_ip,
                change_port,
            }) => Spec::ChangeRequest(change_ip, change_port),
            Attribute::Unknown { typ, value } => Spec::Unknown(typ.0, value.to_vec()),
            Attribute::MessageIntegrity(_)
            | Attribute::MessageIntegritySha256(_)
            | Attribute::Fingerprint(_) => return None,
            ref other => panic!("attribute {other:?} is missing from the test model"),
        })
    }
}

/// A credential for MESSAGE-INTEGRITY(-SHA256).
#[derive(Debug, Clone)]
enum KeySpec {
    Short(String),
    Long {
        username: String,
        realm: String,
        password: String,
        algorithm: PasswordAlgorithm,
    },
}

impl KeySpec {
    fn key(&self) -> IntegrityKey {
        match self {
            KeySpec::Short(p) => IntegrityKey::short_term(p).unwrap(),
            KeySpec::Long {
                username,
                realm,
                password,
                algorithm,
            } => IntegrityKey::long_term(username, realm, password, *algorithm).unwrap(),
        }
    }
}

/// A whole message: header, body attributes and the optional computed trailer.
#[derive(Debug, Clone)]
struct MsgSpec {
    class: Class,
    method: Method,
    tid: TransactionId,
    padding: u8,
    attrs: Vec<Spec>,
    mi: Option<KeySpec>,
    mi256: Option<KeySpec>,
    fingerprint: bool,
}

impl MsgSpec {
    fn expected_len(&self) -> usize {
        20 + self
            .attrs
            .iter()
            .map(|s| {
                let aux = s.aux();
                4 + pad4(s.attribute(&aux).encoded_len())
            })
            .sum::<usize>()
            + if self.mi.is_some() { 24 } else { 0 }
            + if self.mi256.is_some() { 36 } else { 0 }
            + if self.fingerprint { 8 } else { 0 }
    }

    fn seal(&self, b: &mut MessageBuilder<'_>) {
        if let Some(k) = &self.mi {
            b.add_message_integrity(&k.key()).unwrap();
        }
        if let Some(k) = &self.mi256 {
            b.add_message_integrity_sha256(&k.key()).unwrap();
        }
        if self.fingerprint {
            b.add_fingerprint().unwrap();
        }
    }

    fn encode(&self) -> Vec<u8> {
        let auxes: Vec<Aux<'_>> = self.attrs.iter().map(Spec::aux).collect();
        let attrs: Vec<Attribute<'_>> = self
            .attrs
            .iter()
            .zip(&auxes)
            .map(|(s, a)| s.attribute(a))
            .collect();
        let expected = self.expected_len();
        let mut buf = vec![0u8; expected];
        let mut b = MessageBuilder::new(&mut buf, self.class, self.method, self.tid).unwrap();
        b.padding_byte(self.padding);
        for a in &attrs {
            b.add_attribute(a).unwrap();
        }
        self.seal(&mut b);
        let n = b.finish();
        assert_eq!(n, expected, "builder length");
        buf
    }
}

// ---------------------------------------------------------------------------
// Strategies

fn class() -> impl Strategy<Value = Class> {
    select(vec![
        Class::Request,
        Class::Indication,
        Class::SuccessResponse,
        Class::ErrorResponse,
    ])
}

fn socket_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::from(ip), port)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::from(ip), port)),
    ]
}

fn family() -> impl Strategy<Value = AddressFamily> {
    select(vec![AddressFamily::V4, AddressFamily::V6])
}

/// Any Unicode scalar values (control characters and non-ASCII included), fewer
/// than `max_chars` of them: RFC 8489 limits REALM, NONCE, SOFTWARE and reason
/// phrases to fewer than 128 characters.
fn text(max_chars: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..max_chars).prop_map(String::from_iter)
}

/// USERNAME: fewer than 509 bytes (RFC 8489 §14.3).
fn username() -> impl Strategy<Value = String> {
    prop_oneof![text(128), "[ -~]{0,508}"]
}

/// ALTERNATE-DOMAIN: at most 255 bytes.
fn domain() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9.-]{0,255}", text(64)]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

fn unknown_optional_type() -> impl Strategy<Value = u16> {
    (0x8000u16..=0xFFFF).prop_filter("a type this crate knows", |t| !AttributeType(*t).is_known())
}

fn spec() -> impl Strategy<Value = Spec> {
    let arms: Vec<BoxedStrategy<Spec>> = vec![
        socket_addr().prop_map(Spec::MappedAddress).boxed(),
        socket_addr().prop_map(Spec::XorMappedAddress).boxed(),
        username().prop_map(Spec::Username).boxed(),
        any::<[u8; 32]>().prop_map(Spec::UserHash).boxed(),
        (300u16..=699, text(128))
            .prop_map(|(c, r)| Spec::ErrorCode(c, r))
            .boxed(),
        text(128).prop_map(Spec::Realm).boxed(),
        text(128).prop_map(Spec::Nonce).boxed(),
        vec((any::<u16>(), bytes(12)), 0..5)
            .prop_map(Spec::PasswordAlgorithms)
            .boxed(),
        (any::<u16>(), bytes(12))
            .prop_map(|(a, p)| Spec::PasswordAlgorithm(a, p))
            .boxed(),
        vec(any::<u16>(), 0..8)
            .prop_map(Spec::UnknownAttributes)
            .boxed(),
        text(128).prop_map(Spec::Software).boxed(),
        socket_addr().prop_map(Spec::AlternateServer).boxed(),
        domain().prop_map(Spec::AlternateDomain).boxed(),
        any::<u32>().prop_map(Spec::Priority).boxed(),
        Just(Spec::UseCandidate).boxed(),
        any::<u64>().prop_map(Spec::IceControlled).boxed(),
        any::<u64>().prop_map(Spec::IceControlling).boxed(),
        any::<u16>().prop_map(Spec::ChannelNumber).boxed(),
        any::<u32>().prop_map(Spec::Lifetime).boxed(),
        socket_addr().prop_map(Spec::XorPeerAddress).boxed(),
        bytes(64).prop_map(Spec::Data).boxed(),
        socket_addr().prop_map(Spec::XorRelayedAddress).boxed(),
        family().prop_map(Spec::RequestedAddressFamily).boxed(),
        any::<bool>().prop_map(Spec::EvenPort).boxed(),
        any::<u8>().prop_map(Spec::RequestedTransport).boxed(),
        Just(Spec::DontFragment).boxed(),
        any::<u64>().prop_map(Spec::ReservationToken).boxed(),
        family().prop_map(Spec::AdditionalAddressFamily).boxed(),
        (family(), 300u16..=699, text(128))
            .prop_map(|(f, c, r)| Spec::AddressErrorCode(f, c, r))
            .boxed(),
        (0u8..=127, any::<u8>(), any::<u32>())
            .prop_map(|(t, c, d)| Spec::Icmp(t, c, d))
            .boxed(),
        (any::<u16>(), any::<u16>())
            .prop_map(|(i, c)| Spec::GoogNetworkInfo(i, c))
            .boxed(),
        (any::<bool>(), any::<bool>())
            .prop_map(|(i, p)| Spec::ChangeRequest(i, p))
            .boxed(),
        (unknown_optional_type(), bytes(40))
            .prop_map(|(t, v)| Spec::Unknown(t, v))
            .boxed(),
    ];
    Union::new(arms)
}

/// A password the OpaqueString profile accepts (non-empty, no control characters).
fn password() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{1,32}", "\\PC{1,16}"]
}

fn key_spec() -> impl Strategy<Value = KeySpec> {
    prop_oneof![
        password().prop_map(KeySpec::Short),
        (
            "\\PC{0,16}",
            password(),
            password(),
            select(vec![PasswordAlgorithm::Md5, PasswordAlgorithm::Sha256])
        )
            .prop_map(|(username, realm, password, algorithm)| KeySpec::Long {
                username,
                realm,
                password,
                algorithm
            }),
    ]
}

fn msg_spec_with(
    mi: impl Strategy<Value = Option<KeySpec>>,
    mi256: impl Strategy<Value = Option<KeySpec>>,
    fingerprint: impl Strategy<Value = bool>,
) -> impl Strategy<Value = MsgSpec> {
    (
        class(),
        0u16..0x1000,
        any::<[u8; 12]>(),
        prop_oneof![Just(0u8), Just(0x20u8), any::<u8>()],
        vec(spec(), 0..12),
        mi,
        mi256,
        fingerprint,
    )
        .prop_map(
            |(class, method, tid, padding, attrs, mi, mi256, fingerprint)| MsgSpec {
                class,
                method: Method(method),
                tid: TransactionId(tid),
                padding,
                attrs,
                mi,
                mi256,
                fingerprint,
            },
        )
}

fn msg_spec() -> impl Strategy<Value = MsgSpec> {
    msg_spec_with(
        proptest::option::of(key_spec()),
        proptest::option::of(key_spec()),
        any::<bool>(),
    )
}

/// Messages always carrying MESSAGE-INTEGRITY and FINGERPRINT.
fn protected_msg_spec() -> impl Strategy<Value = MsgSpec> {
    msg_spec_with(
        key_spec().prop_map(Some),
        proptest::option::of(key_spec()),
        Just(true),
    )
}

/// Every attribute type this crate knows, to aim random values at every decoder.
const KNOWN_TYPES: &[u16] = &[
    0x0001, 0x0003, 0x0006, 0x0008, 0x0009, 0x000A, 0x000C, 0x000D, 0x0012, 0x0013, 0x0014, 0x0015,
    0x0016, 0x0017, 0x0018, 0x0019, 0x001A, 0x001C, 0x001D, 0x001E, 0x0020, 0x0022, 0x0024, 0x0025,
    0x8000, 0x8001, 0x8002, 0x8003, 0x8004, 0x8022, 0x8023, 0x8028, 0x8029, 0x802A, 0xC057,
];

/// A valid header followed by attributes with arbitrary types, values, padding
/// and (sometimes) lying lengths: mostly parseable, with values no encoder would write.
fn structured_garbage() -> impl Strategy<Value = Vec<u8>> {
    let value_len = prop_oneof![0usize..48, select(vec![0usize, 1, 2, 4, 8, 12, 16, 20, 32])];
    let attr = (
        prop_oneof![select(KNOWN_TYPES.to_vec()), any::<u16>()],
        value_len.prop_flat_map(|n| vec(any::<u8>(), n)),
        any::<[u8; 3]>(),
        prop_oneof![9 => Just(0i32), 1 => -6i32..=6],
    );
    (
        0u16..0x4000,
        any::<[u8; 12]>(),
        vec(attr, 0..10),
        prop_oneof![9 => Just(0i32), 1 => -8i32..=8],
    )
        .prop_map(|(typ, tid, attrs, len_delta)| {
            let mut m = Vec::new();
            m.extend_from_slice(&typ.to_be_bytes());
            m.extend_from_slice(&[0, 0]);
            m.extend_from_slice(&0x2112_A442u32.to_be_bytes());
            m.extend_from_slice(&tid);
            for (t, value, padding, delta) in attrs {
                let declared = (value.len() as i32 + delta).clamp(0, 0xFFFF) as u16;
                m.extend_from_slice(&t.to_be_bytes());
                m.extend_from_slice(&declared.to_be_bytes());
                m.extend_from_slice(&value);
                let pad = pad4(value.len()) - value.len();
                m.extend_from_slice(&padding[..pad]);
            }
            let len = (m.len() as i32 - 20 + len_delta).clamp(0, 0xFFFF) as u16;
            m[2..4].copy_from_slice(&len.to_be_bytes());
            m
        })
}

/// A valid message with a few bytes overwritten.
fn mutated_message() -> impl Strategy<Value = Vec<u8>> {
    (msg_spec(), vec((any::<Index>(), any::<u8>()), 1..4)).prop_map(|(spec, edits)| {
        let mut m = spec.encode();
        for (at, byte) in edits {
            let i = at.index(m.len());
            m[i] = byte;
        }
        m
    })
}

fn garbage() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![bytes(160), structured_garbage(), mutated_message()]
}

// ---------------------------------------------------------------------------
// Checks

/// Everything a receiver may do with untrusted bytes; must never panic.
fn exercise(data: &[u8]) {
    let _ = is_stun(data);
    let _ = message_len(data);
    let _ = classify(data);
    let _ = ChannelData::parse(data);
    let _ = ChannelData::framed_len(data);
    if data.len() >= 2 {
        let t = u16::from_be_bytes([data[0], data[1]]);
        let (c, m) = decode_message_type(t);
        assert_eq!(encode_message_type(c, m), t & 0x3FFF);
    }
    let Ok(msg) = Message::parse(data) else {
        return;
    };
    // RFC 7983 gives STUN only first bytes 0..=3, i.e. methods below 0x100.
    assert_eq!(classify(data) == PacketKind::Stun, data[0] <= 3);
    assert!(is_stun(data));
    assert_eq!(message_len(data), Some(data.len()));
    let _ = format!("{msg:?}");
    let _ = (msg.class(), msg.method(), msg.transaction_id(), msg.len());
    let tid = *msg.transaction_id_bytes();

    // Raw attributes tile the message exactly.
    let mut at = 20;
    for raw in msg.attributes() {
        assert_eq!(raw.offset, at);
        assert!(raw.padding.len() < 4);
        assert_eq!(raw.value.len() + raw.padding.len(), pad4(raw.value.len()));
        at += 4 + raw.value.len() + raw.padding.len();
    }
    assert_eq!(at, data.len());

    // Copying every raw attribute reproduces the message byte for byte.
    let mut copy = vec![0u8; data.len()];
    let mut b =
        MessageBuilder::new(&mut copy, msg.class(), msg.method(), msg.transaction_id()).unwrap();
    for raw in msg.attributes() {
        b.add_raw(&raw).unwrap();
    }
    assert_eq!(b.finish(), data.len());
    assert_eq!(copy, data);

    // Decoding is idempotent: decode(encode(decode(x))) == decode(x).
    for (raw, typed) in msg.attributes().zip(msg.typed_attributes()) {
        let Ok(a) = typed else { continue };
        let _ = format!("{a:?}");
        assert_eq!(a.attribute_type(), raw.typ);
        match a {
            Attribute::PasswordAlgorithms(p) => {
                let _ = p.iter().count();
            }
            Attribute::UnknownAttributes(u) => {
                let _ = u.iter().count();
            }
            _ => {}
        }
        let mut value = vec![0u8; a.encoded_len()];
        a.encode(&mut value, &tid);
        let again = Attribute::decode(
            RawAttribute {
                typ: raw.typ,
                value: &value,
                padding: &[],
                offset: 0,
            },
            &tid,
        );
        assert_eq!(again, Ok(a), "re-decoding {:?}", raw.typ);
    }

    let _ = msg.unknown_comprehension_required().count();
    let _ = msg.get::<XorMappedAddress>();
    let _ = msg.get::<Username<'_>>();
    let _ = msg.get::<ErrorCode<'_>>();
    let _ = msg.get::<PasswordAlgorithms<'_>>();
    let _ = (msg.has_integrity(), msg.has_fingerprint());
    let _ = msg.verify_fingerprint();
    let _ = msg.verify_fingerprint_if_present();
    for key in [
        IntegrityKey::from_bytes(b""),
        IntegrityKey::short_term("pass").unwrap(),
    ] {
        let _ = msg.verify_integrity(&key);
        let _ = msg.verify_integrity_sha1(&key);
    }
}

/// True when a receiver would reject the message: it does not parse, or its
/// FINGERPRINT or MESSAGE-INTEGRITY does not check out (or went missing).
fn rejected(data: &[u8], mi_key: &IntegrityKey, mi256_key: Option<&IntegrityKey>) -> bool {
    match Message::parse(data) {
        Err(_) => true,
        Ok(m) => {
            m.verify_fingerprint().is_err()
                || m.verify_integrity_sha1(mi_key).is_err()
                || mi256_key.is_some_and(|k| m.verify_integrity(k).is_err())
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn encode_parse_round_trip(spec in msg_spec()) {
        let bytes = spec.encode();
        let msg = Message::parse(&bytes).unwrap();
        prop_assert_eq!(msg.class(), spec.class);
        prop_assert_eq!(msg.method(), spec.method);
        prop_assert_eq!(msg.transaction_id(), spec.tid);
        prop_assert_eq!(msg.len(), bytes.len());
        // RFC 7983: first byte 0..=3, which every method below 0x100 gives.
        prop_assert_eq!(classify(&bytes) == PacketKind::Stun, spec.method.0 < 0x100);

        // Typed attributes: the body in order, then the computed trailer.
        let decoded: Vec<Attribute<'_>> = msg
            .typed_attributes()
            .collect::<Result<_, _>>()
            .unwrap();
        let n = spec.attrs.len();
        let body: Vec<Spec> = decoded[..n].iter().map(|a| Spec::of(a).unwrap()).collect();
        prop_assert_eq!(&body, &spec.attrs);
        let mut trailer = decoded[n..].iter();
        if spec.mi.is_some() {
            prop_assert!(matches!(trailer.next(), Some(Attribute::MessageIntegrity(_))));
        }
        if spec.mi256.is_some() {
            prop_assert!(
                matches!(trailer.next(), Some(Attribute::MessageIntegritySha256(m)) if m.0.len() == 32)
            );
        }
        if spec.fingerprint {
            prop_assert!(matches!(trailer.next(), Some(Attribute::Fingerprint(_))));
        }
        prop_assert!(trailer.next().is_none());

        // Padding holds the builder's padding byte.
        for raw in msg.attributes() {
            prop_assert_eq!(raw.padding.len(), pad4(raw.value.len()) - raw.value.len());
            prop_assert!(raw.padding.iter().all(|&b| b == spec.padding));
        }
        // Only comprehension-optional unknowns were written.
        prop_assert_eq!(msg.unknown_comprehension_required().count(), 0);
        // `raw`/`get` find the first attribute of a type.
        if let Some(first) = spec.attrs.first() {
            let aux = first.aux();
            let typ = first.attribute(&aux).attribute_type();
            prop_assert_eq!(msg.raw(typ).unwrap().offset, 20);
            prop_assert!(msg.has(typ));
        }

        // Integrity and fingerprint.
        prop_assert_eq!(msg.has_integrity(), spec.mi.is_some() || spec.mi256.is_some());
        prop_assert_eq!(msg.has_fingerprint(), spec.fingerprint);
        if spec.fingerprint {
            prop_assert_eq!(msg.verify_fingerprint(), Ok(()));
        } else {
            prop_assert_eq!(msg.verify_fingerprint(), Err(Error::FingerprintMissing));
        }
        prop_assert_eq!(msg.verify_fingerprint_if_present(), Ok(()));
        match (&spec.mi, &spec.mi256) {
            (None, None) => {
                let k = IntegrityKey::short_term("x").unwrap();
                prop_assert_eq!(msg.verify_integrity(&k), Err(Error::IntegrityMissing));
                prop_assert_eq!(msg.verify_integrity_sha1(&k), Err(Error::IntegrityMissing));
            }
            (Some(mi), None) => {
                prop_assert_eq!(msg.verify_integrity(&mi.key()), Ok(()));
                prop_assert_eq!(msg.verify_integrity_sha1(&mi.key()), Ok(()));
            }
            (mi, Some(mi256)) => {
                // MESSAGE-INTEGRITY-SHA256 is preferred when present.
                prop_assert_eq!(msg.verify_integrity(&mi256.key()), Ok(()));
                match mi {
                    Some(mi) => prop_assert_eq!(msg.verify_integrity_sha1(&mi.key()), Ok(())),
                    None => prop_assert_eq!(
                        msg.verify_integrity_sha1(&mi256.key()),
                        Err(Error::IntegrityMissing)
                    ),
                }
            }
        }

        // Re-encoding the decoded (wire-borrowing) typed attributes is byte-identical.
        let mut typed = vec![0u8; bytes.len()];
        let mut b = MessageBuilder::new(&mut typed, msg.class(), msg.method(), msg.transaction_id()).unwrap();
        b.padding_byte(spec.padding);
        for a in &decoded[..n] {
            b.add_attribute(a).unwrap();
        }
        spec.seal(&mut b);
        prop_assert_eq!(b.finish(), bytes.len());
        prop_assert_eq!(&typed, &bytes);

        // And so is copying the raw attributes, whose padding travels with them
        // (the builder's own padding byte is left at its default on purpose).
        let mut raw = vec![0u8; bytes.len()];
        let mut b = MessageBuilder::new(&mut raw, msg.class(), msg.method(), msg.transaction_id()).unwrap();
        for a in msg.attributes().take(n) {
            b.add_raw(&a).unwrap();
        }
        spec.seal(&mut b);
        prop_assert_eq!(b.finish(), bytes.len());
        prop_assert_eq!(&raw, &bytes);

        exercise(&bytes);
    }

    #[test]
    fn typed_add_matches_add_attribute(spec in spec(), tid in any::<[u8; 12]>()) {
        // `add::<T>` and `add_attribute(Attribute::T)` write the same bytes.
        let aux = spec.aux();
        let attr = spec.attribute(&aux);
        let len = 20 + 4 + pad4(attr.encoded_len());
        let mut a = vec![0u8; len];
        let mut b = MessageBuilder::new(&mut a, Class::Request, Method::BINDING, TransactionId(tid)).unwrap();
        b.add_attribute(&attr).unwrap();
        b.finish();
        let mut c = vec![0u8; len];
        let mut b = MessageBuilder::new(&mut c, Class::Request, Method::BINDING, TransactionId(tid)).unwrap();
        match attr {
            Attribute::MappedAddress(x) => b.add(&x),
            Attribute::XorMappedAddress(x) => b.add(&x),
            Attribute::Username(x) => b.add(&x),
            Attribute::UserHash(x) => b.add(&x),
            Attribute::ErrorCode(x) => b.add(&x),
            Attribute::Realm(x) => b.add(&x),
            Attribute::Nonce(x) => b.add(&x),
            Attribute::PasswordAlgorithms(x) => b.add(&x),
            Attribute::PasswordAlgorithm(x) => b.add(&x),
            Attribute::UnknownAttributes(x) => b.add(&x),
            Attribute::Software(x) => b.add(&x),
            Attribute::AlternateServer(x) => b.add(&x),
            Attribute::AlternateDomain(x) => b.add(&x),
            Attribute::Priority(x) => b.add(&x),
            Attribute::UseCandidate(x) => b.add(&x),
            Attribute::IceControlled(x) => b.add(&x),
            Attribute::IceControlling(x) => b.add(&x),
            Attribute::ChannelNumber(x) => b.add(&x),
            Attribute::Lifetime(x) => b.add(&x),
            Attribute::XorPeerAddress(x) => b.add(&x),
            Attribute::Data(x) => b.add(&x),
            Attribute::XorRelayedAddress(x) => b.add(&x),
            Attribute::RequestedAddressFamily(x) => b.add(&x),
            Attribute::EvenPort(x) => b.add(&x),
            Attribute::RequestedTransport(x) => b.add(&x),
            Attribute::DontFragment(x) => b.add(&x),
            Attribute::ReservationToken(x) => b.add(&x),
            Attribute::AdditionalAddressFamily(x) => b.add(&x),
            Attribute::AddressErrorCode(x) => b.add(&x),
            Attribute::Icmp(x) => b.add(&x),
            Attribute::GoogNetworkInfo(x) => b.add(&x),
            Attribute::ChangeRequest(x) => b.add(&x),
            Attribute::Unknown { .. } => b.add_attribute(&attr),
            ref other => panic!("unexpected {other:?}"),
        }
        .unwrap();
        b.finish();
        prop_assert_eq!(a, c);
    }

    #[test]
    fn builder_never_writes_what_the_parser_rejects(
        tid in any::<[u8; 12]>(),
        ops in vec(prop_oneof![4 => spec().prop_map(Some), 1 => Just(None)], 0..10),
        trailer in vec(0u8..3, 0..5),
    ) {
        // Body attributes interleaved with MESSAGE-INTEGRITY (0),
        // MESSAGE-INTEGRITY-SHA256 (1) and FINGERPRINT (2) in any order: every call
        // either succeeds or fails with `BuilderOrder` leaving the builder as it was,
        // and the result always parses and verifies.
        let mi_key = IntegrityKey::short_term("mi").unwrap();
        let mi256_key = IntegrityKey::short_term("mi256").unwrap();
        let mut buf = vec![0u8; 20 + 12 * 600 + 3 * 36];
        let mut b = MessageBuilder::new(&mut buf, Class::Request, Method::BINDING, TransactionId(tid)).unwrap();
        let mut trailer = trailer.into_iter();
        for op in &ops {
            let before = b.len();
            let result = match op {
                Some(spec) => {
                    let aux = spec.aux();
                    b.add_attribute(&spec.attribute(&aux)).map(|_| ())
                }
                None => match trailer.next() {
                    Some(0) => b.add_message_integrity(&mi_key).map(|_| ()),
                    Some(1) => b.add_message_integrity_sha256(&mi256_key).map(|_| ()),
                    _ => b.add_fingerprint().map(|_| ()),
                },
            };
            match result {
                Ok(()) => prop_assert!(b.len() > before),
                Err(e) => {
                    prop_assert!(matches!(e, Error::BuilderOrder(_)), "{:?}", e);
                    prop_assert_eq!(b.len(), before);
                }
            }
        }
        let n = b.finish();
        let msg = Message::parse(&buf[..n]);
        prop_assert!(msg.is_ok(), "builder wrote an unparseable message: {:?}", msg);
        let msg = msg.unwrap();
        prop_assert_eq!(msg.verify_fingerprint_if_present(), Ok(()));
        if msg.has(AttributeType::MESSAGE_INTEGRITY) {
            prop_assert_eq!(msg.verify_integrity_sha1(&mi_key), Ok(()));
        }
        if msg.has(AttributeType::MESSAGE_INTEGRITY_SHA256) {
            prop_assert_eq!(msg.verify_integrity(&mi256_key), Ok(()));
        }
        prop_assert!(msg.typed_attributes().all(|a| a.is_ok()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in garbage()) {
        exercise(&data);
    }

    #[test]
    fn single_bit_flip_is_detected(spec in protected_msg_spec(), bit in any::<Index>()) {
        let mut bytes = spec.encode();
        let mi_key = spec.mi.as_ref().unwrap().key();
        let mi256_key = spec.mi256.as_ref().map(KeySpec::key);
        prop_assert!(!rejected(&bytes, &mi_key, mi256_key.as_ref()));
        let bit = bit.index(bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(rejected(&bytes, &mi_key, mi256_key.as_ref()), "bit {} undetected", bit);

        // FINGERPRINT alone catches every flip (CRC-32 detects all single-bit errors) …
        let fp_alone = match Message::parse(&bytes) {
            Err(_) => true,
            Ok(m) => m.verify_fingerprint().is_err(),
        };
        prop_assert!(fp_alone, "bit {} passes FINGERPRINT", bit);
        // … and MESSAGE-INTEGRITY alone catches every flip in what it covers:
        // everything before its value's end, padding bytes included.
        let mi_end = bytes.len() - 8 - if spec.mi256.is_some() { 36 } else { 0 };
        if bit / 8 < mi_end {
            let mi_alone = match Message::parse(&bytes) {
                Err(_) => true,
                Ok(m) => m.verify_integrity_sha1(&mi_key).is_err(),
            };
            prop_assert!(mi_alone, "bit {} passes MESSAGE-INTEGRITY", bit);
        }
    }

    #[test]
    fn wrong_key_is_integrity_mismatch(
        spec in msg_spec_with(Just(None), Just(None), any::<bool>()),
        right in password(),
        wrong in password(),
        sha256 in any::<bool>(),
    ) {
        let (mut a, mut b) = (String::new(), String::new());
        prop_assume!(opaque_string(&right, &mut a).unwrap() != opaque_string(&wrong, &mut b).unwrap());
        let mut spec = spec;
        if sha256 {
            spec.mi256 = Some(KeySpec::Short(right.clone()));
        } else {
            spec.mi = Some(KeySpec::Short(right.clone()));
        }
        let bytes = spec.encode();
        let msg = Message::parse(&bytes).unwrap();
        let right = IntegrityKey::short_term(&right).unwrap();
        let wrong = IntegrityKey::short_term(&wrong).unwrap();
        prop_assert_eq!(msg.verify_integrity(&right), Ok(()));
        prop_assert_eq!(msg.verify_integrity(&wrong), Err(Error::IntegrityMismatch));
        if !sha256 {
            prop_assert_eq!(msg.verify_integrity_sha1(&wrong), Err(Error::IntegrityMismatch));
        }
        // Same password, other derivation: also a mismatch.
        let long = IntegrityKey::long_term("user", "realm", "pw", PasswordAlgorithm::Sha256).unwrap();
        prop_assert_eq!(msg.verify_integrity(&long), Err(Error::IntegrityMismatch));
        prop_assert_eq!(msg.verify_fingerprint_if_present(), Ok(()));
    }

    #[test]
    fn classify_and_channel_data_parse_never_panic(data in prop_oneof![
        bytes(64),
        (0x40u8..=0x4F, any::<u8>(), bytes(64)).prop_map(|(a, b, mut rest)| {
            rest.insert(0, b);
            rest.insert(0, a);
            rest
        }),
    ]) {
        let kind = classify(&data);
        if let Ok(cd) = ChannelData::parse(&data) {
            prop_assert!((0x4000..=0x4FFF).contains(&cd.channel));
            prop_assert_eq!(kind, PacketKind::ChannelData);
            prop_assert_eq!(cd.data, &data[4..4 + cd.data.len()]);
            prop_assert!(ChannelData::framed_len(&data).unwrap() >= 4 + cd.data.len());
        }
        match data.first() {
            None => prop_assert_eq!(kind, PacketKind::Unknown),
            Some(0..=3) => prop_assert_eq!(kind, PacketKind::Stun),
            Some(64..=79) => prop_assert_eq!(kind, PacketKind::ChannelData),
            Some(_) => {}
        }
    }

    #[test]
    fn channel_data_round_trip(
        channel in 0x4000u16..=0x4FFF,
        data in bytes(300),
        pad in any::<bool>(),
        trailing in bytes(8),
    ) {
        let mut buf = vec![0xEE; 4 + pad4(data.len())];
        let n = ChannelData::encode(channel, &data, &mut buf, pad).unwrap();
        let expected = 4 + if pad { pad4(data.len()) } else { data.len() };
        prop_assert_eq!(n, expected);
        prop_assert!(buf[4 + data.len()..n].iter().all(|&b| b == 0));
        prop_assert_eq!(ChannelData::framed_len(&buf[..n]), Some(4 + pad4(data.len())));
        prop_assert_eq!(classify(&buf[..n]), PacketKind::ChannelData);
        let cd = ChannelData::parse(&buf[..n]).unwrap();
        prop_assert_eq!(cd.channel, channel);
        prop_assert_eq!(cd.data, &data[..]);
        // Trailing bytes (a following message on a stream) are ignored.
        let mut stream = buf[..n].to_vec();
        stream.extend_from_slice(&trailing);
        let cd = ChannelData::parse(&stream).unwrap();
        prop_assert_eq!((cd.channel, cd.data), (channel, &data[..]));
        // Truncation is reported.
        if !data.is_empty() {
            let short = ChannelData::parse(&buf[..4 + data.len() - 1]);
            prop_assert!(
                matches!(short, Err(Error::ChannelDataTruncated { .. })),
                "expected ChannelDataTruncated, got {:?}",
                short
            );
        }
    }

    #[test]
    fn channel_data_rejects_numbers_outside_the_range(
        channel in any::<u16>().prop_filter("in range", |c| !(0x4000..=0x4FFF).contains(c)),
        data in bytes(16),
    ) {
        let mut buf = [0u8; 32];
        prop_assert_eq!(
            ChannelData::encode(channel, &data, &mut buf, true),
            Err(Error::BadChannelNumber(channel))
        );
        buf[0..2].copy_from_slice(&channel.to_be_bytes());
        buf[2..4].copy_from_slice(&(data.len() as u16).to_be_bytes());
        prop_assert_eq!(ChannelData::parse(&buf), Err(Error::BadChannelNumber(channel)));
    }

    #[test]
    fn message_type_round_trip(class in class(), method in 0u16..0x1000) {
        let t = encode_message_type(class, Method(method));
        prop_assert_eq!(t & 0xC000, 0);
        prop_assert_eq!(decode_message_type(t), (class, Method(method)));
    }
}

// ---------------------------------------------------------------------------
// Deterministic companions

/// Every bit of a message whose attributes need padding: each flip is caught,
/// and flips inside padding bytes are caught too although every attribute
/// still decodes to the same value.
#[test]
fn every_bit_flip_is_detected_padding_included() {
    let mi_key = IntegrityKey::short_term("VOkJxbRl1RmTxUk/WvJxBt").unwrap();
    let mi256_key =
        IntegrityKey::long_term("user", "realm", "pass", PasswordAlgorithm::Sha256).unwrap();
    for with_sha256 in [false, true] {
        let mut buf = [0u8; 256];
        let mut b = MessageBuilder::new(
            &mut buf,
            Class::Request,
            Method::BINDING,
            TransactionId(*b"\xb7\xe7\xa7\x01\xbc\x34\xd6\x86\xfa\x87\xdf\xae"),
        )
        .unwrap();
        b.padding_byte(0x20);
        b.add(&Software("STUN test client")).unwrap();
        b.add(&Username("evtj:h6vY")).unwrap(); // 3 bytes of padding
        b.add(&Data(b"x")).unwrap(); // 3 bytes of padding
        b.add(&EvenPort { reserve_next: true }).unwrap(); // 3 bytes of padding
        b.add(&ErrorCode {
            code: 420,
            reason: "Unknown",
        })
        .unwrap(); // 1 byte of padding
        b.add_message_integrity(&mi_key).unwrap();
        if with_sha256 {
            b.add_message_integrity_sha256(&mi256_key).unwrap();
        }
        b.add_fingerprint().unwrap();
        let n = b.finish();
        let original = buf[..n].to_vec();
        let mi256 = with_sha256.then_some(&mi256_key);
        assert!(!rejected(&original, &mi_key, mi256));

        let msg = Message::parse(&original).unwrap();
        let padding: Vec<usize> = msg
            .attributes()
            .flat_map(|a| {
                let start = a.offset + 4 + a.value.len();
                start..start + a.padding.len()
            })
            .collect();
        assert_eq!(padding.len(), 3 + 3 + 3 + 1);
        let typed: Vec<Attribute<'_>> = msg.typed_attributes().map(Result::unwrap).collect();

        let mut m = original.clone();
        for bit in 0..n * 8 {
            m[bit / 8] ^= 1 << (bit % 8);
            assert!(rejected(&m, &mi_key, mi256), "bit {bit} undetected");
            if padding.contains(&(bit / 8)) {
                // The padding is not part of any value …
                let flipped = Message::parse(&m).unwrap();
                let again: Vec<Attribute<'_>> =
                    flipped.typed_attributes().map(Result::unwrap).collect();
                assert_eq!(again[..5], typed[..5]);
                // … yet both MESSAGE-INTEGRITY and FINGERPRINT cover it.
                assert_eq!(
                    flipped.verify_integrity_sha1(&mi_key),
                    Err(Error::IntegrityMismatch)
                );
                assert_eq!(
                    flipped.verify_fingerprint(),
                    Err(Error::FingerprintMismatch)
                );
                if with_sha256 {
                    assert_eq!(
                        flipped.verify_integrity(&mi256_key),
                        Err(Error::IntegrityMismatch)
                    );
                }
            }
            m[bit / 8] ^= 1 << (bit % 8);
        }
        assert_eq!(m, original);
    }
}

/// The builder used to accept a second MESSAGE-INTEGRITY-SHA256, writing a
/// message `Message::parse` rejects as `DuplicateAttribute`.
#[test]
fn builder_refuses_a_second_message_integrity_sha256() {
    let key = IntegrityKey::short_term("k").unwrap();
    let mut buf = [0u8; 128];
    let mut b = MessageBuilder::new(
        &mut buf,
        Class::Request,
        Method::BINDING,
        TransactionId([5; 12]),
    )
    .unwrap();
    b.add_message_integrity(&key).unwrap();
    b.add_message_integrity_sha256(&key).unwrap();
    let len = b.len();
    assert_eq!(
        b.add_message_integrity_sha256(&key).err(),
        Some(Error::BuilderOrder(AttributeType::MESSAGE_INTEGRITY_SHA256))
    );
    assert_eq!(b.len(), len);
    b.add_fingerprint().unwrap();
    let n = b.finish();
    let msg = Message::parse(&buf[..n]).unwrap();
    assert_eq!(msg.verify_integrity(&key), Ok(()));
    assert_eq!(msg.verify_integrity_sha1(&key), Ok(()));
    assert_eq!(msg.verify_fingerprint(), Ok(()));
}

/// A FINGERPRINT whose offset does not fit in 16 bits: a message of more than
/// 65 536 bytes, legal (its length field is at most 65 535) and only possible
/// over TCP/TLS. `Message::parse` used to keep attribute offsets as `u16`, so the
/// offset wrapped and `verify_fingerprint` panicked (debug: subtraction overflow;
/// release: a slice index panic at offset 65 536, otherwise a false mismatch).
#[test]
fn fingerprint_at_offset_beyond_u16() {
    for data_len in [65_511usize, 65_512, 65_516, 65_520] {
        let data = vec![0xA5u8; data_len];
        let total = 20 + 4 + pad4(data_len) + 8;
        let mut buf = vec![0u8; total];
        let mut b = MessageBuilder::new(
            &mut buf,
            Class::Indication,
            Method::SEND,
            TransactionId([9; 12]),
        )
        .unwrap();
        b.add(&Data(&data)).unwrap();
        b.add_fingerprint().unwrap();
        assert_eq!(b.finish(), total);
        let msg = Message::parse(&buf).unwrap();
        let fp = msg.raw(AttributeType::FINGERPRINT).unwrap();
        assert!(fp.offset >= 65_536, "offset {}", fp.offset);
        assert_eq!(msg.verify_fingerprint(), Ok(()), "DATA of {data_len} bytes");
        buf[100] ^= 1;
        assert_eq!(
            Message::parse(&buf).unwrap().verify_fingerprint(),
            Err(Error::FingerprintMismatch)
        );
    }
}

/// The largest message MESSAGE-INTEGRITY and FINGERPRINT still fit in, with
/// MESSAGE-INTEGRITY just below offset 65 536 and FINGERPRINT at it.
#[test]
fn integrity_and_fingerprint_near_the_size_limit() {
    let key = IntegrityKey::short_term("secret").unwrap();
    let data = vec![0x5Au8; 65_488];
    let total = 20 + 4 + 65_488 + 24 + 8;
    let mut buf = vec![0u8; total];
    let mut b = MessageBuilder::new(
        &mut buf,
        Class::Indication,
        Method::SEND,
        TransactionId([3; 12]),
    )
    .unwrap();
    b.add(&Data(&data)).unwrap();
    b.add_message_integrity(&key).unwrap();
    b.add_fingerprint().unwrap();
    assert_eq!(b.finish(), total);
    let msg = Message::parse(&buf).unwrap();
    assert_eq!(msg.verify_integrity(&key), Ok(()));
    assert_eq!(msg.verify_fingerprint(), Ok(()));
    exercise(&buf);

    // Beyond 65 535 bytes of attributes the builder refuses.
    let mut big = vec![0u8; 20 + 65_532 + 8];
    let mut b = MessageBuilder::new(
        &mut big,
        Class::Indication,
        Method::SEND,
        TransactionId([3; 12]),
    )
    .unwrap();
    b.add(&Data(&vec![0u8; 65_528])).unwrap();
    assert_eq!(b.len() - 20, 65_532);
    assert_eq!(
        b.add(&Data(&[0u8; 4])).err(),
        Some(Error::ValueTooLong(AttributeType::DATA))
    );
    assert_eq!(
        b.add_fingerprint().err(),
        Some(Error::ValueTooLong(AttributeType::FINGERPRINT))
    );
}
