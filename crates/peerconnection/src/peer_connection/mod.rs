//! The async `PeerConnection` on tokio: a thin driver over the sans-IO
//! [`Session`].
//!
//! [`PeerConnectionFactory::create_peer_connection`] makes the certificate
//! (off the caller's task, as the seed's identity store does on the worker
//! thread), resolves the ICE servers, enumerates the networks and spawns
//! **one task per connection**. The task owns the [`Session`] and the
//! sockets ([`PacketSockets`], shared with the lower drivers): it binds what
//! the session asks for, moves datagrams both ways, fires its timers and
//! forwards its [`SessionEvent`]s to [`PeerConnectionEvents`]. Every
//! [`PeerConnection`] method is one message to that task and one reply; no
//! lock is held across an await and no callback is kept, so dropping every
//! handle (or [`PeerConnection::close`]) ends the task.
//!
//! ```no_run
//! # async fn demo() -> Result<(), peerconnection::Error> {
//! use peerconnection::peer_connection::PeerConnectionFactory;
//! use peerconnection::RtcConfiguration;
//! use peerconnection::media_channels::data::DataChannelInit;
//!
//! let factory = PeerConnectionFactory::new();
//! let (pc, mut events) = factory.create_peer_connection(RtcConfiguration::default()).await?;
//! let chat = pc.create_data_channel(DataChannelInit::new("chat")).await?;
//! let offer = pc.create_offer().await?;
//! pc.set_local_description(offer.clone()).await?;
//! // … send `offer.to_sdp()` to the peer, apply its answer with
//! // set_remote_description, trickle candidates from `events` …
//! while let Some(event) = events.recv().await {
//!     println!("{event:?}");
//! }
//! # let _ = chat;
//! # Ok(()) }
//! ```

mod task;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use media_channels::data::{DataChannelInit, SctpConfig};
use media_channels::sdp::dtls_transport::certificate::{Certificate, KeyType, DEFAULT_VALIDITY};
use media_channels::sdp::dtls_transport::controller::PeerConnectionState;
use media_channels::sdp::dtls_transport::ice::allocator::TurnServerConfig;
use media_channels::sdp::dtls_transport::ice::driver::PacketSockets;
use media_channels::sdp::dtls_transport::ice::network::{self, NetworkFilter};
use media_channels::sdp::dtls_transport::ice::port::TurnTlsConfig;
use media_channels::sdp::dtls_transport::ice::CandidateFilter;
use media_channels::sdp::model::{Codec, Direction, MediaType};
use media_channels::sdp::{JsepIceCandidate, JsepSessionDescription, SdpType};

use crate::configuration::{
    IceServerHost, IceServerScheme, IceServerTransport, IceTransportPolicy, RtcConfiguration,
};
use crate::error::Error;
use crate::session::{DataChannelId, Session, SessionConfig, SessionEvent, TransceiverId};
use crate::signaling::SignalingState;
use crate::stats::RtcStatsReport;

/// How often the driver lists the networks again: an address that went
/// away closes its sockets and fails its pairs within about this long.
const NETWORK_MONITOR: Duration = Duration::from_secs(1);

/// One call into the task: runs with the session and the current time.
type Call = Box<dyn FnOnce(&mut Session, Instant) + Send>;

/// What a handle sends its task.
enum Command {
    /// Any call on the session.
    Call(Call),
    /// A data-channel message ([`PeerConnection::queue_data`]): the hot
    /// path, so no closure is boxed per message.
    Data {
        channel: DataChannelId,
        data: Bytes,
        binary: bool,
    },
}

impl Command {
    /// Runs the command on the session.
    fn run(self, session: &mut Session, now: Instant) {
        match self {
            Command::Call(call) => call(session, now),
            Command::Data {
                channel,
                data,
                binary,
            } => {
                if let Err(e) = session.send_data(now, channel, &data, binary) {
                    session.report_data_error(channel, e);
                }
            }
        }
    }
}

