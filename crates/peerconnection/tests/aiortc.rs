//! Our `PeerConnection` against aiortc (PyPI), in both roles. `cargo xtask test-all --only
//! interop-aiortc` runs this file (`--ignored`) in a loopback-only network namespace with
//! `PEERSTACK_REQUIRE_PEERS=1` and `PEERSTACK_AIORTC_PYTHON` naming the venv's Python (by
//! default `target/aiortc-venv/bin/python`). By hand, with that venv made:
//! `cargo test -p peerconnection --test aiortc -- --ignored`. Without the venv the tests
//! print why and pass, unless `PEERSTACK_REQUIRE_PEERS=1`.
//!
//! The peer is `interop/aiortc/peer.py` (JSON lines; see its docstring): loopback-only,
//! no STUN server, and it refuses any packet that is not to 127.0.0.0/8 or ::1. aiortc never
//! trickles, so both sides exchange complete descriptions: ours after our gathering ended.
//!
//! - aiortc offers (Opus tone, VP8 video, a data channel); we answer with `add_track` on the
//!   offered transceivers and echo every data-channel message (text and binary, empty to
//!   64 KiB) and every audio and video frame back. aiortc gets its messages back and decodes
//!   our echoed Opus and VP8; we saw its frames, a VP8 keyframe among them.
//! - We offer (a data channel, audio and video); aiortc answers and echoes data. Messages
//!   go both ways, aiortc decodes our Opus silence and counts our (synthetic) VP8 packets,
//!   and its own audio and video reach us as frames.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
use serde_json::{json, Value};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(20);
const WAIT_MS: u64 = 20_000;
/// How long a request may take beyond its own `timeout_ms` before the peer counts as stuck.
const REPLY_SLACK: Duration = Duration::from_secs(30);

type TestResult = Result<(), Box<dyn std::error::Error>>;

// ---- the aiortc peer ---------------------------------------------------------------------

/// `interop/aiortc/peer.py`: one aiortc RTCPeerConnection, one request line and one reply
/// line at a time. Dropping it closes stdin (the script closes its connection and exits).
struct AiortcPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<std::io::Result<String>>,
}

