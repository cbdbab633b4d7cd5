//! The TURN client ([`TurnClient`], libwebrtc's TurnPort) against the
//! simulator's TURN server on virtual time, and against a real coturn on
//! 127.0.0.1.
//!
//! The virtual-time tests are deterministic: every run replays exactly. The
//! coturn tests are `#[ignore]`d (they need `turnserver` on `PATH`, and print
//! why they skip otherwise, unless `PEERSTACK_REQUIRE_PEERS=1` makes that a
//! failure, as `cargo xtask test-all`'s step `interop-ice-coturn` does); run
//! them in a loopback-only namespace with
//!
//! ```text
//! cargo test -p ice --test turn -- --ignored --test-threads=1 --nocapture
//! ```

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ice::port::{TurnClient, TurnConfig, TurnError, TurnEvent, TurnReceived, TurnState};
use ice::sim::{LinkConfig, NatBehavior, SimNetwork, TurnServer};
use ice::Transmit;
use stun::attributes::{
    AlternateServer, ErrorCode, Lifetime, Nonce, Realm, Username, XorMappedAddress, XorPeerAddress,
    XorRelayedAddress,
};
use stun::attributes::{PasswordAlgorithmAttr, PasswordAlgorithmEntry, PasswordAlgorithms};
use stun::integrity::SecurityFeatures;
use stun::{Class, IntegrityKey, Message, MessageBuilder, Method, PasswordAlgorithm};

const SERVER: &str = "198.18.100.2:3478";
const CLIENT: &str = "10.0.1.2:5000";
const NAT_IP: &str = "198.18.0.1";
const PEER: &str = "198.18.5.2:6000";
const STRANGER: &str = "198.18.6.2:7000";
const REALM: &str = "peerstack.sim";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// ---------------------------------------------------------------------------
// Virtual-time harness
// ---------------------------------------------------------------------------

/// A TURN client at 10.0.1.2 behind a NAT (symmetric unless told otherwise),
/// the sim TURN server, and two plain public hosts (the peer and a stranger).
struct Harness {
    net: SimNetwork,
    client: TurnClient,
    now: Instant,
    start: Instant,
    /// Client events with their time since the start.
    events: Vec<(Duration, TurnEvent)>,
    /// Everything the client sent, in order.
    sent: Vec<Bytes>,
    /// Relayed data the client got: peer, payload, first byte of the datagram.
    client_data: Vec<(SocketAddr, Vec<u8>, u8)>,
    /// Datagrams delivered to other hosts: (host socket, source, bytes).
    host_data: Vec<(SocketAddr, SocketAddr, Bytes)>,
}

impl Harness {
    fn new(seed: u64, configure: impl FnOnce(&mut TurnConfig)) -> Harness {
        Harness::with_nat(
            seed,
            LinkConfig::default(),
            Some((
                NatBehavior::AddressAndPortDependent,
                NatBehavior::AddressAndPortDependent,
            )),
            configure,
        )
    }

    fn with_nat(
        seed: u64,
        link: LinkConfig,
        nat: Option<(NatBehavior, NatBehavior)>,
        configure: impl FnOnce(&mut TurnConfig),
    ) -> Harness {
        let mut net = SimNetwork::new(seed, link);
        net.add_turn_server(addr(SERVER), "user", "pass");
        let behind = nat.map(|(m, f)| net.add_nat(NAT_IP.parse().unwrap(), m, f));
        net.add_host(addr(CLIENT).ip(), behind);
        net.add_host(addr(PEER).ip(), None);
        net.add_host(addr(STRANGER).ip(), None);
        let mut config = TurnConfig::new(addr(SERVER), "user", "pass");
        config.seed = Some(seed);
        configure(&mut config);
        let start = Instant::now();
        Harness {
            net,
            client: TurnClient::new(config, addr(CLIENT)),
            now: start,
            start,
            events: Vec::new(),
            sent: Vec::new(),
            client_data: Vec::new(),
            host_data: Vec::new(),
        }
    }

    fn server(&mut self) -> &mut TurnServer {
        self.net.turn_server_mut(addr(SERVER)).unwrap()
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    fn transmit(&mut self, t: &Transmit) {
        assert_eq!(t.source, addr(CLIENT));
        self.sent.push(t.contents.clone());
        self.net.send(self.now, t);
    }

    fn pump(&mut self) {
        let now = self.now;
        loop {
            let mut progressed = false;
            while let Some(t) = self.client.poll_transmit() {
                self.transmit(&t);
                progressed = true;
            }
            while let Some(d) = self.net.poll_delivery(now) {
                progressed = true;
                if d.local == addr(CLIENT) {
                    match self.client.handle_receive(now, d.source, &d.data) {
                        TurnReceived::Data { peer, data } => {
                            self.client_data.push((peer, data.to_vec(), d.data[0]))
                        }
                        TurnReceived::Consumed => {}
                        // Only late duplicates of answered responses are refused.
                        TurnReceived::NotMine => assert!(
                            Message::parse(&d.data).is_ok_and(|m| m.class().is_response()),
                            "unexpected datagram from {}",
                            d.source
                        ),
                    }
                } else {
                    self.host_data.push((d.local, d.source, d.data));
                }
            }
            while let Some(e) = self.client.poll_event() {
                self.events.push((now - self.start, e));
                progressed = true;
            }
            if !progressed {
                return;
            }
        }
    }

    /// Advances virtual time until `done` holds or `limit` passed.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Harness) -> bool) -> bool {
        let deadline = self.now + limit;
        let mut stalled = 0u32;
        loop {
            self.pump();
            if done(self) {
                return true;
            }
            let next = [self.client.poll_timeout(), self.net.next_delivery()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(next) if next <= deadline => {
                    if next <= self.now {
                        stalled += 1;
                        assert!(stalled < 10_000, "livelock at {:?}", self.elapsed());
                    } else {
                        stalled = 0;
                    }
                    self.now = self.now.max(next);
                    self.client.handle_timeout(self.now);
                }
                _ => {
                    self.now = deadline;
                    self.client.handle_timeout(self.now);
                    self.pump();
                    return done(self);
                }
            }
        }
    }

    fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }

    fn has_event(&self, f: impl Fn(&TurnEvent) -> bool) -> bool {
        self.events.iter().any(|(_, e)| f(e))
    }

    fn count_events(&self, f: impl Fn(&TurnEvent) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| f(e)).count()
    }

    /// Allocates and returns the relayed address.
    fn allocate(&mut self) -> SocketAddr {
        self.client.allocate(self.now).unwrap();
        assert!(
            self.run_until(secs(60), |h| h.client.state() == TurnState::Allocated),
            "allocated; events {:?}",
            self.events
        );
        self.client.relayed_address().unwrap()
    }

    /// Sends from the client the way a driver should: requests queued first
    /// (the CreatePermission a first send starts), then the data.
    fn client_send(&mut self, peer: SocketAddr, data: &[u8]) -> Bytes {
        let t = self.client.send_to(self.now, peer, data).unwrap();
        while let Some(q) = self.client.poll_transmit() {
            self.transmit(&q);
        }
        self.transmit(&t);
        t.contents
    }

    /// A plain host sends a datagram.
    fn host_send(&mut self, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        self.net.send(
            self.now,
            &Transmit {
                source: from,
                destination: to,
                transport: ice::TransportProtocol::Udp,
                contents: Bytes::copy_from_slice(data),
            },
        );
    }

    fn host_got(&self, host: SocketAddr, data: &[u8]) -> Vec<SocketAddr> {
        self.host_data
            .iter()
            .filter(|(h, _, d)| *h == host && d.as_ref() == data)
            .map(|(_, s, _)| *s)
            .collect()
    }

    fn client_got(&self, data: &[u8]) -> Vec<(SocketAddr, u8)> {
        self.client_data
            .iter()
            .filter(|(_, d, _)| d.as_slice() == data)
            .map(|(p, _, k)| (*p, *k))
            .collect()
    }
}

