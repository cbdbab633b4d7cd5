//! `stun-load`: a STUN Binding load generator for loopback benchmarks.
//!
//! ```text
//! stun-load --server 127.0.0.1:3478 [--sockets 8] [--inflight 32] [--duration 5]
//!           [--warmup 1] [--timeout-ms 200] [--fingerprint] [--no-gso]
//! ```
//!
//! Opens `--sockets` UDP sockets on 127.0.0.1, each keeping `--inflight` Binding
//! requests outstanding. One thread drives every socket with non-blocking
//! `recv` calls (busy polling: the generator is meant to own a core, e.g. under
//! `taskset -c 1`). A response counts when it parses as a Binding success
//! response, its FINGERPRINT (if any) is right and its transaction id is the one
//! outstanding in its slot; the slot is then immediately re-armed with a fresh
//! request. A slot unanswered for `--timeout-ms` is re-sent with a new id (loss).
//!
//! The requests re-armed after draining a socket go out as one UDP_SEGMENT
//! (GSO) train, which the kernel splits into ordinary datagrams: the server
//! sees exactly what it would see from separate `send` calls, while the
//! generator pays one trip through the send path per train. That keeps the
//! generator cheaper per request than the server it measures. `--no-gso` sends
//! one datagram per call (and the generator falls back to that by itself when
//! the kernel refuses GSO).
//!
//! After `--warmup` seconds it counts for `--duration` seconds and prints one line:
//!
//! ```text
//! responses_per_second=123456 responses=617280 seconds=5.000 total_responses=740000 sent=... timeouts=0 stale=0 invalid=0 idle_poll_pct=41.0
//! ```
//!
//! `idle_poll_pct` is the share of `recv` calls that found nothing: near 0 means
//! the generator itself is the bottleneck. Only loopback servers are accepted.

use std::io::{ErrorKind, IoSlice};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrIn};
use stun::attributes::XorMappedAddress;
use stun::{Class, Message, MessageBuilder, Method, TransactionId};

const USAGE: &str = "usage: stun-load --server ADDR [--sockets N] [--inflight K] [--duration SECS] [--warmup SECS] [--timeout-ms MS] [--fingerprint] [--no-gso]";

/// Upper bounds keep every run short and small.
const MAX_DURATION: f64 = 60.0;
const MAX_WARMUP: f64 = 10.0;
const MAX_SOCKETS: usize = 256;
const MAX_INFLIGHT: usize = 1024;
/// How often unanswered slots are looked for.
const SCAN_INTERVAL: Duration = Duration::from_millis(10);
/// Datagrams drained from one socket before moving on to the next.
const RECV_BURST: usize = 64;
/// Most requests in one GSO train (the kernel's UDP_MAX_SEGMENTS is 64 or more).
const GSO_MAX_SEGMENTS: usize = 64;

struct Args {
    server: SocketAddr,
    sockets: usize,
    inflight: usize,
    duration: Duration,
    warmup: Duration,
    timeout: Duration,
    fingerprint: bool,
    gso: bool,
}

fn parse_secs(name: &str, v: Option<String>, max: f64) -> Result<Duration, String> {
    let v = v.ok_or_else(|| format!("{name} needs a value"))?;
    let s: f64 = v.parse().map_err(|e| format!("bad {name} {v}: {e}"))?;
    if !(0.0..=max).contains(&s) {
        return Err(format!("{name} must be between 0 and {max} seconds"));
    }
    Ok(Duration::from_secs_f64(s))
}

fn parse_count(name: &str, v: Option<String>, max: usize) -> Result<usize, String> {
    let v = v.ok_or_else(|| format!("{name} needs a value"))?;
    let n: usize = v.parse().map_err(|e| format!("bad {name} {v}: {e}"))?;
    if n == 0 || n > max {
        return Err(format!("{name} must be between 1 and {max}"));
    }
    Ok(n)
}

fn parse_args() -> Result<Args, String> {
    let mut server = None;
    let mut args = Args {
        server: "127.0.0.1:3478".parse().expect("valid"),
        sockets: 8,
        inflight: 32,
        duration: Duration::from_secs(5),
        warmup: Duration::from_secs(1),
        timeout: Duration::from_millis(200),
        fingerprint: false,
        gso: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--server" | "-s" => {
                let v = it.next().ok_or("--server needs an address")?;
                server = Some(
                    v.parse::<SocketAddr>()
                        .map_err(|e| format!("bad address {v}: {e}"))?,
                );
            }
            "--sockets" => args.sockets = parse_count("--sockets", it.next(), MAX_SOCKETS)?,
            "--inflight" => args.inflight = parse_count("--inflight", it.next(), MAX_INFLIGHT)?,
            "--duration" => args.duration = parse_secs("--duration", it.next(), MAX_DURATION)?,
            "--warmup" => args.warmup = parse_secs("--warmup", it.next(), MAX_WARMUP)?,
            "--timeout-ms" => {
                let ms = parse_count("--timeout-ms", it.next(), 10_000)?;
                args.timeout = Duration::from_millis(ms as u64);
            }
            "--fingerprint" => args.fingerprint = true,
            "--no-gso" => args.gso = false,
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    args.server = server.ok_or_else(|| format!("--server is required\n{USAGE}"))?;
    if !args.server.ip().is_loopback() {
        return Err(format!(
            "refusing to load {}: only loopback servers may be benchmarked",
            args.server
        ));
    }
    if args.duration.is_zero() {
        return Err("--duration must be positive".into());
    }
    Ok(args)
}

