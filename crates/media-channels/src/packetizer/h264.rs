//! H.264 (RFC 6184): single NAL unit packets, STAP-A aggregation and FU-A
//! fragmentation; packetization-modes 0 and 1.
//!
//! On the frame side NAL units are in Annex-B byte stream form: each behind
//! a start code (`00 00 01` or `00 00 00 01`) going in, behind
//! `00 00 00 01` coming out.

use bytes::BytesMut;

use super::{
    packetize_with, split_even, Assembly, Codec, Depacketizer, FrameInfo, Packetizer, Payloads,
};
use crate::error::Error;

/// The start code the depacketizer writes before every NAL unit.
const START_CODE: [u8; 4] = [0, 0, 0, 1];
/// Most bytes one STAP-A unit can carry (16-bit size field).
const MAX_STAP_UNIT: usize = 0xFFFF;

/// NAL unit types this module names (H.264 Table 7-1, RFC 6184 Table 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NalUnitType(pub u8);

impl NalUnitType {
    /// A slice of a non-IDR picture.
    pub const NON_IDR_SLICE: NalUnitType = NalUnitType(1);
    /// A slice of an IDR picture: decoding can start here.
    pub const IDR_SLICE: NalUnitType = NalUnitType(5);
    /// Supplemental enhancement information.
    pub const SEI: NalUnitType = NalUnitType(6);
    /// Sequence parameter set.
    pub const SPS: NalUnitType = NalUnitType(7);
    /// Picture parameter set.
    pub const PPS: NalUnitType = NalUnitType(8);
    /// Access unit delimiter.
    pub const AUD: NalUnitType = NalUnitType(9);
    /// Single-time aggregation packet A (RFC 6184 §5.7.1).
    pub const STAP_A: NalUnitType = NalUnitType(24);
    /// Single-time aggregation packet B (packetization-mode 2).
    pub const STAP_B: NalUnitType = NalUnitType(25);
    /// Multi-time aggregation packet, 16-bit offsets (mode 2).
    pub const MTAP16: NalUnitType = NalUnitType(26);
    /// Multi-time aggregation packet, 24-bit offsets (mode 2).
    pub const MTAP24: NalUnitType = NalUnitType(27);
    /// Fragmentation unit A (RFC 6184 §5.8).
    pub const FU_A: NalUnitType = NalUnitType(28);
    /// Fragmentation unit B (mode 2).
    pub const FU_B: NalUnitType = NalUnitType(29);

    /// The type in the low five bits of a NAL unit header.
    pub fn of_header(header: u8) -> NalUnitType {
        NalUnitType(header & 0x1F)
    }
}

/// The H.264 packetization mode (RFC 6184 §6.2, SDP `packetization-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum H264PacketizationMode {
    /// Mode 0: single NAL unit packets only; a NAL unit larger than the
    /// payload size is refused.
    SingleNalUnit,
    /// Mode 1: single NAL unit packets, STAP-A for runs of small NAL units
    /// (SPS, PPS, …) and FU-A for large ones.
    NonInterleaved,
}

/// The NAL units of an Annex-B byte stream, without their start codes (and
/// without the zero bytes before a start code). Empty NAL units are skipped.
#[derive(Debug, Clone)]
pub struct AnnexBNalUnits<'a> {
    rest: &'a [u8],
}

/// Splits an Annex-B byte stream into NAL units; `None` when `stream` does
/// not begin with a start code (after any leading zero bytes).
pub fn annex_b_nal_units(stream: &[u8]) -> Option<AnnexBNalUnits<'_>> {
    let (start, len) = find_start_code(stream)?;
    if stream[..start].iter().any(|&b| b != 0) {
        return None;
    }
    Some(AnnexBNalUnits {
        rest: &stream[start + len..],
    })
}

/// The position and length (3) of the first `00 00 01` in `data`.
fn find_start_code(data: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i + 3 <= data.len() {
        // Skip ahead fast: a start code's third byte is 1, its second 0.
        match data[i + 2] {
            1 if data[i] == 0 && data[i + 1] == 0 => return Some((i, 3)),
            0 => i += 1,
            _ => i += 3,
        }
    }
    None
}

