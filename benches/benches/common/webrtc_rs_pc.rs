//! webrtc-rs's `RTCPeerConnection` (the `webrtc` crate) on 127.0.0.1, shared
//! by the setup bench and the PeerConnection line of the data channel bench:
//! an `API` whose ICE only ever touches the loopback address, and the
//! offer/answer of two connections in one process with one data channel.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::mpsc;
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{APIBuilder, API};
use webrtc::data_channel::RTCDataChannel;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::RTCPeerConnection;

/// webrtc-rs's API with ICE held to 127.0.0.1: UDP over IPv4 only, only the
/// loopback interface and address (which webrtc-rs leaves out unless asked
/// to include it), no mDNS (neither queries nor `.local` candidates). With no
/// ICE servers (see [`peer_connection`]) the only candidates are host ones on
/// 127.0.0.1, so no packet goes anywhere else. `more` adds settings.
pub(crate) fn loopback_api(more: impl FnOnce(&mut SettingEngine)) -> API {
    let mut s = SettingEngine::default();
    s.set_network_types(vec![NetworkType::Udp4]);
    s.set_include_loopback_candidate(true);
    s.set_interface_filter(Box::new(|name: &str| name == "lo"));
    s.set_ip_filter(Box::new(|ip: IpAddr| ip == IpAddr::V4(Ipv4Addr::LOCALHOST)));
    s.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    more(&mut s);
    APIBuilder::new().with_setting_engine(s).build()
}

/// A connection of `api` with no ICE servers (so no STUN or TURN traffic);
/// webrtc-rs makes its ECDSA P-256 certificate here.
pub(crate) async fn peer_connection(api: &API) -> Arc<RTCPeerConnection> {
    let config = RTCConfiguration {
        ice_servers: Vec::new(),
        ..RTCConfiguration::default()
    };
    Arc::new(
        api.new_peer_connection(config)
            .await
            .expect("webrtc-rs: new_peer_connection"),
    )
}

/// `pc`'s local candidates as it gathers them, until gathering completes.
fn candidates(pc: &RTCPeerConnection) -> mpsc::UnboundedReceiver<RTCIceCandidateInit> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut tx = Some(tx);
    pc.on_ice_candidate(Box::new(move |c| {
        match c {
            Some(c) => {
                if let Some(tx) = &tx {
                    let _ = tx.send(c.to_json().expect("webrtc-rs: candidate to_json"));
                }
            }
            // Gathering complete: the forwarding task ends.
            None => tx = None,
        }
        Box::pin(async {})
    }));
    rx
}

/// Trickles `candidates` to `to`; called once `to` has its remote
/// description (those gathered before wait in the channel until then).
fn forward(
    mut candidates: mpsc::UnboundedReceiver<RTCIceCandidateInit>,
    to: &Arc<RTCPeerConnection>,
) {
    let to: Weak<RTCPeerConnection> = Arc::downgrade(to);
    tokio::spawn(async move {
        while let Some(c) = candidates.recv().await {
            let Some(to) = to.upgrade() else { return };
            to.add_ice_candidate(c)
                .await
                .expect("webrtc-rs: add_ice_candidate");
        }
    });
}

/// From `create_data_channel` on `a` (the offerer) to both ends of the
/// channel open (`on_open` fired on both): the offer and answer handed over
/// in memory, candidates trickled as they come (held until the receiving
/// side has the remote description), as ours does. Returns a's end and b's.
pub(crate) async fn negotiate(
    a: &Arc<RTCPeerConnection>,
    b: &Arc<RTCPeerConnection>,
    label: &str,
) -> (Arc<RTCDataChannel>, Arc<RTCDataChannel>) {
    let (from_a, from_b) = (candidates(a), candidates(b));
    // b's end arrives with `on_data_channel`, before it opens.
    let (b_open_tx, mut b_open) = mpsc::unbounded_channel();
    b.on_data_channel(Box::new(move |dc: Arc<RTCDataChannel>| {
        let (tx, end) = (b_open_tx.clone(), Arc::clone(&dc));
        dc.on_open(Box::new(move || {
            let _ = tx.send(end);
            Box::pin(async {})
        }));
        Box::pin(async {})
    }));
    let (a_open_tx, mut a_open) = mpsc::unbounded_channel();
    let dc = a
        .create_data_channel(label, None)
        .await
        .expect("webrtc-rs: create_data_channel");
    dc.on_open(Box::new(move || {
        let _ = a_open_tx.send(());
        Box::pin(async {})
    }));
    let offer = a.create_offer(None).await.expect("webrtc-rs: create_offer");
    a.set_local_description(offer.clone())
        .await
        .expect("webrtc-rs: set_local_description (offer)");
    b.set_remote_description(offer)
        .await
        .expect("webrtc-rs: set_remote_description (offer)");
    forward(from_a, b);
    let answer = b
        .create_answer(None)
        .await
        .expect("webrtc-rs: create_answer");
    b.set_local_description(answer.clone())
        .await
        .expect("webrtc-rs: set_local_description (answer)");
    a.set_remote_description(answer)
        .await
        .expect("webrtc-rs: set_remote_description (answer)");
    forward(from_b, a);
    tokio::time::timeout(Duration::from_secs(10), async {
        a_open.recv().await.expect("a's on_open");
        let end = b_open.recv().await.expect("b's on_open");
        (dc, end)
    })
    .await
    .expect("webrtc-rs: channel never opened")
}