/// One request slot: the id outstanding in it and when it was sent.
#[derive(Clone, Copy)]
struct Slot {
    tid: [u8; 12],
    sent: Instant,
}

struct Socket {
    socket: UdpSocket,
    slots: Vec<Slot>,
}

#[derive(Default)]
struct Counters {
    sent: u64,
    valid: u64,
    timeouts: u64,
    stale: u64,
    invalid: u64,
    refused: u64,
    polls: u64,
    empty_polls: u64,
}

struct Generator {
    sockets: Vec<Socket>,
    seq: u64,
    fingerprint: bool,
    timeout: Duration,
    /// Send re-armed requests of one socket as one UDP_SEGMENT (GSO) datagram train.
    gso: bool,
    /// Slots waiting to be (re)sent on the socket being polled.
    pending: Vec<usize>,
    /// The requests of one batch, back to back.
    batch: Vec<u8>,
    c: Counters,
}

impl Generator {
    /// Transaction id: socket index, slot index, then a sequence number.
    fn next_tid(&mut self, socket: usize, slot: usize) -> [u8; 12] {
        self.seq += 1;
        let mut tid = [0u8; 12];
        tid[0..2].copy_from_slice(&(socket as u16).to_be_bytes());
        tid[2..4].copy_from_slice(&(slot as u16).to_be_bytes());
        tid[4..12].copy_from_slice(&self.seq.to_be_bytes());
        tid
    }

    /// Arms every slot in `self.pending` of `socket` with a fresh request and
    /// sends them: GSO trains of up to [`GSO_MAX_SEGMENTS`], or one `send` each.
    fn flush(&mut self, socket: usize, now: Instant) -> std::io::Result<()> {
        let mut pending = std::mem::take(&mut self.pending);
        let per_send = if self.gso { GSO_MAX_SEGMENTS } else { 1 };
        let mut result = Ok(());
        for chunk in pending.chunks(per_send) {
            self.batch.clear();
            let mut seg = 0;
            for &slot in chunk {
                let tid = self.next_tid(socket, slot);
                let mut buf = [0u8; 64];
                let mut b = MessageBuilder::new(
                    &mut buf,
                    Class::Request,
                    Method::BINDING,
                    TransactionId(tid),
                )
                .expect("64 bytes hold a header");
                if self.fingerprint {
                    b.add_fingerprint().expect("64 bytes hold FINGERPRINT");
                }
                seg = b.finish();
                self.batch.extend_from_slice(&buf[..seg]);
                self.sockets[socket].slots[slot] = Slot { tid, sent: now };
            }
            let s = &self.sockets[socket].socket;
            let mut sent = if chunk.len() > 1 {
                send_gso(s, &self.batch, seg)
            } else {
                s.send(&self.batch).map(|_| ())
            };
            if let Err(e) = &sent {
                if chunk.len() > 1 && !is_transient(e) {
                    eprintln!("stun-load: GSO send failed ({e}); sending one datagram per request");
                    self.gso = false;
                    sent = self
                        .batch
                        .chunks(seg)
                        .try_for_each(|d| s.send(d).map(|_| ()));
                }
            }
            match sent {
                Ok(()) => self.c.sent += chunk.len() as u64,
                // The slots stay armed and the timeout scan re-sends them.
                Err(e) if is_transient(&e) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        pending.clear();
        self.pending = pending;
        result
    }

    /// Checks a response; returns the slot it answers.
    fn match_response(&mut self, socket: usize, data: &[u8]) -> Option<usize> {
        let msg = match Message::parse(data) {
            Ok(m) => m,
            Err(_) => {
                self.c.invalid += 1;
                return None;
            }
        };
        let ok = msg.class() == Class::SuccessResponse
            && msg.method() == Method::BINDING
            && msg.verify_fingerprint_if_present().is_ok()
            && matches!(msg.get::<XorMappedAddress>(), Ok(Some(_)));
        if !ok {
            self.c.invalid += 1;
            return None;
        }
        let tid = msg.transaction_id_bytes();
        let sock_idx = u16::from_be_bytes([tid[0], tid[1]]) as usize;
        let slot = u16::from_be_bytes([tid[2], tid[3]]) as usize;
        let slots = &self.sockets[socket].slots;
        if sock_idx != socket || slot >= slots.len() {
            self.c.invalid += 1;
            return None;
        }
        if &slots[slot].tid != tid {
            // The answer to a request that timed out and was re-sent.
            self.c.stale += 1;
            return None;
        }
        Some(slot)
    }

    /// Drains one socket, then re-arms the answered slots; returns valid responses seen.
    fn poll_socket(&mut self, socket: usize, now: Instant) -> std::io::Result<u64> {
        let mut buf = [0u8; 1500];
        let mut valid = 0;
        for _ in 0..RECV_BURST {
            self.c.polls += 1;
            let n = match self.sockets[socket].socket.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.c.empty_polls += 1;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                    self.c.refused += 1;
                    break;
                }
                Err(e) => return Err(e),
            };
            if let Some(slot) = self.match_response(socket, &buf[..n]) {
                valid += 1;
                // Disarm now so a duplicate answer counts as stale.
                self.sockets[socket].slots[slot].tid = [0xFF; 12];
                self.pending.push(slot);
            }
        }
        self.flush(socket, now)?;
        Ok(valid)
    }

