//! Interop with an independent DTLS implementation: `openssl s_server` (the
//! OpenSSL command line tool, its own DTLS server loop and socket handling)
//! on 127.0.0.1, with our DtlsTransport as the client over a real UDP socket.
//!
//! Ignored by default (it spawns a process and uses the network stack); run it
//! with:
//!
//! ```sh
//! cargo test -p dtls-transport --test dtls_interop -- --ignored --nocapture
//! ```
//!
//! Skipped with a message when `openssl` is not on PATH, unless
//! `PEERSTACK_REQUIRE_PEERS=1` (set by `cargo xtask test-all`'s step
//! `interop-dtls`) makes that a failure.

use std::io::{BufRead, BufReader, Write};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dtls_transport::certificate::{Certificate, HashAlgorithm, KeyType, DEFAULT_VALIDITY};
use dtls_transport::dtls::{DtlsConfig, DtlsEvent, DtlsRole, DtlsState, DtlsTransport, SrtpKeys};
use dtls_transport::srtp::SrtpProfile;

/// Kills and reaps the child (the process this test started) on drop.
struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct TempFile(PathBuf);
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Spawns `openssl <args>` with piped stdio; its stdout and stderr lines
/// arrive on the returned channel.
fn spawn_openssl(args: &[String]) -> (Server, mpsc::Receiver<String>) {
    let mut child = Server(
        Command::new("openssl")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn openssl"),
    );
    let (tx, rx) = mpsc::channel();
    for pipe in [
        Box::new(child.0.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.0.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    (child, rx)
}

fn have_openssl() -> bool {
    if matches!(Command::new("openssl").arg("version").output(), Ok(o) if o.status.success()) {
        true
    } else if std::env::var("PEERSTACK_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
        panic!("the `openssl` command is not on PATH, and PEERSTACK_REQUIRE_PEERS=1")
    } else {
        eprintln!(
            "SKIPPED (checked nothing): the `openssl` command is not on PATH; \
             PEERSTACK_REQUIRE_PEERS=1 makes this a failure"
        );
        false
    }
}

fn temp_pem(tag: &str, cert: &Certificate) -> TempFile {
    let f = TempFile(std::env::temp_dir().join(format!(
        "peerstack-dtls-interop-{tag}-{}.pem",
        std::process::id()
    )));
    std::fs::write(&f.0, cert.to_pem()).unwrap();
    f
}

/// Pumps `t` over the connected `socket` until `done`; panics at `deadline`
/// or on failure. Application data is appended to `received`.
fn drive(
    t: &mut DtlsTransport,
    socket: &UdpSocket,
    received: &mut Vec<u8>,
    deadline: Instant,
    done: impl Fn(&DtlsTransport, &[u8]) -> bool,
) {
    let mut buf = [0u8; 2048];
    loop {
        while let Some(d) = t.poll_transmit() {
            socket.send(&d).unwrap();
        }
        while let Some(ev) = t.poll_event() {
            if let DtlsEvent::ApplicationData(d) = ev {
                received.extend_from_slice(&d);
            }
        }
        if done(t, received) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out in state {:?}",
            t.state()
        );
        assert_ne!(t.state(), DtlsState::Failed, "{:?}", t.failure());
        let wait = t
            .poll_timeout()
            .map(|x| x.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(50))
            .clamp(Duration::from_millis(1), Duration::from_millis(50));
        socket.set_read_timeout(Some(wait)).unwrap();
        match socket.recv(&mut buf) {
            Ok(n) => t.handle_receive(Instant::now(), &buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("recv: {e}"),
        }
        let now = Instant::now();
        if t.poll_timeout().is_some_and(|x| x <= now) {
            t.handle_timeout(now);
        }
    }
}

/// Our keys put back in exporter order: client write key, server write key,
/// client write salt, server write salt (RFC 5764 §4.2), as hex.
fn exporter_hex(keys: &SrtpKeys, role: DtlsRole) -> String {
    let parts: [&[u8]; 4] = match role {
        DtlsRole::Client => [
            &keys.local_key,
            &keys.remote_key,
            &keys.local_salt,
            &keys.remote_salt,
        ],
        DtlsRole::Server => [
            &keys.remote_key,
            &keys.local_key,
            &keys.remote_salt,
            &keys.local_salt,
        ],
    };
    hex(&parts.concat())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Waits for a line satisfying `pred`, collecting everything seen.
fn wait_line(
    rx: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    until: Instant,
    pred: impl Fn(&str) -> bool,
) -> Option<String> {
    if let Some(l) = seen.iter().find(|l| pred(l)) {
        return Some(l.clone());
    }
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let hit = pred(&line);
                seen.push(line.clone());
                if hit {
                    return Some(line);
                }
            }
            Err(_) => return None,
        }
    }
    None
}

