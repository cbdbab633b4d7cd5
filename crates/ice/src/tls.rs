//! TURN over TLS (RFC 8656 §3.1, `turns:`): a sans-IO TLS client session.
//!
//! [`TlsSession`] is OpenSSL's TLS client on two memory buffers: it owns no
//! socket. The driver's TCP connection task pumps it: ciphertext read from
//! the socket goes in with [`TlsSession::handle_input`], which returns the
//! plaintext (STUN messages and ChannelData, framed exactly as over plain
//! TCP); plaintext to send goes in with [`TlsSession::send`]; the ciphertext
//! to write to the socket comes out of [`TlsSession::take_output`]. Frames
//! given before the handshake finishes wait in the session (bounded).
//!
//! Why OpenSSL and not rustls: it is the TLS library already in the tree,
//! the one DTLS needs (`dtls-transport`), so the stack links and audits one
//! TLS implementation. Its safe API (`SslStream` over an in-memory
//! `Read + Write`) is enough: this crate keeps `#![forbid(unsafe_code)]`.
//!
//! Certificates are checked by default ([`TurnTlsConfig`]): the chain
//! against OpenSSL's default verify paths (the system's roots) plus the
//! configured extra CAs, and the server name (DNS name or IP address, also
//! sent as SNI when it is a name). A failed check ends the handshake with
//! [`TlsError::Certificate`] and OpenSSL's reason.
//!
//! ```
//! use ice::port::TurnTlsConfig;
//! use ice::tls::TlsConnector;
//!
//! let connector = TlsConnector::new(&TurnTlsConfig::new("turn.example.org")).unwrap();
//! let mut session = connector.session().unwrap();
//! session.send(b"an Allocate request, queued until the handshake is done").unwrap();
//! let mut wire = Vec::new();
//! session.take_output(&mut wire); // the ClientHello, for the TCP socket
//! assert!(!wire.is_empty() && !session.is_established());
//! ```

use std::io::{self, Read, Write};

use bytes::BytesMut;
use openssl::ssl::{ErrorCode, SslConnector, SslMethod, SslStream, SslVerifyMode, SslVersion};
use openssl::x509::{X509VerifyResult, X509};

use crate::error::TlsError;
use crate::port::TurnTlsConfig;

/// Most ciphertext the session holds before OpenSSL has read it.
const MAX_INPUT: usize = 256 * 1024;
/// Most plaintext queued before the handshake finishes.
const MAX_PENDING: usize = 64 * 1024;
/// Plaintext read per `SSL_read` call (one TLS record at most).
const READ_CHUNK: usize = 16 * 1024;

/// An OpenSSL client context for one TURN server: its trust store and
/// verification settings, built once and shared by the connections to it.
pub struct TlsConnector {
    connector: SslConnector,
    config: TurnTlsConfig,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn config_error(e: impl std::fmt::Display) -> TlsError {
    TlsError::Config(e.to_string())
}

impl TlsConnector {
    /// A context for `config`: TLS 1.2 or later, the system's roots plus
    /// `config.extra_ca_pem`, peer verification on unless
    /// `config.danger_accept_invalid_certificates`. Fails on a CA that is
    /// not PEM.
    pub fn new(config: &TurnTlsConfig) -> Result<TlsConnector, TlsError> {
        let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(config_error)?;
        builder
            .set_min_proto_version(Some(SslVersion::TLS1_2))
            .map_err(config_error)?;
        for pem in &config.extra_ca_pem {
            let certs = X509::stack_from_pem(pem).map_err(config_error)?;
            if certs.is_empty() {
                return Err(TlsError::Config("no certificate in a CA PEM".into()));
            }
            for cert in certs {
                builder
                    .cert_store_mut()
                    .add_cert(cert)
                    .map_err(config_error)?;
            }
        }
        if config.danger_accept_invalid_certificates {
            builder.set_verify(SslVerifyMode::NONE);
        }
        Ok(TlsConnector {
            connector: builder.build(),
            config: config.clone(),
        })
    }

    /// The settings this context was built from.
    pub fn config(&self) -> &TurnTlsConfig {
        &self.config
    }

