//! Headless Chromium as a test peer: [`ChromiumPeer`] runs `interop/chromium/sdp_peer.py`,
//! which drives RTCPeerConnections in a Chromium page over CDP, and speaks its JSON-lines
//! protocol (one request line, one reply line; see the script's docstring for every op).
//!
//! Needs Debian's `chromium` and the venv `target/chromium-venv` (made by `cargo xtask
//! test-all --only interop-sdp` or `cargo xtask capture-sdp`; `PEERSTACK_CHROMIUM_PYTHON`
//! overrides the interpreter, `PEERSTACK_CHROMIUM` the browser). Without them
//! [`ChromiumPeer::start`] returns `Ok(None)` and prints why, unless
//! `PEERSTACK_REQUIRE_CHROMIUM=1` (set by the xtask step) makes that an error.
//!
//! Chromium only ever runs in a network namespace whose only interface is `lo`, and the test
//! process must be in that same namespace (so that our own stack and Chromium can reach each
//! other over `lo`): outside one, [`ChromiumPeer::start`] skips (the plain `cargo test` step
//! does). The xtask step runs the test executable inside a fresh one. (The script also
//! refuses to start Chromium anywhere else, or `unshare`s a namespace of its own when run by
//! hand as root.)
//!
//! The same harness drives headless Firefox ESR: [`ChromiumPeer::start_firefox`] runs
//! `interop/firefox/ff_peer.py` (Marionette, the same protocol and page; standard-library
//! Python, so no venv: `PEERSTACK_FIREFOX_PYTHON` overrides `python3`, `PEERSTACK_FIREFOX`
//! the browser) and skips unless `PEERSTACK_REQUIRE_FIREFOX=1` (set by the xtask step
//! `interop-firefox`). [`BrowserPeer`] is the browser-neutral name of the type.
//!
//! This module knows nothing of the sdp crate: SDPs are plain strings.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use serde_json::{json, Value};

/// How long a request may take beyond its own `timeout_ms` before the peer is declared stuck.
const REPLY_SLACK: Duration = Duration::from_secs(90);
/// How long startup (Chromium up, page loaded, fake media granted) may take.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// What went wrong talking to the Chromium peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChromiumError {
    /// The browser refused: the text of the exception the page threw (e.g.
    /// `OperationError: Failed to execute 'setRemoteDescription' …`).
    Browser(String),
    /// The peer process: could not start, died, timed out or answered nonsense.
    Peer(String),
}

impl std::fmt::Display for ChromiumError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChromiumError::Browser(e) => write!(f, "browser: {e}"),
            ChromiumError::Peer(e) => write!(f, "browser peer: {e}"),
        }
    }
}

impl std::error::Error for ChromiumError {}

/// `Result` with a [`ChromiumError`].
pub(crate) type Result<T, E = ChromiumError> = std::result::Result<T, E>;

/// A session description as the browser gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Description {
    /// `offer`, `answer`, `pranswer` or `rollback`.
    pub(crate) kind: String,
    /// The SDP text, CRLF line endings as the browser wrote it.
    pub(crate) sdp: String,
}

/// An ICE candidate in the W3C JSON shape (`RTCIceCandidateInit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// `candidate:…` (the attribute value without `a=`); empty for end-of-candidates.
    pub(crate) candidate: String,
    pub(crate) sdp_mid: Option<String>,
    pub(crate) sdp_mline_index: Option<u32>,
    pub(crate) username_fragment: Option<String>,
}

/// A transceiver as `getTransceivers()` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Transceiver {
    pub(crate) mid: Option<String>,
    /// `audio` or `video`.
    pub(crate) kind: String,
    pub(crate) direction: String,
    pub(crate) current_direction: Option<String>,
}