/// Makes [`PeerConnection`]s (libwebrtc's PeerConnectionFactory): the
/// settings every connection shares.
#[derive(Debug, Clone)]
pub struct PeerConnectionFactory {
    networks: NetworkFilter,
    event_queue: usize,
    sctp: SctpConfig,
    turn_tls: TurnTlsOptions,
}

/// How connections to `turns:` servers (TURN over TLS, RFC 8656 §3.1) check
/// the server's certificate, for every connection a factory makes
/// ([`PeerConnectionFactory::with_turn_tls`]).
///
/// By default the certificate must chain to one of the system's root CAs
/// (OpenSSL's default verify paths) and be for the URL's host (DNS name or
/// IP address; the name is sent as SNI).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnTlsOptions {
    /// More CA certificates to trust (PEM, each one or more certificates),
    /// for servers with a private CA or a self-signed certificate.
    pub extra_ca_pem: Vec<Vec<u8>>,
    /// Accept any certificate for any name: **no authentication of the TURN
    /// server**, only for self-signed test servers (the peer is still
    /// authenticated by ICE and DTLS). Default false.
    pub danger_accept_invalid_certificates: bool,
}

impl Default for PeerConnectionFactory {
    fn default() -> Self {
        PeerConnectionFactory::new()
    }
}

impl PeerConnectionFactory {
    /// Gathers on every usable network (libwebrtc's defaults: loopback only
    /// when nothing else exists).
    pub fn new() -> PeerConnectionFactory {
        PeerConnectionFactory {
            networks: NetworkFilter::default(),
            event_queue: 1024,
            sctp: SctpConfig::default(),
            turn_tls: TurnTlsOptions::default(),
        }
    }

    /// How `turns:` servers' certificates are checked (extra trusted CAs,
    /// or the explicit opt-out for test servers); verification against the
    /// system's roots by default.
    pub fn with_turn_tls(mut self, options: TurnTlsOptions) -> PeerConnectionFactory {
        self.turn_tls = options;
        self
    }

    /// Gathers only where `filter` allows (for example
    /// `NetworkFilter::only(&[127.0.0.1])` for tests and examples).
    pub fn with_network_filter(mut self, filter: NetworkFilter) -> PeerConnectionFactory {
        self.networks = filter;
        self
    }

    /// Data channel settings of every connection: our max-message-size
    /// (`a=max-message-size`, 256 KiB by default), the send buffer, the
    /// receive window, channel and retransmission limits.
    pub fn with_sctp_config(mut self, sctp: SctpConfig) -> PeerConnectionFactory {
        self.sctp = sctp;
        self
    }

    /// How many events wait for the application before the connection's
    /// task keeps them in its own (bounded) backlog; default 1024.
    pub fn with_event_queue(mut self, capacity: usize) -> PeerConnectionFactory {
        self.event_queue = capacity.max(1);
        self
    }

