//! The task of one [`PeerConnection`](super::PeerConnection): the session,
//! its sockets and the loop between them.

use std::collections::VecDeque;

use tokio::sync::mpsc;

use media_channels::sdp::dtls_transport::controller::PeerConnectionState;
use media_channels::sdp::dtls_transport::controller::{GatherRequest, TransportId};
use media_channels::sdp::dtls_transport::ice::driver::{PacketSockets, Wake};
use media_channels::sdp::dtls_transport::ice::network::{Network, NetworkFilter};

use super::Command;
use crate::session::{Session, SessionEvent};

/// Events kept while the application does not read them, beyond the
/// channel's own capacity; past it the oldest are dropped (with a warning).
const EVENT_BACKLOG: usize = 65_536;

/// Most queued calls run between two flushes.
const COMMAND_BATCH: usize = 256;

/// A socket's owner: the transport and the ICE component.
type Owner = (TransportId, u16);

/// What woke the loop.
enum Step {
    Command(Option<Command>),
    Wake(Wake<Owner>),
    Nothing,
}

pub(super) struct Driver {
    session: Session,
    sockets: PacketSockets<Owner>,
    networks: Vec<Network>,
    /// What `networks` was chosen with, for the network monitor.
    filter: NetworkFilter,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<SessionEvent>,
    backlog: VecDeque<SessionEvent>,
    stopping: bool,
    warned: bool,
}

fn clock() -> std::time::Instant {
    std::time::Instant::now()
}

impl Driver {
    pub(super) fn new(
        session: Session,
        sockets: PacketSockets<Owner>,
        networks: Vec<Network>,
        filter: NetworkFilter,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<SessionEvent>,
    ) -> Driver {
        Driver {
            session,
            sockets,
            networks,
            filter,
            commands,
            events,
            backlog: VecDeque::new(),
            stopping: false,
            warned: false,
        }
    }

    pub(super) async fn run(mut self) {
        loop {
            let now = clock();
            if self.session.poll_timeout().is_some_and(|t| t <= now) {
                self.session.handle_timeout(now);
            }
            self.flush().await;
            if self.stopping || self.session.connection_state() == PeerConnectionState::Closed {
                break;
            }
            let deadline = self.session.poll_timeout();
            let backlog = !self.backlog.is_empty();
            let step = tokio::select! {
                biased;
                command = self.commands.recv() => Step::Command(command),
                permit = self.events.reserve(), if backlog => match permit {
                    Ok(permit) => {
                        if let Some(event) = self.backlog.pop_front() {
                            permit.send(event);
                        }
                        Step::Nothing
                    }
                    // The application dropped its event stream.
                    Err(_) => {
                        self.backlog.clear();
                        Step::Nothing
                    }
                },
                wake = self.sockets.wait(deadline) => Step::Wake(wake),
            };
            match step {
                Step::Command(Some(command)) => {
                    command.run(&mut self.session, clock());
                    // Whatever else is already queued (queue_data bursts) goes
                    // in before the next flush: one flush for many calls.
                    for _ in 0..COMMAND_BATCH {
                        match self.commands.try_recv() {
                            Ok(command) => command.run(&mut self.session, clock()),
                            Err(_) => break,
                        }
                    }
                }
                Step::Command(None) => {
                    tracing::debug!("every PeerConnection handle dropped: closing");
                    self.session.close(clock());
                    self.stopping = true;
                }
                Step::Wake(wake) => self.handle_wake(wake),
                Step::Nothing => {}
            }
        }
        // The close_notify and the last events go out before the sockets close.
        self.flush().await;
        self.sockets.close();
        tracing::debug!("peer connection task stopped");
    }