impl AiortcPeer {
    /// Starts the peer; `Ok(None)` (with the reason printed) when its Python is missing,
    /// unless `PEERSTACK_REQUIRE_PEERS=1` makes that an error.
    fn start() -> Result<Option<AiortcPeer>, String> {
        let required = std::env::var("PEERSTACK_REQUIRE_PEERS").is_ok_and(|v| v == "1");
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let python = std::env::var_os("PEERSTACK_AIORTC_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/aiortc-venv/bin/python"));
        let script = root.join("interop/aiortc/peer.py");
        if !python.is_file() {
            let why = format!(
                "no aiortc venv at {} (make it with `cargo xtask test-all --only interop-aiortc`, \
                 or set PEERSTACK_AIORTC_PYTHON)",
                python.display()
            );
            if required {
                return Err(format!("{why} (and PEERSTACK_REQUIRE_PEERS=1)"));
            }
            eprintln!("skipping the aiortc test: {why}");
            return Ok(None);
        }
        let mut child = Command::new(&python)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting {} {}: {e}", python.display(), script.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let end = line.is_err();
                if tx.send(line).is_err() || end {
                    break;
                }
            }
        });
        let mut peer = AiortcPeer {
            child,
            stdin,
            lines,
        };
        let ready = peer.reply(Duration::from_secs(60), "startup")?;
        eprintln!(
            "aiortc {} (aioice {})",
            ready["aiortc"].as_str().unwrap_or("?"),
            ready["aioice"].as_str().unwrap_or("?")
        );
        Ok(Some(peer))
    }

    /// Sends `request` and returns its reply when `"ok": true`.
    fn request(&mut self, request: Value) -> Result<Value, String> {
        let op = request["op"].as_str().unwrap_or("?").to_owned();
        let wait = Duration::from_millis(request["timeout_ms"].as_u64().unwrap_or(WAIT_MS));
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        writeln!(stdin, "{request}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("aiortc {op}: writing the request: {e}"))?;
        self.reply(wait + REPLY_SLACK, &op)
    }

    fn reply(&mut self, timeout: Duration, op: &str) -> Result<Value, String> {
        let line = match self.lines.recv_timeout(timeout) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(format!("aiortc {op}: reading stdout: {e}")),
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                return Err(format!("aiortc {op}: no reply in {timeout:?}; killed it"));
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.wait().map(|s| s.to_string());
                return Err(format!(
                    "aiortc {op}: the peer exited ({}); see its stderr",
                    status.unwrap_or_else(|e| e.to_string())
                ));
            }
        };
        let value: Value =
            serde_json::from_str(&line).map_err(|e| format!("aiortc {op}: {line:?}: {e}"))?;
        if value["ok"] == Value::Bool(true) {
            Ok(value)
        } else {
            Err(format!("aiortc {op}: {}", value["error"]))
        }
    }

    fn sdp_of(&mut self, request: Value) -> Result<String, String> {
        let reply = self.request(request)?;
        reply["sdp"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| format!("no sdp in {reply}"))
    }

    /// Its offer (after gathering: every candidate is in it).
    fn offer(&mut self, audio: bool, video: bool, data: bool) -> Result<String, String> {
        self.sdp_of(json!({"op": "offer", "audio": audio, "video": video, "data": data}))
    }

    /// Applies our offer and answers (with tracks on the offered transceivers); it echoes
    /// data-channel messages.
    fn answer(&mut self, offer: &str) -> Result<String, String> {
        self.sdp_of(json!({"op": "answer", "sdp": offer}))
    }

    fn set_answer(&mut self, answer: &str) -> Result<(), String> {
        self.request(json!({"op": "set_answer", "sdp": answer}))
            .map(drop)
    }

    fn wait_connected(&mut self) -> Result<(), String> {
        self.request(json!({"op": "wait_connected", "timeout_ms": WAIT_MS}))
            .map(drop)
    }

    fn dc_send(&mut self, label: &str, messages: &[Message]) -> Result<(), String> {
        let messages: Vec<Value> = messages.iter().map(Message::to_json).collect();
        self.request(
            json!({"op": "dc_send", "label": label, "messages": messages, "timeout_ms": WAIT_MS}),
        )
        .map(drop)
    }

    /// Waits for `count` messages on `label`; every message received there so far.
    fn dc_received(&mut self, label: &str, count: usize) -> Result<Vec<Message>, String> {
        let reply = self.request(
            json!({"op": "dc_received", "label": label, "count": count, "timeout_ms": WAIT_MS}),
        )?;
        let errors = &reply["echo_errors"];
        if errors.as_array().is_some_and(|e| !e.is_empty()) {
            return Err(format!("aiortc could not echo: {errors}"));
        }
        reply["messages"]
            .as_array()
            .ok_or("no messages")?
            .iter()
            .map(Message::from_json)
            .collect()
    }

    /// Waits until its inbound `kind` stream counted `packets` RTP packets and decoded
    /// `frames` frames; returns its stats (`{"audio": {...}, "video": {...}}`).
    fn wait_inbound(&mut self, kind: &str, packets: u64, frames: u64) -> Result<Value, String> {
        self.request(json!({
            "op": "wait_inbound", "kind": kind, "packets": packets, "frames": frames,
            "timeout_ms": WAIT_MS,
        }))
    }

    /// Closes its connection; fails when its loopback guard refused any packet.
    fn close(&mut self) -> Result<(), String> {
        let reply = self.request(json!({"op": "close"}))?;
        match reply["refused"].as_array() {
            Some(refused) if !refused.is_empty() => {
                Err(format!("aiortc's loopback guard refused: {refused:?}"))
            }
            _ => Ok(()),
        }
    }
}

impl Drop for AiortcPeer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A data-channel message as the peer sends and reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Message {
    Text(String),
    Binary(Vec<u8>),
}

impl Message {
    fn to_json(&self) -> Value {
        match self {
            Message::Text(s) => json!({ "text": s }),
            Message::Binary(b) => json!({ "hex": hex(b) }),
        }
    }

    fn from_json(v: &Value) -> Result<Message, String> {
        if let Some(s) = v["text"].as_str() {
            return Ok(Message::Text(s.into()));
        }
        let h = v["hex"].as_str().ok_or_else(|| format!("message {v}"))?;
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()
            .map(Message::Binary)
    }

