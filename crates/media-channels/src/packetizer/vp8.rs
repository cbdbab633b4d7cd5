//! VP8 (RFC 7741): the payload descriptor, the packetizer and the
//! depacketizer.
//!
//! ```text
//!       0 1 2 3 4 5 6 7
//!      +-+-+-+-+-+-+-+-+
//!      |X|R|N|S|R| PID | (REQUIRED)
//!      +-+-+-+-+-+-+-+-+
//! X:   |I|L|T|K| RSV   | (OPTIONAL)
//!      +-+-+-+-+-+-+-+-+
//! I:   |M| PictureID   | (OPTIONAL, 7 or 15 bits)
//!      +-+-+-+-+-+-+-+-+
//! L:   |   TL0PICIDX   | (OPTIONAL)
//!      +-+-+-+-+-+-+-+-+
//! T/K: |TID|Y| KEYIDX  | (OPTIONAL)
//!      +-+-+-+-+-+-+-+-+
//! ```

use bytes::BytesMut;

use super::{
    packetize_with, split_even, Assembly, Codec, Depacketizer, FrameInfo, Packetizer, Payloads,
    PictureId,
};
use crate::error::Error;

/// The VP8 payload descriptor (RFC 7741 §4.2), as read from or written to
/// the start of a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vp8Descriptor {
    /// N: the frame can be discarded without affecting any other frame.
    pub non_reference: bool,
    /// S: the payload starts a VP8 partition.
    pub start_of_partition: bool,
    /// PID: the partition index, 0–7.
    pub partition_index: u8,
    /// I: the picture ID.
    pub picture_id: Option<PictureId>,
    /// L: the temporal layer zero index.
    pub tl0_pic_idx: Option<u8>,
    /// T: the temporal layer index (0–3) and the Y (layer sync) bit.
    pub temporal: Option<(u8, bool)>,
    /// K: the temporal key frame index, 0–31.
    pub key_idx: Option<u8>,
}

impl Vp8Descriptor {
    /// Reads the descriptor at the start of `payload`; returns it and its
    /// length. The frame data follows it.
    pub fn parse(payload: &[u8]) -> Result<(Vp8Descriptor, usize), Error> {
        let truncated = Error::PayloadTruncated(Codec::Vp8);
        let first = *payload.first().ok_or(truncated)?;
        let mut d = Vp8Descriptor {
            non_reference: first & 0x20 != 0,
            start_of_partition: first & 0x10 != 0,
            partition_index: first & 0x07,
            ..Vp8Descriptor::default()
        };
        let mut pos = 1;
        if first & 0x80 != 0 {
            let ext = *payload.get(pos).ok_or(truncated)?;
            pos += 1;
            if ext & 0x80 != 0 {
                let id = PictureId::parse(&payload[pos..]).ok_or(truncated)?;
                pos += id.wire_len();
                d.picture_id = Some(id);
            }
            if ext & 0x40 != 0 {
                d.tl0_pic_idx = Some(*payload.get(pos).ok_or(truncated)?);
                pos += 1;
            }
            if ext & 0x30 != 0 {
                let b = *payload.get(pos).ok_or(truncated)?;
                pos += 1;
                if ext & 0x20 != 0 {
                    d.temporal = Some((b >> 6, b & 0x20 != 0));
                }
                if ext & 0x10 != 0 {
                    d.key_idx = Some(b & 0x1F);
                }
            }
        }
        Ok((d, pos))
    }

    /// True when the payload starts a frame: S set, partition 0.
    pub fn starts_frame(&self) -> bool {
        self.start_of_partition && self.partition_index == 0
    }

    fn has_extension(&self) -> bool {
        self.picture_id.is_some()
            || self.tl0_pic_idx.is_some()
            || self.temporal.is_some()
            || self.key_idx.is_some()
    }

    /// Bytes [`write`](Self::write) appends.
    pub fn len(&self) -> usize {
        if !self.has_extension() {
            return 1;
        }
        2 + self.picture_id.map_or(0, PictureId::wire_len)
            + usize::from(self.tl0_pic_idx.is_some())
            + usize::from(self.temporal.is_some() || self.key_idx.is_some())
    }

