//! The checklist (RFC 8445 §6.1.2): pairs formed from local × remote
//! candidates, their priorities, and freezing by foundation.

use std::net::SocketAddr;
use std::time::Instant;

use super::{pair_priority, IceAgent, IceEvent, IceRole, Pair, PairId, PairState};
use crate::allocator::AllocatorEvent;
use crate::candidate::{Candidate, CandidateKind, TcpType, TransportProtocol};

/// A remote candidate: signalled, or peer-reflexive (learned from a check).
#[derive(Debug, Clone)]
pub(super) struct RemoteCandidate {
    pub(super) candidate: Candidate,
    pub(super) addr: SocketAddr,
}

impl IceAgent {
    pub(super) fn recompute_priorities(&mut self) {
        for p in self.pairs.iter_mut() {
            let l = self.locals[p.local].candidate.priority;
            let r = self.remotes[p.remote].candidate.priority;
            p.priority = match self.role {
                IceRole::Controlling => pair_priority(l, r),
                IceRole::Controlled => pair_priority(r, l),
            };
        }
    }

    pub(super) fn pair_foundation(&self, p: &Pair) -> (&str, &str) {
        (
            &self.locals[p.local].candidate.foundation,
            &self.remotes[p.remote].candidate.foundation,
        )
    }

    /// Forms the pair local × remote when compatible; returns its id. When
    /// the checklist is full the new pair takes the slot of the worst unused
    /// one, whose id goes stale.
    pub(super) fn add_pair(&mut self, l: usize, r: usize) -> Option<PairId> {
        let local = &self.locals[l];
        let remote = &self.remotes[r];
        if local.base.is_ipv4() != remote.addr.is_ipv4()
            || local.candidate.transport != remote.candidate.transport
        {
            return None;
        }
        if local.candidate.transport == TransportProtocol::Tcp {
            // RFC 6544 §6.2: active pairs with passive. A passive local pairs only with the
            // peer-reflexive candidate of a connection the peer opened (the signalled active
            // candidate's port 9 cannot be reached).
            let ok = match (local.candidate.tcp_type, remote.candidate.tcp_type) {
                (Some(TcpType::Active), Some(TcpType::Passive)) => true,
                (Some(TcpType::Passive), Some(TcpType::Active)) => {
                    remote.candidate.kind == CandidateKind::PeerReflexive
                }
                _ => false,
            };
            if !ok {
                return None;
            }
        }
        // Loopback only pairs with loopback, and link-local IPv6 only with link-local.
        if local.base.ip().is_loopback() != remote.addr.ip().is_loopback() {
            return None;
        }
        if self.pairs.iter().any(|p| p.local == l && p.remote == r) {
            return None;
        }
        let (lp, rp) = (local.candidate.priority, remote.candidate.priority);
        let priority = match self.role {
            IceRole::Controlling => pair_priority(lp, rp),
            IceRole::Controlled => pair_priority(rp, lp),
        };
        if self.pairs.len() >= self.config.max_pairs {
            // Replace the lowest-priority pair that is not being used, if the new one is better.
            let victim = self
                .pairs
                .with_ids()
                .filter(|(i, p)| {
                    matches!(p.state, PairState::Frozen | PairState::Waiting)
                        && Some(*i) != self.selected
                })
                .min_by_key(|(_, p)| p.priority)
                .map(|(i, p)| (i, p.priority));
            match victim {
                Some((victim, prio)) if prio < priority => {
                    let pair = Pair::new(
                        l,
                        r,
                        local.base,
                        remote.addr,
                        local.candidate.transport,
                        priority,
                    );
                    let id = self.pairs.replace(victim, pair)?;
                    self.triggered.retain(|&t| t != victim);
                    self.initial_pair_state(id);
                    return Some(id);
                }
                _ => return None,
            }
        }
        let id = self.pairs.push(Pair::new(
            l,
            r,
            local.base,
            remote.addr,
            local.candidate.transport,
            priority,
        ));
        self.initial_pair_state(id);
        Some(id)
    }

    /// RFC 8445 §6.1.2.6 / RFC 8838 §10: Waiting unless a pair of the same
    /// foundation is already Waiting or In-Progress.
    fn initial_pair_state(&mut self, i: PairId) {
        let f = {
            let (a, b) = self.pair_foundation(&self.pairs[i]);
            (a.to_string(), b.to_string())
        };
        let busy = self.pairs.with_ids().any(|(j, p)| {
            j != i && matches!(p.state, PairState::Waiting | PairState::InProgress) && {
                let (a, b) = self.pair_foundation(p);
                (a, b) == (f.0.as_str(), f.1.as_str())
            }
        });
        self.pairs[i].state = if busy {
            PairState::Frozen
        } else {
            PairState::Waiting
        };
    }

    pub(super) fn pump_allocator(&mut self, now: Instant) {
        while let Some(ev) = self.allocator.poll_event() {
            match ev {
                AllocatorEvent::Candidate(c) => {
                    self.events
                        .push_back(IceEvent::LocalCandidate(self.stamp(c.candidate.clone())));
                    if !self
                        .locals
                        .iter()
                        .any(|l| l.base == c.base && l.candidate.transport == c.candidate.transport)
                    {
                        self.locals.push(c);
                        let l = self.locals.len() - 1;
                        for r in 0..self.remotes.len() {
                            self.add_pair(l, r);
                        }
                    }
                }
                AllocatorEvent::GatheringState(s) => {
                    self.events.push_back(IceEvent::GatheringStateChanged(s))
                }
            }
        }
        let _ = now;
    }

    pub(super) fn next_ordinary_pair(&mut self) -> Option<PairId> {
        let waiting = self
            .pairs
            .with_ids()
            .filter(|(_, p)| p.state == PairState::Waiting && p.check.is_none())
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i);
        if waiting.is_some() {
            return waiting;
        }
        // RFC 8445 §6.1.4.2: no Waiting pair: unfreeze the best Frozen one.
        let frozen = self
            .pairs
            .with_ids()
            .filter(|(_, p)| p.state == PairState::Frozen)
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i)?;
        self.pairs[frozen].state = PairState::Waiting;
        Some(frozen)
    }

    pub(super) fn fail_pair(&mut self, i: PairId) {
        self.pairs[i].state = PairState::Failed;
        self.pairs[i].nominated_at = None;
        // Unfreeze one pair of the same foundation so it gets its turn.
        let f = {
            let (a, b) = self.pair_foundation(&self.pairs[i]);
            (a.to_string(), b.to_string())
        };
        if let Some(j) = self
            .pairs
            .with_ids()
            .filter(|(_, p)| {
                p.state == PairState::Frozen && {
                    let (a, b) = self.pair_foundation(p);
                    (a, b) == (f.0.as_str(), f.1.as_str())
                }
            })
            .max_by_key(|(_, p)| p.priority)
            .map(|(j, _)| j)
        {
            self.pairs[j].state = PairState::Waiting;
        }
    }
}
