//! Checks the peer sends us (RFC 8445 §7.3): FINGERPRINT, USERNAME and
//! MESSAGE-INTEGRITY before any state, role conflicts (487), peer-reflexive
//! remote candidates, the triggered check they cause, nomination by the
//! controlling peer, and our responses; plus responses to our own checks
//! coming in, and the "something arrived on this pair" bookkeeping.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use rand_core::RngCore;
use stun::attributes::{
    ErrorCode, IceControlled, IceControlling, Priority, Username, XorMappedAddress,
};
use stun::{Class, IntegrityKey, Message, MessageBuilder, Method};

use super::{IceAgent, IceRole, PairId, PairState, Receive, Received, RemoteCandidate};
use crate::allocator::Transmit;
use crate::candidate::{Candidate, CandidateKind, TcpType, TransportProtocol};

/// A check whose MESSAGE-INTEGRITY verified.
struct AuthenticatedCheck<'m> {
    /// The key it verified with, to sign our answer.
    key: IntegrityKey,
    /// Its ufrag is the previous generation's (during an ICE restart).
    previous_generation: bool,
    /// The peer's ufrag (after the colon of USERNAME; may be empty).
    remote_ufrag: &'m str,
}

impl IceAgent {
    /// Marks a pair as having received something; false if no pair matches.
    pub(super) fn touch(
        &mut self,
        now: Instant,
        transport: TransportProtocol,
        local: SocketAddr,
        source: SocketAddr,
    ) -> bool {
        // Data arrives on the selected pair: looked at first, without a scan.
        if let Some(p) = self.selected.and_then(|id| self.pairs.get_mut(id)) {
            if p.is(local, source, transport) {
                p.last_received = Some(now);
                return true;
            }
        }
        if let Some(p) = self
            .pairs
            .iter_mut()
            .find(|p| p.is(local, source, transport))
        {
            p.last_received = Some(now);
            return true;
        }
        if let Some(p) = self.previous.as_mut().and_then(|g| g.pair.as_mut()) {
            if p.is(local, source, transport) {
                p.last_received = Some(now);
                return true;
            }
        }
        false
    }

    pub(super) fn handle_stun_response(
        &mut self,
        now: Instant,
        transport: TransportProtocol,
        receive: Receive<'_>,
        msg: &Message<'_>,
    ) -> Received {
        let tid = msg.transaction_id();
        if transport == TransportProtocol::Udp && self.allocator.owns_response(msg) {
            self.allocator
                .handle_response(now, receive.local, receive.source, msg);
            self.pump_allocator(now);
            return Received::Stun;
        }
        let Some(info) = self.in_flight.get(&tid).cloned() else {
            return Received::Dropped;
        };
        let Some(pair) = self.check_pair(info.target) else {
            return Received::Dropped;
        };
        // RFC 8445 §7.2.5.2.1: the response must come back on the same 5-tuple.
        if !pair.is(receive.local, receive.source, transport) {
            return Received::Dropped;
        }
        if !self.checks.handle_response(now, msg) {
            return Received::Dropped;
        }
        self.drain_check_events(now);
        Received::Stun
    }

    /// An incoming connectivity check (RFC 8445 §7.3): authenticated before
    /// anything is created, answered, then it may teach us a peer-reflexive
    /// candidate, trigger a check and nominate the pair.
    pub(super) fn handle_check(
        &mut self,
        now: Instant,
        transport: TransportProtocol,
        receive: Receive<'_>,
        msg: &Message<'_>,
    ) -> Received {
        // RFC 8445 §7.3: checks without a valid FINGERPRINT are not ICE: drop.
        if msg.verify_fingerprint().is_err() {
            return Received::Dropped;
        }
        let Some(local_idx) = self
            .locals
            .iter()
            .position(|l| l.base == receive.local && l.candidate.transport == transport)
        else {
            return Received::Dropped;
        };
        let auth = match self.authenticate_check(msg) {
            Ok(auth) => auth,
            Err(code) => return self.reject(transport, receive, msg, code),
        };
        // From here on the request is authenticated.
        let key = auth.key;
        let priority = match msg.get::<Priority>() {
            Ok(Some(p)) => p.0,
            _ => return self.respond_error(transport, receive, msg, &key, ErrorCode::BAD_REQUEST),
        };
        let use_candidate = msg.has(stun::AttributeType::USE_CANDIDATE);
        if let Err(code) = self.resolve_role_conflict(msg) {
            return self.respond_error(transport, receive, msg, &key, code);
        }
        self.respond_success(transport, receive, msg, &key);
        if auth.previous_generation {
            if let Some(p) = self.previous.as_mut().and_then(|g| g.pair.as_mut()) {
                if p.is(receive.local, receive.source, transport) {
                    p.last_received = Some(now);
                }
            }
            return Received::Stun;
        }
        if let Some(r) = &self.remote {
            if !auth.remote_ufrag.is_empty() && auth.remote_ufrag != r.ufrag {
                // A check from a generation we do not know yet: answered, no state.
                return Received::Stun;
            }
        }
        let Some(remote_idx) = self.remote_of_check(transport, receive.source, priority, local_idx)
        else {
            return Received::Stun;
        };
        let known = self
            .pairs
            .with_ids()
            .find(|(_, p)| p.local == local_idx && p.remote == remote_idx)
            .map(|(id, _)| id);
        let pair_id = match known {
            Some(id) => id,
            None => match self.add_pair(local_idx, remote_idx) {
                Some(i) => i,
                None => return Received::Stun,
            },
        };
        self.on_checked_pair(now, pair_id, use_candidate);
        Received::Stun
    }

