//! ICE on virtual time: two agents across every NAT combination, role
//! conflicts, trickle orders, peer-reflexive candidates, ICE restart, consent
//! expiry, failover and loss. Deterministic: every run replays exactly.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ice::sim::{AgentPair, LinkConfig, NatBehavior, SimNetwork};
use ice::{
    CandidateKind, IceAgent, IceConfig, IceConnectionState, IceEvent, IceRole, NominationMode,
};

const STUN: &str = "198.18.100.1:3478";
const TURN: &str = "198.18.100.2:3478";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NatType {
    None,
    FullCone,
    Restricted,
    PortRestricted,
    Symmetric,
}

impl NatType {
    fn behaviours(self) -> Option<(NatBehavior, NatBehavior)> {
        use NatBehavior::*;
        match self {
            NatType::None => None,
            NatType::FullCone => Some((EndpointIndependent, EndpointIndependent)),
            NatType::Restricted => Some((EndpointIndependent, AddressDependent)),
            NatType::PortRestricted => Some((EndpointIndependent, AddressAndPortDependent)),
            NatType::Symmetric => Some((AddressAndPortDependent, AddressAndPortDependent)),
        }
    }
}

fn config(role: IceRole, seed: u64) -> IceConfig {
    IceConfig {
        role,
        seed: Some(seed),
        stun_servers: vec![STUN.parse().unwrap()],
        ..Default::default()
    }
}

fn with_turn(mut c: IceConfig) -> IceConfig {
    c.turn_servers = vec![ice::allocator::TurnServerConfig::udp(
        TURN.parse().unwrap(),
        "user",
        "pass",
    )];
    c
}

/// A behind `nat_a` at 10.0.1.2, B behind `nat_b` at 10.0.2.2 (public hosts
/// at 198.18.1.2 / 198.18.2.2 when no NAT), a STUN server, sockets added,
/// credentials exchanged, candidates trickled as they are gathered.
fn setup(
    nat_a: NatType,
    nat_b: NatType,
    seed: u64,
    link: LinkConfig,
    ca: IceConfig,
    cb: IceConfig,
) -> AgentPair {
    let mut net = SimNetwork::new(seed, link);
    net.add_stun_server(STUN.parse().unwrap());
    net.add_turn_server(TURN.parse().unwrap(), "user", "pass");
    let mut addrs = Vec::new();
    for (i, nat) in [nat_a, nat_b].into_iter().enumerate() {
        let addr: SocketAddr = match nat.behaviours() {
            Some((m, f)) => {
                let id = net.add_nat(format!("198.18.0.{}", i + 1).parse().unwrap(), m, f);
                let ip: IpAddr = format!("10.0.{}.2", i + 1).parse().unwrap();
                net.add_host(ip, Some(id));
                SocketAddr::new(ip, 5000)
            }
            None => {
                let ip: IpAddr = format!("198.18.{}.2", i + 1).parse().unwrap();
                net.add_host(ip, None);
                SocketAddr::new(ip, 5000)
            }
        };
        addrs.push(addr);
    }
    let start = Instant::now();
    let mut pair = AgentPair::new(net, IceAgent::new(ca), IceAgent::new(cb), start);
    pair.exchange_credentials();
    pair.add_socket(false, addrs[0]);
    pair.add_socket(true, addrs[1]);
    pair.finish_sockets();
    pair
}

fn both_connected(p: &AgentPair) -> bool {
    p.a.route().is_some()
        && p.b.route().is_some()
        && connected(p.a.state())
        && connected(p.b.state())
}

fn connected(s: IceConnectionState) -> bool {
    matches!(
        s,
        IceConnectionState::Connected | IceConnectionState::Completed
    )
}

/// Sends data both ways and checks it arrives.
fn data_flows(p: &mut AgentPair) -> bool {
    let (na, nb) = (p.received[0].len(), p.received[1].len());
    let ok = p.send_data(false, b"hello from a") && p.send_data(true, b"hello from b");
    ok && p.run_until(Duration::from_secs(2), |p| {
        p.received[0].len() > na && p.received[1].len() > nb
    })
}

