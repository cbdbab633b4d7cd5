//! DtlsTransport end to end, in memory: handshakes in both roles and with both
//! key types, DTLS-SRTP keys, application data, fingerprint failures, roles,
//! close_notify, and a handshake over a lossy, reordering, duplicating path.

use std::time::{Duration, Instant};

use dtls_transport::certificate::{
    Certificate, Fingerprint, HashAlgorithm, KeyType, DEFAULT_VALIDITY,
};
use dtls_transport::dtls::{
    DtlsConfig, DtlsEvent, DtlsRole, DtlsState, DtlsTransport, Setup, DEFAULT_MTU,
    INITIAL_RETRANSMIT_TIMEOUT,
};
use dtls_transport::srtp::SrtpProfile;
use dtls_transport::Error;

fn cert(kind: KeyType) -> Certificate {
    Certificate::generate(kind, DEFAULT_VALIDITY).expect("certificate")
}

/// Two transports that know each other's SHA-256 fingerprints.
fn pair(
    a_cert: &Certificate,
    b_cert: &Certificate,
    a_role: DtlsRole,
) -> (DtlsTransport, DtlsTransport) {
    let a = DtlsTransport::new(
        DtlsConfig::new(a_cert.clone(), a_role)
            .with_remote_fingerprint(b_cert.fingerprint(HashAlgorithm::Sha256)),
    )
    .unwrap();
    let b = DtlsTransport::new(
        DtlsConfig::new(b_cert.clone(), a_role.opposite())
            .with_remote_fingerprint(a_cert.fingerprint(HashAlgorithm::Sha256)),
    )
    .unwrap();
    (a, b)
}

/// Moves datagrams both ways until neither side has anything to send;
/// checks every datagram against `mtu`. Returns the number of datagrams moved.
fn pump(a: &mut DtlsTransport, b: &mut DtlsTransport, now: Instant, mtu: usize) -> usize {
    let mut moved = 0;
    loop {
        let mut any = false;
        while let Some(d) = a.poll_transmit() {
            assert!(d.len() <= mtu, "datagram of {} bytes > MTU {mtu}", d.len());
            b.handle_receive(now, &d);
            any = true;
            moved += 1;
        }
        while let Some(d) = b.poll_transmit() {
            assert!(d.len() <= mtu, "datagram of {} bytes > MTU {mtu}", d.len());
            a.handle_receive(now, &d);
            any = true;
            moved += 1;
        }
        if !any {
            return moved;
        }
    }
}

fn events(t: &mut DtlsTransport) -> Vec<DtlsEvent> {
    std::iter::from_fn(|| t.poll_event()).collect()
}

fn app_data(evs: &[DtlsEvent]) -> Vec<Vec<u8>> {
    evs.iter()
        .filter_map(|e| match e {
            DtlsEvent::ApplicationData(d) => Some(d.to_vec()),
            _ => None,
        })
        .collect()
}

/// Runs a full handshake in memory and checks the common expectations.
fn handshake(a_kind: KeyType, b_kind: KeyType, a_role: DtlsRole) {
    let (ca, cb) = (cert(a_kind), cert(b_kind));
    let (mut a, mut b) = pair(&ca, &cb, a_role);
    let now = Instant::now();
    a.start(now);
    b.start(now);
    assert_eq!(a.state(), DtlsState::Connecting);
    let moved = pump(&mut a, &mut b, now, DEFAULT_MTU as usize);
    assert!(
        moved >= 4,
        "a handshake takes at least 4 datagrams, saw {moved}"
    );
    assert_eq!(a.state(), DtlsState::Connected, "{:?}", a.failure());
    assert_eq!(b.state(), DtlsState::Connected, "{:?}", b.failure());

    for (t, ev) in [(&mut a, None::<()>), (&mut b, None)] {
        let _ = ev;
        let evs = events(t);
        assert_eq!(
            &evs[..2],
            &[
                DtlsEvent::StateChanged(DtlsState::Connecting),
                DtlsEvent::StateChanged(DtlsState::Connected)
            ]
        );
        assert!(matches!(&evs[2], DtlsEvent::Connected { srtp: Some(_) }));
        assert_eq!(evs.len(), 3);
    }

    // SRTP keys agree: the client's local key is the server's remote key.
    let (ka, kb) = (
        a.srtp_keys().unwrap().clone(),
        b.srtp_keys().unwrap().clone(),
    );
    assert_eq!(ka.profile, SrtpProfile::AeadAes128Gcm); // first in the default order
    assert_eq!(ka.profile, kb.profile);
    assert_eq!(ka.local_key, kb.remote_key);
    assert_eq!(ka.local_salt, kb.remote_salt);
    assert_eq!(ka.remote_key, kb.local_key);
    assert_eq!(ka.remote_salt, kb.local_salt);
    assert_ne!(ka.local_key, ka.remote_key);
    assert_eq!((ka.local_key.len(), ka.local_salt.len()), (16, 12));

    // The peers saw each other's certificates.
    assert_eq!(a.remote_certificate(), Some(cb.certificate_der()));
    assert_eq!(b.remote_certificate(), Some(ca.certificate_der()));
    let suite = a.cipher_suite().unwrap();
    assert!(
        suite.starts_with("ECDHE-") && suite.contains("GCM"),
        "{suite}"
    );
    assert_eq!(a.cipher_suite(), b.cipher_suite());

    // Application data both ways.
    a.send(b"ping").unwrap();
    b.send(&[0xab; 1100]).unwrap();
    b.send(b"second").unwrap();
    pump(&mut a, &mut b, now, DEFAULT_MTU as usize);
    assert_eq!(app_data(&events(&mut b)), vec![b"ping".to_vec()]);
    assert_eq!(
        app_data(&events(&mut a)),
        vec![vec![0xab; 1100], b"second".to_vec()]
    );
}

