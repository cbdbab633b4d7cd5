//! ICE candidates (RFC 8445 §5.1, RFC 8839 §5.1): the type, its priority, and
//! the `candidate:` attribute grammar, parsed and written exactly.
//!
//! ```
//! use ice::candidate::{Candidate, CandidateKind};
//! let line = "candidate:842163049 1 udp 1677729535 198.51.100.7 54400 typ srflx raddr 10.0.0.2 rport 54400 generation 0 ufrag EsAw network-id 1 network-cost 10";
//! let c: Candidate = line.parse().unwrap();
//! assert_eq!(c.kind, CandidateKind::ServerReflexive);
//! assert_eq!(c.ufrag.as_deref(), Some("EsAw"));
//! assert_eq!(c.to_string(), line);
//! ```

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use crate::credentials::is_ice_char;
use crate::error::{CandidateParseError, Error};

/// The transport of a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransportProtocol {
    /// UDP.
    Udp,
    /// TCP (RFC 6544).
    Tcp,
}

/// RFC 6544 TCP candidate type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpType {
    /// Opens connections.
    Active,
    /// Accepts connections.
    Passive,
    /// Simultaneous open.
    So,
}

impl TcpType {
    fn as_str(self) -> &'static str {
        match self {
            TcpType::Active => "active",
            TcpType::Passive => "passive",
            TcpType::So => "so",
        }
    }
}

/// The candidate type (RFC 8445 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandidateKind {
    /// An address on a local interface.
    Host,
    /// The address a STUN server saw.
    ServerReflexive,
    /// The address a peer's check came from, learned during checks.
    PeerReflexive,
    /// An address on a TURN server.
    Relay,
}

impl CandidateKind {
    /// The SDP token.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::Host => "host",
            CandidateKind::ServerReflexive => "srflx",
            CandidateKind::PeerReflexive => "prflx",
            CandidateKind::Relay => "relay",
        }
    }

    /// RFC 8445 §5.1.2.2 recommended type preference (126 / 110 / 100 / 0).
    pub fn type_preference(self) -> u32 {
        match self {
            CandidateKind::Host => 126,
            CandidateKind::PeerReflexive => 110,
            CandidateKind::ServerReflexive => 100,
            CandidateKind::Relay => 0,
        }
    }
}

/// The kind of network an interface is on; orders local preferences the way
/// libwebrtc's network manager does (wired first, loopback last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum NetworkType {
    /// Wired Ethernet.
    Ethernet,
    /// Wi-Fi.
    Wifi,
    /// Unknown (the default).
    #[default]
    Unknown,
    /// Cellular.
    Cellular,
    /// VPN / tunnel.
    Vpn,
    /// Loopback.
    Loopback,
}

impl NetworkType {
    /// Preference of this network type, 0–7, higher is better.
    pub fn preference(self) -> u32 {
        match self {
            NetworkType::Ethernet => 7,
            NetworkType::Wifi => 6,
            NetworkType::Unknown => 5,
            NetworkType::Cellular => 4,
            NetworkType::Vpn => 3,
            NetworkType::Loopback => 1,
        }
    }

    /// libwebrtc's network-cost figure for this type (advertised in `network-cost`).
    pub fn cost(self) -> u32 {
        match self {
            NetworkType::Ethernet | NetworkType::Loopback => 0,
            NetworkType::Wifi => 10,
            NetworkType::Vpn | NetworkType::Unknown => 50,
            NetworkType::Cellular => 900,
        }
    }
}

/// Address precedence of RFC 6724's default policy table, which libwebrtc
/// folds into local preferences so IPv6 is preferred over IPv4 and ULA/6to4/
/// Teredo rank low.
pub fn address_precedence(ip: IpAddr) -> u32 {
    match ip {
        IpAddr::V4(_) => 35,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if v6.is_loopback() {
                50
            } else if s[0] == 0x2002 {
                30
            } else if s[0] == 0x2001 && s[1] == 0 {
                5
            } else if s[0] & 0xfe00 == 0xfc00 {
                3
            } else if s[0] & 0xffc0 == 0xfec0 || s[0] == 0x3ffe {
                1
            } else if v6.to_ipv4_mapped().is_some() {
                35
            } else {
                40
            }
        }
    }
}

