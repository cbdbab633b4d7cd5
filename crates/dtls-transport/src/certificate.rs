//! Self-signed certificates and their SDP fingerprints (libwebrtc's
//! `RTCCertificate` and `DtlsIdentityStore`).
//!
//! WebRTC peers authenticate DTLS with self-signed certificates: each side
//! puts the hash of its certificate in its session description
//! (`a=fingerprint:sha-256 AB:CD:…`, RFC 8122), and each side checks that the
//! certificate presented in the DTLS handshake hashes to the fingerprint from
//! the other side's description.
//!
//! ```
//! use std::time::Duration;
//! use dtls_transport::certificate::{Certificate, Fingerprint, HashAlgorithm, KeyType};
//!
//! let cert = Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(30 * 86_400))?;
//! let fp = cert.fingerprint(HashAlgorithm::Sha256);
//! let sdp = fp.to_string(); // "sha-256 AB:CD:…", for a=fingerprint
//! assert!(sdp.starts_with("sha-256 "));
//! let parsed: Fingerprint = sdp.to_lowercase().parse()?;
//! assert_eq!(parsed, fp);
//!
//! // Persist and restore it.
//! let restored = Certificate::from_pem(&cert.to_pem())?;
//! assert_eq!(restored.fingerprint(HashAlgorithm::Sha256), fp);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openssl::asn1::Asn1Time;
use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::x509::{X509Ref, X509};

use crate::error::{CertificateError, OpensslError};
use crate::Error;

/// How long a generated certificate is valid by default: 30 days, as libwebrtc.
pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// How far before "now" a generated certificate starts being valid (one day),
/// so a peer whose clock is a little behind still accepts it.
const BACKDATE: Duration = Duration::from_secs(24 * 60 * 60);

/// The key type of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum KeyType {
    /// ECDSA on NIST P-256 with SHA-256 (what browsers use; fast).
    #[default]
    EcdsaP256,
    /// RSA, 2048-bit modulus, PKCS#1 v1.5 signatures with SHA-256.
    ///
    /// Key generation takes tens to hundreds of milliseconds: do it off the
    /// hot path (e.g. `spawn_blocking`) or once and persist the certificate.
    Rsa2048,
}

/// A hash function usable in an SDP fingerprint (RFC 8122 §5, IANA
/// "Hash Function Textual Names").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// `sha-1` (legacy; accepted for interop, not recommended).
    Sha1,
    /// `sha-256`, what every browser sends.
    #[default]
    Sha256,
    /// `sha-384`.
    Sha384,
    /// `sha-512`.
    Sha512,
}

impl HashAlgorithm {
    /// All supported algorithms.
    pub const ALL: [HashAlgorithm; 4] = [
        HashAlgorithm::Sha1,
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ];

    /// The textual name used in SDP (`sha-256`, …).
    ///
    /// ```
    /// # use dtls_transport::certificate::HashAlgorithm;
    /// assert_eq!(HashAlgorithm::Sha256.sdp_name(), "sha-256");
    /// ```
    pub fn sdp_name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "sha-1",
            HashAlgorithm::Sha256 => "sha-256",
            HashAlgorithm::Sha384 => "sha-384",
            HashAlgorithm::Sha512 => "sha-512",
        }
    }

    /// Looks an algorithm up by its SDP name, ignoring ASCII case.
    ///
    /// ```
    /// # use dtls_transport::certificate::HashAlgorithm;
    /// assert_eq!(HashAlgorithm::from_sdp_name("SHA-384"), Some(HashAlgorithm::Sha384));
    /// assert_eq!(HashAlgorithm::from_sdp_name("md5"), None);
    /// ```
    pub fn from_sdp_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.sdp_name().eq_ignore_ascii_case(name))
    }

    /// The digest length in bytes.
    ///
    /// ```
    /// # use dtls_transport::certificate::HashAlgorithm;
    /// assert_eq!(HashAlgorithm::Sha256.digest_len(), 32);
    /// ```
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// Hashes `data` (a DER certificate) into a fingerprint.
    pub(crate) fn digest(self, data: &[u8]) -> Fingerprint {
        // Hashing with a built-in digest cannot fail short of memory
        // exhaustion; the sha2/sha1 crates give the same bytes without an
        // error path, so use them and keep this function infallible.
        use sha2::Digest as _;
        let mut bytes = [0u8; MAX_DIGEST_LEN];
        let len = self.digest_len();
        match self {
            HashAlgorithm::Sha1 => bytes[..len].copy_from_slice(&sha1::Sha1::digest(data)),
            HashAlgorithm::Sha256 => bytes[..len].copy_from_slice(&sha2::Sha256::digest(data)),
            HashAlgorithm::Sha384 => bytes[..len].copy_from_slice(&sha2::Sha384::digest(data)),
            HashAlgorithm::Sha512 => bytes[..len].copy_from_slice(&sha2::Sha512::digest(data)),
        }
        Fingerprint {
            algorithm: self,
            len: len as u8,
            bytes,
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sdp_name())
    }
}