    /// A new client session (SNI and name check for the configured name).
    pub fn session(&self) -> Result<TlsSession, TlsError> {
        let mut configure = self.connector.configure().map_err(config_error)?;
        if self.config.danger_accept_invalid_certificates {
            configure.set_verify_hostname(false);
        }
        let ssl = configure
            .into_ssl(&self.config.server_name)
            .map_err(config_error)?;
        let stream = SslStream::new(ssl, Buffers::default()).map_err(config_error)?;
        Ok(TlsSession {
            stream,
            established: false,
            pending: Vec::new(),
            closed: false,
        })
    }
}

/// The session's two memory buffers: ciphertext in (from the server) and
/// out (to it).
#[derive(Debug, Default)]
struct Buffers {
    input: Vec<u8>,
    /// Bytes of `input` OpenSSL has read.
    read: usize,
    output: Vec<u8>,
}

impl Read for Buffers {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = &self.input[self.read..];
        if available.is_empty() {
            // OpenSSL's BIO turns this into "want read".
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.read += n;
        if self.read == self.input.len() {
            self.input.clear();
            self.read = 0;
        }
        Ok(n)
    }
}

impl Write for Buffers {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A TLS client session on memory buffers; see the [module docs](self).
pub struct TlsSession {
    stream: SslStream<Buffers>,
    established: bool,
    /// Plaintext given before the handshake finished.
    pending: Vec<u8>,
    /// The server sent close_notify.
    closed: bool,
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession")
            .field("established", &self.established)
            .field("pending", &self.pending.len())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl TlsSession {
    /// True once the handshake finished (and the certificate was accepted).
    pub fn is_established(&self) -> bool {
        self.established
    }

    /// True once the server closed the session (close_notify).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The negotiated protocol version (e.g. "TLSv1.3"), once established.
    pub fn version(&self) -> &'static str {
        self.stream.ssl().version_str()
    }

    /// Starts the handshake (the ClientHello waits in
    /// [`take_output`](Self::take_output)); also done by the first
    /// [`send`](Self::send) or [`handle_input`](Self::handle_input).
    pub fn start(&mut self) -> Result<(), TlsError> {
        self.handshake()
    }

    /// Queues `plaintext` (one frame) to send: encrypted at once when the
    /// session is established, kept until then otherwise (at most 64 KiB;
    /// beyond it the frame is dropped with a debug log, as a full TCP
    /// writer drops frames).
    pub fn send(&mut self, plaintext: &[u8]) -> Result<(), TlsError> {
        if !self.established {
            if self.pending.len() + plaintext.len() > MAX_PENDING {
                tracing::debug!(
                    len = plaintext.len(),
                    "TLS: handshake pending, frame dropped"
                );
            } else {
                self.pending.extend_from_slice(plaintext);
            }
            return self.handshake();
        }
        self.write_all(plaintext)
    }

    /// Ciphertext from the server: advances the handshake, then appends the
    /// plaintext it carries to `plaintext`.
    pub fn handle_input(
        &mut self,
        ciphertext: &[u8],
        plaintext: &mut BytesMut,
    ) -> Result<(), TlsError> {
        let buffers = self.stream.get_mut();
        if buffers.input.len() - buffers.read + ciphertext.len() > MAX_INPUT {
            return Err(TlsError::BufferFull);
        }
        buffers.input.extend_from_slice(ciphertext);
        if !self.established {
            self.handshake()?;
            if !self.established {
                return Ok(());
            }
        }
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            match self.stream.ssl_read(&mut chunk) {
                Ok(n) => plaintext.extend_from_slice(&chunk[..n]),
                Err(e) if e.code() == ErrorCode::WANT_READ => return Ok(()),
                Err(e) if e.code() == ErrorCode::ZERO_RETURN => {
                    self.closed = true;
                    return Ok(());
                }
                Err(e) => return Err(TlsError::Protocol(e.to_string())),
            }
        }
    }

    /// Moves the ciphertext to write to the server onto the end of `out`.
    pub fn take_output(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.stream.get_mut().output);
    }

