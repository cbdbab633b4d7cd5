//! Interop with real third-party STUN peers over 127.0.0.1:
//!
//! - our async client against coturn's `turnserver` (UDP and TCP);
//! - coturn's `turnutils_stunclient` and Debian's `stun` (RFC 3489) client
//!   against our server;
//! - the `stun-server` binary with our client, including its load log line.
//!
//! Every test is `#[ignore]`d: `cargo xtask test-all` (step `interop-stun`) runs
//! them with `--ignored` inside a network namespace that has only loopback, and
//! with `PEERSTACK_REQUIRE_PEERS=1`, so a test whose external program is not on
//! `PATH` fails there. Without that variable such a test prints why and passes
//! (it checked nothing). By hand:
//!
//! ```text
//! cargo test -p stun --test interop -- --ignored --test-threads=1 --nocapture
//! ```
//!
//! (The target needs the `server-bin` feature, a default one: see Cargo.toml.)

use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use stun::client::{binding, binding_tcp, BindingOptions};
use stun::server::{serve_udp, BindingServer, ServerStats};
use stun::RetransmitConfig;

#[path = "support/coturn_process.rs"]
mod coturn_process;
use coturn_process::{require, ChildGuard, CoturnProcess};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A loopback port free on both UDP and TCP right now.
fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind((LOCALHOST, 0)).expect("bind UDP port 0");
        let port = udp.local_addr().expect("local addr").port();
        if std::net::TcpListener::bind((LOCALHOST, port)).is_ok() {
            return port;
        }
    }
}

/// A UDP port `p` with `p + 1` also free (Debian's `stun` client binds both).
fn free_udp_pair() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind((LOCALHOST, 0)).expect("bind UDP port 0");
        let port = udp.local_addr().expect("local addr").port();
        if port < u16::MAX && std::net::UdpSocket::bind((LOCALHOST, port + 1)).is_ok() {
            return port;
        }
    }
}

/// What a finished external client printed.
struct Finished {
    /// Exit code; `None` if it was killed by a signal.
    code: Option<i32>,
    /// stdout followed by stderr.
    output: String,
}