const MAX_DIGEST_LEN: usize = 64;

/// A certificate fingerprint: a hash algorithm and the digest of the DER
/// certificate, as carried in SDP `a=fingerprint` (RFC 8122).
///
/// `Display` writes the SDP form, `sha-256 AB:CD:…` (uppercase hex, colon
/// separated); `FromStr` parses it, ignoring ASCII case. Equality compares the
/// digests without an early exit on the first differing byte.
///
/// ```
/// use dtls_transport::certificate::{Fingerprint, HashAlgorithm};
///
/// let fp: Fingerprint = "sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33".parse()?;
/// assert_eq!(fp.algorithm(), HashAlgorithm::Sha1);
/// assert_eq!(fp.as_bytes()[10], 0xAA);
/// assert!("sha-256 00:11".parse::<Fingerprint>().is_err()); // wrong length
/// # Ok::<(), dtls_transport::certificate::ParseFingerprintError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Fingerprint {
    algorithm: HashAlgorithm,
    len: u8,
    bytes: [u8; MAX_DIGEST_LEN],
}

impl Fingerprint {
    /// A fingerprint from an algorithm and a digest of the right length.
    ///
    /// ```
    /// # use dtls_transport::certificate::{Fingerprint, HashAlgorithm};
    /// let fp = Fingerprint::new(HashAlgorithm::Sha256, &[0xab; 32])?;
    /// assert!(fp.to_string().starts_with("sha-256 AB:AB:"));
    /// # Ok::<(), dtls_transport::certificate::ParseFingerprintError>(())
    /// ```
    pub fn new(algorithm: HashAlgorithm, digest: &[u8]) -> Result<Self, ParseFingerprintError> {
        let expected = algorithm.digest_len();
        if digest.len() != expected {
            return Err(ParseFingerprintError::WrongLength {
                expected,
                actual: digest.len(),
            });
        }
        let mut bytes = [0u8; MAX_DIGEST_LEN];
        bytes[..expected].copy_from_slice(digest);
        Ok(Fingerprint {
            algorithm,
            len: expected as u8,
            bytes,
        })
    }

    /// The fingerprint of a DER-encoded certificate.
    ///
    /// ```
    /// # use dtls_transport::certificate::{Certificate, Fingerprint, HashAlgorithm, KeyType, DEFAULT_VALIDITY};
    /// let cert = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
    /// let fp = Fingerprint::of_der(HashAlgorithm::Sha512, cert.certificate_der());
    /// assert_eq!(fp, cert.fingerprint(HashAlgorithm::Sha512));
    /// # Ok::<(), dtls_transport::Error>(())
    /// ```
    pub fn of_der(algorithm: HashAlgorithm, der: &[u8]) -> Self {
        algorithm.digest(der)
    }

