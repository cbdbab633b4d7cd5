//! AV1 (the AOMedia "RTP Payload Format For AV1", v1.0): the aggregation
//! header, the packetizer and the depacketizer.
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+
//! |Z|Y| W |N|-|-|-|  aggregation header, then OBU elements:
//! +-+-+-+-+-+-+-+-+  each a LEB128 length and the OBU (without its
//!                    obu_size), the last one's length left out when W > 0
//! ```
//!
//! The frame side is a temporal unit in the low-overhead bitstream format
//! (OBUs with `obu_has_size_field`, or the last without). Going out, each
//! OBU loses its size field and temporal delimiters and tile list OBUs are
//! dropped (§5); coming in, each OBU gets `obu_has_size_field` set and a
//! minimal LEB128 size, and temporal delimiters (§7.2) and tile lists are
//! dropped, so that depacketizing what was packetized is a fixed point.

use bytes::BytesMut;

use super::{packetize_with, Assembly, Codec, Depacketizer, FrameInfo, Packetizer, Payloads};
use crate::error::Error;

/// An OBU type (AV1 bitstream §6.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObuType(pub u8);

impl ObuType {
    /// Sequence header: starts a coded video sequence with a key frame.
    pub const SEQUENCE_HEADER: ObuType = ObuType(1);
    /// Temporal delimiter: dropped on both sides.
    pub const TEMPORAL_DELIMITER: ObuType = ObuType(2);
    /// Frame header.
    pub const FRAME_HEADER: ObuType = ObuType(3);
    /// Tile group.
    pub const TILE_GROUP: ObuType = ObuType(4);
    /// Metadata.
    pub const METADATA: ObuType = ObuType(5);
    /// Frame (header and tile group).
    pub const FRAME: ObuType = ObuType(6);
    /// Redundant frame header.
    pub const REDUNDANT_FRAME_HEADER: ObuType = ObuType(7);
    /// Tile list: not carried over RTP, dropped on both sides.
    pub const TILE_LIST: ObuType = ObuType(8);
    /// Padding.
    pub const PADDING: ObuType = ObuType(15);

    /// The type in an OBU header byte.
    pub fn of_header(header: u8) -> ObuType {
        ObuType((header >> 3) & 0x0F)
    }
}

/// The aggregation header (the first byte of every AV1 payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Av1AggregationHeader {
    /// Z: the first OBU element continues an OBU from the previous packet.
    pub continues: bool,
    /// Y: the last OBU element continues in the next packet.
    pub continued: bool,
    /// W: the number of OBU elements (1–3, the last without a length), or
    /// 0 (any number, all with lengths).
    pub element_count: u8,
    /// N: the first packet of a coded video sequence.
    pub new_coded_video_sequence: bool,
}

impl Av1AggregationHeader {
    /// Reads the header byte.
    pub fn parse(byte: u8) -> Av1AggregationHeader {
        Av1AggregationHeader {
            continues: byte & 0x80 != 0,
            continued: byte & 0x40 != 0,
            element_count: (byte >> 4) & 0x03,
            new_coded_video_sequence: byte & 0x08 != 0,
        }
    }

    /// The header byte.
    pub fn to_byte(self) -> u8 {
        u8::from(self.continues) << 7
            | u8::from(self.continued) << 6
            | (self.element_count & 0x03) << 4
            | u8::from(self.new_coded_video_sequence) << 3
    }
}

/// Bytes the LEB128 encoding of `v` takes.
fn leb128_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// The minimal LEB128 encoding of `v`, in a buffer and its length.
fn leb128(mut v: usize) -> ([u8; 10], usize) {
    let mut out = [0u8; 10];
    let mut n = 0;
    loop {
        let byte = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out[n] = byte;
            return (out, n + 1);
        }
        out[n] = byte | 0x80;
        n += 1;
    }
}

/// Reads a LEB128 value (at most 8 bytes, at most 2^32 − 1, AV1 §4.10.5).
fn read_leb128(data: &[u8]) -> Option<(usize, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in data.iter().take(8).enumerate() {
        value |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return usize::try_from(value)
                .ok()
                .filter(|_| value <= u64::from(u32::MAX))
                .map(|v| (v, i + 1));
        }
    }
    None
}

/// One OBU of a frame as an OBU element: its header (size flag cleared,
/// extension byte kept) and payload, not contiguous in the frame.
#[derive(Debug, Clone, Copy)]
struct ObuElement<'a> {
    header: [u8; 2],
    header_len: usize,
    payload: &'a [u8],
}

