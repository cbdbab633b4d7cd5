//! The checklist (RFC 8445 §6.1.2): pairs formed from local × remote
//! candidates, their priorities, and freezing by foundation.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use super::{pair_priority, IceAgent, IceEvent, IceRole, Pair, PairId, PairState};
use crate::allocator::{AllocatorEvent, LocalCandidate};
use crate::candidate::{Candidate, CandidateKind, TcpType, TransportProtocol};

/// A remote candidate: signalled, or peer-reflexive (learned from a check).
#[derive(Debug, Clone)]
pub(super) struct RemoteCandidate {
    pub(super) candidate: Candidate,
    pub(super) addr: SocketAddr,
}

/// A foundation string, interned in the agent's [`Foundations`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FoundationId(u32);

/// A pair's foundation (RFC 8445 §6.1.2.6): its local and remote
/// candidates' foundations together. Pairs of equal foundation are frozen
/// and unfrozen together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PairFoundation {
    pub(crate) local: FoundationId,
    pub(crate) remote: FoundationId,
}

/// Every foundation the pairs use, each distinct string stored once.
///
/// Freezing compares pair foundations whenever a pair is formed, succeeds
/// or fails. They used to be looked up through the candidate lists and
/// copied into `String`s for each comparison; now each pair keeps a
/// [`PairFoundation`] of two ids given out here, and comparing is comparing
/// two `u32`s. Ids mean nothing outside this table and the pairs that hold
/// them: a new generation clears both together. It holds at most one entry
/// per local candidate and two per remote candidate (a peer-reflexive one,
/// then the signalled candidate that replaces it), so the limits on
/// candidates bound it.
#[derive(Debug, Clone, Default)]
pub(super) struct Foundations {
    ids: HashMap<Box<str>, FoundationId>,
}

impl Foundations {
    /// The id of `foundation`, stored on first sight.
    pub(super) fn intern(&mut self, foundation: &str) -> FoundationId {
        if let Some(&id) = self.ids.get(foundation) {
            return id;
        }
        let id = FoundationId(self.ids.len() as u32);
        self.ids.insert(foundation.into(), id);
        id
    }

    /// Forgets every foundation; ids given out so far mean nothing.
    pub(super) fn clear(&mut self) {
        self.ids.clear();
    }
}