/// RFC 8445 §5.1.2.1: `2^24 × type pref + 2^8 × local pref + (256 − component)`.
///
/// `local_preference` is 16 bits; [`local_preference`] computes it
/// libwebrtc-style from network type and address precedence.
pub fn priority(kind: CandidateKind, local_preference: u16, component: u16) -> u32 {
    (kind.type_preference() << 24)
        + ((local_preference as u32) << 8)
        + (256 - component.clamp(1, 256) as u32)
}

/// Priority of a relay candidate by how the TURN server is reached, as
/// libwebrtc ranks them (`ICE_TYPE_PREFERENCE_RELAY_UDP` 2, `_TCP` 1,
/// `_TLS` 0): a relay reached over UDP beats one over TCP, which beats one
/// over TLS, whatever the local preference. `tls` marks a TCP connection
/// carrying TLS (`turns:`).
pub fn relay_priority(
    server_transport: TransportProtocol,
    tls: bool,
    local_preference: u16,
    component: u16,
) -> u32 {
    let type_pref: u32 = match (server_transport, tls) {
        (TransportProtocol::Udp, _) => 2,
        (TransportProtocol::Tcp, false) => 1,
        (TransportProtocol::Tcp, true) => 0,
    };
    (type_pref << 24) + ((local_preference as u32) << 8) + (256 - component.clamp(1, 256) as u32)
}

/// libwebrtc's type preference for host TCP candidates (below UDP host's 126,
/// so UDP wins when both work).
pub const TCP_HOST_TYPE_PREFERENCE: u32 = 90;

/// Priority of a TCP candidate (RFC 6544 §4.2): the local preference is
/// `2^13 × direction-pref + other-pref`, with direction preference active 6,
/// passive 4, simultaneous-open 2 for host candidates; other-pref carries the
/// network preference.
pub fn tcp_priority(
    kind: CandidateKind,
    tcp_type: TcpType,
    network: NetworkType,
    component: u16,
) -> u32 {
    let direction = match tcp_type {
        TcpType::Active => 6,
        TcpType::Passive => 4,
        TcpType::So => 2,
    };
    let local = (direction << 13) | (network.preference() << 8);
    let type_pref = match kind {
        CandidateKind::Host => TCP_HOST_TYPE_PREFERENCE,
        other => other.type_preference(),
    };
    (type_pref << 24) + (local << 8) + (256 - component.clamp(1, 256) as u32)
}

/// A 16-bit local preference: network type in the high byte, RFC 6724 address
/// precedence in the low byte, so a wired IPv6 address beats Wi-Fi IPv4, and
/// loopback ranks last.
pub fn local_preference(network: NetworkType, ip: IpAddr) -> u16 {
    ((network.preference() << 8) | (address_precedence(ip) & 0xff)) as u16
}

/// A candidate address: an IP, or an mDNS `.local` name (RFC 8839 §5.1, draft-ietf-mmusic-mdns-ice-candidates).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CandidateAddress {
    /// A literal IP address.
    Ip(IpAddr),
    /// An mDNS hostname ending in `.local`, resolved by the application.
    Mdns(String),
}

impl From<IpAddr> for CandidateAddress {
    fn from(ip: IpAddr) -> CandidateAddress {
        CandidateAddress::Ip(ip)
    }
}

impl fmt::Display for CandidateAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CandidateAddress::Ip(ip) => write!(f, "{ip}"),
            CandidateAddress::Mdns(name) => f.write_str(name),
        }
    }
}

