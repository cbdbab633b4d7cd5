#!/usr/bin/env python3
"""Headless Chromium driven over CDP: RTCPeerConnections in a page, behind a JSON-lines protocol.

    python sdp_peer.py [--chromium PATH] [--verbose]

Launches headless Chromium (Debian `chromium`) with a fresh profile, fake media devices and
`--allow-loopback-in-peer-connection`, opens a page served from 127.0.0.1 and then reads one JSON
request per line on stdin and writes exactly one JSON reply line per request on stdout:

    {"op":"new_pc","id":"a","config":{"bundlePolicy":"max-bundle"}}      -> {"ok":true}
    {"op":"add_transceivers","id":"a","audio":1,"video":1,"data":true,"simulcast":false}
    {"op":"create_offer","id":"a","ice_restart":false}                   -> {"ok":true,"type":"offer","sdp":"v=0..."}
    {"op":"create_answer","id":"b"}                                      -> {"ok":true,"type":"answer","sdp":"..."}
    {"op":"set_local","id":"a","type":"offer","sdp":"..."}              -> {"ok":true}
    {"op":"set_remote","id":"b","type":"offer","sdp":"..."}             -> {"ok":true}
    {"op":"add_ice_candidate","id":"b","candidate":"candidate:...","sdpMid":"0","sdpMLineIndex":0}
    {"op":"candidates","id":"a"}                -> {"ok":true,"candidates":[{candidate,sdpMid,sdpMLineIndex,usernameFragment}],"complete":bool}
    {"op":"wait_gathering","id":"a","timeout_ms":10000}  -> {"ok":true,"type":..,"sdp":..,"candidates":[..]}
    {"op":"local_description","id":"a"} / {"op":"remote_description","id":"a"} -> {"ok":true,"type":..,"sdp":..}
    {"op":"wait_state","id":"a","state":"connected","timeout_ms":20000}  -> {"ok":true,"state":"connected"}
    {"op":"wait_inbound_rtp","id":"a","kind":"audio","packets":10,"timeout_ms":10000}
    {"op":"dc_send","id":"a","label":"peerstack","text":"hi","count":3}  -> {"ok":true} (once open)
    {"op":"dc_received","id":"a","label":"ours","count":3,"timeout_ms":10000}
                                               -> {"ok":true,"messages":["...",...]}
                                               -> {"ok":true,"packetsReceived":..,"ssrc":..,"mimeType":..,"payloadType":..}
    {"op":"transceivers","id":"a"}             -> {"ok":true,"transceivers":[{mid,kind,direction,currentDirection,stopped}]}
    {"op":"set_direction","id":"b","mid":"1","direction":"recvonly"}     -> {"ok":true}
    {"op":"stop_transceiver","id":"b","mid":"1"}                          -> {"ok":true}
    {"op":"close","id":"a"}                                               -> {"ok":true}
    {"op":"version"}                           -> {"ok":true,"product":"Chrome/...","userAgent":...}

Any failure is `{"ok":false,"error":"..."}`; for the browser's own exceptions the text is the
exception's `name: message` (e.g. "OperationError: Failed to execute 'setRemoteDescription' ...").
`set_local` without `type`/`sdp` does an implicit `setLocalDescription()`. `add_transceivers`
takes optional `direction` (default sendrecv) and `tracks` (default true: fake getUserMedia
tracks; false: `addTransceiver(kind)` without a track). `simulcast: true` gives every video
transceiver three encodings with rids "q", "h", "f". A `candidate` of "" or null in
`add_ice_candidate` signals end-of-candidates.

On stdin EOF (or SIGTERM/SIGINT) Chromium's whole process group is killed and the profile
directory removed. Logs go to stderr (Chromium's own output only with --verbose).

Network: Chromium contacts update and time servers despite every flag, so it must only ever run
in a network namespace whose only interface is `lo`. If this process is not in one, it re-runs
itself under `unshare --net` (root only); otherwise it refuses to start.
"""

import argparse
import http.server
import json
import os
import shutil
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

import websocket  # websocket-client, see requirements.txt

REEXEC_MARK = "PEERSTACK_SDP_PEER_IN_NETNS"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost , EXCLUDE *.local",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--remote-debugging-port=0",
]


