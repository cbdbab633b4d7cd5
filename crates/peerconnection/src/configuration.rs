//! [`RtcConfiguration`]: the W3C `RTCConfiguration` dictionary, its JSON shape,
//! and the ICE server URLs it carries, parsed per RFC 7064 (`stun:`, `stuns:`)
//! and RFC 7065 (`turn:`, `turns:`).
//!
//! The default configuration has **no ICE servers**: nothing leaves the
//! machine for a STUN or TURN server unless the application configures one
//! (design.md §4). Host candidates still work on their own.
//!
//! ```
//! use peerconnection::RtcConfiguration;
//!
//! let config = RtcConfiguration::from_json(
//!     r#"{"iceServers": [{"urls": "stun:127.0.0.1:3478"}], "bundlePolicy": "max-bundle"}"#,
//! )?;
//! let servers = config.validate()?;
//! assert_eq!(servers[0].url.port, 3478);
//! # Ok::<(), peerconnection::Error>(())
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

use media_channels::sdp::dtls_transport::certificate::Certificate;
use media_channels::sdp::factory::BundlePolicy as SdpBundlePolicy;
use serde::{Deserialize, Deserializer, Serialize};

use crate::Error;

/// The W3C `RTCConfiguration`: how a peer connection gathers candidates,
/// bundles and multiplexes, and which certificates it offers.
///
/// Serialises to and from the W3C JSON shape (`iceServers`,
/// `iceTransportPolicy`, `bundlePolicy`, `rtcpMuxPolicy`,
/// `iceCandidatePoolSize`); members missing from the JSON take their default,
/// unknown members are ignored (as WebIDL dictionaries do), and
/// [`certificates`](Self::certificates) is never part of the JSON.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RtcConfiguration {
    /// STUN and TURN servers for candidate gathering. **Empty by default**:
    /// no server is contacted unless the application lists one.
    pub ice_servers: Vec<IceServer>,
    /// Which candidates ICE may use.
    pub ice_transport_policy: IceTransportPolicy,
    /// How media sections are bundled onto transports.
    pub bundle_policy: BundlePolicy,
    /// Whether RTCP must share the RTP transport.
    pub rtcp_mux_policy: RtcpMuxPolicy,
    /// How many ICE candidates to gather before `setLocalDescription`
    /// (W3C `iceCandidatePoolSize`, an octet).
    pub ice_candidate_pool_size: u8,
    /// DTLS certificates to use; when empty, the peer connection generates
    /// one. Not part of the JSON shape.
    #[serde(skip)]
    pub certificates: Vec<Certificate>,
}

impl PartialEq for RtcConfiguration {
    /// Field by field; certificates compare by their DER encoding.
    fn eq(&self, other: &Self) -> bool {
        self.ice_servers == other.ice_servers
            && self.ice_transport_policy == other.ice_transport_policy
            && self.bundle_policy == other.bundle_policy
            && self.rtcp_mux_policy == other.rtcp_mux_policy
            && self.ice_candidate_pool_size == other.ice_candidate_pool_size
            && self.certificates.len() == other.certificates.len()
            && self
                .certificates
                .iter()
                .zip(&other.certificates)
                .all(|(a, b)| a.certificate_der() == b.certificate_der())
    }
}

