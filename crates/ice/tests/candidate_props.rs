//! Property tests: generated candidates write → parse → write stably, and
//! arbitrary text never panics the parser.

use std::net::IpAddr;

use ice::candidate::{CandidateAddress, TcpType};
use ice::{Candidate, CandidateKind, TransportProtocol};
use proptest::prelude::*;

fn ice_chars(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9+/]{{1,{max}}}")).unwrap()
}

fn address() -> impl Strategy<Value = CandidateAddress> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| CandidateAddress::Ip(IpAddr::from(b))),
        any::<[u8; 16]>().prop_map(|b| CandidateAddress::Ip(IpAddr::from(b))),
        proptest::string::string_regex("[a-f0-9]{8}-[a-f0-9]{4}\\.local")
            .unwrap()
            .prop_map(CandidateAddress::Mdns),
    ]
}

prop_compose! {
    fn candidate()(
        foundation in ice_chars(32),
        component in 1u16..=256,
        tcp in any::<bool>(),
        upper in any::<bool>(),
        priority in 1u32..,
        address in address(),
        port in any::<u16>(),
        kind in prop_oneof![Just(CandidateKind::Host), Just(CandidateKind::ServerReflexive), Just(CandidateKind::PeerReflexive), Just(CandidateKind::Relay)],
        related in proptest::option::of((address(), any::<u16>())),
        tcp_type in prop_oneof![Just(TcpType::Active), Just(TcpType::Passive), Just(TcpType::So)],
        generation in proptest::option::of(any::<u32>()),
        ufrag in proptest::option::of(ice_chars(16)),
        network_id in proptest::option::of(any::<u32>()),
        network_cost in proptest::option::of(0u32..1000),
        extensions in proptest::collection::vec(("x-[a-z]{1,8}", "[!-~]{1,12}"), 0..4),
    ) -> Candidate {
        // Every field by name (not `Candidate::new` and its `with_*`
        // methods): a field added to Candidate must be added here, so the
        // round-trip properties below cover it.
        Candidate {
            foundation, component,
            transport: if tcp { TransportProtocol::Tcp } else { TransportProtocol::Udp },
            priority, address, port, kind, related,
            tcp_type: tcp.then_some(tcp_type),
            generation, ufrag, network_id, network_cost, extensions,
            transport_upper_case: upper,
        }
    }
}

proptest! {
    #[test]
    fn write_parse_write_is_stable(c in candidate()) {
        let line = c.to_string();
        let parsed: Candidate = line.parse().unwrap();
        prop_assert_eq!(&parsed, &c);
        prop_assert_eq!(parsed.to_string(), line);
    }

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,300}") {
        let _ = s.parse::<Candidate>();
        let _ = format!("candidate:{s}").parse::<Candidate>();
    }
}
