//! The agent's public surface: what goes in (commands, datagrams, timeouts)
//! and what comes out (datagrams, events, timers, the route for data), with
//! the types they use.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use stun::{Class, IntegrityKey, Message, Method};

use super::outgoing::random_tid;
use super::{Credentials, IceAgent, IceConnectionState, IceRole, PairState, RemoteCandidate};
use crate::allocator::{GatheringState, LocalCandidate, LocalSocket, Transmit};
use crate::candidate::{
    Candidate, CandidateAddress, CandidateKind, NetworkType, TcpType, TransportProtocol,
};
use crate::error::Error;
use crate::port::TurnReceived;

/// What the agent reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IceEvent {
    /// A local candidate to signal to the peer.
    LocalCandidate(Candidate),
    /// The gathering state changed ([`GatheringState::Complete`] = end-of-candidates).
    GatheringStateChanged(GatheringState),
    /// The connection state changed.
    ConnectionStateChanged(IceConnectionState),
    /// Application data now travels on this pair.
    SelectedPairChanged {
        /// Our candidate.
        local: Candidate,
        /// The peer's.
        remote: Candidate,
    },
    /// A role conflict switched our role.
    RoleChanged(IceRole),
    /// These local candidates are gone with their address
    /// ([`IceAgent::remove_local_address`]): the peer may forget them
    /// (libwebrtc's candidates-removed signal).
    LocalCandidatesRemoved(Vec<Candidate>),
    /// A TURN server gave no relay candidate, or lost its allocation (W3C
    /// `icecandidateerror`): an error response, no answer, or a TCP or TLS
    /// connection that failed, e.g. on a certificate that is not trusted.
    CandidateError(crate::allocator::CandidateError),
    /// A remote candidate's mDNS `.local` name resolved and the candidate
    /// was added with this address. Reported by the tokio driver
    /// ([`IceTransport`](crate::driver::IceTransport)); the agent itself
    /// takes IP addresses only.
    MdnsResolved {
        /// The `.local` name the peer signalled.
        name: String,
        /// The address it resolved to, which the candidate now has.
        address: std::net::IpAddr,
    },
    /// A remote candidate's mDNS `.local` name did not resolve in time:
    /// the candidate is dropped, the agent goes on with the others.
    /// Reported by the tokio driver.
    MdnsUnresolved {
        /// The `.local` name the peer signalled.
        name: String,
    },
}

/// A datagram handed to the agent.
#[derive(Debug, Clone, Copy)]
pub struct Receive<'a> {
    /// The local socket it arrived on.
    pub local: SocketAddr,
    /// Who sent it.
    pub source: SocketAddr,
    /// The bytes.
    pub data: &'a [u8],
}

/// What the agent made of a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// STUN for ICE, handled.
    Stun,
    /// Application data from a peer address on a checked pair: pass
    /// `&datagram[range]` up (a sub-range when it came through a TURN relay).
    Data(std::ops::Range<usize>),
    /// Dropped: malformed, unauthenticated, or from an unknown source.
    Dropped,
}

/// Where application data goes: from `source` (a local socket) to `destination`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// The local socket (or TCP base) to send from.
    pub source: SocketAddr,
    /// The peer's address.
    pub destination: SocketAddr,
    /// UDP, or a TCP connection (RFC 6544) framed per RFC 4571.
    pub transport: TransportProtocol,
}

/// Where a datagram prepared in the caller's buffer goes
/// ([`IceAgent::send_in_place`]): send `buf[offset..offset + len]` from
/// `source` to `destination`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendTo {
    /// Our socket (or TCP base) to send from.
    pub source: SocketAddr,
    /// The peer's address, or the TURN server's on a relayed route.
    pub destination: SocketAddr,
    /// UDP, or TCP (an RFC 4571 frame on the pair's connection, or a message
    /// on the connection to a TURN server).
    pub transport: TransportProtocol,
    /// Where the datagram starts in the caller's buffer.
    pub offset: usize,
    /// Its length.
    pub len: usize,
}

