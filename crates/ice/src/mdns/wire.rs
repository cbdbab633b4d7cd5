//! DNS messages as mDNS uses them (RFC 1035 §4.1, RFC 6762 §18): a
//! zero-copy view that validates once ([`Message::new_checked`]) and a
//! builder that writes into the caller's buffer ([`MessageBuilder`]), in the
//! style of smoltcp's `wire` and this stack's STUN messages.
//!
//! What is read: the header, questions, and every resource record of the
//! answer, authority and additional sections (A and AAAA data are checked
//! and decoded; other types are skipped as opaque bytes). Names may be
//! compressed (RFC 1035 §4.1.4): a pointer must point backwards, at most
//! [`MAX_POINTERS`] are followed for one name, and a name never exceeds 255
//! bytes, so a hostile message cannot make the parser loop, and parsing
//! never allocates.
//!
//! What is written: questions and A/AAAA answers, names uncompressed (an
//! mDNS host answer is small; compression on write is not implemented).
//!
//! ```
//! use ice::mdns::wire::{Message, MessageBuilder, RecordType};
//! let mut buf = [0u8; 512];
//! let mut b = MessageBuilder::new(&mut buf, 0x1234, 0)?;
//! b.question("host.local", RecordType::A, false)?;
//! let len = b.finish();
//! let m = Message::new_checked(&buf[..len])?;
//! assert_eq!(m.id(), 0x1234);
//! let q = m.questions().next().unwrap();
//! assert!(q.name.eq_str("HOST.local"));
//! assert_eq!(q.record_type, RecordType::A);
//! # Ok::<(), ice::DnsWireError>(())
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::DnsWireError;

/// Length of the DNS header.
pub const HEADER_LEN: usize = 12;
/// Longest mDNS message accepted or built (RFC 6762 §17).
pub const MAX_MESSAGE: usize = 9000;
/// Longest name, in wire bytes (RFC 1035 §2.3.4).
pub const MAX_NAME: usize = 255;
/// Longest label.
pub const MAX_LABEL: usize = 63;
/// Most compression pointers followed while reading one name.
pub const MAX_POINTERS: usize = 16;

/// The QR bit: a response.
pub const FLAG_RESPONSE: u16 = 0x8000;
/// The AA bit: an authoritative answer (every mDNS response sets it).
pub const FLAG_AUTHORITATIVE: u16 = 0x0400;
/// The TC bit: truncated (in mDNS queries: known answers follow).
pub const FLAG_TRUNCATED: u16 = 0x0200;
/// The class IN.
pub const CLASS_IN: u16 = 1;
/// The top bit of a question's class: unicast response wanted ("QU", RFC
/// 6762 §5.4); of a record's class: cache flush (RFC 6762 §10.2).
pub const CLASS_TOP_BIT: u16 = 0x8000;

/// A record or question type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// An IPv4 address (1).
    A,
    /// An IPv6 address (28).
    Aaaa,
    /// Any type (255; questions only).
    Any,
    /// Any other type, kept by number.
    Other(u16),
}

impl From<u16> for RecordType {
    fn from(v: u16) -> RecordType {
        match v {
            1 => RecordType::A,
            28 => RecordType::Aaaa,
            255 => RecordType::Any,
            v => RecordType::Other(v),
        }
    }
}

impl From<RecordType> for u16 {
    fn from(t: RecordType) -> u16 {
        match t {
            RecordType::A => 1,
            RecordType::Aaaa => 28,
            RecordType::Any => 255,
            RecordType::Other(v) => v,
        }
    }
}

impl RecordType {
    /// Whether a question of this type asks for `addr`'s record.
    pub fn matches(self, addr: IpAddr) -> bool {
        matches!(
            (self, addr),
            (RecordType::Any, _)
                | (RecordType::A, IpAddr::V4(_))
                | (RecordType::Aaaa, IpAddr::V6(_))
        )
    }
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, DnsWireError> {
    match b.get(at..at + 2) {
        Some(s) => Ok(u16::from_be_bytes([s[0], s[1]])),
        None => Err(DnsWireError::Truncated),
    }
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, DnsWireError> {
    match b.get(at..at + 4) {
        Some(s) => Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]])),
        None => Err(DnsWireError::Truncated),
    }
}

