//! RTCP on the wire (RFC 3550 §6, RFC 4585, RFC 5104, RFC 5506): compound
//! packets read as an iterator of typed views, and builders that write each
//! packet type (or a whole compound packet) into a caller's buffer.
//!
//! [`Compound::parse`] validates the framing once: every packet has version 2,
//! a length that fits, and (P bit set) a padding count between 1 and its body
//! length. Iterating then decodes each packet lazily; a malformed body comes
//! back as an `Err` item and the packets after it are still read, as libwebrtc
//! does. A compound packet that does not start with SR or RR is accepted as
//! reduced-size (RFC 5506); [`Compound::is_reduced_size`] says so, and
//! enforcing `a=rtcp-rsize` is the session's business.
//!
//! Padding: RFC 3550 §6.4.1 puts it on the last packet only, but libwebrtc pads
//! each transport-wide CC feedback with the P bit wherever it lands in a
//! compound packet, so each packet's padding is honoured where it is.
//!
//! ```
//! use media_channels::rtcp::{Compound, CompoundWriter, Pli, ReceiverReportBuilder, RtcpPacket};
//!
//! let mut buf = [0u8; 64];
//! let mut writer = CompoundWriter::new(&mut buf);
//! writer.push(&ReceiverReportBuilder { ssrc: 1, ..Default::default() })?;
//! writer.push(&Pli { sender_ssrc: 1, media_ssrc: 0xBEEF })?;
//! let len = writer.finish();
//!
//! let compound = Compound::parse(&buf[..len])?;
//! assert!(!compound.is_reduced_size());
//! let mut pli_for = None;
//! for packet in compound.packets() {
//!     match packet? {
//!         RtcpPacket::ReceiverReport(rr) => assert_eq!(rr.ssrc(), 1),
//!         RtcpPacket::Pli(pli) => pli_for = Some(pli.media_ssrc),
//!         other => panic!("unexpected {other:?}"),
//!     }
//! }
//! assert_eq!(pli_for, Some(0xBEEF));
//! # Ok::<(), media_channels::Error>(())
//! ```

use bytes::BytesMut;

use crate::error::{check_room, Error};

mod app;
mod bye;
mod feedback;
mod report;
mod sdes;
mod twcc;

pub use app::{App, AppBuilder};
pub use bye::{Bye, ByeBuilder};
pub use feedback::{
    Fir, FirBuilder, FirEntries, FirEntry, Nack, NackBuilder, NackLost, NackPair, NackPairs, Pli,
    Remb, RembBuilder,
};
pub use report::{
    ReceiverReport, ReceiverReportBuilder, ReportBlock, ReportBlocks, SenderReport,
    SenderReportBuilder, REPORT_BLOCK_LEN,
};
pub use sdes::{
    Sdes, SdesBuilder, SdesChunk, SdesChunkBuilder, SdesChunks, SdesItem, SdesItems, SdesType,
};
pub use twcc::{TransportCc, TransportCcBuilder, TwccPackets, TwccRecord};

/// The RTCP version this crate speaks.
pub const VERSION: u8 = 2;
/// Length of the common RTCP header.
pub const HEADER_LEN: usize = 4;
/// Longest RTCP packet: the length field counts 32-bit words, minus one, in 16 bits.
pub const MAX_PACKET_LEN: usize = 4 * (u16::MAX as usize + 1);
/// Most report blocks, SDES chunks or BYE sources one packet can count (5 bits).
pub const MAX_COUNT: usize = 31;

/// RTCP packet types (RFC 3550 §12.1, RFC 4585 §6.1, RFC 3611).
pub mod packet_type {
    /// Sender report.
    pub const SR: u8 = 200;
    /// Receiver report.
    pub const RR: u8 = 201;
    /// Source description.
    pub const SDES: u8 = 202;
    /// Goodbye.
    pub const BYE: u8 = 203;
    /// Application-defined.
    pub const APP: u8 = 204;
    /// Transport-layer feedback (RFC 4585).
    pub const RTPFB: u8 = 205;
    /// Payload-specific feedback (RFC 4585).
    pub const PSFB: u8 = 206;
    /// Extended reports (RFC 3611), read as unknown.
    pub const XR: u8 = 207;
}

