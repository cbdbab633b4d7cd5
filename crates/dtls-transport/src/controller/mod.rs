//! libwebrtc's TransportController (JsepTransportController), sans-IO.
//!
//! One [`JsepTransport`] per transport name (a BUNDLE group, or an m-line when
//! not bundled): an [`IceAgent`](ice::IceAgent) (the P2PTransportChannel) and a
//! [`DtlsTransport`](crate::dtls::DtlsTransport) over it for RTP (and RTCP with rtcp-mux), plus a second
//! pair for the RTCP component when the peer refuses rtcp-mux. The controller
//!
//! - starts DTLS on a transport once ICE has a usable pair,
//! - demultiplexes what ICE accepts (RFC 7983 with the `stun` crate's
//!   classifier): DTLS records to DTLS, SRTP/SRTCP to the component's SRTP
//!   session (only once DTLS has verified the peer), nothing else;
//! - keeps SRTP, as libwebrtc's DtlsSrtpTransport does beside its
//!   JsepTransport: when DTLS on a component exports its DTLS-SRTP keys, the
//!   component gets an [`SrtpSession`](crate::srtp::SrtpSession); received SRTP/SRTCP is authenticated,
//!   replay-checked and decrypted before the media layer sees it
//!   ([`ControllerEvent::Media`], or in the caller's buffer with
//!   [`TransportController::handle_receive_in_place`]), and
//!   [`TransportController::send_rtp`] / [`TransportController::send_rtcp`]
//!   take plain RTP/RTCP. Without rtcp-mux, SRTCP uses the RTCP component's
//!   keys. A driver (or an application bringing its own I/O) only moves
//!   bytes;
//! - carries DTLS datagrams and media along ICE's selected route;
//! - starts gathering on every transport at once
//!   ([`TransportController::start_gathering`], libwebrtc's
//!   MaybeStartGathering), and on transports added later: it asks the driver
//!   for sockets with [`TransportController::poll_gather`], since only the
//!   driver can bind them;
//! - tags local candidates with their transport name;
//! - aggregates ICE gathering, ICE connection and DTLS states into the
//!   states a PeerConnection reports (W3C `iceGatheringState`,
//!   `iceConnectionState`, `connectionState`).
//!
//! Like every core here it owns no socket and reads no clock: the driver
//! feeds datagrams per transport (each transport's agent has its own sockets)
//! and drains transmits, events and the next timeout.
//!
//! Rooms: this file holds the public types, transport management, gathering,
//! signalling and the `poll_*` calls; `jsep_transport.rs` the
//! [`JsepTransport`] and its components; `media.rs` the per-packet paths in
//! and out (receive in place, SRTP, sends in place); `state.rs` the pumping
//! of events between ICE and DTLS and the combined states.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::ops::Range;
use std::time::Instant;

use bytes::Bytes;
use ice::{
    Candidate, Credentials, GatheringState, IceConfig, IceConnectionState, NetworkType, Transmit,
};

use crate::certificate::{Certificate, Fingerprint};
use crate::dtls::{DtlsConfig, DtlsRole};
use crate::error::Error;
use crate::srtp::{SrtpConfig, SrtpProfile};

mod jsep_transport;
mod media;
mod state;

use jsep_transport::Channel;
pub use jsep_transport::JsepTransport;

/// W3C `RTCPeerConnectionState`: ICE and DTLS of every transport combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerConnectionState {
    /// Nothing started.
    New,
    /// ICE checking or DTLS handshaking somewhere.
    Connecting,
    /// Every transport's ICE is connected and DTLS verified.
    Connected,
    /// Some transport's ICE is disconnected.
    Disconnected,
    /// Some transport's ICE or DTLS failed.
    Failed,
    /// Closed.
    Closed,
}

