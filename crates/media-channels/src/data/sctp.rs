//! [`SctpTransport`]: one sctp-proto association over DTLS application data,
//! carrying every data channel of a peer connection (libwebrtc's
//! `SctpTransport` + `DataChannelController`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sctp_proto::{
    Association, AssociationHandle, ClientConfig, DatagramEvent, Endpoint, EndpointConfig, Event,
    Payload, PayloadProtocolIdentifier as Ppi, ServerConfig, StreamEvent, TransportConfig,
};

use super::channel::{ppid_for, ChannelInfo, DataChannelInit, Entry, State, MAX_CHANNEL_ID};
use super::{DataChannelEvent, DtlsRole};
use crate::error::Error;

/// SCTP common header plus DATA chunk header: what an SCTP packet adds to
/// the largest fragment of user data.
const SCTP_DATA_OVERHEAD: u16 = 12 + 16;

/// Options of an [`SctpTransport`]. The defaults suit a browser peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SctpConfig {
    /// The largest message we accept, which we advertise as
    /// `a=max-message-size` (RFC 8841 §6). Default 256 KiB, as str0m and
    /// Firefox offer; 0 is taken as the default. A larger message from the
    /// peer ends the association on our side (sctp-proto closes it, without
    /// telling the peer).
    pub max_message_size: u32,
    /// The peer's `a=max-message-size`: the largest message
    /// [`SctpTransport::send`] accepts. 0 means the peer set no limit;
    /// the default, 65 536, is what RFC 8841 §6.1 assumes when the attribute
    /// is absent.
    pub remote_max_message_size: u32,
    /// Most data channels at once, ours and the peer's together (streams
    /// with data but no channel yet count too). Default 1024.
    pub max_channels: usize,
    /// Most bytes queued for sending (not yet acknowledged) across all
    /// channels; [`SctpTransport::send`] fails with
    /// [`Error::SendBufferFull`] past it. Default 16 MiB, libwebrtc's
    /// per-channel send buffer.
    pub max_buffered_amount: usize,
    /// Our SCTP receive window (a_rwnd): bytes of incoming messages held
    /// until the application polls them. Default 1 MiB; raised to at least
    /// `max_message_size` plus one packet.
    pub receive_window: u32,
    /// The largest SCTP packet handed to DTLS. Default 1191, libwebrtc's
    /// `kSctpMtu` (IPv6's 1280 less IPv6, UDP, DTLS with AES-GCM, and a TURN
    /// ChannelData header). At least 256.
    pub mtu: u16,
    /// Initial retransmission timeout (also INIT's and COOKIE-ECHO's).
    /// Default 500 ms; this and the next two are libwebrtc's dcsctp
    /// defaults (`DcSctpOptions`), where sctp-proto's own (RFC 4960: 3 s,
    /// 1 s, 60 s) recover far more slowly from loss.
    pub rto_initial: Duration,
    /// Smallest retransmission timeout, default 220 ms: above the peer's
    /// 200 ms delayed SACK.
    pub rto_min: Duration,
    /// Largest retransmission timeout (the back-off cap), default 800 ms.
    pub rto_max: Duration,
    /// Our SCTP port (`a=sctp-port`), default 5000.
    pub local_port: u16,
    /// The peer's SCTP port, default 5000.
    pub remote_port: u16,
}

impl Default for SctpConfig {
    fn default() -> Self {
        SctpConfig {
            max_message_size: 256 * 1024,
            remote_max_message_size: 65_536,
            max_channels: 1024,
            max_buffered_amount: 16 * 1024 * 1024,
            receive_window: 1024 * 1024,
            mtu: 1191,
            rto_initial: Duration::from_millis(500),
            rto_min: Duration::from_millis(220),
            rto_max: Duration::from_millis(800),
            local_port: 5000,
            remote_port: 5000,
        }
    }
}

impl SctpConfig {
    /// The configuration with its documented floors applied.
    fn normalized(mut self) -> SctpConfig {
        let default = SctpConfig::default();
        if self.max_message_size == 0 {
            self.max_message_size = default.max_message_size;
        }
        self.mtu = self.mtu.max(256);
        self.max_channels = self.max_channels.clamp(1, usize::from(MAX_CHANNEL_ID) + 1);
        let floor = self.max_message_size.saturating_add(u32::from(self.mtu));
        self.receive_window = self.receive_window.max(floor);
        self.rto_min = self.rto_min.max(Duration::from_millis(1));
        self.rto_max = self.rto_max.max(self.rto_min);
        self.rto_initial = self.rto_initial.clamp(self.rto_min, self.rto_max);
        if self.local_port == 0 {
            self.local_port = default.local_port;
        }
        if self.remote_port == 0 {
            self.remote_port = default.remote_port;
        }
        self
    }

