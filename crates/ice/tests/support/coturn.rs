//! coturn on 127.0.0.1: a module of `turn.rs` (so `cargo test --test turn
//! -- --ignored` runs these tests), kept apart for size.

use super::coturn_process::{require, CoturnProcess};
use super::*;

const LOCALHOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// coturn on 127.0.0.1, started as peers/README.md describes
/// (`crates/stun/tests/support/coturn_process.rs`).
pub(super) struct Coturn {
    pub(super) addr: SocketAddr,
    pub(super) relay_ports: std::ops::RangeInclusive<u16>,
    process: CoturnProcess,
}

impl Coturn {
    pub(super) fn start(extra: &[&str]) -> Option<Coturn> {
        Coturn::start_with_relays(extra, 50_000 + (std::process::id() % 300) as u16 * 40)
    }

    /// As [`Coturn::start`], relaying from the 40 ports at `relay_min` (a
    /// second server beside a first one).
    pub(super) fn start_with_relays(extra: &[&str], relay_min: u16) -> Option<Coturn> {
        let turnserver = require("turnserver")?;
        let port = {
            let s = UdpSocket::bind((LOCALHOST, 0)).expect("bind");
            s.local_addr().unwrap().port()
        };
        let process = CoturnProcess::spawn(&turnserver, port, relay_min, extra);
        let mut coturn = Coturn {
            addr: process.addr,
            relay_ports: process.relay_ports.clone(),
            process,
        };
        coturn.wait_until_ready();
        Some(coturn)
    }

    pub(super) fn log(&self) -> String {
        self.process.log()
    }

    /// Binding requests until coturn answers (10 s at most).
    fn wait_until_ready(&mut self) {
        let socket = UdpSocket::bind((LOCALHOST, 0)).expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 64];
        let mut b = MessageBuilder::new(
            &mut buf,
            Class::Request,
            Method::BINDING,
            stun::TransactionId::random(),
        )
        .unwrap();
        b.add_fingerprint().unwrap();
        let n = b.finish();
        loop {
            self.process.check_running();
            let _ = socket.send_to(&buf[..n], self.addr);
            let mut rx = [0u8; 1500];
            if socket.recv_from(&mut rx).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "turnserver silent for 10 s; log:\n{}",
                self.log()
            );
        }
    }
}

/// A TurnClient pumped over a real UDP socket in real time.
pub(super) struct RealClient {
    pub(super) client: TurnClient,
    pub(super) socket: UdpSocket,
    pub(super) events: Vec<TurnEvent>,
    /// Relayed data: peer, payload, first byte of the datagram.
    pub(super) received: Vec<(SocketAddr, Vec<u8>, u8)>,
    /// Methods of the requests sent.
    pub(super) requests: Vec<Method>,
}

impl RealClient {
    pub(super) fn new(
        server: SocketAddr,
        password: &str,
        tweak: impl FnOnce(&mut TurnConfig),
    ) -> RealClient {
        RealClient::bound(LOCALHOST, server, password, tweak)
    }

    /// As [`RealClient::new`], from a socket on `local` (`::1` for a client over IPv6).
    pub(super) fn bound(
        local: IpAddr,
        server: SocketAddr,
        password: &str,
        tweak: impl FnOnce(&mut TurnConfig),
    ) -> RealClient {
        let socket = UdpSocket::bind((local, 0)).expect("bind");
        let mut config = TurnConfig::new(server, "user", password);
        // Loopback answers in microseconds: retransmit quickly, give up in ~3 s.
        config.retransmit.initial_rto = Duration::from_millis(100);
        config.retransmit.max_transmissions = 5;
        config.retransmit.last_wait = Duration::from_millis(1_500);
        tweak(&mut config);
        let local = socket.local_addr().unwrap();
        RealClient {
            client: TurnClient::new(config, local),
            socket,
            events: Vec::new(),
            received: Vec::new(),
            requests: Vec::new(),
        }
    }

    fn send(&mut self, t: &Transmit) {
        if let Ok(m) = Message::parse(&t.contents) {
            if m.class() == Class::Request {
                self.requests.push(m.method());
            }
        }
        self.socket
            .send_to(&t.contents, t.destination)
            .expect("send");
    }