fn end_of_candidates_when_gathered(p: &mut AgentPair) {
    // Signal end-of-candidates once gathering completes on each side.
    let ok = p.run_until(Duration::from_secs(60), |p| {
        p.a.gathering_state() == ice::GatheringState::Complete
            && p.b.gathering_state() == ice::GatheringState::Complete
    });
    assert!(ok, "gathering completes");
    let now = p.now;
    p.a.end_of_remote_candidates(now);
    p.b.end_of_remote_candidates(now);
}

#[test]
fn nat_matrix() {
    use NatType::*;
    let all = [None, FullCone, Restricted, PortRestricted, Symmetric];
    for (i, a) in all.iter().enumerate() {
        for (j, b) in all.iter().enumerate() {
            let expected = !matches!(
                (a, b),
                (Symmetric, Symmetric) | (Symmetric, PortRestricted) | (PortRestricted, Symmetric)
            );
            let seed = (i * 10 + j) as u64;
            let mut p = setup(
                *a,
                *b,
                seed,
                LinkConfig::default(),
                config(IceRole::Controlling, seed * 2 + 100),
                config(IceRole::Controlled, seed * 2 + 101),
            );
            let connected = p.run_until(Duration::from_secs(30), both_connected);
            assert_eq!(
                connected,
                expected,
                "{a:?} <-> {b:?}: connected={connected}, a={:?} b={:?}",
                p.a.state(),
                p.b.state()
            );
            if expected {
                assert!(data_flows(&mut p), "{a:?} <-> {b:?}: data");
                // Both sides agree on the nominated pair eventually.
                assert!(p.run_until(Duration::from_secs(5), |p| p.a.state()
                    == IceConnectionState::Connected
                    || p.a.state() == IceConnectionState::Completed));
            } else {
                end_of_candidates_when_gathered(&mut p);
                let failed = p.run_until(Duration::from_secs(60), |p| {
                    p.a.state() == IceConnectionState::Failed
                        && p.b.state() == IceConnectionState::Failed
                });
                assert!(
                    failed,
                    "{a:?} <-> {b:?} must fail without a relay: a={:?} b={:?}",
                    p.a.state(),
                    p.b.state()
                );
            }
        }
    }
}

#[test]
fn symmetric_to_symmetric_connects_through_a_relay() {
    for (seed, loss) in [(201u64, 0.0), (202, 0.1)] {
        let link = LinkConfig {
            loss,
            ..LinkConfig::default()
        };
        let mut p = setup(
            NatType::Symmetric,
            NatType::Symmetric,
            seed,
            link,
            with_turn(config(IceRole::Controlling, seed)),
            with_turn(config(IceRole::Controlled, seed + 1)),
        );
        assert!(
            p.run_until(Duration::from_secs(30), both_connected),
            "loss {loss}: a={:?} b={:?}",
            p.a.state(),
            p.b.state()
        );
        let (local, remote) = p.a.selected_pair().unwrap();
        assert!(
            local.kind == ice::CandidateKind::Relay || remote.kind == ice::CandidateKind::Relay,
            "{local} / {remote}"
        );
        // One datagram each way: measure it on a clean link.
        p.net.set_link(LinkConfig::default());
        assert!(data_flows(&mut p), "loss {loss}: data through the relay");
    }
}

