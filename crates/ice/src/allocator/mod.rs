//! Port allocation: libwebrtc's PortAllocatorSession, AllocationSequence and
//! UDPPort/StunPort, sans-IO.
//!
//! The driver owns the sockets: it tells the session about each local UDP
//! socket ([`PortAllocatorSession::add_socket`]), one per network, and the
//! session gathers on it in phases, as libwebrtc's AllocationSequence does:
//!
//! 1. **UDP**: the host candidate of the socket, then one server-reflexive
//!    candidate per configured STUN server, learned with a Binding request
//!    sent through a [`stun::RequestManager`] (libwebrtc's retransmit schedule)
//!    and re-sent as a keepalive so the NAT binding stays open.
//! 2. **Relay**: one [`TurnClient`] (libwebrtc's TurnPort) per configured
//!    TURN server, allocating from the same socket; the relayed address
//!    becomes a relay candidate (related address: the mapped address). The
//!    session then wraps what the agent sends from a relayed address
//!    ([`PortAllocatorSession::relay_wrap`]) and unwraps what arrives
//!    ([`PortAllocatorSession::handle_turn_receive`]).
//! 3. **TCP**: [`PortAllocatorSession::add_tcp_listener`] adds RFC 6544
//!    passive and active candidates for a listener the driver owns.
//!
//! Gathering is complete when every socket's phases are done and the driver
//! has said no more sockets will come ([`PortAllocatorSession::finish_sockets`]).

mod sequence;

pub use sequence::{AllocationPhase, AllocationSequence};

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use stun::{Message, RequestEvent, RequestManager, RetransmitConfig, TransactionId};

use crate::candidate::{Candidate, CandidateKind, NetworkType, TcpType, TransportProtocol};
use crate::port::{TurnClient, TurnConfig, TurnEvent, TurnReceived, TurnTlsConfig, TurnTransport};

/// Which local candidates are gathered and signalled (libwebrtc's CandidateFilter /
/// W3C `iceTransportPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CandidateFilter {
    /// Every type.
    #[default]
    All,
    /// Everything but host candidates (hides local addresses).
    NoHost,
    /// Relay candidates only (`iceTransportPolicy: "relay"`).
    RelayOnly,
}

impl CandidateFilter {
    /// True when candidates of `kind` pass the filter.
    pub fn allows(self, kind: CandidateKind) -> bool {
        match self {
            CandidateFilter::All => true,
            CandidateFilter::NoHost => kind != CandidateKind::Host,
            CandidateFilter::RelayOnly => kind == CandidateKind::Relay,
        }
    }
}

/// Gathering state (W3C RTCIceGatheringState).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GatheringState {
    /// Nothing gathered yet.
    New,
    /// Gathering is under way.
    Gathering,
    /// Every phase of every sequence has finished.
    Complete,
}

/// A local socket handed to the allocator by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalSocket {
    /// The address it is bound to (not a wildcard).
    pub addr: SocketAddr,
    /// The kind of network it is on.
    pub network_type: NetworkType,
    /// libwebrtc-style network id (advertised as `network-id`).
    pub network_id: u32,
}

impl LocalSocket {
    /// `c` as gathered on this socket: generation 0, this socket's
    /// `network-id` and its network type's `network-cost`.
    pub(crate) fn stamp(&self, c: Candidate) -> Candidate {
        c.with_generation(0)
            .with_network(self.network_id, self.network_type.cost())
    }
}

/// A gathered local candidate and the socket it is sent from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCandidate {
    /// The candidate as signalled.
    pub candidate: Candidate,
    /// The socket address packets for this candidate are sent from (its base).
    pub base: SocketAddr,
    /// The network type of the base.
    pub network_type: NetworkType,
}

