//! [`PacketSockets`], the I/O half of every tokio driver in the stack.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::{Instant, Interval, Sleep};

use super::tcp::{self, Framing, Security, TcpEvent};
use crate::allocator::{Transmit, TurnServerConfig};
use crate::candidate::TransportProtocol;
use crate::error::TlsError;
use crate::network::{self, Network};
use crate::Error;

/// Most datagrams read from one socket per wake-up before the task looks at
/// its other inputs (timers, commands, other sockets).
pub const READ_BUDGET: usize = 64;

/// Largest datagram read (the UDP maximum).
const MAX_DATAGRAM: usize = 65_535;

/// Most TCP connections at once (accepted and opened).
pub const MAX_TCP_CONNECTIONS: usize = 64;

/// Frames queued for one TCP connection (while it connects, or behind a slow writer).
const TCP_FRAME_QUEUE: usize = 64;

/// Events from the TCP tasks waiting for the owner.
const TCP_EVENT_QUEUE: usize = 256;

/// Datagrams a full socket buffer refused, waiting for [`PacketSockets::flush`];
/// beyond it they are dropped, as the socket buffer would.
const OUTBOX_LIMIT: usize = 1024;

/// Most datagrams in one UDP GSO send (the kernel's `UDP_MAX_SEGMENTS` is 64
/// on older kernels).
const TRAIN_SEGMENTS: usize = 64;

/// Most payload bytes in one UDP GSO send: one UDP datagram's limit, less
/// the IPv6 and UDP headers.
const TRAIN_BYTES: usize = 65_535 - 48;

/// GSO sends that failed in a row (other than a full buffer) before the
/// sockets stop trying it and send each datagram alone.
const TRAIN_FAILURES: u32 = 4;

/// Datagrams from one socket to one destination gathered by
/// [`PacketSockets::send`] for one UDP GSO `sendmsg` (Linux's
/// `UDP_SEGMENT`): every one `segment` bytes long, the last possibly
/// shorter. The kernel cuts them apart again, so each leaves as the datagram
/// it was, but the stack below the socket runs once per train instead of
/// once per datagram. The datagrams stay in their own buffers (`sendmsg`
/// gathers them): nothing is copied.
#[derive(Debug, Default)]
struct Train {
    source: Option<SocketAddr>,
    destination: Option<SocketAddr>,
    segment: usize,
    bytes: usize,
    /// A shorter datagram ended the train.
    closed: bool,
    datagrams: Vec<Bytes>,
}

impl Train {
    /// True if `datagram` from `source` to `destination` can join.
    fn takes(&self, source: SocketAddr, destination: SocketAddr, len: usize) -> bool {
        self.source == Some(source)
            && self.destination == Some(destination)
            && !self.closed
            && len <= self.segment
            && self.datagrams.len() < TRAIN_SEGMENTS
            && self.bytes + len <= TRAIN_BYTES
    }

    fn push(&mut self, source: SocketAddr, destination: SocketAddr, datagram: Bytes) {
        if self.datagrams.is_empty() {
            self.source = Some(source);
            self.destination = Some(destination);
            self.segment = datagram.len();
            self.bytes = 0;
            self.closed = false;
        } else if datagram.len() < self.segment {
            self.closed = true;
        }
        self.bytes += datagram.len();
        self.datagrams.push(datagram);
    }
}

/// An owner tag: which state machine inside the core a socket belongs to.
pub trait SocketTag: Copy + Eq + Hash + std::fmt::Debug + Send + Sync + 'static {}
impl<T: Copy + Eq + Hash + std::fmt::Debug + Send + Sync + 'static> SocketTag for T {}

/// One frame received on a TCP connection (without RFC 4571's length prefix;
/// a whole STUN or ChannelData message on a connection to a TURN server).
#[derive(Debug)]
pub struct StreamFrame<T> {
    /// The owner of the listener that accepted the connection, or the owner
    /// whose transmit opened it.
    pub tag: T,
    /// The candidate base: the listener's address, or the active
    /// candidate's address (port 9) for a connection we opened.
    pub local: SocketAddr,
    /// The peer (or TURN server).
    pub remote: SocketAddr,
    /// The frame, in a buffer the caller owns (and may decrypt in place),
    /// split off the connection's read buffer without a copy.
    pub data: BytesMut,
}

/// A TCP connection that could not be opened, failed or was closed.
#[derive(Debug)]
pub struct StreamClosed<T> {
    /// The owner, as in [`StreamFrame::tag`].
    pub tag: T,
    /// The candidate base, as in [`StreamFrame::local`].
    pub local: SocketAddr,
    /// The peer (or TURN server).
    pub remote: SocketAddr,
    /// Why: an I/O error, a TLS failure (for a TURN server over TLS, e.g.
    /// its certificate was not accepted); `None` for an orderly close.
    pub error: Option<Error>,
}

/// What [`PacketSockets::wait`] woke up for.
#[derive(Debug)]
pub enum Wake<T> {
    /// UDP socket `i` is readable: call [`PacketSockets::read_udp`].
    Udp(usize),
    /// A frame arrived on a TCP connection.
    Frame(StreamFrame<T>),
    /// A TCP connection could not be opened, failed or closed: tell the core
    /// (`IceAgent::handle_stream_closed`), so that a TURN allocation over it
    /// fails with the reason.
    StreamClosed(StreamClosed<T>),
    /// The deadline passed to [`PacketSockets::wait`] is reached.
    Timeout,
    /// A network-monitor period elapsed ([`PacketSockets::monitor_networks`]):
    /// time to look for new addresses ([`PacketSockets::new_networks`]).
    NetworkCheck,
}

struct UdpEntry<T> {
    addr: SocketAddr,
    socket: Arc<UdpSocket>,
    tag: T,
    /// UDP GRO is on: one read may hold several datagrams of one sender.
    gro: bool,
}