#[test]
fn relay_only_filter_signals_and_uses_only_relays() {
    let mut ca = with_turn(config(IceRole::Controlling, 211));
    ca.candidate_filter = ice::CandidateFilter::RelayOnly;
    let cb = with_turn(config(IceRole::Controlled, 212));
    let mut p = setup(
        NatType::None,
        NatType::None,
        21,
        LinkConfig::default(),
        ca,
        cb,
    );
    assert!(p.run_until(Duration::from_secs(30), both_connected));
    assert!(p
        .a
        .local_candidates()
        .iter()
        .all(|c| c.kind == ice::CandidateKind::Relay));
    let (local, _) = p.a.selected_pair().unwrap();
    assert_eq!(local.kind, ice::CandidateKind::Relay);
    assert!(data_flows(&mut p));
    // In place: with the channel bound by now, the ChannelData header goes
    // into the caller's headroom and nothing is queued or copied.
    let mut buf = [0u8; ice::SEND_HEADROOM + 5 + ice::SEND_TAILROOM];
    buf[ice::SEND_HEADROOM..][..5].copy_from_slice(b"\x80abcd");
    let now = p.now;
    let to =
        p.a.send_in_place(now, &mut buf, 5)
            .unwrap()
            .expect("a bound channel");
    assert_eq!(to.transport, ice::TransportProtocol::Udp);
    assert_eq!((to.offset, to.len), (0, 9));
    let datagram = to.datagram(&buf);
    assert!(
        (0x40..=0x4f).contains(&datagram[0]),
        "ChannelData {datagram:?}"
    );
    assert_eq!(&datagram[2..], &[0, 5, 0x80, b'a', b'b', b'c', b'd']);
    assert!(p.a.poll_transmit(now).is_none());
    let before = p.received[1].len();
    let transmit = ice::Transmit {
        source: to.source,
        destination: to.destination,
        transport: to.transport,
        contents: bytes::Bytes::copy_from_slice(datagram),
    };
    p.net.send(now, &transmit);
    assert!(p.run_until(Duration::from_secs(2), |p| p.received[1].len() > before));
    assert_eq!(&p.received[1][before][..], b"\x80abcd");
    // Without the headroom: refused, not a panic.
    assert_eq!(
        p.a.send_in_place(now, &mut [0u8; 6], 5),
        Err(ice::Error::BufferTooSmall)
    );
    // Closing releases the allocation at the server.
    let now = p.now;
    p.a.close(now);
    p.run_until(Duration::from_secs(1), |_| false);
}

#[test]
fn connects_fast_on_a_clean_link_and_completes() {
    let mut p = setup(
        NatType::None,
        NatType::None,
        1,
        LinkConfig::default(),
        config(IceRole::Controlling, 1),
        config(IceRole::Controlled, 2),
    );
    assert!(p.run_until(Duration::from_secs(5), both_connected));
    // Host-host over a 10 ms link: a few round trips.
    assert!(
        p.now - p.start < Duration::from_millis(200),
        "took {:?}",
        p.now - p.start
    );
    end_of_candidates_when_gathered(&mut p);
    assert!(p.run_until(Duration::from_secs(5), |p| p.a.state()
        == IceConnectionState::Completed
        && p.b.state() == IceConnectionState::Completed));
    let (la, ra) = p.a.selected_pair().unwrap();
    let (lb, rb) = p.b.selected_pair().unwrap();
    assert_eq!(la.socket_addr(), rb.socket_addr());
    assert_eq!(lb.socket_addr(), ra.socket_addr());
    assert!(data_flows(&mut p));
}

#[test]
fn role_conflict_is_resolved_both_ways() {
    for (ra, rb) in [
        (IceRole::Controlling, IceRole::Controlling),
        (IceRole::Controlled, IceRole::Controlled),
    ] {
        let mut p = setup(
            NatType::None,
            NatType::None,
            3,
            LinkConfig::default(),
            config(ra, 11),
            config(rb, 12),
        );
        assert!(
            p.run_until(Duration::from_secs(10), both_connected),
            "{ra:?}/{rb:?}"
        );
        assert_ne!(p.a.role(), p.b.role(), "exactly one controlling agent");
        assert!(p
            .events
            .iter()
            .any(|(_, _, e)| matches!(e, IceEvent::RoleChanged(_))));
        assert!(data_flows(&mut p));
    }
}