impl SendTo {
    /// `offset..offset + len`.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len
    }

    /// The datagram in the buffer it was prepared in.
    pub fn datagram<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        &buf[self.range()]
    }
}

/// Room [`IceAgent::send_in_place`] needs before the data in the caller's
/// buffer (a TURN ChannelData header), and [`SEND_TAILROOM`] after it.
pub const SEND_HEADROOM: usize = crate::port::turn::RELAY_HEADROOM;

/// Room [`IceAgent::send_in_place`] needs after the data (ChannelData
/// padding to four bytes over a TCP connection to a TURN server).
pub const SEND_TAILROOM: usize = 3;

impl IceAgent {
    /// Our credentials, to signal to the peer.
    pub fn local_credentials(&self) -> &Credentials {
        &self.local
    }

    /// The peer's credentials, once set.
    pub fn remote_credentials(&self) -> Option<&Credentials> {
        self.remote.as_ref()
    }

    /// Our current role.
    pub fn role(&self) -> IceRole {
        self.role
    }

    /// The connection state.
    pub fn state(&self) -> IceConnectionState {
        self.state
    }

    /// The gathering state.
    pub fn gathering_state(&self) -> GatheringState {
        self.allocator.state()
    }

    /// True in ICE-lite mode.
    pub fn is_lite(&self) -> bool {
        self.config.lite
    }

    /// Local candidates gathered so far that pass the filter, with the current ufrag.
    pub fn local_candidates(&self) -> Vec<Candidate> {
        self.allocator
            .candidates()
            .iter()
            .filter(|c| self.config.candidate_filter.allows(c.candidate.kind))
            .map(|c| self.stamp(c.candidate.clone()))
            .collect()
    }

    /// Number of candidate pairs in the checklist.
    pub fn pair_count(&self) -> usize {
        self.pairs.len()
    }

    /// Number of remote candidates known (signalled and peer-reflexive).
    pub fn remote_candidate_count(&self) -> usize {
        self.remotes.len()
    }

    /// Number of connectivity checks in flight.
    pub fn checks_in_flight(&self) -> usize {
        self.checks.outstanding()
    }

    /// The selected pair as (local, remote) candidates.
    ///
    /// The local candidate is the one the path really uses (RFC 8445
    /// §7.2.5.3.2): when the peer saw our checks come from another address
    /// than the pair's local candidate (a NAT mapped us), it is our
    /// server-reflexive candidate with that address, or else a
    /// peer-reflexive one (its related address the base), so a direct path
    /// through a NAT is not mistaken for a host-to-host one. A relayed
    /// pair's local candidate stays the relay candidate.
    pub fn selected_pair(&self) -> Option<(Candidate, Candidate)> {
        let p = self.pairs.get(self.selected?)?;
        let local = &self.locals[p.local].candidate;
        let seen = p
            .mapped
            .filter(|m| local.kind != CandidateKind::Relay && local.socket_addr() != Some(*m));
        let local = match seen {
            None => local.clone(),
            Some(mapped) => self
                .allocator
                .candidates()
                .iter()
                .find(|c| c.base == p.base && c.candidate.socket_addr() == Some(mapped))
                .map(|c| c.candidate.clone())
                .unwrap_or_else(|| {
                    let mut prflx = Candidate::at(CandidateKind::PeerReflexive, mapped)
                        .with_foundation(local.foundation.clone());
                    prflx.component = local.component;
                    prflx.transport = local.transport;
                    prflx.related = Some((p.base.ip().into(), p.base.port()));
                    prflx
                }),
        };
        Some((self.stamp(local), self.remotes[p.remote].candidate.clone()))
    }

    /// Round-trip time measured on the selected pair.
    pub fn selected_rtt(&self) -> Option<Duration> {
        self.pairs.get(self.selected?)?.rtt
    }