impl ObuElement<'_> {
    fn len(&self) -> usize {
        self.header_len + self.payload.len()
    }

    fn obu_type(&self) -> ObuType {
        ObuType::of_header(self.header[0])
    }

    /// Appends bytes `range` of the element to the payload being written.
    fn put_range(&self, out: &mut Payloads, start: usize, end: usize) {
        let hl = self.header_len;
        if start < hl {
            out.put(&self.header[start..end.min(hl)]);
        }
        if end > hl {
            out.put(&self.payload[start.max(hl) - hl..end - hl]);
        }
    }
}

/// Whether a temporal unit starts a coded video sequence with a key frame,
/// from its OBUs: a sequence header, then a first frame header
/// (`OBU_FRAME_HEADER` or `OBU_FRAME`) with `show_existing_frame` 0 and
/// `frame_type` `KEY_FRAME` (AV1 §5.9.2, the header's first three bits), or
/// any frame when the sequence header sets `reduced_still_picture_header`
/// (§5.5, its fifth bit).
#[derive(Debug, Clone, Copy, Default)]
struct KeyFrameProbe {
    /// Seen a sequence header; whether it is reduced.
    sequence_header: Option<bool>,
    /// Seen a frame header; whether it is a shown key frame.
    first_frame: Option<bool>,
}

impl KeyFrameProbe {
    fn observe(&mut self, obu_type: ObuType, payload: &[u8]) {
        let first = payload.first().copied();
        match obu_type {
            ObuType::SEQUENCE_HEADER if self.sequence_header.is_none() => {
                self.sequence_header = Some(first.is_some_and(|b| b & 0x08 != 0));
            }
            ObuType::FRAME_HEADER | ObuType::FRAME if self.first_frame.is_none() => {
                self.first_frame = Some(first.is_some_and(|b| b >> 5 == 0));
            }
            _ => {}
        }
    }

    fn key_frame(&self) -> bool {
        match self.sequence_header {
            Some(reduced) => reduced || self.first_frame == Some(true),
            None => false,
        }
    }
}

/// The OBUs of a temporal unit, as elements.
fn frame_obus(frame: &[u8]) -> impl Iterator<Item = Result<ObuElement<'_>, Error>> + '_ {
    let invalid = |reason| Error::InvalidFrame {
        codec: Codec::Av1,
        reason,
    };
    let mut rest = frame;
    std::iter::from_fn(move || {
        let header = *rest.first()?;
        let result = (|| {
            if header & 0x80 != 0 {
                return Err(invalid("OBU forbidden bit set"));
            }
            let ext = header & 0x04 != 0;
            let header_len = 1 + usize::from(ext);
            let mut element = ObuElement {
                header: [header & !0x02, 0],
                header_len,
                payload: &[],
            };
            if ext {
                element.header[1] = *rest.get(1).ok_or(invalid("OBU extension header missing"))?;
            }
            let after_header = &rest[header_len.min(rest.len())..];
            if header & 0x02 != 0 {
                let (size, n) = read_leb128(after_header).ok_or(invalid("bad obu_size"))?;
                let payload = after_header
                    .get(n..n + size)
                    .ok_or(invalid("obu_size runs past the end of the frame"))?;
                element.payload = payload;
                rest = &after_header[n + size..];
            } else {
                element.payload = after_header;
                rest = &[];
            }
            Ok(element)
        })();
        if result.is_err() {
            rest = &[];
        }
        Some(result)
    })
    .filter(|e| {
        !matches!(e, Ok(e) if e.obu_type() == ObuType::TEMPORAL_DELIMITER
            || e.obu_type() == ObuType::TILE_LIST)
    })
}

/// Splits AV1 temporal units into payloads.
///
/// OBUs are packed greedily; one that does not fit in the packet being
/// filled starts the next if it fits there whole, and is fragmented across
/// packets otherwise. A packet with at most three OBU elements uses W to leave the last
/// one's length out. N is set on the first packet when the temporal unit
/// starts a coded video sequence: a sequence header and a key frame.
#[derive(Debug, Clone, Default)]
pub struct Av1Packetizer {
    _private: (),
}

impl Av1Packetizer {
    /// A packetizer.
    pub fn new() -> Av1Packetizer {
        Av1Packetizer::default()
    }
}

/// The packet being filled by the AV1 packetizer.
struct Av1Packet {
    header: Av1AggregationHeader,
    elements: usize,
    /// Offset in the payload and length of the last element's length field.
    last_length: (usize, usize),
}

impl Av1Packet {
    fn open(out: &mut Payloads, continues: bool, new_sequence: bool) -> Av1Packet {
        out.put(&[0]);
        Av1Packet {
            header: Av1AggregationHeader {
                continues,
                new_coded_video_sequence: new_sequence,
                ..Av1AggregationHeader::default()
            },
            elements: 0,
            last_length: (0, 0),
        }
    }

    /// Writes bytes `start..end` of `element` with their length.
    fn put(&mut self, out: &mut Payloads, element: &ObuElement<'_>, start: usize, end: usize) {
        let (len, n) = leb128(end - start);
        self.last_length = (out.current_len(), n);
        out.put(&len[..n]);
        element.put_range(out, start, end);
        self.elements += 1;
    }

