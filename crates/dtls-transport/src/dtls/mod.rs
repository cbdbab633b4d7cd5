//! DTLS 1.2 over OpenSSL as a sans-IO state machine (libwebrtc's
//! `DtlsTransport`), with certificate fingerprint verification and DTLS-SRTP
//! keying (RFC 5763, RFC 5764).
//!
//! [`DtlsTransport`] owns no socket and reads no clock of its own: datagrams
//! come in through [`DtlsTransport::handle_receive`], go out through
//! [`DtlsTransport::poll_transmit`], and every input carries `now`. Between
//! OpenSSL and the state machine sits an in-memory datagram pipe (each write
//! is one outgoing datagram; a read returns one queued incoming datagram or
//! `WouldBlock`).
//!
//! # The run loop
//!
//! After every input (`start`, `handle_receive`, `handle_timeout`, `send`,
//! `close`, `set_remote_fingerprint`), drain in this order:
//!
//! 1. [`poll_transmit`](DtlsTransport::poll_transmit) until `None`: send each
//!    datagram to the peer (over ICE);
//! 2. [`poll_event`](DtlsTransport::poll_event) until `None`;
//! 3. [`poll_timeout`](DtlsTransport::poll_timeout): call
//!    [`handle_timeout`](DtlsTransport::handle_timeout) at that instant.
//!
//! # The one exception to "no clock": the retransmission timer
//!
//! OpenSSL's DTLS retransmission timer reads the real (monotonic) clock, and
//! OpenSSL offers no way to inject time. `poll_timeout` returns the `now` of
//! the last input plus the time OpenSSL says is left; `handle_timeout` asks
//! OpenSSL to retransmit if *its* clock says the timer expired, and does
//! nothing otherwise. On a lossless path no timer ever fires, so in-memory
//! tests run on virtual time; loss recovery needs real time to pass.
//!
//! The timer's durations are ours: every transport installs a
//! `DTLS_set_timer_cb` callback, so a flight is first retransmitted after
//! [`INITIAL_RETRANSMIT_TIMEOUT`] = 100 ms (OpenSSL's default is 1 s;
//! libwebrtc starts at 50 ms, DTLS 1.3 recommends 100 ms), then after
//! 200 ms, 400 ms… doubling up to [`MAX_RETRANSMIT_TIMEOUT`] = 60 s.
//! OpenSSL still gives up after 12 retransmissions of one flight (about
//! 282 s), failing the transport.
//!
//! # Security
//!
//! The OpenSSL verify callback accepts any certificate (WebRTC certificates
//! are self-signed). When the handshake completes, and before
//! [`DtlsState::Connected`] is reported, the peer certificate's digest (with
//! the remote fingerprint's hash function) is compared with the remote
//! fingerprint from the peer's session description. A different one fails
//! the transport ([`Error::FingerprintMismatch`]), sends close_notify, and no
//! application data is ever delivered. When the handshake finishes before
//! the fingerprint is known (ICE early, answer late), the transport stays in
//! [`DtlsState::Connecting`], holding everything, until
//! [`DtlsTransport::set_remote_fingerprints`] verifies the certificate. Application data that arrives before the check
//! (records of the next epoch reordered ahead of the peer's Finished) stays
//! buffered inside OpenSSL and is read only after the check passes; after a
//! failure it is dropped with the connection.

mod ffi;

pub use ffi::{INITIAL_RETRANSMIT_TIMEOUT, MAX_RETRANSMIT_TIMEOUT};

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::str::FromStr;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use openssl::ssl::{
    ErrorCode, Ssl, SslContextBuilder, SslContextRef, SslMethod, SslOptions, SslSessionCacheMode,
    SslStream, SslVerifyMode, SslVersion,
};

use ice::stun::{classify, PacketKind};

use crate::certificate::{Certificate, Fingerprint, HashAlgorithm};
use crate::error::OpensslError;
use crate::srtp::SrtpProfile;
use crate::Error;

/// The default DTLS MTU (UDP payload size): 1200 bytes, as libwebrtc.
pub const DEFAULT_MTU: u16 = 1200;

/// DTLS 1.2 cipher suites we offer/accept: ECDHE with ECDSA or RSA
/// certificates, AES-GCM only.
const CIPHER_LIST: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
                           ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";

/// Key exchange groups, fastest first.
const GROUPS: &str = "X25519:P-256:P-384";

/// The RFC 5705 exporter label for DTLS-SRTP (RFC 5764 §4.2).
const SRTP_EXPORTER_LABEL: &str = "EXTRACTOR-dtls_srtp";

/// Largest DTLS plaintext record (2^14).
const MAX_RECORD_PLAINTEXT: usize = 16_384;

/// Application records held while the peer's fingerprint is awaited after
/// the handshake (more are dropped, as a full socket buffer would; SCTP and
/// the media layers recover).
const MAX_HELD_RECORDS: usize = 256;