/// An ICE candidate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// Foundation: 1–32 ice-chars; equal for candidates of the same type, base and server.
    pub foundation: String,
    /// Component id (1 = RTP, 2 = RTCP), 1–256.
    pub component: u16,
    /// UDP or TCP.
    pub transport: TransportProtocol,
    /// Priority (RFC 8445 §5.1.2).
    pub priority: u32,
    /// Connection address.
    pub address: CandidateAddress,
    /// Port.
    pub port: u16,
    /// Candidate type.
    pub kind: CandidateKind,
    /// Related address and port (`raddr`/`rport`), for reflexive and relayed candidates.
    pub related: Option<(CandidateAddress, u16)>,
    /// TCP candidate type (`tcptype`).
    pub tcp_type: Option<TcpType>,
    /// libwebrtc's `generation`.
    pub generation: Option<u32>,
    /// The ICE ufrag the candidate belongs to (`ufrag`).
    pub ufrag: Option<String>,
    /// libwebrtc's `network-id`.
    pub network_id: Option<u32>,
    /// libwebrtc's `network-cost`.
    pub network_cost: Option<u32>,
    /// Other extension attributes, in order.
    pub extensions: Vec<(String, String)>,
    /// Whether the transport token was upper case (`UDP`, as Firefox writes it), kept for exact round trips.
    pub transport_upper_case: bool,
}

/// Most extension attributes kept from one line.
const MAX_EXTENSIONS: usize = 16;
/// Longest candidate line accepted.
const MAX_LINE: usize = 1024;

impl Candidate {
    /// A candidate of `kind` at `address`:`port`, and nothing else yet:
    /// component 1, UDP, priority 0, an empty foundation, no related
    /// address, no extension attributes. The `with_*` methods set the rest
    /// ([`Candidate::with_foundation_computed`] last, when the foundation
    /// is derived from the others); the fields stay public.
    ///
    /// ```
    /// use ice::{Candidate, CandidateKind};
    /// let c = Candidate::at(CandidateKind::ServerReflexive, "192.0.2.7:4000".parse().unwrap())
    ///     .with_priority(1_694_498_815)
    ///     .with_related("10.0.0.2:5000".parse().unwrap())
    ///     .with_foundation("1");
    /// assert_eq!(c.to_string(), "candidate:1 1 udp 1694498815 192.0.2.7 4000 typ srflx raddr 10.0.0.2 rport 5000");
    /// ```
    pub fn new(kind: CandidateKind, address: CandidateAddress, port: u16) -> Candidate {
        Candidate {
            foundation: String::new(),
            component: 1,
            transport: TransportProtocol::Udp,
            priority: 0,
            address,
            port,
            kind,
            related: None,
            tcp_type: None,
            generation: None,
            ufrag: None,
            network_id: None,
            network_cost: None,
            extensions: Vec::new(),
            transport_upper_case: false,
        }
    }

    /// [`Candidate::new`] at a socket address.
    pub fn at(kind: CandidateKind, addr: SocketAddr) -> Candidate {
        Candidate::new(kind, addr.ip().into(), addr.port())
    }

    /// With this foundation.
    pub fn with_foundation(mut self, foundation: impl Into<String>) -> Candidate {
        self.foundation = foundation.into();
        self
    }

    /// With this component id.
    pub fn with_component(mut self, component: u16) -> Candidate {
        self.component = component;
        self
    }

    /// With this transport.
    pub fn with_transport(mut self, transport: TransportProtocol) -> Candidate {
        self.transport = transport;
        self
    }

    /// With this priority.
    pub fn with_priority(mut self, priority: u32) -> Candidate {
        self.priority = priority;
        self
    }

    /// With this related address (`raddr`/`rport`).
    pub fn with_related(mut self, related: SocketAddr) -> Candidate {
        self.related = Some((related.ip().into(), related.port()));
        self
    }

    /// With this TCP candidate type (`tcptype`), or none.
    pub fn with_tcp_type(mut self, tcp_type: Option<TcpType>) -> Candidate {
        self.tcp_type = tcp_type;
        self
    }

    /// With libwebrtc's `generation`.
    pub fn with_generation(mut self, generation: u32) -> Candidate {
        self.generation = Some(generation);
        self
    }