    /// A new connection for `config` and the stream of its events. Must be
    /// called inside a tokio runtime. The certificate is the configuration's
    /// first, or a new ECDSA P-256 one made on a blocking thread. ICE
    /// server host names are resolved here.
    pub async fn create_peer_connection(
        &self,
        config: RtcConfiguration,
    ) -> Result<(PeerConnection, PeerConnectionEvents), Error> {
        let servers = config.validate()?;
        config.check_certificates(SystemTime::now())?;
        let certificate = match config.certificates.first() {
            Some(c) => c.clone(),
            None => tokio::task::spawn_blocking(|| {
                Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)
            })
            .await
            .map_err(|_| Error::Closed)?
            .map_err(Error::Transport)?,
        };
        let mut session_config = SessionConfig::new(certificate);
        session_config.bundle_policy = config.bundle_policy.into();
        session_config.ice_candidate_pool_size = config.ice_candidate_pool_size;
        session_config.sctp = self.sctp.clone();
        if config.ice_transport_policy == IceTransportPolicy::Relay {
            session_config.ice.candidate_filter = CandidateFilter::RelayOnly;
        }
        for server in servers {
            let url = &server.url;
            let addr = resolve(&url.host, url.port).await.map_err(|reason| {
                Error::UnsupportedIceServer {
                    url: url.to_string(),
                    reason,
                }
            })?;
            match (url.scheme, url.transport) {
                (IceServerScheme::Stun, _) => session_config.ice.stun_servers.push(addr),
                (IceServerScheme::Turn, transport) => {
                    let (user, password) = (
                        server.username.as_deref().unwrap_or_default(),
                        server.credential.as_deref().unwrap_or_default(),
                    );
                    session_config.ice.turn_servers.push(match transport {
                        IceServerTransport::Udp => TurnServerConfig::udp(addr, user, password),
                        IceServerTransport::Tcp => TurnServerConfig::tcp(addr, user, password),
                    })
                }
                (IceServerScheme::Turns, IceServerTransport::Tcp) => {
                    let (user, password) = (
                        server.username.as_deref().unwrap_or_default(),
                        server.credential.as_deref().unwrap_or_default(),
                    );
                    let server_name = match &url.host {
                        IceServerHost::Domain(name) => name.clone(),
                        IceServerHost::Ip(ip) => ip.to_string(),
                    };
                    let tls = TurnTlsConfig {
                        server_name,
                        extra_ca_pem: self.turn_tls.extra_ca_pem.clone(),
                        danger_accept_invalid_certificates: self
                            .turn_tls
                            .danger_accept_invalid_certificates,
                    };
                    session_config
                        .ice
                        .turn_servers
                        .push(TurnServerConfig::tls(addr, tls, user, password))
                }
                _ => {
                    return Err(Error::UnsupportedIceServer {
                        url: url.to_string(),
                        reason: "the PeerConnection driver reaches STUN servers over UDP and \
                                 TURN servers over UDP, TCP or TLS (`stuns:` and TURN over \
                                 DTLS, `turns:…?transport=udp`, are not supported)"
                            .into(),
                    })
                }
            }
        }
        let networks = network::enumerate(&self.networks).map_err(|e| {
            Error::Transport(media_channels::sdp::dtls_transport::Error::Io(e.kind()))
        })?;
        let (commands, command_rx) = mpsc::channel::<Command>(64);
        let (event_tx, event_rx) = mpsc::channel(self.event_queue);
        // Connections to TURN servers over TCP carry STUN framing (RFC 8656
        // §3.1), inside TLS for `turns:`.
        let sockets = PacketSockets::new(&session_config.ice.turn_servers);
        let session = Session::new(session_config, Instant::now());
        let mut sockets = sockets;
        sockets.monitor_networks(NETWORK_MONITOR);
        let driver = task::Driver::new(
            session,
            sockets,
            networks,
            self.networks.clone(),
            command_rx,
            event_tx,
        );
        tokio::spawn(driver.run());
        Ok((
            PeerConnection { commands },
            PeerConnectionEvents { events: event_rx },
        ))
    }
}

/// Resolves an ICE server's host, IPv4 first.
async fn resolve(host: &IceServerHost, port: u16) -> Result<SocketAddr, String> {
    match host {
        IceServerHost::Ip(ip) => Ok(SocketAddr::new(*ip, port)),
        IceServerHost::Domain(name) => {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), port))
                .await
                .map_err(|e| format!("cannot resolve {name}: {e}"))?
                .collect();
            addrs
                .iter()
                .find(|a| matches!(a.ip(), IpAddr::V4(_)))
                .or(addrs.first())
                .copied()
                .ok_or_else(|| format!("{name} has no address"))
        }
    }
}

/// The events of one connection (W3C's event handlers as a stream).
#[derive(Debug)]
pub struct PeerConnectionEvents {
    events: mpsc::Receiver<SessionEvent>,
}

impl PeerConnectionEvents {
    /// The next event; `None` once the connection's task has ended.
    pub async fn recv(&mut self) -> Option<SessionEvent> {
        self.events.recv().await
    }
}

/// A WebRTC peer connection (W3C `RTCPeerConnection`), driven by its own
/// task. Cloning gives another handle to the same connection.
#[derive(Clone)]
pub struct PeerConnection {
    commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnection").finish_non_exhaustive()
    }
}

