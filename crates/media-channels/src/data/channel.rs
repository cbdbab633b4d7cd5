//! One data channel (libwebrtc's `SctpDataChannel`): what the application
//! asks for ([`DataChannelInit`]), what a channel is once open
//! ([`ChannelInfo`]), the PPIDs of RFC 8831 §8, and the per-stream state
//! [`SctpTransport`](super::SctpTransport) keeps.

use std::collections::VecDeque;

use bytes::Bytes;

use super::dcep::{ChannelReliability, ChannelType, DataChannelOpen, DataChannelOpenBuilder};
use crate::error::Error;

/// PPID of a non-empty text message (WebRTC String, RFC 8831 §8).
pub const PPID_STRING: u32 = 51;
/// PPID of a non-empty binary message (WebRTC Binary).
pub const PPID_BINARY: u32 = 53;
/// PPID of an empty text message, sent as one zero byte (WebRTC String Empty).
pub const PPID_STRING_EMPTY: u32 = 56;
/// PPID of an empty binary message, sent as one zero byte (WebRTC Binary Empty).
pub const PPID_BINARY_EMPTY: u32 = 57;

/// Highest usable stream id: 65535 is reserved (RFC 8831 §6.6).
pub const MAX_CHANNEL_ID: u16 = 65534;

/// The default priority of DATA_CHANNEL_OPEN ("normal", RFC 8832 §5.1).
pub const PRIORITY_NORMAL: u16 = 256;

/// How a channel retransmits (RFC 8831 §6.1, the W3C `maxRetransmits` /
/// `maxPacketLifeTime` options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Reliability {
    /// Retransmit until delivered.
    #[default]
    Reliable,
    /// Give a message up after this many retransmissions (0: sent once).
    MaxRetransmits(u32),
    /// Give a message up once it has been this many milliseconds in flight.
    MaxPacketLifeTime(u32),
}

impl Reliability {
    /// The DCEP channel type for this reliability and `ordered`.
    pub fn channel_type(self, ordered: bool) -> ChannelType {
        let r = match self {
            Reliability::Reliable => ChannelReliability::Reliable,
            Reliability::MaxRetransmits(_) => ChannelReliability::Rexmit,
            Reliability::MaxPacketLifeTime(_) => ChannelReliability::Timed,
        };
        ChannelType::new(ordered, r)
    }

    /// The DCEP reliability parameter (0 for reliable channels).
    pub fn parameter(self) -> u32 {
        match self {
            Reliability::Reliable => 0,
            Reliability::MaxRetransmits(n) | Reliability::MaxPacketLifeTime(n) => n,
        }
    }

    /// The reliability a DATA_CHANNEL_OPEN asks for.
    pub fn from_dcep(channel_type: ChannelType, parameter: u32) -> Reliability {
        match channel_type.reliability() {
            ChannelReliability::Reliable => Reliability::Reliable,
            ChannelReliability::Rexmit => Reliability::MaxRetransmits(parameter),
            ChannelReliability::Timed => Reliability::MaxPacketLifeTime(parameter),
        }
    }

    pub(crate) fn sctp(self) -> (sctp_proto::ReliabilityType, u32) {
        match self {
            Reliability::Reliable => (sctp_proto::ReliabilityType::Reliable, 0),
            Reliability::MaxRetransmits(n) => (sctp_proto::ReliabilityType::Rexmit, n),
            Reliability::MaxPacketLifeTime(ms) => (sctp_proto::ReliabilityType::Timed, ms),
        }
    }
}

/// What [`SctpTransport::create_channel`](super::SctpTransport::create_channel)
/// opens: the W3C `RTCDataChannelInit` dictionary plus the label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelInit {
    /// The label (at most 65 535 bytes of UTF-8).
    pub label: String,
    /// The sub-protocol, empty for none (at most 65 535 bytes).
    pub protocol: String,
    /// Deliver in order (default true).
    pub ordered: bool,
    /// Give a message up after this many retransmissions.
    pub max_retransmits: Option<u16>,
    /// Give a message up after this many milliseconds. At most one of this
    /// and `max_retransmits` may be set.
    pub max_packet_life_time: Option<u16>,
    /// `Some(id)`: negotiated out of band on stream `id` (both sides create
    /// the channel with the same id and options, no DCEP is sent);
    /// `None`: opened in band with DATA_CHANNEL_OPEN on an id of our parity.
    pub negotiated: Option<u16>,
    /// DCEP priority (default 256, "normal"); carried, not yet scheduled on.
    pub priority: u16,
}

impl Default for DataChannelInit {
    fn default() -> Self {
        DataChannelInit {
            label: String::new(),
            protocol: String::new(),
            ordered: true,
            max_retransmits: None,
            max_packet_life_time: None,
            negotiated: None,
            priority: PRIORITY_NORMAL,
        }
    }
}

impl DataChannelInit {
    /// A reliable, ordered, in-band channel with this label.
    pub fn new(label: impl Into<String>) -> Self {
        DataChannelInit {
            label: label.into(),
            ..DataChannelInit::default()
        }
    }

    /// The reliability these options ask for; [`Error::InvalidInput`] when
    /// both limits are set, or a label or protocol is too long for DCEP.
    pub fn reliability(&self) -> Result<Reliability, Error> {
        if self.label.len() > usize::from(u16::MAX) || self.protocol.len() > usize::from(u16::MAX) {
            return Err(Error::InvalidInput(
                "data channel label or protocol longer than 65535 bytes",
            ));
        }
        match (self.max_retransmits, self.max_packet_life_time) {
            (Some(_), Some(_)) => Err(Error::InvalidInput(
                "max_retransmits and max_packet_life_time are mutually exclusive",
            )),
            (Some(n), None) => Ok(Reliability::MaxRetransmits(n.into())),
            (None, Some(ms)) => Ok(Reliability::MaxPacketLifeTime(ms.into())),
            (None, None) => Ok(Reliability::Reliable),
        }
    }
}