#[test]
fn ecdsa_handshake_a_client() {
    handshake(KeyType::EcdsaP256, KeyType::EcdsaP256, DtlsRole::Client);
}

#[test]
fn ecdsa_handshake_a_server() {
    handshake(KeyType::EcdsaP256, KeyType::EcdsaP256, DtlsRole::Server);
}

#[test]
fn rsa_handshake_both_roles() {
    handshake(KeyType::Rsa2048, KeyType::Rsa2048, DtlsRole::Client);
    handshake(KeyType::Rsa2048, KeyType::Rsa2048, DtlsRole::Server);
}

#[test]
fn mixed_key_types() {
    handshake(KeyType::Rsa2048, KeyType::EcdsaP256, DtlsRole::Client);
    handshake(KeyType::EcdsaP256, KeyType::Rsa2048, DtlsRole::Client);
}

#[test]
fn server_starts_on_first_client_hello() {
    let (ca, cb) = (cert(KeyType::EcdsaP256), cert(KeyType::EcdsaP256));
    let (mut client, mut server) = pair(&ca, &cb, DtlsRole::Client);
    let now = Instant::now();
    client.start(now);
    // The server's application has not called start() yet.
    assert_eq!(server.state(), DtlsState::New);
    pump(&mut client, &mut server, now, DEFAULT_MTU as usize);
    assert_eq!(client.state(), DtlsState::Connected);
    assert_eq!(server.state(), DtlsState::Connected);
    server.start(now); // harmless now
    assert_eq!(server.state(), DtlsState::Connected);
}

#[test]
fn small_mtu_is_respected() {
    let (ca, cb) = (cert(KeyType::Rsa2048), cert(KeyType::Rsa2048));
    let mut a = DtlsTransport::new(DtlsConfig {
        mtu: 400,
        ..DtlsConfig::new(ca.clone(), DtlsRole::Client)
            .with_remote_fingerprint(cb.fingerprint(HashAlgorithm::Sha256))
    })
    .unwrap();
    let mut b = DtlsTransport::new(DtlsConfig {
        mtu: 400,
        ..DtlsConfig::new(cb, DtlsRole::Server)
            .with_remote_fingerprint(ca.fingerprint(HashAlgorithm::Sha256))
    })
    .unwrap();
    let now = Instant::now();
    a.start(now);
    let moved = pump(&mut a, &mut b, now, 400);
    assert!(
        moved > 8,
        "RSA flights must be fragmented at MTU 400 ({moved})"
    );
    assert_eq!(a.state(), DtlsState::Connected);
    assert_eq!(b.state(), DtlsState::Connected);
}

