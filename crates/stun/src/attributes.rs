//! STUN attributes: types, the raw view, and typed values.
//!
//! Every typed attribute implements [`StunAttribute`], so it can be read with
//! [`crate::Message::get`] and written with [`crate::MessageBuilder::add`].
//! [`Attribute`] gathers them all in one enum for iteration; attributes this
//! crate does not know come back as [`Attribute::Unknown`] with their bytes.
//!
//! Covered: RFC 8489 (STUN), RFC 8445 (ICE), RFC 8656 (TURN), RFC 8016
//! (mobility-free ADDITIONAL-ADDRESS-FAMILY/ADDRESS-ERROR-CODE come from RFC 8656)
//! and libwebrtc's GOOG-NETWORK-INFO.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::Error;
use crate::message::MAGIC_COOKIE;

/// A 16-bit attribute type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributeType(pub u16);

macro_rules! attribute_types {
    ($( $(#[$doc:meta])* $name:ident = $val:expr, $text:expr; )*) => {
        impl AttributeType {
            $( $(#[$doc])* pub const $name: AttributeType = AttributeType($val); )*

            /// The registered name, when this crate knows the attribute.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( AttributeType::$name => Some($text), )*
                    _ => None,
                }
            }
        }
    };
}

attribute_types! {
    /// MAPPED-ADDRESS (RFC 8489).
    MAPPED_ADDRESS = 0x0001, "MAPPED-ADDRESS";
    /// CHANGE-REQUEST (RFC 5780), recognised so servers do not answer 420 for it.
    CHANGE_REQUEST = 0x0003, "CHANGE-REQUEST";
    /// USERNAME (RFC 8489).
    USERNAME = 0x0006, "USERNAME";
    /// MESSAGE-INTEGRITY (RFC 8489).
    MESSAGE_INTEGRITY = 0x0008, "MESSAGE-INTEGRITY";
    /// ERROR-CODE (RFC 8489).
    ERROR_CODE = 0x0009, "ERROR-CODE";
    /// UNKNOWN-ATTRIBUTES (RFC 8489).
    UNKNOWN_ATTRIBUTES = 0x000A, "UNKNOWN-ATTRIBUTES";
    /// CHANNEL-NUMBER (RFC 8656).
    CHANNEL_NUMBER = 0x000C, "CHANNEL-NUMBER";
    /// LIFETIME (RFC 8656).
    LIFETIME = 0x000D, "LIFETIME";
    /// XOR-PEER-ADDRESS (RFC 8656).
    XOR_PEER_ADDRESS = 0x0012, "XOR-PEER-ADDRESS";
    /// DATA (RFC 8656).
    DATA = 0x0013, "DATA";
    /// REALM (RFC 8489).
    REALM = 0x0014, "REALM";
    /// NONCE (RFC 8489).
    NONCE = 0x0015, "NONCE";
    /// XOR-RELAYED-ADDRESS (RFC 8656).
    XOR_RELAYED_ADDRESS = 0x0016, "XOR-RELAYED-ADDRESS";
    /// REQUESTED-ADDRESS-FAMILY (RFC 8656).
    REQUESTED_ADDRESS_FAMILY = 0x0017, "REQUESTED-ADDRESS-FAMILY";
    /// EVEN-PORT (RFC 8656).
    EVEN_PORT = 0x0018, "EVEN-PORT";
    /// REQUESTED-TRANSPORT (RFC 8656).
    REQUESTED_TRANSPORT = 0x0019, "REQUESTED-TRANSPORT";
    /// DONT-FRAGMENT (RFC 8656).
    DONT_FRAGMENT = 0x001A, "DONT-FRAGMENT";
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489).
    MESSAGE_INTEGRITY_SHA256 = 0x001C, "MESSAGE-INTEGRITY-SHA256";
    /// PASSWORD-ALGORITHM (RFC 8489).
    PASSWORD_ALGORITHM = 0x001D, "PASSWORD-ALGORITHM";
    /// USERHASH (RFC 8489).
    USERHASH = 0x001E, "USERHASH";
    /// XOR-MAPPED-ADDRESS (RFC 8489).
    XOR_MAPPED_ADDRESS = 0x0020, "XOR-MAPPED-ADDRESS";
    /// RESERVATION-TOKEN (RFC 8656).
    RESERVATION_TOKEN = 0x0022, "RESERVATION-TOKEN";
    /// PRIORITY (RFC 8445).
    PRIORITY = 0x0024, "PRIORITY";
    /// USE-CANDIDATE (RFC 8445).
    USE_CANDIDATE = 0x0025, "USE-CANDIDATE";
    /// PASSWORD-ALGORITHMS (RFC 8489).
    PASSWORD_ALGORITHMS = 0x8002, "PASSWORD-ALGORITHMS";
    /// ALTERNATE-DOMAIN (RFC 8489).
    ALTERNATE_DOMAIN = 0x8003, "ALTERNATE-DOMAIN";
    /// SOFTWARE (RFC 8489).
    SOFTWARE = 0x8022, "SOFTWARE";
    /// ALTERNATE-SERVER (RFC 8489).
    ALTERNATE_SERVER = 0x8023, "ALTERNATE-SERVER";
    /// FINGERPRINT (RFC 8489).
    FINGERPRINT = 0x8028, "FINGERPRINT";
    /// ICE-CONTROLLED (RFC 8445).
    ICE_CONTROLLED = 0x8029, "ICE-CONTROLLED";
    /// ICE-CONTROLLING (RFC 8445).
    ICE_CONTROLLING = 0x802A, "ICE-CONTROLLING";
    /// ADDITIONAL-ADDRESS-FAMILY (RFC 8656).
    ADDITIONAL_ADDRESS_FAMILY = 0x8000, "ADDITIONAL-ADDRESS-FAMILY";
    /// ADDRESS-ERROR-CODE (RFC 8656).
    ADDRESS_ERROR_CODE = 0x8001, "ADDRESS-ERROR-CODE";
    /// ICMP (RFC 8656).
    ICMP = 0x8004, "ICMP";
    /// GOOG-NETWORK-INFO (libwebrtc): network id and network cost of the sender.
    GOOG_NETWORK_INFO = 0xC057, "GOOG-NETWORK-INFO";
}

impl AttributeType {
    /// Types below 0x8000 must be understood by the receiver (RFC 8489 §14).
    pub fn is_comprehension_required(self) -> bool {
        self.0 < 0x8000
    }

    /// True when this crate can decode the attribute.
    pub fn is_known(self) -> bool {
        self.name().is_some()
    }
}

impl fmt::Debug for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{:#06x}", self.0),
        }
    }
}

