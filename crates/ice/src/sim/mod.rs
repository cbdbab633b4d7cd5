//! A deterministic network on virtual time, for testing ICE without sockets.
//!
//! [`SimNetwork`] carries datagrams between hosts with configurable latency,
//! jitter (which reorders), loss and duplication drawn from a seeded RNG, so a
//! run replays exactly. Hosts may sit behind NATs whose mapping and filtering
//! follow RFC 4787 (endpoint-independent, address-dependent, or
//! address-and-port-dependent), and STUN servers answer Binding requests
//! inside the network. [`AgentPair`] runs two [`IceAgent`]s over it with a
//! signalling channel, advancing time to the next event.
//!
//! Behind the `sim` feature (off by default): tests and benchmarks turn it on.

mod nat;
mod turn_server;

pub use nat::{Nat, NatBehavior};
pub use turn_server::{TurnServer, TurnServerStats};

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;

use crate::agent::{IceAgent, IceEvent, Receive};
use crate::allocator::Transmit;
use crate::candidate::Candidate;
use crate::candidate::TransportProtocol;
use crate::random::seeded_rng;

/// Link impairments applied to every datagram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// One-way delay.
    pub latency: Duration,
    /// Extra random delay, uniform in `[0, jitter]`; reorders datagrams.
    pub jitter: Duration,
    /// Probability a datagram is lost.
    pub loss: f64,
    /// Probability a datagram is delivered twice.
    pub duplicate: f64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Duration::from_millis(10),
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
        }
    }
}

/// A datagram (or TCP frame) delivered to a host socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The host socket it arrives on (for TCP: the candidate base).
    pub local: SocketAddr,
    /// UDP datagram or TCP frame.
    pub transport: TransportProtocol,
    /// The source as the host sees it (after NAT translation).
    pub source: SocketAddr,
    /// The bytes.
    pub data: Bytes,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Scheduled {
    at: Instant,
    seq: u64,
    transport: TransportProtocol,
    source: SocketAddr,
    destination: SocketAddr,
    data: Bytes,
}

/// Where an address lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Realm {
    Public,
    Behind(usize),
}

/// The virtual network.
#[derive(Debug)]
pub struct SimNetwork {
    link: LinkConfig,
    rng: ChaCha8Rng,
    hosts: HashMap<IpAddr, Realm>,
    nats: Vec<Nat>,
    stun_servers: Vec<(SocketAddr, stun::server::BindingServer)>,
    turn_servers: Vec<TurnServer>,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    /// Hosts whose traffic is dropped (a path that dies).
    blackholed: Vec<IpAddr>,
    /// TCP connections opened from active bases (port 9): (base, remote) → ephemeral port.
    tcp_connections: HashMap<(SocketAddr, SocketAddr), u16>,
    next_ephemeral: u16,
    /// Datagrams sent, delivered and dropped (by loss, NAT filtering, no route).
    pub stats: SimStats,
}

/// Counters of a [`SimNetwork`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Datagrams handed to the network.
    pub sent: u64,
    /// Datagrams delivered to hosts.
    pub delivered: u64,
    /// Lost to random loss.
    pub lost: u64,
    /// Dropped by NAT filtering, blackholes or missing routes.
    pub filtered: u64,
}

impl SimNetwork {
    /// An empty network with `link` behaviour; `seed` makes it replayable.
    pub fn new(seed: u64, link: LinkConfig) -> SimNetwork {
        SimNetwork {
            link,
            rng: seeded_rng(Some(seed)),
            hosts: HashMap::new(),
            nats: Vec::new(),
            stun_servers: Vec::new(),
            turn_servers: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            blackholed: Vec::new(),
            tcp_connections: HashMap::new(),
            next_ephemeral: 50_000,
            stats: SimStats::default(),
        }
    }

    /// Changes link behaviour from now on.
    pub fn set_link(&mut self, link: LinkConfig) {
        self.link = link;
    }

    /// Adds a NAT with a public address; returns its id for [`SimNetwork::add_host`].
    pub fn add_nat(
        &mut self,
        public_ip: IpAddr,
        mapping: NatBehavior,
        filtering: NatBehavior,
    ) -> usize {
        self.nats.push(Nat::new(public_ip, mapping, filtering));
        self.nats.len() - 1
    }

