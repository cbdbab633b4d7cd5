//! A small TURN server (RFC 8656, UDP) for the simulator.
//!
//! See [`TurnServer`].

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use stun::attributes::{
    AddressFamily, AttributeType, ChannelNumber, Data, ErrorCode, Lifetime, Nonce, Realm,
    RequestedAddressFamily, RequestedTransport, Software, UnknownAttributes, Username,
    XorMappedAddress, XorPeerAddress, XorRelayedAddress,
};
use stun::attributes::{PasswordAlgorithmAttr, PasswordAlgorithmEntry, PasswordAlgorithms};
use stun::channel_data::CHANNEL_NUMBER_RANGE;
use stun::integrity::SecurityFeatures;
use stun::{
    ChannelData, Class, IntegrityKey, Message, MessageBuilder, Method, PacketKind,
    PasswordAlgorithm, TransactionId,
};

use crate::allocator::Transmit;

/// Counters of a [`TurnServer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TurnServerStats {
    /// Allocate requests (every transmission).
    pub allocate_requests: u64,
    /// Refresh requests.
    pub refresh_requests: u64,
    /// CreatePermission requests.
    pub create_permission_requests: u64,
    /// ChannelBind requests.
    pub channel_bind_requests: u64,
    /// 401 challenges sent.
    pub unauthenticated: u64,
    /// 438 Stale Nonce answers sent.
    pub stale_nonce: u64,
    /// Other error responses sent.
    pub errors: u64,
    /// Allocations created.
    pub allocations_created: u64,
    /// Send indications relayed to peers.
    pub send_indications: u64,
    /// ChannelData messages relayed to peers.
    pub channel_data_from_client: u64,
    /// Data indications sent to clients.
    pub data_indications: u64,
    /// ChannelData messages sent to clients.
    pub channel_data_to_client: u64,
    /// Datagrams dropped for want of a permission (either direction).
    pub dropped_no_permission: u64,
    /// Datagrams dropped otherwise (malformed, no allocation, unknown channel, …).
    pub dropped: u64,
}

#[derive(Debug)]
struct Allocation {
    relayed: SocketAddr,
    username: String,
    /// The Allocate that created it, and the response sent (for retransmissions).
    transaction_id: TransactionId,
    response: Bytes,
    expires_at: Instant,
    permissions: BTreeMap<IpAddr, Instant>,
    /// Channel number → (peer, expiry).
    channels: BTreeMap<u16, (SocketAddr, Instant)>,
}

impl Allocation {
    fn permitted(&self, now: Instant, ip: IpAddr) -> bool {
        self.permissions.get(&ip).is_some_and(|t| now < *t)
    }

    fn channel_of(&self, now: Instant, peer: SocketAddr) -> Option<u16> {
        self.channels
            .iter()
            .find(|(_, (p, t))| *p == peer && now < *t)
            .map(|(n, _)| *n)
    }
}

