//! The per-packet transforms: AES-CM + HMAC-SHA1 (RFC 3711 §4.1.1, §4.2.1) and
//! AEAD AES-GCM (RFC 7714). One [`Transform`] holds the keyed state for SRTP or
//! for SRTCP of one context; it is created once and reused for every packet.
//!
//! Packet layouts this module writes and reads (`len` = plaintext length):
//!
//! ```text
//! SRTP  (both):    header | payload (encrypted)              | tag
//! SRTCP (AES-CM):  header(8) | encrypted part | E+index(4)   | tag(10)
//! SRTCP (GCM):     header(8) | encrypted part | tag(16)      | E+index(4)
//! ```

use hmac::{Hmac, Mac};
use openssl::cipher::Cipher;
use openssl::cipher_ctx::CipherCtx;
use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey, AES_128_GCM, AES_256_GCM};
use sha1::Sha1;

use super::kdf::SessionKeySet;
use crate::Error;

/// Length of the AES-GCM tag (RFC 7714 §7: 16 octets only).
pub(crate) const GCM_TAG_LEN: usize = 16;
/// Length of the SRTCP E-bit + index word.
pub(crate) const SRTCP_INDEX_LEN: usize = 4;
/// The E-bit of the SRTCP index word.
pub(crate) const E_BIT: u32 = 0x8000_0000;

/// Keyed state for SRTP or SRTCP of one context.
// The GCM variant holds ring's expanded key inline; a context owns two
// transforms for its lifetime and never moves them per packet, so boxing
// would only add an indirection to every packet.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Transform {
    /// AES-128 counter mode with HMAC-SHA1.
    Cm(AesCm),
    /// AES-GCM (128 or 256).
    Gcm(AesGcm),
}

impl Transform {
    /// The transform for `keys`; `tag_len` is the HMAC tag length (ignored for GCM).
    pub(crate) fn new(aead: bool, keys: &SessionKeySet, tag_len: usize) -> Result<Self, Error> {
        if aead {
            AesGcm::new(keys).map(Transform::Gcm)
        } else {
            AesCm::new(keys, tag_len).map(Transform::Cm)
        }
    }

    /// Bytes added to an RTP packet.
    pub(crate) fn rtp_overhead(&self) -> usize {
        match self {
            Transform::Cm(c) => c.tag_len,
            Transform::Gcm(_) => GCM_TAG_LEN,
        }
    }

    /// Bytes added to an RTCP packet.
    pub(crate) fn rtcp_overhead(&self) -> usize {
        self.rtp_overhead() + SRTCP_INDEX_LEN
    }

    /// Encrypts `buf[hdr_len..len]` and writes the tag at `buf[len..]`.
    /// The caller checked `buf.len() >= len + rtp_overhead()` and `hdr_len <= len`.
    pub(crate) fn protect_rtp(
        &mut self,
        buf: &mut [u8],
        hdr_len: usize,
        len: usize,
        ssrc: u32,
        roc: u32,
        seq: u16,
    ) -> Result<usize, Error> {
        match self {
            Transform::Cm(c) => {
                let iv = c.iv(ssrc, rtp_index(roc, seq));
                c.xor_keystream(&iv, &mut buf[hdr_len..len])?;
                let tag = c.hmac(&buf[..len], &roc.to_be_bytes());
                let end = len + c.tag_len;
                buf[len..end].copy_from_slice(&tag[..c.tag_len]);
                Ok(end)
            }
            Transform::Gcm(g) => {
                let nonce = g.rtp_nonce(ssrc, roc, seq);
                let (header, rest) = buf.split_at_mut(hdr_len);
                let body = len - hdr_len;
                let tag = g
                    .key
                    .seal_in_place_separate_tag(nonce, Aad::from(&*header), &mut rest[..body])
                    .map_err(|_| Error::Crypto)?;
                rest[body..body + GCM_TAG_LEN].copy_from_slice(tag.as_ref());
                Ok(len + GCM_TAG_LEN)
            }
        }
    }

    /// Authenticates and decrypts the SRTP packet `pkt` (tag included) in place;
    /// returns the plaintext length. The caller checked
    /// `hdr_len + rtp_overhead() <= pkt.len()`.
    pub(crate) fn unprotect_rtp(
        &mut self,
        pkt: &mut [u8],
        hdr_len: usize,
        ssrc: u32,
        roc: u32,
        seq: u16,
    ) -> Result<usize, Error> {
        match self {
            Transform::Cm(c) => {
                let body_end = pkt.len() - c.tag_len;
                let (authenticated, tag) = pkt.split_at(body_end);
                c.verify(authenticated, &roc.to_be_bytes(), tag)?;
                let iv = c.iv(ssrc, rtp_index(roc, seq));
                c.xor_keystream(&iv, &mut pkt[hdr_len..body_end])?;
                Ok(body_end)
            }
            Transform::Gcm(g) => {
                let body_end = pkt.len() - GCM_TAG_LEN;
                let tag = gcm_tag(&pkt[body_end..])?;
                let nonce = g.rtp_nonce(ssrc, roc, seq);
                let (header, rest) = pkt.split_at_mut(hdr_len);
                g.key
                    .open_in_place_separate_tag(
                        nonce,
                        Aad::from(&*header),
                        tag,
                        &mut rest[..body_end - hdr_len],
                        0..,
                    )
                    .map_err(|_| Error::AuthenticationFailed)?;
                Ok(body_end)
            }
        }
    }