/// How connections to one TURN server reached over a stream are set up.
struct TurnStream {
    server: SocketAddr,
    tls: TlsSetup,
}

/// TLS on a [`TurnStream`].
enum TlsSetup {
    /// Plain TCP.
    None,
    /// TLS with this context.
    #[cfg(feature = "tls")]
    Ready(Arc<crate::tls::TlsConnector>),
    /// TLS asked for but impossible (a bad CA, or no `tls` feature):
    /// connections fail with this.
    Unusable(TlsError),
}

impl TurnStream {
    fn new(config: &TurnServerConfig) -> TurnStream {
        let tls = match config.transport.tls() {
            None => TlsSetup::None,
            #[cfg(feature = "tls")]
            Some(tls) => match crate::tls::TlsConnector::new(tls) {
                Ok(c) => TlsSetup::Ready(Arc::new(c)),
                Err(e) => {
                    tracing::warn!(server = %config.server, error = %e, "TURN over TLS unusable");
                    TlsSetup::Unusable(e)
                }
            },
            #[cfg(not(feature = "tls"))]
            Some(_) => TlsSetup::Unusable(TlsError::Config(
                "the ice crate was built without its `tls` feature".into(),
            )),
        };
        TurnStream {
            server: config.server,
            tls,
        }
    }

    /// What a new connection to this server carries.
    fn security(&self) -> Result<Security, TlsError> {
        match &self.tls {
            TlsSetup::None => Ok(Security::Plain),
            #[cfg(feature = "tls")]
            TlsSetup::Ready(c) => Ok(Security::Tls(Box::new(c.session()?))),
            TlsSetup::Unusable(e) => Err(e.clone()),
        }
    }
}

/// One TCP connection as the owner sees it.
enum Connection {
    /// Being opened; frames wait here.
    Connecting(Vec<Bytes>),
    /// Open: frames go to its task.
    Open(mpsc::Sender<Bytes>),
}

/// The I/O half of a tokio driver, shared by every driver
/// of a sans-IO core in this stack (libwebrtc's BasicPacketSocketFactory with
/// its AsyncUDPSocket, AsyncTCPSocket and AsyncStunTCPSocket, as one owner).
///
/// A driver task owns its core (an [`IceAgent`](crate::IceAgent), a DTLS
/// TransportController…) and one `PacketSockets`, and runs the loop
/// documented on the core:
///
/// ```text
/// loop {
///     if core.poll_timeout() is due { core.handle_timeout(now) }
///     while let Some(t) = core.poll_transmit(now) { sockets.send(tag, t) }
///     sockets.flush().await;                       // datagrams a full socket buffer refused
///     select! {
///         command from a handle     => core.<command>(now, …),
///         wake = sockets.wait(core.poll_timeout()) => match wake {
///             Wake::Udp(i)      => sockets.read_udp(i, |tag, local, source, buf| core.handle_receive(…)),
///             Wake::Frame(f)    => core.handle_stream_frame(…),   // ICE-TCP, TURN over TCP/TLS
///             Wake::StreamClosed(c) => core.handle_stream_closed(…), // a TURN connection's failure
///             Wake::Timeout     => core.handle_timeout(now),
///             Wake::NetworkCheck => bind sockets on new networks (the network monitor),
///         }
///     }
/// }
/// ```
///
/// It holds UDP sockets (one per network and owner), ICE-TCP listeners and
/// the TCP connections they accept or that [`PacketSockets::send`] opens for
/// an active candidate (port 9) or a TURN server reached over TCP. Every
/// socket and connection carries a tag `T` naming its owner inside the core
/// (`()` for one agent; a transport and component for a controller), so a
/// datagram goes to the right state machine without a lookup by address.
///
/// UDP is read into one buffer the caller may decrypt in place
/// ([`PacketSockets::read_udp`]), at most [`READ_BUDGET`] datagrams per
/// wake-up, sockets taken in turn so that one busy socket cannot starve the
/// others; on Linux with UDP GRO, so that a peer's GSO train (ours, over
/// loopback, say) arrives in one `recvmsg` and is split here, not by the
/// kernel into one read per datagram. UDP transmits given to [`PacketSockets::send`] from one socket
/// to one destination are gathered into trains and leave, at the latest in
/// [`PacketSockets::flush`], in one UDP GSO `sendmsg` each on Linux
/// (`UDP_SEGMENT`; the datagrams on the wire are unchanged), one
/// `try_send_to` each elsewhere or where the kernel refuses GSO; only a
/// datagram a full socket buffer refuses goes to an outbox
/// [`PacketSockets::flush`] sends. TCP frames go to a task per connection, which writes each frame
/// with its RFC 4571 length in one `write` (frames queued together share it);
/// on a connection to a TURN server over TLS the task runs the TLS session
/// (`ice::tls`, feature `tls`) around the frames.
pub struct PacketSockets<T: SocketTag> {
    udp: Vec<UdpEntry<T>>,
    next_udp: usize,
    /// The receive buffer: [`MAX_DATAGRAM`] bytes of a [`RECV_POOL`].
    buf: BytesMut,
    /// Room for the GRO segment size a read reports.
    cmsg: Vec<u8>,
    outbox: VecDeque<(SocketAddr, SocketAddr, Bytes)>,
    /// UDP datagrams gathered for one GSO send.
    train: Train,
    /// Consecutive GSO sends the kernel refused; at [`TRAIN_FAILURES`] the
    /// sockets stop gathering trains.
    train_failures: u32,
    /// GSO sends made (each of two datagrams or more).
    trains_sent: u64,
    /// GRO reads that held two datagrams or more.
    gro_batches: u64,
    tcp: HashMap<(T, SocketAddr, SocketAddr), Connection>,
    tcp_tx: mpsc::Sender<TcpEvent<T>>,
    tcp_rx: mpsc::Receiver<TcpEvent<T>>,
    /// TURN servers reached over TCP or TLS: their connections carry STUN
    /// framing, and TLS for `turns:`.
    turn_streams: Vec<TurnStream>,
    /// Accept loops, stopped when this is dropped (which closes the listeners).
    listeners: Vec<(SocketAddr, AbortHandle)>,
    sleep: Pin<Box<Sleep>>,
    monitor: Option<Interval>,
}