    /// Always false: a descriptor has at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Appends the descriptor to `out`. Out-of-range fields are masked to
    /// their widths.
    pub fn write(&self, out: &mut BytesMut) {
        let x = self.has_extension();
        out.extend_from_slice(&[u8::from(x) << 7
            | u8::from(self.non_reference) << 5
            | u8::from(self.start_of_partition) << 4
            | (self.partition_index & 0x07)]);
        if !x {
            return;
        }
        out.extend_from_slice(&[u8::from(self.picture_id.is_some()) << 7
            | u8::from(self.tl0_pic_idx.is_some()) << 6
            | u8::from(self.temporal.is_some()) << 5
            | u8::from(self.key_idx.is_some()) << 4]);
        if let Some(id) = self.picture_id {
            id.write(out);
        }
        if let Some(idx) = self.tl0_pic_idx {
            out.extend_from_slice(&[idx]);
        }
        if self.temporal.is_some() || self.key_idx.is_some() {
            let (tid, y) = self.temporal.unwrap_or((0, false));
            out.extend_from_slice(&[(tid & 0x03) << 6
                | u8::from(y) << 5
                | (self.key_idx.unwrap_or(0) & 0x1F)]);
        }
    }
}

/// Splits VP8 frames into payloads, all in partition 0 (as libwebrtc does),
/// with sizes as even as the payload size allows.
///
/// The descriptor fields other than S and PID come from the public fields;
/// the picture ID, when present, advances by one after every frame.
///
/// ```
/// use media_channels::packetizer::{
///     Depacketizer, Packetizer, Payloads, PictureId, Vp8Depacketizer, Vp8Packetizer,
/// };
///
/// // A keyframe's first bytes: the frame tag with P = 0, the start code.
/// let mut frame = vec![0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01];
/// frame.resize(3000, 0xAB);
///
/// let mut packetizer = Vp8Packetizer::with_picture_id(PictureId::Long(0x1234));
/// let mut payloads = Payloads::new();
/// packetizer.packetize(&frame, 1100, &mut payloads)?;
/// assert_eq!(payloads.len(), 3);
/// assert!(payloads.iter().all(|p| p.data.len() <= 1100));
/// assert!(payloads.iter().last().unwrap().marker);
///
/// let mut depacketizer = Vp8Depacketizer::new();
/// let mut out = bytes::BytesMut::new();
/// let info = depacketizer.depacketize(payloads.iter().map(|p| p.data), &mut out)?;
/// assert!(info.keyframe);
/// assert_eq!(&out[..], &frame[..]);
/// # Ok::<(), media_channels::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Vp8Packetizer {
    /// The picture ID of the next frame (none: no I field).
    pub picture_id: Option<PictureId>,
    /// TL0PICIDX for the next frame.
    pub tl0_pic_idx: Option<u8>,
    /// TID and Y for the next frame.
    pub temporal: Option<(u8, bool)>,
    /// KEYIDX for the next frame.
    pub key_idx: Option<u8>,
    /// The N bit for the next frame.
    pub non_reference: bool,
}

impl Vp8Packetizer {
    /// A packetizer writing the one-byte descriptor only.
    pub fn new() -> Vp8Packetizer {
        Vp8Packetizer::default()
    }

    /// A packetizer writing picture IDs, starting at `first` (RFC 7741
    /// recommends a random start; pass one from the stream's seeded RNG).
    pub fn with_picture_id(first: PictureId) -> Vp8Packetizer {
        Vp8Packetizer {
            picture_id: Some(first),
            ..Vp8Packetizer::default()
        }
    }
}

impl Packetizer for Vp8Packetizer {
    fn codec(&self) -> Codec {
        Codec::Vp8
    }