    fn flush(&mut self) {
        while let Some(t) = self.client.poll_transmit() {
            self.send(&t);
        }
    }

    /// Pumps until `done` holds or `limit` passes.
    pub(super) fn pump_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&RealClient) -> bool,
    ) -> bool {
        let deadline = Instant::now() + limit;
        let mut buf = vec![0u8; 65_536];
        loop {
            self.flush();
            while let Some(e) = self.client.poll_event() {
                eprintln!("turn event: {e:?}");
                self.events.push(e);
            }
            if done(self) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let mut wait = (deadline - now).min(Duration::from_millis(50));
            if let Some(t) = self.client.poll_timeout() {
                wait = wait.min(t.saturating_duration_since(now));
            }
            self.socket
                .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
                .unwrap();
            match self.socket.recv_from(&mut buf) {
                Ok((n, source)) => {
                    let first = buf[0];
                    if let TurnReceived::Data { peer, data } =
                        self.client
                            .handle_receive(Instant::now(), source, &buf[..n])
                    {
                        self.received.push((peer, data.to_vec(), first));
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("recv: {e}"),
            }
            let now = Instant::now();
            if self.client.poll_timeout().is_some_and(|t| t <= now) {
                self.client.handle_timeout(now);
            }
        }
    }

    /// Sends to a peer as a driver should: queued requests first.
    pub(super) fn send_to(&mut self, peer: SocketAddr, data: &[u8]) -> Bytes {
        let t = self.client.send_to(Instant::now(), peer, data).unwrap();
        self.flush();
        self.send(&t);
        t.contents
    }

    /// Creates a permission for `ip` and waits (5 s) until the server
    /// grants it, with `coturn`'s log when it does not.
    pub(super) fn permit(&mut self, ip: IpAddr, coturn: &Coturn) {
        self.client.create_permission(Instant::now(), ip).unwrap();
        assert!(
            self.pump_until(secs(5), |c| c
                .has(|e| *e == TurnEvent::PermissionCreated(ip))),
            "permission: {:?}; coturn log:\n{}",
            self.events,
            coturn.log()
        );
    }

    pub(super) fn has(&self, f: impl Fn(&TurnEvent) -> bool) -> bool {
        self.events.iter().any(f)
    }
}

/// Reads one datagram on `socket` (2 s at most).
pub(super) fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut buf = [0u8; 2048];
    let (n, from) = socket.recv_from(&mut buf).expect("peer receives");
    (buf[..n].to_vec(), from)
}

pub(super) fn peer_socket() -> UdpSocket {
    UdpSocket::bind((LOCALHOST, 0)).expect("bind peer")
}

