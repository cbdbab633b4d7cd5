//! Regular nomination by the controlling agent (RFC 8445 §8.1.1): which
//! valid pair to nominate, and how long to wait for a better one.
//! Aggressive nomination needs nothing here: every check carries
//! USE-CANDIDATE (see `outgoing`).

use std::time::Instant;

use super::{IceAgent, NominationMode};

impl IceAgent {
    /// When a waiting controlling agent must stop waiting for better pairs and
    /// nominate; `None` when there is nothing it could nominate then.
    pub(super) fn nomination_deadline(&self) -> Option<Instant> {
        if self.config.nomination == NominationMode::Aggressive
            || self
                .pairs
                .iter()
                .any(|p| p.nominated_at.is_some() && p.is_alive())
        {
            return None;
        }
        let best = self
            .pairs
            .iter()
            .filter(|p| p.is_alive())
            .max_by_key(|p| p.priority)?;
        if best.nominating {
            return None;
        }
        self.first_valid_at
            .map(|t| t + self.config.nomination_timeout)
    }

    pub(super) fn maybe_nominate(&mut self, now: Instant) {
        if self.config.nomination == NominationMode::Aggressive {
            return;
        }
        let best = self
            .pairs
            .with_ids()
            .filter(|(_, p)| p.is_alive())
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, p)| (i, p.priority));
        let Some((best, best_priority)) = best else {
            return;
        };
        let current = self
            .pairs
            .iter()
            .filter(|p| p.nominated_at.is_some() && p.is_alive())
            .map(|p| p.priority)
            .max();
        if current.is_some_and(|c| c >= best_priority) {
            return;
        }
        if self.pairs[best].nominating {
            return;
        }
        let better_pending = self
            .pairs
            .iter()
            .any(|p| p.is_pending() && p.priority > best_priority);
        let waited = self
            .first_valid_at
            .is_some_and(|t| now >= t + self.config.nomination_timeout);
        if better_pending && !waited && current.is_none() {
            return;
        }
        if let Some(tid) = self.pairs[best].check.take() {
            // Replace a plain keepalive in flight by the nominating check.
            self.checks.cancel(&tid);
            self.in_flight.remove(&tid);
        }
        tracing::debug!(remote = %self.pairs[best].remote_addr, "nominating pair");
        self.send_check(now, best, true);
    }
}