    fn transport_config(&self) -> TransportConfig {
        TransportConfig::default()
            .with_max_receive_buffer_size(self.receive_window)
            .with_max_receive_message_size(self.max_message_size)
            .with_max_send_message_size(send_limit(self.remote_max_message_size))
            // WebRTC never gives up on INIT or DATA while ICE and DTLS hold
            // (str0m does the same): consent freshness ends a dead path.
            .with_max_init_retransmits(None)
            .with_max_data_retransmits(None)
            .with_rto_initial_ms(millis(self.rto_initial))
            .with_rto_min_ms(millis(self.rto_min))
            .with_rto_max_ms(millis(self.rto_max))
            .with_local_port(self.local_port)
            .with_remote_port(self.remote_port)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The peer's limit as sctp-proto takes it: 0 (unlimited) becomes `u32::MAX`.
fn send_limit(remote_max_message_size: u32) -> u32 {
    if remote_max_message_size == 0 {
        u32::MAX
    } else {
        remote_max_message_size
    }
}

/// Where the association stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No association yet.
    Idle,
    /// INIT sent or answered; not established.
    Connecting,
    /// Established: channels open and carry data.
    Established,
    /// Failed or ended; terminal.
    Closed,
}

/// One SCTP association over DTLS carrying every data channel of a peer
/// connection, sans-IO (RFC 8831).
///
/// Inputs: [`handle_receive`](Self::handle_receive) with the application
/// data DTLS decrypted, [`handle_timeout`](Self::handle_timeout), and the
/// commands [`connect`](Self::connect),
/// [`create_channel`](Self::create_channel), [`send`](Self::send),
/// [`close`](Self::close); outputs: [`poll_event`](Self::poll_event),
/// [`poll_transmit`](Self::poll_transmit) (packets for DTLS),
/// [`poll_timeout`](Self::poll_timeout). See [the module docs](super) for
/// the loop and for who sends INIT.
///
/// ```
/// use std::time::Instant;
/// use media_channels::data::{
///     DataChannelEvent, DataChannelInit, DtlsRole, SctpConfig, SctpTransport,
/// };
///
/// let mut now = Instant::now();
/// let mut a = SctpTransport::new(SctpConfig::default(), DtlsRole::Client);
/// let mut b = SctpTransport::new(SctpConfig::default(), DtlsRole::Server);
/// a.connect(now)?;
/// b.connect(now)?;
/// let id = a.create_channel(now, DataChannelInit::new("chat"))?;
///
/// let mut sent = false;
/// let mut got = None;
/// for _ in 0..100 {
///     // What one side gives DTLS, the other gets from DTLS.
///     while let Some(packet) = a.poll_transmit(now) {
///         b.handle_receive(now, &packet);
///     }
///     while let Some(packet) = b.poll_transmit(now) {
///         a.handle_receive(now, &packet);
///     }
///     while let Some(event) = a.poll_event() {
///         if let DataChannelEvent::ChannelOpen { id, .. } = event {
///             a.send_text(now, id, "hello")?;
///             sent = true;
///         }
///     }
///     while let Some(event) = b.poll_event() {
///         if let DataChannelEvent::Message { id, binary, data } = event {
///             got = Some((id, binary, data));
///         }
///     }
///     if got.is_some() {
///         break;
///     }
///     // Nothing in flight: jump to the earliest timer.
///     if let Some(t) = [a.poll_timeout(), b.poll_timeout()].into_iter().flatten().min() {
///         now = now.max(t);
///         a.handle_timeout(now);
///         b.handle_timeout(now);
///     }
/// }
/// assert!(sent);
/// let (rid, binary, data) = got.expect("message delivered");
/// assert_eq!((rid, binary, &data[..]), (id, false, &b"hello"[..]));
/// assert_eq!(id % 2, 0, "the DTLS client opens even ids");
/// # Ok::<(), media_channels::Error>(())
/// ```
///
/// # Known limits of sctp-proto 0.10
///
/// - `Endpoint::connect` starts the first INIT retransmission timer from
///   `Instant::now()`, not from our `now`: under virtual time the first
///   INIT retransmission is due relative to the wall clock (a simulation
///   that starts at `Instant::now()` sees the right deadline).
/// - Verification tags and initial TSNs come from `rand`'s thread RNG with
///   no hook to seed it (its `AssociationIdGenerator` trait is private), so
///   the packet bytes differ between runs; timing and delivery do not
///   depend on them (`tests/data_channels.rs` replays a lossy run exactly).
/// - When the peer breaks the protocol (a message over our
///   `max_message_size`, some malformed chunks) sctp-proto closes the
///   association without sending ABORT: we report
///   [`Error::SctpAssociationLost`], the peer learns only from DTLS or ICE.
pub struct SctpTransport {
    pub(super) config: SctpConfig,
    role: DtlsRole,
    transport_config: Arc<TransportConfig>,
    endpoint: Endpoint,
    pub(super) association: Option<(AssociationHandle, Association)>,
    phase: Phase,
    /// Every stream we know: channels and unconfigured streams.
    pub(super) channels: BTreeMap<u16, Entry>,
    /// Ids whose stream reset has not completed; not reused until it has.
    pub(super) resetting: BTreeSet<u16>,
    /// Open channels that may have messages to read, in round-robin order.
    pub(super) readable: VecDeque<u16>,
    /// Control events waiting for `poll_event` (messages are read lazily).
    pub(super) events: VecDeque<DataChannelEvent>,
    /// Packets gathered from sctp-proto, not yet handed out.
    transmits: VecDeque<Bytes>,
    /// The association had nothing to send at the last poll and nothing has
    /// happened since: `poll_transmit` skips it. sctp-proto's poll scans
    /// every chunk in flight, so polling it again for nothing costs
    /// O(window) each time a driver loop turns.
    quiet: bool,
    /// Bytes held in every entry's stash together.
    pub(super) stash_bytes: usize,
    /// Next id to try for an in-band channel (of our parity).
    next_id: u16,
    /// Scratch for DCEP messages.
    scratch: Vec<u8>,
}

impl std::fmt::Debug for SctpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SctpTransport")
            .field("role", &self.role)
            .field("phase", &self.phase)
            .field("channels", &self.channels.len())
            .field("events", &self.events.len())
            .field("transmits", &self.transmits.len())
            .finish_non_exhaustive()
    }
}