    /// Where to send application data now: the selected pair while it has
    /// consent, else the previous generation's pair during an ICE restart.
    /// `None` when there is no consented pair: sending must stop (RFC 7675).
    pub fn route(&self) -> Option<Route> {
        if self.closed {
            return None;
        }
        if let Some(p) = self.selected.and_then(|id| self.pairs.get(id)) {
            if p.is_valid() {
                return Some(Route {
                    source: p.base,
                    destination: p.remote_addr,
                    transport: p.transport,
                });
            }
        }
        let p = self.previous.as_ref()?.pair.as_ref()?;
        p.is_valid().then_some(Route {
            source: p.base,
            destination: p.remote_addr,
            transport: p.transport,
        })
    }

    /// [`route`](Self::route) when data goes straight from one of our
    /// sockets (host, server-reflexive or peer-reflexive base), so a driver
    /// may send its own buffer on `source` without [`send`](Self::send)'s
    /// copy; `None` for a relayed route, whose data [`send`](Self::send) must
    /// wrap for the TURN server.
    pub fn direct_route(&self) -> Option<Route> {
        let r = self.route()?;
        let relayed = r.transport == TransportProtocol::Udp && self.allocator.is_relayed(r.source);
        (!relayed).then_some(r)
    }

    /// Wraps `data` for the selected route (copies it once; drivers that own
    /// buffers use [`IceAgent::direct_route`] instead). `now` times the TURN
    /// permission or channel a relayed route may need.
    pub fn send(&mut self, now: Instant, data: &[u8]) -> Result<Transmit, Error> {
        let r = self.route().ok_or(Error::NotConnected)?;
        if r.transport == TransportProtocol::Udp && self.allocator.is_relayed(r.source) {
            return self
                .allocator
                .relay_wrap(now, r.source, r.destination, data)
                .ok_or(Error::NotConnected);
        }
        Ok(Transmit {
            source: r.source,
            destination: r.destination,
            transport: r.transport,
            contents: Bytes::copy_from_slice(data),
        })
    }

    /// [`send`](Self::send) without a copy or an allocation: the data is
    /// already at `buf[SEND_HEADROOM..SEND_HEADROOM + len]` (`buf` has
    /// [`SEND_TAILROOM`] more bytes after it), and the returned [`SendTo`]
    /// says which part of `buf` to send where. On a direct route that is the
    /// data itself; on a TURN-relayed route with a bound channel the
    /// ChannelData header is written into the headroom. Only while a relayed
    /// route has no channel yet (its first packets) is the data copied into
    /// a Send indication, queued for [`poll_transmit`](Self::poll_transmit),
    /// and `Ok(None)` says so.
    ///
    /// [`Error::NotConnected`] without a consented pair,
    /// [`Error::BufferTooSmall`] when `buf` lacks the head- or tailroom.
    pub fn send_in_place(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        len: usize,
    ) -> Result<Option<SendTo>, Error> {
        if buf.len() < SEND_HEADROOM + len + SEND_TAILROOM {
            return Err(Error::BufferTooSmall);
        }
        let r = self.route().ok_or(Error::NotConnected)?;
        if r.transport == TransportProtocol::Udp && self.allocator.is_relayed(r.source) {
            if let Some((source, destination, transport, n)) =
                self.allocator
                    .relay_wrap_in_place(now, r.source, r.destination, buf, len)
            {
                return Ok(Some(SendTo {
                    source,
                    destination,
                    transport,
                    offset: 0,
                    len: n,
                }));
            }
            let data = &buf[SEND_HEADROOM..SEND_HEADROOM + len];
            let t = self
                .allocator
                .relay_wrap(now, r.source, r.destination, data)
                .ok_or(Error::NotConnected)?;
            self.transmits.push_back(t);
            return Ok(None);
        }
        Ok(Some(SendTo {
            source: r.source,
            destination: r.destination,
            transport: r.transport,
            offset: SEND_HEADROOM,
            len,
        }))
    }

    /// `c` with our current ufrag and generation, as it is signalled.
    pub(super) fn stamp(&self, c: Candidate) -> Candidate {
        c.with_ufrag(Some(self.local.ufrag.clone()))
            .with_generation(self.generation)
    }