#[test]
fn srtp_profile_negotiation() {
    let (ca, cb) = (cert(KeyType::EcdsaP256), cert(KeyType::EcdsaP256));
    let run = |client_profiles: Vec<SrtpProfile>, server_profiles: Vec<SrtpProfile>| {
        let mut c = DtlsTransport::new(DtlsConfig {
            srtp_profiles: client_profiles,
            ..DtlsConfig::new(ca.clone(), DtlsRole::Client)
                .with_remote_fingerprint(cb.fingerprint(HashAlgorithm::Sha256))
        })
        .unwrap();
        let mut s = DtlsTransport::new(DtlsConfig {
            srtp_profiles: server_profiles,
            ..DtlsConfig::new(cb.clone(), DtlsRole::Server)
                .with_remote_fingerprint(ca.fingerprint(HashAlgorithm::Sha256))
        })
        .unwrap();
        let now = Instant::now();
        c.start(now);
        pump(&mut c, &mut s, now, 1200);
        assert_eq!(c.state(), DtlsState::Connected);
        assert_eq!(s.state(), DtlsState::Connected);
        (c.srtp_keys().cloned(), s.srtp_keys().cloned())
    };
    use SrtpProfile::*;
    for p in SrtpProfile::ALL {
        let (c, s) = run(vec![p], SrtpProfile::ALL.to_vec());
        let (c, s) = (c.unwrap(), s.unwrap());
        assert_eq!(c.profile, p);
        assert_eq!(c.local_key.len(), p.master_key_len());
        assert_eq!(c.local_salt.len(), p.master_salt_len());
        assert_eq!(c.local_key, s.remote_key);
        assert_eq!(c.remote_salt, s.local_salt);
    }
    // OpenSSL's server picks its own most preferred profile among those offered.
    let (c, _) = run(
        vec![Aes128CmHmacSha1_32, Aes128CmHmacSha1_80],
        vec![Aes128CmHmacSha1_80, Aes128CmHmacSha1_32],
    );
    assert_eq!(c.unwrap().profile, Aes128CmHmacSha1_80);
    let (c, _) = run(
        vec![Aes128CmHmacSha1_80, AeadAes256Gcm],
        SrtpProfile::ALL.to_vec(),
    );
    assert_eq!(c.unwrap().profile, AeadAes256Gcm);
    // No common profile, or SRTP not configured: a data-only connection.
    assert_eq!(
        run(vec![AeadAes256Gcm], vec![Aes128CmHmacSha1_80]),
        (None, None)
    );
    assert_eq!(run(vec![], SrtpProfile::ALL.to_vec()), (None, None));
    assert_eq!(run(SrtpProfile::ALL.to_vec(), vec![]), (None, None));
}

#[test]
fn send_requires_connected() {
    let (ca, cb) = (cert(KeyType::EcdsaP256), cert(KeyType::EcdsaP256));
    let (mut a, _b) = pair(&ca, &cb, DtlsRole::Client);
    assert_eq!(a.send(b"x"), Err(Error::NotConnected));
    a.start(Instant::now());
    assert_eq!(a.send(b"x"), Err(Error::NotConnected));
}

/// Drives a handshake where `client_fp`/`server_fp` are what each side
/// expects of the other; returns both transports (events not drained).
fn handshake_with(
    client_fp: Option<Fingerprint>,
    server_fp: Option<Fingerprint>,
    cc: &Certificate,
    sc: &Certificate,
) -> (DtlsTransport, DtlsTransport, Instant) {
    let mut c = DtlsTransport::new(DtlsConfig {
        remote_fingerprints: client_fp.into_iter().collect(),
        ..DtlsConfig::new(cc.clone(), DtlsRole::Client)
    })
    .unwrap();
    let mut s = DtlsTransport::new(DtlsConfig {
        remote_fingerprints: server_fp.into_iter().collect(),
        ..DtlsConfig::new(sc.clone(), DtlsRole::Server)
    })
    .unwrap();
    let now = Instant::now();
    c.start(now);
    s.start(now);
    pump(&mut c, &mut s, now, 1200);
    (c, s, now)
}

#[test]
fn fingerprint_mismatch_on_client() {
    let (cc, sc, other) = (
        cert(KeyType::EcdsaP256),
        cert(KeyType::EcdsaP256),
        cert(KeyType::EcdsaP256),
    );
    // The client expects some other certificate from the server.
    let (mut c, mut s, now) = handshake_with(
        Some(other.fingerprint(HashAlgorithm::Sha256)),
        Some(cc.fingerprint(HashAlgorithm::Sha256)),
        &cc,
        &sc,
    );
    assert_eq!(c.state(), DtlsState::Failed);
    assert_eq!(c.failure(), Some(&Error::FingerprintMismatch));
    let evs = events(&mut c);
    assert!(evs.contains(&DtlsEvent::Failed(Error::FingerprintMismatch)));
    assert_eq!(
        evs.last(),
        Some(&DtlsEvent::StateChanged(DtlsState::Failed))
    );
    assert!(!evs.iter().any(|e| matches!(e, DtlsEvent::Connected { .. })));
    assert!(c.srtp_keys().is_none());
    // The server verified the client (its fingerprint is right) and then got
    // the client's close_notify.
    assert_eq!(s.state(), DtlsState::Closed);
    // Whatever the server sends never reaches the client's application.
    assert_eq!(s.send(b"secret"), Err(Error::NotConnected));
    assert_eq!(c.send(b"x"), Err(Error::NotConnected));
    pump(&mut c, &mut s, now, 1200);
    assert!(app_data(&events(&mut c)).is_empty());
}

