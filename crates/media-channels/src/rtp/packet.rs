//! The RTP packet view (RFC 3550 §5.1).

use std::fmt;

use super::header_extension::{self, ExtensionElement, ExtensionForm, HeaderExtensions};
use super::{HEADER_LEN, VERSION};
use crate::error::Error;

/// A validated, borrowed RTP packet.
///
/// [`RtpPacket::parse`] checks the layout once (version 2, the CSRC list, the
/// header extension and each RFC 8285 element in it, the padding) and records
/// where the extension block and the payload are; every accessor afterwards
/// reads the borrowed bytes and cannot panic.
///
/// ```
/// use media_channels::rtp::RtpPacket;
///
/// // Version 2, X bit, PT 100, seq 0x1234, ts 0x65431278, SSRC 0x12345678,
/// // one one-byte extension element (id 1, three bytes), payload "hi".
/// let bytes = [
///     0x90, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78,
///     0xBE, 0xDE, 0x00, 0x01, 0x12, 0x00, 0x56, 0xCE, b'h', b'i',
/// ];
/// let packet = RtpPacket::parse(&bytes)?;
/// assert_eq!(packet.payload_type(), 100);
/// assert_eq!(packet.sequence_number(), 0x1234);
/// assert_eq!(packet.timestamp(), 0x6543_1278);
/// assert_eq!(packet.ssrc(), 0x1234_5678);
/// assert_eq!(packet.extension(1), Some(&[0x00, 0x56, 0xCE][..]));
/// assert_eq!(packet.payload(), b"hi");
/// # Ok::<(), media_channels::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct RtpPacket<'a> {
    buf: &'a [u8],
    /// Offset of the extension block's elements (after profile and length),
    /// and their length; `None` without the X bit.
    extension: Option<(usize, usize)>,
    payload_start: usize,
    payload_end: usize,
}

