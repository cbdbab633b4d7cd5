//! The Data Channel Establishment Protocol (RFC 8832): DATA_CHANNEL_OPEN and
//! DATA_CHANNEL_ACK as zero-copy views and builders into a caller's buffer.
//!
//! DCEP messages travel on the data channel's own SCTP stream with PPID 50
//! ([`PPID_DCEP`]), reliable and ordered. [`DcepMessage::parse`] validates a
//! message once (type, channel type, lengths, UTF-8 of label and protocol);
//! the accessors of the resulting [`DataChannelOpen`] read the borrowed bytes
//! and cannot panic.
//!
//! ```
//! use media_channels::data::dcep::{ChannelType, DataChannelOpenBuilder, DcepMessage};
//!
//! let open = DataChannelOpenBuilder {
//!     channel_type: ChannelType::PartialReliableRexmitUnordered,
//!     priority: 256,
//!     reliability_parameter: 3,
//!     label: "chat",
//!     protocol: "x-json",
//! };
//! let mut buf = [0u8; 64];
//! let len = open.write(&mut buf)?;
//!
//! let DcepMessage::Open(view) = DcepMessage::parse(&buf[..len])? else { unreachable!() };
//! assert_eq!(view.channel_type(), ChannelType::PartialReliableRexmitUnordered);
//! assert!(!view.channel_type().is_ordered());
//! assert_eq!(view.reliability_parameter(), 3);
//! assert_eq!(view.label(), "chat");
//! assert_eq!(view.protocol(), "x-json");
//! # Ok::<(), media_channels::Error>(())
//! ```

use std::fmt;

use crate::error::{check_room, Error};

/// SCTP payload protocol identifier of DCEP messages (RFC 8832 §8.1).
pub const PPID_DCEP: u32 = 50;
/// Message type of DATA_CHANNEL_OPEN (RFC 8832 §8.2.1).
pub const MESSAGE_TYPE_OPEN: u8 = 0x03;
/// Message type of DATA_CHANNEL_ACK.
pub const MESSAGE_TYPE_ACK: u8 = 0x02;
/// Length of DATA_CHANNEL_OPEN before its label and protocol.
pub const OPEN_HEADER_LEN: usize = 12;
/// Length of DATA_CHANNEL_ACK.
pub const ACK_LEN: usize = 1;

/// The channel type of a DATA_CHANNEL_OPEN (RFC 8832 §5.1, §8.2.2): the
/// reliability mode and, in the high bit, unordered delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelType {
    /// 0x00: reliable, ordered.
    Reliable,
    /// 0x80: reliable, unordered.
    ReliableUnordered,
    /// 0x01: ordered, at most `reliability_parameter` retransmissions.
    PartialReliableRexmit,
    /// 0x81: unordered, at most `reliability_parameter` retransmissions.
    PartialReliableRexmitUnordered,
    /// 0x02: ordered, retransmitted for at most `reliability_parameter` ms.
    PartialReliableTimed,
    /// 0x82: unordered, retransmitted for at most `reliability_parameter` ms.
    PartialReliableTimedUnordered,
}

impl ChannelType {
    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            ChannelType::Reliable => 0x00,
            ChannelType::ReliableUnordered => 0x80,
            ChannelType::PartialReliableRexmit => 0x01,
            ChannelType::PartialReliableRexmitUnordered => 0x81,
            ChannelType::PartialReliableTimed => 0x02,
            ChannelType::PartialReliableTimedUnordered => 0x82,
        }
    }

    /// The channel type with wire value `v`; `Err(DcepUnknownChannelType)`
    /// for any other value.
    pub fn from_u8(v: u8) -> Result<ChannelType, Error> {
        Ok(match v {
            0x00 => ChannelType::Reliable,
            0x80 => ChannelType::ReliableUnordered,
            0x01 => ChannelType::PartialReliableRexmit,
            0x81 => ChannelType::PartialReliableRexmitUnordered,
            0x02 => ChannelType::PartialReliableTimed,
            0x82 => ChannelType::PartialReliableTimedUnordered,
            other => return Err(Error::DcepUnknownChannelType(other)),
        })
    }

    /// The type for an ordering and a reliability mode.
    pub fn new(ordered: bool, reliability: ChannelReliability) -> ChannelType {
        match (ordered, reliability) {
            (true, ChannelReliability::Reliable) => ChannelType::Reliable,
            (false, ChannelReliability::Reliable) => ChannelType::ReliableUnordered,
            (true, ChannelReliability::Rexmit) => ChannelType::PartialReliableRexmit,
            (false, ChannelReliability::Rexmit) => ChannelType::PartialReliableRexmitUnordered,
            (true, ChannelReliability::Timed) => ChannelType::PartialReliableTimed,
            (false, ChannelReliability::Timed) => ChannelType::PartialReliableTimedUnordered,
        }
    }

    /// True for the ordered types (high bit clear).
    pub fn is_ordered(self) -> bool {
        self.to_u8() & 0x80 == 0
    }

    /// The reliability mode, without the ordering bit.
    pub fn reliability(self) -> ChannelReliability {
        match self.to_u8() & 0x7F {
            0x01 => ChannelReliability::Rexmit,
            0x02 => ChannelReliability::Timed,
            _ => ChannelReliability::Reliable,
        }
    }
}

