//! Connection setup, side by side: from createOffer to a data channel open on
//! both sides, two peers in one process on one thread, host candidates on
//! 127.0.0.1, real UDP sockets, certificates made beforehand (outside the
//! timing, as each stack's certificate generation is not what is compared).
//!
//! - `ours/peer_connection`: two async `PeerConnection`s on a current-thread
//!   tokio runtime: `create_data_channel`, `create_offer`,
//!   `set_local_description`, the offer to the other's
//!   `set_remote_description`, `create_answer`, both set, candidates trickled
//!   as they come (held until the remote description is set), until both
//!   sides report the channel open.
//! - `str0m`: two `Rtc`s with their SDP API (`add_channel`, `apply`,
//!   `accept_offer`, `accept_answer`), host candidates added before the
//!   offer (so they are in the SDP), datagrams through two UDP sockets with
//!   one system call per packet, until `ChannelOpen` on both.
//! - `webrtc-rs`: two webrtc-rs `RTCPeerConnection`s (the `webrtc` crate) on
//!   a current-thread tokio runtime, ICE held to 127.0.0.1 by its
//!   `SettingEngine` (loopback interface and address only, UDP4, no mDNS, no
//!   ICE servers): `create_data_channel`, `create_offer`,
//!   `set_local_description`, the offer to the other's
//!   `set_remote_description`, `create_answer`, both set, candidates trickled
//!   as `on_ice_candidate` gives them (held until the remote description is
//!   set, as for ours; not waiting for gathering to complete), until
//!   `on_open` has fired on both ends (b's end from `on_data_channel`). Its
//!   connections (and their certificates) are made before timing, as ours.
//!
//! `cargo bench -p peerstack-benches --bench setup`

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

mod ours {
    use super::*;
    use media_channels::sdp::dtls_transport::certificate::{
        Certificate, KeyType, DEFAULT_VALIDITY,
    };
    use peerconnection::media_channels::data::DataChannelInit;
    use peerconnection::media_channels::sdp::dtls_transport::ice::network::NetworkFilter;
    use peerconnection::peer_connection::{
        PeerConnection, PeerConnectionEvents, PeerConnectionFactory,
    };
    use peerconnection::session::SessionEvent;
    use peerconnection::RtcConfiguration;

    /// Candidates to `to` once it has the remote description; true when the
    /// channel is open here.
    async fn pump(mut events: PeerConnectionEvents, to: PeerConnection) -> bool {
        let mut held = Vec::new();
        let mut open = false;
        while let Some(e) = events.recv().await {
            match e {
                SessionEvent::IceCandidate(c) => held.push(c),
                SessionEvent::DataChannelOpen { .. } => open = true,
                _ => {}
            }
            if !held.is_empty() && matches!(to.remote_description().await, Ok(Some(_))) {
                for c in held.drain(..) {
                    let _ = to.add_ice_candidate(c).await;
                }
            }
            if open {
                return true;
            }
        }
        false
    }

    pub(crate) struct Setup {
        rt: tokio::runtime::Runtime,
        factory: PeerConnectionFactory,
        certificates: [Certificate; 2],
    }

    impl Setup {
        pub(crate) fn new() -> Setup {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let cert = || Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap();
            Setup {
                rt,
                factory: PeerConnectionFactory::new()
                    .with_network_filter(NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)])),
                certificates: [cert(), cert()],
            }
        }

        /// One setup; the time from createOffer to both channel ends open.
        pub(crate) fn once(&self) -> Duration {
            self.rt.block_on(async {
                let config = |c: &Certificate| RtcConfiguration {
                    certificates: vec![c.clone()],
                    ..RtcConfiguration::default()
                };
                let (a, ea) = self
                    .factory
                    .create_peer_connection(config(&self.certificates[0]))
                    .await
                    .unwrap();
                let (b, eb) = self
                    .factory
                    .create_peer_connection(config(&self.certificates[1]))
                    .await
                    .unwrap();
                let start = Instant::now();
                let (pa, pb) = (
                    tokio::spawn(pump(ea, b.clone())),
                    tokio::spawn(pump(eb, a.clone())),
                );
                a.create_data_channel(DataChannelInit::new("setup"))
                    .await
                    .unwrap();
                let offer = a.create_offer().await.unwrap();
                a.set_local_description(offer.clone()).await.unwrap();
                b.set_remote_description(offer).await.unwrap();
                let answer = b.create_answer().await.unwrap();
                b.set_local_description(answer.clone()).await.unwrap();
                a.set_remote_description(answer).await.unwrap();
                assert!(pa.await.unwrap() && pb.await.unwrap(), "channel open");
                let elapsed = start.elapsed();
                a.close().await;
                b.close().await;
                elapsed
            })
        }
    }
}