/// Where the SCTP packets "come from": sctp-proto routes by address, DTLS
/// has already chosen the peer.
fn peer_addr() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 5000))
}

impl SctpTransport {
    /// A transport for the DTLS side `role`; nothing is sent before
    /// [`connect`](Self::connect). `config` is taken with its documented
    /// floors.
    pub fn new(config: SctpConfig, role: DtlsRole) -> SctpTransport {
        let config = config.normalized();
        let transport_config = Arc::new(config.transport_config());
        let mut endpoint_config = EndpointConfig::new();
        endpoint_config.max_payload_size(u32::from(config.mtu - SCTP_DATA_OVERHEAD));
        let mut server_config = ServerConfig::new();
        server_config.transport = transport_config.clone();
        let endpoint = Endpoint::new(Arc::new(endpoint_config), Some(Arc::new(server_config)));
        SctpTransport {
            role,
            transport_config,
            endpoint,
            association: None,
            phase: Phase::Idle,
            channels: BTreeMap::new(),
            resetting: BTreeSet::new(),
            readable: VecDeque::new(),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            quiet: false,
            stash_bytes: 0,
            next_id: role.stream_id_parity(),
            scratch: Vec::new(),
            config,
        }
    }

    // ---- getters -----------------------------------------------------------

    /// The DTLS role this transport was created for.
    pub fn role(&self) -> DtlsRole {
        self.role
    }

    /// The configuration in force (with its floors applied).
    pub fn config(&self) -> &SctpConfig {
        &self.config
    }

