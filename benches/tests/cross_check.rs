//! The three libraries in the benchmark agree: each accepts the others'
//! messages, reads the same values, and encodes the benchmark request to the
//! same bytes. Without this the timings would not compare the same work.

#[path = "../benches/common/competitors.rs"]
mod competitors;

use competitors::{codec, ours, webrtc};
use peerstack_benches::{ice_key, ice_request, ice_request_unsecured, ICE_PWD};

fn expected() -> competitors::Check {
    (
        peerstack_benches::USERNAME.len(),
        peerstack_benches::PRIORITY,
        peerstack_benches::TIE_BREAKER,
        true,
    )
}

#[test]
fn all_decoders_accept_and_agree() {
    let req = ice_request();
    let key = ice_key();
    assert_eq!(ours::decode_verify(&req, &key), Some(expected()));
    assert_eq!(
        codec::decode_verify(&mut codec::Decoder::default(), &req, ICE_PWD),
        Some(expected())
    );
    assert_eq!(
        webrtc::decode_verify(&mut webrtc::Message::new(), &req, &webrtc::key()),
        Some(expected())
    );

    let plain = ice_request_unsecured();
    assert_eq!(ours::decode_all(&plain), Some(expected()));
    assert_eq!(
        codec::decode_all(&mut codec::Decoder::default(), &plain),
        Some(expected())
    );
    assert_eq!(
        webrtc::decode_all(&mut webrtc::Message::new(), &plain),
        Some(expected())
    );
}

#[test]
fn all_decoders_reject_a_wrong_password_or_checksum() {
    let req = ice_request();
    let wrong = stun::IntegrityKey::short_term("not-the-password").unwrap();
    assert_eq!(ours::decode_verify(&req, &wrong), None);
    assert_eq!(
        codec::decode_verify(&mut codec::Decoder::default(), &req, "not-the-password"),
        None
    );

    let mut bad_fp = req.clone();
    let n = bad_fp.len();
    bad_fp[n - 1] ^= 1;
    assert_eq!(ours::decode_verify(&bad_fp, &ice_key()), None);
    assert_eq!(
        codec::decode_verify(&mut codec::Decoder::default(), &bad_fp, ICE_PWD),
        None
    );
    assert_eq!(
        webrtc::decode_verify(&mut webrtc::Message::new(), &bad_fp, &webrtc::key()),
        None
    );

    let mut bad_mi = req;
    bad_mi[24] ^= 1; // inside USERNAME: MESSAGE-INTEGRITY and FINGERPRINT both fail
    assert_eq!(ours::decode_verify(&bad_mi, &ice_key()), None);
    assert_eq!(
        webrtc::decode_verify(&mut webrtc::Message::new(), &bad_mi, &webrtc::key()),
        None
    );
}

#[test]
fn all_encoders_write_the_same_bytes() {
    let expected = ice_request();
    let mut buf = [0u8; 128];
    let n = ours::encode_sign(&mut buf, &ice_key());
    assert_eq!(&buf[..n], &expected[..]);
    assert_eq!(codec::encode_sign(&mut codec::Encoder::default()), expected);
    let mut m = webrtc::Message::new();
    webrtc::encode_sign(&mut m, &webrtc::username(), &webrtc::key());
    assert_eq!(m.raw, expected);
}
