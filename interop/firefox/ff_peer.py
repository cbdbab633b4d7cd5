#!/usr/bin/env python3
"""Headless Firefox ESR driven over Marionette: RTCPeerConnections in a page, behind the same
JSON-lines protocol as ../chromium/sdp_peer.py.

    python3 ff_peer.py [--firefox PATH] [--verbose]

Standard library only (no geckodriver, no pip packages). Launches headless Firefox (Debian
`firefox-esr`) with a fresh profile whose `user.js` makes it gather host candidates on loopback
and gives getUserMedia fake audio and video, grants camera and microphone to the page's origin
from the chrome context (without that grant Firefox gathers nothing where only `lo` exists),
opens the page (../webrtc_page.py, served from 127.0.0.1) and then reads one JSON request per
line on stdin and writes exactly one JSON reply line per request on stdout. The first line it
writes is `{"ok":true,"ready":true,"product":"Firefox/153.8.0",...}`. The ops are those of
sdp_peer.py (`new_pc`, `add_transceivers`, `create_offer`, `create_answer`, `set_local`,
`set_remote`, `add_ice_candidate`, `candidates`, `wait_gathering`, `local_description`,
`remote_description`, `wait_state`, `wait_inbound_rtp`, `dc_send`, `dc_received`,
`transceivers`, `set_direction`, `stop_transceiver`, `close`, `version`, `ping`); see its
docstring. Any failure is `{"ok":false,"error":"..."}`, for the page's exceptions
`name: message` as Firefox words it.

Marionette: a plain TCP socket (the port Firefox writes to `<profile>/MarionetteActivePort`,
as `marionette.port` is 0), frames `LEN:JSON` (LEN = bytes of UTF-8 JSON), commands
`[0, id, name, params]`, replies `[1, id, error, result]`.

On stdin EOF (or SIGTERM/SIGINT) Firefox's whole process group is killed and its profile
directory removed. Logs go to stderr (Firefox's own output only with --verbose).

Network: Firefox must only ever run in a network namespace whose only interface is `lo`. If
this process is not in one, it re-runs itself under `unshare --net` (root only); otherwise it
refuses to start.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from webrtc_page import (  # noqa: E402
    PAGE_OPS,
    PageError,
    PageServer,
    die_with_parent,
    ensure_loopback_only_netns,
    page_with_ops,
)

# user.js of the fresh profile.
PREFS = {
    # Marionette on a port the OS picks; Firefox writes it to <profile>/MarionetteActivePort.
    "marionette.port": 0,
    # Gather host candidates on loopback, unobfuscated (no mDNS .local names), on every
    # interface rather than only the default route's (there is none in the namespace).
    "media.peerconnection.ice.loopback": True,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "media.peerconnection.ice.default_address_only": False,
    "media.peerconnection.ice.no_host": False,
    # Fake camera and microphone for getUserMedia, no prompt.
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    # No OpenH264 download (nothing is reachable anyway).
    "media.gmp-manager.updateEnabled": False,
    # Quiet: no first-run pages, telemetry, updates, captive portal or safebrowsing.
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.page": 0,
    "browser.startup.homepage": "about:blank",
    "startup.homepage_welcome_url": "about:blank",
    "startup.homepage_welcome_url.additional": "",
    "browser.aboutwelcome.enabled": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.archive.enabled": False,
    "toolkit.telemetry.server": "",
    "app.update.auto": False,
    "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "extensions.update.enabled": False,
    "extensions.blocklist.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.region.network.url": "",
    "browser.search.update": False,
    "browser.newtabpage.enabled": False,
}

# Runs one op of window.__ps in the page (ExecuteAsyncScript: the last argument is the callback).
# The value comes back as a JSON string so nothing depends on Marionette's serialization of
# page objects.
OP_SCRIPT = r"""
const [name, argsJson] = arguments;
const done = arguments[arguments.length - 1];
const ps = window.__ps || (window.wrappedJSObject && window.wrappedJSObject.__ps);
if (!ps) { done({ ok: false, error: 'the page has no window.__ps' }); return; }
Promise.resolve()
  .then(() => ps[name](window.JSON.parse(argsJson)))
  .then((value) => done({ ok: true, json: window.JSON.stringify(value ?? {}) }),
        (e) => done({ ok: false,
                      error: e && e.name !== undefined ? `${e.name}: ${e.message}` : String(e) }));
