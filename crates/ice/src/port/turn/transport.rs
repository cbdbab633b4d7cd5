//! How a TURN client reaches its server (RFC 8656 §3.1): UDP, TCP, or TLS
//! over TCP (`turns:`), and the TLS settings. Plain data: the TLS session
//! (`ice::tls`, feature `tls`) is run by the driver.

use crate::candidate::TransportProtocol;

/// How a [`TurnClient`](super::TurnClient) reaches its TURN server. The
/// relayed address is UDP in every case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TurnTransport {
    /// Datagrams to the server (the default): requests are retransmitted.
    #[default]
    Udp,
    /// A TCP connection to the server: requests are sent once, ChannelData is
    /// padded to four bytes, STUN messages and ChannelData back to back.
    Tcp,
    /// TLS over a TCP connection (`turns:`): the same framing as
    /// [`TurnTransport::Tcp`] inside the TLS stream. The driver runs the TLS
    /// session with these settings; relay candidates reached this way get
    /// the lowest relay priority.
    Tls(TurnTlsConfig),
}

impl TurnTransport {
    /// The transport of the packets the client hands out: UDP, or TCP (for
    /// TLS as well: the driver encrypts the stream).
    pub fn protocol(&self) -> TransportProtocol {
        match self {
            TurnTransport::Udp => TransportProtocol::Udp,
            TurnTransport::Tcp | TurnTransport::Tls(_) => TransportProtocol::Tcp,
        }
    }

    /// True for [`TurnTransport::Tls`].
    pub fn is_tls(&self) -> bool {
        matches!(self, TurnTransport::Tls(_))
    }

    /// The TLS settings, for [`TurnTransport::Tls`].
    pub fn tls(&self) -> Option<&TurnTlsConfig> {
        match self {
            TurnTransport::Tls(c) => Some(c),
            _ => None,
        }
    }

    /// True when the client talks to the server over a byte stream (TCP or TLS).
    pub fn is_stream(&self) -> bool {
        self.protocol() == TransportProtocol::Tcp
    }
}

impl From<TransportProtocol> for TurnTransport {
    /// UDP or plain TCP.
    fn from(p: TransportProtocol) -> TurnTransport {
        match p {
            TransportProtocol::Udp => TurnTransport::Udp,
            TransportProtocol::Tcp => TurnTransport::Tcp,
        }
    }
}

/// TLS settings of a TURN server reached over TLS (`turns:`).
///
/// Verification is on by default: the server's certificate must chain to a
/// trusted CA (the system's roots, through OpenSSL's default verify paths,
/// plus [`extra_ca_pem`](Self::extra_ca_pem)) and carry
/// [`server_name`](Self::server_name) (a DNS name, or an IP address checked
/// against the certificate's IP SANs). The name is also sent as SNI when it
/// is a DNS name.
#[derive(Clone, PartialEq, Eq)]
pub struct TurnTlsConfig {
    /// The name the certificate must be for, and the SNI: the host of the
    /// `turns:` URL (a DNS name, or an IP address).
    pub server_name: String,
    /// More CA certificates to trust besides the system's roots, each a PEM
    /// text holding one or more certificates (a private CA, or a test
    /// server's self-signed certificate).
    pub extra_ca_pem: Vec<Vec<u8>>,
    /// Accept any certificate for any name: **no authentication of the
    /// server at all**, so anyone on the path can read and change the TURN
    /// traffic (ICE and DTLS above still authenticate the peer). Only for
    /// test servers with self-signed certificates. Default false.
    pub danger_accept_invalid_certificates: bool,
}

impl TurnTlsConfig {
    /// Verification on, against the system's roots, for `server_name`.
    pub fn new(server_name: &str) -> TurnTlsConfig {
        TurnTlsConfig {
            server_name: server_name.to_owned(),
            extra_ca_pem: Vec::new(),
            danger_accept_invalid_certificates: false,
        }
    }

    /// Also trusts the CA certificate(s) in `pem`.
    pub fn with_extra_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> TurnTlsConfig {
        self.extra_ca_pem.push(pem.into());
        self
    }

    /// Accepts any certificate (see
    /// [`danger_accept_invalid_certificates`](Self::danger_accept_invalid_certificates)):
    /// for self-signed test servers only.
    pub fn danger_accept_invalid_certificates(mut self) -> TurnTlsConfig {
        self.danger_accept_invalid_certificates = true;
        self
    }
}

impl std::fmt::Debug for TurnTlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnTlsConfig")
            .field("server_name", &self.server_name)
            .field("extra_ca_certificates", &self.extra_ca_pem.len())
            .field(
                "danger_accept_invalid_certificates",
                &self.danger_accept_invalid_certificates,
            )
            .finish()
    }
}
