//! libwebrtc's TurnPort as a sans-IO TURN client (RFC 8656) over UDP, TCP or TLS.
//!
//! [`TurnClient`] holds one allocation on one TURN server, reached from one
//! local UDP socket (which the driver owns and may share with other ports)
//! or over one TCP connection the driver owns ([`TurnConfig::transport`];
//! requests are then sent once and ChannelData padded, RFC 8656 §12.5),
//! plain or inside TLS ([`TurnTransport::Tls`], `turns:`, RFC 8656 §3.1).
//! The relayed address is UDP in every case.
//!
//! Over TLS the client itself is the same as over TCP: the driver runs the
//! TLS session on the connection (`ice::tls`, feature `tls`, OpenSSL)
//! and carries the same STUN/ChannelData framing inside it. Certificates are
//! verified by default ([`TurnTlsConfig`]); when the connection or its
//! handshake fails the driver calls [`TurnClient::handle_stream_closed`],
//! which reports [`TurnEvent::ConnectionFailed`] with the reason (for
//! example an untrusted certificate) and fails the allocation.
//! It owns no socket and reads no clock: every input carries `now`, outputs
//! are drained with [`TurnClient::poll_transmit`] and [`TurnClient::poll_event`],
//! and [`TurnClient::poll_timeout`] says when to call
//! [`TurnClient::handle_timeout`].
//!
//! What it does:
//!
//! - **Allocate** with REQUESTED-TRANSPORT = UDP. The first request carries
//!   no credentials; the server's 401 with REALM and NONCE is answered with
//!   USERNAME, REALM, NONCE and MESSAGE-INTEGRITY under the long-term key
//!   `MD5(username ":" realm ":" password)`. Every request carries FINGERPRINT.
//!   A 438 (Stale Nonce) is retried with the new nonce, on every request
//!   type.
//! - **SHA-256 long-term keys** (RFC 8489 §9.2): when the challenge's NONCE
//!   starts with the nonce cookie announcing "password algorithms" and the
//!   401 carries PASSWORD-ALGORITHMS, the client takes the first algorithm
//!   of the server's list it knows (SHA-256 or MD5), derives the key with
//!   it, and every later request carries PASSWORD-ALGORITHMS as received,
//!   PASSWORD-ALGORITHM and MESSAGE-INTEGRITY-SHA256 (only). A cookie
//!   announcing the feature without the list, a list with no known
//!   algorithm, or a later challenge without the feature (a downgrade)
//!   fails the allocation with the challenge's code. Servers without the
//!   cookie get RFC 5389's MD5 key and MESSAGE-INTEGRITY. Retries after 401/438 are bounded (a wrong password fails with
//!   [`TurnEvent::AllocationFailed`] `{ code: Some(401) }` after one retry).
//! - Every response to an authenticated request must carry a valid
//!   MESSAGE-INTEGRITY under the long-term key, except error responses
//!   400, 401, 420 and 438 without one (servers cannot sign those); anything
//!   else is discarded, and the request keeps waiting, as if it was lost.
//! - **Refresh** the allocation before it expires: one minute before the end of
//!   the granted lifetime, or at half of it when it is under two minutes
//!   (libwebrtc's schedule). [`TurnClient::close`] sends a Refresh with
//!   LIFETIME 0.
//! - **Permissions** (CreatePermission, one peer IP per request) last five
//!   minutes on the server and are refreshed every four while in use.
//! - **Channels** (ChannelBind, numbers from 0x4000) last ten minutes on the
//!   server and are refreshed every nine while in use. A channel number that
//!   expired stays reserved for its peer five more minutes (RFC 8656 §12).
//! - [`TurnClient::send_to`] creates the permission (and, unless disabled,
//!   starts a ChannelBind) on first use of a peer, then sends ChannelData when
//!   a channel is bound and a Send indication otherwise.
//! - Keepalive: a Binding indication when nothing was sent to the server for
//!   [`TurnConfig::keepalive`], so the NAT binding towards the server (and with
//!   it the allocation's 5-tuple) survives idle periods.
//!
//! "In use" means sent to with [`TurnClient::send_to`] or heard from since the
//! previous refresh; permissions created with [`TurnClient::create_permission`]
//! are refreshed until [`TurnClient::remove_permission`]. Unused permissions
//! and channels lapse, which keeps the tables bounded
//! ([`TurnConfig::max_permissions`], [`TurnConfig::max_channels`]).
//!
//! The first [`TurnClient::send_to`] to a peer queues a CreatePermission and
//! returns the Send indication: drain [`TurnClient::poll_transmit`] before
//! sending the returned datagram, so the request reaches the server first.
//! Even then the two may be reordered or the request lost, and the server
//! drops data to a peer without permission (as with libwebrtc): wait for
//! [`TurnEvent::PermissionCreated`] or rely on retransmission above (ICE
//! checks are retransmitted).
//!
//! - **IPv6 relays**: REQUESTED-ADDRESS-FAMILY in the Allocate when
//!   [`TurnConfig::relay_family`] (by default: the server's family) is IPv6.
//! - **ALTERNATE-SERVER**: a 300 (Try Alternate) to an Allocate, with an
//!   ALTERNATE-SERVER of the same address family, is followed once: the
//!   client starts over with that server (new challenge, new key), and the
//!   allocator routes its datagrams by [`TurnClient::server`]. A 300 to an
//!   authenticated Allocate must carry valid integrity like any other
//!   response to it (an unsigned one is discarded, RFC 8489 §10). A 300 to
//!   the first, unauthenticated Allocate cannot be signed, and RFC 8489 says
//!   a server must not send one; coturn's `--alternate-server` does
//!   nonetheless (4.6 redirects before the challenge), and libwebrtc follows
//!   it, so this client does too: a forged one costs no more than a forged
//!   401 would (the other server still has to prove the key on its
//!   success response, so at worst the allocation fails). A second 300, or
//!   one over TCP (a new connection would be needed) fails the allocation
//!   with code 300.
//!
//! Not implemented: TURN over DTLS, dual allocations
//! (ADDITIONAL-ADDRESS-FAMILY), EVEN-PORT,
//! USERHASH (username anonymity), TCP relays (RFC 6062).
//!
//! The client's code: this module holds the configuration, the public
//! surface and the allocation's life; `wire` the requests to the server and
//! what their answers do; `permission` and `channel` those two tables.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use ice::port::{TurnClient, TurnConfig, TurnEvent};
//!
//! let server = "198.18.100.2:3478".parse().unwrap();
//! let mut config = TurnConfig::new(server, "user", "pass");
//! config.seed = Some(7); // replayable transaction ids
//! let mut client = TurnClient::new(config, "10.0.0.2:5000".parse().unwrap());
//! let now = Instant::now();
//! client.allocate(now).unwrap();
//! // The unauthenticated Allocate goes first; the server will answer 401.
//! let t = client.poll_transmit().unwrap();
//! assert_eq!(t.destination, server);
//! assert_eq!(client.poll_timeout(), Some(now + Duration::from_millis(500)));
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;
pub use stun::attributes::AddressFamily;
use stun::attributes::{
    ChannelNumber, Data, DontFragment, Lifetime, Nonce, Realm, RequestedTransport, Software,
    Username, XorMappedAddress, XorPeerAddress, XorRelayedAddress,
};
use stun::channel_data::CHANNEL_NUMBER_RANGE;
use stun::{
    ChannelData, Class, IntegrityKey, Message, MessageBuilder, Method, PacketKind,
    PasswordAlgorithm, RequestEvent, RequestManager, RetransmitConfig, TransactionId, Transport,
};