    fn packetize(
        &mut self,
        frame: &[u8],
        max_payload: usize,
        out: &mut Payloads,
    ) -> Result<(), Error> {
        let mut descriptor = Vp8Descriptor {
            non_reference: self.non_reference,
            start_of_partition: true,
            partition_index: 0,
            picture_id: self.picture_id,
            tl0_pic_idx: self.tl0_pic_idx,
            temporal: self.temporal,
            key_idx: self.key_idx,
        };
        packetize_with(out, |out| {
            if frame.is_empty() {
                return Err(Error::InvalidFrame {
                    codec: Codec::Vp8,
                    reason: "empty frame",
                });
            }
            let header = descriptor.len();
            if max_payload <= header {
                return Err(Error::PayloadSizeTooSmall(max_payload));
            }
            for range in split_even(frame.len(), max_payload - header) {
                descriptor.write(out.buf());
                out.put(&frame[range]);
                out.end_payload();
                descriptor.start_of_partition = false;
            }
            Ok(())
        })?;
        self.picture_id = self.picture_id.map(PictureId::next);
        Ok(())
    }
}

/// Reassembles VP8 frames.
///
/// The first payload must start partition 0 (S = 1, PID = 0); the frame is a
/// keyframe when the P bit of the VP8 payload header (the frame tag's lowest
/// bit, RFC 7741 §4.3) is 0. Every payload must carry at least one byte of
/// frame data, and all payloads of a frame the same picture ID.
#[derive(Debug, Clone)]
pub struct Vp8Depacketizer {
    assembly: Assembly,
    picture_id: Option<PictureId>,
}

impl Default for Vp8Depacketizer {
    fn default() -> Self {
        Vp8Depacketizer::new()
    }
}

impl Vp8Depacketizer {
    /// A depacketizer with the default frame size limit.
    pub fn new() -> Vp8Depacketizer {
        Vp8Depacketizer {
            assembly: Assembly::new(Codec::Vp8),
            picture_id: None,
        }
    }

    /// Sets the largest frame accepted, in bytes.
    pub fn set_max_frame_size(&mut self, max: usize) {
        self.assembly.set_max_frame_size(max);
    }

    fn push_inner(&mut self, payload: &[u8], frame: &mut BytesMut) -> Result<(), Error> {
        let (descriptor, header) = Vp8Descriptor::parse(payload)?;
        let data = &payload[header..];
        let Some(&tag) = data.first() else {
            return Err(self
                .assembly
                .malformed("no frame data after the descriptor"));
        };
        let first = !self.assembly.started();
        self.assembly.begin_payload(descriptor.starts_frame())?;
        if first {
            self.picture_id = descriptor.picture_id;
            self.assembly.set_keyframe(tag & 0x01 == 0);
        } else if descriptor.picture_id != self.picture_id {
            return Err(self
                .assembly
                .malformed("the picture ID changes within a frame"));
        }
        self.assembly.append(frame, &[data])
    }
}

impl Depacketizer for Vp8Depacketizer {
    fn codec(&self) -> Codec {
        Codec::Vp8
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        Vp8Descriptor::parse(payload).is_ok_and(|(d, len)| d.starts_frame() && len < payload.len())
    }

    fn push(&mut self, payload: &[u8], frame: &mut BytesMut) -> Result<(), Error> {
        let result = self.push_inner(payload, frame);
        if result.is_err() {
            self.reset();
        }
        result
    }

    fn finish(&mut self, _frame: &mut BytesMut) -> Result<FrameInfo, Error> {
        self.picture_id = None;
        self.assembly.finish()
    }

    fn reset(&mut self) {
        self.assembly.reset();
        self.picture_id = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_round_trip() {
        let cases = [
            Vp8Descriptor::default(),
            Vp8Descriptor {
                start_of_partition: true,
                picture_id: Some(PictureId::Short(17)),
                ..Vp8Descriptor::default()
            },
            Vp8Descriptor {
                non_reference: true,
                partition_index: 5,
                picture_id: Some(PictureId::Long(0x7ABC)),
                tl0_pic_idx: Some(200),
                temporal: Some((2, true)),
                key_idx: Some(31),
                ..Vp8Descriptor::default()
            },
            Vp8Descriptor {
                key_idx: Some(3),
                ..Vp8Descriptor::default()
            },
        ];
        for d in cases {
            let mut b = BytesMut::new();
            d.write(&mut b);
            assert_eq!(b.len(), d.len());
            assert_eq!(Vp8Descriptor::parse(&b).unwrap(), (d, d.len()));
        }
    }
}
