//! `xtask __pair`: runs two ICE peers that signal with JSON lines on
//! stdin/stdout (the protocol of `cargo run -p ice --example ice-peer` and of
//! `interop/aioice/ice_peer.py`) and wires each one's stdout to the other's
//! stdin, like `a | b | a` would if shells could loop.
//!
//! ```text
//! xtask __pair [--timeout SECS] [--names SENDER,ECHOER] SENDER-CMD... -- ECHOER-CMD...
//! ```
//!
//! The first command is the sending side (`--send N`): the pairing passes when
//! it exits 0 within the timeout (default 60 s) and both sides spoke the
//! protocol (credentials and at least one candidate each, so a program that
//! exits 0 without doing anything does not pass). Both children are killed
//! afterwards. The signalling lines are printed as they pass; on success the
//! sender's round-trip-time lines, on failure both sides' stderr.
//!
//! The test-all step `interop-ice-aioice` runs this hidden command inside a
//! loopback-only network namespace, so both peers live there.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Default time the sender has to finish.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How many of a side's last stderr lines a failure report shows.
const STDERR_TAIL: usize = 300;

/// What one direction of the signalling carried.
#[derive(Default)]
struct Relayed {
    credentials: usize,
    candidates: usize,
    end_of_candidates: usize,
}

/// One running peer: the child, its captured stderr and the thread collecting it.
struct Peer {
    name: String,
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    stderr_thread: Option<JoinHandle<()>>,
}