#[path = "common/webrtc_rs_pc.rs"]
mod webrtc_rs_pc;

mod webrtc_side {
    use super::*;
    use webrtc::api::API;

    pub(crate) struct Setup {
        rt: tokio::runtime::Runtime,
        api: API,
    }

    impl Setup {
        pub(crate) fn new() -> Setup {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            Setup {
                rt,
                api: webrtc_rs_pc::loopback_api(|_| {}),
            }
        }

        /// One setup; the time from createOffer to both channel ends open.
        pub(crate) fn once(&self) -> Duration {
            self.rt.block_on(async {
                // Made before timing, with their certificates.
                let a = webrtc_rs_pc::peer_connection(&self.api).await;
                let b = webrtc_rs_pc::peer_connection(&self.api).await;
                let start = Instant::now();
                let (_a_end, _b_end) = webrtc_rs_pc::negotiate(&a, &b, "setup").await;
                let elapsed = start.elapsed();
                a.close().await.expect("webrtc-rs: close");
                b.close().await.expect("webrtc-rs: close");
                elapsed
            })
        }
    }
}

mod str0m_side {
    use super::*;
    use str0m::net::{Protocol, Receive};
    use str0m::{Candidate, Event, Input, Output, Rtc};

    struct Peer {
        rtc: Rtc,
        socket: UdpSocket,
        addr: SocketAddr,
        open: bool,
        timeout: Instant,
    }

    fn peer(crypto: &Arc<str0m::crypto::CryptoProvider>) -> Peer {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        socket.set_nonblocking(true).expect("nonblocking");
        let addr = socket.local_addr().unwrap();
        let mut rtc = Rtc::builder()
            .set_crypto_provider(crypto.clone())
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        Peer {
            rtc,
            socket,
            addr,
            open: false,
            timeout: Instant::now(),
        }
    }

    /// Drains `p`'s outputs (datagrams on its socket) until its next timeout.
    fn drain(p: &mut Peer) {
        loop {
            match p.rtc.poll_output().expect("poll_output") {
                Output::Transmit(t) => {
                    let _ = p.socket.send_to(&t.contents, t.destination);
                }
                Output::Event(Event::ChannelOpen(..)) => p.open = true,
                Output::Event(_) => {}
                Output::Timeout(t) => {
                    p.timeout = t;
                    return;
                }
            }
        }
    }

    /// Everything waiting on `p`'s socket, then its timers.
    fn step(p: &mut Peer, buf: &mut [u8]) {
        while let Ok((n, source)) = p.socket.recv_from(buf) {
            let input = Input::Receive(
                Instant::now(),
                Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: p.addr,
                    contents: buf[..n].try_into().expect("datagram"),
                },
            );
            p.rtc.handle_input(input).expect("receive");
            drain(p);
        }
        let now = Instant::now();
        if p.timeout <= now {
            p.rtc.handle_input(Input::Timeout(now)).expect("timeout");
            drain(p);
        }
    }

    pub(crate) struct Setup {
        crypto: Arc<str0m::crypto::CryptoProvider>,
    }

    impl Setup {
        pub(crate) fn new() -> Setup {
            Setup {
                crypto: Arc::new(str0m::crypto::from_feature_flags()),
            }
        }

        pub(crate) fn once(&self) -> Duration {
            // Made before timing: the Rtcs (with their certificates) and sockets.
            let (mut a, mut b) = (peer(&self.crypto), peer(&self.crypto));
            let start = Instant::now();
            let mut change = a.rtc.sdp_api();
            change.add_channel("setup".into());
            let (offer, pending) = change.apply().expect("an offer");
            let answer = b.rtc.sdp_api().accept_offer(offer).expect("answer");
            a.rtc
                .sdp_api()
                .accept_answer(pending, answer)
                .expect("accept answer");
            drain(&mut a);
            drain(&mut b);
            let mut buf = vec![0u8; 2048];
            while !(a.open && b.open) {
                step(&mut a, &mut buf);
                step(&mut b, &mut buf);
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "str0m: no channel"
                );
            }
            start.elapsed()
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("setup_offer_to_channel_open");
    g.sample_size(30);
    let ours = ours::Setup::new();
    let str0m = str0m_side::Setup::new();
    let webrtc = webrtc_side::Setup::new();
    g.bench_function("ours/peer_connection", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| ours.once()).sum())
    });
    g.bench_function("str0m", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| str0m.once()).sum())
    });
    g.bench_function("webrtc-rs", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| webrtc.once()).sum())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
