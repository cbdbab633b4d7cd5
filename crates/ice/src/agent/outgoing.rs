//! The checks we send (RFC 8445 §6.1.4, §7.2): triggered checks at once,
//! ordinary checks paced by Ta, keepalive and consent checks on valid pairs;
//! each a STUN transaction in the agent's [`stun::RequestManager`], and what
//! its success, error or timeout does to the pair.

use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;
use stun::attributes::{
    IceControlled, IceControlling, Priority, UseCandidate, Username, XorMappedAddress,
};
use stun::{Class, IntegrityKey, Message, MessageBuilder, Method, RequestEvent, TransactionId};

use super::{IceAgent, IceRole, NominationMode, Pair, PairId, PairState};
use crate::allocator::Transmit;
use crate::candidate::{CandidateKind, TransportProtocol};

/// A check of ours in flight, by transaction id.
#[derive(Debug, Clone)]
pub(super) struct CheckInfo {
    pub(super) target: CheckTarget,
    pub(super) use_candidate: bool,
    pub(super) role: IceRole,
}

/// The pair a check is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CheckTarget {
    /// A pair of the checklist; the answer is ignored once the id is stale.
    Pair(PairId),
    /// The previous generation's pair during an ICE restart (a consent check).
    Previous,
}

impl IceAgent {
    /// Sends due checks, decides nomination, expires consent and updates state.
    pub(super) fn process(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if self.can_check() {
            // Triggered checks go out at once: they answer authenticated checks,
            // which the peer paces, so they cannot amplify.
            while let Some(id) = self.triggered.pop_front() {
                if self.pairs.get(id).is_some_and(|p| p.check.is_none()) {
                    self.send_check(now, id, false);
                }
            }
            // Ordinary checks, one per Ta (`None`: due now).
            if self.next_check_at.is_none_or(|t| t <= now) {
                if let Some(i) = self.next_ordinary_pair() {
                    self.send_check(now, i, false);
                    self.next_check_at = Some(now + self.config.check_interval);
                } else {
                    self.next_check_at = None;
                }
            }
            // Keepalive and consent checks on valid pairs.
            for index in 0..self.pairs.len() {
                let id = self.pairs.id_at(index);
                let p = &self.pairs[id];
                if p.is_valid() && p.check.is_none() && p.next_ping.is_some_and(|t| t <= now) {
                    self.send_check(now, id, false);
                }
            }
            self.ping_previous(now);
            if self.role == IceRole::Controlling {
                self.maybe_nominate(now);
            }
        }
        self.expire_consent(now);
        self.update_selected(now);
        self.update_state(now);
        self.flush_checks();
    }

    pub(super) fn send_check(&mut self, now: Instant, i: PairId, nominate: bool) {
        let (Some(key), Some(username)) = (self.remote_key.clone(), self.remote_username.clone())
        else {
            return;
        };
        let use_candidate = nominate
            || (self.role == IceRole::Controlling
                && self.config.nomination == NominationMode::Aggressive);
        let local_priority = {
            let l = &self.locals[self.pairs[i].local];
            // PRIORITY: what a peer-reflexive candidate learned from this check would get.
            match l.candidate.tcp_type {
                Some(t) => crate::candidate::tcp_priority(
                    CandidateKind::PeerReflexive,
                    t,
                    l.network_type,
                    self.config.component,
                ),
                None => {
                    let lp = crate::candidate::local_preference(l.network_type, l.base.ip());
                    crate::candidate::priority(
                        CandidateKind::PeerReflexive,
                        lp,
                        self.config.component,
                    )
                }
            }
        };
        let tid = random_tid(&mut self.rng);
        let mut buf = [0u8; 512];
        let Ok(n) = build_check(
            &mut buf,
            tid,
            &username,
            local_priority,
            self.role,
            self.tie_breaker,
            use_candidate,
            &key,
        ) else {
            return;
        };
        let p = &mut self.pairs[i];
        match self.checks.send(
            now,
            &buf[..n],
            p.remote_addr,
            stun_transport(p.transport),
            Some(key),
        ) {
            Ok(tid) => {
                p.check = Some(tid);
                p.next_ping = None;
                if p.state == PairState::Waiting
                    || p.state == PairState::Frozen
                    || p.state == PairState::Failed
                {
                    p.state = PairState::InProgress;
                }
                if use_candidate {
                    p.nominating = true;
                }
                self.in_flight.insert(
                    tid,
                    CheckInfo {
                        target: CheckTarget::Pair(i),
                        use_candidate,
                        role: self.role,
                    },
                );
            }
            Err(e) => tracing::debug!(error = %e, "check not sent"),
        }
        self.flush_checks();
    }

    /// Queues a triggered check of `id` (sent by the next `process`), once.
    pub(super) fn trigger(&mut self, id: PairId) {
        if !self.triggered.contains(&id) {
            self.triggered.push_back(id);
        }
    }

    /// The pair a check in flight is for, unless it is gone.
    pub(super) fn check_pair(&self, target: CheckTarget) -> Option<&Pair> {
        match target {
            CheckTarget::Pair(id) => self.pairs.get(id),
            CheckTarget::Previous => self.previous.as_ref().and_then(|g| g.pair.as_ref()),
        }
    }

    pub(super) fn flush_checks(&mut self) {
        while let Some(t) = self.checks.poll_transmit() {
            let Some(info) = self.in_flight.get(&t.transaction_id) else {
                continue;
            };
            if let Some(p) = self.check_pair(info.target) {
                self.transmits.push_back(Transmit {
                    source: p.base,
                    destination: t.destination,
                    transport: p.transport,
                    contents: t.contents,
                });
            }
        }
    }