impl fmt::Display for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One attribute as it sits in the message: type, value and padding bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAttribute<'a> {
    /// The attribute type.
    pub typ: AttributeType,
    /// The value, without padding.
    pub value: &'a [u8],
    /// The padding bytes after the value (0–3 bytes, content ignored by receivers).
    pub padding: &'a [u8],
    /// Offset of the attribute header within the message.
    pub offset: usize,
}

/// A typed attribute value: decodes from and encodes to the attribute's value bytes.
pub trait StunAttribute<'a>: Sized {
    /// The attribute type this value belongs to.
    const TYPE: AttributeType;
    /// Decodes the value bytes (without padding). `transaction_id` is needed
    /// for XOR-ed IPv6 addresses.
    fn decode(value: &'a [u8], transaction_id: &[u8; 12]) -> Result<Self, Error>;
    /// Length in bytes of the encoded value (without padding).
    fn encoded_len(&self) -> usize;
    /// Writes the value into `out`, which is exactly `encoded_len()` bytes.
    fn encode(&self, out: &mut [u8], transaction_id: &[u8; 12]);
}

fn be16(v: &[u8]) -> u16 {
    u16::from_be_bytes([v[0], v[1]])
}

fn be32(v: &[u8]) -> u32 {
    u32::from_be_bytes([v[0], v[1], v[2], v[3]])
}

fn be64(v: &[u8]) -> u64 {
    u64::from_be_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]])
}

fn check_len(typ: AttributeType, value: &[u8], len: usize) -> Result<(), Error> {
    if value.len() == len {
        Ok(())
    } else {
        Err(Error::BadAttributeLength {
            attribute: typ,
            len: value.len(),
        })
    }
}

// ---------------------------------------------------------------------------
// Addresses

/// Address family numbers used by address attributes and REQUESTED-ADDRESS-FAMILY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// IPv4 (0x01).
    V4,
    /// IPv6 (0x02).
    V6,
}

impl AddressFamily {
    fn number(self) -> u8 {
        match self {
            AddressFamily::V4 => 0x01,
            AddressFamily::V6 => 0x02,
        }
    }

    fn from_number(n: u8) -> Result<AddressFamily, Error> {
        match n {
            0x01 => Ok(AddressFamily::V4),
            0x02 => Ok(AddressFamily::V6),
            other => Err(Error::UnknownAddressFamily(other)),
        }
    }
}

fn decode_address(
    typ: AttributeType,
    v: &[u8],
    xor: Option<&[u8; 12]>,
) -> Result<SocketAddr, Error> {
    if v.len() < 4 {
        return Err(Error::BadAttributeLength {
            attribute: typ,
            len: v.len(),
        });
    }
    let family = AddressFamily::from_number(v[1])?;
    let mut port = be16(&v[2..4]);
    if xor.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    match family {
        AddressFamily::V4 => {
            check_len(typ, v, 8)?;
            let mut ip = be32(&v[4..8]);
            if xor.is_some() {
                ip ^= MAGIC_COOKIE;
            }
            Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port))
        }
        AddressFamily::V6 => {
            check_len(typ, v, 20)?;
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&v[4..20]);
            if let Some(tid) = xor {
                let cookie = MAGIC_COOKIE.to_be_bytes();
                for i in 0..4 {
                    ip[i] ^= cookie[i];
                }
                for i in 0..12 {
                    ip[4 + i] ^= tid[i];
                }
            }
            Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port))
        }
    }
}