impl<'a> Iterator for AnnexBNalUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (nal, rest) = match find_start_code(self.rest) {
                Some((at, len)) => (&self.rest[..at], &self.rest[at + len..]),
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            // Zero bytes before a start code belong to it (zero_byte,
            // trailing_zero_8bits): a NAL unit never ends in 0x00.
            let end = nal.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
            if end > 0 {
                return Some(&nal[..end]);
            }
        }
    }
}

/// Splits Annex-B H.264 access units into payloads.
///
/// Mode 1 aggregates consecutive NAL units that fit together into STAP-A
/// packets (F is the OR, NRI the maximum of theirs), sends a NAL unit that
/// fits alone as a single NAL unit packet, and fragments larger ones into
/// FU-A packets of even size. Every NAL unit is sent, parameter sets and
/// delimiters included; NAL unit types 0 and 24–31 (unspecified in H.264,
/// payload structures in RFC 6184) are refused.
///
/// ```
/// use media_channels::packetizer::{
///     Depacketizer, H264Depacketizer, H264PacketizationMode, H264Packetizer, Packetizer,
///     Payloads,
/// };
///
/// // SPS, PPS and an IDR slice of 2,500 bytes, with Annex-B start codes.
/// let mut frame = vec![0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80];
/// frame.extend_from_slice(&[0, 0, 0, 1, 0x65]);
/// frame.resize(frame.len() + 2499, 0x88);
///
/// let mut packetizer = H264Packetizer::new(H264PacketizationMode::NonInterleaved);
/// let mut payloads = Payloads::new();
/// packetizer.packetize(&frame, 1200, &mut payloads)?;
/// // One STAP-A with SPS and PPS, then three FU-A fragments of the slice.
/// assert_eq!(payloads.len(), 4);
/// assert_eq!(payloads.get(0).unwrap()[0] & 0x1F, 24);
/// assert!(payloads.iter().skip(1).all(|p| p.data[0] & 0x1F == 28));
///
/// let mut depacketizer = H264Depacketizer::new();
/// let mut out = bytes::BytesMut::new();
/// let info = depacketizer.depacketize(payloads.iter().map(|p| p.data), &mut out)?;
/// assert!(info.keyframe);
/// assert_eq!(&out[..], &frame[..]);
/// # Ok::<(), media_channels::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct H264Packetizer {
    mode: H264PacketizationMode,
}

impl H264Packetizer {
    /// A packetizer for `mode`.
    pub fn new(mode: H264PacketizationMode) -> H264Packetizer {
        H264Packetizer { mode }
    }

    /// The packetization mode.
    pub fn mode(&self) -> H264PacketizationMode {
        self.mode
    }
}

/// Writes one NAL unit as FU-A fragments.
fn write_fu_a(nal: &[u8], max_payload: usize, out: &mut Payloads) -> Result<(), Error> {
    if max_payload < 3 {
        return Err(Error::PayloadSizeTooSmall(max_payload));
    }
    let header = nal[0];
    let indicator = (header & 0xE0) | NalUnitType::FU_A.0;
    let body = &nal[1..];
    let mut parts = split_even(body.len(), max_payload - 2).peekable();
    let mut start = true;
    while let Some(range) = parts.next() {
        let end = parts.peek().is_none();
        let fu_header = u8::from(start) << 7 | u8::from(end) << 6 | (header & 0x1F);
        out.put(&[indicator, fu_header]);
        out.put(&body[range]);
        out.end_payload();
        start = false;
    }
    Ok(())
}

impl Packetizer for H264Packetizer {
    fn codec(&self) -> Codec {
        Codec::H264
    }

