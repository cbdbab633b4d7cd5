//! Candidate pairs (libwebrtc's Connection): state, priority and liveness.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use stun::TransactionId;

use super::checklist::PairFoundation;
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
    /// The local and remote candidates' foundations, interned.
    pub(crate) foundation: PairFoundation,
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
    /// The address the peer saw our checks come from (XOR-MAPPED-ADDRESS of
    /// the last success response): differs from the local candidate's when a
    /// NAT mapped us (RFC 8445 §7.2.5.3.1).
    pub(crate) mapped: Option<SocketAddr>,
}

impl Pair {
    pub(crate) fn new(
        local: usize,
        remote: usize,
        base: SocketAddr,
        remote_addr: SocketAddr,
        transport: TransportProtocol,
        priority: u64,
        foundation: PairFoundation,
    ) -> Pair {
        Pair {
            local,
            remote,
            base,
            remote_addr,
            transport,
            priority,
            foundation,
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
            mapped: None,
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

/// Names one pair of a [`Pairs`] table: its slot and the slot's generation
/// when the id was handed out. A pair that `add_pair` replaced (the checklist
/// was full) or that an ICE restart cleared leaves ids behind that the table
/// refuses, so a check, a triggered-check entry or the selected pair can
/// never reach the pair that took its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PairId {
    index: u32,
    generation: u32,
}

#[derive(Debug, Clone)]
struct Slot {
    /// Bumped every time the slot's pair is replaced or cleared.
    generation: u32,
    pair: Option<Pair>,
}

/// The checklist's pairs: a small generational arena. Pairs are never
/// removed one by one, only replaced in place or all cleared, so the
/// occupied slots are always `0..len` and iteration order is the order the
/// pairs were formed in (as with the `Vec` it replaces); cleared slots are
/// reused by the next pairs with their generation already bumped.
/// A generation wraps after 2^32 replacements of one slot.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pairs {
    slots: Vec<Slot>,
    len: usize,
}

impl Pairs {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a pair after the others.
    pub(crate) fn push(&mut self, pair: Pair) -> PairId {
        let index = self.len;
        match self.slots.get_mut(index) {
            Some(slot) => slot.pair = Some(pair),
            None => self.slots.push(Slot {
                generation: 0,
                pair: Some(pair),
            }),
        }
        self.len += 1;
        self.id_at(index)
    }

    /// Puts `pair` in the slot of `id`; `id` and every copy of it go stale.
    /// `None` (and nothing changes) when `id` is already stale.
    pub(crate) fn replace(&mut self, id: PairId, pair: Pair) -> Option<PairId> {
        self.get(id)?;
        let slot = &mut self.slots[id.index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.pair = Some(pair);
        Some(self.id_at(id.index as usize))
    }

    /// Removes every pair; every id handed out so far goes stale.
    pub(crate) fn clear(&mut self) {
        for slot in &mut self.slots[..self.len] {
            slot.generation = slot.generation.wrapping_add(1);
            slot.pair = None;
        }
        self.len = 0;
    }

    /// The id of the pair at position `index` (below [`Pairs::len`]).
    pub(crate) fn id_at(&self, index: usize) -> PairId {
        debug_assert!(index < self.len);
        PairId {
            index: index as u32,
            generation: self.slots[index].generation,
        }
    }

    /// The pair `id` names, unless it is stale.
    pub(crate) fn get(&self, id: PairId) -> Option<&Pair> {
        let slot = self.slots.get(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.pair.as_ref()
    }

    /// The pair `id` names, unless it is stale.
    pub(crate) fn get_mut(&mut self, id: PairId) -> Option<&mut Pair> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.pair.as_mut()
    }

    /// The pairs in the order they were formed.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Pair> {
        self.slots[..self.len]
            .iter()
            .filter_map(|s| s.pair.as_ref())
    }

    /// The pairs in the order they were formed, mutably.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Pair> {
        self.slots[..self.len]
            .iter_mut()
            .filter_map(|s| s.pair.as_mut())
    }

    /// The pairs with their ids, in the order they were formed.
    pub(crate) fn with_ids(&self) -> impl Iterator<Item = (PairId, &Pair)> {
        self.slots[..self.len]
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let id = PairId {
                    index: i as u32,
                    generation: s.generation,
                };
                s.pair.as_ref().map(|p| (id, p))
            })
    }
}

/// For ids just taken from the table: a stale id here is a bug, so it panics
/// (ids that were stored use [`Pairs::get`]).
impl std::ops::Index<PairId> for Pairs {
    type Output = Pair;

    fn index(&self, id: PairId) -> &Pair {
        self.get(id).expect("a current pair id")
    }
}

impl std::ops::IndexMut<PairId> for Pairs {
    fn index_mut(&mut self, id: PairId) -> &mut Pair {
        self.get_mut(id).expect("a current pair id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(port: u16) -> Pair {
        let a: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut foundations = super::super::Foundations::default();
        let f = PairFoundation {
            local: foundations.intern("1"),
            remote: foundations.intern("2"),
        };
        Pair::new(0, 0, a, a, TransportProtocol::Udp, u64::from(port), f)
    }

    #[test]
    fn a_stale_pair_id_is_refused_after_the_pair_list_changes() {
        let mut pairs = Pairs::default();
        let first = pairs.push(pair(1));
        let second = pairs.push(pair(2));
        assert_eq!(pairs.get(first).map(|p| p.priority), Some(1));

        // The checklist was full and `add_pair` put a better pair in the slot.
        let third = pairs.replace(first, pair(3)).unwrap();
        assert!(
            pairs.get(first).is_none(),
            "the replaced pair's id is stale"
        );
        assert!(pairs.get_mut(first).is_none());
        assert!(pairs.replace(first, pair(4)).is_none());
        assert_eq!(pairs.get(third).map(|p| p.priority), Some(3));
        assert_eq!(pairs.get(second).map(|p| p.priority), Some(2));
        assert_eq!(pairs.iter().map(|p| p.priority).collect::<Vec<_>>(), [3, 2]);

        // An ICE restart clears the list; the slots are reused in order.
        pairs.clear();
        assert!(pairs.is_empty());
        assert!(pairs.get(second).is_none() && pairs.get(third).is_none());
        let fifth = pairs.push(pair(5));
        assert_ne!(fifth, third, "same slot, new generation");
        assert!(pairs.get(third).is_none());
        assert_eq!(pairs.get(fifth).map(|p| p.priority), Some(5));
        assert_eq!(
            pairs.with_ids().map(|(id, _)| id).collect::<Vec<_>>(),
            [fifth]
        );
        assert_eq!(pairs.id_at(0), fifth);
    }

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