#[test]
fn fingerprint_mismatch_on_server_no_data_delivered() {
    let (cc, sc, other) = (
        cert(KeyType::EcdsaP256),
        cert(KeyType::EcdsaP256),
        cert(KeyType::EcdsaP256),
    );
    let mut c = DtlsTransport::new(
        DtlsConfig::new(cc.clone(), DtlsRole::Client)
            .with_remote_fingerprint(sc.fingerprint(HashAlgorithm::Sha256)),
    )
    .unwrap();
    let mut s = DtlsTransport::new(
        DtlsConfig::new(sc.clone(), DtlsRole::Server)
            .with_remote_fingerprint(other.fingerprint(HashAlgorithm::Sha384)),
    )
    .unwrap();
    let now = Instant::now();
    c.start(now);
    // Hand-drive so the client can send data before the server's close_notify
    // reaches it: flights 1..3, then hold the server's answer.
    let ch = c.poll_transmit().unwrap();
    s.handle_receive(now, &ch);
    while let Some(d) = s.poll_transmit() {
        c.handle_receive(now, &d);
    }
    let client_flight: Vec<_> = std::iter::from_fn(|| c.poll_transmit()).collect();
    for d in &client_flight {
        s.handle_receive(now, d);
    }
    // The server completed the handshake and rejected the client.
    assert_eq!(s.state(), DtlsState::Failed);
    assert_eq!(s.failure(), Some(&Error::FingerprintMismatch));
    let server_out: Vec<_> = std::iter::from_fn(|| s.poll_transmit()).collect();
    // Deliver the server's Finished (the client connects), but not yet the close_notify.
    let (finished, close) = server_out.split_at(server_out.len() - 1);
    for d in finished {
        c.handle_receive(now, d);
    }
    assert_eq!(c.state(), DtlsState::Connected);
    c.send(b"to an unverified server").unwrap();
    while let Some(d) = c.poll_transmit() {
        s.handle_receive(now, &d);
    }
    let evs = events(&mut s);
    assert!(
        app_data(&evs).is_empty(),
        "data delivered from an unverified peer"
    );
    assert!(evs.contains(&DtlsEvent::Failed(Error::FingerprintMismatch)));
    // Now the close_notify arrives.
    for d in close {
        c.handle_receive(now, d);
    }
    assert_eq!(c.state(), DtlsState::Closed);
}

#[test]
fn a_fingerprint_that_arrives_after_the_handshake_is_checked_then() {
    let (cc, sc) = (cert(KeyType::EcdsaP256), cert(KeyType::EcdsaP256));
    // The client finishes its handshake before it knows the server's
    // fingerprint (ICE early, answer late): it holds everything.
    let (mut c, mut s, now) =
        handshake_with(None, Some(cc.fingerprint(HashAlgorithm::Sha256)), &cc, &sc);
    assert_eq!(c.state(), DtlsState::Connecting);
    assert_eq!(c.failure(), None);
    assert!(!events(&mut c)
        .iter()
        .any(|e| matches!(e, DtlsEvent::Connected { .. })));
    assert_eq!(c.send(b"early"), Err(Error::NotConnected));
    // The server is connected and sends; nothing reaches the client's application yet.
    assert_eq!(s.state(), DtlsState::Connected);
    events(&mut s);
    s.send(b"before the answer").unwrap();
    pump(&mut c, &mut s, now, 1200);
    assert!(app_data(&events(&mut c)).is_empty());
    // The answer arrives: the right fingerprint connects and delivers what waited.
    c.set_remote_fingerprint(sc.fingerprint(HashAlgorithm::Sha256))
        .unwrap();
    assert_eq!(c.state(), DtlsState::Connected);
    let evs = events(&mut c);
    assert!(evs.iter().any(|e| matches!(e, DtlsEvent::Connected { .. })));
    assert_eq!(app_data(&evs), vec![b"before the answer".to_vec()]);

    // The same with a wrong fingerprint: the transport fails, nothing delivered.
    let (mut c, mut s, now) =
        handshake_with(None, Some(cc.fingerprint(HashAlgorithm::Sha256)), &cc, &sc);
    events(&mut s);
    s.send(b"secret").unwrap();
    pump(&mut c, &mut s, now, 1200);
    assert_eq!(
        c.set_remote_fingerprint(cc.fingerprint(HashAlgorithm::Sha256)),
        Err(Error::FingerprintMismatch)
    );
    assert_eq!(c.state(), DtlsState::Failed);
    assert!(app_data(&events(&mut c)).is_empty());
    // And on the server side.
    let (c, s, _) = handshake_with(Some(sc.fingerprint(HashAlgorithm::Sha256)), None, &cc, &sc);
    assert_eq!(s.state(), DtlsState::Connecting);
    assert_ne!(c.state(), DtlsState::Failed);
}

