//! Differential test against libsrtp (2.x with OpenSSL, from the `pylibsrtp`
//! wheel), driven through `interop/srtp/libsrtp_peer.py`.
//!
//! ```sh
//! cargo test -p dtls-transport --test srtp_libsrtp -- --ignored --nocapture
//! ```
//!
//! The Python comes from `$PEERSTACK_LIBSRTP_PYTHON` if set (any Python with
//! `pylibsrtp` installed; `cargo xtask test-all`'s step `interop-dtls` makes the
//! venv `target/srtp-venv` and points it there); otherwise the test makes that
//! venv from `interop/srtp/requirements.txt` (`python3 -m venv`, `pip install`;
//! again whenever the requirements change). Without python3, venv or network to
//! PyPI it prints SKIPPED and passes without checking anything, unless
//! `PEERSTACK_REQUIRE_PEERS=1` (set by that step) makes it fail.
//!
//! For each profile libsrtp supports (all four), with the same master key on
//! both sides: RTP packets with CSRCs and header extensions across a sequence
//! number wrap (65500 → 65535 → 0 → 60), protected by us and by libsrtp, must be
//! byte-identical; libsrtp unprotects ours (delivered out of order around the
//! wrap) back to the plaintext and we unprotect libsrtp's (in another order);
//! the same for SRTCP (our index started at libsrtp's first index, 1); and
//! libsrtp rejects our packets once replayed or with a bit flipped.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use dtls_transport::srtp::{SrtpContext, SrtpProfile};

const REQUIREMENTS: &str = "interop/srtp/requirements.txt";
const PEER: &str = "interop/srtp/libsrtp_peer.py";
const VENV: &str = "target/srtp-venv";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex from the peer"))
        .collect()
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{cmd:?} did not start: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A Python with pylibsrtp: `$PEERSTACK_LIBSRTP_PYTHON`, or `target/srtp-venv`
/// (made or refreshed here).
fn python() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("PEERSTACK_LIBSRTP_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let root = root();
    let venv = root.join(VENV);
    let python = venv.join("bin/python");
    let stamp = venv.join("requirements.installed.txt");
    let requirements = std::fs::read_to_string(root.join(REQUIREMENTS))
        .map_err(|e| format!("reading {REQUIREMENTS}: {e}"))?;
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&requirements) {
        return Ok(python);
    }
    if !python.exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    run(Command::new(&python)
        .args(["-m", "pip", "install", "-q", "-r"])
        .arg(root.join(REQUIREMENTS)))?;
    std::fs::write(&stamp, requirements)
        .map_err(|e| format!("writing {}: {e}", stamp.display()))?;
    Ok(python)
}

/// The libsrtp peer process.
struct Libsrtp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Libsrtp {
    fn start(python: &Path) -> Result<Libsrtp, String> {
        let mut child = Command::new(python)
            .arg(root().join(PEER))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting {PEER}: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut peer = Libsrtp {
            child,
            stdin,
            stdout,
        };
        let version = peer
            .call("version")
            .map_err(|e| format!("{PEER} does not answer: {e}"))?;
        println!("libsrtp peer: {}", String::from_utf8_lossy(&version));
        Ok(peer)
    }

    /// One command; `Ok(payload)` for `ok …`, `Err(message)` for `err …`.
    fn call(&mut self, line: &str) -> Result<Vec<u8>, String> {
        writeln!(self.stdin, "{line}").expect("write to the libsrtp peer");
        self.stdin.flush().expect("flush to the libsrtp peer");
        let mut answer = String::new();
        self.stdout
            .read_line(&mut answer)
            .expect("read from the libsrtp peer");
        let answer = answer.trim_end();
        if let Some(rest) = answer.strip_prefix("ok") {
            let rest = rest.trim_start();
            if line == "version" {
                Ok(rest.as_bytes().to_vec())
            } else {
                Ok(unhex(rest))
            }
        } else if let Some(msg) = answer.strip_prefix("err ") {
            Err(msg.to_string())
        } else {
            panic!("libsrtp peer said {answer:?} to {line:?}")
        }
    }

