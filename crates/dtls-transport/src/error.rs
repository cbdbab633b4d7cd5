//! The crate's one error type, and the typed causes it carries.

use std::fmt;

use openssl::error::ErrorStack;

/// Everything that can go wrong in this crate.
///
/// SRTP variants carry no heap data, so rejecting a packet never allocates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- certificates
    /// Generating, loading or checking a certificate failed.
    #[error("certificate: {0}")]
    Certificate(#[from] CertificateError),
    /// A fingerprint string is not `<hash> XX:XX:…` with a known hash and the right length.
    #[error("invalid fingerprint")]
    InvalidFingerprint,

    // ----- DTLS
    /// OpenSSL refused the DTLS configuration (context or session set-up,
    /// keying material export).
    #[error("OpenSSL: {0}")]
    Openssl(#[source] OpensslError),
    /// The DTLS handshake failed (an alert, a malformed or unexpected flight).
    #[error("DTLS handshake failed")]
    Handshake(#[source] OpensslError),
    /// The handshake gave up: OpenSSL's retransmission limit was reached, or a
    /// retransmission could not be written.
    #[error("DTLS handshake timed out")]
    HandshakeTimeout(#[source] OpensslError),
    /// The peer completed the handshake without a certificate.
    #[error("the peer sent no certificate")]
    NoPeerCertificate,
    /// Reading a record after the handshake failed (a fatal alert, a bad record).
    #[error("DTLS record could not be read")]
    Read(#[source] OpensslError),
    /// Writing application data failed.
    #[error("DTLS record could not be written")]
    Write(#[source] OpensslError),
    /// OpenSSL wrote only part of the application data.
    #[error("short DTLS write: {written} of {len} bytes")]
    ShortWrite {
        /// Bytes written.
        written: usize,
        /// Bytes given.
        len: usize,
    },
    /// The peer's certificate does not match the fingerprint from its description.
    #[error("remote certificate fingerprint mismatch")]
    FingerprintMismatch,
    /// No remote fingerprint was given before the handshake finished.
    #[error("no remote fingerprint to verify the peer against")]
    MissingFingerprint,
    /// The negotiated roles cannot work (both active, or both passive).
    #[error("impossible DTLS role combination: {0}")]
    RoleConflict(&'static str),
    /// An `a=setup` value other than `active`, `passive` and `actpass`
    /// (`holdconn` included: WebRTC always needs the connection).
    #[error("unknown a=setup value")]
    UnknownSetup,
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
    /// No transport has this id (an id from another controller).
    #[error("no transport with this id")]
    UnknownTransportId,
    /// The DTLS handshake of the transport already runs in the other role.
    #[error("the DTLS role cannot change once the handshake started")]
    DtlsRoleFixed,
    /// A controller holds at most 2^32 transports.
    #[error("too many transports")]
    TooManyTransports,
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

impl From<ErrorStack> for Error {
    fn from(e: ErrorStack) -> Self {
        Error::Openssl(OpensslError::from(e))
    }
}

impl Error {
    /// Whether the peer (its description, its packets or its DTLS) caused
    /// this, as opposed to our configuration, our calls or the machine: a
    /// server can log the first kind at a lower level and count it per peer.
    ///
    /// ```
    /// use dtls_transport::Error;
    /// assert!(Error::FingerprintMismatch.is_peer_fault());
    /// assert!(Error::Replayed.is_peer_fault());
    /// assert!(!Error::NotConnected.is_peer_fault());
    /// assert!(!Error::BufferTooSmall.is_peer_fault());
    /// ```
    pub fn is_peer_fault(&self) -> bool {
        match self {
            Error::InvalidFingerprint
            | Error::Handshake(_)
            | Error::NoPeerCertificate
            | Error::Read(_)
            | Error::FingerprintMismatch
            | Error::RoleConflict(_)
            | Error::UnknownSetup
            | Error::PacketTooShort
            | Error::AuthenticationFailed
            | Error::Replayed
            | Error::TooManySsrcs => true,
            Error::Ice(e) => e.is_peer_fault(),
            _ => false,
        }
    }
}

/// An OpenSSL failure: the result code of the call (`SSL_get_error`) when
/// there was one, and OpenSSL's error queue at that moment. Compared by those
/// codes, so errors can be matched in tests.
#[derive(Debug, Clone)]
pub struct OpensslError {
    code: Option<i32>,
    stack: ErrorStack,
}

impl OpensslError {
    /// From a failed `SSL_*` call.
    pub(crate) fn from_ssl(e: &openssl::ssl::Error) -> OpensslError {
        OpensslError {
            code: Some(e.code().as_raw()),
            stack: e.ssl_error().cloned().unwrap_or_else(ErrorStack::get),
        }
    }

    /// From OpenSSL's error queue now (after a call that reports failure
    /// only through it).
    pub(crate) fn from_queue() -> OpensslError {
        OpensslError {
            code: None,
            stack: ErrorStack::get(),
        }
    }

    /// The `SSL_get_error` result code, when the failure came from an `SSL_*` call.
    pub fn code(&self) -> Option<i32> {
        self.code
    }

    /// OpenSSL's error queue (possibly empty).
    pub fn stack(&self) -> &ErrorStack {
        &self.stack
    }

    fn codes(&self) -> impl Iterator<Item = std::os::raw::c_ulong> + '_ {
        self.stack.errors().iter().map(openssl::error::Error::code)
    }
}

impl From<ErrorStack> for OpensslError {
    fn from(stack: ErrorStack) -> OpensslError {
        OpensslError { code: None, stack }
    }
}

impl PartialEq for OpensslError {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code && self.codes().eq(other.codes())
    }
}

impl Eq for OpensslError {}

impl fmt::Display for OpensslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.stack.errors().is_empty(), self.code) {
            (false, _) => write!(f, "{}", self.stack),
            (true, Some(code)) => write!(f, "SSL error code {code}"),
            (true, None) => f.write_str("no details in OpenSSL's error queue"),
        }
    }
}

impl std::error::Error for OpensslError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        (!self.stack.errors().is_empty()).then_some(&self.stack as _)
    }
}

/// Why a certificate could not be made, loaded or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// `now + validity` does not fit the clock.
    #[error("validity period overflows")]
    ValidityOverflow,
    /// rcgen could not generate, import or sign.
    #[error("{what}")]
    Rcgen {
        /// The step (`"ECDSA key generation"`, `"self-signing"`…).
        what: &'static str,
        /// rcgen's error.
        #[source]
        source: rcgen::Error,
    },
    /// OpenSSL could not parse or encode.
    #[error("{what}")]
    Openssl {
        /// The step (`"certificate DER"`, `"private key PEM"`…).
        what: &'static str,
        /// OpenSSL's error.
        #[source]
        source: OpensslError,
    },
    /// An EC key on another curve than P-256.
    #[error("EC key is not on P-256")]
    NotP256,
    /// A key type other than ECDSA P-256 and RSA-2048.
    #[error("unsupported key type (ECDSA P-256 or RSA-2048 only)")]
    UnsupportedKey,
    /// The private key is not the certificate's.
    #[error("private key does not belong to the certificate")]
    KeyMismatch,
}
