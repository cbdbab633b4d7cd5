//! Sends a file over a data channel between two processes, with a progress bar; both
//! sides print the file's SHA-256, so you can see the copy is byte-identical.
//!
//! ```text
//! # terminal 1: wait for an offer on a TCP signaling port, write what arrives to OUT
//! cargo run --release -p peerconnection --example file-transfer -- receive --listen 127.0.0.1:9000 --out /tmp/copy
//! # terminal 2: offer, then send FILE
//! cargo run --release -p peerconnection --example file-transfer -- send FILE --to 127.0.0.1:9000
//! ```
//!
//! Signaling is one JSON line each way on a TCP connection: the sender's offer, after its
//! ICE gathering completed (candidates inside), then the receiver's answer. Everything
//! else goes over WebRTC: ICE on 127.0.0.1 (`--any-interface` gathers on every address),
//! DTLS, SCTP. The file is sent as 64 KiB binary messages with bufferedAmount flow control,
//! preceded by a text message `{"name":…,"size":…}` and followed by a text message with
//! the SHA-256 the receiver compares with its own.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use peerconnection::media_channels::data::DataChannelInit;
use peerconnection::media_channels::sdp::dtls_transport::controller::PeerConnectionState;
use peerconnection::media_channels::sdp::dtls_transport::ice::network::NetworkFilter;
use peerconnection::media_channels::sdp::dtls_transport::ice::GatheringState;
use peerconnection::media_channels::sdp::{JsepSessionDescription, SdpType};
use peerconnection::peer_connection::{
    PeerConnection, PeerConnectionEvents, PeerConnectionFactory,
};
use peerconnection::session::SessionEvent;
use peerconnection::RtcConfiguration;

/// Size of each file chunk (one data channel message).
const CHUNK: usize = 64 * 1024;
/// Most bytes kept queued on the channel.
const WINDOW: usize = 1024 * 1024;
/// How long either side waits for the other at each stage.
const WAIT: Duration = Duration::from_secs(30);
/// Longest signaling line accepted (an SDP with candidates is a few KiB).
const MAX_SIGNAL: usize = 256 * 1024;

type Result<T, E = String> = std::result::Result<T, E>;

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn factory(any_interface: bool) -> PeerConnectionFactory {
    let f = PeerConnectionFactory::new();
    if any_interface {
        f
    } else {
        f.with_network_filter(NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]))
    }
}

/// Waits for `pick` to accept an event (or WAIT), failing on a failed connection.
async fn next<T>(
    events: &mut PeerConnectionEvents,
    what: &str,
    mut pick: impl FnMut(SessionEvent) -> Option<T>,
) -> Result<T> {
    tokio::time::timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            if let SessionEvent::ConnectionState(PeerConnectionState::Failed) = event {
                return Err("the connection failed".to_string());
            }
            if let Some(t) = pick(event) {
                return Ok(t);
            }
        }
        Err("the connection ended".to_string())
    })
    .await
    .map_err(|_| format!("timed out waiting for {what}"))?
}

/// Our description once gathering completed (candidates in the SDP).
async fn gathered(pc: &PeerConnection, events: &mut PeerConnectionEvents) -> Result<String> {
    next(events, "ICE gathering", |e| {
        matches!(e, SessionEvent::IceGatheringState(GatheringState::Complete)).then_some(())
    })
    .await?;
    let local = pc
        .local_description()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no local description")?;
    Ok(local.to_sdp())
}

async fn read_signal(reader: &mut BufReader<TcpStream>) -> Result<serde_json::Value> {
    let mut line = String::new();
    let n = tokio::time::timeout(
        WAIT,
        (&mut *reader).take(MAX_SIGNAL as u64).read_line(&mut line),
    )
    .await
    .map_err(|_| "timed out waiting for the other side's description")?
    .map_err(|e| format!("signaling: {e}"))?;
    if n == 0 || !line.ends_with('\n') {
        return Err("signaling: the other side closed or sent too much".into());
    }
    serde_json::from_str(&line).map_err(|e| format!("signaling: not JSON: {e}"))
}

