//! # dtls-transport: DTLS over ICE, DTLS-SRTP, SRTP and the TransportController
//!
//! The layer above [`ice`], following libwebrtc's structure:
//!
//! | module | libwebrtc |
//! |---|---|
//! | [`certificate`] | RTCCertificate, DtlsIdentityStore: self-signed certificates and SDP fingerprints |
//! | [`dtls`] | DtlsTransport: DTLS 1.2 over OpenSSL as a sans-IO state machine, fingerprint verification, DTLS-SRTP keying |
//! | [`srtp`] | SRTP/SRTCP (RFC 3711, RFC 7714): key derivation, AES-CM/HMAC-SHA1, AES-GCM, replay protection |
//! | [`controller`] | TransportController / JsepTransport / DtlsSrtpTransport: ICE + DTLS + SRTP per transport, gathering on all of them, RFC 7983 demux, plain RTP/RTCP in and out (zero-copy by [`controller::TransportId`]), combined states |
//! | `driver` (tokio) | sockets and timers pumping a [`controller::TransportController`] |
//!
//! The crate forbids unsafe code except in `dtls::ffi`, the one small module
//! that reaches OpenSSL's DTLS timer (`DTLSv1_get_timeout`/`DTLSv1_handle_timeout`, and
//! `DTLS_set_timer_cb` for a 100 ms first retransmission instead of 1 s). It needs OpenSSL 1.1.1+.
#![deny(unsafe_code)]

pub mod certificate;
pub mod controller;
#[cfg(feature = "tokio")]
pub mod driver;
pub mod dtls;
mod error;
pub mod srtp;

pub use error::{CertificateError, Error, OpensslError};
/// The ICE layer this crate runs over (candidates, agents), re-exported for the
/// layers above.
pub use ice;
