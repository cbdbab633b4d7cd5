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
//!
//! One [`IceAgent`], its `impl` spread over rooms named for what they hold:
//!
//! | module | what it holds |
//! |---|---|
//! | `mod.rs` | the [`IceAgent`] struct (every field) and [`IceAgent::new`] |
//! | `config` | [`IceConfig`], [`IceRole`], [`NominationMode`] ([`Credentials`] are in [`crate::credentials`]) |
//! | `api` | the public surface: [`IceEvent`], [`Receive`], [`Received`], [`Route`]; getters, commands, inputs and outputs |
//! | `inbound` | checks the peer sends us (RFC 8445 §7.3): authentication, role conflicts, peer-reflexive candidates, triggered checks, our responses |
//! | `checklist` | forming pairs from local × remote candidates, their initial state, priorities, freezing and unfreezing by foundation |
//! | `outgoing` | the checks we send: pacing (Ta), triggered, keepalive; their STUN transactions and what their answers do to a pair |
//! | `nomination` | the controlling agent's choice of the pair to nominate, and when |
//! | `consent` | consent freshness (RFC 7675) and ICE restart (the previous generation's pair) |
//! | `state` | role, selected pair and [`IceConnectionState`] |
//! | `pair` | one candidate pair (libwebrtc's Connection): [`PairState`], [`pair_priority`] |

mod api;
mod checklist;
mod config;
mod consent;
mod inbound;
mod nomination;
mod outgoing;
mod pair;
mod state;

pub use crate::credentials::Credentials;
pub use api::{IceEvent, Receive, Received, Route, SendTo, SEND_HEADROOM, SEND_TAILROOM};
pub use config::{IceConfig, IceRole, NominationMode};
pub use pair::{pair_priority, PairState};
pub use state::IceConnectionState;

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;
use stun::{IntegrityKey, RequestManager, TransactionId};

use crate::allocator::{AllocatorConfig, LocalCandidate, PortAllocatorSession, Transmit};
use crate::random::seeded_rng;
use checklist::{Foundations, RemoteCandidate};
use consent::PreviousGeneration;
use outgoing::CheckInfo;
use pair::{Pair, PairId, Pairs};

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
    /// Positions in `locals` whose address went away: never paired again.
    dead_locals: Vec<usize>,
    /// Remote candidates of this generation. Pairs name their local and
    /// remote candidate by position: both lists only grow, until a new
    /// generation clears `remotes` together with the pairs.
    remotes: Vec<RemoteCandidate>,
    remote_end_of_candidates: bool,
    /// The checklist; everything that keeps a pair names it by a [`PairId`],
    /// which goes stale when the pair is replaced or cleared.
    pairs: Pairs,
    /// The foundations the pairs name by id (cleared with them).
    foundations: Foundations,
    triggered: VecDeque<PairId>,
    checks: RequestManager,
    in_flight: HashMap<TransactionId, CheckInfo>,
    next_check_at: Option<Instant>,
    first_valid_at: Option<Instant>,
    selected: Option<PairId>,
    previous: Option<PreviousGeneration>,
    state: IceConnectionState,
    transmits: VecDeque<Transmit>,
    events: VecDeque<IceEvent>,
    closed: bool,
}

impl IceAgent {
    /// A new agent. Local candidates come from [`IceAgent::add_local_socket`].
    pub fn new(config: IceConfig) -> IceAgent {
        let mut rng = seeded_rng(config.seed);
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
            dead_locals: Vec::new(),
            remotes: Vec::new(),
            remote_end_of_candidates: false,
            pairs: Pairs::default(),
            foundations: Foundations::default(),
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
}