    /// Adds a host address, public or behind NAT `behind`.
    pub fn add_host(&mut self, ip: IpAddr, behind: Option<usize>) {
        self.hosts
            .insert(ip, behind.map_or(Realm::Public, Realm::Behind));
    }

    /// Adds a public STUN server answering Binding requests at `addr`.
    pub fn add_stun_server(&mut self, addr: SocketAddr) {
        self.stun_servers
            .push((addr, stun::server::BindingServer::new("sim")));
    }

    /// Adds a public TURN server at `addr` (realm `peerstack.sim`) with one
    /// user; its relayed addresses are on `addr`'s IP.
    pub fn add_turn_server(&mut self, addr: SocketAddr, username: &str, password: &str) {
        let mut server = TurnServer::new(addr, "peerstack.sim");
        server.add_user(username, password);
        self.turn_servers.push(server);
    }

    /// The TURN server at `addr`, to configure or inspect it.
    pub fn turn_server_mut(&mut self, addr: SocketAddr) -> Option<&mut TurnServer> {
        self.turn_servers.iter_mut().find(|t| t.addr() == addr)
    }

    /// Drops everything to and from `ip` from now on (or restores it).
    pub fn blackhole(&mut self, ip: IpAddr, on: bool) {
        self.blackholed.retain(|x| *x != ip);
        if on {
            self.blackholed.push(ip);
        }
    }

    fn realm_of(&self, ip: IpAddr) -> Option<Realm> {
        if let Some(r) = self.hosts.get(&ip) {
            return Some(*r);
        }
        if self.nats.iter().any(|n| n.public_ip() == ip)
            || self.stun_servers.iter().any(|(a, _)| a.ip() == ip)
            || self.turn_servers.iter().any(|t| t.addr().ip() == ip)
        {
            return Some(Realm::Public);
        }
        None
    }

    /// Sends a datagram at `now` from a host socket.
    pub fn send(&mut self, now: Instant, transmit: &Transmit) {
        self.stats.sent += 1;
        if self.blackholed.contains(&transmit.source.ip())
            || self.blackholed.contains(&transmit.destination.ip())
        {
            self.stats.filtered += 1;
            return;
        }
        let (Some(src_realm), Some(dst_realm)) = (
            self.realm_of(transmit.source.ip()),
            self.realm_of(transmit.destination.ip()),
        ) else {
            self.stats.filtered += 1;
            return;
        };
        // A private address is unreachable from outside its realm.
        if matches!(dst_realm, Realm::Behind(_)) && dst_realm != src_realm {
            self.stats.filtered += 1;
            return;
        }
        // Outbound translation when leaving a private realm.
        let mut source = transmit.source;
        if transmit.transport == TransportProtocol::Tcp && source.port() == 9 {
            // An active TCP candidate: the connection leaves from an ephemeral port.
            let key = (source, transmit.destination);
            let port = match self.tcp_connections.get(&key) {
                Some(p) => *p,
                None => {
                    self.next_ephemeral += 1;
                    self.tcp_connections.insert(key, self.next_ephemeral);
                    self.next_ephemeral
                }
            };
            source = SocketAddr::new(source.ip(), port);
        }
        if let Realm::Behind(n) = src_realm {
            if dst_realm != Realm::Behind(n) {
                source = self.nats[n].outbound(now, transmit.source, transmit.destination);
            }
        }
        let tcp = transmit.transport == TransportProtocol::Tcp;
        // TCP is reliable and ordered: no loss, duplication or jitter.
        if !tcp && self.rng_f64() < self.link.loss {
            self.stats.lost += 1;
            return;
        }
        let copies = if !tcp && self.rng_f64() < self.link.duplicate {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let jitter = if tcp || self.link.jitter.is_zero() {
                Duration::ZERO
            } else {
                self.link.jitter.mul_f64(self.rng_f64())
            };
            self.seq += 1;
            self.queue.push(Reverse(Scheduled {
                at: now + self.link.latency + jitter,
                seq: self.seq,
                transport: transmit.transport,
                source,
                destination: transmit.destination,
                data: transmit.contents.clone(),
            }));
        }
    }

    fn rng_f64(&mut self) -> f64 {
        self.rng.next_u32() as f64 / (u32::MAX as f64 + 1.0)
    }

