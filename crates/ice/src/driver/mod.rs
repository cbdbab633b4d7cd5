//! The tokio driver: sockets and timers pumping one [`IceAgent`].
//!
//! [`IceTransport::bind`] lists the machine's networks through a
//! [`NetworkFilter`], binds one UDP socket per address (port 0), hands each to
//! the agent ([`IceAgent::add_local_socket`], then
//! [`IceAgent::finish_local_sockets`]) and spawns **one task** that owns the
//! agent. [`IceTransport`] is a cheap-to-clone handle to that task (as
//! `quinn::Connection` is to its driver); the task stops, closing the agent
//! and its sockets, when [`IceTransport::close`] is called or the last handle
//! is dropped.
//!
//! The task runs the loop of [`PacketSockets`] (shared with the drivers of the
//! layers above), with the agent as the core:
//!
//! 1. if [`IceAgent::poll_timeout`] is due, [`IceAgent::handle_timeout`];
//! 2. send every [`IceAgent::poll_transmit`], publish the [`IceAgent::route`],
//!    then every [`IceAgent::poll_event`] (connection state changes also go to
//!    a `watch` channel, so [`IceTransport::state`] never lags behind a lost
//!    event);
//! 3. `tokio::select!` over a command from a handle and
//!    [`PacketSockets::wait`]: a readable socket (drained with
//!    `try_recv_from`, at most [`READ_BUDGET`] datagrams per wake-up), a TCP
//!    frame, `poll_timeout`, or the network monitor's tick.
//!
//! Time comes from tokio's clock, converted with `into_std()`; the agent never
//! reads a clock. Datagrams the agent classifies as [`Received::Data`] go to a
//! bounded queue ([`DriverConfig::recv_queue`]): when the application does not
//! keep up they are dropped and counted ([`IceTransport::dropped_datagrams`]),
//! as a socket buffer would, so memory stays bounded. Application data on a
//! direct UDP route is sent from the handle straight onto the socket (one
//! lock, no hop through the task); on a TURN-relayed or TCP route it goes
//! through the task, which wraps or frames it.
//!
//! With [`DriverConfig::tcp`], each address also gets a TCP listener (ICE-TCP,
//! RFC 6544): accepted connections and connections opened for the agent's
//! active candidates carry RFC 4571 frames (a two-byte length, then the
//! packet); connections to TURN servers reached over TCP carry STUN framing.
//!
//! mDNS (draft-ietf-mmusic-mdns-ice-candidates): a remote candidate whose
//! address is a `.local` name is resolved with one-shot multicast queries
//! ([`crate::mdns::MdnsResolver`]) on a querier socket the task owns, then
//! added to the agent with the address found ([`IceEvent::MdnsResolved`]);
//! a name that does not resolve within about 2 s is dropped
//! ([`IceEvent::MdnsUnresolved`]) and the agent goes on with the other
//! candidates. End-of-candidates waits for the names still resolving. With
//! [`DriverConfig::publish_mdns`] the host candidates are signalled under
//! random `<uuid>.local` names that a responder on port 5353 answers for
//! ([`crate::mdns::MdnsResponder`]), as browsers do.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::agent::{
    Credentials, IceAgent, IceConfig, IceConnectionState, IceEvent, Receive, Received, Route,
    SEND_HEADROOM, SEND_TAILROOM,
};
use crate::candidate::{Candidate, CandidateAddress, TransportProtocol};
use crate::error::Error;
use crate::network::{self, NetworkFilter};

mod mdns;
mod packet_sockets;
mod tcp;

/// Waits until the value a driver task publishes in `state` satisfies
/// `accept`, and returns it; `None` when the task stopped first with a last
/// value `accept` refuses (the last value counts: a task may stop right
/// after reaching the state waited for). What every driver handle's
/// `wait_for_state` is built on.
pub async fn wait_for_watched<S: Copy>(
    state: &watch::Receiver<S>,
    mut accept: impl FnMut(S) -> bool,
) -> Option<S> {
    let mut rx = state.clone();
    let reached = rx.wait_for(|s| accept(*s)).await.map(|s| *s);
    match reached {
        Ok(s) => Some(s),
        Err(_) => {
            let last = *rx.borrow();
            accept(last).then_some(last)
        }
    }
}