impl<'a> RtpPacket<'a> {
    /// Validates `data` as one RTP packet.
    ///
    /// Rejects: fewer than 12 bytes, a version other than 2, a CSRC list or
    /// extension block running past the end, an RFC 8285 element running past
    /// its block, and (P bit set) a padding count of zero or one larger than
    /// everything after the header.
    pub fn parse(data: &'a [u8]) -> Result<RtpPacket<'a>, Error> {
        if data.len() < HEADER_LEN {
            return Err(Error::RtpTooShort(data.len()));
        }
        let version = data[0] >> 6;
        if version != VERSION {
            return Err(Error::BadVersion(version));
        }
        let csrc_count = data[0] & 0x0F;
        let mut pos = HEADER_LEN + 4 * usize::from(csrc_count);
        if pos > data.len() {
            return Err(Error::CsrcsTruncated(csrc_count));
        }
        let mut extension = None;
        if data[0] & 0x10 != 0 {
            let header = data.get(pos..pos + 4).ok_or(Error::ExtensionTruncated)?;
            let profile = u16::from_be_bytes([header[0], header[1]]);
            let len = 4 * usize::from(u16::from_be_bytes([header[2], header[3]]));
            let start = pos + 4;
            let block = data
                .get(start..start + len)
                .ok_or(Error::ExtensionTruncated)?;
            if let Some(form) = ExtensionForm::from_profile(profile) {
                header_extension::validate(form, block)?;
            }
            extension = Some((start, len));
            pos = start + len;
        }
        let mut payload_end = data.len();
        if data[0] & 0x20 != 0 {
            let available = data.len() - pos;
            let padding = if available == 0 {
                0
            } else {
                data[data.len() - 1]
            };
            if padding == 0 || usize::from(padding) > available {
                return Err(Error::BadPadding { padding, available });
            }
            payload_end -= usize::from(padding);
        }
        Ok(RtpPacket {
            buf: data,
            extension,
            payload_start: pos,
            payload_end,
        })
    }

    /// The packet bytes, header, payload and padding.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Total length in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// The version field; always 2 for a parsed packet.
    pub fn version(&self) -> u8 {
        self.buf[0] >> 6
    }

    /// The P bit: the packet ends in padding.
    pub fn has_padding(&self) -> bool {
        self.buf[0] & 0x20 != 0
    }

    /// The X bit: a header extension follows the CSRCs.
    pub fn has_extension(&self) -> bool {
        self.extension.is_some()
    }

    /// The marker bit (end of a video frame, start of a talkspurt, …).
    pub fn marker(&self) -> bool {
        self.buf[1] & 0x80 != 0
    }

    /// The 7-bit payload type.
    pub fn payload_type(&self) -> u8 {
        self.buf[1] & 0x7F
    }

    /// The 16-bit sequence number.
    pub fn sequence_number(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }

    /// The 32-bit media timestamp.
    pub fn timestamp(&self) -> u32 {
        u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]])
    }

    /// The synchronisation source.
    pub fn ssrc(&self) -> u32 {
        u32::from_be_bytes([self.buf[8], self.buf[9], self.buf[10], self.buf[11]])
    }

    /// Number of contributing sources (0–15).
    pub fn csrc_count(&self) -> u8 {
        self.buf[0] & 0x0F
    }

    /// The contributing sources, in order.
    pub fn csrcs(&self) -> Csrcs<'a> {
        let end = HEADER_LEN + 4 * usize::from(self.csrc_count());
        Csrcs {
            chunks: self.buf.get(HEADER_LEN..end).unwrap_or(&[]).chunks_exact(4),
        }
    }

    /// Length of the header: fixed part, CSRCs and extension block.
    pub fn header_len(&self) -> usize {
        self.payload_start
    }

    /// The payload, padding excluded.
    pub fn payload(&self) -> &'a [u8] {
        self.buf
            .get(self.payload_start..self.payload_end)
            .unwrap_or(&[])
    }

    /// Number of padding bytes at the end, the count byte included (0 without the P bit).
    pub fn padding_len(&self) -> usize {
        self.buf.len() - self.payload_end
    }

    /// The extension block's profile ("defined by profile" field), when the X bit is set.
    pub fn extension_profile(&self) -> Option<u16> {
        let (start, _) = self.extension?;
        let b = self.buf.get(start - 4..start - 2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    /// The extension block's raw contents (after profile and length), when the X bit is set.
    pub fn extension_data(&self) -> Option<&'a [u8]> {
        let (start, len) = self.extension?;
        self.buf.get(start..start + len)
    }

    /// The RFC 8285 form of the extension block, when there is one in a known profile.
    pub fn extension_form(&self) -> Option<ExtensionForm> {
        self.extension_profile()
            .and_then(ExtensionForm::from_profile)
    }

    /// The RFC 8285 header extension elements, in wire order. Empty without an
    /// extension block or with a profile other than one-byte/two-byte.
    pub fn extensions(&self) -> HeaderExtensions<'a> {
        match (self.extension_form(), self.extension_data()) {
            (Some(form), Some(data)) => HeaderExtensions::new(Some(form), data),
            _ => HeaderExtensions::empty(),
        }
    }

    /// The value of the first element with `id`, if present.
    pub fn extension(&self, id: u8) -> Option<&'a [u8]> {
        self.extensions()
            .find(|e: &ExtensionElement<'a>| e.id == id)
            .map(|e| e.data)
    }
}

impl fmt::Debug for RtpPacket<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RtpPacket");
        d.field("payload_type", &self.payload_type())
            .field("sequence_number", &self.sequence_number())
            .field("timestamp", &self.timestamp())
            .field("ssrc", &format_args!("{:#010x}", self.ssrc()))
            .field("marker", &self.marker());
        if self.csrc_count() > 0 {
            d.field("csrcs", &self.csrcs().collect::<Vec<_>>());
        }
        if let Some(profile) = self.extension_profile() {
            d.field("extension_profile", &format_args!("{profile:#06x}"));
            d.field(
                "extension_ids",
                &self.extensions().map(|e| e.id).collect::<Vec<_>>(),
            );
        }
        d.field("payload_len", &self.payload().len())
            .field("padding_len", &self.padding_len())
            .finish()
    }
}

/// Iterator over a packet's CSRCs.
#[derive(Debug, Clone)]
pub struct Csrcs<'a> {
    chunks: std::slice::ChunksExact<'a, u8>,
}

