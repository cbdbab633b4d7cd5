//! [`SrtpContext`] (one direction) and [`SrtpSession`] (both directions).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::cipher::{rtp_index, Transform, E_BIT};
use super::kdf::SessionKeys;
use super::replay::ReplayWindow;
use super::SrtpProfile;
use crate::dtls::{DtlsRole, SrtpKeys};
use crate::Error;

/// Tunables of an [`SrtpContext`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpConfig {
    /// Replay window in packets, for SRTP and SRTCP (default 128, RFC 3711
    /// §3.3.2 asks for at least 64). Clamped to `1..=32768`: beyond 2^15 the
    /// rollover-counter estimate is ambiguous anyway.
    pub replay_window: usize,
    /// Most SSRCs tracked per table (SRTP and SRTCP each; default 512). A
    /// packet from one SSRC more is rejected with [`Error::TooManySsrcs`]
    /// before any crypto; [`SrtpContext::remove_ssrc`] frees a slot.
    pub max_ssrcs: usize,
    /// Allow protecting the same RTP packet index twice (default `false`, as
    /// libsrtp): with AES-CM or GCM, two different packets under one index
    /// reuse the keystream (and for GCM expose the authentication key), so a
    /// repeated index is refused with [`Error::Replayed`] unless this is set
    /// for retransmitting byte-identical packets.
    pub allow_repeat_tx: bool,
}

impl Default for SrtpConfig {
    fn default() -> Self {
        SrtpConfig {
            replay_window: 128,
            max_ssrcs: 512,
            allow_repeat_tx: false,
        }
    }
}

/// SRTP state of one SSRC: rollover counter / highest index (RFC 3711
/// Appendix A) and the replay window over packet indices.
#[derive(Debug, Clone)]
struct RtpStream {
    /// The ROC to assume before the first packet (0, or set by
    /// [`SrtpContext::set_roc`]); afterwards the ROC is `highest >> 16`.
    initial_roc: u32,
    window: ReplayWindow,
}

impl RtpStream {
    fn new(window: usize) -> Self {
        RtpStream {
            initial_roc: 0,
            window: ReplayWindow::new(window),
        }
    }

    fn roc(&self) -> u32 {
        match self.window.highest() {
            Some(h) => (h >> 16) as u32,
            None => self.initial_roc,
        }
    }

    /// The ROC guess `v` for `seq` (RFC 3711 Appendix A) and the index it gives.
    fn estimate(&self, seq: u16) -> Result<(u32, u64), Error> {
        let Some(highest) = self.window.highest() else {
            return Ok((self.initial_roc, rtp_index(self.initial_roc, seq)));
        };
        let roc = (highest >> 16) as u32;
        let s_l = i32::from(highest as u16);
        let s = i32::from(seq);
        let v = if s_l < 32768 {
            if s - s_l > 32768 {
                // ROC - 1; with ROC 0 there is no earlier cycle, so take ROC
                // (as libsrtp does while its index is below 2^15).
                roc.saturating_sub(1)
            } else {
                roc
            }
        } else if s_l - 32768 > s {
            roc.checked_add(1).ok_or(Error::KeyExhausted)?
        } else {
            roc
        };
        Ok((v, rtp_index(v, seq)))
    }
}

/// SRTCP state of one SSRC.
#[derive(Debug, Clone)]
struct RtcpStream {
    /// Next SRTCP index to send (outbound contexts).
    next_index: u32,
    /// Indices received (inbound contexts).
    window: ReplayWindow,
}

/// Which way a context has been used (to debug-assert one direction per context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Protect,
    Unprotect,
}

/// Hasher for SSRC keys: SSRCs are random 32-bit numbers and only
/// authenticated packets create entries (bounded by `max_ssrcs`), so one
/// multiply-xorshift is enough.
#[derive(Default)]
struct SsrcHasher(u64);