impl RtcConfiguration {
    /// Reads the W3C JSON shape of an `RTCConfiguration`.
    ///
    /// This checks types only; call [`validate`](Self::validate) for the URLs.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let json_error = |source| Error::Json {
            what: "RTCConfiguration",
            source,
        };
        let value: serde_json::Value = serde_json::from_str(json).map_err(json_error)?;
        // A dictionary is a JSON object; serde would also take an array as a struct.
        if !value.is_object() {
            return Err(json_error(serde::de::Error::invalid_type(
                serde::de::Unexpected::Other("a non-object JSON value"),
                &"an RTCConfiguration object",
            )));
        }
        Self::deserialize(value).map_err(json_error)
    }

    /// The W3C JSON shape (without certificates).
    pub fn to_json(&self) -> String {
        // Plain structs with string keys: serde_json cannot fail on them.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks the configuration as the W3C `RTCPeerConnection` constructor
    /// does and returns one [`ParsedIceServer`] per URL, in order.
    ///
    /// Errors: [`Error::RtcpMuxNegotiateNotSupported`] for rtcpMuxPolicy
    /// `"negotiate"`, [`Error::EmptyIceServerUrls`] for a server without URLs,
    /// [`Error::InvalidIceServerUrl`] for a URL that does not parse, and
    /// [`Error::MissingTurnCredentials`] for a TURN URL on a server without
    /// both `username` and `credential`.
    pub fn validate(&self) -> Result<Vec<ParsedIceServer>, Error> {
        if self.rtcp_mux_policy == RtcpMuxPolicy::Negotiate {
            return Err(Error::RtcpMuxNegotiateNotSupported);
        }
        let mut parsed = Vec::new();
        for (server_index, server) in self.ice_servers.iter().enumerate() {
            if server.urls.is_empty() {
                return Err(Error::EmptyIceServerUrls { server_index });
            }
            parsed.extend(server.parse_urls()?);
        }
        Ok(parsed)
    }

    /// Checks that no configured certificate has expired at `now`
    /// ([`Error::ExpiredCertificate`], W3C `InvalidAccessError`).
    pub fn check_certificates(&self, now: SystemTime) -> Result<(), Error> {
        match self.certificates.iter().position(|c| c.has_expired(now)) {
            Some(certificate_index) => Err(Error::ExpiredCertificate { certificate_index }),
            None => Ok(()),
        }
    }
}

/// The W3C `RTCIceServer`: one or more URLs of the same server, with the
/// long-term credentials TURN needs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IceServer {
    /// The server's URLs (`stun:`, `stuns:`, `turn:`, `turns:`). In JSON, a
    /// string or an array of strings.
    #[serde(deserialize_with = "string_or_strings")]
    pub urls: Vec<String>,
    /// The TURN username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The TURN password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl IceServer {
    /// A server with `urls` and no credentials (enough for STUN).
    pub fn new(urls: impl IntoIterator<Item = impl Into<String>>) -> Self {
        IceServer {
            urls: urls.into_iter().map(Into::into).collect(),
            username: None,
            credential: None,
        }
    }

    /// Parses every URL; a TURN URL needs both `username` and `credential`.
    pub fn parse_urls(&self) -> Result<Vec<ParsedIceServer>, Error> {
        self.urls
            .iter()
            .map(|text| {
                let url = IceServerUrl::parse(text)?;
                if url.scheme.is_turn() && (self.username.is_none() || self.credential.is_none()) {
                    return Err(Error::MissingTurnCredentials { url: text.clone() });
                }
                Ok(ParsedIceServer {
                    url,
                    username: self.username.clone(),
                    credential: self.credential.clone(),
                })
            })
            .collect()
    }
}

/// `urls`: a string or a sequence of strings (W3C `(DOMString or sequence<DOMString>)`).
fn string_or_strings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(url) => vec![url],
        OneOrMany::Many(urls) => urls,
    })
}

/// One checked ICE server URL with the credentials of its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedIceServer {
    /// The parsed URL.
    pub url: IceServerUrl,
    /// The TURN username (always present for TURN URLs).
    pub username: Option<String>,
    /// The TURN password (always present for TURN URLs).
    pub credential: Option<String>,
}

/// W3C `RTCIceTransportPolicy`: which candidates ICE may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IceTransportPolicy {
    /// Every candidate type (`"all"`).
    #[default]
    All,
    /// Relayed (TURN) candidates only (`"relay"`): hides the host's addresses.
    Relay,
}

/// W3C `RTCBundlePolicy`: how media sections share transports.
///
/// The default is [`MaxBundle`](Self::MaxBundle), as in libwebrtc (the W3C
/// default is `balanced`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BundlePolicy {
    /// One transport per media type unless the peer bundles (`"balanced"`).
    Balanced,
    /// One transport per media section unless the peer bundles (`"max-compat"`).
    MaxCompat,
    /// Everything on one transport (`"max-bundle"`).
    #[default]
    MaxBundle,
}