    /// With this ICE ufrag (`ufrag`), or none.
    pub fn with_ufrag(mut self, ufrag: Option<String>) -> Candidate {
        self.ufrag = ufrag;
        self
    }

    /// With libwebrtc's `network-id` and `network-cost`.
    pub fn with_network(mut self, id: u32, cost: u32) -> Candidate {
        self.network_id = Some(id);
        self.network_cost = Some(cost);
        self
    }

    /// A host candidate with the RFC 8445 priority for `network`.
    pub fn host(
        addr: SocketAddr,
        component: u16,
        transport: TransportProtocol,
        network: NetworkType,
    ) -> Candidate {
        let lp = local_preference(network, addr.ip());
        Candidate::at(CandidateKind::Host, addr)
            .with_component(component)
            .with_transport(transport)
            .with_priority(priority(CandidateKind::Host, lp, component))
            .with_foundation_computed(None)
    }

    /// A host TCP candidate (RFC 6544): passive at the listener's address, or
    /// active at the address with the discard port 9.
    pub fn host_tcp(
        addr: SocketAddr,
        tcp_type: TcpType,
        component: u16,
        network: NetworkType,
    ) -> Candidate {
        let port = if tcp_type == TcpType::Active {
            9
        } else {
            addr.port()
        };
        Candidate::host(
            SocketAddr::new(addr.ip(), port),
            component,
            TransportProtocol::Tcp,
            network,
        )
        .with_priority(tcp_priority(
            CandidateKind::Host,
            tcp_type,
            network,
            component,
        ))
        .with_tcp_type(Some(tcp_type))
        .with_foundation_computed(None)
    }

    /// The socket address, when the address is an IP (not mDNS).
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match &self.address {
            CandidateAddress::Ip(ip) => Some(SocketAddr::new(*ip, self.port)),
            CandidateAddress::Mdns(_) => None,
        }
    }

    /// The related address as a socket address, when present and an IP.
    pub fn related_addr(&self) -> Option<SocketAddr> {
        match &self.related {
            Some((CandidateAddress::Ip(ip), port)) => Some(SocketAddr::new(*ip, *port)),
            _ => None,
        }
    }

    /// Sets the foundation from type, base IP, transport and (for reflexive and
    /// relayed candidates) the server, as RFC 8445 §5.1.1.3 asks: equal inputs
    /// give equal foundations. A short stable hash, written in decimal as libwebrtc does.
    pub fn with_foundation_computed(mut self, server: Option<SocketAddr>) -> Candidate {
        let base = match (&self.kind, self.related_addr()) {
            (CandidateKind::Host, _) | (_, None) => self.address.to_string(),
            (_, Some(r)) => r.ip().to_string(),
        };
        let mut h: u32 = 0x811c_9dc5; // FNV-1a
        let mut feed = |bytes: &[u8]| {
            for b in bytes {
                h ^= *b as u32;
                h = h.wrapping_mul(0x0100_0193);
            }
        };
        feed(self.kind.as_str().as_bytes());
        feed(base.as_bytes());
        feed(if self.transport == TransportProtocol::Udp {
            b"udp"
        } else {
            b"tcp"
        });
        if let Some(s) = server {
            feed(s.to_string().as_bytes());
        }
        self.foundation = h.to_string();
        self
    }
}

fn parse_address(token: &str) -> Result<CandidateAddress, CandidateParseError> {
    if let Ok(ip) = token.parse::<IpAddr>() {
        return Ok(CandidateAddress::Ip(ip));
    }
    // RFC 8839 allows FQDNs; browsers only send mDNS names. Keep `.local` names.
    if token.len() <= 255
        && token.to_ascii_lowercase().ends_with(".local")
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Ok(CandidateAddress::Mdns(token.to_string()));
    }
    Err(CandidateParseError::Address)
}

impl FromStr for Candidate {
    type Err = Error;

    /// Parses `candidate:…` (with or without a leading `a=`).
    fn from_str(line: &str) -> Result<Candidate, Error> {
        parse(line).map_err(Error::CandidateParse)
    }
}