/// What `add_transceivers` adds to a peer connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Media {
    pub(crate) audio: u32,
    pub(crate) video: u32,
    /// One data channel (label `peerstack`).
    pub(crate) data: bool,
    /// Three encodings (rids `q`, `h`, `f`) on every video transceiver.
    pub(crate) simulcast: bool,
    /// `sendrecv` when `None`.
    pub(crate) direction: Option<String>,
    /// `addTransceiver(kind)` without fake tracks (no ssrc/msid for the sender then).
    pub(crate) no_tracks: bool,
}

/// Which browser a [`ChromiumPeer`] drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Browser {
    /// Debian's `chromium` over CDP (`interop/chromium/sdp_peer.py`).
    Chromium,
    /// Debian's `firefox-esr` over Marionette (`interop/firefox/ff_peer.py`).
    Firefox,
}

impl Browser {
    fn name(self) -> &'static str {
        match self {
            Browser::Chromium => "Chromium",
            Browser::Firefox => "Firefox",
        }
    }

    /// The variable that turns "skipped" into an error.
    fn require_var(self) -> &'static str {
        match self {
            Browser::Chromium => "PEERSTACK_REQUIRE_CHROMIUM",
            Browser::Firefox => "PEERSTACK_REQUIRE_FIREFOX",
        }
    }

    /// The variable naming the browser executable, and the script's option for it.
    fn executable_var(self) -> (&'static str, &'static str) {
        match self {
            Browser::Chromium => ("PEERSTACK_CHROMIUM", "--chromium"),
            Browser::Firefox => ("PEERSTACK_FIREFOX", "--firefox"),
        }
    }
}

/// The browser-neutral name of the harness (it drives Chromium or Firefox).
pub(crate) type BrowserPeer = ChromiumPeer;

/// One headless browser with any number of RTCPeerConnections (named by string ids) in one
/// page. Dropping it closes stdin, which makes the script kill the browser and remove its
/// profile.
pub(crate) struct ChromiumPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<std::io::Result<String>>,
    browser: Browser,
    /// The browser's product string, e.g. `Chrome/156.0.8078.79` or `Firefox/153.8.0`.
    pub(crate) product: String,
}

impl ChromiumPeer {
    /// Starts the Chromium peer. `Ok(None)` (with the reason printed) when Chromium, the venv
    /// or a way to a loopback-only namespace is missing here, unless
    /// `PEERSTACK_REQUIRE_CHROMIUM=1`.
    pub(crate) fn start() -> Result<Option<ChromiumPeer>> {
        Self::start_browser(Browser::Chromium)
    }

    /// Starts the Firefox ESR peer. `Ok(None)` (with the reason printed) when `firefox-esr`,
    /// `python3` or a loopback-only namespace is missing here, unless
    /// `PEERSTACK_REQUIRE_FIREFOX=1`.
    pub(crate) fn start_firefox() -> Result<Option<ChromiumPeer>> {
        Self::start_browser(Browser::Firefox)
    }

