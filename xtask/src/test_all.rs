//! `cargo xtask test-all`: every check the project has, in order, as a list of
//! [`Step`]s. A failing step does not stop the run; the summary at the end
//! lists every step and the exit code says whether any failed.
//!
//! To add a suite (aiortc, Chromium…), write a `fn(&Context) -> Outcome` and
//! add a [`Step`] to [`STEPS`].
//!
//! Nothing that needs a peer may pass without running. Every test run by a step
//! gets [`REQUIRE_PEERS`]` = 1`, which turns a test's "peer missing, skipped"
//! into a failure (the Chromium and Firefox tests have their own variables, see `chromium.rs`
//! and `firefox.rs`:
//! the plain `test` step runs them outside a namespace, where they must skip).
//! A step that cannot run here returns [`Outcome::Skipped`]; on CI (`CI=true`,
//! which `.ci/run` sets) that counts as a failure, elsewhere the summary says
//! loudly what did not run. `--quick` leaves the slow steps out on purpose. Anything that talks to a peer runs inside a
//! loopback-only network namespace ([`cmd::in_loopback_netns`]), or, for the
//! NAT topology of `interop-ice-nat`, inside namespaces the step makes and
//! deletes (`netns.rs`, which also has `interop-ice-coturn`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::cmd;

// The coturn and NAT-topology steps live in their own file.
#[path = "netns.rs"]
mod netns;

/// Seconds each fuzz target runs unless `FUZZ_SECONDS` says otherwise.
const DEFAULT_FUZZ_SECONDS: u64 = 20;

/// Set to `1` for every test a step runs: a test whose peer (coturn, Debian's `stun`,
/// `openssl`, libsrtp…) is missing then fails instead of printing that it skipped.
pub(crate) const REQUIRE_PEERS: &str = "PEERSTACK_REQUIRE_PEERS";

/// The note of the steps `--quick` leaves out.
const QUICK: &str = "--quick";

/// Whether this is a CI run (`CI` set to anything but empty, `0` or `false`):
/// there a step that skips fails the run.
fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// What the steps need to know about the run.
pub(crate) struct Context {
    /// The workspace root (the directory holding the top `Cargo.toml`).
    pub(crate) root: PathBuf,
}

/// How a step ended.
pub(crate) enum Outcome {
    /// Everything it checked passed.
    Ok,
    /// Something failed; the message says what.
    Failed(String),
    /// The step could not run here; the message says why.
    Skipped(String),
}

impl From<Result<(), String>> for Outcome {
    fn from(r: Result<(), String>) -> Outcome {
        match r {
            Ok(()) => Outcome::Ok,
            Err(e) => Outcome::Failed(e),
        }
    }
}

/// One entry of the test plan.
pub(crate) struct Step {
    /// Short name shown in the header and the summary.
    pub(crate) name: &'static str,
    /// Whether `--quick` leaves this step out (slow or needs extra tools).
    pub(crate) slow: bool,
    /// Runs the step.
    pub(crate) run: fn(&Context) -> Outcome,
}

/// The test plan, in the order it runs.
pub(crate) const STEPS: &[Step] = &[
    Step {
        name: "fmt",
        slow: false,
        run: fmt,
    },
    Step {
        name: "clippy",
        slow: false,
        run: clippy,
    },
    Step {
        name: "doc",
        slow: false,
        run: doc,
    },
    Step {
        name: "test",
        slow: false,
        run: test,
    },
    Step {
        name: "main-job",
        slow: true,
        run: main_job,
    },
    Step {
        name: "fuzz",
        slow: true,
        run: fuzz,
    },
    Step {
        name: "interop-stun",
        slow: true,
        run: interop_stun,
    },
    Step {
        name: "interop-ice-aioice",
        slow: true,
        run: interop_ice_aioice,
    },
    Step {
        name: "interop-ice-coturn",
        slow: true,
        run: netns::interop_ice_coturn,
    },
    Step {
        name: "interop-ice-nat",
        slow: true,
        run: netns::interop_ice_nat,
    },
    Step {
        name: "interop-ice-mdns",
        slow: true,
        run: interop_ice_mdns,
    },
    Step {
        name: "interop-dtls",
        slow: true,
        run: interop_dtls,
    },
    Step {
        name: "interop-sdp",
        slow: true,
        run: crate::chromium::interop_sdp,
    },
    Step {
        name: "interop-firefox",
        slow: true,
        run: crate::firefox::interop_firefox,
    },
    Step {
        name: "interop-aiortc",
        slow: true,
        run: interop_aiortc,
    },
    Step {
        name: "lossy-path",
        slow: true,
        run: lossy_path,
    },
];