#[test]
#[ignore = "needs coturn; run in a loopback-only namespace (see the module docs)"]
fn coturn_allocate_send_indication_channel_data_and_close() {
    let Some(coturn) = Coturn::start(&[]) else {
        return;
    };
    let mut c = RealClient::new(coturn.addr, "pass", |c| c.auto_channel_bind = false);
    c.client.allocate(Instant::now()).unwrap();
    assert!(
        c.pump_until(secs(5), |c| c.client.state() == TurnState::Allocated),
        "allocation: {:?}; coturn log:\n{}",
        c.events,
        coturn.log()
    );
    let local = c.socket.local_addr().unwrap();
    let relayed = c.client.relayed_address().unwrap();
    assert_eq!(relayed.ip(), local.ip());
    assert!(coturn.relay_ports.contains(&relayed.port()), "{relayed}");
    assert_eq!(c.client.mapped_address(), Some(local));
    assert_eq!(c.client.realm(), Some("example.org"));
    assert_eq!(c.requests, vec![Method::ALLOCATE, Method::ALLOCATE]);

    let peer = peer_socket();
    let peer_addr = peer.local_addr().unwrap();

    // Permission, then Send and Data indications.
    c.permit(peer_addr.ip(), &coturn);
    let sent = c.send_to(peer_addr, b"via a Send indication");
    assert_eq!(sent[0], 0x00);
    assert_eq!(recv(&peer), (b"via a Send indication".to_vec(), relayed));
    peer.send_to(b"via a Data indication", relayed).unwrap();
    assert!(c.pump_until(secs(5), |c| !c.received.is_empty()));
    assert_eq!(
        c.received.remove(0),
        (peer_addr, b"via a Data indication".to_vec(), 0x00)
    );

    // A channel, then ChannelData both ways.
    let channel = c.client.bind_channel(Instant::now(), peer_addr).unwrap();
    assert!(
        c.pump_until(secs(5), |c| c.has(|e| *e
            == TurnEvent::ChannelBound {
                peer: peer_addr,
                channel
            })),
        "channel: {:?}; coturn log:\n{}",
        c.events,
        coturn.log()
    );
    for i in 0..10u8 {
        let payload = [b'c', b'd', i];
        let sent = c.send_to(peer_addr, &payload);
        assert_eq!(sent[0], 0x40);
        assert_eq!(recv(&peer), (payload.to_vec(), relayed));
        // Odd lengths exercise ChannelData padding.
        let reply = vec![i; 1 + i as usize];
        peer.send_to(&reply, relayed).unwrap();
        assert!(
            c.pump_until(secs(5), |c| !c.received.is_empty()),
            "reply {i}"
        );
        assert_eq!(c.received.remove(0), (peer_addr, reply, 0x40));
    }
    // A large datagram.
    let big = vec![0x5A; 1200];
    c.send_to(peer_addr, &big);
    assert_eq!(recv(&peer), (big.clone(), relayed));

    c.client.close(Instant::now());
    assert!(
        c.pump_until(secs(5), |c| c.has(|e| *e == TurnEvent::Deallocated)),
        "close: {:?}; coturn log:\n{}",
        c.events,
        coturn.log()
    );
    assert_eq!(c.client.state(), TurnState::Closed);
    assert!(!c.has(|e| matches!(
        e,
        TurnEvent::PermissionFailed { .. } | TurnEvent::ChannelBindFailed { .. }
    )));
    // The relay is gone: nothing comes through any more.
    peer.send_to(b"late", relayed).unwrap();
    c.pump_until(ms(300), |_| false);
    assert!(c.received.is_empty());
}

#[test]
#[ignore = "needs coturn; run in a loopback-only namespace (see the module docs)"]
fn coturn_auto_channel_and_stale_nonce() {
    // Nonces live 2 s: requests after that are answered 438 and retried.
    let Some(coturn) = Coturn::start(&["--stale-nonce=2"]) else {
        return;
    };
    let mut c = RealClient::new(coturn.addr, "pass", |_| {});
    c.client.allocate(Instant::now()).unwrap();
    assert!(
        c.pump_until(secs(5), |c| c.client.state() == TurnState::Allocated),
        "allocation: {:?}; coturn log:\n{}",
        c.events,
        coturn.log()
    );
    c.pump_until(ms(3_000), |_| false);

    let peer = peer_socket();
    let peer_addr = peer.local_addr().unwrap();
    let relayed = c.client.relayed_address().unwrap();
    let before = c.requests.len();
    c.send_to(peer_addr, b"first");
    assert!(
        c.pump_until(secs(5), |c| c
            .has(|e| matches!(e, TurnEvent::ChannelBound { .. }))),
        "channel: {:?}; coturn log:\n{}",
        c.events,
        coturn.log()
    );
    // CreatePermission and ChannelBind, each sent twice (438, then the new nonce).
    let after: Vec<Method> = c.requests[before..].to_vec();
    assert_eq!(
        after
            .iter()
            .filter(|m| **m == Method::CREATE_PERMISSION)
            .count(),
        2,
        "{after:?}"
    );
    assert_eq!(
        after.iter().filter(|m| **m == Method::CHANNEL_BIND).count(),
        2,
        "{after:?}"
    );
    // "first" raced the 438 and was dropped; now the channel carries data both ways.
    let sent = c.send_to(peer_addr, b"second");
    assert_eq!(sent[0], 0x40);
    let (data, from) = recv(&peer);
    assert_eq!(from, relayed);
    assert!(data == b"second" || data == b"first", "{data:?}");
    peer.send_to(b"back", relayed).unwrap();
    assert!(c.pump_until(secs(5), |c| !c.received.is_empty()));
    assert_eq!(c.received[0], (peer_addr, b"back".to_vec(), 0x40));

    c.client.close(Instant::now());
    assert!(c.pump_until(secs(5), |c| c.has(|e| *e == TurnEvent::Deallocated)));
}

