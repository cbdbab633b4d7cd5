//! libwebrtc's P2PTransportChannel: the ICE agent (RFC 8445), sans-IO.
//!
//! [`IceAgent`] owns a [`PortAllocatorSession`] for its local candidates, the
//! remote candidates, the checklist of candidate pairs, connectivity checks
//! (through a [`stun::RequestManager`]), nomination, consent freshness
//! (RFC 7675) and the selected pair. It reads no clock and owns no socket.
//!
//! The loop a driver runs (see `crate::driver` for the tokio one):
//!
//! 1. Give it sockets with [`IceAgent::add_local_socket`], remote credentials
//!    and candidates as they arrive from signalling.
//! 2. Feed every datagram to [`IceAgent::handle_receive`]; when it answers
//!    [`Received::Data`], that range of the datagram is application data from
//!    a checked peer (the whole datagram, or the payload of a TURN ChannelData
//!    or Data indication).
//! 3. Drain [`IceAgent::poll_transmit`] to the sockets and [`IceAgent::poll_event`].
//! 4. Sleep until [`IceAgent::poll_timeout`] and call [`IceAgent::handle_timeout`].
//! 5. Send application data along [`IceAgent::route`].

mod pair;

pub use pair::{pair_priority, PairState};

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use stun::attributes::{
    ErrorCode, IceControlled, IceControlling, Priority, UseCandidate, Username, XorMappedAddress,
};
use stun::{
    Class, IntegrityKey, Message, MessageBuilder, Method, RequestEvent, RequestManager,
    RetransmitConfig, TransactionId,
};

use crate::allocator::{
    AllocatorConfig, AllocatorEvent, CandidateFilter, GatheringState, LocalCandidate, LocalSocket,
    PortAllocatorSession, Transmit, TurnServerConfig,
};
use crate::candidate::{
    Candidate, CandidateAddress, CandidateKind, NetworkType, TcpType, TransportProtocol,
};
use crate::error::Error;
use crate::port::TurnReceived;
use pair::Pair;

/// ICE credentials: username fragment and password (RFC 8445 §5.3).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Credentials {
    /// Username fragment: at least 4 ice-chars.
    pub ufrag: String,
    /// Password: at least 22 ice-chars.
    pub pwd: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("ufrag", &self.ufrag)
            .finish_non_exhaustive()
    }
}

const ICE_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl Credentials {
    /// Validated credentials (RFC 8445 §5.3: ice-chars, ufrag 4–256, pwd 22–256).
    pub fn new(ufrag: &str, pwd: &str) -> Result<Credentials, Error> {
        let ok = |s: &str, min: usize| {
            (min..=256).contains(&s.len()) && s.bytes().all(|b| ICE_CHARS.contains(&b))
        };
        if !ok(ufrag, 4) || !ok(pwd, 22) {
            return Err(Error::InvalidCredentials);
        }
        Ok(Credentials {
            ufrag: ufrag.to_string(),
            pwd: pwd.to_string(),
        })
    }

    /// Random credentials (8-char ufrag, 24-char pwd) from `rng`.
    pub fn random(rng: &mut dyn RngCore) -> Credentials {
        let mut pick = |n: usize| -> String {
            (0..n)
                .map(|_| ICE_CHARS[(rng.next_u32() % ICE_CHARS.len() as u32) as usize] as char)
                .collect()
        };
        Credentials {
            ufrag: pick(8),
            pwd: pick(24),
        }
    }
}

/// The agent's role (RFC 8445 §6.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceRole {
    /// Nominates pairs (usually the offerer).
    Controlling,
    /// Follows the controlling agent's nominations.
    Controlled,
}

/// How the controlling agent nominates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NominationMode {
    /// Check first, then nominate the best valid pair with USE-CANDIDATE (RFC 8445).
    #[default]
    Regular,
    /// Every check carries USE-CANDIDATE; the first pair that succeeds is selected (RFC 5245).
    Aggressive,
}

/// Connection state (W3C RTCIceConnectionState / libwebrtc IceTransportState).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceConnectionState {
    /// Waiting for remote candidates or credentials.
    New,
    /// Checks are under way; no usable pair yet.
    Checking,
    /// A pair is usable.
    Connected,
    /// A nominated pair is selected and checking is over.
    Completed,
    /// The selected pair stopped answering; consent has not expired yet.
    Disconnected,
    /// Every pair failed, or consent expired with nothing to fall back on.
    Failed,
    /// [`IceAgent::close`] was called.
    Closed,
}