    /// USERNAME and MESSAGE-INTEGRITY of a check, with the key of the
    /// generation its ufrag names; the error code to answer (unsigned) otherwise.
    fn authenticate_check<'m>(
        &self,
        msg: &Message<'m>,
    ) -> Result<AuthenticatedCheck<'m>, ErrorCode<'static>> {
        let username = match msg.get::<Username<'m>>() {
            Ok(Some(u)) => u.0,
            _ => return Err(ErrorCode::BAD_REQUEST),
        };
        if !msg.has_integrity() {
            return Err(ErrorCode::BAD_REQUEST);
        }
        let (ours, theirs) = username.split_once(':').unwrap_or((username, ""));
        let previous_generation = ours != self.local.ufrag;
        let key = if !previous_generation {
            &self.local_key
        } else {
            match &self.previous {
                Some(g) if g.local.ufrag == ours => &g.local_key,
                _ => return Err(ErrorCode::UNAUTHENTICATED),
            }
        };
        if msg.verify_integrity(key).is_err() {
            return Err(ErrorCode::UNAUTHENTICATED);
        }
        Ok(AuthenticatedCheck {
            key: key.clone(),
            previous_generation,
            remote_ufrag: theirs,
        })
    }

    /// RFC 8445 §7.3.1.1: role conflicts. Switches our role, or returns the
    /// error to answer (487, or 400 for a check naming no role).
    fn resolve_role_conflict(&mut self, msg: &Message<'_>) -> Result<(), ErrorCode<'static>> {
        let controlling = msg.get::<IceControlling>().ok().flatten();
        let controlled = msg.get::<IceControlled>().ok().flatten();
        match (self.role, controlling, controlled) {
            (IceRole::Controlling, Some(IceControlling(tb)), _) => {
                if self.tie_breaker >= tb {
                    return Err(ErrorCode::ROLE_CONFLICT);
                }
                self.set_role(IceRole::Controlled);
            }
            (IceRole::Controlled, _, Some(IceControlled(tb))) => {
                if self.tie_breaker >= tb {
                    self.set_role(IceRole::Controlling);
                } else {
                    return Err(ErrorCode::ROLE_CONFLICT);
                }
            }
            (_, None, None) => return Err(ErrorCode::BAD_REQUEST),
            _ => {}
        }
        Ok(())
    }

    /// The remote candidate a check came from: a known one, or a
    /// peer-reflexive candidate learned now (RFC 8445 §7.3.1.3) with the
    /// check's PRIORITY; `None` when the remote list is full.
    fn remote_of_check(
        &mut self,
        transport: TransportProtocol,
        source: SocketAddr,
        priority: u32,
        local_idx: usize,
    ) -> Option<usize> {
        if let Some(i) = self
            .remotes
            .iter()
            .position(|r| r.addr == source && r.candidate.transport == transport)
        {
            return Some(i);
        }
        if self.remotes.len() >= self.config.max_remote_candidates {
            return None;
        }
        let tcp_type = match (transport, self.locals[local_idx].candidate.tcp_type) {
            // Over TCP the peer's candidate is the opposite of ours (RFC 6544 §7.1).
            (TransportProtocol::Tcp, Some(TcpType::Passive)) => Some(TcpType::Active),
            (TransportProtocol::Tcp, Some(TcpType::Active)) => Some(TcpType::Passive),
            (TransportProtocol::Tcp, other) => other,
            (TransportProtocol::Udp, _) => None,
        };
        let candidate = Candidate::at(CandidateKind::PeerReflexive, source)
            .with_foundation(self.rng.next_u32().to_string())
            .with_component(self.config.component)
            .with_transport(transport)
            .with_priority(priority)
            .with_tcp_type(tcp_type)
            .with_ufrag(self.remote.as_ref().map(|r| r.ufrag.clone()));
        tracing::debug!(%source, "learned a peer-reflexive remote candidate");
        self.remotes.push(RemoteCandidate {
            candidate,
            addr: source,
        });
        Some(self.remotes.len() - 1)
    }

    /// What an authenticated check does to its pair: valid at once for a lite
    /// agent, else a triggered check (RFC 8445 §7.3.1.4); and, on the
    /// controlled side, the nomination USE-CANDIDATE carries (§7.3.1.5).
    fn on_checked_pair(&mut self, now: Instant, pair_id: PairId, use_candidate: bool) {
        let lite = self.config.lite;
        let p = &mut self.pairs[pair_id];
        p.last_received = Some(now);
        if lite {
            // A lite agent never checks: an authenticated check makes the pair valid.
            p.state = PairState::Succeeded;
            p.last_response = Some(now);
            p.unanswered = false;
        } else {
            match p.state {
                PairState::Succeeded => {}
                PairState::InProgress if p.nominating => {}
                PairState::InProgress => {
                    // RFC 8445 §7.3.1.4: stop retransmitting the check in flight (a
                    // response to it still counts) and send a new one at once: the
                    // first may have been lost before the peer's NAT binding existed.
                    if let Some(tid) = p.check.take() {
                        self.checks.stop_retransmissions(&tid);
                    }
                    self.trigger(pair_id);
                }
                _ => {
                    p.state = PairState::Waiting;
                    self.trigger(pair_id);
                }
            }
        }
        if use_candidate && self.role == IceRole::Controlled {
            let p = &mut self.pairs[pair_id];
            if p.is_valid() {
                if p.nominated_at.is_none() {
                    tracing::debug!(remote = %p.remote_addr, "pair nominated by the controlling agent");
                }
                p.nominated_at = Some(now);
            } else {
                p.nominate_on_success = true;
            }
        }
    }

    fn reject(
        &mut self,
        transport: TransportProtocol,
        receive: Receive<'_>,
        msg: &Message<'_>,
        code: ErrorCode<'_>,
    ) -> Received {
        // Unauthenticated: answer without integrity and keep no state.
        self.respond(transport, receive, msg, Err(code), None);
        Received::Dropped
    }

    fn respond_error(
        &mut self,
        transport: TransportProtocol,
        receive: Receive<'_>,
        msg: &Message<'_>,
        key: &IntegrityKey,
        code: ErrorCode<'_>,
    ) -> Received {
        self.respond(transport, receive, msg, Err(code), Some(key));
        Received::Stun
    }

    fn respond_success(
        &mut self,
        transport: TransportProtocol,
        receive: Receive<'_>,
        msg: &Message<'_>,
        key: &IntegrityKey,
    ) {
        self.respond(transport, receive, msg, Ok(()), Some(key));
    }

    /// Queues the response to a check: success with XOR-MAPPED-ADDRESS, or an
    /// error code; MESSAGE-INTEGRITY when `key` is given; always FINGERPRINT.
    fn respond(
        &mut self,
        transport: TransportProtocol,
        receive: Receive<'_>,
        msg: &Message<'_>,
        outcome: Result<(), ErrorCode<'_>>,
        key: Option<&IntegrityKey>,
    ) {
        let mut buf = [0u8; 128];
        let class = if outcome.is_ok() {
            Class::SuccessResponse
        } else {
            Class::ErrorResponse
        };
        let built = MessageBuilder::new(&mut buf, class, Method::BINDING, msg.transaction_id())
            .and_then(|mut b| {
                match outcome {
                    Ok(()) => b.add(&XorMappedAddress(receive.source))?,
                    Err(code) => b.add(&code)?,
                };
                if let Some(key) = key {
                    b.add_message_integrity(key)?;
                }
                b.add_fingerprint()?;
                Ok(b.finish())
            });
        if let Ok(n) = built {
            self.transmits.push_back(Transmit {
                source: receive.local,
                destination: receive.source,
                transport,
                contents: Bytes::copy_from_slice(&buf[..n]),
            });
        }
    }
}