/// A data channel as both sides agreed on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    /// The SCTP stream id.
    pub id: u16,
    /// The label.
    pub label: String,
    /// The sub-protocol (empty for none).
    pub protocol: String,
    /// Ordered delivery.
    pub ordered: bool,
    /// Retransmission policy.
    pub reliability: Reliability,
    /// DCEP priority.
    pub priority: u16,
    /// Negotiated out of band (no DCEP).
    pub negotiated: bool,
    /// Opened by the peer's DATA_CHANNEL_OPEN (false: by us).
    pub remote: bool,
}

impl ChannelInfo {
    pub(crate) fn from_open(id: u16, open: &DataChannelOpen<'_>) -> ChannelInfo {
        let channel_type = open.channel_type();
        ChannelInfo {
            id,
            label: open.label().to_owned(),
            protocol: open.protocol().to_owned(),
            ordered: channel_type.is_ordered(),
            reliability: Reliability::from_dcep(channel_type, open.reliability_parameter()),
            priority: open.priority(),
            negotiated: false,
            remote: true,
        }
    }

    pub(crate) fn open_builder(&self) -> DataChannelOpenBuilder<'_> {
        DataChannelOpenBuilder {
            channel_type: self.reliability.channel_type(self.ordered),
            priority: self.priority,
            reliability_parameter: self.reliability.parameter(),
            label: &self.label,
            protocol: &self.protocol,
        }
    }
}

/// Where a stream stands, as [`SctpTransport`](super::SctpTransport) tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Created locally before the association was up; opens when it is.
    Pending,
    /// We sent DATA_CHANNEL_OPEN: open for sending (ordered until the ACK,
    /// RFC 8832 §6), the first incoming message is read eagerly.
    AwaitAck,
    /// Open both ways.
    Open,
    /// `close` reset our outgoing stream; `ChannelClosed` follows the
    /// peer's reciprocal reset.
    Closing,
    /// Data arrived on a stream that is no channel (yet): a negotiated
    /// channel the application has not created. Kept in a small stash.
    Unconfigured,
}

/// One message read from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Received {
    pub(crate) binary: bool,
    pub(crate) data: Bytes,
}

/// A stream [`SctpTransport`](super::SctpTransport) knows about.
#[derive(Debug)]
pub(crate) struct Entry {
    /// `None` only in [`State::Unconfigured`].
    pub(crate) info: Option<ChannelInfo>,
    pub(crate) state: State,
    /// Messages read before the channel could deliver them (data that
    /// implicitly acknowledged our OPEN, or arrived on an unconfigured
    /// stream), oldest first; bounded by `stash_bytes`.
    pub(crate) stash: VecDeque<Received>,
    pub(crate) stash_bytes: usize,
    /// Queued in the transport's readable list.
    pub(crate) readable: bool,
    /// The buffered-amount-low threshold, applied when the stream opens.
    pub(crate) low_threshold: usize,
    /// The application has sent on this channel. Until then the only bytes
    /// buffered are DCEP's, whose acknowledgement is no application event.
    pub(crate) sent: bool,
}

impl Entry {
    pub(crate) fn new(info: Option<ChannelInfo>, state: State) -> Entry {
        Entry {
            info,
            state,
            stash: VecDeque::new(),
            stash_bytes: 0,
            readable: false,
            low_threshold: 0,
            sent: false,
        }
    }
}

/// The PPID for a message of `len` bytes (an empty one goes out as one
/// placeholder byte with the empty PPID).
pub(crate) fn ppid_for(binary: bool, len: usize) -> sctp_proto::PayloadProtocolIdentifier {
    use sctp_proto::PayloadProtocolIdentifier as P;
    match (binary, len == 0) {
        (true, false) => P::Binary,
        (true, true) => P::BinaryEmpty,
        (false, false) => P::String,
        (false, true) => P::StringEmpty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_reliability() {
        let mut init = DataChannelInit::new("x");
        assert_eq!(init.reliability(), Ok(Reliability::Reliable));
        init.max_retransmits = Some(0);
        assert_eq!(init.reliability(), Ok(Reliability::MaxRetransmits(0)));
        init.max_packet_life_time = Some(5);
        assert!(matches!(init.reliability(), Err(Error::InvalidInput(_))));
        init.max_retransmits = None;
        assert_eq!(init.reliability(), Ok(Reliability::MaxPacketLifeTime(5)));
    }

    #[test]
    fn reliability_to_dcep_and_back() {
        for r in [
            Reliability::Reliable,
            Reliability::MaxRetransmits(3),
            Reliability::MaxPacketLifeTime(150),
        ] {
            for ordered in [true, false] {
                let t = r.channel_type(ordered);
                assert_eq!(t.is_ordered(), ordered);
                assert_eq!(Reliability::from_dcep(t, r.parameter()), r);
            }
        }
    }

    #[test]
    fn ppids_match_rfc_8831() {
        use sctp_proto::PayloadProtocolIdentifier as P;
        assert_eq!(ppid_for(false, 3) as u32, PPID_STRING);
        assert_eq!(ppid_for(true, 3) as u32, PPID_BINARY);
        assert_eq!(ppid_for(false, 0) as u32, PPID_STRING_EMPTY);
        assert_eq!(ppid_for(true, 0) as u32, PPID_BINARY_EMPTY);
        assert_eq!(P::Dcep as u32, super::super::dcep::PPID_DCEP);
    }
}
