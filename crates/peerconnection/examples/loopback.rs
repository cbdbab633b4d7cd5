//! Two PeerConnections in one process, on 127.0.0.1 only: offer and answer
//! (through SDP text, as a signaling channel would carry them), trickle ICE,
//! DTLS, a data channel and audio and video frames. Prints a timeline and the
//! data channel's throughput, and exits 0 only if everything arrived.
//!
//! ```text
//! cargo run --release -p peerconnection --example loopback
//! cargo run --release -p peerconnection --example loopback -- --megabytes 64
//! ```
//!
//! `RUST_LOG=debug` shows what the layers do.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use peerconnection::media_channels::data::DataChannelInit;
use peerconnection::media_channels::sdp::dtls_transport::controller::PeerConnectionState;
use peerconnection::media_channels::sdp::dtls_transport::ice::network::NetworkFilter;
use peerconnection::media_channels::sdp::dtls_transport::ice::{
    GatheringState, IceConnectionState,
};
use peerconnection::media_channels::sdp::model::{Direction, MediaType};
use peerconnection::media_channels::sdp::{JsepSessionDescription, SdpType};
use peerconnection::peer_connection::{
    PeerConnection, PeerConnectionEvents, PeerConnectionFactory,
};
use peerconnection::session::SessionEvent;
use peerconnection::RtcConfiguration;

/// Data channel message size.
const MESSAGE: usize = 16 * 1024;
/// Most bytes the sender keeps queued (bufferedAmount flow control).
const WINDOW: usize = 1024 * 1024;
/// Audio: 20 ms Opus-sized frames for one second.
const AUDIO_FRAMES: u32 = 50;
/// Video: 25 frames a second for one second, a keyframe first.
const VIDEO_FRAMES: u32 = 25;
/// Everything must have happened by then.
const DEADLINE: Duration = Duration::from_secs(30);

