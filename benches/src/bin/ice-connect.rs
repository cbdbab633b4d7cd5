//! `ice-connect`: ICE connection setup time on loopback with the tokio driver
//! (issue #3: "time from both agents having the other's candidates to both
//! connected, on loopback").
//!
//! ```text
//! ice-connect [--rounds 200] [--warmup 5] [--samples]
//! ```
//!
//! Each round, in one process on a current-thread tokio runtime (one thread,
//! as aioice's asyncio loop in `interop/aioice/connect_bench.py`):
//!
//! 1. binds two [`IceTransport`]s on 127.0.0.1 only (controlling and
//!    controlled; real UDP sockets), gives each the other's credentials and
//!    collects each one's local candidates until its gathering is complete
//!    (not timed);
//! 2. starts the clock, hands each transport the other's candidates and
//!    end-of-candidates (both hand-offs run concurrently), and stops the clock
//!    when `connected()` has resolved on both (state Connected or Completed:
//!    a selected pair whose check succeeded);
//! 3. then also waits until both are Completed (the controlling side has
//!    nominated the pair, checking is over) and records that time from the
//!    same start: aioice's `connect()` returns only after nomination, so this
//!    is the like-for-like figure next to it;
//! 4. checks that each transport's route leads to the other's socket, and
//!    closes both transports.
//!
//! The first `--warmup` rounds are run but not counted. Output, one line per
//! measurement, microseconds (p10/p90 by nearest rank):
//!
//! ```text
//! ice_connect_us median=… p10=… p90=… min=… max=… n=…
//! ice_completed_us median=… p10=… p90=… min=… max=… n=…
//! ```
//!
//! `--samples` also prints every connected sample (`samples_us=…`). Any
//! failure or a round that takes longer than 10 s exits non-zero.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ice::driver::{DriverConfig, IceTransport};
use ice::network::NetworkFilter;
use ice::{Candidate, GatheringState, IceConfig, IceConnectionState, IceEvent, IceRole};
use tokio::time::timeout;

const USAGE: &str = "usage: ice-connect [--rounds N] [--warmup N] [--samples]";

/// Longest any step of a round may take before the run fails.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

struct Args {
    rounds: usize,
    warmup: usize,
    samples: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        rounds: 200,
        warmup: 5,
        samples: false,
    };
    let mut it = std::env::args().skip(1);
    let count = |name: &str, v: Option<String>, min: usize| -> Result<usize, String> {
        let v = v.ok_or_else(|| format!("{name} needs a value\n{USAGE}"))?;
        let n: usize = v
            .parse()
            .map_err(|_| format!("bad value for {name}: {v}\n{USAGE}"))?;
        if !(min..=100_000).contains(&n) {
            return Err(format!("{name} must be in {min}..=100000"));
        }
        Ok(n)
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--rounds" => a.rounds = count("--rounds", it.next(), 1)?,
            "--warmup" => a.warmup = count("--warmup", it.next(), 0)?,
            "--samples" => a.samples = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(a)
}

fn config(role: IceRole) -> DriverConfig {
    DriverConfig {
        ice: IceConfig {
            role,
            ..Default::default()
        },
        networks: NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]),
        ..Default::default()
    }
}

/// `t`'s local candidates, collected until its gathering is complete.
async fn gather(t: &IceTransport) -> Result<Vec<Candidate>, String> {
    let mut candidates = Vec::new();
    loop {
        let event = timeout(STEP_TIMEOUT, t.next_event())
            .await
            .map_err(|_| "gathering did not complete in time".to_string())?
            .ok_or("transport stopped while gathering")?;
        match event {
            IceEvent::LocalCandidate(c) => {
                match c.socket_addr() {
                    Some(a) if a.ip().is_loopback() => {}
                    other => return Err(format!("non-loopback local candidate {other:?}")),
                }
                candidates.push(c);
            }
            IceEvent::GatheringStateChanged(GatheringState::Complete) => return Ok(candidates),
            _ => {}
        }
    }
}

