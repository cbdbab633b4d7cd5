//! The async PeerConnection over real UDP sockets on 127.0.0.1: two
//! connections negotiate, connect, open a data channel both ways, carry
//! audio frames, report stats and close; and the calls a user gets wrong
//! come back as typed errors.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bytes::Bytes;
use peerconnection::media_channels::data::DataChannelInit;
use peerconnection::media_channels::sdp::dtls_transport::controller::PeerConnectionState;
use peerconnection::media_channels::sdp::dtls_transport::ice::network::NetworkFilter;
use peerconnection::media_channels::sdp::model::{Direction, MediaType};
use peerconnection::media_channels::sdp::{JsepSessionDescription, SdpType};
use peerconnection::peer_connection::PeerConnectionFactory;
use peerconnection::session::SessionEvent;
use peerconnection::{Error, IceServer, RtcConfiguration, RtcStats, SignalingState};
#[path = "support/signal.rs"]
mod signal;

use signal::forward;

/// How long each expected event may take.
const WAIT: Duration = Duration::from_secs(10);

async fn until<T>(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<SessionEvent>,
    pick: impl FnMut(SessionEvent) -> Option<T>,
) -> T {
    signal::until(rx, WAIT, pick).await
}

fn factory() -> PeerConnectionFactory {
    PeerConnectionFactory::new()
        .with_network_filter(NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_peer_connections_talk_over_loopback() {
    let default = RtcConfiguration::default;
    let (a, b, mut ea, mut eb) = signal::pair(&factory(), default(), default()).await;
    let chat = a
        .create_data_channel(DataChannelInit::new("chat"))
        .await
        .unwrap();
    let audio = a
        .add_transceiver(MediaType::Audio, Direction::SendOnly, "mic", &["s"])
        .await
        .unwrap();

    // Implicit descriptions, through SDP text.
    let offer = a.set_local_description_implicit().await.unwrap();
    assert_eq!(
        a.signaling_state().await.unwrap(),
        SignalingState::HaveLocalOffer
    );
    b.set_remote_description(
        JsepSessionDescription::parse(SdpType::Offer, &offer.to_sdp()).unwrap(),
    )
    .await
    .unwrap();
    let answer = b.set_local_description_implicit().await.unwrap();
    assert_eq!(answer.sdp_type(), SdpType::Answer);
    a.set_remote_description(
        JsepSessionDescription::parse(SdpType::Answer, &answer.to_sdp()).unwrap(),
    )
    .await
    .unwrap();

    until(&mut ea, |e| {
        matches!(e, SessionEvent::DataChannelOpen { .. }).then_some(())
    })
    .await;
    let theirs = until(&mut eb, |e| match e {
        SessionEvent::DataChannelOpen {
            channel,
            label,
            remote: true,
            ..
        } => {
            assert_eq!(label, "chat");
            Some(channel)
        }
        _ => None,
    })
    .await;
    assert_eq!(
        a.connection_state().await.unwrap(),
        PeerConnectionState::Connected
    );

    a.send_data(chat, Bytes::from_static(b"ping"), false)
        .await
        .unwrap();
    let got = until(&mut eb, signal::message).await;
    assert_eq!(&got[..], b"ping");
    b.send_data(theirs, Bytes::from_static(&[]), true)
        .await
        .unwrap();
    let got = until(&mut ea, |e| match e {
        SessionEvent::DataChannelMessage { data, binary, .. } => Some((data, binary)),
        _ => None,
    })
    .await;
    assert_eq!(
        got,
        (Bytes::new(), true),
        "an empty binary message arrives as one"
    );

    for i in 0..10u32 {
        a.send_frame(audio, i * 960, Bytes::from(vec![0xfc, i as u8, 1, 2]))
            .await
            .unwrap();
    }
    let frame = until(&mut eb, |e| match e {
        SessionEvent::Frame { frame, .. } => Some(frame),
        _ => None,
    })
    .await;
    assert_eq!(frame.data[0], 0xfc);

    let stats = a.get_stats().await.unwrap();
    assert!(stats
        .iter()
        .any(|s| matches!(s, RtcStats::CandidatePair(p) if p.nominated == Some(true))));
    assert!(stats
        .iter()
        .any(|s| matches!(s, RtcStats::OutboundRtp(o) if o.packets_sent >= Some(1))));

    a.close().await;
    assert!(matches!(
        a.create_offer().await,
        Err(Error::Closed) | Err(Error::InvalidState { .. })
    ));
    b.close().await;
}

#[tokio::test]
async fn wrong_calls_are_typed_errors() {
    let (pc, _events) = factory()
        .create_peer_connection(RtcConfiguration::default())
        .await
        .unwrap();
    assert!(matches!(
        pc.create_answer().await,
        Err(Error::InvalidState { .. })
    ));
    let garbage = JsepSessionDescription::parse(SdpType::Offer, "v=0\r\nnot sdp\r\n");
    assert!(
        garbage.is_err(),
        "the parser refuses it before the connection sees it"
    );
    assert_eq!(pc.signaling_state().await.unwrap(), SignalingState::Stable);

    // A TURN server without credentials.
    let config = RtcConfiguration {
        ice_servers: vec![IceServer::new(["turn:127.0.0.1:3478"])],
        ..RtcConfiguration::default()
    };
    assert!(factory().create_peer_connection(config).await.is_err());
    // TURN over TLS is accepted (`turns:`, TLS over TCP, with or without
    // `?transport=tcp`); TURN over DTLS and STUN over TLS are refused.
    let with_credentials = |url: &str| {
        let mut server = IceServer::new([url.to_string()]);
        server.username = Some("u".into());
        server.credential = Some("p".into());
        RtcConfiguration {
            ice_servers: vec![server],
            ..RtcConfiguration::default()
        }
    };
    for url in ["turns:127.0.0.1:5349", "turns:127.0.0.1?transport=tcp"] {
        let created = factory()
            .create_peer_connection(with_credentials(url))
            .await;
        assert!(created.is_ok(), "{url}: {:?}", created.err());
    }
    for url in ["turns:127.0.0.1:5349?transport=udp", "stuns:127.0.0.1"] {
        assert!(
            matches!(
                factory()
                    .create_peer_connection(with_credentials(url))
                    .await,
                Err(Error::UnsupportedIceServer { .. })
            ),
            "{url}"
        );
    }
}

/// Glare: both sides offer at once; the polite one (b) takes a's offer, which
/// rolls its own back (W3C implicit rollback), and answers; both connect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glare_is_resolved_by_rolling_back_the_polite_side() {
    let (a, events_a) = factory()
        .create_peer_connection(RtcConfiguration::default())
        .await
        .unwrap();
    let (b, events_b) = factory()
        .create_peer_connection(RtcConfiguration::default())
        .await
        .unwrap();
    let mut ea = forward(events_a, b.clone());
    let _eb = forward(events_b, a.clone());
    a.create_data_channel(DataChannelInit::new("from-a"))
        .await
        .unwrap();
    b.create_data_channel(DataChannelInit::new("from-b"))
        .await
        .unwrap();
    let offer_a = a.set_local_description_implicit().await.unwrap();
    let offer_b = b.set_local_description_implicit().await.unwrap();
    assert_eq!(
        b.signaling_state().await.unwrap(),
        SignalingState::HaveLocalOffer
    );
    // The impolite side ignores b's offer (perfect negotiation: the application
    // drops it; applying it would roll a's own offer back instead).
    drop(offer_b);
    // The polite side rolls back and answers.
    b.set_remote_description(offer_a).await.unwrap();
    assert_eq!(
        b.signaling_state().await.unwrap(),
        SignalingState::HaveRemoteOffer
    );
    let answer = b.set_local_description_implicit().await.unwrap();
    a.set_remote_description(answer).await.unwrap();
    assert_eq!(a.signaling_state().await.unwrap(), SignalingState::Stable);
    assert_eq!(b.signaling_state().await.unwrap(), SignalingState::Stable);
    until(&mut ea, |e| {
        matches!(e, SessionEvent::DataChannelOpen { .. }).then_some(())
    })
    .await;
    a.close().await;
    b.close().await;
}

/// Bulk data through the public API, paced as a W3C application paces
/// itself: refill the window when `bufferedamountlow` fires. Every byte
/// arrives in order without stalling (one current-thread runtime, so the
/// two tasks and the sender take turns, as in the benchmark).
#[tokio::test(flavor = "current_thread")]
async fn bulk_data_paced_by_buffered_amount_low_arrives_in_order() {
    const TOTAL: usize = 8 * 1024 * 1024;
    const WINDOW: usize = 64 * 1024;
    let default = RtcConfiguration::default;
    let (a, b, mut ea, mut eb) = signal::pair(&factory(), default(), default()).await;
    let channel = a
        .create_data_channel(DataChannelInit::new("bulk"))
        .await
        .unwrap();
    // Set before the channel exists on the association: kept until then.
    a.set_buffered_amount_low_threshold(channel, WINDOW / 2)
        .await
        .unwrap();
    signal::negotiate(&a, &b).await;
    for rx in [&mut ea, &mut eb] {
        until(rx, |e| {
            matches!(e, SessionEvent::DataChannelOpen { .. }).then_some(())
        })
        .await;
    }

    for size in [16 * 1024, 1024] {
        let (mut sent, mut lows) = (0usize, 0);
        let send = async {
            loop {
                let mut room = WINDOW.saturating_sub(a.buffered_amount(channel).await.unwrap());
                while sent < TOTAL && room > 0 {
                    let msg = Bytes::from(vec![(sent / size) as u8; size]);
                    a.queue_data(channel, msg, true).await.unwrap();
                    sent += size;
                    room = room.saturating_sub(size);
                }
                if sent == TOTAL {
                    return;
                }
                // Only the event refills the window (no polling).
                loop {
                    let e = ea.recv().await.expect("a's events");
                    if let SessionEvent::DataChannelBufferedAmountLow { .. } = e {
                        lows += 1;
                        break;
                    }
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(60), send)
            .await
            .unwrap_or_else(|_| panic!("{size}-byte messages: the window never drained"));
        let (mut got, mut next) = (0usize, 0u8);
        while got < TOTAL {
            let e = until(&mut eb, |e| match e {
                SessionEvent::DataChannelMessage { data, binary, .. } => Some((data, binary)),
                _ => None,
            });
            let (data, binary) = e.await;
            assert!(binary);
            assert_eq!(data.len(), size);
            assert!(data.iter().all(|&x| x == next), "in order");
            next = next.wrapping_add(1);
            got += data.len();
        }
        assert_eq!(got, TOTAL);
        // Each refill adds at most a window, and the first needs no event.
        assert!(
            lows >= TOTAL / WINDOW - 1,
            "{size}: {lows} bufferedamountlow events"
        );
    }
}

/// W3C iceCandidatePoolSize through the async API: the pooled transport
/// binds its socket at creation, and the first description takes it over
/// and connects over it (its candidates signalled with the offer's mid).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_pool_is_taken_by_the_offer_and_connects() {
    let pooled = RtcConfiguration {
        ice_candidate_pool_size: 1,
        ..RtcConfiguration::default()
    };
    let (a, b, mut ea, mut eb) =
        signal::pair(&factory(), pooled, RtcConfiguration::default()).await;
    let channel = a
        .create_data_channel(DataChannelInit::new("pooled"))
        .await
        .unwrap();
    signal::negotiate(&a, &b).await;
    until(&mut ea, |e| {
        matches!(e, SessionEvent::DataChannelOpen { .. }).then_some(())
    })
    .await;
    a.send_data(channel, Bytes::from_static(b"pooled"), false)
        .await
        .unwrap();
    let got = until(&mut eb, signal::message).await;
    assert_eq!(&got[..], b"pooled");
    a.close().await;
    b.close().await;
}