impl<T: SocketTag> std::fmt::Debug for PacketSockets<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketSockets")
            .field("udp", &self.udp.iter().map(|u| u.addr).collect::<Vec<_>>())
            .field("tcp_listeners", &self.listeners.len())
            .field("tcp_connections", &self.tcp.len())
            .field("outbox", &self.outbox.len())
            .finish()
    }
}

impl<T: SocketTag> Drop for PacketSockets<T> {
    fn drop(&mut self) {
        for (_, task) in &self.listeners {
            task.abort();
        }
    }
}

/// A non-blocking tokio UDP socket on `net`'s address with an OS-chosen
/// port, and the address it got.
/// Receive and send buffer asked for on every UDP socket (the kernel caps it
/// at `net.core.rmem_max`/`wmem_max`). The 208 KiB default overflows when a
/// data channel's window of SCTP packets arrives faster than one task turn
/// reads them; libwebrtc asks for 256 KiB to 1 MiB for the same reason.
pub(crate) const UDP_SOCKET_BUFFER: usize = 1 << 20;

fn bind_udp(net: &Network) -> io::Result<(SocketAddr, UdpSocket, bool)> {
    let s = std::net::UdpSocket::bind(network::bind_addr(net))?;
    s.set_nonblocking(true)?;
    let gro = enable_gro(&s);
    let sock = socket2::SockRef::from(&s);
    for (what, result) in [
        ("SO_RCVBUF", sock.set_recv_buffer_size(UDP_SOCKET_BUFFER)),
        ("SO_SNDBUF", sock.set_send_buffer_size(UDP_SOCKET_BUFFER)),
    ] {
        if let Err(e) = result {
            tracing::debug!(error = %e, "{what} not set");
        }
    }
    let s = UdpSocket::from_std(s)?;
    Ok((s.local_addr()?, s, gro))
}

/// Turns on UDP GRO (Linux ≥ 5.0): the kernel may then deliver datagrams of
/// one sender that arrive together in one read, all of one size but the
/// last ([`read_udp`](PacketSockets::read_udp) splits them). A train a peer
/// sent with GSO over loopback arrives whole, never cut into datagrams on
/// the way; on a NIC it depends on the driver. False where refused.
#[cfg(target_os = "linux")]
fn enable_gro(socket: &std::net::UdpSocket) -> bool {
    use nix::sys::socket::{setsockopt, sockopt::UdpGroSegment};
    setsockopt(socket, UdpGroSegment, &true).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn enable_gro(_: &std::net::UdpSocket) -> bool {
    false
}

/// A control-message buffer for one GRO segment size.
#[cfg(target_os = "linux")]
fn gro_cmsg_space() -> Vec<u8> {
    nix::cmsg_space!(i32)
}

#[cfg(not(target_os = "linux"))]
fn gro_cmsg_space() -> Vec<u8> {
    Vec::new()
}

/// One datagram [`PacketSockets::read_udp`] read, in the receive buffer.
#[derive(Debug)]
pub struct Datagram<'a, T> {
    /// The owner of the socket.
    pub tag: T,
    /// Our socket's address.
    pub local: SocketAddr,
    /// Where it came from.
    pub source: SocketAddr,
    buf: &'a mut BytesMut,
    len: usize,
}

impl<T> Datagram<'_, T> {
    /// The datagram, to read or modify in place.
    pub fn data(&mut self) -> &mut [u8] {
        &mut self.buf[..self.len]
    }

    /// Keeps `range` of the datagram as [`Bytes`] without copying it: the
    /// receive buffer is a pool that datagrams are split off (one allocation
    /// per [`RECV_POOL`] bytes of kept data, none when the kept packets were
    /// dropped before the pool runs out).
    pub fn keep(self, range: std::ops::Range<usize>) -> Bytes {
        let mut kept = self.buf.split_to(self.len);
        kept.truncate(range.end);
        kept.advance(range.start);
        kept.freeze()
    }
}

/// Bytes of receive buffer allocated at once; datagrams a driver keeps are
/// split off it ([`Datagram::keep`]).
pub const RECV_POOL: usize = 256 * 1024;

/// Makes `buf` hold [`MAX_DATAGRAM`] bytes again after a datagram was split
/// off (reclaiming the pool when every kept datagram has been dropped).
fn refill(buf: &mut BytesMut) {
    if buf.len() < MAX_DATAGRAM {
        if buf.capacity() < MAX_DATAGRAM {
            buf.reserve(RECV_POOL);
        }
        buf.resize(MAX_DATAGRAM, 0);
    }
}

/// What one non-blocking read from a UDP socket gave.
enum SocketRead {
    /// Bytes of this length from this source are in the buffer: one
    /// datagram, or (GRO) datagrams of the given segment size back to back,
    /// the last one possibly shorter.
    Datagram(usize, SocketAddr, Option<usize>),
    /// Nothing more to read now (`WouldBlock`): wait for readiness again.
    Drained,
    /// An error the socket reported once, already logged: read again.
    Skip,
}

