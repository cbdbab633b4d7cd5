//! How the [`TransportController`] moves events between its layers and
//! combines the states of every transport into the ones a PeerConnection
//! reports (W3C `iceGatheringState`, `iceConnectionState`, `connectionState`).

use std::time::Instant;

use ice::{GatheringState, IceConnectionState, IceEvent};

use super::{
    ComponentTransmit, ControllerEvent, JsepTransport, PeerConnectionState, TransportController,
};
use crate::dtls::{DtlsEvent, DtlsState};
use crate::srtp::SrtpSession;

impl TransportController {
    /// Pumps events between the layers: ICE events become controller events,
    /// DTLS starts once ICE has a route, DTLS datagrams go out along the
    /// route, DTLS events are forwarded, and the combined states are updated.
    pub(super) fn update(&mut self, now: Instant) {
        for t in self.transports.iter_mut() {
            let name = &t.name;
            let pooled = t.pooled;
            let was_complete = std::iter::once(&t.rtp)
                .chain(t.rtcp.as_ref())
                .all(|c| c.gathering == GatheringState::Complete);
            // The name is cloned only into the events that carry it.
            for (component, c) in (1u16..).zip(std::iter::once(&mut t.rtp).chain(t.rtcp.as_mut())) {
                while let Some(ev) = c.ice.poll_event() {
                    match ev {
                        // A pooled agent's come out again when it is adopted.
                        IceEvent::LocalCandidate(_) if pooled => {}
                        IceEvent::LocalCandidate(candidate) => {
                            self.events.push_back(ControllerEvent::Candidate {
                                transport: name.clone(),
                                candidate,
                            })
                        }
                        IceEvent::GatheringStateChanged(s) => c.gathering = s,
                        IceEvent::CandidateError(e) => tracing::warn!(
                            transport = %name, component, server = %e.server, tls = e.tls,
                            code = ?e.code, reason = %e.reason, "TURN server gave no relay candidate"
                        ),
                        _ => {}
                    }
                }
                if !c.dtls_started && c.ice.route().is_some() {
                    c.dtls_started = true;
                    c.dtls.start(now);
                }
                if c.ice.route().is_some() {
                    while let Some(datagram) = c.dtls.poll_transmit() {
                        match c.ice.send(now, &datagram) {
                            Ok(transmit) => self.transmits.push_back(ComponentTransmit {
                                transport: t.id,
                                component,
                                transmit,
                            }),
                            Err(e) => tracing::debug!(error = %e, "DTLS datagram not sent"),
                        }
                    }
                }
                while let Some(ev) = c.dtls.poll_event() {
                    match ev {
                        DtlsEvent::Connected { srtp } => {
                            let srtp_profile = srtp.as_ref().map(|k| k.profile);
                            if let Some(keys) = srtp {
                                match SrtpSession::from_keys(&keys, self.config.srtp.clone()) {
                                    Ok(session) => c.srtp = Some(session),
                                    Err(error) => {
                                        tracing::warn!(transport = %name, component, %error, "SRTP session not created")
                                    }
                                }
                            }
                            self.events.push_back(ControllerEvent::DtlsConnected {
                                transport: name.clone(),
                                component,
                                srtp_profile,
                            })
                        }
                        DtlsEvent::ApplicationData(data) => {
                            self.events.push_back(ControllerEvent::ApplicationData {
                                transport: name.clone(),
                                data,
                            })
                        }
                        DtlsEvent::Failed(error) => {
                            tracing::warn!(transport = %name, component, %error, "DTLS failed");
                            self.events.push_back(ControllerEvent::DtlsFailed {
                                transport: name.clone(),
                                component,
                                error,
                            })
                        }
                        DtlsEvent::StateChanged(DtlsState::Closed) => {
                            self.events.push_back(ControllerEvent::DtlsClosed {
                                transport: name.clone(),
                                component,
                            })
                        }
                        DtlsEvent::StateChanged(_) => {}
                    }
                }
            }
            if !pooled
                && !was_complete
                && t.channels()
                    .all(|c| c.gathering == GatheringState::Complete)
            {
                self.events.push_back(ControllerEvent::EndOfCandidates {
                    transport: name.clone(),
                });
            }
        }
        self.update_states();
    }

    pub(super) fn update_states(&mut self) {
        // Several passes over the channels instead of collecting them: no allocation.
        // Pooled transports (gathering ahead) are not part of the session yet.
        let cs = || {
            self.transports
                .iter()
                .filter(|t| !t.pooled)
                .flat_map(JsepTransport::channels)
        };
        let empty = self.transports.iter().all(|t| t.pooled);
        let gathering = if empty || cs().all(|c| c.gathering == GatheringState::New) {
            GatheringState::New
        } else if cs().all(|c| c.gathering == GatheringState::Complete) {
            GatheringState::Complete
        } else {
            GatheringState::Gathering
        };
        let ice = combine_ice(cs().map(|c| c.ice.state()));
        let state = if self.closed {
            PeerConnectionState::Closed
        } else if cs().any(|c| {
            c.ice.state() == IceConnectionState::Failed || c.dtls.state() == DtlsState::Failed
        }) {
            PeerConnectionState::Failed
        } else if cs().any(|c| c.ice.state() == IceConnectionState::Disconnected) {
            PeerConnectionState::Disconnected
        } else if !empty && cs().all(|c| c.is_connected()) {
            PeerConnectionState::Connected
        } else if cs()
            .any(|c| c.ice.state() != IceConnectionState::New || c.dtls.state() != DtlsState::New)
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
pub(super) fn combine_ice(states: impl Iterator<Item = IceConnectionState>) -> IceConnectionState {
    use IceConnectionState::*;
    // One pass, no allocation: which states occur.
    let (mut any, mut all_closed, mut failed, mut disconnected) = (false, true, false, false);
    let (mut all_completed, mut all_connected, mut all_new) = (true, true, true);
    for s in states {
        any = true;
        all_closed &= s == Closed;
        failed |= s == Failed;
        disconnected |= s == Disconnected;
        all_completed &= matches!(s, Completed | Closed);
        all_connected &= matches!(s, Connected | Completed | Closed);
        all_new &= matches!(s, New | Closed);
    }
    if !any {
        New
    } else if all_closed {
        Closed
    } else if failed {
        Failed
    } else if disconnected {
        Disconnected
    } else if all_completed {
        Completed
    } else if all_connected {
        Connected
    } else if all_new {
        New
    } else {
        Checking
    }
}