    /// The message as our data channel sends it: (data, binary).
    fn ours(&self) -> (Bytes, bool) {
        match self {
            Message::Text(s) => (Bytes::from(s.clone()), false),
            Message::Binary(b) => (Bytes::from(b.clone()), true),
        }
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Text(s) => write!(f, "text {s:?}"),
            Message::Binary(b) => write!(f, "binary {} bytes", b.len()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Text and binary, empty to 64 KiB (aiortc's default for a peer's max-message-size).
fn messages() -> Vec<Message> {
    vec![
        Message::Text("hello from aiortc".into()),
        Message::Text("grüße ✓".into()),
        Message::Text(String::new()),
        Message::Binary(Vec::new()),
        Message::Binary(vec![0, 1, 2, 0xff]),
        Message::Binary((0..64 * 1024).map(|i| (i % 251) as u8).collect()),
    ]
}

// ---- our side ------------------------------------------------------------------------------

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
    /// (channel label, message).
    messages: Vec<(String, Message)>,
    /// (transceiver, keyframe, size).
    frames: Vec<(TransceiverId, bool, usize)>,
    keyframe_requests: usize,
    echo_errors: Vec<String>,
}

impl Seen {
    fn frames_on(&self, transceiver: TransceiverId) -> usize {
        self.frames
            .iter()
            .filter(|(t, _, _)| *t == transceiver)
            .count()
    }
}

/// Drives our events: records them and, when `echo`, sends every message and frame back
/// (and passes aiortc's keyframe requests for our echoed stream on to aiortc's stream).
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
                    let message = if binary {
                        Message::Binary(data.to_vec())
                    } else {
                        Message::Text(String::from_utf8_lossy(&data).into_owned())
                    };
                    {
                        let mut seen = s.lock().unwrap();
                        let label = seen
                            .channels
                            .iter()
                            .find(|(c, _, _)| *c == channel)
                            .map(|(_, l, _)| l.clone())
                            .unwrap_or_default();
                        seen.messages.push((label, message));
                    }
                    if echo {
                        if let Err(e) = pc.send_data(channel, data, binary).await {
                            s.lock().unwrap().echo_errors.push(e.to_string());
                        }
                    }
                }
                SessionEvent::Frame {
                    transceiver, frame, ..
                } => {
                    s.lock()
                        .unwrap()
                        .frames
                        .push((transceiver, frame.keyframe, frame.data.len()));
                    if echo {
                        // The first frames may come before our stream may send: not an error.
                        let _ = pc
                            .send_frame(transceiver, frame.rtp_timestamp, frame.data.clone())
                            .await;
                    }
                }
                SessionEvent::KeyframeRequested { transceiver } => {
                    s.lock().unwrap().keyframe_requests += 1;
                    if echo {
                        // What we send is aiortc's own stream: ask aiortc for the keyframe.
                        let _ = pc.request_keyframe(transceiver).await;
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
        .map_err(|_| {
            let s = seen.lock().unwrap();
            format!(
                "timed out waiting for {what}: gathered {}, channels {:?}, {} message(s), \
                 {} frame(s), echo errors {:?}",
                s.gathered,
                s.channels,
                s.messages.len(),
                s.frames.len(),
                s.echo_errors
            )
        })
    })?;
    if done(&seen.lock().unwrap()) {
        Ok(())
    } else {
        Err(format!("event stream ended before {what}"))
    }
}

/// Our transceiver of `kind` (the first).
fn transceiver_of(
    rt: &tokio::runtime::Runtime,
    pc: &PeerConnection,
    kind: MediaType,
) -> Result<TransceiverId, Box<dyn std::error::Error>> {
    Ok(rt
        .block_on(pc.transceivers())?
        .into_iter()
        .find(|(_, k, _)| *k == kind)
        .map(|(id, _, _)| id)
        .ok_or(format!("no {kind:?} transceiver"))?)
}

// ---- the tests -----------------------------------------------------------------------------

