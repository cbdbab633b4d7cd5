//! The test-all steps that put `ice-peer` behind a real TURN server and real
//! NATs (a submodule of `test_all.rs`):
//!
//! - `interop-ice-coturn`: coturn on 127.0.0.1 inside a fresh loopback-only
//!   network namespace (`unshare --net`, entered with `nsenter`), and in the
//!   same namespace, each through `xtask __pair`: (a) two relay-only peers with
//!   TURN over UDP, (b) the same with TURN over TCP, (b') and over TLS (coturn
//!   with a self-signed certificate for 127.0.0.1 made for the run with the
//!   `openssl` command), (c) two peers with ICE-TCP
//!   candidates (they have UDP ones too, so this shows that TCP candidates are
//!   signalled and do not break anything), then (d) the ice crate's
//!   `#[ignore]`d coturn tests (`crates/ice/tests/turn.rs`) and (e) two
//!   PeerConnections with ICE transport policy relay over UDP, TCP and TLS
//!   (`turns:`, the certificate verified against the run's own CA)
//!   (`crates/peerconnection/tests/turn_relay.rs`).
//! - `interop-ice-nat` (root only): five named namespaces (`ip netns`) make two
//!   hosts behind two NATs on a "public" bridge that runs coturn:
//!
//! ```text
//!                  <prefix>-pub: br0 198.18.0.1/24, coturn (STUN + TURN) on :3478,
//!                  |         |   10.0.0.0/8 routed into a silent sink
//!   <prefix>-nata: wan0 198.18.0.2     <prefix>-natb: wan0 198.18.0.3
//!                  lan0 10.1.0.1/24                   lan0 10.2.0.1/24
//!                  |                                  |
//!   <prefix>-hosta: eth0 10.1.0.2      <prefix>-hostb: eth0 10.2.0.2
//!                   (ice-peer, sends)                  (ice-peer, echoes)
//! ```
//!
//!   `<prefix>` is `peerstack-nat-<pid of xtask>`. The NATs masquerade (nftables,
//!   or iptables when there is no `nft`; `PEERSTACK_NAT_FIREWALL=nft|iptables`
//!   chooses) and drop unsolicited inbound packets (`iifname wan0 ct state
//!   new,invalid drop`, without which an early inbound check leaves a conntrack
//!   entry that makes the NAT remap the port). (a) Endpoint-independent NATs
//!   (plain masquerade): the peers with `--stun` only must connect and signal
//!   server-reflexive candidates. (b) Symmetric NATs (`masquerade random`): the
//!   peers with `--stun` and `--turn` must connect over a relay (relay
//!   candidates signalled, and the selected pair has a relayed side).
//!
//! Everything has a time limit, and teardown runs on every path (guards'
//! `Drop`): coturn is stopped, every process left in our namespaces is killed,
//! the namespaces are deleted; namespaces of an earlier run whose xtask has gone
//! are deleted before a new topology is built. The peers' full stderr and
//! coturn's log are kept in `target/interop-logs/<step>/`.
//!
//! Why a sink and not `ip route add blackhole 10.0.0.0/8` in the public
//! namespace: a blackhole route makes `sendto` fail with EINVAL, and coturn
//! 4.6.1 closes an allocation whose relayed send failed ("udp send: Invalid
//! argument", then `reason: general`), which breaks every relayed pair. The
//! sink is a route via a neighbour with a permanent made-up MAC on an extra
//! veth: the kernel sends, nobody takes the frame, nothing errors.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{
    build_example, build_test_executable, ensure_peer_tools, utf8, Context, Outcome, REQUIRE_PEERS,
};
use crate::cmd;

/// The port coturn listens on (UDP and TCP) inside our namespaces.
const TURN_PORT: u16 = 3478;
/// The port coturn listens on for TURN over TLS in `interop-ice-coturn`.
const TURNS_PORT: u16 = 5349;
/// coturn's relay port range.
const RELAY_PORTS: (u16, u16) = (49160, 49199);
/// The TURN credentials (`--user=user:pass`).
const TURN_USER: &str = "user";
/// See [`TURN_USER`].
const TURN_PASS: &str = "pass";
/// Messages the sending peer of each pairing sends and awaits the echo of.
const MESSAGES: &str = "20";
/// Seconds `xtask __pair` gives the sender (its `--timeout`), and the echoer's `--timeout`.
const PAIR_TIMEOUT: u64 = 30;
/// Seconds the sender waits itself, so that it fails and explains before it is killed.
const SENDER_TIMEOUT: u64 = 25;
/// When the `xtask __pair` process itself is killed (it should end at [`PAIR_TIMEOUT`]).
const PAIR_LIMIT: Duration = Duration::from_secs(PAIR_TIMEOUT + 10);
/// Limit of every setup command (`ip`, `nft`, `iptables`, `kill`).
const SETUP_LIMIT: Duration = Duration::from_secs(10);
/// How long coturn has to answer a binding request after it starts.
const COTURN_READY_LIMIT: Duration = Duration::from_secs(10);
/// Limit of one `turnutils_stunclient` run (it waits forever for an answer).
const STUN_PROBE_LIMIT: Duration = Duration::from_millis(1500);
/// Limit of the ice crate's coturn tests.
const TURN_TESTS_LIMIT: Duration = Duration::from_secs(180);
/// `RUST_LOG` of the peers: the ice crate's debug lines make a failure's stderr
/// say what happened; `ice_peer`'s "selected pair" line is at info.
const PEER_LOG: &str = "info,ice=debug";
/// How `ice-peer` logs the selected pair (the example at info, the driver at debug).
const SELECTED_PAIR: &str = "selected pair local=";
/// Prefix of the named namespaces of `interop-ice-nat`; the xtask pid follows.
const NS_PREFIX: &str = "peerstack-nat-";
/// The "public" address of the NAT topology, where coturn listens.
const PUBLIC_IP: &str = "198.18.0.1";
/// `bash` program that runs `"$@"` with its stderr copied to the file `$0` (and
/// still to stderr, so `__pair` sees it too). `exec` keeps the pid, so killing
/// the wrapper kills the peer.
const TEE_STDERR: &str = r#"exec "$@" 2> >(exec tee -- "$0" >&2)"#;

