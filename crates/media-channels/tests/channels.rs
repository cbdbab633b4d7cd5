//! Two sessions' ChannelManagers connected through an in-memory, lossy
//! link on virtual time: BUNDLE demultiplexing of three channels, VP8
//! frames recovered by NACK and RTX under loss, Opus frames, RTCP reports
//! measuring the round trip, and keyframe requests both ways.
//!
//! The descriptions are written by hand as the sdp crate's factories would
//! negotiate them (both sides agree on payload types and extension ids).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use media_channels::base_channel::{BaseChannel, ChannelConfig, ChannelEvent};
use media_channels::channel_manager::{ChannelId, ChannelManager, TransportEvent};
use media_channels::congestion::GoogCcConfig;
use media_channels::rtcp::{CompoundWriter, Pli, ReceiverReportBuilder, RembBuilder};
use media_channels::rtp::stats::NtpTime;
use media_channels::rtp::RtpPacket;
use media_channels::Error;
use sdp::model::{
    Codec, Direction, HeaderExtension, MediaContentDescription, MediaType, Rid, RidDirection,
    RtcpFeedback, Simulcast, SimulcastLayer, SsrcAttribute, SsrcGroup,
};

const TRANSPORT: u8 = 0;

fn extmap(id: u16, uri: &str) -> HeaderExtension {
    HeaderExtension {
        id,
        uri: uri.into(),
        direction: None,
        attributes: None,
    }
}

fn ssrc_lines(m: &mut MediaContentDescription, ssrc: u32, rtx: Option<u32>, cname: &str) {
    for s in std::iter::once(ssrc).chain(rtx) {
        m.ssrcs.push(SsrcAttribute {
            ssrc: s,
            name: "cname".into(),
            value: Some(cname.into()),
        });
    }
    if let Some(rtx) = rtx {
        m.ssrc_groups.push(SsrcGroup {
            semantics: "FID".into(),
            ssrcs: vec![ssrc, rtx],
        });
    }
}

