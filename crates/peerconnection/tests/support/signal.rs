//! Signaling between two PeerConnections in one test process, shared by
//! the PeerConnection tests (included with `#[path]`): offer/answer, and
//! candidates trickled once the other side can take them, the other events
//! handed to the test.

use std::time::Duration;

use peerconnection::media_channels::sdp::JsepIceCandidate;
use peerconnection::peer_connection::{PeerConnection, PeerConnectionEvents};
use peerconnection::session::SessionEvent;
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
            if !held.is_empty() && matches!(to.remote_description().await, Ok(Some(_))) {
                for c in held.drain(..) {
                    to.add_ice_candidate(c).await.expect("candidate taken");
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
