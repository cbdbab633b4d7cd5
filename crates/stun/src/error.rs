//! The crate's one error type.

use crate::attributes::AttributeType;

/// Everything that can go wrong in this crate.
///
/// Variants carry only small `Copy` data, so producing an error on a hot
/// path never allocates. Errors caused by the peer (malformed or forged
/// input) are distinct from errors caused by the caller (a buffer too small,
/// a value too long to encode); see [`Error::is_peer_fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Fewer bytes than a STUN header (20 bytes).
    #[error("input of {0} bytes is shorter than a STUN header")]
    TooShort(usize),
    /// The two most significant bits of the first byte are not zero.
    #[error("the first two bits are not zero: not a STUN message")]
    NotStun,
    /// The magic cookie is not 0x2112A442.
    #[error("wrong magic cookie {0:#010x}")]
    BadMagicCookie(u32),
    /// The header's message length is not a multiple of four.
    #[error("message length {0} is not a multiple of 4")]
    LengthNotAligned(u16),
    /// The header's message length disagrees with the bytes available.
    #[error("header declares {declared} bytes of attributes but {available} are present")]
    LengthMismatch {
        /// Length from the header.
        declared: usize,
        /// Bytes after the header.
        available: usize,
    },
    /// An attribute header or value (with its padding) runs past the end of the message.
    #[error("attribute {0} runs past the end of the message")]
    AttributeTruncated(AttributeType),
    /// An attribute other than MESSAGE-INTEGRITY-SHA256 or FINGERPRINT follows MESSAGE-INTEGRITY.
    #[error("attribute {0} follows MESSAGE-INTEGRITY")]
    AttributeAfterIntegrity(AttributeType),
    /// An attribute follows FINGERPRINT, which must be last.
    #[error("attribute {0} follows FINGERPRINT")]
    AttributeAfterFingerprint(AttributeType),
    /// An attribute appears twice where only one is allowed (integrity or fingerprint).
    #[error("attribute {0} appears more than once")]
    DuplicateAttribute(AttributeType),
    /// A known attribute has a value of the wrong size.
    #[error("attribute {attribute} has an invalid length {len}")]
    BadAttributeLength {
        /// The attribute.
        attribute: AttributeType,
        /// Its value length.
        len: usize,
    },
    /// A text attribute is not valid UTF-8.
    #[error("attribute {0} is not valid UTF-8")]
    InvalidUtf8(AttributeType),
    /// An address attribute names an unknown address family.
    #[error("unknown address family {0:#04x}")]
    UnknownAddressFamily(u8),
    /// A value is outside the range the attribute allows (error class, channel number, …).
    #[error("attribute {0} has an out-of-range value")]
    InvalidValue(AttributeType),
    /// FINGERPRINT is present but does not match the message.
    #[error("FINGERPRINT does not match")]
    FingerprintMismatch,
    /// MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 does not match the key.
    #[error("message integrity check failed")]
    IntegrityMismatch,
    /// The message carries no MESSAGE-INTEGRITY / MESSAGE-INTEGRITY-SHA256 to check.
    #[error("message has no integrity attribute")]
    IntegrityMissing,
    /// The message carries no FINGERPRINT.
    #[error("message has no FINGERPRINT")]
    FingerprintMissing,
    /// The output buffer cannot hold what is being written.
    #[error("output buffer too small")]
    BufferTooSmall,
    /// A value is too long for its attribute or for a STUN message.
    #[error("value too long for attribute {0}")]
    ValueTooLong(AttributeType),
    /// Integrity or fingerprint was added, then another attribute.
    #[error("cannot add attribute {0} after MESSAGE-INTEGRITY or FINGERPRINT")]
    BuilderOrder(AttributeType),
    /// A password, username or realm is not allowed by the OpaqueString profile (RFC 8265).
    #[error("string is not allowed by the OpaqueString profile")]
    InvalidOpaqueString,
    /// ChannelData: the channel number is outside 0x4000..=0x4FFF.
    #[error("channel number {0:#06x} outside 0x4000..=0x4FFF")]
    BadChannelNumber(u16),
    /// ChannelData: the length field runs past the datagram.
    #[error("ChannelData declares {declared} bytes but {available} are present")]
    ChannelDataTruncated {
        /// Length from the header.
        declared: usize,
        /// Bytes after the header.
        available: usize,
    },
    /// The request manager already holds its maximum number of outstanding requests.
    #[error("too many outstanding requests (limit {0})")]
    TooManyOutstanding(usize),
    /// A request with this transaction id is already outstanding.
    #[error("a request with this transaction id is already outstanding")]
    DuplicateTransaction,
    /// The bytes handed to the request manager are not a STUN request.
    #[error("not a STUN request")]
    NotARequest,
    /// A request timed out (async client).
    #[error("request timed out")]
    Timeout,
    /// The server answered with an error response (async client).
    #[error("server answered with error {0}")]
    ErrorResponse(u16),
    /// The response lacked XOR-MAPPED-ADDRESS and MAPPED-ADDRESS (async client).
    #[error("response carries no mapped address")]
    NoMappedAddress,
    /// An I/O error in a driver; the kind is kept, the message is logged.
    #[error("I/O error: {0:?}")]
    Io(std::io::ErrorKind),
}

impl Error {
    /// True when the error was caused by what a peer sent (malformed, forged
    /// or failing input), false when it was caused by the caller or the system.
    pub fn is_peer_fault(&self) -> bool {
        !matches!(
            self,
            Error::BufferTooSmall
                | Error::ValueTooLong(_)
                | Error::BuilderOrder(_)
                | Error::InvalidOpaqueString
                | Error::TooManyOutstanding(_)
                | Error::DuplicateTransaction
                | Error::NotARequest
                | Error::Io(_)
        )
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        tracing::debug!(error = %e, "stun I/O error");
        Error::Io(e.kind())
    }
}