fn address_len(addr: &SocketAddr) -> usize {
    match addr {
        SocketAddr::V4(_) => 8,
        SocketAddr::V6(_) => 20,
    }
}

fn encode_address(addr: &SocketAddr, out: &mut [u8], xor: Option<&[u8; 12]>) {
    out[0] = 0;
    let mut port = addr.port();
    if xor.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    out[2..4].copy_from_slice(&port.to_be_bytes());
    match addr.ip() {
        IpAddr::V4(ip) => {
            out[1] = AddressFamily::V4.number();
            let mut v = u32::from(ip);
            if xor.is_some() {
                v ^= MAGIC_COOKIE;
            }
            out[4..8].copy_from_slice(&v.to_be_bytes());
        }
        IpAddr::V6(ip) => {
            out[1] = AddressFamily::V6.number();
            let mut b = ip.octets();
            if let Some(tid) = xor {
                let cookie = MAGIC_COOKIE.to_be_bytes();
                for i in 0..4 {
                    b[i] ^= cookie[i];
                }
                for i in 0..12 {
                    b[4 + i] ^= tid[i];
                }
            }
            out[4..20].copy_from_slice(&b);
        }
    }
}

macro_rules! address_attribute {
    ($(#[$doc:meta])* $name:ident, $typ:ident, $xor:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub SocketAddr);

        impl<'a> StunAttribute<'a> for $name {
            const TYPE: AttributeType = AttributeType::$typ;
            fn decode(value: &'a [u8], tid: &[u8; 12]) -> Result<Self, Error> {
                decode_address(Self::TYPE, value, if $xor { Some(tid) } else { None }).map($name)
            }
            fn encoded_len(&self) -> usize {
                address_len(&self.0)
            }
            fn encode(&self, out: &mut [u8], tid: &[u8; 12]) {
                encode_address(&self.0, out, if $xor { Some(tid) } else { None })
            }
        }
    };
}

address_attribute!(
    /// MAPPED-ADDRESS: the reflexive address, not obfuscated (RFC 3489 compatibility).
    MappedAddress, MAPPED_ADDRESS, false);
address_attribute!(
    /// XOR-MAPPED-ADDRESS: the reflexive transport address of the client.
    XorMappedAddress, XOR_MAPPED_ADDRESS, true);
address_attribute!(
    /// ALTERNATE-SERVER: where a 300 response redirects the client.
    AlternateServer, ALTERNATE_SERVER, false);
address_attribute!(
    /// XOR-PEER-ADDRESS: a TURN peer's address.
    XorPeerAddress, XOR_PEER_ADDRESS, true);
address_attribute!(
    /// XOR-RELAYED-ADDRESS: the relayed transport address of a TURN allocation.
    XorRelayedAddress, XOR_RELAYED_ADDRESS, true);

// ---------------------------------------------------------------------------
// Text

macro_rules! text_attribute {
    ($(#[$doc:meta])* $name:ident, $typ:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name<'a>(pub &'a str);

        impl<'a> StunAttribute<'a> for $name<'a> {
            const TYPE: AttributeType = AttributeType::$typ;
            fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
                if value.len() > $max {
                    return Err(Error::BadAttributeLength { attribute: Self::TYPE, len: value.len() });
                }
                std::str::from_utf8(value).map($name).map_err(|_| Error::InvalidUtf8(Self::TYPE))
            }
            fn encoded_len(&self) -> usize {
                self.0.len()
            }
            fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
                out.copy_from_slice(self.0.as_bytes())
            }
        }
    };
}

// RFC 8489 limits: USERNAME < 509 bytes; REALM, NONCE, SOFTWARE, reason phrase
// < 128 characters (at most 763 bytes); ALTERNATE-DOMAIN < 255 bytes.
text_attribute!(
    /// USERNAME: `remote-ufrag:local-ufrag` in ICE, the account name with long-term credentials.
    Username, USERNAME, 513);
text_attribute!(
    /// REALM: the long-term credential realm.
    Realm, REALM, 763);
text_attribute!(
    /// NONCE: the server's nonce for long-term credentials.
    Nonce, NONCE, 763);
text_attribute!(
    /// SOFTWARE: the agent's name and version.
    Software, SOFTWARE, 763);
text_attribute!(
    /// ALTERNATE-DOMAIN: the server name for an ALTERNATE-SERVER reached over TLS.
    AlternateDomain, ALTERNATE_DOMAIN, 255);

// ---------------------------------------------------------------------------
// Fixed-size integers

macro_rules! int_attribute {
    ($(#[$doc:meta])* $name:ident, $typ:ident, $ty:ty, $len:expr, $read:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub $ty);

        impl<'a> StunAttribute<'a> for $name {
            const TYPE: AttributeType = AttributeType::$typ;
            fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
                check_len(Self::TYPE, value, $len)?;
                Ok($name($read(value)))
            }
            fn encoded_len(&self) -> usize {
                $len
            }
            fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
                out.copy_from_slice(&self.0.to_be_bytes())
            }
        }
    };
}