/// Runs `cmd` with stdout and stderr captured, killing it after `limit`.
/// Panics if it had to be killed: every client here answers in well under that.
fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Finished {
    eprintln!("$ {cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    // Read both pipes on threads so a chatty child can never block on a full pipe.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let output = out.join().unwrap_or_default() + &err.join().unwrap_or_default();
            panic!("{cmd:?} did not finish within {limit:?}; it printed:\n{output}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = out.join().unwrap_or_default() + &err.join().unwrap_or_default();
    eprintln!("{output}");
    Finished {
        code: status.code(),
        output,
    }
}

/// A retransmission schedule for loopback: answers come in microseconds, so
/// give up after about a second instead of RFC 8489's 39.5 s.
fn fast_options() -> BindingOptions {
    let mut retransmit = RetransmitConfig::rfc8489();
    retransmit.initial_rto = Duration::from_millis(100);
    retransmit.max_transmissions = 4;
    retransmit.last_wait = Duration::from_millis(400);
    retransmit.reliable_timeout = Duration::from_secs(2);
    BindingOptions {
        retransmit,
        ..BindingOptions::default()
    }
}

/// The options used while waiting for a server to come up: one quick try.
fn probe_options() -> BindingOptions {
    let mut options = fast_options();
    options.retransmit.initial_rto = Duration::from_millis(50);
    options.retransmit.max_transmissions = 2;
    options.retransmit.last_wait = Duration::from_millis(100);
    options.retransmit.reliable_timeout = Duration::from_millis(500);
    options
}

/// Removes ANSI colour sequences (tracing's output may carry them).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters… final byte in @..~
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The number after `key` in `line`, e.g. `number_after("total=42 x", "total=")`.
fn number_after(line: &str, key: &str) -> Option<u64> {
    let rest = &line[line.find(key)? + key.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Our server (`serve_udp`, the `stun-server` driver) on 127.0.0.1, in process.
struct InProcessServer {
    addr: SocketAddr,
    stats: Arc<ServerStats>,
    _runtime: tokio::runtime::Runtime,
}

impl InProcessServer {
    fn start() -> InProcessServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let socket = runtime
            .block_on(tokio::net::UdpSocket::bind((LOCALHOST, 0)))
            .expect("bind server socket");
        let addr = socket.local_addr().expect("local addr");
        let stats = Arc::new(ServerStats::default());
        let server = Arc::new(BindingServer::new("peerstack-interop"));
        runtime.spawn(serve_udp(socket, server, stats.clone()));
        InProcessServer {
            addr,
            stats,
            _runtime: runtime,
        }
    }

    fn responses(&self) -> u64 {
        self.stats.responses.load(Ordering::Relaxed)
    }

    fn dropped(&self) -> u64 {
        self.stats.dropped.load(Ordering::Relaxed)
    }
}

// ---------------------------------------------------------------------------
// coturn
// ---------------------------------------------------------------------------

/// A coturn `turnserver` on 127.0.0.1 (UDP and TCP), started the way
/// peers/README.md describes (`support/coturn_process.rs`).
struct Coturn {
    addr: SocketAddr,
    process: CoturnProcess,
}

impl Coturn {
    fn start(turnserver: &Path) -> Coturn {
        let relay_min = 49_160 + (std::process::id() % 400) as u16 * 40;
        let process = CoturnProcess::spawn(turnserver, free_port(), relay_min, &[]);
        Coturn {
            addr: process.addr,
            process,
        }
    }

    fn log(&self) -> String {
        self.process.log()
    }

    /// Polls with our client (UDP and TCP) until coturn answers; panics with
    /// its log if it exits or stays silent for 10 s.
    async fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let socket = tokio::net::UdpSocket::bind((LOCALHOST, 0))
            .await
            .expect("bind");
        loop {
            self.process.check_running();
            let udp = binding(&socket, self.addr, &probe_options()).await;
            if udp.is_ok() && binding_tcp(self.addr, &probe_options()).await.is_ok() {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "turnserver did not answer within 10 s ({udp:?}); log:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Our async client, over UDP and TCP, against coturn: the mapped address must
/// be exactly the address our socket is bound to.
#[tokio::test]
#[ignore = "needs coturn; run by `cargo xtask test-all` in a loopback-only namespace"]
async fn our_client_against_coturn() {
    let Some(turnserver) = require("turnserver") else {
        return;
    };
    let mut coturn = Coturn::start(&turnserver);
    coturn.wait_until_ready().await;

    for _ in 0..10 {
        let socket = tokio::net::UdpSocket::bind((LOCALHOST, 0))
            .await
            .expect("bind");
        let mapped = binding(&socket, coturn.addr, &fast_options())
            .await
            .unwrap_or_else(|e| panic!("UDP binding: {e}; coturn log:\n{}", coturn.log()));
        assert_eq!(mapped, socket.local_addr().expect("local addr"));
    }

    for _ in 0..10 {
        let mapped = binding_tcp(coturn.addr, &fast_options())
            .await
            .unwrap_or_else(|e| panic!("TCP binding: {e}; coturn log:\n{}", coturn.log()));
        // binding_tcp owns its stream, so its local port is not known here; the
        // mapped address must still be a loopback client address, not the server's.
        assert_eq!(mapped.ip(), LOCALHOST);
        assert_ne!(mapped.port(), 0);
        assert_ne!(mapped, coturn.addr);
    }
}

// ---------------------------------------------------------------------------
// Third-party clients against our server
// ---------------------------------------------------------------------------

/// coturn's `turnutils_stunclient` (RFC 5389 Binding over UDP) against our
/// `serve_udp`: it must exit 0 and report a loopback reflexive address.
#[test]
#[ignore = "needs coturn; run by `cargo xtask test-all` in a loopback-only namespace"]
fn turnutils_stunclient_against_our_server() {
    let Some(client) = require("turnutils_stunclient") else {
        return;
    };
    let server = InProcessServer::start();
    let run = run_with_timeout(
        Command::new(client)
            .arg("-p")
            .arg(server.addr.port().to_string())
            .arg("127.0.0.1"),
        Duration::from_secs(5),
    );
    assert_eq!(run.code, Some(0), "turnutils_stunclient failed");
    // It prints e.g. "0: : IPv4. UDP reflexive addr: 127.0.0.1:41949".
    let reported: Vec<SocketAddr> = run
        .output
        .lines()
        .filter_map(|l| l.split("UDP reflexive addr: ").nth(1))
        .map(|a| {
            a.trim()
                .parse()
                .unwrap_or_else(|e| panic!("bad address {a:?}: {e}"))
        })
        .collect();
    assert!(!reported.is_empty(), "no reflexive address reported");
    for addr in &reported {
        assert_eq!(addr.ip(), LOCALHOST);
        assert_ne!(addr.port(), 0);
        assert_ne!(*addr, server.addr);
    }
    assert!(server.responses() >= 1);
    assert_eq!(server.dropped(), 0, "our server dropped a request");
}

/// Runs Debian's `stun` client (stund 0.97, RFC 3489: no magic cookie,
/// CHANGE-REQUEST tests) against `server` from source port `src` (it also
/// binds `src + 1`) and checks the mapped address and the NAT type it prints.
/// Its exit code is the NAT type (1 = Open), not success, so only the output
/// is checked.
fn check_debian_stun_client(client: &Path, server: SocketAddr) -> String {
    let src = free_udp_pair();
    let run = run_with_timeout(
        Command::new(client)
            .arg(server.to_string())
            .arg("-v")
            .arg("-p")
            .arg(src.to_string()),
        Duration::from_secs(20),
    );
    let expected = format!("MappedAddress = 127.0.0.1:{src}");
    assert!(
        run.output.lines().any(|l| l.trim() == expected),
        "no `{expected}` in its output"
    );
    // Alone on loopback there is no NAT: both coturn and our server make it say "Open".
    let verdict = run
        .output
        .lines()
        .find(|l| l.starts_with("Primary:"))
        .unwrap_or_else(|| panic!("no `Primary:` verdict (exit code {:?})", run.code))
        .trim()
        .to_string();
    assert_eq!(verdict, "Primary: Open");
    verdict
}

/// Debian's RFC 3489 `stun` client against our `serve_udp`.
#[test]
#[ignore = "needs stun-client; run by `cargo xtask test-all` in a loopback-only namespace"]
fn debian_stun_client_against_our_server() {
    let Some(client) = require("stun") else {
        return;
    };
    let server = InProcessServer::start();
    check_debian_stun_client(&client, server.addr);
    // Test I plus the two CHANGE-REQUEST tests at least.
    assert!(
        server.responses() >= 3,
        "only {} responses",
        server.responses()
    );
}

/// The same client against coturn, for comparison: it must reach the same verdict.
#[tokio::test]
#[ignore = "needs coturn and stun-client; run by `cargo xtask test-all` in a loopback-only namespace"]
async fn debian_stun_client_against_coturn() {
    let (Some(client), Some(turnserver)) = (require("stun"), require("turnserver")) else {
        return;
    };
    let mut coturn = Coturn::start(&turnserver);
    coturn.wait_until_ready().await;
    let addr = coturn.addr;
    tokio::task::spawn_blocking(move || check_debian_stun_client(&client, addr))
        .await
        .unwrap_or_else(|e| panic!("{e}; coturn log:\n{}", coturn.log()));
}

// ---------------------------------------------------------------------------
// The stun-server binary
// ---------------------------------------------------------------------------

/// `stun-server --listen 127.0.0.1:PORT --stats-interval 1` answers our client
/// over UDP and TCP and logs its load (`requests_per_second=… total=…`).
#[test]
#[ignore = "spawns a server; run by `cargo xtask test-all` in a loopback-only namespace"]
fn stun_server_binary_udp_tcp_and_load_log() {
    const UDP_REQUESTS: u64 = 300;
    const TCP_REQUESTS: u64 = 20;
    let port = free_port();
    let server = SocketAddr::new(LOCALHOST, port);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stun-server"));
    cmd.arg("--listen")
        .arg(server.to_string())
        .args(["--stats-interval", "1"])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    eprintln!("$ {cmd:?}");
    let mut child = ChildGuard(cmd.spawn().expect("spawn stun-server"));

    // Forward its log lines (colour stripped) to this test through a channel.
    let stderr = child.0.stderr.take().expect("piped stderr");
    let (tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let line = strip_ansi(&line);
            eprintln!("[stun-server] {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |what: &str, limit: Duration, pred: &dyn Fn(&str) -> bool| -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if pred(&line) => return line,
                Ok(_) => {}
                Err(e) => panic!("stun-server never logged {what} ({e})"),
            }
        }
    };
    wait_for("listening on TCP", Duration::from_secs(10), &|l| {
        l.contains("listening on TCP")
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let socket = tokio::net::UdpSocket::bind((LOCALHOST, 0))
            .await
            .expect("bind");
        let local = socket.local_addr().expect("local addr");
        for i in 0..UDP_REQUESTS {
            let mapped = binding(&socket, server, &fast_options())
                .await
                .unwrap_or_else(|e| panic!("UDP binding #{i}: {e}"));
            assert_eq!(mapped, local);
        }
        for i in 0..TCP_REQUESTS {
            let mapped = binding_tcp(server, &fast_options())
                .await
                .unwrap_or_else(|e| panic!("TCP binding #{i}: {e}"));
            assert_eq!(mapped.ip(), LOCALHOST);
            assert_ne!(mapped.port(), 0);
            assert_ne!(mapped, server);
        }
    });
    assert!(
        child.0.try_wait().expect("try_wait").is_none(),
        "stun-server exited"
    );

    // The reporter ticks every second and logs whenever the total moved; wait
    // for the line that counts every response.
    let line = wait_for(
        "a load line counting every request",
        Duration::from_secs(5),
        &|l| {
            l.contains("requests_per_second=")
                && number_after(l, "total=").is_some_and(|t| t >= UDP_REQUESTS + TCP_REQUESTS)
        },
    );
    assert!(number_after(&line, "requests_per_second=").is_some());
    assert_eq!(number_after(&line, "dropped="), Some(0), "{line}");
}