/// The requests the client sent, decoded: (method, has MESSAGE-INTEGRITY).
fn sent_requests(h: &Harness) -> Vec<(Method, bool)> {
    h.sent
        .iter()
        .filter_map(|b| Message::parse(b).ok())
        .filter(|m| m.class() == Class::Request)
        .map(|m| (m.method(), m.has_integrity()))
        .collect()
}

// ---------------------------------------------------------------------------
// Virtual-time tests
// ---------------------------------------------------------------------------

#[test]
fn allocation_with_the_401_dance() {
    let mut h = Harness::new(1, |_| {});
    let relayed = h.allocate();

    // Two round trips of 2 × 10 ms: the 401, then the authenticated Allocate.
    let (at, event) = h.events[0].clone();
    assert_eq!(at, ms(40));
    let TurnEvent::Allocated {
        relayed: r,
        mapped,
        lifetime,
    } = event
    else {
        panic!("first event {event:?}");
    };
    assert_eq!(r, relayed);
    assert_eq!(relayed.ip(), addr(SERVER).ip());
    assert_ne!(relayed.port(), addr(SERVER).port());
    // Behind the NAT: the server saw the NAT's public address.
    let mapped = mapped.unwrap();
    assert_eq!(mapped.ip().to_string(), NAT_IP);
    assert_eq!(h.client.mapped_address(), Some(mapped));
    assert_eq!(lifetime, secs(600));
    assert_eq!(h.client.realm(), Some(REALM));

    // On the wire: an unauthenticated Allocate, then one with the long-term credentials.
    let first = Message::parse(&h.sent[0]).unwrap();
    assert_eq!(
        (first.class(), first.method()),
        (Class::Request, Method::ALLOCATE)
    );
    assert!(!first.has_integrity());
    first.verify_fingerprint().unwrap();
    let nonce = h.server().nonce().to_owned();
    let second = Message::parse(&h.sent[1]).unwrap();
    assert_eq!(second.method(), Method::ALLOCATE);
    assert_eq!(
        second.get::<Username<'_>>().unwrap(),
        Some(Username("user"))
    );
    assert_eq!(second.get::<Realm<'_>>().unwrap(), Some(Realm(REALM)));
    assert_eq!(second.get::<Nonce<'_>>().unwrap(), Some(Nonce(&nonce)));
    let key = IntegrityKey::long_term("user", REALM, "pass", PasswordAlgorithm::Md5).unwrap();
    second.verify_integrity(&key).unwrap();
    second.verify_fingerprint().unwrap();

    let now = h.now;
    let stats = h.server().stats;
    assert_eq!(stats.allocate_requests, 2);
    assert_eq!(stats.unauthenticated, 1);
    assert_eq!(stats.allocations_created, 1);
    assert_eq!(h.server().relayed_address(now, mapped), Some(relayed));
    assert_eq!(h.server().allocation_count(now), 1);
}

#[test]
fn wrong_password_fails_with_401_without_looping() {
    let mut h = Harness::new(2, |c| c.password = "wrong".into());
    h.client.allocate(h.now).unwrap();
    h.run_for(secs(600));
    assert_eq!(
        h.events.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
        vec![TurnEvent::AllocationFailed { code: Some(401) }]
    );
    assert_eq!(h.client.state(), TurnState::Failed);
    assert_eq!(h.client.poll_timeout(), None, "nothing left to do");
    // The unauthenticated request and exactly one authenticated retry.
    assert_eq!(
        sent_requests(&h),
        vec![(Method::ALLOCATE, false), (Method::ALLOCATE, true)]
    );
    assert_eq!(h.server().stats.unauthenticated, 2);
    // Sending is refused without an allocation.
    assert_eq!(
        h.client.send_to(h.now, addr(PEER), b"x").unwrap_err(),
        TurnError::NotAllocated
    );
}

#[test]
fn unknown_user_fails_with_401() {
    let mut h = Harness::new(3, |c| c.username = "nobody".into());
    h.client.allocate(h.now).unwrap();
    h.run_for(secs(60));
    assert!(h.has_event(|e| *e == TurnEvent::AllocationFailed { code: Some(401) }));
    assert_eq!(h.server().stats.allocate_requests, 2);
}

#[test]
fn stale_nonce_is_retried_on_allocate_permission_and_refresh() {
    let mut h = Harness::new(4, |_| {});
    h.client.allocate(h.now).unwrap();
    // The 401 reaches the client at 20 ms and its authenticated Allocate the
    // server at 30 ms: rotate the nonce in between.
    h.run_for(ms(25));
    assert_eq!(h.server().stats.unauthenticated, 1);
    h.server().rotate_nonce();
    assert!(h.run_until(secs(5), |h| h.client.state() == TurnState::Allocated));
    assert_eq!(h.server().stats.stale_nonce, 1);
    assert_eq!(h.server().stats.allocate_requests, 3);
    assert_eq!(h.events[0].0, ms(60));

    // CreatePermission with a stale nonce.
    h.server().rotate_nonce();
    let peer_ip = addr(PEER).ip();
    h.client.create_permission(h.now, peer_ip).unwrap();
    assert!(h.run_until(secs(5), |h| h
        .has_event(|e| *e == TurnEvent::PermissionCreated(peer_ip))));
    assert_eq!(h.server().stats.stale_nonce, 2);
    assert_eq!(h.server().stats.create_permission_requests, 2);

    // Refresh with a stale nonce (the pinned permission is refreshed on the way, too).
    h.server().rotate_nonce();
    assert!(h.run_until(secs(600), |h| h
        .has_event(|e| matches!(e, TurnEvent::Refreshed { .. }))));
    assert!(h.server().stats.stale_nonce >= 3);
    assert_eq!(h.client.state(), TurnState::Allocated);
    assert!(!h.has_event(|e| matches!(
        e,
        TurnEvent::PermissionFailed { .. } | TurnEvent::AllocationLost { .. }
    )));
}

#[test]
fn refresh_timing() {
    let mut h = Harness::new(5, |_| {});
    h.allocate();
    h.run_for(secs(2 * 3600));
    let refreshes: Vec<Duration> = h
        .events
        .iter()
        .filter(|(_, e)| matches!(e, TurnEvent::Refreshed { lifetime } if *lifetime == secs(600)))
        .map(|(t, _)| *t)
        .collect();
    // Allocated at 40 ms; each refresh 540 s (lifetime − 60 s) after the
    // previous answer, answered 20 ms later.
    assert_eq!(refreshes.len(), 13, "{refreshes:?}");
    assert_eq!(refreshes[0], ms(40) + secs(540) + ms(20));
    for w in refreshes.windows(2) {
        assert_eq!(w[1] - w[0], secs(540) + ms(20));
    }
    let now = h.now;
    assert_eq!(h.server().stats.refresh_requests, 13);
    assert_eq!(h.server().allocation_count(now), 1);
    assert!(h.client.expires_at().unwrap() > now);

    // A short lifetime is refreshed at half of it.
    let mut h = Harness::new(6, |c| c.lifetime = secs(60));
    h.server().default_lifetime = secs(60);
    h.server().max_lifetime = secs(60);
    h.allocate();
    assert_eq!(h.client.lifetime(), secs(60));
    h.run_for(secs(300));
    let refreshes = h.count_events(|e| *e == TurnEvent::Refreshed { lifetime: secs(60) });
    assert_eq!(refreshes, 9, "every 30 s + 20 ms for 300 s");
    assert_eq!(h.client.state(), TurnState::Allocated);
}

#[test]
fn permission_channel_and_data_both_ways_through_a_symmetric_nat() {
    let mut h = Harness::new(7, |_| {});
    let relayed = h.allocate();
    let peer = addr(PEER);

    // First send: a Send indication, behind a CreatePermission and a ChannelBind.
    let first = h.client_send(peer, b"hello peer");
    assert!(Message::parse(&first).is_ok(), "a Send indication");
    let msg = Message::parse(&first).unwrap();
    assert_eq!(
        (msg.class(), msg.method()),
        (Class::Indication, Method::SEND)
    );
    assert_eq!(
        msg.get::<XorPeerAddress>().unwrap(),
        Some(XorPeerAddress(peer))
    );
    assert!(h.run_until(secs(1), |h| !h.host_got(peer, b"hello peer").is_empty()));
    assert_eq!(h.host_got(peer, b"hello peer"), vec![relayed]);

    assert!(h.run_until(secs(1), |h| {
        h.has_event(|e| *e == TurnEvent::PermissionCreated(peer.ip()))
            && h.has_event(|e| {
                *e == TurnEvent::ChannelBound {
                    peer,
                    channel: 0x4000,
                }
            })
    }));
    assert_eq!(h.client.channel(h.now, peer), Some(0x4000));
    assert!(h.client.has_permission(h.now, peer.ip()));

    // The peer answers the relayed address: ChannelData to the client.
    h.host_send(peer, relayed, b"hello client");
    assert!(h.run_until(secs(1), |h| !h.client_got(b"hello client").is_empty()));
    assert_eq!(h.client_got(b"hello client"), vec![(peer, 0x40)]);

    // Now the client sends ChannelData.
    let second = h.client_send(peer, b"over the channel");
    assert_eq!(&second[..4], &[0x40, 0x00, 0x00, 16]);
    assert!(h.run_until(secs(1), |h| !h
        .host_got(peer, b"over the channel")
        .is_empty()));
    assert_eq!(h.host_got(peer, b"over the channel"), vec![relayed]);

    // The same IP on another port has the permission (per IP) but no channel:
    // a Data indication.
    let other_port = SocketAddr::new(peer.ip(), 6001);
    h.host_send(other_port, relayed, b"from another port");
    assert!(h.run_until(secs(1), |h| !h.client_got(b"from another port").is_empty()));
    assert_eq!(h.client_got(b"from another port"), vec![(other_port, 0x00)]);

    // A stranger without permission is dropped by the server.
    let dropped = h.server().stats.dropped_no_permission;
    h.host_send(addr(STRANGER), relayed, b"let me in");
    h.run_for(secs(1));
    assert!(h.client_got(b"let me in").is_empty());
    assert_eq!(h.server().stats.dropped_no_permission, dropped + 1);

    let stats = h.server().stats;
    assert_eq!(stats.send_indications, 1);
    assert_eq!(stats.channel_data_from_client, 1);
    assert_eq!(stats.channel_data_to_client, 1);
    assert_eq!(stats.data_indications, 1);
    assert_eq!(
        h.count_events(|e| matches!(e, TurnEvent::PermissionCreated(_))),
        1
    );
}

#[test]
fn send_and_data_indications_then_an_explicit_channel() {
    let mut h = Harness::new(8, |c| c.auto_channel_bind = false);
    let relayed = h.allocate();
    let peer = addr(PEER);

    h.client.create_permission(h.now, peer.ip()).unwrap();
    assert!(h.run_until(secs(1), |h| h
        .has_event(|e| *e == TurnEvent::PermissionCreated(peer.ip()))));
    for i in 0..3u8 {
        let t = h.client_send(peer, &[b'a', i]);
        assert_eq!(t[0], 0x00, "Send indication");
        h.host_send(peer, relayed, &[b'b', i]);
    }
    h.run_for(secs(1));
    for i in 0..3u8 {
        assert_eq!(h.host_got(peer, &[b'a', i]), vec![relayed]);
        assert_eq!(h.client_got(&[b'b', i]), vec![(peer, 0x00)]);
    }
    assert_eq!(h.client.channel_count(), 0);
    assert_eq!(h.server().stats.send_indications, 3);
    assert_eq!(h.server().stats.data_indications, 3);

    let channel = h.client.bind_channel(h.now, peer).unwrap();
    assert_eq!(channel, 0x4000);
    assert!(h.run_until(secs(1), |h| h
        .has_event(|e| *e == TurnEvent::ChannelBound { peer, channel })));
    let now = h.now;
    assert_eq!(h.server().channel(now, relayed, peer), Some(channel));
    let t = h.client_send(peer, b"cd");
    assert_eq!(t[0], 0x40);
    h.host_send(peer, relayed, b"dc");
    h.run_for(secs(1));
    assert_eq!(h.host_got(peer, b"cd"), vec![relayed]);
    assert_eq!(h.client_got(b"dc"), vec![(peer, 0x40)]);
}

#[test]
fn created_permissions_are_kept_until_removed() {
    let mut h = Harness::new(18, |_| {});
    let relayed = h.allocate();
    let ip = addr(PEER).ip();
    h.client.create_permission(h.now, ip).unwrap();
    // Pinned: refreshed every 240 s although nothing is sent.
    h.run_for(secs(1000));
    assert!(h.client.has_permission(h.now, ip));
    let now = h.now;
    assert!(h.server().has_permission(now, relayed, ip));
    assert_eq!(h.server().stats.create_permission_requests, 5);

    h.client.remove_permission(ip);
    assert!(!h.client.has_permission(h.now, ip));
    h.run_for(secs(600));
    let now = h.now;
    assert!(!h.server().has_permission(now, relayed, ip));
    assert_eq!(h.server().stats.create_permission_requests, 5);
    assert_eq!(h.client.permission_count(), 0);
}

#[test]
fn permissions_and_channels_are_refreshed_while_in_use_and_lapse_when_idle() {
    let mut h = Harness::new(9, |_| {});
    let relayed = h.allocate();
    let peer = addr(PEER);

    // 30 minutes of traffic both ways every 20 s.
    let rounds = 90u32;
    for i in 0..rounds {
        let up = format!("up {i}");
        let down = format!("down {i}");
        h.client_send(peer, up.as_bytes());
        h.host_send(peer, relayed, down.as_bytes());
        h.run_for(secs(20));
        assert_eq!(h.host_got(peer, up.as_bytes()), vec![relayed], "round {i}");
        assert_eq!(h.client_got(down.as_bytes()).len(), 1, "round {i}");
    }
    let stats = h.server().stats;
    // Channels every 540 s (plus the first). Permissions every 240 s (plus
    // the first), except that a ChannelBind also refreshes the permission and
    // pushes its next CreatePermission back: 0, 240, 480, (bind at 540) 780,
    // 1020, (bind at 1080) 1320, 1560 s.
    assert_eq!(stats.create_permission_requests, 7, "{stats:?}");
    assert_eq!(stats.channel_bind_requests, 1 + 1800 / 540, "{stats:?}");
    assert_eq!(stats.dropped_no_permission, 0);
    assert_eq!(
        h.count_events(|e| matches!(e, TurnEvent::PermissionCreated(_))),
        1
    );
    assert_eq!(
        h.count_events(|e| matches!(e, TurnEvent::ChannelBound { .. })),
        1
    );

    // Idle for 30 minutes: the allocation lives on (refreshes, keepalives
    // through the NAT), the permission and the channel lapse (the channel,
    // used since its last bind at 1620 s, is re-bound once at 2160 s, expires
    // at 2760 s and its number is released 300 s later).
    h.run_for(secs(1800));
    assert_eq!(h.client.state(), TurnState::Allocated);
    assert_eq!(h.client.permission_count(), 0);
    assert_eq!(h.client.channel_count(), 0);
    let now = h.now;
    assert!(!h.server().has_permission(now, relayed, peer.ip()));
    h.host_send(peer, relayed, b"anyone there?");
    h.run_for(secs(1));
    assert!(h.client_got(b"anyone there?").is_empty());

    // Using the peer again brings both back.
    h.client_send(peer, b"back");
    assert!(h.run_until(secs(1), |h| h
        .count_events(|e| matches!(e, TurnEvent::ChannelBound { .. }))
        == 2));
    assert_eq!(h.host_got(peer, b"back"), vec![relayed]);
    assert!(!h.has_event(|e| matches!(e, TurnEvent::AllocationLost { .. })));
}

#[test]
fn keepalives_hold_the_nat_mapping_of_an_idle_allocation() {
    // The NAT forgets idle mappings after 120 s, the refresh comes at 540 s.
    let mut h = Harness::new(10, |_| {});
    h.allocate();
    h.run_for(secs(3600));
    assert_eq!(h.client.state(), TurnState::Allocated);
    assert!(h.count_events(|e| matches!(e, TurnEvent::Refreshed { .. })) >= 6);

    // Without keepalives the refresh leaves from a new NAT port: 437.
    let mut h = Harness::new(10, |c| c.keepalive = None);
    h.allocate();
    h.run_for(secs(3600));
    assert_eq!(h.client.state(), TurnState::Failed);
    assert!(h.has_event(|e| *e == TurnEvent::AllocationLost { code: Some(437) }));
}

#[test]
fn close_deallocates() {
    let mut h = Harness::new(11, |_| {});
    let relayed = h.allocate();
    let peer = addr(PEER);
    h.client_send(peer, b"x");
    assert!(h.run_until(secs(1), |h| h
        .has_event(|e| matches!(e, TurnEvent::ChannelBound { .. }))));

    h.client.close(h.now);
    assert_eq!(h.client.state(), TurnState::Deallocating);
    assert!(h.run_until(secs(1), |h| h.has_event(|e| *e == TurnEvent::Deallocated)));
    assert_eq!(h.client.state(), TurnState::Closed);
    assert_eq!(h.client.poll_timeout(), None);
    let last = Message::parse(h.sent.last().unwrap()).unwrap();
    assert_eq!(last.method(), Method::REFRESH);
    assert_eq!(last.get::<Lifetime>().unwrap(), Some(Lifetime(0)));
    let now = h.now;
    assert_eq!(h.server().allocation_count(now), 0);
    assert!(!h.server().owns(relayed));
    // Closing twice is harmless; sending is refused.
    h.client.close(h.now);
    assert_eq!(
        h.client.send_to(h.now, peer, b"y").unwrap_err(),
        TurnError::NotAllocated
    );
    assert_eq!(h.count_events(|e| *e == TurnEvent::Deallocated), 1);
}

#[test]
fn allocation_lost_when_the_server_disappears() {
    let mut h = Harness::new(12, |_| {});
    h.allocate();
    h.net.blackhole(addr(SERVER).ip(), true);
    assert!(h.run_until(secs(3600), |h| h.client.state() == TurnState::Failed));
    // It expires 600 s after the Allocate was sent (at 20 ms), refreshes having failed.
    let (at, e) = h.events.last().unwrap().clone();
    assert_eq!(e, TurnEvent::AllocationLost { code: None });
    assert_eq!(at, ms(20) + secs(600));
    assert_eq!(h.client.poll_timeout(), None);
}

#[test]
fn allocation_timeout_is_reported() {
    let mut h = Harness::new(13, |_| {});
    h.net.blackhole(addr(SERVER).ip(), true);
    h.client.allocate(h.now).unwrap();
    h.run_for(secs(120));
    assert_eq!(
        h.events,
        vec![(ms(39_500), TurnEvent::AllocationFailed { code: None })]
    );
    // A new attempt is allowed after a failure.
    h.net.blackhole(addr(SERVER).ip(), false);
    h.allocate();
}

#[test]
fn lossy_links_still_allocate_and_relay() {
    for seed in 0..20 {
        let link = LinkConfig {
            latency: ms(30),
            jitter: ms(20),
            loss: 0.2,
            duplicate: 0.1,
        };
        let mut h = Harness::with_nat(
            seed,
            link,
            Some((
                NatBehavior::AddressAndPortDependent,
                NatBehavior::AddressAndPortDependent,
            )),
            |_| {},
        );
        let relayed = h.allocate();
        let peer = addr(PEER);
        let mut delivered = 0;
        for i in 0..50u32 {
            let d = format!("{i}");
            h.client_send(peer, d.as_bytes());
            h.run_for(ms(200));
            delivered += usize::from(!h.host_got(peer, d.as_bytes()).is_empty());
        }
        assert!(delivered >= 25, "seed {seed}: {delivered}/50 delivered");
        assert!(h.host_got(peer, b"49").iter().all(|s| *s == relayed));
        assert!(
            h.has_event(|e| matches!(e, TurnEvent::ChannelBound { .. })),
            "seed {seed}"
        );
    }
}

#[test]
fn runs_replay_exactly() {
    let run = || {
        let mut h = Harness::new(14, |_| {});
        h.allocate();
        for i in 0..5u8 {
            h.client_send(addr(PEER), &[i]);
            h.client_send(addr(STRANGER), &[i]);
            h.run_for(secs(100));
        }
        (h.sent, h.events)
    };
    assert_eq!(run(), run());
}

#[test]
fn tables_are_bounded() {
    let mut h = Harness::new(15, |c| {
        c.max_permissions = 2;
        c.max_channels = 1;
    });
    h.allocate();
    let a = addr(PEER);
    let b = addr(STRANGER);
    let c: SocketAddr = "198.18.7.2:1".parse().unwrap();
    h.client_send(a, b"1");
    h.client_send(b, b"2");
    assert_eq!(
        h.client.send_to(h.now, c, b"3").unwrap_err(),
        TurnError::TooManyPermissions(2)
    );
    assert_eq!(h.client.channel_count(), 1);
    h.run_for(secs(1));
    // The second peer has no channel: Send indications keep working.
    let t = h.client_send(b, b"4");
    assert_eq!(t[0], 0x00);
    let t = h.client_send(a, b"5");
    assert_eq!(t[0], 0x40);
    assert_eq!(
        h.client.bind_channel(h.now, b).unwrap_err(),
        TurnError::TooManyChannels(1)
    );
    // IPv6 peers cannot be reached through an IPv4 relay.
    assert_eq!(
        h.client
            .send_to(h.now, "[2001:db8::1]:1".parse().unwrap(), b"6")
            .unwrap_err(),
        TurnError::AddressFamilyMismatch
    );
}

/// Two clients, each behind its own symmetric NAT, on one TURN server,
/// talking relayed address to relayed address: the path ICE needs between two
/// symmetric NATs. Fixed 5 ms steps of virtual time.
#[test]
fn two_symmetric_nats_talk_relay_to_relay() {
    use NatBehavior::AddressAndPortDependent as Apd;
    let mut net = SimNetwork::new(19, LinkConfig::default());
    net.add_turn_server(addr(SERVER), "user", "pass");
    let locals = [addr("10.0.1.2:5000"), addr("10.0.2.2:5000")];
    for (i, local) in locals.iter().enumerate() {
        let nat = net.add_nat(format!("198.18.0.{}", i + 1).parse().unwrap(), Apd, Apd);
        net.add_host(local.ip(), Some(nat));
    }
    let mut clients: Vec<TurnClient> = locals
        .iter()
        .enumerate()
        .map(|(i, local)| {
            let mut config = TurnConfig::new(addr(SERVER), "user", "pass");
            config.seed = Some(100 + i as u64);
            TurnClient::new(config, *local)
        })
        .collect();
    let mut received: [Vec<(SocketAddr, Vec<u8>)>; 2] = [Vec::new(), Vec::new()];
    let mut now = Instant::now();
    let step = |net: &mut SimNetwork,
                clients: &mut [TurnClient],
                received: &mut [Vec<(SocketAddr, Vec<u8>)>; 2],
                now: &mut Instant,
                steps: u32| {
        for _ in 0..steps {
            *now += ms(5);
            for c in clients.iter_mut() {
                c.handle_timeout(*now);
                while let Some(t) = c.poll_transmit() {
                    net.send(*now, &t);
                }
            }
            while let Some(d) = net.poll_delivery(*now) {
                let i = locals.iter().position(|l| *l == d.local).unwrap();
                if let TurnReceived::Data { peer, data } =
                    clients[i].handle_receive(*now, d.source, &d.data)
                {
                    received[i].push((peer, data.to_vec()));
                }
                while let Some(t) = clients[i].poll_transmit() {
                    net.send(*now, &t);
                }
            }
        }
    };
    for c in clients.iter_mut() {
        c.allocate(now).unwrap();
    }
    step(&mut net, &mut clients, &mut received, &mut now, 100);
    let relayed: Vec<SocketAddr> = clients
        .iter()
        .map(|c| c.relayed_address().expect("allocated"))
        .collect();
    assert_ne!(relayed[0], relayed[1]);

    // Each side permits the other's relayed address (both on the server's IP), then sends.
    for round in 0..3u8 {
        for i in 0..2 {
            let t = clients[i]
                .send_to(now, relayed[1 - i], &[b'0' + i as u8, round])
                .unwrap();
            while let Some(q) = clients[i].poll_transmit() {
                net.send(now, &q);
            }
            net.send(now, &t);
        }
        step(&mut net, &mut clients, &mut received, &mut now, 100);
    }
    for i in 0..2 {
        let from_other: Vec<Vec<u8>> = received[i]
            .iter()
            .filter(|(p, _)| *p == relayed[1 - i])
            .map(|(_, d)| d.clone())
            .collect();
        let expected: Vec<Vec<u8>> = (0..3u8).map(|r| vec![b'0' + (1 - i) as u8, r]).collect();
        assert_eq!(from_other, expected, "client {i}");
        assert_eq!(clients[i].channel(now, relayed[1 - i]), Some(0x4000));
    }

    // In place through the bound channels: the header goes into the headroom.
    let headroom = ice::port::turn::RELAY_HEADROOM;
    for i in 0..2 {
        let mut buf = [0u8; 16];
        buf[headroom..][..3].copy_from_slice(&[b'p', i as u8, 9]);
        let n = clients[i]
            .send_in_place(now, relayed[1 - i], &mut buf, 3)
            .unwrap()
            .expect("a bound channel");
        assert_eq!(&buf[..n], &[0x40, 0x00, 0, 3, b'p', i as u8, 9]);
        let t = Transmit {
            source: clients[i].local(),
            destination: addr(SERVER),
            transport: ice::TransportProtocol::Udp,
            contents: Bytes::copy_from_slice(&buf[..n]),
        };
        net.send(now, &t);
    }
    step(&mut net, &mut clients, &mut received, &mut now, 100);
    for i in 0..2 {
        let last = received[i].last().unwrap();
        assert_eq!(last, &(relayed[1 - i], vec![b'p', (1 - i) as u8, 9]));
    }
    // A peer without a bound channel yet: not in place (send_to's Send indication).
    let stranger = SocketAddr::new(relayed[1].ip(), 1);
    let mut buf = [0u8; 16];
    assert_eq!(
        clients[0].send_in_place(now, stranger, &mut buf, 3),
        Ok(None)
    );
    // Too little room: refused.
    assert!(clients[0]
        .send_in_place(now, relayed[1], &mut [0u8; 5], 3)
        .is_err());
}

// ---------------------------------------------------------------------------
// The client alone, fed by hand: integrity checks and demultiplexing
// ---------------------------------------------------------------------------

fn response(
    request: &Message<'_>,
    class: Class,
    key: Option<&IntegrityKey>,
    add: impl FnOnce(&mut MessageBuilder<'_>),
) -> Vec<u8> {
    let mut buf = vec![0u8; 512];
    let mut b =
        MessageBuilder::new(&mut buf, class, request.method(), request.transaction_id()).unwrap();
    add(&mut b);
    if let Some(key) = key {
        b.add_message_integrity(key).unwrap();
    }
    b.add_fingerprint().unwrap();
    let n = b.finish();
    buf.truncate(n);
    buf
}

#[test]
fn responses_must_carry_integrity() {
    let server = addr(SERVER);
    let mut config = TurnConfig::new(server, "user", "pass");
    config.seed = Some(16);
    let mut client = TurnClient::new(config, addr(CLIENT));
    let now = Instant::now();
    client.allocate(now).unwrap();
    let first = client.poll_transmit().unwrap().contents;
    let first = Message::parse(&first).unwrap();

    // A datagram from elsewhere is not ours; an unknown transaction is not either.
    assert_eq!(
        client.handle_receive(now, addr(PEER), &first_bytes(&first)),
        TurnReceived::NotMine
    );
    let challenge = response(&first, Class::ErrorResponse, None, |b| {
        b.add(&ErrorCode::UNAUTHENTICATED).unwrap();
        b.add(&Realm("example.org")).unwrap();
        b.add(&Nonce("n1")).unwrap();
    });
    assert_eq!(
        client.handle_receive(now, server, &challenge),
        TurnReceived::Consumed
    );
    let second = client.poll_transmit().unwrap().contents;
    let second = Message::parse(&second).unwrap();
    assert!(second.has_integrity());

    let relayed: SocketAddr = "198.18.100.2:50000".parse().unwrap();
    let body = |b: &mut MessageBuilder<'_>| {
        b.add(&XorRelayedAddress(relayed)).unwrap();
        b.add(&XorMappedAddress(addr(CLIENT))).unwrap();
        b.add(&Lifetime(600)).unwrap();
    };
    // Unsigned, or signed with the wrong key: ignored; the request keeps waiting.
    let unsigned = response(&second, Class::SuccessResponse, None, body);
    assert_eq!(
        client.handle_receive(now, server, &unsigned),
        TurnReceived::Consumed
    );
    let wrong =
        IntegrityKey::long_term("user", "example.org", "guess", PasswordAlgorithm::Md5).unwrap();
    let forged = response(&second, Class::SuccessResponse, Some(&wrong), body);
    client.handle_receive(now, server, &forged);
    assert_eq!(client.state(), TurnState::Allocating);
    assert_eq!(client.poll_event(), None);
    // An unsigned 403 is not excused either.
    let forbidden = response(&second, Class::ErrorResponse, None, |b| {
        b.add(&ErrorCode::FORBIDDEN).unwrap();
    });
    client.handle_receive(now, server, &forbidden);
    assert_eq!(client.state(), TurnState::Allocating);

    let key =
        IntegrityKey::long_term("user", "example.org", "pass", PasswordAlgorithm::Md5).unwrap();
    let good = response(&second, Class::SuccessResponse, Some(&key), body);
    client.handle_receive(now, server, &good);
    assert_eq!(client.state(), TurnState::Allocated);
    assert_eq!(
        client.poll_event(),
        Some(TurnEvent::Allocated {
            relayed,
            mapped: Some(addr(CLIENT)),
            lifetime: secs(600)
        })
    );
    // A late duplicate is no longer ours (a shared socket's other ports may want it).
    assert_eq!(
        client.handle_receive(now, server, &good),
        TurnReceived::NotMine
    );

    // Relayed data is only accepted from peers with a permission and on known channels.
    let mut buf = [0u8; 64];
    let mut b = MessageBuilder::new(
        &mut buf,
        Class::Indication,
        Method::DATA,
        stun::TransactionId([9; 12]),
    )
    .unwrap();
    b.add(&XorPeerAddress(addr(PEER))).unwrap();
    b.add(&stun::attributes::Data(b"sneaky")).unwrap();
    let n = b.finish();
    assert_eq!(
        client.handle_receive(now, server, &buf[..n]),
        TurnReceived::Consumed
    );
    assert_eq!(
        client.handle_receive(now, server, &[0x40, 0x01, 0x00, 0x01, 0xAA]),
        TurnReceived::Consumed
    );
    client.create_permission(now, addr(PEER).ip()).unwrap();
    assert_eq!(
        client.handle_receive(now, server, &buf[..n]),
        TurnReceived::Data {
            peer: addr(PEER),
            data: b"sneaky"
        }
    );
    // Garbage from the server is not consumed as TURN.
    assert_eq!(
        client.handle_receive(now, server, &[0x80, 0x60, 0, 0]),
        TurnReceived::NotMine
    );
}

/// RFC 8656 §7.1: REQUESTED-ADDRESS-FAMILY asks for an IPv6 relay from a
/// server reached over IPv6 (or when configured); it is left out for IPv4,
/// the default; a 440 fails the allocation with that code.
#[test]
fn requested_address_family_follows_the_server_or_the_configuration() {
    use ice::port::AddressFamily;
    use stun::attributes::RequestedAddressFamily;
    let now = Instant::now();
    let asked = |server: &str, family: Option<AddressFamily>| {
        let server: SocketAddr = server.parse().unwrap();
        let mut config = TurnConfig::new(server, "user", "pass");
        config.seed = Some(50);
        config.relay_family = family;
        let local: SocketAddr = if server.is_ipv6() {
            "[2001:db8::2]:5000".parse().unwrap()
        } else {
            addr(CLIENT)
        };
        let mut c = TurnClient::new(config, local);
        c.allocate(now).unwrap();
        let (_, first, _) = next_request(&mut c);
        let m = Message::parse(&first).unwrap();
        let family = m.get::<RequestedAddressFamily>().unwrap().map(|f| f.0);
        (c, first, family)
    };
    assert_eq!(asked(SERVER, None).2, None);
    assert_eq!(asked("[2001:db8::1]:3478", None).2, Some(AddressFamily::V6));
    assert_eq!(
        asked(SERVER, Some(AddressFamily::V6)).2,
        Some(AddressFamily::V6)
    );
    assert_eq!(asked("[2001:db8::1]:3478", Some(AddressFamily::V4)).2, None);

    // 440 (Address Family not Supported): the allocation fails with it.
    let (mut c, first, _) = asked(SERVER, Some(AddressFamily::V6));
    let m = Message::parse(&first).unwrap();
    let refused = response(&m, Class::ErrorResponse, None, |b| {
        b.add(&ErrorCode::UNAUTHENTICATED).unwrap();
        b.add(&Realm("example.org")).unwrap();
        b.add(&Nonce("n1")).unwrap();
    });
    c.handle_receive(now, addr(SERVER), &refused);
    let (_, second, _) = next_request(&mut c);
    let key =
        IntegrityKey::long_term("user", "example.org", "pass", PasswordAlgorithm::Md5).unwrap();
    let m = Message::parse(&second).unwrap();
    let no_v6 = response(&m, Class::ErrorResponse, Some(&key), |b| {
        b.add(&ErrorCode {
            code: 440,
            reason: "Address Family not Supported",
        })
        .unwrap();
    });
    c.handle_receive(now, addr(SERVER), &no_v6);
    assert_eq!(
        c.poll_event(),
        Some(TurnEvent::AllocationFailed { code: Some(440) })
    );
}

/// The next transmit: where it goes and whether it carries MESSAGE-INTEGRITY.
fn next_request(client: &mut TurnClient) -> (SocketAddr, Vec<u8>, bool) {
    let t = client.poll_transmit().expect("a request");
    let signed = Message::parse(&t.contents).unwrap().has_integrity();
    (t.destination, t.contents.to_vec(), signed)
}

/// RFC 8489 §10: a signed 300 to an authenticated Allocate is followed once
/// (a fresh challenge from the alternate server, then the allocation there);
/// an unsigned one is ignored as any unsigned answer to a signed request is;
/// a 300 to the unauthenticated first request is followed as libwebrtc does
/// (coturn sends those); a second redirect fails.
#[test]
fn try_alternate_is_followed_once_and_signed_when_it_can_be() {
    let server = addr(SERVER);
    let alternate: SocketAddr = "198.18.100.3:3478".parse().unwrap();
    let key = |realm: &str| {
        IntegrityKey::long_term("user", realm, "pass", PasswordAlgorithm::Md5).unwrap()
    };
    let challenge = |request: &[u8], realm: &'static str, nonce: &'static str| {
        let m = Message::parse(request).unwrap();
        response(&m, Class::ErrorResponse, None, |b| {
            b.add(&ErrorCode::UNAUTHENTICATED).unwrap();
            b.add(&Realm(realm)).unwrap();
            b.add(&Nonce(nonce)).unwrap();
        })
    };
    let redirect = |request: &[u8], k: Option<&IntegrityKey>, to: SocketAddr| {
        let m = Message::parse(request).unwrap();
        response(&m, Class::ErrorResponse, k, |b| {
            b.add(&ErrorCode::TRY_ALTERNATE).unwrap();
            b.add(&AlternateServer(to)).unwrap();
        })
    };
    let new_client = |seed| {
        let mut config = TurnConfig::new(server, "user", "pass");
        config.seed = Some(seed);
        TurnClient::new(config, addr(CLIENT))
    };
    let now = Instant::now();

    // A 300 to the unauthenticated first Allocate (coturn's way): followed
    // once, and a second one, even signed, is not.
    let mut c = new_client(40);
    c.allocate(now).unwrap();
    let (_, first, _) = next_request(&mut c);
    c.handle_receive(now, server, &redirect(&first, None, alternate));
    let (to, fresh, signed) = next_request(&mut c);
    assert_eq!((to, signed), (alternate, false));
    c.handle_receive(now, alternate, &challenge(&fresh, "two.example", "n2"));
    let (_, second, signed) = next_request(&mut c);
    assert!(signed);
    c.handle_receive(
        now,
        alternate,
        &redirect(&second, Some(&key("two.example")), server),
    );
    assert!(c.poll_transmit().is_none(), "no second redirect");
    assert_eq!(
        c.poll_event(),
        Some(TurnEvent::AllocationFailed { code: Some(300) })
    );

    // The 401 dance, then 300s to the authenticated Allocate.
    let mut c = new_client(41);
    c.allocate(now).unwrap();
    let (_, first, _) = next_request(&mut c);
    c.handle_receive(now, server, &challenge(&first, "one.example", "n1"));
    let (to, signed_request, signed) = next_request(&mut c);
    assert_eq!((to, signed), (server, true));
    // Unsigned: ignored, the request keeps waiting.
    c.handle_receive(now, server, &redirect(&signed_request, None, alternate));
    assert!(c.poll_transmit().is_none());
    assert_eq!(c.state(), TurnState::Allocating);
    assert_eq!(c.server(), server);
    // Signed: followed, starting over (unauthenticated) with the alternate.
    let k1 = key("one.example");
    c.handle_receive(
        now,
        server,
        &redirect(&signed_request, Some(&k1), alternate),
    );
    let (to, fresh, signed) = next_request(&mut c);
    assert_eq!((to, signed), (alternate, false));
    assert_eq!(c.server(), alternate);
    // The old server is no longer ours; the alternate's challenge is.
    assert_eq!(
        c.handle_receive(now, server, &challenge(&fresh, "two.example", "n2")),
        TurnReceived::NotMine
    );
    c.handle_receive(now, alternate, &challenge(&fresh, "two.example", "n2"));
    let (to, second, signed) = next_request(&mut c);
    assert_eq!((to, signed), (alternate, true));
    // A second redirect is not followed: the allocation fails with 300.
    let k2 = key("two.example");
    c.handle_receive(now, alternate, &redirect(&second, Some(&k2), server));
    assert!(c.poll_transmit().is_none());
    assert_eq!(
        c.poll_event(),
        Some(TurnEvent::AllocationFailed { code: Some(300) })
    );

    // Followed once, the allocation completes on the alternate server.
    let mut c = new_client(42);
    c.allocate(now).unwrap();
    let (_, first, _) = next_request(&mut c);
    c.handle_receive(now, server, &challenge(&first, "one.example", "n1"));
    let (_, signed_request, _) = next_request(&mut c);
    c.handle_receive(
        now,
        server,
        &redirect(&signed_request, Some(&k1), alternate),
    );
    let (_, fresh, _) = next_request(&mut c);
    c.handle_receive(now, alternate, &challenge(&fresh, "two.example", "n2"));
    let (_, second, _) = next_request(&mut c);
    let relayed: SocketAddr = "198.18.100.3:50000".parse().unwrap();
    let ok = response(
        &Message::parse(&second).unwrap(),
        Class::SuccessResponse,
        Some(&k2),
        |b| {
            b.add(&XorRelayedAddress(relayed)).unwrap();
            b.add(&XorMappedAddress(addr(CLIENT))).unwrap();
            b.add(&Lifetime(600)).unwrap();
        },
    );
    c.handle_receive(now, alternate, &ok);
    assert_eq!(c.state(), TurnState::Allocated);
    assert_eq!(c.relayed_address(), Some(relayed));
}

/// The Allocate that followed the 401, with what it says about the password
/// algorithm: (PASSWORD-ALGORITHM, PASSWORD-ALGORITHMS, MESSAGE-INTEGRITY,
/// MESSAGE-INTEGRITY-SHA256).
fn password_attributes(request: &[u8]) -> (Option<u16>, Option<Vec<u16>>, bool, bool) {
    let m = Message::parse(request).unwrap();
    let chosen = m
        .get::<PasswordAlgorithmAttr<'_>>()
        .unwrap()
        .map(|a| a.0.algorithm);
    let offered = m
        .get::<PasswordAlgorithms<'_>>()
        .unwrap()
        .map(|l| l.iter().map(|e| e.algorithm).collect());
    let sha1 = m.has_integrity() && !m.has_integrity_sha256();
    (chosen, offered, sha1, m.has_integrity_sha256())
}

/// RFC 8489 §9.2: a server whose nonce cookie announces password algorithms
/// and whose 401 lists them gets its first known choice, the list echoed and
/// MESSAGE-INTEGRITY-SHA256 on every request; allocation, permissions,
/// channels, relaying and a stale nonce all work under the SHA-256 key.
#[test]
fn sha256_long_term_key_when_the_server_offers_it() {
    let mut h = Harness::new(50, |_| {});
    h.server()
        .offer_password_algorithms(&[PasswordAlgorithm::Sha256, PasswordAlgorithm::Md5]);
    let relayed = h.allocate();
    assert!(h.server().nonce().starts_with("obMatJos2"));
    assert_eq!(
        password_attributes(&h.sent[1]),
        (Some(2), Some(vec![2, 1]), false, true)
    );
    let sha256 = IntegrityKey::long_term("user", REALM, "pass", PasswordAlgorithm::Sha256).unwrap();
    Message::parse(&h.sent[1])
        .unwrap()
        .verify_integrity(&sha256)
        .unwrap();
    assert_eq!(h.server().stats.errors, 0, "no 400 from the server");

    // A stale nonce on CreatePermission: retried, still SHA-256.
    h.server().rotate_nonce();
    let peer = addr(PEER);
    // (The first Send indication overtakes the retried CreatePermission and is dropped.)
    h.client_send(peer, b"first");
    assert!(h.run_until(secs(2), |h| h
        .has_event(|e| matches!(e, TurnEvent::ChannelBound { .. }))));
    // CreatePermission and ChannelBind both carried the old nonce.
    assert_eq!(h.server().stats.stale_nonce, 2);
    h.client_send(peer, b"hello");
    assert!(h.run_until(secs(1), |h| !h.host_got(peer, b"hello").is_empty()));
    h.host_send(peer, relayed, b"back");
    assert!(h.run_until(secs(1), |h| !h.client_got(b"back").is_empty()));
    let requests: Vec<_> = h
        .sent
        .iter()
        .filter(|b| {
            Message::parse(b).is_ok_and(|m| m.class() == Class::Request && m.has_integrity())
        })
        .map(|b| password_attributes(b))
        .collect();
    assert!(requests.len() >= 3, "{requests:?}");
    assert!(requests
        .iter()
        .all(|r| *r == (Some(2), Some(vec![2, 1]), false, true)));
    assert_eq!(h.server().stats.errors, 0);
}

/// The server's first choice it is, even when that is MD5: the key is then
/// MD5's, but the integrity still MESSAGE-INTEGRITY-SHA256 and the list echoed.
#[test]
fn the_servers_first_known_algorithm_is_taken() {
    let mut h = Harness::new(51, |_| {});
    h.server()
        .offer_password_algorithms(&[PasswordAlgorithm::Md5, PasswordAlgorithm::Sha256]);
    h.allocate();
    assert_eq!(
        password_attributes(&h.sent[1]),
        (Some(1), Some(vec![1, 2]), false, true)
    );
    let md5 = IntegrityKey::long_term("user", REALM, "pass", PasswordAlgorithm::Md5).unwrap();
    Message::parse(&h.sent[1])
        .unwrap()
        .verify_integrity(&md5)
        .unwrap();
}

/// RFC 8489 §9.2.5: a nonce cookie announcing password algorithms without
/// PASSWORD-ALGORITHMS, or a list with nothing we know, is not retried; and
/// once negotiated, a challenge from a server that no longer offers them (a
/// downgrade to MD5 by a forged 438) is refused, not followed.
#[test]
fn password_algorithm_challenges_that_are_not_retried() {
    let server = addr(SERVER);
    let now = Instant::now();
    let cookie = SecurityFeatures {
        password_algorithms: true,
        username_anonymity: false,
    }
    .nonce_prefix();
    let challenge = |request: &[u8], code: ErrorCode<'static>, nonce: &str, algorithms: &[u16]| {
        let m = Message::parse(request).unwrap();
        let entries: Vec<PasswordAlgorithmEntry<'_>> = algorithms
            .iter()
            .map(|&algorithm| PasswordAlgorithmEntry {
                algorithm,
                parameters: &[],
            })
            .collect();
        response(&m, Class::ErrorResponse, None, |b| {
            b.add(&code).unwrap();
            b.add(&Realm(REALM)).unwrap();
            b.add(&Nonce(nonce)).unwrap();
            if !entries.is_empty() {
                b.add(&PasswordAlgorithms::Entries(&entries)).unwrap();
            }
        })
    };
    let new_client = |seed| {
        let mut config = TurnConfig::new(server, "user", "pass");
        config.seed = Some(seed);
        let mut c = TurnClient::new(config, addr(CLIENT));
        c.allocate(now).unwrap();
        c
    };
    let failed = |c: &mut TurnClient, code| {
        assert!(c.poll_transmit().is_none(), "no retry");
        assert_eq!(
            c.poll_event(),
            Some(TurnEvent::AllocationFailed { code: Some(code) })
        );
    };

    // The cookie without the list.
    let mut c = new_client(52);
    let (_, first, _) = next_request(&mut c);
    let nonce = format!("{cookie}abc");
    c.handle_receive(
        now,
        server,
        &challenge(&first, ErrorCode::UNAUTHENTICATED, &nonce, &[]),
    );
    failed(&mut c, 401);

    // A list of algorithms we do not know.
    let mut c = new_client(53);
    let (_, first, _) = next_request(&mut c);
    c.handle_receive(
        now,
        server,
        &challenge(
            &first,
            ErrorCode::UNAUTHENTICATED,
            &nonce,
            &[0x0003, 0x7fff],
        ),
    );
    failed(&mut c, 401);

    // An unknown algorithm first, SHA-256 next: SHA-256 it is.
    let mut c = new_client(54);
    let (_, first, _) = next_request(&mut c);
    c.handle_receive(
        now,
        server,
        &challenge(&first, ErrorCode::UNAUTHENTICATED, &nonce, &[0x0003, 2]),
    );
    let (_, second, signed) = next_request(&mut c);
    assert!(signed);
    assert_eq!(
        password_attributes(&second),
        (Some(2), Some(vec![3, 2]), false, true)
    );
    // Then a 438 whose nonce has no cookie: a downgrade, refused.
    c.handle_receive(
        now,
        server,
        &challenge(&second, ErrorCode::STALE_NONCE, "plain-nonce", &[]),
    );
    failed(&mut c, 438);

    // A nonce without the cookie: RFC 5389, MD5 and MESSAGE-INTEGRITY, any list ignored.
    let mut c = new_client(55);
    let (_, first, _) = next_request(&mut c);
    c.handle_receive(
        now,
        server,
        &challenge(&first, ErrorCode::UNAUTHENTICATED, "plain-nonce", &[2]),
    );
    let (_, second, _) = next_request(&mut c);
    assert_eq!(password_attributes(&second), (None, None, true, false));
}

fn first_bytes(m: &Message<'_>) -> Vec<u8> {
    m.as_bytes().to_vec()
}

// ---------------------------------------------------------------------------
// coturn on 127.0.0.1: tests/support/coturn.rs
// ---------------------------------------------------------------------------

#[path = "support/coturn.rs"]
mod coturn;
#[path = "../../stun/tests/support/coturn_process.rs"]
mod coturn_process;

// ---------------------------------------------------------------------------
// Untrusted input
// ---------------------------------------------------------------------------

/// A client allocated by hand (no network), with a permission and a channel pending.
fn hand_allocated_client() -> (TurnClient, Instant) {
    let server = addr(SERVER);
    let mut config = TurnConfig::new(server, "user", "pass");
    config.seed = Some(17);
    let mut client = TurnClient::new(config, addr(CLIENT));
    let now = Instant::now();
    client.allocate(now).unwrap();
    let first = client.poll_transmit().unwrap().contents;
    let first = Message::parse(&first).unwrap();
    let challenge = response(&first, Class::ErrorResponse, None, |b| {
        b.add(&ErrorCode::UNAUTHENTICATED).unwrap();
        b.add(&Realm("example.org")).unwrap();
        b.add(&Nonce("n1")).unwrap();
    });
    client.handle_receive(now, server, &challenge);
    let second = client.poll_transmit().unwrap().contents;
    let second = Message::parse(&second).unwrap();
    let key =
        IntegrityKey::long_term("user", "example.org", "pass", PasswordAlgorithm::Md5).unwrap();
    let ok = response(&second, Class::SuccessResponse, Some(&key), |b| {
        b.add(&XorRelayedAddress(addr("198.18.100.2:50000")))
            .unwrap();
        b.add(&Lifetime(600)).unwrap();
    });
    client.handle_receive(now, server, &ok);
    assert_eq!(client.state(), TurnState::Allocated);
    client.send_to(now, addr(PEER), b"x").unwrap();
    while client.poll_transmit().is_some() {}
    (client, now)
}

/// Datagrams shaped like what a TURN server or client may send: a plausible
/// first byte, sometimes a STUN header with the magic cookie, then noise.
fn datagram() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    (
        prop_oneof![
            Just(0x00u8),
            Just(0x01),
            Just(0x40),
            Just(0x4F),
            any::<u8>()
        ],
        any::<u8>(),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..120),
    )
        .prop_map(|(first, second, stun_header, rest)| {
            let mut d = vec![first, second];
            if stun_header {
                let len = (rest.len() as u16 + 16) & !3;
                d.extend_from_slice(&len.to_be_bytes());
                d.extend_from_slice(&0x2112_A442u32.to_be_bytes());
                d.extend_from_slice(&[7; 12]);
            }
            d.extend_from_slice(&rest);
            d
        })
}

