//! The media receive path per packet, on one core: SRTP unprotect in the
//! datagram's buffer (`TransportController::handle_receive_in_place`), then
//! `ChannelManager::handle_rtp` (RTP parse, BUNDLE demux, sequence/loss/jitter
//! statistics and NACK bookkeeping, the jitter buffer and VP8
//! depacketization into whole frames). 1,200-byte packets carrying VP8 frames
//! of about 4,000 bytes (four packets each), as a BaseChannel packetized them;
//! the plain packet is split off a receive pool as the tokio driver does.
//!
//! `cargo bench -p peerstack-benches --bench media`

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use media_channels::base_channel::{BaseChannel, ChannelConfig, ChannelEvent};
use media_channels::channel_manager::ChannelManager;
use media_channels::rtp::stats::NtpTime;
use sdp::model::{
    Codec, Direction, HeaderExtension, MediaContentDescription, MediaType, SsrcAttribute, SsrcGroup,
};

// The harness's per-packet helpers are for the controller bench and tests.
#[allow(dead_code)]
#[path = "../tests/common/controller_pair.rs"]
mod controller_pair;
use controller_pair::connected_pair;

/// A video section as the sdp factory negotiates it: VP8 with RTX, NACK and
/// PLI, the MID and transport-wide sequence extensions, our SSRCs.
fn video(ssrc: u32, rtx: u32) -> MediaContentDescription {
    let mut m = MediaContentDescription::new_rtp(MediaType::Video);
    m.codecs = vec![
        Codec::new(96, "VP8", 90_000, None)
            .with_feedback("nack", None)
            .with_feedback("nack", Some("pli")),
        Codec::new(97, "rtx", 90_000, None).with_param("apt", "96"),
    ];
    for (id, uri) in [
        (4, "urn:ietf:params:rtp-hdrext:sdes:mid"),
        (
            3,
            "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        ),
    ] {
        m.header_extensions.push(HeaderExtension {
            id,
            uri: uri.into(),
            direction: None,
            attributes: None,
        });
    }
    for s in [ssrc, rtx] {
        m.ssrcs.push(SsrcAttribute {
            ssrc: s,
            name: "cname".into(),
            value: Some("bench".into()),
        });
    }
    m.ssrc_groups.push(SsrcGroup {
        semantics: "FID".into(),
        ssrcs: vec![ssrc, rtx],
    });
    m.rtcp_mux = true;
    m.direction = Direction::SendRecv;
    m
}

fn channel(local: &MediaContentDescription, remote: &MediaContentDescription) -> BaseChannel {
    let now = Instant::now();
    let mut c = BaseChannel::new(
        "0",
        MediaType::Video,
        ChannelConfig::new(now, NtpTime(1 << 40)),
    );
    c.set_local_content(local).expect("local");
    c.set_remote_content(remote).expect("remote");
    c.set_writable(now, true);
    c
}

fn bench_receive_path(c: &mut Criterion) {
    let (mut a, mut b) = connected_pair();
    let (ours, theirs) = (video(1000, 1001), video(2000, 2001));
    let mut sender = channel(&ours, &theirs);
    let mut manager = ChannelManager::new();
    let id = manager.add_channel((), channel(&theirs, &ours));
    assert!(manager.update_demuxer(id));

    let frame: Vec<u8> = (0..4000u32).map(|i| (i * 7) as u8).collect();
    let mut timestamp = 0u32;
    let mut out = vec![0u8; 1600];
    // Eight frames from the sender, protected by A: (destination, source, datagram).
    let mut batch = || {
        let now = Instant::now();
        let mut datagrams = Vec::new();
        for k in 0..8 {
            let mut f = frame.clone();
            f[0] = if k == 0 { 0x10 } else { 0x11 };
            timestamp = timestamp.wrapping_add(3000);
            sender.send_frame(now, timestamp, &f).expect("send");
        }
        while let Some(p) = sender.poll_transmit() {
            if p.rtcp {
                continue;
            }
            let to =
                a.c.send_rtp_into(now, a.id, false, &p.data, &mut out)
                    .expect("protect")
                    .expect("direct route");
            datagrams.push((to.destination, to.source, to.datagram(&out).to_vec()));
        }
        datagrams
    };
    let packets = batch().len() as u64;
    let mut pool = BytesMut::new();
    let mut g = c.benchmark_group("media_receive_path");
    g.throughput(Throughput::Elements(packets));
    g.bench_function("srtp_demux_jitter_buffer_vp8", |bench| {
        bench.iter_batched(
            &mut batch,
            |datagrams| {
                let now = Instant::now();
                let mut frames = 0;
                for (dst, src, d) in datagrams {
                    if pool.capacity() < d.len() {
                        pool.reserve(256 * 1024);
                    }
                    pool.extend_from_slice(&d);
                    let mut buf = pool.split();
                    let media =
                        b.c.handle_receive_in_place(now, b.id, 1, dst, src, &mut buf)
                            .expect("unprotect")
                            .expect("media");
                    manager.handle_rtp(now, (), buf.freeze().slice(media.range));
                    while let Some((_, e)) = manager.poll_event() {
                        if let ChannelEvent::Frame { frame, .. } = e {
                            frames += usize::from(!black_box(frame.data).is_empty());
                        }
                    }
                }
                assert_eq!(frames, 8, "every frame reassembled");
                frames
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_receive_path);
criterion_main!(benches);