#[test]
fn trickle_in_any_order() {
    // Candidates before credentials, and credentials late on one side.
    let mut net = SimNetwork::new(5, LinkConfig::default());
    net.add_host("198.18.1.2".parse().unwrap(), None);
    net.add_host("198.18.2.2".parse().unwrap(), None);
    let mut p = AgentPair::new(
        net,
        IceAgent::new(config(IceRole::Controlling, 21)),
        IceAgent::new(config(IceRole::Controlled, 22)),
        Instant::now(),
    );
    p.signalling = Some(Duration::from_millis(30));
    p.add_socket(false, "198.18.1.2:5000".parse().unwrap());
    p.add_socket(true, "198.18.2.2:5000".parse().unwrap());
    // Let candidates arrive with no credentials anywhere.
    p.run_until(Duration::from_millis(100), |_| false);
    assert_eq!(p.a.state(), IceConnectionState::Checking);
    // B learns A's credentials first; A only 200 ms later.
    let ca = p.a.local_credentials().clone();
    p.b.set_remote_credentials(p.now, ca);
    p.run_until(Duration::from_millis(200), |_| false);
    assert!(p.a.route().is_none());
    let cb = p.b.local_credentials().clone();
    p.a.set_remote_credentials(p.now, cb);
    assert!(p.run_until(Duration::from_secs(5), both_connected));
    assert!(data_flows(&mut p));
}

#[test]
fn peer_reflexive_candidates_when_the_peer_signals_nothing() {
    // B never signals its candidates: A learns B as peer-reflexive from B's checks.
    let mut net = SimNetwork::new(6, LinkConfig::default());
    net.add_host("198.18.1.2".parse().unwrap(), None);
    net.add_host("198.18.2.2".parse().unwrap(), None);
    let mut p = AgentPair::new(
        net,
        IceAgent::new(config(IceRole::Controlling, 31)),
        IceAgent::new(config(IceRole::Controlled, 32)),
        Instant::now(),
    );
    p.signalling = None;
    p.exchange_credentials();
    p.add_socket(false, "198.18.1.2:5000".parse().unwrap());
    p.add_socket(true, "198.18.2.2:5000".parse().unwrap());
    // Only A's candidate reaches B.
    for c in p.a.local_candidates() {
        let now = p.now;
        p.b.add_remote_candidate(now, c).unwrap();
    }
    assert!(p.run_until(Duration::from_secs(5), both_connected));
    let (_, remote) = p.a.selected_pair().unwrap();
    assert_eq!(remote.kind, ice::CandidateKind::PeerReflexive);
    assert!(data_flows(&mut p));
}

#[test]
fn twenty_percent_loss_still_connects() {
    let link = LinkConfig {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(10),
        loss: 0.2,
        duplicate: 0.05,
    };
    for seed in 0..10 {
        let mut p = setup(
            NatType::PortRestricted,
            NatType::Restricted,
            seed,
            link,
            config(IceRole::Controlling, seed + 40),
            config(IceRole::Controlled, seed + 80),
        );
        assert!(
            p.run_until(Duration::from_secs(30), both_connected),
            "seed {seed}: a={:?} b={:?}",
            p.a.state(),
            p.b.state()
        );
    }
}

#[test]
fn aggressive_nomination_and_lite() {
    let mut ca = config(IceRole::Controlling, 51);
    ca.nomination = NominationMode::Aggressive;
    let mut p = setup(
        NatType::None,
        NatType::None,
        7,
        LinkConfig::default(),
        ca,
        config(IceRole::Controlled, 52),
    );
    assert!(p.run_until(Duration::from_secs(5), both_connected));
    assert!(data_flows(&mut p));

    // A lite B: never sends a check, still connects, and A must be controlling.
    let cb = IceConfig {
        lite: true,
        role: IceRole::Controlling,
        ..config(IceRole::Controlled, 54)
    };
    let mut p = setup(
        NatType::None,
        NatType::None,
        8,
        LinkConfig::default(),
        config(IceRole::Controlled, 53),
        cb,
    );
    p.a.set_remote_ice_lite(true);
    assert_eq!(p.a.role(), IceRole::Controlling);
    assert_eq!(p.b.role(), IceRole::Controlled);
    assert!(p.run_until(Duration::from_secs(5), both_connected));
    assert!(data_flows(&mut p));
}