    /// The hash algorithm.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Whether the DER certificate `der` hashes to this fingerprint (same
    /// algorithm), compared without an early exit.
    ///
    /// ```
    /// # use dtls_transport::certificate::{Certificate, HashAlgorithm, KeyType, DEFAULT_VALIDITY};
    /// let a = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
    /// let b = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
    /// let fp = a.fingerprint(HashAlgorithm::Sha256);
    /// assert!(fp.matches_der(a.certificate_der()));
    /// assert!(!fp.matches_der(b.certificate_der()));
    /// # Ok::<(), dtls_transport::Error>(())
    /// ```
    pub fn matches_der(&self, der: &[u8]) -> bool {
        *self == self.algorithm.digest(der)
    }

    /// Whether the DER certificate `der` matches one of `fingerprints`, the
    /// way RFC 8122 §5 verifies a peer that lists several: only the
    /// fingerprints with the strongest hash function listed are compared
    /// (one digest of the certificate), and any of those may match (a peer
    /// may list one per certificate). An empty list matches nothing.
    ///
    /// ```
    /// # use dtls_transport::certificate::{Certificate, Fingerprint, HashAlgorithm, KeyType, DEFAULT_VALIDITY};
    /// let cert = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
    /// let other = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
    /// let der = cert.certificate_der();
    /// // aiortc lists sha-256, sha-384 and sha-512: sha-512 decides.
    /// let listed = [
    ///     cert.fingerprint(HashAlgorithm::Sha256),
    ///     cert.fingerprint(HashAlgorithm::Sha384),
    ///     cert.fingerprint(HashAlgorithm::Sha512),
    /// ];
    /// assert!(Fingerprint::matches_any(&listed, der));
    /// // A wrong sha-512 is not saved by a right sha-256.
    /// let forged = [cert.fingerprint(HashAlgorithm::Sha256), other.fingerprint(HashAlgorithm::Sha512)];
    /// assert!(!Fingerprint::matches_any(&forged, der));
    /// assert!(!Fingerprint::matches_any(&[], der));
    /// # Ok::<(), dtls_transport::Error>(())
    /// ```
    pub fn matches_any(fingerprints: &[Fingerprint], der: &[u8]) -> bool {
        let Some(strongest) = fingerprints
            .iter()
            .map(|f| f.algorithm)
            .max_by_key(|a| a.digest_len())
        else {
            return false;
        };
        let digest = strongest.digest(der);
        fingerprints.contains(&digest)
    }

    /// The hex part alone (`AB:CD:…`), without the algorithm name.
    pub fn hex(&self) -> String {
        let mut s = String::with_capacity(usize::from(self.len) * 3);
        for (i, b) in self.as_bytes().iter().enumerate() {
            if i > 0 {
                s.push(':');
            }
            s.push(HEX_UPPER[usize::from(b >> 4)] as char);
            s.push(HEX_UPPER[usize::from(b & 0x0f)] as char);
        }
        s
    }
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

impl PartialEq for Fingerprint {
    fn eq(&self, other: &Self) -> bool {
        if self.algorithm != other.algorithm || self.len != other.len {
            return false;
        }
        // Constant time in the digest contents: fold every byte difference,
        // then look once. (The digests are public values in SDP, so this is
        // defence in depth rather than a hard requirement.)
        let diff = self
            .as_bytes()
            .iter()
            .zip(other.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

impl Eq for Fingerprint {}

impl std::hash::Hash for Fingerprint {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.algorithm.hash(state);
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm.sdp_name(), self.hex())
    }
}

/// Why a fingerprint string did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseFingerprintError {
    /// No `<hash-func> <value>` pair separated by whitespace.
    #[error("fingerprint is not `<hash-func> <value>`")]
    Malformed,
    /// The hash function is not one of sha-1, sha-256, sha-384, sha-512.
    #[error("unsupported fingerprint hash function")]
    UnknownAlgorithm,
    /// The value is not colon-separated pairs of hex digits.
    #[error("fingerprint value is not colon-separated hex pairs")]
    InvalidHex,
    /// The digest length does not fit the hash function.
    #[error("fingerprint has {actual} bytes, expected {expected}")]
    WrongLength {
        /// Bytes the hash function produces.
        expected: usize,
        /// Bytes in the value.
        actual: usize,
    },
}

impl From<ParseFingerprintError> for Error {
    fn from(_: ParseFingerprintError) -> Self {
        Error::InvalidFingerprint
    }
}

impl FromStr for Fingerprint {
    type Err = ParseFingerprintError;

