//! libwebrtc's StunRequestManager as a sans-IO state machine.
//!
//! The manager keeps every outstanding request keyed by its transaction id,
//! retransmits on a timer (RFC 8489 §6.2.1, or libwebrtc's schedule), matches
//! responses, checks their integrity with the request's key, and reports
//! [`RequestEvent::Success`], [`RequestEvent::Error`] or [`RequestEvent::Timeout`].
//!
//! It owns no socket and reads no clock: every input carries `now`.
//! The driver loop is:
//!
//! 1. [`RequestManager::send`] a request (its first transmission is queued at once);
//! 2. drain [`RequestManager::poll_transmit`] onto the wire;
//! 3. sleep until [`RequestManager::poll_timeout`], then call [`RequestManager::handle_timeout`];
//! 4. on a datagram, parse it and call [`RequestManager::handle_response`];
//! 5. drain [`RequestManager::poll_event`].

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::error::Error;
use crate::integrity::IntegrityKey;
use crate::message::{Class, Message, TransactionId};

/// The transport a request travels on; decides between retransmitting
/// (unreliable) and a single send with a long timeout (reliable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: retransmitted.
    Udp,
    /// TCP: sent once.
    Tcp,
    /// TLS over TCP: sent once.
    Tls,
}

impl Transport {
    /// True for TCP and TLS.
    pub fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }
}

/// A datagram (or stream chunk) to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub destination: SocketAddr,
    /// On which transport.
    pub transport: Transport,
    /// The encoded request; cloning is a reference-count increment.
    pub contents: Bytes,
    /// The request's transaction id.
    pub transaction_id: TransactionId,
}

/// Retransmission schedule and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetransmitConfig {
    /// RTO before the first retransmission; doubles after each.
    pub initial_rto: Duration,
    /// Upper bound of the RTO (libwebrtc caps at 8 s; RFC 8489 has no cap).
    pub max_rto: Duration,
    /// Total transmissions over an unreliable transport (RFC 8489's Rc).
    pub max_transmissions: u32,
    /// Wait after the last transmission before timing out (RFC 8489's Rm × RTO).
    pub last_wait: Duration,
    /// Timeout over a reliable transport, where the request is sent once (RFC 8489's Ti).
    pub reliable_timeout: Duration,
    /// Most requests outstanding at once; `send` fails beyond it.
    pub max_outstanding: usize,
}

impl RetransmitConfig {
    /// RFC 8489 §6.2.1: RTO 500 ms doubling, Rc = 7, Rm = 16 (so 39.5 s in all);
    /// 39.5 s over reliable transports.
    pub fn rfc8489() -> RetransmitConfig {
        RetransmitConfig {
            initial_rto: Duration::from_millis(500),
            max_rto: Duration::MAX,
            max_transmissions: 7,
            last_wait: Duration::from_millis(16 * 500),
            reliable_timeout: Duration::from_millis(39_500),
            max_outstanding: 1024,
        }
    }

    /// libwebrtc's StunRequest schedule: 250 ms doubling, capped at 8 s,
    /// 9 transmissions, timing out 8 s after the last (39.75 s in all).
    pub fn libwebrtc() -> RetransmitConfig {
        RetransmitConfig {
            initial_rto: Duration::from_millis(250),
            max_rto: Duration::from_millis(8_000),
            max_transmissions: 9,
            last_wait: Duration::from_millis(8_000),
            reliable_timeout: Duration::from_millis(39_750),
            max_outstanding: 1024,
        }
    }
}