#[test]
fn consent_expiry_stops_sending_after_30_seconds() {
    let mut p = setup(
        NatType::None,
        NatType::None,
        9,
        LinkConfig::default(),
        config(IceRole::Controlling, 61),
        config(IceRole::Controlled, 62),
    );
    assert!(p.run_until(Duration::from_secs(5), both_connected));
    end_of_candidates_when_gathered(&mut p);
    // Consent keeps the pair alive for minutes while the peer answers.
    assert!(!p.run_until(Duration::from_secs(120), |p| !both_connected(p)));
    // B vanishes.
    p.net.blackhole("198.18.2.2".parse().unwrap(), true);
    let cut = p.now;
    assert!(p.run_until(Duration::from_secs(20), |p| p.a.state()
        == IceConnectionState::Disconnected));
    assert!(
        p.a.route().is_some(),
        "still allowed to send while disconnected"
    );
    assert!(p.run_until(Duration::from_secs(40), |p| p.a.route().is_none()));
    let stopped = p.now - cut;
    // The last answered consent check was at most ~6 s before the cut.
    assert!(
        stopped <= Duration::from_secs(30) && stopped >= Duration::from_secs(23),
        "sending stopped after {stopped:?}"
    );
    assert!(p.run_until(Duration::from_secs(5), |p| p.a.state()
        == IceConnectionState::Failed));
}

#[test]
fn failover_when_the_selected_path_dies() {
    // Each agent has two networks; kill the one in use.
    let mut net = SimNetwork::new(10, LinkConfig::default());
    for ip in ["198.18.1.2", "198.18.1.3", "198.18.2.2", "198.18.2.3"] {
        net.add_host(ip.parse().unwrap(), None);
    }
    let mut p = AgentPair::new(
        net,
        IceAgent::new(config(IceRole::Controlling, 71)),
        IceAgent::new(config(IceRole::Controlled, 72)),
        Instant::now(),
    );
    p.exchange_credentials();
    p.add_socket(false, "198.18.1.2:5000".parse().unwrap());
    p.add_socket(false, "198.18.1.3:5000".parse().unwrap());
    p.add_socket(true, "198.18.2.2:5000".parse().unwrap());
    p.add_socket(true, "198.18.2.3:5000".parse().unwrap());
    p.finish_sockets();
    assert!(p.run_until(Duration::from_secs(5), both_connected));
    // Let every pair get checked.
    p.run_until(Duration::from_secs(3), |_| false);
    let before = p.a.route().unwrap();
    p.net.blackhole(before.source.ip(), true);
    let ok = p.run_until(Duration::from_secs(30), |p| {
        p.a.route().is_some_and(|r| r.source != before.source)
            && p.b
                .route()
                .is_some_and(|r| r.destination.ip() != before.source.ip())
    });
    assert!(ok, "switched: a={:?} b={:?}", p.a.route(), p.b.route());
    assert!(data_flows(&mut p));
}

/// An address that disappears (interface down) fails its pairs at once:
/// the agent moves to its other network within 3 s, long before consent
/// (30 s) would have noticed, and says which candidates are gone.
#[test]
fn a_removed_address_moves_the_connection_to_another_network_at_once() {
    let mut net = SimNetwork::new(11, LinkConfig::default());
    for ip in ["198.18.1.2", "198.18.1.3", "198.18.2.2"] {
        net.add_host(ip.parse().unwrap(), None);
    }
    let mut p = AgentPair::new(
        net,
        IceAgent::new(config(IceRole::Controlling, 73)),
        IceAgent::new(config(IceRole::Controlled, 74)),
        Instant::now(),
    );
    p.exchange_credentials();
    p.add_socket(false, "198.18.1.2:5000".parse().unwrap());
    p.add_socket(false, "198.18.1.3:5000".parse().unwrap());
    p.add_socket(true, "198.18.2.2:5000".parse().unwrap());
    p.finish_sockets();
    assert!(p.run_until(Duration::from_secs(5), both_connected));
    p.run_until(Duration::from_secs(3), |_| false);
    let before = p.a.route().unwrap();
    let gone = before.source.ip();
    // The address goes: no packet reaches it or leaves it any more.
    p.net.blackhole(gone, true);
    let now = p.now;
    p.a.remove_local_address(now, gone);
    let removed: Vec<_> =
        p.a.local_candidates()
            .iter()
            .filter(|c| c.socket_addr().is_some_and(|a| a.ip() == gone))
            .cloned()
            .collect();
    assert!(removed.is_empty(), "still listed: {removed:?}");
    let start = p.now;
    let ok = p.run_until(Duration::from_secs(3), |p| {
        p.a.route().is_some_and(|r| r.source.ip() != gone)
            && p.b.route().is_some_and(|r| r.destination.ip() != gone)
    });
    assert!(
        ok,
        "switched within 3 s: a={:?} b={:?}",
        p.a.route(),
        p.b.route()
    );
    assert!(p.now - start < Duration::from_secs(3));
    assert!(data_flows(&mut p));
    assert!(connected(p.a.state()), "{:?}", p.a.state());
    assert!(p.events.iter().any(|(_, b, e)| !b
        && matches!(e, IceEvent::LocalCandidatesRemoved(c)
            if c.len() == 1 && c[0].socket_addr() == Some(before.source))));
}

