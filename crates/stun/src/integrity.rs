//! Credentials, MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT (RFC 8489 §9, §14.5–14.7).
//!
//! An [`IntegrityKey`] holds the HMAC key *and* the keyed HMAC-SHA1 and
//! HMAC-SHA256 states, computed once. Signing or verifying a message then costs
//! only the message's own hash blocks, which is what makes per-check ICE
//! verification cheap. Comparisons are constant time.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::error::Error;
use crate::message::{FINGERPRINT_XOR, HEADER_LEN};

type HmacSha1 = Hmac<Sha1>;
type HmacSha256 = Hmac<Sha256>;

/// Which hash derived a long-term key (PASSWORD-ALGORITHM, RFC 8489 §18.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasswordAlgorithm {
    /// MD5 (0x0001), the RFC 5389 key.
    Md5,
    /// SHA-256 (0x0002).
    Sha256,
}

impl PasswordAlgorithm {
    /// The registered number.
    pub fn number(self) -> u16 {
        match self {
            PasswordAlgorithm::Md5 => 0x0001,
            PasswordAlgorithm::Sha256 => 0x0002,
        }
    }

    /// From the registered number.
    pub fn from_number(n: u16) -> Option<PasswordAlgorithm> {
        match n {
            0x0001 => Some(PasswordAlgorithm::Md5),
            0x0002 => Some(PasswordAlgorithm::Sha256),
            _ => None,
        }
    }
}

/// The "nonce cookie" that starts the NONCE of a server using RFC 8489's
/// security features (§9.2): `obMatJos2`, then the 24-bit feature set in
/// four base64 characters.
pub const NONCE_COOKIE: &str = "obMatJos2";

/// The STUN Security Features a server announces in its NONCE (RFC 8489
/// §9.2, registry §18.1).
///
/// The RFC's text numbers bit 0 from the left; its erratum 6268 (and the
/// implementations that follow it, libjuice among them) from the right.
/// [`SecurityFeatures::from_nonce`] accepts either position for each
/// feature; [`SecurityFeatures::nonce_prefix`] writes the erratum's.
///
/// ```
/// use stun::integrity::SecurityFeatures;
///
/// let features = SecurityFeatures { password_algorithms: true, username_anonymity: false };
/// let nonce = format!("{}3fe1c2", features.nonce_prefix());
/// assert_eq!(SecurityFeatures::from_nonce(&nonce), Some(features));
/// assert_eq!(SecurityFeatures::from_nonce("f0e1d2c3"), None); // an RFC 5389 server
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SecurityFeatures {
    /// "Password algorithms": the server sends PASSWORD-ALGORITHMS and
    /// expects PASSWORD-ALGORITHM(S) back.
    pub password_algorithms: bool,
    /// "Username anonymity": USERHASH may replace USERNAME.
    pub username_anonymity: bool,
}

impl SecurityFeatures {
    /// The features announced by `nonce`, or `None` when it does not start
    /// with [`NONCE_COOKIE`] and four valid base64 characters (a server of
    /// RFC 5389, whose nonce means nothing to the client).
    pub fn from_nonce(nonce: &str) -> Option<SecurityFeatures> {
        let encoded = nonce.strip_prefix(NONCE_COOKIE)?.as_bytes().get(..4)?;
        let mut bits = 0u32;
        for &c in encoded {
            bits = (bits << 6) | u32::from(base64_value(c)?);
        }
        Some(SecurityFeatures {
            password_algorithms: bits & (1 | 1 << 23) != 0,
            username_anonymity: bits & (1 << 1 | 1 << 22) != 0,
        })
    }