/// The reliability half of a [`ChannelType`]: what the reliability parameter means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelReliability {
    /// Fully reliable; the parameter is ignored (sent as 0).
    Reliable,
    /// Partially reliable: the parameter is the retransmission limit.
    Rexmit,
    /// Partially reliable: the parameter is the lifetime in milliseconds.
    Timed,
}

/// A validated DCEP message: what [`DcepMessage::parse`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DcepMessage<'a> {
    /// DATA_CHANNEL_OPEN.
    Open(DataChannelOpen<'a>),
    /// DATA_CHANNEL_ACK.
    Ack,
}

impl<'a> DcepMessage<'a> {
    /// Validates `data` as exactly one DCEP message (the payload of one SCTP
    /// message with PPID 50).
    ///
    /// Errors: [`Error::DcepTruncated`] for an empty message or an OPEN
    /// shorter than its 12-byte header, [`Error::DcepUnknownMessageType`],
    /// [`Error::DcepUnknownChannelType`], [`Error::DcepLengthMismatch`] when
    /// label and protocol lengths do not add up to the bytes present (or an
    /// ACK carries more than its one byte), [`Error::DcepInvalidUtf8`].
    pub fn parse(data: &'a [u8]) -> Result<DcepMessage<'a>, Error> {
        match data.first() {
            None => Err(Error::DcepTruncated(0)),
            Some(&MESSAGE_TYPE_OPEN) => DataChannelOpen::parse(data).map(DcepMessage::Open),
            Some(&MESSAGE_TYPE_ACK) => {
                if data.len() != ACK_LEN {
                    return Err(Error::DcepLengthMismatch {
                        declared: ACK_LEN,
                        available: data.len(),
                    });
                }
                Ok(DcepMessage::Ack)
            }
            Some(&other) => Err(Error::DcepUnknownMessageType(other)),
        }
    }
}

/// A validated, borrowed DATA_CHANNEL_OPEN (RFC 8832 §5.1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Message Type |  Channel Type |            Priority           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Reliability Parameter                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Label Length          |       Protocol Length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 Label (UTF-8) … | Protocol (UTF-8) …          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DataChannelOpen<'a> {
    buf: &'a [u8],
    channel_type: ChannelType,
    label_len: u16,
}