    /// When the next datagram arrives.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse(s)| s.at)
    }

    /// The next datagram due at or before `now`, after inbound NAT translation
    /// and filtering. STUN servers answer internally.
    pub fn poll_delivery(&mut self, now: Instant) -> Option<Delivery> {
        loop {
            if self.queue.peek().is_none_or(|Reverse(s)| s.at > now) {
                return None;
            }
            let Reverse(s) = self.queue.pop()?;
            if let Some(i) = self
                .stun_servers
                .iter()
                .position(|(a, _)| *a == s.destination)
            {
                let mut out = [0u8; 1500];
                if let Some(n) = self.stun_servers[i].1.handle(&s.data, s.source, &mut out) {
                    let reply = Transmit {
                        source: s.destination,
                        destination: s.source,
                        transport: TransportProtocol::Udp,
                        contents: Bytes::copy_from_slice(&out[..n]),
                    };
                    self.send(now, &reply);
                }
                continue;
            }
            if let Some(t) = self.turn_servers.iter_mut().find(|t| t.owns(s.destination)) {
                t.handle(now, s.source, s.destination, &s.data);
                let replies: Vec<Transmit> = std::iter::from_fn(|| t.poll_transmit()).collect();
                for reply in &replies {
                    self.send(now, reply);
                }
                continue;
            }
            let mut destination = s.destination;
            if let Some(n) = self
                .nats
                .iter()
                .position(|n| n.public_ip() == s.destination.ip())
            {
                match self.nats[n].inbound(now, s.source, s.destination) {
                    Some(private) => destination = private,
                    None => {
                        self.stats.filtered += 1;
                        continue;
                    }
                }
            }
            if s.transport == TransportProtocol::Tcp {
                // Frames to an active connection's ephemeral port reach its base.
                if let Some(((base, _), _)) =
                    self.tcp_connections.iter().find(|((base, remote), port)| {
                        base.ip() == destination.ip()
                            && **port == destination.port()
                            && *remote == s.source
                    })
                {
                    destination = *base;
                }
            }
            if !self.hosts.contains_key(&destination.ip())
                || self.blackholed.contains(&destination.ip())
            {
                self.stats.filtered += 1;
                continue;
            }
            self.stats.delivered += 1;
            return Some(Delivery {
                local: destination,
                transport: s.transport,
                source: s.source,
                data: s.data,
            });
        }
    }
}

/// Two agents on a [`SimNetwork`] with trickled signalling, driven on virtual time.
#[derive(Debug)]
pub struct AgentPair {
    /// The network.
    pub net: SimNetwork,
    /// Agent A.
    pub a: IceAgent,
    /// Agent B.
    pub b: IceAgent,
    /// Virtual time now.
    pub now: Instant,
    /// The start of the run.
    pub start: Instant,
    /// Signalling delay for candidates (and whether to forward them at all).
    pub signalling: Option<Duration>,
    pending_signals: Vec<(Instant, bool, Candidate)>,
    /// Events seen, per agent (A = false, B = true), with their time.
    pub events: Vec<(Duration, bool, IceEvent)>,
    /// Application datagrams received, per agent.
    pub received: [Vec<Bytes>; 2],
    sockets: [Vec<SocketAddr>; 2],
}

impl AgentPair {
    /// Two agents on `net`, starting at `start`. Sockets are added by the caller.
    pub fn new(net: SimNetwork, a: IceAgent, b: IceAgent, start: Instant) -> AgentPair {
        AgentPair {
            net,
            a,
            b,
            now: start,
            start,
            signalling: Some(Duration::ZERO),
            pending_signals: Vec::new(),
            events: Vec::new(),
            received: [Vec::new(), Vec::new()],
            sockets: [Vec::new(), Vec::new()],
        }
    }

    /// Adds a socket at `addr` to agent A (`to_b = false`) or B. The address
    /// must be a host of the network.
    pub fn add_socket(&mut self, to_b: bool, addr: SocketAddr) {
        self.sockets[usize::from(to_b)].push(addr);
        let agent = if to_b { &mut self.b } else { &mut self.a };
        agent.add_local_socket(self.now, addr, crate::candidate::NetworkType::Ethernet);
    }

    /// Adds a TCP listener at `addr` to agent A or B: a passive candidate
    /// there and an active one on the same IP (base port 9).
    pub fn add_tcp_listener(&mut self, to_b: bool, addr: SocketAddr) {
        self.sockets[usize::from(to_b)].push(addr);
        self.sockets[usize::from(to_b)].push(SocketAddr::new(addr.ip(), 9));
        let agent = if to_b { &mut self.b } else { &mut self.a };
        agent.add_local_tcp_listener(self.now, addr, crate::candidate::NetworkType::Ethernet);
    }

