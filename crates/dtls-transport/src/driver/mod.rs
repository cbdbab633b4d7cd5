//! The tokio driver: UDP sockets and timers pumping one [`TransportController`].
//!
//! [`AsyncTransportController::new`] lists the machine's networks through a
//! [`NetworkFilter`] and spawns **one task** that owns the controller and
//! every socket. [`AsyncTransportController`] and the
//! [`TransportHandle`]s it hands out are cheap-to-clone handles to that task;
//! the task stops when [`AsyncTransportController::close`] is called or the
//! last handle is dropped.
//!
//! The task runs the loop documented on [`TransportController`] with
//! [`ice::driver::PacketSockets`], the I/O half every driver in this stack
//! shares (the ICE driver's too), so both drivers gather, read and write the
//! same way:
//!
//! 1. if [`TransportController::poll_timeout`] is due,
//!    [`TransportController::handle_timeout`];
//! 2. bind sockets for every [`TransportController::poll_gather`] request (one
//!    UDP socket per selected network and component, and with
//!    [`DriverConfig::tcp`] one ICE-TCP listener), send every
//!    [`TransportController::poll_component_transmit`] (UDP at once, TCP
//!    frames onto their connection, opened for an active candidate or a TURN
//!    server reached over TCP), and route every
//!    [`TransportController::poll_event`]: application data and media to the
//!    queues of their transport, the rest to
//!    [`AsyncTransportController::next_event`];
//! 3. `tokio::select!` over a command from a handle and
//!    [`PacketSockets::wait`](ice::driver::PacketSockets::wait): a readable
//!    socket (at most [`ice::driver::READ_BUDGET`] datagrams per wake-up), a
//!    TCP frame, `poll_timeout`, or the network monitor's tick
//!    ([`DriverConfig::network_monitor`]: new addresses get sockets for every
//!    component that has gathered).
//!
//! SRTP lives in the sans-IO controller (see [`TransportController`]); the
//! task only moves bytes. [`TransportHandle::send_rtp`] and
//! [`TransportHandle::send_rtcp`] take plain RTP/RTCP as [`Bytes`] (moved to
//! the task, not copied), which the controller protects into the task's
//! buffer, written to the socket at once; each datagram is read into the
//! task's buffer and handed to
//! [`TransportController::handle_receive_in_place`] (TCP frames to
//! [`TransportController::handle_stream_frame_in_place`]), which decrypts
//! media there (authenticated and replay-checked) before
//! [`TransportHandle::recv_media`] gets a copy, and packets that fail are
//! dropped and counted ([`TransportHandle::srtp_errors`]).
//!
//! Every queue is bounded: commands wait for room; received data, media and
//! events beyond their queues are dropped and counted, as a socket buffer
//! would, so memory stays bounded when the application does not keep up. The
//! connection state is also published on a `watch` channel, so
//! [`AsyncTransportController::state`] never lags behind a dropped event.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ice::driver::PacketSockets;
use ice::network::{self, NetworkFilter};
use ice::{Candidate, Credentials};
use tokio::sync::{mpsc, oneshot, watch};

use crate::certificate::Fingerprint;
use crate::controller::{
    ControllerConfig, ControllerEvent, PeerConnectionState, TransportController,
};
use crate::dtls::DtlsRole;
use crate::error::Error;

/// Largest datagram the driver reads (the UDP maximum).
const MAX_DATAGRAM: usize = 65_535;

/// Pending commands from handles; senders wait when it is full.
const COMMAND_QUEUE: usize = 256;

mod task;
use task::Driver;