    /// [`NONCE_COOKIE`] and the encoded feature set: what a server's nonce
    /// starts with (bits numbered from the right, per the erratum).
    pub fn nonce_prefix(self) -> String {
        let bits = u32::from(self.password_algorithms) | u32::from(self.username_anonymity) << 1;
        let mut out = String::with_capacity(NONCE_COOKIE.len() + 4);
        out.push_str(NONCE_COOKIE);
        for shift in [18, 12, 6, 0] {
            out.push(BASE64[(bits >> shift & 0x3f) as usize] as char);
        }
        out
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_value(c: u8) -> Option<u8> {
    BASE64.iter().position(|&b| b == c).map(|i| i as u8)
}

/// The key of MESSAGE-INTEGRITY / MESSAGE-INTEGRITY-SHA256, with its HMAC states precomputed.
///
/// ```
/// use stun::{IntegrityKey, Message, MessageBuilder, Class, Method, TransactionId};
/// use stun::attributes::Username;
///
/// let key = IntegrityKey::short_term("VOkJxbRl1RmTxUk/WvJxBt").unwrap();
/// let mut buf = [0u8; 256];
/// let mut b = MessageBuilder::new(&mut buf, Class::Request, Method::BINDING, TransactionId([1; 12])).unwrap();
/// b.add(&Username("evtj:h6vY")).unwrap();
/// b.add_message_integrity(&key).unwrap();
/// b.add_fingerprint().unwrap();
/// let n = b.finish();
/// let msg = Message::parse(&buf[..n]).unwrap();
/// msg.verify_integrity(&key).unwrap();
/// assert!(msg.verify_integrity(&IntegrityKey::short_term("wrong").unwrap()).is_err());
/// ```
#[derive(Clone)]
pub struct IntegrityKey {
    sha1: HmacSha1,
    sha256: HmacSha256,
}

impl std::fmt::Debug for IntegrityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntegrityKey(..)")
    }
}

impl IntegrityKey {
    /// A key from raw bytes (already derived).
    pub fn from_bytes(key: &[u8]) -> IntegrityKey {
        IntegrityKey {
            sha1: <HmacSha1 as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length"),
            sha256: <HmacSha256 as KeyInit>::new_from_slice(key)
                .expect("HMAC accepts any key length"),
        }
    }

    /// Short-term credentials (RFC 8489 §9.1.1): the key is OpaqueString(password).
    /// ICE uses these, with the peer's ice-pwd.
    pub fn short_term(password: &str) -> Result<IntegrityKey, Error> {
        let mut scratch = String::new();
        let p = opaque_string(password, &mut scratch)?;
        Ok(IntegrityKey::from_bytes(p.as_bytes()))
    }

    /// Long-term credentials (RFC 8489 §9.2.2): the key is
    /// `H(username ":" OpaqueString(realm) ":" OpaqueString(password))` with H = MD5 or SHA-256.
    pub fn long_term(
        username: &str,
        realm: &str,
        password: &str,
        algorithm: PasswordAlgorithm,
    ) -> Result<IntegrityKey, Error> {
        let mut r = String::new();
        let mut p = String::new();
        let realm = opaque_string(realm, &mut r)?;
        let password = opaque_string(password, &mut p)?;
        Ok(match algorithm {
            PasswordAlgorithm::Md5 => {
                let mut h = Md5::new();
                h.update(username.as_bytes());
                h.update(b":");
                h.update(realm.as_bytes());
                h.update(b":");
                h.update(password.as_bytes());
                IntegrityKey::from_bytes(&h.finalize())
            }
            PasswordAlgorithm::Sha256 => {
                let mut h = Sha256::new();
                h.update(username.as_bytes());
                h.update(b":");
                h.update(realm.as_bytes());
                h.update(b":");
                h.update(password.as_bytes());
                IntegrityKey::from_bytes(&h.finalize())
            }
        })
    }

    /// HMAC-SHA1 over `msg[..attr_at]` with the header length adjusted to end
    /// after a 20-byte MESSAGE-INTEGRITY at `attr_at`.
    pub(crate) fn sign_sha1(&self, msg: &[u8], attr_at: usize) -> [u8; 20] {
        let mut mac = self.sha1.clone();
        feed(&mut mac, msg, attr_at, 20);
        mac.finalize().into_bytes().into()
    }

    /// HMAC-SHA256, as [`IntegrityKey::sign_sha1`] for a 32-byte MESSAGE-INTEGRITY-SHA256.
    pub(crate) fn sign_sha256(&self, msg: &[u8], attr_at: usize) -> [u8; 32] {
        let mut mac = self.sha256.clone();
        feed(&mut mac, msg, attr_at, 32);
        mac.finalize().into_bytes().into()
    }