impl Iterator for Csrcs<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let c = self.chunks.next()?;
        Some(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for Csrcs<'_> {}
impl std::iter::FusedIterator for Csrcs<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from libwebrtc's modules/rtp_rtcp/source/rtp_packet_unittest.cc
    // (kPayloadType 100, kSeqNum 0x1234, kTimestamp 0x65431278, kSsrc 0x12345678).
    const MINIMUM: [u8; 12] = [
        0x80, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78,
    ];

    #[test]
    fn minimum_packet() {
        // libwebrtc kMinimumPacket.
        let p = RtpPacket::parse(&MINIMUM).unwrap();
        assert_eq!(p.version(), 2);
        assert!(!p.marker() && !p.has_padding() && !p.has_extension());
        assert_eq!(p.payload_type(), 100);
        assert_eq!(p.sequence_number(), 0x1234);
        assert_eq!(p.timestamp(), 0x6543_1278);
        assert_eq!(p.ssrc(), 0x1234_5678);
        assert_eq!(p.csrcs().count(), 0);
        assert_eq!(p.header_len(), 12);
        assert!(p.payload().is_empty());
        assert_eq!(p.extensions().count(), 0);
        assert_eq!(p.extension_profile(), None);
    }

    #[test]
    fn csrcs_extension_payload_padding() {
        // libwebrtc kPacket: two CSRCs, transmission offset (id 1), payload
        // "payload", 8 bytes of padding ("padding" + count).
        let bytes = [
            0xb2, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78, 0x34, 0x56,
            0x78, 0x90, 0x32, 0x43, 0x54, 0x65, 0xbe, 0xde, 0x00, 0x01, 0x12, 0x00, 0x56, 0xce,
            b'p', b'a', b'y', b'l', b'o', b'a', b'd', b'p', b'a', b'd', b'd', b'i', b'n', b'g', 8,
        ];
        let p = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(p.csrcs().collect::<Vec<_>>(), [0x3456_7890, 0x3243_5465]);
        assert_eq!(p.extension_profile(), Some(0xBEDE));
        assert_eq!(p.extension_form(), Some(ExtensionForm::OneByte));
        assert_eq!(p.extension(1), Some(&[0x00, 0x56, 0xce][..]));
        assert_eq!(p.payload(), b"payload");
        assert_eq!(p.padding_len(), 8);
        assert_eq!(p.header_len(), 28);
    }

    #[test]
    fn one_byte_extensions_with_stops() {
        // libwebrtc kPacketWithTOAndAL: TO (id 1) and audio level (id 9).
        let bytes = [
            0x90,
            100,
            0x12,
            0x34,
            0x65,
            0x43,
            0x12,
            0x78,
            0x12,
            0x34,
            0x56,
            0x78,
            0xbe,
            0xde,
            0x00,
            0x02,
            0x12,
            0x00,
            0x56,
            0xce,
            0x90,
            0x80 | 0x5a,
            0x00,
            0x00,
        ];
        let p = RtpPacket::parse(&bytes).unwrap();
        let ids: Vec<u8> = p.extensions().map(|e| e.id).collect();
        assert_eq!(ids, [1, 9]);
        assert_eq!(p.extension(9), Some(&[0xda][..]));

        // kPacketWithTOAndALInvalidPadding: 0x02 (id 0, length 3) stops parsing,
        // so the audio level after it is not seen.
        let bytes = [
            0x90, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78, 0xbe, 0xde,
            0x00, 0x03, 0x12, 0x00, 0x56, 0xce, 0x00, 0x02, 0x00, 0x00, 0x90, 0xda, 0x00, 0x00,
        ];
        let p = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(p.extensions().map(|e| e.id).collect::<Vec<_>>(), [1]);
        assert_eq!(p.extension(9), None);

        // kPacketWithTOAndALReservedExtensionId: id 15 stops parsing.
        let bytes = [
            0x90, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78, 0xbe, 0xde,
            0x00, 0x03, 0x12, 0x00, 0x56, 0xce, 0x00, 0xF0, 0x00, 0x00, 0x90, 0xda, 0x00, 0x00,
        ];
        let p = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(p.extensions().map(|e| e.id).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn two_byte_extensions() {
        // libwebrtc kPacketWithTwoByteExtensionIdLast: TO (1), audio level (9)
        // and playout delay (id 0xf0, which needs the two-byte form).
        let bytes = [
            0x90, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78, 0x10, 0x00,
            0x00, 0x04, 0x01, 0x03, 0x00, 0x56, 0xce, 0x09, 0x01, 0xda, 0xf0, 0x03, 0x00, 0x30,
            0x22, 0x00, 0x00, 0x00,
        ];
        let p = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(p.extension_form(), Some(ExtensionForm::TwoByte));
        let elements: Vec<(u8, &[u8])> = p.extensions().map(|e| (e.id, e.data)).collect();
        assert_eq!(
            elements,
            [
                (1, &[0x00, 0x56, 0xce][..]),
                (9, &[0xda][..]),
                (0xf0, &[0x00, 0x30, 0x22][..])
            ]
        );
        // kPacketWithTwoByteHeaderExtensionWithPadding: three padding bytes
        // between two elements.
        let bytes = [
            0x90, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78, 0x10, 0x00,
            0x00, 0x03, 0xf0, 0x03, 0x00, 0x56, 0xce, 0x00, 0x00, 0x00, 0x09, 0x01, 0xda, 0x00,
        ];
        let p = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(p.extension(9), Some(&[0xda][..]));
        assert_eq!(p.extension(0xf0), Some(&[0x00, 0x56, 0xce][..]));
    }

    #[test]
    fn pion_basic_packet() {
        // pion/rtp packet_test.go TestBasic: extension profile 0x0001 (an
        // RFC 3550 §5.3.1 extension, not RFC 8285), one word of extension
        // data, payload 0x98 0x36 0xbe 0x88 0x9e.
        let bytes = [
            0x90, 0xe0, 0x69, 0x8f, 0xd9, 0xc2, 0x93, 0xda, 0x1c, 0x64, 0x27, 0x82, 0x00, 0x01,
            0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x98, 0x36, 0xbe, 0x88, 0x9e,
        ];
        let p = RtpPacket::parse(&bytes).unwrap();
        assert!(p.marker());
        assert_eq!(p.payload_type(), 96);
        assert_eq!(p.sequence_number(), 27023);
        assert_eq!(p.timestamp(), 3_653_407_706);
        assert_eq!(p.ssrc(), 476_325_762);
        assert_eq!(p.extension_profile(), Some(1));
        assert_eq!(p.extension_data(), Some(&[0xFF; 4][..]));
        assert_eq!(p.extension_form(), None);
        assert_eq!(p.extensions().count(), 0);
        assert_eq!(p.payload(), [0x98, 0x36, 0xbe, 0x88, 0x9e]);
    }

    #[test]
    fn rejects() {
        assert_eq!(
            RtpPacket::parse(&MINIMUM[..11]).unwrap_err(),
            Error::RtpTooShort(11)
        );
        let mut v1 = MINIMUM;
        v1[0] = 0x40;
        assert_eq!(RtpPacket::parse(&v1).unwrap_err(), Error::BadVersion(1));
        let mut csrcs = MINIMUM;
        csrcs[0] = 0x81;
        assert_eq!(
            RtpPacket::parse(&csrcs).unwrap_err(),
            Error::CsrcsTruncated(1)
        );
        let mut ext = MINIMUM.to_vec();
        ext[0] = 0x90;
        assert_eq!(
            RtpPacket::parse(&ext).unwrap_err(),
            Error::ExtensionTruncated
        );
        ext.extend_from_slice(&[0xbe, 0xde, 0x00, 0x01, 0x12, 0x00]);
        assert_eq!(
            RtpPacket::parse(&ext).unwrap_err(),
            Error::ExtensionTruncated
        );
        // An element longer than its block: id 1 declares 16 bytes in a 4-byte block.
        let mut long = MINIMUM.to_vec();
        long[0] = 0x90;
        long.extend_from_slice(&[0xbe, 0xde, 0x00, 0x01, 0x1f, 0x00, 0x00, 0x00, 1, 2]);
        assert_eq!(
            RtpPacket::parse(&long).unwrap_err(),
            Error::ExtensionElementTruncated(1)
        );
        // Padding: no byte to hold the count, a zero count, a count too large.
        let mut pad = MINIMUM.to_vec();
        pad[0] = 0xA0;
        assert_eq!(
            RtpPacket::parse(&pad).unwrap_err(),
            Error::BadPadding {
                padding: 0,
                available: 0
            }
        );
        pad.extend_from_slice(&[1, 2, 0]);
        assert_eq!(
            RtpPacket::parse(&pad).unwrap_err(),
            Error::BadPadding {
                padding: 0,
                available: 3
            }
        );
        *pad.last_mut().unwrap() = 4;
        assert_eq!(
            RtpPacket::parse(&pad).unwrap_err(),
            Error::BadPadding {
                padding: 4,
                available: 3
            }
        );
        *pad.last_mut().unwrap() = 3;
        let p = RtpPacket::parse(&pad).unwrap();
        assert!(p.payload().is_empty());
        assert_eq!(p.padding_len(), 3);
    }
}