/// Feedback message types: the FMT field of RTPFB and PSFB packets.
pub mod fmt {
    /// RTPFB 1: generic NACK (RFC 4585 §6.2.1).
    pub const NACK: u8 = 1;
    /// RTPFB 15: transport-wide congestion control feedback.
    pub const TRANSPORT_CC: u8 = 15;
    /// PSFB 1: picture loss indication (RFC 4585 §6.3.1).
    pub const PLI: u8 = 1;
    /// PSFB 4: full intra request (RFC 5104 §4.3.1).
    pub const FIR: u8 = 4;
    /// PSFB 15: application layer feedback; REMB when it starts with "REMB".
    pub const AFB: u8 = 15;
}

/// The common header of one RTCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The P bit.
    pub padding: bool,
    /// The five-bit count field: report count, source count, FMT or APP subtype.
    pub count: u8,
    /// The packet type.
    pub packet_type: u8,
    /// The length field: the packet's length in 32-bit words, minus one.
    pub length: u16,
}

impl Header {
    /// Length of the packet in bytes, header and padding included.
    pub fn packet_len(&self) -> usize {
        4 * (usize::from(self.length) + 1)
    }
}

/// One RTCP packet of a validated compound packet, undecoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPacket<'a> {
    /// The common header.
    pub header: Header,
    /// The bytes after the header, padding excluded.
    pub body: &'a [u8],
    /// The whole packet: header, body and padding.
    pub bytes: &'a [u8],
}

/// Validates the framing of the packet at the start of `data`.
fn read_packet(data: &[u8]) -> Result<RawPacket<'_>, Error> {
    if data.len() < HEADER_LEN {
        return Err(Error::RtcpTooShort(data.len()));
    }
    let version = data[0] >> 6;
    if version != VERSION {
        return Err(Error::BadVersion(version));
    }
    let header = Header {
        padding: data[0] & 0x20 != 0,
        count: data[0] & 0x1F,
        packet_type: data[1],
        length: u16::from_be_bytes([data[2], data[3]]),
    };
    let len = header.packet_len();
    let bytes = data.get(..len).ok_or(Error::RtcpLengthMismatch {
        declared: len,
        available: data.len(),
    })?;
    let mut body = &bytes[HEADER_LEN..];
    if header.padding {
        let padding = body.last().copied().unwrap_or(0);
        if padding == 0 || usize::from(padding) > body.len() {
            return Err(Error::BadPadding {
                padding,
                available: body.len(),
            });
        }
        body = &body[..body.len() - usize::from(padding)];
    }
    Ok(RawPacket {
        header,
        body,
        bytes,
    })
}

/// A validated compound (or reduced-size) RTCP packet; iterate it for its
/// packets.
///
/// ```
/// use media_channels::rtcp::{Compound, RtcpPacket};
///
/// // An RR from SSRC 1 with no blocks, then a NACK from 1 about SSRC 2:
/// // sequence 100 and, by the BLP, 102.
/// let bytes = [
///     0x80, 201, 0, 1, 0, 0, 0, 1,
///     0x81, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 100, 0b0000_0000, 0b0000_0010,
/// ];
/// let compound = Compound::parse(&bytes)?;
/// let mut lost = Vec::new();
/// for packet in compound {
///     if let RtcpPacket::Nack(nack) = packet? {
///         assert_eq!(nack.media_ssrc(), 2);
///         lost.extend(nack.lost());
///     }
/// }
/// assert_eq!(lost, [100, 102]);
/// # Ok::<(), media_channels::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Compound<'a> {
    buf: &'a [u8],
}

impl<'a> Compound<'a> {
    /// Validates the framing of every packet in `data` (see the module docs);
    /// bodies are decoded while iterating.
    pub fn parse(data: &'a [u8]) -> Result<Compound<'a>, Error> {
        if data.is_empty() {
            return Err(Error::RtcpTooShort(0));
        }
        let mut rest = data;
        while !rest.is_empty() {
            let packet = read_packet(rest)?;
            rest = &rest[packet.bytes.len()..];
        }
        Ok(Compound { buf: data })
    }

    /// The compound packet's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Length in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when the first packet is neither SR nor RR: a reduced-size RTCP
    /// packet (RFC 5506), which the peer may send only after `a=rtcp-rsize`.
    pub fn is_reduced_size(&self) -> bool {
        !matches!(
            self.raw_packets().next().map(|p| p.header.packet_type),
            Some(packet_type::SR | packet_type::RR)
        )
    }

    /// The packets, undecoded.
    pub fn raw_packets(&self) -> RawPackets<'a> {
        RawPackets { rest: self.buf }
    }

