//! What an [`IceAgent`](super::IceAgent) is configured with: [`IceConfig`],
//! the [`IceRole`] and [`NominationMode`].

use std::net::SocketAddr;
use std::time::Duration;

use stun::RetransmitConfig;

use crate::allocator::{CandidateFilter, TurnServerConfig};
use crate::credentials::Credentials;

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

/// Configuration of an [`IceAgent`](super::IceAgent). Defaults follow RFC 8445 and libwebrtc;
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
