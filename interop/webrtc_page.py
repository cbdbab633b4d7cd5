"""The page both browser peers drive: RTCPeerConnections behind `window.__ps`, one async
function per op of the JSON-lines protocol (see `chromium/sdp_peer.py` for the ops), plus what
the two driver scripts share: the 127.0.0.1 page server and the loopback-only namespace check.

Used by `chromium/sdp_peer.py` (Chromium over CDP) and `firefox/ff_peer.py` (Firefox ESR over
Marionette); standard library only.
"""

import http.server
import os
import shutil
import signal
import socketserver
import sys
import threading

REEXEC_MARK = "PEERSTACK_SDP_PEER_IN_NETNS"


# ---- network namespace -----------------------------------------------------------------------


def interfaces():
    """Interface names of this process's network namespace (/proc/self/net/dev is per-netns,
    unlike /sys/class/net, which shows the namespace sysfs was mounted in)."""
    with open("/proc/self/net/dev") as f:
        lines = f.read().splitlines()[2:]
    return sorted(line.split(":", 1)[0].strip() for line in lines if ":" in line)


def ensure_loopback_only_netns(who, browser):
    """Returns when only `lo` exists here; re-executes under `unshare --net` when root can;
    exits with an explanation otherwise."""
    names = interfaces()
    if names == ["lo"]:
        return
    if os.environ.get(REEXEC_MARK):
        sys.exit(f"{who}: still see interfaces {names} after `unshare --net`; refusing to run {browser}")
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        sys.exit(
            f"{who}: this network namespace has interfaces {names}; {browser} must run where only "
            "`lo` exists (run as root so this script can `unshare --net`, or inside "
            "`unshare --net sh -c 'ip link set lo up && exec \"$@\"' sh ...`)"
        )
    os.environ[REEXEC_MARK] = "1"
    argv = [unshare, "--net", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', sys.executable] + sys.argv
    os.execv(unshare, argv)


# ---- the page ---------------------------------------------------------------------------------

PAGE_HTML = b"""<!doctype html><html><head><meta charset="utf-8"><title>peerstack sdp peer</title>
</head><body>peerstack sdp peer</body></html>"""

# Installed into the page once (sdp_peer.py evaluates it over CDP; ff_peer.py serves it in the
# page itself, see page_with_ops()): every op is `__ps.op(args)` and resolves to a JSON-able value.
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
    // Binary messages of the given sizes; byte i of an n-byte message is (i + n) & 255.
    async dc_send_binary({ id, label, sizes, timeout_ms }) {
      const p = get(id);
      const ch = await until(`data channel "${label}" open`,
        () => p.channels.find((c) => c.label === label && c.readyState === 'open'), timeout_ms);
      for (const n of sizes) {
        const b = new Uint8Array(n);
        for (let i = 0; i < n; i++) b[i] = (i + n) & 255;
        ch.send(b.buffer);
      }
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
    "dc_send", "dc_send_binary", "dc_received",
}


class PageServer:
    """Serves `html` (default PAGE_HTML) on 127.0.0.1: an http://127.0.0.1 origin is a secure
    context, so getUserMedia works there (about:blank and data: pages are not)."""

    def __init__(self, html=PAGE_HTML):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(html)))
                self.end_headers()
                self.wfile.write(html)

            def log_message(self, *args):
                pass

        self.httpd = socketserver.TCPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()



def page_with_ops():
    """PAGE_HTML with PAGE_JS in a <script>: `window.__ps` then lives in the page's own realm
    (what ff_peer.py wants: Marionette's scripts run in a sandbox whose `window` is the page's)."""
    head, tail = PAGE_HTML.split(b"</head>", 1)
    return head + b"<script>" + PAGE_JS.encode() + b"</script></head>" + tail


def die_with_parent():
    """In the child before exec: SIGKILL the browser if this script dies without cleaning up
    (prctl PR_SET_PDEATHSIG), so a killed test leaves no browser behind."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


class PageError(Exception):
    """An exception thrown in the page (its text is the browser's)."""