/// Whether a local and a remote candidate can form a pair: same address
/// family and transport, RFC 6544 TCP types that can connect, and loopback
/// only with loopback.
fn can_pair(local: &LocalCandidate, remote: &RemoteCandidate) -> bool {
    if local.base.is_ipv4() != remote.addr.is_ipv4()
        || local.candidate.transport != remote.candidate.transport
    {
        return false;
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
            return false;
        }
    }
    // Loopback only pairs with loopback.
    local.base.ip().is_loopback() == remote.addr.ip().is_loopback()
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

    /// Forms the pair local × remote when compatible; returns its id. When
    /// the checklist is full the new pair takes the slot of the worst unused
    /// one, whose id goes stale.
    pub(super) fn add_pair(&mut self, l: usize, r: usize) -> Option<PairId> {
        let local = &self.locals[l];
        let remote = &self.remotes[r];
        if self.dead_locals.contains(&l)
            || !can_pair(local, remote)
            || self.pairs.iter().any(|p| p.local == l && p.remote == r)
        {
            return None;
        }
        let (lp, rp) = (local.candidate.priority, remote.candidate.priority);
        let priority = match self.role {
            IceRole::Controlling => pair_priority(lp, rp),
            IceRole::Controlled => pair_priority(rp, lp),
        };
        let mut victim = None;
        if self.pairs.len() >= self.config.max_pairs {
            // Replace the lowest-priority pair that is not being used, if the new one is better.
            victim = self
                .pairs
                .with_ids()
                .filter(|(i, p)| {
                    matches!(p.state, PairState::Frozen | PairState::Waiting)
                        && Some(*i) != self.selected
                })
                .min_by_key(|(_, p)| p.priority)
                .filter(|(_, p)| p.priority < priority)
                .map(|(i, _)| i);
            victim?;
        }
        let foundation = PairFoundation {
            local: self.foundations.intern(&local.candidate.foundation),
            remote: self.foundations.intern(&remote.candidate.foundation),
        };
        let pair = Pair::new(
            l,
            r,
            local.base,
            remote.addr,
            local.candidate.transport,
            priority,
            foundation,
        );
        let id = match victim {
            Some(victim) => {
                self.triggered.retain(|&t| t != victim);
                self.pairs.replace(victim, pair)?
            }
            None => self.pairs.push(pair),
        };
        self.initial_pair_state(id);
        Some(id)
    }

    /// A signalled candidate replaced the peer-reflexive remote candidate `r`
    /// (RFC 8445 §7.3.1.3): its pairs take its priority and foundation.
    pub(super) fn remote_candidate_replaced(&mut self, r: usize) {
        let foundation = self
            .foundations
            .intern(&self.remotes[r].candidate.foundation);
        for p in self.pairs.iter_mut().filter(|p| p.remote == r) {
            p.foundation.remote = foundation;
        }
        self.recompute_priorities();
    }

    /// RFC 8445 §6.1.2.6 / RFC 8838 §10: Waiting unless a pair of the same
    /// foundation is already Waiting or In-Progress.
    fn initial_pair_state(&mut self, i: PairId) {
        let f = self.pairs[i].foundation;
        let busy = self.pairs.with_ids().any(|(j, p)| {
            j != i
                && matches!(p.state, PairState::Waiting | PairState::InProgress)
                && p.foundation == f
        });
        self.pairs[i].state = if busy {
            PairState::Frozen
        } else {
            PairState::Waiting
        };
    }

    /// The Frozen pairs of foundation `f`.
    pub(super) fn frozen_of(&self, f: PairFoundation) -> impl Iterator<Item = (PairId, &Pair)> {
        self.pairs
            .with_ids()
            .filter(move |(_, p)| p.state == PairState::Frozen && p.foundation == f)
    }

    pub(super) fn pump_allocator(&mut self, now: Instant) {
        while let Some(ev) = self.allocator.poll_event() {
            match ev {
                AllocatorEvent::Candidate(c) => {
                    self.events
                        .push_back(IceEvent::LocalCandidate(self.stamp(c.candidate.clone())));
                    if !self.locals.iter().enumerate().any(|(i, l)| {
                        l.base == c.base
                            && l.candidate.transport == c.candidate.transport
                            && !self.dead_locals.contains(&i)
                    }) {
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
                AllocatorEvent::CandidateError(e) => {
                    self.events.push_back(IceEvent::CandidateError(e))
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
        if let Some(j) = self
            .frozen_of(self.pairs[i].foundation)
            .max_by_key(|(_, p)| p.priority)
            .map(|(j, _)| j)
        {
            self.pairs[j].state = PairState::Waiting;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foundation_is_stored_once_and_named_by_one_id() {
        let mut f = Foundations::default();
        let a = f.intern("1234567");
        let b = f.intern("89");
        assert_ne!(a, b);
        assert_eq!(f.intern("1234567"), a);
        assert_eq!(f.ids.len(), 2);
        let pair = PairFoundation {
            local: a,
            remote: b,
        };
        assert_ne!(
            pair,
            PairFoundation {
                local: b,
                remote: a
            },
            "local and remote keep their places"
        );
        f.clear();
        assert_eq!(f.intern("89"), a, "ids restart with a new generation");
    }

    #[test]
    fn pairs_of_one_foundation_wait_their_turn() {
        use crate::{IceAgent, IceConfig, NetworkType};
        let now = Instant::now();
        let mut agent = IceAgent::new(IceConfig {
            seed: Some(7),
            ..Default::default()
        });
        agent.add_local_socket(
            now,
            "127.0.0.1:5000".parse().unwrap(),
            NetworkType::default(),
        );
        for (port, foundation) in [(6000, "1"), (6001, "1"), (6002, "2")] {
            let c = Candidate::at(CandidateKind::Host, ([127, 0, 0, 1], port).into())
                .with_priority(2_130_706_431)
                .with_foundation(foundation);
            agent.add_remote_candidate(now, c).unwrap();
        }
        let states = |a: &IceAgent| a.pairs.iter().map(|p| p.state).collect::<Vec<_>>();
        use PairState::{Failed, Frozen, Waiting};
        assert_eq!(states(&agent), [Waiting, Frozen, Waiting]);
        assert_eq!(
            agent.foundations.ids.len(),
            3,
            "127.0.0.1's, \"1\" and \"2\""
        );
        agent.fail_pair(agent.pairs.id_at(0));
        assert_eq!(states(&agent), [Failed, Waiting, Waiting]);
    }
}