impl From<BundlePolicy> for SdpBundlePolicy {
    fn from(policy: BundlePolicy) -> Self {
        match policy {
            BundlePolicy::Balanced => SdpBundlePolicy::Balanced,
            BundlePolicy::MaxCompat => SdpBundlePolicy::MaxCompat,
            BundlePolicy::MaxBundle => SdpBundlePolicy::MaxBundle,
        }
    }
}

impl From<SdpBundlePolicy> for BundlePolicy {
    fn from(policy: SdpBundlePolicy) -> Self {
        match policy {
            SdpBundlePolicy::Balanced => BundlePolicy::Balanced,
            SdpBundlePolicy::MaxCompat => BundlePolicy::MaxCompat,
            SdpBundlePolicy::MaxBundle => BundlePolicy::MaxBundle,
        }
    }
}

/// W3C `RTCRtcpMuxPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RtcpMuxPolicy {
    /// RTCP on the RTP transport only (`"require"`, the W3C default).
    #[default]
    Require,
    /// Offer a separate RTCP transport too (`"negotiate"`). Parsed, so that
    /// the JSON shape round-trips, but refused by
    /// [`RtcConfiguration::validate`] with
    /// [`Error::RtcpMuxNegotiateNotSupported`] (W3C `NotSupportedError`,
    /// which the specification allows): every browser muxes RTCP.
    Negotiate,
}

/// The scheme of an ICE server URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceServerScheme {
    /// `stun:` (RFC 7064), STUN over UDP.
    Stun,
    /// `stuns:` (RFC 7064), STUN over TLS.
    Stuns,
    /// `turn:` (RFC 7065).
    Turn,
    /// `turns:` (RFC 7065), TURN over TLS (or DTLS with `?transport=udp`).
    Turns,
}

impl IceServerScheme {
    /// The scheme name, without the colon.
    pub fn as_str(self) -> &'static str {
        match self {
            IceServerScheme::Stun => "stun",
            IceServerScheme::Stuns => "stuns",
            IceServerScheme::Turn => "turn",
            IceServerScheme::Turns => "turns",
        }
    }

    /// `turn:` or `turns:`.
    pub fn is_turn(self) -> bool {
        matches!(self, IceServerScheme::Turn | IceServerScheme::Turns)
    }

    /// `stuns:` or `turns:`: the connection to the server is (D)TLS.
    pub fn is_secure(self) -> bool {
        matches!(self, IceServerScheme::Stuns | IceServerScheme::Turns)
    }

    /// The default port: 3478, or 5349 for the secure schemes.
    pub fn default_port(self) -> u16 {
        if self.is_secure() {
            5349
        } else {
            3478
        }
    }
}

/// The transport to an ICE server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceServerTransport {
    /// UDP (DTLS for `turns:`).
    Udp,
    /// TCP (TLS for `stuns:` and `turns:`).
    Tcp,
}

impl IceServerTransport {
    /// `"udp"` or `"tcp"`, as in the `transport` query.
    pub fn as_str(self) -> &'static str {
        match self {
            IceServerTransport::Udp => "udp",
            IceServerTransport::Tcp => "tcp",
        }
    }
}

/// The host of an ICE server URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IceServerHost {
    /// A DNS name (RFC 3986 `reg-name`, restricted to letters, digits and
    /// `-._~`), as written.
    Domain(String),
    /// An IPv4 address or a bracketed IPv6 literal.
    Ip(IpAddr),
}

impl fmt::Display for IceServerHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IceServerHost::Domain(name) => f.write_str(name),
            IceServerHost::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            IceServerHost::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