/// Walks the (possibly compressed) name at `start` and returns the offset
/// just past it where it starts (past the first pointer, or past the root
/// label). Checks labels, the 255-byte limit and pointers.
fn skip_name(msg: &[u8], start: usize) -> Result<usize, DnsWireError> {
    let mut pos = start;
    let mut end = None;
    let mut pointers = 0;
    let mut total = 0usize;
    loop {
        let len = *msg.get(pos).ok_or(DnsWireError::Truncated)? as usize;
        match len & 0xc0 {
            0x00 if len == 0 => {
                total += 1;
                if total > MAX_NAME {
                    return Err(DnsWireError::NameTooLong);
                }
                return Ok(end.unwrap_or(pos + 1));
            }
            0x00 => {
                if pos + 1 + len > msg.len() {
                    return Err(DnsWireError::Truncated);
                }
                total += 1 + len;
                if total > MAX_NAME {
                    return Err(DnsWireError::NameTooLong);
                }
                pos += 1 + len;
            }
            0xc0 => {
                let target = (u16_at(msg, pos)? & 0x3fff) as usize;
                end.get_or_insert(pos + 2);
                pointers += 1;
                if pointers > MAX_POINTERS || target >= pos || target < HEADER_LEN {
                    return Err(DnsWireError::PointerLoop);
                }
                pos = target;
            }
            _ => return Err(DnsWireError::BadLabel),
        }
    }
}

/// A name inside a validated message: its labels are read on demand,
/// following compression pointers.
#[derive(Clone, Copy)]
pub struct Name<'a> {
    msg: &'a [u8],
    start: usize,
}

/// The labels of a [`Name`], in order, without the root.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    msg: &'a [u8],
    pos: usize,
    pointers: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // The message was validated; the checks here only keep this from
        // ever panicking or looping.
        loop {
            let len = *self.msg.get(self.pos)? as usize;
            match len & 0xc0 {
                0x00 if len == 0 => return None,
                0x00 => {
                    let label = self.msg.get(self.pos + 1..self.pos + 1 + len)?;
                    self.pos += 1 + len;
                    return Some(label);
                }
                0xc0 => {
                    let target = (u16_at(self.msg, self.pos).ok()? & 0x3fff) as usize;
                    self.pointers += 1;
                    if self.pointers > MAX_POINTERS || target >= self.pos {
                        return None;
                    }
                    self.pos = target;
                }
                _ => return None,
            }
        }
    }
}

impl<'a> Name<'a> {
    /// The labels, pointers followed.
    pub fn labels(&self) -> Labels<'a> {
        Labels {
            msg: self.msg,
            pos: self.start,
            pointers: 0,
        }
    }

    /// Whether this is `name` (dotted, a final dot optional), compared
    /// ASCII case-insensitively as DNS does.
    pub fn eq_str(&self, name: &str) -> bool {
        let name = name.strip_suffix('.').unwrap_or(name);
        let mut mine = self.labels();
        if name.is_empty() {
            return mine.next().is_none();
        }
        for theirs in name.split('.') {
            match mine.next() {
                Some(l) if l.eq_ignore_ascii_case(theirs.as_bytes()) => {}
                _ => return false,
            }
        }
        mine.next().is_none()
    }
}

impl fmt::Display for Name<'_> {
    /// Dotted, bytes outside printable ASCII and dots inside labels escaped as `\DDD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for &b in label {
                if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                    write!(f, "{}", b as char)?;
                } else {
                    write!(f, "\\{b:03}")?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

/// One question.
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    /// The name asked about.
    pub name: Name<'a>,
    /// The type asked for.
    pub record_type: RecordType,
    /// The class without its top bit (1 = IN).
    pub class: u16,
    /// The top bit of the class: the querier wants a unicast answer (QU).
    pub unicast_response: bool,
}

