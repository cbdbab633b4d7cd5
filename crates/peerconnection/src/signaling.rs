//! The JSEP signaling state machine (RFC 9429 §3.2, W3C webrtc-pc §4.3.1):
//! which of `createOffer`, `createAnswer`, `setLocalDescription` and
//! `setRemoteDescription` is allowed in which [`SignalingState`], and where
//! each one leads.
//!
//! [`SignalingStateMachine`] separates the question from the change: the
//! `check_*` methods compute the next state and change nothing, so the
//! session can apply the description to its transports and channels first
//! and commit with [`apply`](SignalingStateMachine::apply) only when that
//! worked (W3C: a description that fails to apply leaves the state as it was).
//!
//! The transitions, with `L`/`R` for set local/remote description:
//!
//! | from | L offer | L pranswer | L answer | R offer | R pranswer | R answer | rollback (L or R) |
//! |---|---|---|---|---|---|---|---|
//! | stable | have-local-offer | ✗ | ✗ | have-remote-offer | ✗ | ✗ | ✗ |
//! | have-local-offer | have-local-offer | ✗ | ✗ | ✗ (\*) | have-remote-pranswer | stable | stable |
//! | have-remote-offer | ✗ | have-local-pranswer | stable | have-remote-offer | ✗ | ✗ | stable |
//! | have-local-pranswer | ✗ | have-local-pranswer | stable | ✗ | ✗ | ✗ | ✗ |
//! | have-remote-pranswer | ✗ | ✗ | ✗ | ✗ | have-remote-pranswer | stable | ✗ |
//! | closed | ✗ | ✗ | ✗ | ✗ | ✗ | ✗ | ✗ |
//!
//! ✗ is [`Error::InvalidState`]. (\*) W3C `setRemoteDescription(offer)` in
//! have-local-offer first rolls the local offer back ("implicit rollback",
//! perfect negotiation); [`SignalingStateMachine::needs_implicit_rollback`]
//! says when the session must do that.

use std::fmt;

use media_channels::sdp::SdpType;
use serde::{Deserialize, Serialize};

use crate::Error;

/// W3C `RTCSignalingState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SignalingState {
    /// `"stable"`: no offer/answer exchange in progress (the initial state).
    #[default]
    #[serde(rename = "stable")]
    Stable,
    /// `"have-local-offer"`: a local offer has been applied.
    #[serde(rename = "have-local-offer")]
    HaveLocalOffer,
    /// `"have-remote-offer"`: a remote offer has been applied.
    #[serde(rename = "have-remote-offer")]
    HaveRemoteOffer,
    /// `"have-local-pranswer"`: a remote offer and a local provisional answer.
    #[serde(rename = "have-local-pranswer")]
    HaveLocalPrAnswer,
    /// `"have-remote-pranswer"`: a local offer and a remote provisional answer.
    #[serde(rename = "have-remote-pranswer")]
    HaveRemotePrAnswer,
    /// `"closed"`: the peer connection has been closed.
    #[serde(rename = "closed")]
    Closed,
}

impl SignalingState {
    /// Every state, in W3C order.
    pub const ALL: [SignalingState; 6] = [
        SignalingState::Stable,
        SignalingState::HaveLocalOffer,
        SignalingState::HaveRemoteOffer,
        SignalingState::HaveLocalPrAnswer,
        SignalingState::HaveRemotePrAnswer,
        SignalingState::Closed,
    ];

    /// The W3C string (`"have-local-offer"` …).
    pub fn as_str(self) -> &'static str {
        match self {
            SignalingState::Stable => "stable",
            SignalingState::HaveLocalOffer => "have-local-offer",
            SignalingState::HaveRemoteOffer => "have-remote-offer",
            SignalingState::HaveLocalPrAnswer => "have-local-pranswer",
            SignalingState::HaveRemotePrAnswer => "have-remote-pranswer",
            SignalingState::Closed => "closed",
        }
    }
}

