//! An echo server for browsers (and any WebRTC peer): everything a peer sends
//! comes back. Data channel messages are sent back on the channel they came
//! on (text as text, binary as binary); audio and video frames are sent back
//! on the transceiver they came on, with their RTP timestamp.
//!
//! ```text
//! cargo run --release -p peerconnection --example echo-server
//! cargo run --release -p peerconnection --example echo-server -- --listen 127.0.0.1:0
//! cargo run --release -p peerconnection --example echo-server -- --any-interface
//! ```
//!
//! Then open <http://127.0.0.1:8080> (or the address printed): the page opens
//! a data channel (type a text, see it echoed) or a camera and microphone
//! loopback (local and echoed video side by side), and shows the
//! connectionState and a few `getStats` numbers (inbound bytesReceived,
//! framesDecoded).
//!
//! # Signaling
//!
//! `POST /offer` with a JSON body (aiortc's examples' convention, at most
//! 256 KiB), sent once the client's ICE gathering is complete (no trickle):
//!
//! ```text
//! {"sdp": "v=0\r\no=- ...", "type": "offer"}
//! ```
//!
//! The answer comes back in the same shape, `{"sdp": "...", "type":
//! "answer"}`, once the server's own gathering is complete (or after 5 s), so
//! its candidates are in the SDP. Each offer gets its own PeerConnection,
//! kept until the peer closes it (DTLS close_notify), it fails, or it is not
//! connected for 30 s (after the answer, or after ICE lost the peer); at most
//! 32 at once (then 503).
//!
//! `GET /` serves the page. Anything else gets a 4xx with a text message, and
//! the server keeps serving: a body that is not JSON, JSON without an `sdp`
//! string or whose `type` is not `offer`, or SDP that does not parse or
//! validate (the sdp crate's error text) are 400; a body over 256 KiB is 413
//! (refused from its Content-Length, never read); a request head over
//! 16 KiB is 431; a request not received within 10 s is 408; an unknown path
//! is 404 and a wrong method 405. Every response says `Connection: close`.
//! To try one:
//!
//! ```text
//! curl -i -X POST http://127.0.0.1:8080/offer -H 'Content-Type: application/json' \
//!      -d '{"sdp": "v=0\r\nnot sdp", "type": "offer"}'
//! ```
//!
//! # Networks
//!
//! By default the server gathers ICE candidates on 127.0.0.1 only: a browser
//! on the same machine reaches it (it sends its checks to 127.0.0.1, and the
//! server learns the browser's address from them as a peer-reflexive
//! candidate), and nothing listens on other interfaces. `--any-interface`
//! gathers on every usable interface instead (the factory's defaults), for a
//! browser on another machine; the HTTP listener then usually wants
//! `--listen 0.0.0.0:8080` too. There are no STUN or TURN servers, so the
//! peer must reach one of the server's host addresses directly. Note that
//! browsers only grant getUserMedia to secure origins: `http://127.0.0.1`
//! and `http://localhost` count as such, another host's plain http does not.
//!
//! `RUST_LOG=info` (the default) logs every request and peer connection;
//! `RUST_LOG=debug` shows what the layers do.

mod server;

use std::net::SocketAddr;
use std::process::ExitCode;

use server::{EchoServer, Options};

const USAGE: &str = "usage: echo-server [--listen ADDR] [--any-interface]\n\
    \n  --listen ADDR      HTTP address (default 127.0.0.1:8080; port 0 picks one)\
    \n  --any-interface    gather ICE candidates on every interface, not 127.0.0.1 only";

fn parse_args() -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                let value = args.next().ok_or("--listen needs an address")?;
                options.listen = value
                    .parse::<SocketAddr>()
                    .map_err(|e| format!("--listen {value}: {e}"))?;
            }
            "--any-interface" => options.any_interface = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let options = match parse_args() {
        Ok(options) => options,
        Err(why) => {
            if !why.is_empty() {
                eprintln!("echo-server: {why}");
            }
            eprintln!("{USAGE}");
            return if why.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
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
    runtime.block_on(async {
        let any_interface = options.any_interface;
        let server = match EchoServer::bind(options.clone()).await {
            Ok(server) => server,
            Err(e) => {
                eprintln!("echo-server: cannot listen on {}: {e}", options.listen);
                return ExitCode::FAILURE;
            }
        };
        match server.local_addr() {
            Ok(addr) => println!(
                "echo-server listening on http://{addr} (ICE on {})",
                if any_interface {
                    "every interface"
                } else {
                    "127.0.0.1 only"
                }
            ),
            Err(e) => eprintln!("echo-server: local address: {e}"),
        }
        server.run().await;
        ExitCode::SUCCESS
    })
}