    /// Adds a local UDP socket (bound to a concrete address, one per network):
    /// its host candidate, and server-reflexive candidates from the STUN servers.
    pub fn add_local_socket(&mut self, now: Instant, addr: SocketAddr, network_type: NetworkType) {
        let id = self.allocator.candidates().len() as u32 + 1;
        let rng = &mut self.rng;
        let mut tid = || random_tid(rng);
        self.allocator.add_socket(
            now,
            LocalSocket {
                addr,
                network_type,
                network_id: id,
            },
            &mut tid,
        );
        self.pump_allocator(now);
        self.process(now);
    }

    /// A local address went away (interface down, address deleted; the
    /// driver's network monitor tells): every candidate based on it, and the
    /// relay candidates allocated through it, are dropped at once, their
    /// pairs fail and their checks are cancelled. The agent then uses
    /// another valid pair if it has one (the controlling agent nominates
    /// it), goes on checking the others, or reports
    /// [`IceConnectionState::Failed`] when nothing is left, instead of
    /// waiting for consent to expire (RFC 7675's 30 s). Emits
    /// [`IceEvent::LocalCandidatesRemoved`] when something was dropped.
    pub fn remove_local_address(&mut self, now: Instant, ip: IpAddr) {
        let before: Vec<LocalCandidate> = self.allocator.candidates().to_vec();
        let bases = self.allocator.remove_address(ip);
        if bases.is_empty() || self.closed {
            return;
        }
        let removed: Vec<Candidate> = before
            .into_iter()
            .filter(|c| bases.contains(&c.base))
            .filter(|c| self.config.candidate_filter.allows(c.candidate.kind))
            .map(|c| self.stamp(c.candidate))
            .collect();
        tracing::info!(%ip, candidates = removed.len(), "local address gone: its pairs fail");
        for (l, local) in self.locals.iter().enumerate() {
            if bases.contains(&local.base) && !self.dead_locals.contains(&l) {
                self.dead_locals.push(l);
            }
        }
        let mut cancelled = Vec::new();
        for p in self.pairs.iter_mut() {
            if bases.contains(&p.base) {
                cancelled.extend(p.check.take());
                p.state = PairState::Failed;
                p.nominated_at = None;
                p.nominating = false;
                p.next_ping = None;
            }
        }
        for tid in cancelled {
            self.checks.cancel(&tid);
            self.in_flight.remove(&tid);
        }
        let pairs = &self.pairs;
        self.triggered
            .retain(|id| pairs.get(*id).is_some_and(|p| !bases.contains(&p.base)));
        if self
            .previous
            .as_ref()
            .and_then(|g| g.pair.as_ref())
            .is_some_and(|p| bases.contains(&p.base))
        {
            self.drop_previous();
        }
        if !removed.is_empty() {
            self.events
                .push_back(IceEvent::LocalCandidatesRemoved(removed));
        }
        self.process(now);
    }

    /// Adds a local TCP listener (RFC 6544 ICE-TCP): a passive candidate at its
    /// address and an active candidate on its IP. Frames on TCP connections
    /// go through [`IceAgent::handle_stream_frame`] and come out as
    /// [`Transmit`]s with [`TransportProtocol::Tcp`].
    pub fn add_local_tcp_listener(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        network_type: NetworkType,
    ) {
        let id = self.allocator.candidates().len() as u32 + 1;
        self.allocator.add_tcp_listener(LocalSocket {
            addr,
            network_type,
            network_id: id,
        });
        self.pump_allocator(now);
        self.process(now);
    }

    /// No more local sockets will be added; gathering completes when the STUN
    /// servers have answered or timed out.
    pub fn finish_local_sockets(&mut self, now: Instant) {
        self.allocator.finish_sockets();
        self.pump_allocator(now);
        self.process(now);
    }