    pub(crate) fn verify_sha1(&self, msg: &[u8], attr_at: usize, got: &[u8]) -> Result<(), Error> {
        let mut mac = self.sha1.clone();
        feed(&mut mac, msg, attr_at, 20);
        mac.verify_slice(got).map_err(|_| Error::IntegrityMismatch)
    }

    pub(crate) fn verify_sha256(
        &self,
        msg: &[u8],
        attr_at: usize,
        got: &[u8],
    ) -> Result<(), Error> {
        let mut mac = self.sha256.clone();
        feed(&mut mac, msg, attr_at, got.len());
        // `got` is 16..=32 bytes (validated by the parser): a truncated MAC compares its prefix.
        mac.verify_truncated_left(got)
            .map_err(|_| Error::IntegrityMismatch)
    }
}

/// Feeds the bytes covered by an integrity attribute at `attr_at` into `mac`,
/// rewriting the length field as RFC 8489 §14.5 requires, without copying.
fn feed<M: Mac>(mac: &mut M, msg: &[u8], attr_at: usize, value_len: usize) {
    let adjusted = (attr_at + 4 + value_len - HEADER_LEN) as u16;
    mac.update(&msg[0..2]);
    mac.update(&adjusted.to_be_bytes());
    mac.update(&msg[4..attr_at]);
}

/// FINGERPRINT value for a FINGERPRINT attribute at `attr_at` (RFC 8489 §14.7):
/// CRC-32 of the message up to it, length field adjusted, XOR 0x5354554e.
pub(crate) fn fingerprint(msg: &[u8], attr_at: usize) -> u32 {
    let adjusted = (attr_at + 8 - HEADER_LEN) as u16;
    let mut h = crc32fast::Hasher::new();
    h.update(&msg[0..2]);
    h.update(&adjusted.to_be_bytes());
    h.update(&msg[4..attr_at]);
    h.finalize() ^ FINGERPRINT_XOR
}

/// Prepares a string with the PRECIS OpaqueString profile (RFC 8265 §4.2),
/// as RFC 8489 requires for passwords and realms.
///
/// Non-ASCII spaces map to U+0020, the result is NFC-normalised, and strings
/// that are empty or contain control characters or unassigned-looking code
/// points (noncharacters, private use is allowed as in FreeformClass) are
/// rejected. ASCII input without control characters passes through unchanged
/// and without allocating.
pub fn opaque_string<'s>(input: &'s str, scratch: &'s mut String) -> Result<&'s str, Error> {
    if input.is_empty() {
        return Err(Error::InvalidOpaqueString);
    }
    if input.bytes().all(|b| (0x20..0x7F).contains(&b)) {
        return Ok(input);
    }
    scratch.clear();
    for c in input.chars() {
        if c.is_control() || is_noncharacter(c) {
            return Err(Error::InvalidOpaqueString);
        }
        // Additional mapping rule: non-ASCII space (Unicode Zs) to ASCII space.
        scratch.push(if c != ' ' && is_space_separator(c) {
            ' '
        } else {
            c
        });
    }
    let normalized: String = scratch.nfc().collect();
    *scratch = normalized;
    Ok(scratch.as_str())
}

fn is_noncharacter(c: char) -> bool {
    let u = c as u32;
    (0xFDD0..=0xFDEF).contains(&u) || (u & 0xFFFE) == 0xFFFE
}

