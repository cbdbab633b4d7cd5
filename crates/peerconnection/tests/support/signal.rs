//! Signaling between two PeerConnections in one test process, shared by
//! the PeerConnection tests (included with `#[path]`): offer/answer, and
//! candidates trickled once the other side can take them, the other events
//! handed to the test.

use std::time::Duration;

use peerconnection::media_channels::sdp::JsepIceCandidate;
use peerconnection::peer_connection::{
    PeerConnection, PeerConnectionEvents, PeerConnectionFactory,
};
use peerconnection::session::SessionEvent;
use peerconnection::RtcConfiguration;
use tokio::sync::mpsc;

/// Trickles `events`' candidates to `to` (held until `to` has a remote
/// description, as a signaling layer would: W3C addIceCandidate refuses
/// them before), each first shown to `check`; everything else goes to the
/// returned stream.
pub(crate) fn forward_checked(
    mut events: PeerConnectionEvents,
    to: PeerConnection,
    check: impl Fn(&JsepIceCandidate) + Send + 'static,
) -> mpsc::UnboundedReceiver<SessionEvent> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut held = Vec::new();
        let mut retry = tokio::time::interval(Duration::from_millis(5));
        loop {
            tokio::select! {
                e = events.recv() => match e {
                    None => return,
                    Some(SessionEvent::IceCandidate(c)) => {
                        check(&c);
                        held.push(c);
                    }
                    Some(e) => {
                        if tx.send(e).is_err() {
                            return;
                        }
                    }
                },
                _ = retry.tick(), if !held.is_empty() => {}
            }
            if held.is_empty() {
                continue;
            }
            if let Ok(Some(remote)) = to.remote_description().await {
                for c in held.drain(..) {
                    let stale = !c.matches_ufrag_of(&remote);
                    match to.add_ice_candidate(c).await {
                        // (One may also be held for a transport not made yet.)
                        Ok(()) => {}
                        // W3C addIceCandidate: OperationError for a ufrag no
                        // applied remote description has (gathered for an
                        // offer the peer rolled back: glare).
                        Err(e) => assert!(stale, "candidate refused: {e}"),
                    }
                }
            }
        }
    });
    rx
}

/// [`forward_checked`] without a check.
#[allow(dead_code)] // not every including test uses it
pub(crate) fn forward(
    events: PeerConnectionEvents,
    to: PeerConnection,
) -> mpsc::UnboundedReceiver<SessionEvent> {
    forward_checked(events, to, |_| {})
}

/// Two PeerConnections from `factory` and their event streams, each one's
/// candidates trickled to the other, every candidate first shown to
/// `check`.
#[allow(dead_code)] // not every including test uses it
pub(crate) async fn pair_checked(
    factory: &PeerConnectionFactory,
    config_a: RtcConfiguration,
    config_b: RtcConfiguration,
    check: impl Fn(&JsepIceCandidate) + Clone + Send + 'static,
) -> (
    PeerConnection,
    PeerConnection,
    mpsc::UnboundedReceiver<SessionEvent>,
    mpsc::UnboundedReceiver<SessionEvent>,
) {
    let (a, events_a) = factory
        .create_peer_connection(config_a)
        .await
        .expect("a made");
    let (b, events_b) = factory
        .create_peer_connection(config_b)
        .await
        .expect("b made");
    let ea = forward_checked(events_a, b.clone(), check.clone());
    let eb = forward_checked(events_b, a.clone(), check);
    (a, b, ea, eb)
}

/// [`pair_checked`] without a check.
#[allow(dead_code)] // not every including test uses it
pub(crate) async fn pair(
    factory: &PeerConnectionFactory,
    config_a: RtcConfiguration,
    config_b: RtcConfiguration,
) -> (
    PeerConnection,
    PeerConnection,
    mpsc::UnboundedReceiver<SessionEvent>,
    mpsc::UnboundedReceiver<SessionEvent>,
) {
    pair_checked(factory, config_a, config_b, |_| {}).await
}

/// `a` offers and `b` answers, implicit descriptions, both applied.
#[allow(dead_code)] // not every including test uses it
pub(crate) async fn negotiate(a: &PeerConnection, b: &PeerConnection) {
    let offer = a.set_local_description_implicit().await.expect("a's offer");
    b.set_remote_description(offer)
        .await
        .expect("b takes the offer");
    let answer = b
        .set_local_description_implicit()
        .await
        .expect("b's answer");
    a.set_remote_description(answer)
        .await
        .expect("a takes the answer");
}

/// The first event `pick` accepts, within `wait`.
#[allow(dead_code)] // not every including test uses it
pub(crate) async fn until<T>(
    rx: &mut mpsc::UnboundedReceiver<SessionEvent>,
    wait: Duration,
    mut pick: impl FnMut(SessionEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(wait, async {
        loop {
            let e = rx.recv().await.expect("event stream ended");
            if let Some(t) = pick(e) {
                return t;
            }
        }
    })
    .await
    .expect("timed out waiting for an event")
}

/// For [`until`]: the bytes of a data-channel message.
#[allow(dead_code)] // not every including test uses it
pub(crate) fn message(e: SessionEvent) -> Option<bytes::Bytes> {
    match e {
        SessionEvent::DataChannelMessage { data, .. } => Some(data),
        _ => None,
    }
}
