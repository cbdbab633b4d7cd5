//! An ICE peer on real sockets, signalling over stdin/stdout as JSON lines.
//!
//! ```text
//! cargo run -p ice --example ice-peer -- [--controlled] [--loopback] [--send N] [--timeout SECS]
//!     [--stun ADDR] [--turn ADDR,USER,PASS[,tcp|,tls]] [--relay-only] [--tcp]
//! ```
//!
//! `--stun` adds a STUN server (server-reflexive candidates), `--turn` a TURN
//! server (relay candidates; `,tcp` reaches it over TCP, `,tls` over TLS:
//! this test tool accepts **any** certificate there, self-signed ones
//! included, with no check of the server's identity), `--relay-only` signals and uses relay
//! candidates only, `--tcp` adds ICE-TCP candidates. No server is used
//! unless given.
//!
//! Stdout is the signalling channel, one JSON object per line:
//!
//! ```text
//! {"type":"credentials","ufrag":"…","pwd":"…"}
//! {"type":"candidate","candidate":"candidate:…"}
//! {"type":"end-of-candidates"}
//! ```
//!
//! Stdin takes the peer's lines in the same form (unknown types are ignored),
//! so two peers connect with each one's stdout piped into the other's stdin:
//!
//! ```text
//! mkfifo a2b b2a
//! cargo run -p ice --example ice-peer -- --loopback --controlled < a2b > b2a &
//! cargo run -p ice --example ice-peer -- --loopback --send 20 < b2a > a2b
//! ```
//!
//! The default role is controlling (`--controlled` for the other; two
//! controlling peers resolve the conflict as ICE says). `--loopback` gathers
//! on 127.0.0.1 only; otherwise every non-loopback address is used, with
//! loopback as the fallback when there is nothing else.
//!
//! Without `--send`, the peer echoes every datagram back, until stdin has
//! closed and `--timeout` seconds (default 30) have passed since start. With
//! `--send N` it sends `ping <ufrag> <i>` N times once connected, resends
//! unanswered ones (at most 10 times each), prints every round-trip time and a
//! min/median/max summary to stderr, and exits 0 when all N echoes are back;
//! non-zero on failure (as soon as ICE fails) or after `--timeout`. Logs go to stderr (`RUST_LOG`).

