//! Arbitrary datagrams through the receive path of a WebRTC transport:
//! RFC 7983 demultiplexing, then DTLS records into a server-side
//! DtlsTransport and SRTP/SRTCP packets into unprotect, for an AES-CM and an
//! AES-GCM session. Nothing may panic; nothing unauthenticated may be accepted.
//!
//! The input is split into datagrams: a length byte, then that many bytes.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use dtls_transport::certificate::{Certificate, KeyType};
use dtls_transport::dtls::{DtlsConfig, DtlsEvent, DtlsRole, DtlsTransport};
use dtls_transport::srtp::{SrtpConfig, SrtpProfile, SrtpSession};
use ice::stun::{classify, PacketKind};
use libfuzzer_sys::fuzz_target;

fn certificate() -> &'static Certificate {
    static CERT: OnceLock<Certificate> = OnceLock::new();
    CERT.get_or_init(|| Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400)).expect("certificate"))
}

fn session(profile: SrtpProfile) -> SrtpSession {
    let key = vec![7u8; profile.master_key_len()];
    let salt = vec![9u8; profile.master_salt_len()];
    SrtpSession::new(profile, &key, &salt, &key, &salt, SrtpConfig::default()).expect("session")
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    // Our own certificate's fingerprint as the "peer's": no fuzz input can present it.
    let config = DtlsConfig::new(certificate().clone(), DtlsRole::Server)
        .with_remote_fingerprint(certificate().fingerprint(Default::default()));
    let Ok(mut dtls) = DtlsTransport::new(config) else { return };
    let mut cm = session(SrtpProfile::Aes128CmHmacSha1_80);
    let mut gcm = session(SrtpProfile::AeadAes128Gcm);
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let take = (len as usize).min(tail.len());
        let (datagram, tail) = tail.split_at(take);
        rest = tail;
        match classify(datagram) {
            PacketKind::Dtls => dtls.handle_receive(now, datagram),
            PacketKind::Rtp => {
                let mut a = datagram.to_vec();
                let mut b = datagram.to_vec();
                // Random bytes never authenticate.
                assert!(cm.unprotect_rtp(&mut a).is_err());
                assert!(gcm.unprotect_rtp(&mut b).is_err());
            }
            PacketKind::Rtcp => {
                let mut a = datagram.to_vec();
                let mut b = datagram.to_vec();
                assert!(cm.unprotect_rtcp(&mut a).is_err());
                assert!(gcm.unprotect_rtcp(&mut b).is_err());
            }
            _ => {}
        }
        while dtls.poll_transmit().is_some() {}
        while let Some(ev) = dtls.poll_event() {
            // No handshake can complete against random bytes: no data, no keys.
            assert!(!matches!(ev, DtlsEvent::ApplicationData(_) | DtlsEvent::Connected { .. }));
        }
    }
});
