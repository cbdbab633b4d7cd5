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
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import websocket  # websocket-client, see requirements.txt

# The page and its ops, shared with ../firefox/ff_peer.py.
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from webrtc_page import (  # noqa: E402
    PAGE_JS,
    PAGE_OPS,
    PageError,
    PageServer,
    die_with_parent,
    ensure_loopback_only_netns,
)

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


# ---- Chromium and CDP -------------------------------------------------------------------------


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


def find_chromium(explicit):
    for candidate in [explicit, os.environ.get("PEERSTACK_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")]:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def launch(args):
    """Checks the namespace, finds Chromium and starts it (shared with capture_sdp.py)."""
    ensure_loopback_only_netns("sdp_peer", "Chromium")
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