fn common(m: &mut MediaContentDescription) {
    m.header_extensions = vec![
        extmap(4, "urn:ietf:params:rtp-hdrext:sdes:mid"),
        extmap(
            2,
            "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        ),
        extmap(
            3,
            "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        ),
    ];
    m.rtcp_mux = true;
    m.rtcp_rsize = true;
    m.direction = Direction::SendRecv;
}

fn video(ssrc: u32, rtx: u32, cname: &str) -> MediaContentDescription {
    let mut m = MediaContentDescription::new_rtp(MediaType::Video);
    m.codecs = vec![
        Codec::new(96, "VP8", 90_000, None)
            .with_feedback("nack", None)
            .with_feedback("nack", Some("pli"))
            .with_feedback("ccm", Some("fir")),
        Codec::new(97, "rtx", 90_000, None).with_param("apt", "96"),
    ];
    m.wildcard_feedback = vec![RtcpFeedback::new("transport-cc", None)];
    common(&mut m);
    ssrc_lines(&mut m, ssrc, Some(rtx), cname);
    m
}

fn audio(ssrc: u32, cname: &str) -> MediaContentDescription {
    let mut m = MediaContentDescription::new_rtp(MediaType::Audio);
    m.codecs = vec![Codec::new(111, "opus", 48_000, Some(2))];
    common(&mut m);
    ssrc_lines(&mut m, ssrc, None, cname);
    m
}

/// One side: its manager and its channels by MID.
struct Side {
    manager: ChannelManager<u8>,
    ids: Vec<(String, ChannelId)>,
    frames: Vec<(String, ChannelEvent)>,
    events: Vec<(String, ChannelEvent)>,
    targets: Vec<u64>,
}

impl Side {
    fn id(&self, mid: &str) -> ChannelId {
        self.ids.iter().find(|(m, _)| m == mid).unwrap().1
    }

    fn channel(&mut self, mid: &str) -> &mut BaseChannel {
        let id = self.id(mid);
        self.manager.channel_mut(id).unwrap()
    }

    fn drain_events(&mut self) {
        while let Some((_, event)) = self.manager.poll_transport_event() {
            if let TransportEvent::TargetBitrate { bitrate_bps, .. } = event {
                self.targets.push(bitrate_bps);
            }
        }
        while let Some((id, event)) = self.manager.poll_event() {
            let mid = self
                .ids
                .iter()
                .find(|(_, i)| *i == id)
                .map(|(m, _)| m.clone())
                .unwrap();
            match event {
                ChannelEvent::Frame { .. } => self.frames.push((mid, event)),
                other => self.events.push((mid, other)),
            }
        }
    }

    fn frames_of(&self, mid: &str) -> Vec<Bytes> {
        self.frames
            .iter()
            .filter(|(m, _)| m == mid)
            .map(|(_, e)| match e {
                ChannelEvent::Frame { frame, .. } => frame.data.clone(),
                _ => unreachable!(),
            })
            .collect()
    }
}

/// (mid, local description, remote description) per channel.
type Sections = Vec<(
    &'static str,
    MediaContentDescription,
    MediaContentDescription,
)>;

fn side(start: Instant, seed: u64, history: usize, sections: Sections) -> Side {
    let mut manager = ChannelManager::new();
    let mut ids = Vec::new();
    for (mid, local, remote) in sections {
        let mut config = ChannelConfig::new(
            start,
            NtpTime::from_unix(Duration::from_secs(1_700_000_000)),
        );
        config.seed = seed ^ ids.len() as u64;
        config.history = history;
        let mut channel = BaseChannel::new(mid, local.media_type.clone(), config);
        channel.set_local_content(&local).unwrap();
        channel.set_remote_content(&remote).unwrap();
        let id = manager.add_channel(TRANSPORT, channel);
        assert!(manager.update_demuxer(id));
        ids.push((mid.to_string(), id));
    }
    // Rates above what the three streams send (about 1.6 Mbit/s), so the
    // pacer never holds them back here: the application in this test does
    // not follow the target (congestion control has its own tests).
    manager.set_congestion_config(GoogCcConfig {
        start_bitrate_bps: 5_000_000,
        min_bitrate_bps: 4_000_000,
        ..GoogCcConfig::default()
    });
    manager.set_writable(start, TRANSPORT, true);
    Side {
        manager,
        ids,
        frames: Vec::new(),
        events: Vec::new(),
        targets: Vec::new(),
    }
}

/// A one-way link with a fixed delay and seeded loss.
struct Link {
    delay: Duration,
    loss_percent: u64,
    rng: u64,
    queue: VecDeque<(Instant, bool, Bytes)>,
    sent: u64,
    dropped: u64,
}

impl Link {
    fn new(delay: Duration, loss_percent: u64, seed: u64) -> Link {
        Link {
            delay,
            loss_percent,
            rng: seed,
            queue: VecDeque::new(),
            sent: 0,
            dropped: 0,
        }
    }

    fn send(&mut self, now: Instant, rtcp: bool, data: Bytes) {
        self.sent += 1;
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        if self.rng % 100 < self.loss_percent {
            self.dropped += 1;
            return;
        }
        self.queue.push_back((now + self.delay, rtcp, data));
    }
}

/// Moves packets both ways and runs timers until `until`.
fn run(
    a: &mut Side,
    b: &mut Side,
    ab: &mut Link,
    ba: &mut Link,
    now: &mut Instant,
    until: Instant,
) {
    loop {
        for (side, link) in [(&mut *a, &mut *ab), (&mut *b, &mut *ba)] {
            while let Some((_, p)) = side.manager.poll_transmit(*now) {
                link.send(*now, p.rtcp, p.data);
            }
        }
        for (link, to) in [(&mut *ab, &mut *b), (&mut *ba, &mut *a)] {
            while link.queue.front().is_some_and(|(t, _, _)| *t <= *now) {
                let (_, rtcp, data) = link.queue.pop_front().unwrap();
                if rtcp {
                    to.manager.handle_rtcp(*now, TRANSPORT, &data);
                } else {
                    to.manager.handle_rtp(*now, TRANSPORT, data);
                }
            }
            to.drain_events();
        }
        for side in [&mut *a, &mut *b] {
            side.manager.handle_timeout(*now);
            side.drain_events();
        }
        // What the timers and the packets produced leaves now, not at the next step.
        for (side, link) in [(&mut *a, &mut *ab), (&mut *b, &mut *ba)] {
            while let Some((_, p)) = side.manager.poll_transmit(*now) {
                link.send(*now, p.rtcp, p.data);
            }
        }
        let next = [
            a.manager.poll_timeout(),
            b.manager.poll_timeout(),
            ab.queue.front().map(|(t, _, _)| *t),
            ba.queue.front().map(|(t, _, _)| *t),
        ]
        .into_iter()
        .flatten()
        .filter(|t| *t > *now)
        .min();
        match next {
            Some(t) if t <= until => *now = t,
            _ => {
                *now = until;
                return;
            }
        }
    }
}

/// The frames are the same (without printing kilobytes of them when not).
fn assert_same_frames(got: &[Bytes], sent: &[Bytes]) {
    let first_difference = got.iter().zip(sent).position(|(g, s)| g != s);
    assert!(
        got.len() == sent.len() && first_difference.is_none(),
        "{} frames received, {} sent, first difference at {first_difference:?}",
        got.len(),
        sent.len()
    );
}

/// A pseudo-random VP8 frame: keyframes have the P bit (bit 0 of byte 0) clear.
fn vp8_frame(n: u64, keyframe: bool) -> Bytes {
    let len = 300 + (n * 7919 % 4000) as usize;
    let mut f: Vec<u8> = (0..len).map(|i| (i as u64 * 31 + n) as u8).collect();
    f[0] = if keyframe { 0x10 } else { 0x11 };
    Bytes::from(f)
}

fn pair(start: Instant, history: usize) -> (Side, Side) {
    let a = side(
        start,
        1,
        history,
        vec![
            ("0", audio(1111, "a"), audio(2111, "b")),
            ("1", video(1000, 1001, "a"), video(2000, 2001, "b")),
            ("2", video(1200, 1201, "a"), video(2200, 2201, "b")),
        ],
    );
    let b = side(
        start,
        2,
        history,
        vec![
            ("0", audio(2111, "b"), audio(1111, "a")),
            ("1", video(2000, 2001, "b"), video(1000, 1001, "a")),
            ("2", video(2200, 2201, "b"), video(1200, 1201, "a")),
        ],
    );
    (a, b)
}

#[test]
fn bundle_demuxes_three_channels_and_nack_rtx_recover_losses() {
    let start = Instant::now();
    let mut now = start;
    let (mut a, mut b) = pair(start, 600);
    let mut ab = Link::new(Duration::from_millis(10), 5, 0x1234_5678);
    let mut ba = Link::new(Duration::from_millis(10), 5, 0x8765_4321);
    let mut sent_video = Vec::new();
    let mut sent_video2 = Vec::new();
    let mut sent_audio = Vec::new();
    for n in 0..150u64 {
        let keyframe = n % 50 == 0;
        let f = vp8_frame(n, keyframe);
        let ts = (n * 3000) as u32;
        a.channel("1").send_frame(now, ts, &f).unwrap();
        sent_video.push(f);
        let g = vp8_frame(n + 1000, keyframe);
        a.channel("2").send_frame(now, ts, &g).unwrap();
        sent_video2.push(g);
        let opus = Bytes::from(vec![0xfc, n as u8, 1, 2, 3]);
        a.channel("0")
            .send_frame(now, (n * 960) as u32, &opus)
            .unwrap();
        sent_audio.push(opus);
        let until = now + Duration::from_millis(33);
        run(&mut a, &mut b, &mut ab, &mut ba, &mut now, until);
    }
    // Let retransmissions and the last frames arrive.
    let until = now + Duration::from_secs(2);
    run(&mut a, &mut b, &mut ab, &mut ba, &mut now, until);

    assert!(
        ab.dropped > 20,
        "the link lost packets ({} of {})",
        ab.dropped,
        ab.sent
    );
    // Every video frame arrives, identical and in order, on the right channel,
    // though one packet in twenty was lost: NACK and RTX recovered them.
    assert_same_frames(&b.frames_of("1"), &sent_video);
    assert_same_frames(&b.frames_of("2"), &sent_video2);
    let video = a.channel("1").send_counters().unwrap();
    assert!(video.retransmitted_packets > 0);
    assert!(video.nacks_received > 0);
    let received = b.channel("1").receive_counters(1000).unwrap();
    assert!(received.recovered > 0, "{received:?}");
    assert_eq!((received.frames, received.keyframes), (150, 3));
    assert_eq!(video.frames, 150);
    assert_eq!(b.channel("1").frames_dropped(1000), Some(0));
    // Audio has no NACK: some frames are lost for good; the rest arrive, in order.
    let audio = b.frames_of("0");
    assert!(
        audio.len() > 120 && audio.len() < 150,
        "{} audio frames",
        audio.len()
    );
    let mut expected = sent_audio.iter();
    for f in &audio {
        assert!(expected.any(|e| e == f), "audio frames in order, unaltered");
    }
    assert_eq!(b.manager.dropped_rtp(), 0, "nothing unroutable");
    // Transport-wide congestion control ran: B's feedback reached A's
    // controller, whose target moved from the start rate.
    assert!(
        !a.targets.is_empty(),
        "no target from A's congestion controller"
    );
    assert!(a.manager.target_bitrate(TRANSPORT).is_some());
    assert_eq!(a.manager.pacer_drops(), 0);
    // SR from A, RR back from B: A knows the round trip (2 × 10 ms).
    let rtt = a.channel("1").rtt().expect("round-trip time measured");
    assert!(
        rtt >= Duration::from_millis(19) && rtt <= Duration::from_millis(25),
        "{rtt:?}"
    );
}

#[test]
fn keyframe_requests_reach_the_sender() {
    let start = Instant::now();
    let mut now = start;
    let (mut a, mut b) = pair(start, 600);
    let mut ab = Link::new(Duration::from_millis(5), 0, 1);
    let mut ba = Link::new(Duration::from_millis(5), 0, 2);
    a.channel("1")
        .send_frame(now, 0, &vp8_frame(0, true))
        .unwrap();
    let until = now + Duration::from_millis(50);
    run(&mut a, &mut b, &mut ab, &mut ba, &mut now, until);
    b.channel("1").request_keyframe(now);
    let until = now + Duration::from_millis(50);
    run(&mut a, &mut b, &mut ab, &mut ba, &mut now, until);
    assert!(a
        .events
        .iter()
        .any(|(mid, e)| mid == "1" && *e == ChannelEvent::KeyframeRequested { ssrc: 1000 }));
    assert_eq!(a.channel("1").send_counters().unwrap().plis_received, 1);
}

#[test]
fn frames_lost_beyond_retransmission_are_skipped_and_a_keyframe_asked_for() {
    let start = Instant::now();
    let mut now = start;
    // Everything from A is lost for 100 ms, and A keeps no history to
    // retransmit from: the receiver waits, gives up on the gap and asks.
    let (mut a, mut b) = pair(start, 0);
    let mut ab = Link::new(Duration::from_millis(5), 0, 1);
    let mut ba = Link::new(Duration::from_millis(5), 0, 2);
    a.channel("1")
        .send_frame(now, 0, &vp8_frame(0, true))
        .unwrap();
    let until = now + Duration::from_millis(33);
    run(&mut a, &mut b, &mut ab, &mut ba, &mut now, until);
    ab.loss_percent = 100;
    for n in 1..4u64 {
        a.channel("1")
            .send_frame(now, (n * 3000) as u32, &vp8_frame(n, false))
            .unwrap();
        let until = now + Duration::from_millis(33);
        run(&mut a, &mut b, &mut ab, &mut ba, &mut now, until);
    }
    ab.loss_percent = 0;
    // Delta frames after the gap: the receiver cannot decode them and asks.
    for n in 4..20u64 {
        let keyframe = a
            .events
            .iter()
            .any(|(_, e)| matches!(e, ChannelEvent::KeyframeRequested { .. }));
        a.channel("1")
            .send_frame(now, (n * 3000) as u32, &vp8_frame(n, keyframe && n >= 10))
            .unwrap();
        let until = now + Duration::from_millis(33);
        run(&mut a, &mut b, &mut ab, &mut ba, &mut now, until);
    }
    assert!(
        a.events
            .iter()
            .any(|(_, e)| matches!(e, ChannelEvent::KeyframeRequested { ssrc: 1000 })),
        "the receiver asked for a keyframe"
    );
    let frames: Vec<(bool, bool)> = b
        .frames
        .iter()
        .filter(|(m, _)| m == "1")
        .map(|(_, e)| match e {
            ChannelEvent::Frame { frame, .. } => (frame.keyframe, frame.after_loss),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(frames.first(), Some(&(true, false)));
    assert!(
        frames.iter().any(|&(_, after_loss)| after_loss),
        "{frames:?}"
    );
}

/// A VP8 section with RID simulcast (RFC 8853) and no SSRCs: `rids` sent
/// (`sends`) or received, with the rid header extension.
fn simulcast_video(rids: &[&str], sends: bool) -> MediaContentDescription {
    let mut m = video(0, 0, "-");
    m.ssrcs.clear();
    m.ssrc_groups.clear();
    m.header_extensions
        .push(extmap(5, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"));
    m.direction = if sends {
        Direction::SendOnly
    } else {
        Direction::RecvOnly
    };
    let direction = if sends {
        RidDirection::Send
    } else {
        RidDirection::Recv
    };
    m.rids = rids
        .iter()
        .map(|r| Rid {
            id: (*r).into(),
            direction,
            restrictions: None,
        })
        .collect();
    let list: Vec<Vec<SimulcastLayer>> = rids
        .iter()
        .map(|r| {
            vec![SimulcastLayer {
                rid: (*r).into(),
                paused: false,
            }]
        })
        .collect();
    m.simulcast = Some(if sends {
        Simulcast {
            send: list,
            recv: Vec::new(),
        }
    } else {
        Simulcast {
            send: Vec::new(),
            recv: list,
        }
    });
    m
}

/// Send-side RID simulcast: each layer the peer receives is its own RTP
/// stream (own SSRC, rid extension), frames of every layer arrive intact and
/// apart under 3 % loss (NACKs answered per layer), every layer gets SRs,
/// and a layer the peer does not receive is refused.
#[test]
fn rid_simulcast_layers_are_sent_as_separate_streams() {
    let start = Instant::now();
    let mut now = start;
    // We offer three layers; the peer receives two of them.
    let mut a = side(
        start,
        11,
        600,
        vec![(
            "0",
            simulcast_video(&["q", "h", "f"], true),
            simulcast_video(&["q", "f"], false),
        )],
    );
    let mut b = side(
        start,
        12,
        600,
        vec![(
            "0",
            simulcast_video(&["q", "f"], false),
            simulcast_video(&["q", "h", "f"], true),
        )],
    );
    let layers: Vec<(Option<String>, u32)> = a
        .channel("0")
        .send_layers()
        .map(|(r, s)| (r.map(str::to_owned), s))
        .collect();
    assert_eq!(
        layers.iter().map(|(r, _)| r.as_deref()).collect::<Vec<_>>(),
        [Some("q"), Some("f")]
    );
    assert_ne!(layers[0].1, layers[1].1, "one SSRC per layer");
    assert_eq!(
        a.channel("0").send_frame_on_layer(now, "h", 0, b"x"),
        Err(Error::UnknownSimulcastLayer)
    );

    // On the wire: each layer's packets carry its SSRC, the MID and the rid.
    for (rid, ssrc) in &layers {
        let rid = rid.as_deref().unwrap();
        a.channel("0")
            .send_frame_on_layer(now, rid, 0, &vp8_frame(0, true))
            .unwrap();
        let (_, p) = a.manager.poll_transmit(now).expect("a packet");
        let packet = RtpPacket::parse(&p.data).unwrap();
        assert_eq!(packet.ssrc(), *ssrc);
        let ext: Vec<(u8, Vec<u8>)> = packet
            .extensions()
            .map(|e| (e.id, e.data.to_vec()))
            .collect();
        assert!(ext.contains(&(4, b"0".to_vec())), "mid: {ext:?}");
        assert!(ext.contains(&(5, rid.as_bytes().to_vec())), "rid: {ext:?}");
        while a.manager.poll_transmit(now).is_some() {}
    }
    // (Those frames never reached the peer: start its layers afresh with a keyframe.)
    let mut ab = Link::new(Duration::from_millis(20), 3, 7);
    let mut ba = Link::new(Duration::from_millis(20), 0, 8);
    let mut sent: Vec<Vec<Bytes>> = vec![Vec::new(); 2];
    for n in 0..150u64 {
        for (i, rid) in ["q", "f"].iter().enumerate() {
            // Layers of one picture share the timestamp; contents differ.
            let frame = vp8_frame(n * 2 + i as u64, n % 50 == 0);
            a.channel("0")
                .send_frame_on_layer(now, rid, (n * 3000) as u32, &frame)
                .unwrap();
            sent[i].push(frame);
        }
        let next = now + Duration::from_millis(33);
        run(&mut a, &mut b, &mut ab, &mut ba, &mut now, next);
    }
    let end = now + Duration::from_secs(2);
    run(&mut a, &mut b, &mut ab, &mut ba, &mut now, end);
    assert!(ab.dropped > 0, "the link lost packets");
    for (i, (rid, ssrc)) in layers.iter().enumerate() {
        let got: Vec<Bytes> = b
            .frames
            .iter()
            .filter_map(|(_, e)| match e {
                ChannelEvent::Frame { ssrc: s, frame, .. } if s == ssrc => Some(frame.data.clone()),
                _ => None,
            })
            .collect();
        assert_same_frames(&got, &sent[i]);
        let counters = a.channel("0").send_counters_of(*ssrc).unwrap();
        assert_eq!(counters.frames, 151, "{rid:?}");
        assert!(
            b.channel("0").receive_counters(*ssrc).is_some(),
            "the peer receives {rid:?} on its own SSRC"
        );
    }
    // Every layer sent its own SRs: the peer can map each layer's RTP time.
    for (rid, ssrc) in &layers {
        assert!(
            b.channel("0").receive_sender_report(*ssrc).is_some(),
            "an SR for {rid:?}"
        );
    }
}

/// RTCP is routed by SSRC: feedback about one of our streams reaches the
/// channel sending it and no other (a REMB naming one stream is one event,
/// not one per channel); a compound naming nobody's SSRC reaches nobody.
#[test]
fn rtcp_goes_to_the_channel_owning_the_ssrc() {
    let start = Instant::now();
    let (mut a, _b) = pair(start, 600);
    let rtcp = |packets: &dyn Fn(&mut CompoundWriter<'_>)| {
        let mut buf = vec![0u8; 1200];
        let mut w = CompoundWriter::new(&mut buf);
        w.push(&ReceiverReportBuilder {
            ssrc: 2000,
            report_blocks: &[],
            extension: &[],
        })
        .unwrap();
        packets(&mut w);
        let n = w.finish();
        buf.truncate(n);
        buf
    };
    // A's video "2" sends SSRC 1200: a REMB about it, and a PLI.
    let compound = rtcp(&|w| {
        w.push(&RembBuilder {
            sender_ssrc: 2000,
            bitrate_bps: 1_000_000,
            ssrcs: &[1200],
        })
        .unwrap();
        w.push(&Pli {
            sender_ssrc: 2000,
            media_ssrc: 1200,
        })
        .unwrap();
    });
    a.manager.handle_rtcp(start, TRANSPORT, &compound);
    a.drain_events();
    let remb: Vec<&str> = a
        .events
        .iter()
        .filter(|(_, e)| matches!(e, ChannelEvent::Remb { .. }))
        .map(|(m, _)| m.as_str())
        .collect();
    assert_eq!(remb, ["2"], "one REMB event, on the channel sending 1200");
    let keyframes: Vec<&str> = a
        .events
        .iter()
        .filter(|(_, e)| matches!(e, ChannelEvent::KeyframeRequested { .. }))
        .map(|(m, _)| m.as_str())
        .collect();
    assert_eq!(keyframes, ["2"]);
    // Nobody's SSRC: nobody hears of it.
    a.events.clear();
    let compound = rtcp(&|w| {
        w.push(&Pli {
            sender_ssrc: 2000,
            media_ssrc: 4242,
        })
        .unwrap();
        w.push(&RembBuilder {
            sender_ssrc: 2000,
            bitrate_bps: 1_000_000,
            ssrcs: &[4242],
        })
        .unwrap();
    });
    a.manager.handle_rtcp(start, TRANSPORT, &compound);
    a.drain_events();
    assert!(a.events.is_empty(), "{:?}", a.events);
}
