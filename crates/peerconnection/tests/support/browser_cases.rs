//! The PeerConnection's browser interop cases, shared by `tests/chromium.rs` and
//! `tests/firefox.rs` (each declares the harness as `mod browser` and includes
//! this file as `mod cases`): the browser offers and we echo, and we offer and
//! the browser answers. See those files for what runs them.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::browser::{binary_pattern, BrowserPeer, Media};
use bytes::Bytes;
use peerconnection::media_channels::data::DataChannelInit;
use peerconnection::media_channels::sdp::dtls_transport::ice::network::NetworkFilter;
use peerconnection::media_channels::sdp::dtls_transport::ice::GatheringState;
use peerconnection::media_channels::sdp::model::{Direction, MediaType};
use peerconnection::media_channels::sdp::{JsepSessionDescription, SdpType};
use peerconnection::peer_connection::{
    PeerConnection, PeerConnectionEvents, PeerConnectionFactory,
};
use peerconnection::session::{DataChannelId, SessionEvent, TransceiverId};
use peerconnection::RtcConfiguration;
use serde_json::json;
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(20);

/// Sizes of the binary messages the browser sends: empty up to 64 KiB.
const BINARY_SIZES: [usize; 5] = [0, 1, 1000, 16 * 1024, 64 * 1024];

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn factory() -> PeerConnectionFactory {
    PeerConnectionFactory::new()
        .with_network_filter(NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]))
}

/// What our side saw, for the assertions.
#[derive(Debug, Default, Clone)]
struct Seen {
    gathered: bool,
    channels: Vec<(DataChannelId, String, bool)>,
    messages: Vec<(String, bool, Bytes)>,
    frames: Vec<(TransceiverId, bool)>,
    echo_errors: Vec<String>,
}

/// Drives our events: records them and, when `echo`, sends every message and frame back.
fn watch_events(
    rt: &tokio::runtime::Runtime,
    mut events: PeerConnectionEvents,
    pc: PeerConnection,
    echo: bool,
) -> (Arc<Mutex<Seen>>, watch::Receiver<u64>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (changed, rx) = watch::channel(0u64);
    let s = seen.clone();
    rt.spawn(async move {
        let mut n = 0;
        while let Some(event) = events.recv().await {
            match event {
                SessionEvent::IceGatheringState(GatheringState::Complete) => {
                    s.lock().unwrap().gathered = true
                }
                SessionEvent::DataChannelOpen {
                    channel,
                    label,
                    remote,
                    ..
                } => s.lock().unwrap().channels.push((channel, label, remote)),
                SessionEvent::DataChannelMessage {
                    channel,
                    binary,
                    data,
                } => {
                    let label = {
                        let seen = s.lock().unwrap();
                        seen.channels
                            .iter()
                            .find(|(c, _, _)| *c == channel)
                            .map(|(_, l, _)| l.clone())
                            .unwrap_or_default()
                    };
                    s.lock()
                        .unwrap()
                        .messages
                        .push((label, binary, data.clone()));
                    if echo {
                        if let Err(e) = pc.send_data(channel, data, binary).await {
                            s.lock().unwrap().echo_errors.push(e.to_string());
                        }
                    }
                }
                SessionEvent::Frame {
                    transceiver, frame, ..
                } => {
                    s.lock().unwrap().frames.push((transceiver, frame.keyframe));
                    if echo {
                        // The first frames may come before our stream may send: not an error.
                        let _ = pc
                            .send_frame(transceiver, frame.rtp_timestamp, frame.data.clone())
                            .await;
                    }
                }
                _ => {}
            }
            n += 1;
            let _ = changed.send(n);
        }
    });
    (seen, rx)
}

/// The browser's [`BINARY_SIZES`] binary messages then "grüße ✓" and an
/// empty text, as our side received them: every byte and the binary/text
/// flag (RFC 8831's empty-message PPIDs included).
fn check_browser_messages(messages: &[(String, bool, Bytes)]) {
    assert_eq!(messages.len(), BINARY_SIZES.len() + 2, "{messages:?}");
    for ((_, binary, data), n) in messages.iter().zip(BINARY_SIZES) {
        assert!(*binary, "{n}-byte message arrived as text");
        assert_eq!(data.len(), n);
        assert!(
            data[..] == binary_pattern(n)[..],
            "{n}-byte message altered"
        );
    }
    let text = &messages[BINARY_SIZES.len()..];
    assert_eq!((text[0].1, &text[0].2[..]), (false, "grüße ✓".as_bytes()));
    assert_eq!((text[1].1, text[1].2.len()), (false, 0));
}

