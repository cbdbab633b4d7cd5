//! VP9 (RFC 9628): the payload descriptor with its scalability structure,
//! the packetizer and the depacketizer.
//!
//! ```text
//!       0 1 2 3 4 5 6 7
//!      +-+-+-+-+-+-+-+-+
//!      |I|P|L|F|B|E|V|Z| (REQUIRED)
//!      +-+-+-+-+-+-+-+-+
//! I:   |M| PICTURE ID  | (7 or 15 bits)
//!      +-+-+-+-+-+-+-+-+
//! L:   | TID |U| SID |D|
//!      +-+-+-+-+-+-+-+-+
//!      |   TL0PICIDX   | (non-flexible mode only)
//!      +-+-+-+-+-+-+-+-+
//! F,P: | P_DIFF      |N| (flexible mode only, up to 3 times)
//!      +-+-+-+-+-+-+-+-+
//! V:   | SS            | (scalability structure)
//!      +-+-+-+-+-+-+-+-+
//! ```

use bytes::BytesMut;

use super::{
    packetize_with, split_even, Assembly, Codec, Depacketizer, FrameInfo, Packetizer, Payloads,
    PictureId,
};
use crate::error::Error;

const TRUNCATED: Error = Error::PayloadTruncated(Codec::Vp9);

fn malformed(reason: &'static str) -> Error {
    Error::PayloadMalformed {
        codec: Codec::Vp9,
        reason,
    }
}

/// Up to three reference picture ID differences (flexible mode, P_DIFF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vp9RefDiffs {
    diffs: [u8; 3],
    len: u8,
}

impl Vp9RefDiffs {
    /// The differences, at most three, each 1–127; `None` otherwise.
    pub fn new(diffs: &[u8]) -> Option<Vp9RefDiffs> {
        if diffs.len() > 3 || diffs.iter().any(|&d| d == 0 || d > 0x7F) {
            return None;
        }
        let mut r = Vp9RefDiffs::default();
        r.diffs[..diffs.len()].copy_from_slice(diffs);
        r.len = diffs.len() as u8;
        Some(r)
    }

    /// The differences.
    pub fn as_slice(&self) -> &[u8] {
        &self.diffs[..usize::from(self.len)]
    }
}

/// The layer indices (L): temporal and spatial layer, with TL0PICIDX in the
/// non-flexible mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vp9LayerIndices {
    /// TID: the temporal layer, 0–7.
    pub tid: u8,
    /// U: switching up point.
    pub switching_up: bool,
    /// SID: the spatial layer, 0–7.
    pub sid: u8,
    /// D: the frame depends on the spatial layer below.
    pub inter_layer_dependent: bool,
    /// TL0PICIDX: present in the non-flexible mode only (written as 0 there
    /// when `None`).
    pub tl0_pic_idx: Option<u8>,
}

/// One picture group entry of a scalability structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp9PictureGroup<'a> {
    /// The temporal layer, 0–7.
    pub tid: u8,
    /// U: switching up point.
    pub switching_up: bool,
    /// The reference differences (R of them, at most 3).
    pub p_diffs: &'a [u8],
}

/// A validated, borrowed scalability structure (SS, RFC 9628 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp9ScalabilityStructure<'a> {
    bytes: &'a [u8],
}

impl<'a> Vp9ScalabilityStructure<'a> {
    /// Validates the structure at the start of `data`; returns it and its
    /// length.
    pub fn parse(data: &'a [u8]) -> Result<(Vp9ScalabilityStructure<'a>, usize), Error> {
        let first = *data.first().ok_or(TRUNCATED)?;
        let layers = usize::from(first >> 5) + 1;
        let mut pos = 1;
        if first & 0x10 != 0 {
            pos += 4 * layers;
        }
        if first & 0x08 != 0 {
            let groups = *data.get(pos).ok_or(TRUNCATED)?;
            pos += 1;
            for _ in 0..groups {
                let g = *data.get(pos).ok_or(TRUNCATED)?;
                pos += 1 + usize::from((g >> 2) & 0x03);
            }
        }
        if pos > data.len() {
            return Err(TRUNCATED);
        }
        Ok((
            Vp9ScalabilityStructure {
                bytes: &data[..pos],
            },
            pos,
        ))
    }