/// Whether a datagram is a DTLS record by its first byte (20–63, RFC 7983 §7):
/// [`stun::classify`](ice::stun::classify) says [`PacketKind::Dtls`].
///
/// ```
/// # use dtls_transport::dtls::is_dtls;
/// assert!(is_dtls(&[22, 0xfe, 0xfd]));
/// assert!(!is_dtls(&[0x80, 0x60])); // RTP
/// assert!(!is_dtls(&[0x00, 0x01])); // STUN
/// ```
pub fn is_dtls(datagram: &[u8]) -> bool {
    classify(datagram) == PacketKind::Dtls
}

/// Which side of the DTLS handshake we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtlsRole {
    /// Sends the ClientHello (`a=setup:active`).
    Client,
    /// Waits for the ClientHello (`a=setup:passive`).
    Server,
}

/// The SDP `a=setup` attribute (RFC 4145 §4, RFC 8842 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setup {
    /// `active`: this side opens the connection (DTLS client).
    Active,
    /// `passive`: this side accepts the connection (DTLS server).
    Passive,
    /// `actpass`: either; what an offer carries.
    ActPass,
}

impl Setup {
    /// The SDP value (`active`, `passive`, `actpass`).
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
        }
    }
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Setup {
    type Err = Error;

    /// Parses `active`, `passive` or `actpass` (ASCII case ignored).
    /// `holdconn` and anything else is [`Error::UnknownSetup`]: WebRTC never
    /// holds the connection (RFC 8842 §5.1).
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        [Setup::Active, Setup::Passive, Setup::ActPass]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or(Error::UnknownSetup)
    }
}

impl DtlsRole {
    /// Resolves our DTLS role from our and the peer's `a=setup` (RFC 8842
    /// §5): whoever is `active` is the client. The answerer picks `active`
    /// or `passive`, so one side is `actpass` (the offerer) and the other is
    /// not, or both are explicit and opposite.
    ///
    /// ```
    /// use dtls_transport::dtls::{DtlsRole, Setup};
    /// // We offered actpass, the answer says active: we are the server.
    /// assert_eq!(DtlsRole::from_setup(Setup::ActPass, Setup::Active)?, DtlsRole::Server);
    /// // We answer active to an actpass offer: we are the client.
    /// assert_eq!(DtlsRole::from_setup(Setup::Active, Setup::ActPass)?, DtlsRole::Client);
    /// assert!(DtlsRole::from_setup(Setup::Active, Setup::Active).is_err());
    /// # Ok::<(), dtls_transport::Error>(())
    /// ```
    pub fn from_setup(local: Setup, remote: Setup) -> Result<Self, Error> {
        use Setup::*;
        match (local, remote) {
            (Active, Passive | ActPass) | (ActPass, Passive) => Ok(DtlsRole::Client),
            (Passive, Active | ActPass) | (ActPass, Active) => Ok(DtlsRole::Server),
            (Active, Active) => Err(Error::RoleConflict("both sides are active")),
            (Passive, Passive) => Err(Error::RoleConflict("both sides are passive")),
            (ActPass, ActPass) => Err(Error::RoleConflict(
                "both sides are actpass (the answer must choose active or passive)",
            )),
        }
    }

    /// The other role.
    pub fn opposite(self) -> Self {
        match self {
            DtlsRole::Client => DtlsRole::Server,
            DtlsRole::Server => DtlsRole::Client,
        }
    }
}

/// SRTP master keys and salts exported from the DTLS handshake (RFC 5764
/// §4.2), already oriented for our role: protect outgoing packets with
/// `local_*`, unprotect incoming ones with `remote_*`.
///
/// `Debug` does not print the secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    /// The negotiated protection profile.
    pub profile: SrtpProfile,
    /// Our write master key.
    pub local_key: Vec<u8>,
    /// Our write master salt.
    pub local_salt: Vec<u8>,
    /// The peer's write master key.
    pub remote_key: Vec<u8>,
    /// The peer's write master salt.
    pub remote_salt: Vec<u8>,
}

impl fmt::Debug for SrtpKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpKeys")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl SrtpKeys {
    /// Splits the exporter output `client key | server key | client salt |
    /// server salt` (RFC 5764 §4.2) for `role`.
    pub(crate) fn from_keying_material(
        profile: SrtpProfile,
        role: DtlsRole,
        material: &[u8],
    ) -> Self {
        let (k, s) = (profile.master_key_len(), profile.master_salt_len());
        debug_assert_eq!(material.len(), 2 * (k + s));
        let client_key = &material[..k];
        let server_key = &material[k..2 * k];
        let client_salt = &material[2 * k..2 * k + s];
        let server_salt = &material[2 * k + s..2 * (k + s)];
        let (lk, ls, rk, rs) = match role {
            DtlsRole::Client => (client_key, client_salt, server_key, server_salt),
            DtlsRole::Server => (server_key, server_salt, client_key, client_salt),
        };
        SrtpKeys {
            profile,
            local_key: lk.to_vec(),
            local_salt: ls.to_vec(),
            remote_key: rk.to_vec(),
            remote_salt: rs.to_vec(),
        }
    }
}

