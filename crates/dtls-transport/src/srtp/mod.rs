//! SRTP and SRTCP (RFC 3711, RFC 7714) with the DTLS-SRTP profiles of RFC 5764.
//!
//! One [`SrtpContext`] protects (or unprotects) one direction of a media session:
//! it is built once from a profile, a master key and a master salt, derives the
//! session keys (RFC 3711 §4.3, key derivation rate 0), creates its cipher
//! contexts once, and then keeps per-SSRC state: the rollover counter and
//! highest sequence number (RFC 3711 Appendix A), a replay window, and the
//! SRTCP index. An outbound and an inbound context make an [`SrtpSession`].
//!
//! # Buffers: in place, no allocation per packet
//!
//! Every packet is processed in place in a caller-owned buffer:
//!
//! - [`SrtpContext::protect_rtp`]`(buf, len)` takes the plaintext packet in
//!   `buf[..len]` and needs `buf.len() >= len + profile.rtp_tag_len()` (the
//!   "tail room" for the tag, see [`SrtpProfile::rtp_overhead`]); it returns
//!   the protected length.
//! - [`SrtpContext::protect_rtcp`]`(buf, len)` is the same with
//!   [`SrtpProfile::rtcp_overhead`] (SRTCP index word plus tag).
//! - [`SrtpContext::unprotect_rtp`]`(packet)` and
//!   [`SrtpContext::unprotect_rtcp`]`(packet)` take the received packet as the
//!   whole slice and return the plaintext length (a prefix of the slice).
//!
//! The `*_vec` variants do the same on a `Vec<u8>` and allocate only when its
//! capacity is short of the tag. On error, the packet bytes are unspecified
//! (they may be partly decrypted): drop the packet.
//!
//! # Crypto
//!
//! AES-CM (RFC 3711 §4.1.1) uses an OpenSSL `EVP_CIPHER_CTX` for AES-128-CTR
//! whose key is set once; each packet only resets the IV. HMAC-SHA1 clones a
//! keyed `hmac::Hmac<Sha1>` state (inner and outer pads already hashed). AEAD
//! AES-GCM (RFC 7714) uses `ring`'s `LessSafeKey` (key schedule and GHASH key
//! computed once), because ring's AES-GCM is about twice as fast as OpenSSL
//! 3.0's on the machines this was measured on (see `docs/benchmarks.md`).
//!
//! # Example
//!
//! ```
//! use dtls_transport::srtp::{SrtpContext, SrtpProfile};
//! use dtls_transport::Error;
//!
//! let profile = SrtpProfile::Aes128CmHmacSha1_80;
//! let key = [7u8; 16];
//! let salt = [9u8; 14];
//! let mut sender = SrtpContext::new(profile, &key, &salt)?;
//! let mut receiver = SrtpContext::new(profile, &key, &salt)?;
//!
//! // An RTP packet: V=2, PT 96, seq 1, timestamp 0, SSRC 0x1234_5678, 4-byte payload.
//! let rtp = [0x80, 96, 0, 1, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 1, 2, 3, 4];
//! let mut buf = [0u8; 1500];
//! buf[..rtp.len()].copy_from_slice(&rtp);
//! let n = sender.protect_rtp(&mut buf, rtp.len())?;
//! assert_eq!(n, rtp.len() + profile.rtp_overhead());
//!
//! let protected = buf[..n].to_vec();
//!
//! // A flipped bit fails authentication (and changes no state).
//! let mut tampered = protected.clone();
//! tampered[14] ^= 1;
//! assert_eq!(receiver.unprotect_rtp(&mut tampered), Err(Error::AuthenticationFailed));
//!
//! let m = receiver.unprotect_rtp(&mut buf[..n])?;
//! assert_eq!(&buf[..m], &rtp);
//!
//! // The same packet again is a replay.
//! assert_eq!(receiver.unprotect_rtp(&mut protected.clone()), Err(Error::Replayed));
//! # Ok::<(), dtls_transport::Error>(())
//! ```

mod cipher;
mod context;
pub mod kdf;
mod replay;

pub use context::{SrtpConfig, SrtpContext, SrtpSession};
pub use kdf::SessionKeys;