pub use packet_sockets::{
    Datagram, PacketSockets, SocketTag, StreamClosed, StreamFrame, Wake, MAX_TCP_CONNECTIONS,
    READ_BUDGET, RECV_POOL,
};

/// Largest datagram a handle sends (the UDP maximum).
const MAX_DATAGRAM: usize = 65_535;

/// Pending commands from handles; senders wait when it is full.
const COMMAND_QUEUE: usize = 64;

/// Configuration of an [`IceTransport`].
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// The agent's configuration (role, credentials, timers, STUN servers).
    pub ice: IceConfig,
    /// Which local addresses get a socket. The default takes every
    /// non-loopback address and falls back to loopback when nothing else
    /// exists (libwebrtc's behaviour); tests use
    /// `NetworkFilter::only(&[127.0.0.1])`.
    pub networks: NetworkFilter,
    /// Received application datagrams queued for [`IceTransport::recv`];
    /// beyond it they are dropped and counted.
    pub recv_queue: usize,
    /// Events queued for [`IceTransport::next_event`]; beyond it they are
    /// dropped and counted (the connection state stays readable with
    /// [`IceTransport::state`]).
    pub event_queue: usize,
    /// Also gather ICE-TCP candidates: one TCP listener per address
    /// (passive candidate) and an active candidate on the same address.
    /// Off by default.
    pub tcp: bool,
    /// How often the networks are listed again (libwebrtc's network
    /// monitor): addresses that appeared since get a socket and candidates;
    /// addresses that went away lose theirs and their pairs fail at once, so
    /// the agent moves to another pair or reports failure within a period
    /// or so. `None` turns it off. Default 1 s (one `getifaddrs` a second).
    pub network_monitor: Option<Duration>,
    /// Signal host candidates under random `<uuid-v4>.local` names instead
    /// of their IPs, and answer mDNS queries for them on port 5353
    /// (`SO_REUSEPORT`, joined to 224.0.0.251 on every IPv4 address
    /// gathered), as libwebrtc does; a server-reflexive candidate's related
    /// address becomes 0.0.0.0:0. Off by default. If the responder socket
    /// cannot be had, candidates keep their IPs (with a warning). Remote
    /// `.local` candidates are resolved whatever this says.
    pub publish_mdns: bool,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            ice: IceConfig::default(),
            networks: NetworkFilter::default(),
            recv_queue: 1024,
            event_queue: 1024,
            tcp: false,
            network_monitor: Some(Duration::from_secs(1)),
            publish_mdns: false,
        }
    }
}

impl DriverConfig {
    /// `ice` on the default networks with default queue sizes.
    pub fn new(ice: IceConfig) -> DriverConfig {
        DriverConfig {
            ice,
            ..Default::default()
        }
    }
}

enum Command {
    /// Data for a route the handle cannot send on itself (relayed or TCP).
    Send(Bytes, oneshot::Sender<Result<(), Error>>),
    SetRemoteCredentials(Credentials),
    AddRemoteCandidate(Candidate, oneshot::Sender<Result<(), Error>>),
    EndOfRemoteCandidates,
    Restart(oneshot::Sender<Credentials>),
    Close(oneshot::Sender<()>),
}

/// State shared by the handles and the task.
#[derive(Debug)]
struct Shared {
    /// Bound addresses, in binding order.
    addrs: Mutex<Vec<SocketAddr>>,
    /// The route, with the socket of a direct UDP route so that a handle
    /// sends on it itself: one lock per send. Emptied when the task stops,
    /// so that the sockets close even while handles live on.
    route: Mutex<Option<(Route, Option<Arc<UdpSocket>>)>>,
    credentials: Mutex<Credentials>,
    closed: AtomicBool,
    dropped_datagrams: AtomicU64,
    dropped_events: AtomicU64,
}