int_attribute!(
    /// PRIORITY: the priority a peer-reflexive candidate learned from this check would get.
    Priority, PRIORITY, u32, 4, be32);
int_attribute!(
    /// ICE-CONTROLLED: the sender is controlled; carries its tie-breaker.
    IceControlled, ICE_CONTROLLED, u64, 8, be64);
int_attribute!(
    /// ICE-CONTROLLING: the sender is controlling; carries its tie-breaker.
    IceControlling, ICE_CONTROLLING, u64, 8, be64);
int_attribute!(
    /// LIFETIME: seconds a TURN allocation should live.
    Lifetime, LIFETIME, u32, 4, be32);
int_attribute!(
    /// RESERVATION-TOKEN: a token for a port reserved by EVEN-PORT.
    ReservationToken, RESERVATION_TOKEN, u64, 8, be64);
int_attribute!(
    /// FINGERPRINT: CRC-32 of the message XOR 0x5354554e (computed by the builder).
    Fingerprint, FINGERPRINT, u32, 4, be32);

macro_rules! flag_attribute {
    ($(#[$doc:meta])* $name:ident, $typ:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name;

        impl<'a> StunAttribute<'a> for $name {
            const TYPE: AttributeType = AttributeType::$typ;
            fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
                check_len(Self::TYPE, value, 0)?;
                Ok($name)
            }
            fn encoded_len(&self) -> usize {
                0
            }
            fn encode(&self, _out: &mut [u8], _tid: &[u8; 12]) {}
        }
    };
}

flag_attribute!(
    /// USE-CANDIDATE: the controlling agent nominates this pair.
    UseCandidate, USE_CANDIDATE);
flag_attribute!(
    /// DONT-FRAGMENT: ask the TURN server to set DF on relayed packets.
    DontFragment, DONT_FRAGMENT);

/// CHANNEL-NUMBER: a TURN channel (0x4000..=0x4FFF) plus reserved bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelNumber(pub u16);

impl<'a> StunAttribute<'a> for ChannelNumber {
    const TYPE: AttributeType = AttributeType::CHANNEL_NUMBER;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        check_len(Self::TYPE, value, 4)?;
        Ok(ChannelNumber(be16(value)))
    }
    fn encoded_len(&self) -> usize {
        4
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        out[0..2].copy_from_slice(&self.0.to_be_bytes());
        out[2..4].copy_from_slice(&[0, 0]);
    }
}

/// DATA: application bytes in Send and Data indications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Data<'a>(pub &'a [u8]);

impl<'a> StunAttribute<'a> for Data<'a> {
    const TYPE: AttributeType = AttributeType::DATA;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        Ok(Data(value))
    }
    fn encoded_len(&self) -> usize {
        self.0.len()
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        out.copy_from_slice(self.0)
    }
}

/// USERHASH: SHA-256 of `OpaqueString(username) ":" OpaqueString(realm)` (RFC 8489 §14.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserHash<'a>(pub &'a [u8; 32]);

impl<'a> StunAttribute<'a> for UserHash<'a> {
    const TYPE: AttributeType = AttributeType::USERHASH;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        value
            .try_into()
            .map(UserHash)
            .map_err(|_| Error::BadAttributeLength {
                attribute: Self::TYPE,
                len: value.len(),
            })
    }
    fn encoded_len(&self) -> usize {
        32
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        out.copy_from_slice(self.0)
    }
}

/// MESSAGE-INTEGRITY as read from a message (the builder computes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageIntegrity<'a>(pub &'a [u8; 20]);

impl<'a> StunAttribute<'a> for MessageIntegrity<'a> {
    const TYPE: AttributeType = AttributeType::MESSAGE_INTEGRITY;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        value
            .try_into()
            .map(MessageIntegrity)
            .map_err(|_| Error::BadAttributeLength {
                attribute: Self::TYPE,
                len: value.len(),
            })
    }
    fn encoded_len(&self) -> usize {
        20
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        out.copy_from_slice(self.0)
    }
}

/// MESSAGE-INTEGRITY-SHA256 as read from a message (16 to 32 bytes, a multiple of 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageIntegritySha256<'a>(pub &'a [u8]);

impl<'a> StunAttribute<'a> for MessageIntegritySha256<'a> {
    const TYPE: AttributeType = AttributeType::MESSAGE_INTEGRITY_SHA256;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        if !(16..=32).contains(&value.len()) || value.len() % 4 != 0 {
            return Err(Error::BadAttributeLength {
                attribute: Self::TYPE,
                len: value.len(),
            });
        }
        Ok(MessageIntegritySha256(value))
    }
    fn encoded_len(&self) -> usize {
        self.0.len()
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        out.copy_from_slice(self.0)
    }
}

/// ERROR-CODE: a code 300..=699 and a UTF-8 reason phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode<'a> {
    /// The code, class × 100 + number.
    pub code: u16,
    /// The reason phrase.
    pub reason: &'a str,
}

