//! Two PeerConnections with ICE transport policy `relay` through coturn on
//! 127.0.0.1, reached over UDP (`turn:ADDR`), then over TCP
//! (`turn:ADDR?transport=tcp`, RFC 8656 §3.1 framing on the stream), and,
//! when `PEERSTACK_TURNS=ADDR` and `PEERSTACK_TURN_CA=PEM-FILE` are set, over
//! TLS (`turns:ADDR?transport=tcp`, the server's certificate verified
//! against that CA through `PeerConnectionFactory::with_turn_tls`): only
//! relay candidates are gathered and signalled, the data channel opens and
//! carries messages both ways, and getStats' selected pair is relay ↔ relay
//! on both sides.
//!
//! Ignored by `cargo test`: it needs coturn. `cargo xtask test-all --only
//! interop-ice-coturn` starts coturn in a loopback-only namespace
//! (`--allow-loopback-peers`, TLS with a self-signed certificate made for
//! the run) and runs it with `PEERSTACK_TURN=ADDR,USER,PASS`,
//! `PEERSTACK_TURNS`, `PEERSTACK_TURN_CA` and `PEERSTACK_REQUIRE_PEERS=1`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bytes::Bytes;
use peerconnection::media_channels::data::DataChannelInit;
use peerconnection::media_channels::sdp::dtls_transport::ice::network::NetworkFilter;
use peerconnection::media_channels::sdp::JsepIceCandidate;
use peerconnection::peer_connection::{PeerConnectionFactory, TurnTlsOptions};
use peerconnection::session::SessionEvent;
use peerconnection::stats::IceCandidateType;
use peerconnection::{IceServer, IceTransportPolicy, RtcConfiguration, RtcStats};
use tokio::sync::mpsc;

#[path = "support/signal.rs"]
mod signal;

/// Every candidate signalled must be a relay candidate.
fn only_relay(c: &JsepIceCandidate) {
    assert!(
        c.candidate_line().contains(" typ relay"),
        "relay policy signalled {}",
        c.candidate_line()
    );
}

async fn until<T>(
    rx: &mut mpsc::UnboundedReceiver<SessionEvent>,
    pick: impl FnMut(SessionEvent) -> Option<T>,
) -> T {
    signal::until(rx, Duration::from_secs(20), pick).await
}

fn selected_kinds(
    report: &peerconnection::RtcStatsReport,
) -> Option<(IceCandidateType, IceCandidateType)> {
    let pair = report.iter().find_map(|s| match s {
        RtcStats::CandidatePair(p) => Some(p.clone()),
        _ => None,
    })?;
    let kind = |id: &str| {
        report.iter().find_map(|s| match s {
            RtcStats::LocalCandidate(c) | RtcStats::RemoteCandidate(c) if c.id == id => {
                Some(c.candidate_type)
            }
            _ => None,
        })
    };
    Some((
        kind(&pair.local_candidate_id)?,
        kind(&pair.remote_candidate_id)?,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs coturn: cargo xtask test-all --only interop-ice-coturn"]
async fn relay_only_peer_connections_through_coturn() {
    let Some(turn) = std::env::var("PEERSTACK_TURN").ok() else {
        assert!(
            std::env::var_os("PEERSTACK_REQUIRE_PEERS").is_none(),
            "PEERSTACK_TURN (ADDR,USER,PASS of a TURN server) is not set"
        );
        println!("skipped: PEERSTACK_TURN is not set");
        return;
    };
    let parts: Vec<&str> = turn.split(',').collect();
    let [addr, user, pass] = parts[..] else {
        panic!("PEERSTACK_TURN must be ADDR,USER,PASS, not {turn:?}");
    };
    for url in [format!("turn:{addr}"), format!("turn:{addr}?transport=tcp")] {
        relay_pair(&url, user, pass, TurnTlsOptions::default()).await;
    }
    match (
        std::env::var("PEERSTACK_TURNS").ok(),
        std::env::var_os("PEERSTACK_TURN_CA"),
    ) {
        (Some(tls_addr), Some(ca)) => {
            let ca = std::fs::read(&ca).expect("PEERSTACK_TURN_CA names a readable PEM file");
            // Verification on: the server's certificate must chain to this CA.
            let tls = TurnTlsOptions {
                extra_ca_pem: vec![ca],
                ..TurnTlsOptions::default()
            };
            let url = format!("turns:{tls_addr}?transport=tcp");
            relay_pair(&url, user, pass, tls).await;
        }
        _ => println!("TURN over TLS skipped: PEERSTACK_TURNS or PEERSTACK_TURN_CA is not set"),
    }
}

/// Two relay-only PeerConnections through the TURN server at `url`.
async fn relay_pair(url: &str, user: &str, pass: &str, tls: TurnTlsOptions) {
    let mut server = IceServer::new([url.to_string()]);
    server.username = Some(user.into());
    server.credential = Some(pass.into());
    let config = RtcConfiguration {
        ice_servers: vec![server],
        ice_transport_policy: IceTransportPolicy::Relay,
        ..RtcConfiguration::default()
    };
    let factory = PeerConnectionFactory::new()
        .with_network_filter(NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]))
        .with_turn_tls(tls);
    let (a, b, mut ea, mut eb) =
        signal::pair_checked(&factory, config.clone(), config, only_relay).await;

    let chat = a
        .create_data_channel(DataChannelInit::new("relayed"))
        .await
        .unwrap();
    signal::negotiate(&a, &b).await;

    until(&mut ea, |e| {
        matches!(e, SessionEvent::DataChannelOpen { .. }).then_some(())
    })
    .await;
    let theirs = until(&mut eb, |e| match e {
        SessionEvent::DataChannelOpen {
            channel,
            remote: true,
            ..
        } => Some(channel),
        _ => None,
    })
    .await;
    a.send_data(chat, Bytes::from_static(b"through the relay"), false)
        .await
        .unwrap();
    let got = until(&mut eb, signal::message).await;
    assert_eq!(&got[..], b"through the relay");
    b.send_data(theirs, Bytes::from_static(b"and back"), false)
        .await
        .unwrap();
    let got = until(&mut ea, signal::message).await;
    assert_eq!(&got[..], b"and back");

    for pc in [&a, &b] {
        let report = pc.get_stats().await.unwrap();
        let kinds = selected_kinds(&report).expect("a selected pair with both candidates");
        assert_eq!(
            kinds,
            (IceCandidateType::Relay, IceCandidateType::Relay),
            "{}",
            report.to_json()
        );
    }
    println!("relay <-> relay on both sides through {url}");
    a.close().await;
    b.close().await;
}