/// Unicode general category Zs.
fn is_space_separator(c: char) -> bool {
    matches!(
        c as u32,
        0x0020 | 0x00A0 | 0x1680 | 0x2000..=0x200A | 0x202F | 0x205F | 0x3000
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn nonce_cookie_features_round_trip_and_accept_both_bit_orders() {
        for (pa, ua) in [(false, false), (true, false), (false, true), (true, true)] {
            let f = SecurityFeatures {
                password_algorithms: pa,
                username_anonymity: ua,
            };
            let nonce = format!("{}abcdef", f.nonce_prefix());
            assert_eq!(SecurityFeatures::from_nonce(&nonce), Some(f), "{nonce}");
        }
        // The erratum's order ("AAAB": bit 0 rightmost) and the RFC text's ("gAAA": leftmost).
        for nonce in ["obMatJos2AAAB", "obMatJos2gAAA"] {
            assert!(
                SecurityFeatures::from_nonce(nonce)
                    .unwrap()
                    .password_algorithms
            );
        }
        assert_eq!(
            SecurityFeatures::from_nonce("obMatJos2AAAA"),
            Some(SecurityFeatures::default())
        );
        // Not a cookie, too short, or not base64: an RFC 5389 nonce.
        for nonce in [
            "",
            "obMatJos2",
            "obMatJos2AAA",
            "obMatJos2AA*A",
            "xbMatJos2AAAB",
        ] {
            assert_eq!(SecurityFeatures::from_nonce(nonce), None, "{nonce}");
        }
    }

    use super::*;

    #[test]
    fn opaque_string_rules() {
        let mut s = String::new();
        assert_eq!(opaque_string("abc", &mut s).unwrap(), "abc");
        let mut s = String::new();
        assert_eq!(opaque_string("a\u{00A0}b", &mut s).unwrap(), "a b");
        let mut s = String::new();
        // U+0041 U+030A (A + combining ring) normalises to U+00C5.
        assert_eq!(opaque_string("A\u{030A}", &mut s).unwrap(), "\u{00C5}");
        let mut s = String::new();
        assert_eq!(opaque_string("", &mut s), Err(Error::InvalidOpaqueString));
        let mut s = String::new();
        assert_eq!(
            opaque_string("a\u{0007}", &mut s),
            Err(Error::InvalidOpaqueString)
        );
        let mut s = String::new();
        assert_eq!(
            opaque_string("a\tb", &mut s),
            Err(Error::InvalidOpaqueString)
        );
    }

    /// RFC 5769 §2.4, "Sample Request with Long-Term Authentication", as published.
    const RFC5769_LONG_TERM_REQUEST: [u8; 116] = [
        0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72,
        0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12, 0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88,
        0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83, 0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00,
        0x15, 0x00, 0x1c, 0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
        0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79, 0x36, 0x34, 0x73,
        0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72,
        0x67, 0x00, 0x00, 0x08, 0x00, 0x14, 0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02,
        0xb8, 0xe0, 0x71, 0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66,
    ];

    #[test]
    fn long_term_md5_key_matches_rfc5769() {
        // RFC 5769 §2.4: USERNAME "<U+30DE><U+30C8><U+30EA><U+30C3><U+30AF><U+30B9>", REALM
        // "example.org", password "The<U+00AD>M<U+00AA>tr<U+2168>", which SASLprep (RFC 5389's
        // profile) prepares to "TheMatrIX"; OpaqueString (RFC 8489) keeps it as it is, so the
        // prepared form is what we pass. The key is MD5(username ":" realm ":" password), and
        // HMAC-SHA1 under it over the message up to MESSAGE-INTEGRITY (offset 92) must be the
        // published MESSAGE-INTEGRITY value, bytes 96..116.
        let msg = &RFC5769_LONG_TERM_REQUEST;
        let username = "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}";
        let key =
            IntegrityKey::long_term(username, "example.org", "TheMatrIX", PasswordAlgorithm::Md5)
                .unwrap();
        assert_eq!(key.sign_sha1(msg, 92), msg[96..116]);
        assert_eq!(key.verify_sha1(msg, 92, &msg[96..116]), Ok(()));
        // The same key derived by hand from the published strings.
        let direct = IntegrityKey::from_bytes(&Md5::digest(
            format!("{username}:example.org:TheMatrIX").as_bytes(),
        ));
        assert_eq!(direct.sign_sha1(msg, 92), msg[96..116]);
        // The unprepared password is another key under OpaqueString.
        let unprepared = IntegrityKey::long_term(
            username,
            "example.org",
            "The\u{00AD}M\u{00AA}tr\u{2168}",
            PasswordAlgorithm::Md5,
        )
        .unwrap();
        assert_ne!(unprepared.sign_sha1(msg, 92), msg[96..116]);
    }
}
