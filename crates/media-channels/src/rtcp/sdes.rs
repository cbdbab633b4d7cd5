//! Source description (RFC 3550 §6.5): chunks of items per SSRC, CNAME first among them.

use std::fmt;

use super::{begin_packet, check_count, packet_type, truncated, u32_at, Header, RtcpWrite};
use crate::error::Error;

/// An SDES item type (RFC 3550 §6.5).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SdesType(pub u8);

impl SdesType {
    /// END: terminates a chunk's item list (never an item).
    pub const END: SdesType = SdesType(0);
    /// CNAME: the canonical end-point identifier.
    pub const CNAME: SdesType = SdesType(1);
    /// NAME: user name.
    pub const NAME: SdesType = SdesType(2);
    /// EMAIL: e-mail address.
    pub const EMAIL: SdesType = SdesType(3);
    /// PHONE: phone number.
    pub const PHONE: SdesType = SdesType(4);
    /// LOC: geographic location.
    pub const LOC: SdesType = SdesType(5);
    /// TOOL: application or tool name.
    pub const TOOL: SdesType = SdesType(6);
    /// NOTE: notice or status.
    pub const NOTE: SdesType = SdesType(7);
    /// PRIV: private extension.
    pub const PRIV: SdesType = SdesType(8);

    /// The item's name where it is known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            SdesType::END => "END",
            SdesType::CNAME => "CNAME",
            SdesType::NAME => "NAME",
            SdesType::EMAIL => "EMAIL",
            SdesType::PHONE => "PHONE",
            SdesType::LOC => "LOC",
            SdesType::TOOL => "TOOL",
            SdesType::NOTE => "NOTE",
            SdesType::PRIV => "PRIV",
            _ => return None,
        })
    }
}

impl fmt::Debug for SdesType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "SdesType({})", self.0),
        }
    }
}

/// One SDES item: its type and value (at most 255 bytes, UTF-8 by RFC 3550
/// but not checked on reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SdesItem<'a> {
    /// The item type.
    pub kind: SdesType,
    /// The value bytes.
    pub value: &'a [u8],
}

impl<'a> SdesItem<'a> {
    /// An item of `kind` with `value`.
    pub const fn new(kind: SdesType, value: &'a [u8]) -> SdesItem<'a> {
        SdesItem { kind, value }
    }

    /// A CNAME item.
    pub const fn cname(value: &'a str) -> SdesItem<'a> {
        SdesItem::new(SdesType::CNAME, value.as_bytes())
    }

    /// The value as text, when it is UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.value).ok()
    }
}

/// Where a chunk starting at `pos` ends: `(items_end, next_chunk)`, where
/// `items_end` is the offset of its END octet. `None` when it runs past `body`.
fn chunk_bounds(body: &[u8], pos: usize) -> Option<(usize, usize)> {
    let mut p = pos.checked_add(4).filter(|&p| p <= body.len())?;
    loop {
        match *body.get(p)? {
            0 => {
                // The END octet, then null octets to the next 32-bit boundary
                // (the body starts 32-bit aligned). A body cut short by RTCP
                // padding may end before that boundary.
                let next = ((p + 1).div_ceil(4) * 4).min(body.len());
                return Some((p, next));
            }
            _ => {
                let len = usize::from(*body.get(p + 1)?);
                p += 2 + len;
                if p > body.len() {
                    return None;
                }
            }
        }
    }
}

/// A source description packet.
#[derive(Clone, Copy)]
pub struct Sdes<'a> {
    body: &'a [u8],
    count: u8,
}

impl<'a> Sdes<'a> {
    pub(crate) fn parse(header: &Header, body: &'a [u8]) -> Result<Sdes<'a>, Error> {
        let mut pos = 0;
        for _ in 0..header.count {
            let (_, next) = chunk_bounds(body, pos).ok_or_else(|| truncated(header))?;
            pos = next;
        }
        Ok(Sdes {
            body,
            count: header.count,
        })
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> u8 {
        self.count
    }

    /// The chunks, one per source.
    pub fn chunks(&self) -> SdesChunks<'a> {
        SdesChunks {
            body: self.body,
            pos: 0,
            left: self.count,
        }
    }

    /// The CNAME of `ssrc`, if this packet describes it.
    pub fn cname(&self, ssrc: u32) -> Option<&'a [u8]> {
        self.chunks()
            .find(|c| c.ssrc == ssrc)
            .and_then(|c| c.cname())
    }
}

impl fmt::Debug for Sdes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sdes")
            .field("chunks", &self.chunks().collect::<Vec<_>>())
            .finish()
    }
}

/// Iterator over the chunks of an [`Sdes`].
#[derive(Debug, Clone)]
pub struct SdesChunks<'a> {
    body: &'a [u8],
    pos: usize,
    left: u8,
}

impl<'a> Iterator for SdesChunks<'a> {
    type Item = SdesChunk<'a>;

