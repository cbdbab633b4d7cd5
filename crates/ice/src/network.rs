//! Network enumeration (libwebrtc's BasicNetworkManager), with the filters
//! gathering needs: loopback, link-local, interface names, addresses, and an
//! explicit allow-list.
//!
//! This is the only module that asks the operating system anything; the
//! protocol cores take the resulting addresses as input.

use std::net::{IpAddr, SocketAddr};

use crate::candidate::NetworkType;

/// One usable local address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Network {
    /// Interface name (`eth0`, `lo`, …).
    pub name: String,
    /// The address.
    pub ip: IpAddr,
    /// Kind of network, guessed from the name as libwebrtc does on Linux.
    pub network_type: NetworkType,
}

/// Which addresses gathering may use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkFilter {
    /// Use loopback addresses. libwebrtc ignores them unless nothing else
    /// exists; so do we: with `false`, loopback is still used when it is the only network.
    pub include_loopback: bool,
    /// Use IPv6 link-local addresses (fe80::/10).
    pub include_link_local: bool,
    /// Use IPv6 at all.
    pub ipv6: bool,
    /// When not empty, only these interface names.
    pub interfaces: Vec<String>,
    /// Interface names to skip.
    pub ignore_interfaces: Vec<String>,
    /// When not empty, only these addresses (tests gather on 127.0.0.1 only).
    pub allow: Vec<IpAddr>,
}

impl NetworkFilter {
    /// Only the given addresses, whatever else the machine has.
    pub fn only(addrs: &[IpAddr]) -> NetworkFilter {
        NetworkFilter {
            include_loopback: true,
            include_link_local: true,
            ipv6: true,
            allow: addrs.to_vec(),
            ..Default::default()
        }
    }

    /// Applies the filter to a list of networks (pure: testable without a machine).
    pub fn apply(&self, networks: Vec<Network>) -> Vec<Network> {
        let keep = |n: &Network, loopback_ok: bool| {
            if !self.allow.is_empty() {
                return self.allow.contains(&n.ip);
            }
            if n.ip.is_unspecified() || n.ip.is_multicast() {
                return false;
            }
            if n.ip.is_loopback() && !loopback_ok {
                return false;
            }
            if let IpAddr::V6(v6) = n.ip {
                if !self.ipv6 {
                    return false;
                }
                if (v6.segments()[0] & 0xffc0) == 0xfe80 && !self.include_link_local {
                    return false;
                }
            }
            if !self.interfaces.is_empty() && !self.interfaces.contains(&n.name) {
                return false;
            }
            !self.ignore_interfaces.contains(&n.name)
        };
        let chosen: Vec<Network> = networks
            .iter()
            .filter(|n| keep(n, self.include_loopback))
            .cloned()
            .collect();
        if !chosen.is_empty() || self.include_loopback {
            return chosen;
        }
        // Nothing but loopback (a namespace with only `lo`): fall back to it.
        networks.into_iter().filter(|n| keep(n, true)).collect()
    }
}

fn guess_type(name: &str, ip: IpAddr) -> NetworkType {
    if ip.is_loopback() || name == "lo" {
        NetworkType::Loopback
    } else if name.starts_with("wl") || name.starts_with("wifi") {
        NetworkType::Wifi
    } else if name.starts_with("eth") || name.starts_with("en") || name.starts_with("veth") {
        NetworkType::Ethernet
    } else if name.starts_with("tun")
        || name.starts_with("tap")
        || name.starts_with("wg")
        || name.starts_with("ipsec")
    {
        NetworkType::Vpn
    } else if name.starts_with("rmnet") || name.starts_with("wwan") || name.starts_with("ccmni") {
        NetworkType::Cellular
    } else {
        NetworkType::Unknown
    }
}

/// Lists the machine's addresses (via `if-addrs`) and applies `filter`.
pub fn enumerate(filter: &NetworkFilter) -> std::io::Result<Vec<Network>> {
    let all = if_addrs::get_if_addrs()?
        .into_iter()
        .map(|i| {
            let ip = i.ip();
            Network {
                network_type: guess_type(&i.name, ip),
                name: i.name,
                ip,
            }
        })
        .collect();
    Ok(filter.apply(all))
}

/// A socket address on `network` with an OS-chosen port, for binding.
pub fn bind_addr(network: &Network) -> SocketAddr {
    SocketAddr::new(network.ip, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(name: &str, ip: &str) -> Network {
        let ip: IpAddr = ip.parse().unwrap();
        Network {
            name: name.into(),
            ip,
            network_type: guess_type(name, ip),
        }
    }

    #[test]
    fn filters() {
        let nets = vec![
            net("lo", "127.0.0.1"),
            net("eth0", "192.0.2.5"),
            net("eth0", "fe80::1"),
            net("wlan0", "2001:db8::5"),
            net("lo", "::1"),
        ];
        let f = NetworkFilter {
            ipv6: true,
            ..Default::default()
        };
        let got: Vec<_> = f
            .apply(nets.clone())
            .into_iter()
            .map(|n| n.ip.to_string())
            .collect();
        assert_eq!(got, vec!["192.0.2.5", "2001:db8::5"]);
        let f = NetworkFilter {
            ipv6: true,
            include_link_local: true,
            interfaces: vec!["eth0".into()],
            ..Default::default()
        };
        assert_eq!(f.apply(nets.clone()).len(), 2);
        let f = NetworkFilter::only(&["127.0.0.1".parse().unwrap()]);
        assert_eq!(f.apply(nets.clone()), vec![net("lo", "127.0.0.1")]);
        // Only loopback present: fall back to it.
        let f = NetworkFilter::default();
        assert_eq!(
            f.apply(vec![net("lo", "127.0.0.1"), net("lo", "::1")]),
            vec![net("lo", "127.0.0.1")]
        );
        assert_eq!(net("wlan0", "10.0.0.1").network_type, NetworkType::Wifi);
    }
}