/// Runs `cargo xtask test-all [--quick] [--only STEP[,STEP…]]`.
pub(crate) fn main(root: PathBuf, args: &[String]) -> Result<(), String> {
    let mut quick = false;
    let mut only: Option<Vec<String>> = None;
    let mut args = args.iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--only" => {
                let names = args.next().ok_or("test-all: --only needs step names")?;
                let names: Vec<String> = names.split(',').map(String::from).collect();
                if let Some(bad) = names.iter().find(|n| STEPS.iter().all(|s| s.name != *n)) {
                    let all: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
                    return Err(format!(
                        "test-all: no step `{bad}`; steps: {}",
                        all.join(", ")
                    ));
                }
                only = Some(names);
            }
            other => return Err(format!("test-all: unknown argument `{other}`")),
        }
    }
    let ctx = Context { root };
    let ci = on_ci();
    let mut results: Vec<(&str, Outcome, Duration)> = Vec::new();
    for step in STEPS {
        if only
            .as_ref()
            .is_some_and(|names| !names.iter().any(|n| n == step.name))
        {
            continue;
        }
        if quick && step.slow {
            results.push((step.name, Outcome::Skipped(QUICK.into()), Duration::ZERO));
            continue;
        }
        println!("\n==> {}", step.name);
        let start = Instant::now();
        let outcome = judge((step.run)(&ctx), ci);
        let elapsed = start.elapsed();
        match &outcome {
            Outcome::Ok => println!("==> {}: ok ({:.1} s)", step.name, elapsed.as_secs_f64()),
            Outcome::Failed(why) => println!("==> {}: FAILED: {why}", step.name),
            Outcome::Skipped(why) => println!("==> {}: SKIPPED: {why}", step.name),
        }
        results.push((step.name, outcome, elapsed));
    }
    print_summary(&results);
    let not_run: Vec<&str> = results
        .iter()
        .filter(|(_, o, _)| matches!(o, Outcome::Skipped(why) if why != QUICK))
        .map(|(name, _, _)| *name)
        .collect();
    if !not_run.is_empty() {
        println!(
            "\n==> WARNING: {} step(s) did not run here: {}. This run checked less than CI \
             does, where a skipped step fails (CI=true); see each step's note for what is missing.",
            not_run.len(),
            not_run.join(", ")
        );
    }
    let failed = results
        .iter()
        .filter(|(_, o, _)| matches!(o, Outcome::Failed(_)))
        .count();
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} step(s) failed"))
    }
}

/// A step's outcome as the run counts it: on CI a step that could not run failed.
fn judge(outcome: Outcome, ci: bool) -> Outcome {
    match outcome {
        Outcome::Skipped(why) if ci => Outcome::Failed(format!(
            "could not run, and on CI every step must (CI is set): {why}"
        )),
        outcome => outcome,
    }
}