impl Hasher for SsrcHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
        self.write_u32(self.0 as u32);
    }

    fn write_u32(&mut self, n: u32) {
        let x = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = x ^ (x >> 29);
    }
}

type SsrcMap<T> = HashMap<u32, T, BuildHasherDefault<SsrcHasher>>;

/// One direction of SRTP/SRTCP: protects outgoing or unprotects incoming
/// packets for any number of SSRCs (up to [`SrtpConfig::max_ssrcs`]) under one
/// master key.
///
/// Built once per DTLS-SRTP key (or SDES key); keeps the cipher contexts and
/// the per-SSRC state. Use one context per direction: a context used for both
/// protecting and unprotecting would mix the two sides' rollover counters (a
/// debug build asserts against it). See the [module docs](super) for the
/// buffer conventions.
///
/// # Example
///
/// ```
/// use dtls_transport::srtp::{SrtpContext, SrtpProfile};
///
/// let profile = SrtpProfile::AeadAes128Gcm;
/// let (key, salt) = ([1u8; 16], [2u8; 12]);
/// let mut tx = SrtpContext::new(profile, &key, &salt)?;
/// let mut rx = SrtpContext::new(profile, &key, &salt)?;
///
/// // RTP: seq 65535 then 0 — the rollover counter follows on both sides.
/// for seq in [65535u16, 0] {
///     let mut buf = [0u8; 64];
///     buf[..12].copy_from_slice(&[0x80, 96, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
///     buf[2..4].copy_from_slice(&seq.to_be_bytes());
///     buf[12..17].copy_from_slice(b"hello");
///     let n = tx.protect_rtp(&mut buf, 17)?; // writes the 16-byte tag at buf[17..33]
///     let m = rx.unprotect_rtp(&mut buf[..n])?;
///     assert_eq!(&buf[12..m], b"hello");
/// }
/// assert_eq!((tx.roc(0xdeadbeef), rx.roc(0xdeadbeef)), (Some(1), Some(1)));
///
/// // RTCP: a receiver report from SSRC 0xdeadbeef, in a Vec with spare capacity.
/// let report = vec![0x80, 201, 0, 1, 0xde, 0xad, 0xbe, 0xef];
/// let mut packet = Vec::with_capacity(report.len() + profile.rtcp_overhead());
/// packet.extend_from_slice(&report);
/// tx.protect_rtcp_vec(&mut packet)?; // no reallocation: the capacity was reserved
/// rx.unprotect_rtcp_vec(&mut packet)?;
/// assert_eq!(packet, report);
/// # Ok::<(), dtls_transport::Error>(())
/// ```
pub struct SrtpContext {
    profile: SrtpProfile,
    config: SrtpConfig,
    rtp: Transform,
    rtcp: Transform,
    rtp_streams: SsrcMap<RtpStream>,
    rtcp_streams: SsrcMap<RtcpStream>,
    direction: Option<Direction>,
}

impl std::fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpContext")
            .field("profile", &self.profile)
            .field("config", &self.config)
            .field("rtp_ssrcs", &self.rtp_streams.len())
            .field("rtcp_ssrcs", &self.rtcp_streams.len())
            .finish_non_exhaustive()
    }
}

impl SrtpContext {
    /// A context for `profile` from the master key and master salt, with the
    /// default [`SrtpConfig`].
    ///
    /// Returns [`Error::KeyLength`] if the lengths do not match the profile.
    pub fn new(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
    ) -> Result<SrtpContext, Error> {
        SrtpContext::with_config(profile, master_key, master_salt, SrtpConfig::default())
    }

    /// A context from the master key and salt with an explicit configuration.
    ///
    /// Returns [`Error::KeyLength`] if the lengths do not match the profile.
    pub fn with_config(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
        config: SrtpConfig,
    ) -> Result<SrtpContext, Error> {
        let keys = SessionKeys::derive(profile, master_key, master_salt)?;
        SrtpContext::from_session_keys(&keys, config)
    }