#[test]
#[ignore = "spawns `openssl s_server` on 127.0.0.1; run with --ignored"]
fn client_against_openssl_s_server() {
    if !have_openssl() {
        return;
    }
    let server_cert = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap();
    let pem = temp_pem("server", &server_cert);

    // A free UDP port on loopback (released just before the server binds it).
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pem_path = pem.0.display().to_string();
    let args: Vec<String> = [
        "s_server",
        "-dtls1_2",
        "-naccept",
        "1",
        "-verify",
        "1",
        "-accept",
        &format!("127.0.0.1:{port}"),
        "-cert",
        &pem_path,
        "-key",
        &pem_path,
        "-use_srtp",
        "SRTP_AES128_CM_SHA1_80",
        "-keymatexport",
        "EXTRACTOR-dtls_srtp",
        "-keymatexportlen",
        "60",
    ]
    .map(String::from)
    .to_vec();
    let (mut server, rx) = spawn_openssl(&args);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    wait_line(&rx, &mut seen, deadline, |l| l.contains("ACCEPT"))
        .unwrap_or_else(|| panic!("s_server did not start: {seen:#?}"));

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(("127.0.0.1", port)).unwrap();
    let mut client = DtlsTransport::new(DtlsConfig {
        srtp_profiles: vec![SrtpProfile::Aes128CmHmacSha1_80],
        ..DtlsConfig::new(
            Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap(),
            DtlsRole::Client,
        )
        .with_remote_fingerprint(server_cert.fingerprint(HashAlgorithm::Sha256))
    })
    .unwrap();
    let mut received: Vec<u8> = Vec::new();

    client.start(Instant::now());
    drive(&mut client, &socket, &mut received, deadline, |c, _| {
        c.state() == DtlsState::Connected
    });
    let keys = client.srtp_keys().expect("SRTP negotiated").clone();
    assert_eq!(keys.profile, SrtpProfile::Aes128CmHmacSha1_80);

    // The exporter output s_server printed equals ours: client write key,
    // server write key, client write salt, server write salt.
    let line = wait_line(&rx, &mut seen, deadline, |l| l.contains("Keying material:"))
        .unwrap_or_else(|| panic!("no keying material printed: {seen:#?}"));
    let theirs = line.split(':').nth(1).unwrap().trim().to_string();
    let ours = exporter_hex(&keys, DtlsRole::Client);
    assert_eq!(ours, theirs, "exported keying material differs");
    assert!(
        seen.iter()
            .any(|l| l.contains("SRTP Extension negotiated, profile=SRTP_AES128_CM_SHA1_80")),
        "{seen:#?}"
    );

    // Application data both ways: our line shows up on s_server's stdout,
    // a line on its stdin reaches us.
    client.send(b"hello from peerstack\n").unwrap();
    while let Some(d) = client.poll_transmit() {
        socket.send(&d).unwrap();
    }
    wait_line(&rx, &mut seen, deadline, |l| {
        l.contains("hello from peerstack")
    })
    .unwrap_or_else(|| panic!("s_server did not print our data: {seen:#?}"));
    let stdin = server.0.stdin.as_mut().unwrap();
    stdin.write_all(b"hello from s_server\n").unwrap();
    stdin.flush().unwrap();
    drive(&mut client, &socket, &mut received, deadline, |_, r| {
        r.ends_with(b"hello from s_server\n")
    });

    // close_notify: s_server ends the connection (and, with -naccept 1, exits).
    client.close(Instant::now());
    while let Some(d) = client.poll_transmit() {
        socket.send(&d).unwrap();
    }
    assert_eq!(client.state(), DtlsState::Closed);
    wait_line(&rx, &mut seen, deadline, |l| {
        l.contains("DONE") || l.contains("shut down")
    })
    .unwrap_or_else(|| panic!("s_server did not see close_notify: {seen:#?}"));
    eprintln!("openssl s_server output:\n{}", seen.join("\n"));
}

