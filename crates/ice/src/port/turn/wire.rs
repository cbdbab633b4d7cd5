//! What goes over the wire to the TURN server: requests (Allocate,
//! Refresh, CreatePermission, ChannelBind) encoded with the long-term
//! credential and sent through the request manager, what their answers do
//! (success, 401/438 challenges, failure), the keepalive, and the server's
//! STUN messages and ChannelData coming in.

use super::*;
use stun::attributes::{PasswordAlgorithmAttr, PasswordAlgorithmEntry, PasswordAlgorithms};
use stun::integrity::SecurityFeatures;

/// A request kind, kept with its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Request {
    Allocate,
    Refresh { lifetime: u32 },
    CreatePermission { ip: IpAddr },
    ChannelBind { peer: SocketAddr, channel: u16 },
}

#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) request: Request,
    /// 401/438 retries so far.
    pub(super) retries: u8,
    /// The nonce the request carried (`None`: unauthenticated).
    pub(super) nonce: Option<String>,
    /// First transmission; lifetimes are counted from here (conservatively).
    pub(super) sent_at: Instant,
}

/// The password algorithm agreed with a server that offers a choice (RFC 8489 §9.2).
#[derive(Debug, Clone)]
pub(super) struct NegotiatedAlgorithm {
    algorithm: PasswordAlgorithm,
    /// PASSWORD-ALGORITHMS as the server sent it: echoed in every request so
    /// the server can tell nobody removed an algorithm on the way.
    offered: Vec<u8>,
}

/// Longest PASSWORD-ALGORITHMS kept (a server offers a handful of 4-byte entries).
const MAX_PASSWORD_ALGORITHMS: usize = 256;