    pub(super) fn drain_check_events(&mut self, now: Instant) {
        while let Some(ev) = self.checks.poll_event() {
            let tid = ev.transaction_id();
            let Some(info) = self.in_flight.remove(&tid) else {
                continue;
            };
            let id = match info.target {
                CheckTarget::Previous => {
                    let answered = matches!(ev, RequestEvent::Success { .. });
                    self.on_previous_check_done(now, answered);
                    continue;
                }
                CheckTarget::Pair(id) => id,
            };
            // A pair replaced or cleared since: the answer is for nobody.
            let Some(pair) = self.pairs.get_mut(id) else {
                continue;
            };
            if pair.check != Some(tid) {
                // A check replaced by a triggered one: its success still validates
                // the pair; its failure or timeout means nothing.
                if let RequestEvent::Success { response, rtt, .. } = ev {
                    self.on_check_success(now, id, info, &response, rtt);
                }
                continue;
            }
            pair.check = None;
            pair.nominating = false;
            match ev {
                RequestEvent::Success { response, rtt, .. } => {
                    self.on_check_success(now, id, info, &response, rtt)
                }
                RequestEvent::Error { code, .. } => {
                    if code == 487 {
                        // RFC 8445 §7.2.5.1: switch role (if we have not already) and retry.
                        if info.role == self.role {
                            let flipped = match self.role {
                                IceRole::Controlling => IceRole::Controlled,
                                IceRole::Controlled => IceRole::Controlling,
                            };
                            self.set_role(flipped);
                        }
                        self.pairs[id].state = PairState::Waiting;
                        self.trigger(id);
                    } else {
                        tracing::debug!(code, "check failed with an error response");
                        self.fail_pair(id);
                    }
                }
                RequestEvent::Timeout { .. } => {
                    let p = &mut self.pairs[id];
                    if p.is_valid() {
                        // Consent or keepalive unanswered: disconnected, keep trying until consent expires.
                        p.unanswered = true;
                        p.next_ping = Some(now);
                    } else {
                        self.fail_pair(id);
                    }
                }
                // Variants a newer stun may add: nothing to do.
                _ => {}
            }
        }
    }

    fn on_check_success(
        &mut self,
        now: Instant,
        i: PairId,
        info: CheckInfo,
        response: &[u8],
        rtt: Option<Duration>,
    ) {
        if let Some(mapped) = Message::parse(response)
            .ok()
            .and_then(|m| m.get::<XorMappedAddress>().ok().flatten())
        {
            let base = self.pairs[i].base;
            let known = self
                .allocator
                .candidates()
                .iter()
                .any(|c| c.base == base && c.candidate.socket_addr() == Some(mapped.0));
            if !known {
                // A local peer-reflexive address (RFC 8445 §7.2.5.3.1). Its base is the
                // pair's base, so the pair stays as it is; it is not signalled, but
                // selected_pair reports it as the local candidate the path uses.
                tracing::debug!(mapped = %mapped.0, %base, "learned a local peer-reflexive address");
            }
            self.pairs[i].mapped = Some(mapped.0);
        }
        let jitter = self.consent_jitter();
        let keepalive = self.config.keepalive_interval;
        let was_valid = self.pairs[i].is_valid();
        let selected = self.selected == Some(i);
        let p = &mut self.pairs[i];
        p.state = PairState::Succeeded;
        p.last_response = Some(now);
        p.unanswered = false;
        if rtt.is_some() {
            p.rtt = rtt;
        }
        p.next_ping = Some(
            now + if selected || !was_valid {
                jitter
            } else {
                keepalive
            },
        );
        if info.use_candidate && info.role == IceRole::Controlling {
            p.nominated_at = Some(now);
        }
        if p.nominate_on_success && self.role == IceRole::Controlled {
            p.nominate_on_success = false;
            p.nominated_at = Some(now);
        }
        if self.first_valid_at.is_none() {
            self.first_valid_at = Some(now);
        }
        if !was_valid {
            // Unfreeze the pairs sharing this foundation (RFC 8445 §7.2.5.3.3).
            for index in 0..self.pairs.len() {
                let j = self.pairs.id_at(index);
                if self.pairs[j].state == PairState::Frozen
                    && self.pairs[j].foundation == self.pairs[i].foundation
                {
                    self.pairs[j].state = PairState::Waiting;
                }
            }
        }
    }
}

pub(super) fn stun_transport(t: TransportProtocol) -> stun::Transport {
    match t {
        TransportProtocol::Udp => stun::Transport::Udp,
        TransportProtocol::Tcp => stun::Transport::Tcp,
    }
}

pub(super) fn random_tid(rng: &mut ChaCha8Rng) -> TransactionId {
    let mut id = [0u8; 12];
    rng.fill_bytes(&mut id);
    TransactionId(id)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn build_check(
    buf: &mut [u8],
    tid: TransactionId,
    username: &str,
    priority: u32,
    role: IceRole,
    tie_breaker: u64,
    use_candidate: bool,
    key: &IntegrityKey,
) -> Result<usize, stun::Error> {
    let mut b = MessageBuilder::new(buf, Class::Request, Method::BINDING, tid)?;
    b.add(&Username(username))?;
    b.add(&Priority(priority))?;
    match role {
        IceRole::Controlling => b.add(&IceControlling(tie_breaker))?,
        IceRole::Controlled => b.add(&IceControlled(tie_breaker))?,
    };
    if use_candidate {
        b.add(&UseCandidate)?;
    }
    b.add_message_integrity(key)?;
    b.add_fingerprint()?;
    Ok(b.finish())
}