    /// The structure's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// N_S + 1: the number of spatial layers.
    pub fn spatial_layers(&self) -> u8 {
        (self.bytes[0] >> 5) + 1
    }

    /// Width and height of each spatial layer, when the Y bit is set.
    pub fn resolutions(&self) -> Option<impl Iterator<Item = (u16, u16)> + 'a> {
        if self.bytes[0] & 0x10 == 0 {
            return None;
        }
        let n = usize::from(self.spatial_layers());
        let bytes = self.bytes;
        Some((0..n).map(move |i| {
            let b = &bytes[1 + 4 * i..5 + 4 * i];
            (
                u16::from_be_bytes([b[0], b[1]]),
                u16::from_be_bytes([b[2], b[3]]),
            )
        }))
    }

    /// The picture group description, when the G bit is set.
    pub fn picture_groups(&self) -> Option<impl Iterator<Item = Vp9PictureGroup<'a>> + 'a> {
        let first = self.bytes[0];
        if first & 0x08 == 0 {
            return None;
        }
        let mut pos = 1 + if first & 0x10 != 0 {
            4 * usize::from(self.spatial_layers())
        } else {
            0
        };
        let count = self.bytes[pos];
        pos += 1;
        let bytes = self.bytes;
        Some((0..count).map(move |_| {
            let g = bytes[pos];
            let r = usize::from((g >> 2) & 0x03);
            let group = Vp9PictureGroup {
                tid: g >> 5,
                switching_up: g & 0x10 != 0,
                p_diffs: &bytes[pos + 1..pos + 1 + r],
            };
            pos += 1 + r;
            group
        }))
    }

    /// Appends a scalability structure to `out`: `spatial_layers` (1–8)
    /// layers, their resolutions when given (one per layer) and the picture
    /// groups when given (at most 255, each with at most 3 differences).
    pub fn write(
        out: &mut BytesMut,
        spatial_layers: u8,
        resolutions: Option<&[(u16, u16)]>,
        groups: Option<&[Vp9PictureGroup<'_>]>,
    ) -> Result<(), Error> {
        if !(1..=8).contains(&spatial_layers) {
            return Err(Error::InvalidInput("VP9 SS: 1 to 8 spatial layers"));
        }
        if resolutions.is_some_and(|r| r.len() != usize::from(spatial_layers)) {
            return Err(Error::InvalidInput(
                "VP9 SS: one resolution per spatial layer",
            ));
        }
        if groups.is_some_and(|g| g.len() > 255 || g.iter().any(|g| g.p_diffs.len() > 3)) {
            return Err(Error::InvalidInput(
                "VP9 SS: at most 255 picture groups of at most 3 references",
            ));
        }
        out.extend_from_slice(&[(spatial_layers - 1) << 5
            | u8::from(resolutions.is_some()) << 4
            | u8::from(groups.is_some()) << 3]);
        for &(w, h) in resolutions.unwrap_or_default() {
            out.extend_from_slice(&w.to_be_bytes());
            out.extend_from_slice(&h.to_be_bytes());
        }
        if let Some(groups) = groups {
            out.extend_from_slice(&[groups.len() as u8]);
            for g in groups {
                out.extend_from_slice(&[(g.tid & 0x07) << 5
                    | u8::from(g.switching_up) << 4
                    | (g.p_diffs.len() as u8) << 2]);
                out.extend_from_slice(g.p_diffs);
            }
        }
        Ok(())
    }
}