/// The transport's state (the W3C `RTCDtlsTransportState` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtlsState {
    /// Created; [`DtlsTransport::start`] not called yet.
    New,
    /// Handshaking.
    Connecting,
    /// Handshake done and the peer's certificate matches its fingerprint.
    Connected,
    /// Closed by us ([`DtlsTransport::close`]) or by the peer's close_notify.
    Closed,
    /// The handshake failed, the peer sent a fatal alert, or the peer's
    /// certificate did not verify.
    Failed,
}

/// What the transport tells its user (libwebrtc's signals).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DtlsEvent {
    /// The state changed.
    StateChanged(DtlsState),
    /// The handshake completed and the peer is verified; comes right after
    /// `StateChanged(Connected)`. `srtp` is `None` when no SRTP profile was
    /// negotiated (no profiles configured, or the peer chose none).
    Connected {
        /// The DTLS-SRTP keys, oriented for our role.
        srtp: Option<SrtpKeys>,
    },
    /// Application data from the verified peer (one DTLS record).
    ApplicationData(Bytes),
    /// Why the transport failed; comes right before `StateChanged(Failed)`.
    Failed(Error),
}

/// The shortest timer [`DtlsTransport::poll_timeout`] reports after an input.
const MIN_TIMER: Duration = Duration::from_millis(1);

/// How to set a [`DtlsTransport`] up.
#[derive(Debug, Clone)]
pub struct DtlsConfig {
    /// Our certificate (its fingerprint goes in our description).
    pub certificate: Certificate,
    /// Client or server, from `a=setup` (see [`DtlsRole::from_setup`]).
    pub role: DtlsRole,
    /// The peer's fingerprints from its description (every `a=fingerprint`
    /// of its section; see [`Fingerprint::matches_any`]). May be set later
    /// with [`DtlsTransport::set_remote_fingerprints`]: when the handshake
    /// finishes first, the transport waits (nothing delivered, no SRTP
    /// keys) and verifies when the fingerprint arrives, as libwebrtc does.
    pub remote_fingerprints: Vec<Fingerprint>,
    /// Largest datagram OpenSSL writes (UDP payload), default [`DEFAULT_MTU`].
    pub mtu: u16,
    /// SRTP protection profiles to offer (client) or accept (server), in
    /// preference order; empty disables DTLS-SRTP (data channels only). The
    /// server picks its own most preferred profile among those the client
    /// offers (OpenSSL's rule); no common profile means no SRTP keys, not a
    /// failure.
    pub srtp_profiles: Vec<SrtpProfile>,
}

impl DtlsConfig {
    /// A configuration with the defaults: no remote fingerprint yet, MTU 1200,
    /// SRTP profiles AEAD_AES_128_GCM, AEAD_AES_256_GCM, AES128_CM_SHA1_80,
    /// AES128_CM_SHA1_32.
    pub fn new(certificate: Certificate, role: DtlsRole) -> Self {
        DtlsConfig {
            certificate,
            role,
            remote_fingerprints: Vec::new(),
            mtu: DEFAULT_MTU,
            srtp_profiles: SrtpProfile::ALL.to_vec(),
        }
    }

    /// Sets the remote fingerprint (builder style).
    pub fn with_remote_fingerprint(mut self, fingerprint: Fingerprint) -> Self {
        self.remote_fingerprints = vec![fingerprint];
        self
    }

    /// Sets every remote fingerprint of the peer's section (builder style).
    pub fn with_remote_fingerprints(mut self, fingerprints: &[Fingerprint]) -> Self {
        self.remote_fingerprints = fingerprints.to_vec();
        self
    }
}

/// The datagram pipe between OpenSSL and the state machine.
#[derive(Debug, Default)]
struct DatagramPipe {
    /// The datagram being handed to OpenSSL (at most one: each
    /// `handle_receive` runs OpenSSL until it has consumed it).
    incoming: Option<Vec<u8>>,
    /// Spare buffer reused for the next incoming datagram.
    spare: Vec<u8>,
    /// Datagrams OpenSSL wrote, oldest first.
    outgoing: VecDeque<Bytes>,
    /// Backing storage for outgoing datagrams (split off, so one allocation
    /// serves many).
    out_buf: BytesMut,
}

impl DatagramPipe {
    fn push_incoming(&mut self, datagram: &[u8]) {
        let mut buf = std::mem::take(&mut self.spare);
        buf.clear();
        buf.extend_from_slice(datagram);
        if let Some(old) = self.incoming.replace(buf) {
            // Not expected (OpenSSL reads until WouldBlock), but never grow.
            tracing::debug!(len = old.len(), "DTLS: unread datagram replaced");
        }
    }
}

