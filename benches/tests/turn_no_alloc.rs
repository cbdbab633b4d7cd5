//! Proof that relaying through TURN costs no allocation per packet once a
//! channel is bound: `TurnClient::send_in_place` writes the ChannelData
//! header into the headroom of the caller's buffer (what `IceAgent::send_in_place`
//! and the TransportController's `send_rtp_into` use on a relayed route).
//! Driven against the simulator's TURN server; the datagrams are checked to
//! reach the peer through it.

// The workspace forbids unsafe code; the counting `GlobalAlloc` needs it.
#![allow(unsafe_code)]

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use counting_alloc::allocations_in;
use ice::port::turn::RELAY_HEADROOM;
use ice::port::{TurnClient, TurnConfig, TurnReceived};
use ice::sim::{LinkConfig, SimNetwork};
use ice::{Transmit, TransportProtocol};

const SERVER: &str = "198.18.100.2:3478";
const CLIENT: &str = "10.0.1.2:5000";
const PEER: &str = "198.18.5.2:6000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Runs the client and the network for `steps` × 5 ms; datagrams for the
/// peer are returned.
fn pump(
    net: &mut SimNetwork,
    client: &mut TurnClient,
    now: &mut Instant,
    steps: u32,
) -> Vec<Bytes> {
    let mut to_peer = Vec::new();
    for _ in 0..steps {
        *now += Duration::from_millis(5);
        client.handle_timeout(*now);
        while let Some(t) = client.poll_transmit() {
            net.send(*now, &t);
        }
        while let Some(d) = net.poll_delivery(*now) {
            if d.local == addr(CLIENT) {
                if let TurnReceived::Data { .. } = client.handle_receive(*now, d.source, &d.data) {}
                while let Some(t) = client.poll_transmit() {
                    net.send(*now, &t);
                }
            } else if d.local == addr(PEER) {
                to_peer.push(d.data);
            }
        }
    }
    to_peer
}

#[test]
fn relayed_sends_through_a_bound_channel_do_not_allocate() {
    let mut net = SimNetwork::new(5, LinkConfig::default());
    net.add_turn_server(addr(SERVER), "user", "pass");
    net.add_host(addr(CLIENT).ip(), None);
    net.add_host(addr(PEER).ip(), None);
    let mut config = TurnConfig::new(addr(SERVER), "user", "pass");
    config.seed = Some(9);
    let mut client = TurnClient::new(config, addr(CLIENT));
    let mut now = Instant::now();
    client.allocate(now).unwrap();
    pump(&mut net, &mut client, &mut now, 50);
    assert!(client.relayed_address().is_some(), "allocated");

    // The first send to the peer installs the permission and binds a channel.
    let first = client.send_to(now, addr(PEER), b"\x80first").unwrap();
    net.send(now, &first);
    pump(&mut net, &mut client, &mut now, 50);
    assert!(client.channel(now, addr(PEER)).is_some(), "channel bound");

    let mut buf = vec![0u8; RELAY_HEADROOM + 1200 + 3];
    let (allocs, lens) = allocations_in(|| {
        let mut lens = 0usize;
        for seq in 0..2000u32 {
            buf[RELAY_HEADROOM..RELAY_HEADROOM + 4].copy_from_slice(&seq.to_be_bytes());
            let n = client
                .send_in_place(now, addr(PEER), &mut buf, 1200)
                .unwrap()
                .expect("through the bound channel");
            lens += n;
        }
        lens
    });
    assert_eq!(allocs, 0, "allocations on the relayed send path");
    assert_eq!(lens, 2000 * (4 + 1200));
    // The counter is live: send_to, which returns an owned datagram, allocates.
    let (allocs, _) = allocations_in(|| client.send_to(now, addr(PEER), b"\x80copy").unwrap());
    assert!(allocs > 0);

    // And what it wrote is right: the last one reaches the peer through the server.
    let n = client
        .send_in_place(now, addr(PEER), &mut buf, 1200)
        .unwrap()
        .unwrap();
    let t = Transmit {
        source: client.local(),
        destination: addr(SERVER),
        transport: TransportProtocol::Udp,
        contents: Bytes::copy_from_slice(&buf[..n]),
    };
    net.send(now, &t);
    let to_peer = pump(&mut net, &mut client, &mut now, 10);
    assert_eq!(to_peer.len(), 1);
    assert_eq!(&to_peer[0][..], &buf[RELAY_HEADROOM..RELAY_HEADROOM + 1200]);
}
