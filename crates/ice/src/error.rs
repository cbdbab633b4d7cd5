//! The crate's one error type.

/// What is wrong with a `candidate:` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CandidateParseError {
    /// The line does not start with `candidate:`.
    #[error("missing `candidate:` prefix")]
    Prefix,
    /// Foundation missing, too long, or not ice-chars.
    #[error("bad foundation")]
    Foundation,
    /// Component id missing or outside 1..=256.
    #[error("bad component id")]
    Component,
    /// Transport is neither UDP nor TCP.
    #[error("bad transport")]
    Transport,
    /// Priority missing, zero or not a number.
    #[error("bad priority")]
    Priority,
    /// Connection address neither an IP nor an mDNS `.local` name.
    #[error("bad connection address")]
    Address,
    /// Port missing or not a port number.
    #[error("bad port")]
    Port,
    /// `typ` and a known candidate type are missing.
    #[error("bad candidate type")]
    Type,
    /// `raddr`/`rport` malformed or only one of them present.
    #[error("bad related address")]
    RelatedAddress,
    /// `tcptype` missing on a TCP candidate, or unknown.
    #[error("bad tcptype")]
    TcpType,
    /// An extension attribute without a value, or too many of them.
    #[error("bad extension attribute")]
    Extension,
    /// The line is longer than 1024 bytes.
    #[error("line too long")]
    TooLong,
}

/// Why a TLS connection to a TURN server (`turns:`, RFC 8656 §3.1) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The TLS configuration cannot be used: a CA certificate that is not
    /// PEM, OpenSSL refusing a setting, or a build without the `tls` feature.
    /// The caller's fault.
    #[error("TLS configuration: {0}")]
    Config(String),
    /// The server's certificate was not accepted (OpenSSL's verify result:
    /// not signed by a trusted CA, self-signed, expired, or not for the
    /// configured server name). The server's fault, or a missing CA.
    #[error("TURN server certificate rejected: {0}")]
    Certificate(&'static str),
    /// The handshake failed for another reason (no common protocol version
    /// or cipher, a malformed record, an alert from the server).
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
    /// A TLS error after the handshake (a bad record or an alert).
    #[error("TLS: {0}")]
    Protocol(String),
    /// The server sent more than the session buffers before reading it.
    #[error("TLS input exceeds the session's buffer")]
    BufferFull,
    /// The handshake did not finish in time.
    #[error("TLS handshake timed out")]
    Timeout,
}

/// What is wrong with a DNS message ([`crate::mdns::wire`]): the peer's
/// fault when parsing, the caller's when building.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DnsWireError {
    /// The message ends inside the header, a name or a record.
    #[error("truncated DNS message")]
    Truncated,
    /// Longer than an mDNS message may be (9000 bytes, RFC 6762 §17).
    #[error("DNS message too long")]
    TooLong,
    /// A label of a reserved type (the `01`/`10` prefixes) or longer than 63 bytes.
    #[error("bad DNS label")]
    BadLabel,
    /// A name longer than 255 bytes.
    #[error("DNS name too long")]
    NameTooLong,
    /// A compression pointer that does not point backwards, or too many of them in a row.
    #[error("DNS compression pointer loop")]
    PointerLoop,
    /// An A or AAAA record whose data is not 4 or 16 bytes.
    #[error("bad DNS record data")]
    BadRecord,
    /// Building: the caller's buffer is too small.
    #[error("buffer too small for the DNS message")]
    BufferTooSmall,
    /// Building: the name given is empty, has an empty label or a label over 63 bytes.
    #[error("invalid DNS name")]
    BadName,
    /// Building: a question added after an answer.
    #[error("DNS question after an answer")]
    Order,
}

impl DnsWireError {
    /// Whether a received message caused this (as opposed to a builder's caller).
    pub fn is_peer_fault(self) -> bool {
        !matches!(
            self,
            DnsWireError::BufferTooSmall | DnsWireError::BadName | DnsWireError::Order
        )
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A candidate line could not be parsed.
    #[error("invalid candidate: {0}")]
    CandidateParse(#[from] CandidateParseError),
    /// A STUN-level error.
    #[error("stun: {0}")]
    Stun(#[from] stun::Error),
    /// ufrag or pwd violate RFC 8445 §5.3 (ufrag ≥ 4, pwd ≥ 22 ice-chars, ≤ 256).
    #[error("invalid ICE credentials")]
    InvalidCredentials,
    /// The remote candidate limit is reached.
    #[error("too many remote candidates (limit {0})")]
    TooManyRemoteCandidates(usize),
    /// The remote candidate cannot be used (wrong component, mDNS name not resolved, …).
    #[error("unusable remote candidate")]
    UnusableCandidate,
    /// There is no selected pair to send on (not connected, or consent expired).
    #[error("no selected candidate pair")]
    NotConnected,
    /// The agent was closed.
    #[error("agent closed")]
    Closed,
    /// A pooled agent can be taken over only before it knows a peer
    /// ([`IceAgent::adopt`](crate::IceAgent::adopt)).
    #[error("the agent already has a peer: it cannot be taken from the pool")]
    AlreadyInUse,
    /// A caller's buffer lacks room ([`IceAgent::send_in_place`](crate::IceAgent::send_in_place)).
    #[error("buffer too small")]
    BufferTooSmall,
    /// A DNS message (mDNS) could not be parsed or built.
    #[error("dns: {0}")]
    Dns(#[from] DnsWireError),
    /// Not an mDNS name: it must end in `.local`, with labels of 1 to 63
    /// bytes and at most 255 bytes in all.
    #[error("not an mDNS .local name")]
    InvalidMdnsName,
    /// The mDNS resolver has this many queries in flight (or events
    /// unread) already: the query is refused.
    #[error("too many mDNS queries in flight (limit {0})")]
    TooManyMdnsQueries(usize),
    /// The mDNS responder publishes this many names already.
    #[error("too many mDNS names (limit {0})")]
    TooManyMdnsNames(usize),
    /// An I/O error in the driver.
    #[error("I/O error: {0:?}")]
    Io(std::io::ErrorKind),
    /// A TLS connection to a TURN server failed.
    #[error("{0}")]
    Tls(#[from] TlsError),
}

impl Error {
    /// Whether the peer caused this (a malformed candidate or unusable one,
    /// too many of them or of `.local` names to resolve, a STUN or DNS
    /// message it sent), as opposed to our calls,
    /// our state or the machine.
    ///
    /// ```
    /// use ice::{CandidateParseError, Error};
    /// assert!(Error::CandidateParse(CandidateParseError::Port).is_peer_fault());
    /// assert!(!Error::NotConnected.is_peer_fault());
    /// ```
    pub fn is_peer_fault(&self) -> bool {
        match self {
            Error::CandidateParse(_)
            | Error::TooManyRemoteCandidates(_)
            | Error::UnusableCandidate
            | Error::InvalidMdnsName
            | Error::TooManyMdnsQueries(_) => true,
            Error::Stun(e) => e.is_peer_fault(),
            Error::Dns(e) => e.is_peer_fault(),
            _ => false,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        tracing::debug!(error = %e, "ice I/O error");
        Error::Io(e.kind())
    }
}