proptest::proptest! {
    #[test]
    fn client_never_panics_on_garbage(datagrams in proptest::collection::vec(datagram(), 1..20)) {
        let (mut client, now) = hand_allocated_client();
        for (i, d) in datagrams.iter().enumerate() {
            let t = now + ms(i as u64 * 100);
            let _ = client.handle_receive(t, addr(SERVER), d);
            client.handle_timeout(t);
            while client.poll_transmit().is_some() {}
            while client.poll_event().is_some() {}
        }
    }

    #[test]
    fn server_never_panics_on_garbage(datagrams in proptest::collection::vec(datagram(), 1..20)) {
        let now = Instant::now();
        let mut server = TurnServer::new(addr(SERVER), REALM);
        server.add_user("user", "pass");
        for (i, d) in datagrams.iter().enumerate() {
            let from: SocketAddr = format!("198.18.9.{}:{}", i % 3, 1000 + i % 2).parse().unwrap();
            server.handle(now + ms(i as u64), from, addr(SERVER), d);
            while server.poll_transmit().is_some() {}
        }
    }
}

/// An authenticated request (valid credentials and integrity) with random
/// TURN attributes, to reach the server past authentication.
fn authenticated_request(nonce: &str, method: u16, attributes: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let key = IntegrityKey::long_term("user", REALM, "pass", PasswordAlgorithm::Md5).unwrap();
    let mut buf = vec![0u8; 4096];
    let mut b = MessageBuilder::new(
        &mut buf,
        Class::Request,
        Method(method),
        stun::TransactionId([method as u8; 12]),
    )
    .unwrap();
    for (typ, value) in attributes {
        let padding = [0u8; 3];
        b.add_raw(&stun::RawAttribute {
            typ: stun::AttributeType(*typ),
            value,
            padding: &padding[..(4 - value.len() % 4) % 4],
            offset: 0,
        })
        .unwrap();
    }
    b.add(&Username("user")).unwrap();
    b.add(&Realm(REALM)).unwrap();
    b.add(&Nonce(nonce)).unwrap();
    b.add_message_integrity(&key).unwrap();
    b.add_fingerprint().unwrap();
    let n = b.finish();
    buf.truncate(n);
    buf
}