#[test]
fn fingerprint_set_during_handshake_with_other_hashes() {
    let (cc, sc) = (cert(KeyType::EcdsaP256), cert(KeyType::Rsa2048));
    let mut c = DtlsTransport::new(DtlsConfig::new(cc.clone(), DtlsRole::Client)).unwrap();
    let mut s = DtlsTransport::new(DtlsConfig::new(sc.clone(), DtlsRole::Server)).unwrap();
    let now = Instant::now();
    c.start(now);
    // One round: the answer (with the fingerprints) arrives mid-handshake.
    let ch = c.poll_transmit().unwrap();
    s.handle_receive(now, &ch);
    c.set_remote_fingerprint(sc.fingerprint(HashAlgorithm::Sha512))
        .unwrap();
    s.set_remote_fingerprint(
        // Parsed from SDP text, lower case.
        cc.fingerprint(HashAlgorithm::Sha1)
            .to_string()
            .to_lowercase()
            .parse()
            .unwrap(),
    )
    .unwrap();
    pump(&mut c, &mut s, now, 1200);
    assert_eq!(c.state(), DtlsState::Connected);
    assert_eq!(s.state(), DtlsState::Connected);
    // Re-setting the right fingerprint after connecting is fine; a wrong one fails.
    c.set_remote_fingerprint(sc.fingerprint(HashAlgorithm::Sha256))
        .unwrap();
    assert_eq!(c.state(), DtlsState::Connected);
    assert_eq!(
        c.set_remote_fingerprint(cc.fingerprint(HashAlgorithm::Sha256)),
        Err(Error::FingerprintMismatch)
    );
    assert_eq!(c.state(), DtlsState::Failed);
    pump(&mut c, &mut s, now, 1200);
    assert_eq!(s.state(), DtlsState::Closed);
}

/// aiortc lists sha-256, sha-384 and sha-512: the strongest decides (RFC
/// 8122 §5), so the handshake completes when it matches and fails when only a
/// weaker one does.
#[test]
fn several_fingerprints_strongest_decides() {
    let (cc, sc, other) = (
        cert(KeyType::EcdsaP256),
        cert(KeyType::EcdsaP256),
        cert(KeyType::EcdsaP256),
    );
    let all = |c: &Certificate| -> Vec<Fingerprint> {
        [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ]
        .into_iter()
        .map(|a| c.fingerprint(a))
        .collect()
    };
    let mut c = DtlsTransport::new(
        DtlsConfig::new(cc.clone(), DtlsRole::Client).with_remote_fingerprints(&all(&sc)),
    )
    .unwrap();
    let mut s = DtlsTransport::new(
        DtlsConfig::new(sc.clone(), DtlsRole::Server).with_remote_fingerprints(&all(&cc)),
    )
    .unwrap();
    let now = Instant::now();
    c.start(now);
    s.start(now);
    pump(&mut c, &mut s, now, 1200);
    assert_eq!(c.state(), DtlsState::Connected);
    assert_eq!(s.state(), DtlsState::Connected);
    assert_eq!(c.remote_fingerprints(), &all(&sc)[..]);

    // Right sha-256 and sha-384, wrong sha-512: refused.
    let mut forged = all(&sc);
    forged[2] = other.fingerprint(HashAlgorithm::Sha512);
    let mut c = DtlsTransport::new(
        DtlsConfig::new(cc.clone(), DtlsRole::Client).with_remote_fingerprints(&forged),
    )
    .unwrap();
    let mut s = DtlsTransport::new(
        DtlsConfig::new(sc.clone(), DtlsRole::Server).with_remote_fingerprints(&all(&cc)),
    )
    .unwrap();
    c.start(now);
    s.start(now);
    pump(&mut c, &mut s, now, 1200);
    assert_eq!(c.failure(), Some(&Error::FingerprintMismatch));

    // Two sha-256 fingerprints (two certificates listed): either may match.
    let two = [
        other.fingerprint(HashAlgorithm::Sha256),
        sc.fingerprint(HashAlgorithm::Sha256),
    ];
    let mut c = DtlsTransport::new(
        DtlsConfig::new(cc.clone(), DtlsRole::Client).with_remote_fingerprints(&two),
    )
    .unwrap();
    let mut s = DtlsTransport::new(
        DtlsConfig::new(sc, DtlsRole::Server).with_remote_fingerprints(&all(&cc)),
    )
    .unwrap();
    c.start(now);
    s.start(now);
    pump(&mut c, &mut s, now, 1200);
    assert_eq!(c.state(), DtlsState::Connected);
}

