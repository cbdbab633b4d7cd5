//! The header extensions WebRTC negotiates, typed: each kind's URI, its value
//! read from and written to bytes, and the [`ExtensionMap`] from the local ids
//! of `a=extmap` to kinds.
//!
//! ```
//! use media_channels::rtp::extensions::{uri, AudioLevel, ExtensionMap, ExtensionValue, Mid};
//! use media_channels::rtp::{ExtensionElement, RtpBuilder, RtpPacket};
//!
//! let mut map = ExtensionMap::new();
//! map.register_uri(1, uri::AUDIO_LEVEL)?;
//! map.register_uri(4, uri::MID)?;
//!
//! let mut level = [0u8; 1];
//! AudioLevel { voice_activity: true, level: 30 }.write(&mut level)?;
//! let exts = [
//!     ExtensionElement::new(map.id_of::<AudioLevel>().unwrap(), &level),
//!     ExtensionElement::new(map.id_of::<Mid<'_>>().unwrap(), b"audio"),
//! ];
//! let mut buf = [0u8; 64];
//! let n = RtpBuilder { extensions: &exts, ..RtpBuilder::new(111, 1, 0, 5) }.write(&mut buf, &[])?;
//!
//! let packet = RtpPacket::parse(&buf[..n])?;
//! assert_eq!(map.get::<AudioLevel>(&packet), Some(Ok(AudioLevel { voice_activity: true, level: 30 })));
//! assert_eq!(map.get::<Mid<'_>>(&packet), Some(Ok(Mid("audio"))));
//! # Ok::<(), media_channels::Error>(())
//! ```

use std::fmt;
use std::time::Duration;

use super::packet::RtpPacket;
use super::stats::NtpTime;
use crate::error::{check_room, Error};

/// The URIs of the extensions in [`ExtensionKind`], as `a=extmap` names them.
pub mod uri {
    /// RFC 8843 media identification (`a=mid`).
    pub const MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
    /// RFC 8852 RtpStreamId (simulcast `rid`).
    pub const RTP_STREAM_ID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
    /// RFC 8852 RepairedRtpStreamId (the `rid` an RTX/FEC stream repairs).
    pub const REPAIRED_RTP_STREAM_ID: &str =
        "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
    /// libwebrtc's absolute send time.
    pub const ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
    /// draft-holmer-rmcat-transport-wide-cc-extensions-01 sequence number.
    pub const TRANSPORT_WIDE_CC: &str =
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    /// RFC 6464 client-to-mixer audio level.
    pub const AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
    /// 3GPP TS 26.114 coordination of video orientation (CVO).
    pub const VIDEO_ORIENTATION: &str = "urn:3gpp:video-orientation";
    /// libwebrtc's playout delay limits.
    pub const PLAYOUT_DELAY: &str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
}

/// A header extension this crate knows by URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ExtensionKind {
    /// [`Mid`].
    Mid,
    /// [`RtpStreamId`].
    RtpStreamId,
    /// [`RepairedRtpStreamId`].
    RepairedRtpStreamId,
    /// [`AbsSendTime`].
    AbsSendTime,
    /// [`TransportSequenceNumber`].
    TransportWideCc,
    /// [`AudioLevel`].
    AudioLevel,
    /// [`VideoOrientation`].
    VideoOrientation,
    /// [`PlayoutDelay`].
    PlayoutDelay,
}

impl ExtensionKind {
    /// Every kind, in declaration order.
    pub const ALL: [ExtensionKind; 8] = [
        ExtensionKind::Mid,
        ExtensionKind::RtpStreamId,
        ExtensionKind::RepairedRtpStreamId,
        ExtensionKind::AbsSendTime,
        ExtensionKind::TransportWideCc,
        ExtensionKind::AudioLevel,
        ExtensionKind::VideoOrientation,
        ExtensionKind::PlayoutDelay,
    ];