#[test]
#[ignore = "needs coturn; run in a loopback-only namespace (see the module docs)"]
fn coturn_short_lifetime_is_refreshed() {
    // coturn grants at least its default (600 s) unless its maximum is lower.
    let Some(coturn) = Coturn::start(&["--max-allocate-lifetime=4"]) else {
        return;
    };
    let mut c = RealClient::new(coturn.addr, "pass", |c| c.lifetime = secs(4));
    c.client.allocate(Instant::now()).unwrap();
    assert!(c.pump_until(secs(5), |c| c.client.state() == TurnState::Allocated));
    let granted = c.client.lifetime();
    assert_eq!(granted, secs(4), "coturn log:\n{}", coturn.log());
    // Refreshed at half the lifetime (coturn 4.6 then grants its default on
    // Refresh: the maximum only clamps Allocate), and alive past the 4 s.
    let start = Instant::now();
    assert!(
        c.pump_until(secs(5), |c| c
            .has(|e| matches!(e, TurnEvent::Refreshed { .. }))),
        "refresh: {:?}; coturn log:\n{}",
        c.events,
        coturn.log()
    );
    assert!(start.elapsed() < secs(3), "refreshed at about 2 s");
    c.pump_until(secs(4), |_| false);
    assert!(!c.has(|e| matches!(e, TurnEvent::AllocationLost { .. })));
    // Data still flows after the original lifetime ran out.
    let peer = peer_socket();
    let peer_addr = peer.local_addr().unwrap();
    let relayed = c.client.relayed_address().unwrap();
    c.client
        .create_permission(Instant::now(), peer_addr.ip())
        .unwrap();
    assert!(c.pump_until(secs(5), |c| c
        .has(|e| matches!(e, TurnEvent::PermissionCreated(_)))));
    c.send_to(peer_addr, b"still here");
    assert_eq!(recv(&peer), (b"still here".to_vec(), relayed));
    assert_eq!(c.client.state(), TurnState::Allocated);
    c.client.close(Instant::now());
    assert!(c.pump_until(secs(5), |c| c.has(|e| *e == TurnEvent::Deallocated)));
}

#[test]
#[ignore = "needs coturn; run in a loopback-only namespace (see the module docs)"]
fn coturn_wrong_password_fails_with_401() {
    let Some(coturn) = Coturn::start(&[]) else {
        return;
    };
    let mut c = RealClient::new(coturn.addr, "wrong", |_| {});
    c.client.allocate(Instant::now()).unwrap();
    assert!(c.pump_until(secs(5), |c| c.client.state() == TurnState::Failed));
    assert_eq!(
        c.events,
        vec![TurnEvent::AllocationFailed { code: Some(401) }]
    );
    assert_eq!(c.requests, vec![Method::ALLOCATE, Method::ALLOCATE]);
    c.pump_until(ms(500), |_| false);
    assert_eq!(c.requests.len(), 2, "no retry loop");
}

/// Allocates, then relays one datagram each way between the relayed address
/// and a peer socket on `peer_ip`; returns the relayed address.
fn allocate_and_relay(c: &mut RealClient, coturn: &Coturn, peer_ip: IpAddr) -> SocketAddr {
    c.client.allocate(Instant::now()).unwrap();
    assert!(
        c.pump_until(secs(5), |c| c.client.state() == TurnState::Allocated),
        "allocation: {:?} after requests {:?}; coturn log:\n{}",
        c.events,
        c.requests,
        coturn.log()
    );
    let relayed = c.client.relayed_address().unwrap();
    let peer = UdpSocket::bind((peer_ip, 0)).expect("bind peer");
    let peer_addr = peer.local_addr().unwrap();
    c.permit(peer_addr.ip(), coturn);
    c.send_to(peer_addr, b"out through the relay");
    assert_eq!(recv(&peer), (b"out through the relay".to_vec(), relayed));
    peer.send_to(b"back through the relay", relayed).unwrap();
    assert!(c.pump_until(secs(5), |c| c
        .received
        .iter()
        .any(|(p, d, _)| *p == peer_addr && d == b"back through the relay")));
    relayed
}