    fn close(mut self, out: &mut Payloads, continued: bool) {
        self.header.continued = continued;
        if self.elements <= 3 {
            self.header.element_count = self.elements as u8;
            out.remove_current(self.last_length.0, self.last_length.1);
        }
        out.current_mut()[0] = self.header.to_byte();
        out.end_payload();
    }
}

impl Packetizer for Av1Packetizer {
    fn codec(&self) -> Codec {
        Codec::Av1
    }

    fn packetize(
        &mut self,
        frame: &[u8],
        max_payload: usize,
        out: &mut Payloads,
    ) -> Result<(), Error> {
        packetize_with(out, |out| {
            // The aggregation header, a one-byte length and one byte.
            if max_payload < 3 {
                return Err(Error::PayloadSizeTooSmall(max_payload));
            }
            let mut any = false;
            let mut probe = KeyFrameProbe::default();
            for obu in frame_obus(frame) {
                let obu = obu?;
                any = true;
                probe.observe(obu.obu_type(), obu.payload);
            }
            if !any {
                return Err(Error::InvalidFrame {
                    codec: Codec::Av1,
                    reason: "no OBUs to send",
                });
            }
            let mut packet = Av1Packet::open(out, false, probe.key_frame());
            for obu in frame_obus(frame) {
                let obu = obu?;
                let len = obu.len();
                let mut off = 0;
                while off < len {
                    let room = max_payload - out.current_len();
                    let remaining = len - off;
                    let need = leb128_len(remaining) + remaining;
                    if need <= room {
                        packet.put(out, &obu, off, len);
                        off = len;
                    } else if packet.elements > 0 && need < max_payload {
                        // Whole in the next packet rather than fragmented.
                        packet.close(out, false);
                        packet = Av1Packet::open(out, false, false);
                    } else if room >= 2 {
                        let mut k = room - 1;
                        while leb128_len(k) + k > room {
                            k -= 1;
                        }
                        packet.put(out, &obu, off, off + k);
                        off += k;
                        packet.close(out, true);
                        packet = Av1Packet::open(out, true, false);
                    } else {
                        packet.close(out, false);
                        packet = Av1Packet::open(out, false, false);
                    }
                }
            }
            packet.close(out, false);
            Ok(())
        })
    }
}

/// Reassembles AV1 temporal units.
///
/// The first payload must not continue an OBU (Z = 0); an OBU left open
/// (Y = 1) must be continued by the next payload (Z = 1) and closed before
/// [`finish`](Depacketizer::finish). Each OBU comes out with
/// `obu_has_size_field` set and a minimal size (temporal delimiters and
/// tile lists dropped); an OBU element that has its own size field must
/// agree with its element length. The frame is a keyframe when its first
/// payload has the N bit, or when its OBUs hold a sequence header and a key
/// frame header (for senders that leave N unset).
#[derive(Debug, Clone)]
pub struct Av1Depacketizer {
    assembly: Assembly,
    /// The OBU fragments received so far, while one is open.
    pending: BytesMut,
    open: bool,
    probe: KeyFrameProbe,
}

impl Default for Av1Depacketizer {
    fn default() -> Self {
        Av1Depacketizer::new()
    }
}

/// Writes one complete OBU element into the frame as a sized OBU.
fn emit_obu(
    assembly: &mut Assembly,
    probe: &mut KeyFrameProbe,
    frame: &mut BytesMut,
    obu: &[u8],
) -> Result<(), Error> {
    let header = obu[0];
    if header & 0x80 != 0 {
        return Err(assembly.malformed("OBU forbidden bit set"));
    }
    let header_len = 1 + usize::from(header & 0x04 != 0);
    let mut body = obu
        .get(header_len..)
        .ok_or(assembly.malformed("OBU element shorter than its header"))?;
    if header & 0x02 != 0 {
        let (size, n) = read_leb128(body).ok_or(assembly.malformed("bad obu_size"))?;
        body = &body[n..];
        if size != body.len() {
            return Err(assembly.malformed("obu_size disagrees with the OBU element length"));
        }
    }
    let obu_type = ObuType::of_header(header);
    probe.observe(obu_type, body);
    if obu_type == ObuType::TEMPORAL_DELIMITER || obu_type == ObuType::TILE_LIST {
        return Ok(());
    }
    let head = [header | 0x02, obu.get(1).copied().unwrap_or(0)];
    let (size, n) = leb128(body.len());
    assembly.append(frame, &[&head[..header_len], &size[..n], body])
}

impl Av1Depacketizer {
    /// A depacketizer with the default frame size limit.
    pub fn new() -> Av1Depacketizer {
        Av1Depacketizer {
            assembly: Assembly::new(Codec::Av1),
            pending: BytesMut::new(),
            open: false,
            probe: KeyFrameProbe::default(),
        }
    }