    /// The URI `a=extmap` uses for this kind.
    pub fn uri(self) -> &'static str {
        match self {
            ExtensionKind::Mid => uri::MID,
            ExtensionKind::RtpStreamId => uri::RTP_STREAM_ID,
            ExtensionKind::RepairedRtpStreamId => uri::REPAIRED_RTP_STREAM_ID,
            ExtensionKind::AbsSendTime => uri::ABS_SEND_TIME,
            ExtensionKind::TransportWideCc => uri::TRANSPORT_WIDE_CC,
            ExtensionKind::AudioLevel => uri::AUDIO_LEVEL,
            ExtensionKind::VideoOrientation => uri::VIDEO_ORIENTATION,
            ExtensionKind::PlayoutDelay => uri::PLAYOUT_DELAY,
        }
    }

    /// The kind with this URI, if this crate knows it.
    pub fn from_uri(uri: &str) -> Option<ExtensionKind> {
        ExtensionKind::ALL.into_iter().find(|k| k.uri() == uri)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A typed header extension value: how it is read from and written to an
/// element's bytes.
pub trait ExtensionValue<'a>: Sized {
    /// The kind this value belongs to.
    const KIND: ExtensionKind;

    /// Reads the value from an element's bytes; `Err(BadExtensionValue)` when
    /// they do not have the kind's form.
    fn parse(data: &'a [u8]) -> Result<Self, Error>;

    /// Bytes [`ExtensionValue::write`] writes.
    fn encoded_len(&self) -> usize;

    /// Writes the value at the start of `out`; returns its length.
    /// `Err(InvalidInput)` for a value the wire form cannot carry.
    fn write(&self, out: &mut [u8]) -> Result<usize, Error>;
}

/// Reads an RFC 8852/8843 SDES-style string: non-empty, cut at a NUL (which
/// libwebrtc tolerates as a terminator), UTF-8.
fn parse_text(data: &[u8], kind: ExtensionKind) -> Result<&str, Error> {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    if end == 0 {
        return Err(Error::BadExtensionValue(kind));
    }
    std::str::from_utf8(&data[..end]).map_err(|_| Error::BadExtensionValue(kind))
}

fn write_text(text: &str, out: &mut [u8]) -> Result<usize, Error> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() > 255 || bytes.contains(&0) {
        return Err(Error::InvalidInput(
            "extension text must be 1-255 bytes without NUL",
        ));
    }
    check_room(out, bytes.len())?;
    out[..bytes.len()].copy_from_slice(bytes);
    Ok(bytes.len())
}