    /// The packets, each decoded into its typed view (unknown types as
    /// [`RtcpPacket::Unknown`]); a malformed body is an `Err` item and the
    /// iteration goes on with the next packet.
    pub fn packets(&self) -> Packets<'a> {
        Packets {
            raw: self.raw_packets(),
        }
    }
}

impl<'a> IntoIterator for Compound<'a> {
    type Item = Result<RtcpPacket<'a>, Error>;
    type IntoIter = Packets<'a>;

    fn into_iter(self) -> Packets<'a> {
        self.packets()
    }
}

impl std::fmt::Debug for Compound<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.packets()).finish()
    }
}

/// Iterator over the undecoded packets of a [`Compound`].
#[derive(Debug, Clone)]
pub struct RawPackets<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for RawPackets<'a> {
    type Item = RawPacket<'a>;

    fn next(&mut self) -> Option<RawPacket<'a>> {
        // Validated by `Compound::parse`; an error only ends the walk.
        let packet = read_packet(self.rest).ok()?;
        self.rest = &self.rest[packet.bytes.len()..];
        Some(packet)
    }
}

impl std::iter::FusedIterator for RawPackets<'_> {}

/// Iterator over the decoded packets of a [`Compound`].
#[derive(Debug, Clone)]
pub struct Packets<'a> {
    raw: RawPackets<'a>,
}

impl<'a> Iterator for Packets<'a> {
    type Item = Result<RtcpPacket<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.raw.next().map(RtcpPacket::from_raw)
    }
}

impl std::iter::FusedIterator for Packets<'_> {}