// Processes, time limits, temporary and log directories: netns_process.rs.
include!("netns_process.rs");

// --------------------------------------------------------------- coturn

/// A running coturn, stopped on drop.
struct Coturn {
    child: Child,
    log: PathBuf,
    /// Its pidfile and user database.
    _dir: TempDir,
}

impl Coturn {
    /// Starts `turnserver` listening and relaying on `ip`:[`TURN_PORT`], run
    /// with `prefix` in front (the namespace to run in), logging to `log`, and
    /// waits until it answers a binding request sent from the same namespace.
    fn start(prefix: &[String], ip: &str, extra: &[&str], log: &Path) -> Result<Coturn, String> {
        let dir = TempDir::new("coturn")?;
        let file = fs::File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
        let file2 = file
            .try_clone()
            .map_err(|e| format!("duplicating {}: {e}", log.display()))?;
        // `setpriv --pdeathsig KILL`: coturn dies with us even if we are killed
        // before the guard's drop can stop it.
        let mut launcher = prefix.to_vec();
        if cmd::which("setpriv").is_some() {
            launcher.extend(["setpriv", "--pdeathsig", "KILL"].map(String::from));
        }
        let mut cmd = command(&launcher, "turnserver");
        // TLS only when `extra` brings a certificate (`--cert=`, `--pkey=`).
        if !extra.iter().any(|a| a.starts_with("--cert=")) {
            cmd.arg("--no-tls");
        }
        cmd.args([
            "-n",
            "--no-cli",
            "--no-dtls",
            "--lt-cred-mech",
            "--realm=example.org",
            "--fingerprint",
            "--no-multicast-peers",
            "--log-file=stdout",
            "--simple-log",
        ])
        .arg(format!("--user={TURN_USER}:{TURN_PASS}"))
        .arg(format!("--listening-ip={ip}"))
        .arg(format!("--relay-ip={ip}"))
        .arg(format!("--listening-port={TURN_PORT}"))
        .arg(format!("--min-port={}", RELAY_PORTS.0))
        .arg(format!("--max-port={}", RELAY_PORTS.1))
        .arg(format!(
            "--pidfile={}",
            dir.0.join("turnserver.pid").display()
        ))
        .arg(format!("--userdb={}", dir.0.join("turndb").display()))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(file2);
        println!("$ {}", cmd::display(&cmd));
        println!("  (log: {})", log.display());
        let child = cmd
            .spawn()
            .map_err(|e| format!("could not start turnserver: {e}"))?;
        let mut coturn = Coturn {
            child,
            log: log.to_owned(),
            _dir: dir,
        };
        coturn.wait_until_ready(prefix, ip)?;
        Ok(coturn)
    }

    /// Binding requests (`turnutils_stunclient`) until coturn answers.
    fn wait_until_ready(&mut self, prefix: &[String], ip: &str) -> Result<(), String> {
        let start = Instant::now();
        loop {
            thread::sleep(Duration::from_millis(300));
            if let Ok(Some(status)) = self.child.try_wait() {
                self.print_log_tail(30);
                return Err(format!(
                    "turnserver exited with {status} (log: {})",
                    self.log.display()
                ));
            }
            let mut probe = command(prefix, "turnutils_stunclient");
            probe.args(["-p", &TURN_PORT.to_string(), ip]);
            let out = run_captured(&mut probe, STUN_PROBE_LIMIT, true);
            if out.result.is_ok() && out.lines.iter().any(|l| l.contains("reflexive addr")) {
                println!(
                    "coturn answers on {ip}:{TURN_PORT} ({:.1} s after start)",
                    start.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            if start.elapsed() > COTURN_READY_LIMIT {
                self.print_log_tail(30);
                return Err(format!(
                    "coturn did not answer a binding request on {ip}:{TURN_PORT} within {} s (log: {})",
                    COTURN_READY_LIMIT.as_secs(),
                    self.log.display()
                ));
            }
        }
    }

    fn print_log_tail(&self, n: usize) {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        println!("---- the end of coturn's log ({}) ----", self.log.display());
        for line in &lines[lines.len().saturating_sub(n)..] {
            println!("{line}");
        }
        println!("---- end of coturn's log ----");
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let pid = self.child.id();
        if let Ok(Some(status)) = self.child.try_wait() {
            println!("note: coturn (pid {pid}) had exited by itself: {status}");
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        println!("stopped coturn (pid {pid})");
    }
}

// Pairings of two ice-peers and their reports: netns_pairing.rs.
include!("netns_pairing.rs");

// ------------------------------------------------- interop-ice-coturn

/// A fresh network namespace with only `lo` (up), made by `unshare --net` and
/// held by a `cat` that exits when its stdin (our pipe) closes; commands enter
/// it with `nsenter`. Dropping it kills every process still inside, then the
/// holder.
struct LoopbackNetns {
    holder: Child,
    stdin: Option<ChildStdin>,
    /// `/proc/<pid>/ns/net`'s link, e.g. `net:[4026532290]`; empty until known.
    id: PathBuf,
}

impl LoopbackNetns {
    fn new() -> Result<LoopbackNetns, String> {
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--net",
            "sh",
            "-c",
            "ip link set lo up && echo up && exec cat",
        ]);
        println!("$ {}", cmd::display(&cmd));
        let mut holder = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("could not start unshare: {e}"))?;
        let stdin = holder.stdin.take();
        let stdout = holder.stdout.take().expect("piped stdout");
        let mut ns = LoopbackNetns {
            holder,
            stdin,
            id: PathBuf::new(),
        };
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(SETUP_LIMIT) {
            Ok(line) if line.trim() == "up" => {}
            _ => return Err("`unshare --net` did not bring up a namespace".into()),
        }
        let pid = ns.holder.id();
        let id = fs::read_link(format!("/proc/{pid}/ns/net"))
            .map_err(|e| format!("reading /proc/{pid}/ns/net: {e}"))?;
        let own = fs::read_link("/proc/self/ns/net")
            .map_err(|e| format!("reading /proc/self/ns/net: {e}"))?;
        if id == own {
            return Err("`unshare --net` left the holder in our own namespace".into());
        }
        println!(
            "loopback-only namespace {} (held by pid {pid})",
            id.display()
        );
        ns.id = id;
        Ok(ns)
    }

