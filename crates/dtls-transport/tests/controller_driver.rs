//! Two TransportController drivers in one process, on real UDP sockets bound
//! to 127.0.0.1 only: gathering on every transport (including one added after
//! gathering started), candidates signalled by transport name, fingerprints,
//! ICE then DTLS to `Connected`, application data over DTLS and SRTP/SRTCP
//! media both ways on each transport; a wrong fingerprint fails the connection
//! and nothing from the unverified peer is delivered.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use dtls_transport::certificate::{Certificate, KeyType};
use dtls_transport::controller::{ControllerConfig, ControllerEvent, PeerConnectionState};
use dtls_transport::driver::{AsyncTransportController, DriverConfig, TransportHandle};
use dtls_transport::dtls::DtlsRole;
use dtls_transport::Error;
use ice::network::NetworkFilter;
use ice::{IceConfig, IceRole};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(20);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn certificate() -> Certificate {
    Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400)).unwrap()
}

fn driver(role: IceRole) -> AsyncTransportController {
    let ice = IceConfig {
        role,
        ..Default::default()
    };
    let mut config = DriverConfig::new(ControllerConfig::new(certificate(), ice));
    config.networks = NetworkFilter::only(&[LOOPBACK]);
    AsyncTransportController::new(config).unwrap()
}

/// Forwards `from`'s candidates to `to` by transport name until every transport
/// in `names` has ended gathering; returns the (transport, candidate address) seen.
async fn signal_candidates(
    from: &AsyncTransportController,
    to: &AsyncTransportController,
    names: &[&str],
) -> Vec<(String, std::net::SocketAddr)> {
    let mut ended = BTreeSet::new();
    let mut seen = Vec::new();
    while ended.len() < names.len() {
        let event = timeout(WAIT, from.next_event())
            .await
            .expect("gathering finishes")
            .expect("driver alive");
        match event {
            ControllerEvent::Candidate {
                transport,
                candidate,
            } => {
                seen.push((transport.clone(), candidate.socket_addr().unwrap()));
                to.add_remote_candidate(&transport, candidate)
                    .await
                    .unwrap();
            }
            ControllerEvent::EndOfCandidates { transport } => {
                assert!(names.contains(&transport.as_str()), "unknown {transport}");
                to.end_of_remote_candidates(&transport).await.unwrap();
                ended.insert(transport);
            }
            _ => {}
        }
    }
    seen
}

