//! The STUN message: a zero-copy view ([`Message`]) and a builder writing into
//! a caller-provided buffer ([`MessageBuilder`]), RFC 8489 §5.
//!
//! [`Message::parse`] validates the header and the attribute layout once
//! (lengths, padding, ordering of MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256
//! and FINGERPRINT) and never allocates. Reading typed attributes afterwards
//! walks the already-validated bytes.

use std::fmt;

use crate::attributes::{Attribute, AttributeType, RawAttribute, StunAttribute};
use crate::error::Error;
use crate::integrity::{self, IntegrityKey};

/// The magic cookie in every RFC 5389/8489 message.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// Size of the fixed STUN header.
pub const HEADER_LEN: usize = 20;
/// Size of an attribute header (type + length).
pub const ATTRIBUTE_HEADER_LEN: usize = 4;
/// XOR constant of FINGERPRINT ("STUN" in ASCII).
pub const FINGERPRINT_XOR: u32 = 0x5354_554E;

/// The class of a STUN message (RFC 8489 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// A request, answered by a success or error response.
    Request,
    /// An indication, never answered.
    Indication,
    /// A success response.
    SuccessResponse,
    /// An error response.
    ErrorResponse,
}

impl Class {
    fn bits(self) -> u16 {
        match self {
            Class::Request => 0b00,
            Class::Indication => 0b01,
            Class::SuccessResponse => 0b10,
            Class::ErrorResponse => 0b11,
        }
    }

    /// True for success and error responses.
    pub fn is_response(self) -> bool {
        matches!(self, Class::SuccessResponse | Class::ErrorResponse)
    }
}

/// A STUN method (12 bits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Method(pub u16);

impl Method {
    /// Binding (RFC 8489).
    pub const BINDING: Method = Method(0x001);
    /// Allocate (RFC 8656).
    pub const ALLOCATE: Method = Method(0x003);
    /// Refresh (RFC 8656).
    pub const REFRESH: Method = Method(0x004);
    /// Send (RFC 8656, indication only).
    pub const SEND: Method = Method(0x006);
    /// Data (RFC 8656, indication only).
    pub const DATA: Method = Method(0x007);
    /// CreatePermission (RFC 8656).
    pub const CREATE_PERMISSION: Method = Method(0x008);
    /// ChannelBind (RFC 8656).
    pub const CHANNEL_BIND: Method = Method(0x009);
    /// Connect (RFC 6062).
    pub const CONNECT: Method = Method(0x00A);
    /// ConnectionBind (RFC 6062).
    pub const CONNECTION_BIND: Method = Method(0x00B);
    /// ConnectionAttempt (RFC 6062).
    pub const CONNECTION_ATTEMPT: Method = Method(0x00C);

    /// The method's name where it is known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Method::BINDING => "Binding",
            Method::ALLOCATE => "Allocate",
            Method::REFRESH => "Refresh",
            Method::SEND => "Send",
            Method::DATA => "Data",
            Method::CREATE_PERMISSION => "CreatePermission",
            Method::CHANNEL_BIND => "ChannelBind",
            Method::CONNECT => "Connect",
            Method::CONNECTION_BIND => "ConnectionBind",
            Method::CONNECTION_ATTEMPT => "ConnectionAttempt",
            _ => return None,
        })
    }
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Method({:#05x})", self.0),
        }
    }
}

/// Encodes class and method into the 14-bit message type (RFC 8489 §5, figure 3).
pub fn encode_message_type(class: Class, method: Method) -> u16 {
    let m = method.0 & 0x0FFF;
    let c = class.bits();
    (m & 0x000F) | ((c & 0b01) << 4) | ((m & 0x0070) << 1) | ((c & 0b10) << 7) | ((m & 0x0F80) << 2)
}

/// Splits a 14-bit message type into class and method.
pub fn decode_message_type(t: u16) -> (Class, Method) {
    let c = ((t >> 4) & 0b01) | ((t >> 7) & 0b10);
    let m = (t & 0x000F) | ((t >> 1) & 0x0070) | ((t >> 2) & 0x0F80);
    let class = match c {
        0b00 => Class::Request,
        0b01 => Class::Indication,
        0b10 => Class::SuccessResponse,
        _ => Class::ErrorResponse,
    };
    (class, Method(m))
}

