//! The tokio driver: UDP sockets and timers pumping one [`IceAgent`].
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
//! The task runs the loop documented on [`IceAgent`], with real I/O:
//!
//! 1. if [`IceAgent::poll_timeout`] is due, [`IceAgent::handle_timeout`];
//! 2. send every [`IceAgent::poll_transmit`] on its socket, publish the
//!    [`IceAgent::route`], then every [`IceAgent::poll_event`] (connection state
//!    changes also go to a `watch` channel, so [`IceTransport::state`] never lags
//!    behind a lost event);
//! 3. `tokio::select!` over a command from a handle, a readable socket (drained
//!    with `try_recv_from`, at most [`READ_BUDGET`] datagrams per wake-up) and
//!    `sleep_until(poll_timeout)`.
//!
//! Time comes from tokio's clock, converted with `into_std()`; the agent never
//! reads a clock. Datagrams the agent classifies as [`Received::Data`] go to a
//! bounded queue ([`DriverConfig::recv_queue`]): when the application does not
//! keep up they are dropped and counted ([`IceTransport::dropped_datagrams`]),
//! as a socket buffer would, so memory stays bounded. Application data on a
//! direct UDP route is sent from the handle straight onto the socket, without
//! a hop through the task; on a TURN-relayed or TCP route it goes through the
//! task, which wraps or frames it.
//!
//! With [`DriverConfig::tcp`], each address also gets a TCP listener (ICE-TCP,
//! RFC 6544): accepted connections and connections opened for the agent's
//! active candidates carry RFC 4571 frames (a two-byte length, then the
//! packet), read and written by one small task per connection.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::agent::{
    Credentials, IceAgent, IceConfig, IceConnectionState, IceEvent, Receive, Received, Route,
};
use crate::candidate::{Candidate, TransportProtocol};
use crate::error::Error;
use crate::network::{self, NetworkFilter};

/// Most datagrams read from one socket per wake-up before the task looks at
/// its other inputs (timers, commands, other sockets).
pub const READ_BUDGET: usize = 64;

/// Largest datagram the driver reads (the UDP maximum).
const MAX_DATAGRAM: usize = 65_535;

/// Pending commands from handles; senders wait when it is full.
const COMMAND_QUEUE: usize = 64;

/// Most ICE-TCP connections at once (accepted and opened).
pub const MAX_TCP_CONNECTIONS: usize = 64;

/// Frames queued for one TCP connection (while it connects, or behind a slow writer).
const TCP_FRAME_QUEUE: usize = 64;

/// How long connecting an active ICE-TCP candidate may take.
const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

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
    /// How often the networks are listed again; addresses that appeared since
    /// get a socket and candidates (libwebrtc's network monitor). `None`
    /// turns re-gathering off. Default 5 s.
    pub network_monitor: Option<Duration>,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            ice: IceConfig::default(),
            networks: NetworkFilter::default(),
            recv_queue: 1024,
            event_queue: 1024,
            tcp: false,
            network_monitor: Some(Duration::from_secs(5)),
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
    /// The sockets, for sending from handles; emptied when the task stops so
    /// that they close even while handles live on.
    sockets: Mutex<Vec<(SocketAddr, Arc<UdpSocket>)>>,
    route: Mutex<Option<Route>>,
    credentials: Mutex<Credentials>,
    closed: AtomicBool,
    dropped_datagrams: AtomicU64,
    dropped_events: AtomicU64,
}