/// With nothing left, the agent reports Failed at once instead of after
/// consent expiry.
#[test]
fn removing_the_only_address_fails_at_once() {
    let mut net = SimNetwork::new(12, LinkConfig::default());
    for ip in ["198.18.1.2", "198.18.2.2"] {
        net.add_host(ip.parse().unwrap(), None);
    }
    let mut p = AgentPair::new(
        net,
        IceAgent::new(config(IceRole::Controlling, 75)),
        IceAgent::new(config(IceRole::Controlled, 76)),
        Instant::now(),
    );
    p.exchange_credentials();
    p.add_socket(false, "198.18.1.2:5000".parse().unwrap());
    p.add_socket(true, "198.18.2.2:5000".parse().unwrap());
    p.finish_sockets();
    assert!(p.run_until(Duration::from_secs(5), both_connected));
    let gone = "198.18.1.2".parse().unwrap();
    p.net.blackhole(gone, true);
    let now = p.now;
    p.a.remove_local_address(now, gone);
    assert!(p.a.local_candidates().is_empty());
    assert!(p.a.route().is_none());
    assert!(p.run_until(Duration::from_millis(100), |p| p.a.state()
        == IceConnectionState::Failed));
    assert!(p
        .events
        .iter()
        .any(|(_, b, e)| !b && matches!(e, IceEvent::LocalCandidatesRemoved(c) if c.len() == 1)));
    // Removing it again, or an address we never had, changes nothing.
    p.a.remove_local_address(now, gone);
    p.a.remove_local_address(now, "203.0.113.9".parse().unwrap());
    assert_eq!(p.a.state(), IceConnectionState::Failed);
}

#[test]
fn ice_restart_keeps_data_flowing() {
    let mut p = setup(
        NatType::None,
        NatType::None,
        11,
        LinkConfig::default(),
        config(IceRole::Controlling, 81),
        config(IceRole::Controlled, 82),
    );
    assert!(p.run_until(Duration::from_secs(5), both_connected));
    let old_ufrag = p.a.local_credentials().ufrag.clone();
    let now = p.now;
    p.a.restart(now);
    p.b.restart(now);
    assert_ne!(p.a.local_credentials().ufrag, old_ufrag);
    // Before the new credentials are exchanged, the old pair still carries data.
    assert!(data_flows(&mut p));
    p.exchange_credentials();
    let (ca, cb) = (p.a.local_candidates(), p.b.local_candidates());
    let now = p.now;
    for c in ca {
        p.b.add_remote_candidate(now, c).unwrap();
    }
    for c in cb {
        p.a.add_remote_candidate(now, c).unwrap();
    }
    assert!(p.run_until(Duration::from_secs(5), |p| {
        both_connected(p)
            && p.a.selected_pair().is_some_and(|(l, _)| {
                l.ufrag.as_deref() == Some(p.a.local_credentials().ufrag.as_str())
            })
    }));
    assert!(data_flows(&mut p));
}