    /// Starts the peer of `browser`.
    pub(crate) fn start_browser(browser: Browser) -> Result<Option<ChromiumPeer>> {
        let require = browser.require_var();
        let required = std::env::var(require).is_ok_and(|v| v == "1");
        let found = match browser {
            Browser::Chromium => prerequisites(),
            Browser::Firefox => firefox_prerequisites(),
        };
        let (python, script) = match found {
            Ok(found) => found,
            Err(why) if required => {
                return Err(ChromiumError::Peer(format!("{why} (and {require}=1)")))
            }
            Err(why) => {
                eprintln!("skipping the {} test: {why}", browser.name());
                return Ok(None);
            }
        };
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let (var, option) = browser.executable_var();
        if let Some(executable) = std::env::var_os(var) {
            cmd.arg(option).arg(executable);
        }
        let mut child = cmd.spawn().map_err(|e| {
            ChromiumError::Peer(format!(
                "starting {} {}: {e}",
                python.display(),
                script.display()
            ))
        })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let end = line.is_err();
                if tx.send(line).is_err() || end {
                    break;
                }
            }
        });
        let mut peer = ChromiumPeer {
            child,
            stdin,
            lines,
            browser,
            product: String::new(),
        };
        let ready = peer.reply(START_TIMEOUT, "startup")?;
        peer.product = str_field(&ready, "product").unwrap_or_default();
        Ok(Some(peer))
    }

    /// Sends one request object and returns the reply when it has `"ok": true`;
    /// `"ok": false` is [`ChromiumError::Browser`] with the reply's `error`.
    pub(crate) fn request(&mut self, request: Value) -> Result<Value> {
        let op = request["op"].as_str().unwrap_or("?").to_owned();
        let wait = request["timeout_ms"]
            .as_u64()
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_secs(20));
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| ChromiumError::Peer("stdin already closed".into()))?;
        writeln!(stdin, "{request}")
            .and_then(|()| stdin.flush())
            .map_err(|e| ChromiumError::Peer(format!("{op}: writing the request: {e}")))?;
        self.reply(wait + REPLY_SLACK, &op)
    }

    fn reply(&mut self, timeout: Duration, op: &str) -> Result<Value> {
        let line = match self.lines.recv_timeout(timeout) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(ChromiumError::Peer(format!("{op}: reading stdout: {e}"))),
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                return Err(ChromiumError::Peer(format!(
                    "{op}: no reply within {} s; killed the peer",
                    timeout.as_secs()
                )));
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.wait().map(|s| s.to_string());
                return Err(ChromiumError::Peer(format!(
                    "{op}: the peer exited ({}); see its stderr above",
                    status.unwrap_or_else(|e| e.to_string())
                )));
            }
        };
        let value: Value = serde_json::from_str(&line)
            .map_err(|e| ChromiumError::Peer(format!("{op}: bad reply {line:?}: {e}")))?;
        if value["ok"] == Value::Bool(true) {
            Ok(value)
        } else {
            Err(ChromiumError::Browser(
                value["error"]
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| line.clone()),
            ))
        }
    }

    /// `new RTCPeerConnection({iceServers: [], ...config})` under the name `id`.
    pub(crate) fn new_pc(&mut self, id: &str, config: Value) -> Result<()> {
        self.request(json!({"op": "new_pc", "id": id, "config": config}))
            .map(drop)
    }

    /// Adds transceivers (with fake getUserMedia tracks unless `no_tracks`) and a data channel.
    pub(crate) fn add_transceivers(&mut self, id: &str, media: &Media) -> Result<()> {
        let mut req = json!({
            "op": "add_transceivers", "id": id, "audio": media.audio, "video": media.video,
            "data": media.data, "simulcast": media.simulcast, "tracks": !media.no_tracks,
        });
        if let Some(direction) = &media.direction {
            req["direction"] = json!(direction);
        }
        self.request(req).map(drop)
    }

    /// `createOffer()`; the SDP text.
    pub(crate) fn create_offer(&mut self, id: &str) -> Result<String> {
        self.sdp_of(json!({"op": "create_offer", "id": id}))
    }

    /// `createOffer({iceRestart: true})`; the SDP text.
    pub(crate) fn create_offer_ice_restart(&mut self, id: &str) -> Result<String> {
        self.sdp_of(json!({"op": "create_offer", "id": id, "ice_restart": true}))
    }

    /// `createAnswer()`; the SDP text.
    pub(crate) fn create_answer(&mut self, id: &str) -> Result<String> {
        self.sdp_of(json!({"op": "create_answer", "id": id}))
    }

    /// `setLocalDescription({type, sdp})`.
    pub(crate) fn set_local(&mut self, id: &str, kind: &str, sdp: &str) -> Result<()> {
        self.request(json!({"op": "set_local", "id": id, "type": kind, "sdp": sdp}))
            .map(drop)
    }

    /// `setLocalDescription()` (implicit offer or answer); the description it set.
    pub(crate) fn set_local_implicit(&mut self, id: &str) -> Result<Description> {
        self.request(json!({"op": "set_local", "id": id}))?;
        self.local_description(id)?
            .ok_or_else(|| ChromiumError::Peer("no local description after set_local".into()))
    }

    /// `setRemoteDescription({type, sdp})`.
    pub(crate) fn set_remote(&mut self, id: &str, kind: &str, sdp: &str) -> Result<()> {
        self.request(json!({"op": "set_remote", "id": id, "type": kind, "sdp": sdp}))
            .map(drop)
    }

    /// `addIceCandidate(candidate)`; an empty `candidate` is end-of-candidates.
    pub(crate) fn add_ice_candidate(&mut self, id: &str, candidate: &Candidate) -> Result<()> {
        let mut req =
            json!({"op": "add_ice_candidate", "id": id, "candidate": candidate.candidate});
        if let Some(mid) = &candidate.sdp_mid {
            req["sdpMid"] = json!(mid);
        }
        if let Some(index) = candidate.sdp_mline_index {
            req["sdpMLineIndex"] = json!(index);
        }
        if let Some(ufrag) = &candidate.username_fragment {
            req["usernameFragment"] = json!(ufrag);
        }
        self.request(req).map(drop)
    }

    /// Every candidate gathered so far (from `onicecandidate`), and whether gathering is complete.
    pub(crate) fn candidates(&mut self, id: &str) -> Result<(Vec<Candidate>, bool)> {
        let reply = self.request(json!({"op": "candidates", "id": id}))?;
        Ok((
            candidates_of(&reply),
            reply["complete"] == Value::Bool(true),
        ))
    }

    /// Waits until gathering for the current local description ends; returns that description
    /// (candidates included in its SDP) and the gathered candidates.
    pub(crate) fn wait_gathering(&mut self, id: &str) -> Result<(Description, Vec<Candidate>)> {
        let reply =
            self.request(json!({"op": "wait_gathering", "id": id, "timeout_ms": 15_000}))?;
        let description = description_of(&reply)
            .ok_or_else(|| ChromiumError::Peer("wait_gathering: no local description".into()))?;
        Ok((description, candidates_of(&reply)))
    }

    /// `pc.localDescription`.
    pub(crate) fn local_description(&mut self, id: &str) -> Result<Option<Description>> {
        let reply = self.request(json!({"op": "local_description", "id": id}))?;
        Ok(description_of(&reply))
    }

    /// `pc.remoteDescription`.
    pub(crate) fn remote_description(&mut self, id: &str) -> Result<Option<Description>> {
        let reply = self.request(json!({"op": "remote_description", "id": id}))?;
        Ok(description_of(&reply))
    }

    /// Waits until `connectionState` is `state` (fails early on `failed`).
    pub(crate) fn wait_state(&mut self, id: &str, state: &str, timeout: Duration) -> Result<()> {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.request(json!({"op": "wait_state", "id": id, "state": state, "timeout_ms": ms}))
            .map(drop)
    }

    /// Polls `getStats()` until the `inbound-rtp` stream of `kind` (`audio`/`video`) has
    /// received `packets` packets (after SRTP); returns that stats entry (`packetsReceived`,
    /// `ssrc`, `mimeType`, `payloadType`, ...).
    pub(crate) fn wait_inbound_rtp(
        &mut self,
        id: &str,
        kind: &str,
        packets: u64,
        timeout: Duration,
    ) -> Result<Value> {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.request(json!({
            "op": "wait_inbound_rtp", "id": id, "kind": kind, "packets": packets, "timeout_ms": ms
        }))
    }

    /// Polls `getStats()` until the `inbound-rtp` stream of `kind` has at least `packets`
    /// packets and `frames` decoded frames (video); returns what it saw (`framesDecoded`,
    /// `keyFramesDecoded`, `nackCount`, `pliCount` besides the packet fields).
    pub(crate) fn wait_inbound_frames(
        &mut self,
        id: &str,
        kind: &str,
        packets: u64,
        frames: u64,
        timeout: Duration,
    ) -> Result<Value> {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.request(json!({
            "op": "wait_inbound_rtp", "id": id, "kind": kind, "packets": packets,
            "frames": frames, "timeout_ms": ms
        }))
    }

    /// Sends `count` text messages (`"{text} {i}"`) on the page's data channel `label`
    /// once it is open.
    pub(crate) fn dc_send(&mut self, id: &str, label: &str, text: &str, count: u64) -> Result<()> {
        self.request(json!({
            "op": "dc_send", "id": id, "label": label, "text": text, "count": count,
            "timeout_ms": 20000
        }))?;
        Ok(())
    }

    /// Sends `text` once, as it is (empty allowed), on the page's data channel `label`.
    pub(crate) fn dc_send_text(&mut self, id: &str, label: &str, text: &str) -> Result<()> {
        self.request(json!({
            "op": "dc_send", "id": id, "label": label, "text": text, "timeout_ms": 20000
        }))?;
        Ok(())
    }

    /// Sends binary messages of `sizes` on the page's data channel `label`: byte `i` of
    /// an `n`-byte message is `(i + n) & 255` ([`binary_pattern`]).
    pub(crate) fn dc_send_binary(&mut self, id: &str, label: &str, sizes: &[usize]) -> Result<()> {
        self.request(json!({
            "op": "dc_send_binary", "id": id, "label": label, "sizes": sizes,
            "timeout_ms": 20000
        }))?;
        Ok(())
    }

    /// The first `count` messages the page's data channel `label` received (binary ones
    /// as `"[binary N]"`), waiting for them.
    pub(crate) fn dc_received(
        &mut self,
        id: &str,
        label: &str,
        count: u64,
        timeout: Duration,
    ) -> Result<Vec<String>> {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let reply = self.request(json!({
            "op": "dc_received", "id": id, "label": label, "count": count, "timeout_ms": ms
        }))?;
        Ok(reply["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect())
    }

    /// `getTransceivers()`.
    pub(crate) fn transceivers(&mut self, id: &str) -> Result<Vec<Transceiver>> {
        let reply = self.request(json!({"op": "transceivers", "id": id}))?;
        Ok(reply["transceivers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| Transceiver {
                mid: str_field(t, "mid"),
                kind: str_field(t, "kind").unwrap_or_default(),
                direction: str_field(t, "direction").unwrap_or_default(),
                current_direction: str_field(t, "currentDirection"),
            })
            .collect())
    }

    /// Sets the direction of the transceiver with `mid`.
    pub(crate) fn set_direction(&mut self, id: &str, mid: &str, direction: &str) -> Result<()> {
        self.request(json!({"op": "set_direction", "id": id, "mid": mid, "direction": direction}))
            .map(drop)
    }

    /// `stop()`s the transceiver with `mid`.
    pub(crate) fn stop_transceiver(&mut self, id: &str, mid: &str) -> Result<()> {
        self.request(json!({"op": "stop_transceiver", "id": id, "mid": mid}))
            .map(drop)
    }

    /// `pc.close()` and forgets `id`.
    pub(crate) fn close(&mut self, id: &str) -> Result<()> {
        self.request(json!({"op": "close", "id": id})).map(drop)
    }

    fn sdp_of(&mut self, request: Value) -> Result<String> {
        let reply = self.request(request)?;
        str_field(&reply, "sdp").ok_or_else(|| ChromiumError::Peer(format!("no sdp in {reply}")))
    }
}