    /// What runs a command inside: `nsenter --net=/proc/<pid>/ns/net` (no
    /// `--`: nsenter stops at the program's name, and `__pair` splits its two
    /// commands at the first `--`).
    fn prefix(&self) -> Vec<String> {
        vec![
            "nsenter".into(),
            format!("--net=/proc/{}/ns/net", self.holder.id()),
        ]
    }

    /// Every process in the namespace but the holder.
    fn stray_pids(&self) -> Vec<u32> {
        let holder = self.holder.id();
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| pid != holder)
            .filter(|pid| fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|l| l == self.id))
            .collect()
    }
}

impl Drop for LoopbackNetns {
    fn drop(&mut self) {
        if !self.id.as_os_str().is_empty() {
            kill_pids(&self.stray_pids(), "left in the loopback-only namespace");
        }
        // `cat` sees the end of its input and exits, and the namespace goes with it.
        self.stdin.take();
        if wait_within(&mut self.holder, Duration::from_secs(2)).is_none() {
            println!("note: the namespace holder did not exit by itself: killed");
        }
    }
}

/// `interop-ice-coturn`: see the module docs.
pub(super) fn interop_ice_coturn(ctx: &Context) -> Outcome {
    if let Err(why) = ensure_peer_tools() {
        return Outcome::Skipped(why);
    }
    if cmd::which("bash").is_none() {
        return Outcome::Skipped("`bash` is not on PATH (it copies the peers' stderr)".into());
    }
    match coturn_suite(ctx) {
        Ok(reports) => {
            print_reports("interop-ice-coturn", &reports);
            outcome(&reports)
        }
        Err(e) => Outcome::Failed(e),
    }
}