/// Configuration of an [`AsyncTransportController`].
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// The certificate and the ICE configuration every transport uses (role,
    /// STUN/TURN servers: none by default, so nothing leaves the machine
    /// unless configured).
    pub controller: ControllerConfig,
    /// Which local addresses get sockets. The default takes every
    /// non-loopback address and falls back to loopback when nothing else
    /// exists; tests use `NetworkFilter::only(&[127.0.0.1])`.
    pub networks: NetworkFilter,
    /// Events queued for [`AsyncTransportController::next_event`]; beyond it
    /// they are dropped and counted.
    pub event_queue: usize,
    /// Per transport: received application messages, and separately received
    /// media packets, queued for the application; beyond it they are dropped
    /// and counted.
    pub recv_queue: usize,
    /// Also gather ICE-TCP candidates (RFC 6544): one TCP listener per
    /// network and component (passive candidate) and an active candidate on
    /// the same address. Off by default.
    pub tcp: bool,
    /// How often the networks are listed again (libwebrtc's network
    /// monitor): addresses that appeared since get sockets for every
    /// component that has gathered, and so candidates; addresses that went
    /// away lose their sockets and their pairs fail at once. `None` turns it
    /// off. Default 1 s.
    pub network_monitor: Option<Duration>,
}

impl DriverConfig {
    /// `controller` on the default networks with default queue sizes.
    pub fn new(controller: ControllerConfig) -> DriverConfig {
        DriverConfig {
            controller,
            networks: NetworkFilter::default(),
            event_queue: 1024,
            recv_queue: 1024,
            tcp: false,
            network_monitor: Some(Duration::from_secs(1)),
        }
    }
}

/// An unprotected RTP or RTCP packet received on a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPacket {
    /// RTCP (true) or RTP (false), by RFC 5761's payload-type rule.
    pub rtcp: bool,
    /// The packet, SRTP/SRTCP protection removed.
    pub packet: Bytes,
}

type Reply<T> = oneshot::Sender<Result<T, Error>>;

enum Command {
    AddTransport {
        name: String,
        role: DtlsRole,
        rtcp_mux: bool,
        reply: Reply<TransportHandle>,
    },
    StartGathering(oneshot::Sender<()>),
    SetRemoteCredentials(String, Credentials, Reply<()>),
    AddRemoteCandidate(String, Candidate, Reply<()>),
    EndOfRemoteCandidates(String, Reply<()>),
    SetRemoteFingerprints(String, Vec<Fingerprint>, Reply<()>),
    SendData(usize, Bytes, Reply<()>),
    /// Fire and forget: the handle checked what it can (length, DTLS-SRTP
    /// ready); what fails in the task is counted in `send_errors`.
    SendMedia {
        transport: usize,
        rtcp: bool,
        packet: Bytes,
    },
    Close(oneshot::Sender<()>),
}

/// Counters and receive queues of one transport, shared by its handles and the task.
#[derive(Debug)]
struct TransportShared {
    data: tokio::sync::Mutex<mpsc::Receiver<Bytes>>,
    media: tokio::sync::Mutex<mpsc::Receiver<MediaPacket>>,
    dropped: AtomicU64,
    srtp_errors: AtomicU64,
    send_errors: AtomicU64,
    /// [`MediaReady`] of the component that sends RTP, and of the one that
    /// sends RTCP (the same without rtcp-mux off), as the task last saw them.
    rtp_ready: AtomicU8,
    rtcp_ready: AtomicU8,
}

/// Whether a component can send media (in `TransportShared::*_ready`).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum MediaReady {
    /// DTLS has not verified the peer (or failed, or closed).
    NotConnected = 0,
    /// DTLS verified the peer but negotiated no SRTP profile.
    NoSrtp = 1,
    /// SRTP keys are in place.
    Ready = 2,
}

impl MediaReady {
    fn load(cell: &AtomicU8) -> MediaReady {
        match cell.load(Ordering::Acquire) {
            2 => MediaReady::Ready,
            1 => MediaReady::NoSrtp,
            _ => MediaReady::NotConnected,
        }
    }
}

#[derive(Debug)]
struct TransportInner {
    id: usize,
    name: String,
    credentials: Credentials,
    commands: mpsc::Sender<Command>,
    shared: Arc<TransportShared>,
}

/// One transport of an [`AsyncTransportController`] (a BUNDLE group or an
/// m-line): send and receive application data over its DTLS, and RTP/RTCP
/// over its SRTP. Clones share the transport.
#[derive(Debug, Clone)]
pub struct TransportHandle {
    inner: Arc<TransportInner>,
}