#[test]
fn role_resolution() {
    use Setup::*;
    assert_eq!(
        DtlsRole::from_setup(ActPass, Active).unwrap(),
        DtlsRole::Server
    );
    assert_eq!(
        DtlsRole::from_setup(ActPass, Passive).unwrap(),
        DtlsRole::Client
    );
    assert_eq!(
        DtlsRole::from_setup(Active, ActPass).unwrap(),
        DtlsRole::Client
    );
    assert_eq!(
        DtlsRole::from_setup(Passive, ActPass).unwrap(),
        DtlsRole::Server
    );
    assert_eq!(
        DtlsRole::from_setup(Active, Passive).unwrap(),
        DtlsRole::Client
    );
    assert_eq!(
        DtlsRole::from_setup(Passive, Active).unwrap(),
        DtlsRole::Server
    );
    for (l, r) in [(Active, Active), (Passive, Passive), (ActPass, ActPass)] {
        assert!(matches!(
            DtlsRole::from_setup(l, r),
            Err(Error::RoleConflict(_))
        ));
    }
    assert_eq!("passive".parse::<Setup>().unwrap(), Passive);
}

#[test]
fn close_notify_closes_the_peer() {
    let (ca, cb) = (cert(KeyType::EcdsaP256), cert(KeyType::EcdsaP256));
    let (mut a, mut b) = pair(&ca, &cb, DtlsRole::Server);
    let now = Instant::now();
    a.start(now);
    b.start(now);
    pump(&mut a, &mut b, now, 1200);
    events(&mut a);
    events(&mut b);
    a.close(now);
    assert_eq!(a.state(), DtlsState::Closed);
    assert_eq!(
        events(&mut a),
        vec![DtlsEvent::StateChanged(DtlsState::Closed)]
    );
    assert!(a.poll_timeout().is_none());
    pump(&mut a, &mut b, now, 1200);
    assert_eq!(b.state(), DtlsState::Closed);
    assert_eq!(
        events(&mut b),
        vec![DtlsEvent::StateChanged(DtlsState::Closed)]
    );
    assert_eq!(a.send(b"x"), Err(Error::NotConnected));
    assert_eq!(b.send(b"x"), Err(Error::NotConnected));
    // Closing twice, or input after closing, is harmless.
    a.close(now);
    b.handle_receive(now, &[23, 0xfe, 0xfd, 0, 1]);
    assert!(events(&mut a).is_empty() && events(&mut b).is_empty());
}

#[test]
fn junk_is_ignored() {
    let (ca, cb) = (cert(KeyType::EcdsaP256), cert(KeyType::EcdsaP256));
    let (mut c, mut s) = pair(&ca, &cb, DtlsRole::Client);
    let now = Instant::now();
    c.start(now);
    // Not DTLS by the first byte: ignored without starting anything.
    s.handle_receive(now, &[0x00, 0x01, 0x00, 0x00]);
    s.handle_receive(now, &[0x80; 40]);
    s.handle_receive(now, &[]);
    assert_eq!(s.state(), DtlsState::New);
    // DTLS by the first byte but not a valid record (truncated header, bad
    // version): OpenSSL drops them silently, the handshake still works.
    for junk in [&[22u8][..], &[23; 100], &[22, 0x03, 0x01, 0, 0]] {
        s.handle_receive(now, junk);
        c.handle_receive(now, junk);
    }
    assert_eq!(s.failure(), None);
    assert_eq!(c.failure(), None);
    pump(&mut c, &mut s, now, 1200);
    assert_eq!(c.state(), DtlsState::Connected);
    assert_eq!(s.state(), DtlsState::Connected);
}

#[test]
fn malformed_handshake_message_fails_cleanly() {
    // A well-framed epoch-0 handshake record carrying a bogus message is a
    // protocol violation: OpenSSL aborts the handshake (no panic, a typed error).
    let (ca, cb) = (cert(KeyType::EcdsaP256), cert(KeyType::EcdsaP256));
    let (mut c, mut s) = pair(&ca, &cb, DtlsRole::Client);
    let now = Instant::now();
    c.start(now);
    let bogus = [22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5];
    s.handle_receive(now, &bogus);
    assert_eq!(s.state(), DtlsState::Failed);
    assert!(matches!(s.failure(), Some(Error::Handshake(_))));
    // OpenSSL's reason is kept as the error's source, and the peer caused it.
    let failure = s.failure().unwrap();
    assert!(std::error::Error::source(failure).is_some(), "{failure}");
    assert!(failure.is_peer_fault());
    let evs = events(&mut s);
    assert!(
        matches!(
            evs.as_slice(),
            [
                DtlsEvent::StateChanged(DtlsState::Connecting),
                DtlsEvent::Failed(Error::Handshake(_)),
                DtlsEvent::StateChanged(DtlsState::Failed)
            ]
        ),
        "{evs:?}"
    );
}

