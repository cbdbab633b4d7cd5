//! Headless Firefox ESR for the `interop-firefox` step of `cargo xtask test-all`: the
//! peerconnection crate's `tests/firefox.rs` (our `PeerConnection` against Firefox in both
//! roles) through `interop/firefox/ff_peer.py`, which drives Debian's `firefox-esr` over
//! Marionette with nothing but the Python standard library (no venv, no geckodriver).
//!
//! Like Chromium, Firefox only ever runs inside a fresh network namespace whose only interface
//! is `lo`, so the step does not run at all where no such namespace can be made.

use std::path::PathBuf;
use std::process::Command;

use crate::cmd;
use crate::test_all::{build_test_executable, Context, Outcome, REQUIRE_PEERS};

/// `interop-firefox`: `tests/firefox.rs` of the peerconnection crate in a loopback-only
/// network namespace with `PEERSTACK_REQUIRE_FIREFOX=1`, so a missing browser fails the test
/// instead of skipping it.
pub(crate) fn interop_firefox(ctx: &Context) -> Outcome {
    if let Some(why) = cmd::netns_unavailable() {
        return Outcome::Skipped(format!(
            "Firefox only runs in a loopback-only network namespace: {why}"
        ));
    }
    let firefox = match ensure_firefox() {
        Ok(firefox) => firefox,
        Err(outcome) => return outcome,
    };
    let Some(python) = cmd::which("python3") else {
        return Outcome::Skipped("python3 is not on PATH (ff_peer.py needs it)".into());
    };
    let run = || -> Result<(), String> {
        let exe = build_test_executable(&ctx.root, "peerconnection", "firefox")?;
        cmd::run(
            cmd::in_loopback_netns(&exe, &["--test-threads=1", "--nocapture"])
                .current_dir(ctx.root.join("crates/peerconnection"))
                .env(REQUIRE_PEERS, "1")
                .env("PEERSTACK_REQUIRE_FIREFOX", "1")
                .env("PEERSTACK_FIREFOX", &firefox)
                .env("PEERSTACK_FIREFOX_PYTHON", &python),
        )
    };
    run().into()
}

/// Debian's `firefox-esr`, installed with apt when root. `Err` is the step's outcome.
fn ensure_firefox() -> Result<PathBuf, Outcome> {
    let find = || {
        std::env::var_os("PEERSTACK_FIREFOX")
            .map(PathBuf::from)
            .into_iter()
            .chain([PathBuf::from("/usr/bin/firefox-esr")])
            .chain(cmd::which("firefox-esr"))
            .find(|p| p.is_file())
    };
    if let Some(firefox) = find() {
        return Ok(firefox);
    }
    if !cmd::is_root() || cmd::which("apt-get").is_none() {
        return Err(Outcome::Skipped(
            "firefox-esr is not installed, and not root with apt-get to install it \
             (apt-get install firefox-esr)"
                .into(),
        ));
    }
    cmd::run(Command::new("apt-get").arg("update")).map_err(Outcome::Failed)?;
    cmd::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "--no-install-recommends", "firefox-esr"]),
    )
    .map_err(Outcome::Failed)?;
    find().ok_or_else(|| {
        Outcome::Failed("firefox-esr still missing after `apt-get install firefox-esr`".into())
    })
}