    /// Parses `sha-256 AB:CD:…` (the value of `a=fingerprint:`), ignoring
    /// ASCII case and surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (name, value) = s
            .split_once(|c: char| c.is_ascii_whitespace())
            .ok_or(ParseFingerprintError::Malformed)?;
        let value = value.trim_start();
        if name.is_empty() || value.is_empty() {
            return Err(ParseFingerprintError::Malformed);
        }
        let algorithm =
            HashAlgorithm::from_sdp_name(name).ok_or(ParseFingerprintError::UnknownAlgorithm)?;
        let expected = algorithm.digest_len();
        let mut bytes = [0u8; MAX_DIGEST_LEN];
        let mut n = 0usize;
        for pair in value.split(':') {
            let p = pair.as_bytes();
            if p.len() != 2 {
                return Err(ParseFingerprintError::InvalidHex);
            }
            let byte = (hex_val(p[0])? << 4) | hex_val(p[1])?;
            if n < MAX_DIGEST_LEN {
                bytes[n] = byte;
            }
            n += 1;
        }
        if n != expected {
            return Err(ParseFingerprintError::WrongLength {
                expected,
                actual: n,
            });
        }
        Ok(Fingerprint {
            algorithm,
            len: expected as u8,
            bytes,
        })
    }
}

fn hex_val(c: u8) -> Result<u8, ParseFingerprintError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(ParseFingerprintError::InvalidHex),
    }
}

/// A self-signed certificate with its private key (libwebrtc's
/// `RTCCertificate`).
///
/// Cheap to clone (shared). The SHA-256 fingerprint is computed once at
/// construction. `Debug` never prints the private key.
#[derive(Clone)]
pub struct Certificate {
    inner: Arc<Inner>,
}

struct Inner {
    key_type: KeyType,
    cert_der: Vec<u8>,
    /// PKCS#8 DER.
    key_der: Vec<u8>,
    x509: X509,
    pkey: PKey<Private>,
    sha256: Fingerprint,
    not_after: SystemTime,
    /// The DTLS `SSL_CTX` built from this certificate, shared by every
    /// transport that uses it (see `dtls::dtls_context`).
    dtls_context: OnceLock<openssl::ssl::SslContext>,
}

/// A [`CertificateError`] for an rcgen failure in step `what`.
fn rcgen_err(what: &'static str) -> impl FnOnce(rcgen::Error) -> Error {
    move |source| Error::Certificate(CertificateError::Rcgen { what, source })
}

/// A [`CertificateError`] for an OpenSSL failure in step `what`.
fn openssl_err(what: &'static str) -> impl FnOnce(ErrorStack) -> Error {
    move |stack| {
        let source = OpensslError::from(stack);
        Error::Certificate(CertificateError::Openssl { what, source })
    }
}