/// Locks a mutex that is only ever held for a copy, so poisoning cannot leave
/// it inconsistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug)]
struct Handle {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
    events: tokio::sync::Mutex<mpsc::Receiver<IceEvent>>,
    data: tokio::sync::Mutex<mpsc::Receiver<Bytes>>,
    state: watch::Receiver<IceConnectionState>,
}

/// An ICE transport on real UDP sockets: a handle to the task that drives one
/// [`IceAgent`]. Clones share the same agent; the task stops when
/// [`IceTransport::close`] is called or the last clone is dropped.
///
/// Two transports connecting on 127.0.0.1, signalling through the handles:
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use ice::driver::{DriverConfig, IceTransport};
/// use ice::network::NetworkFilter;
/// use ice::{GatheringState, IceConfig, IceEvent, IceRole};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ice::Error> {
/// let config = |role| DriverConfig {
///     ice: IceConfig { role, ..Default::default() },
///     networks: NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]),
///     ..Default::default()
/// };
/// let a = IceTransport::bind(config(IceRole::Controlling))?;
/// let b = IceTransport::bind(config(IceRole::Controlled))?;
///
/// // Signalling: credentials, then candidates until end-of-candidates.
/// a.set_remote_credentials(b.local_credentials()).await?;
/// b.set_remote_credentials(a.local_credentials()).await?;
/// for (from, to) in [(&a, &b), (&b, &a)] {
///     while let Some(event) = from.next_event().await {
///         match event {
///             IceEvent::LocalCandidate(c) => to.add_remote_candidate(c).await?,
///             IceEvent::GatheringStateChanged(GatheringState::Complete) => {
///                 to.end_of_remote_candidates().await?;
///                 break;
///             }
///             _ => {}
///         }
///     }
/// }
///
/// a.connected().await?;
/// b.connected().await?;
/// a.send(b"hello").await?;
/// let mut buf = [0u8; 1500];
/// let n = b.recv(&mut buf).await?;
/// assert_eq!(&buf[..n], b"hello");
/// a.close().await?;
/// b.close().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct IceTransport {
    inner: Arc<Handle>,
}