/// RFC 8851 §10: `rid-id = 1*(alpha-numeric / "-" / "_")`.
fn is_rid(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! text_extension {
    ($(#[$doc:meta])* $name:ident, $kind:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name<'a>(pub &'a str);

        impl<'a> ExtensionValue<'a> for $name<'a> {
            const KIND: ExtensionKind = ExtensionKind::$kind;

            fn parse(data: &'a [u8]) -> Result<Self, Error> {
                parse_text(data, Self::KIND).map($name)
            }

            fn encoded_len(&self) -> usize {
                self.0.len()
            }

            fn write(&self, out: &mut [u8]) -> Result<usize, Error> {
                let check: fn(&str) -> bool = $check;
                if !check(self.0) {
                    return Err(Error::InvalidInput("rid must be alphanumeric, '-' or '_'"));
                }
                write_text(self.0, out)
            }
        }
    };
}

text_extension!(
    /// The media identification (`a=mid`) of the m-section a packet belongs to
    /// (RFC 8843 §15). Parsed values are any non-empty UTF-8, cut at a NUL.
    Mid,
    Mid,
    |_| true
);
text_extension!(
    /// The simulcast stream (`rid`) a packet belongs to (RFC 8852 §3.1).
    /// Written values must follow the RFC 8851 `rid-id` grammar.
    RtpStreamId,
    RtpStreamId,
    is_rid
);
text_extension!(
    /// The `rid` of the stream a repair (RTX, FEC) packet repairs (RFC 8852 §3.2).
    RepairedRtpStreamId,
    RepairedRtpStreamId,
    is_rid
);

/// libwebrtc's absolute send time: the send time in seconds as 6.18 fixed
/// point, 24 bits (wraps every 64 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AbsSendTime(pub u32);

impl AbsSendTime {
    /// The bits of an NTP time that make up the value (6 bits of seconds, 18 of fraction).
    pub fn from_ntp(ntp: NtpTime) -> AbsSendTime {
        AbsSendTime(((ntp.0 >> 14) & 0x00FF_FFFF) as u32)
    }

    /// The value for a send time measured from any epoch (wraps every 64 s).
    pub fn from_duration(since_epoch: Duration) -> AbsSendTime {
        let units = (since_epoch.as_nanos() << 18) / 1_000_000_000;
        AbsSendTime((units & 0x00FF_FFFF) as u32)
    }

    /// The value as a duration within its 64 s period, rounded up to the
    /// nanosecond (so [`AbsSendTime::from_duration`] gives the value back).
    pub fn to_duration(self) -> Duration {
        let units = u64::from(self.0 & 0x00FF_FFFF);
        Duration::from_nanos((units * 1_000_000_000).div_ceil(1 << 18))
    }
}

impl ExtensionValue<'_> for AbsSendTime {
    const KIND: ExtensionKind = ExtensionKind::AbsSendTime;

    fn parse(data: &[u8]) -> Result<Self, Error> {
        match data {
            [a, b, c] => Ok(AbsSendTime(u32::from_be_bytes([0, *a, *b, *c]))),
            _ => Err(Error::BadExtensionValue(Self::KIND)),
        }
    }

    fn encoded_len(&self) -> usize {
        3
    }

    fn write(&self, out: &mut [u8]) -> Result<usize, Error> {
        if self.0 > 0x00FF_FFFF {
            return Err(Error::InvalidInput("abs-send-time above 24 bits"));
        }
        check_room(out, 3)?;
        out[..3].copy_from_slice(&self.0.to_be_bytes()[1..]);
        Ok(3)
    }
}

/// The transport-wide sequence number that transport-cc feedback refers to
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransportSequenceNumber(pub u16);

impl TransportSequenceNumber {
    /// The two wire bytes.
    pub fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }
}

impl ExtensionValue<'_> for TransportSequenceNumber {
    const KIND: ExtensionKind = ExtensionKind::TransportWideCc;

    fn parse(data: &[u8]) -> Result<Self, Error> {
        match data {
            [a, b] => Ok(TransportSequenceNumber(u16::from_be_bytes([*a, *b]))),
            _ => Err(Error::BadExtensionValue(Self::KIND)),
        }
    }

    fn encoded_len(&self) -> usize {
        2
    }

    fn write(&self, out: &mut [u8]) -> Result<usize, Error> {
        check_room(out, 2)?;
        out[..2].copy_from_slice(&self.to_bytes());
        Ok(2)
    }
}

/// RFC 6464 audio level: the voice activity flag and the level in −dBov (0–127,
/// 127 = silence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudioLevel {
    /// The V bit: the sender's voice activity detection found speech.
    pub voice_activity: bool,
    /// Level in −dBov, 0 (loudest) to 127 (silence).
    pub level: u8,
}

impl ExtensionValue<'_> for AudioLevel {
    const KIND: ExtensionKind = ExtensionKind::AudioLevel;

    fn parse(data: &[u8]) -> Result<Self, Error> {
        match data {
            [b] => Ok(AudioLevel {
                voice_activity: b & 0x80 != 0,
                level: b & 0x7F,
            }),
            _ => Err(Error::BadExtensionValue(Self::KIND)),
        }
    }

    fn encoded_len(&self) -> usize {
        1
    }

    fn write(&self, out: &mut [u8]) -> Result<usize, Error> {
        if self.level > 0x7F {
            return Err(Error::InvalidInput("audio level above 127"));
        }
        check_room(out, 1)?;
        out[0] = self.level | if self.voice_activity { 0x80 } else { 0 };
        Ok(1)
    }
}