use crate::allocator::Transmit;
use crate::candidate::TransportProtocol;
use crate::random::seeded_rng;
use channel::Channel;
use permission::Permission;
use wire::{Pending, Request};

mod channel;
mod permission;
mod transport;
mod wire;

pub use transport::{TurnTlsConfig, TurnTransport};

/// How long a permission lives on the server (RFC 8656 §9).
pub const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
/// When a permission in use is refreshed, counted from the request that installed it.
pub const PERMISSION_REFRESH: Duration = Duration::from_secs(240);
/// How long a channel binding lives on the server (RFC 8656 §12).
pub const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// When a channel in use is re-bound, counted from the request that bound it.
pub const CHANNEL_REFRESH: Duration = Duration::from_secs(540);
/// How long an expired channel number stays reserved for its peer (RFC 8656 §12).
pub const CHANNEL_COOLDOWN: Duration = Duration::from_secs(300);
/// The default allocation lifetime (RFC 8656 §7.2).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);
/// The largest application payload [`TurnClient::send_to`] accepts.
pub const MAX_PAYLOAD: usize = 65_000;

/// Room [`TurnClient::send_in_place`] needs before the data: a ChannelData header.
pub const RELAY_HEADROOM: usize = stun::channel_data::CHANNEL_DATA_HEADER_LEN;

