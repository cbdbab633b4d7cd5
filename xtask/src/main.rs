//! `cargo xtask`: peerstack's developer commands (the `cargo xtask` alias lives
//! in `.cargo/config.toml`).
//!
//! ```text
//! cargo xtask test-all [--quick] [--only STEP,...]
//!                                    fmt, clippy, tests, fuzzing, interop with real peers
//! cargo xtask bench stun-server ...  load-test the stun-server binary against coturn
//! cargo xtask bench ice-connect ...  ICE setup time on loopback against aioice
//! cargo xtask bench srtp ...         SRTP against webrtc-srtp and libsrtp
//! cargo xtask capture-sdp [--out DIR] recapture the sdp crate's Chromium SDP corpus
//! cargo xtask help
//! ```
//!
//! Plain `std::process::Command` throughout: every command is printed before
//! it runs, so any step can be repeated by hand.

use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod chromium;
mod cmd;
mod firefox;
// The layering rule, checked by unit tests (`cargo test -p xtask`).
#[cfg(test)]
mod layering;
mod pair;
mod test_all;

const HELP: &str = "\
usage: cargo xtask <command> [args]

commands:
  test-all [--quick] [--only STEP,...]
                       run every check in order and print a summary; exits non-zero
                       if any step failed. Steps: fmt, clippy, doc, test (unit, integration,
                       doc), main-job (the README's loopback example, file-transfer and
                       10,000 connected PeerConnections, in a loopback-only
                       namespace), fuzz (every target of every crates/*/fuzz for $FUZZ_SECONDS,
                       default 20), interop-stun (real peers: coturn, turnutils_stunclient,
                       Debian's stun client, inside a loopback-only network namespace;
                       installs coturn and stun-client with apt when root),
                       interop-ice-aioice (ice-peer example <-> aioice's ICE agent, both
                       roles, in a loopback-only network namespace; makes a Python venv
                       in target/interop-venv with interop/aioice/requirements.txt),
                       interop-ice-coturn (ice-peer pairs relayed through coturn over UDP,
                       TCP and TLS, ICE-TCP, and the ice crate's coturn TURN tests),
                       interop-ice-nat (root: two hosts behind real NATs in network
                       namespaces, server-reflexive through cone NATs and relayed through
                       symmetric NATs; namespaces are removed afterwards),
                       interop-ice-mdns (root: the ice crate's mDNS tests, .local host
                       candidates published on port 5353 and resolved over multicast, in
                       a loopback-only namespace with multicast on lo),
                       interop-sdp (the sdp, media-channels and peerconnection crates' tests/chromium.rs against headless
                       Chromium in a loopback-only network namespace; installs chromium
                       with apt when root; venv target/chromium-venv),
                       interop-aiortc (the peerconnection crate's tests/aiortc.rs: our
                       PeerConnection against aiortc in both roles, data channels, Opus
                       and VP8, in a loopback-only network namespace; venv
                       target/aiortc-venv with interop/aiortc/requirements.txt),
                       interop-firefox (the peerconnection crate's tests/firefox.rs: our
                       PeerConnection against headless Firefox ESR over Marionette, both
                       roles, in a loopback-only network namespace; installs firefox-esr
                       with apt when root; plain python3, no venv),
                       lossy-path (root: our data channel against Linux TCP through a
                       50 ms, 1% loss TUN relay in a loopback-only namespace).
                       --quick runs fmt, clippy and test only; --only STEP[,STEP...]
                       runs the named steps only. Tests run by a step get
                       PEERSTACK_REQUIRE_PEERS=1 (a missing peer fails them); with CI=true
                       a step that cannot run here (tool missing, not root) fails.
  bench stun-server [args]
                       load-test the stun-server binary against coturn (1 core each)
  bench ice-connect [args]
                       ICE setup time on loopback, peerstack vs aioice
  bench srtp [criterion args]
                       SRTP protect/unprotect, peerstack vs webrtc-srtp vs libsrtp; fails
                       without libsrtp unless PEERSTACK_BENCH_WITHOUT_LIBSRTP=1
  capture-sdp [--out DIR] [--verbose]
                       root: run headless Chromium in a loopback-only network namespace
                       and write its offers and answers to crates/sdp/tests/corpus/chromium
                       (or DIR), with a README.md naming the Chromium version
  help                 this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test-all") => test_all::main(workspace_root(), &args[1..]),
        Some("capture-sdp") => chromium::capture_sdp(&workspace_root(), &args[1..]),
        Some("bench") => match args.get(1).map(String::as_str) {
            Some("stun-server") => bench::stun_server(&args[2..]),
            Some("ice-connect") => bench::ice_connect(&args[2..]),
            Some("srtp") => bench::srtp(&args[2..]),
            Some(other) => Err(format!(
                "unknown benchmark `{other}`; try `stun-server`, `ice-connect` or `srtp`"
            )),
            None => Err("bench: which one? try `cargo xtask bench stun-server`".into()),
        },
        // Hidden: the two-peer runner of the interop-ice-aioice step (see pair.rs).
        Some("__pair") => pair::main(&args[1..]),
        Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            Ok(())
        }
        None => {
            eprint!("{HELP}");
            return ExitCode::from(2);
        }
        Some(other) => {
            eprint!("unknown command `{other}`\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
