//! The task that owns the [`TransportController`] and its
//! [`PacketSockets`]: commands from the handles in, events and media out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use ice::driver::{PacketSockets, Wake};
use ice::network::{Network, NetworkFilter};
use ice::{Credentials, Transmit, TransportProtocol};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::{
    Command, MediaPacket, MediaReady, Shared, TransportHandle, TransportInner, TransportShared,
};
use crate::controller::{
    ControllerEvent, GatherRequest, PeerConnectionState, PlainMedia, TransportController,
    TransportId,
};
use crate::dtls::DtlsRole;
use crate::error::Error;

/// One transport as the task sees it.
pub(super) struct TransportState {
    /// The controller's id for it (per-packet calls).
    id: TransportId,
    name: String,
    rtcp_mux: bool,
    credentials: Credentials,
    /// Counters and receive queues, shared with the handles.
    shared: Arc<TransportShared>,
    data: mpsc::Sender<Bytes>,
    media: mpsc::Sender<MediaPacket>,
}

impl TransportState {
    /// What the controller made of a datagram decrypted in `buf`: plain
    /// media is queued, a packet SRTP refused is counted.
    /// `keep` turns the plain packet's range into the packet.
    fn received(
        &self,
        received: Result<Option<PlainMedia>, Error>,
        keep: impl FnOnce(std::ops::Range<usize>) -> Bytes,
    ) {
        match received {
            Ok(Some(media)) => self.queue_media(media.rtcp, keep(media.range)),
            Ok(None) => {}
            Err(_) => {
                self.shared.srtp_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Queues a received plain RTP/RTCP packet for the application.
    fn queue_media(&self, rtcp: bool, packet: Bytes) {
        let media = MediaPacket { rtcp, packet };
        if self.media.try_send(media).is_err() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The owner of a socket: a transport (index into the task's list) and a component.
pub(super) type Owner = (usize, u16);

/// The task owning the controller.
pub(super) struct Driver {
    pub(super) controller: TransportController,
    pub(super) shared: Arc<Shared>,
    pub(super) commands: mpsc::Receiver<Command>,
    /// For the handles of new transports; weak, so the task stops when the
    /// last user handle is gone.
    pub(super) weak_commands: mpsc::WeakSender<Command>,
    pub(super) events: mpsc::Sender<ControllerEvent>,
    pub(super) state: watch::Sender<PeerConnectionState>,
    pub(super) networks: Vec<Network>,
    pub(super) filter: NetworkFilter,
    pub(super) tcp: bool,
    pub(super) recv_queue: usize,
    pub(super) transports: Vec<TransportState>,
    pub(super) by_name: HashMap<String, usize>,
    pub(super) by_id: HashMap<TransportId, usize>,
    pub(super) sockets: PacketSockets<Owner>,
    /// Components that have gathered (sockets on every network), so the
    /// network monitor gives them sockets on new networks too.
    pub(super) gathered: Vec<Owner>,
    /// Where outgoing media is protected, then written to the socket from.
    pub(super) out: Vec<u8>,
    pub(super) close_reply: Option<oneshot::Sender<()>>,
    pub(super) stopping: bool,
    pub(super) warned_events: bool,
}

fn clock() -> std::time::Instant {
    Instant::now().into_std()
}

impl Driver {
    pub(super) async fn run(mut self) {
        loop {
            let now = clock();
            if self.controller.poll_timeout().is_some_and(|t| t <= now) {
                self.controller.handle_timeout(now);
            }
            self.flush().await;
            if self.stopping {
                break;
            }
            // The controller's `now` contract: after every input at `now`
            // (here handle_timeout), its next timeout is after `now`.
            let deadline = self.controller.poll_timeout();
            debug_assert!(
                deadline.is_none_or(|t| t > now),
                "TransportController::poll_timeout {deadline:?} is not after {now:?}"
            );
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => {
                        tracing::debug!("every handle dropped: closing");
                        self.controller.close(clock());
                        self.stopping = true;
                    }
                },
                wake = self.sockets.wait(deadline) => self.handle_wake(wake),
            }
        }
        self.state.send_replace(PeerConnectionState::Closed);
        self.sockets.close();
        if let Some(reply) = self.close_reply.take() {
            let _ = reply.send(());
        }
        tracing::debug!("transport controller driver stopped");
    }

    fn index(&self, name: &str) -> Result<usize, Error> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| Error::UnknownTransport(name.to_string()))
    }

    fn handle_command(&mut self, command: Command) {
        let now = clock();
        match command {
            Command::AddTransport {
                name,
                role,
                rtcp_mux,
                reply,
            } => {
                let _ = reply.send(self.add_transport(name, role, rtcp_mux));
            }
            Command::StartGathering(reply) => {
                self.controller.start_gathering(now);
                // Bind the sockets before the caller resumes.
                while let Some(request) = self.controller.poll_gather() {
                    self.gather(request);
                }
                let _ = reply.send(());
            }
            Command::SetRemoteCredentials(name, credentials, reply) => {
                let _ = reply.send(
                    self.controller
                        .set_remote_credentials(now, &name, credentials),
                );
            }
            Command::AddRemoteCandidate(name, candidate, reply) => {
                let result = self.controller.add_remote_candidate(now, &name, candidate);
                if let Err(e) = &result {
                    tracing::debug!(transport = %name, error = %e, "remote candidate refused");
                }
                let _ = reply.send(result);
            }
            Command::EndOfRemoteCandidates(name, reply) => {
                let _ = reply.send(self.controller.end_of_remote_candidates(now, &name));
            }
            Command::SetRemoteFingerprints(name, fingerprints, reply) => {
                let result = self
                    .controller
                    .set_remote_fingerprints(&name, &fingerprints);
                let _ = reply.send(result);
            }
            Command::SendData(id, data, reply) => {
                let name = &self.transports[id].name;
                let _ = reply.send(self.controller.send_application_data(now, name, &data));
            }
            Command::SendMedia {
                transport,
                rtcp,
                packet,
            } => self.send_media(transport, rtcp, &packet),
            Command::Close(reply) => {
                self.controller.close(now);
                self.close_reply = Some(reply);
                self.stopping = true;
            }
        }
    }

    fn add_transport(
        &mut self,
        name: String,
        role: DtlsRole,
        rtcp_mux: bool,
    ) -> Result<TransportHandle, Error> {
        if let Some(&id) = self.by_name.get(&name) {
            return self.handle(id);
        }
        let now = clock();
        let transport_id = if rtcp_mux {
            self.controller.add_transport(now, &name, role, None)?
        } else {
            self.controller
                .add_transport_without_rtcp_mux(now, &name, role, None)?
        };
        let credentials = self
            .controller
            .local_credentials(&name)
            .cloned()
            .ok_or_else(|| Error::UnknownTransport(name.clone()))?;
        let (data_tx, data_rx) = mpsc::channel(self.recv_queue);
        let (media_tx, media_rx) = mpsc::channel(self.recv_queue);
        let id = self.transports.len();
        self.transports.push(TransportState {
            id: transport_id,
            name: name.clone(),
            rtcp_mux,
            credentials,
            shared: Arc::new(TransportShared {
                data: tokio::sync::Mutex::new(data_rx),
                media: tokio::sync::Mutex::new(media_rx),
                dropped: AtomicU64::new(0),
                srtp_errors: AtomicU64::new(0),
                send_errors: AtomicU64::new(0),
                rtp_ready: AtomicU8::new(MediaReady::NotConnected as u8),
                rtcp_ready: AtomicU8::new(MediaReady::NotConnected as u8),
            }),
            data: data_tx,
            media: media_tx,
        });
        self.by_name.insert(name, id);
        self.by_id.insert(transport_id, id);
        self.handle(id)
    }

    /// A new handle to transport `id`. The task keeps no strong command
    /// sender of its own, which would keep it alive after the user dropped
    /// every handle.
    fn handle(&self, id: usize) -> Result<TransportHandle, Error> {
        let t = &self.transports[id];
        Ok(TransportHandle {
            inner: Arc::new(TransportInner {
                id,
                name: t.name.clone(),
                credentials: t.credentials.clone(),
                commands: self.weak_commands.upgrade().ok_or(Error::Closed)?,
                shared: t.shared.clone(),
            }),
        })
    }

    /// Publishes whether a transport component can send media, for the
    /// handles' checks: component 1 sends RTP (and RTCP with rtcp-mux),
    /// component 2 RTCP.
    fn set_ready(&self, transport: &str, component: u16, ready: MediaReady) {
        let Some(&id) = self.by_name.get(transport) else {
            return;
        };
        let t = &self.transports[id];
        let cells: &[&AtomicU8] = match (component, t.rtcp_mux) {
            (1, true) => &[&t.shared.rtp_ready, &t.shared.rtcp_ready],
            (1, false) => &[&t.shared.rtp_ready],
            _ => &[&t.shared.rtcp_ready],
        };
        for cell in cells {
            cell.store(ready as u8, Ordering::Release);
        }
    }

    /// Binds one UDP socket (and with [`DriverConfig::tcp`] one ICE-TCP
    /// listener) per network for a component and hands them to the controller.
    fn gather(&mut self, request: GatherRequest) {
        let Ok(id) = self.index(&request.transport) else {
            return;
        };
        let owner = (id, request.component);
        let networks = std::mem::take(&mut self.networks);
        for net in &networks {
            self.bind(owner, net);
        }
        self.networks = networks;
        self.gathered.push(owner);
        let name = &self.transports[id].name;
        if let Err(e) = self
            .controller
            .finish_local_sockets(clock(), name, request.component)
        {
            tracing::warn!(error = %e, "finishing gathering");
        }
    }

    /// Gives component `owner` a UDP socket (and an ICE-TCP listener) on `net`.
    fn bind(&mut self, owner: Owner, net: &Network) {
        let (id, component) = owner;
        let name = &self.transports[id].name;
        let now = clock();
        match self.sockets.bind_udp(net, owner) {
            Ok(addr) => {
                tracing::debug!(%addr, interface = %net.name, transport = %name, component, "bound socket");
                if let Err(e) =
                    self.controller
                        .add_local_socket(now, name, component, addr, net.network_type)
                {
                    tracing::warn!(error = %e, "socket not taken");
                }
            }
            Err(e) => {
                tracing::warn!(ip = %net.ip, interface = %net.name, error = %e, "cannot bind: address skipped")
            }
        }
        if self.tcp {
            match self.sockets.listen_tcp(net, owner) {
                Ok(addr) => {
                    tracing::debug!(%addr, transport = %name, component, "ICE-TCP listener");
                    if let Err(e) = self.controller.add_local_tcp_listener(
                        now,
                        name,
                        component,
                        addr,
                        net.network_type,
                    ) {
                        tracing::warn!(error = %e, "listener not taken");
                    }
                }
                Err(e) => tracing::warn!(ip = %net.ip, error = %e, "cannot listen on TCP: skipped"),
            }
        }
    }

    /// The network monitor: new addresses get a socket for every component
    /// that has gathered (their candidates go out as events); addresses that
    /// went away lose their sockets, and their pairs fail at once.
    fn regather(&mut self) {
        let Some((current, gone)) = self.sockets.check_networks(&self.filter) else {
            return;
        };
        // Addresses that went away: their sockets closed; every agent fails
        // their pairs now, not after consent expiry.
        for ip in gone {
            self.controller.remove_local_address(clock(), ip);
            self.networks.retain(|n| n.ip != ip);
        }
        let new: Vec<Network> = self
            .sockets
            .new_networks(&current)
            .into_iter()
            .cloned()
            .collect();
        for net in new {
            tracing::info!(ip = %net.ip, interface = %net.name, "new network: gathering on it");
            for owner in self.gathered.clone() {
                self.bind(owner, &net);
            }
            self.networks.push(net);
        }
    }

    fn handle_wake(&mut self, wake: Wake<Owner>) {
        match wake {
            Wake::Udp(i) => {
                let controller = &mut self.controller;
                let transports = &self.transports;
                self.sockets.read_udp(i, |mut datagram| {
                    let (id, component) = datagram.tag;
                    let t = &transports[id];
                    let (local, source) = (datagram.local, datagram.source);
                    let received = controller.handle_receive_in_place(
                        clock(),
                        t.id,
                        component,
                        local,
                        source,
                        datagram.data(),
                    );
                    // The plain packet is split off the receive pool, not copied.
                    t.received(received, |range| datagram.keep(range));
                });
            }
            Wake::Frame(mut frame) => {
                let (id, component) = frame.tag;
                let t = &self.transports[id];
                let received = self.controller.handle_stream_frame_in_place(
                    clock(),
                    t.id,
                    component,
                    frame.local,
                    frame.remote,
                    &mut frame.data,
                );
                let data = frame.data;
                t.received(received, |range| Bytes::from(data).slice(range));
            }
            Wake::StreamClosed(closed) => {
                let (id, component) = closed.tag;
                let t = &self.transports[id];
                let route = (closed.local, closed.remote);
                let _ = self.controller.handle_stream_closed(
                    clock(),
                    t.id,
                    component,
                    route,
                    closed.error,
                );
            }
            Wake::Timeout => self.controller.handle_timeout(clock()),
            Wake::NetworkCheck => self.regather(),
        }
    }

    /// Protects a packet from a handle into `out` and writes it to its
    /// socket at once (a copy waits in the outbox only when the socket buffer
    /// is full); a relayed route's datagram is queued by the controller.
    fn send_media(&mut self, transport: usize, rtcp: bool, packet: &[u8]) {
        let t = &self.transports[transport];
        let sent = self
            .controller
            .send_rtp_into(clock(), t.id, rtcp, packet, &mut self.out);
        let to = match sent {
            Ok(Some(to)) => to,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(transport = %t.name, rtcp, error = %e, "media not sent");
                t.shared.send_errors.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let datagram = to.datagram(&self.out);
        match to.transport {
            TransportProtocol::Udp => {
                if !self
                    .sockets
                    .send_datagram(to.source, to.destination, datagram)
                {
                    t.shared.send_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            TransportProtocol::Tcp => {
                // An RFC 4571 frame for the connection's task.
                let component = if rtcp && !t.rtcp_mux { 2 } else { 1 };
                let transmit = Transmit {
                    source: to.source,
                    destination: to.destination,
                    transport: to.transport,
                    contents: Bytes::copy_from_slice(datagram),
                };
                self.sockets.send((transport, component), transmit);
            }
        }
    }

    /// Binds requested sockets, sends what the controller queued and routes its events.
    async fn flush(&mut self) {
        while let Some(request) = self.controller.poll_gather() {
            self.gather(request);
        }
        let now = clock();
        while let Some(t) = self.controller.poll_component_transmit(now) {
            let Some(&index) = self.by_id.get(&t.transport) else {
                continue;
            };
            self.sockets.send((index, t.component), t.transmit);
        }
        self.sockets.flush().await;
        while let Some(event) = self.controller.poll_event() {
            self.route_event(event);
        }
    }

    fn route_event(&mut self, event: ControllerEvent) {
        match event {
            ControllerEvent::ApplicationData { transport, data } => {
                if let Some(&id) = self.by_name.get(&transport) {
                    let t = &self.transports[id];
                    if t.data.try_send(data).is_err() {
                        t.shared.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            ControllerEvent::Media {
                transport,
                rtcp,
                packet,
            } => {
                if let Some(&id) = self.by_name.get(&transport) {
                    self.transports[id].queue_media(rtcp, packet);
                }
            }
            event => {
                match &event {
                    ControllerEvent::DtlsConnected {
                        transport,
                        component,
                        srtp_profile,
                    } => {
                        let ready = match srtp_profile {
                            Some(_) => MediaReady::Ready,
                            None => MediaReady::NoSrtp,
                        };
                        self.set_ready(transport, *component, ready);
                    }
                    ControllerEvent::DtlsFailed {
                        transport,
                        component,
                        error,
                    } => {
                        self.set_ready(transport, *component, MediaReady::NotConnected);
                        let mut failure = self
                            .shared
                            .failure
                            .lock()
                            .unwrap_or_else(|e| e.into_inner());
                        failure.get_or_insert_with(|| error.clone());
                    }
                    ControllerEvent::DtlsClosed {
                        transport,
                        component,
                    } => self.set_ready(transport, *component, MediaReady::NotConnected),
                    ControllerEvent::ConnectionState(PeerConnectionState::Closed) => {
                        for t in &self.transports {
                            for cell in [&t.shared.rtp_ready, &t.shared.rtcp_ready] {
                                cell.store(MediaReady::NotConnected as u8, Ordering::Release);
                            }
                        }
                        self.state.send_replace(PeerConnectionState::Closed);
                    }
                    ControllerEvent::ConnectionState(s) => {
                        tracing::debug!(state = ?s, "connection state");
                        self.state.send_replace(*s);
                    }
                    _ => {}
                }
                if let Err(mpsc::error::TrySendError::Full(_)) = self.events.try_send(event) {
                    self.shared.dropped_events.fetch_add(1, Ordering::Relaxed);
                    if !std::mem::replace(&mut self.warned_events, true) {
                        tracing::warn!(
                            "event queue full: dropping events (counted in dropped_events)"
                        );
                    }
                }
            }
        }
    }
}
