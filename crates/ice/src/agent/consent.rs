//! Consent freshness (RFC 7675) and ICE restart (RFC 8445 §9): consent
//! checks and their expiry, and the previous generation whose pair keeps
//! carrying data until the new generation selects one.

use std::time::{Duration, Instant};

use rand_core::RngCore;
use stun::IntegrityKey;

use super::outgoing::CheckTarget;
use super::outgoing::{build_check, random_tid, stun_transport};
use super::{CheckInfo, Credentials, IceAgent, Pair, PairState};
use crate::candidate::Candidate;

/// The previous generation after an ICE restart: its selected pair keeps
/// carrying data (with consent checks under the old credentials) until the
/// new generation selects a pair.
#[derive(Debug)]
pub(super) struct PreviousGeneration {
    pub(super) local: Credentials,
    pub(super) local_key: IntegrityKey,
    pub(super) remote_username: Option<String>,
    pub(super) remote_key: Option<IntegrityKey>,
    pub(super) pair: Option<Pair>,
    pub(super) local_candidate: Option<Candidate>,
    pub(super) remote_candidate: Option<Candidate>,
}

impl IceAgent {
    pub(super) fn start_new_generation(&mut self, new_local: bool) {
        // Keep the working pair (if any, and if the previous generation has none yet).
        let keep = self.selected.and_then(|id| self.pairs.get(id)).cloned();
        if self.previous.is_none() || keep.is_some() {
            let (lc, rc) = match &keep {
                Some(p) => (
                    Some(self.locals[p.local].candidate.clone()),
                    Some(self.remotes[p.remote].candidate.clone()),
                ),
                None => (None, None),
            };
            self.previous = Some(PreviousGeneration {
                local: self.local.clone(),
                local_key: self.local_key.clone(),
                remote_username: self.remote_username.clone(),
                remote_key: self.remote_key.clone(),
                pair: keep,
                local_candidate: lc,
                remote_candidate: rc,
            });
        }
        for tid in self.in_flight.keys().copied().collect::<Vec<_>>() {
            let info = &self.in_flight[&tid];
            if info.target != CheckTarget::Previous {
                self.checks.cancel(&tid);
                self.in_flight.remove(&tid);
            }
        }
        self.pairs.clear();
        self.foundations.clear();
        self.triggered.clear();
        self.selected = None;
        self.first_valid_at = None;
        self.remote_end_of_candidates = false;
        self.remotes.clear();
        if new_local {
            self.local = Credentials::random(&mut self.rng);
            self.local_key = IntegrityKey::from_bytes(self.local.pwd.as_bytes());
            if let Some(r) = &self.remote {
                self.remote_username = Some(format!("{}:{}", r.ufrag, self.local.ufrag));
            }
        } else {
            self.remote = None;
            self.remote_key = None;
            self.remote_username = None;
        }
        // Pairs are re-formed as remote candidates of the new generation arrive.
    }

    /// Consent checks for the previous generation's pair during an ICE restart.
    pub(super) fn ping_previous(&mut self, now: Instant) {
        let Some(g) = self.previous.as_mut() else {
            return;
        };
        let (Some(key), Some(username)) = (g.remote_key.clone(), g.remote_username.clone()) else {
            return;
        };
        let Some(p) = g.pair.as_mut() else { return };
        if !p.is_valid() || p.check.is_some() || p.next_ping.is_none_or(|t| t > now) {
            return;
        }
        let tid = random_tid(&mut self.rng);
        let mut buf = [0u8; 512];
        let Ok(n) = build_check(
            &mut buf,
            tid,
            &username,
            1,
            self.role,
            self.tie_breaker,
            false,
            &key,
        ) else {
            return;
        };
        if let Ok(tid) = self.checks.send(
            now,
            &buf[..n],
            p.remote_addr,
            stun_transport(p.transport),
            Some(key),
        ) {
            p.check = Some(tid);
            p.next_ping = None;
            self.in_flight.insert(
                tid,
                CheckInfo {
                    target: CheckTarget::Previous,
                    use_candidate: false,
                    role: self.role,
                },
            );
        }
    }

    /// A consent check of the previous generation's pair was answered, or
    /// failed or timed out.
    pub(super) fn on_previous_check_done(&mut self, now: Instant, answered: bool) {
        let jitter = self.consent_jitter();
        if let Some(p) = self.previous.as_mut().and_then(|g| g.pair.as_mut()) {
            p.check = None;
            if answered {
                p.last_response = Some(now);
                p.unanswered = false;
                p.next_ping = Some(now + jitter);
            } else {
                p.unanswered = true;
                p.next_ping = Some(now);
            }
        }
    }

    pub(super) fn consent_jitter(&mut self) -> Duration {
        // RFC 7675 §5.1: uniformly random in [0.8, 1.2] × the interval.
        let f = 0.8 + 0.4 * (self.rng.next_u32() as f64 / u32::MAX as f64);
        self.config.consent_interval.mul_f64(f)
    }

    pub(super) fn expire_consent(&mut self, now: Instant) {
        let timeout = self.config.consent_timeout;
        let lite = self.config.lite;
        for p in self.pairs.iter_mut() {
            if p.is_valid() {
                let last = if lite {
                    p.last_received
                } else {
                    p.last_response
                };
                if last.is_some_and(|l| now >= l + timeout) {
                    tracing::info!(remote = %p.remote_addr, "consent expired: pair failed");
                    p.state = PairState::Failed;
                    p.nominated_at = None;
                    p.next_ping = None;
                }
            }
        }
        if let Some(g) = &mut self.previous {
            if let Some(p) = &mut g.pair {
                if p.last_response.is_some_and(|l| now >= l + timeout) {
                    p.state = PairState::Failed;
                }
            }
        }
    }

    pub(super) fn drop_previous(&mut self) {
        if let Some(g) = self.previous.take() {
            if let Some(tid) = g.pair.and_then(|p| p.check) {
                self.checks.cancel(&tid);
                self.in_flight.remove(&tid);
            }
            let _ = (g.local_candidate, g.remote_candidate);
        }
    }
}
