//! Running coturn and other external peers from a test, with the standard
//! library only: shared by the stun crate's `tests/interop.rs` and the ice
//! crate's `tests/turn.rs` (included with `#[path]`), each of which checks
//! that the server answers with its own STUN client. Not every includer
//! uses every item.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The path of `name` on `PATH`, or `None` after printing that the test is
/// skipped; a panic instead when `PEERSTACK_REQUIRE_PEERS=1` (set by xtask).
pub(crate) fn require(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("PEERSTACK_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
            panic!("`{name}` is not on PATH, and PEERSTACK_REQUIRE_PEERS=1 requires every peer");
        }
        eprintln!(
            "SKIPPED (checked nothing): `{name}` is not on PATH; \
             PEERSTACK_REQUIRE_PEERS=1 makes this a failure"
        );
    }
    found
}

/// A directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("peerstack-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills and reaps the child process on drop, so no test leaves a server behind.
pub(crate) struct ChildGuard(pub(crate) Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// coturn's `turnserver` on 127.0.0.1 (UDP and TCP on `addr`), started as
/// peers/README.md describes: long-term credentials `user`/`pass` in realm
/// `example.org`, loopback peers allowed, relays on `relay_ports`, and its
/// pid file, database and log in a temp dir. Not yet known to answer: the
/// caller polls it with its own client. TLS is off (`--no-tls`) unless
/// `extra` gives a certificate (`--cert=…`, with `--pkey=…` and usually
/// `--tls-listening-port=…`).
pub(crate) struct CoturnProcess {
    pub(crate) addr: SocketAddr,
    pub(crate) relay_ports: std::ops::RangeInclusive<u16>,
    // Field order is drop order: stop the server before deleting its directory.
    pub(crate) child: ChildGuard,
    dir: TempDir,
}

impl CoturnProcess {
    /// Starts `turnserver` on `port` with 40 relay ports from `relay_min`,
    /// and `extra` arguments.
    pub(crate) fn spawn(
        turnserver: &Path,
        port: u16,
        relay_min: u16,
        extra: &[&str],
    ) -> CoturnProcess {
        let dir = TempDir::new("coturn");
        let relay_max = relay_min + 39;
        let log = std::fs::File::create(dir.path().join("turnserver.log")).expect("log file");
        let mut cmd = Command::new(turnserver);
        if !extra.iter().any(|a| a.starts_with("--cert=")) {
            cmd.arg("--no-tls");
        }
        cmd.args([
            "-n",
            "--no-cli",
            "--no-dtls",
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            "--lt-cred-mech",
            "--user=user:pass",
            "--realm=example.org",
            "--fingerprint",
            "--allow-loopback-peers",
            "--no-multicast-peers",
            "--log-file=stdout",
            "--simple-log",
        ])
        .args(extra)
        .arg(format!("--listening-port={port}"))
        .arg(format!("--min-port={relay_min}"))
        .arg(format!("--max-port={relay_max}"))
        .arg(format!(
            "--pidfile={}",
            dir.path().join("turnserver.pid").display()
        ))
        // Keep coturn's SQLite database out of /var/lib/turn.
        .arg(format!("--userdb={}", dir.path().join("turndb").display()))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log);
        eprintln!("$ {cmd:?}");
        let child = ChildGuard(cmd.spawn().expect("spawn turnserver"));
        CoturnProcess {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            relay_ports: relay_min..=relay_max,
            child,
            dir,
        }
    }

    /// What coturn logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("turnserver.log")).unwrap_or_default()
    }

    /// Panics with the log if coturn exited.
    pub(crate) fn check_running(&mut self) {
        if let Some(status) = self.child.0.try_wait().expect("try_wait") {
            panic!("turnserver exited with {status}; log:\n{}", self.log());
        }
    }
}