impl Drop for ChromiumPeer {
    fn drop(&mut self) {
        // EOF on stdin: the script closes the browser and removes its profile, then exits.
        drop(self.stdin.take());
        for _ in 0..150 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "the {} peer did not exit within 15 s of stdin EOF; killing it",
            self.browser.name()
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v[key].as_str().map(String::from)
}

fn description_of(v: &Value) -> Option<Description> {
    Some(Description {
        kind: str_field(v, "type")?,
        sdp: str_field(v, "sdp")?,
    })
}

fn candidates_of(v: &Value) -> Vec<Candidate> {
    v["candidates"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| Candidate {
            candidate: str_field(c, "candidate").unwrap_or_default(),
            sdp_mid: str_field(c, "sdpMid"),
            sdp_mline_index: c["sdpMLineIndex"]
                .as_u64()
                .and_then(|i| u32::try_from(i).ok()),
            username_fragment: str_field(c, "usernameFragment"),
        })
        .collect()
}

/// The workspace root (two levels above this crate's manifest directory).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's python and the script, or why the peer cannot run here.
fn prerequisites() -> std::result::Result<(PathBuf, PathBuf), String> {
    let root = workspace_root();
    let script = root.join("interop/chromium/sdp_peer.py");
    if !script.is_file() {
        return Err(format!("{} is missing", script.display()));
    }
    let chromium = std::env::var_os("PEERSTACK_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
                .map(PathBuf::from)
                .into_iter()
                .find(|p| p.is_file())
        });
    if !chromium.is_some_and(|p| p.is_file()) {
        return Err("chromium is not installed (apt-get install chromium)".into());
    }
    let python = std::env::var_os("PEERSTACK_CHROMIUM_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/chromium-venv/bin/python"));
    if !python.is_file() {
        return Err(format!(
            "no Python venv at {} (make it with `cargo xtask test-all --only interop-sdp`, \
             or point PEERSTACK_CHROMIUM_PYTHON at a python with websocket-client)",
            python.display()
        ));
    }
    if !loopback_only() {
        return Err(
            "this test is not in a loopback-only network namespace; run it with \
                    `cargo xtask test-all --only interop-sdp` (Chromium must not reach the \
                    network, and tests that connect our stack to it need to share its `lo`)"
                .into(),
        );
    }
    Ok((python, script))
}