    fn handshake(&mut self) -> Result<(), TlsError> {
        if self.established {
            return Ok(());
        }
        match self.stream.connect() {
            Ok(()) => {
                self.established = true;
                tracing::debug!(version = self.version(), "TLS: handshake done");
                let pending = std::mem::take(&mut self.pending);
                self.write_all(&pending)
            }
            Err(e) if matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE) => Ok(()),
            Err(e) => {
                let verify = self.stream.ssl().verify_result();
                Err(if verify != X509VerifyResult::OK {
                    TlsError::Certificate(verify.error_string())
                } else {
                    TlsError::Handshake(e.to_string())
                })
            }
        }
    }

    fn write_all(&mut self, mut plaintext: &[u8]) -> Result<(), TlsError> {
        while !plaintext.is_empty() {
            match self.stream.ssl_write(plaintext) {
                Ok(n) => plaintext = &plaintext[n..],
                Err(e) => return Err(TlsError::Protocol(e.to_string())),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::pkey::PKey;
    use openssl::ssl::SslAcceptor;

    /// A CA and a server certificate it signed for `127.0.0.1` and `turn.test`.
    fn pki() -> (String, String, String) {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "peerstack test CA");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "turn.test".into()]).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (ca.pem(), cert.pem(), key.serialize_pem())
    }

    /// Runs a client session against an OpenSSL server over memory until
    /// both sides are quiet; the client's first error, or the server's
    /// plaintext.
    fn exchange(config: TurnTlsConfig, cert: &str, key: &str) -> Result<Vec<u8>, TlsError> {
        let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
        acceptor
            .set_certificate(&X509::from_pem(cert.as_bytes()).unwrap())
            .unwrap();
        acceptor
            .set_private_key(&PKey::private_key_from_pem(key.as_bytes()).unwrap())
            .unwrap();
        let acceptor = acceptor.build();
        let ssl = openssl::ssl::Ssl::new(acceptor.context()).unwrap();
        let mut server = SslStream::new(ssl, Buffers::default()).unwrap();
        let mut client = TlsConnector::new(&config)?.session()?;
        client.send(b"allocate")?;
        let mut received = Vec::new();
        let mut plain = BytesMut::new();
        for _ in 0..20 {
            let mut wire = Vec::new();
            client.take_output(&mut wire);
            server.get_mut().input.extend_from_slice(&wire);
            let _ = server.accept();
            let mut buf = [0u8; 1024];
            while let Ok(n) = server.ssl_read(&mut buf) {
                received.extend_from_slice(&buf[..n]);
                server.ssl_write(b"response").unwrap();
            }
            let back = std::mem::take(&mut server.get_mut().output);
            client.handle_input(&back, &mut plain)?;
        }
        assert!(client.is_established());
        assert_eq!(&plain[..], b"response");
        Ok(received)
    }

    #[test]
    fn verified_session_carries_data_both_ways() {
        let (ca, cert, key) = pki();
        for name in ["127.0.0.1", "turn.test"] {
            let config = TurnTlsConfig::new(name).with_extra_ca_pem(ca.clone());
            assert_eq!(exchange(config, &cert, &key).unwrap(), b"allocate");
        }
    }

    #[test]
    fn untrusted_or_misnamed_certificates_are_rejected() {
        let (ca, cert, key) = pki();
        // No extra CA: not trusted.
        let e = exchange(TurnTlsConfig::new("127.0.0.1"), &cert, &key).unwrap_err();
        assert!(matches!(e, TlsError::Certificate(_)), "{e}");
        assert!(e.to_string().contains("local issuer"), "{e}");
        // Trusted, but for another name.
        let config = TurnTlsConfig::new("other.test").with_extra_ca_pem(ca.clone());
        let e = exchange(config, &cert, &key).unwrap_err();
        assert!(matches!(e, TlsError::Certificate(_)), "{e}");
        let config = TurnTlsConfig::new("127.0.0.2").with_extra_ca_pem(ca);
        assert!(matches!(
            exchange(config, &cert, &key),
            Err(TlsError::Certificate(_))
        ));
        // The explicit opt-out accepts it.
        let config = TurnTlsConfig::new("other.test").danger_accept_invalid_certificates();
        assert_eq!(exchange(config, &cert, &key).unwrap(), b"allocate");
    }

    #[test]
    fn a_ca_that_is_not_pem_is_a_configuration_error() {
        let config = TurnTlsConfig::new("x").with_extra_ca_pem(b"not a certificate".to_vec());
        assert!(matches!(
            TlsConnector::new(&config),
            Err(TlsError::Config(_))
        ));
    }

    #[test]
    fn input_is_bounded() {
        let mut s = TlsConnector::new(&TurnTlsConfig::new("x"))
            .unwrap()
            .session()
            .unwrap();
        s.start().unwrap();
        let mut plain = BytesMut::new();
        // Not a TLS record: the handshake fails on it.
        assert!(s.handle_input(&[0x16; 64], &mut plain).is_err());
        let mut s = TlsConnector::new(&TurnTlsConfig::new("x"))
            .unwrap()
            .session()
            .unwrap();
        assert_eq!(
            s.handle_input(&vec![0; MAX_INPUT + 1], &mut plain),
            Err(TlsError::BufferFull)
        );
    }
}