/// An SRTP protection profile (RFC 5764 §4.1.2, RFC 7714 §14.2).
///
/// | profile | id | cipher | master key / salt | RTP tag | SRTCP tag |
/// |---|---|---|---|---|---|
/// | [`Aes128CmHmacSha1_80`](Self::Aes128CmHmacSha1_80) | 0x0001 | AES-128-CM + HMAC-SHA1 | 16 / 14 | 10 | 10 |
/// | [`Aes128CmHmacSha1_32`](Self::Aes128CmHmacSha1_32) | 0x0002 | AES-128-CM + HMAC-SHA1 | 16 / 14 | 4 | 10 |
/// | [`AeadAes128Gcm`](Self::AeadAes128Gcm) | 0x0007 | AEAD AES-128-GCM | 16 / 12 | 16 | 16 |
/// | [`AeadAes256Gcm`](Self::AeadAes256Gcm) | 0x0008 | AEAD AES-256-GCM | 32 / 12 | 16 | 16 |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    /// `SRTP_AES128_CM_HMAC_SHA1_80`: AES-128 counter mode, 80-bit HMAC-SHA1 tag.
    Aes128CmHmacSha1_80,
    /// `SRTP_AES128_CM_HMAC_SHA1_32`: AES-128 counter mode, 32-bit HMAC-SHA1 tag
    /// on RTP (SRTCP keeps the 80-bit tag, RFC 5764 §4.1.2).
    Aes128CmHmacSha1_32,
    /// `SRTP_AEAD_AES_128_GCM` (RFC 7714): AES-128-GCM with a 16-byte tag.
    AeadAes128Gcm,
    /// `SRTP_AEAD_AES_256_GCM` (RFC 7714): AES-256-GCM with a 16-byte tag.
    AeadAes256Gcm,
}

impl SrtpProfile {
    /// All profiles, in order of preference for an offer (GCM first).
    pub const ALL: [SrtpProfile; 4] = [
        SrtpProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm,
        SrtpProfile::Aes128CmHmacSha1_80,
        SrtpProfile::Aes128CmHmacSha1_32,
    ];

    /// The DTLS-SRTP protection profile id (the `use_srtp` extension value).
    pub const fn id(self) -> u16 {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80 => 0x0001,
            SrtpProfile::Aes128CmHmacSha1_32 => 0x0002,
            SrtpProfile::AeadAes128Gcm => 0x0007,
            SrtpProfile::AeadAes256Gcm => 0x0008,
        }
    }

    /// The profile with this DTLS-SRTP id, if it is one of ours.
    pub const fn from_id(id: u16) -> Option<SrtpProfile> {
        match id {
            0x0001 => Some(SrtpProfile::Aes128CmHmacSha1_80),
            0x0002 => Some(SrtpProfile::Aes128CmHmacSha1_32),
            0x0007 => Some(SrtpProfile::AeadAes128Gcm),
            0x0008 => Some(SrtpProfile::AeadAes256Gcm),
            _ => None,
        }
    }

    /// The registered name, as OpenSSL's `SSL_CTX_set_tlsext_use_srtp` takes it
    /// (e.g. `SRTP_AES128_CM_SHA1_80`, `SRTP_AEAD_AES_128_GCM`).
    pub const fn name(self) -> &'static str {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80 => "SRTP_AES128_CM_SHA1_80",
            SrtpProfile::Aes128CmHmacSha1_32 => "SRTP_AES128_CM_SHA1_32",
            SrtpProfile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
            SrtpProfile::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
        }
    }

    /// The profile with this registered name.
    pub fn from_name(name: &str) -> Option<SrtpProfile> {
        SrtpProfile::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether this is an AEAD (AES-GCM) profile.
    pub const fn is_aead(self) -> bool {
        matches!(
            self,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm
        )
    }

    /// Master key length in bytes (also the session encryption key length).
    pub const fn master_key_len(self) -> usize {
        match self {
            SrtpProfile::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// Master salt length in bytes (also the session salt length).
    pub const fn master_salt_len(self) -> usize {
        if self.is_aead() {
            12
        } else {
            14
        }
    }

    /// Session authentication key length in bytes (0 for AEAD profiles).
    pub const fn auth_key_len(self) -> usize {
        if self.is_aead() {
            0
        } else {
            20
        }
    }

    /// Authentication tag length on SRTP packets.
    pub const fn rtp_tag_len(self) -> usize {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80 => 10,
            SrtpProfile::Aes128CmHmacSha1_32 => 4,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => 16,
        }
    }

    /// Authentication tag length on SRTCP packets.
    pub const fn rtcp_tag_len(self) -> usize {
        if self.is_aead() {
            16
        } else {
            10
        }
    }

    /// Bytes [`SrtpContext::protect_rtp`] adds to an RTP packet (the tag).
    pub const fn rtp_overhead(self) -> usize {
        self.rtp_tag_len()
    }

    /// Bytes [`SrtpContext::protect_rtcp`] adds to an RTCP packet (the
    /// E-bit/SRTCP index word and the tag).
    pub const fn rtcp_overhead(self) -> usize {
        4 + self.rtcp_tag_len()
    }

    /// Length of the DTLS-SRTP keying material to export for this profile:
    /// `2 * (master key + master salt)` (RFC 5764 §4.2).
    pub const fn keying_material_len(self) -> usize {
        2 * (self.master_key_len() + self.master_salt_len())
    }
}

impl std::fmt::Display for SrtpProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
