//! `cargo xtask bench stun-server`: our `stun-server` against coturn under the
//! same load, on the same core, alternating, several rounds.
//!
//! ```text
//! cargo xtask bench stun-server [--rounds 3] [--duration 5] [--warmup 1]
//!     [--sockets 8] [--inflight 32] [--server-core 0] [--load-core 1]
//!     [--fingerprint] [--no-build] [--no-coturn] [--server-bin PATH]
//! ```
//!
//! 1. `cargo build --release` of `stun-server` (crate `stun`) and `stun-load`
//!    (crate `peerstack-benches`).
//! 2. Each round runs both servers, in alternating order: the server is pinned
//!    with `taskset -c <server-core>` (coturn with `--relay-threads=1
//!    --stun-only`, so all of its threads share that core too), then
//!    `taskset -c <load-core> stun-load` drives it over 127.0.0.1 only.
//! 3. Prints each run (responses/s and the server's CPU time during the run, read
//!    from `/proc/<pid>/stat`), the medians and the ratio ours / coturn.
//!
//! Responses per server CPU-second is printed next to responses/s because the
//! machine is shared: when other work steals the server's core, responses/s
//! drops but responses per CPU-second mostly does not.
//!
//! Servers are killed when a run ends, also on errors (a guard kills and reaps
//! the child on drop).
//!
//! `cargo xtask bench ice-connect` (see [`ice_connect`]): ICE connection setup
//! on loopback, our tokio driver (`ice-connect`) against aioice
//! (`interop/aioice/connect_bench.py`), alternating, several rounds.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: cargo xtask bench stun-server [--rounds N] [--duration SECS] [--warmup SECS] \
[--sockets N] [--inflight K] [--server-core C] [--load-core C] [--fingerprint] [--no-build] [--no-coturn] \
[--server-bin PATH]";

/// Options of one benchmark session.
struct Options {
    rounds: usize,
    duration: u64,
    warmup: u64,
    sockets: usize,
    inflight: usize,
    server_core: usize,
    load_core: usize,
    fingerprint: bool,
    build: bool,
    coturn: bool,
    /// A `stun-server` binary to measure instead of the one just built
    /// (e.g. a build of a proposed change).
    server_bin: Option<PathBuf>,
}