    /// Encrypts `buf[8..len]` (E-bit set) and appends the index word and tag.
    /// The caller checked `8 <= len` and `buf.len() >= len + rtcp_overhead()`.
    pub(crate) fn protect_rtcp(
        &mut self,
        buf: &mut [u8],
        len: usize,
        ssrc: u32,
        index: u32,
    ) -> Result<usize, Error> {
        let word = (E_BIT | index).to_be_bytes();
        match self {
            Transform::Cm(c) => {
                let iv = c.iv(ssrc, u64::from(index));
                c.xor_keystream(&iv, &mut buf[8..len])?;
                buf[len..len + SRTCP_INDEX_LEN].copy_from_slice(&word);
                let auth_end = len + SRTCP_INDEX_LEN;
                let tag = c.hmac(&buf[..auth_end], &[]);
                buf[auth_end..auth_end + c.tag_len].copy_from_slice(&tag[..c.tag_len]);
                Ok(auth_end + c.tag_len)
            }
            Transform::Gcm(g) => {
                let mut aad = [0u8; 12];
                aad[..8].copy_from_slice(&buf[..8]);
                aad[8..].copy_from_slice(&word);
                let nonce = g.rtcp_nonce(ssrc, index);
                let tag = g
                    .key
                    .seal_in_place_separate_tag(nonce, Aad::from(&aad), &mut buf[8..len])
                    .map_err(|_| Error::Crypto)?;
                buf[len..len + GCM_TAG_LEN].copy_from_slice(tag.as_ref());
                buf[len + GCM_TAG_LEN..len + GCM_TAG_LEN + SRTCP_INDEX_LEN].copy_from_slice(&word);
                Ok(len + GCM_TAG_LEN + SRTCP_INDEX_LEN)
            }
        }
    }

    /// The E-bit + SRTCP index word of an SRTCP packet, or `PacketTooShort`.
    pub(crate) fn rtcp_index_word(&self, pkt: &[u8]) -> Result<u32, Error> {
        let n = pkt.len();
        if n < 8 + self.rtcp_overhead() {
            return Err(Error::PacketTooShort);
        }
        let at = match self {
            Transform::Cm(c) => n - c.tag_len - SRTCP_INDEX_LEN,
            Transform::Gcm(_) => n - SRTCP_INDEX_LEN,
        };
        Ok(u32::from_be_bytes([
            pkt[at],
            pkt[at + 1],
            pkt[at + 2],
            pkt[at + 3],
        ]))
    }

    /// Authenticates (and, with the E-bit, decrypts) an SRTCP packet in place;
    /// returns the RTCP length. The caller got `word` from
    /// [`rtcp_index_word`](Self::rtcp_index_word), which checked the length.
    pub(crate) fn unprotect_rtcp(
        &mut self,
        pkt: &mut [u8],
        ssrc: u32,
        word: u32,
    ) -> Result<usize, Error> {
        let n = pkt.len();
        let index = word & !E_BIT;
        let encrypted = word & E_BIT != 0;
        match self {
            Transform::Cm(c) => {
                let auth_end = n - c.tag_len;
                let (authenticated, tag) = pkt.split_at(auth_end);
                c.verify(authenticated, &[], tag)?;
                let end = auth_end - SRTCP_INDEX_LEN;
                if encrypted {
                    let iv = c.iv(ssrc, u64::from(index));
                    c.xor_keystream(&iv, &mut pkt[8..end])?;
                }
                Ok(end)
            }
            Transform::Gcm(g) => {
                let end = n - GCM_TAG_LEN - SRTCP_INDEX_LEN;
                let tag = gcm_tag(&pkt[end..end + GCM_TAG_LEN])?;
                let nonce = g.rtcp_nonce(ssrc, index);
                let word = word.to_be_bytes();
                if encrypted {
                    // AAD = header(8) || E+index (RFC 7714 §9.2).
                    let mut aad = [0u8; 12];
                    aad[..8].copy_from_slice(&pkt[..8]);
                    aad[8..].copy_from_slice(&word);
                    g.key
                        .open_in_place_separate_tag(
                            nonce,
                            Aad::from(&aad),
                            tag,
                            &mut pkt[8..end],
                            0..,
                        )
                        .map_err(|_| Error::AuthenticationFailed)?;
                } else {
                    // AAD = whole RTCP packet || E+index (RFC 7714 §9.3), no
                    // ciphertext. Move the index word over the tag (copied
                    // out above) so the AAD is contiguous.
                    pkt[end..end + SRTCP_INDEX_LEN].copy_from_slice(&word);
                    g.key
                        .open_in_place_separate_tag(
                            nonce,
                            Aad::from(&pkt[..end + SRTCP_INDEX_LEN]),
                            tag,
                            &mut [],
                            0..,
                        )
                        .map_err(|_| Error::AuthenticationFailed)?;
                }
                Ok(end)
            }
        }
    }
}