impl TurnClient {
    pub(super) fn receive_channel_data<'a>(&mut self, data: &'a [u8]) -> TurnReceived<'a> {
        let cd = match ChannelData::parse(data) {
            Ok(cd) => cd,
            Err(e) => {
                tracing::trace!(error = %e, "turn: malformed ChannelData dropped");
                return TurnReceived::Consumed;
            }
        };
        let Some(&peer) = self.channel_peers.get(&cd.channel) else {
            tracing::trace!(
                channel = cd.channel,
                "turn: ChannelData on an unknown channel dropped"
            );
            return TurnReceived::Consumed;
        };
        // Traffic keeps the channel and permission alive, unless the
        // permission was removed on purpose.
        if let Some(p) = self.permissions.get_mut(&peer.ip()) {
            p.used = true;
            if let Some(c) = self.channels.get_mut(&peer) {
                c.used = true;
            }
        }
        TurnReceived::Data {
            peer,
            data: cd.data,
        }
    }

    pub(super) fn receive_stun<'a>(&mut self, now: Instant, data: &'a [u8]) -> TurnReceived<'a> {
        let Ok(msg) = Message::parse(data) else {
            return TurnReceived::NotMine;
        };
        match msg.class() {
            Class::SuccessResponse | Class::ErrorResponse => {
                if !self.pending.contains_key(&msg.transaction_id()) {
                    // Another port's transaction on a shared socket, or a late duplicate.
                    return TurnReceived::NotMine;
                }
                self.requests.handle_response(now, &msg);
                self.drain_request_events(now);
                TurnReceived::Consumed
            }
            Class::Indication if msg.method() == Method::DATA => {
                if msg.verify_fingerprint_if_present().is_err() {
                    return TurnReceived::Consumed;
                }
                let (Ok(Some(XorPeerAddress(peer))), Ok(Some(Data(payload)))) =
                    (msg.get::<XorPeerAddress>(), msg.get::<Data<'a>>())
                else {
                    tracing::trace!(
                        "turn: Data indication without XOR-PEER-ADDRESS or DATA dropped"
                    );
                    return TurnReceived::Consumed;
                };
                // RFC 8656 §11.6: only from peers we believe have a permission.
                let Some(p) = self.permissions.get_mut(&peer.ip()) else {
                    tracing::trace!(%peer, "turn: Data indication from a peer without permission dropped");
                    return TurnReceived::Consumed;
                };
                p.used = true;
                if let Some(c) = self.channels.get_mut(&peer) {
                    c.used = true;
                }
                TurnReceived::Data {
                    peer,
                    data: payload,
                }
            }
            _ => TurnReceived::NotMine,
        }
    }

    pub(super) fn next_tid(&mut self) -> TransactionId {
        let mut id = [0u8; 12];
        self.rng.fill_bytes(&mut id);
        TransactionId(id)
    }

    pub(super) fn encode_request(
        &self,
        buf: &mut [u8],
        tid: TransactionId,
        request: &Request,
    ) -> Result<usize, stun::Error> {
        let method = match request {
            Request::Allocate => Method::ALLOCATE,
            Request::Refresh { .. } => Method::REFRESH,
            Request::CreatePermission { .. } => Method::CREATE_PERMISSION,
            Request::ChannelBind { .. } => Method::CHANNEL_BIND,
        };
        let mut b = MessageBuilder::new(buf, Class::Request, method, tid)?;
        match request {
            Request::Allocate => {
                b.add(&RequestedTransport::UDP)?;
                let family = self
                    .config
                    .relay_family
                    .unwrap_or(if self.config.server.is_ipv6() {
                        AddressFamily::V6
                    } else {
                        AddressFamily::V4
                    });
                // IPv4 is the default: the attribute only when asking otherwise.
                if family == AddressFamily::V6 {
                    b.add(&stun::attributes::RequestedAddressFamily(family))?;
                }
                let secs = self.config.lifetime.as_secs().clamp(1, u32::MAX as u64) as u32;
                b.add(&Lifetime(secs))?;
                if self.config.dont_fragment {
                    b.add(&DontFragment)?;
                }
            }
            Request::Refresh { lifetime } => {
                b.add(&Lifetime(*lifetime))?;
            }
            Request::CreatePermission { ip } => {
                b.add(&XorPeerAddress(SocketAddr::new(*ip, 0)))?;
            }
            Request::ChannelBind { peer, channel } => {
                b.add(&ChannelNumber(*channel))?;
                b.add(&XorPeerAddress(*peer))?;
            }
        }
        if let Some(software) = &self.config.software {
            b.add(&Software(software))?;
        }
        if let (Some(key), Some(realm), Some(nonce)) = (&self.key, &self.realm, &self.nonce) {
            b.add(&Username(&self.config.username))?;
            b.add(&Realm(realm))?;
            b.add(&Nonce(nonce))?;
            match &self.negotiated {
                Some(n) => {
                    b.add(&PasswordAlgorithms::Wire(&n.offered))?;
                    b.add(&PasswordAlgorithmAttr(PasswordAlgorithmEntry {
                        algorithm: n.algorithm.number(),
                        parameters: &[],
                    }))?;
                    b.add_message_integrity_sha256(key)?;
                }
                None => {
                    b.add_message_integrity(key)?;
                }
            }
        }
        b.add_fingerprint()?;
        Ok(b.finish())
    }

    pub(super) fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        retries: u8,
    ) -> Result<TransactionId, TurnError> {
        let tid = self.next_tid();
        let mut buf = vec![0u8; REQUEST_BUF];
        let n = self.encode_request(&mut buf, tid, &request)?;
        self.requests.send(
            now,
            &buf[..n],
            self.config.server,
            match self.config.transport.protocol() {
                TransportProtocol::Udp => Transport::Udp,
                TransportProtocol::Tcp => Transport::Tcp,
            },
            self.key.clone(),
        )?;
        tracing::debug!(?request, transaction_id = %tid, retries, "turn: request sent");
        self.pending.insert(
            tid,
            Pending {
                request,
                retries,
                nonce: self.key.as_ref().and(self.nonce.clone()),
                sent_at: now,
            },
        );
        self.flush_requests(now);
        Ok(tid)
    }

    pub(super) fn flush_requests(&mut self, now: Instant) {
        let mut sent = false;
        while let Some(t) = self.requests.poll_transmit() {
            self.transmits.push_back(Transmit {
                transport: self.config.transport.protocol(),
                source: self.local,
                destination: t.destination,
                contents: t.contents,
            });
            sent = true;
        }
        if sent {
            self.note_sent(now);
        }
    }

    pub(super) fn note_sent(&mut self, now: Instant) {
        if self.state == TurnState::Allocated {
            self.keepalive_at = self.config.keepalive.map(|k| now + k);
        }
    }

    pub(super) fn send_keepalive(&mut self, now: Instant) {
        let mut buf = [0u8; 28];
        let tid = self.next_tid();
        let n = MessageBuilder::new(&mut buf, Class::Indication, Method::BINDING, tid).and_then(
            |mut b| {
                b.add_fingerprint()?;
                Ok(b.finish())
            },
        );
        match n {
            Ok(n) => {
                tracing::trace!(server = %self.config.server, "turn: keepalive");
                self.transmits.push_back(Transmit {
                    transport: self.config.transport.protocol(),
                    source: self.local,
                    destination: self.config.server,
                    contents: Bytes::copy_from_slice(&buf[..n]),
                });
                self.note_sent(now);
            }
            Err(e) => {
                tracing::warn!(error = %e, "turn: cannot build keepalive");
                self.keepalive_at = None;
            }
        }
    }

    pub(super) fn drain_request_events(&mut self, now: Instant) {
        while let Some(event) = self.requests.poll_event() {
            match event {
                RequestEvent::Success {
                    transaction_id,
                    response,
                    ..
                } => {
                    if let Some(p) = self.pending.remove(&transaction_id) {
                        self.on_success(now, p, &response);
                    }
                }
                RequestEvent::Error {
                    transaction_id,
                    code,
                    response,
                    ..
                } => {
                    if let Some(p) = self.pending.remove(&transaction_id) {
                        self.on_error(now, p, code, &response);
                    }
                }
                RequestEvent::Timeout { transaction_id, .. } => {
                    if let Some(p) = self.pending.remove(&transaction_id) {
                        tracing::debug!(request = ?p.request, "turn: request timed out");
                        self.on_failure(now, p, None);
                    }
                }
                // Variants a newer stun may add: nothing to do.
                _ => {}
            }
        }
    }

    pub(super) fn on_success(&mut self, now: Instant, p: Pending, response: &[u8]) {
        let Ok(msg) = Message::parse(response) else {
            self.on_failure(now, p, None);
            return;
        };
        match p.request {
            Request::Allocate => {
                if self.state != TurnState::Allocating {
                    return;
                }
                let Ok(Some(XorRelayedAddress(relayed))) = msg.get::<XorRelayedAddress>() else {
                    tracing::warn!("turn: Allocate success without XOR-RELAYED-ADDRESS");
                    self.on_failure(now, p, None);
                    return;
                };
                let mapped = msg.get::<XorMappedAddress>().ok().flatten().map(|a| a.0);
                let lifetime = msg
                    .get::<Lifetime>()
                    .ok()
                    .flatten()
                    .map_or(self.config.lifetime, |l| Duration::from_secs(l.0.into()));
                tracing::info!(%relayed, ?mapped, ?lifetime, server = %self.config.server, "turn: allocated");
                self.state = TurnState::Allocated;
                self.relayed = Some(relayed);
                self.mapped = mapped;
                self.set_lifetime(now, p.sent_at, lifetime);
                self.note_sent(now);
                self.events.push_back(TurnEvent::Allocated {
                    relayed,
                    mapped,
                    lifetime,
                });
            }
            Request::Refresh { lifetime: 0 } => self.finish_close(),
            Request::Refresh { lifetime } => {
                if self.state != TurnState::Allocated {
                    return;
                }
                let granted = msg
                    .get::<Lifetime>()
                    .ok()
                    .flatten()
                    .map_or(Duration::from_secs(lifetime.into()), |l| {
                        Duration::from_secs(l.0.into())
                    });
                if granted.is_zero() {
                    self.lose_allocation(None);
                    return;
                }
                tracing::debug!(lifetime = ?granted, "turn: refreshed");
                self.set_lifetime(now, p.sent_at, granted);
                self.events
                    .push_back(TurnEvent::Refreshed { lifetime: granted });
            }
            Request::CreatePermission { ip } => {
                if let Some(perm) = self.permissions.get_mut(&ip) {
                    perm.in_flight = false;
                }
                self.permission_installed(now, ip, p.sent_at);
            }
            Request::ChannelBind { peer, channel } => {
                let Some(c) = self.channels.get_mut(&peer) else {
                    return;
                };
                c.in_flight = false;
                if c.number != channel {
                    return;
                }
                let was_bound = c.bound(now);
                c.bound_until = Some(p.sent_at + CHANNEL_LIFETIME);
                c.refresh_at = Some(p.sent_at + CHANNEL_REFRESH);
                c.retry_at = None;
                c.release_at = None;
                if !was_bound {
                    tracing::debug!(%peer, channel, "turn: channel bound");
                    self.events
                        .push_back(TurnEvent::ChannelBound { peer, channel });
                }
                // ChannelBind installs or refreshes the peer's permission too.
                self.permission_installed(now, peer.ip(), p.sent_at);
            }
        }
    }

    pub(super) fn set_lifetime(&mut self, now: Instant, sent_at: Instant, lifetime: Duration) {
        self.lifetime = lifetime;
        self.expires_at = Some(sent_at + lifetime);
        // libwebrtc: one minute before expiry, or at half the lifetime when it is short.
        let delay = if lifetime < Duration::from_secs(120) {
            lifetime / 2
        } else {
            lifetime - Duration::from_secs(60)
        };
        self.refresh_at = Some(now + delay);
    }

    pub(super) fn on_error(&mut self, now: Instant, p: Pending, code: u16, response: &[u8]) {
        if code == 300 && matches!(p.request, Request::Allocate) {
            if let Some(alternate) = self.alternate_server(&p, response) {
                tracing::info!(from = %self.config.server, to = %alternate, "turn: 300, trying the alternate server");
                self.redirected_from = Some(self.config.server);
                self.config.server = alternate;
                // A new server: its own challenge, realm and nonce.
                self.realm = None;
                self.nonce = None;
                self.key = None;
                self.negotiated = None;
                if let Err(e) = self.send_request(now, Request::Allocate, 0) {
                    tracing::warn!(error = %e, "turn: allocate to the alternate server failed");
                    self.on_failure(now, p, Some(code));
                }
                return;
            }
        }
        if (code == 401 || code == 438) && self.absorb_challenge(&p, code, response) {
            let retries = p.retries + 1;
            tracing::debug!(code, request = ?p.request, "turn: retrying with new credentials");
            if let Err(e) = self.send_request(now, p.request.clone(), retries) {
                tracing::warn!(error = %e, "turn: retry failed");
                self.on_failure(now, p, Some(code));
            }
            return;
        }
        tracing::debug!(code, request = ?p.request, "turn: error response");
        self.on_failure(now, p, Some(code));
    }

    /// The ALTERNATE-SERVER of a 300 we may follow: the first redirect, over
    /// UDP, same address family, not the server we are on. (To an
    /// authenticated request the response's integrity was checked already;
    /// to the first request it cannot be signed; see the module docs.)
    fn alternate_server(&self, _p: &Pending, response: &[u8]) -> Option<SocketAddr> {
        if self.redirected_from.is_some()
            || self.config.transport.protocol() != TransportProtocol::Udp
        {
            return None;
        }
        let msg = Message::parse(response).ok()?;
        let stun::attributes::AlternateServer(alternate) = msg
            .get::<stun::attributes::AlternateServer>()
            .ok()
            .flatten()?;
        (alternate.is_ipv4() == self.config.server.is_ipv4() && alternate != self.config.server)
            .then_some(alternate)
    }

    /// Takes REALM and NONCE from a 401/438; true when the request should be
    /// re-sent with them.
    pub(super) fn absorb_challenge(&mut self, p: &Pending, code: u16, response: &[u8]) -> bool {
        if p.retries >= MAX_AUTH_RETRIES {
            return false;
        }
        let Ok(msg) = Message::parse(response) else {
            return false;
        };
        let Ok(Some(Nonce(nonce))) = msg.get::<Nonce<'_>>() else {
            return false;
        };
        let realm = msg.get::<Realm<'_>>().ok().flatten().map(|r| r.0);
        let realm = match (realm, self.realm.as_deref()) {
            (Some(r), _) => r,
            (None, Some(r)) if code == 438 => r,
            _ => return false,
        };
        if code == 401 && p.nonce.as_deref() == Some(nonce) && self.realm.as_deref() == Some(realm)
        {
            // The credentials we sent were rejected as they were: wrong username or password.
            return false;
        }
        let negotiated = match self.negotiate_algorithm(&msg, nonce) {
            Ok(n) => n,
            Err(why) => {
                tracing::warn!(code, why, "turn: not retrying the challenge");
                return false;
            }
        };
        let algorithm = negotiated
            .as_ref()
            .map_or(PasswordAlgorithm::Md5, |n| n.algorithm);
        let same_algorithm = self.negotiated.as_ref().map(|n| n.algorithm)
            == negotiated.as_ref().map(|n| n.algorithm);
        if self.key.is_none() || self.realm.as_deref() != Some(realm) || !same_algorithm {
            match IntegrityKey::long_term(
                &self.config.username,
                realm,
                &self.config.password,
                algorithm,
            ) {
                Ok(key) => self.key = Some(key),
                Err(e) => {
                    tracing::warn!(error = %e, "turn: cannot derive the long-term key");
                    return false;
                }
            }
            self.realm = Some(realm.to_owned());
        }
        self.negotiated = negotiated;
        self.nonce = Some(nonce.to_owned());
        true
    }

    /// RFC 8489 §9.2.5: what a challenge says about the password algorithm.
    /// `Ok(None)`: an RFC 5389 server (MD5, MESSAGE-INTEGRITY); `Err`: the
    /// client must not retry.
    fn negotiate_algorithm(
        &self,
        challenge: &Message<'_>,
        nonce: &str,
    ) -> Result<Option<NegotiatedAlgorithm>, &'static str> {
        let announced = SecurityFeatures::from_nonce(nonce).is_some_and(|f| f.password_algorithms);
        if !announced {
            if self.negotiated.is_some() {
                // Once a server offered the choice, one that no longer does is
                // someone else (or a forged 438): no silent fall back to MD5.
                return Err("the server stopped offering password algorithms (downgrade)");
            }
            return Ok(None);
        }
        let Ok(Some(PasswordAlgorithms::Wire(offered))) = challenge.get::<PasswordAlgorithms<'_>>()
        else {
            return Err(
                "the nonce cookie announces password algorithms but PASSWORD-ALGORITHMS is missing",
            );
        };
        if offered.len() > MAX_PASSWORD_ALGORITHMS {
            return Err("PASSWORD-ALGORITHMS is too long");
        }
        let algorithm = PasswordAlgorithms::Wire(offered)
            .iter()
            .filter(|e| e.parameters.is_empty())
            .find_map(|e| PasswordAlgorithm::from_number(e.algorithm))
            .ok_or("no password algorithm offered is known (MD5, SHA-256)")?;
        tracing::debug!(?algorithm, "turn: password algorithm chosen");
        Ok(Some(NegotiatedAlgorithm {
            algorithm,
            offered: offered.to_vec(),
        }))
    }

    pub(super) fn on_failure(&mut self, now: Instant, p: Pending, code: Option<u16>) {
        match p.request {
            Request::Allocate => {
                if self.state == TurnState::Allocating {
                    tracing::warn!(?code, server = %self.config.server, "turn: allocation failed");
                    self.state = TurnState::Failed;
                    self.clear_allocation();
                    self.events.push_back(TurnEvent::AllocationFailed { code });
                }
            }
            Request::Refresh { lifetime: 0 } => self.finish_close(),
            Request::Refresh { .. } => {
                if self.state != TurnState::Allocated {
                    return;
                }
                if code == Some(437) {
                    tracing::warn!("turn: server no longer has the allocation (437)");
                    self.lose_allocation(code);
                    return;
                }
                // Try again while time remains; expiry ends the allocation.
                if let Some(expires) = self.expires_at {
                    let left = expires.saturating_duration_since(now);
                    if left > Duration::from_secs(2) {
                        self.refresh_at = Some(now + REFRESH_RETRY.min(left / 2));
                    }
                }
            }
            Request::CreatePermission { ip } => {
                let Some(perm) = self.permissions.get_mut(&ip) else {
                    return;
                };
                perm.in_flight = false;
                if let Some(until) = perm.installed_until.filter(|t| now < *t) {
                    // A refresh failed; retry while the permission lasts.
                    if now + REFRESH_RETRY < until {
                        perm.refresh_at = Some(now + REFRESH_RETRY);
                        perm.used = true;
                    }
                } else {
                    tracing::debug!(%ip, ?code, "turn: CreatePermission failed");
                    perm.retry_at = Some(now + FAILED_RETRY);
                    self.events
                        .push_back(TurnEvent::PermissionFailed { peer: ip, code });
                }
            }
            Request::ChannelBind { peer, .. } => {
                let Some(c) = self.channels.get_mut(&peer) else {
                    return;
                };
                c.in_flight = false;
                if let Some(until) = c.bound_until.filter(|t| now < *t) {
                    if now + REFRESH_RETRY < until {
                        c.refresh_at = Some(now + REFRESH_RETRY);
                        c.used = true;
                    }
                } else {
                    tracing::debug!(%peer, ?code, "turn: ChannelBind failed");
                    c.retry_at = Some(now + FAILED_RETRY);
                    c.release_at = Some(now + FAILED_RETRY);
                    self.events
                        .push_back(TurnEvent::ChannelBindFailed { peer, code });
                }
            }
        }
    }
}
