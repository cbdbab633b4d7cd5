//! SRTP key derivation (RFC 3711 §4.3 with the AES-CM PRF of §4.3.3; RFC 7714 §11).
//!
//! The key derivation rate is 0 (as DTLS-SRTP requires), so each session key is
//! derived once: `AES-CM(master key, (master_salt XOR label << 48) * 2^16)`,
//! truncated to the session key length. For the AEAD profiles the 96-bit
//! master salt is padded on the right to 112 bits (as libsrtp does), and the
//! AES-256-GCM profile derives with AES-256 keyed by its 256-bit master key.

use openssl::cipher::Cipher;
use openssl::cipher_ctx::CipherCtx;

use super::SrtpProfile;
use crate::Error;

/// Key derivation labels (RFC 3711 §4.3.1 and §4.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Label {
    /// SRTP encryption key (0x00).
    RtpEncryption = 0x00,
    /// SRTP authentication key (0x01).
    RtpAuthentication = 0x01,
    /// SRTP salt (0x02).
    RtpSalt = 0x02,
    /// SRTCP encryption key (0x03).
    RtcpEncryption = 0x03,
    /// SRTCP authentication key (0x04).
    RtcpAuthentication = 0x04,
    /// SRTCP salt (0x05).
    RtcpSalt = 0x05,
}

/// The session keys for one direction of one stream type (SRTP or SRTCP).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeySet {
    /// Session encryption key (`k_e`), the profile's master key length.
    pub key: Vec<u8>,
    /// Session salt (`k_s`), the profile's master salt length.
    pub salt: Vec<u8>,
    /// Session authentication key (`k_a`): 20 bytes for HMAC-SHA1, empty for AEAD.
    pub auth_key: Vec<u8>,
}

impl std::fmt::Debug for SessionKeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key material stays out of logs.
        f.debug_struct("SessionKeySet")
            .field("key", &format_args!("[{} bytes]", self.key.len()))
            .field("salt", &format_args!("[{} bytes]", self.salt.len()))
            .field("auth_key", &format_args!("[{} bytes]", self.auth_key.len()))
            .finish()
    }
}

/// The SRTP and SRTCP session keys derived from one master key and salt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKeys {
    /// The profile the keys are for.
    pub profile: SrtpProfile,
    /// Keys for SRTP (labels 0, 1, 2).
    pub rtp: SessionKeySet,
    /// Keys for SRTCP (labels 3, 4, 5).
    pub rtcp: SessionKeySet,
}

impl SessionKeys {
    /// Derives the session keys from a master key and master salt (RFC 3711 §4.3,
    /// key derivation rate 0).
    ///
    /// Returns [`Error::KeyLength`] if the key or salt length does not match the profile.
    pub fn derive(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
    ) -> Result<SessionKeys, Error> {
        if master_key.len() != profile.master_key_len()
            || master_salt.len() != profile.master_salt_len()
        {
            return Err(Error::KeyLength);
        }
        let key_len = profile.master_key_len();
        let salt_len = profile.master_salt_len();
        let auth_len = profile.auth_key_len();
        let set = |enc: Label, auth: Label, salt: Label| -> Result<SessionKeySet, Error> {
            Ok(SessionKeySet {
                key: prf(master_key, master_salt, enc, key_len)?,
                salt: prf(master_key, master_salt, salt, salt_len)?,
                auth_key: if auth_len == 0 {
                    Vec::new()
                } else {
                    prf(master_key, master_salt, auth, auth_len)?
                },
            })
        };
        Ok(SessionKeys {
            profile,
            rtp: set(
                Label::RtpEncryption,
                Label::RtpAuthentication,
                Label::RtpSalt,
            )?,
            rtcp: set(
                Label::RtcpEncryption,
                Label::RtcpAuthentication,
                Label::RtcpSalt,
            )?,
        })
    }

    /// Session keys given directly (for test vectors that state session keys,
    /// such as RFC 3711 B.2 and RFC 7714 §16–17). The same keys are used for
    /// SRTP and SRTCP.
    ///
    /// Returns [`Error::KeyLength`] if a length does not match the profile.
    pub fn from_session_keys(
        profile: SrtpProfile,
        key: &[u8],
        salt: &[u8],
        auth_key: &[u8],
    ) -> Result<SessionKeys, Error> {
        if key.len() != profile.master_key_len()
            || salt.len() != profile.master_salt_len()
            || auth_key.len() != profile.auth_key_len()
        {
            return Err(Error::KeyLength);
        }
        let set = SessionKeySet {
            key: key.to_vec(),
            salt: salt.to_vec(),
            auth_key: auth_key.to_vec(),
        };
        Ok(SessionKeys {
            profile,
            rtp: set.clone(),
            rtcp: set,
        })
    }
}

/// The AES-CM PRF of RFC 3711 §4.3.3 for one label, with key derivation rate 0:
/// the first `len` bytes of the AES-CM keystream under `master_key` starting at
/// `x * 2^16`, where `x = label << 48 XOR master_salt` (salt right-padded to 112 bits).
///
/// Returns [`Error::KeyLength`] for a master key that is not 16 or 32 bytes, or
/// a salt longer than 14 bytes.
pub fn prf(
    master_key: &[u8],
    master_salt: &[u8],
    label: Label,
    len: usize,
) -> Result<Vec<u8>, Error> {
    let cipher = match master_key.len() {
        16 => Cipher::aes_128_ctr(),
        32 => Cipher::aes_256_ctr(),
        _ => return Err(Error::KeyLength),
    };
    if master_salt.len() > 14 {
        return Err(Error::KeyLength);
    }
    let mut iv = [0u8; 16];
    iv[..master_salt.len()].copy_from_slice(master_salt);
    // key_id = label || (index DIV kdr = 0, 48 bits), right-aligned with the
    // 112-bit salt: the label lands in byte 7.
    iv[7] ^= label as u8;
    let mut ctx = CipherCtx::new().map_err(|_| Error::Crypto)?;
    ctx.encrypt_init(Some(cipher), Some(master_key), Some(&iv))
        .map_err(|_| Error::Crypto)?;
    let mut out = vec![0u8; len];
    ctx.cipher_update_inplace(&mut out, len)
        .map_err(|_| Error::Crypto)?;
    Ok(out)
}