/// The VP9 payload descriptor (RFC 9628 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vp9Descriptor<'a> {
    /// P: the frame uses inter-picture prediction.
    pub inter_picture_predicted: bool,
    /// F: flexible mode (reference differences in the descriptor).
    pub flexible: bool,
    /// B: the payload starts a (layer) frame.
    pub start_of_frame: bool,
    /// E: the payload ends a (layer) frame.
    pub end_of_frame: bool,
    /// Z: the frame is not used for inter-layer prediction by higher layers.
    pub not_reference_for_upper: bool,
    /// I: the picture ID.
    pub picture_id: Option<PictureId>,
    /// L: the layer indices.
    pub layer: Option<Vp9LayerIndices>,
    /// The reference differences (flexible mode, P set).
    pub ref_diffs: Vp9RefDiffs,
    /// V: the scalability structure.
    pub scalability_structure: Option<Vp9ScalabilityStructure<'a>>,
}

impl<'a> Vp9Descriptor<'a> {
    /// Reads the descriptor at the start of `payload`; returns it and its
    /// length. The frame data follows it.
    pub fn parse(payload: &'a [u8]) -> Result<(Vp9Descriptor<'a>, usize), Error> {
        let first = *payload.first().ok_or(TRUNCATED)?;
        let mut d = Vp9Descriptor {
            inter_picture_predicted: first & 0x40 != 0,
            flexible: first & 0x10 != 0,
            start_of_frame: first & 0x08 != 0,
            end_of_frame: first & 0x04 != 0,
            not_reference_for_upper: first & 0x01 != 0,
            ..Vp9Descriptor::default()
        };
        let mut pos = 1;
        if first & 0x80 != 0 {
            let id = PictureId::parse(&payload[pos..]).ok_or(TRUNCATED)?;
            pos += id.wire_len();
            d.picture_id = Some(id);
        }
        if first & 0x20 != 0 {
            let b = *payload.get(pos).ok_or(TRUNCATED)?;
            pos += 1;
            let mut layer = Vp9LayerIndices {
                tid: b >> 5,
                switching_up: b & 0x10 != 0,
                sid: (b >> 1) & 0x07,
                inter_layer_dependent: b & 0x01 != 0,
                tl0_pic_idx: None,
            };
            if !d.flexible {
                layer.tl0_pic_idx = Some(*payload.get(pos).ok_or(TRUNCATED)?);
                pos += 1;
            }
            d.layer = Some(layer);
        }
        if d.flexible && d.inter_picture_predicted {
            let mut diffs = [0u8; 3];
            let mut n = 0;
            loop {
                let b = *payload.get(pos).ok_or(TRUNCATED)?;
                pos += 1;
                if n == 3 {
                    return Err(malformed("more than three reference indices"));
                }
                diffs[n] = b >> 1;
                n += 1;
                if b & 0x01 == 0 {
                    break;
                }
            }
            d.ref_diffs = Vp9RefDiffs {
                diffs,
                len: n as u8,
            };
        }
        if first & 0x02 != 0 {
            let (ss, len) = Vp9ScalabilityStructure::parse(&payload[pos..])?;
            d.scalability_structure = Some(ss);
            pos += len;
        }
        Ok((d, pos))
    }

    /// Bytes [`write`](Self::write) appends.
    pub fn len(&self) -> usize {
        1 + self.picture_id.map_or(0, PictureId::wire_len)
            + self.layer.map_or(0, |_| if self.flexible { 1 } else { 2 })
            + if self.flexible && self.inter_picture_predicted {
                self.ref_diffs.as_slice().len()
            } else {
                0
            }
            + self.scalability_structure.map_or(0, |s| s.bytes.len())
    }