/// Why an ICE server URL did not parse (the `reason` of
/// [`Error::InvalidIceServerUrl`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum IceServerUrlError {
    /// No `scheme:` prefix.
    #[error("no scheme (expected stun:, stuns:, turn: or turns:)")]
    MissingScheme,
    /// A scheme other than `stun`, `stuns`, `turn`, `turns`.
    #[error("unknown scheme (expected stun:, stuns:, turn: or turns:)")]
    UnknownScheme,
    /// `scheme://…`: RFC 7064 and RFC 7065 URIs have no authority part.
    #[error(
        "`//` after the scheme: STUN and TURN URIs are `scheme:host[:port]` (RFC 7064, RFC 7065)"
    )]
    AuthorityForm,
    /// Nothing between the scheme and the port or query.
    #[error("no host")]
    MissingHost,
    /// A host that is not a DNS name, an IPv4 address or a bracketed IPv6
    /// address (also: user info, a path, a fragment, an unbracketed IPv6).
    #[error("invalid host")]
    InvalidHost,
    /// A port that is empty, not a decimal number, 0, or above 65535.
    #[error("invalid port")]
    InvalidPort,
    /// A query on a `stun:`/`stuns:` URL (RFC 7064 has none).
    #[error("a query on a STUN URL (RFC 7064 allows none)")]
    QueryOnStunUrl,
    /// A query other than `transport=…`.
    #[error("a query other than `transport=udp|tcp`")]
    InvalidQuery,
    /// `?transport=` with a value other than `udp` or `tcp`.
    #[error("unknown transport (expected udp or tcp)")]
    UnknownTransport,
}

/// A parsed ICE server URL: `stun:`/`stuns:` per RFC 7064,
/// `turn:`/`turns:` with an optional `?transport=udp|tcp` per RFC 7065.
///
/// Schemes and the transport value are case-insensitive; a missing port is
/// the scheme's default (3478, or 5349 for `stuns:`/`turns:`); a missing
/// transport is UDP, except for `stuns:` and `turns:` (TLS over TCP).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IceServerUrl {
    /// The scheme.
    pub scheme: IceServerScheme,
    /// The host.
    pub host: IceServerHost,
    /// The port, the scheme's default when the URL has none.
    pub port: u16,
    /// The transport, the scheme's default when the URL has none.
    pub transport: IceServerTransport,
}

impl IceServerUrl {
    /// Parses `url`. Never panics.
    ///
    /// ```
    /// use peerconnection::configuration::{IceServerHost, IceServerScheme, IceServerTransport, IceServerUrl};
    ///
    /// let url = IceServerUrl::parse("turns:turn.example.org?transport=tcp")?;
    /// assert_eq!(url.scheme, IceServerScheme::Turns);
    /// assert_eq!(url.host, IceServerHost::Domain("turn.example.org".into()));
    /// assert_eq!((url.port, url.transport), (5349, IceServerTransport::Tcp));
    ///
    /// let url = IceServerUrl::parse("stun:[::1]:3479")?;
    /// assert_eq!(url.to_string(), "stun:[::1]:3479");
    ///
    /// assert!(IceServerUrl::parse("stun://127.0.0.1").is_err());
    /// # Ok::<(), peerconnection::Error>(())
    /// ```
    pub fn parse(url: &str) -> Result<Self, Error> {
        Self::parse_parts(url).map_err(|reason| Error::InvalidIceServerUrl {
            url: url.to_owned(),
            reason,
        })
    }

    fn parse_parts(url: &str) -> Result<Self, IceServerUrlError> {
        let (scheme, rest) = url
            .split_once(':')
            .ok_or(IceServerUrlError::MissingScheme)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "stun" => IceServerScheme::Stun,
            "stuns" => IceServerScheme::Stuns,
            "turn" => IceServerScheme::Turn,
            "turns" => IceServerScheme::Turns,
            "" => return Err(IceServerUrlError::MissingScheme),
            _ => return Err(IceServerUrlError::UnknownScheme),
        };
        if rest.starts_with("//") {
            return Err(IceServerUrlError::AuthorityForm);
        }
        let (host_port, query) = match rest.split_once('?') {
            Some((host_port, query)) => (host_port, Some(query)),
            None => (rest, None),
        };
        let (host, port) = split_host_port(host_port)?;
        let port = match port {
            None => scheme.default_port(),
            Some(port) => parse_port(port)?,
        };
        let default_transport = if scheme.is_secure() {
            IceServerTransport::Tcp
        } else {
            IceServerTransport::Udp
        };
        let transport = match query {
            None => default_transport,
            Some(_) if !scheme.is_turn() => return Err(IceServerUrlError::QueryOnStunUrl),
            Some(query) => parse_transport_query(query)?,
        };
        Ok(IceServerUrl {
            scheme,
            host,
            port,
            transport,
        })
    }
}