fn parse(line: &str) -> Result<Candidate, CandidateParseError> {
    use CandidateParseError as E;
    if line.len() > MAX_LINE {
        return Err(E::TooLong);
    }
    let line = line.trim_end_matches(['\r', '\n']);
    // RFC 8866 byte-strings exclude NUL, CR and LF; we also refuse other
    // control characters, which no browser sends and which would not survive
    // being written back into an SDP line.
    if line.chars().any(char::is_control) {
        return Err(E::Extension);
    }
    let line = line.strip_prefix("a=").unwrap_or(line);
    let rest = line.strip_prefix("candidate:").ok_or(E::Prefix)?;
    let mut it = rest.split(' ');
    let mut next = |what: CandidateParseError| it.next().filter(|s| !s.is_empty()).ok_or(what);

    let foundation = next(E::Foundation)?;
    if foundation.len() > 32 || !foundation.bytes().all(is_ice_char) {
        return Err(E::Foundation);
    }
    let component: u16 = next(E::Component)?.parse().map_err(|_| E::Component)?;
    if !(1..=256).contains(&component) {
        return Err(E::Component);
    }
    let transport_token = next(E::Transport)?;
    let transport = match transport_token.to_ascii_lowercase().as_str() {
        "udp" => TransportProtocol::Udp,
        "tcp" => TransportProtocol::Tcp,
        _ => return Err(E::Transport),
    };
    let priority: u32 = next(E::Priority)?.parse().map_err(|_| E::Priority)?;
    if priority == 0 {
        return Err(E::Priority);
    }
    let address = parse_address(next(E::Address)?)?;
    let port: u16 = next(E::Port)?.parse().map_err(|_| E::Port)?;
    if next(E::Type)? != "typ" {
        return Err(E::Type);
    }
    let kind = match next(E::Type)? {
        "host" => CandidateKind::Host,
        "srflx" => CandidateKind::ServerReflexive,
        "prflx" => CandidateKind::PeerReflexive,
        "relay" => CandidateKind::Relay,
        _ => return Err(E::Type),
    };
    let mut c = Candidate::new(kind, address, port)
        .with_foundation(foundation)
        .with_component(component)
        .with_transport(transport)
        .with_priority(priority);
    c.transport_upper_case = transport_token == "UDP" || transport_token == "TCP";
    let mut raddr = None;
    let mut rport = None;
    while let Some(name) = it.next() {
        if name.is_empty() {
            return Err(E::Extension);
        }
        let value = it.next().filter(|v| !v.is_empty()).ok_or(E::Extension)?;
        match name {
            "raddr" => raddr = Some(parse_address(value).map_err(|_| E::RelatedAddress)?),
            "rport" => rport = Some(value.parse::<u16>().map_err(|_| E::RelatedAddress)?),
            "tcptype" => {
                c.tcp_type = Some(match value {
                    "active" => TcpType::Active,
                    "passive" => TcpType::Passive,
                    "so" => TcpType::So,
                    _ => return Err(E::TcpType),
                })
            }
            "generation" => c.generation = Some(value.parse().map_err(|_| E::Extension)?),
            "ufrag" => c.ufrag = Some(value.to_string()),
            "network-id" => c.network_id = Some(value.parse().map_err(|_| E::Extension)?),
            "network-cost" => c.network_cost = Some(value.parse().map_err(|_| E::Extension)?),
            _ => {
                if c.extensions.len() >= MAX_EXTENSIONS {
                    return Err(E::Extension);
                }
                c.extensions.push((name.to_string(), value.to_string()));
            }
        }
    }
    c.related = match (raddr, rport) {
        (Some(a), Some(p)) => Some((a, p)),
        (None, None) => None,
        _ => return Err(E::RelatedAddress),
    };
    if c.transport == TransportProtocol::Tcp && c.tcp_type.is_none() {
        // RFC 6544 requires tcptype; Chrome always sends it. Be lenient: treat as passive? No:
        // an active-only peer cannot be reached without knowing. Reject.
        return Err(E::TcpType);
    }
    Ok(c)
}