/// What the controller reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControllerEvent {
    /// A local candidate of a transport, to signal (with its mid/transport name).
    Candidate {
        /// The transport name.
        transport: String,
        /// The candidate.
        candidate: ice::Candidate,
    },
    /// A transport finished gathering (its end-of-candidates).
    EndOfCandidates {
        /// The transport name.
        transport: String,
    },
    /// The combined gathering state changed.
    GatheringState(GatheringState),
    /// The combined ICE connection state changed.
    IceConnectionState(IceConnectionState),
    /// The combined connection state changed.
    ConnectionState(PeerConnectionState),
    /// DTLS on a transport component verified the peer. When an SRTP
    /// profile was negotiated the component's SRTP session now exists (the
    /// keys stay inside the controller).
    DtlsConnected {
        /// The transport name.
        transport: String,
        /// 1 (RTP, or both with rtcp-mux) or 2 (RTCP without rtcp-mux).
        component: u16,
        /// The negotiated DTLS-SRTP protection profile, if any.
        srtp_profile: Option<SrtpProfile>,
    },
    /// DTLS on a transport component failed (for example
    /// [`Error::FingerprintMismatch`]); the connection state becomes
    /// [`PeerConnectionState::Failed`].
    DtlsFailed {
        /// The transport name.
        transport: String,
        /// 1 (RTP, or both with rtcp-mux) or 2 (RTCP without rtcp-mux).
        component: u16,
        /// Why.
        error: Error,
    },
    /// The peer closed DTLS on a transport component (close_notify): nothing
    /// more arrives on it. As W3C counts a closed DTLS transport, the
    /// connection state does not change for it; this is how an application
    /// learns that the peer hung up before consent expires.
    DtlsClosed {
        /// The transport name.
        transport: String,
        /// 1 (RTP, or both with rtcp-mux) or 2 (RTCP without rtcp-mux).
        component: u16,
    },
    /// Application data (SCTP) from the verified peer over DTLS.
    ApplicationData {
        /// The transport name.
        transport: String,
        /// One DTLS record's plaintext.
        data: Bytes,
    },
    /// A received RTP or RTCP packet for the media layer, SRTP/SRTCP
    /// protection removed (authenticated and replay-checked with the keys of
    /// the DTLS handshake that verified the peer). Packets that fail are
    /// dropped and counted ([`JsepTransport::srtp_errors`]).
    Media {
        /// The transport name.
        transport: String,
        /// RTCP (true) or RTP (false), by RFC 5761's payload-type rule.
        rtcp: bool,
        /// The plain packet.
        packet: Bytes,
    },
}

/// A request from [`TransportController::poll_gather`]: bind the local
/// sockets (one per network) for one component of one transport, hand each to
/// [`TransportController::add_local_socket`], then call
/// [`TransportController::finish_local_sockets`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GatherRequest {
    /// The transport name.
    pub transport: String,
    /// 1 (RTP, or both with rtcp-mux) or 2 (RTCP without rtcp-mux).
    pub component: u16,
}

/// A transport's small, copyable handle inside one controller (its name is
/// for signalling; the per-packet calls take this id, so nothing is looked up
/// or cloned by name per packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransportId(u32);

impl TransportId {
    fn index(self) -> usize {
        self.0 as usize
    }
}

/// Bytes beyond a plain packet's length that
/// [`TransportController::send_rtp_into`]'s buffer needs at most: the relay
/// headroom, the largest SRTP/SRTCP overhead and the relay tailroom.
pub const SEND_OVERHEAD: usize = ice::SEND_HEADROOM + 20 + ice::SEND_TAILROOM;

/// Where to send a datagram prepared in the caller's buffer (see
/// [`TransportController::send_rtp_into`]); the ICE agent's type.
pub use ice::SendTo;

/// A datagram to send, with the transport and component (1 = RTP, 2 = RTCP
/// without rtcp-mux) whose agent sends it
/// ([`TransportController::poll_component_transmit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentTransmit {
    /// The transport.
    pub transport: TransportId,
    /// The component.
    pub component: u16,
    /// The datagram (or TCP frame).
    pub transmit: Transmit,
}

/// A received RTP or RTCP packet, decrypted in the caller's buffer by
/// [`TransportController::handle_receive_in_place`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainMedia {
    /// RTCP (true) or RTP (false), by RFC 5761's payload-type rule.
    pub rtcp: bool,
    /// Where the plain packet is in the buffer.
    pub range: Range<usize>,
}

/// Configuration shared by the transports a controller creates.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Our certificate (one per PeerConnection, as in libwebrtc).
    pub certificate: Certificate,
    /// The ICE configuration of every transport (role, servers, filters…);
    /// the seed, if any, is varied per transport.
    pub ice: IceConfig,
    /// Replay window and other settings of the SRTP sessions made from the
    /// DTLS-SRTP keys.
    pub srtp: SrtpConfig,
}

impl ControllerConfig {
    /// `certificate` and `ice` with the default SRTP settings.
    pub fn new(certificate: Certificate, ice: IceConfig) -> ControllerConfig {
        ControllerConfig {
            certificate,
            ice,
            srtp: SrtpConfig::default(),
        }
    }
}

/// How [`TransportController::add_transport_with`] creates one transport:
/// what a session description fixes for it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TransportSetup {
    /// Our DTLS role (from `a=setup`; an offerer that wrote `actpass`
    /// picks one and corrects it with
    /// [`TransportController::set_dtls_role`] when the answer comes).
    pub dtls_role: DtlsRole,
    /// Our ICE role, the controller's configured one when `None` (the
    /// offerer controls, RFC 8445 §6.1.1).
    pub ice_role: Option<ice::IceRole>,
    /// Our ICE credentials, as written in our description; random when
    /// `None`.
    pub credentials: Option<Credentials>,
    /// RTP and RTCP share one ICE component (`a=rtcp-mux`).
    pub rtcp_mux: bool,
    /// The peer's fingerprints when already known.
    pub remote_fingerprints: Vec<Fingerprint>,
}