impl io::Read for DatagramPipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.incoming.take() {
            Some(d) => {
                // Datagram semantics: what does not fit is dropped.
                let n = d.len().min(buf.len());
                buf[..n].copy_from_slice(&d[..n]);
                self.spare = d;
                Ok(n)
            }
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl io::Write for DatagramPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.out_buf.capacity() < buf.len() {
            self.out_buf.reserve(buf.len().max(4096));
        }
        self.out_buf.extend_from_slice(buf);
        self.outgoing.push_back(self.out_buf.split().freeze());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A DTLS 1.2 transport as a sans-IO state machine (libwebrtc's
/// `DtlsTransport`). See the [module docs](self) for the run loop, the timer
/// and the security rules.
///
/// # Example: a handshake in memory
///
/// ```
/// use std::time::{Duration, Instant};
/// use dtls_transport::certificate::{Certificate, HashAlgorithm, KeyType, DEFAULT_VALIDITY};
/// use dtls_transport::dtls::{DtlsConfig, DtlsEvent, DtlsRole, DtlsState, DtlsTransport};
///
/// let cert_a = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
/// let cert_b = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
/// // Each side learns the other's fingerprint from its session description.
/// let fp_a = cert_a.fingerprint(HashAlgorithm::Sha256);
/// let fp_b = cert_b.fingerprint(HashAlgorithm::Sha256);
///
/// let mut client = DtlsTransport::new(
///     DtlsConfig::new(cert_a, DtlsRole::Client).with_remote_fingerprint(fp_b),
/// )?;
/// let mut server = DtlsTransport::new(
///     DtlsConfig::new(cert_b, DtlsRole::Server).with_remote_fingerprint(fp_a),
/// )?;
///
/// let now = Instant::now();
/// client.start(now);
/// server.start(now);
/// // Shuttle datagrams until neither side has anything to send.
/// loop {
///     let mut moved = false;
///     while let Some(d) = client.poll_transmit() {
///         server.handle_receive(now, &d);
///         moved = true;
///     }
///     while let Some(d) = server.poll_transmit() {
///         client.handle_receive(now, &d);
///         moved = true;
///     }
///     if !moved {
///         break;
///     }
/// }
/// assert_eq!(client.state(), DtlsState::Connected);
/// assert_eq!(server.state(), DtlsState::Connected);
///
/// // Both sides derived the same SRTP keys, mirrored.
/// let (ck, sk) = (client.srtp_keys().unwrap(), server.srtp_keys().unwrap());
/// assert_eq!(ck.local_key, sk.remote_key);
/// assert_eq!(ck.remote_salt, sk.local_salt);
///
/// // Application data.
/// client.send(b"hello")?;
/// while let Some(d) = client.poll_transmit() {
///     server.handle_receive(now, &d);
/// }
/// let mut got = None;
/// while let Some(ev) = server.poll_event() {
///     if let DtlsEvent::ApplicationData(data) = ev {
///         got = Some(data);
///     }
/// }
/// assert_eq!(got.as_deref(), Some(&b"hello"[..]));
/// # Ok::<(), dtls_transport::Error>(())
/// ```
pub struct DtlsTransport {
    role: DtlsRole,
    local_fingerprint: Fingerprint,
    remote_fingerprints: Vec<Fingerprint>,
    /// DER of the peer's certificate once the handshake completed.
    remote_certificate: Option<Vec<u8>>,
    stream: SslStream<DatagramPipe>,
    state: DtlsState,
    srtp_offered: bool,
    srtp_keys: Option<SrtpKeys>,
    failure: Option<Error>,
    /// Application data decrypted while the peer's fingerprint was awaited
    /// (at most [`MAX_HELD_RECORDS`]), delivered once it verifies.
    held: VecDeque<Bytes>,
    events: VecDeque<DtlsEvent>,
    deadline: Option<Instant>,
    /// A datagram went in or out since the last [`DtlsTransport::compact_idle`].
    active: bool,
}

thread_local! {
    /// Where OpenSSL decrypts a record before it is copied out: one 16 KiB
    /// buffer per thread instead of one per transport (an idle connection
    /// holds no read buffer; a server with 10,000 of them saves 160 MiB).
    static READ_BUF: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0u8; MAX_RECORD_PLAINTEXT].into_boxed_slice());
}

impl fmt::Debug for DtlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsTransport")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("remote_fingerprints", &self.remote_fingerprints)
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

