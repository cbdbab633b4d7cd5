//! The echo server's logic (see `main.rs` for usage): a minimal HTTP/1.1
//! server on tokio that serves the page and answers `POST /offer`, and one
//! task per PeerConnection that echoes data channel messages and media
//! frames back to the peer.
//!
//! Kept apart from `main.rs` so `tests/echo_server.rs` can include it
//! (`#[path = "../examples/echo-server/server.rs"] mod server;`) and run the
//! server inside its own runtime.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::Instant;

use peerconnection::media_channels::sdp::dtls_transport::controller::PeerConnectionState;
use peerconnection::media_channels::sdp::dtls_transport::ice::network::NetworkFilter;
use peerconnection::media_channels::sdp::dtls_transport::ice::GatheringState;
use peerconnection::media_channels::sdp::model::MediaType;
use peerconnection::media_channels::sdp::{JsepSessionDescription, SdpType};
use peerconnection::peer_connection::{
    PeerConnection, PeerConnectionEvents, PeerConnectionFactory,
};
use peerconnection::session::SessionEvent;
use peerconnection::RtcConfiguration;

/// Largest request body (`POST /offer`) accepted; past it, 413 without
/// reading the body.
pub(crate) const MAX_BODY: usize = 256 * 1024;
/// Largest request line plus headers; past it, 431.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// What is read of a refused request's remaining bytes before closing (so
/// the client sees the response rather than a reset), at most.
const DRAIN: usize = 64 * 1024;

/// The page served at `GET /`.
const PAGE: &str = include_str!("index.html");

/// Settings of an [`EchoServer`].
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Where the HTTP server listens.
    pub(crate) listen: SocketAddr,
    /// Gather ICE candidates on every usable interface instead of
    /// 127.0.0.1 only.
    pub(crate) any_interface: bool,
    /// Bound on reading a whole request (headers and body): slower clients
    /// get 408.
    pub(crate) read_timeout: Duration,
    /// Bound on the wait for our ICE gathering before answering.
    pub(crate) gather_timeout: Duration,
    /// A peer that is not connected this long after its answer (or after
    /// it disconnected) is closed.
    pub(crate) connect_timeout: Duration,
    /// Most PeerConnections alive at once; more offers get 503.
    pub(crate) max_peers: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            any_interface: false,
            read_timeout: Duration::from_secs(10),
            gather_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(30),
            max_peers: 32,
        }
    }
}

/// The bound HTTP listener and what every request shares.
pub(crate) struct EchoServer {
    listener: TcpListener,
    shared: Arc<Shared>,
}

struct Shared {
    options: Options,
    factory: PeerConnectionFactory,
    /// PeerConnections alive.
    peers: AtomicUsize,
}

