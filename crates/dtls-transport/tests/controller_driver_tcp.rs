//! The TransportController driver over ICE-TCP (RFC 6544) on 127.0.0.1:
//! only TCP candidates are signalled, so ICE must connect over connections
//! the active sides open, DTLS must handshake over RFC 4571 frames, and
//! SRTP/SRTCP must flow on them. The transport has no rtcp-mux, so its two
//! components keep separate connections although their active candidates
//! share one base (the IP with port 9).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use dtls_transport::certificate::{Certificate, KeyType};
use dtls_transport::controller::{ControllerConfig, ControllerEvent, PeerConnectionState};
use dtls_transport::driver::{AsyncTransportController, DriverConfig};
use dtls_transport::dtls::DtlsRole;
use ice::network::NetworkFilter;
use ice::{IceConfig, IceRole, TransportProtocol};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(20);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn driver(role: IceRole) -> AsyncTransportController {
    let certificate =
        Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400)).unwrap();
    let ice = IceConfig {
        role,
        ..Default::default()
    };
    let mut config = DriverConfig::new(ControllerConfig::new(certificate, ice));
    config.networks = NetworkFilter::only(&[LOOPBACK]);
    config.tcp = true;
    AsyncTransportController::new(config).unwrap()
}

/// Forwards `from`'s TCP candidates to `to` until gathering ends; returns
/// the (component, TCP type) of each.
async fn signal_tcp_only(
    from: &AsyncTransportController,
    to: &AsyncTransportController,
) -> BTreeSet<(u16, String)> {
    let mut seen = BTreeSet::new();
    loop {
        let event = timeout(WAIT, from.next_event())
            .await
            .expect("gathering finishes")
            .expect("driver alive");
        match event {
            ControllerEvent::Candidate {
                transport,
                candidate,
            } if candidate.transport == TransportProtocol::Tcp => {
                let tcp_type = format!("{:?}", candidate.tcp_type);
                seen.insert((candidate.component, tcp_type));
                to.add_remote_candidate(&transport, candidate)
                    .await
                    .unwrap();
            }
            ControllerEvent::EndOfCandidates { transport } => {
                to.end_of_remote_candidates(&transport).await.unwrap();
                return seen;
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dtls_and_srtp_over_ice_tcp_on_both_components() {
    let a = driver(IceRole::Controlling);
    let b = driver(IceRole::Controlled);
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
    a.start_gathering().await.unwrap();
    b.start_gathering().await.unwrap();
    let (from_a, from_b) = tokio::join!(signal_tcp_only(&a, &b), signal_tcp_only(&b, &a));
    for seen in [&from_a, &from_b] {
        // A passive and an active candidate per component.
        assert_eq!(seen.len(), 4, "{seen:?}");
    }

    timeout(WAIT, a.connected()).await.unwrap().unwrap();
    timeout(WAIT, b.connected()).await.unwrap().unwrap();
    assert_eq!(a.state(), PeerConnectionState::Connected);

    // DTLS over TCP: application data both ways.
    ta.send_data(b"over tcp a->b").await.unwrap();
    tb.send_data(b"over tcp b->a").await.unwrap();
    let got = timeout(WAIT, tb.recv_data()).await.unwrap().unwrap();
    assert_eq!(&got[..], b"over tcp a->b");
    let got = timeout(WAIT, ta.recv_data()).await.unwrap().unwrap();
    assert_eq!(&got[..], b"over tcp b->a");

    // SRTP on component 1, SRTCP on component 2, each over its own connection.
    let rtp = |seq: u8| {
        let mut p = vec![0x80, 96, 0, seq, 0, 0, 0, 160, 0, 0, 0, 7];
        p.extend_from_slice(&[0x5a; 200]);
        p
    };
    let rtcp = vec![0x80, 201, 0, 1, 0, 0, 0, 7];
    for (from, to) in [(&ta, &tb), (&tb, &ta)] {
        for seq in 1..=5 {
            from.send_rtp(rtp(seq)).await.unwrap();
        }
        from.send_rtcp(rtcp.clone()).await.unwrap();
        let mut got_rtp = Vec::new();
        let mut got_rtcp = Vec::new();
        while got_rtp.len() < 5 || got_rtcp.is_empty() {
            let m = timeout(WAIT, to.recv_media()).await.unwrap().unwrap();
            if m.rtcp {
                got_rtcp.push(m.packet.to_vec());
            } else {
                got_rtp.push(m.packet.to_vec());
            }
        }
        // TCP keeps the order.
        assert_eq!(got_rtp, (1..=5).map(rtp).collect::<Vec<_>>());
        assert_eq!(got_rtcp, vec![rtcp.clone()]);
        assert_eq!(from.send_errors(), 0);
        assert_eq!(to.srtp_errors(), 0);
    }
    a.close().await.unwrap();
    b.close().await.unwrap();
}