/// Hands `to` all of `candidates`, then end-of-candidates.
async fn hand_over(to: &IceTransport, candidates: Vec<Candidate>) -> Result<(), ice::Error> {
    for c in candidates {
        to.add_remote_candidate(c).await?;
    }
    to.end_of_remote_candidates().await
}

/// One round: (time to both connected, time to both completed).
async fn round() -> Result<(Duration, Duration), String> {
    let e = |what: &str| {
        let what = what.to_string();
        move |err: ice::Error| format!("{what}: {err}")
    };
    let a = IceTransport::bind(config(IceRole::Controlling)).map_err(e("bind"))?;
    let b = IceTransport::bind(config(IceRole::Controlled)).map_err(e("bind"))?;
    let result = async {
        a.set_remote_credentials(b.local_credentials())
            .await
            .map_err(e("credentials"))?;
        b.set_remote_credentials(a.local_credentials())
            .await
            .map_err(e("credentials"))?;
        let (ca, cb) = tokio::join!(gather(&a), gather(&b));
        let (ca, cb) = (ca?, cb?);
        if ca.is_empty() || cb.is_empty() {
            return Err("a transport gathered no candidate".to_string());
        }

        let start = Instant::now();
        let timed = async {
            let (ha, hb) = tokio::join!(hand_over(&b, ca), hand_over(&a, cb));
            ha.map_err(e("hand-over"))?;
            hb.map_err(e("hand-over"))?;
            let (ra, rb) = tokio::join!(a.connected(), b.connected());
            ra.map_err(e("connected (controlling)"))?;
            rb.map_err(e("connected (controlled)"))?;
            let connected = start.elapsed();
            let completed = |s| s == IceConnectionState::Completed;
            let (ra, rb) = tokio::join!(a.wait_for_state(completed), b.wait_for_state(completed));
            ra.map_err(e("completed (controlling)"))?;
            rb.map_err(e("completed (controlled)"))?;
            Ok::<_, String>((connected, start.elapsed()))
        };
        let times = timeout(STEP_TIMEOUT, timed)
            .await
            .map_err(|_| format!("not connected and completed within {STEP_TIMEOUT:?}"))??;
        // Not timed: both send to the other's socket.
        match (a.route(), b.route()) {
            (Some(ra), Some(rb)) if ra.destination == rb.source && rb.destination == ra.source => {
                Ok(times)
            }
            routes => Err(format!("connected without matching routes: {routes:?}")),
        }
    }
    .await;
    let _ = a.close().await;
    let _ = b.close().await;
    result
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn summary(name: &str, samples: &[Duration]) -> String {
    let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
    us.sort_by(f64::total_cmp);
    format!(
        "{name} median={:.1} p10={:.1} p90={:.1} min={:.1} max={:.1} n={}",
        median(&us),
        percentile(&us, 10.0),
        percentile(&us, 90.0),
        us[0],
        us[us.len() - 1],
        us.len()
    )
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ice-connect: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ice-connect: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let mut connected = Vec::with_capacity(args.rounds);
        let mut completed = Vec::with_capacity(args.rounds);
        for i in 0..args.warmup + args.rounds {
            let (c, done) = round().await.map_err(|e| format!("round {}: {e}", i + 1))?;
            if i >= args.warmup {
                connected.push(c);
                completed.push(done);
            }
        }
        Ok::<_, String>((connected, completed))
    });
    match result {
        Ok((connected, completed)) => {
            println!("{}", summary("ice_connect_us", &connected));
            println!("{}", summary("ice_completed_us", &completed));
            if args.samples {
                let list: Vec<String> = connected
                    .iter()
                    .map(|d| format!("{:.1}", d.as_secs_f64() * 1e6))
                    .collect();
                println!("samples_us={}", list.join(","));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ice-connect: {e}");
            ExitCode::FAILURE
        }
    }
}