fn parse_number<T>(
    name: &str,
    value: Option<&String>,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let v = value.ok_or_else(|| format!("{name} needs a value\n{USAGE}"))?;
    let n: T = v
        .parse()
        .map_err(|_| format!("bad value for {name}: {v}\n{USAGE}"))?;
    if !range.contains(&n) {
        return Err(format!(
            "{name} must be in {}..={}",
            range.start(),
            range.end()
        ));
    }
    Ok(n)
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        rounds: 3,
        duration: 5,
        warmup: 1,
        sockets: 8,
        inflight: 32,
        server_core: 0,
        load_core: 1,
        fingerprint: false,
        build: true,
        coturn: true,
        server_bin: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rounds" => o.rounds = parse_number("--rounds", it.next(), 1..=20)?,
            "--duration" => o.duration = parse_number("--duration", it.next(), 1..=60)?,
            "--warmup" => o.warmup = parse_number("--warmup", it.next(), 0..=10)?,
            "--sockets" => o.sockets = parse_number("--sockets", it.next(), 1..=256)?,
            "--inflight" => o.inflight = parse_number("--inflight", it.next(), 1..=1024)?,
            "--server-core" => o.server_core = parse_number("--server-core", it.next(), 0..=1023)?,
            "--load-core" => o.load_core = parse_number("--load-core", it.next(), 0..=1023)?,
            "--fingerprint" => o.fingerprint = true,
            "--no-build" => o.build = false,
            "--no-coturn" => o.coturn = false,
            "--server-bin" => {
                let v = it
                    .next()
                    .ok_or_else(|| format!("--server-bin needs a path\n{USAGE}"))?;
                o.server_bin = Some(PathBuf::from(v));
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if o.server_core == o.load_core {
        return Err("--server-core and --load-core must differ".into());
    }
    Ok(o)
}

/// Runs the benchmark; see the module documentation.
pub(crate) fn stun_server(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let o = parse_options(args)?;
    let root = workspace_root();
    require_tool("taskset", &["--version"])?;
    if o.coturn {
        require_tool("turnserver", &["--version"]).map_err(|e| {
            format!("{e}\n(install coturn: `apt-get install coturn`, or pass --no-coturn)")
        })?;
    }
    if o.build {
        build(&root)?;
    }
    let bin_dir = target_dir(&root)?.join("release");
    let ours_bin = o
        .server_bin
        .clone()
        .unwrap_or_else(|| bin_dir.join("stun-server"));
    let load_bin = bin_dir.join("stun-load");
    for b in [&ours_bin, &load_bin] {
        if !b.is_file() {
            return Err(format!(
                "{} is missing: run without --no-build",
                b.display()
            ));
        }
    }
    let scratch = std::env::temp_dir().join(format!("peerstack-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let result = run_rounds(&o, &ours_bin, &load_bin, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    let (ours, coturn) = result?;
    report(&o, &ours, &coturn);
    Ok(())
}

fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn require_tool(tool: &str, probe: &[&str]) -> Result<(), String> {
    match Command::new(tool)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("`{tool}` is not available: {e}")),
    }
}

fn build(root: &Path) -> Result<(), String> {
    // `-p stun` alone is ambiguous: webrtc-rs's crate of the same name is a
    // dev-dependency of the benchmarks. The path spec names ours.
    let stun_spec = format!("path+file://{}", root.join("crates/stun").display());
    let mut cmd = cargo();
    cmd.current_dir(root).args([
        "build",
        "--release",
        "-p",
        &stun_spec,
        "--bin",
        "stun-server",
        "-p",
        "peerstack-benches",
        "--bin",
        "stun-load",
    ]);
    println!("$ {}", show(&cmd));
    let status = cmd.status().map_err(|e| format!("cargo: {e}"))?;
    if !status.success() {
        return Err(format!("build failed: {status}"));
    }
    Ok(())
}

/// The target directory, as cargo reports it (honours CARGO_TARGET_DIR and config).
fn target_dir(root: &Path) -> Result<PathBuf, String> {
    let out = cargo()
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo metadata failed: {}", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let key = "\"target_directory\":\"";
    let start = text
        .find(key)
        .ok_or("cargo metadata has no target_directory")?
        + key.len();
    let end = text[start..]
        .find('"')
        .ok_or("cargo metadata: unterminated target_directory")?;
    // Paths with escaped characters are not expected here; refuse rather than guess.
    let dir = &text[start..start + end];
    if dir.contains('\\') {
        return Err(format!("cannot use target directory {dir}"));
    }
    Ok(PathBuf::from(dir))
}

/// Which server a run measured.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    Ours,
    Coturn,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Ours => "peerstack stun-server",
            Server::Coturn => "coturn",
        }
    }
}

/// One measured run.
struct Run {
    responses_per_second: f64,
    /// Server CPU time (user + system, all threads) while the load ran.
    server_cpu_seconds: f64,
    /// Responses the load generator counted over the whole run, warm-up included.
    total_responses: f64,
    /// The load generator's result line.
    line: String,
}

impl Run {
    fn per_cpu_second(&self) -> f64 {
        if self.server_cpu_seconds > 0.0 {
            self.total_responses / self.server_cpu_seconds
        } else {
            f64::NAN
        }
    }
}

/// Kills and reaps a server on drop, whatever happened.
struct ServerGuard {
    child: Child,
    name: &'static str,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        println!("  stopped {} (pid {})", self.name, self.child.id());
    }
}

type Results = (Vec<Run>, Vec<Run>);

fn run_rounds(
    o: &Options,
    ours_bin: &Path,
    load_bin: &Path,
    scratch: &Path,
) -> Result<Results, String> {
    let mut ours = Vec::new();
    let mut coturn = Vec::new();
    for round in 1..=o.rounds {
        // Alternate the order so slow drifts (other load, thermal) hit both alike.
        let order: &[Server] = match (o.coturn, round % 2 == 1) {
            (false, _) => &[Server::Ours],
            (true, true) => &[Server::Ours, Server::Coturn],
            (true, false) => &[Server::Coturn, Server::Ours],
        };
        for &server in order {
            println!("round {round}/{}: {}", o.rounds, server.name());
            let run = run_once(o, server, ours_bin, load_bin, scratch)?;
            println!(
                "  {:>9.0} responses/s, server CPU {:.2} s -> {:.0} responses per server CPU-second",
                run.responses_per_second,
                run.server_cpu_seconds,
                run.per_cpu_second()
            );
            println!("  stun-load: {}", run.line);
            match server {
                Server::Ours => ours.push(run),
                Server::Coturn => coturn.push(run),
            }
        }
    }
    Ok((ours, coturn))
}