impl ErrorCode<'static> {
    /// 300 Try Alternate.
    pub const TRY_ALTERNATE: ErrorCode<'static> = ErrorCode {
        code: 300,
        reason: "Try Alternate",
    };
    /// 400 Bad Request.
    pub const BAD_REQUEST: ErrorCode<'static> = ErrorCode {
        code: 400,
        reason: "Bad Request",
    };
    /// 401 Unauthenticated.
    pub const UNAUTHENTICATED: ErrorCode<'static> = ErrorCode {
        code: 401,
        reason: "Unauthenticated",
    };
    /// 403 Forbidden.
    pub const FORBIDDEN: ErrorCode<'static> = ErrorCode {
        code: 403,
        reason: "Forbidden",
    };
    /// 420 Unknown Attribute.
    pub const UNKNOWN_ATTRIBUTE: ErrorCode<'static> = ErrorCode {
        code: 420,
        reason: "Unknown Attribute",
    };
    /// 437 Allocation Mismatch.
    pub const ALLOCATION_MISMATCH: ErrorCode<'static> = ErrorCode {
        code: 437,
        reason: "Allocation Mismatch",
    };
    /// 438 Stale Nonce.
    pub const STALE_NONCE: ErrorCode<'static> = ErrorCode {
        code: 438,
        reason: "Stale Nonce",
    };
    /// 441 Wrong Credentials.
    pub const WRONG_CREDENTIALS: ErrorCode<'static> = ErrorCode {
        code: 441,
        reason: "Wrong Credentials",
    };
    /// 442 Unsupported Transport Protocol.
    pub const UNSUPPORTED_TRANSPORT: ErrorCode<'static> = ErrorCode {
        code: 442,
        reason: "Unsupported Transport Protocol",
    };
    /// 486 Allocation Quota Reached.
    pub const ALLOCATION_QUOTA_REACHED: ErrorCode<'static> = ErrorCode {
        code: 486,
        reason: "Allocation Quota Reached",
    };
    /// 487 Role Conflict (ICE).
    pub const ROLE_CONFLICT: ErrorCode<'static> = ErrorCode {
        code: 487,
        reason: "Role Conflict",
    };
    /// 500 Server Error.
    pub const SERVER_ERROR: ErrorCode<'static> = ErrorCode {
        code: 500,
        reason: "Server Error",
    };
    /// 508 Insufficient Capacity.
    pub const INSUFFICIENT_CAPACITY: ErrorCode<'static> = ErrorCode {
        code: 508,
        reason: "Insufficient Capacity",
    };
}

fn decode_code(typ: AttributeType, value: &[u8]) -> Result<u16, Error> {
    let class = (value[2] & 0x07) as u16;
    let number = value[3] as u16;
    if !(3..=6).contains(&class) || number > 99 {
        return Err(Error::InvalidValue(typ));
    }
    Ok(class * 100 + number)
}

fn encode_code(code: u16, out: &mut [u8]) {
    out[0] = 0;
    out[1] = 0;
    out[2] = ((code / 100) & 0x07) as u8;
    out[3] = (code % 100) as u8;
}

impl<'a> StunAttribute<'a> for ErrorCode<'a> {
    const TYPE: AttributeType = AttributeType::ERROR_CODE;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        if value.len() < 4 || value.len() > 4 + 763 {
            return Err(Error::BadAttributeLength {
                attribute: Self::TYPE,
                len: value.len(),
            });
        }
        let code = decode_code(Self::TYPE, value)?;
        let reason =
            std::str::from_utf8(&value[4..]).map_err(|_| Error::InvalidUtf8(Self::TYPE))?;
        Ok(ErrorCode { code, reason })
    }
    fn encoded_len(&self) -> usize {
        4 + self.reason.len()
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        encode_code(self.code, out);
        out[4..].copy_from_slice(self.reason.as_bytes());
    }
}

/// UNKNOWN-ATTRIBUTES: the comprehension-required types a server did not understand.
///
/// Decoded, it borrows the value bytes; iterate with [`UnknownAttributes::iter`].
/// To encode, build it from a slice of types with [`UnknownAttributes::from_types`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnknownAttributes<'a> {
    /// Borrowed from a message: 2 bytes per type.
    Wire(&'a [u8]),
    /// Types to encode.
    Types(&'a [AttributeType]),
}

impl<'a> UnknownAttributes<'a> {
    /// For encoding.
    pub fn from_types(types: &'a [AttributeType]) -> Self {
        UnknownAttributes::Types(types)
    }

    /// The listed types.
    pub fn iter(&self) -> impl Iterator<Item = AttributeType> + 'a {
        let (wire, types): (&'a [u8], &'a [AttributeType]) = match *self {
            UnknownAttributes::Wire(w) => (w, &[]),
            UnknownAttributes::Types(t) => (&[], t),
        };
        wire.chunks_exact(2)
            .map(|c| AttributeType(be16(c)))
            .chain(types.iter().copied())
    }
}

