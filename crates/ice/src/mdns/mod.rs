//! mDNS host candidates (draft-ietf-mmusic-mdns-ice-candidates, RFC 6762),
//! sans-IO.
//!
//! Browsers hide their host addresses behind random `<uuid-v4>.local`
//! names: a remote host candidate may read
//! `candidate:1 1 udp 2122260223 7b4e5c1a-….local 54321 typ host`, and the
//! address is found by asking the local link with multicast DNS. This
//! module has the three pieces, none of which owns a socket or reads a
//! clock:
//!
//! | piece | role |
//! |---|---|
//! | [`wire`] | DNS messages as mDNS uses them: a checked zero-copy view ([`wire::Message`]) and a builder into the caller's buffer ([`wire::MessageBuilder`]) |
//! | [`MdnsResolver`] | one-shot queries (RFC 6762 §5.1) for remote `.local` names, with retransmit, timeout, a TTL-honouring bounded cache and a bound on queries in flight |
//! | [`MdnsResponder`] | publishes our host addresses under random `<uuid-v4>.local` names and answers queries for them (libwebrtc's `MdnsResponderInterface`) |
//!
//! The agent ([`IceAgent`](crate::IceAgent)) works with IP addresses only
//! and refuses a `.local` candidate; the tokio driver
//! ([`IceTransport`](crate::driver::IceTransport)) resolves such candidates
//! with an [`MdnsResolver`] on a querier socket of its own and, with
//! [`DriverConfig::publish_mdns`](crate::driver::DriverConfig::publish_mdns), publishes its
//! host candidates under `.local` names with an [`MdnsResponder`] on port
//! 5353.
//!
//! Bounds: names of at most 255 bytes, at most 16 compression pointers per
//! name, messages of at most 9000 bytes; queries in flight, cached names,
//! addresses per name, published names and queued answers are all limited
//! (see the configs), so a peer's traffic cannot grow memory.
//!
//! Not implemented: the full continuous querier of RFC 6762 §5.2 (known
//! answers, duplicate question suppression), probing and announcing
//! (§8; a random 122-bit name does not collide), NSEC negative answers,
//! names other than `.local`, service discovery (PTR/SRV/TXT) and name
//! compression when writing.
#![deny(missing_docs)]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::Error;

mod resolver;
mod responder;
pub mod wire;

pub use resolver::{
    MdnsEvent, MdnsResolver, MdnsResolverConfig, ResolveStarted, MAX_ADDRS_PER_NAME, MAX_IN_FLIGHT,
};
pub use responder::{MdnsResponder, MdnsResponderConfig};

/// The mDNS port.
pub const MDNS_PORT: u16 = 5353;
/// The IPv4 mDNS group, 224.0.0.251.
pub const MDNS_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
/// The IPv6 mDNS group, ff02::fb.
pub const MDNS_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb);

/// A datagram written into the caller's buffer by
/// [`MdnsResolver::poll_transmit`] or [`MdnsResponder::poll_transmit`]:
/// send `buf[..len]` to `destination`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MdnsTransmit {
    /// Where it goes: a multicast group on port 5353, or a querier.
    pub destination: SocketAddr,
    /// Its length at the start of the buffer.
    pub len: usize,
}

/// Whether `name` is a name mDNS resolves: ends in `.local` (a final dot
/// allowed), labels of 1 to 63 bytes, at most 255 bytes on the wire.
///
/// ```
/// assert!(ice::mdns::is_local_name("7b4e5c1a-2b6c-4d0e-9f3a-0d5a6b7c8d9e.local"));
/// assert!(!ice::mdns::is_local_name("example.com"));
/// assert!(!ice::mdns::is_local_name(".local"));
/// ```
pub fn is_local_name(name: &str) -> bool {
    check_local_name(name).is_ok()
}

pub(crate) fn check_local_name(name: &str) -> Result<(), Error> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    let local = trimmed.len() > ".local".len()
        && trimmed.is_char_boundary(trimmed.len() - ".local".len())
        && trimmed[trimmed.len() - ".local".len()..].eq_ignore_ascii_case(".local");
    if !local || wire::check_name(name).is_err() {
        return Err(Error::InvalidMdnsName);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
