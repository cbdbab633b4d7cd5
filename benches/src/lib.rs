//! Shared fixtures for peerstack's benchmarks, the no-allocation test and the
//! `stun-load` load generator.
//!
//! The benchmark message is the connectivity check an ICE agent receives most:
//! a Binding request with USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE,
//! MESSAGE-INTEGRITY (short-term key = the receiver's ice-pwd) and FINGERPRINT,
//! 92 bytes with libwebrtc-style 4-character ufrags.

use stun::attributes::{IceControlling, Priority, UseCandidate, Username};
use stun::{Class, IntegrityKey, MessageBuilder, Method, TransactionId};

/// USERNAME of the check: `remote-ufrag:local-ufrag`.
pub const USERNAME: &str = "Hs9a:3kQx";
/// The receiver's ice-pwd, the short-term MESSAGE-INTEGRITY key.
pub const ICE_PWD: &str = "VOkJxbRl1RmTxUk/WvJxBt";
/// PRIORITY of the check.
pub const PRIORITY: u32 = 0x6E7F_1EFF;
/// ICE-CONTROLLING tie-breaker.
pub const TIE_BREAKER: u64 = 0x932F_F9B1_5126_3B36;
/// Fixed transaction id, so every encoder writes the same bytes.
pub const TRANSACTION_ID: [u8; 12] = [
    0xB7, 0xE7, 0xA7, 0x01, 0xBC, 0x34, 0xD6, 0x86, 0xFA, 0x87, 0xDF, 0xAE,
];

/// The short-term key for [`ICE_PWD`].
pub fn ice_key() -> IntegrityKey {
    IntegrityKey::short_term(ICE_PWD).expect("ASCII password is a valid OpaqueString")
}

/// Writes the ICE Binding request into `buf` and returns its length.
///
/// With `secured`, MESSAGE-INTEGRITY (with `key`) and FINGERPRINT are appended.
pub fn write_ice_request(buf: &mut [u8], key: &IntegrityKey, secured: bool) -> usize {
    let mut b = MessageBuilder::new(
        buf,
        Class::Request,
        Method::BINDING,
        TransactionId(TRANSACTION_ID),
    )
    .expect("buffer holds a header");
    b.add(&Username(USERNAME))
        .and_then(|b| b.add(&Priority(PRIORITY)))
        .and_then(|b| b.add(&IceControlling(TIE_BREAKER)))
        .and_then(|b| b.add(&UseCandidate))
        .expect("buffer holds the attributes");
    if secured {
        b.add_message_integrity(key)
            .and_then(|b| b.add_fingerprint())
            .expect("buffer holds MESSAGE-INTEGRITY and FINGERPRINT");
    }
    b.finish()
}

/// The ICE Binding request with MESSAGE-INTEGRITY and FINGERPRINT (92 bytes).
pub fn ice_request() -> Vec<u8> {
    let mut buf = [0u8; 256];
    let n = write_ice_request(&mut buf, &ice_key(), true);
    buf[..n].to_vec()
}

/// The same request without MESSAGE-INTEGRITY and FINGERPRINT (60 bytes), for
/// the decode-only comparison where no library hashes anything.
pub fn ice_request_unsecured() -> Vec<u8> {
    let mut buf = [0u8; 256];
    let n = write_ice_request(&mut buf, &ice_key(), false);
    buf[..n].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_sizes() {
        assert_eq!(ice_request().len(), 92);
        assert_eq!(ice_request_unsecured().len(), 60);
    }
}