impl fmt::Display for SignalingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signaling operation, as named in [`Error::InvalidState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalingOperation {
    /// `createOffer`.
    CreateOffer,
    /// `createAnswer`.
    CreateAnswer,
    /// `setLocalDescription` with a description of this type.
    SetLocalDescription(SdpType),
    /// `setRemoteDescription` with a description of this type.
    SetRemoteDescription(SdpType),
}

impl fmt::Display for SignalingOperation {
    /// `create an offer`, `set a local answer`, `roll back the remote description` …
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (side, kind) = match self {
            SignalingOperation::CreateOffer => return f.write_str("create an offer"),
            SignalingOperation::CreateAnswer => return f.write_str("create an answer"),
            SignalingOperation::SetLocalDescription(kind) => ("local", kind),
            SignalingOperation::SetRemoteDescription(kind) => ("remote", kind),
        };
        match kind {
            SdpType::Offer => write!(f, "set a {side} offer"),
            SdpType::PrAnswer => write!(f, "set a {side} pranswer"),
            SdpType::Answer => write!(f, "set a {side} answer"),
            SdpType::Rollback => write!(f, "roll back the {side} description"),
        }
    }
}

/// The JSEP signaling state machine of one peer connection.
///
/// `check_*` methods answer without changing anything; [`apply`](Self::apply)
/// commits a state one of them returned; [`close`](Self::close) is final.
///
/// ```
/// use peerconnection::media_channels::sdp::SdpType;
/// use peerconnection::{SignalingState, SignalingStateMachine};
///
/// let mut offerer = SignalingStateMachine::new();
/// offerer.check_create_offer()?;
/// let next = offerer.check_set_local(SdpType::Offer)?;
/// // … apply the offer to the transports, then commit:
/// assert!(offerer.apply(next));
/// assert_eq!(offerer.state(), SignalingState::HaveLocalOffer);
///
/// // An answer cannot be created by the offerer, and nothing changes.
/// assert!(offerer.check_create_answer().is_err());
/// assert_eq!(offerer.state().to_string(), "have-local-offer");
///
/// let next = offerer.check_set_remote(SdpType::Answer)?;
/// offerer.apply(next);
/// assert_eq!(offerer.state(), SignalingState::Stable);
/// # Ok::<(), peerconnection::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalingStateMachine {
    state: SignalingState,
}

impl SignalingStateMachine {
    /// A machine in [`SignalingState::Stable`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The current state.
    pub fn state(&self) -> SignalingState {
        self.state
    }

    /// Whether [`close`](Self::close) has been called.
    pub fn is_closed(&self) -> bool {
        self.state == SignalingState::Closed
    }

    /// Whether `createOffer` is allowed: in every state but closed (W3C
    /// `createOffer` checks only `[[IsClosed]]`).
    pub fn check_create_offer(&self) -> Result<(), Error> {
        match self.state {
            SignalingState::Closed => Err(self.refuse(SignalingOperation::CreateOffer)),
            _ => Ok(()),
        }
    }

    /// Whether `createAnswer` is allowed: only in have-remote-offer and
    /// have-local-pranswer (W3C `createAnswer`, InvalidStateError otherwise).
    pub fn check_create_answer(&self) -> Result<(), Error> {
        match self.state {
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPrAnswer => Ok(()),
            _ => Err(self.refuse(SignalingOperation::CreateAnswer)),
        }
    }

    /// The state `setLocalDescription` of a `kind` description leads to, or
    /// [`Error::InvalidState`]. Changes nothing.
    pub fn check_set_local(&self, kind: SdpType) -> Result<SignalingState, Error> {
        use SignalingState::*;
        let next = match (self.state, kind) {
            (Stable | HaveLocalOffer, SdpType::Offer) => Some(HaveLocalOffer),
            (HaveRemoteOffer | HaveLocalPrAnswer, SdpType::PrAnswer) => Some(HaveLocalPrAnswer),
            (HaveRemoteOffer | HaveLocalPrAnswer, SdpType::Answer) => Some(Stable),
            (_, SdpType::Rollback) => self.rollback_target(),
            _ => None,
        };
        next.ok_or_else(|| self.refuse(SignalingOperation::SetLocalDescription(kind)))
    }