    /// Both agents: no more sockets.
    pub fn finish_sockets(&mut self) {
        self.a.finish_local_sockets(self.now);
        self.b.finish_local_sockets(self.now);
    }

    /// Gives each agent the other's credentials.
    pub fn exchange_credentials(&mut self) {
        let (a, b) = (
            self.a.local_credentials().clone(),
            self.b.local_credentials().clone(),
        );
        self.a.set_remote_credentials(self.now, b);
        self.b.set_remote_credentials(self.now, a);
    }

    /// Sends application data from A (`from_b = false`) or B along the route.
    pub fn send_data(&mut self, from_b: bool, data: &[u8]) -> bool {
        let agent = if from_b { &mut self.b } else { &mut self.a };
        match agent.send(self.now, data) {
            Ok(t) => {
                self.net.send(self.now, &t);
                true
            }
            Err(_) => false,
        }
    }

    /// One round: flush transmits, deliver due datagrams, forward signals.
    fn pump(&mut self) {
        let now = self.now;
        for _ in 0..1000 {
            let mut progressed = false;
            while let Some(t) = self.a.poll_transmit(now) {
                self.net.send(now, &t);
                progressed = true;
            }
            while let Some(t) = self.b.poll_transmit(now) {
                self.net.send(now, &t);
                progressed = true;
            }
            while let Some(d) = self.net.poll_delivery(now) {
                progressed = true;
                let to_b = if self.sockets[1].contains(&d.local) {
                    true
                } else if self.sockets[0].contains(&d.local) {
                    false
                } else {
                    continue;
                };
                let agent = if to_b { &mut self.b } else { &mut self.a };
                let rx = Receive {
                    local: d.local,
                    source: d.source,
                    data: &d.data,
                };
                let r = match d.transport {
                    TransportProtocol::Udp => agent.handle_receive(now, rx),
                    TransportProtocol::Tcp => agent.handle_stream_frame(now, rx),
                };
                if let crate::agent::Received::Data(range) = r {
                    self.received[usize::from(to_b)].push(d.data.slice(range));
                }
            }
            for (is_b, agent) in [(false, &mut self.a), (true, &mut self.b)] {
                while let Some(e) = agent.poll_event() {
                    progressed = true;
                    if let IceEvent::LocalCandidate(c) = &e {
                        if let Some(delay) = self.signalling {
                            self.pending_signals.push((now + delay, is_b, c.clone()));
                        }
                    }
                    self.events.push((now - self.start, is_b, e));
                }
            }
            let due: Vec<_> = self
                .pending_signals
                .iter()
                .filter(|(t, _, _)| *t <= now)
                .cloned()
                .collect();
            self.pending_signals.retain(|(t, _, _)| *t > now);
            for (_, from_b, c) in due {
                progressed = true;
                let target = if from_b { &mut self.a } else { &mut self.b };
                let _ = target.add_remote_candidate(now, c);
            }
            if !progressed {
                return;
            }
        }
    }

    /// Advances virtual time until `done` holds or `limit` has passed; returns whether `done` held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&AgentPair) -> bool) -> bool {
        let deadline = self.now + limit;
        loop {
            self.pump();
            if done(self) {
                return true;
            }
            let next = [
                self.a.poll_timeout(),
                self.b.poll_timeout(),
                self.net.next_delivery(),
                self.pending_signals.iter().map(|(t, _, _)| *t).min(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next else { return false };
            if next > deadline {
                self.now = deadline;
                self.a.handle_timeout(self.now);
                self.b.handle_timeout(self.now);
                self.pump();
                return done(self);
            }
            // The agents' `now` contract: after their inputs at `now` (the
            // timeouts and deliveries `pump` just gave them), every timer they
            // report is later. One that is not would spin a real driver.
            for (name, timeout) in [("A", self.a.poll_timeout()), ("B", self.b.poll_timeout())] {
                if let Some(t) = timeout {
                    assert!(
                        t > self.now,
                        "agent {name}: poll_timeout at {:?} is not after its last input at {:?}",
                        t.saturating_duration_since(self.start),
                        self.now - self.start
                    );
                }
            }
            self.now = self.now.max(next);
            self.a.handle_timeout(self.now);
            self.b.handle_timeout(self.now);
        }
    }
}