/// One decoded RTCP packet.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum RtcpPacket<'a> {
    /// SR (RFC 3550 §6.4.1).
    SenderReport(SenderReport<'a>),
    /// RR (RFC 3550 §6.4.2).
    ReceiverReport(ReceiverReport<'a>),
    /// SDES (RFC 3550 §6.5).
    Sdes(Sdes<'a>),
    /// BYE (RFC 3550 §6.6).
    Bye(Bye<'a>),
    /// APP (RFC 3550 §6.7).
    App(App<'a>),
    /// Generic NACK (RFC 4585 §6.2.1).
    Nack(Nack<'a>),
    /// Picture loss indication (RFC 4585 §6.3.1).
    Pli(Pli),
    /// Full intra request (RFC 5104 §4.3.1).
    Fir(Fir<'a>),
    /// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb).
    Remb(Remb<'a>),
    /// Transport-wide congestion control feedback.
    TransportCc(TransportCc<'a>),
    /// A packet type or feedback format this crate does not decode (XR,
    /// TMMBR, SLI, other application-layer feedback, …).
    Unknown {
        /// The packet type.
        packet_type: u8,
        /// The count/FMT field.
        fmt: u8,
        /// The body after the common header, padding excluded.
        body: &'a [u8],
    },
}

impl<'a> RtcpPacket<'a> {
    /// Decodes `data` as exactly one RTCP packet.
    pub fn parse(data: &'a [u8]) -> Result<RtcpPacket<'a>, Error> {
        let raw = read_packet(data)?;
        if raw.bytes.len() != data.len() {
            return Err(Error::RtcpLengthMismatch {
                declared: raw.bytes.len(),
                available: data.len(),
            });
        }
        RtcpPacket::from_raw(raw)
    }

    /// Decodes a framed packet into its typed view.
    pub fn from_raw(raw: RawPacket<'a>) -> Result<RtcpPacket<'a>, Error> {
        let h = raw.header;
        let body = raw.body;
        Ok(match (h.packet_type, h.count) {
            (packet_type::SR, _) => RtcpPacket::SenderReport(SenderReport::parse(&h, body)?),
            (packet_type::RR, _) => RtcpPacket::ReceiverReport(ReceiverReport::parse(&h, body)?),
            (packet_type::SDES, _) => RtcpPacket::Sdes(Sdes::parse(&h, body)?),
            (packet_type::BYE, _) => RtcpPacket::Bye(Bye::parse(&h, body)?),
            (packet_type::APP, _) => RtcpPacket::App(App::parse(&h, body)?),
            (packet_type::RTPFB, fmt::NACK) => RtcpPacket::Nack(Nack::parse(&h, body)?),
            (packet_type::RTPFB, fmt::TRANSPORT_CC) => {
                RtcpPacket::TransportCc(TransportCc::parse(&h, body)?)
            }
            (packet_type::PSFB, fmt::PLI) => RtcpPacket::Pli(Pli::parse(&h, body)?),
            (packet_type::PSFB, fmt::FIR) => RtcpPacket::Fir(Fir::parse(&h, body)?),
            (packet_type::PSFB, fmt::AFB) if Remb::is_remb(body) => {
                RtcpPacket::Remb(Remb::parse(&h, body)?)
            }
            (packet_type, fmt) => RtcpPacket::Unknown {
                packet_type,
                fmt,
                body,
            },
        })
    }

    /// The packet type field.
    pub fn packet_type(&self) -> u8 {
        match self {
            RtcpPacket::SenderReport(_) => packet_type::SR,
            RtcpPacket::ReceiverReport(_) => packet_type::RR,
            RtcpPacket::Sdes(_) => packet_type::SDES,
            RtcpPacket::Bye(_) => packet_type::BYE,
            RtcpPacket::App(_) => packet_type::APP,
            RtcpPacket::Nack(_) | RtcpPacket::TransportCc(_) => packet_type::RTPFB,
            RtcpPacket::Pli(_) | RtcpPacket::Fir(_) | RtcpPacket::Remb(_) => packet_type::PSFB,
            RtcpPacket::Unknown { packet_type, .. } => *packet_type,
        }
    }
}

/// An RTCP packet that can be written: the builders and [`Pli`].
pub trait RtcpWrite {
    /// Bytes [`RtcpWrite::write`] writes (header and padding included).
    fn encoded_len(&self) -> usize;

    /// Writes the packet at the start of `buf`; returns its length.
    /// `Err(InvalidInput)` for contents the format cannot carry,
    /// `Err(BufferTooSmall)` when `buf` is shorter than [`RtcpWrite::encoded_len`].
    fn write(&self, buf: &mut [u8]) -> Result<usize, Error>;

    /// Appends the packet to `out`, growing it as needed; returns its length.
    fn append_to(&self, out: &mut BytesMut) -> Result<usize, Error> {
        let start = out.len();
        out.resize(start + self.encoded_len(), 0);
        match self.write(&mut out[start..]) {
            Ok(n) => {
                out.truncate(start + n);
                Ok(n)
            }
            Err(e) => {
                out.truncate(start);
                Err(e)
            }
        }
    }
}

/// Writes a compound RTCP packet: each [`CompoundWriter::push`] appends one
/// packet to the caller's buffer. Put SR or RR first (RFC 3550 §6.1) unless
/// reduced-size RTCP was negotiated.
#[derive(Debug)]
pub struct CompoundWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> CompoundWriter<'b> {
    /// A writer filling `buf` from its start.
    pub fn new(buf: &'b mut [u8]) -> CompoundWriter<'b> {
        CompoundWriter { buf, len: 0 }
    }

    /// Appends `packet`. On error nothing is appended.
    pub fn push<P: RtcpWrite + ?Sized>(&mut self, packet: &P) -> Result<&mut Self, Error> {
        let n = packet.write(&mut self.buf[self.len..])?;
        self.len += n;
        Ok(self)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first packet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes still free in the buffer.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.len
    }

    /// The compound packet is `buf[..len]`; returns `len`.
    pub fn finish(self) -> usize {
        self.len
    }
}

/// Checks the room and length limit for a packet of `total` bytes and writes
/// its common header. `total` is a multiple of 4, at least 4.
pub(crate) fn begin_packet(
    buf: &mut [u8],
    total: usize,
    padding: bool,
    count: u8,
    packet_type: u8,
) -> Result<(), Error> {
    if total > MAX_PACKET_LEN {
        return Err(Error::InvalidInput("RTCP packet longer than 262 144 bytes"));
    }
    check_room(buf, total)?;
    debug_assert!(total % 4 == 0 && total >= HEADER_LEN);
    buf[0] = (VERSION << 6) | (u8::from(padding) << 5) | (count & 0x1F);
    buf[1] = packet_type;
    buf[2..4].copy_from_slice(&((total / 4 - 1) as u16).to_be_bytes());
    Ok(())
}

/// `Err(InvalidInput)` when more than 31 items must go in the count field.
pub(crate) fn check_count(n: usize, what: &'static str) -> Result<u8, Error> {
    if n > MAX_COUNT {
        Err(Error::InvalidInput(what))
    } else {
        Ok(n as u8)
    }
}

/// The error for a body too short for what it declares.
pub(crate) fn truncated(header: &Header) -> Error {
    Error::RtcpTruncated {
        packet_type: header.packet_type,
        fmt: header.count,
    }
}

/// A big-endian u32 at `at`; 0 past the end (views validate first, so never).
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |v| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
}

/// A big-endian u16 at `at`; 0 past the end.
pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |v| u16::from_be_bytes([v[0], v[1]]))
}

/// Iterator over a list of 32-bit SSRCs (BYE sources, REMB feedback SSRCs).
#[derive(Debug, Clone)]
pub struct Ssrcs<'a> {
    chunks: std::slice::ChunksExact<'a, u8>,
}

impl<'a> Ssrcs<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Ssrcs<'a> {
        Ssrcs {
            chunks: bytes.chunks_exact(4),
        }
    }
}

impl Iterator for Ssrcs<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        self.chunks
            .next()
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for Ssrcs<'_> {}
impl std::iter::FusedIterator for Ssrcs<'_> {}

/// Writes `ssrcs` big-endian from `buf[at..]`.
pub(crate) fn write_ssrcs(buf: &mut [u8], at: usize, ssrcs: &[u32]) {
    for (i, ssrc) in ssrcs.iter().enumerate() {
        buf[at + 4 * i..at + 4 * i + 4].copy_from_slice(&ssrc.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RR: [u8; 8] = [0x80, 201, 0x00, 0x01, 0, 0, 0, 1];
    const PLI: [u8; 12] = [0x81, 206, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2];

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn framing_errors() {
        assert_eq!(Compound::parse(&[]).unwrap_err(), Error::RtcpTooShort(0));
        // Trailing bytes shorter than a header.
        assert_eq!(
            Compound::parse(&cat(&[&RR, &[0x80, 201]])).unwrap_err(),
            Error::RtcpTooShort(2)
        );
        // A second packet with version 1.
        let mut bad = cat(&[&RR, &PLI]);
        bad[8] = 0x41;
        assert_eq!(Compound::parse(&bad).unwrap_err(), Error::BadVersion(1));
        // A length running past the end.
        let mut long = RR;
        long[3] = 2;
        assert_eq!(
            Compound::parse(&long).unwrap_err(),
            Error::RtcpLengthMismatch {
                declared: 12,
                available: 8
            }
        );
        // Padding bit with a zero count, and with a count beyond the body.
        let mut pad = RR;
        pad[0] |= 0x20;
        pad[7] = 0;
        assert_eq!(
            Compound::parse(&pad).unwrap_err(),
            Error::BadPadding {
                padding: 0,
                available: 4
            }
        );
        pad[7] = 5;
        assert_eq!(
            Compound::parse(&pad).unwrap_err(),
            Error::BadPadding {
                padding: 5,
                available: 4
            }
        );
        // A header-only packet with the P bit has no byte for the count.
        assert_eq!(
            Compound::parse(&[0xA0, 203, 0, 0]).unwrap_err(),
            Error::BadPadding {
                padding: 0,
                available: 0
            }
        );
        // RtcpPacket::parse wants exactly one packet.
        assert_eq!(
            RtcpPacket::parse(&cat(&[&RR, &PLI])).unwrap_err(),
            Error::RtcpLengthMismatch {
                declared: 8,
                available: 20
            }
        );
    }

    #[test]
    fn full_and_reduced_size() {
        let full = cat(&[&RR, &PLI]);
        let c = Compound::parse(&full).unwrap();
        assert!(!c.is_reduced_size());
        assert_eq!(c.raw_packets().count(), 2);
        // RFC 5506: a lone feedback message.
        let c = Compound::parse(&PLI).unwrap();
        assert!(c.is_reduced_size());
        assert!(matches!(
            c.packets().next(),
            Some(Ok(RtcpPacket::Pli(Pli {
                sender_ssrc: 1,
                media_ssrc: 2
            })))
        ));
        assert_eq!(c.len(), 12);
    }

    #[test]
    fn a_bad_body_does_not_hide_the_rest() {
        // An SR claiming a report block it lacks, then a PLI.
        let sr = [
            0x81, 200, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0,
        ];
        let bytes = cat(&[&sr, &PLI]);
        let c = Compound::parse(&bytes).unwrap();
        let items: Vec<_> = c.packets().collect();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0].unwrap_err(),
            Error::RtcpTruncated {
                packet_type: 200,
                fmt: 1
            }
        );
        assert!(matches!(items[1], Ok(RtcpPacket::Pli(_))));
    }

    #[test]
    fn unknown_types_and_padding_in_the_middle() {
        // XR (207) and RTPFB TMMBR (FMT 3) come back as Unknown.
        let xr = [0x80, 207, 0x00, 0x02, 0, 0, 0, 9, 1, 2, 3, 4];
        let tmmbr = [0x83, 205, 0x00, 0x02, 0, 0, 0, 9, 0, 0, 0, 0];
        // An APP packet padded with the P bit, followed by another packet:
        // accepted (libwebrtc pads transport-cc feedback like this).
        let app = [
            0xA0, 204, 0x00, 0x03, 0, 0, 0, 1, b'n', b'a', b'm', b'e', 0, 0, 0, 4,
        ];
        let bytes = cat(&[&RR, &xr, &app, &tmmbr]);
        let c = Compound::parse(&bytes).unwrap();
        let packets: Vec<_> = c.into_iter().map(Result::unwrap).collect();
        assert_eq!(packets.len(), 4);
        assert!(matches!(
            packets[1],
            RtcpPacket::Unknown {
                packet_type: 207,
                fmt: 0,
                body: [0, 0, 0, 9, 1, 2, 3, 4]
            }
        ));
        let RtcpPacket::App(a) = packets[2] else {
            panic!("not APP");
        };
        assert!(a.data().is_empty());
        assert_eq!(packets[3].packet_type(), 205);
        assert!(matches!(packets[3], RtcpPacket::Unknown { fmt: 3, .. }));
        let raw: Vec<_> = c.raw_packets().map(|p| p.header).collect();
        assert_eq!(
            raw[2],
            Header {
                padding: true,
                count: 0,
                packet_type: 204,
                length: 3
            }
        );
        assert!(format!("{c:?}").contains("App"));
    }

    #[test]
    fn compound_writer() {
        let mut buf = [0u8; 24];
        let mut w = CompoundWriter::new(&mut buf);
        assert!(w.is_empty());
        w.push(&ReceiverReportBuilder {
            ssrc: 1,
            ..Default::default()
        })
        .unwrap();
        w.push(&Pli {
            sender_ssrc: 1,
            media_ssrc: 2,
        })
        .unwrap();
        assert_eq!(w.remaining(), 4);
        // Too big for what is left: an error, and nothing appended.
        assert_eq!(
            w.push(&Pli::default()).unwrap_err(),
            Error::BufferTooSmall {
                needed: 12,
                available: 4
            }
        );
        assert_eq!(w.len(), 20);
        let n = w.finish();
        assert_eq!(buf[..n], cat(&[&RR, &PLI]));
    }

    #[test]
    fn append_to_bytes_mut() {
        let mut out = BytesMut::new();
        Pli::default().append_to(&mut out).unwrap();
        assert_eq!(out.len(), 12);
        // A failed write leaves `out` as it was.
        let blocks = [ReportBlock::default(); 32];
        let rr = ReceiverReportBuilder {
            ssrc: 1,
            report_blocks: &blocks,
            extension: &[],
        };
        assert!(rr.append_to(&mut out).is_err());
        assert_eq!(out.len(), 12);
    }
}