impl<'a> DataChannelOpen<'a> {
    /// Validates `data` as exactly one DATA_CHANNEL_OPEN; see [`DcepMessage::parse`].
    pub fn parse(data: &'a [u8]) -> Result<DataChannelOpen<'a>, Error> {
        if data.len() < OPEN_HEADER_LEN {
            return Err(Error::DcepTruncated(data.len()));
        }
        if data[0] != MESSAGE_TYPE_OPEN {
            return Err(Error::DcepUnknownMessageType(data[0]));
        }
        let channel_type = ChannelType::from_u8(data[1])?;
        let label_len = u16::from_be_bytes([data[8], data[9]]);
        let protocol_len = u16::from_be_bytes([data[10], data[11]]);
        let declared = OPEN_HEADER_LEN + label_len as usize + protocol_len as usize;
        if declared != data.len() {
            return Err(Error::DcepLengthMismatch {
                declared,
                available: data.len(),
            });
        }
        let label_end = OPEN_HEADER_LEN + label_len as usize;
        if std::str::from_utf8(&data[OPEN_HEADER_LEN..label_end]).is_err()
            || std::str::from_utf8(&data[label_end..]).is_err()
        {
            return Err(Error::DcepInvalidUtf8);
        }
        Ok(DataChannelOpen {
            buf: data,
            channel_type,
            label_len,
        })
    }

    /// The message bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// The channel type.
    pub fn channel_type(&self) -> ChannelType {
        self.channel_type
    }

    /// The priority (RFC 8832 §5.1: 128 below normal, 256 normal, 512 high, 1024 extra high).
    pub fn priority(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }

    /// The reliability parameter: retransmissions or lifetime in ms, by
    /// channel type; meaningless for reliable channels.
    pub fn reliability_parameter(&self) -> u32 {
        u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]])
    }

    fn label_bytes(&self) -> &'a [u8] {
        let end = OPEN_HEADER_LEN + self.label_len as usize;
        self.buf.get(OPEN_HEADER_LEN..end).unwrap_or_default()
    }

    fn protocol_bytes(&self) -> &'a [u8] {
        let start = OPEN_HEADER_LEN + self.label_len as usize;
        self.buf.get(start..).unwrap_or_default()
    }

    /// The label (validated UTF-8).
    pub fn label(&self) -> &'a str {
        std::str::from_utf8(self.label_bytes()).unwrap_or_default()
    }

    /// The sub-protocol (validated UTF-8; empty when none).
    pub fn protocol(&self) -> &'a str {
        std::str::from_utf8(self.protocol_bytes()).unwrap_or_default()
    }

    /// The fields as a builder, e.g. to re-encode.
    pub fn to_builder(&self) -> DataChannelOpenBuilder<'a> {
        DataChannelOpenBuilder {
            channel_type: self.channel_type(),
            priority: self.priority(),
            reliability_parameter: self.reliability_parameter(),
            label: self.label(),
            protocol: self.protocol(),
        }
    }
}

impl fmt::Debug for DataChannelOpen<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataChannelOpen")
            .field("channel_type", &self.channel_type())
            .field("priority", &self.priority())
            .field("reliability_parameter", &self.reliability_parameter())
            .field("label", &self.label())
            .field("protocol", &self.protocol())
            .finish()
    }
}

/// The fields of a DATA_CHANNEL_OPEN to write; [`DataChannelOpenBuilder::write`]
/// lays them out in a caller's buffer without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataChannelOpenBuilder<'a> {
    /// Ordering and reliability mode.
    pub channel_type: ChannelType,
    /// Priority (256 is "normal").
    pub priority: u16,
    /// Retransmissions or lifetime in ms; write 0 for reliable channels.
    pub reliability_parameter: u32,
    /// The label, at most 65 535 bytes.
    pub label: &'a str,
    /// The sub-protocol, at most 65 535 bytes.
    pub protocol: &'a str,
}

impl DataChannelOpenBuilder<'_> {
    /// Length of the encoded message.
    pub fn encoded_len(&self) -> usize {
        OPEN_HEADER_LEN + self.label.len() + self.protocol.len()
    }

    /// Writes the message at the start of `buf` and returns its length.
    /// [`Error::InvalidInput`] when the label or protocol is longer than
    /// 65 535 bytes, [`Error::BufferTooSmall`] when `buf` cannot hold it.
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let label_len = u16::try_from(self.label.len())
            .map_err(|_| Error::InvalidInput("data channel label longer than 65535 bytes"))?;
        let protocol_len = u16::try_from(self.protocol.len())
            .map_err(|_| Error::InvalidInput("data channel protocol longer than 65535 bytes"))?;
        let len = self.encoded_len();
        check_room(buf, len)?;
        buf[0] = MESSAGE_TYPE_OPEN;
        buf[1] = self.channel_type.to_u8();
        buf[2..4].copy_from_slice(&self.priority.to_be_bytes());
        buf[4..8].copy_from_slice(&self.reliability_parameter.to_be_bytes());
        buf[8..10].copy_from_slice(&label_len.to_be_bytes());
        buf[10..12].copy_from_slice(&protocol_len.to_be_bytes());
        let label_end = OPEN_HEADER_LEN + self.label.len();
        buf[OPEN_HEADER_LEN..label_end].copy_from_slice(self.label.as_bytes());
        buf[label_end..len].copy_from_slice(self.protocol.as_bytes());
        Ok(len)
    }
}

