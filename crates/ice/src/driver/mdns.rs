//! mDNS in the driver: resolving remote `.local` candidates and publishing
//! ours ([`crate::mdns`] on two sockets the driver owns).
//!
//! - The **querier** socket (created at the first `.local` candidate): UDP
//!   on 0.0.0.0 with an ephemeral port, `IP_MULTICAST_IF` set to the first
//!   IPv4 address gathered, `IP_MULTICAST_LOOP` on (so names published on
//!   this host resolve too) and a multicast TTL of 255. One-shot queries go
//!   to 224.0.0.251:5353 and answers come back unicast to it.
//! - The **responder** socket ([`DriverConfig::publish_mdns`](super::DriverConfig::publish_mdns)):
//!   UDP on 0.0.0.0:5353 with `SO_REUSEADDR` and `SO_REUSEPORT` (the port
//!   is shared with the system's responder and other transports), joined
//!   to 224.0.0.251 on every IPv4 address gathered.
//!
//! - With IPv6 addresses gathered, a second **IPv6 querier** (UDP on `[::]`
//!   with an ephemeral port, `IPV6_MULTICAST_LOOP` on, 255 hops) sends the
//!   same queries to `[ff02::fb]:5353` through the system's default
//!   multicast interface; where that is refused (no IPv6 multicast route,
//!   as in a loopback-only namespace) the IPv4 query alone resolves.
//!
//! The responder listens on IPv4 only; its answers carry A and AAAA
//! records, so IPv6 host candidates are published over it as well.
//! Addresses the network monitor finds later are published (their host
//! candidates get names) but the responder does not join the group on
//! their interfaces.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::task::Poll;
use std::time::Instant;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::ReadBuf;
use tokio::net::UdpSocket;

use crate::candidate::{Candidate, CandidateAddress, CandidateKind};
use crate::error::Error;
use crate::mdns::{
    MdnsEvent, MdnsResolver, MdnsResolverConfig, MdnsResponder, MdnsResponderConfig, MDNS_PORT,
    MDNS_V4,
};

/// Remote candidates waiting for their name to resolve, at most.
pub(super) const MAX_WAITING: usize = 64;

/// Most datagrams [`Mdns::read_some`] reads from one socket per turn.
const READ_BUDGET: usize = 16;

/// The multicast TTL of mDNS (RFC 6762 §11).
const MDNS_TTL: u32 = 255;

/// What an mDNS socket received, in [`Mdns::buf`].
pub(super) enum MdnsWake {
    Querier(SocketAddr, usize),
    Responder(SocketAddr, usize),
}

/// What the driver does after an answer.
pub(super) enum MdnsOutcome {
    /// Add this candidate (its address resolved) to the agent.
    Add(Candidate, String),
    /// The name did not resolve; its candidates are dropped.
    Unresolved(String),
}

pub(super) struct Mdns {
    resolver: MdnsResolver,
    querier: Option<UdpSocket>,
    /// The IPv6 querier, when IPv6 addresses were gathered and it could be made.
    querier6: Option<UdpSocket>,
    /// IPv6 addresses were gathered: queries go to ff02::fb too.
    have_v6: bool,
    responder: Option<(MdnsResponder, UdpSocket)>,
    /// Where IPv4 multicast leaves (the first IPv4 address gathered).
    interface: Option<Ipv4Addr>,
    /// The families of our sockets, to pick the address to use of several.
    have_v4: bool,
    waiting: Vec<Candidate>,
    /// end-of-candidates held back while candidates wait for their name.
    pub(super) end_deferred: bool,
    buf: Vec<u8>,
}

fn querier_socket(interface: Option<Ipv4Addr>) -> io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)).into())?;
    if let Some(i) = interface {
        s.set_multicast_if_v4(&i)?;
    }
    s.set_multicast_loop_v4(true)?;
    s.set_multicast_ttl_v4(MDNS_TTL)?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s.into())
}

fn querier_socket_v6() -> io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_only_v6(true)?;
    s.bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)).into())?;
    s.set_multicast_loop_v6(true)?;
    s.set_multicast_hops_v6(MDNS_TTL)?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s.into())
}

fn responder_socket(interfaces: &[Ipv4Addr]) -> io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, MDNS_PORT)).into())?;
    let mut joined = 0;
    for i in interfaces {
        match s.join_multicast_v4(&MDNS_V4, i) {
            Ok(()) => joined += 1,
            Err(e) => tracing::debug!(interface = %i, error = %e, "cannot join the mDNS group"),
        }
    }
    if joined == 0 {
        return Err(io::ErrorKind::AddrNotAvailable.into());
    }
    if let Some(i) = interfaces.first() {
        s.set_multicast_if_v4(i)?;
    }
    s.set_multicast_loop_v4(true)?;
    s.set_multicast_ttl_v4(MDNS_TTL)?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s.into())
}

/// Errors a socket may report in a row (ICMP errors of earlier sends, one
/// per read) before [`poll_socket`] leaves it for the next wake-up.
const ERRORS_PER_POLL: usize = 8;

