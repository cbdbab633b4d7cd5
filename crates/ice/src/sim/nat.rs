//! NAT boxes with RFC 4787 mapping and filtering behaviour.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// RFC 4787 §4.1 (mapping) and §5 (filtering) behaviours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatBehavior {
    /// Endpoint-independent: one mapping / any sender allowed ("full cone").
    EndpointIndependent,
    /// Address-dependent: per remote IP.
    AddressDependent,
    /// Address-and-port-dependent: per remote IP and port ("symmetric" when used for mapping).
    AddressAndPortDependent,
}

#[derive(Debug, Clone)]
struct Mapping {
    private: SocketAddr,
    key: (Option<IpAddr>, Option<u16>),
    public_port: u16,
    /// Remote endpoints this mapping has sent to (for filtering).
    permissions: Vec<SocketAddr>,
    last_used: Instant,
}

/// A NAT in front of one private realm.
#[derive(Debug, Clone)]
pub struct Nat {
    public_ip: IpAddr,
    mapping: NatBehavior,
    filtering: NatBehavior,
    next_port: u16,
    mappings: Vec<Mapping>,
    /// Mappings unused this long expire (RFC 4787 REQ-5: at least 2 minutes).
    pub timeout: Duration,
}

impl Nat {
    pub(crate) fn new(public_ip: IpAddr, mapping: NatBehavior, filtering: NatBehavior) -> Nat {
        Nat {
            public_ip,
            mapping,
            filtering,
            next_port: 40_000,
            mappings: Vec::new(),
            timeout: Duration::from_secs(120),
        }
    }

    /// The public address.
    pub fn public_ip(&self) -> IpAddr {
        self.public_ip
    }

    /// Number of live mappings.
    pub fn mapping_count(&self) -> usize {
        self.mappings.len()
    }

    fn expire(&mut self, now: Instant) {
        let timeout = self.timeout;
        self.mappings.retain(|m| now < m.last_used + timeout);
    }

    /// Translates an outbound datagram's source; creates or refreshes a mapping.
    pub(crate) fn outbound(
        &mut self,
        now: Instant,
        private: SocketAddr,
        remote: SocketAddr,
    ) -> SocketAddr {
        self.expire(now);
        let key = match self.mapping {
            NatBehavior::EndpointIndependent => (None, None),
            NatBehavior::AddressDependent => (Some(remote.ip()), None),
            NatBehavior::AddressAndPortDependent => (Some(remote.ip()), Some(remote.port())),
        };
        let idx = match self
            .mappings
            .iter()
            .position(|m| m.private == private && m.key == key)
        {
            Some(i) => i,
            None => {
                let port = self.next_port;
                self.next_port = self.next_port.wrapping_add(1).max(1024);
                self.mappings.push(Mapping {
                    private,
                    key,
                    public_port: port,
                    permissions: Vec::new(),
                    last_used: now,
                });
                self.mappings.len() - 1
            }
        };
        let m = &mut self.mappings[idx];
        m.last_used = now;
        if !m.permissions.contains(&remote) {
            m.permissions.push(remote);
        }
        SocketAddr::new(self.public_ip, m.public_port)
    }

    /// Translates an inbound datagram's destination, or `None` when filtered.
    pub(crate) fn inbound(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        public: SocketAddr,
    ) -> Option<SocketAddr> {
        self.expire(now);
        let m = self
            .mappings
            .iter_mut()
            .find(|m| m.public_port == public.port())?;
        let allowed = match self.filtering {
            NatBehavior::EndpointIndependent => true,
            NatBehavior::AddressDependent => m.permissions.iter().any(|p| p.ip() == remote.ip()),
            NatBehavior::AddressAndPortDependent => m.permissions.contains(&remote),
        };
        if !allowed {
            return None;
        }
        m.last_used = now;
        Some(m.private)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn mapping_and_filtering_behaviours() {
        let now = Instant::now();
        let inside = a("10.0.0.2:5000");
        // Endpoint-independent mapping: same public port for every remote.
        let mut n = Nat::new(
            "198.18.0.1".parse().unwrap(),
            NatBehavior::EndpointIndependent,
            NatBehavior::AddressAndPortDependent,
        );
        let p1 = n.outbound(now, inside, a("198.18.1.1:3478"));
        let p2 = n.outbound(now, inside, a("198.18.2.2:9999"));
        assert_eq!(p1, p2);
        // Port-restricted filtering: only endpoints sent to.
        assert_eq!(n.inbound(now, a("198.18.1.1:3478"), p1), Some(inside));
        assert_eq!(n.inbound(now, a("198.18.1.1:3479"), p1), None);
        // Symmetric: a new port per remote endpoint.
        let mut s = Nat::new(
            "198.18.0.2".parse().unwrap(),
            NatBehavior::AddressAndPortDependent,
            NatBehavior::AddressAndPortDependent,
        );
        let q1 = s.outbound(now, inside, a("198.18.1.1:3478"));
        let q2 = s.outbound(now, inside, a("198.18.1.1:3479"));
        assert_ne!(q1, q2);
        // Address-dependent filtering allows any port of a contacted IP.
        let mut d = Nat::new(
            "198.18.0.3".parse().unwrap(),
            NatBehavior::EndpointIndependent,
            NatBehavior::AddressDependent,
        );
        let r = d.outbound(now, inside, a("198.18.1.1:3478"));
        assert_eq!(d.inbound(now, a("198.18.1.1:1"), r), Some(inside));
        assert_eq!(d.inbound(now, a("198.18.1.2:3478"), r), None);
        // Full cone: anyone.
        let mut f = Nat::new(
            "198.18.0.4".parse().unwrap(),
            NatBehavior::EndpointIndependent,
            NatBehavior::EndpointIndependent,
        );
        let r = f.outbound(now, inside, a("198.18.1.1:3478"));
        assert_eq!(f.inbound(now, a("198.18.9.9:1"), r), Some(inside));
        // Mappings expire.
        assert_eq!(
            f.inbound(now + Duration::from_secs(121), a("198.18.9.9:1"), r),
            None
        );
    }
}