#[test]
fn timer_is_surfaced() {
    let (ca, cb) = (cert(KeyType::EcdsaP256), cert(KeyType::EcdsaP256));
    let (mut c, mut s) = pair(&ca, &cb, DtlsRole::Client);
    let now = Instant::now();
    assert_eq!(c.poll_timeout(), None);
    c.start(now);
    let t = c.poll_timeout().expect("client retransmission timer");
    // The first timeout is 100 ms (OpenSSL's own default would be 1 s).
    assert_eq!(INITIAL_RETRANSMIT_TIMEOUT, Duration::from_millis(100));
    assert!(
        t > now + Duration::from_millis(80) && t <= now + INITIAL_RETRANSMIT_TIMEOUT,
        "{:?}",
        t - now
    );
    // Early handle_timeout: nothing retransmitted.
    let _hello = c.poll_transmit().unwrap();
    c.handle_timeout(now);
    assert!(c.poll_transmit().is_none());
    // After the deadline (real time), the ClientHello is sent again.
    std::thread::sleep(t.saturating_duration_since(Instant::now()) + Duration::from_millis(20));
    c.handle_timeout(Instant::now());
    let again = c.poll_transmit().expect("retransmitted ClientHello");
    assert_eq!(again[0], 22);
    s.handle_receive(Instant::now(), &again);
    pump(&mut c, &mut s, Instant::now(), 1200);
    assert_eq!(c.state(), DtlsState::Connected);
}

/// A tiny seeded PRNG (SplitMix64), so the impairments replay exactly.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// One direction of an impaired path: 20 % loss, 10 % duplication, 20 %
/// reordering (a datagram is held back and delivered after the next one).
struct Path {
    held: Vec<Vec<u8>>,
    sent: usize,
    dropped: usize,
    duplicated: usize,
    reordered: usize,
}

impl Path {
    fn new() -> Self {
        Path {
            held: Vec::new(),
            sent: 0,
            dropped: 0,
            duplicated: 0,
            reordered: 0,
        }
    }

    /// Takes what `from` sends and delivers what survives to `to`.
    fn carry(
        &mut self,
        rng: &mut Rng,
        from: &mut DtlsTransport,
        to: &mut DtlsTransport,
        now: Instant,
    ) {
        let mut out = Vec::new();
        while let Some(d) = from.poll_transmit() {
            self.sent += 1;
            if rng.chance(0.2) {
                self.dropped += 1;
                continue;
            }
            if rng.chance(0.2) {
                self.reordered += 1;
                self.held.push(d.to_vec());
                continue;
            }
            out.push(d.to_vec());
            if rng.chance(0.1) {
                self.duplicated += 1;
                out.push(d.to_vec());
            }
            // Held datagrams go out after a newer one.
            out.append(&mut self.held);
        }
        for d in out {
            to.handle_receive(now, &d);
        }
    }

    /// Held datagrams are not kept forever: release them at a timeout.
    fn release(&mut self, to: &mut DtlsTransport, now: Instant) {
        for d in self.held.drain(..) {
            to.handle_receive(now, &d);
        }
    }
}