/// A datagram to send from one of the driver's sockets, or (for
/// [`TransportProtocol::Tcp`]) one RFC 4571 frame on a TCP connection.
///
/// For TCP, `source` is the local candidate's base as the agent knows it: a
/// passive candidate's listener address, or an active candidate's address
/// with port 9. The driver keeps the connection for (`source`, `destination`),
/// opening one for an active base when there is none yet, and adds the
/// two-byte length prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The local socket (or TCP base) to send from.
    pub source: SocketAddr,
    /// Where to.
    pub destination: SocketAddr,
    /// UDP datagram or TCP frame.
    pub transport: TransportProtocol,
    /// The bytes (without framing).
    pub contents: Bytes,
}

/// What the allocator session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // a handful per session; boxing buys nothing
#[non_exhaustive]
pub enum AllocatorEvent {
    /// A new local candidate (already filtered).
    Candidate(LocalCandidate),
    /// The gathering state changed.
    GatheringState(GatheringState),
    /// A TURN server gave no relay candidate (W3C `icecandidateerror`).
    CandidateError(CandidateError),
}

/// Why a TURN server gave no relay candidate, or lost the one it gave (the
/// W3C RTCPeerConnectionIceErrorEvent's address, port, errorCode and
/// errorText): an error response to the Allocate, no answer, or a TCP or
/// TLS connection that failed (an untrusted certificate, for one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateError {
    /// The TURN server.
    pub server: SocketAddr,
    /// How it was reached: UDP, or TCP (also for TLS; see `tls`).
    pub transport: TransportProtocol,
    /// True when the server was reached over TLS.
    pub tls: bool,
    /// The STUN ERROR-CODE the server answered with, if it did.
    pub code: Option<u16>,
    /// What went wrong, for people.
    pub reason: String,
}

/// Configuration of a [`PortAllocatorSession`].
#[derive(Debug, Clone)]
pub struct AllocatorConfig {
    /// STUN servers for server-reflexive candidates. Empty by default: nothing
    /// leaves the machine unless the application configures a server.
    pub stun_servers: Vec<SocketAddr>,
    /// Which candidates are signalled.
    pub filter: CandidateFilter,
    /// Component id of the candidates.
    pub component: u16,
    /// Retransmission schedule of Binding requests to STUN servers.
    pub stun_retransmit: RetransmitConfig,
    /// Interval of keepalive Binding requests that hold NAT bindings open.
    pub stun_keepalive: Duration,
    /// TURN servers for relay candidates (none by default).
    pub turn_servers: Vec<TurnServerConfig>,
}

/// A TURN server and the long-term credentials for it.
#[derive(Clone, PartialEq, Eq)]
pub struct TurnServerConfig {
    /// Its address (reached over `transport`).
    pub server: SocketAddr,
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// UDP, a TCP connection to the server, or TLS over TCP with its
    /// settings (the relayed address is UDP in every case).
    pub transport: TurnTransport,
}

impl TurnServerConfig {
    /// A TURN server reached over UDP.
    pub fn udp(server: SocketAddr, username: &str, password: &str) -> TurnServerConfig {
        TurnServerConfig {
            server,
            username: username.to_owned(),
            password: password.to_owned(),
            transport: TurnTransport::Udp,
        }
    }

    /// A TURN server reached over TCP.
    pub fn tcp(server: SocketAddr, username: &str, password: &str) -> TurnServerConfig {
        TurnServerConfig {
            transport: TurnTransport::Tcp,
            ..TurnServerConfig::udp(server, username, password)
        }
    }

    /// A TURN server reached over TLS (`turns:`), with `tls`'s settings
    /// (certificate verification is on unless they turn it off).
    pub fn tls(
        server: SocketAddr,
        tls: TurnTlsConfig,
        username: &str,
        password: &str,
    ) -> TurnServerConfig {
        TurnServerConfig {
            transport: TurnTransport::Tls(tls),
            ..TurnServerConfig::udp(server, username, password)
        }
    }

    /// True when the server is reached over a TCP connection (plain or TLS),
    /// which carries STUN framing (RFC 8656 §3.1).
    pub fn is_stream(&self) -> bool {
        self.transport.is_stream()
    }
}