    fn packetize(
        &mut self,
        frame: &[u8],
        max_payload: usize,
        out: &mut Payloads,
    ) -> Result<(), Error> {
        let invalid = |reason| Error::InvalidFrame {
            codec: Codec::H264,
            reason,
        };
        packetize_with(out, |out| {
            let nals = annex_b_nal_units(frame).ok_or(invalid("no Annex-B start code"))?;
            let mut nals = nals.peekable();
            if nals.peek().is_none() {
                return Err(invalid("no NAL units"));
            }
            while let Some(nal) = nals.next() {
                // Types 0 and 24-31 are unspecified in H.264 and name the
                // payload structures on the wire (RFC 6184 Table 1): sent
                // alone, such a NAL unit would be read as one.
                if matches!(nal[0] & 0x1F, 0 | 24..=31) {
                    return Err(invalid("NAL unit type 0 or 24-31"));
                }
                if nal.len() > max_payload {
                    match self.mode {
                        H264PacketizationMode::SingleNalUnit => {
                            return Err(Error::FrameDoesNotFit {
                                codec: Codec::H264,
                                len: nal.len(),
                                max_payload,
                            })
                        }
                        H264PacketizationMode::NonInterleaved => {
                            write_fu_a(nal, max_payload, out)?;
                            continue;
                        }
                    }
                }
                let fits_with = |used: usize, next: &[u8]| {
                    next.len() <= MAX_STAP_UNIT && used + 2 + next.len() <= max_payload
                };
                let aggregate = self.mode == H264PacketizationMode::NonInterleaved
                    && nals.peek().is_some_and(|next| {
                        nal.len() <= MAX_STAP_UNIT && fits_with(1 + 2 + nal.len(), next)
                    });
                if !aggregate {
                    out.put(nal);
                    out.end_payload();
                    continue;
                }
                // STAP-A: a header, then (size, NAL unit) pairs.
                let mut f_nri = nal[0] & 0xE0;
                out.put(&[0]);
                out.put(&(nal.len() as u16).to_be_bytes());
                out.put(nal);
                while let Some(next) = nals.next_if(|next| fits_with(out.current_len(), next)) {
                    f_nri = (f_nri & 0x80 | next[0] & 0x80) | (f_nri & 0x60).max(next[0] & 0x60);
                    out.put(&(next.len() as u16).to_be_bytes());
                    out.put(next);
                }
                out.current_mut()[0] = f_nri | NalUnitType::STAP_A.0;
                out.end_payload();
            }
            Ok(())
        })
    }
}

/// Reassembles H.264 access units into Annex-B form.
///
/// Accepts single NAL unit packets, STAP-A and FU-A in any mix (what modes 0
/// and 1 may send); STAP-B, MTAP and FU-B (mode 2) and the reserved types
/// are refused with [`Error::PayloadUnsupported`]. The frame is a keyframe
/// when it holds an IDR slice; [`H264Depacketizer::has_parameter_sets`]
/// says whether it also carried an SPS and a PPS.
#[derive(Debug, Clone)]
pub struct H264Depacketizer {
    assembly: Assembly,
    /// The NAL unit type of the FU-A being reassembled.
    fragment: Option<u8>,
    sps: bool,
    pps: bool,
    last_sps_pps: bool,
}

impl Default for H264Depacketizer {
    fn default() -> Self {
        H264Depacketizer::new()
    }
}

impl H264Depacketizer {
    /// A depacketizer with the default frame size limit.
    pub fn new() -> H264Depacketizer {
        H264Depacketizer {
            assembly: Assembly::new(Codec::H264),
            fragment: None,
            sps: false,
            pps: false,
            last_sps_pps: false,
        }
    }

    /// Sets the largest frame accepted, in bytes.
    pub fn set_max_frame_size(&mut self, max: usize) {
        self.assembly.set_max_frame_size(max);
    }

    /// True when the last finished frame carried both an SPS and a PPS.
    pub fn has_parameter_sets(&self) -> bool {
        self.last_sps_pps
    }

    fn note_nal(&mut self, header: u8) {
        match NalUnitType::of_header(header) {
            NalUnitType::IDR_SLICE => self.assembly.set_keyframe(true),
            NalUnitType::SPS => self.sps = true,
            NalUnitType::PPS => self.pps = true,
            _ => {}
        }
    }