#[test]
fn handshake_survives_loss_reordering_and_duplication() {
    // Real time: OpenSSL's retransmission timer reads the clock. Seeds are
    // fixed, so the loss pattern replays (which datagrams a retransmission
    // carries depends on timing, so the exact counts may vary); the run takes
    // about a second.
    let (ca, cb) = (cert(KeyType::EcdsaP256), cert(KeyType::EcdsaP256));
    let mut total = Duration::ZERO;
    let (mut impairments, mut dropped) = (0, 0);
    for seed in [1u64, 2, 3, 6, 7, 8].map(|i| 0x5eed_0000 + i) {
        let (mut c, mut s) = pair(&ca, &cb, DtlsRole::Client);
        let mut rng = Rng(seed);
        let (mut c2s, mut s2c) = (Path::new(), Path::new());
        let start = Instant::now();
        c.start(start);
        s.start(start);
        let mut timeouts = 0;
        loop {
            let now = Instant::now();
            c2s.carry(&mut rng, &mut c, &mut s, now);
            s2c.carry(&mut rng, &mut s, &mut c, now);
            if c.state() == DtlsState::Connected && s.state() == DtlsState::Connected {
                break;
            }
            assert!(
                !matches!(c.state(), DtlsState::Failed) && !matches!(s.state(), DtlsState::Failed),
                "{:?} {:?}",
                c.failure(),
                s.failure()
            );
            assert!(
                now - start < Duration::from_secs(3),
                "handshake did not complete in 3 s"
            );
            // Sleep (really) until the earliest retransmission deadline.
            let next = [c.poll_timeout(), s.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else {
                // Nothing scheduled (e.g. the server waits): release held ones.
                c2s.release(&mut s, now);
                s2c.release(&mut c, now);
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            let wait = next.saturating_duration_since(Instant::now());
            std::thread::sleep(wait.min(Duration::from_millis(100)));
            let now = Instant::now();
            if now >= next {
                timeouts += 1;
                c2s.release(&mut s, now);
                s2c.release(&mut c, now);
                c.handle_timeout(now);
                s.handle_timeout(now);
            }
        }
        let took = start.elapsed();
        total += took;
        eprintln!(
            "seed {seed:#x}: connected in {took:?}, {timeouts} timer expiries; c→s sent {} dropped {} dup {} reordered {}; s→c sent {} dropped {} dup {} reordered {}",
            c2s.sent, c2s.dropped, c2s.duplicated, c2s.reordered, s2c.sent, s2c.dropped, s2c.duplicated, s2c.reordered
        );
        impairments += c2s.dropped + s2c.dropped + c2s.reordered + s2c.reordered;
        dropped += c2s.dropped + s2c.dropped;
        // SRTP keys still agree, and data flows (over a clean path now).
        assert_eq!(
            c.srtp_keys().unwrap().local_key,
            s.srtp_keys().unwrap().remote_key
        );
        c.send(b"after the storm").unwrap();
        let now = Instant::now();
        pump(&mut c, &mut s, now, 1200);
        assert!(app_data(&events(&mut s)).contains(&b"after the storm".to_vec()));
    }
    assert!(
        dropped >= 4 && impairments >= 8,
        "the seeds should exercise the impairments"
    );
    // Each lost flight costs 100 ms, 200 ms, 400 ms… (about 1 s for all six
    // seeds, each of which needs at least one timer expiry). With OpenSSL's
    // default 1 s timer the six seeds would take at least 6 s.
    assert!(total < Duration::from_secs(4), "{total:?}");
}

/// Drops the client's first flight (its ClientHello, one datagram) `drops`
/// times, then runs the handshake over a clean path in real time (OpenSSL's
/// timer reads the real clock). Returns how long the handshake took and how
/// many times the retransmission deadline was serviced.
fn handshake_losing_client_hello(drops: u32) -> (Duration, u32) {
    let (ca, cb) = (cert(KeyType::EcdsaP256), cert(KeyType::EcdsaP256));
    let (mut c, mut s) = pair(&ca, &cb, DtlsRole::Client);
    let start = Instant::now();
    c.start(start);
    s.start(start);
    let mut dropped = 0;
    let mut timeouts = 0;
    loop {
        while dropped < drops {
            let Some(lost) = c.poll_transmit() else { break };
            assert_eq!(lost[0], 22, "a handshake record");
            assert!(
                c.poll_transmit().is_none(),
                "the first flight is one datagram"
            );
            dropped += 1;
        }
        pump(&mut c, &mut s, Instant::now(), 1200);
        if c.state() == DtlsState::Connected && s.state() == DtlsState::Connected {
            assert_eq!(dropped, drops);
            return (start.elapsed(), timeouts);
        }
        assert_eq!(c.failure(), None);
        assert_eq!(s.failure(), None);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no handshake in 5 s"
        );
        let next = [c.poll_timeout(), s.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .expect("the client's retransmission timer runs");
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        let now = Instant::now();
        c.handle_timeout(now);
        s.handle_timeout(now);
        timeouts += 1;
    }
}

#[test]
fn lost_client_hello_is_retransmitted_quickly() {
    // With OpenSSL's default timer this takes 1 s; ours retransmits after
    // 100 ms. 600 ms leaves room for a loaded machine (the handshake itself
    // takes a few ms), and still fails if the callback is not installed.
    let (took, timeouts) = handshake_losing_client_hello(1);
    eprintln!("ClientHello lost once: connected in {took:?} ({timeouts} timer wake-ups)");
    assert!(
        took >= Duration::from_millis(80),
        "{took:?}: nothing was lost?"
    );
    assert!(took < Duration::from_millis(600), "{took:?}");
    // Lost twice: 100 ms, then the doubled 200 ms (OpenSSL: 1 s + 2 s).
    let (took, timeouts) = handshake_losing_client_hello(2);
    eprintln!("ClientHello lost twice: connected in {took:?} ({timeouts} timer wake-ups)");
    assert!(took >= Duration::from_millis(250), "{took:?}: no doubling?");
    assert!(took < Duration::from_millis(900), "{took:?}");
}