/// Retries of one request after 401/438 answers (new realm or nonce).
const MAX_AUTH_RETRIES: u8 = 3;
/// After a CreatePermission or ChannelBind fails, no new attempt for this long.
const FAILED_RETRY: Duration = Duration::from_secs(30);
/// A failed refresh is retried after at most this long (while time remains).
const REFRESH_RETRY: Duration = Duration::from_secs(30);
/// Request buffer: USERNAME (≤ 513) + REALM, NONCE, SOFTWARE (≤ 763 each) + the rest.
const REQUEST_BUF: usize = 3_072;

/// Configuration of a [`TurnClient`].
#[derive(Debug, Clone)]
pub struct TurnConfig {
    /// The TURN server's address (reached over [`TurnConfig::transport`]).
    pub server: SocketAddr,
    /// The long-term credential username.
    pub username: String,
    /// The long-term credential password.
    pub password: String,
    /// The allocation lifetime to ask for (LIFETIME); the server may grant
    /// another. Default 600 s.
    pub lifetime: Duration,
    /// SOFTWARE attribute on requests; `None` leaves it out.
    pub software: Option<String>,
    /// Retransmission schedule of requests (default: RFC 8489, 39.5 s in all).
    pub retransmit: RetransmitConfig,
    /// Seed of the transaction-id generator, for replayable runs; `None` seeds
    /// from the operating system.
    pub seed: Option<u64>,
    /// Most peer IPs with a permission at once; [`TurnClient::send_to`] to a
    /// new IP beyond it fails. Default 64.
    pub max_permissions: usize,
    /// Most channels at once (at most 4096); peers beyond it use Send
    /// indications. Default 64.
    pub max_channels: usize,
    /// Bind a channel to every peer [`TurnClient::send_to`] sends to (as
    /// libwebrtc does). Default true.
    pub auto_channel_bind: bool,
    /// Send a Binding indication to the server when nothing else was sent for
    /// this long, to keep NAT bindings open. Default 15 s; `None` disables.
    pub keepalive: Option<Duration>,
    /// Add DONT-FRAGMENT to the Allocate request. Default false.
    pub dont_fragment: bool,
    /// How the client reaches the server: UDP (default), a TCP connection
    /// or TLS over TCP (RFC 8656 §3.1), where requests are sent once and
    /// ChannelData is padded to four bytes. Over TCP and TLS the driver frames
    /// the byte stream with [`stream_frame_len`] and hands each message to
    /// [`TurnClient::handle_receive`]; the client's transmits say
    /// [`TransportProtocol::Tcp`] for both. The relayed transport is UDP in
    /// every case.
    pub transport: TurnTransport,
    /// The family of relayed address to ask for with REQUESTED-ADDRESS-FAMILY
    /// (RFC 8656 §7.1). `None` (default): the server's own family, so a
    /// server reached over IPv6 is asked for an IPv6 relay and one reached
    /// over IPv4 gets no attribute (an IPv4 relay, the protocol's default).
    /// A server that cannot answers 440 (Address Family not Supported):
    /// [`TurnEvent::AllocationFailed`] `{ code: Some(440) }`.
    pub relay_family: Option<AddressFamily>,
}

/// Length of the first STUN message or ChannelData message at the start of a
/// byte stream from a TURN server (RFC 8656 §12.5: ChannelData padded to four
/// bytes over streams), when its header is there; `None` when more bytes are needed.
pub fn stream_frame_len(buf: &[u8]) -> Option<usize> {
    match stun::classify(buf) {
        PacketKind::ChannelData => ChannelData::framed_len(buf),
        _ => stun::message::message_len(buf),
    }
}