    fn push_inner(&mut self, payload: &[u8], frame: &mut BytesMut) -> Result<(), Error> {
        let header = *payload
            .first()
            .ok_or(Error::PayloadTruncated(Codec::H264))?;
        let kind = NalUnitType::of_header(header);
        if !self.assembly.started() && !starts_frame(payload) {
            return Err(Error::FrameStartMissing(Codec::H264));
        }
        if kind != NalUnitType::FU_A && self.fragment.is_some() {
            return Err(Error::FrameIncomplete(Codec::H264));
        }
        match kind.0 {
            1..=23 => {
                self.assembly.begin_payload(true)?;
                self.note_nal(header);
                self.assembly.append(frame, &[&START_CODE, payload])
            }
            24 => {
                self.assembly.begin_payload(true)?;
                let mut rest = &payload[1..];
                if rest.is_empty() {
                    return Err(self.assembly.malformed("STAP-A without NAL units"));
                }
                while !rest.is_empty() {
                    let [a, b, ..] = *rest else {
                        return Err(Error::PayloadTruncated(Codec::H264));
                    };
                    let size = usize::from(u16::from_be_bytes([a, b]));
                    let nal = rest
                        .get(2..2 + size)
                        .ok_or(Error::PayloadTruncated(Codec::H264))?;
                    let Some(&nal_header) = nal.first() else {
                        return Err(self.assembly.malformed("empty NAL unit in STAP-A"));
                    };
                    self.note_nal(nal_header);
                    self.assembly.append(frame, &[&START_CODE, nal])?;
                    rest = &rest[2 + size..];
                }
                Ok(())
            }
            28 => {
                let fu_header = *payload.get(1).ok_or(Error::PayloadTruncated(Codec::H264))?;
                let (start, end) = (fu_header & 0x80 != 0, fu_header & 0x40 != 0);
                let nal_type = fu_header & 0x1F;
                if start && end {
                    return Err(self.assembly.malformed("FU-A with both S and E set"));
                }
                match (start, self.fragment) {
                    (true, Some(_)) => return Err(Error::FrameIncomplete(Codec::H264)),
                    (false, None) => return Err(Error::FrameStartMissing(Codec::H264)),
                    (false, Some(t)) if t != nal_type => {
                        return Err(self
                            .assembly
                            .malformed("FU-A type changes within a NAL unit"))
                    }
                    _ => {}
                }
                self.assembly.begin_payload(start)?;
                if start {
                    let nal_header = (header & 0xE0) | nal_type;
                    self.note_nal(nal_header);
                    self.assembly.append(frame, &[&START_CODE, &[nal_header]])?;
                }
                self.assembly.append(frame, &[&payload[2..]])?;
                self.fragment = if end { None } else { Some(nal_type) };
                Ok(())
            }
            other => Err(Error::PayloadUnsupported {
                codec: Codec::H264,
                kind: other,
            }),
        }
    }
}

/// True for a payload that begins NAL units: anything but an FU-A
/// continuation (and an empty payload).
fn starts_frame(payload: &[u8]) -> bool {
    match payload {
        [] => false,
        [h, rest @ ..] if NalUnitType::of_header(*h) == NalUnitType::FU_A => {
            rest.first().is_some_and(|fu| fu & 0x80 != 0)
        }
        _ => true,
    }
}

impl Depacketizer for H264Depacketizer {
    fn codec(&self) -> Codec {
        Codec::H264
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        starts_frame(payload)
    }

    /// The marker bit, unless the payload is an FU-A fragment other than the
    /// last.
    fn is_frame_end(&self, payload: &[u8], marker: bool) -> bool {
        marker
            && match payload {
                [h, fu, ..] if NalUnitType::of_header(*h) == NalUnitType::FU_A => fu & 0x40 != 0,
                _ => true,
            }
    }

    fn push(&mut self, payload: &[u8], frame: &mut BytesMut) -> Result<(), Error> {
        let result = self.push_inner(payload, frame);
        if result.is_err() {
            self.reset();
        }
        result
    }

    fn finish(&mut self, _frame: &mut BytesMut) -> Result<FrameInfo, Error> {
        if self.fragment.is_some() {
            self.reset();
            return Err(Error::FrameIncomplete(Codec::H264));
        }
        let sps_pps = self.sps && self.pps;
        let info = self.assembly.finish();
        self.reset();
        if info.is_ok() {
            self.last_sps_pps = sps_pps;
        }
        info
    }

    fn reset(&mut self) {
        self.assembly.reset();
        self.fragment = None;
        self.sps = false;
        self.pps = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nals(stream: &[u8]) -> Vec<&[u8]> {
        annex_b_nal_units(stream).unwrap().collect()
    }

    #[test]
    fn annex_b_split() {
        assert_eq!(
            nals(&[0, 0, 1, 9, 0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3]),
            [&[9][..], &[0x67, 1, 2], &[0x68, 3]]
        );
        // Leading zeros, empty NAL units and trailing zeros.
        assert_eq!(
            nals(&[0, 0, 0, 0, 1, 0, 0, 1, 0x41, 7, 0, 0]),
            [&[0x41, 7][..]]
        );
        assert!(annex_b_nal_units(&[0x41, 0, 0, 1, 0x41]).is_none());
        assert!(annex_b_nal_units(&[]).is_none());
    }
}
