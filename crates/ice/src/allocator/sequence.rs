//! libwebrtc's AllocationSequence: gathering on one network (one shared UDP
//! socket), phase by phase.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use stun::TransactionId;

use super::{srflx_candidate, LocalCandidate, LocalSocket};
use crate::candidate::{Candidate, TransportProtocol};

/// Where a sequence is. A sequence covers libwebrtc's UDP phase only: relay
/// candidates come from the session's TURN ports and ICE-TCP candidates from
/// the driver's listeners (see the [module docs](super)), neither tracked here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AllocationPhase {
    /// Host and server-reflexive UDP candidates: a STUN server has not
    /// answered or timed out yet.
    Udp,
    /// Every STUN server has answered or failed.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerStatus {
    Pending,
    Mapped(SocketAddr),
    Failed,
}

#[derive(Debug, Clone)]
struct StunServer {
    addr: SocketAddr,
    status: ServerStatus,
    next_keepalive: Option<Instant>,
}

/// Gathering on one local socket.
#[derive(Debug, Clone)]
pub struct AllocationSequence {
    socket: LocalSocket,
    component: u16,
    servers: Vec<StunServer>,
    in_flight: Vec<(TransactionId, SocketAddr)>,
}

impl AllocationSequence {
    pub(crate) fn new(
        socket: LocalSocket,
        component: u16,
        servers: &[SocketAddr],
    ) -> AllocationSequence {
        AllocationSequence {
            socket,
            component,
            servers: servers
                .iter()
                .filter(|s| s.is_ipv4() == socket.addr.is_ipv4())
                .map(|&addr| StunServer {
                    addr,
                    status: ServerStatus::Pending,
                    next_keepalive: None,
                })
                .collect(),
            in_flight: Vec::new(),
        }
    }

    /// The socket this sequence gathers on.
    pub fn socket(&self) -> &LocalSocket {
        &self.socket
    }

    /// The phase the sequence is in: [`AllocationPhase::Udp`] until every
    /// STUN server has answered or failed, then [`AllocationPhase::Done`].
    pub fn phase(&self) -> AllocationPhase {
        if self
            .servers
            .iter()
            .any(|s| s.status == ServerStatus::Pending)
        {
            AllocationPhase::Udp
        } else {
            AllocationPhase::Done
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.phase() == AllocationPhase::Done
    }

    pub(crate) fn servers(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.servers.iter().map(|s| s.addr)
    }

    /// The host candidate of the socket (libwebrtc's Port::AddAddress).
    pub(crate) fn host_candidate(&self) -> LocalCandidate {
        let c = self.socket.stamp(Candidate::host(
            self.socket.addr,
            self.component,
            TransportProtocol::Udp,
            self.socket.network_type,
        ));
        LocalCandidate {
            candidate: c,
            base: self.socket.addr,
            network_type: self.socket.network_type,
        }
    }

    pub(crate) fn track(&mut self, tid: TransactionId, server: SocketAddr) {
        self.in_flight.push((tid, server));
    }

    pub(crate) fn owns(&self, tid: &TransactionId) -> bool {
        self.in_flight.iter().any(|(t, _)| t == tid)
    }

    pub(crate) fn server_of(&self, tid: &TransactionId) -> Option<SocketAddr> {
        self.in_flight
            .iter()
            .find(|(t, _)| t == tid)
            .map(|(_, s)| *s)
    }

    pub(crate) fn untrack(&mut self, tid: &TransactionId) {
        self.in_flight.retain(|(t, _)| t != tid);
    }

    /// A Binding response told us our mapped address via `server`. Returns a
    /// new server-reflexive candidate the first time (or when the mapping changed).
    pub(crate) fn on_mapped_address(
        &mut self,
        mapped: SocketAddr,
        server: SocketAddr,
        next_keepalive: Instant,
    ) -> Option<LocalCandidate> {
        let s = self.servers.iter_mut().find(|s| s.addr == server)?;
        let changed = s.status != ServerStatus::Mapped(mapped);
        s.status = ServerStatus::Mapped(mapped);
        s.next_keepalive = Some(next_keepalive);
        // A server-reflexive address equal to the host address (no NAT) adds nothing.
        (changed && mapped != self.socket.addr)
            .then(|| srflx_candidate(&self.socket, mapped, self.component, server))
    }

    pub(crate) fn on_server_failed(
        &mut self,
        server: Option<SocketAddr>,
        now: Instant,
        retry: Duration,
    ) {
        if let Some(s) = self.servers.iter_mut().find(|s| Some(s.addr) == server) {
            if s.status == ServerStatus::Pending {
                s.status = ServerStatus::Failed;
            } else {
                // A keepalive failed: try again later; the candidate stays.
                s.next_keepalive = Some(now + retry);
            }
        }
    }

    pub(crate) fn due_keepalives(&mut self, now: Instant) -> Vec<(SocketAddr, SocketAddr)> {
        let mut due = Vec::new();
        for s in &mut self.servers {
            if s.next_keepalive.is_some_and(|t| t <= now) {
                s.next_keepalive = None;
                due.push((self.socket.addr, s.addr));
            }
        }
        due
    }

    pub(crate) fn next_keepalive(&self) -> Option<Instant> {
        self.servers.iter().filter_map(|s| s.next_keepalive).min()
    }
}