impl TurnConfig {
    /// A configuration with the defaults above.
    pub fn new(server: SocketAddr, username: &str, password: &str) -> TurnConfig {
        TurnConfig {
            server,
            username: username.to_owned(),
            password: password.to_owned(),
            lifetime: DEFAULT_LIFETIME,
            software: Some(concat!("peerstack ", env!("CARGO_PKG_VERSION")).to_owned()),
            retransmit: RetransmitConfig::rfc8489(),
            seed: None,
            max_permissions: 64,
            max_channels: 64,
            auto_channel_bind: true,
            keepalive: Some(Duration::from_secs(15)),
            dont_fragment: false,
            transport: TurnTransport::Udp,
            relay_family: None,
        }
    }
}

/// Where a [`TurnClient`] is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TurnState {
    /// Created; [`TurnClient::allocate`] not called yet.
    Idle,
    /// An Allocate request is outstanding.
    Allocating,
    /// The allocation exists; data can be relayed.
    Allocated,
    /// [`TurnClient::close`] sent a Refresh with LIFETIME 0; waiting for the answer.
    Deallocating,
    /// Closed (after [`TurnEvent::Deallocated`]).
    Closed,
    /// The allocation failed or was lost; [`TurnClient::allocate`] may try again.
    Failed,
}

/// What a [`TurnClient`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TurnEvent {
    /// The allocation succeeded.
    Allocated {
        /// The relayed transport address (XOR-RELAYED-ADDRESS): the relay candidate.
        relayed: SocketAddr,
        /// Our address as the server sees it (XOR-MAPPED-ADDRESS), when sent.
        mapped: Option<SocketAddr>,
        /// The lifetime the server granted.
        lifetime: Duration,
    },
    /// The Allocate request failed: an error code, or `None` for a timeout or
    /// an unusable success response.
    AllocationFailed {
        /// The ERROR-CODE, if the server answered with one.
        code: Option<u16>,
    },
    /// A Refresh succeeded.
    Refreshed {
        /// The lifetime the server granted.
        lifetime: Duration,
    },
    /// The allocation is gone: a Refresh was answered 437, or it expired
    /// before a Refresh succeeded.
    AllocationLost {
        /// The ERROR-CODE that ended it, `None` when it expired.
        code: Option<u16>,
    },
    /// A permission for this peer IP is installed (first install only, not refreshes).
    PermissionCreated(IpAddr),
    /// A CreatePermission for a peer IP failed (error code, or `None` on timeout).
    PermissionFailed {
        /// The peer IP.
        peer: IpAddr,
        /// The ERROR-CODE, if any.
        code: Option<u16>,
    },
    /// A channel is bound to a peer (first bind only, not refreshes).
    ChannelBound {
        /// The peer transport address.
        peer: SocketAddr,
        /// The channel number.
        channel: u16,
    },
    /// A ChannelBind failed; data to this peer keeps using Send indications.
    ChannelBindFailed {
        /// The peer transport address.
        peer: SocketAddr,
        /// The ERROR-CODE, if any.
        code: Option<u16>,
    },
    /// [`TurnClient::close`] finished: the allocation was released (or the
    /// server no longer had it, or did not answer).
    Deallocated,
    /// The TCP or TLS connection to the server failed or closed
    /// ([`TurnClient::handle_stream_closed`]), with the reason: it could not
    /// be opened ([`Error::Io`](crate::Error::Io)), or its TLS handshake
    /// failed ([`Error::Tls`](crate::Error::Tls), e.g. a certificate that is
    /// not trusted). [`TurnEvent::AllocationFailed`] or
    /// [`TurnEvent::AllocationLost`] follows.
    ConnectionFailed(crate::Error),
}

/// What [`TurnClient::handle_receive`] made of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnReceived<'a> {
    /// Not for this client (not from its server, or a STUN message from the
    /// server that is not one of its transactions, e.g. a Binding response on
    /// a shared socket): offer it to someone else.
    NotMine,
    /// A TURN control message, or a datagram dropped (malformed, unknown
    /// channel, no permission for the peer).
    Consumed,
    /// Relayed application data from a peer (ChannelData or Data
    /// indication), borrowed from the input.
    Data {
        /// The peer that sent it to the relayed address.
        peer: SocketAddr,
        /// The payload.
        data: &'a [u8],
    },
}