#[test]
fn unauthenticated_checks_create_no_state() {
    let mut p = setup(
        NatType::None,
        NatType::None,
        12,
        LinkConfig::default(),
        config(IceRole::Controlling, 91),
        config(IceRole::Controlled, 92),
    );
    // A check signed with the wrong password, from an unknown address.
    let wrong = stun::IntegrityKey::short_term("wrong-password-wrong-password").unwrap();
    let mut buf = [0u8; 256];
    let username = format!("{}:{}", p.b.local_credentials().ufrag, "evil");
    let mut b = stun::MessageBuilder::new(
        &mut buf,
        stun::Class::Request,
        stun::Method::BINDING,
        stun::TransactionId([1; 12]),
    )
    .unwrap();
    b.add(&stun::attributes::Username(&username)).unwrap();
    b.add(&stun::attributes::Priority(1)).unwrap();
    b.add(&stun::attributes::IceControlling(1)).unwrap();
    b.add_message_integrity(&wrong).unwrap();
    b.add_fingerprint().unwrap();
    let n = b.finish();
    let now = p.now;
    let before = p.b.remote_candidate_count();
    let r = p.b.handle_receive(
        now,
        ice::Receive {
            local: "198.18.2.2:5000".parse().unwrap(),
            source: "198.18.66.6:666".parse().unwrap(),
            data: &buf[..n],
        },
    );
    assert_eq!(r, ice::Received::Dropped);
    assert_eq!(p.b.remote_candidate_count(), before);
    // It is answered with 401, unsigned.
    let t = p.b.poll_transmit(p.now).unwrap();
    let m = stun::Message::parse(&t.contents).unwrap();
    assert_eq!(
        m.get::<stun::attributes::ErrorCode<'_>>()
            .unwrap()
            .unwrap()
            .code,
        401
    );
    assert!(!m.has_integrity());
    // Data from an unknown source is dropped too.
    let r = p.b.handle_receive(
        now,
        ice::Receive {
            local: "198.18.2.2:5000".parse().unwrap(),
            source: "198.18.66.6:666".parse().unwrap(),
            data: &[0x80, 96, 0, 0],
        },
    );
    assert_eq!(r, ice::Received::Dropped);
}

#[test]
fn ice_tcp_connects_when_only_tcp_is_available() {
    let mut net = SimNetwork::new(13, LinkConfig::default());
    net.add_host("198.18.1.2".parse().unwrap(), None);
    net.add_host("198.18.2.2".parse().unwrap(), None);
    let mut p = AgentPair::new(
        net,
        IceAgent::new(config(IceRole::Controlling, 101)),
        IceAgent::new(config(IceRole::Controlled, 102)),
        Instant::now(),
    );
    p.exchange_credentials();
    p.add_tcp_listener(false, "198.18.1.2:7000".parse().unwrap());
    p.add_tcp_listener(true, "198.18.2.2:7000".parse().unwrap());
    p.finish_sockets();
    // Each side signals a passive and an active candidate.
    let tcp: Vec<_> = p.a.local_candidates();
    assert_eq!(tcp.len(), 2);
    assert!(tcp
        .iter()
        .all(|c| c.transport == ice::TransportProtocol::Tcp));
    assert!(
        p.run_until(Duration::from_secs(10), both_connected),
        "a={:?} b={:?}",
        p.a.state(),
        p.b.state()
    );
    assert_eq!(p.a.route().unwrap().transport, ice::TransportProtocol::Tcp);
    assert_eq!(p.b.route().unwrap().transport, ice::TransportProtocol::Tcp);
    assert!(data_flows(&mut p));
}

#[test]
fn udp_wins_over_tcp_when_both_work() {
    let mut net = SimNetwork::new(14, LinkConfig::default());
    net.add_host("198.18.1.2".parse().unwrap(), None);
    net.add_host("198.18.2.2".parse().unwrap(), None);
    let mut p = AgentPair::new(
        net,
        IceAgent::new(config(IceRole::Controlling, 111)),
        IceAgent::new(config(IceRole::Controlled, 112)),
        Instant::now(),
    );
    p.exchange_credentials();
    p.add_tcp_listener(false, "198.18.1.2:7000".parse().unwrap());
    p.add_tcp_listener(true, "198.18.2.2:7000".parse().unwrap());
    p.add_socket(false, "198.18.1.2:5000".parse().unwrap());
    p.add_socket(true, "198.18.2.2:5000".parse().unwrap());
    p.finish_sockets();
    assert!(p.run_until(Duration::from_secs(10), both_connected));
    p.run_until(Duration::from_secs(2), |_| false);
    assert_eq!(p.a.route().unwrap().transport, ice::TransportProtocol::Udp);
    assert_eq!(p.b.route().unwrap().transport, ice::TransportProtocol::Udp);
}