impl EchoServer {
    /// Binds the listener (port 0 picks a free one: see
    /// [`local_addr`](Self::local_addr)).
    pub(crate) async fn bind(options: Options) -> std::io::Result<EchoServer> {
        let listener = TcpListener::bind(options.listen).await?;
        let factory = if options.any_interface {
            PeerConnectionFactory::new()
        } else {
            PeerConnectionFactory::new()
                .with_network_filter(NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]))
        };
        Ok(EchoServer {
            listener,
            shared: Arc::new(Shared {
                options,
                factory,
                peers: AtomicUsize::new(0),
            }),
        })
    }

    /// The address the listener is bound to.
    pub(crate) fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// How many PeerConnections are alive now, readable after
    /// [`run`](Self::run) took the server.
    #[allow(dead_code)] // Used by tests/echo_server.rs, not by main.rs.
    pub(crate) fn peer_count(&self) -> impl Fn() -> usize + Send + Sync + 'static {
        let shared = self.shared.clone();
        move || shared.peers.load(Ordering::SeqCst)
    }

    /// Serves forever: one task per HTTP connection (one request each,
    /// `Connection: close`), one per PeerConnection.
    pub(crate) async fn run(self) {
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    let shared = self.shared.clone();
                    tokio::spawn(async move {
                        if let Err(e) = serve_connection(stream, peer, shared).await {
                            tracing::debug!(%peer, "HTTP connection: {e}");
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

// ------------------------------------------------------------------ HTTP

/// An HTTP response (always `Connection: close`).
#[derive(Debug)]
struct Response {
    status: u16,
    content_type: &'static str,
    extra: Option<(&'static str, &'static str)>,
    body: Vec<u8>,
}

impl Response {
    fn text(status: u16, message: impl Into<String>) -> Response {
        let mut body = message.into().into_bytes();
        body.push(b'\n');
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            extra: None,
            body,
        }
    }

    fn with_header(mut self, name: &'static str, value: &'static str) -> Response {
        self.extra = Some((name, value));
        self
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
             Cache-Control: no-store\r\nConnection: close\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len()
        );
        if let Some((name, value)) = self.extra {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        let mut out = out.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// A request's line and the headers this server reads.
#[derive(Debug)]
struct Head {
    method: String,
    path: String,
    content_length: Option<usize>,
    chunked: bool,
    /// `Expect: 100-continue` (curl's, for large bodies).
    expect_continue: bool,
}

/// Reads one request, answers it and closes.
async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
) -> std::io::Result<()> {
    let read_timeout = shared.options.read_timeout;
    let mut buf = Vec::new();
    let (response, request) =
        match tokio::time::timeout(read_timeout, read_request(&mut stream, &mut buf)).await {
            Err(_) => (
                Response::text(408, "request not received in time"),
                String::from("(timeout)"),
            ),
            Ok(Err(Failure::Closed)) => return Ok(()),
            Ok(Err(Failure::Io(e))) => return Err(e),
            Ok(Err(Failure::Respond(response))) => (response, String::from("(refused)")),
            Ok(Ok((head, body))) => {
                let request = format!("{} {}", head.method, head.path);
                (route(&head, body, &shared).await, request)
            }
        };
    if response.status == 200 {
        tracing::info!(%peer, %request, status = response.status, "HTTP");
    } else {
        let why = String::from_utf8_lossy(&response.body);
        tracing::info!(%peer, %request, status = response.status, why = %why.trim_end(), "HTTP");
    }
    let write = async {
        stream.write_all(&response.to_bytes()).await?;
        stream.shutdown().await?;
        // Lingering close: read (a bounded amount of) what the client still
        // sends, so closing does not reset the connection before it read
        // the response.
        let mut sink = [0u8; 4096];
        let mut drained = 0;
        while drained < DRAIN {
            match stream.read(&mut sink).await? {
                0 => break,
                n => drained += n,
            }
        }
        Ok::<(), std::io::Error>(())
    };
    match tokio::time::timeout(read_timeout.min(Duration::from_secs(2)), write).await {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}

enum Failure {
    /// The client closed before sending a whole request head.
    Closed,
    Io(std::io::Error),
    /// The request is refused before routing (431, 413, 400…).
    Respond(Response),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e)
    }
}

/// Reads the request head (at most [`MAX_HEAD`] bytes) and its
/// Content-Length body (at most [`MAX_BODY`] bytes, checked before reading).
/// A body is read only for `POST /offer`; routing errors come out of
/// [`route`].
async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<(Head, Vec<u8>), Failure> {
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() >= MAX_HEAD {
            return Err(Failure::Respond(Response::text(
                431,
                format!("request line and headers exceed {MAX_HEAD} bytes"),
            )));
        }
        let room = (MAX_HEAD - buf.len()).min(chunk.len());
        let n = stream.read(&mut chunk[..room]).await?;
        if n == 0 {
            return Err(if buf.is_empty() {
                Failure::Closed
            } else {
                Failure::Respond(Response::text(400, "request head ends early"))
            });
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = parse_head(&buf[..head_end]).map_err(Failure::Respond)?;
    if head.method != "POST" || route_path(&head.path) != "/offer" {
        // Only POST /offer has a body; route() answers the rest.
        return Ok((head, Vec::new()));
    }
    if head.chunked {
        return Err(Failure::Respond(Response::text(
            411,
            "chunked bodies are not accepted: send a Content-Length",
        )));
    }
    let Some(len) = head.content_length else {
        return Err(Failure::Respond(Response::text(
            411,
            "POST /offer needs a Content-Length",
        )));
    };
    if len > MAX_BODY {
        return Err(Failure::Respond(Response::text(
            413,
            format!("body of {len} bytes exceeds the {MAX_BODY}-byte limit"),
        )));
    }
    let mut body = buf.split_off(head_end);
    if body.len() < len {
        if head.expect_continue && body.is_empty() {
            stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        let start = body.len();
        body.resize(len, 0);
        stream.read_exact(&mut body[start..]).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Failure::Respond(Response::text(400, "body shorter than its Content-Length"))
            } else {
                Failure::Io(e)
            }
        })?;
    }
    // Bytes past Content-Length (a pipelined request) are ignored: one
    // request per connection.
    body.truncate(len);
    Ok((head, body))
}

/// Parses the request line and headers (`raw` ends with the blank line).
fn parse_head(raw: &[u8]) -> Result<Head, Response> {
    let text =
        std::str::from_utf8(raw).map_err(|_| Response::text(400, "request head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Response::text(
            400,
            format!("malformed request line `{}`", truncate(request_line)),
        ));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(Response::text(505, "only HTTP/1.x is served"));
    }
    if method.is_empty() || !path.starts_with('/') {
        return Err(Response::text(
            400,
            format!("malformed request line `{}`", truncate(request_line)),
        ));
    }
    let mut head = Head {
        method: method.to_string(),
        path: path.to_string(),
        content_length: None,
        chunked: false,
        expect_continue: false,
    };
    for line in lines.take_while(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(Response::text(
                400,
                format!("malformed header line `{}`", truncate(line)),
            ));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let len: usize = value.parse().map_err(|_| {
                Response::text(400, format!("bad Content-Length `{}`", truncate(value)))
            })?;
            if head.content_length.is_some_and(|l| l != len) {
                return Err(Response::text(400, "conflicting Content-Length headers"));
            }
            head.content_length = Some(len);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = true;
        } else if name.eq_ignore_ascii_case("expect") {
            head.expect_continue = value.eq_ignore_ascii_case("100-continue");
        }
    }
    Ok(head)
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The path without its query string.
fn route_path(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

async fn route(head: &Head, body: Vec<u8>, shared: &Arc<Shared>) -> Response {
    match (route_path(&head.path), head.method.as_str()) {
        ("/" | "/index.html", "GET") => Response {
            status: 200,
            content_type: "text/html; charset=utf-8",
            extra: None,
            body: PAGE.as_bytes().to_vec(),
        },
        ("/" | "/index.html", _) => {
            Response::text(405, format!("{} / is not served: use GET", head.method))
                .with_header("Allow", "GET")
        }
        ("/offer", "POST") => match offer(&body, shared).await {
            Ok(answer) => Response {
                status: 200,
                content_type: "application/json",
                extra: None,
                body: answer.into_bytes(),
            },
            Err(response) => response,
        },
        ("/offer", _) => Response::text(
            405,
            format!(
                "{} /offer is not served: POST the offer as JSON",
                head.method
            ),
        )
        .with_header("Allow", "POST"),
        (path, _) => Response::text(404, format!("no such page: {}", truncate(path))),
    }
}

// ------------------------------------------------------------------ signaling

/// Parses `{"sdp": "...", "type": "offer"}`, makes a PeerConnection for it
/// and returns `{"sdp": "...", "type": "answer"}` once our gathering is
/// complete (or timed out), candidates included.
async fn offer(body: &[u8], shared: &Arc<Shared>) -> Result<String, Response> {
    let json: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Response::text(400, format!("body is not JSON: {e}")))?;
    let Some(sdp) = json.get("sdp").and_then(|s| s.as_str()) else {
        return Err(Response::text(
            400,
            r#"expected a JSON object {"sdp": "...", "type": "offer"}: no "sdp" string"#,
        ));
    };
    match json.get("type").and_then(|t| t.as_str()) {
        Some("offer") => {}
        other => {
            return Err(Response::text(
                400,
                format!(
                    r#""type" must be "offer" (this server only answers), got {}"#,
                    other.map_or("nothing".to_string(), |t| format!("\"{}\"", truncate(t)))
                ),
            ))
        }
    }
    let offer = JsepSessionDescription::parse(SdpType::Offer, sdp)
        .map_err(|e| Response::text(400, format!("the offer's SDP is refused: {e}")))?;

    // Reserve a place before making anything.
    let reserved = shared
        .peers
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < shared.options.max_peers).then_some(n + 1)
        });
    if reserved.is_err() {
        return Err(Response::text(
            503,
            format!(
                "already {} peer connections: try again later",
                shared.options.max_peers
            ),
        ));
    }
    let place = Place(shared.clone());
    let (pc, events) = shared
        .factory
        .create_peer_connection(RtcConfiguration::default())
        .await
        .map_err(|e| Response::text(500, format!("cannot create a peer connection: {e}")))?;
    match negotiate(&pc, offer).await {
        Ok(()) => {}
        Err(response) => {
            pc.close().await;
            return Err(response);
        }
    }
    let (gathered, gathering) = oneshot::channel();
    let connect_timeout = shared.options.connect_timeout;
    tokio::spawn(echo(pc.clone(), events, gathered, connect_timeout, place));
    if tokio::time::timeout(shared.options.gather_timeout, gathering)
        .await
        .is_err()
    {
        tracing::warn!("ICE gathering not complete in time: answering with what was gathered");
    }
    let answer = pc
        .local_description()
        .await
        .ok()
        .flatten()
        .ok_or_else(|| Response::text(500, "the peer connection closed before answering"))?;
    Ok(serde_json::json!({ "sdp": answer.to_sdp(), "type": "answer" }).to_string())
}