/// Why [`TurnClient`] refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TurnError {
    /// There is no allocation (yet, or any more).
    #[error("no TURN allocation")]
    NotAllocated,
    /// [`TurnClient::allocate`] while allocating, allocated or closing.
    #[error("an allocation exists or is under way")]
    AlreadyAllocating,
    /// The peer's address family differs from the relayed address's.
    #[error("peer address family differs from the relayed address")]
    AddressFamilyMismatch,
    /// The permission table is full.
    #[error("too many TURN permissions (limit {0})")]
    TooManyPermissions(usize),
    /// The channel table is full, or no channel number is free.
    #[error("too many TURN channels (limit {0})")]
    TooManyChannels(usize),
    /// The payload is longer than [`MAX_PAYLOAD`].
    #[error("payload of {0} bytes is too long to relay")]
    PayloadTooLong(usize),
    /// Encoding or sending a request failed.
    #[error("stun: {0}")]
    Stun(#[from] stun::Error),
}

/// A sans-IO TURN client over UDP, TCP or TLS (libwebrtc's TurnPort); see the [module docs](self).
#[derive(Debug)]
pub struct TurnClient {
    config: TurnConfig,
    local: SocketAddr,
    rng: ChaCha8Rng,
    requests: RequestManager,
    pending: BTreeMap<TransactionId, Pending>,
    state: TurnState,
    realm: Option<String>,
    nonce: Option<String>,
    key: Option<IntegrityKey>,
    /// RFC 8489's password algorithm, when the server offered PASSWORD-ALGORITHMS.
    negotiated: Option<wire::NegotiatedAlgorithm>,
    /// The server a 300 (Try Alternate) sent us away from: one redirect is
    /// followed, never a second.
    redirected_from: Option<SocketAddr>,
    relayed: Option<SocketAddr>,
    mapped: Option<SocketAddr>,
    lifetime: Duration,
    refresh_at: Option<Instant>,
    expires_at: Option<Instant>,
    keepalive_at: Option<Instant>,
    permissions: BTreeMap<IpAddr, Permission>,
    channels: BTreeMap<SocketAddr, Channel>,
    channel_peers: BTreeMap<u16, SocketAddr>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TurnEvent>,
}

impl TurnClient {
    /// A client for `config.server`, sending from the local socket `local`.
    pub fn new(config: TurnConfig, local: SocketAddr) -> TurnClient {
        let rng = seeded_rng(config.seed);
        let mut requests = RequestManager::new(config.retransmit.clone());
        requests.set_unauthenticated_error_codes(&[400, 401, 420, 438]);
        TurnClient {
            config,
            local,
            rng,
            requests,
            pending: BTreeMap::new(),
            state: TurnState::Idle,
            realm: None,
            nonce: None,
            key: None,
            negotiated: None,
            redirected_from: None,
            relayed: None,
            mapped: None,
            lifetime: Duration::ZERO,
            refresh_at: None,
            expires_at: None,
            keepalive_at: None,
            permissions: BTreeMap::new(),
            channels: BTreeMap::new(),
            channel_peers: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TurnConfig {
        &self.config
    }

    /// The TURN server's address.
    pub fn server(&self) -> SocketAddr {
        self.config.server
    }

    /// The local socket this client sends from.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The state.
    pub fn state(&self) -> TurnState {
        self.state
    }

    /// The relayed transport address, while allocated.
    pub fn relayed_address(&self) -> Option<SocketAddr> {
        self.relayed
    }

    /// Our address as the server saw it (XOR-MAPPED-ADDRESS), while allocated.
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        self.mapped
    }

    /// The lifetime last granted by the server.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// When the allocation expires unless refreshed.
    pub fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }

    /// The realm learned from the server.
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// Starts the allocation: sends an Allocate request. Allowed in
    /// [`TurnState::Idle`] and [`TurnState::Failed`].
    pub fn allocate(&mut self, now: Instant) -> Result<(), TurnError> {
        if !matches!(self.state, TurnState::Idle | TurnState::Failed) {
            return Err(TurnError::AlreadyAllocating);
        }
        tracing::debug!(server = %self.config.server, local = %self.local, "turn: allocating");
        self.state = TurnState::Allocating;
        if let Err(e) = self.send_request(now, Request::Allocate, 0) {
            self.state = TurnState::Failed;
            return Err(e);
        }
        Ok(())
    }