    fn session(&mut self, name: &str, profile: SrtpProfile, out: bool, key: &[u8], salt: &[u8]) {
        let dir = if out { "out" } else { "in" };
        let keyhex = hex(&[key, salt].concat());
        self.call(&format!("session {name} {} {dir} {keyhex}", profile.name()))
            .unwrap_or_else(|e| panic!("libsrtp session {name} for {profile}: {e}"));
    }

    fn op(&mut self, op: &str, name: &str, packet: &[u8]) -> Result<Vec<u8>, String> {
        self.call(&format!("{op} {name} {}", hex(packet)))
    }
}

impl Drop for Libsrtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rtp(seq: u16, ssrc: u32, variant: usize) -> Vec<u8> {
    let csrcs = (variant % 3) as u8;
    let ext = variant % 4 == 1;
    let mut p = vec![
        0x80 | csrcs | if ext { 0x10 } else { 0 },
        96 | ((variant % 2) as u8) << 7,
    ];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 960).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    for c in 0..u32::from(csrcs) {
        p.extend_from_slice(&(0xc5c5_0000 + c).to_be_bytes());
    }
    if ext {
        p.extend_from_slice(&[0xbe, 0xde, 0, 2, 0x10, 0xaa, 0x21, 0xbb, 0xcc, 0, 0, 0]);
    }
    let payload_len = [0, 1, 17, 160, 1000, 1200][variant % 6];
    p.extend((0..payload_len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seq as u8)));
    p
}

fn rtcp(ssrc: u32, n: usize) -> Vec<u8> {
    // A receiver report with one report block, then padding-free junk as an SDES-ish tail.
    let mut p = vec![0x81, 201, 0, 7];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..24 + 4 * (n % 5)).map(|i| (i * 7 + n) as u8));
    p
}