/// Splits `host[:port]` (host possibly a bracketed IPv6 literal) and parses the host.
fn split_host_port(text: &str) -> Result<(IceServerHost, Option<&str>), IceServerUrlError> {
    if text.is_empty() || text.starts_with(':') {
        return Err(IceServerUrlError::MissingHost);
    }
    if let Some(after_bracket) = text.strip_prefix('[') {
        let (literal, after) = after_bracket
            .split_once(']')
            .ok_or(IceServerUrlError::InvalidHost)?;
        let ip: Ipv6Addr = literal
            .parse()
            .map_err(|_| IceServerUrlError::InvalidHost)?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or(IceServerUrlError::InvalidHost)?,
            ),
        };
        return Ok((IceServerHost::Ip(IpAddr::V6(ip)), port));
    }
    let (host, port) = match text.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    Ok((parse_host(host)?, port))
}

/// A DNS name or an IPv4 address (not bracketed).
fn parse_host(host: &str) -> Result<IceServerHost, IceServerUrlError> {
    if host.is_empty() {
        return Err(IceServerUrlError::MissingHost);
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        // All digits and dots: an IPv4 address or a typo, never a DNS name.
        let ip: Ipv4Addr = host.parse().map_err(|_| IceServerUrlError::InvalidHost)?;
        return Ok(IceServerHost::Ip(IpAddr::V4(ip)));
    }
    let name_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if host.bytes().all(name_byte) {
        Ok(IceServerHost::Domain(host.to_owned()))
    } else {
        Err(IceServerUrlError::InvalidHost)
    }
}

/// A decimal port, 1 to 65535.
fn parse_port(port: &str) -> Result<u16, IceServerUrlError> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IceServerUrlError::InvalidPort);
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(IceServerUrlError::InvalidPort),
        Ok(port) => Ok(port),
    }
}

/// `transport=udp` or `transport=tcp` (RFC 7065 §3.1).
fn parse_transport_query(query: &str) -> Result<IceServerTransport, IceServerUrlError> {
    let (key, value) = query
        .split_once('=')
        .ok_or(IceServerUrlError::InvalidQuery)?;
    if !key.eq_ignore_ascii_case("transport") {
        return Err(IceServerUrlError::InvalidQuery);
    }
    if value.eq_ignore_ascii_case("udp") {
        Ok(IceServerTransport::Udp)
    } else if value.eq_ignore_ascii_case("tcp") {
        Ok(IceServerTransport::Tcp)
    } else {
        Err(IceServerUrlError::UnknownTransport)
    }
}

impl fmt::Display for IceServerUrl {
    /// The canonical form: lower-case scheme, explicit port, and for TURN the
    /// explicit transport (`turn:127.0.0.1:3478?transport=udp`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.scheme.as_str(), self.host, self.port)?;
        if self.scheme.is_turn() {
            write!(f, "?transport={}", self.transport.as_str())?;
        }
        Ok(())
    }
}

impl std::str::FromStr for IceServerUrl {
    type Err = Error;