    /// A context from already derived session keys (key derivation skipped;
    /// for test vectors stated as session keys).
    ///
    /// Returns [`Error::KeyLength`] if a length does not match the profile.
    pub fn from_session_keys(
        keys: &SessionKeys,
        mut config: SrtpConfig,
    ) -> Result<SrtpContext, Error> {
        let profile = keys.profile;
        for set in [&keys.rtp, &keys.rtcp] {
            if set.key.len() != profile.master_key_len()
                || set.salt.len() != profile.master_salt_len()
                || set.auth_key.len() != profile.auth_key_len()
            {
                return Err(Error::KeyLength);
            }
        }
        config.replay_window = config.replay_window.clamp(1, 32768);
        let aead = profile.is_aead();
        Ok(SrtpContext {
            profile,
            rtp: Transform::new(aead, &keys.rtp, profile.rtp_tag_len())?,
            rtcp: Transform::new(aead, &keys.rtcp, profile.rtcp_tag_len())?,
            config,
            rtp_streams: SsrcMap::default(),
            rtcp_streams: SsrcMap::default(),
            direction: None,
        })
    }

    // ----- getters

    /// The profile.
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }

    /// The configuration in force (with `replay_window` clamped).
    pub fn config(&self) -> &SrtpConfig {
        &self.config
    }

    /// The rollover counter of `ssrc`'s SRTP stream (the ROC of its highest
    /// index), if the SSRC is known.
    pub fn roc(&self, ssrc: u32) -> Option<u32> {
        self.rtp_streams.get(&ssrc).map(RtpStream::roc)
    }

    /// The highest SRTP packet index (`ROC * 2^16 + SEQ`) seen or sent for
    /// `ssrc`, if any packet was.
    pub fn highest_index(&self, ssrc: u32) -> Option<u64> {
        self.rtp_streams.get(&ssrc).and_then(|s| s.window.highest())
    }

    /// The next SRTCP index this (outbound) context will send for `ssrc`.
    pub fn next_srtcp_index(&self, ssrc: u32) -> u32 {
        self.rtcp_streams.get(&ssrc).map_or(0, |s| s.next_index)
    }

    // ----- commands

    /// Sets the rollover counter for `ssrc` and forgets its highest sequence
    /// number and replay history: the next packet's index is `roc * 2^16 + SEQ`.
    /// For joining a stream whose ROC is signalled out of band, or tests.
    ///
    /// Returns [`Error::TooManySsrcs`] if the SSRC is new and the table is full.
    pub fn set_roc(&mut self, ssrc: u32, roc: u32) -> Result<(), Error> {
        let window = self.config.replay_window;
        let stream = insert_bounded(&mut self.rtp_streams, self.config.max_ssrcs, ssrc, || {
            RtpStream::new(window)
        })?;
        stream.window.reset();
        stream.initial_roc = roc;
        Ok(())
    }

    /// Sets the next SRTCP index this (outbound) context sends for `ssrc`
    /// (31 bits; higher bits are ignored). The first packet of a stream uses 0
    /// (RFC 3711 §3.3.1).
    ///
    /// Returns [`Error::TooManySsrcs`] if the SSRC is new and the table is full.
    pub fn set_srtcp_index(&mut self, ssrc: u32, index: u32) -> Result<(), Error> {
        let window = self.config.replay_window;
        let stream = insert_bounded(&mut self.rtcp_streams, self.config.max_ssrcs, ssrc, || {
            RtcpStream {
                next_index: 0,
                window: ReplayWindow::new(window),
            }
        })?;
        stream.next_index = index & !E_BIT;
        Ok(())
    }

    /// Forgets `ssrc` (SRTP and SRTCP state), freeing its table slots.
    pub fn remove_ssrc(&mut self, ssrc: u32) {
        self.rtp_streams.remove(&ssrc);
        self.rtcp_streams.remove(&ssrc);
    }

    fn use_as(&mut self, direction: Direction) {
        debug_assert!(
            self.direction.is_none() || self.direction == Some(direction),
            "an SrtpContext protects or unprotects, not both: use one per direction"
        );
        self.direction = Some(direction);
    }

    // ----- packets

    /// Protects the RTP packet in `buf[..len]` in place: encrypts the payload
    /// and writes the tag after it. Needs `buf.len() >= len +
    /// profile.rtp_overhead()`; returns the SRTP packet length.
    ///
    /// Errors: [`Error::BufferTooSmall`] (no tail room), [`Error::PacketTooShort`]
    /// (header longer than `len`), [`Error::Replayed`] (index already sent, see
    /// [`SrtpConfig::allow_repeat_tx`]), [`Error::TooManySsrcs`],
    /// [`Error::KeyExhausted`].
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        self.use_as(Direction::Protect);
        if len > buf.len() {
            return Err(Error::BufferTooSmall);
        }
        let hdr_len = rtp_header_len(&buf[..len])?;
        if buf.len() - len < self.rtp.rtp_overhead() {
            return Err(Error::BufferTooSmall);
        }
        let seq = u16::from_be_bytes([buf[2], buf[3]]);
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let window = self.config.replay_window;
        let stream = insert_bounded(&mut self.rtp_streams, self.config.max_ssrcs, ssrc, || {
            RtpStream::new(window)
        })?;
        let (roc, index) = stream.estimate(seq)?;
        if !self.config.allow_repeat_tx {
            stream.window.check(index)?;
        }
        let n = self.rtp.protect_rtp(buf, hdr_len, len, ssrc, roc, seq)?;
        stream.window.mark(index);
        Ok(n)
    }

    /// Authenticates and decrypts the SRTP packet `packet` in place; returns
    /// the RTP packet length (`packet[..n]` is the plaintext packet). The
    /// per-SSRC state (ROC, highest index, replay window) changes only for
    /// packets that authenticate.
    ///
    /// Errors: [`Error::PacketTooShort`], [`Error::Replayed`] (checked before
    /// the crypto), [`Error::AuthenticationFailed`], [`Error::TooManySsrcs`]
    /// (unknown SSRC with a full table), [`Error::KeyExhausted`].
    pub fn unprotect_rtp(&mut self, packet: &mut [u8]) -> Result<usize, Error> {
        self.use_as(Direction::Unprotect);
        let overhead = self.rtp.rtp_overhead();
        if packet.len() < 12 + overhead {
            return Err(Error::PacketTooShort);
        }
        let hdr_len = rtp_header_len(&packet[..packet.len() - overhead])?;
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        let ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
        let window = self.config.replay_window;
        let stream = match self.rtp_streams.get_mut(&ssrc) {
            Some(s) => s,
            None => {
                // A new SSRC is tracked only once its first packet authenticates.
                if self.rtp_streams.len() >= self.config.max_ssrcs {
                    return Err(Error::TooManySsrcs);
                }
                let mut stream = RtpStream::new(window);
                let (roc, index) = stream.estimate(seq)?;
                let n = self.rtp.unprotect_rtp(packet, hdr_len, ssrc, roc, seq)?;
                stream.window.mark(index);
                self.rtp_streams.insert(ssrc, stream);
                return Ok(n);
            }
        };
        let (roc, index) = stream.estimate(seq)?;
        stream.window.check(index)?;
        let n = self.rtp.unprotect_rtp(packet, hdr_len, ssrc, roc, seq)?;
        stream.window.mark(index);
        Ok(n)
    }

    /// Protects the RTCP (compound) packet in `buf[..len]` in place: encrypts
    /// everything after the first 8 bytes (E-bit set) and appends the SRTCP
    /// index word and tag. Needs `buf.len() >= len + profile.rtcp_overhead()`;
    /// returns the SRTCP packet length. The SSRC is the sender SSRC in bytes 4..8.
    ///
    /// Errors: [`Error::BufferTooSmall`], [`Error::PacketTooShort`] (under 8
    /// bytes), [`Error::TooManySsrcs`], [`Error::KeyExhausted`] (2^31 packets
    /// sent under this key).
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        self.use_as(Direction::Protect);
        if len > buf.len() {
            return Err(Error::BufferTooSmall);
        }
        if len < 8 {
            return Err(Error::PacketTooShort);
        }
        if buf.len() - len < self.rtcp.rtcp_overhead() {
            return Err(Error::BufferTooSmall);
        }
        let ssrc = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let window = self.config.replay_window;
        let stream = insert_bounded(&mut self.rtcp_streams, self.config.max_ssrcs, ssrc, || {
            RtcpStream {
                next_index: 0,
                window: ReplayWindow::new(window),
            }
        })?;
        let index = stream.next_index;
        if index & E_BIT != 0 {
            return Err(Error::KeyExhausted);
        }
        let n = self.rtcp.protect_rtcp(buf, len, ssrc, index)?;
        stream.next_index = index + 1;
        Ok(n)
    }

    /// Authenticates (and, if its E-bit is set, decrypts) the SRTCP packet
    /// `packet` in place; returns the RTCP length (`packet[..n]`). Unencrypted
    /// SRTCP (E-bit clear) is accepted too.
    ///
    /// Errors: [`Error::PacketTooShort`], [`Error::Replayed`],
    /// [`Error::AuthenticationFailed`], [`Error::TooManySsrcs`].
    pub fn unprotect_rtcp(&mut self, packet: &mut [u8]) -> Result<usize, Error> {
        self.use_as(Direction::Unprotect);
        let word = self.rtcp.rtcp_index_word(packet)?;
        let index = u64::from(word & !E_BIT);
        let ssrc = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        match self.rtcp_streams.get_mut(&ssrc) {
            Some(stream) => {
                stream.window.check(index)?;
                let n = self.rtcp.unprotect_rtcp(packet, ssrc, word)?;
                stream.window.mark(index);
                Ok(n)
            }
            None => {
                if self.rtcp_streams.len() >= self.config.max_ssrcs {
                    return Err(Error::TooManySsrcs);
                }
                let n = self.rtcp.unprotect_rtcp(packet, ssrc, word)?;
                let mut stream = RtcpStream {
                    next_index: 0,
                    window: ReplayWindow::new(self.config.replay_window),
                };
                stream.window.mark(index);
                self.rtcp_streams.insert(ssrc, stream);
                Ok(n)
            }
        }
    }

    /// [`protect_rtp`](Self::protect_rtp) on a `Vec`: grows it by the tag
    /// (allocating only if its capacity is short).
    pub fn protect_rtp_vec(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        let len = packet.len();
        packet.resize(len + self.rtp.rtp_overhead(), 0);
        let r = self.protect_rtp(packet, len);
        packet.truncate(*r.as_ref().unwrap_or(&len));
        r.map(drop)
    }

    /// [`unprotect_rtp`](Self::unprotect_rtp) on a `Vec`: truncates it to the
    /// RTP packet.
    pub fn unprotect_rtp_vec(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        let n = self.unprotect_rtp(packet)?;
        packet.truncate(n);
        Ok(())
    }

    /// [`protect_rtcp`](Self::protect_rtcp) on a `Vec`: grows it by the index
    /// word and tag (allocating only if its capacity is short).
    pub fn protect_rtcp_vec(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        let len = packet.len();
        packet.resize(len + self.rtcp.rtcp_overhead(), 0);
        let r = self.protect_rtcp(packet, len);
        packet.truncate(*r.as_ref().unwrap_or(&len));
        r.map(drop)
    }

    /// [`unprotect_rtcp`](Self::unprotect_rtcp) on a `Vec`: truncates it to
    /// the RTCP packet.
    pub fn unprotect_rtcp_vec(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        let n = self.unprotect_rtcp(packet)?;
        packet.truncate(n);
        Ok(())
    }
}