    /// Relays `data` to `peer`: ChannelData when a channel is bound to it, a
    /// Send indication otherwise. On first use of a peer it starts the
    /// CreatePermission (and the ChannelBind, with
    /// [`TurnConfig::auto_channel_bind`]). Send the returned datagram from
    /// [`TurnClient::local`], after draining [`TurnClient::poll_transmit`]
    /// (which may hold that CreatePermission).
    pub fn send_to(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        data: &[u8],
    ) -> Result<Transmit, TurnError> {
        self.check_peer(peer.ip())?;
        if data.len() > MAX_PAYLOAD {
            return Err(TurnError::PayloadTooLong(data.len()));
        }
        self.ensure_permission(now, peer.ip(), false)?;
        let channel = if self.config.auto_channel_bind || self.channels.contains_key(&peer) {
            self.ensure_channel(now, peer);
            self.channel(now, peer)
        } else {
            None
        };
        let contents = match channel {
            Some(number) => {
                let mut buf = vec![0u8; 4 + ((data.len() + 3) & !3)];
                let pad = self.config.transport.is_stream();
                let n = ChannelData::encode(number, data, &mut buf, pad)?;
                buf.truncate(n);
                Bytes::from(buf)
            }
            None => {
                let addr_len = if peer.is_ipv4() { 8 } else { 20 };
                let mut buf = vec![0u8; 20 + 4 + addr_len + 4 + ((data.len() + 3) & !3)];
                let tid = self.next_tid();
                let mut b = MessageBuilder::new(&mut buf, Class::Indication, Method::SEND, tid)?;
                b.add(&XorPeerAddress(peer))?;
                b.add(&Data(data))?;
                let n = b.finish();
                buf.truncate(n);
                Bytes::from(buf)
            }
        };
        self.note_sent(now);
        Ok(Transmit {
            transport: self.config.transport.protocol(),
            source: self.local,
            destination: self.config.server,
            contents,
        })
    }

    /// [`send_to`](Self::send_to) without a copy or an allocation, once a
    /// channel is bound to `peer`: the data is already at
    /// `buf[RELAY_HEADROOM..RELAY_HEADROOM + len]`, the ChannelData header
    /// is written into the headroom (and, over TCP, up to three bytes of
    /// padding after the data), and `Ok(Some(n))` says the datagram is
    /// `buf[..n]`, to send from [`TurnClient::local`] to the server over
    /// [`TurnConfig::transport`]. `Ok(None)` while no channel is bound yet
    /// (the first packets to a peer, or without
    /// [`TurnConfig::auto_channel_bind`]): send with
    /// [`send_to`](Self::send_to), which uses a Send indication.
    pub fn send_in_place(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        buf: &mut [u8],
        len: usize,
    ) -> Result<Option<usize>, TurnError> {
        self.check_peer(peer.ip())?;
        if len > MAX_PAYLOAD {
            return Err(TurnError::PayloadTooLong(len));
        }
        self.ensure_permission(now, peer.ip(), false)?;
        if !(self.config.auto_channel_bind || self.channels.contains_key(&peer)) {
            return Ok(None);
        }
        self.ensure_channel(now, peer);
        let Some(number) = self.channel(now, peer) else {
            return Ok(None);
        };
        let pad = self.config.transport.is_stream();
        let n = ChannelData::wrap_in_place(number, buf, len, pad)?;
        self.note_sent(now);
        Ok(Some(n))
    }

    /// Releases the allocation: a Refresh with LIFETIME 0, then
    /// [`TurnEvent::Deallocated`]. Before an allocation exists it just stops
    /// (an Allocate in flight is abandoned; the server's allocation, if any,
    /// expires on its own).
    pub fn close(&mut self, now: Instant) {
        match self.state {
            TurnState::Allocated => {
                tracing::debug!(relayed = ?self.relayed, "turn: deallocating");
                self.clear_allocation();
                self.state = TurnState::Deallocating;
                if self
                    .send_request(now, Request::Refresh { lifetime: 0 }, 0)
                    .is_err()
                {
                    self.finish_close();
                }
            }
            TurnState::Idle | TurnState::Allocating | TurnState::Failed => {
                self.clear_allocation();
                self.state = TurnState::Closed;
            }
            TurnState::Deallocating | TurnState::Closed => {}
        }
    }

