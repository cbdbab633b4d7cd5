//! mDNS host candidates on real sockets.
//!
//! - Not ignored: a remote `.local` candidate nobody answers for is dropped
//!   with [`IceEvent::MdnsUnresolved`] and the transports still connect on
//!   their other candidates (the one query goes to 224.0.0.251 out of
//!   127.0.0.1 only: `IP_MULTICAST_IF` is the gathered loopback address).
//! - `#[ignore]`d, because they bind port 5353 and need multicast on `lo`:
//!   the resolver and responder over real multicast, and two
//!   [`IceTransport`]s connecting through `.local` host candidates. They run
//!   only in a fresh network namespace whose only interface is `lo`, with
//!   multicast on; `cargo xtask test-all --only interop-ice-mdns` makes one:
//!
//! ```text
//! unshare --net sh -c 'ip link set lo up && ip link set lo multicast on && exec "$0" "$@"' \
//!     target/debug/deps/mdns-… --ignored --test-threads=1 --nocapture
//! ```
//!
//!   Elsewhere they skip, saying why, unless `PEERSTACK_REQUIRE_PEERS=1`
//!   (which the xtask step sets) makes that a failure.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use ice::candidate::CandidateAddress;
use ice::driver::{DriverConfig, IceTransport};
use ice::mdns::{
    MdnsEvent, MdnsResolver, MdnsResolverConfig, MdnsResponder, MdnsResponderConfig, MDNS_PORT,
    MDNS_V4,
};
use ice::network::NetworkFilter;
use ice::{Candidate, CandidateKind, GatheringState, IceConfig, IceEvent, IceRole};
use tokio::time::timeout;

/// Generous: the machine is small and shared.
const WAIT: Duration = Duration::from_secs(20);

#[path = "support/tracing.rs"]
mod tracing_support;
use tracing_support::init_tracing;

fn config(role: IceRole, publish_mdns: bool) -> DriverConfig {
    DriverConfig {
        ice: IceConfig {
            role,
            ..Default::default()
        },
        networks: NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        publish_mdns,
        ..Default::default()
    }
}

/// Whether this test may use port 5353 and multicast: true in a network
/// namespace whose only interface is `lo`, with multicast on. Otherwise it
/// says why and returns false, or panics with `PEERSTACK_REQUIRE_PEERS=1`.
fn in_loopback_namespace() -> bool {
    let why = (|| {
        // /proc/net/dev is per network namespace (/sys/class/net is not).
        let dev =
            std::fs::read_to_string("/proc/net/dev").map_err(|e| format!("/proc/net/dev: {e}"))?;
        let others: Vec<&str> = dev
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(str::trim)
            .filter(|name| *name != "lo")
            .collect();
        if !others.is_empty() {
            return Err(format!(
                "interfaces other than lo exist ({}): not a loopback-only network namespace",
                others.join(", ")
            ));
        }
        let link = std::process::Command::new("ip")
            .args(["-o", "link", "show", "lo"])
            .output()
            .map_err(|e| format!("`ip link show lo`: {e}"))?;
        let link = String::from_utf8_lossy(&link.stdout);
        if !link.contains("MULTICAST") || !link.contains("UP") {
            return Err(format!("lo is not up with multicast on: {}", link.trim()));
        }
        Ok(())
    })();
    match why {
        Ok(()) => true,
        Err(why) if std::env::var("PEERSTACK_REQUIRE_PEERS").is_ok_and(|v| v == "1") => {
            panic!("PEERSTACK_REQUIRE_PEERS=1 and this test cannot run: {why}")
        }
        Err(why) => {
            eprintln!(
                "SKIPPED: {why} (run it with `cargo xtask test-all --only interop-ice-mdns`)"
            );
            false
        }
    }
}

/// Forwards `from`'s candidates to `to` until `from` has gathered
/// everything, then signals end-of-candidates; the candidates forwarded.
async fn signal(from: &IceTransport, to: &IceTransport) -> Vec<Candidate> {
    let mut sent = Vec::new();
    loop {
        match timeout(WAIT, from.next_event()).await.expect("gathering") {
            Some(IceEvent::LocalCandidate(c)) => {
                to.add_remote_candidate(c.clone())
                    .await
                    .expect("candidate accepted");
                sent.push(c);
            }
            Some(IceEvent::GatheringStateChanged(GatheringState::Complete)) => {
                to.end_of_remote_candidates().await.unwrap();
                return sent;
            }
            Some(_) => {}
            None => panic!("transport stopped while gathering"),
        }
    }
}

