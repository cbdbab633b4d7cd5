//! Writing RTP packets into a caller's buffer.

use bytes::BytesMut;

use super::header_extension::{self, ExtensionElement, ExtensionForm};
use super::{HEADER_LEN, VERSION};
use crate::error::{check_room, Error};

/// Most CSRCs an RTP header can carry.
pub const MAX_CSRCS: usize = 15;

/// The fields of an RTP packet to write; [`RtpBuilder::write`] lays them out
/// in a caller's buffer without allocating.
///
/// Header extensions use the one-byte form when every id is 1–14 and every
/// value 1–16 bytes, the two-byte form otherwise (which the peer must have
/// accepted with `a=extmap-allow-mixed`); [`RtpBuilder::extension_form`]
/// forces one.
///
/// ```
/// use media_channels::rtp::{ExtensionElement, RtpBuilder, RtpPacket};
///
/// let mid = ExtensionElement::new(1, b"0");
/// let builder = RtpBuilder {
///     payload_type: 111,
///     sequence_number: 7,
///     timestamp: 960,
///     ssrc: 0xCAFE_F00D,
///     marker: true,
///     extensions: &[mid],
///     ..RtpBuilder::default()
/// };
/// let mut buf = [0u8; 1200];
/// let len = builder.write(&mut buf, b"opus frame")?;
///
/// let packet = RtpPacket::parse(&buf[..len])?;
/// assert_eq!(packet.payload_type(), 111);
/// assert!(packet.marker());
/// assert_eq!(packet.extension(1), Some(&b"0"[..]));
/// assert_eq!(packet.payload(), b"opus frame");
/// # Ok::<(), media_channels::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RtpBuilder<'a> {
    /// The marker bit.
    pub marker: bool,
    /// Payload type, 0–127.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence_number: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Contributing sources, at most 15.
    pub csrcs: &'a [u32],
    /// RFC 8285 header extension elements, written in this order; none means no X bit.
    pub extensions: &'a [ExtensionElement<'a>],
    /// Force the one-byte or two-byte form instead of choosing.
    pub extension_form: Option<ExtensionForm>,
    /// Padding bytes after the payload, the count byte included (0: no P bit).
    pub padding: u8,
}

impl<'a> RtpBuilder<'a> {
    /// A builder with the four fields every packet sets; the rest default.
    pub fn new(payload_type: u8, sequence_number: u16, timestamp: u32, ssrc: u32) -> Self {
        RtpBuilder {
            payload_type,
            sequence_number,
            timestamp,
            ssrc,
            ..RtpBuilder::default()
        }
    }

    /// The extension form and the padded block length (without its 4-byte header).
    fn extension_layout(&self) -> Result<Option<(ExtensionForm, usize)>, Error> {
        if self.extensions.is_empty() {
            return Ok(None);
        }
        let form = header_extension::choose_form(self.extensions, self.extension_form)?;
        let padded = header_extension::elements_len(form, self.extensions).div_ceil(4) * 4;
        if padded / 4 > u16::MAX as usize {
            return Err(Error::InvalidInput(
                "header extension block longer than 65535 words",
            ));
        }
        Ok(Some((form, padded)))
    }

    fn check_fields(&self) -> Result<(), Error> {
        if self.payload_type > 0x7F {
            return Err(Error::InvalidInput("payload type above 127"));
        }
        if self.csrcs.len() > MAX_CSRCS {
            return Err(Error::InvalidInput("more than 15 CSRCs"));
        }
        Ok(())
    }

    /// Length of the header (fixed part, CSRCs, extension block).
    pub fn header_len(&self) -> Result<usize, Error> {
        self.check_fields()?;
        let ext = self.extension_layout()?.map_or(0, |(_, len)| 4 + len);
        Ok(HEADER_LEN + 4 * self.csrcs.len() + ext)
    }

    /// Length of the whole packet with a payload of `payload_len` bytes.
    pub fn encoded_len(&self, payload_len: usize) -> Result<usize, Error> {
        Ok(self.header_len()? + payload_len + usize::from(self.padding))
    }

