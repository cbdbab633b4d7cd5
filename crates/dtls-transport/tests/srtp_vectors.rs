//! Known-answer tests: RFC 3711 Appendix B.2 (AES-CM keystream) and B.3 (key
//! derivation), RFC 7714 §16 and §17 (AES-GCM SRTP and SRTCP), and libsrtp's
//! reference packets for AES_CM_128_HMAC_SHA1_80 (`test/srtp_driver.c`).

use dtls_transport::srtp::kdf::{prf, Label};
use dtls_transport::srtp::{SessionKeys, SrtpConfig, SrtpContext, SrtpProfile};
use dtls_transport::Error;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    assert!(digits.len() % 2 == 0, "odd hex: {s}");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

// ---------------------------------------------------------------- RFC 3711 B.3

const B3_MASTER_KEY: &str = "E1F97A0D3E018BE0D64FA32C06DE4139";
const B3_MASTER_SALT: &str = "0EC675AD498AFEEBB6960B3AABE6";

#[test]
fn rfc3711_b3_key_derivation() {
    let key = hex(B3_MASTER_KEY);
    let salt = hex(B3_MASTER_SALT);
    assert_eq!(
        prf(&key, &salt, Label::RtpEncryption, 16).unwrap(),
        hex("C61E7A93744F39EE10734AFE3FF7A087")
    );
    assert_eq!(
        prf(&key, &salt, Label::RtpSalt, 14).unwrap(),
        hex("30CBBC08863D8C85D49DB34A9AE1")
    );
    // The RFC shows 94 octets of auth key (six AES blocks); SHA1 takes the first 20.
    let auth94 = hex("CEBE321F6FF7716B6FD4AB49AF256A15
         6D38BAA48F0A0ACF3C34E2359E6CDBCE
         E049646C43D9327AD175578EF7227098
         6371C10C9A369AC2F94A8C5FBCDDDC25
         6D6E919A48B610EF17C2041E47403576
         6B68642C59BBFC2F34DB60DBDFB2");
    assert_eq!(auth94.len(), 94);
    assert_eq!(
        prf(&key, &salt, Label::RtpAuthentication, 94).unwrap(),
        auth94
    );

    let keys = SessionKeys::derive(SrtpProfile::Aes128CmHmacSha1_80, &key, &salt).unwrap();
    assert_eq!(keys.rtp.key, hex("C61E7A93744F39EE10734AFE3FF7A087"));
    assert_eq!(keys.rtp.salt, hex("30CBBC08863D8C85D49DB34A9AE1"));
    assert_eq!(keys.rtp.auth_key, auth94[..20]);
    // SRTCP keys use other labels, so they differ.
    assert_ne!(keys.rtcp.key, keys.rtp.key);
    assert_ne!(keys.rtcp.salt, keys.rtp.salt);
    assert_ne!(keys.rtcp.auth_key, keys.rtp.auth_key);
}

#[test]
fn key_lengths_are_checked() {
    for p in SrtpProfile::ALL {
        let k = vec![1u8; p.master_key_len()];
        let s = vec![2u8; p.master_salt_len()];
        assert!(SrtpContext::new(p, &k, &s).is_ok(), "{p}");
        assert_eq!(
            SrtpContext::new(p, &k[1..], &s).map(drop),
            Err(Error::KeyLength),
            "{p}"
        );
        assert_eq!(
            SrtpContext::new(p, &k, &s[1..]).map(drop),
            Err(Error::KeyLength),
            "{p}"
        );
    }
}

// ---------------------------------------------------------------- RFC 3711 B.2

#[test]
fn rfc3711_b2_aes_cm_keystream() {
    // Session key and (already shifted) salt given directly; SSRC 0, ROC 0, SEQ 0:
    // the IV is the salt * 2^16, so a zero payload encrypts to the keystream.
    let keys = SessionKeys::from_session_keys(
        SrtpProfile::Aes128CmHmacSha1_80,
        &hex("2B7E151628AED2A6ABF7158809CF4F3C"),
        &hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"),
        &[0u8; 20],
    )
    .unwrap();
    let mut ctx = SrtpContext::from_session_keys(&keys, SrtpConfig::default()).unwrap();

    // The RFC's whole keystream segment: 1044512 octets (65282 blocks).
    const SEGMENT: usize = 1_044_512;
    let mut buf = vec![0u8; 12 + SEGMENT + 10];
    buf[0] = 0x80; // V=2, seq 0, ts 0, SSRC 0
    let n = ctx.protect_rtp(&mut buf, 12 + SEGMENT).unwrap();
    assert_eq!(n, 12 + SEGMENT + 10);
    let ks = &buf[12..12 + SEGMENT];
    let block = |i: usize| &ks[i * 16..i * 16 + 16];
    assert_eq!(block(0), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
    assert_eq!(block(1), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
    assert_eq!(block(2), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
    assert_eq!(block(0xFEFF), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
    assert_eq!(block(0xFF00), hex("362B7C3C6773516318A077D7FC5073AE"));
    assert_eq!(block(0xFF01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
}

// ---------------------------------------------------- libsrtp reference packets

/// libsrtp `srtp_validate()`: AES_CM_128_HMAC_SHA1_80 with the RFC 3711 B.3
/// master key, SSRC 0xcafebabe, seq 0x1234; SRTCP with index 1 (libsrtp's
/// first index).
#[test]
fn libsrtp_reference_aes_cm_sha1_80() {
    let key = hex(B3_MASTER_KEY);
    let salt = hex(B3_MASTER_SALT);
    let profile = SrtpProfile::Aes128CmHmacSha1_80;
    let rtp = hex("800f1234decafbadcafebabeabababababababababababababababab");
    let srtp = hex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb");
    let mut tx = SrtpContext::new(profile, &key, &salt).unwrap();
    let mut p = rtp.clone();
    tx.protect_rtp_vec(&mut p).unwrap();
    assert_eq!(p, srtp);
    let mut rx = SrtpContext::new(profile, &key, &salt).unwrap();
    rx.unprotect_rtp_vec(&mut p).unwrap();
    assert_eq!(p, rtp);

    let rtcp = hex("81c8000bcafebabeabababababababababababababababab");
    let srtcp = hex("81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798");
    tx.set_srtcp_index(0xcafebabe, 1).unwrap();
    let mut p = rtcp.clone();
    tx.protect_rtcp_vec(&mut p).unwrap();
    assert_eq!(p, srtcp);
    assert_eq!(tx.next_srtcp_index(0xcafebabe), 2);
    rx.unprotect_rtcp_vec(&mut p).unwrap();
    assert_eq!(p, rtcp);
}

// ----------------------------------------------------------- RFC 7714 §16, §17

const GCM_KEY_128: &str = "000102030405060708090a0b0c0d0e0f";
const GCM_KEY_256: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// "Quid pro quo"
const GCM_SALT: &str = "517569642070726f2071756f";

/// §16: header 8040f17b 8041f8d3 5501a0b2 (seq 0xf17b, SSRC 0x5501a0b2), payload
/// "Gallia est omnis divisa in partes tres".
const GCM_RTP: &str = "8040f17b8041f8d35501a0b2
    47616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573";
/// §16.1.1
const GCM_SRTP_128: &str = "8040f17b8041f8d35501a0b2
    f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833
    899d7f27beb16a9152cf765ee4390cce";
/// §16.2.1
const GCM_SRTP_256: &str = "8040f17b8041f8d35501a0b2
    32b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f1ba63799b87b
    7aa3db36dfffd6b0f9bb7878d7a76c13";

/// §17: an RTCP sender report from SSRC "Mars", SRTCP index 0x5d4.
const GCM_RTCP: &str = "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61
    deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
const GCM_SRTCP_INDEX: u32 = 0x5d4;
/// §17.1 (encrypted, E=1)
const GCM_SRTCP_128: &str = "81c8000d4d617273
    63e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275b
    c84aa45896cf4d2fc5abf87245d9eade 800005d4";
/// §17.2 (encrypted, E=1)
const GCM_SRTCP_256: &str = "81c8000d4d617273
    d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555be8415f658c61de0476f1b6fad
    1d1eb30c4446839f57ff6f6cb26ac3be 800005d4";
/// §17.3 (tagged only, E=0)
const GCM_SRTCP_128_TAG_ONLY: &str =
    "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61
    deadbeefdeadbeefdeadbeefdeadbeefdeadbeef 841dd9683dd78ec92ae58790125f62b3 000005d4";
/// §17.4 (tagged only, E=0)
const GCM_SRTCP_256_TAG_ONLY: &str =
    "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61
    deadbeefdeadbeefdeadbeefdeadbeefdeadbeef 91db4afbfeee5a978fab4393ed2615fe 000005d4";

fn gcm_context(profile: SrtpProfile) -> SrtpContext {
    let key = if profile == SrtpProfile::AeadAes128Gcm {
        hex(GCM_KEY_128)
    } else {
        hex(GCM_KEY_256)
    };
    let keys = SessionKeys::from_session_keys(profile, &key, &hex(GCM_SALT), &[]).unwrap();
    SrtpContext::from_session_keys(&keys, SrtpConfig::default()).unwrap()
}

#[test]
fn rfc7714_16_srtp_encrypt_and_decrypt() {
    for (profile, expected) in [
        (SrtpProfile::AeadAes128Gcm, GCM_SRTP_128),
        (SrtpProfile::AeadAes256Gcm, GCM_SRTP_256),
    ] {
        let rtp = hex(GCM_RTP);
        let srtp = hex(expected);
        // The first packet of the stream: ROC 0, as the vectors assume.
        let mut p = rtp.clone();
        gcm_context(profile).protect_rtp_vec(&mut p).unwrap();
        assert_eq!(p, srtp, "{profile} protect");

        let mut rx = gcm_context(profile);
        let mut p = srtp.clone();
        rx.unprotect_rtp_vec(&mut p).unwrap();
        assert_eq!(p, rtp, "{profile} unprotect");
        assert_eq!(rx.roc(0x5501a0b2), Some(0));

        // Any flipped bit (header, ciphertext, tag) fails authentication.
        for byte in 0..srtp.len() {
            let mut p = srtp.clone();
            p[byte] ^= 0x20;
            let r = gcm_context(profile).unprotect_rtp_vec(&mut p);
            assert!(r.is_err(), "{profile}: flipped byte {byte} accepted");
        }
    }
}

#[test]
fn rfc7714_17_srtcp_encrypt_and_decrypt() {
    for (profile, expected) in [
        (SrtpProfile::AeadAes128Gcm, GCM_SRTCP_128),
        (SrtpProfile::AeadAes256Gcm, GCM_SRTCP_256),
    ] {
        let rtcp = hex(GCM_RTCP);
        let srtcp = hex(expected);
        let mut tx = gcm_context(profile);
        tx.set_srtcp_index(0x4d617273, GCM_SRTCP_INDEX).unwrap();
        let mut p = rtcp.clone();
        tx.protect_rtcp_vec(&mut p).unwrap();
        assert_eq!(p, srtcp, "{profile} protect");

        let mut p = srtcp.clone();
        gcm_context(profile).unprotect_rtcp_vec(&mut p).unwrap();
        assert_eq!(p, rtcp, "{profile} unprotect");

        for byte in 0..srtcp.len() {
            let mut p = srtcp.clone();
            p[byte] ^= 0x01;
            let r = gcm_context(profile).unprotect_rtcp_vec(&mut p);
            assert!(r.is_err(), "{profile}: flipped byte {byte} accepted");
        }
    }
}

#[test]
fn rfc7714_17_srtcp_tagged_only() {
    for (profile, tagged) in [
        (SrtpProfile::AeadAes128Gcm, GCM_SRTCP_128_TAG_ONLY),
        (SrtpProfile::AeadAes256Gcm, GCM_SRTCP_256_TAG_ONLY),
    ] {
        let rtcp = hex(GCM_RTCP);
        let tagged = hex(tagged);
        let mut p = tagged.clone();
        gcm_context(profile).unprotect_rtcp_vec(&mut p).unwrap();
        assert_eq!(p, rtcp, "{profile}");

        for byte in 0..tagged.len() {
            let mut p = tagged.clone();
            p[byte] ^= 0x80;
            let r = gcm_context(profile).unprotect_rtcp_vec(&mut p);
            assert!(r.is_err(), "{profile}: flipped byte {byte} accepted");
        }
    }
}

#[test]
fn profile_table() {
    use SrtpProfile::*;
    let rows = [
        (
            Aes128CmHmacSha1_80,
            0x0001,
            "SRTP_AES128_CM_SHA1_80",
            16,
            14,
            10,
            10,
        ),
        (
            Aes128CmHmacSha1_32,
            0x0002,
            "SRTP_AES128_CM_SHA1_32",
            16,
            14,
            4,
            10,
        ),
        (
            AeadAes128Gcm,
            0x0007,
            "SRTP_AEAD_AES_128_GCM",
            16,
            12,
            16,
            16,
        ),
        (
            AeadAes256Gcm,
            0x0008,
            "SRTP_AEAD_AES_256_GCM",
            32,
            12,
            16,
            16,
        ),
    ];
    for (p, id, name, key, salt, rtp_tag, rtcp_tag) in rows {
        assert_eq!(p.id(), id);
        assert_eq!(SrtpProfile::from_id(id), Some(p));
        assert_eq!(p.name(), name);
        assert_eq!(SrtpProfile::from_name(name), Some(p));
        assert_eq!(p.master_key_len(), key);
        assert_eq!(p.master_salt_len(), salt);
        assert_eq!(p.rtp_tag_len(), rtp_tag);
        assert_eq!(p.rtcp_tag_len(), rtcp_tag);
        assert_eq!(p.rtcp_overhead(), rtcp_tag + 4);
        assert_eq!(p.keying_material_len(), 2 * (key + salt));
    }
    assert_eq!(SrtpProfile::from_id(0x0003), None);
}