fn find_socket(
    sockets: &[(SocketAddr, Arc<UdpSocket>)],
    addr: SocketAddr,
) -> Option<&Arc<UdpSocket>> {
    sockets.iter().find(|(a, _)| *a == addr).map(|(_, s)| s)
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

/// One UDP socket per network, each given to `agent` (its host candidate);
/// addresses that cannot be bound are skipped with a warning.
fn bind_udp_sockets(
    agent: &mut IceAgent,
    networks: &[network::Network],
    now: std::time::Instant,
) -> Vec<(SocketAddr, Arc<UdpSocket>)> {
    let mut sockets = Vec::new();
    for net in networks {
        match bind_udp(net) {
            Ok((addr, socket)) => {
                tracing::debug!(%addr, interface = %net.name, "bound ICE socket");
                agent.add_local_socket(now, addr, net.network_type);
                sockets.push((addr, Arc::new(socket)));
            }
            Err(e) => {
                tracing::warn!(ip = %net.ip, interface = %net.name, error = %e, "cannot bind: address skipped")
            }
        }
    }
    sockets
}

/// One ICE-TCP listener per network, each given to `agent` (its passive and
/// active candidates); addresses that cannot be bound are skipped.
fn bind_tcp_listeners(
    agent: &mut IceAgent,
    networks: &[network::Network],
    now: std::time::Instant,
) -> Vec<(SocketAddr, TcpListener)> {
    let mut listeners = Vec::new();
    for net in networks {
        let bound = std::net::TcpListener::bind(network::bind_addr(net)).and_then(|l| {
            l.set_nonblocking(true)?;
            let l = TcpListener::from_std(l)?;
            Ok((l.local_addr()?, l))
        });
        match bound {
            Ok((addr, listener)) => {
                tracing::debug!(%addr, interface = %net.name, "ICE-TCP listener");
                agent.add_local_tcp_listener(now, addr, net.network_type);
                listeners.push((addr, listener));
            }
            Err(e) => {
                tracing::warn!(ip = %net.ip, error = %e, "cannot listen on TCP: skipped")
            }
        }
    }
    listeners
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
        let turn_tcp_servers: Vec<SocketAddr> = config
            .ice
            .turn_servers
            .iter()
            .filter(|t| t.transport == TransportProtocol::Tcp)
            .map(|t| t.server)
            .collect();
        let mut agent = IceAgent::new(config.ice);
        let now = Instant::now().into_std();
        let sockets = bind_udp_sockets(&mut agent, &networks, now);
        if sockets.is_empty() {
            tracing::error!(networks = networks.len(), "no local address could be bound");
            return Err(Error::Io(io::ErrorKind::AddrNotAvailable));
        }
        let listeners = if config.tcp {
            bind_tcp_listeners(&mut agent, &networks, now)
        } else {
            Vec::new()
        };
        agent.finish_local_sockets(now);

        let shared = Arc::new(Shared {
            addrs: Mutex::new(sockets.iter().map(|(a, _)| *a).collect()),
            sockets: Mutex::new(sockets.clone()),
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
        let (tcp_tx, tcp_rx) = mpsc::channel(256);
        for (base, listener) in listeners {
            runtime.spawn(accept_loop(base, listener, tcp_tx.clone()));
        }
        let driver = Driver {
            tcp_tx,
            tcp_rx,
            tcp: std::collections::HashMap::new(),
            agent,
            shared: shared.clone(),
            sockets,
            commands: command_rx,
            events: event_tx,
            data: data_tx,
            state: state_tx,
            buf: vec![0; MAX_DATAGRAM],
            close_reply: None,
            warned_data: false,
            warned_events: false,
            next_socket: 0,
            filter: config.networks.clone(),
            monitor: config.network_monitor,
            turn_tcp_servers,
            outbox: std::collections::VecDeque::new(),
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
        *lock(&self.inner.shared.route)
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
        mut accept: impl FnMut(IceConnectionState) -> bool,
    ) -> Result<IceConnectionState, Error> {
        let mut rx = self.inner.state.clone();
        let state = rx.wait_for(|s| accept(*s)).await.map(|s| *s);
        match state {
            Ok(s) => Ok(s),
            Err(_) => {
                // The task stopped; its last state may still be acceptable.
                let last = *rx.borrow();
                if accept(last) {
                    Ok(last)
                } else {
                    Err(Error::Closed)
                }
            }
        }
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
        let route = (*lock(&shared.route)).ok_or(Error::NotConnected)?;
        let direct = match route.transport {
            TransportProtocol::Udp => find_socket(&lock(&shared.sockets), route.source).cloned(),
            TransportProtocol::Tcp => None,
        };
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
    shared: Arc<Shared>,
    sockets: Vec<(SocketAddr, Arc<UdpSocket>)>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<IceEvent>,
    data: mpsc::Sender<Bytes>,
    state: watch::Sender<IceConnectionState>,
    buf: Vec<u8>,
    close_reply: Option<oneshot::Sender<()>>,
    warned_data: bool,
    warned_events: bool,
    /// The socket polled first next time, so one busy socket cannot starve the others.
    next_socket: usize,
    /// Events from TCP accept, connect and reader tasks.
    tcp_rx: mpsc::Receiver<TcpEvent>,
    tcp_tx: mpsc::Sender<TcpEvent>,
    /// ICE-TCP connections by (candidate base, remote).
    tcp: std::collections::HashMap<(SocketAddr, SocketAddr), TcpConnection>,
    /// Which networks get sockets, and how often to look for new ones.
    filter: NetworkFilter,
    monitor: Option<Duration>,
    /// TURN servers reached over TCP: their connections carry STUN framing.
    turn_tcp_servers: Vec<SocketAddr>,
    /// UDP datagrams waiting for `flush`.
    outbox: std::collections::VecDeque<crate::allocator::Transmit>,
}

/// A non-blocking tokio UDP socket on `net`'s address with an OS-chosen
/// port, and the address it got. Public so that drivers of the layers above
/// (the DTLS TransportController's) bind their sockets the same way.
pub fn bind_udp(net: &network::Network) -> io::Result<(SocketAddr, UdpSocket)> {
    let s = std::net::UdpSocket::bind(network::bind_addr(net))?;
    s.set_nonblocking(true)?;
    let s = UdpSocket::from_std(s)?;
    Ok((s.local_addr()?, s))
}

/// The networks in `current` whose address has no socket in `bound` yet.
fn new_networks<'a>(
    current: &'a [network::Network],
    bound: &[SocketAddr],
) -> Vec<&'a network::Network> {
    current
        .iter()
        .filter(|n| !bound.iter().any(|b| b.ip() == n.ip))
        .collect()
}

/// One ICE-TCP connection as the task sees it.
enum TcpConnection {
    /// Being opened for an active candidate; frames wait here.
    Connecting(Vec<Bytes>),
    /// Open: frames go to its writer task.
    Open(mpsc::Sender<Bytes>),
}

enum TcpEvent {
    /// A connection is open (accepted on a listener, or opened for an active base).
    Open {
        base: SocketAddr,
        remote: SocketAddr,
        stream: TcpStream,
    },
    /// Opening a connection failed.
    ConnectFailed {
        base: SocketAddr,
        remote: SocketAddr,
    },
    /// One RFC 4571 frame arrived.
    Frame {
        base: SocketAddr,
        remote: SocketAddr,
        data: Bytes,
    },
    /// The connection ended.
    Closed {
        base: SocketAddr,
        remote: SocketAddr,
    },
}

/// Accepts ICE-TCP connections on a listener until the task ends.
async fn accept_loop(base: SocketAddr, listener: TcpListener, events: mpsc::Sender<TcpEvent>) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let _ = stream.set_nodelay(true);
                if events
                    .send(TcpEvent::Open {
                        base,
                        remote,
                        stream,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                tracing::debug!(%base, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        if events.is_closed() {
            return;
        }
    }
}

/// Opens a connection from an active candidate's IP to `remote`.
async fn connect(base: SocketAddr, remote: SocketAddr, events: mpsc::Sender<TcpEvent>) {
    let attempt = async {
        let socket = if base.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.bind(SocketAddr::new(base.ip(), 0))?;
        socket.connect(remote).await
    };
    let event = match tokio::time::timeout(TCP_CONNECT_TIMEOUT, attempt).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            TcpEvent::Open {
                base,
                remote,
                stream,
            }
        }
        Ok(Err(e)) => {
            tracing::debug!(%remote, error = %e, "ICE-TCP connect failed");
            TcpEvent::ConnectFailed { base, remote }
        }
        Err(_) => TcpEvent::ConnectFailed { base, remote },
    };
    let _ = events.send(event).await;
}

/// How messages are delimited on a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// RFC 4571: a two-byte length before each packet (ICE-TCP).
    Rfc4571,
    /// STUN messages and padded ChannelData back to back (TURN over TCP).
    Stun,
}

