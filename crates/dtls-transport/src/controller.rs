//! libwebrtc's TransportController (JsepTransportController), sans-IO.
//!
//! One [`JsepTransport`] per transport name (a BUNDLE group, or an m-line when
//! not bundled): an [`IceAgent`] (the P2PTransportChannel; component 1, as
//! WebRTC requires rtcp-mux) and a [`DtlsTransport`] over it. The controller
//!
//! - starts DTLS on a transport once ICE has a usable pair,
//! - demultiplexes what ICE accepts (RFC 7983 with the `stun` crate's
//!   classifier): DTLS records to DTLS, SRTP/SRTCP to the media layer (only
//!   once DTLS has verified the peer), nothing else;
//! - carries DTLS datagrams and media along ICE's selected route;
//! - tags local candidates with their transport name;
//! - aggregates ICE gathering, ICE connection and DTLS states into the
//!   states a PeerConnection reports (W3C `iceGatheringState`,
//!   `iceConnectionState`, `connectionState`).
//!
//! Like every core here it owns no socket and reads no clock: the driver
//! feeds datagrams per transport (each transport's agent has its own sockets)
//! and drains transmits, events and the next timeout.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;
use ice::stun::{classify, PacketKind};
use ice::{
    GatheringState, IceAgent, IceConfig, IceConnectionState, IceEvent, Receive, Received, Transmit,
};

use crate::certificate::{Certificate, Fingerprint};
use crate::dtls::{DtlsConfig, DtlsEvent, DtlsRole, DtlsState, DtlsTransport, SrtpKeys};
use crate::error::Error;

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
    /// DTLS on a transport verified the peer; SRTP keys when negotiated.
    DtlsConnected {
        /// The transport name.
        transport: String,
        /// The DTLS-SRTP keys, oriented for our role.
        srtp: Option<SrtpKeys>,
    },
    /// Application data (SCTP) from the verified peer over DTLS.
    ApplicationData {
        /// The transport name.
        transport: String,
        /// One DTLS record's plaintext.
        data: Bytes,
    },
    /// An SRTP or SRTCP packet (still protected) for the media layer; only
    /// delivered once DTLS has verified the peer.
    Media {
        /// The transport name.
        transport: String,
        /// RTCP (true) or RTP (false), by RFC 5761's payload-type rule.
        rtcp: bool,
        /// The protected packet.
        packet: Bytes,
    },
}

/// One transport: ICE plus DTLS over it (libwebrtc's JsepTransport).
#[derive(Debug)]
pub struct JsepTransport {
    name: String,
    ice: IceAgent,
    dtls: DtlsTransport,
    dtls_started: bool,
    gathering: GatheringState,
}

impl JsepTransport {
    /// The transport name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ICE agent (add sockets, remote credentials and candidates here).
    pub fn ice(&mut self) -> &mut IceAgent {
        &mut self.ice
    }

    /// The DTLS transport.
    pub fn dtls(&self) -> &DtlsTransport {
        &self.dtls
    }
}

/// Configuration shared by the transports a controller creates.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Our certificate (one per PeerConnection, as in libwebrtc).
    pub certificate: Certificate,
    /// The ICE configuration of every transport (role, servers, filters…);
    /// the seed, if any, is varied per transport.
    pub ice: IceConfig,
}

/// The TransportController.
///
/// ```
/// use std::time::Instant;
/// use dtls_transport::certificate::{Certificate, KeyType};
/// use dtls_transport::controller::{ControllerConfig, TransportController};
/// use dtls_transport::dtls::DtlsRole;
///
/// let certificate = Certificate::generate(KeyType::EcdsaP256, std::time::Duration::from_secs(86400)).unwrap();
/// let mut controller = TransportController::new(ControllerConfig { certificate, ice: Default::default() });
/// controller.add_transport(Instant::now(), "0", DtlsRole::Client, None).unwrap();
/// assert!(controller.transport("0").is_some());
/// ```
#[derive(Debug)]
pub struct TransportController {
    config: ControllerConfig,
    transports: BTreeMap<String, JsepTransport>,
    events: VecDeque<ControllerEvent>,
    transmits: VecDeque<Transmit>,
    gathering: GatheringState,
    ice_state: IceConnectionState,
    state: PeerConnectionState,
    closed: bool,
}

impl TransportController {
    /// A controller with no transports.
    pub fn new(config: ControllerConfig) -> TransportController {
        TransportController {
            config,
            transports: BTreeMap::new(),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            gathering: GatheringState::New,
            ice_state: IceConnectionState::New,
            state: PeerConnectionState::New,
            closed: false,
        }
    }