impl Certificate {
    /// Generates a key pair and a self-signed certificate (CN `WebRTC`,
    /// random 64-bit serial), valid from one day ago until now + `validity`.
    ///
    /// ECDSA keys and the certificate come from rcgen. rcgen (with its `ring`
    /// backend, the one this workspace builds) cannot generate RSA keys, so
    /// RSA-2048 keys are generated with OpenSSL and then signed into a
    /// certificate by rcgen.
    ///
    /// Reads the system clock for the validity period.
    ///
    /// ```
    /// # use dtls_transport::certificate::{Certificate, KeyType, DEFAULT_VALIDITY};
    /// let cert = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
    /// assert_eq!(cert.key_type(), KeyType::EcdsaP256);
    /// assert!(!cert.has_expired(std::time::SystemTime::now()));
    /// # Ok::<(), dtls_transport::Error>(())
    /// ```
    pub fn generate(key_type: KeyType, validity: Duration) -> Result<Self, Error> {
        let now = SystemTime::now();
        let not_before = now.checked_sub(BACKDATE).unwrap_or(UNIX_EPOCH);
        let not_after = now
            .checked_add(validity)
            .ok_or(Error::Certificate(CertificateError::ValidityOverflow))?;

        let key_pair = match key_type {
            KeyType::EcdsaP256 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                .map_err(rcgen_err("ECDSA key generation"))?,
            KeyType::Rsa2048 => {
                let rsa = openssl::rsa::Rsa::generate(2048)?;
                let pkey = PKey::from_rsa(rsa)?;
                let pkcs8 = pkey.private_key_to_pkcs8()?;
                rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
                    &pkcs8.as_slice().into(),
                    &rcgen::PKCS_RSA_SHA256,
                )
                .map_err(rcgen_err("RSA key import"))?
            }
        };