"""

# In the chrome context: lets the page's origin use camera and microphone. Firefox, like
# Chromium, gathers only on the "default address" without it: nothing in a lo-only namespace.
GRANT_SCRIPT = r"""
const [origin] = arguments;
const principal = Services.scriptSecurityManager.createContentPrincipalFromOrigin(origin);
for (const type of ['camera', 'microphone']) {
  Services.perms.addFromPrincipal(principal, type, Services.perms.ALLOW_ACTION);
}
return Services.appinfo.version;
"""


def log(*args):
    print("ff_peer:", *args, file=sys.stderr, flush=True)


class MarionetteError(Exception):
    pass


class Marionette:
    """A Marionette client: `LEN:JSON` frames over TCP."""

    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.next_id = 0
        hello = self._read()
        if not isinstance(hello, dict) or hello.get("marionetteProtocol") != 3:
            raise MarionetteError(f"unexpected Marionette hello {hello!r}")

    def _recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise MarionetteError("Marionette closed the connection")
        self.buf += chunk

    def _read(self):
        while b":" not in self.buf:
            self._recv()
        length, rest = self.buf.split(b":", 1)
        n = int(length)
        self.buf = rest
        while len(self.buf) < n:
            self._recv()
        frame, self.buf = self.buf[:n], self.buf[n:]
        return json.loads(frame.decode("utf-8"))

    def settimeout(self, seconds):
        self.sock.settimeout(seconds)

    def send(self, name, params=None):
        """Sends one command and returns its result (replies to earlier ids are dropped)."""
        self.next_id += 1
        data = json.dumps([0, self.next_id, name, params or {}]).encode("utf-8")
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            msg = self._read()
            if not (isinstance(msg, list) and len(msg) == 4 and msg[0] == 1 and msg[1] == self.next_id):
                continue
            if msg[2]:
                err = msg[2]
                raise MarionetteError(f"{name}: {err.get('error')}: {err.get('message')}")
            return msg[3]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Firefox:
    """One headless Firefox with one page, driven over Marionette."""

    def __init__(self, executable, verbose=False, timeout=60.0):
        self.timeout = timeout
        self.dir = tempfile.mkdtemp(prefix="peerstack-firefox-")
        self.profile = os.path.join(self.dir, "profile")
        self.proc = None
        self.mn = None
        self.server = None
        self.capabilities = {}
        try:
            os.makedirs(self.profile)
            home = os.path.join(self.dir, "home")
            os.makedirs(home)
            with open(os.path.join(self.profile, "user.js"), "w") as f:
                for key, value in PREFS.items():
                    f.write(f"user_pref({json.dumps(key)}, {json.dumps(value)});\n")
            self.server = PageServer(page_with_ops())
            env = dict(os.environ, MOZ_HEADLESS="1", MOZ_CRASHREPORTER_DISABLE="1",
                       HOME=home, XDG_CACHE_HOME=os.path.join(home, ".cache"),
                       XDG_CONFIG_HOME=os.path.join(home, ".config"))
            out = None if verbose else subprocess.DEVNULL
            self.proc = subprocess.Popen(
                # -remote-allow-system-access: recent Firefox (ESR 153 here) refuses the chrome
                # context (Marionette:SetContext "chrome", needed for the permission grant)
                # without it.
                [executable, "--headless", "--no-remote", "--profile", self.profile, "--marionette",
                 "-remote-allow-system-access", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=out if out is not None else sys.stderr,
                stderr=out if out is not None else sys.stderr,
                env=env,
                start_new_session=True,  # its own process group: close() kills every child
                preexec_fn=die_with_parent,
            )
            self.mn = self._connect()
            session = self.mn.send("WebDriver:NewSession",
                                   {"capabilities": {"alwaysMatch": {"pageLoadStrategy": "normal"}}})
            self.capabilities = (session or {}).get("capabilities", {})
            # The ops bring their own timeouts; the Rust side has its own too.
            self.mn.send("WebDriver:SetTimeouts", {"script": 600_000, "pageLoad": int(timeout * 1000)})
            origin = self.server.url.rstrip("/")
            self.mn.send("Marionette:SetContext", {"value": "chrome"})
            self.mn.send("WebDriver:ExecuteScript", {"script": GRANT_SCRIPT, "args": [origin]})
            self.mn.send("Marionette:SetContext", {"value": "content"})
            self.mn.send("WebDriver:Navigate", {"url": self.server.url})
            self.op("warmup", {})
        except BaseException:
            self.close()
            raise

    def _connect(self):
        port_file = os.path.join(self.profile, "MarionetteActivePort")
        deadline = time.monotonic() + self.timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise MarionetteError(f"firefox exited with {self.proc.returncode} before Marionette was up")
            try:
                with open(port_file) as f:
                    port = int(f.read().strip() or 0)
                if port:
                    return Marionette(port, self.timeout)
            except (FileNotFoundError, ValueError):
                pass
            except OSError as e:  # not listening yet
                last = e
            time.sleep(0.1)
        raise MarionetteError(f"no Marionette on the port in {port_file} after {self.timeout} s ({last})")

    def op(self, name, args):
        # Waiting ops may take longer than the default socket timeout: allow their own plus 10 s.
        wait = float(args.get("timeout_ms") or 20000) / 1000.0 + 10.0
        self.mn.settimeout(max(self.timeout, wait))
        try:
            r = self.mn.send("WebDriver:ExecuteAsyncScript",
                             {"script": OP_SCRIPT, "args": [name, json.dumps(args)]})
        finally:
            self.mn.settimeout(self.timeout)
        r = (r or {}).get("value")
        if not isinstance(r, dict):
            raise MarionetteError(f"{name}: unexpected result {r!r}")
        if not r.get("ok"):
            raise PageError(str(r.get("error")))
        return json.loads(r.get("json") or "{}")

    def version(self):
        ua = self.mn.send("WebDriver:ExecuteScript", {"script": "return navigator.userAgent;"})
        return {
            "product": f"Firefox/{self.capabilities.get('browserVersion', '?')}",
            "userAgent": (ua or {}).get("value"),
        }

    def close(self):
        if self.mn is not None:
            try:
                self.mn.settimeout(5)
                self.mn.send("Marionette:Quit", {"flags": ["eForceQuit"]})
            except Exception:
                pass
            self.mn.close()
            self.mn = None
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
                log("firefox did not exit after SIGKILL")
            self.proc = None
        if self.server is not None:
            self.server.close()
            self.server = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def find_firefox(explicit):
    for candidate in [explicit, os.environ.get("PEERSTACK_FIREFOX"), "/usr/bin/firefox-esr",
                      shutil.which("firefox-esr"), shutil.which("firefox")]:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def handle(browser, request):
    op = request.get("op")
    if op == "version":
        return {"ok": True, **browser.version()}
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
    parser.add_argument("--firefox", help="Firefox executable (default: $PEERSTACK_FIREFOX, /usr/bin/firefox-esr)")
    parser.add_argument("--verbose", action="store_true", help="pass Firefox's own output to stderr")
    args = parser.parse_args()
    browser = None

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    try:
        ensure_loopback_only_netns("ff_peer", "Firefox")
        exe = find_firefox(args.firefox)
        if exe is None:
            sys.exit("ff_peer: firefox-esr not found (apt-get install firefox-esr, or --firefox PATH)")
        browser = Firefox(exe, verbose=args.verbose)
        reply = {"ok": True, "ready": True, **browser.version()}
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
            except (PageError, MarionetteError, ValueError) as e:
                reply = {"ok": False, "error": str(e)}
            except OSError as e:
                reply = {"ok": False, "error": f"Marionette connection: {e!r}"}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        if browser is not None:
            browser.close()


if __name__ == "__main__":
    main()