/// The 96-bit transaction id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TransactionId(pub [u8; 12]);

impl TransactionId {
    /// A transaction id from the operating system's CSPRNG (RFC 8489 §6: uniformly random).
    pub fn random() -> TransactionId {
        let mut id = [0u8; 12];
        // getrandom only fails on platforms without an entropy source; there is
        // no sensible STUN without one.
        getrandom::fill(&mut id).expect("operating system random source");
        TransactionId(id)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }
}

impl fmt::Debug for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A cheap test for "could this datagram be STUN": at least a header, first two
/// bits zero and the magic cookie in place. Does not validate attributes.
pub fn is_stun(data: &[u8]) -> bool {
    data.len() >= HEADER_LEN
        && data[0] & 0xC0 == 0
        && u32::from_be_bytes([data[4], data[5], data[6], data[7]]) == MAGIC_COOKIE
}

/// The total length (header included) of the STUN message at the start of
/// `data`, when at least its header is present; for framing STUN over TCP.
pub fn message_len(data: &[u8]) -> Option<usize> {
    if data.len() < 4 {
        return None;
    }
    Some(HEADER_LEN + u16::from_be_bytes([data[2], data[3]]) as usize)
}

/// A validated, borrowed STUN message.
///
/// ```
/// use stun::{Message, MessageBuilder, Class, Method, TransactionId};
/// use stun::attributes::{Software, XorMappedAddress};
///
/// let mut buf = [0u8; 128];
/// let tid = TransactionId([7; 12]);
/// let mut b = MessageBuilder::new(&mut buf, Class::SuccessResponse, Method::BINDING, tid).unwrap();
/// b.add(&XorMappedAddress("192.0.2.1:32853".parse().unwrap())).unwrap();
/// b.add(&Software("peerstack")).unwrap();
/// b.add_fingerprint().unwrap();
/// let len = b.finish();
///
/// let msg = Message::parse(&buf[..len]).unwrap();
/// assert_eq!(msg.class(), Class::SuccessResponse);
/// assert_eq!(msg.method(), Method::BINDING);
/// msg.verify_fingerprint().unwrap();
/// let addr = msg.get::<XorMappedAddress>().unwrap().unwrap();
/// assert_eq!(addr.0.to_string(), "192.0.2.1:32853");
/// ```
#[derive(Clone, Copy)]
pub struct Message<'a> {
    buf: &'a [u8],
    class: Class,
    method: Method,
    /// Offset of the MESSAGE-INTEGRITY attribute header. Offsets are `u32`:
    /// a message may be 20 + 65 535 bytes long, so they need more than 16 bits.
    integrity: Option<u32>,
    /// Offset of the MESSAGE-INTEGRITY-SHA256 attribute header.
    integrity_sha256: Option<u32>,
    /// Offset of the FINGERPRINT attribute header.
    fingerprint: Option<u32>,
}