async fn recv_data(t: &TransportHandle) -> Vec<u8> {
    timeout(WAIT, t.recv_data())
        .await
        .expect("data arrives")
        .unwrap()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_drivers_connect_on_loopback_and_exchange_data_and_srtp_both_ways() {
    let a = driver(IceRole::Controlling);
    let b = driver(IceRole::Controlled);
    assert_eq!(a.state(), PeerConnectionState::New);

    // "audio" exists before gathering starts, "video" is added afterwards and
    // must gather on its own (MaybeStartGathering).
    let audio_a = a.add_transport("audio", DtlsRole::Client).await.unwrap();
    let audio_b = b.add_transport("audio", DtlsRole::Server).await.unwrap();
    a.start_gathering().await.unwrap();
    b.start_gathering().await.unwrap();
    let video_a = a.add_transport("video", DtlsRole::Server).await.unwrap();
    let video_b = b.add_transport("video", DtlsRole::Client).await.unwrap();
    // Adding a name twice hands back the same transport.
    assert_eq!(
        a.add_transport("video", DtlsRole::Server)
            .await
            .unwrap()
            .local_credentials(),
        video_a.local_credentials()
    );

    for name in ["audio", "video"] {
        a.set_remote_fingerprint(name, b.local_fingerprint())
            .await
            .unwrap();
        b.set_remote_fingerprint(name, a.local_fingerprint())
            .await
            .unwrap();
    }
    for (ta, tb) in [(&audio_a, &audio_b), (&video_a, &video_b)] {
        a.set_remote_credentials(ta.name(), tb.local_credentials().clone())
            .await
            .unwrap();
        b.set_remote_credentials(tb.name(), ta.local_credentials().clone())
            .await
            .unwrap();
    }
    let names = ["audio", "video"];
    let (from_a, from_b) = tokio::join!(
        signal_candidates(&a, &b, &names),
        signal_candidates(&b, &a, &names)
    );
    for seen in [&from_a, &from_b] {
        // Host candidates on 127.0.0.1 only, for both transports, with different sockets.
        let tags: BTreeSet<&str> = seen.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(tags, BTreeSet::from(["audio", "video"]));
        assert!(
            seen.iter().all(|(_, addr)| addr.ip() == LOOPBACK),
            "{seen:?}"
        );
        let addrs: BTreeSet<_> = seen.iter().map(|(_, addr)| *addr).collect();
        assert_eq!(addrs.len(), seen.len(), "one socket per transport");
    }

    timeout(WAIT, a.connected()).await.unwrap().unwrap();
    timeout(WAIT, b.connected()).await.unwrap().unwrap();
    assert_eq!(a.state(), PeerConnectionState::Connected);
    assert_eq!(b.state(), PeerConnectionState::Connected);

    // DTLS verified each transport, with DTLS-SRTP keys.
    let mut dtls_connected = BTreeSet::new();
    while let Some(event) = a.try_next_event() {
        if let ControllerEvent::DtlsConnected {
            transport,
            component,
            srtp_profile,
        } = event
        {
            assert_eq!(component, 1);
            assert!(srtp_profile.is_some(), "DTLS-SRTP for {transport}");
            dtls_connected.insert(transport);
        }
    }
    assert_eq!(
        dtls_connected,
        BTreeSet::from(["audio".into(), "video".into()])
    );

    // Application data over DTLS, both ways, kept apart per transport.
    audio_a.send_data(b"audio a->b").await.unwrap();
    video_a.send_data(b"video a->b").await.unwrap();
    audio_b.send_data(b"audio b->a").await.unwrap();
    video_b.send_data(b"video b->a").await.unwrap();
    assert_eq!(recv_data(&audio_b).await, b"audio a->b");
    assert_eq!(recv_data(&video_b).await, b"video a->b");
    assert_eq!(recv_data(&audio_a).await, b"audio b->a");
    assert_eq!(recv_data(&video_a).await, b"video b->a");

    // SRTP and SRTCP, both ways: what arrives is the plain packet again, which
    // only happens if the receiver authenticated and decrypted it.
    let rtp = |seq: u8, ssrc: u8| {
        let mut p = vec![0x80, 96, 0, seq, 0, 0, 0, 160, 0, 0, 0, ssrc];
        p.extend_from_slice(&[0x5a; 100]);
        p
    };
    let rtcp = |ssrc: u8| {
        vec![
            0x80, 200, 0, 6, 0, 0, 0, ssrc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0,
        ]
    };
    for (from, to, ssrc) in [
        (&audio_a, &audio_b, 1u8),
        (&audio_b, &audio_a, 2),
        (&video_a, &video_b, 3),
        (&video_b, &video_a, 4),
    ] {
        for seq in 1..=3 {
            from.send_rtp(rtp(seq, ssrc)).await.unwrap();
        }
        from.send_rtcp(rtcp(ssrc)).await.unwrap();
        let mut got_rtp = Vec::new();
        let mut got_rtcp = Vec::new();
        while got_rtp.len() < 3 || got_rtcp.is_empty() {
            let m = timeout(WAIT, to.recv_media())
                .await
                .expect("media arrives")
                .unwrap();
            if m.rtcp {
                got_rtcp.push(m.packet.to_vec());
            } else {
                got_rtp.push(m.packet.to_vec());
            }
        }
        got_rtp.sort();
        assert_eq!(got_rtp, vec![rtp(1, ssrc), rtp(2, ssrc), rtp(3, ssrc)]);
        assert_eq!(got_rtcp, vec![rtcp(ssrc)]);
        assert_eq!(to.srtp_errors(), 0);
        assert_eq!(from.send_errors(), 0);
    }
    // A packet too short to be RTP is refused before it is sent.
    assert!(matches!(
        audio_a.send_rtp(vec![0x80, 96]).await,
        Err(Error::PacketTooShort)
    ));

    a.close().await.unwrap();
    assert_eq!(a.state(), PeerConnectionState::Closed);
    // Nothing is sent after close: refused at the handle, without a round trip.
    assert!(audio_a.send_rtp(rtp(9, 1)).await.is_err());
    assert!(matches!(
        audio_a.send_data(b"after close").await,
        Err(Error::Closed)
    ));
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fingerprint_mismatch_over_real_sockets_fails() {
    let a = driver(IceRole::Controlling);
    let b = driver(IceRole::Controlled);
    let ta = a.add_transport("0", DtlsRole::Client).await.unwrap();
    let tb = b.add_transport("0", DtlsRole::Server).await.unwrap();
    a.set_remote_fingerprint("0", b.local_fingerprint())
        .await
        .unwrap();
    // b expects another certificate than the one a presents.
    let wrong = certificate().fingerprint(Default::default());
    assert_ne!(wrong, a.local_fingerprint());
    b.set_remote_fingerprint("0", wrong).await.unwrap();
    a.set_remote_credentials("0", tb.local_credentials().clone())
        .await
        .unwrap();
    b.set_remote_credentials("0", ta.local_credentials().clone())
        .await
        .unwrap();
    a.start_gathering().await.unwrap();
    b.start_gathering().await.unwrap();
    tokio::join!(
        signal_candidates(&a, &b, &["0"]),
        signal_candidates(&b, &a, &["0"])
    );

    let result = timeout(WAIT, b.connected()).await.expect("b settles");
    assert_eq!(result, Err(Error::FingerprintMismatch));
    assert_eq!(b.state(), PeerConnectionState::Failed);
    let mut failed = false;
    while let Some(event) = b.try_next_event() {
        assert!(
            !matches!(event, ControllerEvent::DtlsConnected { .. }),
            "b never verifies a"
        );
        if let ControllerEvent::DtlsFailed {
            transport, error, ..
        } = event
        {
            assert_eq!(
                (transport.as_str(), error),
                ("0", Error::FingerprintMismatch)
            );
            failed = true;
        }
    }
    assert!(failed, "DtlsFailed reported");

    // Whatever a managed to send, b delivers nothing from the unverified peer.
    let _ = ta.send_data(b"unverified").await;
    let _ = ta
        .send_rtp(vec![0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3])
        .await;
    assert!(timeout(Duration::from_millis(300), tb.recv_data())
        .await
        .is_err());
    assert!(timeout(Duration::from_millis(100), tb.recv_media())
        .await
        .is_err());
    // The failed side refuses to send too.
    assert_eq!(tb.send_data(b"to a").await, Err(Error::NotConnected));
    assert_eq!(
        tb.send_rtp(vec![0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9])
            .await,
        Err(Error::NotConnected)
    );
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_rtcp_mux_both_components_get_dtls_srtp_and_carry_media() {
    let a = driver(IceRole::Controlling);
    let b = driver(IceRole::Controlled);
    a.start_gathering().await.unwrap();
    b.start_gathering().await.unwrap();
    let ta = a
        .add_transport_without_rtcp_mux("0", DtlsRole::Client)
        .await
        .unwrap();
    let tb = b
        .add_transport_without_rtcp_mux("0", DtlsRole::Server)
        .await
        .unwrap();
    a.set_remote_fingerprint("0", b.local_fingerprint())
        .await
        .unwrap();
    b.set_remote_fingerprint("0", a.local_fingerprint())
        .await
        .unwrap();
    a.set_remote_credentials("0", tb.local_credentials().clone())
        .await
        .unwrap();
    b.set_remote_credentials("0", ta.local_credentials().clone())
        .await
        .unwrap();
    let (from_a, _) = tokio::join!(
        signal_candidates(&a, &b, &["0"]),
        signal_candidates(&b, &a, &["0"])
    );
    assert_eq!(from_a.len(), 2, "one candidate per component: {from_a:?}");
    timeout(WAIT, a.connected()).await.unwrap().unwrap();
    timeout(WAIT, b.connected()).await.unwrap().unwrap();
    let mut components = BTreeSet::new();
    while let Some(event) = b.try_next_event() {
        if let ControllerEvent::DtlsConnected {
            component,
            srtp_profile,
            ..
        } = event
        {
            assert!(srtp_profile.is_some());
            components.insert(component);
        }
    }
    assert_eq!(components, BTreeSet::from([1, 2]));
    let rtcp = [
        0x81u8, 201, 0, 7, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0,
    ];
    let rtp = [0x80u8, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 5, 1, 2, 3, 4];
    for (from, to) in [(&ta, &tb), (&tb, &ta)] {
        from.send_rtcp(rtcp.to_vec()).await.unwrap();
        from.send_rtp(rtp.to_vec()).await.unwrap();
        let mut got = Vec::new();
        while got.len() < 2 {
            let m = timeout(WAIT, to.recv_media())
                .await
                .expect("media")
                .unwrap();
            got.push((m.rtcp, m.packet.to_vec()));
        }
        got.sort();
        assert_eq!(got, vec![(false, rtp.to_vec()), (true, rtcp.to_vec())]);
        assert_eq!(to.srtp_errors(), 0);
    }
    a.close().await.unwrap();
    b.close().await.unwrap();
}