fn run_once(
    o: &Options,
    server: Server,
    ours_bin: &Path,
    load_bin: &Path,
    scratch: &Path,
) -> Result<Run, String> {
    let port = free_udp_port()?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let core = o.server_core.to_string();
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", &core]);
    match server {
        Server::Ours => {
            cmd.arg(ours_bin)
                .args(["--listen", &addr.to_string(), "--udp-only"])
                .env("RUST_LOG", "warn");
        }
        Server::Coturn => {
            cmd.arg("turnserver").args([
                "-n",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "--no-tcp",
                "--listening-ip=127.0.0.1",
                &format!("--listening-port={port}"),
                "--relay-threads=1",
                "--stun-only",
                &format!("--pidfile={}", scratch.join("turnserver.pid").display()),
                "--log-file=stdout",
                "--simple-log",
            ]);
        }
    }
    let log_path = scratch.join(match server {
        Server::Ours => "stun-server.log",
        Server::Coturn => "turnserver.log",
    });
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null()).stdout(log).stderr(log_err);
    println!("$ {}", show(&cmd));
    let child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", server.name()))?;
    let mut guard = ServerGuard {
        child,
        name: server.name(),
    };
    // `taskset` execs the server, so the child's pid is the server's.
    let pid = guard.child.id();
    wait_until_answering(&mut guard, addr, &log_path)?;

    let load_core = o.load_core.to_string();
    let mut load = Command::new("taskset");
    load.args(["-c", &load_core])
        .arg(load_bin)
        .args(["--server", &addr.to_string()])
        .args(["--sockets", &o.sockets.to_string()])
        .args(["--inflight", &o.inflight.to_string()])
        .args(["--duration", &o.duration.to_string()])
        .args(["--warmup", &o.warmup.to_string()]);
    if o.fingerprint {
        load.arg("--fingerprint");
    }
    println!("$ {}", show(&load));
    let cpu_before = process_cpu_seconds(pid)?;
    let out = load
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("stun-load: {e}"))?;
    let cpu_after = process_cpu_seconds(pid)?;
    drop(guard);
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        return Err(format!("stun-load failed ({}): {line}", out.status));
    }
    let responses_per_second = field(&line, "responses_per_second")?;
    let total_responses = field(&line, "total_responses")?;
    Ok(Run {
        responses_per_second,
        server_cpu_seconds: cpu_after - cpu_before,
        total_responses,
        line,
    })
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
fn free_udp_port() -> Result<u16, String> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    s.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local_addr: {e}"))
}

/// Sends Binding requests until one is answered (at most 10 s).
fn wait_until_answering(
    guard: &mut ServerGuard,
    addr: SocketAddr,
    log: &Path,
) -> Result<(), String> {
    let probe = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    probe
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| e.to_string())?;
    // A Binding request: type 0x0001, length 0, magic cookie, transaction id.
    let mut req = [0u8; 20];
    req[1] = 0x01;
    req[4..8].copy_from_slice(&0x2112_A442u32.to_be_bytes());
    req[8..20].copy_from_slice(b"xtask-probe!");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 1500];
    while Instant::now() < deadline {
        if let Ok(Some(status)) = guard.child.try_wait() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            return Err(format!(
                "{} exited at start ({status}); log:\n{text}",
                guard.name
            ));
        }
        let _ = probe.send_to(&req, addr);
        if let Ok((n, from)) = probe.recv_from(&mut buf) {
            if from == addr && n >= 20 && buf[8..20] == req[8..20] {
                return Ok(());
            }
        }
    }
    Err(format!(
        "{} did not answer on {addr} within 10 s",
        guard.name
    ))
}

/// User + system CPU time of a process (all its threads), from /proc.
fn process_cpu_seconds(pid: u32) -> Result<f64, String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| format!("{path}: unexpected format"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| format!("{path}: no field {}", i + 3))
    };
    // `rest` starts at field 3 (state), so field 14 is index 11.
    let total = ticks(11)? + ticks(12)?;
    Ok(total / clock_ticks_per_second())
}

/// `sysconf(_SC_CLK_TCK)`; 100 on every Linux this runs on (USER_HZ is fixed ABI).
fn clock_ticks_per_second() -> f64 {
    100.0
}