#[test]
#[ignore = "spawns `openssl s_client` against a socket on 127.0.0.1; run with --ignored"]
fn server_against_openssl_s_client() {
    if !have_openssl() {
        return;
    }
    // s_client presents a certificate we made, so we can check its fingerprint.
    let client_cert = Certificate::generate(KeyType::Rsa2048, DEFAULT_VALIDITY).unwrap();
    let pem = temp_pem("client", &client_cert);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let pem_path = pem.0.display().to_string();
    let args: Vec<String> = [
        "s_client",
        "-dtls1_2",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-cert",
        &pem_path,
        "-key",
        &pem_path,
        "-use_srtp",
        "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80",
        "-keymatexport",
        "EXTRACTOR-dtls_srtp",
        "-keymatexportlen",
        "56",
    ]
    .map(String::from)
    .to_vec();
    let mut server = DtlsTransport::new(
        DtlsConfig::new(
            Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap(),
            DtlsRole::Server,
        )
        .with_remote_fingerprint(client_cert.fingerprint(HashAlgorithm::Sha256)),
    )
    .unwrap();
    let (mut child, rx) = spawn_openssl(&args);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();

    // Learn the client's address from its ClientHello, then talk to it only.
    let mut buf = [0u8; 2048];
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (n, from) = socket
        .recv_from(&mut buf)
        .expect("ClientHello from s_client");
    socket.connect(from).unwrap();
    server.handle_receive(Instant::now(), &buf[..n]);
    let mut received = Vec::new();
    drive(&mut server, &socket, &mut received, deadline, |t, _| {
        t.state() == DtlsState::Connected
    });
    let keys = server.srtp_keys().expect("SRTP negotiated").clone();
    assert_eq!(keys.profile, SrtpProfile::AeadAes128Gcm);
    let line = wait_line(&rx, &mut seen, deadline, |l| l.contains("Keying material:"))
        .unwrap_or_else(|| panic!("no keying material printed: {seen:#?}"));
    let theirs = line.split(':').nth(1).unwrap().trim().to_string();
    assert_eq!(exporter_hex(&keys, DtlsRole::Server), theirs);

    server.send(b"hello from peerstack\n").unwrap();
    let stdin = child.0.stdin.as_mut().unwrap();
    stdin.write_all(b"hello from s_client\n").unwrap();
    stdin.flush().unwrap();
    drive(&mut server, &socket, &mut received, deadline, |_, r| {
        r.ends_with(b"hello from s_client\n")
    });
    wait_line(&rx, &mut seen, deadline, |l| {
        l.contains("hello from peerstack")
    })
    .unwrap_or_else(|| panic!("s_client did not print our data: {seen:#?}"));
    server.close(Instant::now());
    while let Some(d) = server.poll_transmit() {
        socket.send(&d).unwrap();
    }
    wait_line(&rx, &mut seen, deadline, |l| {
        l.contains("DONE") || l.contains("closed")
    })
    .unwrap_or_else(|| panic!("s_client did not see close_notify: {seen:#?}"));
}