    fn handle_wake(&mut self, wake: Wake<Owner>) {
        match wake {
            Wake::Udp(i) => {
                let session = &mut self.session;
                self.sockets.read_udp(i, |mut datagram| {
                    let (id, component) = datagram.tag;
                    let (local, source) = (datagram.local, datagram.source);
                    let now = clock();
                    let media = session.handle_receive_in_place(
                        now,
                        id,
                        component,
                        local,
                        source,
                        datagram.data(),
                    );
                    if let Some(media) = media {
                        // The plain packet is split off the receive pool, not copied.
                        session.handle_media(now, id, media.rtcp, datagram.keep(media.range));
                    }
                });
            }
            Wake::Frame(mut frame) => {
                // A TURN server reached over TCP (ICE-TCP candidates are not
                // gathered by this driver).
                let (id, component) = frame.tag;
                let now = clock();
                let media = self.session.handle_stream_frame_in_place(
                    now,
                    id,
                    component,
                    frame.local,
                    frame.remote,
                    &mut frame.data,
                );
                if let Some(media) = media {
                    let packet = frame.data.freeze().slice(media.range);
                    self.session.handle_media(now, id, media.rtcp, packet);
                }
            }
            Wake::StreamClosed(closed) => self.session.handle_stream_closed(
                clock(),
                closed.tag,
                (closed.local, closed.remote),
                closed.error,
            ),
            Wake::Timeout => self.session.handle_timeout(clock()),
            Wake::NetworkCheck => self.drop_gone_networks(),
        }
    }

    /// The network monitor: an address that went away closes its sockets
    /// and every ICE agent fails its pairs at once, so the connection moves
    /// to another pair or fails within a monitor period, not after consent
    /// expiry. (New addresses are not gathered on until an ICE restart.)
    fn drop_gone_networks(&mut self) {
        let Some((_, gone)) = self.sockets.check_networks(&self.filter) else {
            return;
        };
        for ip in gone {
            self.session.remove_local_address(clock(), ip);
            self.networks.retain(|n| n.ip != ip);
        }
    }

    fn gather(&mut self, request: GatherRequest) {
        let now = clock();
        let Some(id) = self.transport_id(&request.transport) else {
            return;
        };
        let owner = (id, request.component);
        for net in &self.networks {
            match self.sockets.bind_udp(net, owner) {
                Ok(addr) => {
                    tracing::debug!(%addr, transport = %request.transport, "bound socket");
                    if let Err(e) = self.session.add_local_socket(
                        now,
                        &request.transport,
                        request.component,
                        addr,
                        net.network_type,
                    ) {
                        tracing::warn!(error = %e, "socket not taken");
                    }
                }
                Err(e) => tracing::warn!(ip = %net.ip, error = %e, "cannot bind: address skipped"),
            }
        }
        if let Err(e) =
            self.session
                .finish_local_sockets(now, &request.transport, request.component)
        {
            tracing::warn!(error = %e, "finishing gathering");
        }
    }

    fn transport_id(&self, name: &str) -> Option<TransportId> {
        self.session.controller().transport_id(name)
    }

    /// Binds requested sockets, sends what the session queued and forwards
    /// its events.
    async fn flush(&mut self) {
        while let Some(request) = self.session.poll_gather() {
            self.gather(request);
        }
        let now = clock();
        while let Some(t) = self.session.poll_transmit(now) {
            self.sockets.send((t.transport, t.component), t.transmit);
        }
        self.sockets.flush().await;
        while let Some(event) = self.session.poll_event() {
            if self.backlog.is_empty() {
                match self.events.try_send(event) {
                    Ok(()) => continue,
                    Err(mpsc::error::TrySendError::Closed(_)) => continue,
                    Err(mpsc::error::TrySendError::Full(event)) => self.backlog.push_back(event),
                }
            } else {
                self.backlog.push_back(event);
            }
            if self.backlog.len() > EVENT_BACKLOG {
                self.backlog.pop_front();
                if !std::mem::replace(&mut self.warned, true) {
                    tracing::warn!("events are not read: dropping the oldest");
                }
            }
        }
    }
}