    /// Offers a datagram that arrived on the local socket from `source`.
    pub fn handle_receive<'a>(
        &mut self,
        now: Instant,
        source: SocketAddr,
        data: &'a [u8],
    ) -> TurnReceived<'a> {
        if source != self.config.server {
            return TurnReceived::NotMine;
        }
        match stun::classify(data) {
            PacketKind::ChannelData => self.receive_channel_data(data),
            PacketKind::Stun => self.receive_stun(now, data),
            _ => TurnReceived::NotMine,
        }
    }

    /// The driver's report that the TCP or TLS connection to the server
    /// failed or closed (`error` says why; `None` for an orderly close by
    /// the server). A stream carries the allocation, so it ends with it:
    /// [`TurnEvent::ConnectionFailed`], then [`TurnEvent::AllocationFailed`]
    /// `{ code: None }` while allocating or [`TurnEvent::AllocationLost`]
    /// `{ code: None }` once allocated; a close in progress finishes. Ignored
    /// over UDP and when there is no allocation.
    pub fn handle_stream_closed(&mut self, now: Instant, error: Option<crate::Error>) {
        let _ = now;
        if !self.config.transport.is_stream() {
            return;
        }
        let error = error.unwrap_or(crate::Error::Io(std::io::ErrorKind::ConnectionReset));
        match self.state {
            TurnState::Allocating => {
                tracing::warn!(server = %self.config.server, %error, "turn: connection to the server failed");
                self.clear_allocation();
                self.state = TurnState::Failed;
                self.events.push_back(TurnEvent::ConnectionFailed(error));
                self.events
                    .push_back(TurnEvent::AllocationFailed { code: None });
            }
            TurnState::Allocated => {
                tracing::warn!(server = %self.config.server, %error, "turn: connection to the server lost");
                self.events.push_back(TurnEvent::ConnectionFailed(error));
                self.lose_allocation(None);
            }
            TurnState::Deallocating => self.finish_close(),
            TurnState::Idle | TurnState::Closed | TurnState::Failed => {}
        }
    }

    /// Retransmits, refreshes and expires whatever is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.requests.handle_timeout(now);
        self.flush_requests(now);
        self.drain_request_events(now);

        if self.state == TurnState::Allocated {
            if self.expires_at.is_some_and(|t| t <= now) {
                tracing::warn!(relayed = ?self.relayed, "turn: allocation expired before a refresh succeeded");
                self.lose_allocation(None);
                return;
            }
            if self.refresh_at.is_some_and(|t| t <= now) {
                self.refresh_at = None;
                let lifetime = self.config.lifetime.as_secs().clamp(1, u32::MAX as u64) as u32;
                if let Err(e) = self.send_request(now, Request::Refresh { lifetime }, 0) {
                    tracing::warn!(error = %e, "turn: cannot send Refresh");
                    self.refresh_at = Some(now + REFRESH_RETRY);
                }
            }
            self.permission_timers(now);
            self.channel_timers(now);
            if self.keepalive_at.is_some_and(|t| t <= now) {
                self.send_keepalive(now);
            }
        }
    }

    /// The next datagram to send from [`TurnClient::local`].
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<TurnEvent> {
        self.events.pop_front()
    }

    /// When [`TurnClient::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next = self.requests.poll_timeout();
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        if self.state == TurnState::Allocated {
            consider(self.expires_at);
            consider(self.refresh_at);
            consider(self.keepalive_at);
            for p in self.permissions.values() {
                consider(p.refresh_at);
                consider(p.installed_until);
                consider(p.retry_at);
            }
            for c in self.channels.values() {
                consider(c.refresh_at);
                consider(c.bound_until);
                consider(c.release_at);
            }
        }
        next
    }

    /// Forgets the allocation's state and abandons every request in flight.
    fn clear_allocation(&mut self) {
        for tid in std::mem::take(&mut self.pending).into_keys() {
            self.requests.cancel(&tid);
        }
        self.permissions.clear();
        self.channels.clear();
        self.channel_peers.clear();
        self.relayed = None;
        self.mapped = None;
        self.refresh_at = None;
        self.expires_at = None;
        self.keepalive_at = None;
    }

    fn lose_allocation(&mut self, code: Option<u16>) {
        self.clear_allocation();
        self.state = TurnState::Failed;
        self.events.push_back(TurnEvent::AllocationLost { code });
    }

    fn finish_close(&mut self) {
        if self.state == TurnState::Deallocating {
            tracing::debug!("turn: deallocated");
            self.clear_allocation();
            self.state = TurnState::Closed;
            self.events.push_back(TurnEvent::Deallocated);
        }
    }
}