fn differential(peer: &mut Libsrtp, profile: SrtpProfile) {
    let key: Vec<u8> = (0..profile.master_key_len())
        .map(|i| (i * 13 + 5) as u8)
        .collect();
    let salt: Vec<u8> = (0..profile.master_salt_len())
        .map(|i| (i * 29 + 1) as u8)
        .collect();
    let (lo, li) = ("out", "in");
    peer.session(lo, profile, true, &key, &salt);
    peer.session(li, profile, false, &key, &salt);
    let mut our_tx = SrtpContext::new(profile, &key, &salt).unwrap();
    let mut our_rx = SrtpContext::new(profile, &key, &salt).unwrap();
    let ssrc = 0x5eed_0001;

    // ----- RTP across the rollover
    let seqs: Vec<u16> = (65500..=65535).chain(0..=60).collect();
    let plain: Vec<Vec<u8>> = seqs
        .iter()
        .enumerate()
        .map(|(i, &s)| rtp(s, ssrc, i))
        .collect();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for p in &plain {
        let mut v = p.clone();
        our_tx.protect_rtp_vec(&mut v).unwrap();
        let l = peer
            .op("protect", lo, p)
            .unwrap_or_else(|e| panic!("{profile}: libsrtp protect: {e}"));
        assert_eq!(
            hex(&v),
            hex(&l),
            "{profile}: protected RTP differs (seq {})",
            u16::from_be_bytes([p[2], p[3]])
        );
        ours.push(v);
        theirs.push(l);
    }
    assert_eq!(our_tx.roc(ssrc), Some(1));

    // libsrtp unprotects ours: in order up to just before the wrap, then the
    // wrap out of order (post-wrap packets before late pre-wrap ones).
    let wrap = 36; // index of seq 0
    let mut order: Vec<usize> = (0..wrap - 6).collect();
    order.extend([
        wrap + 2,
        wrap,
        wrap - 1,
        wrap + 1,
        wrap - 3,
        wrap - 6,
        wrap - 2,
        wrap - 5,
        wrap - 4,
    ]);
    order.extend(wrap + 3..seqs.len());
    for &i in &order {
        let got = peer
            .op("unprotect", li, &ours[i])
            .unwrap_or_else(|e| panic!("{profile}: libsrtp rejects our seq {}: {e}", seqs[i]));
        assert_eq!(
            got, plain[i],
            "{profile}: libsrtp's plaintext of our seq {}",
            seqs[i]
        );
    }
    let replay = peer.op("unprotect", li, &ours[wrap]);
    assert!(replay.is_err(), "{profile}: libsrtp accepted a replay");
    let mut bad = ours[wrap + 5].clone();
    bad[13] ^= 4;
    let tampered = peer.op("unprotect", li, &bad);
    assert!(
        tampered.is_err(),
        "{profile}: libsrtp accepted a tampered packet"
    );

    // We unprotect libsrtp's: reversed pairs around the wrap.
    let mut order: Vec<usize> = (0..seqs.len()).collect();
    for pair in order[20..60].chunks_mut(2) {
        pair.reverse();
    }
    for &i in &order {
        let mut v = theirs[i].clone();
        our_rx
            .unprotect_rtp_vec(&mut v)
            .unwrap_or_else(|e| panic!("{profile}: we reject libsrtp's seq {}: {e}", seqs[i]));
        assert_eq!(
            v, plain[i],
            "{profile}: our plaintext of libsrtp's seq {}",
            seqs[i]
        );
    }
    assert_eq!(our_rx.roc(ssrc), Some(1));

    // ----- RTCP (libsrtp's first SRTCP index is 1)
    our_tx.set_srtcp_index(ssrc, 1).unwrap();
    for n in 0..20 {
        let p = rtcp(ssrc, n);
        let mut v = p.clone();
        our_tx.protect_rtcp_vec(&mut v).unwrap();
        let l = peer
            .op("protect_rtcp", lo, &p)
            .unwrap_or_else(|e| panic!("{profile}: libsrtp protect_rtcp: {e}"));
        assert_eq!(hex(&v), hex(&l), "{profile}: protected RTCP #{n} differs");
        let got = peer
            .op("unprotect_rtcp", li, &v)
            .unwrap_or_else(|e| panic!("{profile}: libsrtp rejects our RTCP #{n}: {e}"));
        assert_eq!(got, p);
        let mut w = l.clone();
        our_rx
            .unprotect_rtcp_vec(&mut w)
            .unwrap_or_else(|e| panic!("{profile}: we reject libsrtp's RTCP #{n}: {e}"));
        assert_eq!(w, p);
        if n == 10 {
            assert!(
                peer.op("unprotect_rtcp", li, &v).is_err(),
                "{profile}: RTCP replay"
            );
            let mut bad = v.clone();
            bad[9] ^= 1;
            assert!(
                peer.op("unprotect_rtcp", li, &bad).is_err(),
                "{profile}: RTCP tamper"
            );
        }
    }
    println!(
        "{profile}: {} RTP + 20 RTCP packets agree with libsrtp both ways",
        seqs.len()
    );
}

/// Says why there is no libsrtp to compare with: a panic under
/// `PEERSTACK_REQUIRE_PEERS=1`, else a SKIPPED line (the caller returns).
fn missing_peer(why: &str) {
    if std::env::var("PEERSTACK_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
        panic!("{why}, and PEERSTACK_REQUIRE_PEERS=1 requires every peer");
    }
    println!("SKIPPED (checked nothing): {why}; PEERSTACK_REQUIRE_PEERS=1 makes this a failure");
}

#[test]
#[ignore = "needs python3 and pylibsrtp from PyPI: cargo test -p dtls-transport --test srtp_libsrtp -- --ignored"]
fn differential_against_libsrtp() {
    let python = match python() {
        Ok(p) => p,
        Err(why) => return missing_peer(&format!("no libsrtp to compare with: {why}")),
    };
    let mut peer = match Libsrtp::start(&python) {
        Ok(p) => p,
        Err(why) => return missing_peer(&format!("the libsrtp peer did not start: {why}")),
    };
    for profile in [
        SrtpProfile::Aes128CmHmacSha1_80,
        SrtpProfile::Aes128CmHmacSha1_32,
        SrtpProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm,
    ] {
        differential(&mut peer, profile);
    }
}