impl Peer {
    fn spawn(name: &str, argv: &[String]) -> Result<(Peer, ChildStdin, impl Read), String> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| format!("__pair: no command for {name}"))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("__pair: could not start {name} `{program}`: {e}"))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&stderr);
        let stderr_thread = thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).split(b'\n') {
                let Ok(line) = line else { break };
                let line = String::from_utf8_lossy(&line).trim_end().to_owned();
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let peer = Peer {
            name: name.to_owned(),
            child,
            stderr,
            stderr_thread: Some(stderr_thread),
        };
        Ok((peer, stdin, stdout))
    }

    fn stderr_lines(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Kills the child unless it has exited and reaps it.
    fn stop(&mut self) -> Option<ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

/// Copies `from`'s lines to `to` (closing `to` at end of input), prints each
/// line with `label` and counts the protocol messages seen.
fn relay(label: String, from: impl Read + Send + 'static, to: ChildStdin) -> JoinHandle<Relayed> {
    thread::spawn(move || {
        let mut seen = Relayed::default();
        let mut to = Some(to);
        for line in BufReader::new(from).split(b'\n') {
            let Ok(line) = line else { break };
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches('\r');
            println!("  [{label}] {text}");
            match message_type(text).as_deref() {
                Some("credentials") => seen.credentials += 1,
                Some("candidate") => seen.candidates += 1,
                Some("end-of-candidates") => seen.end_of_candidates += 1,
                _ => {}
            }
            if let Some(stdin) = to.as_mut() {
                let written = stdin
                    .write_all(text.as_bytes())
                    .and_then(|()| stdin.write_all(b"\n"))
                    .and_then(|()| stdin.flush());
                if written.is_err() {
                    // The receiver has gone; keep draining so the writer never blocks.
                    to = None;
                }
            }
        }
        println!("  [{label}] (end of output)");
        seen
    })
}

/// The value of the top-level `"type"` string of a one-line JSON object,
/// tolerating whitespace around the colon. Not a JSON parser: the first
/// `"type"` key wins, which is enough for the protocol's flat objects.
fn message_type(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix('{')?;
    let after_key = &rest[rest.find("\"type\"")? + "\"type\"".len()..];
    let value = after_key.trim_start().strip_prefix(':')?.trim_start();
    let value = value.strip_prefix('"')?;
    Some(value[..value.find('"')?].to_owned())
}

/// Waits up to `limit` for `handle`'s thread, then abandons it (a stray
/// grandchild could keep a pipe open forever).
fn join_within<T>(handle: JoinHandle<T>, limit: Duration) -> Option<T> {
    let start = Instant::now();
    while !handle.is_finished() {
        if start.elapsed() > limit {
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
    handle.join().ok()
}

/// The round-trip-time summary lines in `lines` ("rtt summary: …", as both
/// peers print), else every line mentioning rtt, else the last few lines.
fn rtt_lines(lines: &[String]) -> Vec<&str> {
    let matching = |needle: &str| -> Vec<&str> {
        lines
            .iter()
            .map(String::as_str)
            .filter(|l| l.to_ascii_lowercase().contains(needle))
            .collect()
    };
    let summary = matching("rtt summary");
    if !summary.is_empty() {
        return summary;
    }
    let any = matching("rtt");
    if !any.is_empty() {
        return any;
    }
    lines[lines.len().saturating_sub(10)..]
        .iter()
        .map(String::as_str)
        .collect()
}

fn print_stderr(peer: &Peer) {
    let lines = peer.stderr_lines();
    let skip = lines.len().saturating_sub(STDERR_TAIL);
    println!(
        "---- stderr of {} ({} lines{}) ----",
        peer.name,
        lines.len(),
        if skip > 0 {
            format!(", the first {skip} left out")
        } else {
            String::new()
        }
    );
    for line in &lines[skip..] {
        println!("{line}");
    }
    println!("---- end of stderr of {} ----", peer.name);
}

/// Runs `xtask __pair …`.
pub(crate) fn main(args: &[String]) -> Result<(), String> {
    let mut timeout = DEFAULT_TIMEOUT;
    let mut names = ("sender".to_owned(), "echoer".to_owned());
    let mut rest = args;
    loop {
        match rest {
            [flag, value, tail @ ..] if flag == "--timeout" => {
                let secs: f64 = value
                    .parse()
                    .map_err(|e| format!("__pair: --timeout {value:?}: {e}"))?;
                timeout = Duration::try_from_secs_f64(secs)
                    .map_err(|e| format!("__pair: --timeout {value:?}: {e}"))?;
                rest = tail;
            }
            [flag, value, tail @ ..] if flag == "--names" => {
                let (a, b) = value
                    .split_once(',')
                    .ok_or_else(|| format!("__pair: --names wants SENDER,ECHOER, not {value:?}"))?;
                names = (a.to_owned(), b.to_owned());
                rest = tail;
            }
            _ => break,
        }
    }
    let split = rest
        .iter()
        .position(|a| a == "--")
        .ok_or("__pair: usage: __pair [--timeout SECS] [--names A,B] SENDER... -- ECHOER...")?;
    let (sender_argv, echoer_argv) = (&rest[..split], &rest[split + 1..]);
    let (sender_name, echoer_name) = names;
    // "ours (sender)", but plain "sender" when no names were given.
    let with_role = |name: &str, role: &str| {
        if name == role {
            name.to_owned()
        } else {
            format!("{name} ({role})")
        }
    };
    let (sender_role, echoer_role) = (
        with_role(&sender_name, "sender"),
        with_role(&echoer_name, "echoer"),
    );

    let start = Instant::now();
    let (mut sender, sender_in, sender_out) = Peer::spawn(&sender_name, sender_argv)?;
    let (mut echoer, echoer_in, echoer_out) = match Peer::spawn(&echoer_name, echoer_argv) {
        Ok(peer) => peer,
        Err(e) => {
            sender.stop();
            return Err(e);
        }
    };
    let to_echoer = relay(
        format!("{sender_name} -> {echoer_name}"),
        sender_out,
        echoer_in,
    );
    let to_sender = relay(
        format!("{echoer_name} -> {sender_name}"),
        echoer_out,
        sender_in,
    );

    // Wait for the sender; the echoer serves until it is killed.
    let mut echoer_exit: Option<ExitStatus> = None;
    let sender_exit = loop {
        match sender.child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(e) => {
                println!("__pair: waiting for {sender_name}: {e}");
                break None;
            }
        }
        if echoer_exit.is_none() {
            if let Ok(Some(status)) = echoer.child.try_wait() {
                println!("__pair: {echoer_name} exited early: {status}");
                echoer_exit = Some(status);
            }
        }
        if start.elapsed() > timeout {
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    sender.stop();
    echoer.stop();
    let grace = Duration::from_secs(2);
    let sent = join_within(to_echoer, grace).unwrap_or_default();
    let received = join_within(to_sender, grace).unwrap_or_default();
    for peer in [&mut sender, &mut echoer] {
        if let Some(thread) = peer.stderr_thread.take() {
            join_within(thread, grace);
        }
    }

    let mut problems = Vec::new();
    match sender_exit {
        Some(status) if status.success() => {}
        Some(status) => problems.push(format!("{sender_role} exited with {status}")),
        None => problems.push(format!(
            "{sender_role} did not finish within {:.0} s",
            timeout.as_secs_f64()
        )),
    }
    for (name, seen) in [(&sender_name, &sent), (&echoer_name, &received)] {
        if seen.credentials == 0 || seen.candidates == 0 {
            problems.push(format!(
                "{name} signalled {} credentials and {} candidates (needs at least one of each)",
                seen.credentials, seen.candidates
            ));
        }
    }
    println!(
        "__pair: {sender_name} signalled {} candidate(s){}, {echoer_name} {} candidate(s){}",
        sent.candidates,
        if sent.end_of_candidates > 0 {
            " + end-of-candidates"
        } else {
            ""
        },
        received.candidates,
        if received.end_of_candidates > 0 {
            " + end-of-candidates"
        } else {
            ""
        },
    );
    if problems.is_empty() {
        println!(
            "__pair: {sender_role} -> {echoer_role}: ok in {:.2} s",
            elapsed.as_secs_f64()
        );
        for line in rtt_lines(&sender.stderr_lines()) {
            println!("  {sender_name}: {line}");
        }
        Ok(())
    } else {
        print_stderr(&sender);
        print_stderr(&echoer);
        Err(format!(
            "{sender_role} -> {echoer_role} after {:.1} s: {}",
            elapsed.as_secs_f64(),
            problems.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_message_type() {
        assert_eq!(
            message_type(r#"{"type":"credentials","ufrag":"a","pwd":"b"}"#).as_deref(),
            Some("credentials")
        );
        assert_eq!(
            message_type(r#" { "candidate": "candidate:1 1 udp 2 127.0.0.1 5 typ host", "type" : "candidate" }"#)
                .as_deref(),
            Some("candidate")
        );
        assert_eq!(message_type("rtt 1 ms"), None);
        assert_eq!(message_type(r#"{"type":1}"#), None);
    }

    #[test]
    fn picks_the_rtt_lines() {
        let lines: Vec<String> = ["connected", "ping 0: rtt 1 ms", "rtt summary: 1/1", "bye"]
            .map(String::from)
            .to_vec();
        assert_eq!(rtt_lines(&lines), ["rtt summary: 1/1"]);
        let lines: Vec<String> = ["connected", "RTT min 1 ms", "bye"]
            .map(String::from)
            .to_vec();
        assert_eq!(rtt_lines(&lines), ["RTT min 1 ms"]);
        let lines: Vec<String> = ["a", "b"].map(String::from).to_vec();
        assert_eq!(rtt_lines(&lines), ["a", "b"]);
    }
}