/// Why a request was refused, and how to answer.
enum Refusal {
    /// Unsigned error with REALM and NONCE (401, 438).
    Challenge(ErrorCode<'static>),
    /// Unsigned error (before authentication).
    Plain(ErrorCode<'static>),
    /// 420 with UNKNOWN-ATTRIBUTES, unsigned.
    Unknown(Vec<AttributeType>),
    /// Signed error (after authentication).
    Signed(ErrorCode<'static>, Box<IntegrityKey>),
}

fn signed(code: ErrorCode<'static>, key: IntegrityKey) -> Refusal {
    Refusal::Signed(code, Box::new(key))
}

/// A small TURN server (RFC 8656, UDP) for the simulator.
///
/// [`TurnServer`] is sans-IO like everything else: [`TurnServer::handle`]
/// takes a datagram addressed to the server or to one of its relayed
/// addresses, and [`TurnServer::poll_transmit`] yields what it sends back (to
/// clients from the server address, to peers from relayed addresses).
/// Time only comes with the datagrams: allocations, permissions and channels
/// expire lazily.
///
/// Supported: long-term credentials (MD5 key, or the algorithms of
/// [`TurnServer::offer_password_algorithms`]) with one realm and one nonce
/// ([`TurnServer::rotate_nonce`] makes the old nonce stale: 438), Allocate
/// (UDP relays on the server's IP, one port each), Refresh (LIFETIME 0
/// deletes), CreatePermission (several XOR-PEER-ADDRESS allowed),
/// ChannelBind, Send and Data indications, ChannelData both ways, and
/// unauthenticated Binding requests. Inbound peer traffic is relayed only
/// with a permission for the peer's IP; client traffic likewise.
/// Allocate retransmissions get the original response again (RFC 8656 §7.2).
///
/// Not supported (answered as noted): TCP relays (442), EVEN-PORT and
/// RESERVATION-TOKEN (420), IPv6 relays or IPv4 relays on an IPv6 server
/// (440), TCP/TLS transport to the server.
///
/// In a [`SimNetwork`](super::SimNetwork), add one with
/// [`add_turn_server`](super::SimNetwork::add_turn_server) and reach it (to
/// rotate its nonce, shorten its lifetimes, read its stats) with
/// [`turn_server_mut`](super::SimNetwork::turn_server_mut).
#[derive(Debug)]
pub struct TurnServer {
    addr: SocketAddr,
    realm: String,
    nonce: String,
    nonce_generation: u32,
    /// User → (MD5 key, SHA-256 key).
    users: BTreeMap<String, (IntegrityKey, IntegrityKey)>,
    /// PASSWORD-ALGORITHMS offered, in preference order (empty: an RFC 5389 server).
    password_algorithms: Vec<PasswordAlgorithm>,
    /// Client transport address → allocation.
    allocations: BTreeMap<SocketAddr, Allocation>,
    /// Relayed address → client transport address.
    relays: BTreeMap<SocketAddr, SocketAddr>,
    next_port: u16,
    transmits: VecDeque<Transmit>,
    /// Lifetime when the client asks for less or nothing (RFC 8656: 600 s).
    pub default_lifetime: Duration,
    /// Longest lifetime granted (RFC 8656 recommends 3600 s).
    pub max_lifetime: Duration,
    /// Permission lifetime (RFC 8656: 300 s).
    pub permission_lifetime: Duration,
    /// Channel binding lifetime (RFC 8656: 600 s).
    pub channel_lifetime: Duration,
    /// Most allocations at once (486 beyond).
    pub max_allocations: usize,
    /// Most permissions or channels per allocation (508 beyond).
    pub max_per_allocation: usize,
    /// Counters.
    pub stats: TurnServerStats,
}

impl TurnServer {
    /// A server listening on `addr` with realm `realm` and no users.
    pub fn new(addr: SocketAddr, realm: &str) -> TurnServer {
        TurnServer {
            addr,
            realm: realm.to_owned(),
            nonce: String::new(),
            nonce_generation: 0,
            users: BTreeMap::new(),
            password_algorithms: Vec::new(),
            allocations: BTreeMap::new(),
            relays: BTreeMap::new(),
            next_port: 49_152,
            transmits: VecDeque::new(),
            default_lifetime: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(3600),
            permission_lifetime: Duration::from_secs(300),
            channel_lifetime: Duration::from_secs(600),
            max_allocations: 1024,
            max_per_allocation: 1024,
            stats: TurnServerStats::default(),
        }
        .with_fresh_nonce()
    }

    fn with_fresh_nonce(mut self) -> TurnServer {
        self.rotate_nonce();
        self
    }

    /// Adds a long-term credential user. Panics if the password or realm are
    /// not valid OpaqueString (a test setup error).
    pub fn add_user(&mut self, username: &str, password: &str) {
        let key = |algorithm| {
            IntegrityKey::long_term(username, &self.realm, password, algorithm)
                .expect("valid realm and password")
        };
        let keys = (key(PasswordAlgorithm::Md5), key(PasswordAlgorithm::Sha256));
        self.users.insert(username.to_owned(), keys);
    }

    /// Offers RFC 8489's password algorithms, in this order of preference:
    /// the nonce then starts with the cookie announcing them, challenges
    /// carry PASSWORD-ALGORITHMS, requests must echo it with the
    /// PASSWORD-ALGORITHM chosen and be signed with MESSAGE-INTEGRITY-SHA256
    /// (400 otherwise), and responses are signed the same way. An empty list
    /// goes back to RFC 5389 (MD5 key, MESSAGE-INTEGRITY). The nonce changes.
    pub fn offer_password_algorithms(&mut self, algorithms: &[PasswordAlgorithm]) {
        self.password_algorithms = algorithms.to_vec();
        self.rotate_nonce();
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The current nonce.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// Replaces the nonce: requests carrying the old one get 438 Stale Nonce.
    pub fn rotate_nonce(&mut self) {
        self.nonce_generation += 1;
        let cookie = if self.password_algorithms.is_empty() {
            String::new()
        } else {
            SecurityFeatures {
                password_algorithms: true,
                username_anonymity: false,
            }
            .nonce_prefix()
        };
        self.nonce = format!("{cookie}sim-nonce-{:08x}", self.nonce_generation);
    }

    /// True when a datagram to `destination` is for this server (its
    /// listening address or one of its relayed addresses).
    pub fn owns(&self, destination: SocketAddr) -> bool {
        destination == self.addr || self.relays.contains_key(&destination)
    }

    /// Live allocations at `now`.
    pub fn allocation_count(&self, now: Instant) -> usize {
        self.allocations
            .values()
            .filter(|a| now < a.expires_at)
            .count()
    }

    /// The relayed address of the allocation of `client` (its transport
    /// address as the server sees it), if live at `now`.
    pub fn relayed_address(&self, now: Instant, client: SocketAddr) -> Option<SocketAddr> {
        self.allocations
            .get(&client)
            .filter(|a| now < a.expires_at)
            .map(|a| a.relayed)
    }

    /// True when the allocation at `relayed` has a live permission for `peer`.
    pub fn has_permission(&self, now: Instant, relayed: SocketAddr, peer: IpAddr) -> bool {
        self.relays
            .get(&relayed)
            .and_then(|c| self.allocations.get(c))
            .is_some_and(|a| now < a.expires_at && a.permitted(now, peer))
    }

    /// The channel bound to `peer` on the allocation at `relayed`, if live.
    pub fn channel(&self, now: Instant, relayed: SocketAddr, peer: SocketAddr) -> Option<u16> {
        self.relays
            .get(&relayed)
            .and_then(|c| self.allocations.get(c))
            .filter(|a| now < a.expires_at)
            .and_then(|a| a.channel_of(now, peer))
    }

    /// The next datagram the server sends.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Handles a datagram from `source` to `destination` (the server address
    /// or a relayed address) at `now`.
    pub fn handle(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        self.expire(now);
        if destination == self.addr {
            self.on_client_datagram(now, source, data);
        } else if let Some(&client) = self.relays.get(&destination) {
            self.on_peer_datagram(now, client, source, data);
        } else {
            self.stats.dropped += 1;
        }
    }

    fn expire(&mut self, now: Instant) {
        let relays = &mut self.relays;
        self.allocations.retain(|client, a| {
            let live = now < a.expires_at;
            if !live {
                tracing::debug!(%client, relayed = %a.relayed, "sim turn: allocation expired");
                relays.remove(&a.relayed);
            }
            live
        });
        for a in self.allocations.values_mut() {
            a.permissions.retain(|_, t| now < *t);
            a.channels.retain(|_, (_, t)| now < *t);
        }
    }

    fn send(&mut self, source: SocketAddr, destination: SocketAddr, contents: Bytes) {
        self.transmits.push_back(Transmit {
            transport: crate::candidate::TransportProtocol::Udp,
            source,
            destination,
            contents,
        });
    }

    /// A peer sent `data` to the relayed address of `client`'s allocation.
    fn on_peer_datagram(
        &mut self,
        now: Instant,
        client: SocketAddr,
        peer: SocketAddr,
        data: &[u8],
    ) {
        let Some(a) = self.allocations.get(&client) else {
            self.stats.dropped += 1;
            return;
        };
        if !a.permitted(now, peer.ip()) {
            tracing::trace!(%peer, relayed = %a.relayed, "sim turn: no permission, dropped");
            self.stats.dropped_no_permission += 1;
            return;
        }
        if data.len() > u16::MAX as usize - 64 {
            self.stats.dropped += 1;
            return;
        }
        let contents = match a.channel_of(now, peer) {
            Some(channel) => {
                let mut buf = vec![0u8; 4 + data.len() + 3];
                // Padded, as over TCP: clients must accept both on UDP.
                let Ok(n) = ChannelData::encode(channel, data, &mut buf, true) else {
                    self.stats.dropped += 1;
                    return;
                };
                buf.truncate(n);
                self.stats.channel_data_to_client += 1;
                Bytes::from(buf)
            }
            None => {
                let mut buf = vec![0u8; 20 + 24 + 4 + data.len() + 3];
                let tid = data_indication_tid(self.stats.data_indications);
                let n = MessageBuilder::new(&mut buf, Class::Indication, Method::DATA, tid)
                    .and_then(|mut b| {
                        b.add(&XorPeerAddress(peer))?;
                        b.add(&Data(data))?;
                        Ok(b.finish())
                    });
                let Ok(n) = n else {
                    self.stats.dropped += 1;
                    return;
                };
                buf.truncate(n);
                self.stats.data_indications += 1;
                Bytes::from(buf)
            }
        };
        self.send(self.addr, client, contents);
    }

    fn on_client_datagram(&mut self, now: Instant, client: SocketAddr, data: &[u8]) {
        match stun::classify(data) {
            PacketKind::ChannelData => self.channel_data_from_client(now, client, data),
            PacketKind::Stun => match Message::parse(data) {
                Ok(msg) if msg.verify_fingerprint_if_present().is_ok() => {
                    self.stun_from_client(now, client, &msg)
                }
                _ => self.stats.dropped += 1,
            },
            _ => self.stats.dropped += 1,
        }
    }

    fn channel_data_from_client(&mut self, now: Instant, client: SocketAddr, data: &[u8]) {
        let (Ok(cd), Some(a)) = (ChannelData::parse(data), self.allocations.get(&client)) else {
            self.stats.dropped += 1;
            return;
        };
        let Some(&(peer, _)) = a.channels.get(&cd.channel).filter(|(_, t)| now < *t) else {
            self.stats.dropped += 1;
            return;
        };
        if !a.permitted(now, peer.ip()) {
            self.stats.dropped_no_permission += 1;
            return;
        }
        let relayed = a.relayed;
        self.stats.channel_data_from_client += 1;
        self.send(relayed, peer, Bytes::copy_from_slice(cd.data));
    }

    fn stun_from_client(&mut self, now: Instant, client: SocketAddr, msg: &Message<'_>) {
        match (msg.class(), msg.method()) {
            (Class::Indication, Method::SEND) => self.send_indication(now, client, msg),
            (Class::Indication, _) => {} // Binding indications are keepalives.
            (Class::Request, Method::BINDING) => {
                let tid = msg.transaction_id();
                let response =
                    self.build(Class::SuccessResponse, Method::BINDING, tid, None, |b| {
                        b.add(&XorMappedAddress(client))?;
                        Ok(())
                    });
                self.send(self.addr, client, response);
            }
            (Class::Request, method) => {
                let result = self.request(now, client, msg);
                let tid = msg.transaction_id();
                let response = match result {
                    Ok(response) => response,
                    Err(Refusal::Challenge(code)) => {
                        if code.code == 401 {
                            self.stats.unauthenticated += 1;
                        } else {
                            self.stats.stale_nonce += 1;
                        }
                        let (realm, nonce) = (self.realm.clone(), self.nonce.clone());
                        let offered = self.offered_algorithms();
                        self.build(Class::ErrorResponse, method, tid, None, |b| {
                            b.add(&code)?;
                            b.add(&Realm(&realm))?;
                            b.add(&Nonce(&nonce))?;
                            if !offered.is_empty() {
                                b.add(&PasswordAlgorithms::Entries(&offered))?;
                            }
                            Ok(())
                        })
                    }
                    Err(Refusal::Plain(code)) => {
                        self.stats.errors += 1;
                        self.build(Class::ErrorResponse, method, tid, None, |b| {
                            b.add(&code)?;
                            Ok(())
                        })
                    }
                    Err(Refusal::Unknown(types)) => {
                        self.stats.errors += 1;
                        self.build(Class::ErrorResponse, method, tid, None, |b| {
                            b.add(&ErrorCode::UNKNOWN_ATTRIBUTE)?;
                            b.add(&UnknownAttributes::from_types(&types))?;
                            Ok(())
                        })
                    }
                    Err(Refusal::Signed(code, key)) => {
                        self.stats.errors += 1;
                        self.build(Class::ErrorResponse, method, tid, Some(&*key), |b| {
                            b.add(&code)?;
                            Ok(())
                        })
                    }
                };
                self.send(self.addr, client, response);
            }
            _ => self.stats.dropped += 1,
        }
    }

    /// Encodes a response; attributes from `add`, then SOFTWARE, integrity
    /// with `key`, FINGERPRINT.
    fn build(
        &self,
        class: Class,
        method: Method,
        tid: TransactionId,
        key: Option<&IntegrityKey>,
        add: impl FnOnce(&mut MessageBuilder<'_>) -> Result<(), stun::Error>,
    ) -> Bytes {
        let mut buf = vec![0u8; 2048];
        let n = MessageBuilder::new(&mut buf, class, method, tid).and_then(|mut b| {
            add(&mut b)?;
            b.add(&Software("peerstack-sim-turn"))?;
            match key {
                Some(key) if self.password_algorithms.is_empty() => {
                    b.add_message_integrity(key)?;
                }
                Some(key) => {
                    b.add_message_integrity_sha256(key)?;
                }
                None => {}
            }
            b.add_fingerprint()?;
            Ok(b.finish())
        });
        // Every attribute written here is small: encoding cannot fail.
        let n = n.expect("response fits in 2048 bytes");
        buf.truncate(n);
        Bytes::from(buf)
    }

    /// Authenticates the request (RFC 8489 §9.2.4) and returns the user and key.
    fn authenticate(&self, msg: &Message<'_>) -> Result<(String, IntegrityKey), Refusal> {
        if !msg.has_integrity() {
            return Err(Refusal::Challenge(ErrorCode::UNAUTHENTICATED));
        }
        let (Ok(Some(Username(user))), Ok(Some(Realm(realm))), Ok(Some(Nonce(nonce)))) = (
            msg.get::<Username<'_>>(),
            msg.get::<Realm<'_>>(),
            msg.get::<Nonce<'_>>(),
        ) else {
            return Err(Refusal::Plain(ErrorCode::BAD_REQUEST));
        };
        if nonce != self.nonce {
            return Err(Refusal::Challenge(ErrorCode::STALE_NONCE));
        }
        let Some(keys) = self.users.get(user).filter(|_| realm == self.realm) else {
            return Err(Refusal::Challenge(ErrorCode::UNAUTHENTICATED));
        };
        let key = if self.password_algorithms.is_empty() {
            &keys.0
        } else {
            // RFC 8489 §9.2.4: PASSWORD-ALGORITHMS as we sent it, one of them
            // chosen, and the SHA-256 integrity; 400 otherwise.
            let offered = self.offered_algorithms();
            let echoed = match msg.get::<PasswordAlgorithms<'_>>() {
                Ok(Some(list)) => list.iter().eq(offered.iter().copied()),
                _ => false,
            };
            let chosen = match msg.get::<PasswordAlgorithmAttr<'_>>() {
                Ok(Some(PasswordAlgorithmAttr(entry))) => {
                    PasswordAlgorithm::from_number(entry.algorithm)
                        .filter(|a| self.password_algorithms.contains(a))
                }
                _ => None,
            };
            let (true, Some(chosen), true) = (echoed, chosen, msg.has_integrity_sha256()) else {
                return Err(Refusal::Plain(ErrorCode::BAD_REQUEST));
            };
            match chosen {
                PasswordAlgorithm::Md5 => &keys.0,
                PasswordAlgorithm::Sha256 => &keys.1,
            }
        };
        if msg.verify_integrity(key).is_err() {
            return Err(Refusal::Challenge(ErrorCode::UNAUTHENTICATED));
        }
        Ok((user.to_owned(), key.clone()))
    }

    fn offered_algorithms(&self) -> Vec<PasswordAlgorithmEntry<'static>> {
        self.password_algorithms
            .iter()
            .map(|a| PasswordAlgorithmEntry {
                algorithm: a.number(),
                parameters: &[],
            })
            .collect()
    }

    fn request(
        &mut self,
        now: Instant,
        client: SocketAddr,
        msg: &Message<'_>,
    ) -> Result<Bytes, Refusal> {
        match msg.method() {
            Method::ALLOCATE => self.stats.allocate_requests += 1,
            Method::REFRESH => self.stats.refresh_requests += 1,
            Method::CREATE_PERMISSION => self.stats.create_permission_requests += 1,
            Method::CHANNEL_BIND => self.stats.channel_bind_requests += 1,
            _ => return Err(Refusal::Plain(ErrorCode::BAD_REQUEST)),
        }
        let unknown: Vec<AttributeType> = msg.unknown_comprehension_required().collect();
        if !unknown.is_empty() {
            return Err(Refusal::Unknown(unknown));
        }
        let (user, key) = self.authenticate(msg)?;
        if msg.typed_attributes().any(|a| a.is_err()) {
            return Err(signed(ErrorCode::BAD_REQUEST, key));
        }
        if msg.method() == Method::ALLOCATE {
            return self.allocate(now, client, msg, user, key);
        }
        let Some(a) = self.allocations.get(&client) else {
            return Err(signed(ErrorCode::ALLOCATION_MISMATCH, key));
        };
        if a.username != user {
            return Err(signed(ErrorCode::WRONG_CREDENTIALS, key));
        }
        match msg.method() {
            Method::REFRESH => self.refresh(now, client, msg, key),
            Method::CREATE_PERMISSION => self.create_permission(now, client, msg, key),
            _ => self.channel_bind(now, client, msg, key),
        }
    }

    fn lifetime(&self, requested: Option<u32>) -> Duration {
        match requested {
            None => self.default_lifetime,
            Some(s) => Duration::from_secs(s.into())
                .min(self.max_lifetime)
                .max(self.default_lifetime),
        }
    }

    fn allocate(
        &mut self,
        now: Instant,
        client: SocketAddr,
        msg: &Message<'_>,
        user: String,
        key: IntegrityKey,
    ) -> Result<Bytes, Refusal> {
        let tid = msg.transaction_id();
        if let Some(a) = self.allocations.get(&client) {
            if a.transaction_id == tid {
                // A retransmission: the same answer again.
                return Ok(a.response.clone());
            }
            return Err(signed(ErrorCode::ALLOCATION_MISMATCH, key));
        }
        match msg.get::<RequestedTransport>() {
            Ok(Some(RequestedTransport::UDP)) => {}
            Ok(Some(_)) => return Err(signed(ErrorCode::UNSUPPORTED_TRANSPORT, key)),
            _ => return Err(signed(ErrorCode::BAD_REQUEST, key)),
        }
        if msg.has(AttributeType::EVEN_PORT) || msg.has(AttributeType::RESERVATION_TOKEN) {
            return Err(Refusal::Unknown(
                [AttributeType::EVEN_PORT, AttributeType::RESERVATION_TOKEN]
                    .into_iter()
                    .filter(|t| msg.has(*t))
                    .collect(),
            ));
        }
        let family = if self.addr.is_ipv4() {
            AddressFamily::V4
        } else {
            AddressFamily::V6
        };
        let wants = msg
            .get::<RequestedAddressFamily>()
            .ok()
            .flatten()
            .map_or(AddressFamily::V4, |f| f.0);
        if wants != family || msg.has(AttributeType::ADDITIONAL_ADDRESS_FAMILY) {
            return Err(signed(
                ErrorCode {
                    code: 440,
                    reason: "Address Family not Supported",
                },
                key,
            ));
        }
        if self.allocations.len() >= self.max_allocations {
            return Err(signed(ErrorCode::ALLOCATION_QUOTA_REACHED, key));
        }
        let Some(relayed) = self.free_relay_port() else {
            return Err(signed(ErrorCode::INSUFFICIENT_CAPACITY, key));
        };
        let lifetime = self.lifetime(msg.get::<Lifetime>().ok().flatten().map(|l| l.0));
        let secs = lifetime.as_secs() as u32;
        let response = self.build(
            Class::SuccessResponse,
            Method::ALLOCATE,
            tid,
            Some(&key),
            |b| {
                b.add(&XorRelayedAddress(relayed))?;
                b.add(&Lifetime(secs))?;
                b.add(&XorMappedAddress(client))?;
                Ok(())
            },
        );
        tracing::debug!(%client, %relayed, ?lifetime, "sim turn: allocated");
        self.stats.allocations_created += 1;
        self.relays.insert(relayed, client);
        self.allocations.insert(
            client,
            Allocation {
                relayed,
                username: user,
                transaction_id: tid,
                response: response.clone(),
                expires_at: now + lifetime,
                permissions: BTreeMap::new(),
                channels: BTreeMap::new(),
            },
        );
        Ok(response)
    }

    fn free_relay_port(&mut self) -> Option<SocketAddr> {
        for _ in 0..=(u16::MAX - 49_152) {
            let port = self.next_port;
            self.next_port = if port == u16::MAX { 49_152 } else { port + 1 };
            let addr = SocketAddr::new(self.addr.ip(), port);
            if addr != self.addr && !self.relays.contains_key(&addr) {
                return Some(addr);
            }
        }
        None
    }

    fn refresh(
        &mut self,
        now: Instant,
        client: SocketAddr,
        msg: &Message<'_>,
        key: IntegrityKey,
    ) -> Result<Bytes, Refusal> {
        let requested = msg.get::<Lifetime>().ok().flatten().map(|l| l.0);
        let lifetime = if requested == Some(0) {
            Duration::ZERO
        } else {
            self.lifetime(requested)
        };
        if lifetime.is_zero() {
            if let Some(a) = self.allocations.remove(&client) {
                tracing::debug!(%client, relayed = %a.relayed, "sim turn: deallocated");
                self.relays.remove(&a.relayed);
            }
        } else if let Some(a) = self.allocations.get_mut(&client) {
            a.expires_at = now + lifetime;
        }
        let secs = lifetime.as_secs() as u32;
        Ok(self.build(
            Class::SuccessResponse,
            Method::REFRESH,
            msg.transaction_id(),
            Some(&key),
            |b| {
                b.add(&Lifetime(secs))?;
                Ok(())
            },
        ))
    }

    fn peer_addresses(
        &self,
        msg: &Message<'_>,
        key: &IntegrityKey,
    ) -> Result<Vec<SocketAddr>, Refusal> {
        let tid = msg.transaction_id_bytes();
        let mut peers = Vec::new();
        for raw in msg
            .attributes()
            .filter(|r| r.typ == AttributeType::XOR_PEER_ADDRESS)
        {
            use stun::StunAttribute;
            let Ok(XorPeerAddress(peer)) = XorPeerAddress::decode(raw.value, tid) else {
                return Err(signed(ErrorCode::BAD_REQUEST, key.clone()));
            };
            if peer.is_ipv4() != self.addr.is_ipv4() {
                return Err(signed(
                    ErrorCode {
                        code: 443,
                        reason: "Peer Address Family Mismatch",
                    },
                    key.clone(),
                ));
            }
            peers.push(peer);
        }
        if peers.is_empty() {
            return Err(signed(ErrorCode::BAD_REQUEST, key.clone()));
        }
        Ok(peers)
    }

    fn create_permission(
        &mut self,
        now: Instant,
        client: SocketAddr,
        msg: &Message<'_>,
        key: IntegrityKey,
    ) -> Result<Bytes, Refusal> {
        let peers = self.peer_addresses(msg, &key)?;
        let lifetime = self.permission_lifetime;
        let max = self.max_per_allocation;
        let a = self
            .allocations
            .get_mut(&client)
            .expect("checked by caller");
        let new = peers
            .iter()
            .filter(|p| !a.permissions.contains_key(&p.ip()))
            .count();
        if a.permissions.len() + new > max {
            return Err(signed(ErrorCode::INSUFFICIENT_CAPACITY, key));
        }
        for peer in peers {
            tracing::trace!(%client, peer = %peer.ip(), "sim turn: permission");
            a.permissions.insert(peer.ip(), now + lifetime);
        }
        Ok(self.build(
            Class::SuccessResponse,
            Method::CREATE_PERMISSION,
            msg.transaction_id(),
            Some(&key),
            |_| Ok(()),
        ))
    }

    fn channel_bind(
        &mut self,
        now: Instant,
        client: SocketAddr,
        msg: &Message<'_>,
        key: IntegrityKey,
    ) -> Result<Bytes, Refusal> {
        let peers = self.peer_addresses(msg, &key)?;
        let Ok(Some(ChannelNumber(channel))) = msg.get::<ChannelNumber>() else {
            return Err(signed(ErrorCode::BAD_REQUEST, key));
        };
        if peers.len() != 1 || !CHANNEL_NUMBER_RANGE.contains(&channel) {
            return Err(signed(ErrorCode::BAD_REQUEST, key));
        }
        let peer = peers[0];
        let (channel_lifetime, permission_lifetime, max) = (
            self.channel_lifetime,
            self.permission_lifetime,
            self.max_per_allocation,
        );
        let a = self
            .allocations
            .get_mut(&client)
            .expect("checked by caller");
        // The number must be free or bound to this peer, and the peer unbound or on this number.
        let number_taken = a.channels.get(&channel).is_some_and(|(p, _)| *p != peer);
        let peer_elsewhere = a.channel_of(now, peer).is_some_and(|n| n != channel);
        if number_taken || peer_elsewhere {
            return Err(signed(ErrorCode::BAD_REQUEST, key));
        }
        if !a.channels.contains_key(&channel) && a.channels.len() >= max {
            return Err(signed(ErrorCode::INSUFFICIENT_CAPACITY, key));
        }
        tracing::trace!(%client, %peer, channel, "sim turn: channel bound");
        a.channels.insert(channel, (peer, now + channel_lifetime));
        let until = now + permission_lifetime;
        let p = a.permissions.entry(peer.ip()).or_insert(until);
        *p = (*p).max(until);
        Ok(self.build(
            Class::SuccessResponse,
            Method::CHANNEL_BIND,
            msg.transaction_id(),
            Some(&key),
            |_| Ok(()),
        ))
    }

    fn send_indication(&mut self, now: Instant, client: SocketAddr, msg: &Message<'_>) {
        let Some(a) = self.allocations.get(&client) else {
            self.stats.dropped += 1;
            return;
        };
        let (Ok(Some(XorPeerAddress(peer))), Ok(Some(Data(data)))) =
            (msg.get::<XorPeerAddress>(), msg.get::<Data<'_>>())
        else {
            self.stats.dropped += 1;
            return;
        };
        if !a.permitted(now, peer.ip()) {
            tracing::trace!(%peer, "sim turn: Send indication without permission dropped");
            self.stats.dropped_no_permission += 1;
            return;
        }
        let relayed = a.relayed;
        self.stats.send_indications += 1;
        self.send(relayed, peer, Bytes::copy_from_slice(data));
    }
}

/// Deterministic transaction ids for Data indications (they need no secrecy).
fn data_indication_tid(n: u64) -> TransactionId {
    let mut id = [0u8; 12];
    id[..8].copy_from_slice(&n.to_be_bytes());
    id[8..].copy_from_slice(b"simT");
    TransactionId(id)
}