fn print_summary(results: &[(&str, Outcome, Duration)]) {
    let width = results
        .iter()
        .map(|(n, _, _)| n.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!("\n==> summary");
    println!(
        "{:<width$}  {:<7}  {:>8}  note",
        "step", "result", "seconds"
    );
    for (name, outcome, elapsed) in results {
        let (status, note) = match outcome {
            Outcome::Ok => ("ok", ""),
            Outcome::Failed(why) => ("FAILED", why.as_str()),
            Outcome::Skipped(why) if why == QUICK => ("skipped", why.as_str()),
            Outcome::Skipped(why) => ("SKIPPED", why.as_str()),
        };
        println!(
            "{name:<width$}  {status:<7}  {:>8.1}  {note}",
            elapsed.as_secs_f64()
        );
    }
}

fn fmt(ctx: &Context) -> Outcome {
    cmd::run(
        cmd::cargo()
            .current_dir(&ctx.root)
            .args(["fmt", "--all", "--check"]),
    )
    .into()
}

fn clippy(ctx: &Context) -> Outcome {
    cmd::run(cmd::cargo().current_dir(&ctx.root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
    .into()
}

/// `cargo doc --no-deps` of every workspace crate with rustdoc warnings
/// denied: broken, ambiguous or private intra-doc links fail the run.
fn doc(ctx: &Context) -> Outcome {
    cmd::run(
        cmd::cargo()
            .current_dir(&ctx.root)
            .env("RUSTDOCFLAGS", "-D warnings")
            .args(["doc", "--no-deps", "--workspace"]),
    )
    .into()
}

fn test(ctx: &Context) -> Outcome {
    // Unit, integration and doc tests; the #[ignore]d interop tests run in their own step.
    // xtask's own unit tests include the layering check (layering.rs). The tests that run
    // here with a peer (dtls-transport's tests/dtls_certificate.rs: the `openssl` command)
    // must find it.
    cmd::run(
        cmd::cargo()
            .current_dir(&ctx.root)
            .env(REQUIRE_PEERS, "1")
            .args(["test", "--workspace"]),
    )
    .into()
}

/// Every fuzz target of every crate with a `fuzz/` directory, for
/// `FUZZ_SECONDS` (default 20) each, starting from the committed seed corpus
/// `fuzz/corpus/<target>` plus the working corpus of earlier runs.
fn fuzz(ctx: &Context) -> Outcome {
    let seconds = match std::env::var("FUZZ_SECONDS") {
        Ok(s) => match s.trim().parse::<u64>() {
            Ok(n) => n,
            Err(e) => return Outcome::Failed(format!("FUZZ_SECONDS={s:?}: {e}")),
        },
        Err(_) => DEFAULT_FUZZ_SECONDS,
    };
    let crates = match fuzzed_crates(&ctx.root) {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(e),
    };
    if crates.is_empty() {
        return Outcome::Skipped("no crates/*/fuzz/Cargo.toml".into());
    }
    if !cmd::probe(cmd::cargo().args(["fuzz", "--version"])) {
        if let Err(e) = cmd::run(cmd::cargo().args(["install", "cargo-fuzz", "--locked"])) {
            return Outcome::Failed(e);
        }
    }
    let mut failures = Vec::new();
    for dir in crates {
        let targets = match cmd::output(cmd::cargo().current_dir(&dir).args(["fuzz", "list"])) {
            Ok(out) => out
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect::<Vec<_>>(),
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let crate_name = dir.file_name().unwrap_or_default().to_owned();
        for target in targets {
            // libFuzzer reads every corpus directory given but writes the inputs it
            // discovers into the first one only: a working corpus under target/, so
            // the committed seeds in fuzz/corpus/<target> are read and never modified.
            let work = ctx
                .root
                .join("target/fuzz-corpus")
                .join(&crate_name)
                .join(&target);
            if let Err(e) = std::fs::create_dir_all(&work) {
                failures.push(format!("creating {}: {e}", work.display()));
                continue;
            }
            let seeds = dir.join("fuzz/corpus").join(&target);
            // cargo-fuzz wants the crate directory as cwd and finds fuzz/ itself. Its
            // sanitizer flags need nightly features, which RUSTC_BOOTSTRAP unlocks on
            // a stable toolchain.
            // One target directory for every fuzz crate: the registry crates they
            // share (OpenSSL's bindings, ring, sctp-proto, the hashes) are built with
            // the sanitizer flags once instead of once per crate.
            let mut run = cmd::cargo();
            run.current_dir(&dir)
                .env("RUSTC_BOOTSTRAP", "1")
                .args(["fuzz", "run", &target, "--target-dir"])
                .arg(ctx.root.join("target/fuzz-build"))
                .arg(&work);
            if seeds.is_dir() {
                run.arg(&seeds);
            }
            run.arg("--")
                .arg(format!("-max_total_time={seconds}"))
                .arg("-rss_limit_mb=2048");
            let result = cmd::run(&mut run);
            if result.is_err() {
                failures.push(format!("{}: {target}", short(&ctx.root, &dir)));
            }
        }
    }
    if failures.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Failed(format!("fuzz targets failed: {}", failures.join(", ")))
    }
}

/// The crate directories `crates/*` that have a `fuzz/Cargo.toml`, sorted.
fn fuzzed_crates(root: &Path) -> Result<Vec<PathBuf>, String> {
    let crates = root.join("crates");
    let entries =
        std::fs::read_dir(&crates).map_err(|e| format!("reading {}: {e}", crates.display()))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("fuzz").join("Cargo.toml").is_file())
        .collect();
    found.sort();
    Ok(found)
}

fn short(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// System tools the interop suites need, and the Debian package of each.
const PEER_TOOLS: &[(&str, &str)] = &[
    ("turnserver", "coturn"),
    ("turnutils_stunclient", "coturn"),
    ("stun", "stun-client"),
];

/// Makes sure the `PEER_TOOLS` exist, installing them with apt as root.
/// `Err` carries the reason the interop steps must be skipped.
fn ensure_peer_tools() -> Result<(), String> {
    let mut missing_packages: Vec<&str> = Vec::new();
    for (tool, package) in PEER_TOOLS {
        if cmd::which(tool).is_none() && !missing_packages.contains(package) {
            missing_packages.push(package);
        }
    }
    if missing_packages.is_empty() {
        return Ok(());
    }
    if !cmd::is_root() {
        return Err(format!(
            "missing packages {} and not root to install them (apt-get install {})",
            missing_packages.join(", "),
            missing_packages.join(" ")
        ));
    }
    cmd::run(Command::new("apt-get").arg("update"))?;
    cmd::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y"])
            .args(&missing_packages),
    )?;
    match PEER_TOOLS
        .iter()
        .find(|(tool, _)| cmd::which(tool).is_none())
    {
        Some((tool, package)) => Err(format!("`{tool}` still missing after installing {package}")),
        None => Ok(()),
    }
}

/// The stun crate's `tests/interop.rs` (coturn, turnutils_stunclient, Debian's
/// `stun`, our `stun-server` binary), run with `--ignored` in a loopback-only
/// network namespace.
fn interop_stun(ctx: &Context) -> Outcome {
    if let Err(why) = ensure_peer_tools() {
        return Outcome::Skipped(why);
    }
    let exe = match build_test_executable(&ctx.root, "stun", "interop") {
        Ok(exe) => exe,
        Err(e) => return Outcome::Failed(e),
    };
    run_in_loopback_netns(
        &ctx.root.join("crates/stun"),
        &exe,
        &["--ignored", "--test-threads=1", "--nocapture"],
    )
    .into()
}

/// The ice crate's `#[ignore]`d mDNS tests (`crates/ice/tests/mdns.rs`: our
/// resolver and responder over multicast, two `IceTransport`s connecting
/// through `.local` host candidates), which bind port 5353: in a fresh
/// network namespace whose only interface is `lo`, brought up with
/// multicast on. No namespace, no run: the step skips (a failure on CI),
/// and the tests fail under [`REQUIRE_PEERS`] anywhere else.
fn interop_ice_mdns(ctx: &Context) -> Outcome {
    if let Some(why) = cmd::netns_unavailable() {
        return Outcome::Skipped(format!("no loopback-only namespace: {why}"));
    }
    let run = || -> Result<(), String> {
        let exe = build_test_executable(&ctx.root, "ice", "mdns")?;
        let mut command = Command::new("unshare");
        command
            .args([
                "--net",
                "sh",
                "-c",
                r#"ip link set lo up && ip link set lo multicast on && exec "$0" "$@""#,
            ])
            .arg(&exe)
            .args(["--ignored", "--test-threads=1", "--nocapture"]);
        cmd::run(
            command
                .current_dir(ctx.root.join("crates/ice"))
                .env(REQUIRE_PEERS, "1"),
        )
    };
    run().into()
}

/// The venv of the libsrtp peer (pylibsrtp, whose wheel carries libsrtp).
const SRTP_VENV: &str = "target/srtp-venv";
/// The pinned Python packages of the libsrtp peer.
const SRTP_REQUIREMENTS: &str = "interop/srtp/requirements.txt";

/// Our DtlsTransport against OpenSSL's command-line DTLS peers (`openssl
/// s_server` / `s_client` over UDP on 127.0.0.1, keying material compared),
/// inside a loopback-only network namespace; then our SRTP against libsrtp
/// (pylibsrtp in [`SRTP_VENV`], made here from PyPI; the test runs outside the
/// namespace and sends no packets anywhere). Both with [`REQUIRE_PEERS`].
fn interop_dtls(ctx: &Context) -> Outcome {
    if cmd::which("openssl").is_none() {
        return Outcome::Skipped("`openssl` (the command-line tool) is not installed".into());
    }
    let python = match python_venv(&ctx.root, SRTP_VENV, SRTP_REQUIREMENTS) {
        Ok(python) => python,
        Err(outcome) => return outcome,
    };
    let dir = ctx.root.join("crates/dtls-transport");
    let run = || -> Result<(), String> {
        let exe = build_test_executable(&ctx.root, "dtls-transport", "dtls_interop")?;
        run_in_loopback_netns(
            &dir,
            &exe,
            &["--ignored", "--test-threads=1", "--nocapture"],
        )?;
        let exe = build_test_executable(&ctx.root, "dtls-transport", "srtp_libsrtp")?;
        cmd::run(
            Command::new(&exe)
                .args(["--ignored", "--test-threads=1", "--nocapture"])
                .env(REQUIRE_PEERS, "1")
                .env("PEERSTACK_LIBSRTP_PYTHON", &python)
                .current_dir(&dir),
        )
    };
    run().into()
}

/// The README's main-job command, word for word (a test below checks that
/// the README shows exactly this).
pub(crate) const MAIN_JOB: &[&str] = &[
    "cargo",
    "run",
    "--release",
    "-p",
    "peerconnection",
    "--example",
    "loopback",
];

/// `main-job`: the README's first command ([`MAIN_JOB`]: two
/// PeerConnections, trickle ICE, DTLS, a data channel and media on
/// 127.0.0.1), run as written inside the loopback-only namespace, so the
/// first thing a user tries cannot silently break; then the file-transfer
/// example between two processes, and 10,000 connected PeerConnections in one
/// process (`crates/peerconnection/tests/scale.rs`, release).
fn main_job(ctx: &Context) -> Outcome {
    if let Some(why) = cmd::netns_unavailable() {
        return Outcome::Skipped(format!("no loopback-only namespace: {why}"));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let run = || -> Result<(), String> {
        // Build outside the namespace first, so that the run's output is
        // the example's own; `cargo run` then finds it fresh.
        cmd::run(cmd::cargo().current_dir(&ctx.root).args([
            "build",
            "--release",
            "-p",
            "peerconnection",
            "--example",
            "loopback",
        ]))?;
        cmd::run(cmd::in_loopback_netns(Path::new(&cargo), &MAIN_JOB[1..]).current_dir(&ctx.root))?;
        file_transfer(ctx)?;
        // 10,000 connected PeerConnections in this one process.
        let scale = build_executable(
            &ctx.root,
            &[
                "test",
                "--release",
                "-p",
                "peerconnection",
                "--test",
                "scale",
                "--no-run",
            ],
            "scale",
        )?;
        // One UDP socket each: raise the open-file limit first (root may go
        // past the hard limit; others get the hard limit).
        let scale = scale.to_string_lossy().to_string();
        cmd::run(
            cmd::in_loopback_netns(
                Path::new("sh"),
                &[
                    "-c",
                    r#"ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@""#,
                    &scale,
                    "--ignored",
                    "--nocapture",
                ],
            )
            .current_dir(ctx.root.join("crates/peerconnection")),
        )
    };
    run().into()
}

/// The file-transfer example between two processes in one loopback-only
/// namespace: 8 MiB of random bytes arrive identical (both sides compare
/// SHA-256 and exit non-zero otherwise; `cmp` checks the file again).
fn file_transfer(ctx: &Context) -> Result<(), String> {
    let exe = build_executable(
        &ctx.root,
        &[
            "build",
            "--release",
            "-p",
            "peerconnection",
            "--example",
            "file-transfer",
        ],
        "file-transfer",
    )?;
    let dir = ctx.root.join("target/file-transfer");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (input, output) = (dir.join("in.bin"), dir.join("out.bin"));
    let mut bytes = vec![0u8; 8 << 20];
    getrandom_fill(&mut bytes)?;
    std::fs::write(&input, &bytes).map_err(|e| format!("{}: {e}", input.display()))?;
    let _ = std::fs::remove_file(&output);
    let script = r#"exe="$0"; in="$1"; out="$2"
"$exe" receive --listen 127.0.0.1:9000 --out "$out" & receiver=$!
sleep 0.5
"$exe" send "$in" --to 127.0.0.1:9000 || exit 1
wait $receiver || exit 1
cmp "$in" "$out""#;
    let exe = exe.to_string_lossy().to_string();
    let (input, output) = (
        input.to_string_lossy().to_string(),
        output.to_string_lossy().to_string(),
    );
    cmd::run(
        cmd::in_loopback_netns(Path::new("sh"), &["-c", script, &exe, &input, &output])
            .current_dir(&ctx.root),
    )
}

/// Random bytes from the OS (`/dev/urandom`), for test inputs.
fn getrandom_fill(buf: &mut [u8]) -> Result<(), String> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(|e| format!("/dev/urandom: {e}"))
}

/// `lossy-path`: our data channel against Linux TCP on the same 50 ms, 1 %
/// loss path (`benches/tests/lossy_path.rs`, through the TUN relay
/// `benches/scripts/tun_relay.py`), in the loopback-only namespace, since the
/// relay adds a `tun0` to the namespace it runs in.
fn lossy_path(ctx: &Context) -> Outcome {
    if !Path::new("/dev/net/tun").exists() {
        return Outcome::Skipped("no /dev/net/tun for the relay".into());
    }
    if cmd::which("python3").is_none() {
        return Outcome::Skipped("python3 (the relay) is not installed".into());
    }
    if let Some(why) = cmd::netns_unavailable() {
        return Outcome::Skipped(format!("no network namespace: {why}"));
    }
    let run = || -> Result<(), String> {
        let exe = build_test_executable(&ctx.root, "peerstack-benches", "lossy_path")?;
        run_in_loopback_netns(
            &ctx.root.join("benches"),
            &exe,
            &["--ignored", "--test-threads=1", "--nocapture"],
        )
    };
    run().into()
}

/// The pinned Python packages of the aiortc peer (`interop/aiortc/peer.py`).
const AIORTC_REQUIREMENTS: &str = "interop/aiortc/requirements.txt";
/// The venv the aiortc peer runs from (the test finds it here by default too).
const AIORTC_VENV: &str = "target/aiortc-venv";

/// `interop-aiortc`: the peerconnection crate's `tests/aiortc.rs` (our `PeerConnection`
/// against aiortc, both roles: data channels, Opus and VP8) in a loopback-only network
/// namespace, with [`REQUIRE_PEERS`] and `PEERSTACK_AIORTC_PYTHON` naming the venv's Python.
fn interop_aiortc(ctx: &Context) -> Outcome {
    let python = match python_venv(&ctx.root, AIORTC_VENV, AIORTC_REQUIREMENTS) {
        Ok(python) => python,
        Err(outcome) => return outcome,
    };
    let run = || -> Result<(), String> {
        let exe = build_test_executable(&ctx.root, "peerconnection", "aiortc")?;
        let args = ["--ignored", "--test-threads=1", "--nocapture"];
        let mut command = match cmd::netns_unavailable() {
            None => cmd::in_loopback_netns(&exe, &args),
            // The peer and our side only ever use 127.0.0.1 (aiortc's loopback guard
            // refuses anything else), so running without a namespace stays on loopback.
            Some(why) => {
                println!("note: running without a network namespace: {why}");
                let mut c = Command::new(&exe);
                c.args(args);
                c
            }
        };
        cmd::run(
            command
                .current_dir(ctx.root.join("crates/peerconnection"))
                .env(REQUIRE_PEERS, "1")
                .env("PEERSTACK_AIORTC_PYTHON", &python),
        )
    };
    run().into()
}

/// The aioice peer speaking ice-peer's JSON-lines protocol.
const AIOICE_PEER: &str = "interop/aioice/ice_peer.py";
/// The pinned Python packages of the aioice peer.
const AIOICE_REQUIREMENTS: &str = "interop/aioice/requirements.txt";
/// The venv the interop peers run from, made when missing or out of date.
const INTEROP_VENV: &str = "target/interop-venv";
/// Messages the sending side of each ICE pairing sends and awaits the echo of.
const ICE_PAIR_MESSAGES: &str = "20";
/// Seconds a pairing may take before the runner kills both peers.
const ICE_PAIR_TIMEOUT: &str = "60";
/// Seconds the sender itself waits (so it fails and explains before it is killed).
const ICE_SENDER_TIMEOUT: &str = "50";

/// Our `ice-peer` example against aioice's ICE agent, in both roles: (a) ours
/// controlling and sending ↔ aioice controlled and echoing, (b) aioice
/// controlling and sending ↔ ours controlled and echoing. Each pairing runs
/// `xtask __pair` (see `pair.rs`) in its own loopback-only network namespace
/// and passes when the sender exits 0 within [`ICE_PAIR_TIMEOUT`] seconds.
fn interop_ice_aioice(ctx: &Context) -> Outcome {
    match interop_venv(&ctx.root) {
        Ok(python) => ice_pairings(&ctx.root, &python).into(),
        Err(outcome) => outcome,
    }
}

/// The two pairings of [`interop_ice_aioice`], with the venv's `python`.
fn ice_pairings(root: &Path, python: &Path) -> Result<(), String> {
    let ours = build_example(root, "ice", "ice-peer")?;
    let xtask =
        std::env::current_exe().map_err(|e| format!("where is the xtask executable? {e}"))?;
    let script = root.join(AIOICE_PEER);
    let (ours, python, script, xtask) =
        (utf8(&ours)?, utf8(python)?, utf8(&script)?, utf8(&xtask)?);
    let netns = cmd::netns_unavailable();
    if let Some(why) = &netns {
        println!("note: running without a network namespace: {why}");
    }

    let n = ICE_PAIR_MESSAGES;
    let (send, echo) = (ICE_SENDER_TIMEOUT, ICE_PAIR_TIMEOUT);
    let pairings: [(&str, Vec<&str>, Vec<&str>); 2] = [
        (
            "ours,aioice",
            vec![ours, "--send", n, "--loopback", "--timeout", send],
            vec![python, script, "--controlled", "--timeout", echo],
        ),
        (
            "aioice,ours",
            vec![python, script, "--send", n, "--timeout", send],
            vec![ours, "--controlled", "--loopback", "--timeout", echo],
        ),
    ];
    let mut failures = Vec::new();
    for (names, sender, echoer) in pairings {
        let (a, b) = names.split_once(',').unwrap_or((names, ""));
        println!("\n--> {a} (controlling, --send {n}) <-> {b} (controlled, echo)");
        let mut args = vec!["__pair", "--timeout", ICE_PAIR_TIMEOUT, "--names", names];
        args.extend(sender);
        args.push("--");
        args.extend(echoer);
        let mut run = match netns {
            None => cmd::in_loopback_netns(Path::new(xtask), &args),
            Some(_) => {
                let mut c = Command::new(xtask);
                c.args(&args);
                c
            }
        };
        if cmd::run(run.current_dir(root)).is_err() {
            failures.push(format!("{a} -> {b}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("pairings failed: {}", failures.join(", ")))
    }
}

fn utf8(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("path is not UTF-8: {}", p.display()))
}

/// The Python of [`INTEROP_VENV`], (re)made with [`AIOICE_REQUIREMENTS`] when it
/// is missing or was made from other requirements.
fn interop_venv(root: &Path) -> Result<PathBuf, Outcome> {
    python_venv(root, INTEROP_VENV, AIOICE_REQUIREMENTS)
}

/// The Python of the venv `venv_dir` (relative to `root`), (re)made with the pinned
/// `requirements` file when it is missing or was made from other requirements.
pub(crate) fn python_venv(
    root: &Path,
    venv_dir: &str,
    requirements_file: &str,
) -> Result<PathBuf, Outcome> {
    let requirements_path = root.join(requirements_file);
    let requirements = std::fs::read_to_string(&requirements_path)
        .map_err(|e| Outcome::Failed(format!("reading {}: {e}", requirements_path.display())))?;
    let venv = root.join(venv_dir);
    let python = venv.join("bin/python");
    // A copy of the requirements the venv was made from: a changed pin remakes it.
    let stamp = venv.join("requirements.installed.txt");
    if python.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == requirements) {
        println!(
            "venv {} is up to date with {requirements_file}",
            venv.display()
        );
        return Ok(python);
    }
    let python3 = python_with_venv()?;
    if venv.exists() {
        std::fs::remove_dir_all(&venv)
            .map_err(|e| Outcome::Failed(format!("removing {}: {e}", venv.display())))?;
    }
    cmd::run(Command::new(&python3).args(["-m", "venv"]).arg(&venv)).map_err(Outcome::Failed)?;
    cmd::run(
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
    )
    .map_err(Outcome::Failed)?;
    std::fs::write(&stamp, &requirements)
        .map_err(|e| Outcome::Failed(format!("writing {}: {e}", stamp.display())))?;
    Ok(python)
}

/// A `python3` that can make venvs (Debian splits `venv`/`ensurepip` off into
/// `python3-venv`), installing Debian's with apt when root. `Err` is the
/// step's outcome: skipped when it cannot be had here.
fn python_with_venv() -> Result<PathBuf, Outcome> {
    let find = || {
        cmd::which("python3")
            .into_iter()
            .chain([PathBuf::from("/usr/bin/python3")])
            .find(|p| cmd::probe(Command::new(p).args(["-c", "import venv, ensurepip"])))
    };
    if let Some(python3) = find() {
        return Ok(python3);
    }
    if !cmd::is_root() || cmd::which("apt-get").is_none() {
        return Err(Outcome::Skipped(
            "no python3 with the venv module, and not root with apt-get to install it \
             (apt-get install python3 python3-venv python3-pip)"
                .into(),
        ));
    }
    cmd::run(Command::new("apt-get").arg("update")).map_err(Outcome::Failed)?;
    cmd::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "python3", "python3-venv", "python3-pip"]),
    )
    .map_err(Outcome::Failed)?;
    find().ok_or_else(|| {
        Outcome::Failed(
            "python3 still cannot `import venv, ensurepip` after installing python3-venv".into(),
        )
    })
}