    /// Sets the peer's credentials. New ones (a different ufrag) after a first
    /// set start a new remote generation: remote candidates and pairs are
    /// cleared, while the selected pair keeps carrying data until a new one is
    /// selected. Checks can start now: pairs already formed from remote
    /// candidates that came first are checked from `now` on.
    pub fn set_remote_credentials(&mut self, now: Instant, credentials: Credentials) {
        if let Some(old) = &self.remote {
            if old.ufrag == credentials.ufrag {
                return;
            }
            self.start_new_generation(false);
        }
        self.remote_key = Some(IntegrityKey::from_bytes(credentials.pwd.as_bytes()));
        self.remote_username = Some(format!("{}:{}", credentials.ufrag, self.local.ufrag));
        self.remote = Some(credentials);
        self.process(now);
    }

    /// The peer is an ICE-lite agent: we must be controlling (RFC 8445 §6.1.1).
    pub fn set_remote_ice_lite(&mut self, lite: bool) {
        self.remote_lite = lite;
        if lite && !self.config.lite && self.role != IceRole::Controlling {
            self.set_role(IceRole::Controlling);
        }
    }

    /// ICE restart (RFC 8445 §9): new local credentials and a new generation.
    /// The selected pair keeps carrying data until the new generation selects one.
    /// Signal the new credentials and candidates; the peer restarts too.
    pub fn restart(&mut self, now: Instant) {
        self.restart_with(now, None);
    }

    /// Takes over an agent that gathered ahead of its session (libwebrtc's
    /// `PortAllocator::TakePooledSession`, what W3C `iceCandidatePoolSize`
    /// asks for): our role and credentials become those of the session
    /// description, and every candidate gathered so far comes out again as
    /// [`IceEvent::LocalCandidate`] with the new ufrag, as for a fresh agent
    /// (same generation: nothing was signalled before). Only before the
    /// agent knows a peer (no remote credentials or candidates):
    /// [`Error::AlreadyInUse`] then, and nothing changes.
    pub fn adopt(&mut self, role: IceRole, credentials: Credentials) -> Result<(), Error> {
        if self.remote.is_some() || !self.remotes.is_empty() || !self.pairs.is_empty() {
            return Err(Error::AlreadyInUse);
        }
        self.role = role;
        self.local_key = IntegrityKey::from_bytes(credentials.pwd.as_bytes());
        self.local = credentials;
        // Drop the events of the pooled life (candidates with the old ufrag).
        self.events
            .retain(|e| !matches!(e, IceEvent::LocalCandidate(_)));
        for c in self.local_candidates() {
            self.events.push_back(IceEvent::LocalCandidate(c));
        }
        Ok(())
    }

    /// ICE restart with the new local credentials already chosen (those a
    /// session description carries; random when `None`). Otherwise as
    /// [`restart`](Self::restart).
    pub fn restart_with(&mut self, now: Instant, credentials: Option<Credentials>) {
        self.start_new_generation(true);
        if let Some(credentials) = credentials {
            self.local_key = IntegrityKey::from_bytes(credentials.pwd.as_bytes());
            if let Some(r) = &self.remote {
                self.remote_username = Some(format!("{}:{}", r.ufrag, credentials.ufrag));
            }
            self.local = credentials;
        }
        self.generation += 1;
        for c in self.local_candidates() {
            self.events.push_back(IceEvent::LocalCandidate(c));
        }
        self.update_state(now);
    }