impl std::fmt::Debug for TurnServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnServerConfig")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// One TURN allocation from one local socket (libwebrtc's TurnPort).
#[derive(Debug)]
struct RelayPort {
    client: TurnClient,
    network_type: NetworkType,
    network_id: u32,
    /// Allocated or failed: the relay phase of this port is over.
    done: bool,
    /// A [`CandidateError`] was reported for the current failure.
    error_reported: bool,
}

impl Default for AllocatorConfig {
    fn default() -> Self {
        AllocatorConfig {
            stun_servers: Vec::new(),
            filter: CandidateFilter::All,
            component: 1,
            stun_retransmit: RetransmitConfig::libwebrtc(),
            stun_keepalive: Duration::from_secs(25),
            turn_servers: Vec::new(),
        }
    }
}

/// libwebrtc's BasicPortAllocatorSession: one [`AllocationSequence`] per local socket.
#[derive(Debug)]
pub struct PortAllocatorSession {
    config: AllocatorConfig,
    sequences: Vec<AllocationSequence>,
    requests: RequestManager,
    state: GatheringState,
    sockets_finished: bool,
    events: std::collections::VecDeque<AllocatorEvent>,
    transmits: std::collections::VecDeque<Transmit>,
    candidates: Vec<LocalCandidate>,
    software: &'static str,
    relays: Vec<RelayPort>,
}