    fn from_str(url: &str) -> Result<Self, Error> {
        IceServerUrl::parse(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IceServerUrlError as E;

    fn domain(name: &str) -> IceServerHost {
        IceServerHost::Domain(name.to_owned())
    }

    fn ip(text: &str) -> IceServerHost {
        IceServerHost::Ip(text.parse().expect("test IP"))
    }

    #[test]
    fn valid_urls_parse_with_defaults() {
        use IceServerScheme::*;
        use IceServerTransport::*;
        let table = [
            ("stun:example.org", Stun, domain("example.org"), 3478, Udp),
            ("STUN:example.org", Stun, domain("example.org"), 3478, Udp),
            ("stun:127.0.0.1", Stun, ip("127.0.0.1"), 3478, Udp),
            ("stun:127.0.0.1:19302", Stun, ip("127.0.0.1"), 19302, Udp),
            ("stun:[::1]", Stun, ip("::1"), 3478, Udp),
            ("stun:[::1]:1", Stun, ip("::1"), 1, Udp),
            ("stun:[fe80::1:2]:65535", Stun, ip("fe80::1:2"), 65535, Udp),
            ("stuns:example.org", Stuns, domain("example.org"), 5349, Tcp),
            (
                "stuns:a-b_c~d.example:443",
                Stuns,
                domain("a-b_c~d.example"),
                443,
                Tcp,
            ),
            ("turn:turn.example", Turn, domain("turn.example"), 3478, Udp),
            (
                "turn:turn.example?transport=udp",
                Turn,
                domain("turn.example"),
                3478,
                Udp,
            ),
            (
                "turn:turn.example?transport=tcp",
                Turn,
                domain("turn.example"),
                3478,
                Tcp,
            ),
            (
                "turn:127.0.0.1:3479?transport=TCP",
                Turn,
                ip("127.0.0.1"),
                3479,
                Tcp,
            ),
            ("turn:[::1]:3479?transport=tcp", Turn, ip("::1"), 3479, Tcp),
            (
                "turns:turn.example",
                Turns,
                domain("turn.example"),
                5349,
                Tcp,
            ),
            (
                "turns:turn.example:443?transport=tcp",
                Turns,
                domain("turn.example"),
                443,
                Tcp,
            ),
            (
                "turns:turn.example?transport=udp",
                Turns,
                domain("turn.example"),
                5349,
                Udp,
            ),
            ("Turns:localhost", Turns, domain("localhost"), 5349, Tcp),
        ];
        for (text, scheme, host, port, transport) in table {
            let expected = IceServerUrl {
                scheme,
                host,
                port,
                transport,
            };
            match IceServerUrl::parse(text) {
                Ok(url) => assert_eq!(url, expected, "{text}"),
                Err(e) => panic!("{text}: {e}"),
            }
        }
    }

    #[test]
    fn invalid_urls_are_refused_with_the_reason() {
        let table = [
            ("", E::MissingScheme),
            ("example.org", E::MissingScheme),
            (":example.org", E::MissingScheme),
            ("http://example.org", E::UnknownScheme),
            ("stunx:example.org", E::UnknownScheme),
            ("stun://example.org", E::AuthorityForm),
            ("stuns://example.org:5349", E::AuthorityForm),
            ("turn://user@example.org", E::AuthorityForm),
            ("stun:", E::MissingHost),
            ("stun::3478", E::MissingHost),
            ("turn:?transport=udp", E::MissingHost),
            ("stun:user@example.org", E::InvalidHost),
            ("stun:example.org/path", E::InvalidHost),
            ("stun:exa mple.org", E::InvalidHost),
            ("stun:1.2.3.256", E::InvalidHost),
            ("stun:[::1", E::InvalidHost),
            ("stun:[not-ip]", E::InvalidHost),
            ("stun:[::1]3478", E::InvalidHost),
            ("stun:[127.0.0.1]", E::InvalidHost),
            ("stun:::1", E::MissingHost),
            ("stun:fe80::1", E::InvalidPort),
            ("stun:example.org:", E::InvalidPort),
            ("stun:example.org:0", E::InvalidPort),
            ("stun:example.org:65536", E::InvalidPort),
            ("stun:example.org:+1", E::InvalidPort),
            ("stun:example.org:34x", E::InvalidPort),
            ("stun:[::1]:", E::InvalidPort),
            ("stun:example.org?transport=udp", E::QueryOnStunUrl),
            ("stuns:example.org?transport=tcp", E::QueryOnStunUrl),
            ("turn:example.org?transport=sctp", E::UnknownTransport),
            ("turn:example.org?transport=", E::UnknownTransport),
            ("turn:example.org?transport=tls", E::UnknownTransport),
            ("turn:example.org?proto=udp", E::InvalidQuery),
            ("turn:example.org?transport", E::InvalidQuery),
            ("turn:example.org?", E::InvalidQuery),
        ];
        for (text, reason) in table {
            match IceServerUrl::parse(text) {
                Err(Error::InvalidIceServerUrl { url, reason: got }) => {
                    assert_eq!((url.as_str(), got), (text, reason), "{text}")
                }
                other => panic!("{text}: expected {reason:?}, got {other:?}"),
            }
        }
    }

    #[test]
    fn display_is_canonical_and_parses_back() {
        for text in [
            "stun:Example.org",
            "stuns:[::1]",
            "turn:127.0.0.1",
            "turns:turn.example?transport=udp",
        ] {
            let url = IceServerUrl::parse(text).expect("valid");
            let again = IceServerUrl::parse(&url.to_string()).expect("canonical form parses");
            assert_eq!(url, again);
        }
        let url = IceServerUrl::parse("TURN:[::1]").expect("valid");
        assert_eq!(url.to_string(), "turn:[::1]:3478?transport=udp");
    }

    #[test]
    fn default_configuration_contacts_no_server() {
        let config = RtcConfiguration::default();
        assert!(config.ice_servers.is_empty());
        assert_eq!(config.bundle_policy, BundlePolicy::MaxBundle);
        assert_eq!(config.rtcp_mux_policy, RtcpMuxPolicy::Require);
        assert_eq!(config.ice_transport_policy, IceTransportPolicy::All);
        assert_eq!(config.validate().expect("valid"), vec![]);
    }

    #[test]
    fn validate_checks_turn_credentials_and_empty_url_lists() {
        let mut config = RtcConfiguration {
            ice_servers: vec![
                IceServer::new(["stun:127.0.0.1"]),
                IceServer::new(["turn:127.0.0.1", "turns:localhost"]),
            ],
            ..RtcConfiguration::default()
        };
        match config.validate() {
            Err(Error::MissingTurnCredentials { url }) => assert_eq!(url, "turn:127.0.0.1"),
            other => panic!("{other:?}"),
        }
        config.ice_servers[1].username = Some("user".into());
        assert!(matches!(
            config.validate(),
            Err(Error::MissingTurnCredentials { .. })
        ));
        config.ice_servers[1].credential = Some("secret".into());
        let parsed = config.validate().expect("valid");
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[0].username, None);
        assert_eq!(parsed[2].url.scheme, IceServerScheme::Turns);
        assert_eq!(parsed[2].credential.as_deref(), Some("secret"));

        config.ice_servers.push(IceServer::default());
        assert!(matches!(
            config.validate(),
            Err(Error::EmptyIceServerUrls { server_index: 2 })
        ));
        config.ice_servers[2] = IceServer::new(["stun://127.0.0.1"]);
        assert!(matches!(
            config.validate(),
            Err(Error::InvalidIceServerUrl {
                reason: E::AuthorityForm,
                ..
            })
        ));
    }

    #[test]
    fn json_uses_the_w3c_member_names_and_values() {
        let json = r#"{
            "iceServers": [
                {"urls": "stun:127.0.0.1:3478"},
                {"urls": ["turn:127.0.0.1?transport=tcp", "turns:localhost"],
                 "username": "user", "credential": "secret"}
            ],
            "iceTransportPolicy": "relay",
            "bundlePolicy": "max-compat",
            "rtcpMuxPolicy": "negotiate",
            "iceCandidatePoolSize": 4,
            "sdpSemantics": "unified-plan"
        }"#;
        let config = RtcConfiguration::from_json(json).expect("W3C JSON");
        assert_eq!(config.ice_servers[0].urls, ["stun:127.0.0.1:3478"]);
        assert_eq!(config.ice_servers[1].urls.len(), 2);
        assert_eq!(config.ice_servers[1].username.as_deref(), Some("user"));
        assert_eq!(config.ice_transport_policy, IceTransportPolicy::Relay);
        assert_eq!(config.bundle_policy, BundlePolicy::MaxCompat);
        assert_eq!(config.rtcp_mux_policy, RtcpMuxPolicy::Negotiate);
        assert_eq!(config.ice_candidate_pool_size, 4);
        // "negotiate" parses but is refused (W3C NotSupportedError).
        assert!(matches!(
            config.validate(),
            Err(Error::RtcpMuxNegotiateNotSupported)
        ));
        let require = RtcConfiguration {
            rtcp_mux_policy: RtcpMuxPolicy::Require,
            ..config.clone()
        };
        assert_eq!(require.validate().expect("valid").len(), 3);

        let written: serde_json::Value =
            serde_json::from_str(&config.to_json()).expect("to_json writes JSON");
        let expected = serde_json::json!({
            "iceServers": [
                {"urls": ["stun:127.0.0.1:3478"]},
                {"urls": ["turn:127.0.0.1?transport=tcp", "turns:localhost"],
                 "username": "user", "credential": "secret"}
            ],
            "iceTransportPolicy": "relay",
            "bundlePolicy": "max-compat",
            "rtcpMuxPolicy": "negotiate",
            "iceCandidatePoolSize": 4
        });
        assert_eq!(written, expected);
        assert_eq!(
            RtcConfiguration::from_json(&config.to_json()).expect("round trip"),
            config
        );
    }