impl PeerConnection {
    /// Runs `f` on the task with the session; its result comes back.
    async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Session, Instant) -> R + Send + 'static,
    ) -> Result<R, Error> {
        let (reply, result) = oneshot::channel();
        let call: Call = Box::new(move |session, now| {
            let _ = reply.send(f(session, now));
        });
        self.commands
            .send(Command::Call(call))
            .await
            .map_err(|_| Error::Closed)?;
        result.await.map_err(|_| Error::Closed)
    }

    /// W3C `createOffer`.
    pub async fn create_offer(&self) -> Result<JsepSessionDescription, Error> {
        self.call(|s, _| s.create_offer()).await?
    }

    /// W3C `createAnswer`.
    pub async fn create_answer(&self) -> Result<JsepSessionDescription, Error> {
        self.call(|s, _| s.create_answer()).await?
    }

    /// W3C `setLocalDescription(description)`.
    pub async fn set_local_description(
        &self,
        description: JsepSessionDescription,
    ) -> Result<(), Error> {
        self.call(move |s, now| s.set_local_description(now, description))
            .await?
    }

    /// W3C `setLocalDescription()` without a description: an offer in
    /// stable or have-local-offer, an answer otherwise; returns it.
    pub async fn set_local_description_implicit(&self) -> Result<JsepSessionDescription, Error> {
        self.call(|s, now| {
            let description = match s.signaling_state() {
                SignalingState::Stable | SignalingState::HaveLocalOffer => s.create_offer()?,
                _ => s.create_answer()?,
            };
            s.set_local_description(now, description.clone())?;
            Ok(description)
        })
        .await?
    }

    /// W3C `setRemoteDescription`. A remote offer in have-local-offer
    /// first rolls our offer back (W3C's implicit rollback, for perfect
    /// negotiation).
    pub async fn set_remote_description(
        &self,
        description: JsepSessionDescription,
    ) -> Result<(), Error> {
        self.call(move |s, now| {
            if description.sdp_type() == SdpType::Offer
                && s.signaling_state() == SignalingState::HaveLocalOffer
            {
                let current = s
                    .local_description()
                    .map(JsepSessionDescription::to_description)
                    .ok_or(Error::NoOffer("local"))?;
                s.set_local_description(
                    now,
                    JsepSessionDescription::new(SdpType::Rollback, current),
                )?;
            }
            s.set_remote_description(now, description)
        })
        .await?
    }

    /// W3C `addIceCandidate`.
    pub async fn add_ice_candidate(&self, candidate: JsepIceCandidate) -> Result<(), Error> {
        self.call(move |s, now| s.add_ice_candidate(now, candidate))
            .await?
    }

    /// W3C `addIceCandidate` with an empty candidate: the peer finished
    /// gathering for section `mid` (every section when `None`).
    pub async fn end_of_remote_candidates(&self, mid: Option<String>) -> Result<(), Error> {
        self.call(move |s, now| s.end_of_remote_candidates(now, mid.as_deref()))
            .await?
    }

    /// W3C `restartIce`: the next offer restarts ICE (new credentials).
    pub async fn restart_ice(&self) -> Result<(), Error> {
        self.call(|s, _| s.restart_ice()).await
    }

    /// W3C `addTransceiver` (with a track when `direction` sends).
    pub async fn add_transceiver(
        &self,
        kind: MediaType,
        direction: Direction,
        track_id: &str,
        stream_ids: &[&str],
    ) -> Result<TransceiverId, Error> {
        let track_id = track_id.to_string();
        let stream_ids: Vec<String> = stream_ids.iter().map(|s| s.to_string()).collect();
        self.call(move |s, _| {
            let ids: Vec<&str> = stream_ids.iter().map(String::as_str).collect();
            s.add_transceiver(kind, direction, &track_id, &ids)
        })
        .await?
    }

    /// W3C `addTransceiver` with `sendEncodings: [{rid}, …]`: RID simulcast
    /// (see [`Session::add_transceiver_with_rids`]); feed each layer with
    /// [`send_frame_on_layer`](Self::send_frame_on_layer).
    pub async fn add_transceiver_with_rids(
        &self,
        kind: MediaType,
        direction: Direction,
        track_id: &str,
        stream_ids: &[&str],
        rids: &[&str],
    ) -> Result<TransceiverId, Error> {
        let track_id = track_id.to_string();
        let stream_ids: Vec<String> = stream_ids.iter().map(|s| s.to_string()).collect();
        let rids: Vec<String> = rids.iter().map(|s| s.to_string()).collect();
        self.call(move |s, _| {
            let ids: Vec<&str> = stream_ids.iter().map(String::as_str).collect();
            let rids: Vec<&str> = rids.iter().map(String::as_str).collect();
            s.add_transceiver_with_rids(kind, direction, &track_id, &ids, &rids)
        })
        .await?
    }

    /// W3C `addTrack`: reuses a transceiver of this kind that does not
    /// send yet (one a remote offer made), else adds a sendrecv one.
    pub async fn add_track(
        &self,
        kind: MediaType,
        track_id: &str,
        stream_ids: &[&str],
    ) -> Result<TransceiverId, Error> {
        let track_id = track_id.to_string();
        let stream_ids: Vec<String> = stream_ids.iter().map(|s| s.to_string()).collect();
        self.call(move |s, _| {
            let ids: Vec<&str> = stream_ids.iter().map(String::as_str).collect();
            s.add_track(kind, &track_id, &ids)
        })
        .await?
    }

    /// W3C `removeTrack`: the transceiver stops sending.
    pub async fn remove_track(&self, transceiver: TransceiverId) -> Result<(), Error> {
        self.call(move |s, _| s.remove_track(transceiver)).await?
    }

    /// W3C `RTCRtpTransceiver.direction = …`.
    pub async fn set_direction(
        &self,
        transceiver: TransceiverId,
        direction: Direction,
    ) -> Result<(), Error> {
        self.call(move |s, _| s.set_direction(transceiver, direction))
            .await?
    }

    /// W3C `RTCRtpTransceiver.setCodecPreferences`.
    pub async fn set_codec_preferences(
        &self,
        transceiver: TransceiverId,
        codecs: Vec<Codec>,
    ) -> Result<(), Error> {
        self.call(move |s, _| s.set_codec_preferences(transceiver, codecs))
            .await?
    }

    /// W3C `RTCRtpTransceiver.stop`.
    pub async fn stop_transceiver(&self, transceiver: TransceiverId) -> Result<(), Error> {
        self.call(move |s, _| s.stop_transceiver(transceiver))
            .await?
    }

    /// Every transceiver with its kind and, once negotiated, its mid.
    pub async fn transceivers(
        &self,
    ) -> Result<Vec<(TransceiverId, MediaType, Option<String>)>, Error> {
        self.call(|s, _| {
            s.transceivers()
                .map(|(id, kind)| (id, kind.clone(), s.transceiver_mid(id).map(str::to_string)))
                .collect()
        })
        .await
    }

    /// W3C `createDataChannel`.
    pub async fn create_data_channel(&self, init: DataChannelInit) -> Result<DataChannelId, Error> {
        self.call(move |s, now| s.create_data_channel(now, init))
            .await?
    }

    /// Sends a data channel message (W3C `RTCDataChannel.send`).
    pub async fn send_data(
        &self,
        channel: DataChannelId,
        data: Bytes,
        binary: bool,
    ) -> Result<(), Error> {
        self.call(move |s, now| s.send_data(now, channel, &data, binary))
            .await?
    }

    /// Queues a message without waiting for the connection's task to take
    /// it (W3C `send` is synchronous too): one message to the task and no
    /// reply, so a sender that keeps a window of bytes in flight pays one
    /// round trip per window (`buffered_amount`), not two per message. An
    /// error (the channel closed, a message over the peer's
    /// max-message-size, a full send buffer) comes back as
    /// [`SessionEvent::DataChannelError`] for that channel. Waits only when
    /// the task's command queue is full; `Err(Closed)` once the connection
    /// ended.
    pub async fn queue_data(
        &self,
        channel: DataChannelId,
        data: Bytes,
        binary: bool,
    ) -> Result<(), Error> {
        let command = Command::Data {
            channel,
            data,
            binary,
        };
        self.commands.send(command).await.map_err(|_| Error::Closed)
    }

    /// A data channel's `bufferedAmount`.
    pub async fn buffered_amount(&self, channel: DataChannelId) -> Result<usize, Error> {
        self.call(move |s, _| s.buffered_amount(channel)).await?
    }

    /// Sets a data channel's `bufferedAmountLowThreshold` (W3C): the
    /// [`SessionEvent::DataChannelBufferedAmountLow`] event fires when the
    /// buffered amount falls from above it to at or below it. With
    /// [`queue_data`](Self::queue_data), this is how a sender keeps a window
    /// full without polling [`buffered_amount`](Self::buffered_amount).
    pub async fn set_buffered_amount_low_threshold(
        &self,
        channel: DataChannelId,
        threshold: usize,
    ) -> Result<(), Error> {
        self.call(move |s, _| s.set_buffered_amount_low_threshold(channel, threshold))
            .await?
    }

    /// Closes a data channel.
    pub async fn close_data_channel(&self, channel: DataChannelId) -> Result<(), Error> {
        self.call(move |s, now| s.close_data_channel(now, channel))
            .await?
    }

    /// Sends an encoded frame on a transceiver.
    pub async fn send_frame(
        &self,
        transceiver: TransceiverId,
        rtp_timestamp: u32,
        frame: Bytes,
    ) -> Result<(), Error> {
        self.call(move |s, now| s.send_frame(now, transceiver, rtp_timestamp, &frame))
            .await?
    }

    /// Sends an encoded frame of RID simulcast layer `rid` (see
    /// [`Session::send_frame_on_layer`]).
    pub async fn send_frame_on_layer(
        &self,
        transceiver: TransceiverId,
        rid: &str,
        rtp_timestamp: u32,
        frame: Bytes,
    ) -> Result<(), Error> {
        let rid = rid.to_string();
        self.call(move |s, now| {
            s.send_frame_on_layer(now, transceiver, &rid, rtp_timestamp, &frame)
        })
        .await?
    }

    /// The streams a transceiver sends: each simulcast layer with its SSRC
    /// (see [`Session::send_layers`]).
    pub async fn send_layers(
        &self,
        transceiver: TransceiverId,
    ) -> Result<Vec<(Option<String>, u32)>, Error> {
        self.call(move |s, _| s.send_layers(transceiver)).await?
    }

    /// Asks the peer for a keyframe on a transceiver.
    pub async fn request_keyframe(&self, transceiver: TransceiverId) -> Result<(), Error> {
        self.call(move |s, now| s.request_keyframe(now, transceiver))
            .await?
    }

    /// W3C `getStats`.
    pub async fn get_stats(&self) -> Result<RtcStatsReport, Error> {
        self.call(|s, _| {
            let ms = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
            s.stats(ms)
        })
        .await
    }

    /// W3C `localDescription` (with the candidates gathered so far).
    pub async fn local_description(&self) -> Result<Option<JsepSessionDescription>, Error> {
        self.call(|s, _| s.local_description().cloned()).await
    }

    /// W3C `remoteDescription`.
    pub async fn remote_description(&self) -> Result<Option<JsepSessionDescription>, Error> {
        self.call(|s, _| s.remote_description().cloned()).await
    }

    /// W3C `signalingState`.
    pub async fn signaling_state(&self) -> Result<SignalingState, Error> {
        self.call(|s, _| s.signaling_state()).await
    }

    /// W3C `connectionState`.
    pub async fn connection_state(&self) -> Result<PeerConnectionState, Error> {
        self.call(|s, _| s.connection_state()).await
    }

    /// W3C `close`: DTLS close_notify, ICE stops, the task ends once that
    /// is sent. Closing a closed connection does nothing.
    pub async fn close(&self) {
        let _ = self.call(|s, now| s.close(now)).await;
    }
}