impl<'a> StunAttribute<'a> for UnknownAttributes<'a> {
    const TYPE: AttributeType = AttributeType::UNKNOWN_ATTRIBUTES;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        if value.len() % 2 != 0 {
            return Err(Error::BadAttributeLength {
                attribute: Self::TYPE,
                len: value.len(),
            });
        }
        Ok(UnknownAttributes::Wire(value))
    }
    fn encoded_len(&self) -> usize {
        match self {
            UnknownAttributes::Wire(w) => w.len(),
            UnknownAttributes::Types(t) => t.len() * 2,
        }
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        match self {
            UnknownAttributes::Wire(w) => out.copy_from_slice(w),
            UnknownAttributes::Types(t) => {
                for (chunk, typ) in out.chunks_exact_mut(2).zip(t.iter()) {
                    chunk.copy_from_slice(&typ.0.to_be_bytes());
                }
            }
        }
    }
}

/// One entry of PASSWORD-ALGORITHM(S): algorithm number and parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PasswordAlgorithmEntry<'a> {
    /// The algorithm number (1 = MD5, 2 = SHA-256).
    pub algorithm: u16,
    /// Its parameters (empty for MD5 and SHA-256).
    pub parameters: &'a [u8],
}

impl PasswordAlgorithmEntry<'_> {
    fn wire_len(&self) -> usize {
        4 + ((self.parameters.len() + 3) & !3)
    }

    fn write(&self, out: &mut [u8]) {
        out[0..2].copy_from_slice(&self.algorithm.to_be_bytes());
        out[2..4].copy_from_slice(&(self.parameters.len() as u16).to_be_bytes());
        out[4..4 + self.parameters.len()].copy_from_slice(self.parameters);
        for b in &mut out[4 + self.parameters.len()..self.wire_len()] {
            *b = 0;
        }
    }
}

fn read_algorithm(
    typ: AttributeType,
    v: &[u8],
) -> Result<(PasswordAlgorithmEntry<'_>, usize), Error> {
    if v.len() < 4 {
        return Err(Error::BadAttributeLength {
            attribute: typ,
            len: v.len(),
        });
    }
    let algorithm = be16(v);
    let plen = be16(&v[2..]) as usize;
    let padded = (plen + 3) & !3;
    if v.len() - 4 < padded {
        return Err(Error::BadAttributeLength {
            attribute: typ,
            len: v.len(),
        });
    }
    Ok((
        PasswordAlgorithmEntry {
            algorithm,
            parameters: &v[4..4 + plen],
        },
        4 + padded,
    ))
}

/// PASSWORD-ALGORITHM: the algorithm the client chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PasswordAlgorithmAttr<'a>(pub PasswordAlgorithmEntry<'a>);

impl<'a> StunAttribute<'a> for PasswordAlgorithmAttr<'a> {
    const TYPE: AttributeType = AttributeType::PASSWORD_ALGORITHM;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        let (entry, used) = read_algorithm(Self::TYPE, value)?;
        if used != value.len() {
            return Err(Error::BadAttributeLength {
                attribute: Self::TYPE,
                len: value.len(),
            });
        }
        Ok(PasswordAlgorithmAttr(entry))
    }
    fn encoded_len(&self) -> usize {
        self.0.wire_len()
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        self.0.write(out)
    }
}

/// PASSWORD-ALGORITHMS: the algorithms a server offers, in preference order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasswordAlgorithms<'a> {
    /// Borrowed from a message (validated on decode).
    Wire(&'a [u8]),
    /// Entries to encode.
    Entries(&'a [PasswordAlgorithmEntry<'a>]),
}

impl<'a> PasswordAlgorithms<'a> {
    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = PasswordAlgorithmEntry<'a>> + 'a {
        let (mut wire, entries): (&'a [u8], &'a [PasswordAlgorithmEntry<'a>]) = match *self {
            PasswordAlgorithms::Wire(w) => (w, &[]),
            PasswordAlgorithms::Entries(e) => (&[], e),
        };
        std::iter::from_fn(move || {
            if wire.is_empty() {
                return None;
            }
            let (entry, used) = read_algorithm(AttributeType::PASSWORD_ALGORITHMS, wire).ok()?;
            wire = &wire[used..];
            Some(entry)
        })
        .chain(entries.iter().copied())
    }
}

impl<'a> StunAttribute<'a> for PasswordAlgorithms<'a> {
    const TYPE: AttributeType = AttributeType::PASSWORD_ALGORITHMS;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        let mut rest = value;
        while !rest.is_empty() {
            let (_, used) = read_algorithm(Self::TYPE, rest)?;
            rest = &rest[used..];
        }
        Ok(PasswordAlgorithms::Wire(value))
    }
    fn encoded_len(&self) -> usize {
        match self {
            PasswordAlgorithms::Wire(w) => w.len(),
            PasswordAlgorithms::Entries(e) => e.iter().map(|x| x.wire_len()).sum(),
        }
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        match self {
            PasswordAlgorithms::Wire(w) => out.copy_from_slice(w),
            PasswordAlgorithms::Entries(e) => {
                let mut at = 0;
                for entry in e.iter() {
                    let n = entry.wire_len();
                    entry.write(&mut out[at..at + n]);
                    at += n;
                }
            }
        }
    }
}