/// Waits until `done(seen)` or `WAIT`.
fn wait_for(
    rt: &tokio::runtime::Runtime,
    seen: &Arc<Mutex<Seen>>,
    changed: &mut watch::Receiver<u64>,
    what: &str,
    done: impl Fn(&Seen) -> bool,
) -> Result<(), String> {
    rt.block_on(async {
        tokio::time::timeout(WAIT, async {
            while !done(&seen.lock().unwrap()) {
                if changed.changed().await.is_err() {
                    return;
                }
            }
        })
        .await
        .map_err(|_| format!("timed out waiting for {what}: {:?}", seen.lock().unwrap()))
    })?;
    if done(&seen.lock().unwrap()) {
        Ok(())
    } else {
        Err(format!("event stream ended before {what}"))
    }
}

/// The browser offers (fake microphone and camera, a data channel); our
/// PeerConnection answers with `add_track` and echoes every message and frame.
/// The browser decodes at least `decoded` of its own VP8 frames from our echo.
pub(crate) fn browser_offers_and_we_echo(
    browser: &mut BrowserPeer,
    name: &str,
    decoded: u64,
) -> TestResult {
    browser.new_pc("c", json!({"bundlePolicy": "max-bundle"}))?;
    let media = Media {
        audio: 1,
        video: 1,
        data: true,
        ..Media::default()
    };
    browser.add_transceivers("c", &media)?;
    let offer = browser.create_offer("c")?;
    browser.set_local("c", "offer", &offer)?;
    let (gathered, _) = browser.wait_gathering("c")?;

    let rt = runtime();
    let (pc, events) =
        rt.block_on(factory().create_peer_connection(RtcConfiguration::default()))?;
    let (seen, mut changed) = watch_events(&rt, events, pc.clone(), true);
    let answer = rt.block_on(async {
        pc.set_remote_description(JsepSessionDescription::parse(
            SdpType::Offer,
            &gathered.sdp,
        )?)
        .await?;
        pc.add_track(MediaType::Audio, "echo-audio", &["echo"])
            .await?;
        pc.add_track(MediaType::Video, "echo-video", &["echo"])
            .await?;
        let answer = pc.create_answer().await?;
        pc.set_local_description(answer).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    });
    answer?;
    wait_for(&rt, &seen, &mut changed, "our gathering", |s| s.gathered)?;
    let answer = rt
        .block_on(pc.local_description())?
        .ok_or("no local description")?;
    assert!(
        answer.to_sdp().contains("a=sendrecv"),
        "{}",
        answer.to_sdp()
    );
    let answered = std::time::Instant::now();
    browser.set_remote("c", "answer", &answer.to_sdp())?;
    browser.wait_state("c", "connected", WAIT)?;
    println!(
        "{name} offers: connected {:.0} ms after the answer",
        answered.elapsed().as_secs_f64() * 1e3
    );

    // Text and binary of several sizes, echoed on the same channel.
    browser.dc_send("c", "peerstack", "hello", 5)?;
    let echoed = browser.dc_received("c", "peerstack", 5, WAIT)?;
    assert_eq!(
        echoed,
        (0..5).map(|i| format!("hello {i}")).collect::<Vec<_>>()
    );
    wait_for(&rt, &seen, &mut changed, "the browser's channel", |s| {
        s.channels
            .iter()
            .any(|(_, l, remote)| l == "peerstack" && *remote)
    })?;
    // Binary from empty to 64 KiB, UTF-8 and empty text: each arrives intact
    // and comes back.
    browser.dc_send_binary("c", "peerstack", &BINARY_SIZES)?;
    browser.dc_send_text("c", "peerstack", "grüße ✓")?;
    browser.dc_send_text("c", "peerstack", "")?;
    let echoed = browser.dc_received("c", "peerstack", 12, WAIT)?;
    let mut want: Vec<String> = BINARY_SIZES
        .iter()
        .map(|n| format!("[binary {n}]"))
        .collect();
    want.extend(["grüße ✓".to_string(), String::new()]);
    assert_eq!(echoed[5..], want[..]);
    check_browser_messages(&seen.lock().unwrap().messages[5..]);

    // The browser's camera frames come back and it decodes them.
    let stats = browser.wait_inbound_frames("c", "video", 30, decoded, WAIT)?;
    assert_eq!(stats["mimeType"], "video/VP8", "{stats}");
    eprintln!("{name} inbound video: {stats}");
    let audio = browser.wait_inbound_rtp("c", "audio", 20, WAIT)?;
    eprintln!("{name} inbound audio: {audio}");
    let s = seen.lock().unwrap().clone();
    assert!(
        s.frames.iter().any(|(_, key)| *key),
        "a keyframe arrived: {s:?}"
    );
    assert!(s.echo_errors.is_empty(), "{:?}", s.echo_errors);

    let report = rt.block_on(pc.get_stats())?.to_json();
    assert!(report.contains("\"type\":\"inbound-rtp\""), "{report}");
    assert!(report.contains("\"type\":\"outbound-rtp\""), "{report}");
    browser.close("c")?;
    rt.block_on(pc.close());
    Ok(())
}