    /// The state `setRemoteDescription` of a `kind` description leads to, or
    /// [`Error::InvalidState`]. Changes nothing.
    ///
    /// A remote offer in have-local-offer is refused here, as JSEP refuses
    /// it; the W3C API first rolls back (see
    /// [`needs_implicit_rollback`](Self::needs_implicit_rollback)).
    pub fn check_set_remote(&self, kind: SdpType) -> Result<SignalingState, Error> {
        use SignalingState::*;
        let next = match (self.state, kind) {
            (Stable | HaveRemoteOffer, SdpType::Offer) => Some(HaveRemoteOffer),
            (HaveLocalOffer | HaveRemotePrAnswer, SdpType::PrAnswer) => Some(HaveRemotePrAnswer),
            (HaveLocalOffer | HaveRemotePrAnswer, SdpType::Answer) => Some(Stable),
            (_, SdpType::Rollback) => self.rollback_target(),
            _ => None,
        };
        next.ok_or_else(|| self.refuse(SignalingOperation::SetRemoteDescription(kind)))
    }

    /// Whether the W3C `setRemoteDescription(kind)` must first roll back the
    /// local description: a remote offer in have-local-offer (glare, the
    /// polite peer of perfect negotiation). The session then applies
    /// `check_set_local(Rollback)` and, after it, `check_set_remote(Offer)`.
    ///
    /// W3C webrtc-pc, `setRemoteDescription` step: "If description.type is
    /// "offer" and is invalid for the current connection.[[SignalingState]]
    /// …, let p be the result of setting the local session description
    /// indicated by {type: "rollback"}" — and that rollback only succeeds
    /// from have-local-offer (see [`check_set_local`](Self::check_set_local)).
    pub fn needs_implicit_rollback(&self, kind: SdpType) -> bool {
        kind == SdpType::Offer && self.state == SignalingState::HaveLocalOffer
    }

    /// Where a rollback leads from here: stable from have-local-offer and
    /// have-remote-offer, nowhere otherwise.
    ///
    /// W3C webrtc-pc, "set the session description", step 2: "If
    /// description.type is "rollback" and connection.[[SignalingState]] is
    /// either "stable", "have-local-pranswer", or "have-remote-pranswer",
    /// then reject p with a newly created InvalidStateError" (webrtc-pc
    /// issue #2235 dropped rollback of a pranswer). So a rollback in stable
    /// is an error, not a no-op; the web-platform tests
    /// `RTCPeerConnection-set{Local,Remote}Description-rollback.html` check
    /// exactly that. JSEP (RFC 9429 §4.1.10.2) makes local and remote
    /// rollback the same operation, so both sides may roll back either offer.
    fn rollback_target(&self) -> Option<SignalingState> {
        match self.state {
            SignalingState::HaveLocalOffer | SignalingState::HaveRemoteOffer => {
                Some(SignalingState::Stable)
            }
            _ => None,
        }
    }

    /// Commits `next`, a state a `check_*` call returned in the current state,
    /// and says whether the state changed (W3C fires `signalingstatechange`
    /// only then). Does nothing once closed: a description that finished
    /// applying after [`close`](Self::close) must not reopen the machine.
    pub fn apply(&mut self, next: SignalingState) -> bool {
        if self.is_closed() {
            return false;
        }
        debug_assert!(
            next == self.state
                || next == SignalingState::Closed
                || self.reachable_in_one_step(next),
            "apply({next}) in {}: not a state check_* returns here",
            self.state
        );
        let changed = self.state != next;
        if changed {
            tracing::debug!(from = %self.state, to = %next, "signaling state");
        }
        self.state = next;
        changed
    }

    /// Closes the machine (W3C `close()`); every later operation is
    /// [`Error::InvalidState`]. Returns whether it was open.
    pub fn close(&mut self) -> bool {
        let was_open = !self.is_closed();
        self.state = SignalingState::Closed;
        was_open
    }

    /// Whether some `check_set_*` call allows `next` from the current state.
    fn reachable_in_one_step(&self, next: SignalingState) -> bool {
        SDP_TYPES.iter().any(|&kind| {
            self.check_set_local(kind).ok() == Some(next)
                || self.check_set_remote(kind).ok() == Some(next)
        })
    }