impl Default for RetransmitConfig {
    fn default() -> Self {
        RetransmitConfig::rfc8489()
    }
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestEvent {
    /// A success response arrived (and passed its integrity check when the request had a key).
    Success {
        /// The request's transaction id.
        transaction_id: TransactionId,
        /// Where the request went.
        destination: SocketAddr,
        /// The response bytes; parse with [`Message::parse`].
        response: Bytes,
        /// Round-trip time, when the request was answered before any retransmission (Karn).
        rtt: Option<Duration>,
    },
    /// An error response arrived.
    Error {
        /// The request's transaction id.
        transaction_id: TransactionId,
        /// Where the request went.
        destination: SocketAddr,
        /// The ERROR-CODE value (0 when the attribute is missing or malformed).
        code: u16,
        /// The response bytes.
        response: Bytes,
    },
    /// No acceptable response came in time.
    Timeout {
        /// The request's transaction id.
        transaction_id: TransactionId,
        /// Where the request went.
        destination: SocketAddr,
    },
}

impl RequestEvent {
    /// The transaction the event is about.
    pub fn transaction_id(&self) -> TransactionId {
        match self {
            RequestEvent::Success { transaction_id, .. }
            | RequestEvent::Error { transaction_id, .. }
            | RequestEvent::Timeout { transaction_id, .. } => *transaction_id,
        }
    }
}

#[derive(Debug)]
struct Outstanding {
    contents: Bytes,
    destination: SocketAddr,
    transport: Transport,
    key: Option<IntegrityKey>,
    first_sent: Instant,
    transmissions: u32,
    rto: Duration,
    next_at: Instant,
}

/// Outstanding STUN requests, their retransmissions and their responses.
#[derive(Debug)]
pub struct RequestManager {
    config: RetransmitConfig,
    requests: HashMap<TransactionId, Outstanding>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<RequestEvent>,
    unauthenticated_error_codes: Vec<u16>,
}

impl RequestManager {
    /// A manager with the given schedule.
    pub fn new(config: RetransmitConfig) -> RequestManager {
        RequestManager {
            config,
            requests: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            unauthenticated_error_codes: Vec::new(),
        }
    }

    /// Error codes accepted *without* integrity for requests that have a key.
    ///
    /// By default none: a response to an authenticated request that lacks a
    /// valid MESSAGE-INTEGRITY is discarded as if it never arrived (RFC 8489
    /// §9.1.4). A TURN client using long-term credentials may accept 400, 401,
    /// 420 and 438, which servers send when they cannot authenticate the request.
    pub fn set_unauthenticated_error_codes(&mut self, codes: &[u16]) {
        self.unauthenticated_error_codes = codes.to_vec();
    }

    /// The configuration.
    pub fn config(&self) -> &RetransmitConfig {
        &self.config
    }

    /// Number of outstanding requests.
    pub fn outstanding(&self) -> usize {
        self.requests.len()
    }

    /// True when `transaction_id` is outstanding.
    pub fn is_outstanding(&self, transaction_id: &TransactionId) -> bool {
        self.requests.contains_key(transaction_id)
    }

    /// Starts a request: `request` is an encoded STUN request (built with
    /// [`crate::MessageBuilder`]); its first transmission is queued now.
    /// With `key`, responses must carry valid integrity under that key.
    pub fn send(
        &mut self,
        now: Instant,
        request: &[u8],
        destination: SocketAddr,
        transport: Transport,
        key: Option<IntegrityKey>,
    ) -> Result<TransactionId, Error> {
        let msg = Message::parse(request)?;
        if msg.class() != Class::Request {
            return Err(Error::NotARequest);
        }
        let transaction_id = msg.transaction_id();
        if self.requests.contains_key(&transaction_id) {
            return Err(Error::DuplicateTransaction);
        }
        if self.requests.len() >= self.config.max_outstanding {
            return Err(Error::TooManyOutstanding(self.config.max_outstanding));
        }
        let contents = Bytes::copy_from_slice(request);
        let wait = if transport.is_reliable() {
            self.config.reliable_timeout
        } else if self.config.max_transmissions <= 1 {
            self.config.last_wait
        } else {
            self.config.initial_rto
        };
        self.transmits.push_back(Transmit {
            destination,
            transport,
            contents: contents.clone(),
            transaction_id,
        });
        tracing::trace!(%transaction_id, %destination, ?transport, "stun request sent");
        self.requests.insert(
            transaction_id,
            Outstanding {
                contents,
                destination,
                transport,
                key,
                first_sent: now,
                transmissions: 1,
                rto: self.config.initial_rto,
                next_at: now + wait,
            },
        );
        Ok(transaction_id)
    }

    /// Forgets a request without an event. Returns whether it was outstanding.
    pub fn cancel(&mut self, transaction_id: &TransactionId) -> bool {
        self.transmits
            .retain(|t| t.transaction_id != *transaction_id);
        self.requests.remove(transaction_id).is_some()
    }