proptest::proptest! {
    #[test]
    fn server_never_panics_on_authenticated_garbage(
        requests in proptest::collection::vec(
            (
                0x003u16..=0x009,
                proptest::collection::vec(
                    (
                        proptest::sample::select(vec![0x000Cu16, 0x000D, 0x0012, 0x0013, 0x0017, 0x0018, 0x0019, 0x001A, 0x0022, 0x8000]),
                        proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
                    ),
                    0..5,
                ),
            ),
            1..20,
        )
    ) {
        let now = Instant::now();
        let mut server = TurnServer::new(addr(SERVER), REALM);
        server.add_user("user", "pass");
        let nonce = server.nonce().to_owned();
        let client = addr("198.18.9.1:1000");
        // Start from a real allocation so Refresh/CreatePermission/ChannelBind get far.
        let allocate = authenticated_request(&nonce, 0x003, &[(0x0019, vec![17, 0, 0, 0])]);
        server.handle(now, client, addr(SERVER), &allocate);
        for (i, (method, attributes)) in requests.iter().enumerate() {
            let d = authenticated_request(&nonce, *method, attributes);
            server.handle(now + ms(i as u64), client, addr(SERVER), &d);
            while let Some(t) = server.poll_transmit() {
                // Every answer is a well-formed STUN message.
                proptest::prop_assert!(Message::parse(&t.contents).is_ok());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// TURN over TLS against coturn: tests/support/coturn_tls.rs
// ---------------------------------------------------------------------------

#[path = "support/coturn_tls.rs"]
mod coturn_tls;