impl<'a> Message<'a> {
    /// Validates `data` as exactly one STUN message (RFC 8489 §5, §14).
    ///
    /// Checks the header, that the declared length matches `data`, that every
    /// attribute with its padding fits, that FINGERPRINT is last, that only
    /// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT follow MESSAGE-INTEGRITY, and that
    /// none of those three repeats. Attribute values are decoded lazily.
    pub fn parse(data: &'a [u8]) -> Result<Message<'a>, Error> {
        if data.len() < HEADER_LEN {
            return Err(Error::TooShort(data.len()));
        }
        if data[0] & 0xC0 != 0 {
            return Err(Error::NotStun);
        }
        let cookie = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
        if cookie != MAGIC_COOKIE {
            return Err(Error::BadMagicCookie(cookie));
        }
        let declared = u16::from_be_bytes([data[2], data[3]]);
        if declared % 4 != 0 {
            return Err(Error::LengthNotAligned(declared));
        }
        let available = data.len() - HEADER_LEN;
        if declared as usize != available {
            return Err(Error::LengthMismatch {
                declared: declared as usize,
                available,
            });
        }
        let (class, method) = decode_message_type(u16::from_be_bytes([data[0], data[1]]));
        let mut msg = Message {
            buf: data,
            class,
            method,
            integrity: None,
            integrity_sha256: None,
            fingerprint: None,
        };
        let mut pos = HEADER_LEN;
        while pos < data.len() {
            if data.len() - pos < ATTRIBUTE_HEADER_LEN {
                // Four-byte alignment of the total length makes this unreachable,
                // but a view must never read out of bounds.
                return Err(Error::AttributeTruncated(AttributeType(0)));
            }
            let typ = AttributeType(u16::from_be_bytes([data[pos], data[pos + 1]]));
            let len = u16::from_be_bytes([data[pos + 2], data[pos + 3]]) as usize;
            let padded = (len + 3) & !3;
            if data.len() - pos - ATTRIBUTE_HEADER_LEN < padded {
                return Err(Error::AttributeTruncated(typ));
            }
            if msg.fingerprint.is_some() {
                return Err(Error::AttributeAfterFingerprint(typ));
            }
            let at = pos as u32;
            match typ {
                AttributeType::FINGERPRINT => {
                    if len != 4 {
                        return Err(Error::BadAttributeLength {
                            attribute: typ,
                            len,
                        });
                    }
                    msg.fingerprint = Some(at);
                }
                AttributeType::MESSAGE_INTEGRITY_SHA256 => {
                    if msg.integrity_sha256.is_some() {
                        return Err(Error::DuplicateAttribute(typ));
                    }
                    if !(16..=32).contains(&len) || len % 4 != 0 {
                        return Err(Error::BadAttributeLength {
                            attribute: typ,
                            len,
                        });
                    }
                    msg.integrity_sha256 = Some(at);
                }
                AttributeType::MESSAGE_INTEGRITY => {
                    if msg.integrity.is_some() {
                        return Err(Error::DuplicateAttribute(typ));
                    }
                    if msg.integrity_sha256.is_some() {
                        // RFC 8489 §14.6: MESSAGE-INTEGRITY-SHA256 comes after MESSAGE-INTEGRITY.
                        return Err(Error::AttributeAfterIntegrity(typ));
                    }
                    if len != 20 {
                        return Err(Error::BadAttributeLength {
                            attribute: typ,
                            len,
                        });
                    }
                    msg.integrity = Some(at);
                }
                _ => {
                    if msg.integrity.is_some() || msg.integrity_sha256.is_some() {
                        return Err(Error::AttributeAfterIntegrity(typ));
                    }
                }
            }
            pos += ATTRIBUTE_HEADER_LEN + padded;
        }
        Ok(msg)
    }

    /// The message bytes (header included).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Total length in bytes, header included.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// The message class.
    pub fn class(&self) -> Class {
        self.class
    }

    /// The message method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The transaction id.
    pub fn transaction_id(&self) -> TransactionId {
        let mut id = [0u8; 12];
        id.copy_from_slice(&self.buf[8..20]);
        TransactionId(id)
    }

    /// The transaction id as a borrowed array.
    pub fn transaction_id_bytes(&self) -> &'a [u8; 12] {
        self.buf[8..20].try_into().expect("header is 20 bytes")
    }

