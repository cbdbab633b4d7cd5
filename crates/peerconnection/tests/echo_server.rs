//! The echo-server example (examples/echo-server), run inside the test's
//! runtime on 127.0.0.1: a client PeerConnection POSTs its offer over a raw
//! HTTP/1.1 request and gets its data channel messages, audio and video
//! frames back, and the server lets its connection go when the client
//! closes; bad requests get their 4xx while the server keeps serving.

#[path = "../examples/echo-server/server.rs"]
mod server;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
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
use peerconnection::session::SessionEvent;
use peerconnection::RtcConfiguration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use server::{EchoServer, Options};

/// Starts the server on 127.0.0.1:0 in the current runtime.
async fn start(options: Options) -> SocketAddr {
    start_counted(options).await.0
}

/// [`start`], with the server's count of live PeerConnections.
async fn start_counted(options: Options) -> (SocketAddr, impl Fn() -> usize) {
    let server = EchoServer::bind(Options {
        listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        ..options
    })
    .await
    .expect("bind 127.0.0.1:0");
    let addr = server.local_addr().unwrap();
    let peers = server.peer_count();
    tokio::spawn(server.run());
    (addr, peers)
}

/// A response: status, head (lowercase) and body.
#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    body: String,
}

/// Sends `request` as is and reads the response until the server closes.
async fn http(addr: SocketAddr, request: &[u8]) -> Response {
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request).await.expect("write the request");
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .expect("read the response");
        parse_response(&raw)
    })
    .await
    .expect("no response in time")
}

fn parse_response(raw: &[u8]) -> Response {
    let raw = String::from_utf8(raw.to_vec()).expect("UTF-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let head = head.to_ascii_lowercase();
    assert!(
        head.lines().any(|l| l == "connection: close"),
        "every response closes: {head}"
    );
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|l| l.trim().parse().ok())
        .expect("a Content-Length");
    assert_eq!(length, body.len(), "Content-Length matches the body");
    Response {
        status,
        head,
        body: body.to_string(),
    }
}

fn post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A VP8 frame of `len` bytes: a keyframe's tag and start code, or an
/// interframe's tag, then filler marked with `n`.
fn vp8_frame(keyframe: bool, n: u8, len: usize) -> Bytes {
    let mut frame = vec![n; len];
    let head: &[u8] = if keyframe {
        &[0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]
    } else {
        &[0x51, 0x2d, 0x01]
    };
    frame[..head.len()].copy_from_slice(head);
    Bytes::from(frame)
}

fn factory() -> PeerConnectionFactory {
    PeerConnectionFactory::new()
        .with_network_filter(NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]))
}