    fn next(&mut self) -> Option<SdesChunk<'a>> {
        if self.left == 0 {
            return None;
        }
        let Some((items_end, next)) = chunk_bounds(self.body, self.pos) else {
            self.left = 0;
            return None;
        };
        let chunk = SdesChunk {
            ssrc: u32_at(self.body, self.pos),
            items: self.body.get(self.pos + 4..items_end).unwrap_or(&[]),
        };
        self.pos = next;
        self.left -= 1;
        Some(chunk)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::from(self.left), Some(usize::from(self.left)))
    }
}

impl std::iter::FusedIterator for SdesChunks<'_> {}

/// One SDES chunk: a source and its items.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    /// The source (SSRC or CSRC) described.
    pub ssrc: u32,
    items: &'a [u8],
}

impl<'a> SdesChunk<'a> {
    /// The items, in order.
    pub fn items(&self) -> SdesItems<'a> {
        SdesItems {
            items: self.items,
            pos: 0,
        }
    }

    /// The first CNAME item's value.
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items()
            .find(|i| i.kind == SdesType::CNAME)
            .map(|i| i.value)
    }
}

impl fmt::Debug for SdesChunk<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SdesChunk")
            .field("ssrc", &self.ssrc)
            .field("items", &self.items().collect::<Vec<_>>())
            .finish()
    }
}

/// Iterator over the items of an [`SdesChunk`].
#[derive(Debug, Clone)]
pub struct SdesItems<'a> {
    items: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for SdesItems<'a> {
    type Item = SdesItem<'a>;

    fn next(&mut self) -> Option<SdesItem<'a>> {
        let kind = *self.items.get(self.pos)?;
        let len = usize::from(*self.items.get(self.pos + 1)?);
        let value = self.items.get(self.pos + 2..self.pos + 2 + len)?;
        self.pos += 2 + len;
        Some(SdesItem::new(SdesType(kind), value))
    }
}

impl std::iter::FusedIterator for SdesItems<'_> {}

/// One chunk to write: a source and its items.
#[derive(Debug, Clone, Copy)]
pub struct SdesChunkBuilder<'a> {
    /// The source described.
    pub ssrc: u32,
    /// Its items (type 1–255, values of at most 255 bytes); CNAME first by convention.
    pub items: &'a [SdesItem<'a>],
}

impl SdesChunkBuilder<'_> {
    fn encoded_len(&self) -> usize {
        let items: usize = self.items.iter().map(|i| 2 + i.value.len()).sum();
        // SSRC, items, at least one END octet, padded to 32 bits.
        (4 + items + 1).div_ceil(4) * 4
    }
}

/// Writes a source description packet.
///
/// ```
/// use media_channels::rtcp::{RtcpPacket, RtcpWrite, SdesBuilder, SdesChunkBuilder, SdesItem};
///
/// let items = [SdesItem::cname("peer@example")];
/// let chunks = [SdesChunkBuilder { ssrc: 42, items: &items }];
/// let mut buf = [0u8; 32];
/// let n = SdesBuilder { chunks: &chunks }.write(&mut buf)?;
/// let RtcpPacket::Sdes(sdes) = RtcpPacket::parse(&buf[..n])? else { unreachable!() };
/// assert_eq!(sdes.cname(42), Some(&b"peer@example"[..]));
/// # Ok::<(), media_channels::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SdesBuilder<'a> {
    /// The chunks, at most 31.
    pub chunks: &'a [SdesChunkBuilder<'a>],
}