    /// Iterates over all attributes in order, MESSAGE-INTEGRITY and FINGERPRINT included.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            buf: self.buf,
            pos: HEADER_LEN,
        }
    }

    /// The first attribute of type `typ`, undecoded.
    pub fn raw(&self, typ: AttributeType) -> Option<RawAttribute<'a>> {
        self.attributes().find(|a| a.typ == typ)
    }

    /// The first attribute of type `T`, decoded. `Ok(None)` when absent,
    /// `Err` when present but malformed.
    pub fn get<T: StunAttribute<'a>>(&self) -> Result<Option<T>, Error> {
        match self.raw(T::TYPE) {
            Some(raw) => T::decode(raw.value, self.transaction_id_bytes()).map(Some),
            None => Ok(None),
        }
    }

    /// True when an attribute of type `typ` is present.
    pub fn has(&self, typ: AttributeType) -> bool {
        self.raw(typ).is_some()
    }

    /// Decodes every attribute; unknown ones come back as [`Attribute::Unknown`].
    pub fn typed_attributes(&self) -> impl Iterator<Item = Result<Attribute<'a>, Error>> + 'a {
        let tid = self.transaction_id_bytes();
        self.attributes()
            .map(move |raw| Attribute::decode(raw, tid))
    }

    /// Unknown comprehension-required attributes (type < 0x8000), which a
    /// server answers with 420 and UNKNOWN-ATTRIBUTES (RFC 8489 §6.3.1).
    pub fn unknown_comprehension_required(&self) -> impl Iterator<Item = AttributeType> + 'a {
        self.attributes()
            .map(|a| a.typ)
            .filter(|t| t.is_comprehension_required() && !t.is_known())
    }

    /// True when a MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 attribute is present.
    pub fn has_integrity(&self) -> bool {
        self.integrity.is_some() || self.integrity_sha256.is_some()
    }

    /// True when MESSAGE-INTEGRITY-SHA256 is present (what
    /// [`Message::verify_integrity`] then checks).
    pub fn has_integrity_sha256(&self) -> bool {
        self.integrity_sha256.is_some()
    }

    /// True when FINGERPRINT is present.
    pub fn has_fingerprint(&self) -> bool {
        self.fingerprint.is_some()
    }

    /// Checks FINGERPRINT. `Err(FingerprintMissing)` when there is none.
    pub fn verify_fingerprint(&self) -> Result<(), Error> {
        let at = self.fingerprint.ok_or(Error::FingerprintMissing)? as usize;
        let expected = integrity::fingerprint(self.buf, at);
        let v = &self.buf[at + 4..at + 8];
        let got = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
        if got == expected {
            Ok(())
        } else {
            Err(Error::FingerprintMismatch)
        }
    }

    /// Checks FINGERPRINT when present; a message without one passes.
    pub fn verify_fingerprint_if_present(&self) -> Result<(), Error> {
        match self.fingerprint {
            Some(_) => self.verify_fingerprint(),
            None => Ok(()),
        }
    }

    /// Checks message integrity with `key`, in constant time.
    ///
    /// MESSAGE-INTEGRITY-SHA256 is preferred when present (RFC 8489 §14.6),
    /// otherwise MESSAGE-INTEGRITY. `Err(IntegrityMissing)` when neither is there.
    pub fn verify_integrity(&self, key: &IntegrityKey) -> Result<(), Error> {
        if let Some(at) = self.integrity_sha256 {
            let at = at as usize;
            let len = u16::from_be_bytes([self.buf[at + 2], self.buf[at + 3]]) as usize;
            return key.verify_sha256(self.buf, at, &self.buf[at + 4..at + 4 + len]);
        }
        if let Some(at) = self.integrity {
            let at = at as usize;
            return key.verify_sha1(self.buf, at, &self.buf[at + 4..at + 24]);
        }
        Err(Error::IntegrityMissing)
    }

    /// Checks MESSAGE-INTEGRITY (HMAC-SHA1) only, ignoring MESSAGE-INTEGRITY-SHA256.
    pub fn verify_integrity_sha1(&self, key: &IntegrityKey) -> Result<(), Error> {
        let at = self.integrity.ok_or(Error::IntegrityMissing)? as usize;
        key.verify_sha1(self.buf, at, &self.buf[at + 4..at + 24])
    }
}

impl fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Message");
        d.field("class", &self.class)
            .field("method", &self.method)
            .field("transaction_id", &self.transaction_id());
        let attrs: Vec<AttributeType> = self.attributes().map(|a| a.typ).collect();
        d.field("attributes", &attrs).finish()
    }
}