/// We offer (a data channel, audio and video); the browser answers.
pub(crate) fn we_offer_and_the_browser_answers(
    browser: &mut BrowserPeer,
    name: &str,
) -> TestResult {
    let rt = runtime();
    let (pc, events) =
        rt.block_on(factory().create_peer_connection(RtcConfiguration::default()))?;
    let (seen, mut changed) = watch_events(&rt, events, pc.clone(), false);
    let (chat, audio, video) = rt.block_on(async {
        let chat = pc.create_data_channel(DataChannelInit::new("ours")).await?;
        let audio = pc
            .add_transceiver(MediaType::Audio, Direction::SendRecv, "a", &["ours"])
            .await?;
        let video = pc
            .add_transceiver(MediaType::Video, Direction::SendRecv, "v", &["ours"])
            .await?;
        let offer = pc.create_offer().await?;
        pc.set_local_description(offer).await?;
        Ok::<_, Box<dyn std::error::Error>>((chat, audio, video))
    })?;
    wait_for(&rt, &seen, &mut changed, "our gathering", |s| s.gathered)?;
    let offer = rt.block_on(pc.local_description())?.ok_or("no offer")?;

    browser.new_pc("d", json!({"bundlePolicy": "max-bundle"}))?;
    browser.set_remote("d", "offer", &offer.to_sdp())?;
    let answer = browser.create_answer("d")?;
    browser.set_local("d", "answer", &answer)?;
    let (answer, _) = browser.wait_gathering("d")?;
    let answered = std::time::Instant::now();
    rt.block_on(
        pc.set_remote_description(JsepSessionDescription::parse(SdpType::Answer, &answer.sdp)?),
    )?;
    browser.wait_state("d", "connected", WAIT)?;
    println!(
        "we offer, {name} answers: connected {:.0} ms after the answer",
        answered.elapsed().as_secs_f64() * 1e3
    );
    wait_for(&rt, &seen, &mut changed, "our channel open", |s| {
        s.channels
            .iter()
            .any(|(c, _, remote)| *c == chat && !*remote)
    })?;

    // Ours to the browser: empty, UTF-8 text, and binary up to 64 KiB.
    rt.block_on(async {
        pc.send_data(chat, Bytes::from_static("grüße ✓".as_bytes()), false)
            .await?;
        pc.send_data(chat, Bytes::new(), true).await?;
        pc.send_data(chat, Bytes::from(vec![7u8; 64 * 1024]), true)
            .await?;
        Ok::<_, peerconnection::Error>(())
    })?;
    let got = browser.dc_received("d", "ours", 3, WAIT)?;
    assert_eq!(
        got,
        vec![
            "grüße ✓".to_string(),
            "[binary 0]".into(),
            "[binary 65536]".into()
        ]
    );
    // The browser to ours.
    browser.dc_send("d", "ours", "from the browser", 3)?;
    wait_for(&rt, &seen, &mut changed, "the browser's messages", |s| {
        s.messages.len() >= 3
    })?;
    browser.dc_send_binary("d", "ours", &BINARY_SIZES)?;
    browser.dc_send_text("d", "ours", "grüße ✓")?;
    browser.dc_send_text("d", "ours", "")?;
    wait_for(
        &rt,
        &seen,
        &mut changed,
        "the browser's binary messages",
        |s| s.messages.len() >= 10,
    )?;
    let s = seen.lock().unwrap().clone();
    assert_eq!(&s.messages[0].2[..], b"from the browser 0");
    check_browser_messages(&s.messages[3..]);

    // Our audio and video packets reach the browser's inbound-rtp.
    let sender = {
        let pc = pc.clone();
        rt.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            for i in 0..150u32 {
                tick.tick().await;
                let _ = pc
                    .send_frame(audio, i * 960, Bytes::from(vec![0xfc, 0xff, 0xfe]))
                    .await;
                let key = i % 50 == 0;
                let mut frame = vec![0x5a_u8; 3000];
                let head: &[u8] = if key {
                    &[0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]
                } else {
                    &[0x51, 0x2d, 0x01]
                };
                frame[..head.len()].copy_from_slice(head);
                let _ = pc.send_frame(video, i * 1800, Bytes::from(frame)).await;
            }
        })
    };
    let audio_in = browser.wait_inbound_rtp("d", "audio", 30, WAIT)?;
    let video_in = browser.wait_inbound_rtp("d", "video", 60, WAIT)?;
    eprintln!("{name} inbound: {audio_in} {video_in}");
    sender.abort();
    browser.close("d")?;
    rt.block_on(pc.close());
    Ok(())
}