    /// Creates the transport `name` (an ICE agent and a DTLS transport in
    /// `role`); `remote_fingerprint` may come later with
    /// [`TransportController::set_remote_fingerprint`].
    pub fn add_transport(
        &mut self,
        now: Instant,
        name: &str,
        role: DtlsRole,
        remote_fingerprint: Option<Fingerprint>,
    ) -> Result<(), Error> {
        if self.transports.contains_key(name) {
            return Ok(());
        }
        let mut ice_config = self.config.ice.clone();
        if let Some(seed) = ice_config.seed.as_mut() {
            *seed = seed.wrapping_add(self.transports.len() as u64);
        }
        let mut dtls = DtlsConfig::new(self.config.certificate.clone(), role);
        dtls.remote_fingerprint = remote_fingerprint;
        let transport = JsepTransport {
            name: name.to_string(),
            ice: IceAgent::new(ice_config),
            dtls: DtlsTransport::new(dtls)?,
            dtls_started: false,
            gathering: GatheringState::New,
        };
        self.transports.insert(name.to_string(), transport);
        self.update(now);
        Ok(())
    }

    /// The transport `name`.
    pub fn transport(&mut self, name: &str) -> Option<&mut JsepTransport> {
        self.transports.get_mut(name)
    }

    /// Names of the transports.
    pub fn transport_names(&self) -> impl Iterator<Item = &str> {
        self.transports.keys().map(String::as_str)
    }

    /// Sets the peer's fingerprint for a transport (from its description).
    pub fn set_remote_fingerprint(
        &mut self,
        name: &str,
        fingerprint: Fingerprint,
    ) -> Result<(), Error> {
        let t = self.transports.get_mut(name).ok_or(Error::NotConnected)?;
        t.dtls.set_remote_fingerprint(fingerprint)
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

    /// A datagram for transport `name` (from one of its agent's sockets).
    pub fn handle_receive(&mut self, now: Instant, name: &str, receive: Receive<'_>) {
        let Some(t) = self.transports.get_mut(name) else {
            return;
        };
        if let Received::Data(range) = t.ice.handle_receive(now, receive) {
            let payload = &receive.data[range];
            match classify(payload) {
                PacketKind::Dtls => t.dtls.handle_receive(now, payload),
                // Media only from a peer whose certificate DTLS has verified.
                kind @ (PacketKind::Rtp | PacketKind::Rtcp)
                    if t.dtls.state() == DtlsState::Connected =>
                {
                    self.events.push_back(ControllerEvent::Media {
                        transport: t.name.clone(),
                        rtcp: kind == PacketKind::Rtcp,
                        packet: Bytes::copy_from_slice(payload),
                    });
                }
                _ => {}
            }
        }
        self.update(now);
    }

    /// Runs the timers of every agent and DTLS transport.
    pub fn handle_timeout(&mut self, now: Instant) {
        for t in self.transports.values_mut() {
            if t.ice.poll_timeout().is_some_and(|d| d <= now) {
                t.ice.handle_timeout(now);
            }
            if t.dtls.poll_timeout().is_some_and(|d| d <= now) {
                t.dtls.handle_timeout(now);
            }
        }
        self.update(now);
    }

    /// Sends application data (SCTP) to the peer over DTLS on `name`.
    pub fn send_application_data(
        &mut self,
        now: Instant,
        name: &str,
        data: &[u8],
    ) -> Result<(), Error> {
        let t = self.transports.get_mut(name).ok_or(Error::NotConnected)?;
        t.dtls.send(data)?;
        self.update(now);
        Ok(())
    }

    /// Sends an already protected SRTP/SRTCP packet on `name` along ICE's route.
    pub fn send_media(&mut self, name: &str, packet: &[u8]) -> Result<(), Error> {
        let t = self.transports.get_mut(name).ok_or(Error::NotConnected)?;
        if t.dtls.state() != DtlsState::Connected {
            return Err(Error::NotConnected);
        }
        let transmit = t.ice.send(packet)?;
        self.transmits.push_back(transmit);
        Ok(())
    }

    /// Closes DTLS (close_notify) and ICE on every transport.
    pub fn close(&mut self, now: Instant) {
        for t in self.transports.values_mut() {
            t.dtls.close(now);
        }
        self.update(now);
        for t in self.transports.values_mut() {
            t.ice.close(now);
        }
        self.closed = true;
        self.update(now);
    }

    /// The next datagram to send (from one of the agents' sockets).
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(t) = self.transmits.pop_front() {
            return Some(t);
        }
        for t in self.transports.values_mut() {
            if let Some(x) = t.ice.poll_transmit() {
                return Some(x);
            }
        }
        None
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ControllerEvent> {
        self.events.pop_front()
    }

    /// When [`TransportController::handle_timeout`] must next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.transports
            .values()
            .flat_map(|t| [t.ice.poll_timeout(), t.dtls.poll_timeout()])
            .flatten()
            .min()
    }