/// Clockwise rotation the receiver applies before rendering (3GPP TS 26.114 §7.4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rotation {
    /// 0°.
    #[default]
    Deg0,
    /// 90°.
    Deg90,
    /// 180°.
    Deg180,
    /// 270°.
    Deg270,
}

impl Rotation {
    /// The rotation in degrees.
    pub fn degrees(self) -> u16 {
        match self {
            Rotation::Deg0 => 0,
            Rotation::Deg90 => 90,
            Rotation::Deg180 => 180,
            Rotation::Deg270 => 270,
        }
    }

    fn from_bits(bits: u8) -> Rotation {
        match bits & 0b11 {
            0 => Rotation::Deg0,
            1 => Rotation::Deg90,
            2 => Rotation::Deg180,
            _ => Rotation::Deg270,
        }
    }

    fn bits(self) -> u8 {
        match self {
            Rotation::Deg0 => 0,
            Rotation::Deg90 => 1,
            Rotation::Deg180 => 2,
            Rotation::Deg270 => 3,
        }
    }
}

/// Coordination of video orientation (CVO, 3GPP TS 26.114 §7.4.5): one byte
/// `0 0 0 0 C F R1 R0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VideoOrientation {
    /// C: the back-facing camera (false: front-facing or unknown).
    pub back_camera: bool,
    /// F: flip horizontally before rotating.
    pub flip: bool,
    /// R1 R0: the rotation.
    pub rotation: Rotation,
}

impl VideoOrientation {
    /// The wire byte.
    pub fn to_byte(self) -> u8 {
        (u8::from(self.back_camera) << 3) | (u8::from(self.flip) << 2) | self.rotation.bits()
    }
}

impl ExtensionValue<'_> for VideoOrientation {
    const KIND: ExtensionKind = ExtensionKind::VideoOrientation;

    fn parse(data: &[u8]) -> Result<Self, Error> {
        // The four high bits are reserved; like libwebrtc, ignore them.
        match data {
            [b] => Ok(VideoOrientation {
                back_camera: b & 0x08 != 0,
                flip: b & 0x04 != 0,
                rotation: Rotation::from_bits(*b),
            }),
            _ => Err(Error::BadExtensionValue(Self::KIND)),
        }
    }

    fn encoded_len(&self) -> usize {
        1
    }

    fn write(&self, out: &mut [u8]) -> Result<usize, Error> {
        check_room(out, 1)?;
        out[0] = self.to_byte();
        Ok(1)
    }
}

/// libwebrtc's playout delay limits: minimum and maximum delay the receiver
/// should render with, 12 bits each in units of 10 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlayoutDelay {
    /// Minimum delay, in 10 ms units (0–4095).
    pub min: u16,
    /// Maximum delay, in 10 ms units (0–4095, not below `min`).
    pub max: u16,
}

impl PlayoutDelay {
    /// Largest value of either field.
    pub const MAX_VALUE: u16 = 0x0FFF;

    /// The minimum as a duration.
    pub fn min_duration(self) -> Duration {
        Duration::from_millis(u64::from(self.min) * 10)
    }

    /// The maximum as a duration.
    pub fn max_duration(self) -> Duration {
        Duration::from_millis(u64::from(self.max) * 10)
    }
}

impl ExtensionValue<'_> for PlayoutDelay {
    const KIND: ExtensionKind = ExtensionKind::PlayoutDelay;

    fn parse(data: &[u8]) -> Result<Self, Error> {
        let [a, b, c] = data else {
            return Err(Error::BadExtensionValue(Self::KIND));
        };
        let min = (u16::from(*a) << 4) | u16::from(b >> 4);
        let max = (u16::from(b & 0x0F) << 8) | u16::from(*c);
        if min > max {
            // libwebrtc refuses limits with min above max.
            return Err(Error::BadExtensionValue(Self::KIND));
        }
        Ok(PlayoutDelay { min, max })
    }

    fn encoded_len(&self) -> usize {
        3
    }

    fn write(&self, out: &mut [u8]) -> Result<usize, Error> {
        if self.min > Self::MAX_VALUE || self.max > Self::MAX_VALUE || self.min > self.max {
            return Err(Error::InvalidInput(
                "playout delay needs min <= max <= 4095",
            ));
        }
        check_room(out, 3)?;
        out[0] = (self.min >> 4) as u8;
        out[1] = (((self.min & 0x0F) << 4) | (self.max >> 8)) as u8;
        out[2] = self.max as u8;
        Ok(3)
    }
}

