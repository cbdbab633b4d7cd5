//! DTLS 1.2 handshake benchmarks on the sans-IO `DtlsTransport` (no sockets):
//!
//! - `dtls_handshake/ecdsa_p256`: a full handshake in memory, both sides in
//!   this thread, certificates made beforehand (ECDSA P-256 both sides): two
//!   `DtlsTransport::new`, `start`, and datagrams shuttled until both report
//!   Connected with SRTP keys. The anchor is webrtc-dtls 0.12 at 1.31 ms.
//! - `dtls_handshake/rsa2048`: the same with RSA-2048 certificates.
//! - `dtls_handshake/webrtc_dtls_ecdsa_p256`: the anchor, webrtc-rs's
//!   `webrtc-dtls` 0.12, measured in the same run: two `DTLSConn::new` over
//!   webrtc-util's in-memory `conn_pipe`, joined on a current-thread tokio
//!   runtime (both sides in one thread), ECDSA P-256 certificates made
//!   beforehand, mutual certificates (`RequireAnyClientCert`), SRTP
//!   AEAD_AES_128_GCM, then both closed.
//! - `dtls_setup/new_pair`: only the two `DtlsTransport::new` (OpenSSL
//!   context and `SSL` creation), the part of the handshake cost that is
//!   not cryptography on the wire.
//!
//! - `dtls_parts/*`: the OpenSSL primitives a handshake is made of, to see
//!   where the time goes (each side signs once, verifies once, and does one
//!   X25519 key generation + derivation; each parses the peer certificate).
//!
//! Run: `cargo bench -p peerstack-benches --bench dtls_handshake -- --warm-up-time 1 --measurement-time 5`

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use dtls_transport::certificate::{Certificate, HashAlgorithm, KeyType, DEFAULT_VALIDITY};
use dtls_transport::dtls::{DtlsConfig, DtlsRole, DtlsState, DtlsTransport};

fn configs(a: &Certificate, b: &Certificate) -> (DtlsConfig, DtlsConfig) {
    (
        DtlsConfig::new(a.clone(), DtlsRole::Client)
            .with_remote_fingerprint(b.fingerprint(HashAlgorithm::Sha256)),
        DtlsConfig::new(b.clone(), DtlsRole::Server)
            .with_remote_fingerprint(a.fingerprint(HashAlgorithm::Sha256)),
    )
}

/// One full handshake; returns the datagrams exchanged.
fn handshake(a: &Certificate, b: &Certificate, now: Instant) -> usize {
    let (ca, cb) = configs(a, b);
    let mut client = DtlsTransport::new(ca).unwrap();
    let mut server = DtlsTransport::new(cb).unwrap();
    client.start(now);
    server.start(now);
    let mut moved = 0;
    loop {
        let mut any = false;
        while let Some(d) = client.poll_transmit() {
            server.handle_receive(now, &d);
            any = true;
            moved += 1;
        }
        while let Some(d) = server.poll_transmit() {
            client.handle_receive(now, &d);
            any = true;
            moved += 1;
        }
        if !any {
            break;
        }
    }
    assert_eq!(client.state(), DtlsState::Connected);
    assert_eq!(server.state(), DtlsState::Connected);
    assert!(client.srtp_keys().is_some());
    moved
}

fn bench(c: &mut Criterion) {
    let now = Instant::now();
    let ecdsa = (
        Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap(),
        Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap(),
    );
    let rsa = (
        Certificate::generate(KeyType::Rsa2048, DEFAULT_VALIDITY).unwrap(),
        Certificate::generate(KeyType::Rsa2048, DEFAULT_VALIDITY).unwrap(),
    );

    let mut g = c.benchmark_group("dtls_handshake");
    g.bench_function("ecdsa_p256", |b| {
        b.iter(|| handshake(&ecdsa.0, &ecdsa.1, now))
    });
    g.bench_function("rsa2048", |b| b.iter(|| handshake(&rsa.0, &rsa.1, now)));
    webrtc_dtls_anchor(&mut g);
    g.finish();

    let mut g = c.benchmark_group("dtls_setup");
    g.bench_function("new_pair", |b| {
        b.iter(|| {
            let (ca, cb) = configs(&ecdsa.0, &ecdsa.1);
            (
                DtlsTransport::new(ca).unwrap(),
                DtlsTransport::new(cb).unwrap(),
            )
        })
    });
    g.finish();

    parts(c, &ecdsa.0);
}