/// Configuration of an [`IceAgent`]. Defaults follow RFC 8445 and libwebrtc;
/// the ICE server list is empty.
#[derive(Debug, Clone)]
pub struct IceConfig {
    /// Initial role.
    pub role: IceRole,
    /// Local credentials; random when `None`.
    pub credentials: Option<Credentials>,
    /// Nomination mode when controlling.
    pub nomination: NominationMode,
    /// ICE-lite: answer checks, never send them (RFC 8445 §2.5).
    pub lite: bool,
    /// STUN servers for server-reflexive candidates (none by default).
    pub stun_servers: Vec<SocketAddr>,
    /// TURN servers for relay candidates (none by default).
    pub turn_servers: Vec<TurnServerConfig>,
    /// Which local candidates are used and signalled.
    pub candidate_filter: CandidateFilter,
    /// Component id (1 for RTP or with rtcp-mux).
    pub component: u16,
    /// Ta: pacing of ordinary checks.
    pub check_interval: Duration,
    /// Retransmission of one check; its timeout fails the pair (default ≈ 5 s).
    pub check_retransmit: RetransmitConfig,
    /// How long the controlling agent waits for a better pair before nominating.
    pub nomination_timeout: Duration,
    /// Mean interval of consent checks on the selected pair (RFC 7675: 5 s, randomised ±20 %).
    pub consent_interval: Duration,
    /// Consent expires this long after the last answered check (RFC 7675: 30 s).
    pub consent_timeout: Duration,
    /// Keepalive checks on valid pairs that are not selected.
    pub keepalive_interval: Duration,
    /// Most remote candidates kept.
    pub max_remote_candidates: usize,
    /// Most candidate pairs (RFC 8445 §6.1.2.5 suggests 100).
    pub max_pairs: usize,
    /// Seed for tie-breaker, credentials, transaction ids and timer jitter;
    /// from the OS when `None`. Set it to replay simulations exactly.
    pub seed: Option<u64>,
}

impl Default for IceConfig {
    fn default() -> Self {
        IceConfig {
            role: IceRole::Controlling,
            credentials: None,
            nomination: NominationMode::Regular,
            lite: false,
            stun_servers: Vec::new(),
            turn_servers: Vec::new(),
            candidate_filter: CandidateFilter::All,
            component: 1,
            check_interval: Duration::from_millis(50),
            check_retransmit: RetransmitConfig {
                initial_rto: Duration::from_millis(250),
                max_rto: Duration::from_millis(1000),
                max_transmissions: 5,
                last_wait: Duration::from_millis(1250),
                reliable_timeout: Duration::from_secs(5),
                max_outstanding: 256,
            },
            nomination_timeout: Duration::from_millis(100),
            consent_interval: Duration::from_secs(5),
            consent_timeout: Duration::from_secs(30),
            keepalive_interval: Duration::from_secs(10),
            max_remote_candidates: 64,
            max_pairs: 100,
            seed: None,
        }
    }
}

/// What the agent reports.
#[derive(Debug, Clone, PartialEq, Eq)]
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

#[derive(Debug, Clone)]
struct RemoteCandidate {
    candidate: Candidate,
    addr: SocketAddr,
}

#[derive(Debug, Clone)]
struct CheckInfo {
    pair: usize,
    use_candidate: bool,
    role: IceRole,
    /// A consent check of the previous generation's pair.
    previous: bool,
}

/// The previous generation after an ICE restart: its selected pair keeps
/// carrying data (with consent checks under the old credentials) until the
/// new generation selects a pair.
#[derive(Debug)]
struct PreviousGeneration {
    local: Credentials,
    local_key: IntegrityKey,
    remote_username: Option<String>,
    remote_key: Option<IntegrityKey>,
    pair: Option<Pair>,
    local_candidate: Option<Candidate>,
    remote_candidate: Option<Candidate>,
}