fn coturn_suite(ctx: &Context) -> Result<Vec<Report>, String> {
    let peer = build_example(&ctx.root, "ice", "ice-peer")?;
    let turn_tests = build_test_executable(&ctx.root, "ice", "turn")?;
    let relay_test = build_test_executable(&ctx.root, "peerconnection", "turn_relay")?;
    let xtask =
        std::env::current_exe().map_err(|e| format!("where is the xtask executable? {e}"))?;
    let peer = utf8(&peer)?.to_owned();
    let logs = log_dir(&ctx.root, "interop-ice-coturn")?;

    let unavailable = cmd::netns_unavailable().or_else(|| {
        cmd::which("nsenter")
            .is_none()
            .then(|| "`nsenter` is not on PATH".to_owned())
    });
    // Declared before coturn, so it is dropped after it.
    let netns = match unavailable {
        None => Some(LoopbackNetns::new()?),
        Some(why) => {
            println!("note: running without a network namespace (loopback only anyway): {why}");
            None
        }
    };
    let prefix = netns
        .as_ref()
        .map(LoopbackNetns::prefix)
        .unwrap_or_default();
    if netns.is_none() && std::net::UdpSocket::bind(("127.0.0.1", TURN_PORT)).is_err() {
        return Err(format!(
            "127.0.0.1:{TURN_PORT} is taken and there is no namespace to run coturn in"
        ));
    }
    // TURN over TLS with a self-signed certificate for 127.0.0.1, made for
    // this run (its own CA: the PeerConnection test trusts it; ice-peer
    // accepts any certificate).
    let pki = TempDir::new("coturn-tls")?;
    let (cert, key) = (pki.0.join("cert.pem"), pki.0.join("key.pem"));
    self_signed_certificate(&cert, &key)?;
    let coturn = Coturn::start(
        &prefix,
        "127.0.0.1",
        &[
            "--allow-loopback-peers",
            &format!("--cert={}", cert.display()),
            &format!("--pkey={}", key.display()),
            &format!("--tls-listening-port={TURNS_PORT}"),
        ],
        &logs.join("coturn.log"),
    )?;

    let turn = format!("127.0.0.1:{TURN_PORT},{TURN_USER},{TURN_PASS}");
    let turn_tcp = format!("{turn},tcp");
    let turn_tls = format!("127.0.0.1:{TURNS_PORT},{TURN_USER},{TURN_PASS},tls");
    let peer_cmd = |role: &[&str], extra: &[&str]| -> Vec<String> {
        let mut argv = prefix.clone();
        argv.extend(["env".into(), format!("RUST_LOG={PEER_LOG}"), peer.clone()]);
        argv.extend(role.iter().map(|s| s.to_string()));
        argv.extend(extra.iter().map(|s| s.to_string()));
        argv
    };
    let (send_timeout, echo_timeout) = (SENDER_TIMEOUT.to_string(), PAIR_TIMEOUT.to_string());
    let sender_role = ["--send", MESSAGES, "--timeout", &send_timeout];
    let echoer_role = ["--controlled", "--timeout", &echo_timeout];
    let names = ("peer-a", "peer-b");
    let pairings: [(&str, &str, Vec<&str>); 4] = [
        (
            "turn-udp",
            "(a) relay-only peers, TURN over UDP",
            vec!["--loopback", "--relay-only", "--turn", &turn],
        ),
        (
            "turn-tcp",
            "(b) relay-only peers, TURN over TCP",
            vec!["--loopback", "--relay-only", "--turn", &turn_tcp],
        ),
        (
            "turn-tls",
            "(b') relay-only peers, TURN over TLS (self-signed certificate)",
            vec!["--loopback", "--relay-only", "--turn", &turn_tls],
        ),
        (
            "ice-tcp",
            "(c) peers with ICE-TCP candidates (and UDP ones)",
            vec!["--loopback", "--tcp"],
        ),
    ];
    let mut reports = Vec::new();
    for (slug, title, extra) in pairings {
        let spec = PairSpec {
            title: format!("{title}: {} sends {MESSAGES}, {} echoes", names.0, names.1),
            slug: slug.into(),
            names,
            sender: peer_cmd(&sender_role, &extra),
            echoer: peer_cmd(&echoer_role, &extra),
        };
        let start = Instant::now();
        let result = run_pair(&xtask, &logs, &spec).and_then(|run| check_coturn_pair(slug, &run));
        report(&mut reports, slug, result, start);
    }

    // (d) the ice crate's own coturn tests, in the same namespace.
    println!("\n--> (d) the ice crate's #[ignore]d coturn tests (crates/ice/tests/turn.rs)");
    let start = Instant::now();
    let mut tests = command(&prefix, utf8(&turn_tests)?);
    tests
        .args(["--ignored", "--test-threads=1", "--nocapture"])
        .env(REQUIRE_PEERS, "1")
        .current_dir(ctx.root.join("crates/ice"));
    let out = run_captured(&mut tests, TURN_TESTS_LIMIT, true);
    let result = out.result.and_then(|()| {
        // "test result: ok. 2 passed; 0 failed; …": at least one must have run.
        let passed = out
            .lines
            .iter()
            .filter_map(|l| l.strip_prefix("test result: ok. "))
            .filter_map(|l| l.split_whitespace().next()?.parse::<u32>().ok())
            .sum::<u32>();
        if passed == 0 {
            Err("no coturn test ran".into())
        } else {
            Ok(format!("{passed} passed"))
        }
    });
    report(&mut reports, "turn-tests", result, start);

    // (e) two PeerConnections with ICE transport policy relay, same coturn.
    println!("\n--> (e) relay-only PeerConnections (crates/peerconnection/tests/turn_relay.rs)");
    let start = Instant::now();
    let mut tests = command(&prefix, utf8(&relay_test)?);
    tests
        .args(["--ignored", "--test-threads=1", "--nocapture"])
        .env(REQUIRE_PEERS, "1")
        .env("PEERSTACK_TURN", &turn)
        .env("PEERSTACK_TURNS", format!("127.0.0.1:{TURNS_PORT}"))
        .env("PEERSTACK_TURN_CA", &cert)
        .current_dir(ctx.root.join("crates/peerconnection"));
    let out = run_captured(&mut tests, TURN_TESTS_LIMIT, true);
    let result = out.result.and_then(|()| {
        let relayed = |how: &str| {
            out.lines
                .iter()
                .any(|l| l.contains("relay <-> relay on both sides") && l.ends_with(how))
        };
        let ran = [
            ("UDP", relayed(&format!("turn:127.0.0.1:{TURN_PORT}"))),
            (
                "TCP",
                relayed(&format!("turn:127.0.0.1:{TURN_PORT}?transport=tcp")),
            ),
            (
                "TLS",
                relayed(&format!("turns:127.0.0.1:{TURNS_PORT}?transport=tcp")),
            ),
        ];
        let missing: Vec<&str> = ran.iter().filter(|r| !r.1).map(|r| r.0).collect();
        if missing.is_empty() {
            Ok("relay <-> relay on both sides, TURN over UDP, TCP and TLS".to_string())
        } else {
            Err(format!(
                "the relay-only PeerConnection test did not run over {}",
                missing.join(", ")
            ))
        }
    });
    report(&mut reports, "peerconnection-relay", result, start);

    drop(coturn);
    drop(netns);
    Ok(reports)
}