/// The OpenSSL context for `certificate`: everything that does not depend on
/// the role, MTU or SRTP profiles. Building one costs about as much as a
/// third of a handshake with OpenSSL 3 (provider and algorithm look-ups), so
/// it is built once per certificate and shared by every transport using it
/// (cached inside the certificate).
fn dtls_context(certificate: &Certificate) -> Result<&SslContextRef, Error> {
    let slot = certificate.dtls_context_slot();
    if let Some(ctx) = slot.get() {
        return Ok(ctx);
    }
    let mut ctx = SslContextBuilder::new(SslMethod::dtls())?;
    ctx.set_min_proto_version(Some(SslVersion::DTLS1_2))?;
    ctx.set_max_proto_version(Some(SslVersion::DTLS1_2))?;
    // NO_QUERY_MTU: our BIO is not a socket; use the configured MTU.
    ctx.set_options(
        SslOptions::NO_QUERY_MTU
            | SslOptions::NO_TICKET
            | SslOptions::NO_RENEGOTIATION
            | SslOptions::NO_COMPRESSION,
    );
    ctx.set_session_cache_mode(SslSessionCacheMode::OFF);
    ctx.set_cipher_list(CIPHER_LIST)?;
    ctx.set_groups_list(GROUPS)?;
    ctx.set_certificate(certificate.x509())?;
    ctx.set_private_key(certificate.private_key())?;
    ctx.check_private_key()?;
    // Self-signed certificates are the norm: accept any chain here; the
    // certificate is checked against the SDP fingerprint after the handshake.
    // The server requests a certificate and fails without one.
    ctx.set_verify_callback(
        SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
        |_preverify_ok, _store| true,
    );
    // Two threads racing here both build one; the first stored wins.
    Ok(slot.get_or_init(|| ctx.build()))
}

fn build_ssl(config: &DtlsConfig) -> Result<Ssl, Error> {
    let mut ssl = Ssl::new(dtls_context(&config.certificate)?)?;
    if !config.srtp_profiles.is_empty() {
        let mut names = String::new();
        for (i, p) in config.srtp_profiles.iter().enumerate() {
            if i > 0 {
                names.push(':');
            }
            names.push_str(p.name());
        }
        ssl.set_tlsext_use_srtp(&names)?;
    }
    ssl.set_mtu(u32::from(config.mtu))?;
    // INITIAL_RETRANSMIT_TIMEOUT instead of OpenSSL's 1 s (see the module docs).
    ffi::set_timer_cb(&mut ssl);
    match config.role {
        DtlsRole::Client => ssl.set_connect_state(),
        DtlsRole::Server => ssl.set_accept_state(),
    }
    Ok(ssl)
}

/// Takes OpenSSL's queued errors (so they cannot leak into later calls on
/// this thread) and renders them.
impl DtlsTransport {
    // ----- construction and getters

    /// Creates a transport in state [`DtlsState::New`]. Fails only if OpenSSL
    /// rejects the configuration (e.g. an MTU below its minimum).
    pub fn new(config: DtlsConfig) -> Result<Self, Error> {
        let ssl = build_ssl(&config)?;
        let stream = SslStream::new(ssl, DatagramPipe::default())?;
        Ok(DtlsTransport {
            role: config.role,
            local_fingerprint: config.certificate.fingerprint(HashAlgorithm::Sha256),
            remote_fingerprints: config.remote_fingerprints,
            remote_certificate: None,
            stream,
            state: DtlsState::New,
            srtp_offered: !config.srtp_profiles.is_empty(),
            srtp_keys: None,
            failure: None,
            held: VecDeque::new(),
            active: true,
            events: VecDeque::new(),
            deadline: None,
        })
    }

    /// The current state.
    pub fn state(&self) -> DtlsState {
        self.state
    }

    /// Our role.
    pub fn role(&self) -> DtlsRole {
        self.role
    }

    /// Our certificate's SHA-256 fingerprint (for our description).
    pub fn local_fingerprint(&self) -> Fingerprint {
        self.local_fingerprint
    }

    /// The fingerprints the peer is checked against.
    pub fn remote_fingerprints(&self) -> &[Fingerprint] {
        &self.remote_fingerprints
    }

    /// The peer's certificate (DER), once the handshake has completed
    /// (whether or not it verified).
    pub fn remote_certificate(&self) -> Option<&[u8]> {
        self.remote_certificate.as_deref()
    }

    /// The SRTP keys, once connected with a negotiated profile.
    pub fn srtp_keys(&self) -> Option<&SrtpKeys> {
        self.srtp_keys.as_ref()
    }

    /// Why the transport failed, in state [`DtlsState::Failed`].
    pub fn failure(&self) -> Option<&Error> {
        self.failure.as_ref()
    }