/// Reads one datagram without waiting. ICMP port unreachable
/// (`ConnectionRefused`/`ConnectionReset`) and other pending errors are
/// logged and skipped, since each read reports them once; consent freshness
/// notices a gone peer on its own.
fn try_read(
    local: SocketAddr,
    socket: &UdpSocket,
    gro: bool,
    cmsg: &mut [u8],
    buf: &mut [u8],
) -> SocketRead {
    let read = if gro {
        recv_gro(socket, cmsg, buf)
    } else {
        socket
            .try_recv_from(buf)
            .map(|(n, source)| (n, source, None))
    };
    match read {
        Ok((n, source, segment)) => SocketRead::Datagram(n, source, segment),
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

/// One `recvmsg` on a GRO socket: the bytes, the sender, and the segment
/// size when the kernel put several datagrams in them.
#[cfg(target_os = "linux")]
fn recv_gro(
    socket: &UdpSocket,
    cmsg: &mut [u8],
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr, Option<usize>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};
    use std::os::fd::AsRawFd;
    socket.try_io(tokio::io::Interest::READABLE, || {
        let mut iov = [io::IoSliceMut::new(buf)];
        let msg = recvmsg::<SockaddrStorage>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut *cmsg),
            MsgFlags::MSG_DONTWAIT,
        )
        .map_err(io::Error::from)?;
        let source = msg
            .address
            .and_then(|a| {
                a.as_sockaddr_in()
                    .map(|v4| SocketAddr::V4((*v4).into()))
                    .or_else(|| a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into())))
            })
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no source address"))?;
        let mut segment = None;
        for c in msg.cmsgs().map_err(io::Error::from)? {
            if let ControlMessageOwned::UdpGroSegments(size) = c {
                segment = usize::try_from(size).ok().filter(|s| *s > 0);
            }
        }
        Ok((msg.bytes, source, segment))
    })
}

#[cfg(not(target_os = "linux"))]
fn recv_gro(
    socket: &UdpSocket,
    _: &mut [u8],
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr, Option<usize>)> {
    socket
        .try_recv_from(buf)
        .map(|(n, source)| (n, source, None))
}

/// Resolves with the index of a readable socket (or one with an error to
/// report), polling from `first` on; never resolves when there is none.
fn readable<T>(sockets: &[UdpEntry<T>], first: usize) -> impl Future<Output = usize> + '_ {
    std::future::poll_fn(move |cx| {
        let n = sockets.len();
        for k in 0..n {
            let i = (first + k) % n;
            // An error here is reported again by try_recv_from.
            if sockets[i].socket.poll_recv_ready(cx).is_ready() {
                return Poll::Ready(i);
            }
        }
        Poll::Pending
    })
}

/// The networks in `current` whose IP is not among `bound`.
fn unbound_networks(
    current: &[Network],
    bound: impl Iterator<Item = IpAddr> + Clone,
) -> Vec<&Network> {
    current
        .iter()
        .filter(|n| !bound.clone().any(|ip| ip == n.ip))
        .collect()
}