/// A self-signed certificate for 127.0.0.1 (also its own CA) and its key,
/// made with the `openssl` command, for coturn's TLS listener.
fn self_signed_certificate(cert: &Path, key: &Path) -> Result<(), String> {
    let mut cmd = Command::new("openssl");
    cmd.args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg("ec_paramgen_curve:prime256v1")
        .args(["-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert);
    let out = run_captured(&mut cmd, SETUP_LIMIT, false);
    out.result
        .map_err(|e| format!("making coturn's TLS certificate with `openssl req`: {e}"))
}

fn report(reports: &mut Vec<Report>, name: &str, result: Result<String, String>, start: Instant) {
    let seconds = start.elapsed().as_secs_f64();
    match &result {
        Ok(note) => println!("--> {name}: ok ({seconds:.1} s): {note}"),
        Err(e) => println!("--> {name}: FAILED ({seconds:.1} s): {e}"),
    }
    reports.push(Report {
        name: name.into(),
        result,
        seconds,
    });
}

/// What pairing `slug` of `interop-ice-coturn` must show besides connecting.
fn check_coturn_pair(slug: &str, run: &PairRun) -> Result<String, String> {
    let (a, b) = ("peer-a", "peer-b");
    let mut problems = Vec::new();
    for (from, to) in [(a, b), (b, a)] {
        let all = run.signalled(from, to, "candidate:");
        let relay = run.signalled(from, to, " typ relay");
        let tcp = run.signalled(from, to, " tcptype ");
        match slug {
            "ice-tcp" if tcp == 0 => problems.push(format!("{from} signalled no TCP candidate")),
            "turn-udp" | "turn-tcp" | "turn-tls" if relay == 0 || relay != all => {
                problems.push(format!(
                    "{from} signalled {relay} relay candidate(s) of {all} (relay-only wants all)"
                ))
            }
            _ => {}
        }
    }
    let selected = match last_selected_pair(&run.sender_stderr) {
        Some((local, remote)) => {
            if slug != "ice-tcp" && !(local.contains(" typ relay") && remote.contains(" typ relay"))
            {
                problems.push(format!(
                    "the selected pair is not relay <-> relay: {local} <-> {remote}"
                ));
            }
            format!("selected {} <-> {}", kind(local), kind(remote))
        }
        None => {
            problems.push(format!("{a} logged no `{SELECTED_PAIR}` line"));
            String::new()
        }
    };
    if problems.is_empty() {
        Ok(format!("{selected}, __pair {:.1} s", run.seconds))
    } else {
        Err(problems.join("; "))
    }
}

// ----------------------------------------------------- interop-ice-nat

/// The kind of NAT both NAT boxes are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nat {
    /// Plain masquerade: the mapping keeps the port and does not depend on the
    /// destination; inbound only for established flows (port-restricted cone).
    EndpointIndependent,
    /// Masquerade with random ports: a new mapping for every destination.
    Symmetric,
}

impl Nat {
    fn slug(self) -> &'static str {
        match self {
            Nat::EndpointIndependent => "cone",
            Nat::Symmetric => "symmetric",
        }
    }
}

/// What installs the NAT rules.
#[derive(Clone, Copy)]
enum Firewall {
    Nft,
    Iptables,
}

impl Firewall {
    /// `nft` if present, else `iptables`; `PEERSTACK_NAT_FIREWALL=nft|iptables`
    /// chooses. With neither, installs Debian's `nftables` (we are root) when
    /// apt-get exists. `Err` is why the step is skipped.
    fn find() -> Result<Firewall, String> {
        let forced = std::env::var("PEERSTACK_NAT_FIREWALL").ok();
        let found = |tool: &str| cmd::which(tool).is_some();
        match forced.as_deref() {
            Some("nft") if found("nft") => return Ok(Firewall::Nft),
            Some("iptables") if found("iptables") => return Ok(Firewall::Iptables),
            Some(other @ ("nft" | "iptables")) => {
                return Err(format!(
                    "PEERSTACK_NAT_FIREWALL={other} but `{other}` is not on PATH"
                ))
            }
            Some(other) => {
                return Err(format!(
                    "PEERSTACK_NAT_FIREWALL={other:?}: wants nft or iptables"
                ))
            }
            None => {}
        }
        if found("nft") {
            return Ok(Firewall::Nft);
        }
        if found("iptables") {
            return Ok(Firewall::Iptables);
        }
        if cmd::which("apt-get").is_none() {
            return Err("neither `nft` nor `iptables` is on PATH, and no apt-get \
                        to install nftables"
                .into());
        }
        println!("neither nft nor iptables found: installing nftables");
        cmd::run(Command::new("apt-get").arg("update"))?;
        cmd::run(
            Command::new("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args(["install", "-y", "--no-install-recommends", "nftables"]),
        )?;
        if found("nft") {
            Ok(Firewall::Nft)
        } else {
            Err("`nft` still missing after installing nftables".into())
        }
    }

    fn name(self) -> &'static str {
        match self {
            Firewall::Nft => "nftables",
            Firewall::Iptables => "iptables",
        }
    }