/// Reads one message from `reader` in `framing`; `None` at the end of the stream or on error.
async fn read_frame(
    reader: &mut tokio::net::tcp::OwnedReadHalf,
    framing: Framing,
) -> Option<Vec<u8>> {
    match framing {
        Framing::Rfc4571 => {
            let mut len = [0u8; 2];
            reader.read_exact(&mut len).await.ok()?;
            let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
            reader.read_exact(&mut buf).await.ok()?;
            Some(buf)
        }
        Framing::Stun => {
            // Both headers carry the length in bytes 2..4: read four bytes, then the rest.
            let mut buf = vec![0u8; 4];
            reader.read_exact(&mut buf).await.ok()?;
            let total = crate::port::turn::stream_frame_len(&buf)?;
            buf.resize(total.max(4), 0);
            reader.read_exact(&mut buf[4..]).await.ok()?;
            Some(buf)
        }
    }
}

/// Reads frames from a connection and writes queued ones to it.
async fn run_connection(
    base: SocketAddr,
    remote: SocketAddr,
    stream: TcpStream,
    framing: Framing,
    mut frames: mpsc::Receiver<Bytes>,
    events: mpsc::Sender<TcpEvent>,
) {
    let (mut reader, mut writer) = stream.into_split();
    let write = async move {
        while let Some(frame) = frames.recv().await {
            if framing == Framing::Rfc4571 {
                let len = (frame.len() as u16).to_be_bytes();
                if writer.write_all(&len).await.is_err() {
                    return;
                }
            }
            if writer.write_all(&frame).await.is_err() {
                return;
            }
        }
    };
    let read_events = events.clone();
    let read = async move {
        loop {
            let Some(buf) = read_frame(&mut reader, framing).await else {
                return;
            };
            let frame = TcpEvent::Frame {
                base,
                remote,
                data: Bytes::from(buf),
            };
            if read_events.send(frame).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = write => {}
        () = read => {}
    }
    let _ = events.send(TcpEvent::Closed { base, remote }).await;
}

/// What one non-blocking read from a UDP socket gave ([`try_read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketRead {
    /// A datagram of this length from this source is in the buffer.
    Datagram(usize, SocketAddr),
    /// Nothing more to read now (`WouldBlock`): wait for readiness again.
    Drained,
    /// An error the socket reported once (an ICMP error for an earlier send,
    /// or another pending error), already logged: read again.
    Skip,
}