/// The entry for `ssrc`, created with `make` if there is room.
fn insert_bounded<T>(
    map: &mut SsrcMap<T>,
    max: usize,
    ssrc: u32,
    make: impl FnOnce() -> T,
) -> Result<&mut T, Error> {
    if map.len() >= max && !map.contains_key(&ssrc) {
        return Err(Error::TooManySsrcs);
    }
    Ok(map.entry(ssrc).or_insert_with(make))
}

/// Length of the RTP header (fixed part, CSRCs, extension) of `packet`, or
/// [`Error::PacketTooShort`] if it does not fit.
fn rtp_header_len(packet: &[u8]) -> Result<usize, Error> {
    if packet.len() < 12 {
        return Err(Error::PacketTooShort);
    }
    let csrcs = usize::from(packet[0] & 0x0f);
    let mut len = 12 + 4 * csrcs;
    if packet[0] & 0x10 != 0 {
        if packet.len() < len + 4 {
            return Err(Error::PacketTooShort);
        }
        let words = usize::from(u16::from_be_bytes([packet[len + 2], packet[len + 3]]));
        len += 4 + 4 * words;
    }
    if len > packet.len() {
        return Err(Error::PacketTooShort);
    }
    Ok(len)
}

/// Both directions of an SRTP session: an outbound context (our keys) and an
/// inbound one (the peer's keys).
///
/// ```
/// use dtls_transport::srtp::{SrtpConfig, SrtpProfile, SrtpSession};
///
/// // Both ends of a DTLS handshake export the same keying material.
/// let profile = SrtpProfile::Aes128CmHmacSha1_80;
/// let material = vec![7u8; profile.keying_material_len()];
/// let mut client = SrtpSession::from_dtls_keying_material(profile, &material, true, SrtpConfig::default())?;
/// let mut server = SrtpSession::from_dtls_keying_material(profile, &material, false, SrtpConfig::default())?;
///
/// let mut buf = [0u8; 32];
/// buf[..12].copy_from_slice(&[0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 42]);
/// let n = client.protect_rtp(&mut buf, 12)?;
/// assert_eq!(server.unprotect_rtp(&mut buf[..n])?, 12);
/// # Ok::<(), dtls_transport::Error>(())
/// ```
#[derive(Debug)]
pub struct SrtpSession {
    /// Protects what we send.
    pub outbound: SrtpContext,
    /// Unprotects what we receive.
    pub inbound: SrtpContext,
}