    /// Makes namespace `ns` a NAT from `lan0` to `wan0`.
    fn install(self, ns: &str, nat: Nat) -> Result<(), String> {
        let random = nat == Nat::Symmetric;
        match self {
            Firewall::Nft => {
                let masquerade = if random {
                    "masquerade random"
                } else {
                    "masquerade"
                };
                let rules = format!(
                    "table ip peerstack_nat {{\n\
                     \x20 chain postrouting {{ type nat hook postrouting priority srcnat; policy accept; oifname \"wan0\" {masquerade}; }}\n\
                     \x20 chain forward {{ type filter hook forward priority filter; policy accept; iifname \"wan0\" ct state new,invalid drop; }}\n\
                     \x20 chain input {{ type filter hook input priority filter; policy accept; iifname \"wan0\" ct state new,invalid drop; }}\n\
                     }}\n"
                );
                run_within(
                    Command::new("ip").args(["netns", "exec", ns, "nft", "-f", "-"]),
                    Some(&rules),
                    SETUP_LIMIT,
                )
            }
            Firewall::Iptables => {
                let mut masquerade = vec![
                    "-t",
                    "nat",
                    "-A",
                    "POSTROUTING",
                    "-o",
                    "wan0",
                    "-j",
                    "MASQUERADE",
                ];
                if random {
                    masquerade.push("--random");
                }
                let drop_unsolicited = |chain: &'static str| {
                    vec![
                        "-A",
                        chain,
                        "-i",
                        "wan0",
                        "-m",
                        "conntrack",
                        "--ctstate",
                        "NEW,INVALID",
                        "-j",
                        "DROP",
                    ]
                };
                for rule in [
                    masquerade,
                    drop_unsolicited("FORWARD"),
                    drop_unsolicited("INPUT"),
                ] {
                    run_within(
                        Command::new("ip")
                            .args(["netns", "exec", ns, "iptables", "-w", "5"])
                            .args(rule),
                        None,
                        SETUP_LIMIT,
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// The namespaces of the NAT topology.
#[derive(Clone, Copy)]
enum Role {
    Public,
    NatA,
    NatB,
    HostA,
    HostB,
}

impl Role {
    const ALL: [Role; 5] = [
        Role::Public,
        Role::NatA,
        Role::NatB,
        Role::HostA,
        Role::HostB,
    ];

    fn suffix(self) -> &'static str {
        match self {
            Role::Public => "pub",
            Role::NatA => "nata",
            Role::NatB => "natb",
            Role::HostA => "hosta",
            Role::HostB => "hostb",
        }
    }
}

/// Runs `ip args…` with the setup time limit.
fn ip(args: &[&str]) -> Result<(), String> {
    run_within(Command::new("ip").args(args), None, SETUP_LIMIT)
}

/// Runs `sh -c script` inside namespace `ns`.
fn ns_sh(ns: &str, script: &str) -> Result<(), String> {
    run_within(
        Command::new("ip").args(["netns", "exec", ns, "sh", "-c", script]),
        None,
        SETUP_LIMIT,
    )
}

/// Kills every process in named namespace `name` and deletes it.
fn delete_namespace(name: &str) {
    let mut list = Command::new("ip");
    list.args(["netns", "pids", name]);
    let pids: Vec<u32> = run_captured(&mut list, SETUP_LIMIT, false)
        .lines
        .iter()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    kill_pids(&pids, &format!("left in namespace {name}"));
    if let Err(e) = ip(&["netns", "del", name]) {
        println!("warning: {e}; trying once more");
        thread::sleep(Duration::from_millis(500));
        if let Err(e) = ip(&["netns", "del", name]) {
            println!("warning: {e}: namespace {name} is left behind");
        }
    }
}

/// Our named namespaces (`ip netns list`), optionally only those of one xtask pid.
fn our_namespaces() -> Vec<String> {
    let Ok(out) = Command::new("ip")
        .args(["netns", "list"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(NS_PREFIX))
        .map(String::from)
        .collect()
}

/// Deletes the namespaces of earlier runs whose xtask is gone (killed before
/// its teardown ran). Those of a live xtask (a parallel run) are left alone.
fn delete_stale_namespaces() {
    for name in our_namespaces() {
        let pid = name[NS_PREFIX.len()..]
            .split('-')
            .next()
            .and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "xtask")
        });
        if !alive {
            println!("deleting namespace {name} of an earlier run");
            delete_namespace(&name);
            if let Some(pid) = pid {
                // Its coturn's pidfile and user database.
                let _ = fs::remove_dir_all(
                    std::env::temp_dir().join(format!("peerstack-coturn-{pid}")),
                );
            }
        }
    }
}

/// The NAT topology of the module docs; dropping it kills whatever runs in it
/// and deletes its namespaces.
struct Topology {
    prefix: String,
    /// The namespaces made so far, deleted on drop.
    created: Vec<String>,
}

impl Topology {
    fn name(&self, role: Role) -> String {
        format!("{}-{}", self.prefix, role.suffix())
    }

    /// What runs a command in `role`'s namespace: `ip netns exec <name>`.
    fn exec(&self, role: Role) -> Vec<String> {
        vec!["ip".into(), "netns".into(), "exec".into(), self.name(role)]
    }

    fn build(nat: Nat, firewall: Firewall) -> Result<Topology, String> {
        let mut t = Topology {
            prefix: format!("{NS_PREFIX}{}", std::process::id()),
            created: Vec::new(),
        };
        for role in Role::ALL {
            let name = t.name(role);
            ip(&["netns", "add", &name])?;
            t.created.push(name.clone());
            // No IPv6 at all (no link-local candidates, no router solicitations).
            ns_sh(
                &name,
                "for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 \
                 /proc/sys/net/ipv6/conf/default/disable_ipv6; \
                 do if [ -w $f ]; then echo 1 > $f; fi; done",
            )?;
            ip(&["-n", &name, "link", "set", "lo", "up"])?;
        }
        let public = t.name(Role::Public);
        let p = public.as_str();
        ip(&["-n", p, "link", "add", "br0", "type", "bridge"])?;
        ip(&[
            "-n",
            p,
            "addr",
            "add",
            &format!("{PUBLIC_IP}/24"),
            "dev",
            "br0",
        ])?;
        ip(&["-n", p, "link", "set", "br0", "up"])?;
        // The silent sink for private addresses (see the module docs).
        ip(&[
            "-n", p, "link", "add", "sink0", "type", "veth", "peer", "name", "sink1",
        ])?;
        ip(&["-n", p, "link", "set", "sink0", "up"])?;
        ip(&["-n", p, "link", "set", "sink1", "up"])?;
        ip(&[
            "-n",
            p,
            "neigh",
            "add",
            "198.18.1.1",
            "lladdr",
            "02:00:00:00:00:01",
            "dev",
            "sink0",
            "nud",
            "permanent",
        ])?;
        ip(&[
            "-n",
            p,
            "route",
            "add",
            "10.0.0.0/8",
            "via",
            "198.18.1.1",
            "dev",
            "sink0",
            "onlink",
        ])?;
        for (i, nat_role, host_role) in [(1, Role::NatA, Role::HostA), (2, Role::NatB, Role::HostB)]
        {
            let (nat_ns, host_ns) = (t.name(nat_role), t.name(host_role));
            let (n, h) = (nat_ns.as_str(), host_ns.as_str());
            let port = format!("wan{i}");
            ip(&[
                "link", "add", "wan0", "netns", n, "type", "veth", "peer", "name", &port, "netns",
                p,
            ])?;
            ip(&["-n", p, "link", "set", &port, "master", "br0", "up"])?;
            ip(&[
                "-n",
                n,
                "addr",
                "add",
                &format!("198.18.0.{}/24", i + 1),
                "dev",
                "wan0",
            ])?;
            ip(&["-n", n, "link", "set", "wan0", "up"])?;
            ip(&[
                "link", "add", "lan0", "netns", n, "type", "veth", "peer", "name", "eth0", "netns",
                h,
            ])?;
            ip(&[
                "-n",
                n,
                "addr",
                "add",
                &format!("10.{i}.0.1/24"),
                "dev",
                "lan0",
            ])?;
            ip(&["-n", n, "link", "set", "lan0", "up"])?;
            // Other private networks: dropped silently when forwarded, as on the Internet.
            ip(&["-n", n, "route", "add", "blackhole", "10.0.0.0/8"])?;
            ns_sh(n, "echo 1 > /proc/sys/net/ipv4/ip_forward")?;
            firewall.install(n, nat)?;
            ip(&[
                "-n",
                h,
                "addr",
                "add",
                &format!("10.{i}.0.2/24"),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", h, "link", "set", "eth0", "up"])?;
            ip(&[
                "-n",
                h,
                "route",
                "add",
                "default",
                "via",
                &format!("10.{i}.0.1"),
            ])?;
        }
        Ok(t)
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        if self.created.is_empty() {
            return;
        }
        println!("tearing down namespaces {}-*", self.prefix);
        for name in self.created.drain(..).rev() {
            delete_namespace(&name);
        }
    }
}

/// `interop-ice-nat`: see the module docs.
pub(super) fn interop_ice_nat(ctx: &Context) -> Outcome {
    if !cmd::is_root() {
        return Outcome::Skipped("needs root (named network namespaces, veths, NAT rules)".into());
    }
    for tool in ["ip", "bash"] {
        if cmd::which(tool).is_none() {
            return Outcome::Skipped(format!("`{tool}` is not on PATH"));
        }
    }
    if !cmd::probe(Command::new("ip").args(["netns", "list"])) {
        return Outcome::Skipped("`ip netns list` fails here".into());
    }
    if let Err(why) = ensure_peer_tools() {
        return Outcome::Skipped(why);
    }
    let firewall = match Firewall::find() {
        Ok(f) => f,
        Err(why) => return Outcome::Skipped(why),
    };
    match nat_suite(ctx, firewall) {
        Ok(reports) => {
            print_reports("interop-ice-nat", &reports);
            outcome(&reports)
        }
        Err(e) => Outcome::Failed(e),
    }
}

fn nat_suite(ctx: &Context, firewall: Firewall) -> Result<Vec<Report>, String> {
    let peer = build_example(&ctx.root, "ice", "ice-peer")?;
    let peer = utf8(&peer)?.to_owned();
    let xtask =
        std::env::current_exe().map_err(|e| format!("where is the xtask executable? {e}"))?;
    let logs = log_dir(&ctx.root, "interop-ice-nat")?;
    println!("NAT rules with {}", firewall.name());
    delete_stale_namespaces();
    let mut reports = Vec::new();
    for nat in [Nat::EndpointIndependent, Nat::Symmetric] {
        let start = Instant::now();
        let result = nat_scenario(nat, firewall, &peer, &xtask, &logs);
        report(&mut reports, nat.slug(), result, start);
    }

    // Addresses deleted under a running connection (crates/ice/tests/interface_removal.rs):
    // the test starts itself in a fresh namespace of its own.
    println!("\n--> interface removal (crates/ice/tests/interface_removal.rs)");
    let start = Instant::now();
    let result = build_test_executable(&ctx.root, "ice", "interface_removal").and_then(|exe| {
        let mut tests = command(&[], utf8(&exe)?);
        tests
            .args(["--ignored", "--test-threads=1", "--nocapture"])
            .env(REQUIRE_PEERS, "1")
            .current_dir(ctx.root.join("crates/ice"));
        let out = run_captured(&mut tests, TURN_TESTS_LIMIT, true);
        out.result.and_then(|()| {
            let moved = out.lines.iter().find(|l| l.starts_with("moved off "));
            let failed = out.lines.iter().find(|l| l.starts_with("failed "));
            match (moved, failed) {
                (Some(m), Some(f)) => Ok(format!("{m}; {f}")),
                _ => Err("the test did not report moving and failing".into()),
            }
        })
    });
    report(&mut reports, "interface-removal", result, start);
    let own = format!("{NS_PREFIX}{}-", std::process::id());
    let left: Vec<String> = our_namespaces()
        .into_iter()
        .filter(|n| n.starts_with(&own))
        .collect();
    if !left.is_empty() {
        reports.push(Report {
            name: "teardown".into(),
            result: Err(format!("namespaces left behind: {}", left.join(", "))),
            seconds: 0.0,
        });
    }
    Ok(reports)
}

fn nat_scenario(
    nat: Nat,
    firewall: Firewall,
    peer: &str,
    xtask: &Path,
    logs: &Path,
) -> Result<String, String> {
    let what = match nat {
        Nat::EndpointIndependent => {
            "(a) endpoint-independent NATs (masquerade), peers with --stun: hole punching"
        }
        Nat::Symmetric => {
            "(b) symmetric NATs (masquerade random), peers with --stun and --turn: relayed"
        }
    };
    println!("\n--> {what}: building the topology");
    let topo = Topology::build(nat, firewall)?;
    // Declared after the topology, so it is stopped before the teardown.
    let _coturn = Coturn::start(
        &topo.exec(Role::Public),
        PUBLIC_IP,
        &[],
        &logs.join(format!("coturn-{}.log", nat.slug())),
    )?;
    // How the hosts appear on the public side (and proof the NATs forward).
    for host in [Role::HostA, Role::HostB] {
        let mut probe = command(&topo.exec(host), "turnutils_stunclient");
        probe.args(["-p", &TURN_PORT.to_string(), PUBLIC_IP]);
        let out = run_captured(&mut probe, Duration::from_secs(3), true);
        if out.result.is_err() || !out.lines.iter().any(|l| l.contains("reflexive addr")) {
            return Err(format!(
                "{} got no binding response from coturn through its NAT",
                topo.name(host)
            ));
        }
    }

    let stun = format!("{PUBLIC_IP}:{TURN_PORT}");
    let turn = format!("{PUBLIC_IP}:{TURN_PORT},{TURN_USER},{TURN_PASS}");
    let mut servers = vec!["--stun", stun.as_str()];
    if nat == Nat::Symmetric {
        servers.extend(["--turn", turn.as_str()]);
    }
    let (send_timeout, echo_timeout) = (SENDER_TIMEOUT.to_string(), PAIR_TIMEOUT.to_string());
    let peer_cmd = |host: Role, role: &[&str]| -> Vec<String> {
        let mut argv = topo.exec(host);
        argv.extend(["env".into(), format!("RUST_LOG={PEER_LOG}"), peer.into()]);
        argv.extend(role.iter().chain(&servers).map(|s| s.to_string()));
        argv
    };
    let names = ("host-a", "host-b");
    let spec = PairSpec {
        title: format!(
            "{what}: {} (10.1.0.2) sends {MESSAGES}, {} (10.2.0.2) echoes",
            names.0, names.1
        ),
        slug: nat.slug().into(),
        names,
        sender: peer_cmd(
            Role::HostA,
            &["--send", MESSAGES, "--timeout", &send_timeout],
        ),
        echoer: peer_cmd(Role::HostB, &["--controlled", "--timeout", &echo_timeout]),
    };
    let run = run_pair(xtask, logs, &spec)?;

    let mut problems = Vec::new();
    let needle = match nat {
        Nat::EndpointIndependent => " typ srflx",
        Nat::Symmetric => " typ relay",
    };
    for (from, to) in [(names.0, names.1), (names.1, names.0)] {
        if run.signalled(from, to, needle) == 0 {
            problems.push(format!("{from} signalled no `{}` candidate", needle.trim()));
        }
    }
    let selected = match last_selected_pair(&run.sender_stderr) {
        Some((local, remote)) => {
            let relayed = local.contains(" typ relay") || remote.contains(" typ relay");
            if nat == Nat::Symmetric && !relayed {
                problems.push(format!(
                    "the selected pair is not relayed: {local} <-> {remote}"
                ));
            }
            format!("selected {} <-> {}", kind(local), kind(remote))
        }
        None => {
            problems.push(format!("{} logged no `{SELECTED_PAIR}` line", names.0));
            String::new()
        }
    };
    if problems.is_empty() {
        Ok(format!("{selected}, __pair {:.1} s", run.seconds))
    } else {
        Err(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: &str = "candidate:1301067376 1 udp 467967 198.18.0.1 49171 typ relay raddr 198.18.0.2 rport 19427 generation 0 ufrag THdI network-id 1 network-cost 0";
    const REMOTE: &str =
        "candidate:322603956 1 udp 1845961727 198.18.0.3 58485 typ prflx ufrag yGPZ";

    #[test]
    fn finds_the_last_selected_pair() {
        let stderr = format!(
            "2026-01-01T00:00:00Z  INFO ice_peer: selected pair local={REMOTE} remote={LOCAL}\n\
             2026-01-01T00:00:01Z  INFO ice_peer: selected pair local={LOCAL} remote={REMOTE}\n\
             ping 0: rtt 0.3 ms\n"
        );
        assert_eq!(last_selected_pair(&stderr), Some((LOCAL, REMOTE)));
        assert_eq!(last_selected_pair("connected\n"), None);
        assert_eq!(kind(LOCAL), "relay/udp");
        assert_eq!(kind(REMOTE), "prflx/udp");
        assert_eq!(
            kind("candidate:1 1 TCP 5 127.0.0.1 9 typ host tcptype passive"),
            "host/tcp"
        );
    }

    #[test]
    fn counts_signalled_candidates_per_direction() {
        let lines: Vec<String> = [
            r#"  [a -> b] {"type":"credentials","ufrag":"x","pwd":"y"}"#.to_owned(),
            format!(r#"  [a -> b] {{"type":"candidate","candidate":"{LOCAL}"}}"#),
            format!(r#"  [b -> a] {{"type":"candidate","candidate":"{REMOTE}"}}"#),
            format!("ice_peer: typ relay in a log line is no candidate {LOCAL}"),
        ]
        .to_vec();
        assert_eq!(signalled(&lines, "a", "b", " typ relay"), 1);
        assert_eq!(signalled(&lines, "a", "b", "candidate:"), 1);
        assert_eq!(signalled(&lines, "b", "a", " typ relay"), 0);
        assert_eq!(signalled(&lines, "b", "a", " typ prflx"), 1);
    }
}