    /// Stops retransmitting a request but keeps waiting for its response until
    /// its current timer runs out (then it times out as usual). ICE uses this
    /// when a triggered check replaces one in flight (RFC 8445 §7.3.1.4).
    /// Returns whether the request was outstanding.
    pub fn stop_retransmissions(&mut self, transaction_id: &TransactionId) -> bool {
        match self.requests.get_mut(transaction_id) {
            Some(req) => {
                req.transmissions = req.transmissions.max(self.config.max_transmissions);
                self.transmits
                    .retain(|t| t.transaction_id != *transaction_id);
                true
            }
            None => false,
        }
    }

    /// Retransmits and times out whatever is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let config = &self.config;
        let mut timed_out = Vec::new();
        for (tid, req) in self.requests.iter_mut() {
            if req.next_at > now {
                continue;
            }
            if req.transport.is_reliable() || req.transmissions >= config.max_transmissions {
                timed_out.push(*tid);
                continue;
            }
            req.rto = req.rto.saturating_mul(2).min(config.max_rto);
            req.transmissions += 1;
            let wait = if req.transmissions >= config.max_transmissions {
                config.last_wait
            } else {
                req.rto
            };
            req.next_at = now + wait;
            tracing::trace!(transaction_id = %tid, n = req.transmissions, "stun request retransmitted");
            self.transmits.push_back(Transmit {
                destination: req.destination,
                transport: req.transport,
                contents: req.contents.clone(),
                transaction_id: *tid,
            });
        }
        // Deterministic order of events regardless of hash order.
        timed_out.sort();
        for tid in timed_out {
            if let Some(req) = self.requests.remove(&tid) {
                tracing::debug!(transaction_id = %tid, destination = %req.destination, "stun request timed out");
                self.events.push_back(RequestEvent::Timeout {
                    transaction_id: tid,
                    destination: req.destination,
                });
            }
        }
    }

    /// Offers a parsed message as a response. Returns true when it completed
    /// an outstanding request (an event is queued); false when it was not a
    /// response, matched nothing (late or duplicate), or failed its checks
    /// (then the request keeps waiting, as if the response never came).
    pub fn handle_response(&mut self, now: Instant, response: &Message<'_>) -> bool {
        if !response.class().is_response() {
            return false;
        }
        let tid = response.transaction_id();
        let Some(req) = self.requests.get(&tid) else {
            tracing::trace!(transaction_id = %tid, "response matches no outstanding request");
            return false;
        };
        if response.verify_fingerprint_if_present().is_err() {
            tracing::debug!(transaction_id = %tid, "response with a bad FINGERPRINT ignored");
            return false;
        }
        let code = if response.class() == Class::ErrorResponse {
            Some(
                response
                    .get::<crate::attributes::ErrorCode<'_>>()
                    .ok()
                    .flatten()
                    .map_or(0, |e| e.code),
            )
        } else {
            None
        };
        if let Some(key) = &req.key {
            let authenticated = response.verify_integrity(key).is_ok();
            let excused = !response.has_integrity()
                && code.is_some_and(|c| self.unauthenticated_error_codes.contains(&c));
            if !authenticated && !excused {
                tracing::debug!(transaction_id = %tid, "response failing integrity ignored");
                return false;
            }
        }
        let req = self.requests.remove(&tid).expect("looked up above");
        self.transmits.retain(|t| t.transaction_id != tid);
        let bytes = Bytes::copy_from_slice(response.as_bytes());
        let event = match code {
            None => RequestEvent::Success {
                transaction_id: tid,
                destination: req.destination,
                response: bytes,
                rtt: (req.transmissions == 1)
                    .then(|| now.saturating_duration_since(req.first_sent)),
            },
            Some(code) => RequestEvent::Error {
                transaction_id: tid,
                destination: req.destination,
                code,
                response: bytes,
            },
        };
        self.events.push_back(event);
        true
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<RequestEvent> {
        self.events.pop_front()
    }

    /// When [`RequestManager::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.requests.values().map(|r| r.next_at).min()
    }
}