impl SrtpSession {
    /// A session from our master key/salt and the peer's.
    ///
    /// Returns [`Error::KeyLength`] if a length does not match the profile.
    pub fn new(
        profile: SrtpProfile,
        local_key: &[u8],
        local_salt: &[u8],
        remote_key: &[u8],
        remote_salt: &[u8],
        config: SrtpConfig,
    ) -> Result<SrtpSession, Error> {
        Ok(SrtpSession {
            outbound: SrtpContext::with_config(profile, local_key, local_salt, config.clone())?,
            inbound: SrtpContext::with_config(profile, remote_key, remote_salt, config)?,
        })
    }

    /// A session from DTLS-SRTP keying material (RFC 5764 §4.2): the
    /// [`SrtpProfile::keying_material_len`] bytes exported with the label
    /// `EXTRACTOR-dtls_srtp`, laid out as client key | server key | client
    /// salt | server salt. `is_client` is our DTLS role: the client protects
    /// with the client key.
    ///
    /// Returns [`Error::KeyLength`] if `material` has the wrong length.
    pub fn from_dtls_keying_material(
        profile: SrtpProfile,
        material: &[u8],
        is_client: bool,
        config: SrtpConfig,
    ) -> Result<SrtpSession, Error> {
        if material.len() != profile.keying_material_len() {
            return Err(Error::KeyLength);
        }
        let role = if is_client {
            DtlsRole::Client
        } else {
            DtlsRole::Server
        };
        let keys = SrtpKeys::from_keying_material(profile, role, material);
        SrtpSession::from_keys(&keys, config)
    }