/// The section a record is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Answers.
    Answer,
    /// Authority records (an mDNS probe's proposed records).
    Authority,
    /// Additional records.
    Additional,
}

/// One resource record.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The section it is in.
    pub section: Section,
    /// Its owner name.
    pub name: Name<'a>,
    /// Its type.
    pub record_type: RecordType,
    /// The class without its top bit (1 = IN).
    pub class: u16,
    /// The top bit of the class: cache flush (RFC 6762 §10.2).
    pub cache_flush: bool,
    /// Time to live, seconds.
    pub ttl: u32,
    /// The record's data.
    pub data: &'a [u8],
}

impl Record<'_> {
    /// The address of an A or AAAA record of class IN (the data's length
    /// was checked when the message was).
    pub fn addr(&self) -> Option<IpAddr> {
        if self.class != CLASS_IN {
            return None;
        }
        match self.record_type {
            RecordType::A => <[u8; 4]>::try_from(self.data)
                .ok()
                .map(|b| IpAddr::V4(Ipv4Addr::from(b))),
            RecordType::Aaaa => <[u8; 16]>::try_from(self.data)
                .ok()
                .map(|b| IpAddr::V6(Ipv6Addr::from(b))),
            _ => None,
        }
    }
}

/// A DNS message in a buffer, checked once by [`Message::new_checked`]:
/// every name, question and record lies inside it, so the accessors and
/// iterators cannot fail afterwards.
#[derive(Debug, Clone)]
pub struct Message<T: AsRef<[u8]>> {
    buffer: T,
    /// Where the questions end and the records start.
    records_start: usize,
}

impl<T: AsRef<[u8]>> Message<T> {
    /// Checks the header, every question and every record (names,
    /// lengths, A/AAAA data sizes). Bytes after the last record are
    /// ignored, as resolvers do.
    pub fn new_checked(buffer: T) -> Result<Message<T>, DnsWireError> {
        let b = buffer.as_ref();
        if b.len() > MAX_MESSAGE {
            return Err(DnsWireError::TooLong);
        }
        if b.len() < HEADER_LEN {
            return Err(DnsWireError::Truncated);
        }
        let mut pos = HEADER_LEN;
        for _ in 0..u16_at(b, 4)? {
            pos = skip_name(b, pos)? + 4;
            if pos > b.len() {
                return Err(DnsWireError::Truncated);
            }
        }
        let records_start = pos;
        let records = u16_at(b, 6)? as usize + u16_at(b, 8)? as usize + u16_at(b, 10)? as usize;
        for _ in 0..records {
            pos = skip_name(b, pos)?;
            let rtype = RecordType::from(u16_at(b, pos)?);
            let len = u16_at(b, pos + 8)? as usize;
            let data = pos + 10;
            if data + len > b.len() {
                return Err(DnsWireError::Truncated);
            }
            let class = u16_at(b, pos + 2)? & !CLASS_TOP_BIT;
            let bad = match rtype {
                RecordType::A => len != 4,
                RecordType::Aaaa => len != 16,
                _ => false,
            };
            if bad && class == CLASS_IN {
                return Err(DnsWireError::BadRecord);
            }
            pos = data + len;
        }
        Ok(Message {
            buffer,
            records_start,
        })
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn field(&self, at: usize) -> u16 {
        u16_at(self.bytes(), at).unwrap_or(0)
    }

    /// The message id.
    pub fn id(&self) -> u16 {
        self.field(0)
    }

    /// The flags word (QR, opcode, AA, TC, RD, RA, Z, RCODE).
    pub fn flags(&self) -> u16 {
        self.field(2)
    }

    /// The QR bit.
    pub fn is_response(&self) -> bool {
        self.flags() & FLAG_RESPONSE != 0
    }

    /// The opcode (0 = standard query; mDNS ignores messages with others).
    pub fn opcode(&self) -> u8 {
        ((self.flags() >> 11) & 0xf) as u8
    }

    /// The response code (mDNS ignores messages with a non-zero one).
    pub fn rcode(&self) -> u8 {
        (self.flags() & 0xf) as u8
    }

    /// Number of questions.
    pub fn question_count(&self) -> u16 {
        self.field(4)
    }

    /// Number of answers.
    pub fn answer_count(&self) -> u16 {
        self.field(6)
    }

    /// Number of authority records.
    pub fn authority_count(&self) -> u16 {
        self.field(8)
    }

    /// Number of additional records.
    pub fn additional_count(&self) -> u16 {
        self.field(10)
    }

    /// The questions.
    pub fn questions(&self) -> Questions<'_> {
        Questions {
            msg: self.bytes(),
            pos: HEADER_LEN,
            left: self.question_count(),
        }
    }

