//! The crate's one error type.

use crate::packetizer::Codec;
use crate::rtp::extensions::ExtensionKind;

/// Everything that can go wrong in this crate.
///
/// Variants carry only small `Copy` data, so producing an error on a hot path
/// never allocates. Errors caused by the peer (malformed RTP or RTCP from the
/// wire) are distinct from errors caused by the caller (a buffer too small, a
/// builder input the wire format cannot carry); see [`Error::is_peer_fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- RTP, from the wire -------------------------------------------------
    /// Fewer bytes than the 12-byte fixed RTP header.
    #[error("input of {0} bytes is shorter than an RTP header")]
    RtpTooShort(usize),
    /// The version field (first two bits) is not 2, in RTP or RTCP.
    #[error("version {0}, expected 2")]
    BadVersion(u8),
    /// The CSRC count names more CSRCs than the packet holds.
    #[error("{0} CSRCs do not fit in the packet")]
    CsrcsTruncated(u8),
    /// The X bit is set but the extension header or its declared length runs
    /// past the end of the packet.
    #[error("the RTP header extension runs past the end of the packet")]
    ExtensionTruncated,
    /// An RFC 8285 extension element (this id) runs past the end of the
    /// extension block.
    #[error("header extension element {0} runs past the end of the extension block")]
    ExtensionElementTruncated(u8),
    /// The P bit is set but the padding count is zero or larger than the bytes
    /// it may cover (RTP: everything after the header; RTCP: the packet body).
    #[error("padding count {padding} is invalid with {available} bytes to pad")]
    BadPadding {
        /// The count from the last byte.
        padding: u8,
        /// The bytes the padding may cover.
        available: usize,
    },
    /// A header extension's value does not have the form its kind requires.
    #[error("malformed {0:?} header extension value")]
    BadExtensionValue(ExtensionKind),

    // ---- RTCP, from the wire ------------------------------------------------
    /// Fewer bytes left than an RTCP common header (4 bytes), or an empty compound packet.
    #[error("{0} bytes left: shorter than an RTCP header")]
    RtcpTooShort(usize),
    /// An RTCP packet's length field runs past the end of the compound packet.
    #[error("RTCP packet declares {declared} bytes but {available} are left")]
    RtcpLengthMismatch {
        /// Length from the header, in bytes, header included.
        declared: usize,
        /// Bytes left in the compound packet from this packet's start.
        available: usize,
    },
    /// An RTCP packet's body is shorter than its counts and lengths require
    /// (report blocks, SDES items, BYE reason, feedback entries, TWCC chunks or deltas).
    #[error("RTCP packet type {packet_type} (count/FMT {fmt}) is truncated")]
    RtcpTruncated {
        /// The packet type (200 = SR, …).
        packet_type: u8,
        /// The count or FMT field.
        fmt: u8,
    },
    /// A transport-wide CC feedback uses the reserved status symbol 0b11.
    #[error("transport-wide CC feedback uses the reserved status symbol")]
    TwccReservedSymbol,
    /// A transport-wide CC feedback reports zero packets.
    #[error("transport-wide CC feedback with a packet status count of zero")]
    TwccEmpty,
    /// A REMB bitrate (mantissa × 2^exponent) does not fit in 64 bits.
    #[error("REMB bitrate overflows 64 bits")]
    RembBitrateOverflow,

    // ---- the caller's mistakes ----------------------------------------------
    /// The output buffer cannot hold what is being written.
    #[error("output buffer of {available} bytes too small, {needed} needed")]
    BufferTooSmall {
        /// Bytes the write needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// A builder input the wire format cannot carry (the text says which).
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// An [`ExtensionMap`](crate::rtp::extensions::ExtensionMap) registration
    /// clashes with an existing one (the id is taken by another kind, or the
    /// kind already has another id).
    #[error("header extension id {0} clashes with an existing registration")]
    ExtensionMapConflict(u8),

    // ---- depacketizers, from the wire -------------------------------------
    /// A payload ends inside its payload descriptor, aggregation header or
    /// an aggregated unit's length (the codec says whose format).
    #[error("{0:?} payload is truncated")]
    PayloadTruncated(Codec),
    /// A payload field has a value its format forbids (the text says which).
    #[error("malformed {codec:?} payload: {reason}")]
    PayloadMalformed {
        /// The payload format.
        codec: Codec,
        /// What is wrong.
        reason: &'static str,
    },
    /// A payload structure the depacketizer does not implement, by its type
    /// number (H.264 STAP-B, MTAP16/24 and FU-B, which need
    /// packetization-mode 2; reserved NAL unit types).
    #[error("{codec:?} payload structure {kind} is not supported")]
    PayloadUnsupported {
        /// The payload format.
        codec: Codec,
        /// The structure's type number (the NAL unit type for H.264).
        kind: u8,
    },
    /// The first payload given for a frame does not begin one, or a fragment
    /// continues one that never began: the packets before it were lost.
    #[error("{0:?} frame: the payload that starts it is missing")]
    FrameStartMissing(Codec),
    /// A frame ended, or a new fragment began, while a fragmented unit was
    /// still open: packets were lost.
    #[error("{0:?} frame is incomplete")]
    FrameIncomplete(Codec),
    /// Reassembling the frame would pass the depacketizer's size limit.
    #[error("reassembled frame exceeds the {limit}-byte limit")]
    FrameTooLarge {
        /// The limit in bytes.
        limit: usize,
    },

    // ---- packetizers: the caller's mistakes --------------------------------
    /// A unit the format cannot split (an audio frame, an H.264 NAL unit in
    /// packetization-mode 0) is larger than the payload size allows.
    #[error("{codec:?}: a {len}-byte unit does not fit in a {max_payload}-byte payload")]
    FrameDoesNotFit {
        /// The payload format.
        codec: Codec,
        /// The unit's length.
        len: usize,
        /// The payload size it was to fit in.
        max_payload: usize,
    },
    /// The payload size cannot hold the format's headers and one byte of data.
    #[error("a {0}-byte payload cannot hold the payload headers and any data")]
    PayloadSizeTooSmall(usize),
    /// The frame handed to a packetizer is not valid in its format (empty, no
    /// Annex-B start code, a malformed OBU, …; the text says which).
    #[error("invalid {codec:?} frame: {reason}")]
    InvalidFrame {
        /// The payload format.
        codec: Codec,
        /// What is wrong.
        reason: &'static str,
    },

    // ---- channels ------------------------------------------------------------
    /// The channel does not send now: its direction does not include
    /// sending, no codec or SSRC was negotiated, or the transport is not
    /// writable yet.
    #[error("the channel is not sending")]
    NotSending,
    /// A frame for a RID simulcast layer the channel does not send (not in
    /// our `a=simulcast:send`, or the peer does not receive it).
    #[error("no such simulcast layer is sent")]
    UnknownSimulcastLayer,

    // ---- DCEP, from the wire (RFC 8832) -------------------------------------
    /// A DCEP message shorter than its fixed part (empty, or a
    /// DATA_CHANNEL_OPEN under 12 bytes); the length is given.
    #[error("DCEP message of {0} bytes is truncated")]
    DcepTruncated(usize),
    /// A DCEP message type other than OPEN (0x03) and ACK (0x02).
    #[error("unknown DCEP message type {0:#04x}")]
    DcepUnknownMessageType(u8),
    /// A DATA_CHANNEL_OPEN with a channel type RFC 8832 §8.2.2 does not define.
    #[error("unknown DCEP channel type {0:#04x}")]
    DcepUnknownChannelType(u8),
    /// A DCEP message whose label and protocol lengths (or the ACK's one
    /// byte) disagree with its size.
    #[error("DCEP message declares {declared} bytes but has {available}")]
    DcepLengthMismatch {
        /// Length the message's fields add up to.
        declared: usize,
        /// Bytes present.
        available: usize,
    },
    /// A DATA_CHANNEL_OPEN label or protocol is not UTF-8.
    #[error("DCEP label or protocol is not UTF-8")]
    DcepInvalidUtf8,
    /// A well-formed DCEP message of this type where none was expected (an
    /// OPEN on an open channel, an ACK on a stream that sent no OPEN).
    #[error("unexpected DCEP message of type {0:#04x}")]
    DcepUnexpectedMessage(u8),

    // ---- data channels, the peer's doing ------------------------------------
    /// A data channel message with a PPID other than DCEP, string, binary
    /// and their empty forms (RFC 8831 §8); the message is dropped.
    #[error("data channel message with an unsupported payload protocol identifier")]
    DataChannelUnknownPpid,
    /// The peer opened a data channel beyond our limit of this many; the
    /// stream is reset.
    #[error("the peer opened more than {0} data channels")]
    PeerTooManyChannels(usize),
    /// The SCTP association could not be established (INIT or COOKIE
    /// retransmissions exhausted, or the peer refused).
    #[error("the SCTP association handshake failed")]
    SctpHandshakeFailed,
    /// The SCTP association ended (ABORT or SHUTDOWN from the peer, a
    /// protocol violation, retransmissions exhausted); every channel closes.
    #[error("the SCTP association was lost")]
    SctpAssociationLost,

    // ---- data channels, the caller's mistakes -------------------------------
    /// No data channel with this id.
    #[error("no data channel with id {0}")]
    UnknownChannel(u16),
    /// The data channel exists but is not open (not yet negotiated, or closing).
    #[error("data channel {0} is not open")]
    ChannelNotOpen(u16),
    /// The id of a negotiated channel is in use (by a channel, or by a
    /// closed one whose stream reset has not completed).
    #[error("data channel id {0} is in use")]
    ChannelIdInUse(u16),
    /// A stream id outside 0..=65534 (65535 is reserved, RFC 8831 §6.6).
    #[error("data channel id {0} is out of range")]
    InvalidChannelId(u16),
    /// The configured limit on data channels (this many) is reached, or no
    /// id of our parity is free.
    #[error("too many data channels (limit {0})")]
    TooManyChannels(usize),
    /// A message larger than the peer's `a=max-message-size` (RFC 8841 §6).
    #[error("message of {size} bytes exceeds the peer's maximum message size {max}")]
    MessageTooLarge {
        /// The message size.
        size: usize,
        /// The peer's limit.
        max: usize,
    },
    /// Queueing the message would exceed the configured limit on bytes
    /// buffered for sending across all channels.
    #[error("send buffer full: {buffered} bytes queued, limit {limit}")]
    SendBufferFull {
        /// Bytes queued now.
        buffered: usize,
        /// The limit.
        limit: usize,
    },
    /// The SCTP association is not established (not yet, or no longer).
    #[error("the SCTP association is not established")]
    NotConnected,
    /// sctp-proto refused an operation for a reason not mapped to a variant
    /// above (the detail is logged).
    #[error("the SCTP stack refused the operation")]
    SctpRefused,

    // ---- congestion control ---------------------------------------------------
    /// The pacer's queue is full (its packet or byte limit); the packet was
    /// not queued.
    #[error("the pacer queue is full")]
    PacerQueueFull,
}