    /// A session from the keys a [`DtlsTransport`](crate::dtls::DtlsTransport)
    /// exported ([`DtlsEvent::Connected`](crate::dtls::DtlsEvent::Connected)),
    /// already oriented for our role.
    pub fn from_keys(keys: &SrtpKeys, config: SrtpConfig) -> Result<SrtpSession, Error> {
        SrtpSession::new(
            keys.profile,
            &keys.local_key,
            &keys.local_salt,
            &keys.remote_key,
            &keys.remote_salt,
            config,
        )
    }

    /// The profile.
    pub fn profile(&self) -> SrtpProfile {
        self.outbound.profile()
    }

    /// [`SrtpContext::protect_rtp`] on the outbound context.
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        self.outbound.protect_rtp(buf, len)
    }

    /// [`SrtpContext::protect_rtcp`] on the outbound context.
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        self.outbound.protect_rtcp(buf, len)
    }

    /// [`SrtpContext::unprotect_rtp`] on the inbound context.
    pub fn unprotect_rtp(&mut self, packet: &mut [u8]) -> Result<usize, Error> {
        self.inbound.unprotect_rtp(packet)
    }

    /// [`SrtpContext::unprotect_rtcp`] on the inbound context.
    pub fn unprotect_rtcp(&mut self, packet: &mut [u8]) -> Result<usize, Error> {
        self.inbound.unprotect_rtcp(packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lengths() {
        let mut p = [0u8; 40];
        p[0] = 0x80;
        assert_eq!(rtp_header_len(&p[..12]), Ok(12));
        assert_eq!(rtp_header_len(&p[..11]), Err(Error::PacketTooShort));
        p[0] = 0x82; // two CSRCs
        assert_eq!(rtp_header_len(&p[..20]), Ok(20));
        assert_eq!(rtp_header_len(&p[..19]), Err(Error::PacketTooShort));
        p[0] = 0x91; // one CSRC + extension of 2 words
        p[16..20].copy_from_slice(&[0xbe, 0xde, 0, 2]);
        assert_eq!(rtp_header_len(&p[..28]), Ok(28));
        assert_eq!(rtp_header_len(&p[..27]), Err(Error::PacketTooShort));
        assert_eq!(rtp_header_len(&p[..18]), Err(Error::PacketTooShort));
    }

    #[test]
    fn roc_estimate_follows_appendix_a() {
        let mut s = RtpStream::new(128);
        assert_eq!(s.estimate(65000), Ok((0, 65000)));
        s.window.mark(65000);
        assert_eq!(s.estimate(10), Ok((1, 65536 + 10)));
        assert_eq!(s.estimate(40000), Ok((0, 40000)));
        s.window.mark(65536 + 10);
        assert_eq!(s.estimate(65500), Ok((0, 65500)));
        assert_eq!(s.estimate(20), Ok((1, 65536 + 20)));
        // ROC 0 with a low s_l: no ROC - 1.
        let mut s = RtpStream::new(128);
        s.window.mark(100);
        assert_eq!(s.estimate(65000), Ok((0, 65000)));
        // ROC 5, s_l low: a high seq is from ROC 4.
        let mut s = RtpStream::new(128);
        s.window.mark(rtp_index(5, 100));
        assert_eq!(s.estimate(65000), Ok((4, rtp_index(4, 65000))));
        let mut s = RtpStream::new(128);
        s.window.mark(rtp_index(u32::MAX, 65000));
        assert_eq!(s.estimate(1), Err(Error::KeyExhausted));
    }
}