    /// Every record: answers, then authority, then additional records.
    pub fn records(&self) -> Records<'_> {
        Records {
            msg: self.bytes(),
            pos: self.records_start,
            left: [
                self.answer_count(),
                self.authority_count(),
                self.additional_count(),
            ],
        }
    }

    /// The buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// The questions of a [`Message`].
#[derive(Debug, Clone)]
pub struct Questions<'a> {
    msg: &'a [u8],
    pos: usize,
    left: u16,
}

impl<'a> Iterator for Questions<'a> {
    type Item = Question<'a>;

    fn next(&mut self) -> Option<Question<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let start = self.pos;
        let end = skip_name(self.msg, start).ok()?;
        let rtype = u16_at(self.msg, end).ok()?;
        let class = u16_at(self.msg, end + 2).ok()?;
        self.pos = end + 4;
        Some(Question {
            name: Name {
                msg: self.msg,
                start,
            },
            record_type: rtype.into(),
            class: class & !CLASS_TOP_BIT,
            unicast_response: class & CLASS_TOP_BIT != 0,
        })
    }
}

/// The records of a [`Message`], in order.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    msg: &'a [u8],
    pos: usize,
    left: [u16; 3],
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        let (i, section) = [Section::Answer, Section::Authority, Section::Additional]
            .into_iter()
            .enumerate()
            .find(|(i, _)| self.left[*i] > 0)?;
        self.left[i] -= 1;
        let start = self.pos;
        let end = skip_name(self.msg, start).ok()?;
        let rtype = u16_at(self.msg, end).ok()?;
        let class = u16_at(self.msg, end + 2).ok()?;
        let ttl = u32_at(self.msg, end + 4).ok()?;
        let len = u16_at(self.msg, end + 8).ok()? as usize;
        let data = self.msg.get(end + 10..end + 10 + len)?;
        self.pos = end + 10 + len;
        Some(Record {
            section,
            name: Name {
                msg: self.msg,
                start,
            },
            record_type: rtype.into(),
            class: class & !CLASS_TOP_BIT,
            cache_flush: class & CLASS_TOP_BIT != 0,
            ttl,
            data,
        })
    }
}

/// Checks a dotted name for writing: labels of 1 to 63 bytes, at most 255
/// bytes on the wire. A final dot is allowed.
pub fn check_name(name: &str) -> Result<(), DnsWireError> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err(DnsWireError::BadName);
    }
    let mut total = 1;
    for label in name.split('.') {
        if label.is_empty() || label.len() > MAX_LABEL {
            return Err(DnsWireError::BadName);
        }
        total += 1 + label.len();
    }
    if total > MAX_NAME {
        return Err(DnsWireError::BadName);
    }
    Ok(())
}