    /// Always false: a descriptor has at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Appends the descriptor to `out`. Out-of-range fields are masked to
    /// their widths.
    pub fn write(&self, out: &mut BytesMut) {
        out.extend_from_slice(&[u8::from(self.picture_id.is_some()) << 7
            | u8::from(self.inter_picture_predicted) << 6
            | u8::from(self.layer.is_some()) << 5
            | u8::from(self.flexible) << 4
            | u8::from(self.start_of_frame) << 3
            | u8::from(self.end_of_frame) << 2
            | u8::from(self.scalability_structure.is_some()) << 1
            | u8::from(self.not_reference_for_upper)]);
        if let Some(id) = self.picture_id {
            id.write(out);
        }
        if let Some(l) = self.layer {
            out.extend_from_slice(&[(l.tid & 0x07) << 5
                | u8::from(l.switching_up) << 4
                | (l.sid & 0x07) << 1
                | u8::from(l.inter_layer_dependent)]);
            if !self.flexible {
                out.extend_from_slice(&[l.tl0_pic_idx.unwrap_or(0)]);
            }
        }
        if self.flexible && self.inter_picture_predicted {
            let diffs = self.ref_diffs.as_slice();
            for (i, d) in diffs.iter().enumerate() {
                out.extend_from_slice(&[(d << 1) | u8::from(i + 1 < diffs.len())]);
            }
        }
        if let Some(ss) = self.scalability_structure {
            out.extend_from_slice(ss.bytes);
        }
    }
}

/// Reads whether a VP9 frame is a key frame from the first bits of its
/// uncompressed header (VP9 bitstream §6.2): frame marker, profile,
/// show_existing_frame, frame_type. `None` when the bytes are not a VP9
/// frame header.
pub(crate) fn frame_is_keyframe(frame: &[u8]) -> Option<bool> {
    let b = *frame.first()?;
    if b >> 6 != 0b10 {
        return None;
    }
    let profile = ((b >> 5) & 1) | (((b >> 4) & 1) << 1);
    // Profile 3 has a reserved zero bit before show_existing_frame.
    let show_existing_bit = if profile == 3 { 2 } else { 3 };
    if (b >> show_existing_bit) & 1 == 1 {
        return Some(false);
    }
    Some((b >> (show_existing_bit - 1)) & 1 == 0)
}

/// Splits VP9 frames into payloads (one spatial layer frame per call).
///
/// P comes from the frame's uncompressed header (key frames have P = 0; a
/// frame whose header cannot be read counts as inter-predicted). The
/// scalability structure, when set, goes in the first payload of each key
/// frame. The picture ID advances by one after every frame.
#[derive(Debug, Clone)]
pub struct Vp9Packetizer {
    /// Flexible mode (F): reference differences in every inter frame's
    /// descriptor instead of a scalability structure's picture groups.
    pub flexible: bool,
    /// The picture ID of the next frame (none: no I field).
    pub picture_id: Option<PictureId>,
    /// The layer indices of the next frame (none: no L field).
    pub layer: Option<Vp9LayerIndices>,
    /// The reference differences of the next inter frame in flexible mode.
    pub ref_diffs: Vp9RefDiffs,
    /// The Z bit of the next frame.
    pub not_reference_for_upper: bool,
    scalability_structure: BytesMut,
}

impl Vp9Packetizer {
    /// A non-flexible-mode packetizer with 15-bit picture IDs starting at
    /// `first_picture_id`, no layer indices, no scalability structure, and a
    /// reference difference of 1 should flexible mode be switched on.
    pub fn new(first_picture_id: u16) -> Vp9Packetizer {
        Vp9Packetizer {
            flexible: false,
            picture_id: Some(PictureId::Long(first_picture_id)),
            layer: None,
            ref_diffs: Vp9RefDiffs {
                diffs: [1, 0, 0],
                len: 1,
            },
            not_reference_for_upper: false,
            scalability_structure: BytesMut::new(),
        }
    }

    /// Sets the scalability structure sent with key frames (see
    /// [`Vp9ScalabilityStructure::write`] for the arguments).
    pub fn set_scalability_structure(
        &mut self,
        spatial_layers: u8,
        resolutions: Option<&[(u16, u16)]>,
        groups: Option<&[Vp9PictureGroup<'_>]>,
    ) -> Result<(), Error> {
        let mut ss = BytesMut::new();
        Vp9ScalabilityStructure::write(&mut ss, spatial_layers, resolutions, groups)?;
        self.scalability_structure = ss;
        Ok(())
    }

    /// Stops sending a scalability structure.
    pub fn clear_scalability_structure(&mut self) {
        self.scalability_structure.clear();
    }
}

impl Packetizer for Vp9Packetizer {
    fn codec(&self) -> Codec {
        Codec::Vp9
    }