/// What the event tasks report to main.
#[derive(Debug)]
enum Milestone {
    Gathered(&'static str),
    IceConnected(&'static str),
    Connected(&'static str),
    Failed(&'static str, String),
    ChannelOpen(&'static str),
    Received(usize),
    AudioFrame,
    VideoFrame { keyframe: bool },
}

/// Forwards `events`' candidates to `to` (held until `to` has the remote
/// description they belong to: W3C addIceCandidate refuses them before) and
/// its milestones to main.
async fn pump(
    name: &'static str,
    mut events: PeerConnectionEvents,
    to: PeerConnection,
    tx: mpsc::UnboundedSender<Milestone>,
) {
    let mut held = Vec::new();
    let mut retry = tokio::time::interval(Duration::from_millis(5));
    loop {
        let event = tokio::select! {
            event = events.recv() => match event {
                Some(event) => Some(event),
                None => return,
            },
            _ = retry.tick(), if !held.is_empty() => None,
        };
        if !held.is_empty() || matches!(event, Some(SessionEvent::IceCandidate(_))) {
            if let Some(SessionEvent::IceCandidate(candidate)) = &event {
                held.push(candidate.clone());
            }
            if matches!(to.remote_description().await, Ok(Some(_))) {
                for candidate in held.drain(..) {
                    if let Err(e) = to.add_ice_candidate(candidate).await {
                        eprintln!("{name}: candidate refused by the other side: {e}");
                    }
                }
            }
        }
        let milestone = match event {
            None | Some(SessionEvent::IceCandidate(_)) => continue,
            Some(SessionEvent::IceGatheringState(GatheringState::Complete)) => {
                Milestone::Gathered(name)
            }
            Some(SessionEvent::IceConnectionState(IceConnectionState::Connected)) => {
                Milestone::IceConnected(name)
            }
            Some(SessionEvent::ConnectionState(PeerConnectionState::Connected)) => {
                Milestone::Connected(name)
            }
            Some(SessionEvent::ConnectionState(PeerConnectionState::Failed)) => {
                Milestone::Failed(name, "connection failed".into())
            }
            Some(SessionEvent::DataChannelOpen { .. }) => Milestone::ChannelOpen(name),
            Some(SessionEvent::DataChannelMessage { data, .. }) => Milestone::Received(data.len()),
            Some(SessionEvent::DataChannelError { error, .. }) => {
                Milestone::Failed(name, error.to_string())
            }
            Some(SessionEvent::Frame { frame, .. }) if frame.data.len() < 200 => {
                Milestone::AudioFrame
            }
            Some(SessionEvent::Frame { frame, .. }) => Milestone::VideoFrame {
                keyframe: frame.keyframe,
            },
            Some(_) => continue,
        };
        if tx.send(milestone).is_err() {
            return;
        }
    }
}

/// A VP8 frame of `len` bytes: a keyframe's tag and start code, or an
/// interframe's tag, then filler.
fn vp8_frame(keyframe: bool, len: usize) -> Bytes {
    let mut frame = vec![0x5a_u8; len];
    let head: &[u8] = if keyframe {
        &[0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]
    } else {
        &[0x51, 0x2d, 0x01]
    };
    frame[..head.len()].copy_from_slice(head);
    Bytes::from(frame)
}

struct Timeline {
    start: Instant,
}

impl Timeline {
    fn mark(&self, what: &str) {
        println!(
            "{:>9.1} ms  {what}",
            self.start.elapsed().as_secs_f64() * 1e3
        );
    }
}

async fn run(megabytes: usize) -> Result<(), String> {
    let timeline = Timeline {
        start: Instant::now(),
    };
    let factory = PeerConnectionFactory::new()
        .with_network_filter(NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]));
    let err = |e: peerconnection::Error| e.to_string();
    let (a, events_a) = factory
        .create_peer_connection(RtcConfiguration::default())
        .await
        .map_err(err)?;
    let (b, events_b) = factory
        .create_peer_connection(RtcConfiguration::default())
        .await
        .map_err(err)?;
    timeline.mark("two peer connections created (certificates made)");

    let (tx, mut milestones) = mpsc::unbounded_channel();
    tokio::spawn(pump("a", events_a, b.clone(), tx.clone()));
    tokio::spawn(pump("b", events_b, a.clone(), tx));

    let chat = a
        .create_data_channel(DataChannelInit::new("loopback"))
        .await
        .map_err(err)?;
    let audio = a
        .add_transceiver(
            MediaType::Audio,
            Direction::SendOnly,
            "audio",
            &["loopback"],
        )
        .await
        .map_err(err)?;
    let video = a
        .add_transceiver(
            MediaType::Video,
            Direction::SendOnly,
            "video",
            &["loopback"],
        )
        .await
        .map_err(err)?;

    let offer = a.create_offer().await.map_err(err)?;
    a.set_local_description(offer.clone()).await.map_err(err)?;
    let offer = JsepSessionDescription::parse(SdpType::Offer, &offer.to_sdp())
        .map_err(|e| e.to_string())?;
    b.set_remote_description(offer).await.map_err(err)?;
    let answer = b.create_answer().await.map_err(err)?;
    b.set_local_description(answer.clone()).await.map_err(err)?;
    let answer = JsepSessionDescription::parse(SdpType::Answer, &answer.to_sdp())
        .map_err(|e| e.to_string())?;
    a.set_remote_description(answer).await.map_err(err)?;
    timeline.mark("offer/answer done (audio, video, data; BUNDLE)");

    // Wait for both sides' channel ends to open.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut open = 0;
    while open < 2 {
        let m = tokio::time::timeout_at(deadline, milestones.recv())
            .await
            .map_err(|_| "timed out before the data channel opened".to_string())?
            .ok_or("event streams ended")?;
        match m {
            Milestone::Gathered(side) => timeline.mark(&format!("{side}: gathering complete")),
            Milestone::IceConnected(side) => timeline.mark(&format!("{side}: ICE connected")),
            Milestone::Connected(side) => timeline.mark(&format!("{side}: DTLS connected")),
            Milestone::ChannelOpen(side) => {
                open += 1;
                timeline.mark(&format!("{side}: data channel open"));
            }
            Milestone::Failed(side, why) => return Err(format!("{side}: {why}")),
            _ => {}
        }
    }

    // Media: one second of audio and video from a to b, paced in real time.
    let media = {
        let a = a.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            for i in 0..AUDIO_FRAMES {
                tick.tick().await;
                let opus = Bytes::from(vec![0xfc, i as u8, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
                a.send_frame(audio, i * 960, opus).await?;
                if i % 2 == 0 {
                    let n = i / 2;
                    a.send_frame(video, n * 3600, vp8_frame(n == 0, 4000))
                        .await?;
                }
            }
            Ok::<(), peerconnection::Error>(())
        })
    };

    // Data: `megabytes` MiB in 16 KiB messages, at most WINDOW queued.
    let total = megabytes * 1024 * 1024;
    let message = Bytes::from(vec![0xab_u8; MESSAGE]);
    let started = Instant::now();
    let sender = {
        let a = a.clone();
        tokio::spawn(async move {
            let mut sent = 0;
            while sent < total {
                // One round trip for the room in the window, then messages
                // queued without waiting for each (W3C's synchronous send).
                let room = WINDOW.saturating_sub(a.buffered_amount(chat).await?);
                if room < MESSAGE {
                    tokio::time::sleep(Duration::from_micros(200)).await;
                    continue;
                }
                for _ in 0..room / MESSAGE {
                    if sent >= total {
                        break;
                    }
                    a.queue_data(chat, message.clone(), true).await?;
                    sent += MESSAGE;
                }
            }
            Ok::<(), peerconnection::Error>(())
        })
    };
    let (mut received, mut audio_frames, mut video_frames, mut keyframes) = (0, 0, 0, 0);
    let (mut first_audio, mut first_video) = (false, false);
    while received < total
        || audio_frames < AUDIO_FRAMES * 9 / 10
        || video_frames < VIDEO_FRAMES * 9 / 10
    {
        let m = tokio::time::timeout_at(deadline, milestones.recv())
            .await
            .map_err(|_| {
                format!(
                    "timed out: {received} of {total} bytes, {audio_frames} audio and {video_frames} video frames"
                )
            })?
            .ok_or("event streams ended")?;
        match m {
            Milestone::Received(n) => {
                received += n;
                if received == total {
                    let secs = started.elapsed().as_secs_f64();
                    timeline.mark(&format!(
                        "b: {megabytes} MiB received on the data channel in {:.0} ms: {:.0} MiB/s ({:.2} Gbit/s)",
                        secs * 1e3,
                        megabytes as f64 / secs,
                        total as f64 * 8.0 / secs / 1e9
                    ));
                }
            }
            Milestone::AudioFrame => {
                audio_frames += 1;
                if !std::mem::replace(&mut first_audio, true) {
                    timeline.mark("b: first audio frame");
                }
            }
            Milestone::VideoFrame { keyframe } => {
                video_frames += 1;
                keyframes += u32::from(keyframe);
                if !std::mem::replace(&mut first_video, true) {
                    timeline.mark(&format!("b: first video frame (keyframe: {keyframe})"));
                }
            }
            Milestone::Failed(side, why) => return Err(format!("{side}: {why}")),
            _ => {}
        }
    }
    sender.await.map_err(|e| e.to_string())?.map_err(err)?;
    media.await.map_err(|e| e.to_string())?.map_err(err)?;
    // The last frames are still on their way: wait for them (or 500 ms).
    let settle = tokio::time::Instant::now() + Duration::from_millis(500);
    while audio_frames < AUDIO_FRAMES || video_frames < VIDEO_FRAMES {
        match tokio::time::timeout_at(settle, milestones.recv()).await {
            Ok(Some(Milestone::AudioFrame)) => audio_frames += 1,
            Ok(Some(Milestone::VideoFrame { keyframe })) => {
                video_frames += 1;
                keyframes += u32::from(keyframe);
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    timeline.mark(&format!(
        "b: {audio_frames}/{AUDIO_FRAMES} audio and {video_frames}/{VIDEO_FRAMES} video frames ({keyframes} keyframe)"
    ));
    if received != total {
        return Err(format!("{received} bytes arrived, {total} sent"));
    }

    let stats = a.get_stats().await.map_err(err)?;
    let pair = stats
        .iter()
        .find_map(|s| match s {
            peerconnection::RtcStats::CandidatePair(p) => Some(p.clone()),
            _ => None,
        })
        .ok_or("no selected candidate pair in getStats")?;
    timeline.mark(&format!(
        "a: selected pair {} <-> {}, rtt {:.2} ms",
        pair.local_candidate_id,
        pair.remote_candidate_id,
        pair.current_round_trip_time.unwrap_or_default() * 1e3
    ));
    a.close().await;
    b.close().await;
    timeline.mark("closed");
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let mut megabytes = 32;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().and_then(|v| v.parse().ok())) {
            ("--megabytes", Some(n)) if n > 0 => megabytes = n,
            _ => {
                eprintln!("usage: loopback [--megabytes N]");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(megabytes)) {
        Ok(()) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loopback failed: {e}");
            ExitCode::FAILURE
        }
    }
}