/// The next tick of the network monitor; never, without one.
async fn tick(monitor: &mut Option<Interval>) {
    match monitor {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

impl<T: SocketTag> PacketSockets<T> {
    /// No sockets yet. `turn_servers` are the core's TURN servers: connections
    /// to those it reaches over TCP or TLS carry STUN framing instead of
    /// RFC 4571's, inside TLS for [`TurnTransport::Tls`](crate::port::TurnTransport::Tls)
    /// (whose OpenSSL contexts are built here, once per server). Must be
    /// called inside a tokio runtime.
    pub fn new(turn_servers: &[TurnServerConfig]) -> PacketSockets<T> {
        let (tcp_tx, tcp_rx) = mpsc::channel(TCP_EVENT_QUEUE);
        PacketSockets {
            udp: Vec::new(),
            next_udp: 0,
            buf: BytesMut::zeroed(MAX_DATAGRAM),
            cmsg: gro_cmsg_space(),
            outbox: VecDeque::new(),
            train: Train::default(),
            train_failures: 0,
            trains_sent: 0,
            gro_batches: 0,
            tcp: HashMap::new(),
            tcp_tx,
            tcp_rx,
            turn_streams: turn_servers
                .iter()
                .filter(|t| t.is_stream())
                .map(TurnStream::new)
                .collect(),
            listeners: Vec::new(),
            sleep: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
            monitor: None,
        }
    }

    /// Makes [`wait`](Self::wait) return [`Wake::NetworkCheck`] every
    /// `period` (the first one `period` from now).
    pub fn monitor_networks(&mut self, period: Duration) {
        let mut interval = tokio::time::interval_at(Instant::now() + period, period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.monitor = Some(interval);
    }

    /// Binds a UDP socket on `net`'s address (port chosen by the OS) for
    /// `tag`; its address, to hand to the core.
    pub fn bind_udp(&mut self, net: &Network, tag: T) -> io::Result<SocketAddr> {
        let (addr, socket, gro) = bind_udp(net)?;
        self.udp.push(UdpEntry {
            addr,
            socket: Arc::new(socket),
            tag,
            gro,
        });
        Ok(addr)
    }

    /// Listens for ICE-TCP connections (RFC 6544 passive candidates) on
    /// `net`'s address for `tag`; the listener's address, to hand to the core.
    pub fn listen_tcp(&mut self, net: &Network, tag: T) -> io::Result<SocketAddr> {
        let listener = std::net::TcpListener::bind(network::bind_addr(net))?;
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(tcp::accept_loop(tag, addr, listener, self.tcp_tx.clone()));
        self.listeners.push((addr, task.abort_handle()));
        Ok(addr)
    }

    /// The UDP sockets and their addresses, in binding order (for handles
    /// that send on a direct route themselves).
    pub fn udp_sockets(&self) -> Vec<(SocketAddr, Arc<UdpSocket>)> {
        self.udp
            .iter()
            .map(|u| (u.addr, u.socket.clone()))
            .collect()
    }

    /// Our UDP socket bound to `addr`.
    pub fn udp_socket(&self, addr: SocketAddr) -> Option<Arc<UdpSocket>> {
        self.udp
            .iter()
            .find(|u| u.addr == addr)
            .map(|u| u.socket.clone())
    }

    /// The addresses of the UDP sockets, in binding order.
    pub fn udp_addrs(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.udp.iter().map(|u| u.addr)
    }

    /// The networks in `current` whose IP has no UDP socket yet (for the
    /// network monitor: new addresses to gather on).
    pub fn new_networks<'n>(&self, current: &'n [Network]) -> Vec<&'n Network> {
        unbound_networks(current, self.udp.iter().map(|u| u.addr.ip()))
    }

    /// The network monitor's check (on [`Wake::NetworkCheck`]): lists the
    /// networks through `filter` and closes everything bound to an address
    /// that went away ([`remove_address`](Self::remove_address)). Returns the
    /// networks now, for gathering on new ones, and the IPs gone, for the
    /// core to fail their pairs; `None` (logged) when listing failed.
    pub fn check_networks(
        &mut self,
        filter: &crate::network::NetworkFilter,
    ) -> Option<(Vec<Network>, Vec<IpAddr>)> {
        let current = match crate::network::enumerate(filter) {
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(error = %e, "network enumeration failed");
                return None;
            }
        };
        let gone = self.gone_addresses(&current);
        for &ip in &gone {
            let closed = self.remove_address(ip);
            tracing::info!(%ip, sockets = closed, "address gone: closing its sockets");
        }
        Some((current, gone))
    }

    /// The IPs of our UDP sockets that `current` no longer lists (for the
    /// network monitor: addresses that went away).
    pub fn gone_addresses(&self, current: &[Network]) -> Vec<IpAddr> {
        let mut gone: Vec<IpAddr> = Vec::new();
        for u in &self.udp {
            let ip = u.addr.ip();
            if !current.iter().any(|n| n.ip == ip) && !gone.contains(&ip) {
                gone.push(ip);
            }
        }
        gone
    }

    /// Closes everything bound to `ip`, an address that went away: its UDP
    /// sockets (with what waits to leave them), its TCP listeners and the
    /// TCP connections from it. The number of UDP sockets closed.
    pub fn remove_address(&mut self, ip: IpAddr) -> usize {
        let before = self.udp.len();
        self.udp.retain(|u| u.addr.ip() != ip);
        if self.next_udp >= self.udp.len() {
            self.next_udp = 0;
        }
        self.outbox.retain(|(source, _, _)| source.ip() != ip);
        if self.train.source.is_some_and(|s| s.ip() == ip) {
            self.train = Train::default();
        }
        // Dropping a connection's queue ends its task, which closes it.
        self.tcp.retain(|(_, base, _), _| base.ip() != ip);
        self.listeners.retain(|(addr, task)| {
            if addr.ip() == ip {
                task.abort();
            }
            addr.ip() != ip
        });
        before - self.udp.len()
    }

    /// Waits for the next input: a readable UDP socket, a TCP frame, the
    /// core's `deadline` (its `poll_timeout`), or a network-monitor tick.
    /// Cancel-safe: TCP connection changes are applied as they come.
    pub async fn wait(&mut self, deadline: Option<std::time::Instant>) -> Wake<T> {
        if let Some(t) = deadline {
            self.sleep.as_mut().reset(Instant::from_std(t));
        }
        loop {
            let event = tokio::select! {
                i = readable(&self.udp, self.next_udp) => {
                    self.next_udp = (i + 1) % self.udp.len();
                    return Wake::Udp(i);
                }
                Some(event) = self.tcp_rx.recv() => event,
                () = self.sleep.as_mut(), if deadline.is_some() => return Wake::Timeout,
                () = tick(&mut self.monitor), if self.monitor.is_some() => return Wake::NetworkCheck,
            };
            if let Some(wake) = self.handle_tcp(event) {
                return wake;
            }
        }
    }

    /// Reads what UDP socket `i` holds (up to [`READ_BUDGET`] datagrams),
    /// calling `on_datagram` for each with the datagram in a buffer it may
    /// modify (decrypt in place) and keep part of without a copy
    /// ([`Datagram::keep`]).
    pub fn read_udp(&mut self, i: usize, mut on_datagram: impl FnMut(Datagram<'_, T>)) {
        let Some(entry) = self.udp.get(i) else {
            return;
        };
        let mut delivered = 0;
        while delivered < READ_BUDGET {
            refill(&mut self.buf);
            match try_read(
                entry.addr,
                &entry.socket,
                entry.gro,
                &mut self.cmsg,
                &mut self.buf,
            ) {
                SocketRead::Datagram(len, source, segment) => {
                    // One datagram, or a GRO batch: each datagram at the front
                    // of the buffer in turn, split off when kept, skipped
                    // over when not.
                    let segment = segment.unwrap_or(len).max(1);
                    if len > segment {
                        self.gro_batches += 1;
                    }
                    let mut left = len;
                    while left > 0 {
                        let this = segment.min(left);
                        let before = self.buf.len();
                        on_datagram(Datagram {
                            tag: entry.tag,
                            local: entry.addr,
                            source,
                            buf: &mut self.buf,
                            len: this,
                        });
                        left -= this;
                        if left > 0 && self.buf.len() == before {
                            self.buf.advance(this);
                        }
                        delivered += 1;
                    }
                }
                SocketRead::Drained => return,
                SocketRead::Skip => delivered += 1,
            }
        }
    }

    /// Sends one transmit of the core owned by `tag`: a UDP datagram joins
    /// the train of datagrams to the same destination (sent when a
    /// different one comes, when it is full, or in [`flush`](Self::flush)
    /// at the latest), or goes out at once where there is no GSO (queued for
    /// [`flush`](Self::flush) only when the socket buffer is full, or behind
    /// datagrams already queued); a TCP frame goes onto its connection,
    /// opening one for an active candidate (port 9) or a TURN server when
    /// there is none yet.
    pub fn send(&mut self, tag: T, t: Transmit) {
        match t.transport {
            TransportProtocol::Udp => {
                if !self.outbox.is_empty() {
                    self.send_train();
                    self.queue(t.source, t.destination, t.contents);
                } else if gso_available() && self.train_failures < TRAIN_FAILURES {
                    let len = t.contents.len();
                    if len == 0 || !self.train.takes(t.source, t.destination, len) {
                        self.send_train();
                    }
                    if len == 0 {
                        // GSO cannot carry an empty datagram.
                        self.send_one(t.source, t.destination, &t.contents);
                    } else {
                        self.train.push(t.source, t.destination, t.contents);
                    }
                } else {
                    self.send_one(t.source, t.destination, &t.contents);
                }
            }
            TransportProtocol::Tcp => self.send_stream(tag, t.source, t.destination, t.contents),
        }
    }

    /// Sends `datagram` from our UDP socket `source` without waiting (after
    /// the train [`send`](Self::send) gathered, so that datagrams leave in
    /// the order they were given); when the socket buffer is full it is
    /// copied to the outbox ([`flush`](Self::flush)). Errors other than a
    /// full buffer are logged and the datagram is lost, as UDP's would be;
    /// `false` when `source` is not one of our sockets.
    pub fn send_datagram(
        &mut self,
        source: SocketAddr,
        destination: SocketAddr,
        datagram: &[u8],
    ) -> bool {
        self.send_train();
        self.send_one(source, destination, datagram)
    }

    fn send_one(&mut self, source: SocketAddr, destination: SocketAddr, datagram: &[u8]) -> bool {
        let Some(entry) = self.udp.iter().find(|u| u.addr == source) else {
            tracing::debug!(%source, "datagram from an unknown socket");
            return false;
        };
        match entry.socket.try_send_to(datagram, destination) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.queue(source, destination, Bytes::copy_from_slice(datagram));
            }
            Err(e) => tracing::debug!(%source, %destination, error = %e, "send failed"),
        }
        true
    }

    /// Sends the gathered train: one GSO `sendmsg` when it holds more than
    /// one datagram; into the outbox when the socket buffer is full; one
    /// datagram at a time when the kernel refuses GSO.
    fn send_train(&mut self) {
        let (Some(source), Some(destination)) = (self.train.source, self.train.destination) else {
            return;
        };
        let mut datagrams = std::mem::take(&mut self.train.datagrams);
        let segment = self.train.segment;
        self.train.source = None;
        match datagrams.len() {
            0 => {}
            1 => {
                self.send_one(source, destination, &datagrams[0]);
            }
            _ => match self.udp.iter().find(|u| u.addr == source) {
                None => tracing::debug!(%source, "datagrams from an unknown socket"),
                Some(entry) => match send_gso(&entry.socket, &datagrams, segment, destination) {
                    Ok(()) => {
                        self.train_failures = 0;
                        self.trains_sent += 1;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        for d in datagrams.drain(..) {
                            self.queue(source, destination, d);
                        }
                    }
                    Err(e) => {
                        // An ICMP error of an earlier send surfaces on the next
                        // one; anything else counts against GSO.
                        if e.kind() != io::ErrorKind::ConnectionRefused {
                            self.train_failures += 1;
                            tracing::debug!(%source, %destination, error = %e,
                                failures = self.train_failures, "GSO send refused: one datagram at a time");
                        }
                        for d in &datagrams {
                            self.send_one(source, destination, d);
                        }
                    }
                },
            },
        }
        datagrams.clear();
        self.train.datagrams = datagrams;
    }

    fn queue(&mut self, source: SocketAddr, destination: SocketAddr, datagram: Bytes) {
        if self.outbox.len() >= OUTBOX_LIMIT {
            tracing::debug!(%destination, "outbox full: datagram dropped");
            return;
        }
        self.outbox.push_back((source, destination, datagram));
    }

    /// Sends the gathered train, then the datagrams a full socket buffer
    /// refused, waiting for room.
    pub async fn flush(&mut self) {
        self.send_train();
        while let Some((source, destination, datagram)) = self.outbox.pop_front() {
            let Some(entry) = self.udp.iter().find(|u| u.addr == source) else {
                continue;
            };
            if let Err(e) = entry.socket.send_to(&datagram, destination).await {
                tracing::debug!(%source, %destination, error = %e, "send failed");
            }
        }
    }

    fn send_stream(&mut self, tag: T, base: SocketAddr, remote: SocketAddr, frame: Bytes) {
        if frame.len() > u16::MAX as usize {
            return;
        }
        match self.tcp.get_mut(&(tag, base, remote)) {
            Some(Connection::Open(tx)) => {
                if tx.try_send(frame).is_err() {
                    tracing::debug!(%remote, "TCP writer full: frame dropped");
                }
            }
            Some(Connection::Connecting(queued)) => {
                if queued.len() < TCP_FRAME_QUEUE {
                    queued.push(frame);
                }
            }
            None => {
                // Only an active candidate (port 9) opens connections.
                if base.port() != 9 || self.tcp.len() >= MAX_TCP_CONNECTIONS {
                    tracing::debug!(%base, %remote, "no TCP connection for this transmit");
                    return;
                }
                self.tcp
                    .insert((tag, base, remote), Connection::Connecting(vec![frame]));
                tokio::spawn(tcp::connect(tag, base, remote, self.tcp_tx.clone()));
            }
        }
    }

    /// Applies a TCP task's report; a received frame or a closed connection
    /// is returned.
    fn handle_tcp(&mut self, event: TcpEvent<T>) -> Option<Wake<T>> {
        match event {
            TcpEvent::Open {
                tag,
                base,
                remote,
                stream,
            } => {
                let queued = match self.tcp.remove(&(tag, base, remote)) {
                    Some(Connection::Connecting(q)) => q,
                    // A second connection for the same pair replaces the first.
                    Some(Connection::Open(_)) => Vec::new(),
                    None if self.tcp.len() >= MAX_TCP_CONNECTIONS => {
                        tracing::debug!(%remote, "too many TCP connections: refused");
                        return None;
                    }
                    None => Vec::new(),
                };
                let (framing, security) =
                    match self.turn_streams.iter().find(|t| t.server == remote) {
                        None => (Framing::Rfc4571, Ok(Security::Plain)),
                        Some(t) => (Framing::Stun, t.security()),
                    };
                let security = match security {
                    Ok(s) => s,
                    Err(e) => {
                        return Some(Wake::StreamClosed(StreamClosed {
                            tag,
                            local: base,
                            remote,
                            error: Some(e.into()),
                        }))
                    }
                };
                let (tx, rx) = mpsc::channel(TCP_FRAME_QUEUE);
                for f in queued {
                    let _ = tx.try_send(f);
                }
                self.tcp.insert((tag, base, remote), Connection::Open(tx));
                tokio::spawn(tcp::run_connection(
                    tag,
                    base,
                    remote,
                    stream,
                    framing,
                    security,
                    rx,
                    self.tcp_tx.clone(),
                ));
                None
            }
            TcpEvent::Closed {
                tag,
                base,
                remote,
                error,
            } => {
                self.tcp.remove(&(tag, base, remote));
                Some(Wake::StreamClosed(StreamClosed {
                    tag,
                    local: base,
                    remote,
                    error,
                }))
            }
            TcpEvent::Frame {
                tag,
                base,
                remote,
                data,
            } => Some(Wake::Frame(StreamFrame {
                tag,
                local: base,
                remote,
                data,
            })),
        }
    }

    /// Closes every socket, listener and connection (the sockets themselves
    /// close once no handle holds them).
    pub fn close(&mut self) {
        self.udp.clear();
        self.outbox.clear();
        self.train = Train::default();
        self.tcp.clear();
        for (_, task) in self.listeners.drain(..) {
            task.abort();
        }
    }
}