    /// Adds a remote candidate (trickle). The agent takes IP addresses only:
    /// a candidate whose address is an mDNS `.local` name is refused with
    /// [`Error::UnusableCandidate`] and must be resolved first (the tokio
    /// driver does it with [`crate::mdns::MdnsResolver`]). TCP candidates
    /// of type simultaneous-open are refused.
    pub fn add_remote_candidate(
        &mut self,
        now: Instant,
        candidate: Candidate,
    ) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if candidate.component != self.config.component {
            return Err(Error::UnusableCandidate);
        }
        if candidate.transport == TransportProtocol::Tcp
            && !matches!(candidate.tcp_type, Some(TcpType::Active | TcpType::Passive))
        {
            // Simultaneous-open is not supported.
            return Err(Error::UnusableCandidate);
        }
        let addr = match candidate.address {
            CandidateAddress::Ip(ip) => SocketAddr::new(ip, candidate.port),
            CandidateAddress::Mdns(ref name) => {
                tracing::debug!(%name, "mDNS candidate refused: resolve the name first");
                return Err(Error::UnusableCandidate);
            }
        };
        if (addr.port() == 0 && candidate.tcp_type != Some(TcpType::Active))
            || addr.ip().is_unspecified()
            || addr.ip().is_multicast()
        {
            return Err(Error::UnusableCandidate);
        }
        if let (Some(u), Some(r)) = (&candidate.ufrag, &self.remote) {
            if *u != r.ufrag {
                // A candidate of another generation.
                return Err(Error::UnusableCandidate);
            }
        }
        if let Some(i) = self
            .remotes
            .iter()
            .position(|r| r.addr == addr && r.candidate.transport == candidate.transport)
        {
            // A signalled candidate replaces a peer-reflexive one learned earlier (RFC 8445 §7.3.1.3).
            if self.remotes[i].candidate.kind == CandidateKind::PeerReflexive {
                self.remotes[i].candidate = candidate;
                self.remote_candidate_replaced(i);
            }
            return Ok(());
        }
        if self.remotes.len() >= self.config.max_remote_candidates {
            return Err(Error::TooManyRemoteCandidates(
                self.config.max_remote_candidates,
            ));
        }
        self.remotes.push(RemoteCandidate { candidate, addr });
        let r = self.remotes.len() - 1;
        for l in 0..self.locals.len() {
            self.add_pair(l, r);
        }
        self.process(now);
        Ok(())
    }

    /// The peer will send no more candidates (end-of-candidates): lets the
    /// agent conclude Failed or Completed.
    pub fn end_of_remote_candidates(&mut self, now: Instant) {
        self.remote_end_of_candidates = true;
        self.update_state(now);
    }

    /// Closes the agent: no more checks, data or events but the state change;
    /// TURN allocations are released.
    pub fn close(&mut self, now: Instant) {
        self.closed = true;
        for tid in self.in_flight.keys().copied().collect::<Vec<_>>() {
            self.checks.cancel(&tid);
        }
        self.in_flight.clear();
        self.transmits.clear();
        // TURN allocations are released: the Refresh (LIFETIME 0) requests are
        // still returned by `poll_transmit`.
        self.allocator.close(now);
        self.set_state(IceConnectionState::Closed);
    }

    /// Handles one UDP datagram from a socket.
    pub fn handle_receive(&mut self, now: Instant, receive: Receive<'_>) -> Received {
        self.receive(now, TransportProtocol::Udp, receive)
    }

    /// Handles one RFC 4571 frame (without its length prefix) from a TCP
    /// connection. `receive.local` is the candidate base the connection
    /// belongs to: the listener's address for accepted connections, the
    /// active candidate's address (port 9) for connections the driver opened
    /// for a [`Transmit`]; `receive.source` is the peer's address.
    pub fn handle_stream_frame(&mut self, now: Instant, receive: Receive<'_>) -> Received {
        self.receive(now, TransportProtocol::Tcp, receive)
    }

    /// The driver's report that the TCP connection from `local` to `remote`
    /// (as in [`IceAgent::handle_stream_frame`]) failed to open, failed
    /// (`error` says why: I/O, or a TLS handshake to a TURN server) or was
    /// closed (`None`). A TURN allocation over it is lost, reported as
    /// [`IceEvent::CandidateError`]; ICE-TCP pairs notice through their
    /// checks and consent.
    pub fn handle_stream_closed(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        error: Option<crate::Error>,
    ) {
        if self.closed {
            return;
        }
        self.allocator
            .handle_stream_closed(now, local, remote, error);
        self.pump_allocator(now);
    }

    fn receive(
        &mut self,
        now: Instant,
        transport: TransportProtocol,
        receive: Receive<'_>,
    ) -> Received {
        if self.closed {
            return Received::Dropped;
        }
        if !self.dead_locals.is_empty()
            && self
                .dead_locals
                .iter()
                .any(|&l| self.locals[l].base == receive.local)
        {
            // A socket of an address that went away (a datagram the driver read
            // before closing it): nothing may bring its pairs back.
            return Received::Dropped;
        }
        {
            // TURN traffic from one of our servers (over UDP, or a TCP connection to it): control messages, or relayed data that
            // continues as if it had arrived on the relayed address.
            if let Some((relayed, outcome)) =
                self.allocator
                    .handle_turn_receive(now, receive.local, receive.source, receive.data)
            {
                return match outcome {
                    TurnReceived::Data { peer, data } => {
                        let offset = data.as_ptr() as usize - receive.data.as_ptr() as usize;
                        let inner = Receive {
                            local: relayed,
                            source: peer,
                            data,
                        };
                        match self.receive(now, TransportProtocol::Udp, inner) {
                            Received::Data(r) => Received::Data(r.start + offset..r.end + offset),
                            other => other,
                        }
                    }
                    _ => {
                        self.pump_allocator(now);
                        self.process(now);
                        Received::Stun
                    }
                };
            }
        }
        if stun::classify(receive.data) != stun::PacketKind::Stun {
            return if self.touch(now, transport, receive.local, receive.source) {
                Received::Data(0..receive.data.len())
            } else {
                Received::Dropped
            };
        }
        let Ok(msg) = Message::parse(receive.data) else {
            return Received::Dropped;
        };
        let outcome = match (msg.class(), msg.method()) {
            (Class::Request, Method::BINDING) => self.handle_check(now, transport, receive, &msg),
            (Class::SuccessResponse | Class::ErrorResponse, _) => {
                self.handle_stun_response(now, transport, receive, &msg)
            }
            (Class::Indication, Method::BINDING) => {
                // A keepalive (RFC 8445 §11): refreshes nothing but "received".
                self.touch(now, transport, receive.local, receive.source);
                Received::Stun
            }
            _ => Received::Dropped,
        };
        self.process(now);
        outcome
    }

    /// Runs timers: check pacing, retransmissions, keepalives, consent, gathering.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        {
            let rng = &mut self.rng;
            let mut tid = || random_tid(rng);
            self.allocator.handle_timeout(now, &mut tid);
        }
        self.pump_allocator(now);
        self.checks.handle_timeout(now);
        self.flush_checks();
        self.drain_check_events(now);
        self.process(now);
    }

    /// The next datagram to send. `now` times the TURN permission or channel
    /// a check from a relayed candidate may need.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        while let Some(t) = self.transmits.pop_front() {
            if t.transport == TransportProtocol::Udp && self.allocator.is_relayed(t.source) {
                // From a relayed address: wrap it for the TURN server, after the
                // permission or channel it may need (both in the allocator's queue).
                if let Some(w) =
                    self.allocator
                        .relay_wrap(now, t.source, t.destination, &t.contents)
                {
                    self.allocator.queue(w);
                }
                continue;
            }
            return Some(t);
        }
        self.allocator.poll_transmit()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<IceEvent> {
        self.events.pop_front()
    }

    /// When [`IceAgent::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let mut t: Option<Instant> = None;
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        consider(self.allocator.poll_timeout());
        consider(self.checks.poll_timeout());
        if self.can_check()
            && self.pairs.iter().any(|p| {
                matches!(p.state, PairState::Waiting | PairState::Frozen) && p.check.is_none()
            })
        {
            // Every input ends in `process`, which sends a due check and sets
            // the next one a Ta later; `None` means no pair can be checked
            // until an input unfreezes one, so there is nothing to wait for.
            consider(self.next_check_at);
        }
        for p in self
            .pairs
            .iter()
            .chain(self.previous.iter().filter_map(|g| g.pair.as_ref()))
        {
            if p.is_valid() {
                if p.check.is_none() && !self.config.lite {
                    consider(p.next_ping);
                }
                let last = if self.config.lite {
                    p.last_received
                } else {
                    p.last_response
                };
                consider(last.map(|l| l + self.config.consent_timeout));
            }
        }
        if self.role == IceRole::Controlling && !self.config.lite {
            consider(self.nomination_deadline());
        }
        t
    }
}