impl TransportSetup {
    /// DTLS `role`, with rtcp-mux, and everything else left to the
    /// controller's configuration.
    pub fn new(dtls_role: DtlsRole) -> TransportSetup {
        TransportSetup {
            dtls_role,
            ice_role: None,
            credentials: None,
            rtcp_mux: true,
            remote_fingerprints: Vec::new(),
        }
    }
}

/// Event queue capacity kept while idle ([`TransportController::handle_timeout`]).
const IDLE_EVENT_CAPACITY: usize = 4;

/// The TransportController.
///
/// ```
/// use std::time::Instant;
/// use dtls_transport::certificate::{Certificate, KeyType};
/// use dtls_transport::controller::{ControllerConfig, TransportController};
/// use dtls_transport::dtls::DtlsRole;
///
/// let certificate = Certificate::generate(KeyType::EcdsaP256, std::time::Duration::from_secs(86400)).unwrap();
/// let mut controller = TransportController::new(ControllerConfig::new(certificate, Default::default()));
/// controller.add_transport(Instant::now(), "0", DtlsRole::Client, None).unwrap();
/// assert!(controller.transport("0").is_some());
/// ```
#[derive(Debug)]
pub struct TransportController {
    config: ControllerConfig,
    /// Indexed by [`TransportId`]; transports are never removed.
    transports: Vec<JsepTransport>,
    by_name: BTreeMap<String, TransportId>,
    events: VecDeque<ControllerEvent>,
    /// Datagrams to send, with the transport and component they belong to.
    transmits: VecDeque<ComponentTransmit>,
    gathering: GatheringState,
    ice_state: IceConnectionState,
    state: PeerConnectionState,
    closed: bool,
    /// [`TransportController::start_gathering`] was called: new transports gather at once.
    gathering_started: bool,
    gather_requests: VecDeque<GatherRequest>,
    /// Where outgoing RTP/RTCP is protected before ICE frames it.
    scratch: Vec<u8>,
}

/// Bytes reserved for a protected packet: the UDP maximum plus the SRTCP
/// index and tag.
const SCRATCH_LEN: usize = 65_535 + 32;

impl TransportController {
    /// A controller with no transports.
    pub fn new(config: ControllerConfig) -> TransportController {
        TransportController {
            config,
            transports: Vec::new(),
            by_name: BTreeMap::new(),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            gathering: GatheringState::New,
            ice_state: IceConnectionState::New,
            state: PeerConnectionState::New,
            closed: false,
            gathering_started: false,
            gather_requests: VecDeque::new(),
            scratch: Vec::new(),
        }
    }

    /// Creates the transport `name` with rtcp-mux (WebRTC's default): one ICE
    /// agent and one DTLS transport in `role`; `remote_fingerprint` may come
    /// later with [`TransportController::set_remote_fingerprint`]. After
    /// [`TransportController::start_gathering`] the new transport gathers at
    /// once. Adding an existing name does nothing.
    pub fn add_transport(
        &mut self,
        now: Instant,
        name: &str,
        role: DtlsRole,
        remote_fingerprint: Option<Fingerprint>,
    ) -> Result<TransportId, Error> {
        self.create(now, name, role, remote_fingerprint, true)
    }

    /// Creates the transport `name` as `setup` says: its DTLS role, its ICE
    /// role and local ICE credentials (those a session description already
    /// carries; the controller's configuration otherwise), rtcp-mux, and the
    /// remote fingerprints known so far. Adding an existing name does
    /// nothing. This is what a session (the peerconnection crate's
    /// `Session`) calls when a description asks for a transport.
    pub fn add_transport_with(
        &mut self,
        now: Instant,
        name: &str,
        setup: TransportSetup,
    ) -> Result<TransportId, Error> {
        let mut ice = self.config.ice.clone();
        if let Some(role) = setup.ice_role {
            ice.role = role;
        }
        if let Some(credentials) = setup.credentials {
            ice.credentials = Some(credentials);
        }
        let mut dtls = DtlsConfig::new(self.config.certificate.clone(), setup.dtls_role);
        dtls.remote_fingerprints = setup.remote_fingerprints;
        self.create_with(now, name, ice, dtls, setup.rtcp_mux)
    }

