//! Packetizers and depacketizers: encoded frames to RTP payloads and back.
//!
//! A media channel's boundary is the encoded frame (an Opus packet, a VP8,
//! VP9, H.264 or AV1 frame); the codecs themselves are out of scope. This
//! module splits such a frame into RTP payloads no larger than a given size
//! and reassembles frames from the payloads that arrive:
//!
//! | format | packetizer | depacketizer | keyframe from | spec |
//! |---|---|---|---|---|
//! | Opus, PCMU, PCMA, G.722 | [`AudioPacketizer`] | [`AudioDepacketizer`] | (every frame) | RFC 7587, 3551 |
//! | VP8 | [`Vp8Packetizer`] | [`Vp8Depacketizer`] | payload header P bit | RFC 7741 |
//! | VP9 | [`Vp9Packetizer`] | [`Vp9Depacketizer`] | descriptor P bit, spatial layer 0 | RFC 9628 |
//! | H.264 | [`H264Packetizer`] | [`H264Depacketizer`] | an IDR NAL unit | RFC 6184 |
//! | AV1 | [`Av1Packetizer`] | [`Av1Depacketizer`] | aggregation header N bit, or sequence header + key frame header | AV1 RTP payload format |
//!
//! [`AnyPacketizer`] and [`AnyDepacketizer`] dispatch over all of them by
//! [`Codec`].
//!
//! **Sending.** [`Packetizer::packetize`] writes every payload of one frame
//! into a reusable [`Payloads`] (one `BytesMut` and one list of boundaries,
//! both kept between frames, so a warmed-up packetizer does not allocate);
//! the last payload ends the frame and goes out with the RTP marker bit.
//!
//! **Receiving.** The caller (a jitter buffer) decides which payloads form a
//! frame: consecutive sequence numbers, one RTP timestamp, ending with the
//! marker bit. It hands them in sequence order to [`Depacketizer::push`],
//! then calls [`Depacketizer::finish`], which says whether the frame is a
//! keyframe. [`Depacketizer::is_frame_start`] and
//! [`Depacketizer::is_frame_end`] tell frame boundaries from single payloads.
//! Where a payload format can tell that packets are missing (a fragment
//! without its start or end, a first payload that does not begin a frame) the
//! depacketizer returns [`Error::FrameStartMissing`] or
//! [`Error::FrameIncomplete`]; loss in the middle of a VP8 or VP9 frame can
//! only be seen in the sequence numbers, which are the caller's.
//!
//! Depacketizers never panic on any input, and never hold more than their
//! frame size limit ([`DEFAULT_MAX_FRAME_SIZE`] unless configured).

use std::ops::Range;

use bytes::BytesMut;

use crate::error::Error;

mod audio;
mod av1;
mod h264;
mod vp8;
mod vp9;

pub use audio::{AudioDepacketizer, AudioPacketizer};
pub use av1::{Av1AggregationHeader, Av1Depacketizer, Av1Packetizer, ObuType};
pub use h264::{
    annex_b_nal_units, AnnexBNalUnits, H264Depacketizer, H264PacketizationMode, H264Packetizer,
    NalUnitType,
};
pub use vp8::{Vp8Depacketizer, Vp8Descriptor, Vp8Packetizer};
pub use vp9::{
    Vp9Depacketizer, Vp9Descriptor, Vp9LayerIndices, Vp9Packetizer, Vp9PictureGroup, Vp9RefDiffs,
    Vp9ScalabilityStructure,
};

/// The default limit on a reassembled frame: 4 MiB.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 4 << 20;

/// A payload format this module packetizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// Opus (RFC 7587): one Opus packet per RTP payload.
    Opus,
    /// G.711 µ-law (RFC 3551, static payload type 0).
    Pcmu,
    /// G.711 A-law (RFC 3551, static payload type 8).
    Pcma,
    /// G.722 (RFC 3551, static payload type 9).
    G722,
    /// VP8 (RFC 7741).
    Vp8,
    /// VP9 (RFC 9628).
    Vp9,
    /// H.264 (RFC 6184).
    H264,
    /// AV1 (the AOMedia AV1 RTP payload format).
    Av1,
}

impl Codec {
    /// The encoding name as SDP writes it in `a=rtpmap`.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
            Codec::Vp8 => "VP8",
            Codec::Vp9 => "VP9",
            Codec::H264 => "H264",
            Codec::Av1 => "AV1",
        }
    }

    /// The codec for an SDP encoding name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Codec> {
        [
            Codec::Opus,
            Codec::Pcmu,
            Codec::Pcma,
            Codec::G722,
            Codec::Vp8,
            Codec::Vp9,
            Codec::H264,
            Codec::Av1,
        ]
        .into_iter()
        .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// True for the audio formats (one frame per payload).
    pub fn is_audio(self) -> bool {
        matches!(self, Codec::Opus | Codec::Pcmu | Codec::Pcma | Codec::G722)
    }
}