impl PortAllocatorSession {
    /// A session with `config`.
    pub fn new(config: AllocatorConfig) -> PortAllocatorSession {
        let requests = RequestManager::new(config.stun_retransmit.clone());
        PortAllocatorSession {
            config,
            sequences: Vec::new(),
            requests,
            state: GatheringState::New,
            sockets_finished: false,
            events: Default::default(),
            transmits: Default::default(),
            candidates: Vec::new(),
            relays: Vec::new(),
            software: concat!("peerstack-ice ", env!("CARGO_PKG_VERSION")),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AllocatorConfig {
        &self.config
    }

    /// Every local candidate gathered so far, including filtered-out ones
    /// (their bases are still used for checks only if they pass the filter).
    pub fn candidates(&self) -> &[LocalCandidate] {
        &self.candidates
    }

    /// The gathering state.
    pub fn state(&self) -> GatheringState {
        self.state
    }

    /// Starts an AllocationSequence on a new local socket.
    pub fn add_socket(
        &mut self,
        now: Instant,
        socket: LocalSocket,
        tid_source: &mut dyn FnMut() -> TransactionId,
    ) {
        if self
            .sequences
            .iter()
            .any(|s| s.socket().addr == socket.addr)
        {
            return;
        }
        self.set_state(GatheringState::Gathering);
        let seq = AllocationSequence::new(socket, self.config.component, &self.config.stun_servers);
        let host = seq.host_candidate();
        let servers: Vec<SocketAddr> = seq.servers().collect();
        self.sequences.push(seq);
        self.push_candidate(host);
        for server in servers {
            self.send_binding(now, socket.addr, server, tid_source);
        }
        // Relay phase: one allocation per TURN server of the socket's family.
        for turn in self.config.turn_servers.clone() {
            if turn.server.is_ipv4() != socket.addr.is_ipv4() {
                continue;
            }
            let seed = u64::from_be_bytes(tid_source().0[..8].try_into().expect("12 bytes"));
            let mut config = TurnConfig::new(turn.server, &turn.username, &turn.password);
            config.seed = Some(seed);
            // Over TCP (and TLS) the client's "socket" is a connection the driver
            // opens from this IP, keyed like an active ICE-TCP candidate (port 9).
            let local = match turn.transport.protocol() {
                TransportProtocol::Udp => socket.addr,
                TransportProtocol::Tcp => SocketAddr::new(socket.addr.ip(), 9),
            };
            config.transport = turn.transport;
            let mut client = TurnClient::new(config, local);
            if client.allocate(now).is_ok() {
                self.relays.push(RelayPort {
                    client,
                    network_type: socket.network_type,
                    network_id: socket.network_id,
                    done: false,
                    error_reported: false,
                });
            }
        }
        self.pump_relays();
        self.check_complete();
    }

    /// Moves TURN clients' datagrams to the queue and turns their events into candidates.
    fn pump_relays(&mut self) {
        let component = self.config.component;
        let mut new = Vec::new();
        for r in &mut self.relays {
            while let Some(t) = r.client.poll_transmit() {
                self.transmits.push_back(t);
            }
            let (server, transport) = (r.client.server(), &r.client.config().transport);
            let (protocol, tls) = (transport.protocol(), transport.is_tls());
            let error = |code: Option<u16>, reason: String| {
                AllocatorEvent::CandidateError(CandidateError {
                    server,
                    transport: protocol,
                    tls,
                    code,
                    reason,
                })
            };
            while let Some(ev) = r.client.poll_event() {
                match ev {
                    TurnEvent::Allocated {
                        relayed, mapped, ..
                    } => {
                        r.done = true;
                        r.error_reported = false;
                        new.push(relay_candidate(r, relayed, mapped, component));
                    }
                    TurnEvent::ConnectionFailed(e) => {
                        self.events.push_back(error(None, e.to_string()));
                        r.error_reported = true;
                    }
                    TurnEvent::AllocationFailed { code } => {
                        tracing::debug!(server = %r.client.server(), ?code, "TURN allocation failed");
                        r.done = true;
                        if !std::mem::replace(&mut r.error_reported, true) {
                            let reason = match code {
                                Some(c) => format!("the TURN server refused the allocation ({c})"),
                                None => "no usable answer from the TURN server".to_owned(),
                            };
                            self.events.push_back(error(code, reason));
                        }
                    }
                    TurnEvent::AllocationLost { code } => {
                        tracing::info!(server = %r.client.server(), ?code, "TURN allocation lost");
                        if !std::mem::replace(&mut r.error_reported, true) {
                            let reason = "the TURN allocation was lost".to_owned();
                            self.events.push_back(error(code, reason));
                        }
                    }
                    other => tracing::trace!(?other, "TURN event"),
                }
            }
        }
        for c in new {
            self.push_candidate(c);
        }
    }

    /// True when `addr` is the relayed address of one of our allocations.
    pub fn is_relayed(&self, addr: SocketAddr) -> bool {
        self.relays
            .iter()
            .any(|r| r.client.relayed_address() == Some(addr))
    }

    /// Offers a datagram that arrived on local socket `local` from `source`
    /// to the TURN client for that socket and server. Returns the relayed
    /// address it belongs to with the outcome; `None` when no client claims it.
    pub fn handle_turn_receive<'a>(
        &mut self,
        now: Instant,
        local: SocketAddr,
        source: SocketAddr,
        data: &'a [u8],
    ) -> Option<(SocketAddr, TurnReceived<'a>)> {
        let i = self
            .relays
            .iter()
            .position(|r| r.client.local() == local && r.client.server() == source)?;
        let outcome = self.relays[i].client.handle_receive(now, source, data);
        if outcome == TurnReceived::NotMine {
            return None;
        }
        let relayed = self.relays[i].client.relayed_address();
        self.pump_relays();
        self.check_complete();
        Some((relayed.unwrap_or(local), outcome))
    }

    /// The driver's report that the TCP (or TLS) connection from `local` (a
    /// TURN client's base, port 9) to `remote` failed or closed, with why:
    /// the TURN client on it loses its allocation
    /// ([`TurnClient::handle_stream_closed`]) and a [`CandidateError`] says
    /// why. Connections that are not to a TURN server are ignored here.
    pub fn handle_stream_closed(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        error: Option<crate::Error>,
    ) {
        let Some(r) = self
            .relays
            .iter_mut()
            .find(|r| r.client.local() == local && r.client.server() == remote)
        else {
            return;
        };
        r.client.handle_stream_closed(now, error);
        self.pump_relays();
        self.check_complete();
    }

    /// Wraps `data` sent from `relayed` to `peer` for the TURN server
    /// (ChannelData or a Send indication); the permission and channel it
    /// needs are queued first.
    pub fn relay_wrap(
        &mut self,
        now: Instant,
        relayed: SocketAddr,
        peer: SocketAddr,
        data: &[u8],
    ) -> Option<Transmit> {
        let i = self
            .relays
            .iter()
            .position(|r| r.client.relayed_address() == Some(relayed))?;
        let wrapped = self.relays[i].client.send_to(now, peer, data);
        self.pump_relays();
        match wrapped {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::debug!(error = %e, %peer, "relayed send refused");
                None
            }
        }
    }