/// The ICE agent for one component.
///
/// ```
/// use std::time::Instant;
/// use ice::{IceAgent, IceConfig, IceRole, Receive, Received};
///
/// let now = Instant::now();
/// let mut a = IceAgent::new(IceConfig { role: IceRole::Controlling, seed: Some(1), ..Default::default() });
/// let mut b = IceAgent::new(IceConfig { role: IceRole::Controlled, seed: Some(2), ..Default::default() });
/// let (addr_a, addr_b) = ("127.0.0.1:5000".parse().unwrap(), "127.0.0.1:6000".parse().unwrap());
/// a.add_local_socket(now, addr_a, Default::default());
/// b.add_local_socket(now, addr_b, Default::default());
/// let (creds_a, creds_b) = (a.local_credentials().clone(), b.local_credentials().clone());
/// a.set_remote_credentials(now, creds_b);
/// b.set_remote_credentials(now, creds_a);
/// for c in a.local_candidates() { b.add_remote_candidate(now, c).unwrap(); }
/// for c in b.local_candidates() { a.add_remote_candidate(now, c).unwrap(); }
/// // Every input takes `now`, and the next timer is always after it.
/// assert!(a.poll_timeout().is_none_or(|t| t > now));
/// // Shuttle datagrams until both have a route (a perfect network, no time passing).
/// for _ in 0..10 {
///     while let Some(t) = a.poll_transmit(now) {
///         b.handle_receive(now, Receive { local: t.destination, source: t.source, data: &t.contents });
///     }
///     while let Some(t) = b.poll_transmit(now) {
///         a.handle_receive(now, Receive { local: t.destination, source: t.source, data: &t.contents });
///     }
/// }
/// assert_eq!(a.route().unwrap().destination, addr_b);
/// assert_eq!(b.route().unwrap().destination, addr_a);
/// ```
#[derive(Debug)]
pub struct IceAgent {
    config: IceConfig,
    rng: ChaCha8Rng,
    role: IceRole,
    tie_breaker: u64,
    local: Credentials,
    local_key: IntegrityKey,
    remote: Option<Credentials>,
    remote_key: Option<IntegrityKey>,
    /// `remote_ufrag:local_ufrag`, the USERNAME of our checks.
    remote_username: Option<String>,
    remote_lite: bool,
    generation: u32,
    allocator: PortAllocatorSession,
    /// Local candidates used for pairing: one per base (host, or server-reflexive when hosts are filtered).
    locals: Vec<LocalCandidate>,
    remotes: Vec<RemoteCandidate>,
    remote_end_of_candidates: bool,
    pairs: Vec<Pair>,
    triggered: VecDeque<usize>,
    checks: RequestManager,
    in_flight: HashMap<TransactionId, CheckInfo>,
    next_check_at: Option<Instant>,
    first_valid_at: Option<Instant>,
    selected: Option<usize>,
    previous: Option<PreviousGeneration>,
    state: IceConnectionState,
    transmits: VecDeque<Transmit>,
    events: VecDeque<IceEvent>,
    closed: bool,
}