        let mut params = rcgen::CertificateParams::default();
        params.not_before = not_before.into();
        params.not_after = not_after.into();
        let mut serial = [0u8; 8];
        openssl::rand::rand_bytes(&mut serial)?;
        serial[0] &= 0x7f; // positive INTEGER
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, "WebRTC");
        params.distinguished_name = dn;

        let cert = params
            .self_signed(&key_pair)
            .map_err(rcgen_err("self-signing"))?;
        Self::from_der(cert.der(), &key_pair.serialize_der())
    }

    /// Loads a certificate and its private key from DER: the X.509
    /// certificate and the PKCS#8 private key (what [`Certificate::to_der`]
    /// returns). Only ECDSA P-256 and RSA-2048 keys are accepted, and the key
    /// must belong to the certificate.
    pub fn from_der(certificate: &[u8], private_key: &[u8]) -> Result<Self, Error> {
        let x509 = X509::from_der(certificate).map_err(openssl_err("certificate DER"))?;
        let pkey = PKey::private_key_from_der(private_key)
            .or_else(|_| PKey::private_key_from_pkcs8(private_key))
            .map_err(openssl_err("private key DER"))?;
        Self::from_parts(x509, pkey)
    }

    /// Loads a certificate and its private key from PEM text holding both a
    /// `CERTIFICATE` block and a `PRIVATE KEY` block (what
    /// [`Certificate::to_pem`] writes; `EC PRIVATE KEY` and `RSA PRIVATE KEY`
    /// blocks are accepted too).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let x509 = X509::from_pem(pem.as_bytes()).map_err(openssl_err("certificate PEM"))?;
        let pkey =
            PKey::private_key_from_pem(pem.as_bytes()).map_err(openssl_err("private key PEM"))?;
        Self::from_parts(x509, pkey)
    }

    fn from_parts(x509: X509, pkey: PKey<Private>) -> Result<Self, Error> {
        let key_type = match pkey.id() {
            Id::EC => {
                let ec = pkey.ec_key()?;
                if ec.group().curve_name() != Some(Nid::X9_62_PRIME256V1) {
                    return Err(Error::Certificate(CertificateError::NotP256));
                }
                KeyType::EcdsaP256
            }
            Id::RSA if pkey.bits() == 2048 => KeyType::Rsa2048,
            _ => return Err(Error::Certificate(CertificateError::UnsupportedKey)),
        };
        let public = x509.public_key()?;
        if !public.public_eq(&pkey) {
            return Err(Error::Certificate(CertificateError::KeyMismatch));
        }
        let cert_der = x509.to_der()?;
        let key_der = pkey.private_key_to_pkcs8()?;
        let not_after = asn1_to_system_time(x509.not_after())?;
        let sha256 = HashAlgorithm::Sha256.digest(&cert_der);
        Ok(Certificate {
            inner: Arc::new(Inner {
                key_type,
                cert_der,
                key_der,
                x509,
                pkey,
                sha256,
                not_after,
                dtls_context: OnceLock::new(),
            }),
        })
    }

    /// The certificate and private key as PEM: a `CERTIFICATE` block then a
    /// PKCS#8 `PRIVATE KEY` block, both written by OpenSSL's PEM writer.
    /// Keep it secret; [`Certificate::from_pem`] reads it back.
    ///
    /// # Panics
    ///
    /// Only if OpenSSL cannot allocate the PEM text of a certificate and
    /// key it already holds (its writers fail on nothing else).
    pub fn to_pem(&self) -> String {
        const WRITTEN: &str = "OpenSSL writes PEM for a certificate and key it holds";
        let mut pem = self.inner.x509.to_pem().expect(WRITTEN);
        pem.extend(self.inner.pkey.private_key_to_pem_pkcs8().expect(WRITTEN));
        // PEM is ASCII.
        String::from_utf8(pem).expect(WRITTEN)
    }

    /// The certificate (X.509 DER) and private key (PKCS#8 DER);
    /// [`Certificate::from_der`] reads them back.
    ///
    /// ```
    /// # use dtls_transport::certificate::{Certificate, KeyType, DEFAULT_VALIDITY};
    /// let cert = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
    /// let (der, key) = cert.to_der();
    /// let again = Certificate::from_der(&der, &key)?;
    /// assert_eq!(again.certificate_der(), cert.certificate_der());
    /// # Ok::<(), dtls_transport::Error>(())
    /// ```
    pub fn to_der(&self) -> (Vec<u8>, Vec<u8>) {
        (self.inner.cert_der.clone(), self.inner.key_der.clone())
    }

    /// The DER certificate (public; what the fingerprint is computed over).
    pub fn certificate_der(&self) -> &[u8] {
        &self.inner.cert_der
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        self.inner.key_type
    }

    /// The fingerprint with `algorithm` (SHA-256 is cached, others hash the
    /// DER on each call).
    pub fn fingerprint(&self, algorithm: HashAlgorithm) -> Fingerprint {
        match algorithm {
            HashAlgorithm::Sha256 => self.inner.sha256,
            other => other.digest(&self.inner.cert_der),
        }
    }

    /// When the certificate stops being valid (its `notAfter`).
    pub fn expires(&self) -> SystemTime {
        self.inner.not_after
    }

    /// Whether the certificate has expired at `now`.
    pub fn has_expired(&self, now: SystemTime) -> bool {
        now >= self.inner.not_after
    }

    pub(crate) fn x509(&self) -> &X509Ref {
        &self.inner.x509
    }

    pub(crate) fn private_key(&self) -> &PKey<Private> {
        &self.inner.pkey
    }

    pub(crate) fn dtls_context_slot(&self) -> &OnceLock<openssl::ssl::SslContext> {
        &self.inner.dtls_context
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("key_type", &self.inner.key_type)
            .field("fingerprint", &self.inner.sha256)
            .field("expires", &self.inner.not_after)
            .finish_non_exhaustive()
    }
}