/// Iterator over the attributes of a validated [`Message`].
#[derive(Clone)]
pub struct Attributes<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = RawAttribute<'a>;

    fn next(&mut self) -> Option<RawAttribute<'a>> {
        // The message was validated by `Message::parse`; slicing with `get`
        // keeps this panic-free regardless.
        let hdr = self.buf.get(self.pos..self.pos + ATTRIBUTE_HEADER_LEN)?;
        let typ = AttributeType(u16::from_be_bytes([hdr[0], hdr[1]]));
        let len = u16::from_be_bytes([hdr[2], hdr[3]]) as usize;
        let start = self.pos + ATTRIBUTE_HEADER_LEN;
        let padded = (len + 3) & !3;
        let value = self.buf.get(start..start + len)?;
        let padding = self.buf.get(start + len..start + padded)?;
        let offset = self.pos;
        self.pos = start + padded;
        Some(RawAttribute {
            typ,
            value,
            padding,
            offset,
        })
    }
}

/// Writes a STUN message into a caller-provided buffer, without allocating.
///
/// Attributes are appended in call order; [`MessageBuilder::add_message_integrity`],
/// [`MessageBuilder::add_message_integrity_sha256`] and
/// [`MessageBuilder::add_fingerprint`] must come last, in that order.
pub struct MessageBuilder<'b> {
    buf: &'b mut [u8],
    len: usize,
    padding_byte: u8,
    sealed: bool,
    sealed_sha256: bool,
    fingerprinted: bool,
}

impl<'b> MessageBuilder<'b> {
    /// Starts a message with the given header in `buf`.
    pub fn new(
        buf: &'b mut [u8],
        class: Class,
        method: Method,
        transaction_id: TransactionId,
    ) -> Result<MessageBuilder<'b>, Error> {
        if buf.len() < HEADER_LEN {
            return Err(Error::BufferTooSmall);
        }
        buf[0..2].copy_from_slice(&encode_message_type(class, method).to_be_bytes());
        buf[2..4].copy_from_slice(&[0, 0]);
        buf[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
        buf[8..20].copy_from_slice(&transaction_id.0);
        Ok(MessageBuilder {
            buf,
            len: HEADER_LEN,
            padding_byte: 0,
            sealed: false,
            sealed_sha256: false,
            fingerprinted: false,
        })
    }

    /// Sets the byte used to pad attribute values to four bytes (default 0).
    /// RFC 8489 lets senders choose; RFC 5769's vectors use 0x20.
    pub fn padding_byte(&mut self, byte: u8) -> &mut Self {
        self.padding_byte = byte;
        self
    }

