//! Audio: one encoded frame per RTP payload (Opus, RFC 7587; PCMU, PCMA and
//! G.722, RFC 3551).
//!
//! Trivial, but explicit: a frame larger than the payload size is refused
//! (audio frames are never fragmented), and a payload is a whole frame.

use bytes::BytesMut;

use super::{packetize_with, Assembly, Codec, Depacketizer, FrameInfo, Packetizer, Payloads};
use crate::error::Error;

/// Sends each audio frame as one payload.
///
/// ```
/// use media_channels::packetizer::{AudioPacketizer, Codec, Packetizer, Payloads};
///
/// let mut packetizer = AudioPacketizer::new(Codec::Opus);
/// let mut payloads = Payloads::new();
/// packetizer.packetize(&[0xFC, 0xFF, 0xFE], 1200, &mut payloads)?;
/// assert_eq!(payloads.len(), 1);
/// assert_eq!(payloads.get(0), Some(&[0xFC, 0xFF, 0xFE][..]));
/// # Ok::<(), media_channels::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct AudioPacketizer {
    codec: Codec,
}

impl AudioPacketizer {
    /// A packetizer for `codec`, which should be an audio codec
    /// ([`Codec::is_audio`]); a video codec is treated the same way (one
    /// frame, one payload).
    pub fn new(codec: Codec) -> AudioPacketizer {
        AudioPacketizer { codec }
    }
}

impl Packetizer for AudioPacketizer {
    fn codec(&self) -> Codec {
        self.codec
    }

    fn packetize(
        &mut self,
        frame: &[u8],
        max_payload: usize,
        out: &mut Payloads,
    ) -> Result<(), Error> {
        packetize_with(out, |out| {
            if frame.is_empty() {
                return Err(Error::InvalidFrame {
                    codec: self.codec,
                    reason: "empty frame",
                });
            }
            if frame.len() > max_payload {
                return Err(Error::FrameDoesNotFit {
                    codec: self.codec,
                    len: frame.len(),
                    max_payload,
                });
            }
            out.put(frame);
            out.end_payload();
            Ok(())
        })
    }
}

/// Takes each payload as one audio frame; every frame counts as a keyframe.
#[derive(Debug, Clone)]
pub struct AudioDepacketizer {
    assembly: Assembly,
}

impl AudioDepacketizer {
    /// A depacketizer for `codec` with the default frame size limit.
    pub fn new(codec: Codec) -> AudioDepacketizer {
        AudioDepacketizer {
            assembly: Assembly::new(codec),
        }
    }

    /// Sets the largest frame accepted, in bytes.
    pub fn set_max_frame_size(&mut self, max: usize) {
        self.assembly.set_max_frame_size(max);
    }
}

impl Depacketizer for AudioDepacketizer {
    fn codec(&self) -> Codec {
        self.assembly.codec
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        !payload.is_empty()
    }

    fn is_frame_end(&self, payload: &[u8], _marker: bool) -> bool {
        !payload.is_empty()
    }

    fn push(&mut self, payload: &[u8], frame: &mut BytesMut) -> Result<(), Error> {
        let result = (|| {
            if payload.is_empty() {
                return Err(Error::PayloadTruncated(self.assembly.codec));
            }
            if self.assembly.started() {
                return Err(self
                    .assembly
                    .malformed("a second payload in a one-payload frame"));
            }
            self.assembly.begin_payload(true)?;
            self.assembly.set_keyframe(true);
            self.assembly.append(frame, &[payload])
        })();
        if result.is_err() {
            self.assembly.reset();
        }
        result
    }

    fn finish(&mut self, _frame: &mut BytesMut) -> Result<FrameInfo, Error> {
        self.assembly.finish()
    }

    fn reset(&mut self) {
        self.assembly.reset();
    }
}