impl RtcpWrite for SdesBuilder<'_> {
    fn encoded_len(&self) -> usize {
        4 + self
            .chunks
            .iter()
            .map(SdesChunkBuilder::encoded_len)
            .sum::<usize>()
    }

    fn write(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let count = check_count(self.chunks.len(), "more than 31 SDES chunks")?;
        for item in self.chunks.iter().flat_map(|c| c.items) {
            if item.kind == SdesType::END {
                return Err(Error::InvalidInput("SDES item type 0 is END"));
            }
            if item.value.len() > 255 {
                return Err(Error::InvalidInput("SDES item longer than 255 bytes"));
            }
        }
        let total = self.encoded_len();
        begin_packet(buf, total, false, count, packet_type::SDES)?;
        let mut pos = 4;
        for chunk in self.chunks {
            let end = pos + chunk.encoded_len();
            buf[pos..pos + 4].copy_from_slice(&chunk.ssrc.to_be_bytes());
            pos += 4;
            for item in chunk.items {
                buf[pos] = item.kind.0;
                buf[pos + 1] = item.value.len() as u8;
                buf[pos + 2..pos + 2 + item.value.len()].copy_from_slice(item.value);
                pos += 2 + item.value.len();
            }
            // END and the null octets up to the boundary.
            buf[pos..end].fill(0);
            pos = end;
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::RtcpPacket;

    fn parse(bytes: &[u8]) -> Result<Sdes<'_>, Error> {
        match RtcpPacket::parse(bytes)? {
            RtcpPacket::Sdes(s) => Ok(s),
            other => panic!("not SDES: {other:?}"),
        }
    }

    #[test]
    fn pion_two_chunks() {
        // pion/rtcp source_description_test.go "two chunks" (length field
        // corrected from pion's byte count 0x18 to 6 words).
        let bytes = [
            0x82, 0xca, 0x00, 0x05, 0x01, 0x02, 0x03, 0x04, 0x01, 0x01, 0x41, 0x00, 0x05, 0x06,
            0x07, 0x08, 0x01, 0x03, 0x42, 0x43, 0x44, 0x00, 0x00, 0x00,
        ];
        let sdes = parse(&bytes).unwrap();
        let chunks: Vec<_> = sdes.chunks().collect();
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].ssrc, 0x0102_0304);
        assert_eq!(chunks[0].cname(), Some(&b"A"[..]));
        assert_eq!(chunks[1].ssrc, 0x0506_0708);
        assert_eq!(sdes.cname(0x0506_0708), Some(&b"BCD"[..]));

        // We write the same bytes.
        let a = [SdesItem::cname("A")];
        let bcd = [SdesItem::cname("BCD")];
        let chunks = [
            SdesChunkBuilder {
                ssrc: 0x0102_0304,
                items: &a,
            },
            SdesChunkBuilder {
                ssrc: 0x0506_0708,
                items: &bcd,
            },
        ];
        let mut buf = [0u8; 64];
        let n = SdesBuilder { chunks: &chunks }.write(&mut buf).unwrap();
        assert_eq!(buf[..n], bytes);
    }

    #[test]
    fn pion_two_items_and_empty_chunk() {
        // pion "two items": CNAME "A", PHONE "B" (length field corrected to 3).
        let bytes = [
            0x81, 0xca, 0x00, 0x03, 0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x41, 0x04, 0x01, 0x42,
            0x00, 0x00,
        ];
        let sdes = parse(&bytes).unwrap();
        let chunk = sdes.chunks().next().unwrap();
        let items: Vec<_> = chunk.items().collect();
        assert_eq!(
            items,
            [
                SdesItem::new(SdesType::CNAME, b"A"),
                SdesItem::new(SdesType::PHONE, b"B")
            ]
        );
        assert_eq!(items[1].as_str(), Some("B"));
        // pion "zero item chunk": an SSRC and END.
        let bytes = [0x81, 0xca, 0x00, 0x02, 1, 2, 3, 4, 0, 0, 0, 0];
        let chunk = parse(&bytes).unwrap().chunks().next().unwrap();
        assert_eq!(chunk.items().count(), 0);
        assert_eq!(chunk.cname(), None);
    }

    #[test]
    fn malformed_chunks() {
        let err = Error::RtcpTruncated {
            packet_type: 202,
            fmt: 1,
        };
        // pion "missing type": an SSRC and nothing else.
        assert_eq!(
            parse(&[0x81, 0xca, 0x00, 0x01, 0, 0, 0, 0]).unwrap_err(),
            err
        );
        // An item longer than the packet.
        assert_eq!(
            parse(&[0x81, 0xca, 0x00, 0x02, 0, 0, 0, 0, 1, 9, b'a', b'b']).unwrap_err(),
            err
        );
        // pion "no end": CNAME "A" with no END octet.
        assert_eq!(
            parse(&[0x81, 0xca, 0x00, 0x02, 0, 0, 0, 0, 1, 1, b'A', 2]).unwrap_err(),
            Error::RtcpTruncated {
                packet_type: 202,
                fmt: 1
            }
        );
        // More chunks counted than present.
        assert!(parse(&[0x82, 0xca, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn end_octet_on_a_boundary_gets_a_whole_word() {
        // SSRC + CNAME of 2 bytes = 8 bytes: END needs another word.
        let items = [SdesItem::cname("ab")];
        let chunks = [SdesChunkBuilder {
            ssrc: 9,
            items: &items,
        }];
        let b = SdesBuilder { chunks: &chunks };
        assert_eq!(b.encoded_len(), 16);
        let mut buf = [0u8; 16];
        b.write(&mut buf).unwrap();
        assert_eq!(&buf[12..], [0, 0, 0, 0]);
        assert_eq!(parse(&buf).unwrap().cname(9), Some(&b"ab"[..]));
    }

    #[test]
    fn builder_rejects() {
        let mut buf = [0u8; 1024];
        let long = [SdesItem::new(SdesType::NOTE, &[b'x'; 256])];
        let chunks = [SdesChunkBuilder {
            ssrc: 1,
            items: &long,
        }];
        assert!(SdesBuilder { chunks: &chunks }.write(&mut buf).is_err());
        let end = [SdesItem::new(SdesType::END, b"")];
        let chunks = [SdesChunkBuilder {
            ssrc: 1,
            items: &end,
        }];
        assert!(SdesBuilder { chunks: &chunks }.write(&mut buf).is_err());
        let chunks = [SdesChunkBuilder {
            ssrc: 1,
            items: &[],
        }; 32];
        assert!(SdesBuilder { chunks: &chunks }.write(&mut buf).is_err());
    }
}