macro_rules! family_attribute {
    ($(#[$doc:meta])* $name:ident, $typ:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub AddressFamily);

        impl<'a> StunAttribute<'a> for $name {
            const TYPE: AttributeType = AttributeType::$typ;
            fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
                check_len(Self::TYPE, value, 4)?;
                AddressFamily::from_number(value[0]).map($name)
            }
            fn encoded_len(&self) -> usize {
                4
            }
            fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
                out.copy_from_slice(&[self.0.number(), 0, 0, 0]);
            }
        }
    };
}

family_attribute!(
    /// REQUESTED-ADDRESS-FAMILY: the family of relayed address a TURN client wants.
    RequestedAddressFamily, REQUESTED_ADDRESS_FAMILY);
family_attribute!(
    /// ADDITIONAL-ADDRESS-FAMILY: a TURN client asks for an IPv6 relay beside the IPv4 one.
    AdditionalAddressFamily, ADDITIONAL_ADDRESS_FAMILY);

/// EVEN-PORT: ask for an even relay port, optionally reserving the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EvenPort {
    /// The R bit: reserve the next-higher port too.
    pub reserve_next: bool,
}

impl<'a> StunAttribute<'a> for EvenPort {
    const TYPE: AttributeType = AttributeType::EVEN_PORT;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        check_len(Self::TYPE, value, 1)?;
        Ok(EvenPort {
            reserve_next: value[0] & 0x80 != 0,
        })
    }
    fn encoded_len(&self) -> usize {
        1
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        out[0] = if self.reserve_next { 0x80 } else { 0 };
    }
}

/// REQUESTED-TRANSPORT: the IP protocol number for the relay (17 = UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestedTransport(pub u8);

impl RequestedTransport {
    /// UDP (17).
    pub const UDP: RequestedTransport = RequestedTransport(17);
    /// TCP (6), RFC 6062.
    pub const TCP: RequestedTransport = RequestedTransport(6);
}

impl<'a> StunAttribute<'a> for RequestedTransport {
    const TYPE: AttributeType = AttributeType::REQUESTED_TRANSPORT;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        check_len(Self::TYPE, value, 4)?;
        Ok(RequestedTransport(value[0]))
    }
    fn encoded_len(&self) -> usize {
        4
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        out.copy_from_slice(&[self.0, 0, 0, 0]);
    }
}

/// ADDRESS-ERROR-CODE: why the server could not allocate one address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressErrorCode<'a> {
    /// The family that failed.
    pub family: AddressFamily,
    /// The error code (300..=699).
    pub code: u16,
    /// The reason phrase.
    pub reason: &'a str,
}

impl<'a> StunAttribute<'a> for AddressErrorCode<'a> {
    const TYPE: AttributeType = AttributeType::ADDRESS_ERROR_CODE;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        if value.len() < 4 || value.len() > 4 + 763 {
            return Err(Error::BadAttributeLength {
                attribute: Self::TYPE,
                len: value.len(),
            });
        }
        let family = AddressFamily::from_number(value[0])?;
        let code = decode_code(Self::TYPE, value)?;
        let reason =
            std::str::from_utf8(&value[4..]).map_err(|_| Error::InvalidUtf8(Self::TYPE))?;
        Ok(AddressErrorCode {
            family,
            code,
            reason,
        })
    }
    fn encoded_len(&self) -> usize {
        4 + self.reason.len()
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        encode_code(self.code, out);
        out[0] = self.family.number();
        out[4..].copy_from_slice(self.reason.as_bytes());
    }
}

/// ICMP: an ICMP message a TURN server received for a relayed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Icmp {
    /// ICMP type.
    pub icmp_type: u8,
    /// ICMP code.
    pub icmp_code: u8,
    /// Error data (e.g. the MTU of a "fragmentation needed").
    pub error_data: u32,
}

impl<'a> StunAttribute<'a> for Icmp {
    const TYPE: AttributeType = AttributeType::ICMP;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        check_len(Self::TYPE, value, 8)?;
        Ok(Icmp {
            icmp_type: value[2] & 0x7F,
            icmp_code: value[3],
            error_data: be32(&value[4..8]),
        })
    }
    fn encoded_len(&self) -> usize {
        8
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        out[0] = 0;
        out[1] = 0;
        out[2] = self.icmp_type & 0x7F;
        out[3] = self.icmp_code;
        out[4..8].copy_from_slice(&self.error_data.to_be_bytes());
    }
}

/// GOOG-NETWORK-INFO (libwebrtc): the sender's network id and network cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GoogNetworkInfo {
    /// libwebrtc's network id of the sending interface.
    pub network_id: u16,
    /// libwebrtc's network cost (0 = unknown/ethernet … 999 = cellular).
    pub network_cost: u16,
}