/// Writes a DATA_CHANNEL_ACK at the start of `buf`; returns its length (1).
pub fn write_ack(buf: &mut [u8]) -> Result<usize, Error> {
    check_room(buf, ACK_LEN)?;
    buf[0] = MESSAGE_TYPE_ACK;
    Ok(ACK_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ChannelType; 6] = [
        ChannelType::Reliable,
        ChannelType::ReliableUnordered,
        ChannelType::PartialReliableRexmit,
        ChannelType::PartialReliableRexmitUnordered,
        ChannelType::PartialReliableTimed,
        ChannelType::PartialReliableTimedUnordered,
    ];

    #[test]
    fn channel_types_round_trip() {
        for t in ALL {
            assert_eq!(ChannelType::from_u8(t.to_u8()), Ok(t));
            assert_eq!(ChannelType::new(t.is_ordered(), t.reliability()), t);
        }
        for v in 0..=255u8 {
            if !ALL.iter().any(|t| t.to_u8() == v) {
                assert_eq!(
                    ChannelType::from_u8(v),
                    Err(Error::DcepUnknownChannelType(v))
                );
            }
        }
    }

    #[test]
    fn open_bytes_match_rfc_layout() {
        let b = DataChannelOpenBuilder {
            channel_type: ChannelType::PartialReliableTimed,
            priority: 512,
            reliability_parameter: 1500,
            label: "ab",
            protocol: "c",
        };
        let mut buf = [0u8; 15];
        assert_eq!(b.write(&mut buf), Ok(15));
        assert_eq!(
            buf,
            [3, 0x02, 0x02, 0x00, 0, 0, 0x05, 0xDC, 0, 2, 0, 1, b'a', b'b', b'c']
        );
        let DcepMessage::Open(open) = DcepMessage::parse(&buf).unwrap() else {
            panic!("not an open")
        };
        assert_eq!(open.to_builder(), b);
        let mut small = [0u8; 14];
        assert_eq!(
            b.write(&mut small),
            Err(Error::BufferTooSmall {
                needed: 15,
                available: 14
            })
        );
    }

    #[test]
    fn ack() {
        let mut buf = [9u8; 1];
        assert_eq!(write_ack(&mut buf), Ok(1));
        assert_eq!(DcepMessage::parse(&buf), Ok(DcepMessage::Ack));
        assert_eq!(
            DcepMessage::parse(&[2, 0]),
            Err(Error::DcepLengthMismatch {
                declared: 1,
                available: 2
            })
        );
    }

    #[test]
    fn malformed() {
        assert_eq!(DcepMessage::parse(&[]), Err(Error::DcepTruncated(0)));
        assert_eq!(
            DcepMessage::parse(&[7]),
            Err(Error::DcepUnknownMessageType(7))
        );
        assert_eq!(
            DcepMessage::parse(&[3, 0, 0, 0]),
            Err(Error::DcepTruncated(4))
        );
        assert_eq!(
            DcepMessage::parse(&[3, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(Error::DcepUnknownChannelType(0x40))
        );
        // Label length 3, only 2 bytes present.
        assert_eq!(
            DcepMessage::parse(&[3, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, b'a', b'b']),
            Err(Error::DcepLengthMismatch {
                declared: 15,
                available: 14
            })
        );
        // Trailing byte.
        assert_eq!(
            DcepMessage::parse(&[3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(Error::DcepLengthMismatch {
                declared: 12,
                available: 13
            })
        );
        assert_eq!(
            DcepMessage::parse(&[3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xFF]),
            Err(Error::DcepInvalidUtf8)
        );
        for e in [
            Error::DcepTruncated(0),
            Error::DcepUnknownMessageType(1),
            Error::DcepUnknownChannelType(3),
            Error::DcepInvalidUtf8,
        ] {
            assert!(e.is_peer_fault());
        }
    }

    #[test]
    fn over_long_label_is_the_callers_fault() {
        let label = "x".repeat(70_000);
        let b = DataChannelOpenBuilder {
            channel_type: ChannelType::Reliable,
            priority: 256,
            reliability_parameter: 0,
            label: &label,
            protocol: "",
        };
        let mut buf = vec![0u8; 80_000];
        let e = b.write(&mut buf).unwrap_err();
        assert!(!e.is_peer_fault());
    }
}