    #[test]
    fn json_round_trips_every_policy_value() {
        for (policy, name) in [
            (BundlePolicy::Balanced, "balanced"),
            (BundlePolicy::MaxCompat, "max-compat"),
            (BundlePolicy::MaxBundle, "max-bundle"),
        ] {
            let config = RtcConfiguration {
                bundle_policy: policy,
                ..RtcConfiguration::default()
            };
            let json = config.to_json();
            assert!(
                json.contains(&format!("\"bundlePolicy\":\"{name}\"")),
                "{json}"
            );
            assert_eq!(
                RtcConfiguration::from_json(&json).expect("round trip"),
                config
            );
        }
        for (policy, name) in [
            (IceTransportPolicy::All, "all"),
            (IceTransportPolicy::Relay, "relay"),
        ] {
            let config = RtcConfiguration {
                ice_transport_policy: policy,
                ..RtcConfiguration::default()
            };
            let json = config.to_json();
            assert!(
                json.contains(&format!("\"iceTransportPolicy\":\"{name}\"")),
                "{json}"
            );
            assert_eq!(
                RtcConfiguration::from_json(&json).expect("round trip"),
                config
            );
        }
        assert_eq!(
            RtcConfiguration::from_json("{}").expect("empty dictionary"),
            RtcConfiguration::default()
        );
    }