fn field(line: &str, key: &str) -> Result<f64, String> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no `{key}=` in the output line: {line}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn report(o: &Options, ours: &[Run], coturn: &[Run]) {
    println!();
    println!(
        "STUN Binding load: {} sockets x {} in flight, {} s per run after {} s warm-up, server on core {}, load on core {}",
        o.sockets, o.inflight, o.duration, o.warmup, o.server_core, o.load_core
    );
    let list = |runs: &[Run]| {
        runs.iter()
            .map(|r| format!("{:.0}", r.responses_per_second))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ours_rps = median(ours.iter().map(|r| r.responses_per_second).collect());
    let ours_cpu = median(ours.iter().map(Run::per_cpu_second).collect());
    println!(
        "peerstack stun-server: median {ours_rps:.0} responses/s ({}); {ours_cpu:.0} per server CPU-second",
        list(ours)
    );
    if coturn.is_empty() {
        return;
    }
    let coturn_rps = median(coturn.iter().map(|r| r.responses_per_second).collect());
    let coturn_cpu = median(coturn.iter().map(Run::per_cpu_second).collect());
    println!(
        "coturn:                median {coturn_rps:.0} responses/s ({}); {coturn_cpu:.0} per server CPU-second",
        list(coturn)
    );
    let ratio = ours_rps / coturn_rps;
    println!(
        "ratio ours/coturn: {ratio:.2}x responses/s, {:.2}x per server CPU-second (target >= 2x: {})",
        ours_cpu / coturn_cpu,
        if ratio >= 2.0 { "met" } else { "NOT met" }
    );
}

// ------------------------------------------------------------- ice-connect

const ICE_USAGE: &str = "usage: cargo xtask bench ice-connect [--rounds N] [--connections N] \
[--warmup N] [--no-build] [--no-aioice]";

/// The aioice side of the comparison.
const AIOICE_BENCH: &str = "interop/aioice/connect_bench.py";
/// The pinned Python packages of the aioice scripts.
const AIOICE_REQUIREMENTS: &str = "interop/aioice/requirements.txt";
/// The venv `cargo xtask test-all` makes for them (same path and stamp file,
/// so either command reuses the other's venv).
const INTEROP_VENV: &str = "target/interop-venv";
/// Issue #3's bar for our median.
const ICE_CONNECT_TARGET_US: f64 = 5_000.0;

struct IceOptions {
    rounds: usize,
    connections: usize,
    warmup: usize,
    build: bool,
    aioice: bool,
}

fn parse_ice_options(args: &[String]) -> Result<IceOptions, String> {
    let mut o = IceOptions {
        rounds: 3,
        connections: 200,
        warmup: 5,
        build: true,
        aioice: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rounds" => o.rounds = parse_number("--rounds", it.next(), 1..=20)?,
            "--connections" => {
                o.connections = parse_number("--connections", it.next(), 1..=10_000)?
            }
            "--warmup" => o.warmup = parse_number("--warmup", it.next(), 0..=100)?,
            "--no-build" => o.build = false,
            "--no-aioice" => o.aioice = false,
            other => return Err(format!("unknown argument `{other}`\n{ICE_USAGE}")),
        }
    }
    Ok(o)
}

/// One run's summary line, parsed.
struct ConnectRun {
    median: f64,
    line: String,
    /// `ice-connect` only: the median time to both Completed (pair
    /// nominated), the like-for-like figure next to aioice's `connect()`.
    completed_median: Option<f64>,
}

/// `1` runs `cargo xtask bench srtp` without libsrtp (ours and webrtc-srtp only).
const WITHOUT_LIBSRTP: &str = "PEERSTACK_BENCH_WITHOUT_LIBSRTP";