impl IceTransport {
    /// Binds one UDP socket per address `config.networks` selects, gives them
    /// to a new [`IceAgent`] and spawns the task that drives it. Local
    /// candidates and gathering progress arrive as events
    /// ([`IceTransport::next_event`]).
    ///
    /// Must be called inside a tokio runtime (`Err(Error::Io(Other))` otherwise).
    /// Addresses that cannot be bound are skipped with a warning; it fails with
    /// `Error::Io(AddrNotAvailable)` when no socket could be bound at all.
    pub fn bind(config: DriverConfig) -> Result<IceTransport, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            tracing::error!("IceTransport::bind called outside a tokio runtime");
            Error::Io(io::ErrorKind::Other)
        })?;
        let networks = network::enumerate(&config.networks)?;
        let _guard = runtime.enter();
        let mut sockets = PacketSockets::new(&config.ice.turn_servers);
        let mut agent = IceAgent::new(config.ice);
        let now = Instant::now().into_std();
        for net in &networks {
            match sockets.bind_udp(net, ()) {
                Ok(addr) => {
                    tracing::debug!(%addr, interface = %net.name, "bound ICE socket");
                    agent.add_local_socket(now, addr, net.network_type);
                }
                Err(e) => {
                    tracing::warn!(ip = %net.ip, interface = %net.name, error = %e, "cannot bind: address skipped")
                }
            }
        }
        if sockets.udp_addrs().next().is_none() {
            tracing::error!(networks = networks.len(), "no local address could be bound");
            return Err(Error::Io(io::ErrorKind::AddrNotAvailable));
        }
        if config.tcp {
            for net in &networks {
                match sockets.listen_tcp(net, ()) {
                    Ok(addr) => {
                        tracing::debug!(%addr, interface = %net.name, "ICE-TCP listener");
                        agent.add_local_tcp_listener(now, addr, net.network_type);
                    }
                    Err(e) => {
                        tracing::warn!(ip = %net.ip, error = %e, "cannot listen on TCP: skipped")
                    }
                }
            }
        }
        agent.finish_local_sockets(now);
        if let Some(period) = config.network_monitor {
            sockets.monitor_networks(period);
        }

        let local: Vec<SocketAddr> = sockets.udp_addrs().collect();
        let mdns = mdns::Mdns::new(config.publish_mdns, &local);
        let shared = Arc::new(Shared {
            addrs: Mutex::new(local),
            route: Mutex::new(None),
            credentials: Mutex::new(agent.local_credentials().clone()),
            closed: AtomicBool::new(false),
            dropped_datagrams: AtomicU64::new(0),
            dropped_events: AtomicU64::new(0),
        });
        let (command_tx, command_rx) = mpsc::channel(COMMAND_QUEUE);
        let (event_tx, event_rx) = mpsc::channel(config.event_queue.max(1));
        let (data_tx, data_rx) = mpsc::channel(config.recv_queue.max(1));
        let (state_tx, state_rx) = watch::channel(agent.state());
        let driver = Driver {
            agent,
            sockets,
            shared: shared.clone(),
            commands: command_rx,
            events: event_tx,
            data: data_tx,
            state: state_tx,
            close_reply: None,
            warned_data: false,
            warned_events: false,
            filter: config.networks.clone(),
            mdns,
            out: vec![0; SEND_HEADROOM + MAX_DATAGRAM + SEND_TAILROOM],
        };
        runtime.spawn(driver.run());
        Ok(IceTransport {
            inner: Arc::new(Handle {
                shared,
                commands: command_tx,
                events: tokio::sync::Mutex::new(event_rx),
                data: tokio::sync::Mutex::new(data_rx),
                state: state_rx,
            }),
        })
    }

    // ----------------------------------------------------------------- getters

    /// Our current credentials, to signal to the peer (new ones after
    /// [`IceTransport::restart`]).
    pub fn local_credentials(&self) -> Credentials {
        lock(&self.inner.shared.credentials).clone()
    }

    /// The addresses of the bound sockets (the bases of the host candidates).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        lock(&self.inner.shared.addrs).clone()
    }

    /// The connection state now.
    pub fn state(&self) -> IceConnectionState {
        *self.inner.state.borrow()
    }

    /// Where [`IceTransport::send`] sends now, as last published by the task;
    /// `None` when there is no consented pair.
    pub fn route(&self) -> Option<Route> {
        if self.inner.shared.closed.load(Ordering::Acquire) {
            return None;
        }
        lock(&self.inner.shared.route)
            .as_ref()
            .map(|(route, _)| *route)
    }

    /// Received application datagrams dropped because the receive queue was full.
    pub fn dropped_datagrams(&self) -> u64 {
        self.inner.shared.dropped_datagrams.load(Ordering::Relaxed)
    }

    /// Events dropped because the event queue was full.
    pub fn dropped_events(&self) -> u64 {
        self.inner.shared.dropped_events.load(Ordering::Relaxed)
    }

    // ---------------------------------------------------------------- commands

    async fn command(&self, command: Command) -> Result<(), Error> {
        self.inner
            .commands
            .send(command)
            .await
            .map_err(|_| Error::Closed)
    }

    /// Sets the peer's credentials (a new ufrag after the first starts a new
    /// remote generation, see [`IceAgent::set_remote_credentials`]).
    pub async fn set_remote_credentials(&self, credentials: Credentials) -> Result<(), Error> {
        self.command(Command::SetRemoteCredentials(credentials))
            .await
    }

    /// Adds a remote candidate (trickle); the agent's verdict is returned.
    ///
    /// A candidate whose address is an mDNS `.local` name is resolved
    /// first: `Ok` means it waits for its name, and it reaches the agent
    /// with [`IceEvent::MdnsResolved`], or is dropped with
    /// [`IceEvent::MdnsUnresolved`]. `Err(Error::TooManyMdnsQueries)` when
    /// too many names are resolving already.
    pub async fn add_remote_candidate(&self, candidate: Candidate) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::AddRemoteCandidate(candidate, tx))
            .await?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// The peer has sent all its candidates.
    pub async fn end_of_remote_candidates(&self) -> Result<(), Error> {
        self.command(Command::EndOfRemoteCandidates).await
    }

    /// ICE restart: returns the new local credentials. The new generation's
    /// candidates are already queued as [`IceEvent::LocalCandidate`] events
    /// when this returns. Data keeps flowing on the old pair until the new
    /// generation selects one; the peer must restart too.
    pub async fn restart(&self) -> Result<Credentials, Error> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Restart(tx)).await?;
        rx.await.map_err(|_| Error::Closed)
    }

    /// Closes the agent and stops the task; returns when the sockets are
    /// closed. Queued data and events stay readable. Closing twice is fine.
    pub async fn close(&self) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        if self.command(Command::Close(tx)).await.is_err() {
            return Ok(()); // already stopped
        }
        let _ = rx.await;
        Ok(())
    }

    // --------------------------------------------------------------- async I/O

    /// The next event; `None` once the task has stopped and the queue is empty.
    /// Cancel-safe (usable in `select!`). With several clones waiting, each
    /// event goes to one of them.
    pub async fn next_event(&self) -> Option<IceEvent> {
        self.inner.events.lock().await.recv().await
    }

    /// The next event if one is queued now.
    pub fn try_next_event(&self) -> Option<IceEvent> {
        self.inner.events.try_lock().ok()?.try_recv().ok()
    }

    /// Waits until the state satisfies `accept`, and returns it.
    /// `Err(Error::Closed)` if the task stops first.
    pub async fn wait_for_state(
        &self,
        accept: impl FnMut(IceConnectionState) -> bool,
    ) -> Result<IceConnectionState, Error> {
        wait_for_watched(&self.inner.state, accept)
            .await
            .ok_or(Error::Closed)
    }

    /// Resolves when the state is Connected or Completed.
    /// `Err(Error::NotConnected)` when ICE fails, `Err(Error::Closed)` when closed.
    pub async fn connected(&self) -> Result<(), Error> {
        use IceConnectionState::*;
        match self
            .wait_for_state(|s| matches!(s, Connected | Completed | Failed | Closed))
            .await?
        {
            Connected | Completed => Ok(()),
            Failed => Err(Error::NotConnected),
            _ => Err(Error::Closed),
        }
    }

    /// Sends one datagram along the agent's route (its selected pair, or the
    /// previous generation's during an ICE restart).
    /// `Err(Error::NotConnected)` when there is no consented pair.
    ///
    /// The peer's agent demultiplexes by the first byte (RFC 7983): a datagram
    /// starting with 0–3 is taken for STUN, so application data must not
    /// (DTLS, RTP and SRTP never do).
    pub async fn send(&self, data: &[u8]) -> Result<(), Error> {
        let shared = &self.inner.shared;
        if shared.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let (route, direct) = lock(&shared.route).clone().ok_or(Error::NotConnected)?;
        match direct {
            Some(socket) => {
                socket.send_to(data, route.destination).await?;
                Ok(())
            }
            None => {
                // Relayed (the source is a TURN relayed address) or TCP: the task wraps it.
                let (tx, rx) = oneshot::channel();
                self.command(Command::Send(Bytes::copy_from_slice(data), tx))
                    .await?;
                rx.await.map_err(|_| Error::Closed)?
            }
        }
    }

    /// Receives one application datagram into `buf`, truncating it if `buf`
    /// is too short (as UDP does); returns its length. `Err(Error::Closed)`
    /// once the task has stopped and the queue is empty. Cancel-safe.
    pub async fn recv(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let datagram = self.recv_bytes().await?;
        let n = datagram.len().min(buf.len());
        buf[..n].copy_from_slice(&datagram[..n]);
        Ok(n)
    }

    /// Receives one application datagram. Cancel-safe.
    pub async fn recv_bytes(&self) -> Result<Bytes, Error> {
        self.inner
            .data
            .lock()
            .await
            .recv()
            .await
            .ok_or(Error::Closed)
    }
}