async fn next_event<T>(
    events: &mut PeerConnectionEvents,
    what: &str,
    mut pick: impl FnMut(SessionEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let event = events.recv().await.expect("event stream ended");
            if let Some(t) = pick(event) {
                return t;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Creates a client offer (data channel, sendrecv audio and video), waits for its
/// gathering, POSTs it and applies the answer.
async fn connect(
    addr: SocketAddr,
) -> (
    PeerConnection,
    PeerConnectionEvents,
    peerconnection::session::DataChannelId,
    peerconnection::session::TransceiverId,
    peerconnection::session::TransceiverId,
) {
    let (pc, mut events) = factory()
        .create_peer_connection(RtcConfiguration::default())
        .await
        .unwrap();
    let chat = pc
        .create_data_channel(DataChannelInit::new("echo"))
        .await
        .unwrap();
    let audio = pc
        .add_transceiver(MediaType::Audio, Direction::SendRecv, "mic", &["client"])
        .await
        .unwrap();
    let video = pc
        .add_transceiver(MediaType::Video, Direction::SendRecv, "cam", &["client"])
        .await
        .unwrap();
    let offer = pc.create_offer().await.unwrap();
    pc.set_local_description(offer).await.unwrap();
    next_event(&mut events, "gathering complete", |e| {
        matches!(e, SessionEvent::IceGatheringState(GatheringState::Complete)).then_some(())
    })
    .await;
    let offer = pc.local_description().await.unwrap().unwrap().to_sdp();
    assert!(
        offer.contains("a=candidate:"),
        "the offer has its candidates"
    );
    let body = serde_json::json!({ "sdp": offer, "type": "offer" }).to_string();
    let response = http(addr, &post("/offer", &body)).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(response.head.contains("content-type: application/json"));
    let answer: serde_json::Value = serde_json::from_str(&response.body).expect("JSON answer");
    assert_eq!(answer["type"], "answer");
    let sdp = answer["sdp"].as_str().expect("an sdp string");
    assert!(
        sdp.contains("a=candidate:") && sdp.contains("127.0.0.1"),
        "the answer has the server's candidates: {sdp}"
    );
    assert_eq!(
        sdp.matches("a=sendrecv").count(),
        2,
        "the server sends audio and video back: {sdp}"
    );
    let answer = JsepSessionDescription::parse(SdpType::Answer, sdp).expect("a valid answer");
    pc.set_remote_description(answer).await.unwrap();
    (pc, events, chat, audio, video)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoes_data_channel_messages_and_media_frames() {
    let (addr, peers) = start_counted(Options::default()).await;
    let (pc, mut events, chat, audio, video) = connect(addr).await;
    assert_eq!(peers(), 1, "one PeerConnection per offer");

    next_event(&mut events, "the data channel to open", |e| match e {
        SessionEvent::DataChannelOpen {
            channel,
            remote: false,
            ..
        } if channel == chat => Some(()),
        _ => None,
    })
    .await;

    for (data, binary) in [
        (Bytes::from_static("hello, echo ✓".as_bytes()), false),
        (Bytes::from_static(&[0, 1, 2, 0xfe, 0xff]), true),
    ] {
        pc.send_data(chat, data.clone(), binary).await.unwrap();
        let echoed = next_event(&mut events, "the echo of a message", |e| match e {
            SessionEvent::DataChannelMessage {
                channel,
                binary,
                data,
            } => Some((channel, binary, data)),
            _ => None,
        })
        .await;
        assert_eq!(echoed, (chat, binary, data), "echoed as sent, same channel");
    }

    // 20 ms Opus-sized frames for 400 ms, and a VP8 frame (several packets
    // each, a keyframe first) every 40 ms; each one distinct.
    const AUDIO: u8 = 20;
    const VIDEO: u8 = 10;
    let audio_sent: Vec<Bytes> = (0..AUDIO)
        .map(|i| Bytes::from(vec![0xfc, i, 0x11, 0x22, 0x33, 0x44, i ^ 0x5a]))
        .collect();
    let video_sent: Vec<Bytes> = (0..VIDEO).map(|i| vp8_frame(i == 0, i, 3000)).collect();
    let sender = {
        let pc = pc.clone();
        let (audio_sent, video_sent) = (audio_sent.clone(), video_sent.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            for (i, frame) in audio_sent.into_iter().enumerate() {
                tick.tick().await;
                let i = i as u32;
                pc.send_frame(audio, i * 960, frame).await.unwrap();
                if i % 2 == 0 {
                    let n = i / 2;
                    pc.send_frame(video, n * 3600, video_sent[n as usize].clone())
                        .await
                        .unwrap();
                }
            }
        })
    };
    let (mut audio_echoed, mut video_echoed) = (Vec::new(), Vec::new());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while audio_echoed.len() < usize::from(AUDIO) || video_echoed.len() < usize::from(VIDEO) {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(SessionEvent::Frame {
                transceiver, frame, ..
            })) if transceiver == audio => audio_echoed.push(frame.data),
            Ok(Some(SessionEvent::Frame {
                transceiver, frame, ..
            })) => {
                assert_eq!(transceiver, video, "echoed on the transceiver it went on");
                video_echoed.push(frame.data);
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("event stream ended"),
            Err(_) => break,
        }
    }
    sender.await.unwrap();
    for (kind, sent, echoed) in [
        ("audio", &audio_sent, &audio_echoed),
        ("video", &video_sent, &video_echoed),
    ] {
        assert!(
            echoed.len() >= sent.len() * 3 / 4,
            "{} of {} {kind} frames came back",
            echoed.len(),
            sent.len()
        );
        for frame in echoed {
            assert!(
                sent.contains(frame),
                "an echoed {kind} frame is one sent: {:?}",
                &frame[..frame.len().min(16)]
            );
        }
    }
    pc.close().await;
    // The server lets its PeerConnection go once ours closed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while peers() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server still holds its PeerConnection after ours closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_4xx_and_the_server_keeps_serving() {
    let addr = start(Options {
        read_timeout: Duration::from_millis(1500),
        ..Options::default()
    })
    .await;

    let page = http(addr, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert_eq!(page.status, 200);
    assert!(page.head.contains("content-type: text/html"));
    assert!(page.body.contains("/offer") && page.body.contains("getUserMedia"));
    assert!(
        !page.body.contains("src=\"http") && !page.body.contains("href=\"http"),
        "the page loads nothing from elsewhere"
    );

    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "unknown path",
            b"GET /nope HTTP/1.1\r\n\r\n".to_vec(),
            404,
            "no such page",
        ),
        (
            "GET /offer",
            b"GET /offer HTTP/1.1\r\n\r\n".to_vec(),
            405,
            "POST",
        ),
        ("POST /", post("/", "{}"), 405, "GET"),
        ("not JSON", post("/offer", "sdp=v%3D0"), 400, "not JSON"),
        (
            "no sdp",
            post("/offer", r#"{"type": "offer"}"#),
            400,
            "\"sdp\"",
        ),
        (
            "sdp not a string",
            post("/offer", r#"{"sdp": 42, "type": "offer"}"#),
            400,
            "\"sdp\"",
        ),
        (
            "an answer",
            post("/offer", r#"{"sdp": "v=0\r\n", "type": "answer"}"#),
            400,
            "\"type\" must be \"offer\"",
        ),
        (
            "no type",
            post("/offer", r#"{"sdp": "v=0\r\n"}"#),
            400,
            "\"type\"",
        ),
        (
            "SDP that does not parse",
            post(
                "/offer",
                r#"{"sdp": "v=0\r\nnot sdp\r\n", "type": "offer"}"#,
            ),
            400,
            "SDP line",
        ),
        (
            "body over 256 KiB (refused from its Content-Length, not sent)",
            b"POST /offer HTTP/1.1\r\nContent-Length: 262145\r\n\r\n".to_vec(),
            413,
            "262144",
        ),
        (
            "no Content-Length",
            b"POST /offer HTTP/1.1\r\n\r\n".to_vec(),
            411,
            "Content-Length",
        ),
        (
            "bad Content-Length",
            b"POST /offer HTTP/1.1\r\nContent-Length: lots\r\n\r\n".to_vec(),
            400,
            "Content-Length",
        ),
        (
            "malformed request line",
            b"HELLO\r\n\r\n".to_vec(),
            400,
            "request line",
        ),
        (
            "head over 16 KiB",
            format!("GET / HTTP/1.1\r\nX-Filler: {}\r\n\r\n", "a".repeat(20_000)).into_bytes(),
            431,
            "16384",
        ),
        (
            "slow client",
            b"POST /offer HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"sdp\"".to_vec(),
            408,
            "in time",
        ),
    ];
    for (what, request, status, message) in cases {
        let started = std::time::Instant::now();
        let response = http(addr, &request).await;
        assert_eq!(response.status, status, "{what}: {}", response.body);
        assert!(
            response.head.contains("content-type: text/plain"),
            "{what}: a text message"
        );
        assert!(
            response.body.contains(message),
            "{what}: `{}` should mention {message}",
            response.body
        );
        if status != 408 {
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{what}: answered without waiting for more"
            );
        }
    }

    // SDP that parses but breaks a validation rule: the sdp crate's text.
    let (pc, _events) = factory()
        .create_peer_connection(RtcConfiguration::default())
        .await
        .unwrap();
    pc.create_data_channel(DataChannelInit::new("x"))
        .await
        .unwrap();
    let offer = pc.create_offer().await.unwrap().to_sdp();
    let no_fingerprint: String = offer
        .lines()
        .filter(|l| !l.starts_with("a=fingerprint"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let expected = JsepSessionDescription::parse(SdpType::Offer, &no_fingerprint)
        .expect_err("an offer without a fingerprint is refused")
        .to_string();
    let body = serde_json::json!({ "sdp": no_fingerprint, "type": "offer" }).to_string();
    let response = http(addr, &post("/offer", &body)).await;
    assert_eq!(response.status, 400, "{}", response.body);
    assert!(
        response.body.contains(&expected),
        "`{}` should carry `{expected}`",
        response.body
    );
    pc.close().await;

    // Still serving: a good offer gets its answer.
    let (pc, _events, ..) = connect(addr).await;
    pc.close().await;
}