use std::io::{BufRead, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::Duration;

use ice::driver::{DriverConfig, IceTransport};
use ice::network::NetworkFilter;
use ice::{
    Candidate, Credentials, GatheringState, IceConfig, IceConnectionState, IceEvent, IceRole,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Longest signalling line accepted; longer ones are skipped.
const MAX_LINE: usize = 8192;
/// Pacing of new pings.
const PING_INTERVAL: Duration = Duration::from_millis(10);
/// A ping without an echo after this long is sent again.
const RESEND_AFTER: Duration = Duration::from_millis(500);
/// Most transmissions of one ping.
const MAX_ATTEMPTS: u32 = 10;

const USAGE: &str = "usage: ice-peer [--controlled] [--loopback] [--send N] [--timeout SECS] [--stun ADDR] [--turn ADDR,USER,PASS[,tcp|,tls]] [--relay-only] [--tcp]
  --turn ...,tls  TURN over TLS; as a test tool, ice-peer accepts ANY server certificate
                  (self-signed included) without checking it";

#[derive(Debug)]
struct Args {
    controlled: bool,
    loopback: bool,
    send: Option<usize>,
    timeout: Duration,
    stun: Vec<std::net::SocketAddr>,
    turn: Vec<ice::allocator::TurnServerConfig>,
    relay_only: bool,
    tcp: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        controlled: false,
        loopback: false,
        send: None,
        timeout: Duration::from_secs(30),
        stun: Vec::new(),
        turn: Vec::new(),
        relay_only: false,
        tcp: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--controlled" => args.controlled = true,
            "--relay-only" => args.relay_only = true,
            "--tcp" => args.tcp = true,
            "--stun" => {
                let v = value("--stun")?;
                args.stun
                    .push(v.parse().map_err(|e| format!("bad --stun {v}: {e}"))?);
            }
            "--turn" => {
                let v = value("--turn")?;
                let parts: Vec<&str> = v.split(',').collect();
                let (addr, user, pass, how) = match parts.as_slice() {
                    [a, u, p] => (*a, *u, *p, "udp"),
                    [a, u, p, how @ ("tcp" | "tls")] => (*a, *u, *p, *how),
                    _ => return Err(format!("--turn wants ADDR,USER,PASS[,tcp|,tls], got {v}")),
                };
                let addr: std::net::SocketAddr = addr
                    .parse()
                    .map_err(|e| format!("bad --turn address {addr}: {e}"))?;
                use ice::allocator::TurnServerConfig;
                args.turn.push(match how {
                    "tcp" => TurnServerConfig::tcp(addr, user, pass),
                    // A test tool: self-signed test servers are accepted (said in --help).
                    "tls" => {
                        let tls = ice::port::TurnTlsConfig::new(&addr.ip().to_string())
                            .danger_accept_invalid_certificates();
                        TurnServerConfig::tls(addr, tls, user, pass)
                    }
                    _ => TurnServerConfig::udp(addr, user, pass),
                });
            }
            "--loopback" => args.loopback = true,
            "--send" => {
                let n = value("--send")?;
                args.send = Some(n.parse().map_err(|_| format!("bad --send {n}"))?);
            }
            "--timeout" => {
                let s = value("--timeout")?;
                let secs: f64 = s.parse().map_err(|_| format!("bad --timeout {s}"))?;
                if !(secs.is_finite() && secs >= 0.0) {
                    return Err(format!("bad --timeout {s}"));
                }
                args.timeout = Duration::from_secs_f64(secs);
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
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
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ice-peer: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(run(args)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ice-peer: {e}");
            1
        }
    };
    let _ = std::io::stdout().flush();
    // Exit at once: the stdin thread may be blocked in read(2) for good.
    std::process::exit(code)
}

// ------------------------------------------------------------------ signalling

/// Writes one line to stdout and flushes it. A closed stdout (the peer went
/// away) is not an error worth dying for: the timeout decides.
fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        tracing::debug!("stdout closed; signalling line dropped");
    }
}

/// A flat JSON object with string members.
fn json(members: &[(&str, &str)]) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        escape_into(&mut s, k);
        s.push(':');
        escape_into(&mut s, v);
    }
    s.push('}');
    s
}

fn escape_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parses one flat JSON object: its string members, in order; members with
/// other scalar values (numbers, true, false, null) are skipped. `None` for
/// anything else (nested values, syntax errors, trailing bytes).
fn parse_object(line: &str) -> Option<Vec<(String, String)>> {
    let mut p = JsonParser {
        s: line.as_bytes(),
        i: 0,
    };
    let mut members = Vec::new();
    p.ws();
    p.expect(b'{')?;
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let key = p.string()?;
            p.ws();
            p.expect(b':')?;
            p.ws();
            if p.peek() == Some(b'"') {
                members.push((key, p.string()?));
            } else {
                p.scalar()?;
            }
            p.ws();
            match p.next()? {
                b',' => continue,
                b'}' => break,
                _ => return None,
            }
        }
    }
    p.ws();
    (p.i == p.s.len()).then_some(members)
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn scalar(&mut self) -> Option<()> {
        let start = self.i;
        while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b"+-.".contains(&b)) {
            self.i += 1;
        }
        (self.i > start).then_some(())
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        self.i += 4;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.next()? {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let c = match self.next()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi) {
                                self.expect(b'\\')?;
                                self.expect(b'u')?;
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return None;
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            char::from_u32(code)?
                        }
                        _ => return None,
                    };
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
                b if b < 0x20 => return None,
                b => out.push(b),
            }
        }
    }
}