    /// [`relay_wrap`](Self::relay_wrap) in place, through a bound channel
    /// ([`TurnClient::send_in_place`]): the data is at
    /// `buf[RELAY_HEADROOM..RELAY_HEADROOM + len]`; where `buf[..n]` goes
    /// (our socket or TCP base, the TURN server, its transport) and `n`.
    /// `None` when it cannot be done in place (no channel yet, or an error
    /// [`relay_wrap`](Self::relay_wrap) will report).
    pub fn relay_wrap_in_place(
        &mut self,
        now: Instant,
        relayed: SocketAddr,
        peer: SocketAddr,
        buf: &mut [u8],
        len: usize,
    ) -> Option<(SocketAddr, SocketAddr, TransportProtocol, usize)> {
        let i = self
            .relays
            .iter()
            .position(|r| r.client.relayed_address() == Some(relayed))?;
        let client = &mut self.relays[i].client;
        let wrapped = client.send_in_place(now, peer, buf, len).ok().flatten();
        let route = (
            client.local(),
            client.config().server,
            client.config().transport.protocol(),
        );
        self.pump_relays();
        wrapped.map(|n| (route.0, route.1, route.2, n))
    }

    /// Releases every TURN allocation (Refresh with LIFETIME 0).
    pub fn close(&mut self, now: Instant) {
        for r in &mut self.relays {
            r.client.close(now);
        }
        self.pump_relays();
    }

    /// A local address went away (interface down, address deleted): the
    /// sequences of its sockets, the TURN allocations reached from it and
    /// every candidate based on it are dropped. Returns the bases of the
    /// candidates dropped (on `ip`, and the relayed addresses of the
    /// allocations lost), for the agent to fail their pairs.
    pub fn remove_address(&mut self, ip: std::net::IpAddr) -> Vec<SocketAddr> {
        self.sequences.retain(|s| s.socket().addr.ip() != ip);
        let mut gone: Vec<SocketAddr> = Vec::new();
        self.relays.retain(|r| {
            if r.client.local().ip() != ip {
                return true;
            }
            tracing::info!(server = %r.client.server(), "TURN allocation lost with its local address");
            gone.extend(r.client.relayed_address());
            false
        });
        self.candidates.retain(|c| {
            let lost = c.base.ip() == ip || gone.contains(&c.base);
            if lost && !gone.contains(&c.base) {
                gone.push(c.base);
            }
            !lost
        });
        self.check_complete();
        gone
    }

    /// Adds a TCP listener (RFC 6544): a passive host candidate at its address
    /// and an active host candidate on the same IP (port 9). TCP candidates
    /// need no server, so they are complete at once.
    pub fn add_tcp_listener(&mut self, socket: LocalSocket) {
        if self
            .candidates
            .iter()
            .any(|c| c.base == socket.addr && c.candidate.transport == TransportProtocol::Tcp)
        {
            return;
        }
        self.set_state(GatheringState::Gathering);
        for tcp_type in [TcpType::Passive, TcpType::Active] {
            let c = socket.stamp(Candidate::host_tcp(
                socket.addr,
                tcp_type,
                self.config.component,
                socket.network_type,
            ));
            let base = c.socket_addr().unwrap_or(socket.addr);
            self.push_candidate(LocalCandidate {
                candidate: c,
                base,
                network_type: socket.network_type,
            });
        }
        self.check_complete();
    }

    /// No more sockets will be added; gathering completes once every sequence is done.
    pub fn finish_sockets(&mut self) {
        self.sockets_finished = true;
        if self.state == GatheringState::New {
            self.set_state(GatheringState::Gathering);
        }
        self.check_complete();
    }

