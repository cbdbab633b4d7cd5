//! `stun-load` against a small in-test Binding responder on 127.0.0.1.

use std::net::UdpSocket;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use stun::attributes::XorMappedAddress;
use stun::{Class, Message, MessageBuilder, Method};

/// Answers Binding requests until stopped; drops every `drop_every`-th request (0: none).
fn responder(drop_every: u64) -> (String, Arc<AtomicBool>, JoinHandle<u64>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let addr = socket.local_addr().unwrap().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let handle = std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        let mut out = [0u8; 128];
        let mut seen = 0u64;
        let mut until_drop = drop_every;
        while !stopped.load(Ordering::Relaxed) {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            seen += 1;
            if drop_every != 0 {
                until_drop -= 1;
                if until_drop == 0 {
                    until_drop = drop_every;
                    continue;
                }
            }
            let req = Message::parse(&buf[..n]).unwrap();
            assert_eq!(
                (req.class(), req.method()),
                (Class::Request, Method::BINDING)
            );
            let mut b = MessageBuilder::new(
                &mut out,
                Class::SuccessResponse,
                Method::BINDING,
                req.transaction_id(),
            )
            .unwrap();
            b.add(&XorMappedAddress(from)).unwrap();
            b.add_fingerprint().unwrap();
            let len = b.finish();
            let _ = socket.send_to(&out[..len], from);
        }
        seen
    });
    (addr, stop, handle)
}

fn field(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        .parse()
        .unwrap()
}

fn run_load(addr: &str, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stun-load"))
        .args(["--server", addr, "--sockets", "2", "--inflight", "4"])
        .args(["--duration", "0.5", "--warmup", "0.1"])
        .args(extra)
        .output()
        .unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{line}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    line
}

#[test]
fn counts_valid_responses() {
    let (addr, stop, handle) = responder(0);
    for extra in [&[][..], &["--no-gso", "--fingerprint"][..]] {
        let line = run_load(&addr, extra);
        assert!(line.starts_with("responses_per_second="), "{line}");
        assert!(field(&line, "responses_per_second") > 0, "{line}");
        assert!(field(&line, "total_responses") >= field(&line, "responses"));
        assert_eq!(field(&line, "invalid"), 0, "{line}");
    }
    stop.store(true, Ordering::Relaxed);
    assert!(handle.join().unwrap() > 0);
}

#[test]
fn resends_lost_requests() {
    let (addr, stop, handle) = responder(7);
    let line = run_load(&addr, &["--timeout-ms", "20"]);
    assert!(field(&line, "timeouts") > 0, "{line}");
    assert!(field(&line, "responses") > 0, "{line}");
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap();
}

#[test]
fn refuses_non_loopback_servers() {
    let out = Command::new(env!("CARGO_BIN_EXE_stun-load"))
        .args(["--server", "192.0.2.1:3478", "--duration", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