    /// True once the association is established and until it ends.
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Established
    }

    /// True after the association failed or ended; nothing more will flow.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// The channel with stream id `id`, once created (by us, or by the
    /// peer's DATA_CHANNEL_OPEN) and until it closes.
    pub fn channel(&self, id: u16) -> Option<&ChannelInfo> {
        self.channels.get(&id).and_then(|e| e.info.as_ref())
    }

    /// The ids of every channel, ascending.
    pub fn channel_ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.channels
            .iter()
            .filter(|(_, e)| e.info.is_some())
            .map(|(&id, _)| id)
    }

    /// True when channel `id` can send: open, or waiting for the peer's
    /// DATA_CHANNEL_ACK (sending ordered meanwhile, RFC 8832 §6).
    pub fn is_open(&self, id: u16) -> bool {
        self.channels
            .get(&id)
            .is_some_and(|e| matches!(e.state, State::Open | State::AwaitAck))
    }

    /// Bytes of channel `id` queued for sending and not yet acknowledged
    /// (W3C `bufferedAmount`). An empty message counts its placeholder byte,
    /// and the channel's DCEP message (OPEN or ACK) counts until the peer's
    /// first SACK covers it: sctp-proto keeps one count per stream.
    pub fn buffered_amount(&mut self, id: u16) -> Result<usize, Error> {
        let entry = self.user_entry(id)?;
        if entry.state == State::Pending {
            return Ok(0);
        }
        Ok(self.stream_buffered(id))
    }

    /// Bytes queued for sending across every channel.
    pub fn total_buffered_amount(&mut self) -> usize {
        let Some((_, assoc)) = self.association.as_mut() else {
            return 0;
        };
        self.channels
            .iter()
            .filter(|(_, e)| matches!(e.state, State::AwaitAck | State::Open | State::Closing))
            .map(|(&id, _)| {
                assoc
                    .stream(id)
                    .ok()
                    .and_then(|s| s.buffered_amount().ok())
                    .unwrap_or(0)
            })
            .sum()
    }

    fn stream_buffered(&mut self, id: u16) -> usize {
        let Some((_, assoc)) = self.association.as_mut() else {
            return 0;
        };
        assoc
            .stream(id)
            .ok()
            .and_then(|s| s.buffered_amount().ok())
            .unwrap_or(0)
    }

    /// The peer's maximum message size as [`send`](Self::send) enforces it
    /// (0: none).
    pub fn remote_max_message_size(&self) -> u32 {
        self.config.remote_max_message_size
    }

    // ---- inputs ------------------------------------------------------------

    /// Starts the association once DTLS is connected; call it on both sides.
    /// The DTLS client sends INIT; the DTLS server waits for it (see [the
    /// module docs](super)). Idempotent; [`Error::NotConnected`] after the
    /// association ended.
    pub fn connect(&mut self, now: Instant) -> Result<(), Error> {
        self.quiet = false;
        match (self.phase, self.role) {
            (Phase::Closed, _) => Err(Error::NotConnected),
            (Phase::Idle, DtlsRole::Client) => {
                let mut client = ClientConfig::new();
                client.transport = self.transport_config.clone();
                let (handle, assoc) = self.endpoint.connect(client, peer_addr()).map_err(|e| {
                    tracing::warn!(error = %e, "sctp-proto refused to connect");
                    Error::SctpRefused
                })?;
                tracing::debug!("SCTP: sending INIT");
                self.adopt(handle, assoc);
                self.process(now);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Handles one SCTP packet DTLS delivered as application data.
    /// Malformed packets are dropped (sctp-proto checks the CRC32c first).
    pub fn handle_receive(&mut self, now: Instant, packet: &[u8]) {
        self.quiet = false;
        self.handle_receive_bytes(now, Bytes::copy_from_slice(packet));
    }

    /// [`handle_receive`](Self::handle_receive) without the copy, for a
    /// caller that holds the packet as [`Bytes`].
    pub fn handle_receive_bytes(&mut self, now: Instant, packet: Bytes) {
        self.quiet = false;
        if self.phase == Phase::Closed {
            return;
        }
        let Some((handle, event)) = self.endpoint.handle(now, peer_addr(), None, None, packet)
        else {
            return;
        };
        match event {
            DatagramEvent::NewAssociation(assoc) => {
                if self.association.is_none() {
                    tracing::debug!("SCTP: answering the peer's INIT");
                    self.adopt(handle, assoc);
                } else {
                    // A second INIT after we adopted one is refused inside
                    // the endpoint; this is only reachable in the same call.
                    tracing::debug!("SCTP: dropping a second association");
                }
            }
            DatagramEvent::AssociationEvent(event) => match self.association.as_mut() {
                Some((ours, assoc)) if *ours == handle => assoc.handle_event(event),
                _ => tracing::trace!("SCTP: packet for an association we did not keep"),
            },
        }
        self.process(now);
    }

    /// Runs the SCTP timers due at `now` (retransmissions, delayed SACKs).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.quiet = false;
        if let Some((_, assoc)) = self.association.as_mut() {
            assoc.handle_timeout(now);
        }
        self.process(now);
    }

    fn adopt(&mut self, handle: AssociationHandle, assoc: Association) {
        self.association = Some((handle, assoc));
        self.phase = Phase::Connecting;
        // One association per transport: later INITs are refused before
        // anything is allocated for them.
        self.endpoint.reject_new_associations();
    }

    // ---- commands ----------------------------------------------------------

    /// Creates a data channel and returns its stream id.
    ///
    /// In band (`negotiated: None`) the id is the next free one of our
    /// parity (DTLS client even, server odd); DATA_CHANNEL_OPEN goes out as
    /// soon as the association is up, and [`DataChannelEvent::ChannelOpen`]
    /// follows it at once (the channel sends ordered until the peer's ACK,
    /// as libwebrtc does). Negotiated (`Some(id)`) the peer must create the
    /// same id; the channel opens with the association and no DCEP is sent.
    ///
    /// Errors: [`Error::InvalidInput`] (both reliability limits, an over-long
    /// label), [`Error::InvalidChannelId`], [`Error::ChannelIdInUse`],
    /// [`Error::TooManyChannels`], [`Error::NotConnected`] after the
    /// association ended.
    pub fn create_channel(&mut self, now: Instant, init: DataChannelInit) -> Result<u16, Error> {
        self.quiet = false;
        let reliability = init.reliability()?;
        if self.phase == Phase::Closed {
            return Err(Error::NotConnected);
        }
        let id = match init.negotiated {
            Some(id) => {
                if id > MAX_CHANNEL_ID {
                    return Err(Error::InvalidChannelId(id));
                }
                let taken = self.channels.get(&id).is_some_and(|e| e.info.is_some());
                if taken || self.resetting.contains(&id) {
                    return Err(Error::ChannelIdInUse(id));
                }
                if !self.channels.contains_key(&id)
                    && self.channels.len() >= self.config.max_channels
                {
                    return Err(Error::TooManyChannels(self.config.max_channels));
                }
                id
            }
            None => {
                if self.channels.len() >= self.config.max_channels {
                    return Err(Error::TooManyChannels(self.config.max_channels));
                }
                self.allocate_id()?
            }
        };
        let info = ChannelInfo {
            id,
            label: init.label,
            protocol: init.protocol,
            ordered: init.ordered,
            reliability,
            priority: init.priority,
            negotiated: init.negotiated.is_some(),
            remote: false,
        };
        match self.channels.get_mut(&id) {
            // Data for this negotiated id came before the application made
            // the channel: keep the stash, deliver it first.
            Some(entry) => {
                entry.info = Some(info);
                entry.state = State::Pending;
            }
            None => {
                self.channels
                    .insert(id, Entry::new(Some(info), State::Pending));
            }
        }
        if self.phase == Phase::Established {
            if let Err(e) = self.open_local(id) {
                self.forget(id);
                return Err(e);
            }
        }
        self.process(now);
        Ok(id)
    }

    /// Sends `data` on channel `id` as one message: binary (PPID 53) or text
    /// (PPID 51; `data` should be UTF-8). An empty message goes out as one
    /// zero byte with PPID 57 or 56 and arrives empty (RFC 8831 §6.6).
    ///
    /// Errors: [`Error::NotConnected`], [`Error::UnknownChannel`],
    /// [`Error::ChannelNotOpen`], [`Error::MessageTooLarge`] (over the peer's
    /// `a=max-message-size`), [`Error::SendBufferFull`].
    pub fn send(&mut self, now: Instant, id: u16, data: &[u8], binary: bool) -> Result<(), Error> {
        self.quiet = false;
        if self.phase != Phase::Established {
            return Err(Error::NotConnected);
        }
        let state = self.user_entry(id)?.state;
        if !matches!(state, State::Open | State::AwaitAck) {
            return Err(Error::ChannelNotOpen(id));
        }
        let max = send_limit(self.config.remote_max_message_size) as usize;
        if data.len() > max {
            return Err(Error::MessageTooLarge {
                size: data.len(),
                max,
            });
        }
        let buffered = self.total_buffered_amount();
        let limit = self.config.max_buffered_amount;
        if buffered.saturating_add(data.len().max(1)) > limit {
            return Err(Error::SendBufferFull { buffered, limit });
        }
        let ppi = ppid_for(binary, data.len());
        let payload: &[u8] = if data.is_empty() { &[0] } else { data };
        let Some((_, assoc)) = self.association.as_mut() else {
            return Err(Error::NotConnected);
        };
        let written = assoc
            .stream(id)
            .and_then(|mut s| s.write_with_ppi(payload, ppi));
        let result = match written {
            Ok(_) => {
                if let Some(entry) = self.channels.get_mut(&id) {
                    entry.sent = true;
                }
                Ok(())
            }
            Err(sctp_proto::Error::ErrStreamClosed | sctp_proto::Error::ErrStreamNotExisted) => {
                Err(Error::ChannelNotOpen(id))
            }
            Err(sctp_proto::Error::ErrOutboundPacketTooLarge) => Err(Error::MessageTooLarge {
                size: data.len(),
                max,
            }),
            Err(sctp_proto::Error::ErrPayloadDataStateNotExist) => Err(Error::NotConnected),
            Err(e) => {
                tracing::warn!(error = %e, id, "sctp-proto refused a write");
                Err(Error::SctpRefused)
            }
        };
        self.process(now);
        result
    }

    /// [`send`](Self::send) of a text message.
    pub fn send_text(&mut self, now: Instant, id: u16, text: &str) -> Result<(), Error> {
        self.quiet = false;
        self.send(now, id, text.as_bytes(), false)
    }

    /// Closes channel `id` by resetting its outgoing stream (RFC 8831 §6.7):
    /// what was queued is still delivered, the peer resets its side back,
    /// and [`DataChannelEvent::ChannelClosed`] fires on both sides. A channel
    /// that never opened closes at once. Closing a closing channel is a
    /// no-op; [`Error::UnknownChannel`] for an unknown id.
    pub fn close(&mut self, now: Instant, id: u16) -> Result<(), Error> {
        self.quiet = false;
        let state = self.user_entry(id)?.state;
        match state {
            State::Closing => {}
            State::Pending | State::Unconfigured => {
                self.forget(id);
                self.events
                    .push_back(DataChannelEvent::ChannelClosed { id });
            }
            State::AwaitAck | State::Open => {
                let reset = match self.association.as_mut() {
                    Some((_, assoc)) => assoc.stream(id).and_then(|mut s| s.close()),
                    None => Err(sctp_proto::Error::ErrStreamNotExisted),
                };
                match reset {
                    Ok(()) => {
                        if let Some(entry) = self.channels.get_mut(&id) {
                            entry.state = State::Closing;
                        }
                    }
                    Err(e) => {
                        // No reset can run (the association is going down):
                        // the channel is closed locally.
                        tracing::debug!(error = %e, id, "SCTP: stream reset not possible");
                        self.forget(id);
                        self.events
                            .push_back(DataChannelEvent::ChannelClosed { id });
                    }
                }
            }
        }
        self.process(now);
        Ok(())
    }

    /// Sets when [`DataChannelEvent::BufferedAmountLow`] fires for channel
    /// `id`: when its buffered amount falls from above `threshold` to at or
    /// below it (default 0: when the queue drains).
    pub fn set_buffered_amount_low_threshold(
        &mut self,
        id: u16,
        threshold: usize,
    ) -> Result<(), Error> {
        let entry = self.user_entry_mut(id)?;
        entry.low_threshold = threshold;
        let pending = entry.state == State::Pending;
        if !pending {
            if let Some((_, assoc)) = self.association.as_mut() {
                if let Ok(mut s) = assoc.stream(id) {
                    let _ = s.set_buffered_amount_low_threshold(threshold);
                }
            }
        }
        Ok(())
    }

    /// Changes the peer's maximum message size (a renegotiated
    /// `a=max-message-size`; 0: none).
    pub fn set_remote_max_message_size(&mut self, size: u32) {
        self.quiet = false;
        self.config.remote_max_message_size = size;
        if let Some((_, assoc)) = self.association.as_mut() {
            assoc.set_max_send_message_size(send_limit(size));
        }
    }

    // ---- outputs -----------------------------------------------------------

    /// The next SCTP packet to give DTLS as application data.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Bytes> {
        loop {
            if let Some(packet) = self.transmits.pop_front() {
                return Some(packet);
            }
            let transmit = match self.endpoint.poll_transmit() {
                Some(t) => t,
                None if self.quiet => return None,
                None => match self.association.as_mut()?.1.poll_transmit(now) {
                    Some(t) => t,
                    None => {
                        self.quiet = true;
                        return None;
                    }
                },
            };
            if let Payload::RawEncode(packets) = transmit.payload {
                self.transmits.extend(packets);
            }
        }
    }

    /// The next event: control events first, then messages read from the
    /// channels in turn (one per channel per round, so a busy channel does
    /// not starve the others).
    pub fn poll_event(&mut self) -> Option<DataChannelEvent> {
        self.quiet = false;
        self.drain_sctp_events();
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        self.read_next()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.association.as_ref()?.1.poll_timeout()
    }

    // ---- internals ---------------------------------------------------------

    /// The entry of a channel the application knows (not an unconfigured stream).
    fn user_entry(&self, id: u16) -> Result<&Entry, Error> {
        self.channels
            .get(&id)
            .filter(|e| e.info.is_some())
            .ok_or(Error::UnknownChannel(id))
    }

    fn user_entry_mut(&mut self, id: u16) -> Result<&mut Entry, Error> {
        self.channels
            .get_mut(&id)
            .filter(|e| e.info.is_some())
            .ok_or(Error::UnknownChannel(id))
    }

    /// Drops the entry of `id` and its stash.
    pub(super) fn forget(&mut self, id: u16) -> Option<Entry> {
        let entry = self.channels.remove(&id)?;
        self.stash_bytes -= entry.stash_bytes;
        Some(entry)
    }

    /// The next free stream id of our parity.
    fn allocate_id(&mut self) -> Result<u16, Error> {
        let parity = self.role.stream_id_parity();
        // Ids of our parity: 32 767 of them (0..=65534 even, 1..=65533 odd).
        let count = (u32::from(MAX_CHANNEL_ID) + 2 - u32::from(parity)) / 2;
        let mut id = self.next_id;
        for _ in 0..count {
            let candidate = id;
            id = if u32::from(id) + 2 > u32::from(MAX_CHANNEL_ID) {
                parity
            } else {
                id + 2
            };
            if !self.channels.contains_key(&candidate) && !self.resetting.contains(&candidate) {
                self.next_id = id;
                return Ok(candidate);
            }
        }
        Err(Error::TooManyChannels(self.config.max_channels))
    }

    /// Everything that follows an input: sctp-proto's events (DCEP is
    /// answered here).
    fn process(&mut self, _now: Instant) {
        self.drain_sctp_events();
    }

    fn drain_sctp_events(&mut self) {
        loop {
            let Some((handle, assoc)) = self.association.as_mut() else {
                return;
            };
            while let Some(e) = assoc.poll_endpoint_event() {
                if let Some(back) = self.endpoint.handle_event(*handle, e) {
                    assoc.handle_event(back);
                }
            }
            let Some(event) = assoc.poll() else {
                return;
            };
            self.on_sctp_event(event);
        }
    }

    fn on_sctp_event(&mut self, event: Event) {
        match event {
            Event::Connected => self.on_connected(),
            Event::HandshakeFailed { reason } => {
                tracing::debug!(%reason, "SCTP handshake failed");
                self.on_lost(Error::SctpHandshakeFailed);
            }
            Event::AssociationLost { reason } => {
                tracing::debug!(%reason, "SCTP association lost");
                self.on_lost(Error::SctpAssociationLost);
            }
            Event::Stream(event) => self.on_stream_event(event),
            _ => {}
        }
    }

    fn on_stream_event(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Opened { .. } => {
                // Keep sctp-proto's accept queue empty; streams are found by id.
                if let Some((_, assoc)) = self.association.as_mut() {
                    let _ = assoc.accept_stream();
                }
            }
            StreamEvent::Readable { id } => self.on_readable(id),
            StreamEvent::Finished { id } => {
                self.resetting.insert(id);
                if let Some(entry) = self.forget(id) {
                    if entry.info.is_some() {
                        self.events
                            .push_back(DataChannelEvent::ChannelClosed { id });
                    }
                }
            }
            StreamEvent::ResetComplete { id } => {
                self.resetting.remove(&id);
            }
            StreamEvent::ResetFailed { id, reason } => {
                // The id stays unusable (sctp-proto quarantines it); a
                // closing channel is closed for the application.
                tracing::debug!(id, ?reason, "SCTP stream reset failed");
                self.resetting.insert(id);
                if let Some(entry) = self.forget(id) {
                    if entry.info.is_some() {
                        self.events
                            .push_back(DataChannelEvent::ChannelClosed { id });
                    }
                }
            }
            // Not for the acknowledgement of a DATA_CHANNEL_OPEN or ACK
            // before the application sent anything.
            StreamEvent::BufferedAmountLow { id }
                if self
                    .channels
                    .get(&id)
                    .is_some_and(|e| e.info.is_some() && e.sent) =>
            {
                self.events
                    .push_back(DataChannelEvent::BufferedAmountLow { id });
            }
            _ => {}
        }
    }

    fn on_connected(&mut self) {
        self.phase = Phase::Established;
        let limit = send_limit(self.config.remote_max_message_size);
        if let Some((_, assoc)) = self.association.as_mut() {
            assoc.set_max_send_message_size(limit);
        }
        tracing::debug!("SCTP association established");
        self.events.push_back(DataChannelEvent::Connected);
        let pending: Vec<u16> = self
            .channels
            .iter()
            .filter(|(_, e)| e.state == State::Pending)
            .map(|(&id, _)| id)
            .collect();
        for id in pending {
            if let Err(error) = self.open_local(id) {
                self.forget(id);
                self.events.push_back(DataChannelEvent::Error {
                    id: Some(id),
                    error,
                });
                self.events
                    .push_back(DataChannelEvent::ChannelClosed { id });
            }
        }
    }

    fn on_lost(&mut self, error: Error) {
        if self.phase == Phase::Closed {
            return;
        }
        self.phase = Phase::Closed;
        self.events
            .push_back(DataChannelEvent::Error { id: None, error });
        let channels = std::mem::take(&mut self.channels);
        for (id, entry) in channels {
            if entry.info.is_some() {
                self.events
                    .push_back(DataChannelEvent::ChannelClosed { id });
            }
        }
        self.stash_bytes = 0;
        self.readable.clear();
        self.resetting.clear();
    }

    /// Opens the sctp-proto stream of a channel we created (association
    /// established): sends DATA_CHANNEL_OPEN unless negotiated, and reports
    /// the channel open.
    fn open_local(&mut self, id: u16) -> Result<(), Error> {
        let Some(info) = self.channels.get(&id).and_then(|e| e.info.clone()) else {
            return Err(Error::UnknownChannel(id));
        };
        let low_threshold = self.channels.get(&id).map_or(0, |e| e.low_threshold);
        let Some((_, assoc)) = self.association.as_mut() else {
            return Err(Error::NotConnected);
        };
        let mut stream = match assoc.open_stream(id, Ppi::Binary) {
            Ok(stream) => stream,
            // The peer already sent on this (negotiated) id.
            Err(sctp_proto::Error::ErrStreamAlreadyExist) if info.negotiated => {
                assoc.stream(id).map_err(|_| Error::ChannelIdInUse(id))?
            }
            Err(
                sctp_proto::Error::ErrStreamAlreadyExist | sctp_proto::Error::ErrStreamResetPending,
            ) => return Err(Error::ChannelIdInUse(id)),
            Err(e) => {
                tracing::warn!(error = %e, id, "sctp-proto refused to open a stream");
                return Err(Error::SctpRefused);
            }
        };
        let (kind, value) = info.reliability.sctp();
        // Until the ACK, an in-band channel sends ordered (RFC 8832 §6).
        let unordered = info.negotiated && !info.ordered;
        let configured = stream
            .set_reliability_params(unordered, kind, value)
            .and_then(|()| stream.set_buffered_amount_low_threshold(low_threshold));
        if configured.is_err() {
            return Err(Error::SctpRefused);
        }
        let state = if info.negotiated {
            State::Open
        } else {
            let mut buf = std::mem::take(&mut self.scratch);
            let open = info.open_builder();
            buf.resize(open.encoded_len(), 0);
            let written = open.write(&mut buf).and_then(|n| {
                stream.write_with_ppi(&buf[..n], Ppi::Dcep).map_err(|e| {
                    tracing::warn!(error = %e, id, "writing DATA_CHANNEL_OPEN failed");
                    Error::SctpRefused
                })
            });
            self.scratch = buf;
            written?;
            State::AwaitAck
        };
        if let Some(entry) = self.channels.get_mut(&id) {
            entry.state = state;
        }
        self.events.push_back(open_event(&info));
        if state == State::Open {
            self.mark_readable(id);
        }
        Ok(())
    }
}

pub(super) fn open_event(info: &ChannelInfo) -> DataChannelEvent {
    DataChannelEvent::ChannelOpen {
        id: info.id,
        label: info.label.clone(),
        protocol: info.protocol.clone(),
        ordered: info.ordered,
        reliability: info.reliability,
        negotiated: info.negotiated,
        remote: info.remote,
    }
}