impl TransportHandle {
    /// The transport name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Our ICE credentials for this transport, to signal to the peer.
    pub fn local_credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    async fn command(&self, make: impl FnOnce(Reply<()>) -> Command) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .commands
            .send(make(tx))
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Sends one application message (SCTP) to the verified peer over DTLS.
    /// `Err(Error::NotConnected)` before DTLS has verified the peer.
    pub async fn send_data(&self, data: &[u8]) -> Result<(), Error> {
        let id = self.inner.id;
        let data = Bytes::copy_from_slice(data);
        self.command(|reply| Command::SendData(id, data, reply))
            .await
    }

    /// Receives one application message from the verified peer. Cancel-safe;
    /// `Err(Error::Closed)` once the task has stopped and the queue is empty.
    pub async fn recv_data(&self) -> Result<Bytes, Error> {
        let mut rx = self.inner.shared.data.lock().await;
        rx.recv().await.ok_or(Error::Closed)
    }

    /// Queues a plain packet for the task, which protects it into its own
    /// buffer and writes it to the socket at once. No reply is awaited: the
    /// checks that can fail are made here, and anything SRTP refuses later
    /// (an SSRC table full, a key used up) is counted in
    /// [`send_errors`](Self::send_errors).
    async fn send_media(&self, rtcp: bool, packet: Bytes) -> Result<(), Error> {
        // RTP's fixed header, or RTCP's common header plus the sender SSRC.
        let min = if rtcp { 8 } else { 12 };
        if packet.len() < min {
            return Err(Error::PacketTooShort);
        }
        let shared = &self.inner.shared;
        let ready = if rtcp {
            &shared.rtcp_ready
        } else {
            &shared.rtp_ready
        };
        match MediaReady::load(ready) {
            MediaReady::NotConnected => return Err(Error::NotConnected),
            MediaReady::NoSrtp => return Err(Error::NoSrtpProfile),
            MediaReady::Ready => {}
        }
        let command = Command::SendMedia {
            transport: self.inner.id,
            rtcp,
            packet,
        };
        self.inner
            .commands
            .send(command)
            .await
            .map_err(|_| Error::Closed)
    }

    /// Protects a plain RTP packet with the transport's DTLS-SRTP keys and
    /// sends it along ICE's route. The packet moves to the task as it is
    /// (a `Vec<u8>` or `Bytes` without a copy; pass
    /// `Bytes::copy_from_slice(&packet)` for a borrowed one). `Err(Error::NotConnected)` before DTLS has
    /// verified the peer, `Err(Error::NoSrtpProfile)` if no SRTP profile was
    /// negotiated, `Err(Error::PacketTooShort)` for less than an RTP header.
    /// Returns once the packet is queued for the task (waiting only when its
    /// queue is full), without a round trip per packet.
    pub async fn send_rtp(&self, packet: impl Into<Bytes>) -> Result<(), Error> {
        self.send_media(false, packet.into()).await
    }

    /// Protects a plain RTCP packet (SRTCP) and sends it, on the RTCP
    /// component when the transport has one. Errors as for
    /// [`TransportHandle::send_rtp`].
    pub async fn send_rtcp(&self, packet: impl Into<Bytes>) -> Result<(), Error> {
        self.send_media(true, packet.into()).await
    }

    /// Receives one RTP or RTCP packet, already unprotected (authenticated,
    /// replay-checked). Cancel-safe; `Err(Error::Closed)` once the task has
    /// stopped and the queue is empty.
    pub async fn recv_media(&self) -> Result<MediaPacket, Error> {
        let mut rx = self.inner.shared.media.lock().await;
        rx.recv().await.ok_or(Error::Closed)
    }

    /// Received messages and media packets dropped because their queue was full.
    pub fn dropped(&self) -> u64 {
        self.inner.shared.dropped.load(Ordering::Relaxed)
    }

    /// Received media packets dropped because SRTP/SRTCP refused them
    /// (authentication failed, replayed, malformed, or no keys yet).
    pub fn srtp_errors(&self) -> u64 {
        self.inner.shared.srtp_errors.load(Ordering::Relaxed)
    }