impl<'a> StunAttribute<'a> for GoogNetworkInfo {
    const TYPE: AttributeType = AttributeType::GOOG_NETWORK_INFO;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        check_len(Self::TYPE, value, 4)?;
        Ok(GoogNetworkInfo {
            network_id: be16(value),
            network_cost: be16(&value[2..]),
        })
    }
    fn encoded_len(&self) -> usize {
        4
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        out[0..2].copy_from_slice(&self.network_id.to_be_bytes());
        out[2..4].copy_from_slice(&self.network_cost.to_be_bytes());
    }
}

/// CHANGE-REQUEST (RFC 5780): flags asking the server to answer from another IP or port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChangeRequest {
    /// Change the IP address.
    pub change_ip: bool,
    /// Change the port.
    pub change_port: bool,
}

impl<'a> StunAttribute<'a> for ChangeRequest {
    const TYPE: AttributeType = AttributeType::CHANGE_REQUEST;
    fn decode(value: &'a [u8], _tid: &[u8; 12]) -> Result<Self, Error> {
        check_len(Self::TYPE, value, 4)?;
        Ok(ChangeRequest {
            change_ip: value[3] & 0x04 != 0,
            change_port: value[3] & 0x02 != 0,
        })
    }
    fn encoded_len(&self) -> usize {
        4
    }
    fn encode(&self, out: &mut [u8], _tid: &[u8; 12]) {
        let flags = if self.change_ip { 0x04 } else { 0 } | if self.change_port { 0x02 } else { 0 };
        out.copy_from_slice(&[0, 0, 0, flags]);
    }
}

macro_rules! attribute_enum {
    ($( $variant:ident ( $tyname:ident $(<$lt:lifetime>)? ) ),* $(,)?) => {
        /// Any attribute, decoded.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Attribute<'a> {
            $(
                #[doc = concat!("See [`", stringify!($tyname), "`].")]
                $variant($tyname $(<$lt>)?),
            )*
            /// An attribute this crate does not know, kept as it was.
            Unknown {
                /// Its type.
                typ: AttributeType,
                /// Its value.
                value: &'a [u8],
            },
        }

        impl<'a> Attribute<'a> {
            /// Decodes a raw attribute.
            pub fn decode(raw: RawAttribute<'a>, tid: &[u8; 12]) -> Result<Attribute<'a>, Error> {
                Ok(match raw.typ {
                    $( <$tyname $(<$lt>)? as StunAttribute<'a>>::TYPE => Attribute::$variant(<$tyname $(<$lt>)?>::decode(raw.value, tid)?), )*
                    typ => Attribute::Unknown { typ, value: raw.value },
                })
            }

            /// The attribute type.
            pub fn attribute_type(&self) -> AttributeType {
                match self {
                    $( Attribute::$variant(_) => <$tyname $(<$lt>)? as StunAttribute<'a>>::TYPE, )*
                    Attribute::Unknown { typ, .. } => *typ,
                }
            }

            /// Encoded value length.
            pub fn encoded_len(&self) -> usize {
                match self {
                    $( Attribute::$variant(v) => v.encoded_len(), )*
                    Attribute::Unknown { value, .. } => value.len(),
                }
            }

            /// Encodes the value into `out` (exactly `encoded_len()` bytes).
            pub fn encode(&self, out: &mut [u8], tid: &[u8; 12]) {
                match self {
                    $( Attribute::$variant(v) => v.encode(out, tid), )*
                    Attribute::Unknown { value, .. } => out.copy_from_slice(value),
                }
            }
        }
    };
}

attribute_enum! {
    MappedAddress(MappedAddress),
    XorMappedAddress(XorMappedAddress),
    Username(Username<'a>),
    UserHash(UserHash<'a>),
    MessageIntegrity(MessageIntegrity<'a>),
    MessageIntegritySha256(MessageIntegritySha256<'a>),
    Fingerprint(Fingerprint),
    ErrorCode(ErrorCode<'a>),
    Realm(Realm<'a>),
    Nonce(Nonce<'a>),
    PasswordAlgorithms(PasswordAlgorithms<'a>),
    PasswordAlgorithm(PasswordAlgorithmAttr<'a>),
    UnknownAttributes(UnknownAttributes<'a>),
    Software(Software<'a>),
    AlternateServer(AlternateServer),
    AlternateDomain(AlternateDomain<'a>),
    Priority(Priority),
    UseCandidate(UseCandidate),
    IceControlled(IceControlled),
    IceControlling(IceControlling),
    ChannelNumber(ChannelNumber),
    Lifetime(Lifetime),
    XorPeerAddress(XorPeerAddress),
    Data(Data<'a>),
    XorRelayedAddress(XorRelayedAddress),
    RequestedAddressFamily(RequestedAddressFamily),
    EvenPort(EvenPort),
    RequestedTransport(RequestedTransport),
    DontFragment(DontFragment),
    ReservationToken(ReservationToken),
    AdditionalAddressFamily(AdditionalAddressFamily),
    AddressErrorCode(AddressErrorCode<'a>),
    Icmp(Icmp),
    GoogNetworkInfo(GoogNetworkInfo),
    ChangeRequest(ChangeRequest),
}