/// The 48-bit SRTP packet index `i = 2^16 * ROC + SEQ`.
pub(crate) fn rtp_index(roc: u32, seq: u16) -> u64 {
    (u64::from(roc) << 16) | u64::from(seq)
}

fn gcm_tag(bytes: &[u8]) -> Result<Tag, Error> {
    Tag::try_from(bytes).map_err(|_| Error::PacketTooShort)
}

/// AES-128-CM with HMAC-SHA1 (RFC 3711 §4.1.1, §4.2.1).
pub(crate) struct AesCm {
    /// AES-128-CTR with the session key set once; each packet resets only the IV.
    ctx: CipherCtx,
    salt: [u8; 14],
    /// HMAC-SHA1 keyed with the session auth key (inner/outer pads absorbed);
    /// cloned per packet.
    mac: Hmac<Sha1>,
    tag_len: usize,
}

impl AesCm {
    fn new(keys: &SessionKeySet, tag_len: usize) -> Result<Self, Error> {
        let cipher = match keys.key.len() {
            16 => Cipher::aes_128_ctr(),
            32 => Cipher::aes_256_ctr(),
            _ => return Err(Error::KeyLength),
        };
        let salt: [u8; 14] = keys
            .salt
            .as_slice()
            .try_into()
            .map_err(|_| Error::KeyLength)?;
        let mut ctx = CipherCtx::new().map_err(|_| Error::Crypto)?;
        ctx.encrypt_init(Some(cipher), Some(&keys.key), Some(&[0u8; 16]))
            .map_err(|_| Error::Crypto)?;
        let mac =
            <Hmac<Sha1> as Mac>::new_from_slice(&keys.auth_key).map_err(|_| Error::KeyLength)?;
        Ok(AesCm {
            ctx,
            salt,
            mac,
            tag_len,
        })
    }

    /// `IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16)` (RFC 3711 §4.1.1).
    fn iv(&self, ssrc: u32, index: u64) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv[..14].copy_from_slice(&self.salt);
        for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
            *b ^= s;
        }
        for (b, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
            *b ^= s;
        }
        iv
    }

    fn xor_keystream(&mut self, iv: &[u8; 16], data: &mut [u8]) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        // Key and cipher stay; only the IV (and the counter state) is reset.
        self.ctx
            .encrypt_init(None, None, Some(iv))
            .map_err(|_| Error::Crypto)?;
        let len = data.len();
        self.ctx
            .cipher_update_inplace(data, len)
            .map_err(|_| Error::Crypto)?;
        Ok(())
    }

    fn hmac(&self, data: &[u8], trailer: &[u8]) -> [u8; 20] {
        let mut mac = self.mac.clone();
        mac.update(data);
        mac.update(trailer);
        mac.finalize().into_bytes().into()
    }

    /// Constant-time check of the truncated tag.
    fn verify(&self, data: &[u8], trailer: &[u8], tag: &[u8]) -> Result<(), Error> {
        let mut mac = self.mac.clone();
        mac.update(data);
        mac.update(trailer);
        mac.verify_truncated_left(tag)
            .map_err(|_| Error::AuthenticationFailed)
    }
}

/// AEAD AES-GCM (RFC 7714), via ring.
pub(crate) struct AesGcm {
    key: LessSafeKey,
    salt: [u8; 12],
}

impl AesGcm {
    fn new(keys: &SessionKeySet) -> Result<Self, Error> {
        let alg = match keys.key.len() {
            16 => &AES_128_GCM,
            32 => &AES_256_GCM,
            _ => return Err(Error::KeyLength),
        };
        let salt: [u8; 12] = keys
            .salt
            .as_slice()
            .try_into()
            .map_err(|_| Error::KeyLength)?;
        let key = UnboundKey::new(alg, &keys.key).map_err(|_| Error::KeyLength)?;
        Ok(AesGcm {
            key: LessSafeKey::new(key),
            salt,
        })
    }

    /// `IV = (00 00 || SSRC || ROC || SEQ) XOR salt` (RFC 7714 §8.1).
    fn rtp_nonce(&self, ssrc: u32, roc: u32, seq: u16) -> Nonce {
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[6..10].copy_from_slice(&roc.to_be_bytes());
        iv[10..12].copy_from_slice(&seq.to_be_bytes());
        self.salted(iv)
    }

    /// `IV = (00 00 || SSRC || 00 00 || 0 + SRTCP index) XOR salt` (RFC 7714 §9.1).
    fn rtcp_nonce(&self, ssrc: u32, index: u32) -> Nonce {
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[8..12].copy_from_slice(&(index & !E_BIT).to_be_bytes());
        self.salted(iv)
    }

    fn salted(&self, mut iv: [u8; 12]) -> Nonce {
        for (b, s) in iv.iter_mut().zip(self.salt) {
            *b ^= s;
        }
        Nonce::assume_unique_for_key(iv)
    }
}