/// Reads stdin lines on a thread (tokio's stdin cannot be cancelled, and
/// would hold up the exit); the channel closes at end of input.
fn spawn_stdin_reader() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(256);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut line = Vec::new();
        loop {
            line.clear();
            match (&mut input)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line)
            {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "reading stdin");
                    break;
                }
            }
            if line.len() > MAX_LINE && line.last() != Some(&b'\n') {
                tracing::warn!("signalling line longer than {MAX_LINE} bytes skipped");
                // Discard the rest of it.
                let mut rest = Vec::new();
                loop {
                    rest.clear();
                    match (&mut input)
                        .take(MAX_LINE as u64)
                        .read_until(b'\n', &mut rest)
                    {
                        Ok(0) | Err(_) => return,
                        Ok(_) if rest.last() == Some(&b'\n') => break,
                        Ok(_) => {}
                    }
                }
                continue;
            }
            let text = String::from_utf8_lossy(&line).trim().to_string();
            if !text.is_empty() && tx.blocking_send(text).is_err() {
                break;
            }
        }
        tracing::debug!("stdin reader finished");
    });
    rx
}

/// Applies one signalling line from the peer.
async fn handle_line(t: &IceTransport, line: &str) -> Result<(), ice::Error> {
    let Some(members) = parse_object(line) else {
        tracing::warn!(line, "ignoring a line that is not a flat JSON object");
        return Ok(());
    };
    let get = |key: &str| {
        members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    match get("type") {
        Some("credentials") => {
            let (Some(ufrag), Some(pwd)) = (get("ufrag"), get("pwd")) else {
                tracing::warn!("credentials without ufrag or pwd");
                return Ok(());
            };
            match Credentials::new(ufrag, pwd) {
                Ok(c) => {
                    tracing::info!(ufrag, "remote credentials");
                    t.set_remote_credentials(c).await?;
                }
                Err(e) => tracing::warn!(error = %e, "bad remote credentials"),
            }
        }
        Some("candidate") => {
            let Some(text) = get("candidate") else {
                tracing::warn!("candidate message without a candidate");
                return Ok(());
            };
            match text.parse::<Candidate>() {
                Ok(c) => {
                    tracing::info!(candidate = %c, "remote candidate");
                    match t.add_remote_candidate(c).await {
                        Err(ice::Error::Closed) => return Err(ice::Error::Closed),
                        Err(e) => tracing::warn!(error = %e, "remote candidate not used"),
                        Ok(()) => {}
                    }
                }
                Err(e) => tracing::warn!(error = %e, text, "bad remote candidate"),
            }
        }
        Some("end-of-candidates") => {
            tracing::info!("remote end-of-candidates");
            t.end_of_remote_candidates().await?;
        }
        other => tracing::debug!(kind = ?other, "ignoring signalling message"),
    }
    Ok(())
}

// ----------------------------------------------------------------------- pings

struct Pinger {
    /// `ping <ufrag> `: what our pings (and so their echoes) start with.
    prefix: String,
    n: usize,
    /// Pings sent so far at least once.
    started: usize,
    last_sent: Vec<Option<Instant>>,
    attempts: Vec<u32>,
    rtt: Vec<Option<Duration>>,
    next_new: Instant,
}

impl Pinger {
    fn new(n: usize, ufrag: &str) -> Pinger {
        Pinger {
            prefix: format!("ping {ufrag} "),
            n,
            started: 0,
            last_sent: vec![None; n],
            attempts: vec![0; n],
            rtt: vec![None; n],
            next_new: Instant::now(),
        }
    }

    fn is_echo(&self, data: &[u8]) -> bool {
        data.starts_with(self.prefix.as_bytes())
    }

    fn done(&self) -> bool {
        self.rtt.iter().all(Option::is_some)
    }

    fn received(&self) -> usize {
        self.rtt.iter().filter(|r| r.is_some()).count()
    }

    async fn send(&mut self, t: &IceTransport, i: usize, now: Instant) {
        let msg = format!("{}{i}", self.prefix);
        match t.send(msg.as_bytes()).await {
            Ok(()) => {
                self.last_sent[i] = Some(now);
                self.attempts[i] += 1;
            }
            Err(e) => tracing::debug!(error = %e, i, "ping not sent"),
        }
    }

    /// Sends the next new ping when due and resends overdue ones.
    async fn on_tick(&mut self, t: &IceTransport, now: Instant) -> Result<(), String> {
        if self.started < self.n && now >= self.next_new {
            let i = self.started;
            self.send(t, i, now).await;
            if self.last_sent[i].is_some() {
                self.started += 1;
                self.next_new = now + PING_INTERVAL;
            }
        }
        for i in 0..self.started {
            if self.rtt[i].is_some() || self.last_sent[i].is_some_and(|s| now < s + RESEND_AFTER) {
                continue;
            }
            if self.attempts[i] >= MAX_ATTEMPTS {
                return Err(format!("ping {i}: no echo after {MAX_ATTEMPTS} attempts"));
            }
            tracing::info!(i, attempt = self.attempts[i] + 1, "resending ping");
            self.send(t, i, now).await;
        }
        Ok(())
    }

    fn on_echo(&mut self, data: &[u8], now: Instant) {
        let Some(i) = std::str::from_utf8(&data[self.prefix.len()..])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|&i| i < self.n)
        else {
            tracing::debug!("unrecognised echo");
            return;
        };
        let (Some(sent), None) = (self.last_sent[i], self.rtt[i]) else {
            return; // a duplicate
        };
        let rtt = now - sent;
        self.rtt[i] = Some(rtt);
        let resent = if self.attempts[i] > 1 {
            format!(" (after {} transmissions)", self.attempts[i])
        } else {
            String::new()
        };
        eprintln!("ping {i}: rtt {:.3} ms{resent}", ms(rtt));
    }

    fn summary(&self) -> String {
        let mut rtts: Vec<Duration> = self.rtt.iter().flatten().copied().collect();
        rtts.sort();
        if rtts.is_empty() {
            return "no echoes".into();
        }
        let median = rtts[rtts.len() / 2];
        let resent = self.attempts.iter().filter(|&&a| a > 1).count();
        format!(
            "rtt summary: {}/{} echoes, min {:.3} ms, median {:.3} ms, max {:.3} ms, {resent} resent",
            rtts.len(),
            self.n,
            ms(rtts[0]),
            ms(median),
            ms(rtts[rtts.len() - 1])
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ------------------------------------------------------------------------ main

async fn run(args: Args) -> Result<(), String> {
    let role = if args.controlled {
        IceRole::Controlled
    } else {
        IceRole::Controlling
    };
    let networks = if args.loopback {
        NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)])
    } else {
        NetworkFilter::default()
    };
    let t = IceTransport::bind(DriverConfig {
        ice: IceConfig {
            role,
            stun_servers: args.stun.clone(),
            turn_servers: args.turn.clone(),
            candidate_filter: if args.relay_only {
                ice::CandidateFilter::RelayOnly
            } else {
                ice::CandidateFilter::All
            },
            ..Default::default()
        },
        networks,
        tcp: args.tcp,
        ..Default::default()
    })
    .map_err(|e| format!("cannot bind: {e}"))?;
    let credentials = t.local_credentials();
    tracing::info!(?role, ufrag = %credentials.ufrag, addrs = ?t.local_addrs(), "ice-peer started");
    emit(&json(&[
        ("type", "credentials"),
        ("ufrag", &credentials.ufrag),
        ("pwd", &credentials.pwd),
    ]));

    let start = Instant::now();
    let deadline = start + args.timeout;
    let mut lines = spawn_stdin_reader();
    let mut stdin_open = true;
    let mut last_signal: Option<Instant> = None;
    let mut connected_at: Option<Instant> = None;
    let mut pinger = args.send.map(|n| Pinger::new(n, &credentials.ufrag));
    let mut echoed = 0u64;
    let mut buf = vec![0u8; 65_536];
    let mut tick = tokio::time::interval(if pinger.is_some() {
        PING_INTERVAL
    } else {
        Duration::from_millis(100)
    });
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        tokio::select! {
            line = lines.recv(), if stdin_open => match line {
                Some(line) => {
                    handle_line(&t, &line).await.map_err(|e| format!("transport: {e}"))?;
                    last_signal = Some(Instant::now());
                }
                None => {
                    tracing::info!("stdin closed");
                    stdin_open = false;
                }
            },
            event = t.next_event() => match event {
                Some(IceEvent::LocalCandidate(c)) => {
                    emit(&json(&[("type", "candidate"), ("candidate", &c.to_string())]));
                }
                Some(IceEvent::GatheringStateChanged(GatheringState::Complete)) => {
                    emit(&json(&[("type", "end-of-candidates")]));
                }
                Some(IceEvent::ConnectionStateChanged(s)) => {
                    tracing::info!(state = ?s, "ICE connection state");
                    // A sender has nothing more to wait for: fail now, not at --timeout.
                    if s == IceConnectionState::Failed {
                        if let Some(p) = &pinger {
                            return Err(format!(
                                "ICE failed {:.0} ms after start: {}/{} echoes",
                                ms(Instant::now() - start),
                                p.received(),
                                p.n
                            ));
                        }
                    }
                    if matches!(s, IceConnectionState::Connected | IceConnectionState::Completed)
                        && connected_at.is_none()
                    {
                        let now = Instant::now();
                        connected_at = Some(now);
                        let since_signal = last_signal.map_or(Duration::ZERO, |l| now - l);
                        eprintln!(
                            "connected {:.3} ms after start, {:.3} ms after the last remote signalling line",
                            ms(now - start),
                            ms(since_signal)
                        );
                    }
                }
                Some(IceEvent::SelectedPairChanged { local, remote }) => {
                    tracing::info!(%local, %remote, "selected pair");
                }
                Some(IceEvent::CandidateError(e)) => {
                    tracing::warn!(server = %e.server, tls = e.tls, code = ?e.code, reason = %e.reason, "TURN server gave no relay candidate");
                }
                Some(event) => tracing::info!(?event, "ICE event"),
                None => return Err("the ICE transport stopped".into()),
            },
            r = t.recv(&mut buf) => {
                let n = r.map_err(|e| format!("receive: {e}"))?;
                let now = Instant::now();
                match &mut pinger {
                    Some(p) if p.is_echo(&buf[..n]) => p.on_echo(&buf[..n], now),
                    _ => match t.send(&buf[..n]).await {
                        Ok(()) => echoed += 1,
                        Err(e) => tracing::debug!(error = %e, "echo not sent"),
                    },
                }
            }
            _ = tick.tick() => {
                let now = Instant::now();
                if let Some(p) = &mut pinger {
                    if p.done() {
                        eprintln!("{}", p.summary());
                        let _ = t.close().await;
                        return Ok(());
                    }
                    if now >= deadline {
                        return Err(format!(
                            "timeout after {:?}: {}/{} echoes, state {:?}",
                            args.timeout, p.received(), p.n, t.state()
                        ));
                    }
                    if matches!(t.state(), IceConnectionState::Connected | IceConnectionState::Completed) {
                        p.on_tick(&t, now).await?;
                    }
                } else if !stdin_open && now >= deadline {
                    tracing::info!(echoed, "stdin closed and the timeout passed: exiting");
                    let _ = t.close().await;
                    return match connected_at {
                        Some(_) => Ok(()),
                        None => Err("never connected".into()),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let line = json(&[
            ("type", "candidate"),
            (
                "candidate",
                "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host",
            ),
            ("odd", "quote\" backslash\\ tab\t nl\n \u{1}"),
        ]);
        let members = parse_object(&line).unwrap();
        assert_eq!(members[0], ("type".into(), "candidate".into()));
        assert_eq!(members[2].1, "quote\" backslash\\ tab\t nl\n \u{1}");
        assert_eq!(
            parse_object(
                r#" { "a" : "\u00e9\ud83d\ude00\/", "n": 12.5e3, "b": true, "c": null } "#
            )
            .unwrap(),
            vec![("a".to_string(), "é😀/".to_string())]
        );
        assert_eq!(parse_object("{}").unwrap(), vec![]);
        for bad in [
            "",
            "{",
            "[]",
            r#"{"a":"b"} x"#,
            r#"{"a":{"b":"c"}}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a" "b"}"#,
            r#"{"a":"b",}"#,
            "{\"a\":\"\u{1}\"}",
        ] {
            assert_eq!(parse_object(bad), None, "{bad:?}");
        }
    }
}
