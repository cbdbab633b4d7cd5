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
//! 2. **Relay** (TurnPort) and 3. **TCP** (TCPPort) are not implemented yet;
//!    sequences finish after the UDP phase.
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
pub enum AllocatorEvent {
    /// A new local candidate (already filtered).
    Candidate(LocalCandidate),
    /// The gathering state changed.
    GatheringState(GatheringState),
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
}

impl Default for AllocatorConfig {
    fn default() -> Self {
        AllocatorConfig {
            stun_servers: Vec::new(),
            filter: CandidateFilter::All,
            component: 1,
            stun_retransmit: RetransmitConfig::libwebrtc(),
            stun_keepalive: Duration::from_secs(25),
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
        self.check_complete();
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
            let mut c = Candidate::host_tcp(
                socket.addr,
                tcp_type,
                self.config.component,
                socket.network_type,
            );
            c.generation = Some(0);
            c.network_id = Some(socket.network_id);
            c.network_cost = Some(socket.network_type.cost());
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
            let tid = match &ev {
                RequestEvent::Success { transaction_id, .. }
                | RequestEvent::Error { transaction_id, .. }
                | RequestEvent::Timeout { transaction_id, .. } => *transaction_id,
            };
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
    }

    /// When [`PortAllocatorSession::handle_timeout`] must next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let keepalive = self
            .sequences
            .iter()
            .filter_map(|s| s.next_keepalive())
            .min();
        match (self.requests.poll_timeout(), keepalive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
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
    let c = Candidate {
        foundation: String::new(),
        component,
        transport: crate::candidate::TransportProtocol::Udp,
        priority: crate::candidate::priority(CandidateKind::ServerReflexive, lp, component),
        address: crate::candidate::CandidateAddress::Ip(mapped.ip()),
        port: mapped.port(),
        kind: CandidateKind::ServerReflexive,
        related: Some((
            crate::candidate::CandidateAddress::Ip(socket.addr.ip()),
            socket.addr.port(),
        )),
        tcp_type: None,
        generation: Some(0),
        ufrag: None,
        network_id: Some(socket.network_id),
        network_cost: Some(socket.network_type.cost()),
        extensions: Vec::new(),
        transport_upper_case: false,
    }
    .with_foundation_computed(Some(server));
    LocalCandidate {
        candidate: c,
        base: socket.addr,
        network_type: socket.network_type,
    }
}