/// coturn's `--alternate-server`: the first server answers the first
/// Allocate with a 300 (unsigned: coturn redirects before its challenge);
/// the client follows it once, authenticates with the second server and
/// relays through it.
#[test]
#[ignore = "needs coturn; run in a loopback-only namespace (see the module docs)"]
fn coturn_try_alternate_moves_the_allocation_to_the_other_server() {
    let Some(second) = Coturn::start(&[]) else {
        return;
    };
    let relay_min = if *second.relay_ports.end() < 65_000 {
        second.relay_ports.end() + 1
    } else {
        second.relay_ports.start() - 40
    };
    let redirect = format!("--alternate-server={}", second.addr);
    let Some(first) = Coturn::start_with_relays(&[&redirect], relay_min) else {
        return;
    };
    let mut c = RealClient::new(first.addr, "pass", |_| {});
    let relayed = allocate_and_relay(&mut c, &second, LOCALHOST);
    assert_eq!(c.client.server(), second.addr, "{:?}", c.events);
    assert!(second.relay_ports.contains(&relayed.port()), "{relayed}");
    // coturn 4.6 redirects the first, unauthenticated Allocate (before its
    // challenge); then the second server's 401 and success.
    assert_eq!(
        c.requests[..3],
        [Method::ALLOCATE, Method::ALLOCATE, Method::ALLOCATE],
        "{:?}",
        c.requests
    );
}

/// IPv6 relays from coturn listening and relaying on `::1` as well: asked
/// for with REQUESTED-ADDRESS-FAMILY over IPv4, and by default over IPv6;
/// data goes both ways to an IPv6 peer. A 440 when the server has no IPv6
/// relay address fails the allocation.
#[test]
#[ignore = "needs coturn; run in a loopback-only namespace (see the module docs)"]
fn coturn_ipv6_relays() {
    const LOCALHOST6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
    let Some(coturn) = Coturn::start(&["--listening-ip=::1", "--relay-ip=::1"]) else {
        return;
    };
    // Over IPv4, asking for an IPv6 relay.
    let mut c = RealClient::new(coturn.addr, "pass", |c| {
        c.relay_family = Some(ice::port::AddressFamily::V6);
    });
    let relayed = allocate_and_relay(&mut c, &coturn, LOCALHOST6);
    assert_eq!(relayed.ip(), LOCALHOST6);
    assert_eq!(c.client.mapped_address().map(|m| m.is_ipv4()), Some(true));

    // Over IPv6: the server's family by default.
    let server6 = SocketAddr::new(LOCALHOST6, coturn.addr.port());
    let mut c = RealClient::bound(LOCALHOST6, server6, "pass", |_| {});
    let relayed = allocate_and_relay(&mut c, &coturn, LOCALHOST6);
    assert_eq!(relayed.ip(), LOCALHOST6);

    // A server relaying on IPv4 only answers the same request with 440.
    let Some(v4_only) = Coturn::start_with_relays(
        &[],
        if *coturn.relay_ports.end() < 65_000 {
            coturn.relay_ports.end() + 1
        } else {
            coturn.relay_ports.start() - 40
        },
    ) else {
        return;
    };
    let mut c = RealClient::new(v4_only.addr, "pass", |c| {
        c.relay_family = Some(ice::port::AddressFamily::V6);
    });
    c.client.allocate(Instant::now()).unwrap();
    assert!(
        c.pump_until(secs(5), |c| c.client.state() == TurnState::Failed),
        "{:?}; coturn log:\n{}",
        c.events,
        v4_only.log()
    );
    assert!(c.has(|e| *e == TurnEvent::AllocationFailed { code: Some(440) }));
}