    fn packetize(
        &mut self,
        frame: &[u8],
        max_payload: usize,
        out: &mut Payloads,
    ) -> Result<(), Error> {
        let keyframe = frame_is_keyframe(frame).unwrap_or(false);
        let ss = if keyframe && !self.scalability_structure.is_empty() {
            Some(Vp9ScalabilityStructure {
                bytes: &self.scalability_structure,
            })
        } else {
            None
        };
        let mut descriptor = Vp9Descriptor {
            inter_picture_predicted: !keyframe,
            flexible: self.flexible,
            start_of_frame: true,
            end_of_frame: false,
            not_reference_for_upper: self.not_reference_for_upper,
            picture_id: self.picture_id,
            layer: self.layer,
            ref_diffs: self.ref_diffs,
            scalability_structure: ss,
        };
        packetize_with(out, |out| {
            if frame.is_empty() {
                return Err(Error::InvalidFrame {
                    codec: Codec::Vp9,
                    reason: "empty frame",
                });
            }
            if self.flexible && !keyframe && self.ref_diffs.as_slice().is_empty() {
                return Err(Error::InvalidInput(
                    "VP9 flexible mode: an inter frame needs reference differences",
                ));
            }
            // Size every payload for the first one's (largest) descriptor.
            let header = descriptor.len();
            if max_payload <= header {
                return Err(Error::PayloadSizeTooSmall(max_payload));
            }
            let mut parts = split_even(frame.len(), max_payload - header).peekable();
            while let Some(range) = parts.next() {
                descriptor.end_of_frame = parts.peek().is_none();
                descriptor.write(out.buf());
                out.put(&frame[range]);
                out.end_payload();
                descriptor.start_of_frame = false;
                descriptor.scalability_structure = None;
            }
            Ok(())
        })?;
        self.picture_id = self.picture_id.map(PictureId::next);
        Ok(())
    }
}

/// Reassembles VP9 frames.
///
/// The first payload must have B set; a frame may hold several layer frames
/// (B … E, B … E), each of which must end (E) before the next begins and
/// before [`finish`](Depacketizer::finish). The frame is a keyframe when its
/// first payload has P = 0 and is in spatial layer 0 (or has no layer
/// indices). All payloads of a frame must carry the same picture ID. A
/// scalability structure is validated and skipped.
#[derive(Debug, Clone)]
pub struct Vp9Depacketizer {
    assembly: Assembly,
    in_layer_frame: bool,
    picture_id: Option<PictureId>,
}

impl Default for Vp9Depacketizer {
    fn default() -> Self {
        Vp9Depacketizer::new()
    }
}

impl Vp9Depacketizer {
    /// A depacketizer with the default frame size limit.
    pub fn new() -> Vp9Depacketizer {
        Vp9Depacketizer {
            assembly: Assembly::new(Codec::Vp9),
            in_layer_frame: false,
            picture_id: None,
        }
    }

    /// Sets the largest frame accepted, in bytes.
    pub fn set_max_frame_size(&mut self, max: usize) {
        self.assembly.set_max_frame_size(max);
    }

    fn push_inner(&mut self, payload: &[u8], frame: &mut BytesMut) -> Result<(), Error> {
        let (d, header) = Vp9Descriptor::parse(payload)?;
        let first = !self.assembly.started();
        self.assembly.begin_payload(d.start_of_frame)?;
        if first {
            self.picture_id = d.picture_id;
            self.assembly
                .set_keyframe(!d.inter_picture_predicted && d.layer.is_none_or(|l| l.sid == 0));
        } else {
            if d.picture_id != self.picture_id {
                return Err(malformed("the picture ID changes within a frame"));
            }
            if d.start_of_frame && self.in_layer_frame {
                return Err(Error::FrameIncomplete(Codec::Vp9));
            }
            if !d.start_of_frame && !self.in_layer_frame {
                return Err(Error::FrameStartMissing(Codec::Vp9));
            }
        }
        self.in_layer_frame = !d.end_of_frame;
        self.assembly.append(frame, &[&payload[header..]])
    }
}

impl Depacketizer for Vp9Depacketizer {
    fn codec(&self) -> Codec {
        Codec::Vp9
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        Vp9Descriptor::parse(payload).is_ok_and(|(d, _)| d.start_of_frame)
    }

