//! Two `ice-peer` processes (the example, which `cargo test` builds) connect
//! on 127.0.0.1, each one's stdout piped into the other's stdin: the sender
//! pings 20 times and must exit 0 with its round-trip times.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the sender may take, on a loaded machine.
const SENDER_DEADLINE: Duration = Duration::from_secs(30);

fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/two_process-… → target/<profile>/examples/ice-peer
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory");
    dir.join("examples")
        .join(format!("ice-peer{}", std::env::consts::EXE_SUFFIX))
}

/// Copies lines from one peer's stdout to the other's stdin, echoing them to
/// the test output; closing the source closes the destination.
fn pipe(name: &'static str, from: ChildStdout, mut to: ChildStdin) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            eprintln!("[{name}] {line}");
            if writeln!(to, "{line}").and_then(|()| to.flush()).is_err() {
                break;
            }
        }
    })
}

fn collect(mut r: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

/// Kills a child when dropped, so a failing assertion leaves no process behind.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(bin: &PathBuf, args: &[&str]) -> Reaper {
    Reaper(
        Command::new(bin)
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display())),
    )
}

/// The child's exit status, or `None` if it still runs after `deadline`.
fn wait_exit(child: &mut Reaper, deadline: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            return Some(status);
        }
        if start.elapsed() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_processes_ping_over_loopback() {
    let bin = example_binary();
    assert!(
        bin.exists(),
        "{} is missing: `cargo test -p ice` builds it (or `cargo build -p ice --example ice-peer`)",
        bin.display()
    );
    let mut echo = spawn(&bin, &["--controlled", "--loopback", "--timeout", "20"]);
    let mut sender = spawn(&bin, &["--send", "20", "--loopback"]);

    let echo_err = collect(echo.0.stderr.take().unwrap());
    let sender_err = collect(sender.0.stderr.take().unwrap());
    let _to_echo = pipe(
        "sender→echo",
        sender.0.stdout.take().unwrap(),
        echo.0.stdin.take().unwrap(),
    );
    let _to_sender = pipe(
        "echo→sender",
        echo.0.stdout.take().unwrap(),
        sender.0.stdin.take().unwrap(),
    );

    let start = Instant::now();
    let status = wait_exit(&mut sender, SENDER_DEADLINE);
    let elapsed = start.elapsed();
    drop(sender); // kills it if it is still running, so its stderr ends
    drop(echo);
    let sender_log = sender_err.join().unwrap();
    let echo_log = echo_err.join().unwrap();
    let report = format!("--- sender stderr ---\n{sender_log}\n--- echo stderr ---\n{echo_log}");
    let status =
        status.unwrap_or_else(|| panic!("sender still running after {elapsed:?}\n{report}"));
    assert!(
        status.success(),
        "sender failed ({status}) after {elapsed:?}\n{report}"
    );
    let rtts = sender_log
        .lines()
        .filter(|l| l.starts_with("ping ") && l.contains(": rtt "))
        .count();
    assert_eq!(rtts, 20, "one round-trip time per ping\n{report}");
    let summary = sender_log
        .lines()
        .find(|l| l.starts_with("rtt summary: 20/20 echoes"))
        .unwrap_or_else(|| panic!("no summary\n{report}"));
    let connected = sender_log
        .lines()
        .find(|l| l.starts_with("connected "))
        .unwrap_or("");
    println!("two processes: sender done in {elapsed:?}; {connected}; {summary}");
}

/// A sender whose only remote candidate never answers exits with an error
/// as soon as ICE fails, long before its `--timeout`.
#[test]
fn a_sender_exits_as_soon_as_ice_fails() {
    let bin = example_binary();
    assert!(bin.exists(), "{} is missing", bin.display());
    // Nothing listens on the discard port of 127.0.0.1 here: every check fails.
    let mut sender = spawn(&bin, &["--send", "3", "--loopback", "--timeout", "120"]);
    let sender_err = collect(sender.0.stderr.take().unwrap());
    let mut stdin = sender.0.stdin.take().unwrap();
    for line in [
        r#"{"type":"credentials","ufrag":"abcd","pwd":"0123456789012345678901"}"#,
        r#"{"type":"candidate","candidate":"candidate:1 1 udp 2130706431 127.0.0.1 9 typ host"}"#,
        r#"{"type":"end-of-candidates"}"#,
    ] {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    let start = Instant::now();
    let status = wait_exit(&mut sender, SENDER_DEADLINE);
    let elapsed = start.elapsed();
    drop(stdin);
    drop(sender);
    let log = sender_err.join().unwrap();
    let status = status.unwrap_or_else(|| panic!("still running after {elapsed:?}\n{log}"));
    assert!(!status.success(), "a failed ICE exits non-zero\n{log}");
    assert!(log.contains("ICE failed"), "{log}");
    println!("sender gave up {elapsed:?} after start, not at --timeout 120");
}