/// webrtc-rs's webrtc-dtls 0.12 doing the same handshake (the anchor).
fn webrtc_dtls_anchor(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    use std::sync::Arc;
    use webrtc_dtls::config::{ClientAuthType, Config};
    use webrtc_dtls::conn::DTLSConn;
    use webrtc_dtls::crypto::Certificate as WCert;
    use webrtc_dtls::extension::extension_use_srtp::SrtpProtectionProfile;
    use webrtc_util_dtls::conn::conn_pipe::pipe;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    // ECDSA P-256 (rcgen's default), made beforehand like ours.
    let certs = (
        WCert::generate_self_signed(vec!["WebRTC".to_owned()]).unwrap(),
        WCert::generate_self_signed(vec!["WebRTC".to_owned()]).unwrap(),
    );
    let config = |cert: &WCert| Config {
        certificates: vec![cert.clone()],
        insecure_skip_verify: true,
        client_auth: ClientAuthType::RequireAnyClientCert,
        srtp_protection_profiles: vec![SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm],
        ..Default::default()
    };
    g.bench_function("webrtc_dtls_ecdsa_p256", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (ua, ub) = pipe();
                let (client, server) = tokio::join!(
                    DTLSConn::new(Arc::new(ua), config(&certs.0), true, None),
                    DTLSConn::new(Arc::new(ub), config(&certs.1), false, None),
                );
                let (client, server) = (client.unwrap(), server.unwrap());
                assert_eq!(
                    client.selected_srtpprotection_profile(),
                    SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm
                );
                client.close().await.unwrap();
                server.close().await.unwrap();
            })
        })
    });
}

/// The primitives of an ECDSA P-256 / X25519 handshake, through the same
/// OpenSSL the transport uses.
fn parts(c: &mut Criterion, cert: &Certificate) {
    use openssl::derive::Deriver;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::sign::{Signer, Verifier};
    use openssl::x509::X509;

    let (der, key_der) = cert.to_der();
    let key = PKey::private_key_from_pkcs8(&key_der).unwrap();
    let public = X509::from_der(&der).unwrap().public_key().unwrap();
    // ServerKeyExchange signs client_random + server_random + params (~100 B).
    let msg = [0x42u8; 101];
    let sig = {
        let mut s = Signer::new(MessageDigest::sha256(), &key).unwrap();
        s.sign_oneshot_to_vec(&msg).unwrap()
    };
    let peer_x25519 = PKey::generate_x25519().unwrap();

    let mut g = c.benchmark_group("dtls_parts");
    g.bench_function("ecdsa_p256_sign", |b| {
        b.iter(|| {
            let mut s = Signer::new(MessageDigest::sha256(), &key).unwrap();
            s.sign_oneshot_to_vec(&msg).unwrap()
        })
    });
    g.bench_function("ecdsa_p256_verify", |b| {
        b.iter(|| {
            let mut v = Verifier::new(MessageDigest::sha256(), &public).unwrap();
            assert!(v.verify_oneshot(&sig, &msg).unwrap());
        })
    });
    g.bench_function("x25519_keygen_derive", |b| {
        b.iter(|| {
            let k = PKey::generate_x25519().unwrap();
            let mut d = Deriver::new(&k).unwrap();
            d.set_peer(&peer_x25519).unwrap();
            d.derive_to_vec().unwrap()
        })
    });
    g.bench_function("x509_parse", |b| b.iter(|| X509::from_der(&der).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