    /// Media packets queued by [`send_rtp`](Self::send_rtp) /
    /// [`send_rtcp`](Self::send_rtcp) that the task could not send (SRTP
    /// refused them, or the transport failed in between).
    pub fn send_errors(&self) -> u64 {
        self.inner.shared.send_errors.load(Ordering::Relaxed)
    }
}

/// State shared by the controller's handles and the task.
#[derive(Debug)]
struct Shared {
    local_fingerprint: Fingerprint,
    /// The first DTLS failure, for [`AsyncTransportController::connected`].
    failure: Mutex<Option<Error>>,
    dropped_events: AtomicU64,
}

#[derive(Debug)]
struct Handle {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
    events: tokio::sync::Mutex<mpsc::Receiver<ControllerEvent>>,
    state: watch::Receiver<PeerConnectionState>,
}

/// A [`TransportController`] on real UDP sockets: a handle to the task that
/// drives it. Clones share the same controller; the task stops when
/// [`AsyncTransportController::close`] is called or the last handle (this or
/// a [`TransportHandle`]) is dropped.
///
/// Two controllers connecting on 127.0.0.1, one transport each, signalling
/// through the handles (the application's signalling channel in real use):
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use std::time::Duration;
/// use dtls_transport::certificate::{Certificate, KeyType};
/// use dtls_transport::controller::{ControllerConfig, ControllerEvent};
/// use dtls_transport::driver::{AsyncTransportController, DriverConfig};
/// use dtls_transport::dtls::DtlsRole;
/// use ice::network::NetworkFilter;
/// use ice::{IceConfig, IceRole};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dtls_transport::Error> {
/// let config = |role| {
///     let certificate = Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400))?;
///     let ice = IceConfig { role, ..Default::default() };
///     let mut config = DriverConfig::new(ControllerConfig::new(certificate, ice));
///     config.networks = NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]);
///     Ok::<_, dtls_transport::Error>(config)
/// };
/// let a = AsyncTransportController::new(config(IceRole::Controlling)?)?;
/// let b = AsyncTransportController::new(config(IceRole::Controlled)?)?;
/// let ta = a.add_transport("0", DtlsRole::Client).await?;
/// let tb = b.add_transport("0", DtlsRole::Server).await?;
///
/// // Signalling: fingerprints and credentials, then candidates by transport name.
/// a.set_remote_fingerprint("0", b.local_fingerprint()).await?;
/// b.set_remote_fingerprint("0", a.local_fingerprint()).await?;
/// a.set_remote_credentials("0", tb.local_credentials().clone()).await?;
/// b.set_remote_credentials("0", ta.local_credentials().clone()).await?;
/// a.start_gathering().await?;
/// b.start_gathering().await?;
/// for (from, to) in [(&a, &b), (&b, &a)] {
///     while let Some(event) = from.next_event().await {
///         match event {
///             ControllerEvent::Candidate { transport, candidate } => {
///                 to.add_remote_candidate(&transport, candidate).await?
///             }
///             ControllerEvent::EndOfCandidates { transport } => {
///                 to.end_of_remote_candidates(&transport).await?;
///                 break;
///             }
///             _ => {}
///         }
///     }
/// }
///
/// // ICE, then DTLS with both fingerprints verified.
/// a.connected().await?;
/// b.connected().await?;
/// ta.send_data(b"hello over DTLS").await?;
/// assert_eq!(&tb.recv_data().await?[..], b"hello over DTLS");
/// // Plain RTP in, SRTP on the wire, plain RTP out.
/// let rtp = [0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 42, 0xde, 0xad];
/// tb.send_rtp(rtp.to_vec()).await?;
/// assert_eq!(&ta.recv_media().await?.packet[..], &rtp[..]);
/// a.close().await?;
/// b.close().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AsyncTransportController {
    inner: Arc<Handle>,
}