#[test]
#[ignore = "needs the aiortc venv: cargo xtask test-all --only interop-aiortc"]
fn aiortc_offers_and_our_peer_connection_echoes_data_and_media() -> TestResult {
    let Some(mut aiortc) = AiortcPeer::start()? else {
        return Ok(());
    };
    let offer = aiortc.offer(true, true, true)?;

    let rt = runtime();
    let (pc, events) =
        rt.block_on(factory().create_peer_connection(RtcConfiguration::default()))?;
    let (seen, mut changed) = watch_events(&rt, events, pc.clone(), true);
    rt.block_on(async {
        pc.set_remote_description(JsepSessionDescription::parse(SdpType::Offer, &offer)?)
            .await?;
        pc.add_track(MediaType::Audio, "echo-audio", &["echo"])
            .await?;
        pc.add_track(MediaType::Video, "echo-video", &["echo"])
            .await?;
        let answer = pc.create_answer().await?;
        pc.set_local_description(answer).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    // aiortc takes no trickled candidates: our answer goes once gathering is complete.
    wait_for(&rt, &seen, &mut changed, "our gathering", |s| s.gathered)?;
    let answer = rt
        .block_on(pc.local_description())?
        .ok_or("no local description")?
        .to_sdp();
    assert!(answer.contains("a=sendrecv"), "{answer}");
    assert!(answer.contains("a=candidate:"), "{answer}");
    let answered = std::time::Instant::now();
    aiortc.set_answer(&answer)?;
    aiortc.wait_connected()?;
    println!(
        "aiortc offers: connected {:.0} ms after the answer",
        answered.elapsed().as_secs_f64() * 1e3
    );

    // Every message comes back on aiortc's channel, in order, unchanged.
    let sent = messages();
    aiortc.dc_send("peerstack", &sent)?;
    let echoed = aiortc.dc_received("peerstack", sent.len())?;
    assert_eq!(
        echoed,
        sent,
        "echoed: {}",
        echoed
            .iter()
            .map(Message::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let got: Vec<Message> = seen
        .lock()
        .unwrap()
        .messages
        .iter()
        .map(|(_, m)| m.clone())
        .collect();
    assert_eq!(got, sent);
    assert!(seen
        .lock()
        .unwrap()
        .channels
        .iter()
        .any(|(_, l, remote)| l == "peerstack" && *remote));

    // aiortc's Opus and VP8 reach us as frames, a keyframe among the video ones ...
    let audio = transceiver_of(&rt, &pc, MediaType::Audio)?;
    let video = transceiver_of(&rt, &pc, MediaType::Video)?;
    wait_for(&rt, &seen, &mut changed, "aiortc's audio and video", |s| {
        s.frames_on(audio) >= 20
            && s.frames_on(video) >= 20
            && s.frames.iter().any(|(t, key, _)| *t == video && *key)
    })?;
    // ... and aiortc decodes what we echoed.
    let stats = aiortc.wait_inbound("video", 20, 20)?;
    let stats_audio = aiortc.wait_inbound("audio", 20, 20)?;
    eprintln!("aiortc inbound: {stats} / {stats_audio}");
    assert_eq!(stats["video"]["width"], json!(320), "{stats}");
    let s = seen.lock().unwrap().clone();
    assert!(s.echo_errors.is_empty(), "{:?}", s.echo_errors);
    eprintln!(
        "we received {} audio and {} video frames, {} keyframe request(s)",
        s.frames_on(audio),
        s.frames_on(video),
        s.keyframe_requests
    );

    let report = rt.block_on(pc.get_stats())?.to_json();
    assert!(report.contains("\"type\":\"inbound-rtp\""), "{report}");
    assert!(report.contains("\"type\":\"outbound-rtp\""), "{report}");
    aiortc.close()?;
    rt.block_on(pc.close());
    Ok(())
}

#[test]
#[ignore = "needs the aiortc venv: cargo xtask test-all --only interop-aiortc"]
fn our_peer_connection_offers_and_aiortc_answers() -> TestResult {
    let Some(mut aiortc) = AiortcPeer::start()? else {
        return Ok(());
    };
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

    let answer = aiortc.answer(&offer.to_sdp())?;
    let answered = std::time::Instant::now();
    rt.block_on(
        pc.set_remote_description(JsepSessionDescription::parse(SdpType::Answer, &answer)?),
    )?;
    aiortc.wait_connected()?;
    println!(
        "we offer, aiortc answers: connected {:.0} ms after the answer",
        answered.elapsed().as_secs_f64() * 1e3
    );
    wait_for(&rt, &seen, &mut changed, "our channel open", |s| {
        s.channels
            .iter()
            .any(|(c, _, remote)| *c == chat && !*remote)
    })?;

    // Ours to aiortc (which echoes them), then aiortc's own.
    let ours = messages();
    rt.block_on(async {
        for m in &ours {
            let (data, binary) = m.ours();
            pc.send_data(chat, data, binary).await?;
        }
        Ok::<_, peerconnection::Error>(())
    })?;
    let got = aiortc.dc_received("ours", ours.len())?;
    assert_eq!(got, ours);
    let theirs = vec![
        Message::Text("from aiortc".into()),
        Message::Binary(vec![0xaa; 1000]),
    ];
    aiortc.dc_send("ours", &theirs)?;
    let expected: Vec<Message> = ours.iter().chain(&theirs).cloned().collect();
    wait_for(
        &rt,
        &seen,
        &mut changed,
        "the echoes and aiortc's messages",
        |s| s.messages.len() >= expected.len(),
    )?;
    let s = seen.lock().unwrap().clone();
    let received: Vec<Message> = s.messages.iter().map(|(_, m)| m.clone()).collect();
    assert_eq!(received, expected);
    assert!(s.messages.iter().all(|(label, _)| label == "ours"));

    // Our audio (Opus silence, which aiortc decodes) and video (synthetic VP8: aiortc's
    // decoder may refuse it, its RTP is counted) reach aiortc.
    let sender = {
        let pc = pc.clone();
        rt.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            for i in 0..500u32 {
                tick.tick().await;
                let _ = pc
                    .send_frame(audio, i * 960, Bytes::from_static(&[0xf8, 0xff, 0xfe]))
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
    let audio_in = aiortc.wait_inbound("audio", 30, 20)?;
    let video_in = aiortc.wait_inbound("video", 60, 0)?;
    eprintln!("aiortc inbound: {audio_in} / {video_in}");
    sender.abort();
    // aiortc's own tone and video reach us.
    wait_for(&rt, &seen, &mut changed, "aiortc's audio and video", |s| {
        s.frames_on(audio) >= 20
            && s.frames_on(video) >= 20
            && s.frames.iter().any(|(t, key, _)| *t == video && *key)
    })?;
    aiortc.close()?;
    rt.block_on(pc.close());
    Ok(())
}