def log(*args):
    print("sdp_peer:", *args, file=sys.stderr, flush=True)


# ---- network namespace -----------------------------------------------------------------------


def interfaces():
    """Interface names of this process's network namespace (/proc/self/net/dev is per-netns,
    unlike /sys/class/net, which shows the namespace sysfs was mounted in)."""
    with open("/proc/self/net/dev") as f:
        lines = f.read().splitlines()[2:]
    return sorted(line.split(":", 1)[0].strip() for line in lines if ":" in line)


def ensure_loopback_only_netns():
    """Returns when only `lo` exists here; re-executes under `unshare --net` when root can;
    exits with an explanation otherwise."""
    names = interfaces()
    if names == ["lo"]:
        return
    if os.environ.get(REEXEC_MARK):
        sys.exit(f"sdp_peer: still see interfaces {names} after `unshare --net`; refusing to run Chromium")
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        sys.exit(
            f"sdp_peer: this network namespace has interfaces {names}; Chromium must run where only "
            "`lo` exists (run as root so this script can `unshare --net`, or inside "
            "`unshare --net sh -c 'ip link set lo up && exec \"$@\"' sh ...`)"
        )
    os.environ[REEXEC_MARK] = "1"
    argv = [unshare, "--net", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', sys.executable] + sys.argv
    os.execv(unshare, argv)


# ---- the page ---------------------------------------------------------------------------------

PAGE_HTML = b"""<!doctype html><html><head><meta charset="utf-8"><title>peerstack sdp peer</title>
</head><body>peerstack sdp peer</body></html>"""

# Installed into the page once; every op is `__ps.op(args)` and resolves to a JSON-able value.
PAGE_JS = r"""
window.__ps = (() => {
  const pcs = {};
  const get = (id) => {
    const p = pcs[id];
    if (!p) throw new Error(`no peer connection "${id}"`);
    return p;
  };
  const desc = (d) => d ? { type: d.type, sdp: d.sdp } : { type: null, sdp: null };
  const ufrag = (d) => (d && d.sdp.match(/^a=ice-ufrag:(.*)$/m) || [null, null])[1];
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (what, cond, timeoutMs) => {
    const end = Date.now() + (timeoutMs ?? 20000);
    for (;;) {
      const v = cond();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs ?? 20000} ms waiting for ${what}`);
      await sleep(20);
    }
  };
  // Messages a data channel received, kept for `dc_received` (binary ones as "[binary N]").
  const collect = (ch) => {
    ch.__got = [];
    ch.onmessage = (m) => ch.__got.push(typeof m.data === 'string' ? m.data : `[binary ${m.data.byteLength ?? m.data.size}]`);
    return ch;
  };
  const tx = (p, mid) => {
    const t = p.pc.getTransceivers().find((t) => t.mid === String(mid));
    if (!t) throw new Error(`no transceiver with mid "${mid}"`);
    return t;
  };
  let media = null;
  const fakeMedia = async () => {
    if (!media) media = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    return media;
  };
  return {
    async warmup() {
      // A granted camera/microphone is what makes Chromium gather loopback host candidates.
      await fakeMedia();
      return {};
    },
    async new_pc({ id, config }) {
      if (pcs[id]) throw new Error(`peer connection "${id}" exists`);
      const pc = new RTCPeerConnection({ iceServers: [], ...(config || {}) });
      const p = { pc, candidates: [], channels: [], complete: false, needNull: false };
      pc.onicecandidate = (e) => {
        if (e.candidate) p.candidates.push(e.candidate.toJSON());
        else p.complete = true;
      };
      pc.ondatachannel = (e) => p.channels.push(collect(e.channel));
      pcs[id] = p;
      return {};
    },
    async add_transceivers({ id, audio, video, data, simulcast, direction, tracks }) {
      const p = get(id);
      const useTracks = tracks ?? true;
      const dir = direction || 'sendrecv';
      const stream = useTracks ? new MediaStream() : null;
      for (const [kind, n] of [['audio', audio || 0], ['video', video || 0]]) {
        for (let i = 0; i < n; i++) {
          const init = { direction: dir };
          if (kind === 'video' && simulcast) {
            init.sendEncodings = [
              { rid: 'q', scaleResolutionDownBy: 4.0 },
              { rid: 'h', scaleResolutionDownBy: 2.0 },
              { rid: 'f' },
            ];
          }
          if (useTracks) {
            const src = (await fakeMedia()).getTracks().find((t) => t.kind === kind);
            const track = src.clone();
            stream.addTrack(track);
            init.streams = [stream];
            p.pc.addTransceiver(track, init);
          } else {
            p.pc.addTransceiver(kind, init);
          }
        }
      }
      if (data) p.channels.push(collect(p.pc.createDataChannel('peerstack')));
      return {};
    },
    async create_offer({ id, ice_restart }) {
      return desc(await get(id).pc.createOffer({ iceRestart: !!ice_restart }));
    },
    async create_answer({ id }) {
      return desc(await get(id).pc.createAnswer());
    },
    async set_local({ id, type, sdp }) {
      const p = get(id);
      const before = ufrag(p.pc.localDescription);
      p.complete = false;
      if (type === undefined || type === null) await p.pc.setLocalDescription();
      else await p.pc.setLocalDescription({ type, sdp });
      // New credentials (first description, ICE restart) start a gathering generation that
      // ends with a null candidate; otherwise there is nothing new to wait for.
      p.needNull = ufrag(p.pc.localDescription) !== before;
      return {};
    },
    async set_remote({ id, type, sdp }) {
      await get(id).pc.setRemoteDescription({ type, sdp });
      return {};
    },
    async add_ice_candidate({ id, candidate, sdpMid, sdpMLineIndex, usernameFragment }) {
      const init = { candidate: candidate ?? '' };
      if (sdpMid !== undefined) init.sdpMid = sdpMid;
      if (sdpMLineIndex !== undefined) init.sdpMLineIndex = sdpMLineIndex;
      if (usernameFragment !== undefined) init.usernameFragment = usernameFragment;
      await get(id).pc.addIceCandidate(init);
      return {};
    },
    async candidates({ id }) {
      const p = get(id);
      return { candidates: p.candidates.slice(), complete: p.pc.iceGatheringState === 'complete' };
    },
    async wait_gathering({ id, timeout_ms }) {
      const p = get(id);
      await until('the end of candidate gathering',
        () => p.pc.iceGatheringState === 'complete' && (p.complete || !p.needNull), timeout_ms);
      return { ...desc(p.pc.localDescription), candidates: p.candidates.slice() };
    },
    async local_description({ id }) { return desc(get(id).pc.localDescription); },
    async remote_description({ id }) { return desc(get(id).pc.remoteDescription); },
    async wait_state({ id, state, timeout_ms }) {
      const pc = get(id).pc;
      const want = state || 'connected';
      await until(`connectionState ${want}`, () => {
        if (pc.connectionState === 'failed' && want !== 'failed') throw new Error('connectionState is failed');
        return pc.connectionState === want;
      }, timeout_ms);
      return { state: pc.connectionState };
    },
    async transceivers({ id }) {
      return {
        transceivers: get(id).pc.getTransceivers().map((t) => ({
          mid: t.mid, kind: t.receiver.track.kind, direction: t.direction,
          currentDirection: t.currentDirection, stopped: t.direction === 'stopped',
        })),
      };
    },
    async wait_inbound_rtp({ id, kind, packets, frames, timeout_ms }) {
      // getStats() inbound-rtp of `kind` until packetsReceived >= packets (SRTP from the peer
      // was decrypted and authenticated: libwebrtc counts only packets that passed SRTP) and,
      // for video, framesDecoded >= frames (the decoder took what the peer packetized).
      const pc = get(id).pc;
      const want = packets || 1;
      const wantFrames = frames || 0;
      let seen = { packetsReceived: 0 };
      const start = Date.now();
      for (;;) {
        const stats = await pc.getStats();
        for (const r of stats.values()) {
          if (r.type === 'inbound-rtp' && r.kind === kind) {
            seen = { packetsReceived: r.packetsReceived, bytesReceived: r.bytesReceived, ssrc: r.ssrc,
                     framesDecoded: r.framesDecoded ?? null, keyFramesDecoded: r.keyFramesDecoded ?? null,
                     nackCount: r.nackCount ?? null, pliCount: r.pliCount ?? null,
                     mid: r.mid, codecId: r.codecId,
                     mimeType: r.codecId && stats.get(r.codecId) ? stats.get(r.codecId).mimeType : null,
                     payloadType: r.codecId && stats.get(r.codecId) ? stats.get(r.codecId).payloadType : null };
            if (r.packetsReceived >= want && (r.framesDecoded ?? 0) >= wantFrames) return seen;
          }
        }
        if (Date.now() - start > (timeout_ms || 10000)) {
          throw new Error(`inbound-rtp ${kind}: ${seen.packetsReceived} of ${want} packets, ${seen.framesDecoded} of ${wantFrames} frames decoded after ${timeout_ms} ms`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async dc_send({ id, label, text, count, timeout_ms }) {
      const p = get(id);
      const ch = await until(`data channel "${label}" open`,
        () => p.channels.find((c) => c.label === label && c.readyState === 'open'), timeout_ms);
      const n = count ?? 1;
      for (let i = 0; i < n; i++) ch.send(count === undefined ? text : `${text} ${i}`);
      return {};
    },
    async dc_received({ id, label, count, timeout_ms }) {
      const p = get(id);
      const ch = await until(`data channel "${label}"`, () => p.channels.find((c) => c.label === label), timeout_ms);
      await until(`${count} messages on "${label}"`, () => ch.__got.length >= count, timeout_ms);
      return { messages: ch.__got.slice(0, count), state: ch.readyState };
    },
    async set_direction({ id, mid, direction }) { tx(get(id), mid).direction = direction; return {}; },
    async stop_transceiver({ id, mid }) { tx(get(id), mid).stop(); return {}; },
    async close({ id }) {
      const p = get(id);
      p.pc.close();
      delete pcs[id];
      return {};
    },
  };
})();
"""

PAGE_OPS = {
    "new_pc", "add_transceivers", "create_offer", "create_answer", "set_local", "set_remote",
    "add_ice_candidate", "candidates", "wait_gathering", "local_description", "remote_description",
    "wait_state", "transceivers", "set_direction", "stop_transceiver", "close", "wait_inbound_rtp",
    "dc_send", "dc_received",
}


class PageServer:
    """Serves PAGE_HTML on 127.0.0.1: an http://127.0.0.1 origin is a secure context, so
    getUserMedia works there (about:blank and data: pages are not)."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE_HTML)))
                self.end_headers()
                self.wfile.write(PAGE_HTML)

            def log_message(self, *args):
                pass

        self.httpd = socketserver.TCPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- Chromium and CDP -------------------------------------------------------------------------


def die_with_parent():
    """In the child before exec: SIGKILL Chromium if this script dies without cleaning up
    (prctl PR_SET_PDEATHSIG), so a killed test leaves no browser behind."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


class CdpError(Exception):
    pass


class Chromium:
    """One headless Chromium with one page, attached over CDP (flattened session)."""

    def __init__(self, executable, verbose=False, timeout=60.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="peerstack-chromium-")
        self.proc = None
        self.ws = None
        self.server = None
        self.next_id = 0
        try:
            self.server = PageServer()
            out = None if verbose else subprocess.DEVNULL
            self.proc = subprocess.Popen(
                [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=out if out is not None else sys.stderr,
                stderr=out if out is not None else sys.stderr,
                start_new_session=True,  # its own process group: close() kills every child
                preexec_fn=die_with_parent,
            )
            self.ws = websocket.create_connection(
                self._browser_ws_url(), timeout=timeout, suppress_origin=True
            )
            self.session = self._attach_page()
            self.send("Page.enable")
            self.send("Runtime.enable")
            self.send("Page.navigate", {"url": self.server.url})
            self._wait_loaded()
            self.evaluate(PAGE_JS, is_op=False)
            self.evaluate("__ps.warmup({})")
        except BaseException:
            self.close()
            raise

    def _browser_ws_url(self):
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CdpError(f"chromium exited with {self.proc.returncode} before DevTools was up")
            try:
                with open(port_file) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 2 and lines[0].strip() and lines[1].strip():
                    return f"ws://127.0.0.1:{lines[0].strip()}{lines[1].strip()}"
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        raise CdpError(f"no {port_file} after {self.timeout} s")

    def _attach_page(self):
        targets = self.send("Target.getTargets", session=False)["targetInfos"]
        pages = [t for t in targets if t["type"] == "page"]
        if pages:
            target = pages[0]["targetId"]
        else:
            target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        return self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)[
            "sessionId"
        ]

    def _wait_loaded(self):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            r = self.send("Runtime.evaluate", {"expression": "location.href + ' ' + document.readyState",
                                               "returnByValue": True})
            if r.get("result", {}).get("value") == f"{self.server.url} complete":
                return
            time.sleep(0.05)
        raise CdpError(f"page {self.server.url} did not load")

    def send(self, method, params=None, session=True):
        """Sends one CDP command and returns its result; events in between are dropped."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") != self.next_id:
                continue
            if "error" in reply:
                raise CdpError(f"{method}: {reply['error'].get('message')} {reply['error'].get('data', '')}".strip())
            return reply.get("result", {})

    def evaluate(self, expression, is_op=True):
        r = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": is_op, "returnByValue": True},
        )
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            exc = d.get("exception", {})
            text = exc.get("description") or exc.get("value") or d.get("text") or "exception"
            # description is "Name: message\n    at ..." for Error objects: keep the first line.
            raise PageError(str(text).split("\n    at ")[0].strip())
        return r.get("result", {}).get("value")

    def op(self, name, args):
        # Waiting ops may take longer than the default socket timeout: allow their own plus 10 s.
        wait = float(args.get("timeout_ms") or 20000) / 1000.0 + 10.0
        self.ws.settimeout(max(self.timeout, wait))
        try:
            return self.evaluate(f"__ps.{name}({json.dumps(args)})")
        finally:
            self.ws.settimeout(self.timeout)

    def version(self):
        return self.send("Browser.getVersion", session=False)

    def close(self):
        if self.ws is not None:
            try:
                self.ws.settimeout(5)
                self.send("Browser.close", session=False)
            except Exception:
                pass
            try:
                self.ws.close()
            except Exception:
                pass
            self.ws = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                time.sleep(0.2)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log("chromium did not exit after SIGKILL")
            self.proc = None
        if self.server is not None:
            self.server.close()
            self.server = None
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None


class PageError(Exception):
    """An exception thrown in the page (its text is the browser's)."""


def find_chromium(explicit):
    for candidate in [explicit, os.environ.get("PEERSTACK_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")]:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def launch(args):
    """Checks the namespace, finds Chromium and starts it (shared with capture_sdp.py)."""
    ensure_loopback_only_netns()
    exe = find_chromium(args.chromium)
    if exe is None:
        sys.exit("sdp_peer: chromium not found (apt-get install chromium, or --chromium PATH)")
    return Chromium(exe, verbose=args.verbose)


def common_args(parser):
    parser.add_argument("--chromium", help="Chromium executable (default: $PEERSTACK_CHROMIUM, /usr/bin/chromium)")
    parser.add_argument("--verbose", action="store_true", help="pass Chromium's own output to stderr")


# ---- the protocol -----------------------------------------------------------------------------


def handle(browser, request):
    op = request.get("op")
    if op == "version":
        v = browser.version()
        return {"ok": True, "product": v.get("product"), "userAgent": v.get("userAgent"),
                "protocolVersion": v.get("protocolVersion")}
    if op == "ping":
        return {"ok": True}
    if op not in PAGE_OPS:
        return {"ok": False, "error": f"unknown op {op!r}"}
    if not isinstance(request.get("id"), str):
        return {"ok": False, "error": f"{op}: needs a string \"id\""}
    args = {k: v for k, v in request.items() if k != "op"}
    value = browser.op(op, args)
    return {"ok": True, **(value or {})}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common_args(parser)
    args = parser.parse_args()
    browser = None

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    try:
        browser = launch(args)
        reply = {"ok": True, "ready": True, "product": browser.version().get("product")}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError("a request is a JSON object")
                reply = handle(browser, request)
            except (PageError, CdpError, ValueError) as e:
                reply = {"ok": False, "error": str(e)}
            except websocket.WebSocketException as e:
                reply = {"ok": False, "error": f"CDP connection: {e!r}"}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        if browser is not None:
            browser.close()


if __name__ == "__main__":
    main()