    /// The transaction id being written.
    pub fn transaction_id(&self) -> TransactionId {
        let mut id = [0u8; 12];
        id.copy_from_slice(&self.buf[8..20]);
        TransactionId(id)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when only the header has been written.
    pub fn is_empty(&self) -> bool {
        self.len == HEADER_LEN
    }

    /// Reserves an attribute of `value_len` bytes, writes its header and padding,
    /// and returns the value's range in the buffer.
    fn reserve(
        &mut self,
        typ: AttributeType,
        value_len: usize,
    ) -> Result<std::ops::Range<usize>, Error> {
        if value_len > u16::MAX as usize {
            return Err(Error::ValueTooLong(typ));
        }
        let padded = (value_len + 3) & !3;
        let end = self.len + ATTRIBUTE_HEADER_LEN + padded;
        if end - HEADER_LEN > u16::MAX as usize {
            return Err(Error::ValueTooLong(typ));
        }
        if end > self.buf.len() {
            return Err(Error::BufferTooSmall);
        }
        let at = self.len;
        self.buf[at..at + 2].copy_from_slice(&typ.0.to_be_bytes());
        self.buf[at + 2..at + 4].copy_from_slice(&(value_len as u16).to_be_bytes());
        let start = at + ATTRIBUTE_HEADER_LEN;
        for b in &mut self.buf[start + value_len..end] {
            *b = self.padding_byte;
        }
        self.len = end;
        self.set_length_field(end);
        Ok(start..start + value_len)
    }

    fn set_length_field(&mut self, total: usize) {
        let l = (total - HEADER_LEN) as u16;
        self.buf[2..4].copy_from_slice(&l.to_be_bytes());
    }

    /// Appends a typed attribute.
    pub fn add<'v, A: StunAttribute<'v>>(&mut self, attribute: &A) -> Result<&mut Self, Error> {
        if self.sealed || self.fingerprinted {
            return Err(Error::BuilderOrder(A::TYPE));
        }
        let n = attribute.encoded_len();
        let mut tid = [0u8; 12];
        tid.copy_from_slice(&self.buf[8..20]);
        let range = self.reserve(A::TYPE, n)?;
        attribute.encode(&mut self.buf[range], &tid);
        Ok(self)
    }

    /// Appends any attribute from the [`Attribute`] enum.
    pub fn add_attribute(&mut self, attribute: &Attribute<'_>) -> Result<&mut Self, Error> {
        let typ = attribute.attribute_type();
        if self.sealed || self.fingerprinted {
            return Err(Error::BuilderOrder(typ));
        }
        match attribute {
            Attribute::MessageIntegrity(_)
            | Attribute::MessageIntegritySha256(_)
            | Attribute::Fingerprint(_) => {
                // These are computed, never copied.
                Err(Error::BuilderOrder(typ))
            }
            _ => {
                let n = attribute.encoded_len();
                let mut tid = [0u8; 12];
                tid.copy_from_slice(&self.buf[8..20]);
                let range = self.reserve(typ, n)?;
                attribute.encode(&mut self.buf[range], &tid);
                Ok(self)
            }
        }
    }

    /// Appends an attribute verbatim: type, value and the original padding bytes.
    pub fn add_raw(&mut self, raw: &RawAttribute<'_>) -> Result<&mut Self, Error> {
        if self.sealed || self.fingerprinted {
            return Err(Error::BuilderOrder(raw.typ));
        }
        let range = self.reserve(raw.typ, raw.value.len())?;
        let end = range.end;
        self.buf[range].copy_from_slice(raw.value);
        let pad = raw.padding.len().min(self.len - end);
        self.buf[end..end + pad].copy_from_slice(&raw.padding[..pad]);
        Ok(self)
    }

    /// Appends MESSAGE-INTEGRITY (HMAC-SHA1 with `key`).
    pub fn add_message_integrity(&mut self, key: &IntegrityKey) -> Result<&mut Self, Error> {
        let typ = AttributeType::MESSAGE_INTEGRITY;
        if self.sealed || self.fingerprinted {
            return Err(Error::BuilderOrder(typ));
        }
        let at = self.len;
        let range = self.reserve(typ, 20)?;
        let mac = key.sign_sha1(self.buf, at);
        self.buf[range].copy_from_slice(&mac);
        self.sealed = true;
        Ok(self)
    }

    /// Appends MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256 with `key`, 32 bytes).
    /// May follow MESSAGE-INTEGRITY.
    pub fn add_message_integrity_sha256(&mut self, key: &IntegrityKey) -> Result<&mut Self, Error> {
        let typ = AttributeType::MESSAGE_INTEGRITY_SHA256;
        // At most one MESSAGE-INTEGRITY-SHA256: `Message::parse` rejects a second.
        if self.fingerprinted || self.sealed_sha256 {
            return Err(Error::BuilderOrder(typ));
        }
        let at = self.len;
        let range = self.reserve(typ, 32)?;
        let mac = key.sign_sha256(self.buf, at);
        self.buf[range].copy_from_slice(&mac);
        self.sealed = true;
        self.sealed_sha256 = true;
        Ok(self)
    }

    /// Appends FINGERPRINT; nothing may follow it.
    pub fn add_fingerprint(&mut self) -> Result<&mut Self, Error> {
        let typ = AttributeType::FINGERPRINT;
        if self.fingerprinted {
            return Err(Error::BuilderOrder(typ));
        }
        let at = self.len;
        let range = self.reserve(typ, 4)?;
        let crc = integrity::fingerprint(self.buf, at);
        self.buf[range].copy_from_slice(&crc.to_be_bytes());
        self.fingerprinted = true;
        Ok(self)
    }

    /// Finishes the message and returns its length; the message is `buf[..len]`.
    pub fn finish(self) -> usize {
        self.len
    }
}