    /// Pumps events between the layers: ICE events become controller events,
    /// DTLS starts once ICE has a route, DTLS datagrams go out along the
    /// route, DTLS events are forwarded, and the combined states are updated.
    fn update(&mut self, now: Instant) {
        for t in self.transports.values_mut() {
            while let Some(ev) = t.ice.poll_event() {
                match ev {
                    IceEvent::LocalCandidate(candidate) => {
                        self.events.push_back(ControllerEvent::Candidate {
                            transport: t.name.clone(),
                            candidate,
                        })
                    }
                    IceEvent::GatheringStateChanged(s) => {
                        t.gathering = s;
                        if s == GatheringState::Complete {
                            self.events.push_back(ControllerEvent::EndOfCandidates {
                                transport: t.name.clone(),
                            });
                        }
                    }
                    _ => {}
                }
            }
            if !t.dtls_started && t.ice.route().is_some() {
                t.dtls_started = true;
                t.dtls.start(now);
            }
            if t.ice.route().is_some() {
                while let Some(datagram) = t.dtls.poll_transmit() {
                    match t.ice.send(&datagram) {
                        Ok(x) => self.transmits.push_back(x),
                        Err(e) => tracing::debug!(error = %e, "DTLS datagram not sent"),
                    }
                }
            }
            while let Some(ev) = t.dtls.poll_event() {
                match ev {
                    DtlsEvent::Connected { srtp } => {
                        self.events.push_back(ControllerEvent::DtlsConnected {
                            transport: t.name.clone(),
                            srtp,
                        })
                    }
                    DtlsEvent::ApplicationData(data) => {
                        self.events.push_back(ControllerEvent::ApplicationData {
                            transport: t.name.clone(),
                            data,
                        })
                    }
                    DtlsEvent::Failed(e) => {
                        tracing::warn!(transport = %t.name, error = %e, "DTLS failed")
                    }
                    DtlsEvent::StateChanged(_) => {}
                }
            }
        }
        self.update_states();
    }

    fn update_states(&mut self) {
        let ts: Vec<&JsepTransport> = self.transports.values().collect();
        let gathering = if ts.is_empty() || ts.iter().all(|t| t.gathering == GatheringState::New) {
            GatheringState::New
        } else if ts.iter().all(|t| t.gathering == GatheringState::Complete) {
            GatheringState::Complete
        } else {
            GatheringState::Gathering
        };
        let ice = combine_ice(ts.iter().map(|t| t.ice.state()));
        let state = if self.closed {
            PeerConnectionState::Closed
        } else if ts.iter().any(|t| {
            t.ice.state() == IceConnectionState::Failed || t.dtls.state() == DtlsState::Failed
        }) {
            PeerConnectionState::Failed
        } else if ts
            .iter()
            .any(|t| t.ice.state() == IceConnectionState::Disconnected)
        {
            PeerConnectionState::Disconnected
        } else if !ts.is_empty()
            && ts.iter().all(|t| {
                matches!(
                    t.ice.state(),
                    IceConnectionState::Connected | IceConnectionState::Completed
                ) && t.dtls.state() == DtlsState::Connected
            })
        {
            PeerConnectionState::Connected
        } else if ts
            .iter()
            .any(|t| t.ice.state() != IceConnectionState::New || t.dtls.state() != DtlsState::New)
        {
            PeerConnectionState::Connecting
        } else {
            PeerConnectionState::New
        };
        if gathering != self.gathering {
            self.gathering = gathering;
            self.events
                .push_back(ControllerEvent::GatheringState(gathering));
        }
        if ice != self.ice_state {
            self.ice_state = ice;
            self.events
                .push_back(ControllerEvent::IceConnectionState(ice));
        }
        if state != self.state {
            self.state = state;
            self.events
                .push_back(ControllerEvent::ConnectionState(state));
        }
    }
}

/// W3C `iceConnectionState` over several transports.
fn combine_ice(states: impl Iterator<Item = IceConnectionState>) -> IceConnectionState {
    use IceConnectionState::*;
    let states: Vec<IceConnectionState> = states.collect();
    if states.is_empty() {
        return New;
    }
    if states.iter().all(|s| *s == Closed) {
        Closed
    } else if states.contains(&Failed) {
        Failed
    } else if states.contains(&Disconnected) {
        Disconnected
    } else if states.iter().all(|s| matches!(s, Completed | Closed)) {
        Completed
    } else if states
        .iter()
        .all(|s| matches!(s, Connected | Completed | Closed))
    {
        Connected
    } else if states.iter().all(|s| matches!(s, New | Closed)) {
        New
    } else {
        Checking
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