    /// A transport that gathers now, before any session description needs
    /// it: one entry of libwebrtc's candidate pool (W3C
    /// `iceCandidatePoolSize`). Its [`GatherRequest`] (named `pool:N`, a name
    /// no mid can have) is queued at once, whether or not
    /// [`start_gathering`](Self::start_gathering) was called; its
    /// candidates, gathering and connection states stay out of the events
    /// and the combined states until
    /// [`adopt_pooled_transport`](Self::adopt_pooled_transport) gives it a
    /// name. STUN and TURN answers (the slow part of gathering) are then
    /// already in.
    pub fn add_pooled_transport(&mut self, now: Instant) -> Result<TransportId, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let name = format!("pool:{}", self.transports.len());
        let id = self.create_with(
            now,
            &name,
            self.config.ice.clone(),
            DtlsConfig::new(self.config.certificate.clone(), DtlsRole::Server),
            true,
        )?;
        let t = &mut self.transports[id.index()];
        t.pooled = true;
        if !t.rtp.gather_requested {
            t.rtp.gather_requested = true;
            self.gather_requests.push_back(GatherRequest {
                transport: name,
                component: 1,
            });
        }
        Ok(id)
    }

    /// Gives the oldest pooled transport ([`add_pooled_transport`](Self::add_pooled_transport))
    /// the name `name` and what `setup` fixes (libwebrtc's
    /// `TakePooledSession`): its ICE agent takes the role and credentials,
    /// its DTLS transport the role, and the candidates it gathered come out
    /// as [`ControllerEvent::Candidate`]s for `name` (then
    /// [`ControllerEvent::EndOfCandidates`] if gathering is over). `None`
    /// when no pooled transport can serve (none left, or `setup` wants RTCP
    /// on a component of its own): the caller adds a transport as usual.
    pub fn adopt_pooled_transport(
        &mut self,
        now: Instant,
        name: &str,
        setup: &TransportSetup,
    ) -> Result<Option<TransportId>, Error> {
        if !setup.rtcp_mux || self.by_name.contains_key(name) {
            return Ok(None);
        }
        let Some(index) = self.transports.iter().position(|t| t.pooled) else {
            return Ok(None);
        };
        let role = setup.ice_role.unwrap_or(self.config.ice.role);
        let t = &mut self.transports[index];
        let old = std::mem::replace(&mut t.name, name.to_string());
        t.pooled = false;
        let id = t.id;
        self.by_name.remove(&old);
        self.by_name.insert(name.to_string(), id);
        // A pooled agent never met a peer: the description's role and
        // credentials, its candidates signalled again under `name`.
        self.retake_transport(now, name, role, setup.credentials.clone())?;
        if !setup.remote_fingerprints.is_empty() {
            self.transports[index]
                .rtp
                .dtls
                .set_remote_fingerprints(&setup.remote_fingerprints)?;
        }
        self.set_dtls_role(name, setup.dtls_role)?;
        self.update(now);
        let t = &self.transports[index];
        if t.rtp.gathering == GatheringState::Complete {
            self.events.push_back(ControllerEvent::EndOfCandidates {
                transport: name.to_string(),
            });
        }
        tracing::debug!(transport = name, pooled = %old, "pooled transport adopted");
        Ok(Some(id))
    }

    /// Gives transport `name`, whose agents have not met a peer yet, a new
    /// ICE role and local credentials without an ICE restart (same
    /// candidates, same generation, signalled again with the new ufrag): a
    /// transport made for an offer that was rolled back and now serves the
    /// answer to the peer's offer (glare), where the offerer's controlling
    /// role would otherwise meet the peer's. `Ok(false)`, and nothing
    /// changes, once an agent knows a peer: an ICE restart is the way then.
    pub fn retake_transport(
        &mut self,
        now: Instant,
        name: &str,
        role: ice::IceRole,
        credentials: Option<Credentials>,
    ) -> Result<bool, Error> {
        let t = self.get_mut(name)?;
        if t.channels().any(|c| c.ice.remote_credentials().is_some()) {
            return Ok(false);
        }
        for c in t.channels_mut() {
            let credentials = credentials
                .clone()
                .unwrap_or_else(|| c.ice.local_credentials().clone());
            c.ice.adopt(role, credentials)?;
        }
        self.update(now);
        Ok(true)
    }

    /// ICE restart of transport `name` (RFC 8445 §9) with the new local
    /// credentials of our description (random when `None`; every component
    /// gets the same). DTLS and SRTP keep running over the selected pair
    /// until the new generation selects one. New local candidates come out
    /// as events for signaling.
    pub fn restart_ice(
        &mut self,
        now: Instant,
        name: &str,
        credentials: Option<Credentials>,
    ) -> Result<(), Error> {
        let t = self.get_mut(name)?;
        let mut credentials = credentials;
        for c in t.channels_mut() {
            c.ice.restart_with(now, credentials.clone());
            credentials = Some(c.ice.local_credentials().clone());
        }
        self.update(now);
        Ok(())
    }

    /// Changes the DTLS role of transport `name` before its handshake
    /// started: an offerer's `a=setup:actpass` becomes a role only when the
    /// answer comes (RFC 8842 §5). The DTLS transports are rebuilt (their
    /// remote fingerprints kept); once a handshake started, asking for a
    /// different role is [`Error::DtlsRoleFixed`] and changes nothing.
    pub fn set_dtls_role(&mut self, name: &str, role: DtlsRole) -> Result<(), Error> {
        let t = self.get_mut(name)?;
        if t.channels_mut()
            .any(|c| c.dtls_started && c.dtls.role() != role)
        {
            return Err(Error::DtlsRoleFixed);
        }
        for c in t.channels_mut() {
            if c.dtls.role() != role {
                c.dtls_config.role = role;
                c.dtls = crate::dtls::DtlsTransport::new(c.dtls_config.clone())?;
            }
        }
        Ok(())
    }

    /// Creates the transport `name` without rtcp-mux: a second ICE agent
    /// (component 2, same credentials) with its own DTLS transport carries
    /// RTCP, as libwebrtc does for peers that refuse rtcp-mux.
    pub fn add_transport_without_rtcp_mux(
        &mut self,
        now: Instant,
        name: &str,
        role: DtlsRole,
        remote_fingerprint: Option<Fingerprint>,
    ) -> Result<TransportId, Error> {
        self.create(now, name, role, remote_fingerprint, false)
    }

    fn create(
        &mut self,
        now: Instant,
        name: &str,
        role: DtlsRole,
        remote_fingerprint: Option<Fingerprint>,
        rtcp_mux: bool,
    ) -> Result<TransportId, Error> {
        let mut dtls = DtlsConfig::new(self.config.certificate.clone(), role);
        dtls.remote_fingerprints.extend(remote_fingerprint);
        self.create_with(now, name, self.config.ice.clone(), dtls, rtcp_mux)
    }

    fn create_with(
        &mut self,
        now: Instant,
        name: &str,
        mut ice_config: IceConfig,
        dtls: DtlsConfig,
        rtcp_mux: bool,
    ) -> Result<TransportId, Error> {
        if let Some(&id) = self.by_name.get(name) {
            return Ok(id);
        }
        let id = TransportId(
            u32::try_from(self.transports.len()).map_err(|_| Error::TooManyTransports)?,
        );
        if let Some(seed) = ice_config.seed.as_mut() {
            *seed = seed.wrapping_add(2 * self.transports.len() as u64);
        }
        let rtp = Channel::new(ice_config.clone(), dtls.clone())?;
        let rtcp = if rtcp_mux {
            None
        } else {
            // Both components of a stream share the ICE credentials (RFC 8445 §5.3).
            let mut c = ice_config;
            c.component = 2;
            c.credentials = Some(rtp.ice.local_credentials().clone());
            if let Some(seed) = c.seed.as_mut() {
                *seed = seed.wrapping_add(1);
            }
            Some(Channel::new(c, dtls)?)
        };
        self.transports.push(JsepTransport {
            id,
            name: name.to_string(),
            pooled: false,
            rtp,
            rtcp,
        });
        self.by_name.insert(name.to_string(), id);
        if self.gathering_started {
            self.request_gathering();
        }
        self.update(now);
        Ok(id)
    }

    /// The transport `name`.
    pub fn transport(&mut self, name: &str) -> Option<&mut JsepTransport> {
        let id = *self.by_name.get(name)?;
        self.transports.get_mut(id.index())
    }

    /// The id of transport `name`, for the per-packet calls.
    pub fn transport_id(&self, name: &str) -> Option<TransportId> {
        self.by_name.get(name).copied()
    }

    /// The name of transport `id`.
    pub fn transport_name(&self, id: TransportId) -> Option<&str> {
        self.transports.get(id.index()).map(JsepTransport::name)
    }

    /// Names of the transports, in order.
    pub fn transport_names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    fn get_mut(&mut self, name: &str) -> Result<&mut JsepTransport, Error> {
        match self.by_name.get(name) {
            Some(id) => Ok(&mut self.transports[id.index()]),
            None => Err(Error::UnknownTransport(name.to_string())),
        }
    }

    fn by_id(&mut self, id: TransportId) -> Result<&mut JsepTransport, Error> {
        self.transports
            .get_mut(id.index())
            .ok_or(Error::UnknownTransportId)
    }

    /// Starts gathering on every transport and on every transport added from
    /// now on (libwebrtc's TransportController::MaybeStartGathering). The
    /// controller owns no socket, so this queues one [`GatherRequest`] per
    /// component that has not gathered yet, for the driver to drain with
    /// [`TransportController::poll_gather`]. Components whose agent already
    /// got sockets directly (through [`JsepTransport::ice`]) are left alone.
    /// Calling it again does nothing more.
    pub fn start_gathering(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.gathering_started = true;
        self.request_gathering();
        self.update(now);
    }

    /// True once [`TransportController::start_gathering`] was called.
    pub fn is_gathering_started(&self) -> bool {
        self.gathering_started
    }

    /// Queues a [`GatherRequest`] for every component that has neither been
    /// asked nor been given sockets yet.
    fn request_gathering(&mut self) {
        for t in self.transports.iter_mut() {
            let name = &t.name;
            for (component, c) in (1u16..).zip(std::iter::once(&mut t.rtp).chain(t.rtcp.as_mut())) {
                if !c.gather_requested && c.ice.gathering_state() == GatheringState::New {
                    c.gather_requested = true;
                    self.gather_requests.push_back(GatherRequest {
                        transport: name.clone(),
                        component,
                    });
                }
            }
        }
    }

    /// The next component the driver must bind sockets for (after
    /// [`TransportController::start_gathering`]).
    pub fn poll_gather(&mut self) -> Option<GatherRequest> {
        self.gather_requests.pop_front()
    }

    /// Hands a bound local UDP socket to component `component` of transport
    /// `name`: its host candidate (and server-reflexive ones when STUN servers
    /// are configured) come out as [`ControllerEvent::Candidate`] tagged with `name`.
    pub fn add_local_socket(
        &mut self,
        now: Instant,
        name: &str,
        component: u16,
        addr: SocketAddr,
        network_type: NetworkType,
    ) -> Result<(), Error> {
        self.with_agent(now, name, component, |ice| {
            ice.add_local_socket(now, addr, network_type)
        })
    }

    /// Runs `f` on the ICE agent of component `component` of transport
    /// `name`, then pumps the layers.
    fn with_agent(
        &mut self,
        now: Instant,
        name: &str,
        component: u16,
        f: impl FnOnce(&mut ice::IceAgent),
    ) -> Result<(), Error> {
        let c = self
            .get_mut(name)?
            .channel_mut(component)
            .ok_or(Error::UnknownComponent(component))?;
        f(&mut c.ice);
        self.update(now);
        Ok(())
    }

    /// A local address went away (the driver's network monitor found it
    /// gone and closed its sockets): every ICE agent drops the candidates
    /// based on it and fails their pairs at once
    /// ([`IceAgent::remove_local_address`](ice::IceAgent::remove_local_address)),
    /// moving to another pair or to Failed instead of waiting for consent
    /// to expire.
    pub fn remove_local_address(&mut self, now: Instant, ip: std::net::IpAddr) {
        for c in self
            .transports
            .iter_mut()
            .flat_map(JsepTransport::channels_mut)
        {
            c.ice.remove_local_address(now, ip);
        }
        self.update(now);
    }

    /// Hands an ICE-TCP listener (RFC 6544) to component `component` of
    /// transport `name`: a passive candidate at its address and an active
    /// one on the same IP come out as [`ControllerEvent::Candidate`]. Frames
    /// from its connections go to
    /// [`handle_stream_frame_in_place`](Self::handle_stream_frame_in_place).
    pub fn add_local_tcp_listener(
        &mut self,
        now: Instant,
        name: &str,
        component: u16,
        addr: SocketAddr,
        network_type: NetworkType,
    ) -> Result<(), Error> {
        self.with_agent(now, name, component, |ice| {
            ice.add_local_tcp_listener(now, addr, network_type)
        })
    }

    /// No more sockets will come for this component: its gathering completes
    /// once its STUN/TURN servers (if any) have answered or timed out, and
    /// [`ControllerEvent::EndOfCandidates`] follows when every component of
    /// the transport is done.
    pub fn finish_local_sockets(
        &mut self,
        now: Instant,
        name: &str,
        component: u16,
    ) -> Result<(), Error> {
        self.with_agent(now, name, component, |ice| ice.finish_local_sockets(now))
    }

    /// Our ICE credentials for transport `name` (shared by its components),
    /// to signal to the peer.
    pub fn local_credentials(&self, name: &str) -> Option<&Credentials> {
        let id = self.by_name.get(name)?;
        Some(self.transports[id.index()].rtp.ice.local_credentials())
    }

    /// Sets the peer's ICE credentials for every component of transport
    /// `name`; checks of pairs already formed start from `now`.
    pub fn set_remote_credentials(
        &mut self,
        now: Instant,
        name: &str,
        credentials: Credentials,
    ) -> Result<(), Error> {
        for c in self.get_mut(name)?.channels_mut() {
            c.ice.set_remote_credentials(now, credentials.clone());
        }
        self.update(now);
        Ok(())
    }

    /// Adds a remote candidate to transport `name`, on the component the
    /// candidate names (`a=candidate`'s component id).
    pub fn add_remote_candidate(
        &mut self,
        now: Instant,
        name: &str,
        candidate: Candidate,
    ) -> Result<(), Error> {
        let component = candidate.component;
        let c = self
            .get_mut(name)?
            .channel_mut(component)
            .ok_or(Error::UnknownComponent(component))?;
        c.ice.add_remote_candidate(now, candidate)?;
        self.update(now);
        Ok(())
    }

    /// The peer has signalled all its candidates for transport `name`.
    pub fn end_of_remote_candidates(&mut self, now: Instant, name: &str) -> Result<(), Error> {
        for c in self.get_mut(name)?.channels_mut() {
            c.ice.end_of_remote_candidates(now);
        }
        self.update(now);
        Ok(())
    }

    /// Sets the peer's fingerprint for a transport (from its description).
    pub fn set_remote_fingerprint(
        &mut self,
        name: &str,
        fingerprint: Fingerprint,
    ) -> Result<(), Error> {
        self.set_remote_fingerprints(name, &[fingerprint])
    }

    /// Sets every fingerprint of the peer's section for a transport; its
    /// certificate must match one with the strongest hash function listed
    /// ([`Fingerprint::matches_any`]).
    pub fn set_remote_fingerprints(
        &mut self,
        name: &str,
        fingerprints: &[Fingerprint],
    ) -> Result<(), Error> {
        let t = self.get_mut(name)?;
        for c in t.channels_mut() {
            c.dtls.set_remote_fingerprints(fingerprints)?;
            c.dtls_config.remote_fingerprints = fingerprints.to_vec();
        }
        Ok(())
    }

    /// Our certificate's fingerprint (for our descriptions).
    pub fn local_fingerprint(&self) -> Fingerprint {
        self.config.certificate.fingerprint(Default::default())
    }

    /// The combined connection state.
    pub fn state(&self) -> PeerConnectionState {
        self.state
    }

    /// The combined ICE connection state.
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.ice_state
    }

    /// The combined gathering state.
    pub fn gathering_state(&self) -> GatheringState {
        self.gathering
    }

    /// Runs the timers of every agent and DTLS transport.
    pub fn handle_timeout(&mut self, now: Instant) {
        for c in self
            .transports
            .iter_mut()
            .flat_map(JsepTransport::channels_mut)
        {
            if c.ice.poll_timeout().is_some_and(|d| d <= now) {
                c.ice.handle_timeout(now);
            }
            if c.dtls.poll_timeout().is_some_and(|d| d <= now) {
                c.dtls.handle_timeout(now);
            }
        }
        self.update(now);
        for c in self
            .transports
            .iter_mut()
            .flat_map(JsepTransport::channels_mut)
        {
            c.dtls.compact_idle();
        }
        // Idle compaction on a timer, never per packet: a burst (gathering,
        // the handshake) grows the event queue; an idle connection should not
        // keep that capacity.
        if self.events.is_empty() && self.events.capacity() > IDLE_EVENT_CAPACITY {
            self.events.shrink_to(IDLE_EVENT_CAPACITY);
        }
    }

    /// Closes DTLS (close_notify) and ICE on every transport.
    pub fn close(&mut self, now: Instant) {
        for c in self
            .transports
            .iter_mut()
            .flat_map(JsepTransport::channels_mut)
        {
            c.dtls.close(now);
        }
        self.update(now);
        for c in self
            .transports
            .iter_mut()
            .flat_map(JsepTransport::channels_mut)
        {
            c.ice.close(now);
        }
        self.closed = true;
        self.update(now);
    }

    /// The next datagram to send (from one of the agents' sockets). `now`
    /// times the TURN permission or channel a relayed route may need.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.poll_component_transmit(now).map(|t| t.transmit)
    }

    /// [`poll_transmit`](Self::poll_transmit) with the transport and
    /// component the datagram belongs to, for drivers that keep TCP
    /// connections per component (an active ICE-TCP candidate's base, port
    /// 9, is the same for every component).
    pub fn poll_component_transmit(&mut self, now: Instant) -> Option<ComponentTransmit> {
        if let Some(t) = self.transmits.pop_front() {
            return Some(t);
        }
        self.transports.iter_mut().find_map(|t| {
            let id = t.id;
            (1u16..).zip(t.channels_mut()).find_map(|(component, c)| {
                let transmit = c.ice.poll_transmit(now)?;
                Some(ComponentTransmit {
                    transport: id,
                    component,
                    transmit,
                })
            })
        })
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ControllerEvent> {
        self.events.pop_front()
    }

    /// When [`TransportController::handle_timeout`] must next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.transports
            .iter()
            .flat_map(JsepTransport::channels)
            .flat_map(|c| [c.ice.poll_timeout(), c.dtls.poll_timeout()])
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::state::combine_ice;
    use super::*;
    use crate::certificate::KeyType;

    fn controller() -> TransportController {
        let certificate =
            Certificate::generate(KeyType::EcdsaP256, std::time::Duration::from_secs(3600))
                .unwrap();
        let ice = IceConfig {
            seed: Some(7),
            ..Default::default()
        };
        TransportController::new(ControllerConfig::new(certificate, ice))
    }

    fn drain(c: &mut TransportController) -> Vec<GatherRequest> {
        std::iter::from_fn(|| c.poll_gather()).collect()
    }

    fn request(transport: &str, component: u16) -> GatherRequest {
        GatherRequest {
            transport: transport.into(),
            component,
        }
    }

    #[test]
    fn start_gathering_asks_for_sockets_on_every_transport_and_later_ones() {
        let now = Instant::now();
        let mut c = controller();
        c.add_transport(now, "audio", DtlsRole::Client, None)
            .unwrap();
        c.add_transport_without_rtcp_mux(now, "video", DtlsRole::Client, None)
            .unwrap();
        // Nothing gathers before start_gathering.
        assert!(drain(&mut c).is_empty());
        assert!(!c.is_gathering_started());
        c.start_gathering(now);
        assert_eq!(
            drain(&mut c),
            vec![
                request("audio", 1),
                request("video", 1),
                request("video", 2)
            ]
        );
        // Once: a second call asks for nothing more.
        c.start_gathering(now);
        assert!(drain(&mut c).is_empty());
        // A transport added afterwards gathers at once (MaybeStartGathering).
        c.add_transport(now, "data", DtlsRole::Client, None)
            .unwrap();
        assert_eq!(drain(&mut c), vec![request("data", 1)]);
    }

    #[test]
    fn sockets_yield_candidates_tagged_with_their_transport() {
        let now = Instant::now();
        let mut c = controller();
        c.add_transport_without_rtcp_mux(now, "video", DtlsRole::Client, None)
            .unwrap();
        c.start_gathering(now);
        assert_eq!(c.gathering_state(), GatheringState::New);
        let addrs: [SocketAddr; 2] = [
            "127.0.0.1:4000".parse().unwrap(),
            "127.0.0.1:4001".parse().unwrap(),
        ];
        for (
            GatherRequest {
                transport,
                component,
            },
            addr,
        ) in drain(&mut c).into_iter().zip(addrs)
        {
            c.add_local_socket(now, &transport, component, addr, NetworkType::Loopback)
                .unwrap();
            c.finish_local_sockets(now, &transport, component).unwrap();
        }
        let events: Vec<ControllerEvent> = std::iter::from_fn(|| c.poll_event()).collect();
        let candidates: Vec<(String, u16, SocketAddr)> = events
            .iter()
            .filter_map(|e| match e {
                ControllerEvent::Candidate {
                    transport,
                    candidate,
                } => Some((
                    transport.clone(),
                    candidate.component,
                    candidate.socket_addr()?,
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            candidates,
            vec![
                ("video".to_string(), 1, addrs[0]),
                ("video".to_string(), 2, addrs[1])
            ]
        );
        assert!(events.contains(&ControllerEvent::EndOfCandidates {
            transport: "video".into()
        }));
        assert_eq!(c.gathering_state(), GatheringState::Complete);
        // Unknown names and components are errors, not panics.
        assert_eq!(
            c.add_local_socket(now, "audio", 1, addrs[0], NetworkType::Loopback),
            Err(Error::UnknownTransport("audio".into()))
        );
        assert_eq!(
            c.finish_local_sockets(now, "video", 3),
            Err(Error::UnknownComponent(3))
        );
    }

    #[test]
    fn ice_states_combine_as_the_w3c_says() {
        use IceConnectionState::*;
        assert_eq!(combine_ice([].into_iter()), New);
        assert_eq!(combine_ice([Connected, Completed].into_iter()), Connected);
        assert_eq!(combine_ice([Completed, Completed].into_iter()), Completed);
        assert_eq!(combine_ice([Connected, Checking].into_iter()), Checking);
        assert_eq!(
            combine_ice([Connected, Disconnected].into_iter()),
            Disconnected
        );
        assert_eq!(combine_ice([Failed, Connected].into_iter()), Failed);
        assert_eq!(combine_ice([New, New].into_iter()), New);
    }
}