    fn send_binding(
        &mut self,
        now: Instant,
        source: SocketAddr,
        server: SocketAddr,
        tid_source: &mut dyn FnMut() -> TransactionId,
    ) {
        let mut buf = [0u8; 128];
        let tid = tid_source();
        let Ok(mut b) =
            stun::MessageBuilder::new(&mut buf, stun::Class::Request, stun::Method::BINDING, tid)
        else {
            return;
        };
        let ok = b.add(&stun::attributes::Software(self.software)).is_ok()
            && b.add_fingerprint().is_ok();
        if !ok {
            return;
        }
        let n = b.finish();
        match self
            .requests
            .send(now, &buf[..n], server, stun::Transport::Udp, None)
        {
            Ok(tid) => {
                if let Some(seq) = self
                    .sequences
                    .iter_mut()
                    .find(|s| s.socket().addr == source)
                {
                    seq.track(tid, server);
                }
            }
            Err(e) => tracing::debug!(error = %e, "binding request not sent"),
        }
        self.flush_requests();
    }

    /// Moves the request manager's transmissions out, each from the socket of its sequence.
    fn flush_requests(&mut self) {
        while let Some(t) = self.requests.poll_transmit() {
            let Some(src) = self
                .sequences
                .iter()
                .find(|s| s.owns(&t.transaction_id))
                .map(|s| s.socket().addr)
            else {
                continue;
            };
            self.transmits.push_back(Transmit {
                source: src,
                destination: t.destination,
                transport: TransportProtocol::Udp,
                contents: t.contents,
            });
        }
    }

    /// True when `message` is a response to one of this session's Binding requests.
    pub fn owns_response(&self, message: &Message<'_>) -> bool {
        self.requests.is_outstanding(&message.transaction_id())
    }

    /// Handles a response to a Binding request sent to a STUN server.
    pub fn handle_response(
        &mut self,
        now: Instant,
        local: SocketAddr,
        source: SocketAddr,
        message: &Message<'_>,
    ) {
        let tid = message.transaction_id();
        let Some(seq_idx) = self.sequences.iter().position(|s| s.owns(&tid)) else {
            return;
        };
        if self.sequences[seq_idx].socket().addr != local
            || self.sequences[seq_idx].server_of(&tid) != Some(source)
        {
            // A response must come from the server to the socket the request left from.
            return;
        }
        if self.requests.handle_response(now, message) {
            self.drain_request_events(now);
        }
    }

    fn drain_request_events(&mut self, now: Instant) {
        while let Some(ev) = self.requests.poll_event() {
            let tid = ev.transaction_id();
            let Some(seq_idx) = self.sequences.iter().position(|s| s.owns(&tid)) else {
                continue;
            };
            let server = self.sequences[seq_idx].server_of(&tid);
            self.sequences[seq_idx].untrack(&tid);
            match ev {
                RequestEvent::Success { response, .. } => {
                    let mapped = Message::parse(&response).ok().and_then(|m| {
                        m.get::<stun::attributes::XorMappedAddress>()
                            .ok()
                            .flatten()
                            .map(|x| x.0)
                            .or_else(|| {
                                m.get::<stun::attributes::MappedAddress>()
                                    .ok()
                                    .flatten()
                                    .map(|x| x.0)
                            })
                    });
                    if let (Some(mapped), Some(server)) = (mapped, server) {
                        if let Some(c) = self.sequences[seq_idx].on_mapped_address(
                            mapped,
                            server,
                            now + self.config.stun_keepalive,
                        ) {
                            self.push_candidate(c);
                        }
                    }
                }
                RequestEvent::Error { code, .. } => {
                    tracing::debug!(code, ?server, "STUN server answered with an error");
                    self.sequences[seq_idx].on_server_failed(
                        server,
                        now,
                        self.config.stun_keepalive,
                    );
                }
                RequestEvent::Timeout { .. } => {
                    tracing::debug!(?server, "STUN server did not answer");
                    self.sequences[seq_idx].on_server_failed(
                        server,
                        now,
                        self.config.stun_keepalive,
                    );
                }
                // Variants a newer stun may add: nothing to do.
                _ => {}
            }
        }
        self.check_complete();
    }

