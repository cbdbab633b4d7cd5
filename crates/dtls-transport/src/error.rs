//! The crate's one error type.

/// Everything that can go wrong in this crate.
///
/// SRTP variants carry no heap data, so rejecting a packet never allocates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- certificates
    /// Generating, parsing or encoding a certificate failed.
    #[error("certificate: {0}")]
    Certificate(String),
    /// A fingerprint string is not `<hash> XX:XX:…` with a known hash and the right length.
    #[error("invalid fingerprint")]
    InvalidFingerprint,

    // ----- DTLS
    /// OpenSSL reported an error during setup or the handshake.
    #[error("DTLS: {0}")]
    Dtls(String),
    /// The peer's certificate does not match the fingerprint from its description.
    #[error("remote certificate fingerprint mismatch")]
    FingerprintMismatch,
    /// No remote fingerprint was given before the handshake finished.
    #[error("no remote fingerprint to verify the peer against")]
    MissingFingerprint,
    /// The negotiated roles cannot work (both active, or both passive).
    #[error("impossible DTLS role combination: {0}")]
    RoleConflict(&'static str),
    /// The transport is not connected (or already closed/failed).
    #[error("DTLS transport not connected")]
    NotConnected,
    /// No SRTP protection profile was negotiated.
    #[error("no SRTP profile negotiated")]
    NoSrtpProfile,

    // ----- SRTP
    /// The packet is shorter than its headers (and tag).
    #[error("packet too short")]
    PacketTooShort,
    /// The packet, once protected, would not fit a UDP datagram.
    #[error("packet too long for a datagram")]
    PacketTooLong,
    /// The packet's authentication tag (or AEAD tag) does not verify.
    #[error("SRTP authentication failed")]
    AuthenticationFailed,
    /// The packet was already received, or is older than the replay window.
    #[error("replayed or too old packet")]
    Replayed,
    /// The output buffer lacks room for the authentication tag.
    #[error("buffer too small for the SRTP tag")]
    BufferTooSmall,
    /// The key or salt has the wrong length for the profile.
    #[error("wrong key or salt length for the profile")]
    KeyLength,
    /// The SSRC table is full.
    #[error("too many SSRCs")]
    TooManySsrcs,
    /// The key may not protect more packets: the SRTCP index (2^31) or the
    /// rollover counter (2^32) is used up. Re-key (a new DTLS handshake).
    #[error("SRTP key exhausted")]
    KeyExhausted,
    /// A crypto primitive failed unexpectedly.
    #[error("crypto failure")]
    Crypto,

    // ----- TransportController and its driver
    /// No transport has this name.
    #[error("no transport named {0:?}")]
    UnknownTransport(String),
    /// The transport has no such ICE component (2 exists only without rtcp-mux).
    #[error("no ICE component {0} on this transport")]
    UnknownComponent(u16),
    /// The driver's task has stopped (closed, or every handle dropped).
    #[error("the transport controller is closed")]
    Closed,
    /// A socket operation failed.
    #[error("I/O: {0:?}")]
    Io(std::io::ErrorKind),

    /// An ICE-level error.
    #[error("ice: {0}")]
    Ice(#[from] ice::Error),
}

impl From<openssl::error::ErrorStack> for Error {
    fn from(e: openssl::error::ErrorStack) -> Self {
        Error::Dtls(e.to_string())
    }
}