/// True where UDP GSO can be tried (Linux); elsewhere every datagram is
/// sent alone.
fn gso_available() -> bool {
    cfg!(target_os = "linux")
}

/// One `sendmsg` with `UDP_SEGMENT`: the kernel sends `datagrams` (each
/// `segment` bytes but the last) as that many datagrams. Through nix's safe
/// wrapper, so this crate still forbids unsafe code.
#[cfg(target_os = "linux")]
fn send_gso(
    socket: &UdpSocket,
    datagrams: &[Bytes],
    segment: usize,
    destination: SocketAddr,
) -> io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrStorage};
    use std::os::fd::AsRawFd;
    let segment = u16::try_from(segment).map_err(|_| io::ErrorKind::InvalidInput)?;
    let mut iov = [io::IoSlice::new(&[]); TRAIN_SEGMENTS];
    for (slot, d) in iov.iter_mut().zip(datagrams) {
        *slot = io::IoSlice::new(d);
    }
    let iov = &iov[..datagrams.len().min(TRAIN_SEGMENTS)];
    let addr = SockaddrStorage::from(destination);
    socket.try_io(tokio::io::Interest::WRITABLE, || {
        sendmsg(
            socket.as_raw_fd(),
            iov,
            &[ControlMessage::UdpGsoSegments(&segment)],
            MsgFlags::empty(),
            Some(&addr),
        )
        .map(drop)
        .map_err(io::Error::from)
    })
}