async fn send(path: PathBuf, to: SocketAddr, any_interface: bool) -> Result<()> {
    let data = tokio::fs::read(&path)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let digest = hex(&Sha256::digest(&data));
    println!(
        "sending {} ({} bytes), sha256 {digest}",
        path.display(),
        data.len()
    );
    let (pc, mut events) = factory(any_interface)
        .create_peer_connection(RtcConfiguration::default())
        .await
        .map_err(|e| e.to_string())?;
    let channel = pc
        .create_data_channel(DataChannelInit::new("file"))
        .await
        .map_err(|e| e.to_string())?;
    let offer = pc.create_offer().await.map_err(|e| e.to_string())?;
    pc.set_local_description(offer)
        .await
        .map_err(|e| e.to_string())?;
    let offer = gathered(&pc, &mut events).await?;

    let stream = TcpStream::connect(to)
        .await
        .map_err(|e| format!("signaling to {to}: {e}"))?;
    let mut reader = BufReader::new(stream);
    let line = serde_json::json!({"type": "offer", "sdp": offer}).to_string() + "\n";
    reader
        .get_mut()
        .write_all(line.as_bytes())
        .await
        .map_err(|e| format!("signaling: {e}"))?;
    let answer = read_signal(&mut reader).await?;
    let sdp = answer["sdp"]
        .as_str()
        .ok_or("signaling: no sdp in the answer")?;
    let answer = JsepSessionDescription::parse(SdpType::Answer, sdp).map_err(|e| e.to_string())?;
    pc.set_remote_description(answer)
        .await
        .map_err(|e| e.to_string())?;
    next(&mut events, "the channel to open", |e| {
        matches!(e, SessionEvent::DataChannelOpen { channel: c, .. } if c == channel).then_some(())
    })
    .await?;

    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let header = serde_json::json!({"name": name, "size": data.len()}).to_string();
    let send = |bytes: Bytes, binary: bool| {
        let pc = pc.clone();
        async move {
            pc.send_data(channel, bytes, binary)
                .await
                .map_err(|e| e.to_string())
        }
    };
    send(Bytes::from(header), false).await?;
    let start = Instant::now();
    let data = Bytes::from(data);
    let mut sent = 0;
    let mut last_bar = Instant::now();
    while sent < data.len() {
        if pc
            .buffered_amount(channel)
            .await
            .map_err(|e| e.to_string())?
            >= WINDOW
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        let end = (sent + CHUNK).min(data.len());
        send(data.slice(sent..end), true).await?;
        sent = end;
        if last_bar.elapsed() > Duration::from_millis(100) || sent == data.len() {
            last_bar = Instant::now();
            progress("sent", sent, data.len(), start);
        }
    }
    send(
        Bytes::from(serde_json::json!({"sha256": digest}).to_string()),
        false,
    )
    .await?;
    // Done when the receiver says so (or closes).
    let verdict = next(&mut events, "the receiver's verdict", |e| match e {
        SessionEvent::DataChannelMessage {
            data,
            binary: false,
            ..
        } => Some(String::from_utf8_lossy(&data).to_string()),
        _ => None,
    })
    .await?;
    eprintln!();
    pc.close().await;
    if verdict == "ok" {
        println!("the receiver has an identical copy (sha256 {digest})");
        Ok(())
    } else {
        Err(format!("the receiver says: {verdict}"))
    }
}

fn progress(what: &str, done: usize, total: usize, start: Instant) {
    let width = 40;
    let filled = (done * width)
        .checked_div(total)
        .unwrap_or(width)
        .min(width);
    let mib = done as f64 / (1024.0 * 1024.0);
    let rate = mib / start.elapsed().as_secs_f64().max(1e-6);
    eprint!(
        "\r{what} [{}{}] {:>3}% {mib:.1} MiB {rate:.1} MiB/s",
        "#".repeat(filled),
        " ".repeat(width - filled),
        (done * 100).checked_div(total).unwrap_or(100)
    );
}