/// Reads one datagram from `socket` (bound to `local`) into `buf` without
/// waiting, sorting errors the way every driver must: ICMP port unreachable
/// (`ConnectionRefused`/`ConnectionReset`) and other pending errors are
/// logged and skipped, since each read reports them once; consent freshness
/// notices a gone peer on its own.
pub fn try_read(local: SocketAddr, socket: &UdpSocket, buf: &mut [u8]) -> SocketRead {
    match socket.try_recv_from(buf) {
        Ok((n, source)) => SocketRead::Datagram(n, source),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => SocketRead::Drained,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
            ) =>
        {
            tracing::trace!(%local, error = %e, "ICMP error on receive");
            SocketRead::Skip
        }
        Err(e) => {
            tracing::debug!(%local, error = %e, "receive error");
            SocketRead::Skip
        }
    }
}

fn clock() -> std::time::Instant {
    Instant::now().into_std()
}

/// Resolves with the index of a socket in `sockets` that is readable (or has
/// an error to report), polling from index `first` on so that one busy
/// socket cannot starve the others. Never resolves when `sockets` is empty.
/// Public for the drivers of the layers above.
pub fn readable<'a>(
    sockets: &'a [(SocketAddr, Arc<UdpSocket>)],
    first: usize,
) -> impl Future<Output = usize> + 'a {
    std::future::poll_fn(move |cx| {
        let n = sockets.len();
        for k in 0..n {
            let i = (first + k) % n;
            // An error here is reported again by try_recv_from.
            if sockets[i].1.poll_recv_ready(cx).is_ready() {
                return Poll::Ready(i);
            }
        }
        Poll::Pending
    })
}