/// A datagram from `socket` into `buf`, or `None` with the waker
/// registered (errors, each reported once, are logged and skipped).
fn poll_socket(
    socket: &UdpSocket,
    cx: &mut std::task::Context<'_>,
    buf: &mut [u8],
) -> Option<(SocketAddr, usize)> {
    for _ in 0..ERRORS_PER_POLL {
        let mut rb = ReadBuf::new(buf);
        match socket.poll_recv_from(cx, &mut rb) {
            Poll::Ready(Ok(from)) => return Some((from, rb.filled().len())),
            Poll::Ready(Err(e)) => tracing::trace!(error = %e, "mDNS socket receive error"),
            Poll::Pending => return None,
        }
    }
    // Come back soon rather than never: the waker was not registered.
    cx.waker().wake_by_ref();
    None
}

impl Mdns {
    /// Resolution ready (its socket made on first use); publishing when
    /// `publish` and the responder socket can be had on `local` addresses.
    pub(super) fn new(publish: bool, local: &[SocketAddr]) -> Mdns {
        let v4: Vec<Ipv4Addr> = local
            .iter()
            .filter_map(|a| match a.ip() {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(_) => None,
            })
            .collect();
        let responder = if publish {
            match responder_socket(&v4) {
                Ok(socket) => {
                    tracing::debug!(interfaces = ?v4, "mDNS responder on port 5353");
                    Some((MdnsResponder::new(MdnsResponderConfig::default()), socket))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "no mDNS responder: host candidates keep their IPs");
                    None
                }
            }
        } else {
            None
        };
        let have_v6 = local.iter().any(|a| a.is_ipv6());
        Mdns {
            resolver: MdnsResolver::new(MdnsResolverConfig {
                ipv6: have_v6,
                ..Default::default()
            }),
            querier: None,
            querier6: None,
            have_v6,
            responder,
            interface: v4.first().copied(),
            have_v4: !v4.is_empty(),
            waiting: Vec::new(),
            end_deferred: false,
            buf: vec![0; crate::mdns::wire::MAX_MESSAGE],
        }
    }

    /// Candidates waiting for their name.
    pub(super) fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Starts resolving `candidate`'s `.local` name; `Ok` once it waits.
    pub(super) fn resolve(&mut self, now: Instant, candidate: Candidate) -> Result<(), Error> {
        let CandidateAddress::Mdns(name) = &candidate.address else {
            return Err(Error::UnusableCandidate);
        };
        if self.waiting.len() >= MAX_WAITING {
            return Err(Error::TooManyMdnsQueries(MAX_WAITING));
        }
        if self.querier.is_none() {
            let socket = querier_socket(self.interface)?;
            tracing::debug!(local = ?socket.local_addr().ok(), interface = ?self.interface, "mDNS querier socket");
            self.querier = Some(socket);
            if self.have_v6 {
                match querier_socket_v6() {
                    Ok(socket) => self.querier6 = Some(socket),
                    Err(e) => {
                        tracing::debug!(error = %e, "no IPv6 mDNS querier: IPv4 queries only")
                    }
                }
            }
        }
        self.resolver.resolve(now, name)?;
        self.waiting.push(candidate);
        Ok(())
    }

    /// Our candidate as signalled: a host candidate's IP replaced by its
    /// `.local` name, a related address that is one of our host IPs by
    /// 0.0.0.0:0 (as libwebrtc does), when publishing.
    pub(super) fn publish(&mut self, mut c: Candidate) -> Candidate {
        let Some((responder, _)) = &mut self.responder else {
            return c;
        };
        if c.kind == CandidateKind::Host {
            if let CandidateAddress::Ip(ip) = c.address {
                match responder.register(ip) {
                    Ok(name) => c.address = CandidateAddress::Mdns(name),
                    Err(e) => {
                        tracing::warn!(%ip, error = %e, "host candidate not published by mDNS")
                    }
                }
            }
        } else if let Some((CandidateAddress::Ip(ip), _)) = &c.related {
            if responder.name_of(*ip).is_some() {
                c.related = Some((CandidateAddress::Ip(Ipv4Addr::UNSPECIFIED.into()), 0));
            }
        }
        c
    }

    /// Removed candidates as they were signalled (host IPs by their names,
    /// related addresses hidden); the names of host addresses gone stop
    /// being answered.
    pub(super) fn withdraw(&mut self, removed: Vec<Candidate>) -> Vec<Candidate> {
        if self.responder.is_none() {
            return removed;
        }
        let signalled: Vec<Candidate> = removed.into_iter().map(|c| self.publish(c)).collect();
        if let Some((responder, _)) = &mut self.responder {
            for c in &signalled {
                if let (CandidateKind::Host, CandidateAddress::Mdns(name)) = (c.kind, &c.address) {
                    responder.unregister(name);
                }
            }
        }
        signalled
    }

    /// Waits for a datagram on either socket; never resolves without one.
    /// Cancel-safe.
    pub(super) fn wait(&mut self) -> impl Future<Output = MdnsWake> + '_ {
        let Mdns {
            querier,
            querier6,
            responder,
            buf,
            ..
        } = self;
        std::future::poll_fn(move |cx| {
            for s in [&*querier, &*querier6].into_iter().flatten() {
                if let Some((from, n)) = poll_socket(s, cx, buf) {
                    return Poll::Ready(MdnsWake::Querier(from, n));
                }
            }
            if let Some((_, s)) = responder {
                if let Some((from, n)) = poll_socket(s, cx, buf) {
                    return Poll::Ready(MdnsWake::Responder(from, n));
                }
            }
            Poll::Pending
        })
    }

    /// Reads and handles up to [`READ_BUDGET`] datagrams from each socket
    /// without waiting; whether any came.
    pub(super) fn read_some(&mut self, now: Instant) -> bool {
        let mut any = false;
        for (responder_side, v6) in [(false, false), (false, true), (true, false)] {
            for _ in 0..READ_BUDGET {
                let socket = if responder_side {
                    self.responder.as_ref().map(|(_, s)| s)
                } else if v6 {
                    self.querier6.as_ref()
                } else {
                    self.querier.as_ref()
                };
                let Some(socket) = socket else { break };
                let (n, from) = match socket.try_recv_from(&mut self.buf) {
                    Ok(got) => got,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        tracing::trace!(error = %e, "mDNS socket receive error");
                        continue;
                    }
                };
                any = true;
                let wake = if responder_side {
                    MdnsWake::Responder(from, n)
                } else {
                    MdnsWake::Querier(from, n)
                };
                self.handle(now, wake);
            }
        }
        any
    }

    /// Hands what [`wait`](Self::wait) received to the resolver or responder.
    pub(super) fn handle(&mut self, now: Instant, wake: MdnsWake) {
        let (result, from) = match wake {
            MdnsWake::Querier(from, n) => (
                self.resolver.handle_receive(now, from, &self.buf[..n]),
                from,
            ),
            MdnsWake::Responder(from, n) => match &mut self.responder {
                Some((r, _)) => (r.handle_receive(now, from, &self.buf[..n]), from),
                None => (Ok(()), from),
            },
        };
        if let Err(e) = result {
            tracing::trace!(%from, error = %e, "mDNS datagram dropped");
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.resolver.poll_timeout()
    }

    pub(super) fn handle_timeout(&mut self, now: Instant) {
        if self.resolver.poll_timeout().is_some_and(|t| t <= now) {
            self.resolver.handle_timeout(now);
        }
    }

    /// Sends what the resolver and responder queued. A datagram the
    /// kernel refuses is lost (the resolver's retransmit covers a query);
    /// `send_to` waits only while the socket buffer is full, and a fresh
    /// socket's first send needs it (tokio learns writability from it).
    pub(super) async fn flush(&mut self, now: Instant) {
        if self.querier.is_some() {
            while let Some(t) = self.resolver.poll_transmit(&mut self.buf) {
                let socket = if t.destination.is_ipv6() {
                    self.querier6.as_ref()
                } else {
                    self.querier.as_ref()
                };
                let Some(q) = socket else { continue };
                if let Err(e) = q.send_to(&self.buf[..t.len], t.destination).await {
                    tracing::debug!(destination = %t.destination, error = %e, "mDNS query not sent");
                }
            }
        }
        if let Some((responder, socket)) = &mut self.responder {
            while let Some(t) = responder.poll_transmit(now, &mut self.buf) {
                if let Err(e) = socket.send_to(&self.buf[..t.len], t.destination).await {
                    tracing::debug!(destination = %t.destination, error = %e, "mDNS answer not sent");
                }
            }
        }
    }

    /// The next candidate to add or name to report, from the resolver's answers.
    pub(super) fn poll_outcome(&mut self) -> Option<MdnsOutcome> {
        loop {
            match self.resolver.poll_event()? {
                MdnsEvent::Resolved { name, addrs } => {
                    let Some(i) = self.waiting_for(&name) else {
                        continue;
                    };
                    let mut c = self.waiting.swap_remove(i);
                    // Of several addresses, one of a family we have sockets for.
                    let ip = addrs
                        .iter()
                        .find(|a| a.is_ipv4() == self.have_v4)
                        .or(addrs.first())
                        .copied();
                    let Some(ip) = ip else {
                        return Some(MdnsOutcome::Unresolved(name));
                    };
                    c.address = CandidateAddress::Ip(ip);
                    return Some(MdnsOutcome::Add(c, name));
                }
                MdnsEvent::Unresolved { name } => {
                    let Some(i) = self.waiting_for(&name) else {
                        continue;
                    };
                    self.waiting.swap_remove(i);
                    return Some(MdnsOutcome::Unresolved(name));
                }
            }
        }
    }

    fn waiting_for(&self, name: &str) -> Option<usize> {
        self.waiting
            .iter()
            .position(|c| matches!(&c.address, CandidateAddress::Mdns(n) if n == name))
    }
}