    #[test]
    fn json_with_wrong_types_is_refused() {
        for json in [
            r#"{"bundlePolicy": "max_bundle"}"#,
            r#"{"iceTransportPolicy": "none"}"#,
            r#"{"iceCandidatePoolSize": 256}"#,
            r#"{"iceServers": [{"urls": 5}]}"#,
            r#"{"iceServers": [{}]}"#,
            "[]",
        ] {
            assert!(
                matches!(
                    RtcConfiguration::from_json(json),
                    Err(Error::Json {
                        what: "RTCConfiguration",
                        ..
                    })
                ),
                "{json}"
            );
        }
    }

    #[test]
    fn bundle_policy_converts_to_the_sdp_factory_policy_and_back() {
        for policy in [
            BundlePolicy::Balanced,
            BundlePolicy::MaxCompat,
            BundlePolicy::MaxBundle,
        ] {
            assert_eq!(BundlePolicy::from(SdpBundlePolicy::from(policy)), policy);
        }
        assert_eq!(
            SdpBundlePolicy::from(BundlePolicy::default()),
            SdpBundlePolicy::default()
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC*") {
            let _ = IceServerUrl::parse(&text);
        }

        #[test]
        fn parse_never_panics_on_url_like_strings(
            text in "(stun|stuns|turn|turns|STUN|x)?:?(//)?\\[?[0-9a-f:.\\]]{0,20}(:[0-9]{0,6})?(\\?transport=[a-z]{0,4})?"
        ) {
            if let Ok(url) = IceServerUrl::parse(&text) {
                // Whatever parses prints in a form that parses to the same URL.
                proptest::prop_assert_eq!(IceServerUrl::parse(&url.to_string()).ok(), Some(url));
            }
        }
    }
}