/// Writes DNS messages into a caller's buffer: the header first
/// ([`MessageBuilder::new`]), then questions, then answers; the counts are
/// kept in the header as they are added. Every method checks room and
/// input and leaves the buffer's message valid.
#[derive(Debug)]
pub struct MessageBuilder<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> MessageBuilder<'b> {
    /// A message with `id` and `flags` and no questions or records yet.
    pub fn new(buf: &'b mut [u8], id: u16, flags: u16) -> Result<MessageBuilder<'b>, DnsWireError> {
        if buf.len() < HEADER_LEN {
            return Err(DnsWireError::BufferTooSmall);
        }
        buf[..HEADER_LEN].fill(0);
        buf[0..2].copy_from_slice(&id.to_be_bytes());
        buf[2..4].copy_from_slice(&flags.to_be_bytes());
        Ok(MessageBuilder {
            buf,
            len: HEADER_LEN,
        })
    }

    fn count(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.buf[at], self.buf[at + 1]])
    }

    fn bump(&mut self, at: usize) {
        let n = self.count(at).wrapping_add(1);
        self.buf[at..at + 2].copy_from_slice(&n.to_be_bytes());
    }

    /// Room for `n` more bytes (within the buffer and [`MAX_MESSAGE`]).
    fn room(&self, n: usize) -> Result<(), DnsWireError> {
        if self.len + n > self.buf.len().min(MAX_MESSAGE) {
            Err(DnsWireError::BufferTooSmall)
        } else {
            Ok(())
        }
    }

    /// Writes `name` at the end, uncompressed; the caller checked it and the room.
    fn put_name(&mut self, name: &str) {
        let name = name.strip_suffix('.').unwrap_or(name);
        for label in name.split('.') {
            self.buf[self.len] = label.len() as u8;
            self.buf[self.len + 1..self.len + 1 + label.len()].copy_from_slice(label.as_bytes());
            self.len += 1 + label.len();
        }
        self.buf[self.len] = 0;
        self.len += 1;
    }

    fn name_len(name: &str) -> usize {
        let name = name.strip_suffix('.').unwrap_or(name);
        name.len() + 2
    }

    /// Adds a question for `name` of type `rtype`, class IN, with the QU
    /// bit when `unicast_response`. Questions come before any answer.
    pub fn question(
        &mut self,
        name: &str,
        rtype: RecordType,
        unicast_response: bool,
    ) -> Result<&mut Self, DnsWireError> {
        if self.count(6) != 0 {
            return Err(DnsWireError::Order);
        }
        check_name(name)?;
        self.room(Self::name_len(name) + 4)?;
        self.put_name(name);
        let class = CLASS_IN | if unicast_response { CLASS_TOP_BIT } else { 0 };
        self.buf[self.len..self.len + 2].copy_from_slice(&u16::from(rtype).to_be_bytes());
        self.buf[self.len + 2..self.len + 4].copy_from_slice(&class.to_be_bytes());
        self.len += 4;
        self.bump(4);
        Ok(self)
    }

    /// Adds an answer: an A record for an IPv4 `addr`, AAAA for IPv6,
    /// class IN with the cache-flush bit when `cache_flush`.
    pub fn answer(
        &mut self,
        name: &str,
        addr: IpAddr,
        ttl: u32,
        cache_flush: bool,
    ) -> Result<&mut Self, DnsWireError> {
        check_name(name)?;
        let mut octets = [0u8; 16];
        let (rtype, data_len) = match addr {
            IpAddr::V4(v4) => {
                octets[..4].copy_from_slice(&v4.octets());
                (RecordType::A, 4)
            }
            IpAddr::V6(v6) => {
                octets = v6.octets();
                (RecordType::Aaaa, 16)
            }
        };
        let data = &octets[..data_len];
        self.room(Self::name_len(name) + 10 + data.len())?;
        self.put_name(name);
        let class = CLASS_IN | if cache_flush { CLASS_TOP_BIT } else { 0 };
        let at = self.len;
        self.buf[at..at + 2].copy_from_slice(&u16::from(rtype).to_be_bytes());
        self.buf[at + 2..at + 4].copy_from_slice(&class.to_be_bytes());
        self.buf[at + 4..at + 8].copy_from_slice(&ttl.to_be_bytes());
        self.buf[at + 8..at + 10].copy_from_slice(&(data.len() as u16).to_be_bytes());
        self.buf[at + 10..at + 10 + data.len()].copy_from_slice(data);
        self.len = at + 10 + data.len();
        self.bump(6);
        Ok(self)
    }

    /// The message's length so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing but the header was written.
    pub fn is_empty(&self) -> bool {
        self.len == HEADER_LEN
    }

    /// Ends the message: its length in the buffer.
    pub fn finish(self) -> usize {
        self.len
    }
}
