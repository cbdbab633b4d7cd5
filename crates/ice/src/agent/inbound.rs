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

use super::{IceAgent, IceRole, PairState, Receive, Received, RemoteCandidate};
use crate::allocator::Transmit;
use crate::candidate::{Candidate, CandidateAddress, CandidateKind, TcpType, TransportProtocol};

impl IceAgent {
    /// Marks a pair as having received something; false if no pair matches.
    pub(super) fn touch(
        &mut self,
        now: Instant,
        transport: TransportProtocol,
        local: SocketAddr,
        source: SocketAddr,
    ) -> bool {
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
        let pair = if info.previous {
            self.previous.as_ref().and_then(|g| g.pair.as_ref())
        } else {
            self.pairs.get(info.pair)
        };
        let Some(pair) = pair else {
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

    /// An incoming connectivity check (RFC 8445 §7.3).
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
        let username = match msg.get::<Username<'_>>() {
            Ok(Some(u)) => u.0,
            _ => return self.reject(transport, receive, msg, ErrorCode::BAD_REQUEST),
        };
        if !msg.has_integrity() {
            return self.reject(transport, receive, msg, ErrorCode::BAD_REQUEST);
        }
        let (ours, theirs) = username.split_once(':').unwrap_or((username, ""));
        let previous_generation = ours != self.local.ufrag;
        let key = if !previous_generation {
            &self.local_key
        } else {
            match &self.previous {
                Some(g) if g.local.ufrag == ours => &g.local_key,
                _ => return self.reject(transport, receive, msg, ErrorCode::UNAUTHENTICATED),
            }
        };
        if msg.verify_integrity(key).is_err() {
            return self.reject(transport, receive, msg, ErrorCode::UNAUTHENTICATED);
        }
        let key = key.clone();
        // From here on the request is authenticated.
        let priority = match msg.get::<Priority>() {
            Ok(Some(p)) => p.0,
            _ => return self.respond_error(transport, receive, msg, &key, ErrorCode::BAD_REQUEST),
        };
        let controlling = msg.get::<IceControlling>().ok().flatten();
        let controlled = msg.get::<IceControlled>().ok().flatten();
        let use_candidate = msg.has(stun::AttributeType::USE_CANDIDATE);
        // RFC 8445 §7.3.1.1: role conflicts.
        match (self.role, controlling, controlled) {
            (IceRole::Controlling, Some(IceControlling(tb)), _) => {
                if self.tie_breaker >= tb {
                    return self.respond_error(
                        transport,
                        receive,
                        msg,
                        &key,
                        ErrorCode::ROLE_CONFLICT,
                    );
                }
                self.set_role(IceRole::Controlled);
            }
            (IceRole::Controlled, _, Some(IceControlled(tb))) => {
                if self.tie_breaker >= tb {
                    self.set_role(IceRole::Controlling);
                } else {
                    return self.respond_error(
                        transport,
                        receive,
                        msg,
                        &key,
                        ErrorCode::ROLE_CONFLICT,
                    );
                }
            }
            (_, None, None) => {
                return self.respond_error(transport, receive, msg, &key, ErrorCode::BAD_REQUEST)
            }
            _ => {}
        }
        self.respond_success(transport, receive, msg, &key);
        if previous_generation {
            if let Some(p) = self.previous.as_mut().and_then(|g| g.pair.as_mut()) {
                if p.is(receive.local, receive.source, transport) {
                    p.last_received = Some(now);
                }
            }
            return Received::Stun;
        }
        if let Some(r) = &self.remote {
            if !theirs.is_empty() && theirs != r.ufrag {
                // A check from a generation we do not know yet: answered, no state.
                return Received::Stun;
            }
        }
        // Find or learn the remote candidate (peer-reflexive, RFC 8445 §7.3.1.3).
        let remote_idx = match self
            .remotes
            .iter()
            .position(|r| r.addr == receive.source && r.candidate.transport == transport)
        {
            Some(i) => i,
            None => {
                if self.remotes.len() >= self.config.max_remote_candidates {
                    return Received::Stun;
                }
                let foundation = format!("{}", self.rng.next_u32());
                let candidate = Candidate {
                    foundation,
                    component: self.config.component,
                    transport,
                    priority,
                    address: CandidateAddress::Ip(receive.source.ip()),
                    port: receive.source.port(),
                    kind: CandidateKind::PeerReflexive,
                    related: None,
                    tcp_type: match (transport, self.locals[local_idx].candidate.tcp_type) {
                        // Over TCP the peer's candidate is the opposite of ours (RFC 6544 §7.1).
                        (TransportProtocol::Tcp, Some(TcpType::Passive)) => Some(TcpType::Active),
                        (TransportProtocol::Tcp, Some(TcpType::Active)) => Some(TcpType::Passive),
                        (TransportProtocol::Tcp, other) => other,
                        (TransportProtocol::Udp, _) => None,
                    },
                    generation: None,
                    ufrag: self.remote.as_ref().map(|r| r.ufrag.clone()),
                    network_id: None,
                    network_cost: None,
                    extensions: Vec::new(),
                    transport_upper_case: false,
                };
                tracing::debug!(source = %receive.source, "learned a peer-reflexive remote candidate");
                self.remotes.push(RemoteCandidate {
                    candidate,
                    addr: receive.source,
                });
                self.remotes.len() - 1
            }
        };
        let pair_idx = match self
            .pairs
            .iter()
            .position(|p| p.local == local_idx && p.remote == remote_idx)
        {
            Some(i) => i,
            None => match self.add_pair(local_idx, remote_idx) {
                Some(i) => i,
                None => return Received::Stun,
            },
        };
        let lite = self.config.lite;
        let p = &mut self.pairs[pair_idx];
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
                    if !self.triggered.contains(&pair_idx) {
                        self.triggered.push_back(pair_idx);
                    }
                }
                _ => {
                    p.state = PairState::Waiting;
                    if !self.triggered.contains(&pair_idx) {
                        self.triggered.push_back(pair_idx);
                    }
                }
            }
        }
        if use_candidate && self.role == IceRole::Controlled {
            let p = &mut self.pairs[pair_idx];
            if p.is_valid() {
                if p.nominated_at.is_none() {
                    tracing::debug!(remote = %p.remote_addr, "pair nominated by the controlling agent");
                }
                p.nominated_at = Some(now);
            } else {
                p.nominate_on_success = true;
            }
        }
        Received::Stun
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