/// Events queued now.
fn drain(t: &IceTransport) -> Vec<IceEvent> {
    std::iter::from_fn(|| t.try_next_event()).collect()
}

async fn exchange(a: &IceTransport, b: &IceTransport) {
    timeout(WAIT, a.connected())
        .await
        .expect("a connects")
        .unwrap();
    timeout(WAIT, b.connected())
        .await
        .expect("b connects")
        .unwrap();
    a.send(b"\x80ping").await.unwrap();
    let mut buf = [0u8; 100];
    let n = timeout(WAIT, b.recv(&mut buf))
        .await
        .expect("b receives")
        .unwrap();
    assert_eq!(&buf[..n], b"\x80ping");
    b.send(b"\x80pong").await.unwrap();
    let n = timeout(WAIT, a.recv(&mut buf))
        .await
        .expect("a receives")
        .unwrap();
    assert_eq!(&buf[..n], b"\x80pong");
}

#[tokio::test]
async fn unresolved_mdns_candidate_is_dropped_and_the_rest_connects() {
    init_tracing();
    let a = IceTransport::bind(config(IceRole::Controlling, false)).unwrap();
    let b = IceTransport::bind(config(IceRole::Controlled, false)).unwrap();
    a.set_remote_credentials(b.local_credentials())
        .await
        .unwrap();
    b.set_remote_credentials(a.local_credentials())
        .await
        .unwrap();
    let bogus: Candidate =
        "candidate:1 1 udp 2122260223 0d5a6b7c-2b6c-4d0e-9f3a-7b4e5c1a8d9e.local 9 typ host"
            .parse()
            .unwrap();
    let start = Instant::now();
    a.add_remote_candidate(bogus)
        .await
        .expect("taken for resolution");
    signal(&a, &b).await;
    signal(&b, &a).await;
    exchange(&a, &b).await;
    let unresolved = loop {
        match timeout(WAIT, a.next_event()).await.expect("MdnsUnresolved") {
            Some(IceEvent::MdnsUnresolved { name }) => break name,
            Some(IceEvent::MdnsResolved { name, address }) => {
                panic!("{name} resolved to {address}?")
            }
            Some(_) => {}
            None => panic!("a stopped"),
        }
    };
    assert_eq!(unresolved, "0d5a6b7c-2b6c-4d0e-9f3a-7b4e5c1a8d9e.local");
    // One attempt and one retransmit of a second each.
    assert!(
        start.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        start.elapsed()
    );
    // The agent goes on: data still flows.
    exchange(&a, &b).await;
    a.close().await.unwrap();
    b.close().await.unwrap();
}

/// Our resolver and responder over real multicast on `lo`: a responder
/// socket on port 5353 joined to 224.0.0.251, a querier on an ephemeral
/// port; the query goes to the group, the answer comes back unicast.
#[test]
#[ignore = "binds port 5353 and needs multicast on lo: run in a loopback-only namespace (xtask interop-ice-mdns)"]
fn resolver_and_responder_over_multicast_on_lo() {
    init_tracing();
    if !in_loopback_namespace() {
        return;
    }
    let lo = Ipv4Addr::LOCALHOST;
    let responder_socket = {
        use socket2::{Domain, Protocol, Socket, Type};
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        s.set_reuse_address(true).unwrap();
        s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, MDNS_PORT)).into())
            .unwrap();
        s.join_multicast_v4(&MDNS_V4, &lo).unwrap();
        UdpSocket::from(s)
    };
    let querier = UdpSocket::bind("0.0.0.0:0").unwrap();
    socket2::SockRef::from(&querier)
        .set_multicast_if_v4(&lo)
        .unwrap();
    querier.set_multicast_loop_v4(true).unwrap();
    for s in [&responder_socket, &querier] {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    }

    let mut responder = MdnsResponder::new(MdnsResponderConfig::default());
    let name = responder.register("192.0.2.44".parse().unwrap()).unwrap();
    let mut resolver = MdnsResolver::new(MdnsResolverConfig {
        ipv6: false,
        ..Default::default()
    });
    let now = Instant::now();
    resolver.resolve(now, &name).unwrap();
    let mut buf = [0u8; 9000];
    let t = resolver.poll_transmit(&mut buf).unwrap();
    querier.send_to(&buf[..t.len], t.destination).unwrap();

    let (n, from) = responder_socket
        .recv_from(&mut buf)
        .expect("the query arrives");
    assert_eq!(from.port(), querier.local_addr().unwrap().port());
    responder
        .handle_receive(Instant::now(), from, &buf[..n])
        .unwrap();
    let t = responder.poll_transmit(Instant::now(), &mut buf).unwrap();
    assert_eq!(t.destination, from, "a one-shot query is answered unicast");
    responder_socket
        .send_to(&buf[..t.len], t.destination)
        .unwrap();

    let (n, from) = querier.recv_from(&mut buf).expect("the answer arrives");
    assert_eq!(from.port(), MDNS_PORT);
    resolver
        .handle_receive(Instant::now(), from, &buf[..n])
        .unwrap();
    assert_eq!(
        resolver.poll_event(),
        Some(MdnsEvent::Resolved {
            name,
            addrs: vec!["192.0.2.44".parse().unwrap()]
        })
    );
}