/// `cargo xtask bench srtp`: our SRTP, webrtc-srtp and libsrtp side by side
/// in one criterion binary. Makes sure `target/srtp-venv` (pylibsrtp, whose
/// wheel carries libsrtp 2 built with OpenSSL) exists, then runs the bench with
/// `PEERSTACK_LIBSRTP_SO` naming the wheel's shared object, which the bench
/// loads at run time, and `PEERSTACK_REQUIRE_PEERS=1`: without libsrtp the
/// command fails rather than print a comparison with a competitor missing.
/// `PEERSTACK_BENCH_WITHOUT_LIBSRTP=1` opts out (no venv, libsrtp's groups are
/// skipped with a message). Extra arguments go to criterion.
pub(crate) fn srtp(args: &[String]) -> Result<(), String> {
    let root = workspace_root();
    let mut bench = cargo();
    bench
        .args(["bench", "-p", "peerstack-benches", "--bench", "srtp", "--"])
        .args(["--warm-up-time", "1", "--measurement-time", "3"])
        .args(args)
        .current_dir(&root);
    if std::env::var(WITHOUT_LIBSRTP).is_ok_and(|v| v == "1") {
        println!("{WITHOUT_LIBSRTP}=1: running without requiring libsrtp");
    } else {
        let libsrtp = || -> Result<PathBuf, String> {
            let python = python_venv(&root, "target/srtp-venv", "interop/srtp/requirements.txt")?;
            libsrtp_so(&python)
        };
        let so = libsrtp().map_err(|e| {
            format!(
                "no libsrtp to compare with: {e}
(set {WITHOUT_LIBSRTP}=1 to run without it)"
            )
        })?;
        println!("libsrtp: {}", so.display());
        bench
            .env("PEERSTACK_LIBSRTP_SO", &so)
            .env("PEERSTACK_REQUIRE_PEERS", "1");
    }
    crate::cmd::run(&mut bench)
}

/// The shared object of the venv's `pylibsrtp` (`pylibsrtp/_binding.abi3.so`),
/// which exports libsrtp's C API.
fn libsrtp_so(python: &Path) -> Result<PathBuf, String> {
    let out = Command::new(python)
        .args(["-c", "import pylibsrtp._binding as b; print(b.__file__)"])
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "locating pylibsrtp's shared object: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let so = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if so.is_file() {
        Ok(so)
    } else {
        Err(format!(
            "pylibsrtp's shared object {} is missing",
            so.display()
        ))
    }
}

/// `cargo xtask bench ice-connect`: builds `ice-connect` (release), makes sure
/// the aioice venv exists, then runs `ice-connect` and `connect_bench.py`
/// alternately (`--rounds` times each, `--connections` connections per run),
/// inside a loopback-only network namespace when one can be made. Prints every
/// run's line, the median of the runs' medians for each, and the ratio.
pub(crate) fn ice_connect(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{ICE_USAGE}");
        return Ok(());
    }
    let o = parse_ice_options(args)?;
    let root = workspace_root();
    if o.build {
        let mut cmd = cargo();
        cmd.current_dir(&root).args([
            "build",
            "--release",
            "-p",
            "peerstack-benches",
            "--bin",
            "ice-connect",
        ]);
        crate::cmd::run(&mut cmd)?;
    }
    let ours_bin = target_dir(&root)?.join("release/ice-connect");
    if !ours_bin.is_file() {
        return Err(format!(
            "{} is missing: run without --no-build",
            ours_bin.display()
        ));
    }
    let python = if o.aioice {
        Some(aioice_venv(&root)?)
    } else {
        None
    };
    let script = root.join(AIOICE_BENCH);
    let netns = crate::cmd::netns_unavailable();
    match &netns {
        None => println!("running inside a fresh network namespace with only `lo`"),
        Some(why) => println!("note: running without a network namespace: {why}"),
    }
    let (connections, warmup) = (o.connections.to_string(), o.warmup.to_string());
    let count_args = [
        "--rounds",
        connections.as_str(),
        "--warmup",
        warmup.as_str(),
    ];
    let run = |program: &Path, args: &[&str], key: &str| -> Result<ConnectRun, String> {
        let mut cmd = match netns {
            None => crate::cmd::in_loopback_netns(program, args),
            Some(_) => {
                let mut c = Command::new(program);
                c.args(args);
                c
            }
        };
        let out = crate::cmd::output(cmd.current_dir(&root))?;
        let line = out
            .lines()
            .find(|l| l.starts_with(key) && l[key.len()..].starts_with(' '))
            .ok_or_else(|| format!("no `{key}` line in the output:\n{out}"))?
            .to_string();
        for l in out.lines() {
            println!("  {l}");
        }
        let completed_median = match out.lines().find(|l| l.starts_with("ice_completed_us ")) {
            Some(l) => Some(field(l, "median")?),
            None => None,
        };
        Ok(ConnectRun {
            median: field(&line, "median")?,
            line,
            completed_median,
        })
    };
    let script_str = script
        .to_str()
        .ok_or_else(|| format!("path is not UTF-8: {}", script.display()))?;

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for round in 1..=o.rounds {
        // Alternate the order so slow drifts (other load) hit both alike.
        let ours_first = round % 2 == 1;
        for step in 0..2 {
            if (step == 0) == ours_first {
                println!("round {round}/{}: peerstack ice-connect", o.rounds);
                ours.push(run(&ours_bin, &count_args, "ice_connect_us")?);
            } else if let Some(python) = &python {
                println!("round {round}/{}: aioice connect_bench.py", o.rounds);
                let mut a = vec![script_str];
                a.extend(count_args);
                theirs.push(run(python, &a, "aioice_connect_us")?);
            }
        }
    }
    report_ice(&o, &ours, &theirs);
    Ok(())
}