async fn receive(listen: SocketAddr, out: PathBuf, any_interface: bool) -> Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("listen on {listen}: {e}"))?;
    println!(
        "waiting for an offer on {}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let (stream, peer) = listener.accept().await.map_err(|e| e.to_string())?;
    println!("signaling from {peer}");
    let mut reader = BufReader::new(stream);
    let offer = read_signal(&mut reader).await?;
    if offer["type"] != "offer" {
        return Err("signaling: expected an offer".into());
    }
    let sdp = offer["sdp"]
        .as_str()
        .ok_or("signaling: no sdp in the offer")?;
    let offer = JsepSessionDescription::parse(SdpType::Offer, sdp).map_err(|e| e.to_string())?;
    let (pc, mut events) = factory(any_interface)
        .create_peer_connection(RtcConfiguration::default())
        .await
        .map_err(|e| e.to_string())?;
    pc.set_remote_description(offer)
        .await
        .map_err(|e| e.to_string())?;
    let answer = pc.create_answer().await.map_err(|e| e.to_string())?;
    pc.set_local_description(answer)
        .await
        .map_err(|e| e.to_string())?;
    let answer = gathered(&pc, &mut events).await?;
    let line = serde_json::json!({"type": "answer", "sdp": answer}).to_string() + "\n";
    reader
        .get_mut()
        .write_all(line.as_bytes())
        .await
        .map_err(|e| format!("signaling: {e}"))?;

    // The header, the chunks, the digest.
    let mut size = None;
    let mut hasher = Sha256::new();
    let mut file = tokio::fs::File::create(&out)
        .await
        .map_err(|e| format!("{}: {e}", out.display()))?;
    let mut received = 0;
    let mut start = Instant::now();
    let mut last_bar = Instant::now();
    loop {
        let (channel, binary, data) = next(&mut events, "the file", |e| match e {
            SessionEvent::DataChannelMessage {
                channel,
                binary,
                data,
            } => Some((channel, binary, data)),
            _ => None,
        })
        .await?;
        if binary {
            hasher.update(&data);
            file.write_all(&data).await.map_err(|e| e.to_string())?;
            received += data.len();
            if last_bar.elapsed() > Duration::from_millis(100) || Some(received) == size {
                last_bar = Instant::now();
                progress("received", received, size.unwrap_or(received), start);
            }
            continue;
        }
        let text: serde_json::Value =
            serde_json::from_slice(&data).map_err(|e| format!("control message: {e}"))?;
        if let Some(n) = text["size"].as_u64() {
            size = usize::try_from(n).ok();
            start = Instant::now();
            println!(
                "receiving {:?} ({n} bytes) into {}",
                text["name"].as_str().unwrap_or(""),
                out.display()
            );
        } else if let Some(theirs) = text["sha256"].as_str() {
            file.flush().await.map_err(|e| e.to_string())?;
            eprintln!();
            let ours = hex(&hasher.finalize());
            println!("received {received} bytes, sha256 {ours}");
            let ok = ours == theirs && Some(received) == size;
            let verdict = if ok {
                "ok".to_string()
            } else {
                format!("mismatch: {ours}")
            };
            pc.send_data(channel, Bytes::from(verdict.clone()), false)
                .await
                .map_err(|e| e.to_string())?;
            // Let the verdict leave before closing.
            tokio::time::sleep(Duration::from_millis(200)).await;
            pc.close().await;
            return if ok {
                println!("identical to the sender's file");
                Ok(())
            } else {
                Err(verdict)
            };
        }
    }
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: file-transfer send FILE --to ADDR [--any-interface]\n       \
         file-transfer receive --listen ADDR --out FILE [--any-interface]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let any_interface = args.iter().any(|a| a == "--any-interface");
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
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
    let result = match args.first().map(String::as_str) {
        Some("send") => {
            let (Some(file), Some(to)) = (args.get(1), value("--to").and_then(|v| v.parse().ok()))
            else {
                return usage();
            };
            runtime.block_on(send(PathBuf::from(file), to, any_interface))
        }
        Some("receive") => {
            let (Some(listen), Some(out)) = (
                value("--listen").and_then(|v| v.parse().ok()),
                value("--out"),
            ) else {
                return usage();
            };
            runtime.block_on(receive(listen, PathBuf::from(out), any_interface))
        }
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("file-transfer: {e}");
            ExitCode::FAILURE
        }
    }
}
