//! Candidate pairs (libwebrtc's Connection): state, priority and liveness.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use stun::TransactionId;

use crate::candidate::TransportProtocol;

/// State of a pair in the checklist (RFC 8445 §6.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PairState {
    /// Waiting for a pair with the same foundation to succeed.
    Frozen,
    /// Ready to be checked.
    Waiting,
    /// A check is in flight.
    InProgress,
    /// A check succeeded: the pair is valid.
    Succeeded,
    /// Checks failed, or consent expired.
    Failed,
}

/// RFC 8445 §6.1.2.3: `2^32 × MIN(G, D) + 2 × MAX(G, D) + (G > D ? 1 : 0)`.
pub fn pair_priority(controlling: u32, controlled: u32) -> u64 {
    let (g, d) = (controlling as u64, controlled as u64);
    (1u64 << 32) * g.min(d) + 2 * g.max(d) + u64::from(g > d)
}

/// One local base × remote candidate.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub(crate) local: usize,
    pub(crate) remote: usize,
    pub(crate) base: SocketAddr,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) transport: TransportProtocol,
    pub(crate) priority: u64,
    pub(crate) state: PairState,
    /// USE-CANDIDATE was exchanged on this pair (and when).
    pub(crate) nominated_at: Option<Instant>,
    /// Controlled: a USE-CANDIDATE check arrived before the pair was valid.
    pub(crate) nominate_on_success: bool,
    /// Controlling: a check with USE-CANDIDATE is in flight.
    pub(crate) nominating: bool,
    /// The transaction of the check in flight.
    pub(crate) check: Option<TransactionId>,
    /// Last authenticated success response (consent, RFC 7675).
    pub(crate) last_response: Option<Instant>,
    /// Last packet of any kind from the remote on this pair.
    pub(crate) last_received: Option<Instant>,
    /// The latest check timed out after the last response.
    pub(crate) unanswered: bool,
    /// When the next keepalive/consent check is due.
    pub(crate) next_ping: Option<Instant>,
    /// Round-trip time of the last answered check sent once.
    pub(crate) rtt: Option<Duration>,
}

impl Pair {
    pub(crate) fn new(
        local: usize,
        remote: usize,
        base: SocketAddr,
        remote_addr: SocketAddr,
        transport: TransportProtocol,
        priority: u64,
    ) -> Pair {
        Pair {
            local,
            remote,
            base,
            remote_addr,
            transport,
            priority,
            state: PairState::Frozen,
            nominated_at: None,
            nominate_on_success: false,
            nominating: false,
            check: None,
            last_response: None,
            last_received: None,
            unanswered: false,
            next_ping: None,
            rtt: None,
        }
    }

    pub(crate) fn is_valid(&self) -> bool {
        self.state == PairState::Succeeded
    }

    /// Valid and answering: usable for data.
    pub(crate) fn is_alive(&self) -> bool {
        self.is_valid() && !self.unanswered
    }

    /// True when this pair is the 5-tuple (`base`, `remote`, `transport`).
    pub(crate) fn is(
        &self,
        base: SocketAddr,
        remote: SocketAddr,
        transport: TransportProtocol,
    ) -> bool {
        self.base == base && self.remote_addr == remote && self.transport == transport
    }

    pub(crate) fn is_pending(&self) -> bool {
        matches!(
            self.state,
            PairState::Frozen | PairState::Waiting | PairState::InProgress
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_priority_formula() {
        assert_eq!(pair_priority(1, 1), (1 << 32) + 2);
        assert_eq!(pair_priority(2, 1), (1 << 32) + 4 + 1);
        assert_eq!(pair_priority(1, 2), (1 << 32) + 4);
        assert!(
            pair_priority(2_130_706_431, 2_130_706_431)
                > pair_priority(2_130_706_431, 1_694_498_815)
        );
    }
}