/// Runs the test executable `exe args…` from `dir` with [`REQUIRE_PEERS`] set, inside
/// a fresh loopback-only network namespace, or directly (saying why) when no namespace
/// can be made here.
fn run_in_loopback_netns(dir: &Path, exe: &Path, args: &[&str]) -> Result<(), String> {
    let mut command = match cmd::netns_unavailable() {
        None => cmd::in_loopback_netns(exe, args),
        Some(why) => {
            println!("note: running without a network namespace: {why}");
            let mut c = Command::new(exe);
            c.args(args);
            c
        }
    };
    cmd::run(command.current_dir(dir).env(REQUIRE_PEERS, "1"))
}

/// Builds integration test `test` of `package` and returns the path of its
/// executable, read from cargo's JSON messages.
pub(crate) fn build_test_executable(
    root: &Path,
    package: &str,
    test: &str,
) -> Result<PathBuf, String> {
    build_executable(
        root,
        &["test", "-p", package, "--test", test, "--no-run"],
        test,
    )
}

/// Builds example `example` of `package` and returns the path of its executable.
fn build_example(root: &Path, package: &str, example: &str) -> Result<PathBuf, String> {
    build_executable(
        root,
        &["build", "-p", package, "--example", example],
        example,
    )
}

/// Runs `cargo <args> --message-format=json` and returns the executable cargo
/// reports for the target called `name`.
fn build_executable(root: &Path, args: &[&str], name: &str) -> Result<PathBuf, String> {
    let stdout = cmd::output(
        cmd::cargo()
            .current_dir(root)
            .args(args)
            .arg("--message-format=json"),
    )?;
    stdout
        .lines()
        .filter(|l| l.contains(r#""reason":"compiler-artifact""#))
        .filter(|l| target_name(l).as_deref() == Some(name))
        .find_map(|l| json_string_field(l, "executable"))
        .map(PathBuf::from)
        .ok_or_else(|| {
            format!(
                "cargo reported no executable for `{name}` (cargo {})",
                args.join(" ")
            )
        })
}

/// The `"name"` inside the `"target":{…}` object of a cargo JSON message.
fn target_name(line: &str) -> Option<String> {
    let start = line.find(r#""target":{"#)?;
    json_string_field(&line[start..], "name")
}

/// The first string value of `"key":"…"` in `json`, unescaped. A deliberately
/// small scanner for cargo's one-line messages, not a JSON parser: it handles
/// the escapes cargo emits in paths (`\\`, `\"`, `\/`, `\uXXXX`).
fn json_string_field(json: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\":\"");
    let rest = &json[json.find(&needle)? + needle.len()..];
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_executable_of_the_named_target() {
        let lib = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/crates/stun#0.1.0","target":{"kind":["lib"],"crate_types":["lib"],"name":"stun","src_path":"/w/crates/stun/src/lib.rs"},"executable":null,"fresh":true}"#;
        let test = r#"{"reason":"compiler-artifact","target":{"kind":["test"],"name":"interop","src_path":"/w/a \"b\"\\c.rs"},"profile":{"test":true},"executable":"/w/target/debug/deps/interop-0123\u00e9","fresh":false}"#;
        assert_eq!(target_name(lib).as_deref(), Some("stun"));
        assert_eq!(target_name(test).as_deref(), Some("interop"));
        assert_eq!(json_string_field(lib, "executable"), None);
        assert_eq!(
            json_string_field(test, "executable").as_deref(),
            Some("/w/target/debug/deps/interop-0123é")
        );
        assert_eq!(
            json_string_field(test, "src_path").as_deref(),
            Some(r#"/w/a "b"\c.rs"#)
        );
    }

    #[test]
    fn the_readme_shows_the_main_job_that_test_all_runs() {
        let readme = include_str!("../../README.md");
        let command = MAIN_JOB.join(" ");
        assert!(
            readme.contains(&command),
            "README.md must show the main-job command `{command}`"
        );
    }

    #[test]
    fn a_step_that_cannot_run_fails_on_ci_only() {
        let skipped = || Outcome::Skipped("`turnserver` is missing".into());
        assert!(matches!(judge(skipped(), false), Outcome::Skipped(_)));
        assert!(
            matches!(judge(skipped(), true), Outcome::Failed(why) if why.contains("`turnserver` is missing"))
        );
        assert!(matches!(judge(Outcome::Ok, true), Outcome::Ok));
    }

    #[test]
    fn step_names_are_unique() {
        for (i, a) in STEPS.iter().enumerate() {
            assert!(
                STEPS[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
        }
    }
}