    fn refuse(&self, operation: SignalingOperation) -> Error {
        Error::InvalidState {
            operation,
            state: self.state,
        }
    }
}

/// Every description type.
const SDP_TYPES: [SdpType; 4] = [
    SdpType::Offer,
    SdpType::PrAnswer,
    SdpType::Answer,
    SdpType::Rollback,
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use SignalingState::*;

    fn machine_in(state: SignalingState) -> SignalingStateMachine {
        SignalingStateMachine { state }
    }

    #[derive(Debug, Clone, Copy)]
    enum Side {
        Local,
        Remote,
    }

    /// The complete table: (state, side, kind) → next state, `None` = InvalidState.
    /// Written out from W3C webrtc-pc §4.3.1 / RFC 9429 §3.2, not derived from the code.
    #[rustfmt::skip]
    const TABLE: &[(SignalingState, Side, SdpType, Option<SignalingState>)] = &[
        (Stable, Side::Local, SdpType::Offer, Some(HaveLocalOffer)),
        (Stable, Side::Local, SdpType::PrAnswer, None),
        (Stable, Side::Local, SdpType::Answer, None),
        (Stable, Side::Local, SdpType::Rollback, None),
        (Stable, Side::Remote, SdpType::Offer, Some(HaveRemoteOffer)),
        (Stable, Side::Remote, SdpType::PrAnswer, None),
        (Stable, Side::Remote, SdpType::Answer, None),
        (Stable, Side::Remote, SdpType::Rollback, None),

        (HaveLocalOffer, Side::Local, SdpType::Offer, Some(HaveLocalOffer)),
        (HaveLocalOffer, Side::Local, SdpType::PrAnswer, None),
        (HaveLocalOffer, Side::Local, SdpType::Answer, None),
        (HaveLocalOffer, Side::Local, SdpType::Rollback, Some(Stable)),
        (HaveLocalOffer, Side::Remote, SdpType::Offer, None),
        (HaveLocalOffer, Side::Remote, SdpType::PrAnswer, Some(HaveRemotePrAnswer)),
        (HaveLocalOffer, Side::Remote, SdpType::Answer, Some(Stable)),
        (HaveLocalOffer, Side::Remote, SdpType::Rollback, Some(Stable)),

        (HaveRemoteOffer, Side::Local, SdpType::Offer, None),
        (HaveRemoteOffer, Side::Local, SdpType::PrAnswer, Some(HaveLocalPrAnswer)),
        (HaveRemoteOffer, Side::Local, SdpType::Answer, Some(Stable)),
        (HaveRemoteOffer, Side::Local, SdpType::Rollback, Some(Stable)),
        (HaveRemoteOffer, Side::Remote, SdpType::Offer, Some(HaveRemoteOffer)),
        (HaveRemoteOffer, Side::Remote, SdpType::PrAnswer, None),
        (HaveRemoteOffer, Side::Remote, SdpType::Answer, None),
        (HaveRemoteOffer, Side::Remote, SdpType::Rollback, Some(Stable)),

        (HaveLocalPrAnswer, Side::Local, SdpType::Offer, None),
        (HaveLocalPrAnswer, Side::Local, SdpType::PrAnswer, Some(HaveLocalPrAnswer)),
        (HaveLocalPrAnswer, Side::Local, SdpType::Answer, Some(Stable)),
        (HaveLocalPrAnswer, Side::Local, SdpType::Rollback, None),
        (HaveLocalPrAnswer, Side::Remote, SdpType::Offer, None),
        (HaveLocalPrAnswer, Side::Remote, SdpType::PrAnswer, None),
        (HaveLocalPrAnswer, Side::Remote, SdpType::Answer, None),
        (HaveLocalPrAnswer, Side::Remote, SdpType::Rollback, None),

        (HaveRemotePrAnswer, Side::Local, SdpType::Offer, None),
        (HaveRemotePrAnswer, Side::Local, SdpType::PrAnswer, None),
        (HaveRemotePrAnswer, Side::Local, SdpType::Answer, None),
        (HaveRemotePrAnswer, Side::Local, SdpType::Rollback, None),
        (HaveRemotePrAnswer, Side::Remote, SdpType::Offer, None),
        (HaveRemotePrAnswer, Side::Remote, SdpType::PrAnswer, Some(HaveRemotePrAnswer)),
        (HaveRemotePrAnswer, Side::Remote, SdpType::Answer, Some(Stable)),
        (HaveRemotePrAnswer, Side::Remote, SdpType::Rollback, None),

        (Closed, Side::Local, SdpType::Offer, None),
        (Closed, Side::Local, SdpType::PrAnswer, None),
        (Closed, Side::Local, SdpType::Answer, None),
        (Closed, Side::Local, SdpType::Rollback, None),
        (Closed, Side::Remote, SdpType::Offer, None),
        (Closed, Side::Remote, SdpType::PrAnswer, None),
        (Closed, Side::Remote, SdpType::Answer, None),
        (Closed, Side::Remote, SdpType::Rollback, None),
    ];

    #[test]
    fn every_state_side_and_type_follows_the_table() {
        assert_eq!(TABLE.len(), SignalingState::ALL.len() * 2 * SDP_TYPES.len());
        for &(state, side, kind, expected) in TABLE {
            let mut machine = machine_in(state);
            let (result, operation) = match side {
                Side::Local => (
                    machine.check_set_local(kind),
                    SignalingOperation::SetLocalDescription(kind),
                ),
                Side::Remote => (
                    machine.check_set_remote(kind),
                    SignalingOperation::SetRemoteDescription(kind),
                ),
            };
            assert_eq!(machine.state(), state, "check changed the state");
            match (result, expected) {
                (Ok(next), Some(want)) => {
                    assert_eq!(next, want, "{state} {side:?} {kind}");
                    assert_eq!(machine.apply(next), next != state);
                    assert_eq!(machine.state(), want);
                }
                (
                    Err(Error::InvalidState {
                        operation: op,
                        state: s,
                    }),
                    None,
                ) => {
                    assert_eq!((op, s), (operation, state), "{state} {side:?} {kind}");
                }
                (got, want) => panic!("{state} {side:?} {kind}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn create_offer_and_answer_permissions() {
        for state in SignalingState::ALL {
            let machine = machine_in(state);
            assert_eq!(
                machine.check_create_offer().is_ok(),
                state != Closed,
                "{state}"
            );
            let answer_allowed = matches!(state, HaveRemoteOffer | HaveLocalPrAnswer);
            match machine.check_create_answer() {
                Ok(()) => assert!(answer_allowed, "{state}"),
                Err(Error::InvalidState {
                    operation,
                    state: s,
                }) => {
                    assert!(!answer_allowed, "{state}");
                    assert_eq!((operation, s), (SignalingOperation::CreateAnswer, state));
                }
                Err(other) => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn implicit_rollback_only_for_a_remote_offer_in_have_local_offer() {
        for state in SignalingState::ALL {
            for kind in SDP_TYPES {
                let machine = machine_in(state);
                assert_eq!(
                    machine.needs_implicit_rollback(kind),
                    state == HaveLocalOffer && kind == SdpType::Offer
                );
            }
        }
        // Glare: roll back, then take the remote offer.
        let mut polite = machine_in(HaveLocalOffer);
        let next = polite.check_set_local(SdpType::Rollback).expect("rollback");
        polite.apply(next);
        let next = polite.check_set_remote(SdpType::Offer).expect("offer");
        polite.apply(next);
        assert_eq!(polite.state(), HaveRemoteOffer);
    }

    #[test]
    fn full_exchanges_with_provisional_answers() {
        let mut offerer = SignalingStateMachine::new();
        let mut answerer = SignalingStateMachine::new();
        let step = |m: &mut SignalingStateMachine, side: Side, kind: SdpType| {
            let next = match side {
                Side::Local => m.check_set_local(kind),
                Side::Remote => m.check_set_remote(kind),
            }
            .expect("allowed");
            m.apply(next);
            m.state()
        };
        assert_eq!(
            step(&mut offerer, Side::Local, SdpType::Offer),
            HaveLocalOffer
        );
        assert_eq!(
            step(&mut answerer, Side::Remote, SdpType::Offer),
            HaveRemoteOffer
        );
        assert_eq!(
            step(&mut answerer, Side::Local, SdpType::PrAnswer),
            HaveLocalPrAnswer
        );
        assert_eq!(
            step(&mut offerer, Side::Remote, SdpType::PrAnswer),
            HaveRemotePrAnswer
        );
        assert_eq!(step(&mut answerer, Side::Local, SdpType::Answer), Stable);
        assert_eq!(step(&mut offerer, Side::Remote, SdpType::Answer), Stable);
    }

    #[test]
    fn close_is_final() {
        let mut machine = machine_in(HaveLocalOffer);
        assert!(machine.close());
        assert!(!machine.close());
        assert!(!machine.apply(Stable));
        assert_eq!(machine.state(), Closed);
        assert!(machine.check_create_offer().is_err());
    }

    #[test]
    fn names_are_the_w3c_strings() {
        let names = [
            "stable",
            "have-local-offer",
            "have-remote-offer",
            "have-local-pranswer",
            "have-remote-pranswer",
            "closed",
        ];
        for (state, name) in SignalingState::ALL.into_iter().zip(names) {
            assert_eq!(state.to_string(), name);
            let json = serde_json::to_string(&state).expect("serialise");
            assert_eq!(json, format!("\"{name}\""));
            let back: SignalingState = serde_json::from_str(&json).expect("deserialise");
            assert_eq!(back, state);
        }
    }

    #[test]
    fn error_messages_say_what_was_refused() {
        let err = machine_in(Stable)
            .check_set_local(SdpType::Rollback)
            .expect_err("rollback in stable");
        assert_eq!(
            err.to_string(),
            "cannot roll back the local description in signaling state stable"
        );
        let err = machine_in(HaveLocalOffer)
            .check_set_remote(SdpType::Offer)
            .expect_err("glare");
        assert_eq!(
            err.to_string(),
            "cannot set a remote offer in signaling state have-local-offer"
        );
    }

    #[derive(Debug, Clone, Copy)]
    enum Operation {
        CreateOffer,
        CreateAnswer,
        SetLocal(SdpType),
        SetRemote(SdpType),
        Close,
    }

    fn operation() -> impl Strategy<Value = Operation> {
        let kind = prop::sample::select(SDP_TYPES.to_vec());
        prop_oneof![
            Just(Operation::CreateOffer),
            Just(Operation::CreateAnswer),
            kind.clone().prop_map(Operation::SetLocal),
            kind.prop_map(Operation::SetRemote),
            Just(Operation::Close),
        ]
    }

    proptest! {
        /// Random sequences of calls: a refused call never changes the state, an
        /// allowed one leads where the check said, and closed stays closed.
        #[test]
        fn refused_calls_leave_the_state_unchanged(ops in prop::collection::vec(operation(), 0..40)) {
            let mut machine = SignalingStateMachine::new();
            for op in ops {
                let before = machine.state();
                let result = match op {
                    // A permitted create changes nothing either.
                    Operation::CreateOffer => machine.check_create_offer().map(|()| before),
                    Operation::CreateAnswer => machine.check_create_answer().map(|()| before),
                    Operation::SetLocal(kind) => machine.check_set_local(kind),
                    Operation::SetRemote(kind) => machine.check_set_remote(kind),
                    Operation::Close => {
                        machine.close();
                        prop_assert_eq!(machine.state(), Closed);
                        continue;
                    }
                };
                match result {
                    Ok(next) => {
                        prop_assert_ne!(before, Closed);
                        machine.apply(next);
                        prop_assert_eq!(machine.state(), next);
                    }
                    Err(Error::InvalidState { state, .. }) => {
                        prop_assert_eq!(state, before);
                        prop_assert_eq!(machine.state(), before);
                    }
                    Err(other) => prop_assert!(false, "unexpected error {:?}", other),
                }
            }
        }
    }
}