/// One transport publishes its host candidates under `.local` names, the
/// other resolves them; they connect and exchange data. With `both`, each
/// publishes and each resolves.
async fn connect_through_mdns(both: bool) {
    connect_through_mdns_with(both, false).await
}

/// [`connect_through_mdns`], with `b` also gathering on `::1` when
/// `b_ipv6` (so it queries ff02::fb as well as 224.0.0.251).
async fn connect_through_mdns_with(both: bool, b_ipv6: bool) {
    let a = IceTransport::bind(config(IceRole::Controlling, true)).unwrap();
    let mut b_config = config(IceRole::Controlled, both);
    if b_ipv6 {
        b_config.networks = NetworkFilter::only(&[
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]);
    }
    let b = IceTransport::bind(b_config).unwrap();
    a.set_remote_credentials(b.local_credentials())
        .await
        .unwrap();
    b.set_remote_credentials(a.local_credentials())
        .await
        .unwrap();
    let from_a = signal(&a, &b).await;
    let from_b = signal(&b, &a).await;
    for (c, published) in from_a
        .iter()
        .map(|c| (c, true))
        .chain(from_b.iter().map(|c| (c, both)))
    {
        if c.kind == CandidateKind::Host {
            assert_eq!(
                matches!(c.address, CandidateAddress::Mdns(_)),
                published,
                "{c}"
            );
            // What is signalled parses back.
            assert_eq!(c.to_string().parse::<Candidate>().unwrap(), *c);
        }
    }
    assert!(from_a.iter().any(|c| c.kind == CandidateKind::Host));
    exchange(&a, &b).await;
    let resolved = |events: Vec<IceEvent>| {
        events
            .into_iter()
            .filter_map(|e| match e {
                IceEvent::MdnsResolved { name, address } => Some((name, address)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let at_b = resolved(drain(&b));
    assert!(!at_b.is_empty(), "b resolved a's names");
    for (name, address) in &at_b {
        assert!(name.ends_with(".local"));
        assert_eq!(*address, IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let at_a = resolved(drain(&a));
    assert_eq!(!at_a.is_empty(), both, "{at_a:?}");
    let (_, remote) = timeout(WAIT, async {
        loop {
            if let Some(pair) = b.route() {
                break ((), pair);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(remote.destination.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test]
#[ignore = "binds port 5353 and needs multicast on lo: run in a loopback-only namespace (xtask interop-ice-mdns)"]
async fn transports_connect_through_mdns_host_candidates() {
    init_tracing();
    if !in_loopback_namespace() {
        return;
    }
    connect_through_mdns(false).await;
}

#[tokio::test]
#[ignore = "binds port 5353 and needs multicast on lo: run in a loopback-only namespace (xtask interop-ice-mdns)"]
async fn transports_both_publishing_connect() {
    init_tracing();
    if !in_loopback_namespace() {
        return;
    }
    connect_through_mdns(true).await;
}

/// A resolver that also has IPv6 addresses sends its queries to ff02::fb
/// too; where IPv6 multicast has no route (this namespace) that query is
/// lost and the IPv4 one resolves the names all the same.
#[tokio::test]
#[ignore = "binds port 5353 and needs multicast on lo: run in a loopback-only namespace (xtask interop-ice-mdns)"]
async fn a_resolver_with_ipv6_addresses_still_resolves() {
    init_tracing();
    if !in_loopback_namespace() {
        return;
    }
    connect_through_mdns_with(false, true).await;
}