/// The negotiated `a=extmap` table: local id ↔ [`ExtensionKind`], both ways
/// in constant time. Ids 1–255 (1–14 for the one-byte form).
#[derive(Clone, PartialEq, Eq)]
pub struct ExtensionMap {
    by_id: [Option<ExtensionKind>; 256],
    by_kind: [u8; ExtensionKind::ALL.len()],
}

impl Default for ExtensionMap {
    fn default() -> Self {
        ExtensionMap::new()
    }
}

impl ExtensionMap {
    /// An empty map.
    pub fn new() -> ExtensionMap {
        ExtensionMap {
            by_id: [None; 256],
            by_kind: [0; ExtensionKind::ALL.len()],
        }
    }

    /// Maps `id` to `kind`. Registering the same pair twice is fine;
    /// `Err(ExtensionMapConflict)` when the id has another kind or the kind
    /// another id, `Err(InvalidInput)` for id 0.
    pub fn register(&mut self, id: u8, kind: ExtensionKind) -> Result<(), Error> {
        if id == 0 {
            return Err(Error::InvalidInput("header extension id 0 is reserved"));
        }
        match (self.by_id[usize::from(id)], self.by_kind[kind.index()]) {
            (Some(k), _) if k != kind => Err(Error::ExtensionMapConflict(id)),
            (_, other) if other != 0 && other != id => Err(Error::ExtensionMapConflict(id)),
            _ => {
                self.by_id[usize::from(id)] = Some(kind);
                self.by_kind[kind.index()] = id;
                Ok(())
            }
        }
    }

    /// Maps `id` to the kind named by `uri`. `Ok(None)` (and nothing
    /// registered) for a URI this crate does not know.
    pub fn register_uri(&mut self, id: u8, uri: &str) -> Result<Option<ExtensionKind>, Error> {
        let Some(kind) = ExtensionKind::from_uri(uri) else {
            return Ok(None);
        };
        self.register(id, kind).map(|()| Some(kind))
    }

    /// Removes `kind`; returns the id it had.
    pub fn unregister(&mut self, kind: ExtensionKind) -> Option<u8> {
        let id = std::mem::take(&mut self.by_kind[kind.index()]);
        if id == 0 {
            return None;
        }
        self.by_id[usize::from(id)] = None;
        Some(id)
    }

    /// The id of `kind`, if registered.
    pub fn id(&self, kind: ExtensionKind) -> Option<u8> {
        match self.by_kind[kind.index()] {
            0 => None,
            id => Some(id),
        }
    }

    /// The id of the kind of `T`, if registered.
    pub fn id_of<'a, T: ExtensionValue<'a>>(&self) -> Option<u8> {
        self.id(T::KIND)
    }

    /// The kind registered at `id`.
    pub fn kind(&self, id: u8) -> Option<ExtensionKind> {
        self.by_id[usize::from(id)]
    }

    /// The registrations, by increasing id.
    pub fn iter(&self) -> impl Iterator<Item = (u8, ExtensionKind)> + '_ {
        (0..=u8::MAX).filter_map(|id| self.kind(id).map(|k| (id, k)))
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.by_kind.iter().all(|&id| id == 0)
    }

    /// Reads `T` from `packet`: `None` when `T`'s kind is not registered or
    /// the packet does not carry it, `Some(Err)` when it carries a malformed value.
    pub fn get<'a, T: ExtensionValue<'a>>(
        &self,
        packet: &RtpPacket<'a>,
    ) -> Option<Result<T, Error>> {
        let id = self.id(T::KIND)?;
        packet.extension(id).map(T::parse)
    }
}