impl IceAgent {
    /// A new agent. Local candidates come from [`IceAgent::add_local_socket`].
    pub fn new(config: IceConfig) -> IceAgent {
        let mut rng = match config.seed {
            Some(seed) => ChaCha8Rng::seed_from_u64(seed),
            None => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).expect("operating system random source");
                ChaCha8Rng::from_seed(seed)
            }
        };
        let local = config
            .credentials
            .clone()
            .unwrap_or_else(|| Credentials::random(&mut rng));
        let local_key = IntegrityKey::from_bytes(local.pwd.as_bytes());
        let tie_breaker = rng.next_u64();
        let allocator = PortAllocatorSession::new(AllocatorConfig {
            stun_servers: config.stun_servers.clone(),
            turn_servers: config.turn_servers.clone(),
            filter: config.candidate_filter,
            component: config.component,
            ..Default::default()
        });
        let role = if config.lite {
            IceRole::Controlled
        } else {
            config.role
        };
        IceAgent {
            checks: RequestManager::new(config.check_retransmit.clone()),
            config,
            rng,
            role,
            tie_breaker,
            local,
            local_key,
            remote: None,
            remote_key: None,
            remote_username: None,
            remote_lite: false,
            generation: 0,
            allocator,
            locals: Vec::new(),
            remotes: Vec::new(),
            remote_end_of_candidates: false,
            pairs: Vec::new(),
            triggered: VecDeque::new(),
            in_flight: HashMap::new(),
            next_check_at: None,
            first_valid_at: None,
            selected: None,
            previous: None,
            state: IceConnectionState::New,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            closed: false,
        }
    }

    // ----------------------------------------------------------------- getters

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
    pub fn selected_pair(&self) -> Option<(Candidate, Candidate)> {
        let p = &self.pairs[self.selected?];
        Some((
            self.stamp(self.locals[p.local].candidate.clone()),
            self.remotes[p.remote].candidate.clone(),
        ))
    }

    /// Round-trip time measured on the selected pair.
    pub fn selected_rtt(&self) -> Option<Duration> {
        self.pairs[self.selected?].rtt
    }

    /// Where to send application data now: the selected pair while it has
    /// consent, else the previous generation's pair during an ICE restart.
    /// `None` when there is no consented pair: sending must stop (RFC 7675).
    pub fn route(&self) -> Option<Route> {
        if self.closed {
            return None;
        }
        if let Some(i) = self.selected {
            let p = &self.pairs[i];
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

    fn stamp(&self, mut c: Candidate) -> Candidate {
        c.ufrag = Some(self.local.ufrag.clone());
        c.generation = Some(self.generation);
        c
    }

    // ---------------------------------------------------------------- commands

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
        self.start_new_generation(true);
        self.generation += 1;
        for c in self.local_candidates() {
            self.events.push_back(IceEvent::LocalCandidate(c));
        }
        self.update_state(now);
    }

    fn start_new_generation(&mut self, new_local: bool) {
        // Keep the working pair (if any, and if the previous generation has none yet).
        let keep = self.selected.map(|i| self.pairs[i].clone());
        if self.previous.is_none() || keep.is_some() {
            let (lc, rc) = match &keep {
                Some(p) => (
                    Some(self.locals[p.local].candidate.clone()),
                    Some(self.remotes[p.remote].candidate.clone()),
                ),
                None => (None, None),
            };
            self.previous = Some(PreviousGeneration {
                local: self.local.clone(),
                local_key: self.local_key.clone(),
                remote_username: self.remote_username.clone(),
                remote_key: self.remote_key.clone(),
                pair: keep,
                local_candidate: lc,
                remote_candidate: rc,
            });
        }
        for tid in self.in_flight.keys().copied().collect::<Vec<_>>() {
            let info = &self.in_flight[&tid];
            if !info.previous {
                self.checks.cancel(&tid);
                self.in_flight.remove(&tid);
            }
        }
        self.pairs.clear();
        self.triggered.clear();
        self.selected = None;
        self.first_valid_at = None;
        self.remote_end_of_candidates = false;
        self.remotes.clear();
        if new_local {
            self.local = Credentials::random(&mut self.rng);
            self.local_key = IntegrityKey::from_bytes(self.local.pwd.as_bytes());
            if let Some(r) = &self.remote {
                self.remote_username = Some(format!("{}:{}", r.ufrag, self.local.ufrag));
            }
        } else {
            self.remote = None;
            self.remote_key = None;
            self.remote_username = None;
        }
        // Pairs are re-formed as remote candidates of the new generation arrive.
    }

    /// Adds a remote candidate (trickle). mDNS names must be resolved by the
    /// application first; TCP candidates are not supported yet.
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
            CandidateAddress::Mdns(_) => return Err(Error::UnusableCandidate),
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
                self.recompute_priorities();
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

    // ------------------------------------------------------------------ inputs

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

    fn receive(
        &mut self,
        now: Instant,
        transport: TransportProtocol,
        receive: Receive<'_>,
    ) -> Received {
        if self.closed {
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

    /// Marks a pair as having received something; false if no pair matches.
    fn touch(
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

    fn handle_stun_response(
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
    fn handle_check(
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

    // ----------------------------------------------------------------- outputs

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

    // ---------------------------------------------------------------- internals

    fn can_check(&self) -> bool {
        !self.config.lite && self.remote_key.is_some() && !self.closed
    }

    fn set_role(&mut self, role: IceRole) {
        if self.role != role {
            tracing::debug!(?role, "ICE role changed");
            self.role = role;
            self.events.push_back(IceEvent::RoleChanged(role));
            self.recompute_priorities();
        }
    }

    fn recompute_priorities(&mut self) {
        for p in &mut self.pairs {
            let l = self.locals[p.local].candidate.priority;
            let r = self.remotes[p.remote].candidate.priority;
            p.priority = match self.role {
                IceRole::Controlling => pair_priority(l, r),
                IceRole::Controlled => pair_priority(r, l),
            };
        }
    }

    fn pair_foundation(&self, p: &Pair) -> (&str, &str) {
        (
            &self.locals[p.local].candidate.foundation,
            &self.remotes[p.remote].candidate.foundation,
        )
    }

    /// Forms the pair local × remote when compatible; returns its index.
    fn add_pair(&mut self, l: usize, r: usize) -> Option<usize> {
        let local = &self.locals[l];
        let remote = &self.remotes[r];
        if local.base.is_ipv4() != remote.addr.is_ipv4()
            || local.candidate.transport != remote.candidate.transport
        {
            return None;
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
                return None;
            }
        }
        // Loopback only pairs with loopback, and link-local IPv6 only with link-local.
        if local.base.ip().is_loopback() != remote.addr.ip().is_loopback() {
            return None;
        }
        if self.pairs.iter().any(|p| p.local == l && p.remote == r) {
            return None;
        }
        let (lp, rp) = (local.candidate.priority, remote.candidate.priority);
        let priority = match self.role {
            IceRole::Controlling => pair_priority(lp, rp),
            IceRole::Controlled => pair_priority(rp, lp),
        };
        if self.pairs.len() >= self.config.max_pairs {
            // Replace the lowest-priority pair that is not being used, if the new one is better.
            let victim = self
                .pairs
                .iter()
                .enumerate()
                .filter(|(i, p)| {
                    matches!(p.state, PairState::Frozen | PairState::Waiting)
                        && Some(*i) != self.selected
                })
                .min_by_key(|(_, p)| p.priority)
                .map(|(i, p)| (i, p.priority));
            match victim {
                Some((i, prio)) if prio < priority => {
                    self.pairs[i] = Pair::new(
                        l,
                        r,
                        local.base,
                        remote.addr,
                        local.candidate.transport,
                        priority,
                    );
                    self.triggered.retain(|&t| t != i);
                    self.initial_pair_state(i);
                    return Some(i);
                }
                _ => return None,
            }
        }
        self.pairs.push(Pair::new(
            l,
            r,
            local.base,
            remote.addr,
            local.candidate.transport,
            priority,
        ));
        let i = self.pairs.len() - 1;
        self.initial_pair_state(i);
        Some(i)
    }

    /// RFC 8445 §6.1.2.6 / RFC 8838 §10: Waiting unless a pair of the same
    /// foundation is already Waiting or In-Progress.
    fn initial_pair_state(&mut self, i: usize) {
        let f = {
            let (a, b) = self.pair_foundation(&self.pairs[i]);
            (a.to_string(), b.to_string())
        };
        let busy = self.pairs.iter().enumerate().any(|(j, p)| {
            j != i && matches!(p.state, PairState::Waiting | PairState::InProgress) && {
                let (a, b) = self.pair_foundation(p);
                (a, b) == (f.0.as_str(), f.1.as_str())
            }
        });
        self.pairs[i].state = if busy {
            PairState::Frozen
        } else {
            PairState::Waiting
        };
    }

    fn pump_allocator(&mut self, now: Instant) {
        while let Some(ev) = self.allocator.poll_event() {
            match ev {
                AllocatorEvent::Candidate(c) => {
                    self.events
                        .push_back(IceEvent::LocalCandidate(self.stamp(c.candidate.clone())));
                    if !self
                        .locals
                        .iter()
                        .any(|l| l.base == c.base && l.candidate.transport == c.candidate.transport)
                    {
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
            }
        }
        let _ = now;
    }

    /// Sends due checks, decides nomination, expires consent and updates state.
    fn process(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if self.can_check() {
            // Triggered checks go out at once: they answer authenticated checks,
            // which the peer paces, so they cannot amplify.
            while let Some(i) = self.triggered.pop_front() {
                if i < self.pairs.len() && self.pairs[i].check.is_none() {
                    self.send_check(now, i, false);
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
            for i in 0..self.pairs.len() {
                let p = &self.pairs[i];
                if p.is_valid() && p.check.is_none() && p.next_ping.is_some_and(|t| t <= now) {
                    self.send_check(now, i, false);
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

    fn next_ordinary_pair(&mut self) -> Option<usize> {
        let waiting = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == PairState::Waiting && p.check.is_none())
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i);
        if waiting.is_some() {
            return waiting;
        }
        // RFC 8445 §6.1.4.2: no Waiting pair: unfreeze the best Frozen one.
        let frozen = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == PairState::Frozen)
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i)?;
        self.pairs[frozen].state = PairState::Waiting;
        Some(frozen)
    }

    /// When a waiting controlling agent must stop waiting for better pairs and
    /// nominate; `None` when there is nothing it could nominate then.
    fn nomination_deadline(&self) -> Option<Instant> {
        if self.config.nomination == NominationMode::Aggressive
            || self
                .pairs
                .iter()
                .any(|p| p.nominated_at.is_some() && p.is_alive())
        {
            return None;
        }
        let best = self
            .pairs
            .iter()
            .filter(|p| p.is_alive())
            .max_by_key(|p| p.priority)?;
        if best.nominating {
            return None;
        }
        self.first_valid_at
            .map(|t| t + self.config.nomination_timeout)
    }

    fn maybe_nominate(&mut self, now: Instant) {
        if self.config.nomination == NominationMode::Aggressive {
            return;
        }
        let best = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_alive())
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, p)| (i, p.priority));
        let Some((best, best_priority)) = best else {
            return;
        };
        let current = self
            .pairs
            .iter()
            .filter(|p| p.nominated_at.is_some() && p.is_alive())
            .map(|p| p.priority)
            .max();
        if current.is_some_and(|c| c >= best_priority) {
            return;
        }
        if self.pairs[best].nominating {
            return;
        }
        let better_pending = self
            .pairs
            .iter()
            .any(|p| p.is_pending() && p.priority > best_priority);
        let waited = self
            .first_valid_at
            .is_some_and(|t| now >= t + self.config.nomination_timeout);
        if better_pending && !waited && current.is_none() {
            return;
        }
        if let Some(tid) = self.pairs[best].check.take() {
            // Replace a plain keepalive in flight by the nominating check.
            self.checks.cancel(&tid);
            self.in_flight.remove(&tid);
        }
        tracing::debug!(remote = %self.pairs[best].remote_addr, "nominating pair");
        self.send_check(now, best, true);
    }

    fn send_check(&mut self, now: Instant, i: usize, nominate: bool) {
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
                        pair: i,
                        use_candidate,
                        role: self.role,
                        previous: false,
                    },
                );
            }
            Err(e) => tracing::debug!(error = %e, "check not sent"),
        }
        self.flush_checks();
    }

    /// Consent checks for the previous generation's pair during an ICE restart.
    fn ping_previous(&mut self, now: Instant) {
        let Some(g) = self.previous.as_mut() else {
            return;
        };
        let (Some(key), Some(username)) = (g.remote_key.clone(), g.remote_username.clone()) else {
            return;
        };
        let Some(p) = g.pair.as_mut() else { return };
        if !p.is_valid() || p.check.is_some() || p.next_ping.is_none_or(|t| t > now) {
            return;
        }
        let tid = random_tid(&mut self.rng);
        let mut buf = [0u8; 512];
        let Ok(n) = build_check(
            &mut buf,
            tid,
            &username,
            1,
            self.role,
            self.tie_breaker,
            false,
            &key,
        ) else {
            return;
        };
        if let Ok(tid) = self.checks.send(
            now,
            &buf[..n],
            p.remote_addr,
            stun_transport(p.transport),
            Some(key),
        ) {
            p.check = Some(tid);
            p.next_ping = None;
            self.in_flight.insert(
                tid,
                CheckInfo {
                    pair: 0,
                    use_candidate: false,
                    role: self.role,
                    previous: true,
                },
            );
        }
    }

    fn flush_checks(&mut self) {
        while let Some(t) = self.checks.poll_transmit() {
            let Some(info) = self.in_flight.get(&t.transaction_id) else {
                continue;
            };
            let pair = if info.previous {
                self.previous.as_ref().and_then(|g| g.pair.as_ref())
            } else {
                self.pairs.get(info.pair)
            };
            if let Some(p) = pair {
                self.transmits.push_back(Transmit {
                    source: p.base,
                    destination: t.destination,
                    transport: p.transport,
                    contents: t.contents,
                });
            }
        }
    }

    fn consent_jitter(&mut self) -> Duration {
        // RFC 7675 §5.1: uniformly random in [0.8, 1.2] × the interval.
        let f = 0.8 + 0.4 * (self.rng.next_u32() as f64 / u32::MAX as f64);
        self.config.consent_interval.mul_f64(f)
    }

    fn drain_check_events(&mut self, now: Instant) {
        while let Some(ev) = self.checks.poll_event() {
            let tid = match &ev {
                RequestEvent::Success { transaction_id, .. }
                | RequestEvent::Error { transaction_id, .. }
                | RequestEvent::Timeout { transaction_id, .. } => *transaction_id,
            };
            let Some(info) = self.in_flight.remove(&tid) else {
                continue;
            };
            if info.previous {
                let jitter = self.consent_jitter();
                if let Some(p) = self.previous.as_mut().and_then(|g| g.pair.as_mut()) {
                    p.check = None;
                    match ev {
                        RequestEvent::Success { .. } => {
                            p.last_response = Some(now);
                            p.unanswered = false;
                            p.next_ping = Some(now + jitter);
                        }
                        _ => {
                            p.unanswered = true;
                            p.next_ping = Some(now);
                        }
                    }
                }
                continue;
            }
            if info.pair >= self.pairs.len() {
                continue;
            }
            if self.pairs[info.pair].check != Some(tid) {
                // A check replaced by a triggered one: its success still validates
                // the pair; its failure or timeout means nothing.
                if let RequestEvent::Success { response, rtt, .. } = ev {
                    self.on_check_success(now, info, &response, rtt);
                }
                continue;
            }
            self.pairs[info.pair].check = None;
            self.pairs[info.pair].nominating = false;
            match ev {
                RequestEvent::Success { response, rtt, .. } => {
                    self.on_check_success(now, info, &response, rtt)
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
                        self.pairs[info.pair].state = PairState::Waiting;
                        if !self.triggered.contains(&info.pair) {
                            self.triggered.push_back(info.pair);
                        }
                    } else {
                        tracing::debug!(code, "check failed with an error response");
                        self.fail_pair(info.pair);
                    }
                }
                RequestEvent::Timeout { .. } => {
                    let p = &mut self.pairs[info.pair];
                    if p.is_valid() {
                        // Consent or keepalive unanswered: disconnected, keep trying until consent expires.
                        p.unanswered = true;
                        p.next_ping = Some(now);
                    } else {
                        self.fail_pair(info.pair);
                    }
                }
            }
        }
    }

    fn fail_pair(&mut self, i: usize) {
        self.pairs[i].state = PairState::Failed;
        self.pairs[i].nominated_at = None;
        // Unfreeze one pair of the same foundation so it gets its turn.
        let f = {
            let (a, b) = self.pair_foundation(&self.pairs[i]);
            (a.to_string(), b.to_string())
        };
        if let Some(j) = (0..self.pairs.len())
            .filter(|&j| {
                self.pairs[j].state == PairState::Frozen && {
                    let (a, b) = self.pair_foundation(&self.pairs[j]);
                    (a, b) == (f.0.as_str(), f.1.as_str())
                }
            })
            .max_by_key(|&j| self.pairs[j].priority)
        {
            self.pairs[j].state = PairState::Waiting;
        }
    }

    fn on_check_success(
        &mut self,
        now: Instant,
        info: CheckInfo,
        response: &[u8],
        rtt: Option<Duration>,
    ) {
        let i = info.pair;
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
                // pair's base, so the pair stays as it is; it is not signalled.
                tracing::debug!(mapped = %mapped.0, %base, "learned a local peer-reflexive address");
            }
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
            let f = {
                let (a, b) = self.pair_foundation(&self.pairs[i]);
                (a.to_string(), b.to_string())
            };
            for j in 0..self.pairs.len() {
                if self.pairs[j].state == PairState::Frozen {
                    let same = {
                        let (a, b) = self.pair_foundation(&self.pairs[j]);
                        (a, b) == (f.0.as_str(), f.1.as_str())
                    };
                    if same {
                        self.pairs[j].state = PairState::Waiting;
                    }
                }
            }
        }
    }

    fn expire_consent(&mut self, now: Instant) {
        let timeout = self.config.consent_timeout;
        let lite = self.config.lite;
        for p in &mut self.pairs {
            if p.is_valid() {
                let last = if lite {
                    p.last_received
                } else {
                    p.last_response
                };
                if last.is_some_and(|l| now >= l + timeout) {
                    tracing::info!(remote = %p.remote_addr, "consent expired: pair failed");
                    p.state = PairState::Failed;
                    p.nominated_at = None;
                    p.next_ping = None;
                }
            }
        }
        if let Some(g) = &mut self.previous {
            if let Some(p) = &mut g.pair {
                if p.last_response.is_some_and(|l| now >= l + timeout) {
                    p.state = PairState::Failed;
                }
            }
        }
    }

    fn update_selected(&mut self, now: Instant) {
        let _ = now;
        // Nominated and answering first (latest nomination wins), then any
        // answering valid pair (RFC 8445 §12.1 allows data before nomination),
        // then a valid pair whose consent has not expired yet.
        let pick = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_valid())
            .max_by_key(|(_, p)| {
                (
                    p.nominated_at.is_some() && !p.unanswered,
                    !p.unanswered,
                    p.nominated_at,
                    p.priority,
                )
            })
            .map(|(i, _)| i);
        if pick != self.selected {
            self.selected = pick;
            if let Some(i) = pick {
                let p = &self.pairs[i];
                tracing::debug!(local = %p.base, remote = %p.remote_addr, "selected pair changed");
                let local = self.stamp(self.locals[p.local].candidate.clone());
                let remote = self.remotes[p.remote].candidate.clone();
                self.events
                    .push_back(IceEvent::SelectedPairChanged { local, remote });
                // Consent checks on the selected pair follow the consent interval.
                let jitter = self.consent_jitter();
                let p = &mut self.pairs[i];
                if p.check.is_none() {
                    p.next_ping = Some(p.next_ping.map_or(now + jitter, |t| t.min(now + jitter)));
                }
                // A new generation has a working pair: the old one can go.
                if self.previous.as_ref().is_some_and(|_| {
                    self.pairs[i].nominated_at.is_some() || self.role == IceRole::Controlling
                }) {
                    self.drop_previous();
                }
            }
        } else if let Some(i) = pick {
            if self.previous.is_some() && self.pairs[i].nominated_at.is_some() {
                self.drop_previous();
            }
        }
    }

    fn drop_previous(&mut self) {
        if let Some(g) = self.previous.take() {
            if let Some(tid) = g.pair.and_then(|p| p.check) {
                self.checks.cancel(&tid);
                self.in_flight.remove(&tid);
            }
            let _ = (g.local_candidate, g.remote_candidate);
        }
    }

    fn update_state(&mut self, now: Instant) {
        let _ = now;
        if self.closed {
            return;
        }
        let selected = self.selected.map(|i| &self.pairs[i]);
        let previous_alive = self
            .previous
            .as_ref()
            .and_then(|g| g.pair.as_ref())
            .is_some_and(|p| p.is_valid());
        let state = match selected {
            Some(p) if p.is_alive() => {
                let checking_done = !self.pairs.iter().any(|q| q.is_pending());
                if p.nominated_at.is_some() && checking_done && self.remote_end_of_candidates {
                    IceConnectionState::Completed
                } else {
                    IceConnectionState::Connected
                }
            }
            Some(_) => IceConnectionState::Disconnected,
            None if previous_alive => IceConnectionState::Connected,
            None => {
                let pending = self.pairs.iter().any(|p| p.is_pending());
                let had_pairs = !self.pairs.is_empty();
                if had_pairs && !pending && self.remote_end_of_candidates {
                    IceConnectionState::Failed
                } else if had_pairs
                    && !pending
                    && matches!(
                        self.state,
                        IceConnectionState::Disconnected
                            | IceConnectionState::Connected
                            | IceConnectionState::Completed
                    )
                {
                    // Consent expired on every pair.
                    IceConnectionState::Failed
                } else if self.remote.is_some() || !self.remotes.is_empty() {
                    if self.state == IceConnectionState::Failed && !pending {
                        IceConnectionState::Failed
                    } else {
                        IceConnectionState::Checking
                    }
                } else {
                    IceConnectionState::New
                }
            }
        };
        self.set_state(state);
    }

    fn set_state(&mut self, state: IceConnectionState) {
        if self.state != state {
            tracing::debug!(from = ?self.state, to = ?state, "ICE connection state");
            self.state = state;
            self.events
                .push_back(IceEvent::ConnectionStateChanged(state));
        }
    }
}

fn stun_transport(t: TransportProtocol) -> stun::Transport {
    match t {
        TransportProtocol::Udp => stun::Transport::Udp,
        TransportProtocol::Tcp => stun::Transport::Tcp,
    }
}

fn random_tid(rng: &mut ChaCha8Rng) -> TransactionId {
    let mut id = [0u8; 12];
    rng.fill_bytes(&mut id);
    TransactionId(id)
}

#[allow(clippy::too_many_arguments)]
fn build_check(
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