    /// Writes the packet with `payload` at the start of `buf`; returns its length.
    pub fn write(&self, buf: &mut [u8], payload: &[u8]) -> Result<usize, Error> {
        self.write_with(buf, payload.len(), |out| out.copy_from_slice(payload))
    }

    /// Writes the header, lets `fill` write the `payload_len` payload bytes in
    /// place (a packetizer can write straight into the packet), then the
    /// padding; returns the packet's length.
    pub fn write_with(
        &self,
        buf: &mut [u8],
        payload_len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<usize, Error> {
        self.check_fields()?;
        let layout = self.extension_layout()?;
        let header_len = HEADER_LEN + 4 * self.csrcs.len() + layout.map_or(0, |(_, len)| 4 + len);
        let total = header_len + payload_len + usize::from(self.padding);
        check_room(buf, total)?;

        let mut b0 = (VERSION << 6) | self.csrcs.len() as u8;
        if self.padding > 0 {
            b0 |= 0x20;
        }
        if layout.is_some() {
            b0 |= 0x10;
        }
        buf[0] = b0;
        buf[1] = self.payload_type | if self.marker { 0x80 } else { 0 };
        buf[2..4].copy_from_slice(&self.sequence_number.to_be_bytes());
        buf[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        buf[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        let mut pos = HEADER_LEN;
        for csrc in self.csrcs {
            buf[pos..pos + 4].copy_from_slice(&csrc.to_be_bytes());
            pos += 4;
        }
        if let Some((form, len)) = layout {
            buf[pos..pos + 2].copy_from_slice(&form.profile().to_be_bytes());
            buf[pos + 2..pos + 4].copy_from_slice(&((len / 4) as u16).to_be_bytes());
            pos += 4;
            header_extension::write_elements(form, self.extensions, &mut buf[pos..], len)?;
            pos += len;
        }
        fill(&mut buf[pos..pos + payload_len]);
        pos += payload_len;
        if self.padding > 0 {
            let end = pos + usize::from(self.padding);
            buf[pos..end - 1].fill(0);
            buf[end - 1] = self.padding;
            pos = end;
        }
        Ok(pos)
    }

    /// Appends the packet to `out`, growing it as needed; returns the packet's length.
    pub fn append_to(&self, out: &mut BytesMut, payload: &[u8]) -> Result<usize, Error> {
        let len = self.encoded_len(payload.len())?;
        let start = out.len();
        out.resize(start + len, 0);
        self.write(&mut out[start..], payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpPacket;

    // libwebrtc rtp_packet_unittest.cc: kPayloadType 100, kSeqNum 0x1234,
    // kTimestamp 0x65431278, kSsrc 0x12345678.
    fn libwebrtc_base() -> RtpBuilder<'static> {
        RtpBuilder::new(100, 0x1234, 0x6543_1278, 0x1234_5678)
    }

    #[test]
    fn writes_libwebrtc_minimum_packet() {
        // kMinimumPacket.
        let mut buf = [0u8; 12];
        let n = libwebrtc_base().write(&mut buf, &[]).unwrap();
        assert_eq!(
            &buf[..n],
            [0x80, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78]
        );
    }

    #[test]
    fn writes_libwebrtc_two_extensions() {
        // kPacketWithTOAndAL: transmission offset 0x56ce (id 1) and voice
        // active audio level 0x5a (id 9).
        let to = [0x00, 0x56, 0xce];
        let al = [0x80 | 0x5a];
        let exts = [ExtensionElement::new(1, &to), ExtensionElement::new(9, &al)];
        let b = RtpBuilder {
            extensions: &exts,
            ..libwebrtc_base()
        };
        let mut buf = [0u8; 64];
        let n = b.write(&mut buf, &[]).unwrap();
        assert_eq!(
            &buf[..n],
            [
                0x90, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78, 0xbe, 0xde,
                0x00, 0x02, 0x12, 0x00, 0x56, 0xce, 0x90, 0xda, 0x00, 0x00
            ]
        );
    }

    #[test]
    fn writes_libwebrtc_two_byte_form() {
        // kPacketWithTwoByteExtensionIdLast: id 0xf0 forces the two-byte form.
        let to = [0x00, 0x56, 0xce];
        let al = [0xda];
        let pd = [0x00, 0x30, 0x22];
        let exts = [
            ExtensionElement::new(1, &to),
            ExtensionElement::new(9, &al),
            ExtensionElement::new(0xf0, &pd),
        ];
        let b = RtpBuilder {
            extensions: &exts,
            ..libwebrtc_base()
        };
        let mut buf = [0u8; 64];
        let n = b.write(&mut buf, &[]).unwrap();
        assert_eq!(
            &buf[..n],
            [
                0x90, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78, 0x10, 0x00,
                0x00, 0x04, 0x01, 0x03, 0x00, 0x56, 0xce, 0x09, 0x01, 0xda, 0xf0, 0x03, 0x00, 0x30,
                0x22, 0x00, 0x00, 0x00
            ]
        );
    }

    #[test]
    fn writes_libwebrtc_full_packet() {
        // kPacket: CSRCs, TO, payload "payload", 8 bytes of padding. libwebrtc
        // fills padding with "padding" in its test; we write zeros.
        let to = [0x00, 0x56, 0xce];
        let exts = [ExtensionElement::new(1, &to)];
        let b = RtpBuilder {
            csrcs: &[0x3456_7890, 0x3243_5465],
            extensions: &exts,
            padding: 8,
            ..libwebrtc_base()
        };
        let mut buf = [0u8; 64];
        let n = b.write(&mut buf, b"payload").unwrap();
        assert_eq!(n, b.encoded_len(7).unwrap());
        assert_eq!(
            &buf[..28],
            [
                0xb2, 100, 0x12, 0x34, 0x65, 0x43, 0x12, 0x78, 0x12, 0x34, 0x56, 0x78, 0x34, 0x56,
                0x78, 0x90, 0x32, 0x43, 0x54, 0x65, 0xbe, 0xde, 0x00, 0x01, 0x12, 0x00, 0x56, 0xce
            ]
        );
        assert_eq!(&buf[28..35], b"payload");
        assert_eq!(&buf[35..n], [0, 0, 0, 0, 0, 0, 0, 8]);
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        assert_eq!(p.payload(), b"payload");
        assert_eq!(p.padding_len(), 8);
    }

    #[test]
    fn caller_errors() {
        let mut small = [0u8; 11];
        assert_eq!(
            libwebrtc_base().write(&mut small, &[]),
            Err(Error::BufferTooSmall {
                needed: 12,
                available: 11
            })
        );
        let mut buf = [0u8; 128];
        let bad_pt = RtpBuilder {
            payload_type: 128,
            ..libwebrtc_base()
        };
        assert!(matches!(
            bad_pt.write(&mut buf, &[]),
            Err(Error::InvalidInput(_))
        ));
        let csrcs = [0u32; 16];
        let too_many = RtpBuilder {
            csrcs: &csrcs,
            ..libwebrtc_base()
        };
        assert!(matches!(
            too_many.write(&mut buf, &[]),
            Err(Error::InvalidInput(_))
        ));
        let zero_id = [ExtensionElement::new(0, b"x")];
        let bad_ext = RtpBuilder {
            extensions: &zero_id,
            ..libwebrtc_base()
        };
        assert!(matches!(
            bad_ext.write(&mut buf, &[]),
            Err(Error::InvalidInput(_))
        ));
        assert!(!Error::InvalidInput("").is_peer_fault());
    }

    #[test]
    fn write_with_fills_in_place() {
        let mut buf = [0u8; 32];
        let n = libwebrtc_base()
            .write_with(&mut buf, 4, |p| p.copy_from_slice(&[1, 2, 3, 4]))
            .unwrap();
        assert_eq!(RtpPacket::parse(&buf[..n]).unwrap().payload(), [1, 2, 3, 4]);
    }

    #[test]
    fn append_to_bytes_mut() {
        let mut out = BytesMut::from(&b"xx"[..]);
        let n = libwebrtc_base().append_to(&mut out, b"abc").unwrap();
        assert_eq!(n, 15);
        assert_eq!(out.len(), 17);
        assert_eq!(RtpPacket::parse(&out[2..]).unwrap().payload(), b"abc");
    }
}