/// The task owning the agent.
struct Driver {
    agent: IceAgent,
    sockets: PacketSockets<()>,
    shared: Arc<Shared>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<IceEvent>,
    data: mpsc::Sender<Bytes>,
    state: watch::Sender<IceConnectionState>,
    close_reply: Option<oneshot::Sender<()>>,
    warned_data: bool,
    warned_events: bool,
    /// Which networks get sockets when the monitor finds new ones.
    filter: NetworkFilter,
    /// Resolving remote `.local` candidates, publishing ours.
    mdns: mdns::Mdns,
    /// Where relayed data is wrapped in place.
    out: Vec<u8>,
}

fn clock() -> std::time::Instant {
    Instant::now().into_std()
}

impl Driver {
    async fn run(mut self) {
        loop {
            let now = clock();
            if self.agent.poll_timeout().is_some_and(|t| t <= now) {
                self.agent.handle_timeout(now);
            }
            // mDNS datagrams are read here too, a few each turn, so that a
            // busy ICE socket (always first in the select below) cannot
            // starve them, nor they the agent.
            let mdns_read = self.mdns.read_some(now);
            if self.mdns.poll_timeout().is_some_and(|t| t <= now) {
                self.mdns.handle_timeout(now);
            }
            if mdns_read || self.mdns.waiting() > 0 {
                self.pump_mdns(now);
            }
            self.flush().await;
            if self.agent.state() == IceConnectionState::Closed {
                break;
            }
            // The agent's `now` contract: after every input at `now` (here
            // handle_timeout), its next timeout is after `now`.
            let deadline = self.agent.poll_timeout();
            debug_assert!(
                deadline.is_none_or(|t| t > now),
                "IceAgent::poll_timeout {deadline:?} is not after {now:?}"
            );
            let deadline = match (deadline, self.mdns.poll_timeout()) {
                (Some(a), Some(m)) => Some(a.min(m)),
                (a, m) => a.or(m),
            };
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => {
                        tracing::debug!("every IceTransport handle dropped: closing");
                        self.agent.close(clock());
                    }
                },
                wake = self.sockets.wait(deadline) => self.handle_wake(wake),
                wake = self.mdns.wait() => {
                    let now = clock();
                    self.mdns.handle(now, wake);
                    self.pump_mdns(now);
                }
            }
        }
        self.flush().await;
        self.shared.closed.store(true, Ordering::Release);
        *lock(&self.shared.route) = None;
        self.sockets.close();
        self.state.send_replace(IceConnectionState::Closed);
        if let Some(reply) = self.close_reply.take() {
            let _ = reply.send(());
        }
        tracing::debug!("ICE driver stopped");
        // Dropping `self` closes the sockets (once no handle is sending) and
        // the queues: receivers drain what is left, then see the end.
    }

    fn handle_command(&mut self, command: Command) {
        let now = clock();
        match command {
            Command::Send(data, reply) => {
                let _ = reply.send(self.send_relayed(now, &data));
            }
            Command::SetRemoteCredentials(c) => self.agent.set_remote_credentials(now, c),
            Command::AddRemoteCandidate(c, reply)
                if matches!(c.address, CandidateAddress::Mdns(_)) =>
            {
                let result = self.mdns.resolve(now, c);
                if let Err(e) = &result {
                    tracing::debug!(error = %e, "mDNS candidate refused");
                }
                let _ = reply.send(result);
                // A cached name resolves at once.
                self.pump_mdns(now);
            }
            Command::AddRemoteCandidate(c, reply) => {
                let result = self.agent.add_remote_candidate(now, c);
                if let Err(e) = &result {
                    tracing::debug!(error = %e, "remote candidate refused");
                }
                let _ = reply.send(result);
            }
            Command::EndOfRemoteCandidates if self.mdns.waiting() > 0 => {
                tracing::debug!(
                    waiting = self.mdns.waiting(),
                    "end-of-candidates held until the mDNS names resolve"
                );
                self.mdns.end_deferred = true;
            }
            Command::EndOfRemoteCandidates => self.agent.end_of_remote_candidates(now),
            Command::Restart(reply) => {
                self.agent.restart(now);
                let credentials = self.agent.local_credentials().clone();
                *lock(&self.shared.credentials) = credentials.clone();
                // The new generation's candidates are queued before the caller resumes.
                self.publish_events();
                let _ = reply.send(credentials);
            }
            Command::Close(reply) => {
                self.agent.close(now);
                self.close_reply = Some(reply);
            }
        }
    }

    /// Sends data a handle could not send itself (a relayed or TCP route):
    /// wrapped in the task's buffer ([`IceAgent::send_in_place`]), so a
    /// relayed datagram through a bound channel costs no allocation here.
    fn send_relayed(&mut self, now: std::time::Instant, data: &[u8]) -> Result<(), Error> {
        let len = data.len();
        if self.out.len() < SEND_HEADROOM + len + SEND_TAILROOM {
            return Err(Error::BufferTooSmall);
        }
        self.out[SEND_HEADROOM..SEND_HEADROOM + len].copy_from_slice(data);
        let Some(to) = self.agent.send_in_place(now, &mut self.out, len)? else {
            return Ok(()); // queued by the agent (a Send indication)
        };
        let datagram = to.datagram(&self.out);
        match to.transport {
            TransportProtocol::Udp => {
                self.sockets
                    .send_datagram(to.source, to.destination, datagram);
            }
            TransportProtocol::Tcp => {
                let t = crate::allocator::Transmit {
                    source: to.source,
                    destination: to.destination,
                    transport: to.transport,
                    contents: Bytes::copy_from_slice(datagram),
                };
                self.sockets.send((), t);
            }
        }
        Ok(())
    }

    fn handle_wake(&mut self, wake: Wake<()>) {
        match wake {
            Wake::Udp(i) => {
                let agent = &mut self.agent;
                let mut deliver = Deliver {
                    data: &self.data,
                    shared: &self.shared,
                    warned: &mut self.warned_data,
                };
                self.sockets.read_udp(i, |mut datagram| {
                    let (local, source) = (datagram.local, datagram.source);
                    let receive = Receive {
                        local,
                        source,
                        data: datagram.data(),
                    };
                    match agent.handle_receive(clock(), receive) {
                        Received::Data(range) => deliver.send(datagram.keep(range)),
                        Received::Stun => {}
                        Received::Dropped => {
                            tracing::trace!(%local, %source, "datagram dropped by the agent")
                        }
                    }
                });
            }
            Wake::Frame(frame) => {
                let receive = Receive {
                    local: frame.local,
                    source: frame.remote,
                    data: &frame.data,
                };
                if let Received::Data(range) = self.agent.handle_stream_frame(clock(), receive) {
                    let payload = Bytes::from(frame.data).slice(range);
                    Deliver {
                        data: &self.data,
                        shared: &self.shared,
                        warned: &mut self.warned_data,
                    }
                    .send(payload);
                }
            }
            Wake::StreamClosed(c) => {
                self.agent
                    .handle_stream_closed(clock(), c.local, c.remote, c.error)
            }
            Wake::Timeout => {
                let now = clock();
                let mdns_due = self.mdns.poll_timeout().is_some_and(|t| t <= now);
                if mdns_due {
                    self.mdns.handle_timeout(now);
                    self.pump_mdns(now);
                }
                if !mdns_due || self.agent.poll_timeout().is_some_and(|t| t <= now) {
                    self.agent.handle_timeout(now);
                }
            }
            Wake::NetworkCheck => self.regather(),
        }
    }

    /// Adds the candidates whose names resolved to the agent and reports
    /// the names that did not; end-of-candidates follows once none waits.
    fn pump_mdns(&mut self, now: std::time::Instant) {
        while let Some(outcome) = self.mdns.poll_outcome() {
            let event = match outcome {
                mdns::MdnsOutcome::Add(c, name) => {
                    let address = c.socket_addr().map(|a| a.ip());
                    tracing::debug!(%name, ?address, "mDNS candidate resolved");
                    if let Err(e) = self.agent.add_remote_candidate(now, c) {
                        tracing::debug!(%name, error = %e, "resolved mDNS candidate refused");
                    }
                    match address {
                        Some(address) => IceEvent::MdnsResolved { name, address },
                        None => continue,
                    }
                }
                mdns::MdnsOutcome::Unresolved(name) => {
                    tracing::info!(%name, "mDNS name not resolved: candidate dropped");
                    IceEvent::MdnsUnresolved { name }
                }
            };
            self.emit(event);
        }
        if self.mdns.end_deferred && self.mdns.waiting() == 0 {
            self.mdns.end_deferred = false;
            self.agent.end_of_remote_candidates(now);
        }
    }

    /// Lists the networks again: addresses that went away lose their
    /// sockets and the agent fails their pairs at once
    /// ([`IceAgent::remove_local_address`]); new addresses get a socket (and
    /// so candidates, which go out as events).
    fn regather(&mut self) {
        let Some((current, gone)) = self.sockets.check_networks(&self.filter) else {
            return;
        };
        for ip in gone {
            self.agent.remove_local_address(clock(), ip);
            lock(&self.shared.addrs).retain(|a| a.ip() != ip);
        }
        let new: Vec<network::Network> = self
            .sockets
            .new_networks(&current)
            .into_iter()
            .cloned()
            .collect();
        for net in new {
            match self.sockets.bind_udp(&net, ()) {
                Ok(addr) => {
                    tracing::info!(%addr, interface = %net.name, "new network: gathering on it");
                    self.agent.add_local_socket(clock(), addr, net.network_type);
                    lock(&self.shared.addrs).push(addr);
                }
                Err(e) => tracing::debug!(ip = %net.ip, error = %e, "cannot bind new address"),
            }
        }
    }

    /// Sends what the agent queued and publishes route, events and state.
    async fn flush(&mut self) {
        let now = clock();
        while let Some(t) = self.agent.poll_transmit(now) {
            self.sockets.send((), t);
        }
        self.sockets.flush().await;
        self.mdns.flush(now).await;
        // The route first, so a handle that sees Connected can send.
        let route = self.agent.route();
        {
            let mut r = lock(&self.shared.route);
            if r.as_ref().map(|(route, _)| *route) != route {
                *r = route.map(|route| {
                    let direct = self
                        .agent
                        .direct_route()
                        .filter(|d| d.transport == TransportProtocol::Udp)
                        .and_then(|d| self.sockets.udp_socket(d.source));
                    (route, direct)
                });
            }
        }
        self.publish_events();
    }

    fn publish_events(&mut self) {
        while let Some(event) = self.agent.poll_event() {
            let event = match event {
                IceEvent::LocalCandidate(c) => IceEvent::LocalCandidate(self.mdns.publish(c)),
                IceEvent::LocalCandidatesRemoved(cs) => {
                    IceEvent::LocalCandidatesRemoved(self.mdns.withdraw(cs))
                }
                other => other,
            };
            match &event {
                IceEvent::ConnectionStateChanged(s) => {
                    tracing::debug!(state = ?s, "ICE connection state");
                    self.state.send_replace(*s);
                }
                IceEvent::SelectedPairChanged { local, remote } => {
                    tracing::debug!(%local, %remote, "selected pair");
                }
                _ => {}
            }
            self.emit(event);
        }
    }

    /// Queues an event for the handles (dropped and counted when full).
    fn emit(&mut self, event: IceEvent) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.events.try_send(event) {
            self.shared.dropped_events.fetch_add(1, Ordering::Relaxed);
            if !std::mem::replace(&mut self.warned_events, true) {
                tracing::warn!("event queue full: dropping events (counted in dropped_events)");
            }
        }
    }
}

/// Queues received application data for the handles (dropped and counted when full).
struct Deliver<'a> {
    data: &'a mpsc::Sender<Bytes>,
    shared: &'a Shared,
    warned: &'a mut bool,
}

impl Deliver<'_> {
    fn send(&mut self, payload: Bytes) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.data.try_send(payload) {
            self.shared
                .dropped_datagrams
                .fetch_add(1, Ordering::Relaxed);
            if !std::mem::replace(self.warned, true) {
                tracing::warn!(
                    "receive queue full: dropping datagrams (counted in dropped_datagrams)"
                );
            }
        }
    }
}