impl fmt::Display for Candidate {
    /// Writes the attribute value (`candidate:…`, without `a=`), in the order Chrome uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = match (self.transport, self.transport_upper_case) {
            (TransportProtocol::Udp, false) => "udp",
            (TransportProtocol::Udp, true) => "UDP",
            (TransportProtocol::Tcp, false) => "tcp",
            (TransportProtocol::Tcp, true) => "TCP",
        };
        write!(
            f,
            "candidate:{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            transport,
            self.priority,
            self.address,
            self.port,
            self.kind.as_str()
        )?;
        if let Some((addr, port)) = &self.related {
            write!(f, " raddr {addr} rport {port}")?;
        }
        if let Some(t) = self.tcp_type {
            write!(f, " tcptype {}", t.as_str())?;
        }
        if let Some(g) = self.generation {
            write!(f, " generation {g}")?;
        }
        if let Some(u) = &self.ufrag {
            write!(f, " ufrag {u}")?;
        }
        if let Some(n) = self.network_id {
            write!(f, " network-id {n}")?;
        }
        if let Some(n) = self.network_cost {
            write!(f, " network-cost {n}")?;
        }
        for (k, v) in &self.extensions {
            write!(f, " {k} {v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL_LINES: &[&str] = &[
        // Chromium
        "candidate:3348941282 1 udp 2122260223 192.168.1.20 56143 typ host generation 0 ufrag x5Ut network-id 1 network-cost 10",
        "candidate:842163049 1 udp 1686052607 203.0.113.5 56143 typ srflx raddr 192.168.1.20 rport 56143 generation 0 ufrag x5Ut network-id 1 network-cost 10",
        "candidate:2199032595 1 tcp 1518280447 192.168.1.20 9 typ host tcptype active generation 0 ufrag x5Ut network-id 1 network-cost 10",
        "candidate:1966762133 1 udp 41885439 198.51.100.9 61025 typ relay raddr 203.0.113.5 rport 56143 generation 0 ufrag x5Ut network-id 1 network-cost 10",
        "candidate:1 1 udp 2122260223 7b4e5c1a-2b6c-4d0e-9f3a-0d5a6b7c8d9e.local 54321 typ host generation 0 ufrag abcd network-cost 999",
        "candidate:4036177503 1 udp 2122262783 2001:db8::1c3 52406 typ host generation 0 ufrag x5Ut network-id 2 network-cost 10",
        "candidate:1410536466 1 udp 2122129151 127.0.0.1 43301 typ host generation 0 ufrag 3bq9 network-id 1",
        // Firefox
        "candidate:0 1 UDP 2122252543 192.168.1.20 49203 typ host",
        "candidate:1 1 TCP 2105524479 192.168.1.20 9 typ host tcptype active",
        "candidate:2 1 UDP 1686052863 203.0.113.5 49203 typ srflx raddr 192.168.1.20 rport 49203",
        "candidate:3 1 UDP 92217343 198.51.100.9 55040 typ relay raddr 198.51.100.9 rport 55040",
        "candidate:0 2 UDP 2122252542 192.168.1.20 49204 typ host",
        // Safari / libwebrtc with an unknown extension kept
        "candidate:1 1 udp 2113937151 192.168.1.20 62000 typ host generation 0 ufrag q9Xz network-cost 999 foo bar",
    ];

    #[test]
    fn real_lines_round_trip() {
        for line in REAL_LINES {
            let c: Candidate = line.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(&c.to_string(), line);
            let with_a: Candidate = format!("a={line}\r\n").parse().unwrap();
            assert_eq!(with_a, c);
        }
    }

    #[test]
    fn bad_lines_are_typed_errors() {
        use CandidateParseError as E;
        let cases = [
            ("cand:1 1 udp 1 1.2.3.4 1 typ host", E::Prefix),
            ("candidate: 1 udp 1 1.2.3.4 1 typ host", E::Foundation),
            ("candidate:a-b 1 udp 1 1.2.3.4 1 typ host", E::Foundation),
            ("candidate:1 0 udp 1 1.2.3.4 1 typ host", E::Component),
            ("candidate:1 1 sctp 1 1.2.3.4 1 typ host", E::Transport),
            ("candidate:1 1 udp x 1.2.3.4 1 typ host", E::Priority),
            ("candidate:1 1 udp 1 example.com 1 typ host", E::Address),
            ("candidate:1 1 udp 1 1.2.3.4 70000 typ host", E::Port),
            ("candidate:1 1 udp 1 1.2.3.4 1 type host", E::Type),
            ("candidate:1 1 udp 1 1.2.3.4 1 typ bogus", E::Type),
            (
                "candidate:1 1 udp 1 1.2.3.4 1 typ srflx raddr 1.2.3.4",
                E::RelatedAddress,
            ),
            (
                "candidate:1 1 udp 1 1.2.3.4 1 typ host generation",
                E::Extension,
            ),
            ("candidate:1 1 tcp 1 1.2.3.4 1 typ host", E::TcpType),
            (
                "candidate:1 1 tcp 1 1.2.3.4 1 typ host tcptype sideways",
                E::TcpType,
            ),
            ("candidate:1 1 udp 1 1.2.3.4", E::Port),
            ("candidate:1 1 udp 1 1.2.3.4 9", E::Type),
        ];
        for (line, err) in cases {
            match line.parse::<Candidate>() {
                Err(Error::CandidateParse(e)) => assert_eq!(e, err, "{line}"),
                other => panic!("{line}: {other:?}"),
            }
        }
        let long = format!(
            "candidate:1 1 udp 1 1.2.3.4 1 typ host {}",
            "a b ".repeat(400)
        );
        assert!(long.parse::<Candidate>().is_err());
    }

    #[test]
    fn priorities_follow_rfc8445_and_prefer_better_networks() {
        // Host, full local preference, component 1: 126 << 24 | 65535 << 8 | 255.
        assert_eq!(priority(CandidateKind::Host, 65535, 1), 2_130_706_431);
        assert_eq!(priority(CandidateKind::Relay, 0, 2), 254);
        // Relays by how the server is reached: UDP > TCP > TLS, each above
        // the next whatever the local preference.
        let udp = relay_priority(TransportProtocol::Udp, false, 0, 1);
        let tcp = relay_priority(TransportProtocol::Tcp, false, u16::MAX, 1);
        let tls = relay_priority(TransportProtocol::Tcp, true, u16::MAX, 1);
        assert!(udp > tcp && tcp > tls, "{udp} {tcp} {tls}");
        assert_eq!(udp >> 24, 2);
        // Every relay stays below every server-reflexive candidate.
        assert!(udp < priority(CandidateKind::ServerReflexive, 0, 256));
        let eth6 = local_preference(NetworkType::Ethernet, "2001:db8::1".parse().unwrap());
        let eth4 = local_preference(NetworkType::Ethernet, "192.0.2.1".parse().unwrap());
        let wifi6 = local_preference(NetworkType::Wifi, "2001:db8::1".parse().unwrap());
        let lo = local_preference(NetworkType::Loopback, "127.0.0.1".parse().unwrap());
        assert!(eth6 > eth4 && eth4 > wifi6 && wifi6 > lo);
        let a = Candidate::host(
            "10.0.0.1:5000".parse().unwrap(),
            1,
            TransportProtocol::Udp,
            NetworkType::Ethernet,
        );
        let b = Candidate::host(
            "10.0.0.1:6000".parse().unwrap(),
            1,
            TransportProtocol::Udp,
            NetworkType::Ethernet,
        );
        let c = Candidate::host(
            "10.0.0.2:5000".parse().unwrap(),
            1,
            TransportProtocol::Udp,
            NetworkType::Ethernet,
        );
        assert_eq!(a.foundation, b.foundation);
        assert_ne!(a.foundation, c.foundation);
    }
}