fn asn1_to_system_time(t: &openssl::asn1::Asn1TimeRef) -> Result<SystemTime, Error> {
    let epoch = Asn1Time::from_unix(0).map_err(openssl_err("validity time"))?;
    let d = epoch.diff(t).map_err(openssl_err("validity time"))?;
    let secs = i64::from(d.days) * 86_400 + i64::from(d.secs);
    Ok(if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_round_trip_all_algorithms() {
        let cert = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap();
        for alg in HashAlgorithm::ALL {
            let fp = cert.fingerprint(alg);
            assert_eq!(fp.as_bytes().len(), alg.digest_len());
            let s = fp.to_string();
            assert_eq!(s.parse::<Fingerprint>().unwrap(), fp);
            assert_eq!(s.to_ascii_lowercase().parse::<Fingerprint>().unwrap(), fp);
            assert_eq!(s.len(), alg.sdp_name().len() + 1 + alg.digest_len() * 3 - 1);
        }
        assert_ne!(
            cert.fingerprint(HashAlgorithm::Sha256),
            Fingerprint::new(HashAlgorithm::Sha256, &[0; 32]).unwrap()
        );
    }

    #[test]
    fn fingerprint_parse_errors() {
        use ParseFingerprintError::*;
        let p = |s: &str| s.parse::<Fingerprint>().unwrap_err();
        assert_eq!(p(""), Malformed);
        assert_eq!(p("sha-256"), Malformed);
        assert_eq!(p("md5 00:11"), UnknownAlgorithm);
        assert_eq!(p("sha-1 0:11"), InvalidHex);
        assert_eq!(p("sha-1 00::11"), InvalidHex);
        assert_eq!(p("sha-1 0g:11"), InvalidHex);
        assert_eq!(p("sha-1 00:11:"), InvalidHex);
        assert_eq!(p("sha-1 é0:11"), InvalidHex);
        assert_eq!(
            p("sha-1 00:11"),
            WrongLength {
                expected: 20,
                actual: 2
            }
        );
        let long = vec!["AB"; 100].join(":");
        assert_eq!(
            p(&format!("sha-512 {long}")),
            WrongLength {
                expected: 64,
                actual: 100
            }
        );
        assert_eq!(Error::from(InvalidHex), Error::InvalidFingerprint);
    }

    #[test]
    fn pem_and_der_round_trip() {
        let cert = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap();
        let pem = cert.to_pem();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(pem.contains("-----BEGIN PRIVATE KEY-----\n"));
        // OpenSSL's PEM writer, certificate first.
        let openssl_pem = String::from_utf8(cert.x509().to_pem().unwrap()).unwrap();
        assert!(pem.starts_with(&openssl_pem));
        assert!(pem.ends_with("-----END PRIVATE KEY-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        let back = Certificate::from_pem(&pem).unwrap();
        assert_eq!(back.certificate_der(), cert.certificate_der());
        assert_eq!(back.to_der(), cert.to_der());
        let (c, k) = cert.to_der();
        let back = Certificate::from_der(&c, &k).unwrap();
        assert_eq!(
            back.fingerprint(HashAlgorithm::Sha1),
            cert.fingerprint(HashAlgorithm::Sha1)
        );
    }

    #[test]
    fn mismatched_key_rejected() {
        let a = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap();
        let b = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap();
        let (ca, _) = a.to_der();
        let (_, kb) = b.to_der();
        assert!(matches!(
            Certificate::from_der(&ca, &kb),
            Err(Error::Certificate(_))
        ));
        assert!(Certificate::from_der(b"junk", &kb).is_err());
        assert!(Certificate::from_pem("junk").is_err());
    }

    #[test]
    fn validity_period_and_subject() {
        let validity = Duration::from_secs(7 * 86_400);
        let before = SystemTime::now();
        let cert = Certificate::generate(KeyType::EcdsaP256, validity).unwrap();
        let exp = cert.expires();
        assert!(exp >= before + validity - Duration::from_secs(2));
        assert!(exp <= SystemTime::now() + validity + Duration::from_secs(2));
        let nb = asn1_to_system_time(cert.x509().not_before()).unwrap();
        let expect_nb = before - BACKDATE;
        assert!(
            nb <= expect_nb + Duration::from_secs(2) && nb >= expect_nb - Duration::from_secs(2)
        );
        let cn = cert
            .x509()
            .subject_name()
            .entries_by_nid(Nid::COMMONNAME)
            .next()
            .unwrap()
            .data()
            .as_slice()
            .to_vec();
        assert_eq!(cn, b"WebRTC");
        assert!(cert.has_expired(exp));
        // Random serials.
        let other = Certificate::generate(KeyType::EcdsaP256, validity).unwrap();
        assert_ne!(
            cert.x509().serial_number().to_bn().unwrap(),
            other.x509().serial_number().to_bn().unwrap()
        );
    }
}