    fn push_candidate(&mut self, c: LocalCandidate) {
        if self.candidates.iter().any(|x| {
            x.candidate.kind == c.candidate.kind
                && x.candidate.address == c.candidate.address
                && x.candidate.port == c.candidate.port
                && x.base == c.base
        }) {
            return;
        }
        self.candidates.push(c.clone());
        if self.config.filter.allows(c.candidate.kind) {
            self.events.push_back(AllocatorEvent::Candidate(c));
        }
    }

    fn set_state(&mut self, state: GatheringState) {
        if self.state != state {
            self.state = state;
            self.events.push_back(AllocatorEvent::GatheringState(state));
        }
    }

    fn check_complete(&mut self) {
        if self.sockets_finished
            && self.state != GatheringState::Complete
            && self.sequences.iter().all(|s| s.is_done())
            && self.relays.iter().all(|r| r.done)
        {
            self.set_state(GatheringState::Complete);
        }
    }

    /// Retransmits, times out, and sends keepalive Binding requests.
    pub fn handle_timeout(&mut self, now: Instant, tid_source: &mut dyn FnMut() -> TransactionId) {
        self.requests.handle_timeout(now);
        self.flush_requests();
        self.drain_request_events(now);
        let mut due = Vec::new();
        for seq in &mut self.sequences {
            due.extend(seq.due_keepalives(now));
        }
        for (source, server) in due {
            self.send_binding(now, source, server, tid_source);
        }
        for r in &mut self.relays {
            r.client.handle_timeout(now);
        }
        self.pump_relays();
        self.check_complete();
    }

    /// When [`PortAllocatorSession::handle_timeout`] must next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let keepalive = self
            .sequences
            .iter()
            .filter_map(|s| s.next_keepalive())
            .min();
        [self.requests.poll_timeout(), keepalive]
            .into_iter()
            .chain(self.relays.iter().map(|r| r.client.poll_timeout()))
            .flatten()
            .min()
    }

    /// Queues a datagram built outside the session (a wrapped relay transmit).
    pub(crate) fn queue(&mut self, transmit: Transmit) {
        self.transmits.push_back(transmit);
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<AllocatorEvent> {
        self.events.pop_front()
    }
}

pub(crate) fn srflx_candidate(
    socket: &LocalSocket,
    mapped: SocketAddr,
    component: u16,
    server: SocketAddr,
) -> LocalCandidate {
    let lp = crate::candidate::local_preference(socket.network_type, socket.addr.ip());
    let c = socket
        .stamp(
            Candidate::at(CandidateKind::ServerReflexive, mapped)
                .with_component(component)
                .with_priority(crate::candidate::priority(
                    CandidateKind::ServerReflexive,
                    lp,
                    component,
                ))
                .with_related(socket.addr),
        )
        .with_foundation_computed(Some(server));
    LocalCandidate {
        candidate: c,
        base: socket.addr,
        network_type: socket.network_type,
    }
}

/// The relay candidate of an allocation: type preference by how the server
/// is reached (UDP 2, TCP 1, TLS 0, as libwebrtc), related address the
/// server-reflexive (mapped) address, foundation keyed by the server.
fn relay_candidate(
    r: &RelayPort,
    relayed: SocketAddr,
    mapped: Option<SocketAddr>,
    component: u16,
) -> LocalCandidate {
    let lp = crate::candidate::local_preference(r.network_type, relayed.ip());
    let related = mapped.unwrap_or(r.client.local());
    let c = Candidate::at(CandidateKind::Relay, relayed)
        .with_component(component)
        .with_priority(crate::candidate::relay_priority(
            r.client.config().transport.protocol(),
            r.client.config().transport.is_tls(),
            lp,
            component,
        ))
        .with_related(related)
        .with_generation(0)
        .with_network(r.network_id, r.network_type.cost())
        .with_foundation_computed(Some(r.client.server()));
    LocalCandidate {
        candidate: c,
        base: relayed,
        network_type: r.network_type,
    }
}