    /// Sets the largest frame accepted, in bytes.
    pub fn set_max_frame_size(&mut self, max: usize) {
        self.assembly.set_max_frame_size(max);
    }

    fn push_inner(&mut self, payload: &[u8], frame: &mut BytesMut) -> Result<(), Error> {
        let agg = *payload.first().ok_or(Error::PayloadTruncated(Codec::Av1))?;
        let h = Av1AggregationHeader::parse(agg);
        if h.continues && h.new_coded_video_sequence {
            return Err(self
                .assembly
                .malformed("N set on a payload that continues an OBU"));
        }
        let first = !self.assembly.started();
        self.assembly.begin_payload(!h.continues)?;
        if first {
            self.assembly.set_keyframe(h.new_coded_video_sequence);
        }
        match (h.continues, self.open) {
            (true, false) => return Err(Error::FrameStartMissing(Codec::Av1)),
            (false, true) => return Err(Error::FrameIncomplete(Codec::Av1)),
            _ => {}
        }
        let w = usize::from(h.element_count);
        let mut pos = 1;
        let mut index = 0;
        while pos < payload.len() {
            index += 1;
            let element = if index == w {
                let e = &payload[pos..];
                pos = payload.len();
                e
            } else {
                let (len, n) = read_leb128(&payload[pos..])
                    .ok_or(self.assembly.malformed("bad OBU element length"))?;
                let e = payload
                    .get(pos + n..pos + n + len)
                    .ok_or(Error::PayloadTruncated(Codec::Av1))?;
                pos += n + len;
                e
            };
            if element.is_empty() {
                return Err(self.assembly.malformed("empty OBU element"));
            }
            let last = pos == payload.len();
            let fragment_in = index == 1 && h.continues;
            let fragment_out = last && h.continued;
            if fragment_in || fragment_out {
                self.assembly.check(self.pending.len() + element.len())?;
                self.pending.extend_from_slice(element);
                if !fragment_out {
                    emit_obu(&mut self.assembly, &mut self.probe, frame, &self.pending)?;
                    self.pending.clear();
                }
            } else {
                emit_obu(&mut self.assembly, &mut self.probe, frame, element)?;
            }
        }
        if index == 0 {
            return Err(self.assembly.malformed("no OBU elements"));
        }
        if index < w {
            return Err(self.assembly.malformed("fewer OBU elements than W says"));
        }
        self.open = h.continued;
        Ok(())
    }
}

impl Depacketizer for Av1Depacketizer {
    fn codec(&self) -> Codec {
        Codec::Av1
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        payload.first().is_some_and(|agg| agg & 0x80 == 0)
    }

    /// The marker bit, unless the payload's last OBU continues (Y set).
    fn is_frame_end(&self, payload: &[u8], marker: bool) -> bool {
        marker && payload.first().is_some_and(|agg| agg & 0x40 == 0)
    }

    fn push(&mut self, payload: &[u8], frame: &mut BytesMut) -> Result<(), Error> {
        let result = self.push_inner(payload, frame);
        if result.is_err() {
            self.reset();
        }
        result
    }

    fn finish(&mut self, _frame: &mut BytesMut) -> Result<FrameInfo, Error> {
        if self.open {
            self.reset();
            return Err(Error::FrameIncomplete(Codec::Av1));
        }
        if self.probe.key_frame() {
            self.assembly.set_keyframe(true);
        }
        let info = self.assembly.finish();
        self.reset();
        info
    }

    fn reset(&mut self) {
        self.assembly.reset();
        self.pending.clear();
        self.open = false;
        self.probe = KeyFrameProbe::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_round_trip() {
        for v in [
            0usize,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            1 << 20,
            u32::MAX as usize,
        ] {
            let (b, n) = leb128(v);
            assert_eq!(n, leb128_len(v));
            assert_eq!(read_leb128(&b[..n]), Some((v, n)));
        }
        // Not terminated within 8 bytes; over 32 bits.
        assert_eq!(read_leb128(&[0xFF; 9]), None);
        assert_eq!(read_leb128(&[0x80, 0x80, 0x80, 0x80, 0x10]), None);
        // Non-minimal encodings are allowed on input.
        assert_eq!(read_leb128(&[0x81, 0x00]), Some((1, 2)));
    }

    #[test]
    fn aggregation_header_bits() {
        // pion/rtp codecs/av1_packet_test.go: 0x68 is Z=0 Y=1 W=2 N=1.
        let h = Av1AggregationHeader::parse(0x68);
        assert!(!h.continues && h.continued && h.new_coded_video_sequence);
        assert_eq!(h.element_count, 2);
        assert_eq!(h.to_byte(), 0x68);
    }
}