/// Applies the offer, sends back on every audio and video transceiver it
/// made, and sets the answer.
async fn negotiate(pc: &PeerConnection, offer: JsepSessionDescription) -> Result<(), Response> {
    pc.set_remote_description(offer)
        .await
        .map_err(|e| Response::text(400, format!("the offer is refused: {e}")))?;
    let transceivers = pc
        .transceivers()
        .await
        .map_err(|e| Response::text(500, e.to_string()))?;
    for (i, (_, kind, _)) in transceivers.iter().enumerate() {
        let track = match kind {
            MediaType::Audio => format!("echo-audio-{i}"),
            MediaType::Video => format!("echo-video-{i}"),
            _ => continue,
        };
        // addTrack takes the first transceiver of this kind that does not
        // send yet: one per call, in order.
        pc.add_track(kind.clone(), &track, &["echo"])
            .await
            .map_err(|e| Response::text(500, format!("add_track: {e}")))?;
    }
    let answer = pc
        .create_answer()
        .await
        .map_err(|e| Response::text(400, format!("cannot answer this offer: {e}")))?;
    pc.set_local_description(answer)
        .await
        .map_err(|e| Response::text(500, format!("set_local_description: {e}")))
}

/// A place among [`Options::max_peers`], given back when dropped.
struct Place(Arc<Shared>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.peers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One PeerConnection's life: signals the end of gathering, echoes data
/// channel messages and frames, and ends (closing the connection) when it
/// fails, closes, the peer closes it, or it stays unconnected for
/// `connect_timeout` (after the answer, or after ICE disconnected).
async fn echo(
    pc: PeerConnection,
    mut events: PeerConnectionEvents,
    gathered: oneshot::Sender<()>,
    connect_timeout: Duration,
    place: Place,
) {
    let mut gathered = Some(gathered);
    let mut deadline = Some(Instant::now() + connect_timeout);
    let (mut messages, mut frames) = (0u64, 0u64);
    tracing::info!(
        peers = place.0.peers.load(Ordering::SeqCst),
        "peer connection created"
    );
    loop {
        let event = tokio::select! {
            event = events.recv() => match event {
                Some(event) => event,
                None => break,
            },
            _ = sleep_until(deadline) => {
                tracing::info!("peer not connected within {connect_timeout:?}: closing");
                break;
            }
        };
        match event {
            SessionEvent::IceGatheringState(GatheringState::Complete)
            | SessionEvent::EndOfCandidates => {
                if let Some(tx) = gathered.take() {
                    let _ = tx.send(());
                }
            }
            SessionEvent::ConnectionState(state) => {
                tracing::info!(?state, "connection state");
                match state {
                    PeerConnectionState::Connected => {
                        deadline = None;
                    }
                    // ICE lost the peer: wait for it to come back, a while.
                    PeerConnectionState::Disconnected => {
                        deadline = Some(Instant::now() + connect_timeout)
                    }
                    PeerConnectionState::Failed | PeerConnectionState::Closed => break,
                    _ => {}
                }
            }
            // The peer's DTLS close_notify: it hung up.
            SessionEvent::TransportClosed { .. } => {
                tracing::info!("the peer closed the connection");
                break;
            }
            SessionEvent::DataChannelOpen {
                channel,
                label,
                protocol,
                remote,
            } => tracing::info!(?channel, %label, %protocol, remote, "data channel open"),
            SessionEvent::DataChannelMessage {
                channel,
                binary,
                data,
            } => {
                messages += 1;
                if let Err(e) = pc.send_data(channel, data, binary).await {
                    tracing::warn!(?channel, "echo of a message: {e}");
                }
            }
            SessionEvent::Track {
                transceiver,
                mid,
                kind,
            } => tracing::info!(?transceiver, %mid, ?kind, "track"),
            SessionEvent::Frame {
                transceiver, frame, ..
            } => {
                frames += 1;
                if let Err(e) = pc
                    .send_frame(transceiver, frame.rtp_timestamp, frame.data)
                    .await
                {
                    // A sendonly offer leaves us recvonly, for one.
                    tracing::debug!(?transceiver, "echo of a frame: {e}");
                }
            }
            SessionEvent::KeyframeRequested { transceiver } => {
                // The peer's decoder wants a keyframe of what we echo: ask
                // the peer's encoder for one.
                let _ = pc.request_keyframe(transceiver).await;
            }
            SessionEvent::DataChannelError { channel, error } => {
                tracing::warn!(?channel, "data channel error: {error}")
            }
            _ => {}
        }
    }
    pc.close().await;
    drop(place);
    tracing::info!(messages, frames, "peer connection closed");
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