impl Driver {
    async fn run(mut self) {
        let mut sockets = self.sockets.clone();
        let sleep = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(sleep);
        let monitor_period = self.monitor.unwrap_or(Duration::from_secs(3600));
        let mut monitor = tokio::time::interval_at(Instant::now() + monitor_period, monitor_period);
        monitor.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let now = clock();
            if self.agent.poll_timeout().is_some_and(|t| t <= now) {
                self.agent.handle_timeout(now);
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
            if let Some(t) = deadline {
                sleep.as_mut().reset(Instant::from_std(t));
            }
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => {
                        tracing::debug!("every IceTransport handle dropped: closing");
                        self.agent.close(clock());
                    }
                },
                i = readable(&sockets, self.next_socket) => {
                    self.next_socket = (i + 1) % sockets.len();
                    self.read_socket(i);
                }
                Some(event) = self.tcp_rx.recv() => self.handle_tcp(event),
                _ = monitor.tick(), if self.monitor.is_some() => {
                    if self.regather() {
                        sockets = self.sockets.clone();
                    }
                }
                () = &mut sleep, if deadline.is_some() => {
                    self.agent.handle_timeout(clock());
                }
            }
        }
        self.flush().await;
        self.shared.closed.store(true, Ordering::Release);
        *lock(&self.shared.route) = None;
        lock(&self.shared.sockets).clear();
        drop(sockets);
        self.sockets.clear();
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
                let result = self.agent.send(now, &data).map(|t| self.transmit(t));
                let _ = reply.send(result);
            }
            Command::SetRemoteCredentials(c) => self.agent.set_remote_credentials(now, c),
            Command::AddRemoteCandidate(c, reply) => {
                let result = self.agent.add_remote_candidate(now, c);
                if let Err(e) = &result {
                    tracing::debug!(error = %e, "remote candidate refused");
                }
                let _ = reply.send(result);
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

    fn read_socket(&mut self, i: usize) {
        let (local, socket) = self.sockets[i].clone();
        for _ in 0..READ_BUDGET {
            let (n, source) = match try_read(local, &socket, &mut self.buf) {
                SocketRead::Datagram(n, source) => (n, source),
                SocketRead::Drained => return,
                SocketRead::Skip => continue,
            };
            let data = &self.buf[..n];
            let received = self.agent.handle_receive(
                clock(),
                Receive {
                    local,
                    source,
                    data,
                },
            );
            match received {
                Received::Data(range) => {
                    let payload = Bytes::copy_from_slice(&data[range]);
                    self.deliver(payload);
                }
                Received::Stun => {}
                Received::Dropped => {
                    tracing::trace!(%local, %source, len = n, "datagram dropped by the agent")
                }
            }
        }
    }

    /// Lists the networks again and gives new addresses a socket (and so
    /// candidates, which go out as events). Returns whether sockets were added.
    /// Sockets of addresses that went away stay: their pairs fail by consent.
    fn regather(&mut self) -> bool {
        let current = match network::enumerate(&self.filter) {
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(error = %e, "network enumeration failed");
                return false;
            }
        };
        let bound: Vec<SocketAddr> = self.sockets.iter().map(|(a, _)| *a).collect();
        let mut added = false;
        for net in new_networks(&current, &bound) {
            let bound = bind_udp(net);
            match bound {
                Ok((addr, socket)) => {
                    tracing::info!(%addr, interface = %net.name, "new network: gathering on it");
                    self.agent.add_local_socket(clock(), addr, net.network_type);
                    let socket = Arc::new(socket);
                    self.sockets.push((addr, socket.clone()));
                    lock(&self.shared.sockets).push((addr, socket));
                    lock(&self.shared.addrs).push(addr);
                    added = true;
                }
                Err(e) => tracing::debug!(ip = %net.ip, error = %e, "cannot bind new address"),
            }
        }
        added
    }

    /// Queues received application data for the handles (dropped and counted when full).
    fn deliver(&mut self, payload: Bytes) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.data.try_send(payload) {
            self.shared
                .dropped_datagrams
                .fetch_add(1, Ordering::Relaxed);
            if !std::mem::replace(&mut self.warned_data, true) {
                tracing::warn!(
                    "receive queue full: dropping datagrams (counted in dropped_datagrams)"
                );
            }
        }
    }

    /// Sends one transmit: UDP right away (without waiting for buffer space),
    /// TCP onto its connection, opening one for an active candidate if needed.
    /// Sends one transmit: UDP goes to the outbox that [`Driver::flush`]
    /// sends (awaiting the socket, so the first datagram on a new socket is
    /// not lost to a readiness tokio has not seen yet); TCP onto its
    /// connection, opening one for an active candidate if needed.
    fn transmit(&mut self, t: crate::allocator::Transmit) {
        match t.transport {
            TransportProtocol::Udp => self.outbox.push_back(t),
            TransportProtocol::Tcp => self.transmit_tcp(t.source, t.destination, t.contents),
        }
    }

    fn transmit_tcp(&mut self, base: SocketAddr, remote: SocketAddr, frame: Bytes) {
        if frame.len() > u16::MAX as usize {
            return;
        }
        match self.tcp.get_mut(&(base, remote)) {
            Some(TcpConnection::Open(tx)) => {
                if tx.try_send(frame).is_err() {
                    tracing::debug!(%remote, "ICE-TCP writer full: frame dropped");
                }
            }
            Some(TcpConnection::Connecting(queued)) => {
                if queued.len() < TCP_FRAME_QUEUE {
                    queued.push(frame);
                }
            }
            None => {
                // Only an active candidate (port 9) opens connections.
                if base.port() != 9 || self.tcp.len() >= MAX_TCP_CONNECTIONS {
                    tracing::debug!(%base, %remote, "no ICE-TCP connection for this transmit");
                    return;
                }
                self.tcp
                    .insert((base, remote), TcpConnection::Connecting(vec![frame]));
                tokio::spawn(connect(base, remote, self.tcp_tx.clone()));
            }
        }
    }

    fn handle_tcp(&mut self, event: TcpEvent) {
        match event {
            TcpEvent::Open {
                base,
                remote,
                stream,
            } => {
                let queued = match self.tcp.remove(&(base, remote)) {
                    Some(TcpConnection::Connecting(q)) => q,
                    Some(TcpConnection::Open(old)) => {
                        // A second connection for the same pair replaces the first.
                        drop(old);
                        Vec::new()
                    }
                    None if self.tcp.len() >= MAX_TCP_CONNECTIONS => {
                        tracing::debug!(%remote, "too many ICE-TCP connections: refused");
                        return;
                    }
                    None => Vec::new(),
                };
                let (tx, rx) = mpsc::channel(TCP_FRAME_QUEUE);
                for f in queued {
                    let _ = tx.try_send(f);
                }
                self.tcp.insert((base, remote), TcpConnection::Open(tx));
                let framing = if self.turn_tcp_servers.contains(&remote) {
                    Framing::Stun
                } else {
                    Framing::Rfc4571
                };
                tokio::spawn(run_connection(
                    base,
                    remote,
                    stream,
                    framing,
                    rx,
                    self.tcp_tx.clone(),
                ));
            }
            TcpEvent::ConnectFailed { base, remote } | TcpEvent::Closed { base, remote } => {
                self.tcp.remove(&(base, remote));
            }
            TcpEvent::Frame { base, remote, data } => {
                let received = self.agent.handle_stream_frame(
                    clock(),
                    Receive {
                        local: base,
                        source: remote,
                        data: &data,
                    },
                );
                if let Received::Data(range) = received {
                    self.deliver(data.slice(range));
                }
            }
        }
    }

    /// Sends what the agent queued and publishes route, events and state.
    async fn flush(&mut self) {
        let now = clock();
        while let Some(t) = self.agent.poll_transmit(now) {
            self.transmit(t);
        }
        while let Some(t) = self.outbox.pop_front() {
            match find_socket(&self.sockets, t.source) {
                Some(socket) => {
                    if let Err(e) = socket.send_to(&t.contents, t.destination).await {
                        tracing::debug!(source = %t.source, destination = %t.destination, error = %e, "send failed");
                    }
                }
                None => tracing::debug!(source = %t.source, "transmit from an unknown socket"),
            }
        }
        // The route first, so a handle that sees Connected can send.
        let route = self.agent.route();
        {
            let mut r = lock(&self.shared.route);
            if *r != route {
                *r = route;
            }
        }
        self.publish_events();
    }

    fn publish_events(&mut self) {
        while let Some(event) = self.agent.poll_event() {
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
            if let Err(mpsc::error::TrySendError::Full(_)) = self.events.try_send(event) {
                self.shared.dropped_events.fetch_add(1, Ordering::Relaxed);
                if !std::mem::replace(&mut self.warned_events, true) {
                    tracing::warn!("event queue full: dropping events (counted in dropped_events)");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidate::NetworkType;

    #[test]
    fn only_unbound_addresses_are_new() {
        let net = |ip: &str| network::Network {
            name: "eth0".into(),
            ip: ip.parse().unwrap(),
            network_type: NetworkType::Ethernet,
        };
        let current = vec![net("10.0.0.1"), net("10.0.0.2"), net("2001:db8::1")];
        let bound: Vec<SocketAddr> = vec!["10.0.0.1:5000".parse().unwrap()];
        let new: Vec<_> = new_networks(&current, &bound)
            .into_iter()
            .map(|n| n.ip.to_string())
            .collect();
        assert_eq!(new, vec!["10.0.0.2", "2001:db8::1"]);
        assert!(new_networks(&current[..1], &bound).is_empty());
    }
}