/// A VP8 or VP9 picture ID: 7 bits, or 15 bits on the wire with the M bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PictureId {
    /// The one-byte form, 0–127.
    Short(u8),
    /// The two-byte form, 0–32767.
    Long(u16),
}

impl PictureId {
    /// The value.
    pub fn value(self) -> u16 {
        match self {
            PictureId::Short(v) => u16::from(v & 0x7F),
            PictureId::Long(v) => v & 0x7FFF,
        }
    }

    /// The next picture's ID, wrapping in its width.
    pub fn next(self) -> PictureId {
        match self {
            PictureId::Short(v) => PictureId::Short(v.wrapping_add(1) & 0x7F),
            PictureId::Long(v) => PictureId::Long(v.wrapping_add(1) & 0x7FFF),
        }
    }

    /// Bytes on the wire.
    pub(crate) fn wire_len(self) -> usize {
        match self {
            PictureId::Short(_) => 1,
            PictureId::Long(_) => 2,
        }
    }

    /// Reads the field at the start of `data` (M bit first).
    pub(crate) fn parse(data: &[u8]) -> Option<PictureId> {
        let first = *data.first()?;
        if first & 0x80 == 0 {
            Some(PictureId::Short(first))
        } else {
            let second = *data.get(1)?;
            Some(PictureId::Long(u16::from_be_bytes([first & 0x7F, second])))
        }
    }

    pub(crate) fn write(self, out: &mut BytesMut) {
        match self {
            PictureId::Short(v) => out.extend_from_slice(&[v & 0x7F]),
            PictureId::Long(v) => out.extend_from_slice(&(0x8000 | (v & 0x7FFF)).to_be_bytes()),
        }
    }
}

/// The payloads of one frame, written back to back into one reusable buffer.
///
/// A [`Packetizer`] clears it and fills it; keep one per stream and pass it
/// for every frame, so its memory is reused. The last payload ends the frame
/// (RTP marker bit).
#[derive(Debug, Clone, Default)]
pub struct Payloads {
    buf: BytesMut,
    /// End offset of each payload in `buf`.
    ends: Vec<usize>,
}

/// One payload of a frame, borrowed from [`Payloads`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload<'a> {
    /// The payload bytes (what follows the RTP header).
    pub data: &'a [u8],
    /// True on the last payload of the frame: send it with the marker bit.
    pub marker: bool,
}

impl Payloads {
    /// An empty set.
    pub fn new() -> Payloads {
        Payloads::default()
    }

    /// An empty set with room for `bytes` bytes in `payloads` payloads.
    pub fn with_capacity(bytes: usize, payloads: usize) -> Payloads {
        Payloads {
            buf: BytesMut::with_capacity(bytes),
            ends: Vec::with_capacity(payloads),
        }
    }

    /// Removes every payload, keeping the memory.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }

    /// The number of payloads.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of all payloads together.
    pub fn total_len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Payload `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let end = *self.ends.get(index)?;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        Some(&self.buf[start..end])
    }

    /// The payloads in order, the last with `marker` set.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Payload<'_>> + '_ {
        let last = self.ends.len().saturating_sub(1);
        (0..self.ends.len()).map(move |i| Payload {
            data: self.get(i).unwrap_or_default(),
            marker: i == last,
        })
    }

    // ---- writing (packetizers) --------------------------------------------

    /// Where the payload being written began.
    fn current_start(&self) -> usize {
        self.total_len()
    }

    /// Bytes in the payload being written.
    pub(crate) fn current_len(&self) -> usize {
        self.buf.len() - self.current_start()
    }

    /// The payload being written, to patch a header written first.
    pub(crate) fn current_mut(&mut self) -> &mut [u8] {
        let start = self.current_start();
        &mut self.buf[start..]
    }

    /// The buffer to append the payload being written to.
    pub(crate) fn buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Appends bytes to the payload being written.
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Ends the payload being written.
    pub(crate) fn end_payload(&mut self) {
        self.ends.push(self.buf.len());
    }

    /// Removes bytes `at..at + n` (offsets into the payload being written),
    /// moving the bytes after them down.
    pub(crate) fn remove_current(&mut self, at: usize, n: usize) {
        let start = self.current_start() + at;
        let len = self.buf.len();
        self.buf.copy_within(start + n..len, start);
        self.buf.truncate(len - n);
    }
}

/// Splits encoded frames into RTP payloads.
pub trait Packetizer {
    /// The payload format.
    fn codec(&self) -> Codec;

    /// Clears `out` and writes into it the payloads that carry `frame`, each
    /// at most `max_payload` bytes (the RTP packet size less the RTP header,
    /// its extensions and any SRTP tag). The last payload ends the frame.
    ///
    /// On an error `out` is left empty; errors are the caller's
    /// ([`Error::is_peer_fault`] is false): an empty or malformed frame, a
    /// `max_payload` too small for the format's headers, a unit the format
    /// cannot split that does not fit.
    fn packetize(
        &mut self,
        frame: &[u8],
        max_payload: usize,
        out: &mut Payloads,
    ) -> Result<(), Error>;
}

/// What [`Depacketizer::finish`] learned about the frame it completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct FrameInfo {
    /// The frame can be decoded without earlier frames (see each
    /// depacketizer for how it decides).
    pub keyframe: bool,
    /// Bytes written into the frame buffer for this frame.
    pub len: usize,
    /// Payloads the frame was made of.
    pub payloads: usize,
}

/// Reassembles encoded frames from RTP payloads.
///
/// Push the payloads of one frame in sequence order, then call
/// [`finish`](Depacketizer::finish). After an error from
/// [`push`](Depacketizer::push) or `finish` the depacketizer has reset itself
/// and what it wrote into the frame buffer for that frame must be discarded.
pub trait Depacketizer {
    /// The payload format.
    fn codec(&self) -> Codec;

    /// True when `payload` begins a frame (so a frame may be assembled from
    /// it even if packets before it were lost).
    fn is_frame_start(&self, payload: &[u8]) -> bool;

    /// True when `payload`, sent with the RTP marker bit `marker`, ends a
    /// frame. Most formats rely on the marker alone.
    fn is_frame_end(&self, payload: &[u8], marker: bool) -> bool {
        let _ = payload;
        marker
    }

    /// Takes the next payload of the current frame and appends the frame
    /// bytes it carries to `frame`.
    fn push(&mut self, payload: &[u8], frame: &mut BytesMut) -> Result<(), Error>;

    /// Ends the current frame: checks that no fragment is left open and says
    /// whether it is a keyframe. The depacketizer is then ready for the next
    /// frame.
    fn finish(&mut self, frame: &mut BytesMut) -> Result<FrameInfo, Error>;

    /// Forgets the frame in progress.
    fn reset(&mut self);

    /// Reassembles one frame from all its payloads: clears `frame`, resets,
    /// pushes each payload and finishes. On an error `frame` is left empty.
    fn depacketize<'p, I>(&mut self, payloads: I, frame: &mut BytesMut) -> Result<FrameInfo, Error>
    where
        I: IntoIterator<Item = &'p [u8]>,
        Self: Sized,
    {
        self.reset();
        frame.clear();
        let result = payloads
            .into_iter()
            .try_for_each(|p| self.push(p, frame))
            .and_then(|()| self.finish(frame));
        if result.is_err() {
            self.reset();
            frame.clear();
        }
        result
    }
}

/// The bookkeeping every depacketizer shares: the frame size limit, what has
/// been written and the keyframe flag.
#[derive(Debug, Clone)]
pub(crate) struct Assembly {
    codec: Codec,
    max_frame_size: usize,
    written: usize,
    payloads: usize,
    keyframe: bool,
}

impl Assembly {
    pub(crate) fn new(codec: Codec) -> Assembly {
        Assembly {
            codec,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            written: 0,
            payloads: 0,
            keyframe: false,
        }
    }

    pub(crate) fn set_max_frame_size(&mut self, max: usize) {
        self.max_frame_size = max;
    }

    /// True once a payload of the current frame was taken.
    pub(crate) fn started(&self) -> bool {
        self.payloads > 0
    }

    /// Records one more payload; the first must begin a frame.
    pub(crate) fn begin_payload(&mut self, starts_frame: bool) -> Result<(), Error> {
        if self.payloads == 0 && !starts_frame {
            return Err(Error::FrameStartMissing(self.codec));
        }
        self.payloads += 1;
        Ok(())
    }

    pub(crate) fn set_keyframe(&mut self, keyframe: bool) {
        self.keyframe = keyframe;
    }

    /// `Err(FrameTooLarge)` unless `n` more bytes stay within the limit.
    pub(crate) fn check(&self, n: usize) -> Result<(), Error> {
        if n > self.max_frame_size.saturating_sub(self.written) {
            Err(Error::FrameTooLarge {
                limit: self.max_frame_size,
            })
        } else {
            Ok(())
        }
    }

    /// Appends `parts` to `frame` as one unit, within the limit.
    pub(crate) fn append(&mut self, frame: &mut BytesMut, parts: &[&[u8]]) -> Result<(), Error> {
        let n = parts.iter().map(|p| p.len()).sum();
        self.check(n)?;
        frame.reserve(n);
        for p in parts {
            frame.extend_from_slice(p);
        }
        self.written += n;
        Ok(())
    }

    /// The frame's summary, and a reset for the next; `FrameStartMissing`
    /// when nothing was pushed.
    pub(crate) fn finish(&mut self) -> Result<FrameInfo, Error> {
        if self.payloads == 0 {
            return Err(Error::FrameStartMissing(self.codec));
        }
        let info = FrameInfo {
            keyframe: self.keyframe,
            len: self.written,
            payloads: self.payloads,
        };
        self.reset();
        Ok(info)
    }

    pub(crate) fn reset(&mut self) {
        self.written = 0;
        self.payloads = 0;
        self.keyframe = false;
    }

    pub(crate) fn malformed(&self, reason: &'static str) -> Error {
        Error::PayloadMalformed {
            codec: self.codec,
            reason,
        }
    }
}

/// Splits `len` bytes into the fewest chunks of at most `cap` bytes, sizes
/// differing by at most one (so the last packet is not a runt). `cap` > 0.
pub(crate) fn split_even(len: usize, cap: usize) -> impl Iterator<Item = Range<usize>> {
    let n = len.div_ceil(cap).max(1);
    let base = len / n;
    let extra = len % n;
    (0..n).scan(0, move |start, i| {
        let size = base + usize::from(i < extra);
        let range = *start..*start + size;
        *start += size;
        Some(range)
    })
}

/// Packetizes `frame` with `packetize`, leaving `out` empty on an error.
pub(crate) fn packetize_with(
    out: &mut Payloads,
    packetize: impl FnOnce(&mut Payloads) -> Result<(), Error>,
) -> Result<(), Error> {
    out.clear();
    let result = packetize(out);
    if result.is_err() {
        out.clear();
    }
    result
}

/// Any packetizer, chosen by [`Codec`] at run time.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyPacketizer {
    /// Opus, PCMU, PCMA, G.722.
    Audio(AudioPacketizer),
    /// VP8.
    Vp8(Vp8Packetizer),
    /// VP9.
    Vp9(Vp9Packetizer),
    /// H.264.
    H264(H264Packetizer),
    /// AV1.
    Av1(Av1Packetizer),
}

impl AnyPacketizer {
    /// The packetizer for `codec` with its defaults (VP8 and VP9 with a
    /// 15-bit picture ID starting at `initial_picture_id`, H.264 in
    /// packetization-mode 1).
    pub fn new(codec: Codec, initial_picture_id: u16) -> AnyPacketizer {
        match codec {
            Codec::Vp8 => AnyPacketizer::Vp8(Vp8Packetizer::with_picture_id(PictureId::Long(
                initial_picture_id,
            ))),
            Codec::Vp9 => AnyPacketizer::Vp9(Vp9Packetizer::new(initial_picture_id)),
            Codec::H264 => {
                AnyPacketizer::H264(H264Packetizer::new(H264PacketizationMode::NonInterleaved))
            }
            Codec::Av1 => AnyPacketizer::Av1(Av1Packetizer::new()),
            audio => AnyPacketizer::Audio(AudioPacketizer::new(audio)),
        }
    }

    fn inner(&mut self) -> &mut dyn Packetizer {
        match self {
            AnyPacketizer::Audio(p) => p,
            AnyPacketizer::Vp8(p) => p,
            AnyPacketizer::Vp9(p) => p,
            AnyPacketizer::H264(p) => p,
            AnyPacketizer::Av1(p) => p,
        }
    }
}

impl Packetizer for AnyPacketizer {
    fn codec(&self) -> Codec {
        match self {
            AnyPacketizer::Audio(p) => p.codec(),
            AnyPacketizer::Vp8(_) => Codec::Vp8,
            AnyPacketizer::Vp9(_) => Codec::Vp9,
            AnyPacketizer::H264(_) => Codec::H264,
            AnyPacketizer::Av1(_) => Codec::Av1,
        }
    }

    fn packetize(
        &mut self,
        frame: &[u8],
        max_payload: usize,
        out: &mut Payloads,
    ) -> Result<(), Error> {
        self.inner().packetize(frame, max_payload, out)
    }
}

/// Any depacketizer, chosen by [`Codec`] at run time.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyDepacketizer {
    /// Opus, PCMU, PCMA, G.722.
    Audio(AudioDepacketizer),
    /// VP8.
    Vp8(Vp8Depacketizer),
    /// VP9.
    Vp9(Vp9Depacketizer),
    /// H.264.
    H264(H264Depacketizer),
    /// AV1.
    Av1(Av1Depacketizer),
}

impl AnyDepacketizer {
    /// The depacketizer for `codec` with the default frame size limit.
    pub fn new(codec: Codec) -> AnyDepacketizer {
        match codec {
            Codec::Vp8 => AnyDepacketizer::Vp8(Vp8Depacketizer::new()),
            Codec::Vp9 => AnyDepacketizer::Vp9(Vp9Depacketizer::new()),
            Codec::H264 => AnyDepacketizer::H264(H264Depacketizer::new()),
            Codec::Av1 => AnyDepacketizer::Av1(Av1Depacketizer::new()),
            audio => AnyDepacketizer::Audio(AudioDepacketizer::new(audio)),
        }
    }

    /// The same with a frame size limit of `max_frame_size` bytes.
    pub fn with_max_frame_size(codec: Codec, max_frame_size: usize) -> AnyDepacketizer {
        let mut d = AnyDepacketizer::new(codec);
        match &mut d {
            AnyDepacketizer::Audio(x) => x.set_max_frame_size(max_frame_size),
            AnyDepacketizer::Vp8(x) => x.set_max_frame_size(max_frame_size),
            AnyDepacketizer::Vp9(x) => x.set_max_frame_size(max_frame_size),
            AnyDepacketizer::H264(x) => x.set_max_frame_size(max_frame_size),
            AnyDepacketizer::Av1(x) => x.set_max_frame_size(max_frame_size),
        }
        d
    }

    fn inner(&self) -> &dyn Depacketizer {
        match self {
            AnyDepacketizer::Audio(d) => d,
            AnyDepacketizer::Vp8(d) => d,
            AnyDepacketizer::Vp9(d) => d,
            AnyDepacketizer::H264(d) => d,
            AnyDepacketizer::Av1(d) => d,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn Depacketizer {
        match self {
            AnyDepacketizer::Audio(d) => d,
            AnyDepacketizer::Vp8(d) => d,
            AnyDepacketizer::Vp9(d) => d,
            AnyDepacketizer::H264(d) => d,
            AnyDepacketizer::Av1(d) => d,
        }
    }
}

impl Depacketizer for AnyDepacketizer {
    fn codec(&self) -> Codec {
        self.inner().codec()
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        self.inner().is_frame_start(payload)
    }

    fn is_frame_end(&self, payload: &[u8], marker: bool) -> bool {
        self.inner().is_frame_end(payload, marker)
    }

    fn push(&mut self, payload: &[u8], frame: &mut BytesMut) -> Result<(), Error> {
        self.inner_mut().push(payload, frame)
    }

    fn finish(&mut self, frame: &mut BytesMut) -> Result<FrameInfo, Error> {
        self.inner_mut().finish(frame)
    }

    fn reset(&mut self) {
        self.inner_mut().reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_even_sizes() {
        for len in 1..200 {
            for cap in 1..40 {
                let parts: Vec<_> = split_even(len, cap).collect();
                assert_eq!(parts.len(), len.div_ceil(cap));
                assert_eq!(parts.first().unwrap().start, 0);
                assert_eq!(parts.last().unwrap().end, len);
                for w in parts.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                }
                let max = parts.iter().map(|r| r.len()).max().unwrap();
                let min = parts.iter().map(|r| r.len()).min().unwrap();
                assert!(max <= cap && min >= 1 && max - min <= 1);
            }
        }
    }

    #[test]
    fn picture_id_wraps() {
        assert_eq!(PictureId::Short(127).next(), PictureId::Short(0));
        assert_eq!(PictureId::Long(0x7FFF).next(), PictureId::Long(0));
        let mut b = BytesMut::new();
        PictureId::Long(0x1234).write(&mut b);
        assert_eq!(PictureId::parse(&b), Some(PictureId::Long(0x1234)));
        assert_eq!(PictureId::parse(&[0x80]), None);
    }

    #[test]
    fn codec_names() {
        assert_eq!(Codec::from_name("h264"), Some(Codec::H264));
        assert_eq!(Codec::from_name("OPUS"), Some(Codec::Opus));
        assert_eq!(Codec::from_name("x"), None);
    }
}