impl AsyncTransportController {
    /// Lists the networks `config.networks` selects and spawns the task that
    /// drives a new [`TransportController`]. Sockets are bound when gathering
    /// starts ([`AsyncTransportController::start_gathering`]), one per
    /// network for each transport component.
    ///
    /// Must be called inside a tokio runtime (`Err(Error::Io(Other))`
    /// otherwise); `Err(Error::Io(AddrNotAvailable))` when the filter selects
    /// no address at all.
    pub fn new(config: DriverConfig) -> Result<AsyncTransportController, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            tracing::error!("AsyncTransportController::new called outside a tokio runtime");
            Error::Io(io::ErrorKind::Other)
        })?;
        let networks = network::enumerate(&config.networks).map_err(|e| Error::Io(e.kind()))?;
        if networks.is_empty() {
            tracing::error!("the network filter selects no local address");
            return Err(Error::Io(io::ErrorKind::AddrNotAvailable));
        }
        let _guard = runtime.enter();
        let mut sockets = PacketSockets::new(&config.controller.ice.turn_servers);
        if let Some(period) = config.network_monitor {
            sockets.monitor_networks(period);
        }
        let controller = TransportController::new(config.controller);
        let shared = Arc::new(Shared {
            local_fingerprint: controller.local_fingerprint(),
            failure: Mutex::new(None),
            dropped_events: AtomicU64::new(0),
        });
        let (command_tx, command_rx) = mpsc::channel(COMMAND_QUEUE);
        let (event_tx, event_rx) = mpsc::channel(config.event_queue.max(1));
        let (state_tx, state_rx) = watch::channel(controller.state());
        let driver = Driver {
            controller,
            shared: shared.clone(),
            commands: command_rx,
            weak_commands: command_tx.downgrade(),
            events: event_tx,
            state: state_tx,
            networks,
            filter: config.networks.clone(),
            tcp: config.tcp,
            recv_queue: config.recv_queue.max(1),
            transports: Vec::new(),
            by_name: HashMap::new(),
            by_id: HashMap::new(),
            sockets,
            gathered: Vec::new(),
            out: vec![0; MAX_DATAGRAM + 32],
            close_reply: None,
            stopping: false,
            warned_events: false,
        };
        runtime.spawn(driver.run());
        Ok(AsyncTransportController {
            inner: Arc::new(Handle {
                shared,
                commands: command_tx,
                events: tokio::sync::Mutex::new(event_rx),
                state: state_rx,
            }),
        })
    }

    /// Our certificate's fingerprint, for our descriptions.
    pub fn local_fingerprint(&self) -> Fingerprint {
        self.inner.shared.local_fingerprint
    }

    /// The combined connection state now.
    pub fn state(&self) -> PeerConnectionState {
        *self.inner.state.borrow()
    }

    /// Events dropped because the event queue was full.
    pub fn dropped_events(&self) -> u64 {
        self.inner.shared.dropped_events.load(Ordering::Relaxed)
    }

    async fn command<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .commands
            .send(make(tx))
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    async fn add(
        &self,
        name: &str,
        role: DtlsRole,
        rtcp_mux: bool,
    ) -> Result<TransportHandle, Error> {
        let name = name.to_string();
        self.command(|reply| Command::AddTransport {
            name,
            role,
            rtcp_mux,
            reply,
        })
        .await
    }

    /// Creates the transport `name` with rtcp-mux, DTLS in `role` (from the
    /// `a=setup` negotiation, [`DtlsRole::from_setup`]). If gathering has
    /// started, it gathers at once. Adding an existing name returns a handle
    /// to the existing transport.
    pub async fn add_transport(
        &self,
        name: &str,
        role: DtlsRole,
    ) -> Result<TransportHandle, Error> {
        self.add(name, role, true).await
    }

    /// Creates the transport `name` without rtcp-mux: RTCP gets its own ICE
    /// component (2), DTLS handshake and SRTCP keys.
    pub async fn add_transport_without_rtcp_mux(
        &self,
        name: &str,
        role: DtlsRole,
    ) -> Result<TransportHandle, Error> {
        self.add(name, role, false).await
    }

    /// Starts gathering on every transport and on those added later
    /// ([`TransportController::start_gathering`]): candidates arrive as
    /// [`ControllerEvent::Candidate`] tagged with their transport name, then
    /// [`ControllerEvent::EndOfCandidates`] per transport. The sockets of the
    /// transports that exist now are bound when this returns.
    pub async fn start_gathering(&self) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .commands
            .send(Command::StartGathering(tx))
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)
    }

    /// Sets the peer's ICE credentials for transport `name`.
    pub async fn set_remote_credentials(
        &self,
        name: &str,
        credentials: Credentials,
    ) -> Result<(), Error> {
        let name = name.to_string();
        self.command(|r| Command::SetRemoteCredentials(name, credentials, r))
            .await
    }

    /// Adds the peer's candidate for transport `name` (on the component the
    /// candidate names); the ICE agent's verdict is returned.
    pub async fn add_remote_candidate(
        &self,
        name: &str,
        candidate: Candidate,
    ) -> Result<(), Error> {
        let name = name.to_string();
        self.command(|r| Command::AddRemoteCandidate(name, candidate, r))
            .await
    }

    /// The peer has signalled all its candidates for transport `name`.
    pub async fn end_of_remote_candidates(&self, name: &str) -> Result<(), Error> {
        let name = name.to_string();
        self.command(|r| Command::EndOfRemoteCandidates(name, r))
            .await
    }

    /// Sets the peer's certificate fingerprint for transport `name` (from its
    /// description); DTLS reports connected only if the peer's certificate matches.
    pub async fn set_remote_fingerprint(
        &self,
        name: &str,
        fingerprint: Fingerprint,
    ) -> Result<(), Error> {
        self.set_remote_fingerprints(name, &[fingerprint]).await
    }

    /// Sets every fingerprint of the peer's section for transport `name`
    /// (see [`Fingerprint::matches_any`]).
    pub async fn set_remote_fingerprints(
        &self,
        name: &str,
        fingerprints: &[Fingerprint],
    ) -> Result<(), Error> {
        let name = name.to_string();
        let fingerprints = fingerprints.to_vec();
        self.command(|r| Command::SetRemoteFingerprints(name, fingerprints, r))
            .await
    }

    /// The next event (candidates, gathering, ICE and connection states, DTLS
    /// connected/failed); `None` once the task has stopped and the queue is
    /// empty. Application data and media do not come here but to their
    /// transport's [`TransportHandle`]. Cancel-safe.
    pub async fn next_event(&self) -> Option<ControllerEvent> {
        self.inner.events.lock().await.recv().await
    }

    /// The next event if one is queued now.
    pub fn try_next_event(&self) -> Option<ControllerEvent> {
        self.inner.events.try_lock().ok()?.try_recv().ok()
    }

    /// Waits until the connection state satisfies `accept`, and returns it.
    /// `Err(Error::Closed)` if the task stops first.
    pub async fn wait_for_state(
        &self,
        accept: impl FnMut(PeerConnectionState) -> bool,
    ) -> Result<PeerConnectionState, Error> {
        ice::driver::wait_for_watched(&self.inner.state, accept)
            .await
            .ok_or(Error::Closed)
    }

    /// Resolves when the connection state is Connected (every transport's ICE
    /// connected and DTLS verified). On Failed it returns the first DTLS
    /// failure (such as [`Error::FingerprintMismatch`]), or
    /// `Err(Error::NotConnected)` when ICE failed; `Err(Error::Closed)` when closed.
    pub async fn connected(&self) -> Result<(), Error> {
        use PeerConnectionState::*;
        match self
            .wait_for_state(|s| matches!(s, Connected | Failed | Closed))
            .await?
        {
            Connected => Ok(()),
            Failed => {
                let failure = self
                    .inner
                    .shared
                    .failure
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                Err(failure.unwrap_or(Error::NotConnected))
            }
            _ => Err(Error::Closed),
        }
    }

    /// Closes DTLS (close_notify) and ICE on every transport and stops the
    /// task; returns when the sockets are closed. Queued data and events stay
    /// readable. Closing twice is fine.
    pub async fn close(&self) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        if self.inner.commands.send(Command::Close(tx)).await.is_err() {
            return Ok(()); // already stopped
        }
        let _ = rx.await;
        Ok(())
    }
}