    /// True at the end of a layer frame (E set) that has the marker bit.
    fn is_frame_end(&self, payload: &[u8], marker: bool) -> bool {
        marker && Vp9Descriptor::parse(payload).is_ok_and(|(d, _)| d.end_of_frame)
    }

    fn push(&mut self, payload: &[u8], frame: &mut BytesMut) -> Result<(), Error> {
        let result = self.push_inner(payload, frame);
        if result.is_err() {
            self.reset();
        }
        result
    }

    fn finish(&mut self, _frame: &mut BytesMut) -> Result<FrameInfo, Error> {
        let open = self.in_layer_frame && self.assembly.started();
        if open {
            self.reset();
            return Err(Error::FrameIncomplete(Codec::Vp9));
        }
        self.in_layer_frame = false;
        self.picture_id = None;
        self.assembly.finish()
    }

    fn reset(&mut self) {
        self.assembly.reset();
        self.in_layer_frame = false;
        self.picture_id = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_round_trip() {
        let mut ss = BytesMut::new();
        let groups = [
            Vp9PictureGroup {
                tid: 0,
                switching_up: true,
                p_diffs: &[4],
            },
            Vp9PictureGroup {
                tid: 2,
                switching_up: false,
                p_diffs: &[1, 2],
            },
        ];
        Vp9ScalabilityStructure::write(&mut ss, 2, Some(&[(320, 180), (640, 360)]), Some(&groups))
            .unwrap();
        let (parsed_ss, _) = Vp9ScalabilityStructure::parse(&ss).unwrap();
        assert_eq!(parsed_ss.spatial_layers(), 2);
        assert_eq!(
            parsed_ss.resolutions().unwrap().collect::<Vec<_>>(),
            [(320, 180), (640, 360)]
        );
        assert_eq!(
            parsed_ss.picture_groups().unwrap().collect::<Vec<_>>(),
            groups
        );
        let cases = [
            Vp9Descriptor::default(),
            Vp9Descriptor {
                inter_picture_predicted: true,
                flexible: true,
                start_of_frame: true,
                picture_id: Some(PictureId::Long(0x7001)),
                layer: Some(Vp9LayerIndices {
                    tid: 3,
                    switching_up: true,
                    sid: 2,
                    inter_layer_dependent: true,
                    tl0_pic_idx: None,
                }),
                ref_diffs: Vp9RefDiffs::new(&[1, 5, 127]).unwrap(),
                ..Vp9Descriptor::default()
            },
            Vp9Descriptor {
                end_of_frame: true,
                not_reference_for_upper: true,
                picture_id: Some(PictureId::Short(9)),
                layer: Some(Vp9LayerIndices {
                    tl0_pic_idx: Some(77),
                    ..Vp9LayerIndices::default()
                }),
                scalability_structure: Some(parsed_ss),
                ..Vp9Descriptor::default()
            },
        ];
        for d in cases {
            let mut b = BytesMut::new();
            d.write(&mut b);
            assert_eq!(b.len(), d.len());
            assert_eq!(Vp9Descriptor::parse(&b).unwrap(), (d, d.len()));
        }
    }

    #[test]
    fn keyframe_bits() {
        // pion/rtp codecs/vp9_packet_test.go: a key frame and a non-key frame header.
        assert_eq!(frame_is_keyframe(&[0x82, 0x49, 0x83, 0x42]), Some(true));
        assert_eq!(frame_is_keyframe(&[0x86, 0x00, 0x40, 0x92]), Some(false));
        assert_eq!(frame_is_keyframe(&[0x00]), None);
        assert_eq!(frame_is_keyframe(&[]), None);
    }
}
