//! Two `TransportController`s connected through memory (ICE, then DTLS with
//! verified fingerprints and DTLS-SRTP keys), for the per-packet tests and
//! benchmarks of the controller. Included with `#[path]` by the no-allocation
//! test and by `benches/controller.rs`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dtls_transport::certificate::{Certificate, KeyType};
use dtls_transport::controller::{
    ControllerConfig, PeerConnectionState, TransportController, TransportId,
};
use dtls_transport::dtls::DtlsRole;
use ice::{IceConfig, IceRole, Receive};

/// One side: its controller, the id of its transport "0" and its socket address.
pub(crate) struct Side {
    pub(crate) c: TransportController,
    pub(crate) id: TransportId,
    pub(crate) addr: SocketAddr,
}

fn side(role: IceRole, dtls: DtlsRole, addr: &str, seed: u64) -> Side {
    let certificate = Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400))
        .expect("certificate");
    let ice = IceConfig {
        role,
        seed: Some(seed),
        ..Default::default()
    };
    let mut c = TransportController::new(ControllerConfig::new(certificate, ice));
    let now = Instant::now();
    let id = c.add_transport(now, "0", dtls, None).expect("transport");
    let addr: SocketAddr = addr.parse().expect("address");
    let agent = c.transport("0").expect("transport").ice();
    agent.add_local_socket(now, addr, ice::NetworkType::Loopback);
    agent.finish_local_sockets(now);
    Side { c, id, addr }
}

/// Hands every queued datagram of `from` to `to`.
fn deliver(from: &mut Side, to: &mut Side) -> bool {
    let mut moved = false;
    while let Some(t) = from.c.poll_transmit(Instant::now()) {
        let rx = Receive {
            local: t.destination,
            source: t.source,
            data: &t.contents,
        };
        to.c.handle_receive(Instant::now(), "0", rx);
        moved = true;
    }
    moved
}

/// Two connected sides (A controlling and DTLS client) with their events drained.
pub(crate) fn connected_pair() -> (Side, Side) {
    let mut a = side(IceRole::Controlling, DtlsRole::Client, "127.0.0.1:5000", 1);
    let mut b = side(IceRole::Controlled, DtlsRole::Server, "127.0.0.1:6000", 2);
    let now = Instant::now();
    let ca = a.c.local_credentials("0").expect("credentials").clone();
    let cb = b.c.local_credentials("0").expect("credentials").clone();
    a.c.set_remote_credentials(now, "0", cb)
        .expect("credentials");
    b.c.set_remote_credentials(now, "0", ca)
        .expect("credentials");
    let (fa, fb) = (a.c.local_fingerprint(), b.c.local_fingerprint());
    a.c.set_remote_fingerprint("0", fb).expect("fingerprint");
    b.c.set_remote_fingerprint("0", fa).expect("fingerprint");
    let from_a =
        a.c.transport("0")
            .expect("transport")
            .ice()
            .local_candidates();
    let from_b =
        b.c.transport("0")
            .expect("transport")
            .ice()
            .local_candidates();
    for cand in from_a {
        b.c.add_remote_candidate(now, "0", cand).expect("candidate");
    }
    for cand in from_b {
        a.c.add_remote_candidate(now, "0", cand).expect("candidate");
    }
    let start = Instant::now();
    while a.c.state() != PeerConnectionState::Connected
        || b.c.state() != PeerConnectionState::Connected
    {
        assert!(start.elapsed() < Duration::from_secs(10), "no connection");
        let now = Instant::now();
        a.c.handle_timeout(now);
        b.c.handle_timeout(now);
        while deliver(&mut a, &mut b) | deliver(&mut b, &mut a) {}
        std::thread::sleep(Duration::from_millis(1));
    }
    while a.c.poll_event().is_some() {}
    while b.c.poll_event().is_some() {}
    (a, b)
}

/// A 1,200-byte RTP packet (PT 96) with this sequence number and SSRC, written into `buf`.
pub(crate) fn write_rtp(buf: &mut [u8; 1200], seq: u16, ssrc: u32) {
    buf[0] = 0x80;
    buf[1] = 96;
    buf[2..4].copy_from_slice(&seq.to_be_bytes());
    buf[4..8].copy_from_slice(&u32::from(seq).wrapping_mul(960).to_be_bytes());
    buf[8..12].copy_from_slice(&ssrc.to_be_bytes());
}

/// Sends `packet` (plain RTP, or RTCP when `rtcp`) from `from` to `to` through
/// the zero-copy calls: `send_rtp_into` protects it into `out`,
/// `handle_receive_in_place` decrypts it there. The plain packet's place in `out`.
pub(crate) fn zero_copy_packet(
    from: &mut Side,
    to: &mut Side,
    rtcp: bool,
    packet: &[u8],
    out: &mut [u8],
) -> dtls_transport::controller::PlainMedia {
    let now = Instant::now();
    let send = from
        .c
        .send_rtp_into(now, from.id, rtcp, packet, out)
        .expect("protect")
        .expect("a direct route");
    assert_eq!((send.source, send.destination), (from.addr, to.addr));
    let (dst, src) = (send.destination, send.source);
    let mut media =
        to.c.handle_receive_in_place(now, to.id, 1, dst, src, &mut out[send.range()])
            .expect("unprotect")
            .expect("media");
    // Relative to `out`, not to the datagram.
    media.range = media.range.start + send.offset..media.range.end + send.offset;
    media
}