fn report_ice(o: &IceOptions, ours: &[ConnectRun], theirs: &[ConnectRun]) {
    println!();
    println!(
        "ICE connection setup on 127.0.0.1 (both have the other's candidates -> both connected), \
         {} runs x {} connections after {} warm-up",
        o.rounds, o.connections, o.warmup
    );
    let list = |runs: &[ConnectRun]| {
        runs.iter()
            .map(|r| format!("{:.1}", r.median))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ours_median = median(ours.iter().map(|r| r.median).collect());
    println!(
        "peerstack: median of run medians {ours_median:.1} us (runs: {})",
        list(ours)
    );
    for r in ours {
        println!("  {}", r.line);
    }
    let completed: Vec<f64> = ours.iter().filter_map(|r| r.completed_median).collect();
    let ours_completed = median(completed.clone());
    if !completed.is_empty() {
        println!(
            "peerstack to both Completed (pair nominated): median of run medians {ours_completed:.1} us"
        );
    }
    println!(
        "target median < {:.0} us: {}",
        ICE_CONNECT_TARGET_US,
        if ours_median < ICE_CONNECT_TARGET_US {
            "met"
        } else {
            "NOT met"
        }
    );
    if theirs.is_empty() {
        return;
    }
    let theirs_median = median(theirs.iter().map(|r| r.median).collect());
    println!(
        "aioice:    median of run medians {theirs_median:.1} us (runs: {})",
        list(theirs)
    );
    for r in theirs {
        println!("  {}", r.line);
    }
    println!(
        "ratio aioice/peerstack: {:.1}x (ahead of aioice: {})",
        theirs_median / ours_median,
        if ours_median < theirs_median {
            "met"
        } else {
            "NOT met"
        }
    );
    if !completed.is_empty() {
        println!(
            "ratio aioice/peerstack to nomination (aioice's connect() returns after it): {:.1}x",
            theirs_median / ours_completed
        );
    }
}

/// The Python of [`INTEROP_VENV`]; made with [`AIOICE_REQUIREMENTS`] when it is
/// missing or was made from other requirements (the same check and stamp file
/// as `cargo xtask test-all`'s interop step, without its apt fallback).
fn aioice_venv(root: &Path) -> Result<PathBuf, String> {
    python_venv(root, INTEROP_VENV, AIOICE_REQUIREMENTS)
        .map_err(|e| format!("{e}, or pass --no-aioice"))
}

/// A Python venv at `venv_dir` with `requirements` installed, made (or remade)
/// when missing or when the requirements file changed.
fn python_venv(root: &Path, venv_dir: &str, requirements_file: &str) -> Result<PathBuf, String> {
    let requirements_path = root.join(requirements_file);
    let requirements = std::fs::read_to_string(&requirements_path)
        .map_err(|e| format!("reading {}: {e}", requirements_path.display()))?;
    let venv = root.join(venv_dir);
    let python = venv.join("bin/python");
    let stamp = venv.join("requirements.installed.txt");
    if python.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == requirements) {
        println!(
            "venv {} is up to date with {requirements_file}",
            venv.display()
        );
        return Ok(python);
    }
    let python3 = crate::cmd::which("python3")
        .into_iter()
        .chain([PathBuf::from("/usr/bin/python3")])
        .find(|p| crate::cmd::probe(Command::new(p).args(["-c", "import venv, ensurepip"])))
        .ok_or(
            "no python3 with the venv module (apt-get install python3-venv, or run \
             `cargo xtask test-all --only interop-ice-aioice` as root, which installs it)",
        )?;
    if venv.exists() {
        std::fs::remove_dir_all(&venv).map_err(|e| format!("removing {}: {e}", venv.display()))?;
    }
    crate::cmd::run(Command::new(&python3).args(["-m", "venv"]).arg(&venv))?;
    crate::cmd::run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                "-r",
            ])
            .arg(&requirements_path),
    )?;
    std::fs::write(&stamp, &requirements)
        .map_err(|e| format!("writing {}: {e}", stamp.display()))?;
    Ok(python)
}
