//! Certificates against the OpenSSL command line tool: our fingerprints equal
//! `openssl x509 -fingerprint`, and what we write, it reads. Skipped with a
//! message when `openssl` is not on PATH, unless `PEERSTACK_REQUIRE_PEERS=1`
//! (set by `cargo xtask test-all`'s `test` step) makes that a failure.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use dtls_transport::certificate::{
    Certificate, Fingerprint, HashAlgorithm, KeyType, DEFAULT_VALIDITY,
};

fn openssl_cli() -> bool {
    match Command::new("openssl").arg("version").output() {
        Ok(o) if o.status.success() => true,
        _ if std::env::var("PEERSTACK_REQUIRE_PEERS").is_ok_and(|v| v == "1") => {
            panic!("the `openssl` command is not on PATH, and PEERSTACK_REQUIRE_PEERS=1")
        }
        _ => {
            eprintln!(
                "SKIPPED (checked nothing): the `openssl` command is not on PATH; \
                 PEERSTACK_REQUIRE_PEERS=1 makes this a failure"
            );
            false
        }
    }
}

/// A unique file under the temp directory, removed on drop.
struct TempFile(PathBuf);
impl TempFile {
    fn new(tag: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "peerstack-dtls-{tag}-{}-{:?}.pem",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }
}
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `openssl x509 -noout -fingerprint -<alg> -in <file>` → the hex part.
fn cli_fingerprint(file: &TempFile, alg: &str) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", &format!("-{alg}"), "-in"])
        .arg(&file.0)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "SHA256 Fingerprint=AB:CD:…" (the prefix's case varies by version).
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim().split_once('=').unwrap().1.to_string()
}

#[test]
fn fingerprints_match_openssl_cli() {
    if !openssl_cli() {
        return;
    }
    for kind in [KeyType::EcdsaP256, KeyType::Rsa2048] {
        let cert = Certificate::generate(kind, DEFAULT_VALIDITY).unwrap();
        let file = TempFile::new(&format!("{kind:?}"), &cert.to_pem());
        for (alg, cli) in [
            (HashAlgorithm::Sha256, "sha256"),
            (HashAlgorithm::Sha1, "sha1"),
            (HashAlgorithm::Sha384, "sha384"),
            (HashAlgorithm::Sha512, "sha512"),
        ] {
            let ours = cert.fingerprint(alg);
            let theirs = cli_fingerprint(&file, cli);
            assert_eq!(ours.hex(), theirs, "{kind:?} {alg}");
            // And the CLI's form parses back to ours.
            let parsed: Fingerprint = format!("{} {theirs}", alg.sdp_name()).parse().unwrap();
            assert_eq!(parsed, ours);
        }
    }
}

#[test]
fn openssl_cli_reads_our_pem() {
    if !openssl_cli() {
        return;
    }
    let cert = Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400)).unwrap();
    let file = TempFile::new("read", &cert.to_pem());
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-dates", "-in"])
        .arg(&file.0)
        .output()
        .unwrap();
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("CN = WebRTC") || text.contains("CN=WebRTC"),
        "{text}"
    );
    let key = Command::new("openssl")
        .args(["pkey", "-noout", "-check", "-in"])
        .arg(&file.0)
        .output()
        .unwrap();
    // `pkey -check` validates the private key the PEM carries.
    assert!(
        key.status.success(),
        "{}",
        String::from_utf8_lossy(&key.stderr)
    );
}

#[test]
fn openssl_cli_certificate_loads() {
    if !openssl_cli() {
        return;
    }
    // A certificate and key written by the CLI (legacy "EC PRIVATE KEY" form) load.
    let dir = std::env::temp_dir().join(format!("peerstack-dtls-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key.pem");
    let crt = dir.join("cert.pem");
    let ok = Command::new("openssl")
        .args([
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
        ])
        .arg(&key)
        .status()
        .unwrap()
        .success()
        && Command::new("openssl")
            .args([
                "req", "-new", "-x509", "-days", "2", "-subj", "/CN=cli", "-key",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&crt)
            .status()
            .unwrap()
            .success();
    assert!(ok);
    let pem = std::fs::read_to_string(&crt).unwrap() + &std::fs::read_to_string(&key).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let cert = Certificate::from_pem(&pem).unwrap();
    assert_eq!(cert.key_type(), KeyType::EcdsaP256);
    assert!(cert.expires() > std::time::SystemTime::now() + Duration::from_secs(86_400));
}

#[test]
fn generation_time() {
    let t = Instant::now();
    let _ = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap();
    let ecdsa = t.elapsed();
    let t = Instant::now();
    let rsa = Certificate::generate(KeyType::Rsa2048, DEFAULT_VALIDITY).unwrap();
    let rsa_time = t.elapsed();
    assert_eq!(rsa.key_type(), KeyType::Rsa2048);
    eprintln!("generate: ECDSA P-256 {ecdsa:?}, RSA-2048 {rsa_time:?}");
}
