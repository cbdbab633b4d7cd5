//! Headless Chromium for the sdp crate: the `interop-sdp` step of `cargo xtask test-all`
//! and `cargo xtask capture-sdp`, which (re)captures the Chromium SDP corpus.
//!
//! Both run Debian's `chromium` through `interop/chromium/` (Python, CDP via
//! `websocket-client` from the venv `target/chromium-venv`) and only ever inside a fresh
//! network namespace whose only interface is `lo`: Chromium contacts update and time servers
//! despite every flag, so neither runs at all when no such namespace can be made.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd;
use crate::test_all::{build_test_executable, python_venv, Context, Outcome};

/// The pinned Python packages of the Chromium peer.
const REQUIREMENTS: &str = "interop/chromium/requirements.txt";
/// The venv the Chromium peer runs from (the sdp tests find it here too).
const VENV: &str = "target/chromium-venv";
/// The corpus capture script.
const CAPTURE_SCRIPT: &str = "interop/chromium/capture_sdp.py";
/// Where `capture-sdp` writes by default.
const CORPUS_DIR: &str = "crates/sdp/tests/corpus/chromium";

/// `interop-sdp`: the sdp crate's `tests/chromium.rs` (negotiation against real headless
/// Chromium) and the media-channels crate's (Chromium's frames in, ours decoded by it) in a
/// loopback-only network namespace, with `PEERSTACK_REQUIRE_CHROMIUM=1` so a missing
/// browser or venv fails the test instead of skipping it.
pub(crate) fn interop_sdp(ctx: &Context) -> Outcome {
    if let Some(why) = cmd::netns_unavailable() {
        return Outcome::Skipped(format!(
            "Chromium only runs in a loopback-only network namespace: {why}"
        ));
    }
    if let Err(why) = ensure_chromium() {
        return why;
    }
    let python = match python_venv(&ctx.root, VENV, REQUIREMENTS) {
        Ok(python) => python,
        Err(outcome) => return outcome,
    };
    // The sdp crate's negotiation tests, then the media channels' (frames to and from
    // Chromium over our transport), each in a fresh loopback-only namespace.
    let run = || -> Result<(), String> {
        for package in ["sdp", "media-channels", "peerconnection"] {
            let exe = build_test_executable(&ctx.root, package, "chromium")?;
            cmd::run(
                cmd::in_loopback_netns(&exe, &["--test-threads=1", "--nocapture"])
                    .current_dir(ctx.root.join("crates").join(package))
                    .env("PEERSTACK_REQUIRE_CHROMIUM", "1")
                    .env("PEERSTACK_CHROMIUM_PYTHON", &python),
            )?;
        }
        Ok(())
    };
    run().into()
}

/// `cargo xtask capture-sdp [--out DIR] [--verbose]`: runs `capture_sdp.py` in a
/// loopback-only network namespace and writes the Chromium corpus (and its README.md
/// naming the Chromium version) to `DIR`, by default [`CORPUS_DIR`].
pub(crate) fn capture_sdp(root: &Path, args: &[String]) -> Result<(), String> {
    let mut out = root.join(CORPUS_DIR);
    let mut verbose = false;
    let mut args = args.iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => {
                let dir = args.next().ok_or("capture-sdp: --out needs a directory")?;
                out = std::env::current_dir()
                    .map_err(|e| format!("current directory: {e}"))?
                    .join(dir);
            }
            "--verbose" => verbose = true,
            other => return Err(format!("capture-sdp: unknown argument `{other}`")),
        }
    }
    if let Some(why) = cmd::netns_unavailable() {
        return Err(format!(
            "capture-sdp runs Chromium only in a loopback-only network namespace, and {why}"
        ));
    }
    ensure_chromium().map_err(|o| match o {
        Outcome::Failed(e) | Outcome::Skipped(e) => e,
        Outcome::Ok => String::new(),
    })?;
    let python = python_venv(root, VENV, REQUIREMENTS).map_err(|o| match o {
        Outcome::Failed(e) | Outcome::Skipped(e) => e,
        Outcome::Ok => String::new(),
    })?;
    let script = root.join(CAPTURE_SCRIPT);
    let (script, out_str) = (utf8(&script)?, utf8(&out)?);
    let mut args = vec![script, out_str];
    if verbose {
        args.push("--verbose");
    }
    cmd::run(cmd::in_loopback_netns(&python, &args).current_dir(root))?;
    println!(
        "wrote {}; review with `git diff --stat {}` and commit it",
        out.display(),
        CORPUS_DIR
    );
    Ok(())
}

/// Debian's `chromium`, installed with apt when root. `Err` is the step's outcome.
fn ensure_chromium() -> Result<PathBuf, Outcome> {
    let find = || {
        std::env::var_os("PEERSTACK_CHROMIUM")
            .map(PathBuf::from)
            .into_iter()
            .chain([PathBuf::from("/usr/bin/chromium")])
            .chain(cmd::which("chromium"))
            .find(|p| p.is_file())
    };
    if let Some(chromium) = find() {
        return Ok(chromium);
    }
    if !cmd::is_root() || cmd::which("apt-get").is_none() {
        return Err(Outcome::Skipped(
            "chromium is not installed, and not root with apt-get to install it \
             (apt-get install chromium)"
                .into(),
        ));
    }
    cmd::run(Command::new("apt-get").arg("update")).map_err(Outcome::Failed)?;
    cmd::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "chromium"]),
    )
    .map_err(Outcome::Failed)?;
    find().ok_or_else(|| {
        Outcome::Failed("chromium still missing after `apt-get install chromium`".into())
    })
}

fn utf8(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("path is not UTF-8: {}", p.display()))
}