#[test]
fn a_check_lost_to_the_peers_nat_is_replaced_by_a_triggered_check() {
    // B sits behind a port-restricted NAT and learns A's credentials late, so A's first
    // check is dropped by B's NAT (B has sent nothing yet). When B's own check reaches A,
    // A sends a new check at once (RFC 8445 §7.3.1.4) instead of waiting for the 250 ms
    // retransmission of the lost one.
    let mut net = SimNetwork::new(31, LinkConfig::default());
    net.add_host("198.18.1.2".parse().unwrap(), None);
    let nat = net.add_nat(
        "198.18.0.2".parse().unwrap(),
        NatBehavior::EndpointIndependent,
        NatBehavior::AddressAndPortDependent,
    );
    net.add_host("10.0.2.2".parse().unwrap(), Some(nat));
    net.add_stun_server(STUN.parse().unwrap());
    let mut p = AgentPair::new(
        net,
        IceAgent::new(config(IceRole::Controlling, 301)),
        IceAgent::new(config(IceRole::Controlled, 302)),
        Instant::now(),
    );
    p.add_socket(false, "198.18.1.2:5000".parse().unwrap());
    p.add_socket(true, "10.0.2.2:5000".parse().unwrap());
    p.finish_sockets();
    let cb = p.b.local_credentials().clone();
    p.a.set_remote_credentials(p.now, cb);
    // Gathering and trickle complete; A checks B's server-reflexive address and is filtered.
    p.run_until(Duration::from_millis(120), |_| false);
    assert!(p.a.route().is_none());
    let ca = p.a.local_credentials().clone();
    p.b.set_remote_credentials(p.now, ca);
    let start = p.now;
    assert!(p.run_until(Duration::from_secs(5), both_connected));
    let took = p.now - start;
    // Two one-way trips of 10 ms plus the triggered check's round trip: well under 250 ms.
    assert!(
        took < Duration::from_millis(100),
        "connected {took:?} after B started checking"
    );
}

/// A behind a NAT with no STUN server knows only its private host
/// candidate; the path it really uses goes out through the NAT's mapping.
/// The selected pair reports that: a peer-reflexive local candidate with the
/// mapped address (related to the host base), not the host one (RFC 8445
/// §7.2.5.3.2). With a STUN server it is the server-reflexive candidate.
#[test]
fn the_selected_local_candidate_is_the_one_the_path_uses() {
    for with_stun in [false, true] {
        let mut ca = config(IceRole::Controlling, 501);
        let mut cb = config(IceRole::Controlled, 502);
        if !with_stun {
            ca.stun_servers.clear();
            cb.stun_servers.clear();
        }
        let mut p = setup(
            NatType::PortRestricted,
            NatType::None,
            50,
            LinkConfig::default(),
            ca,
            cb,
        );
        assert!(p.run_until(Duration::from_secs(30), both_connected));
        let (local, remote) = p.a.selected_pair().unwrap();
        assert_eq!(remote.kind, CandidateKind::Host, "B is public");
        let expected = if with_stun {
            CandidateKind::ServerReflexive
        } else {
            CandidateKind::PeerReflexive
        };
        assert_eq!(local.kind, expected, "stun={with_stun}: {local:?}");
        assert_eq!(
            local.socket_addr().map(|a| a.ip()),
            Some("198.18.0.1".parse::<IpAddr>().unwrap()),
            "the NAT's public address"
        );
        assert_eq!(
            local
                .related
                .as_ref()
                .map(|(a, port)| (a.to_string(), *port)),
            Some(("10.0.1.2".to_string(), 5000)),
            "related to the host base"
        );
        // B sees A's mapped address as its remote (a peer-reflexive remote or
        // the signalled server-reflexive one), and its own host candidate.
        let (b_local, b_remote) = p.b.selected_pair().unwrap();
        assert_eq!(b_local.kind, CandidateKind::Host);
        assert_eq!(b_remote.socket_addr(), local.socket_addr());
    }
}
