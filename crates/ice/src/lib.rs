//! # ice: candidates, port allocation and the ICE agent (P2PTransportChannel)
//!
//! The layer above [`stun`], following libwebrtc's structure as sans-IO state
//! machines:
//!
//! | module | libwebrtc |
//! |---|---|
//! | [`candidate`] | Candidate (RFC 8445 priorities, RFC 8839 `candidate:` lines) |
//! | [`credentials`] | ICE ufrag/pwd: grammar and generation from an injectable RNG |
//! | [`network`] | BasicNetworkManager (interface enumeration and filters) |
//! | [`allocator`] | PortAllocatorSession, AllocationSequence, UDPPort/StunPort |
//! | [`agent`] | P2PTransportChannel: the ICE agent; checklist, pairs (Connection), nomination, consent |
//! | [`mdns`] | mDNS `.local` host candidates: DNS wire codec, resolver (one-shot queries) and responder |
//! | `sim` (feature `sim`) | a deterministic virtual network with NATs (RFC 4787) for tests |
//! | `driver` (feature `tokio`, default) | sockets and timers pumping an [`IceAgent`] |
//! | `tls` (feature `tls`, default) | the TLS client session (OpenSSL, sans-IO) of TURN over TLS |
//!
//! Relay candidates come from [`port::TurnClient`] (TURN over UDP, over a TCP
//! connection to the server, or TLS over TCP; the relayed address is UDP in
//! every case); ICE-TCP
//! (RFC 6544) candidates from TCP listeners the driver owns.
//!
//! The agent never reads a clock: every input carries `now`, so two agents
//! connect on virtual time in microseconds; see [`IceAgent`] for the loop.
#![forbid(unsafe_code)]

pub mod agent;
pub mod allocator;
pub mod candidate;
pub mod credentials;
#[cfg(feature = "tokio")]
pub mod driver;
mod error;
pub mod mdns;
pub mod network;
pub mod port;
mod random;
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(feature = "tls")]
pub mod tls;

pub use agent::{
    Credentials, IceAgent, IceConfig, IceConnectionState, IceEvent, IceRole, NominationMode,
    Receive, Received, Route, SendTo, SEND_HEADROOM, SEND_TAILROOM,
};
pub use allocator::{CandidateFilter, GatheringState, LocalCandidate, Transmit};
pub use candidate::{Candidate, CandidateKind, NetworkType, TransportProtocol};
pub use error::{CandidateParseError, DnsWireError, Error, TlsError};
/// The layer below, re-exported so users of this crate need not depend on it separately.
pub use stun;
