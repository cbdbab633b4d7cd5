//! `stun-server`: a STUN Binding server over UDP and TCP.
//!
//! ```text
//! stun-server [--listen ADDR]... [--software NAME] [--udp-only|--tcp-only] [--stats-interval SECS]
//! ```
//! Default: `--listen 127.0.0.1:3478`. Each ADDR is served on UDP and TCP.
//! Logs a requests-per-second figure every `--stats-interval` seconds (default 5) via tracing.
//!
//! Built with the `server-bin` feature (a default feature of the crate, so
//! `cargo run -p stun --bin stun-server` works as it is).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stun::server::{serve_tcp, serve_udp, BindingServer, ServerStats};

struct Args {
    listen: Vec<SocketAddr>,
    software: String,
    udp: bool,
    tcp: bool,
    stats_interval: Duration,
}

const USAGE: &str = "usage: stun-server [--listen ADDR]... [--software NAME] [--udp-only|--tcp-only] [--stats-interval SECS]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: Vec::new(),
        software: concat!("peerstack-stun ", env!("CARGO_PKG_VERSION")).to_string(),
        udp: true,
        tcp: true,
        stats_interval: Duration::from_secs(5),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--listen" | "-l" => {
                let v = it.next().ok_or("--listen needs an address")?;
                args.listen
                    .push(v.parse().map_err(|e| format!("bad address {v}: {e}"))?);
            }
            "--software" => args.software = it.next().ok_or("--software needs a value")?,
            "--udp-only" => args.tcp = false,
            "--tcp-only" => args.udp = false,
            "--stats-interval" => {
                let v = it.next().ok_or("--stats-interval needs seconds")?;
                let secs: f64 = v.parse().map_err(|e| format!("bad interval {v}: {e}"))?;
                if !(secs > 0.0 && secs.is_finite()) {
                    return Err("--stats-interval must be positive".into());
                }
                args.stats_interval = Duration::from_secs_f64(secs);
            }
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if args.listen.is_empty() {
        args.listen
            .push("127.0.0.1:3478".parse().expect("valid default"));
    }
    Ok(args)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // One core is enough for a Binding server; a current-thread runtime keeps
    // it from contending with its own load generator when benchmarked.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "stun-server failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> std::io::Result<()> {
    let server = Arc::new(BindingServer::new(&args.software));
    let stats = Arc::new(ServerStats::default());
    let mut tasks = tokio::task::JoinSet::new();
    for addr in &args.listen {
        if args.udp {
            let socket = tokio::net::UdpSocket::bind(addr).await?;
            tracing::info!(addr = %socket.local_addr()?, "listening on UDP");
            tasks.spawn(serve_udp(socket, server.clone(), stats.clone()));
        }
        if args.tcp {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            tracing::info!(addr = %listener.local_addr()?, "listening on TCP");
            tasks.spawn(serve_tcp(listener, server.clone(), stats.clone()));
        }
    }
    let reporter = {
        let stats = stats.clone();
        let interval = args.stats_interval;
        async move {
            let mut last = (Instant::now(), 0u64);
            let mut tick = tokio::time::interval(interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                let now = Instant::now();
                let total = stats.responses.load(Ordering::Relaxed);
                let rate = (total - last.1) as f64 / (now - last.0).as_secs_f64();
                if total != last.1 {
                    tracing::info!(
                        requests_per_second = rate as u64,
                        total,
                        dropped = stats.dropped.load(Ordering::Relaxed),
                        "load"
                    );
                }
                last = (now, total);
            }
        }
    };
    tokio::select! {
        r = tasks.join_next() => match r {
            Some(Ok(Err(e))) => Err(e),
            _ => Ok(()),
        },
        _ = reporter => Ok(()),
        _ = tokio::signal::ctrl_c() => {
            tracing::info!(total = stats.responses.load(Ordering::Relaxed), "shutting down");
            Ok(())
        }
    }
}