    /// The negotiated cipher suite (OpenSSL name), once connected.
    pub fn cipher_suite(&self) -> Option<&'static str> {
        match self.state {
            DtlsState::Connected => self.stream.ssl().current_cipher().map(|c| c.name()),
            _ => None,
        }
    }

    // ----- inputs

    /// Starts the handshake: a client writes its ClientHello, a server waits
    /// for one. Does nothing unless the state is [`DtlsState::New`].
    pub fn start(&mut self, now: Instant) {
        if self.state != DtlsState::New {
            return;
        }
        self.set_state(DtlsState::Connecting);
        self.continue_handshake();
        self.update_deadline(now);
    }

    /// Handles one datagram from the peer. Datagrams that are not DTLS (first
    /// byte outside 20–63) are ignored; demultiplex before calling. In state
    /// [`DtlsState::New`] this starts the transport first (a server may get
    /// the ClientHello before the application called `start`). After the
    /// transport closed or failed, input is dropped.
    pub fn handle_receive(&mut self, now: Instant, datagram: &[u8]) {
        self.active = true;
        if !is_dtls(datagram) {
            tracing::trace!(len = datagram.len(), "DTLS: ignoring non-DTLS datagram");
            return;
        }
        if self.state == DtlsState::New {
            self.start(now);
        }
        match self.state {
            DtlsState::Connecting if self.remote_certificate.is_some() => {
                self.stream.get_mut().push_incoming(datagram);
                self.read_records();
            }
            DtlsState::Connecting => {
                self.stream.get_mut().push_incoming(datagram);
                self.continue_handshake();
            }
            DtlsState::Connected => {
                self.stream.get_mut().push_incoming(datagram);
                self.read_records();
            }
            _ => {
                tracing::trace!(state = ?self.state, "DTLS: dropping datagram");
                return;
            }
        }
        // Whatever OpenSSL did not read (it always reads until WouldBlock) is
        // dropped, so the pipe never holds more than one datagram.
        self.stream.get_mut().incoming = None;
        self.update_deadline(now);
    }

    /// Lets OpenSSL retransmit if its retransmission timer expired (by the
    /// real clock; see the [module docs](self)). Call at
    /// [`poll_timeout`](Self::poll_timeout); calling early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !matches!(self.state, DtlsState::Connecting | DtlsState::Connected) {
            return;
        }
        match ffi::handle_timeout(&mut self.stream) {
            ffi::TimeoutOutcome::NotExpired => {}
            ffi::TimeoutOutcome::Retransmitted => {
                tracing::debug!(role = ?self.role, "DTLS: retransmitted last flight");
            }
            ffi::TimeoutOutcome::Failed => {
                self.fail(Error::HandshakeTimeout(OpensslError::from_queue()));
            }
        }
        self.update_deadline(now);
    }

    // ----- commands

    /// Gives back the buffers a burst grew (the handshake's flights, the
    /// event queue) when nothing went in or out since the last call, so an
    /// idle connection holds almost nothing; call it from a timer (the
    /// TransportController does, from `handle_timeout`), never per packet. A
    /// transport in use is left alone, so this never costs a send an
    /// allocation while traffic flows.
    pub fn compact_idle(&mut self) {
        if std::mem::replace(&mut self.active, false) {
            return;
        }
        let pipe = self.stream.get_mut();
        if pipe.outgoing.is_empty() {
            pipe.out_buf = BytesMut::new();
            pipe.spare = Vec::new();
            pipe.outgoing = VecDeque::new();
        }
        if self.events.is_empty() {
            self.events = VecDeque::new();
        }
        if self.held.is_empty() {
            self.held = VecDeque::new();
        }
    }

    /// Sets (or replaces) the peer's fingerprint. Before the handshake
    /// completes this is simply remembered. If the handshake already
    /// completed (with a fingerprint, or without one: then the transport
    /// waited in [`DtlsState::Connecting`], delivering nothing), the peer
    /// certificate is checked against the new fingerprint: a match reports
    /// [`DtlsState::Connected`] now, a mismatch fails the transport and
    /// returns [`Error::FingerprintMismatch`].
    pub fn set_remote_fingerprint(&mut self, fingerprint: Fingerprint) -> Result<(), Error> {
        self.set_remote_fingerprints(&[fingerprint])
    }

    /// Sets (or replaces) every fingerprint of the peer's section; the
    /// certificate must match one with the strongest hash function listed
    /// ([`Fingerprint::matches_any`]). Otherwise as
    /// [`set_remote_fingerprint`](Self::set_remote_fingerprint).
    pub fn set_remote_fingerprints(&mut self, fingerprints: &[Fingerprint]) -> Result<(), Error> {
        self.remote_fingerprints.clear();
        self.remote_fingerprints.extend_from_slice(fingerprints);
        if self.state == DtlsState::Connecting && self.remote_certificate.is_some() {
            // The handshake finished first: verify now (a mismatch fails).
            self.verify_and_connect();
            return match &self.failure {
                Some(e) => Err(e.clone()),
                None => Ok(()),
            };
        }
        if self.state == DtlsState::Connected {
            let ok = self
                .remote_certificate
                .as_deref()
                .is_some_and(|der| Fingerprint::matches_any(fingerprints, der));
            if !ok {
                self.fail(Error::FingerprintMismatch);
                return Err(Error::FingerprintMismatch);
            }
        }
        Ok(())
    }

    /// Sends `data` as one DTLS application data record (at most 16 KiB, and
    /// it should fit the MTU with the record overhead: about 1150 bytes at
    /// MTU 1200). Only in state [`DtlsState::Connected`], else
    /// [`Error::NotConnected`].
    pub fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        self.active = true;
        if self.state != DtlsState::Connected {
            return Err(Error::NotConnected);
        }
        if data.is_empty() {
            return Ok(());
        }
        match self.stream.ssl_write(data) {
            Ok(n) if n == data.len() => Ok(()),
            Ok(written) => Err(Error::ShortWrite {
                written,
                len: data.len(),
            }),
            Err(e) => Err(Error::Write(OpensslError::from_ssl(&e))),
        }
    }

    /// Closes the transport: sends close_notify if the handshake completed
    /// and moves to [`DtlsState::Closed`]. Does nothing if already closed or
    /// failed.
    pub fn close(&mut self, now: Instant) {
        // Closing stops the retransmission timer; nothing is scheduled from `now`.
        let _ = now;
        match self.state {
            DtlsState::Closed | DtlsState::Failed => return,
            DtlsState::Connected => self.send_close_notify(),
            DtlsState::New | DtlsState::Connecting => {}
        }
        self.set_state(DtlsState::Closed);
        self.deadline = None;
    }

    // ----- outputs

    /// The next datagram to send to the peer.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.stream.get_mut().outgoing.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<DtlsEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout): the `now` of
    /// the last input plus what OpenSSL's retransmission timer had left
    /// (100 ms after a flight is sent, doubling on each retransmission up to
    /// 60 s; see the [module docs](self)). OpenSSL reports a timer with less
    /// than 15 ms left as expired, so this may be up to 15 ms early. Always
    /// after the `now` of the last input (at least 1 ms), so a driver that
    /// sleeps until it never spins.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    // ----- internals

    fn set_state(&mut self, state: DtlsState) {
        if self.state != state {
            tracing::debug!(role = ?self.role, from = ?self.state, to = ?state, "DTLS state");
            self.state = state;
            self.events.push_back(DtlsEvent::StateChanged(state));
        }
    }

    fn fail(&mut self, error: Error) {
        if matches!(self.state, DtlsState::Closed | DtlsState::Failed) {
            return;
        }
        tracing::warn!(role = ?self.role, %error, "DTLS failed");
        if self.remote_certificate.is_some() {
            // Handshake completed (e.g. fingerprint mismatch): tell the peer.
            self.send_close_notify();
        }
        self.failure = Some(error.clone());
        self.srtp_keys = None;
        self.events.push_back(DtlsEvent::Failed(error));
        self.set_state(DtlsState::Failed);
        self.deadline = None;
    }

    fn send_close_notify(&mut self) {
        if let Err(e) = self.stream.shutdown() {
            tracing::debug!(error = %e, "DTLS: close_notify not sent");
            // Leave OpenSSL's error queue empty for the next call.
            let _ = openssl::error::ErrorStack::get();
        }
    }

    fn continue_handshake(&mut self) {
        match self.stream.do_handshake() {
            Ok(()) => self.on_handshake_complete(),
            Err(e) if matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE) => {}
            Err(e) => self.fail(Error::Handshake(OpensslError::from_ssl(&e))),
        }
    }

    fn on_handshake_complete(&mut self) {
        if self.state == DtlsState::Connected {
            return;
        }
        let der = match self.stream.ssl().peer_certificate().map(|c| c.to_der()) {
            Some(Ok(der)) => der,
            Some(Err(e)) => return self.fail(Error::from(e)),
            None => return self.fail(Error::NoPeerCertificate),
        };
        self.remote_certificate = Some(der);
        if self.remote_fingerprints.is_empty() {
            // The handshake finished before the peer's description arrived
            // (ICE early, answer late): hold everything, as libwebrtc does,
            // until set_remote_fingerprints decides.
            tracing::debug!(role = ?self.role, "DTLS handshake done; waiting for the peer's fingerprint");
            return;
        }
        self.verify_and_connect();
    }

    /// Checks the peer certificate against the remote fingerprints, then
    /// reports the connection (with the SRTP keys) and delivers what waited.
    fn verify_and_connect(&mut self) {
        let Some(der) = self.remote_certificate.as_deref() else {
            return;
        };
        let verdict = match self.remote_fingerprints.as_slice() {
            [] => Err(Error::MissingFingerprint),
            fps if !Fingerprint::matches_any(fps, der) => Err(Error::FingerprintMismatch),
            _ => Ok(()),
        };
        if let Err(e) = verdict {
            return self.fail(e);
        }
        let srtp = match self.export_srtp_keys() {
            Ok(k) => k,
            Err(e) => return self.fail(e),
        };
        self.srtp_keys = srtp.clone();
        self.set_state(DtlsState::Connected);
        self.events.push_back(DtlsEvent::Connected { srtp });
        // Records that arrived while the fingerprint was awaited, then those
        // of the next epoch that arrived before the peer's Finished (buffered
        // in OpenSSL): delivered now that the peer is verified.
        let held = std::mem::take(&mut self.held);
        self.events
            .extend(held.into_iter().map(DtlsEvent::ApplicationData));
        self.read_records();
    }

    fn export_srtp_keys(&self) -> Result<Option<SrtpKeys>, Error> {
        if !self.srtp_offered {
            return Ok(None);
        }
        let ssl = self.stream.ssl();
        let Some(selected) = ssl.selected_srtp_profile() else {
            return Ok(None);
        };
        let raw = selected.id().as_raw();
        let profile = u16::try_from(raw)
            .ok()
            .and_then(SrtpProfile::from_id)
            .ok_or(Error::NoSrtpProfile)?;
        let mut material = [0u8; 2 * (32 + 14)];
        let len = 2 * (profile.master_key_len() + profile.master_salt_len());
        ssl.export_keying_material(&mut material[..len], SRTP_EXPORTER_LABEL, None)?;
        let keys = SrtpKeys::from_keying_material(profile, self.role, &material[..len]);
        material.fill(0);
        Ok(Some(keys))
    }

    /// Whether the handshake finished and the peer's fingerprint is awaited.
    fn awaiting_fingerprint(&self) -> bool {
        self.state == DtlsState::Connecting && self.remote_certificate.is_some()
    }

    fn read_records(&mut self) {
        while self.state == DtlsState::Connected || self.awaiting_fingerprint() {
            let read = READ_BUF.with_borrow_mut(|buf| {
                self.stream
                    .ssl_read(buf)
                    .map(|n| Bytes::copy_from_slice(&buf[..n]))
            });
            match read {
                Ok(data) if data.is_empty() => break,
                Ok(data) => {
                    if self.state == DtlsState::Connected {
                        self.events.push_back(DtlsEvent::ApplicationData(data));
                    } else if self.held.len() < MAX_HELD_RECORDS {
                        // Decrypted, not delivered: the peer is not verified yet.
                        self.held.push_back(data);
                    }
                }
                Err(e) => {
                    match e.code() {
                        ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => {}
                        ErrorCode::ZERO_RETURN => {
                            tracing::debug!(role = ?self.role, "DTLS: close_notify received");
                            self.send_close_notify();
                            self.set_state(DtlsState::Closed);
                            self.deadline = None;
                        }
                        _ => self.fail(Error::Read(OpensslError::from_ssl(&e))),
                    }
                    break;
                }
            }
        }
    }

    /// The deadline after an input at `now`. OpenSSL times its flights on
    /// its own clock and reports less than 15 ms left as none; a timer that
    /// runs out between the input and this read would give `now` itself,
    /// which breaks the `now` contract (`poll_timeout` is always after the
    /// last input), so such a timer is reported [`MIN_TIMER`] later.
    fn update_deadline(&mut self, now: Instant) {
        self.deadline = match self.state {
            DtlsState::Connecting | DtlsState::Connected => {
                ffi::get_timeout(self.stream.ssl()).map(|left| now + left.max(MIN_TIMER))
            }
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keying_material_split() {
        let material: Vec<u8> = (0..60).collect();
        let c = SrtpKeys::from_keying_material(
            SrtpProfile::Aes128CmHmacSha1_80,
            DtlsRole::Client,
            &material,
        );
        let s = SrtpKeys::from_keying_material(
            SrtpProfile::Aes128CmHmacSha1_80,
            DtlsRole::Server,
            &material,
        );
        assert_eq!(c.local_key, (0..16).collect::<Vec<u8>>());
        assert_eq!(c.remote_key, (16..32).collect::<Vec<u8>>());
        assert_eq!(c.local_salt, (32..46).collect::<Vec<u8>>());
        assert_eq!(c.remote_salt, (46..60).collect::<Vec<u8>>());
        assert_eq!(s.local_key, c.remote_key);
        assert_eq!(s.local_salt, c.remote_salt);
        assert_eq!(s.remote_key, c.local_key);
        assert_eq!(s.remote_salt, c.local_salt);
        let g = SrtpKeys::from_keying_material(
            SrtpProfile::AeadAes256Gcm,
            DtlsRole::Client,
            &[7u8; 88],
        );
        assert_eq!((g.local_key.len(), g.local_salt.len()), (32, 12));
        assert!(!format!("{g:?}").contains('7'));
    }

    #[test]
    fn setup_parsing() {
        assert_eq!("ACTPASS".parse::<Setup>().unwrap(), Setup::ActPass);
        // An unknown value is not a role conflict.
        assert_eq!("holdconn".parse::<Setup>(), Err(Error::UnknownSetup));
        assert!(Error::UnknownSetup.is_peer_fault());
        for s in [Setup::Active, Setup::Passive, Setup::ActPass] {
            assert_eq!(s.to_string().parse::<Setup>().unwrap(), s);
        }
    }

    #[test]
    fn pipe_is_datagram_oriented() {
        use std::io::{Read, Write};
        let mut p = DatagramPipe::default();
        let mut buf = [0u8; 4];
        assert_eq!(
            p.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        p.push_incoming(b"abcdef");
        assert_eq!(p.read(&mut buf).unwrap(), 4); // truncated, rest dropped
        assert!(p.read(&mut buf).is_err());
        p.write_all(b"one").unwrap();
        p.write_all(b"two!").unwrap();
        assert_eq!(p.outgoing.pop_front().unwrap(), &b"one"[..]);
        assert_eq!(p.outgoing.pop_front().unwrap(), &b"two!"[..]);
    }

    #[test]
    fn transport_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<DtlsTransport>();
        assert_send::<DtlsEvent>();
    }
}