    /// Re-sends every slot unanswered for longer than the timeout.
    fn resend_lost(&mut self, now: Instant) -> std::io::Result<()> {
        for socket in 0..self.sockets.len() {
            for slot in 0..self.sockets[socket].slots.len() {
                if now.duration_since(self.sockets[socket].slots[slot].sent) >= self.timeout {
                    self.c.timeouts += 1;
                    self.pending.push(slot);
                }
            }
            self.flush(socket, now)?;
        }
        Ok(())
    }
}

/// A full send buffer, or an ICMP error reported for an earlier datagram.
fn is_transient(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::ConnectionRefused
    )
}

/// Sends `batch`, `seg`-byte requests back to back, as one GSO train: the
/// kernel splits it into datagrams of `seg` bytes (UDP_SEGMENT, Linux ≥ 4.18).
fn send_gso(socket: &UdpSocket, batch: &[u8], seg: usize) -> std::io::Result<()> {
    let seg = seg as u16;
    sendmsg::<SockaddrIn>(
        socket.as_raw_fd(),
        &[IoSlice::new(batch)],
        &[ControlMessage::UdpGsoSegments(&seg)],
        MsgFlags::empty(),
        None,
    )
    .map(|_| ())
    .map_err(std::io::Error::from)
}

struct Outcome {
    responses: u64,
    /// Valid responses over the whole run, warm-up included.
    total: u64,
    seconds: f64,
    c: Counters,
}

fn run(args: &Args) -> std::io::Result<Outcome> {
    let mut sockets = Vec::with_capacity(args.sockets);
    let start = Instant::now();
    for _ in 0..args.sockets {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.connect(args.server)?;
        socket.set_nonblocking(true)?;
        sockets.push(Socket {
            socket,
            slots: vec![
                Slot {
                    tid: [0; 12],
                    sent: start,
                };
                args.inflight
            ],
        });
    }
    let mut g = Generator {
        sockets,
        seq: 0,
        fingerprint: args.fingerprint,
        timeout: args.timeout,
        gso: args.gso,
        pending: Vec::with_capacity(args.inflight.max(RECV_BURST)),
        batch: Vec::with_capacity(GSO_MAX_SEGMENTS * 64),
        c: Counters::default(),
    };
    for socket in 0..args.sockets {
        g.pending.extend(0..args.inflight);
        g.flush(socket, start)?;
    }
    let measure_from = start + args.warmup;
    let measure_to = measure_from + args.duration;
    let mut measuring: Option<(Instant, u64)> = None;
    let mut last_scan = start;
    loop {
        let now = Instant::now();
        match measuring {
            None if now >= measure_from => {
                measuring = Some((now, g.c.valid));
                g.c = Counters {
                    valid: g.c.valid,
                    ..Counters::default()
                };
            }
            Some((t0, v0)) if now >= measure_to => {
                return Ok(Outcome {
                    responses: g.c.valid - v0,
                    total: g.c.valid,
                    seconds: now.duration_since(t0).as_secs_f64(),
                    c: g.c,
                });
            }
            _ => {}
        }
        for socket in 0..args.sockets {
            let v = g.poll_socket(socket, now)?;
            g.c.valid += v;
        }
        if now.duration_since(last_scan) >= SCAN_INTERVAL {
            g.resend_lost(now)?;
            last_scan = now;
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(o) => {
            let rate = o.responses as f64 / o.seconds;
            let idle = if o.c.polls == 0 {
                0.0
            } else {
                100.0 * o.c.empty_polls as f64 / o.c.polls as f64
            };
            println!(
                "responses_per_second={} responses={} seconds={:.3} total_responses={} sent={} timeouts={} stale={} invalid={} refused={} idle_poll_pct={:.1}",
                rate.round() as u64,
                o.responses,
                o.seconds,
                o.total,
                o.c.sent,
                o.c.timeouts,
                o.c.stale,
                o.c.invalid,
                o.c.refused,
                idle
            );
            if o.responses == 0 {
                eprintln!("stun-load: no valid responses from {}", args.server);
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stun-load: {e}");
            ExitCode::FAILURE
        }
    }
}