impl Error {
    /// True when the error was caused by what a peer sent (malformed input
    /// from the wire), false when it was caused by the caller.
    pub fn is_peer_fault(&self) -> bool {
        !matches!(
            self,
            Error::BufferTooSmall { .. }
                | Error::InvalidInput(_)
                | Error::ExtensionMapConflict(_)
                | Error::FrameDoesNotFit { .. }
                | Error::PayloadSizeTooSmall(_)
                | Error::InvalidFrame { .. }
                | Error::NotSending
                | Error::UnknownSimulcastLayer
                | Error::UnknownChannel(_)
                | Error::ChannelNotOpen(_)
                | Error::ChannelIdInUse(_)
                | Error::InvalidChannelId(_)
                | Error::TooManyChannels(_)
                | Error::MessageTooLarge { .. }
                | Error::SendBufferFull { .. }
                | Error::NotConnected
                | Error::SctpRefused
                | Error::PacerQueueFull
        )
    }
}

/// `Err(BufferTooSmall)` unless `buf` holds at least `needed` bytes.
pub(crate) fn check_room(buf: &[u8], needed: usize) -> Result<(), Error> {
    if buf.len() < needed {
        Err(Error::BufferTooSmall {
            needed,
            available: buf.len(),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_split() {
        assert!(Error::RtpTooShort(3).is_peer_fault());
        assert!(Error::BadPadding {
            padding: 0,
            available: 0
        }
        .is_peer_fault());
        assert!(Error::TwccReservedSymbol.is_peer_fault());
        assert!(!Error::BufferTooSmall {
            needed: 2,
            available: 1
        }
        .is_peer_fault());
        assert!(!Error::InvalidInput("x").is_peer_fault());
        assert!(!Error::ExtensionMapConflict(3).is_peer_fault());
        assert!(Error::PayloadTruncated(Codec::Vp8).is_peer_fault());
        assert!(Error::FrameStartMissing(Codec::H264).is_peer_fault());
        assert!(Error::FrameIncomplete(Codec::Av1).is_peer_fault());
        assert!(Error::FrameTooLarge { limit: 1 }.is_peer_fault());
        assert!(!Error::PayloadSizeTooSmall(2).is_peer_fault());
        assert!(!Error::FrameDoesNotFit {
            codec: Codec::Opus,
            len: 2,
            max_payload: 1
        }
        .is_peer_fault());
        assert!(!Error::InvalidFrame {
            codec: Codec::H264,
            reason: "x"
        }
        .is_peer_fault());
    }

    #[test]
    fn errors_are_small() {
        // Hot-path errors stay a few words: no String, no Box.
        assert!(std::mem::size_of::<Error>() <= 24);
    }
}
