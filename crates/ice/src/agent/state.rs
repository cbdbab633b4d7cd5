//! What the agent tells the application about itself: its role, the
//! selected pair and the [`IceConnectionState`].

use std::time::Instant;

use super::{IceAgent, IceEvent, IceRole};

/// Connection state (W3C RTCIceConnectionState / libwebrtc IceTransportState).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceConnectionState {
    /// Waiting for remote candidates or credentials.
    New,
    /// Checks are under way; no usable pair yet.
    Checking,
    /// A pair is usable.
    Connected,
    /// A nominated pair is selected and checking is over.
    Completed,
    /// The selected pair stopped answering; consent has not expired yet.
    Disconnected,
    /// Every pair failed, or consent expired with nothing to fall back on.
    Failed,
    /// [`IceAgent::close`] was called.
    Closed,
}

impl IceAgent {
    pub(super) fn can_check(&self) -> bool {
        !self.config.lite && self.remote_key.is_some() && !self.closed
    }

    pub(super) fn set_role(&mut self, role: IceRole) {
        if self.role != role {
            tracing::debug!(?role, "ICE role changed");
            self.role = role;
            self.events.push_back(IceEvent::RoleChanged(role));
            self.recompute_priorities();
        }
    }

    pub(super) fn update_selected(&mut self, now: Instant) {
        let _ = now;
        // Nominated and answering first (latest nomination wins), then any
        // answering valid pair (RFC 8445 §12.1 allows data before nomination),
        // then a valid pair whose consent has not expired yet.
        let pick = self
            .pairs
            .with_ids()
            .filter(|(_, p)| p.is_valid())
            .max_by_key(|(_, p)| {
                (
                    p.nominated_at.is_some() && !p.unanswered,
                    !p.unanswered,
                    p.nominated_at,
                    p.priority,
                )
            })
            .map(|(i, _)| i);
        if pick != self.selected {
            self.selected = pick;
            if let Some(i) = pick {
                let p = &self.pairs[i];
                tracing::debug!(local = %p.base, remote = %p.remote_addr, "selected pair changed");
                // The local candidate the path really uses (see selected_pair).
                if let Some((local, remote)) = self.selected_pair() {
                    self.events
                        .push_back(IceEvent::SelectedPairChanged { local, remote });
                }
                // Consent checks on the selected pair follow the consent interval.
                let jitter = self.consent_jitter();
                let p = &mut self.pairs[i];
                if p.check.is_none() {
                    p.next_ping = Some(p.next_ping.map_or(now + jitter, |t| t.min(now + jitter)));
                }
                // A new generation has a working pair: the old one can go.
                if self.previous.as_ref().is_some_and(|_| {
                    self.pairs[i].nominated_at.is_some() || self.role == IceRole::Controlling
                }) {
                    self.drop_previous();
                }
            }
        } else if let Some(i) = pick {
            if self.previous.is_some() && self.pairs[i].nominated_at.is_some() {
                self.drop_previous();
            }
        }
    }

    pub(super) fn update_state(&mut self, now: Instant) {
        let _ = now;
        if self.closed {
            return;
        }
        let selected = self.selected.and_then(|id| self.pairs.get(id));
        let previous_alive = self
            .previous
            .as_ref()
            .and_then(|g| g.pair.as_ref())
            .is_some_and(|p| p.is_valid());
        let state = match selected {
            Some(p) if p.is_alive() => {
                let checking_done = !self.pairs.iter().any(|q| q.is_pending());
                if p.nominated_at.is_some() && checking_done && self.remote_end_of_candidates {
                    IceConnectionState::Completed
                } else {
                    IceConnectionState::Connected
                }
            }
            Some(_) => IceConnectionState::Disconnected,
            None if previous_alive => IceConnectionState::Connected,
            None => {
                let pending = self.pairs.iter().any(|p| p.is_pending());
                let had_pairs = !self.pairs.is_empty();
                if had_pairs && !pending && self.remote_end_of_candidates {
                    IceConnectionState::Failed
                } else if had_pairs
                    && !pending
                    && matches!(
                        self.state,
                        IceConnectionState::Disconnected
                            | IceConnectionState::Connected
                            | IceConnectionState::Completed
                    )
                {
                    // Consent expired on every pair.
                    IceConnectionState::Failed
                } else if self.remote.is_some() || !self.remotes.is_empty() {
                    if self.state == IceConnectionState::Failed && !pending {
                        IceConnectionState::Failed
                    } else {
                        IceConnectionState::Checking
                    }
                } else {
                    IceConnectionState::New
                }
            }
        };
        self.set_state(state);
    }

    pub(super) fn set_state(&mut self, state: IceConnectionState) {
        if self.state != state {
            tracing::debug!(from = ?self.state, to = ?state, "ICE connection state");
            self.state = state;
            self.events
                .push_back(IceEvent::ConnectionStateChanged(state));
        }
    }
}