#[cfg(not(target_os = "linux"))]
fn send_gso(_: &UdpSocket, _: &[Bytes], _: usize, _: SocketAddr) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidate::NetworkType;

    /// Datagrams given to `send` leave as the same datagrams, in order,
    /// whatever trains they were gathered into: equal sizes, a shorter one
    /// ending a train, an empty one, a larger one, two destinations
    /// interleaved, a direct `send_datagram` in the middle.
    #[tokio::test]
    async fn trains_leave_as_the_datagrams_they_were() {
        let lo = Network {
            name: "lo".into(),
            ip: IpAddr::from([127, 0, 0, 1]),
            network_type: NetworkType::Loopback,
        };
        let mut sockets = PacketSockets::<u8>::new(&[]);
        let source = sockets.bind_udp(&lo, 1).unwrap();
        // Room for every datagram before the test reads them.
        let peer = || {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            socket2::SockRef::from(&s)
                .set_recv_buffer_size(4 << 20)
                .unwrap();
            s
        };
        let peers = [peer(), peer()];
        let mut expected: [Vec<Vec<u8>>; 2] = [vec![vec![0]], vec![vec![0]]];
        // Until the reactor has seen the socket writable, every send waits
        // in the outbox: one datagram each through `flush` first.
        for peer in &peers {
            sockets.send_datagram(source, peer.local_addr().unwrap(), &[0]);
        }
        sockets.flush().await;
        let mut n = 0u8;
        let mut datagram = |len: usize| {
            n = n.wrapping_add(1);
            vec![n; len]
        };
        let mut plan = Vec::new();
        for _ in 0..100 {
            plan.push((0, datagram(1200)));
        }
        plan.push((0, datagram(300)));
        plan.push((0, datagram(1200)));
        plan.push((0, datagram(0)));
        plan.push((0, datagram(1400)));
        for i in 0..40 {
            plan.push((i % 2, datagram(1000)));
        }
        for (peer, d) in plan {
            let destination = peers[peer].local_addr().unwrap();
            expected[peer].push(d.clone());
            if d.len() == 1400 {
                assert!(sockets.send_datagram(source, destination, &d));
                continue;
            }
            let t = Transmit {
                source,
                destination,
                transport: TransportProtocol::Udp,
                contents: Bytes::from(d),
            };
            sockets.send(1, t);
        }
        sockets.flush().await;
        for (peer, expected) in peers.iter().zip(expected) {
            let mut buf = [0u8; 2000];
            for (k, want) in expected.iter().enumerate() {
                let (len, from) = peer.recv_from(&mut buf).unwrap();
                assert_eq!(from, source);
                assert_eq!(&buf[..len], &want[..], "datagram {k}");
            }
        }
        assert_eq!(sockets.train_failures, 0, "the kernel took every train");
        // 100 of 1,200 bytes: 54 (the byte limit) and 46 with the 300;
        // then 20 alternating, which never make a train.
        assert_eq!(sockets.trains_sent, 2);
    }

    #[tokio::test]
    async fn gso_trains_read_back_with_gro_are_the_datagrams_they_were() {
        let lo = Network {
            name: "lo".into(),
            ip: IpAddr::from([127, 0, 0, 1]),
            network_type: NetworkType::Loopback,
        };
        let mut sender = PacketSockets::<u8>::new(&[]);
        let source = sender.bind_udp(&lo, 1).unwrap();
        let mut receiver = PacketSockets::<u8>::new(&[]);
        let destination = receiver.bind_udp(&lo, 2).unwrap();
        let gro = receiver.udp[0].gro;
        // The reactor learns the socket is writable with a first datagram.
        sender.send_datagram(source, destination, &[0]);
        sender.flush().await;
        let mut expected: Vec<Vec<u8>> = vec![vec![0]];
        let mut n = 0u8;
        // Trains of 1,200-byte datagrams, each ended by a shorter one, and
        // datagrams sent alone between them.
        for round in 0..6 {
            for _ in 0..(10 + round * 7) {
                n = n.wrapping_add(1);
                expected.push(vec![n; 1200]);
            }
            n = n.wrapping_add(1);
            expected.push(vec![n; 100 + round]);
        }
        for d in &expected[1..] {
            sender.send(
                1,
                Transmit {
                    source,
                    destination,
                    transport: TransportProtocol::Udp,
                    contents: Bytes::from(d.clone()),
                },
            );
        }
        sender.flush().await;
        assert!(sender.trains_sent > 0);
        // Keep every third datagram, modified in place; look at the rest only.
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut kept: Vec<(usize, Bytes)> = Vec::new();
        while got.len() < expected.len() {
            let Wake::Udp(i) = tokio::time::timeout(Duration::from_secs(5), receiver.wait(None))
                .await
                .expect("the datagrams arrive")
            else {
                panic!("only UDP here");
            };
            receiver.read_udp(i, |mut d| {
                assert_eq!((d.tag, d.source), (2, source));
                got.push(d.data().to_vec());
                if got.len() % 3 == 0 {
                    let len = d.data().len();
                    d.data()[0] ^= 0xff;
                    kept.push((got.len() - 1, d.keep(0..len)));
                }
            });
        }
        assert_eq!(got.len(), expected.len());
        eprintln!(
            "GRO {gro}: {} reads held several datagrams",
            receiver.gro_batches
        );
        if gro {
            assert!(receiver.gro_batches > 0, "the trains arrived whole");
        }
        for (k, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(g, e, "datagram {k} (GRO {gro})");
        }
        for (k, b) in &kept {
            let mut want = expected[*k].clone();
            want[0] ^= 0xff;
            assert_eq!(&b[..], &want[..], "kept datagram {k}");
        }
    }

    #[tokio::test]
    async fn kept_datagrams_stay_intact_while_the_pool_is_reused() {
        let lo = Network {
            name: "lo".into(),
            ip: IpAddr::from([127, 0, 0, 1]),
            network_type: NetworkType::Loopback,
        };
        let mut sockets = PacketSockets::<u8>::new(&[]);
        let addr = sockets.bind_udp(&lo, 7).unwrap();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut kept = Vec::new();
        // Enough datagrams to run through several pools.
        let total = 3 * RECV_POOL / 1000 + 5;
        let mut sent = 0usize;
        while kept.len() < total {
            while sent < total && sent < kept.len() + 32 {
                peer.send_to(&[(sent % 251) as u8; 1000], addr).unwrap();
                sent += 1;
            }
            let Wake::Udp(i) = sockets.wait(None).await else {
                panic!("only UDP here");
            };
            sockets.read_udp(i, |mut d| {
                assert_eq!((d.tag, d.source), (7, peer.local_addr().unwrap()));
                d.data()[0] ^= 0xff; // modified in place, then kept
                kept.push(d.keep(0..1000));
            });
        }
        for (n, datagram) in kept.iter().enumerate() {
            let b = (n % 251) as u8;
            assert_eq!(datagram[0], b ^ 0xff, "datagram {n}");
            assert!(datagram[1..].iter().all(|&x| x == b), "datagram {n}");
        }
    }

    #[test]
    fn only_unbound_addresses_are_new() {
        let net = |ip: &str| Network {
            name: "eth0".into(),
            ip: ip.parse().unwrap(),
            network_type: NetworkType::Ethernet,
        };
        let current = vec![net("10.0.0.1"), net("10.0.0.2"), net("2001:db8::1")];
        let bound = [IpAddr::from([10, 0, 0, 1])];
        let new: Vec<_> = unbound_networks(&current, bound.iter().copied())
            .into_iter()
            .map(|n| n.ip.to_string())
            .collect();
        assert_eq!(new, vec!["10.0.0.2", "2001:db8::1"]);
        assert!(unbound_networks(&current[..1], bound.iter().copied()).is_empty());
    }
}