impl fmt::Debug for ExtensionMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<'a, T: ExtensionValue<'a> + PartialEq + fmt::Debug>(value: T, buf: &'a mut [u8]) {
        let n = value.write(buf).unwrap();
        assert_eq!(n, value.encoded_len());
        assert_eq!(T::parse(&buf[..n]).unwrap(), value);
    }

    #[test]
    fn uris_round_trip() {
        for kind in ExtensionKind::ALL {
            assert_eq!(ExtensionKind::from_uri(kind.uri()), Some(kind));
        }
        assert_eq!(
            ExtensionKind::from_uri("urn:ietf:params:rtp-hdrext:toffset"),
            None
        );
    }

    #[test]
    fn strings() {
        // libwebrtc rtp_packet_unittest.cc kPacketWithMid / kPacketWithRsid values.
        assert_eq!(Mid::parse(b"mid"), Ok(Mid("mid")));
        assert_eq!(RtpStreamId::parse(b"streamid"), Ok(RtpStreamId("streamid")));
        // NUL-terminated values are cut (libwebrtc tolerates them).
        assert_eq!(Mid::parse(b"ab\0\0"), Ok(Mid("ab")));
        assert_eq!(
            Mid::parse(b"\0ab"),
            Err(Error::BadExtensionValue(ExtensionKind::Mid))
        );
        assert_eq!(
            RepairedRtpStreamId::parse(&[0xff, 0xfe]),
            Err(Error::BadExtensionValue(ExtensionKind::RepairedRtpStreamId))
        );
        let mut buf = [0u8; 300];
        round_trip(RepairedRtpStreamId("hi-res_1"), &mut buf);
        assert!(RtpStreamId("no spaces").write(&mut buf).is_err());
        assert!(Mid("").write(&mut buf).is_err());
        assert!(Mid(&"x".repeat(256)).write(&mut buf).is_err());
        let mut small = [0u8; 2];
        assert_eq!(
            Mid("abc").write(&mut small),
            Err(Error::BufferTooSmall {
                needed: 3,
                available: 2
            })
        );
    }

    #[test]
    fn abs_send_time() {
        // 6.18 fixed point: 1.5 s is 0x060000.
        let t = AbsSendTime::from_duration(Duration::from_millis(1500));
        assert_eq!(t, AbsSendTime(0x06_0000));
        assert_eq!(t.to_duration(), Duration::from_millis(1500));
        // Wraps every 64 s.
        assert_eq!(AbsSendTime::from_duration(Duration::from_millis(65_500)), t);
        // From NTP: 1.5 s is seconds 1, fraction 0x8000_0000.
        assert_eq!(AbsSendTime::from_ntp(NtpTime((1 << 32) | 0x8000_0000)), t);
        assert_eq!(AbsSendTime::parse(&[0x06, 0, 0]), Ok(t));
        assert!(AbsSendTime::parse(&[0x06, 0]).is_err());
        assert!(AbsSendTime(1 << 24).write(&mut [0u8; 3]).is_err());
        round_trip(AbsSendTime(0xAB_CDEF), &mut [0u8; 3]);
    }

    #[test]
    fn transport_sequence_number() {
        assert_eq!(
            TransportSequenceNumber::parse(&[0x12, 0x34]),
            Ok(TransportSequenceNumber(0x1234))
        );
        assert!(TransportSequenceNumber::parse(&[0x12, 0x34, 0x56, 0x78]).is_err());
        round_trip(TransportSequenceNumber(65535), &mut [0u8; 2]);
    }

    #[test]
    fn audio_level() {
        // libwebrtc's kPacketWithTOAndAL: voice active, level 0x5a as 0xda.
        assert_eq!(
            AudioLevel::parse(&[0xda]),
            Ok(AudioLevel {
                voice_activity: true,
                level: 0x5a
            })
        );
        assert!(AudioLevel::parse(&[0xda, 0]).is_err());
        assert!(AudioLevel {
            voice_activity: false,
            level: 128
        }
        .write(&mut [0u8; 1])
        .is_err());
        round_trip(
            AudioLevel {
                voice_activity: false,
                level: 127,
            },
            &mut [0u8; 1],
        );
    }

    #[test]
    fn video_orientation() {
        // C=1 F=0 R=01 (90°): 0b1001.
        let cvo = VideoOrientation::parse(&[0x09]).unwrap();
        assert!(cvo.back_camera && !cvo.flip);
        assert_eq!(cvo.rotation.degrees(), 90);
        // Reserved high bits are ignored.
        assert_eq!(VideoOrientation::parse(&[0xF9]), Ok(cvo));
        for byte in 0..16u8 {
            let v = VideoOrientation::parse(&[byte]).unwrap();
            assert_eq!(v.to_byte(), byte);
        }
    }

    #[test]
    fn playout_delay() {
        // libwebrtc kPacketWithTwoByteExtensionIdLast: 0x00 0x30 0x22 is 30 ms / 340 ms.
        let d = PlayoutDelay::parse(&[0x00, 0x30, 0x22]).unwrap();
        assert_eq!(d, PlayoutDelay { min: 3, max: 34 });
        assert_eq!(d.min_duration(), Duration::from_millis(30));
        assert_eq!(d.max_duration(), Duration::from_millis(340));
        let mut buf = [0u8; 3];
        d.write(&mut buf).unwrap();
        assert_eq!(buf, [0x00, 0x30, 0x22]);
        round_trip(
            PlayoutDelay {
                min: 4095,
                max: 4095,
            },
            &mut buf,
        );
        assert!(PlayoutDelay::parse(&[0x01, 0x00, 0x00]).is_err());
        assert!(PlayoutDelay { min: 5, max: 4 }.write(&mut buf).is_err());
        assert!(PlayoutDelay { min: 0, max: 4096 }.write(&mut buf).is_err());
    }

    #[test]
    fn map() {
        let mut map = ExtensionMap::new();
        assert!(map.is_empty());
        assert_eq!(
            map.register_uri(3, uri::ABS_SEND_TIME),
            Ok(Some(ExtensionKind::AbsSendTime))
        );
        assert_eq!(map.register_uri(4, "urn:example:unknown"), Ok(None));
        map.register(5, ExtensionKind::TransportWideCc).unwrap();
        // Same pair again: fine. Conflicts either way: refused.
        map.register(5, ExtensionKind::TransportWideCc).unwrap();
        assert_eq!(
            map.register(5, ExtensionKind::Mid),
            Err(Error::ExtensionMapConflict(5))
        );
        assert_eq!(
            map.register(6, ExtensionKind::TransportWideCc),
            Err(Error::ExtensionMapConflict(6))
        );
        assert!(map.register(0, ExtensionKind::Mid).is_err());
        assert_eq!(map.id(ExtensionKind::AbsSendTime), Some(3));
        assert_eq!(map.id_of::<TransportSequenceNumber>(), Some(5));
        assert_eq!(map.kind(5), Some(ExtensionKind::TransportWideCc));
        assert_eq!(
            map.iter().collect::<Vec<_>>(),
            [
                (3, ExtensionKind::AbsSendTime),
                (5, ExtensionKind::TransportWideCc)
            ]
        );
        assert_eq!(map.unregister(ExtensionKind::AbsSendTime), Some(3));
        assert_eq!(map.unregister(ExtensionKind::AbsSendTime), None);
        assert_eq!(map.kind(3), None);
        map.register(200, ExtensionKind::PlayoutDelay).unwrap();
        assert_eq!(
            format!("{map:?}"),
            "{5: TransportWideCc, 200: PlayoutDelay}"
        );
    }
}