/// `python3` and `ff_peer.py`, or why the Firefox peer cannot run here.
fn firefox_prerequisites() -> std::result::Result<(PathBuf, PathBuf), String> {
    let script = workspace_root().join("interop/firefox/ff_peer.py");
    if !script.is_file() {
        return Err(format!("{} is missing", script.display()));
    }
    let firefox = std::env::var_os("PEERSTACK_FIREFOX")
        .map(PathBuf::from)
        .or_else(|| {
            ["/usr/bin/firefox-esr", "/usr/bin/firefox"]
                .map(PathBuf::from)
                .into_iter()
                .find(|p| p.is_file())
        });
    if !firefox.is_some_and(|p| p.is_file()) {
        return Err("firefox-esr is not installed (apt-get install firefox-esr)".into());
    }
    // Standard library only: any python3 will do.
    let python = std::env::var_os("PEERSTACK_FIREFOX_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|dir| dir.join("python3"))
                .chain([PathBuf::from("/usr/bin/python3")])
                .find(|p| p.is_file())
        })
        .ok_or("no python3 on PATH (or PEERSTACK_FIREFOX_PYTHON)")?;
    if !loopback_only() {
        return Err(
            "this test is not in a loopback-only network namespace; run it with \
             `cargo xtask test-all --only interop-firefox` (Firefox must not reach the \
             network, and tests that connect our stack to it need to share its `lo`)"
                .into(),
        );
    }
    Ok((python, script))
}

/// Whether this process's network namespace has no interface but `lo`.
fn loopback_only() -> bool {
    std::fs::read_to_string("/proc/self/net/dev").is_ok_and(|dev| {
        dev.lines()
            .skip(2)
            .filter_map(|l| l.split_once(':'))
            .all(|(name, _)| name.trim() == "lo")
    })
}

/// The bytes of an `n`-byte message sent by [`BrowserPeer::dc_send_binary`].
pub(crate) fn binary_pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i + n) & 255) as u8).collect()
}
