#!/usr/bin/env python3
"""An aiortc peer (one RTCPeerConnection) driven by JSON lines on stdin/stdout.

    python peer.py [-v]

The test sends one request object per line and reads one reply line per request:
`{"ok": true, ...}` or `{"ok": false, "error": "..."}`. Before the first request the peer
prints `{"ok": true, "op": "ready", "aiortc": "<version>", "aioice": "<version>"}`.

Requests (`timeout_ms` is optional, 20000 by default):

  {"op":"offer","audio":true,"video":true,"data":true}
      A new connection sends synthetic audio (Opus, encoded by aiortc) and video (VP8) and
      opens the data channel `peerstack` when `data`; reply `{"sdp": ...}`: its offer after
      gathering (aiortc never trickles: every candidate is in the SDP).
  {"op":"answer","sdp":"<offer>"}
      A new connection applies the offer, adds an audio/video track to every offered
      audio/video transceiver, answers; reply `{"sdp": <answer after gathering>}`.
  {"op":"set_answer","sdp":"<answer>"}
  {"op":"wait_connected"}                       until connectionState is "connected"
  {"op":"dc_send","label":"peerstack","messages":[{"text":"hi"},{"hex":"00ff"},{"base64":""}]}
      Waits for the channel to be open, sends each message (text, or binary given as hex or
      base64); reply `{"sent": N}`.
  {"op":"dc_received","label":"peerstack","count":N}
      Waits until N messages arrived on the channel; reply `{"messages": [...]}`, each
      `{"text": "..."}` or `{"hex": "<binary>", "length": n}`.
  {"op":"stats"}
      Reply `{"audio": {...}, "video": {...}}`: per kind the inbound-rtp `packets` (aiortc's
      getStats), the `frames` aiortc decoded from them (counted by a `track.recv()` loop),
      and, for video, the last frame's `width`/`height`.
  {"op":"wait_inbound","kind":"video","packets":P,"frames":F}
      Waits until the inbound stream of `kind` has at least P packets and F decoded frames;
      reply as `stats`.
  {"op":"close"}

Data channels: an answering peer echoes every message back on the channel it came on (set
`"echo": false` on `answer` to stop that; `"echo": true` on `offer` to start it). Every
message received is also recorded for `dc_received`, echoed or not.

Network: loopback only, see loopback_guard.py (127.0.0.1 host candidates, no STUN server, no
mDNS, and a hard guard refusing any send or connect outside 127.0.0.0/8 and ::1). Logs go
to stderr. End of stdin closes the connection and exits.
"""

import argparse
import array
import asyncio
import base64
import fractions
import json
import logging
import math
import os
import sys
import threading
import time

import loopback_guard  # noqa: F401  (first: installs the guard and the aioice/aiortc patches)

import aioice  # noqa: E402
import aiortc  # noqa: E402
import av  # noqa: E402
from aiortc import (  # noqa: E402
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack  # noqa: E402

log = logging.getLogger("aiortc_peer")

DEFAULT_TIMEOUT_MS = 20000
CHANNEL_LABEL = "peerstack"


# ---- synthetic media -------------------------------------------------------------------


class ToneTrack(AudioStreamTrack):
    """A 400 Hz tone, 20 ms frames of 48 kHz mono s16 (aiortc encodes it as Opus)."""

    RATE = 48000
    SAMPLES = 960
    # 400 Hz is 8 whole periods per 20 ms frame: every frame has the same samples.
    PCM = array.array("h", [int(8000 * math.sin(2 * math.pi * i / 120)) for i in range(960)]).tobytes()

    def __init__(self):
        super().__init__()
        self._start = None
        self._samples = 0

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._samples += self.SAMPLES
            wait = self._start + self._samples / self.RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = av.AudioFrame(format="s16", layout="mono", samples=self.SAMPLES)
        frame.planes[0].update(self.PCM)
        frame.sample_rate = self.RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, self.RATE)
        return frame


class MovingBarsTrack(VideoStreamTrack):
    """320x240 frames at 30 fps with a moving bright bar (small, to spare the CPU; aiortc
    encodes VP8, its first frame a keyframe)."""

    WIDTH, HEIGHT = 320, 240

    def __init__(self):
        super().__init__()
        self._n = 0

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(self.WIDTH, self.HEIGHT, "yuv420p")
        y, u, v = frame.planes
        x = (self._n * 4) % (y.line_size - 16)
        row = bytearray([60]) * y.line_size
        row[x : x + 16] = bytes([220]) * 16
        y.update(bytes(row) * self.HEIGHT)
        u.update(bytes([90]) * u.buffer_size)
        v.update(bytes([150]) * v.buffer_size)
        self._n += 1
        frame.pts = pts
        frame.time_base = time_base
        return frame


# ---- the peer --------------------------------------------------------------------------


class Inbound:
    """What arrived on one received track."""

    def __init__(self, kind):
        self.kind = kind
        self.frames = 0
        self.width = None
        self.height = None
        self.ended = None


class Peer:
    def __init__(self):
        self.pc = None
        self.echo = False
        self.channels = {}  # label -> RTCDataChannel
        self.received = {}  # label -> [message]
        self.inbound = {}  # kind -> Inbound
        self.changed = asyncio.Event()  # set on anything a waiter may look at
        self.tasks = []
        self.echo_errors = []

    def _poke(self):
        self.changed.set()

    async def _until(self, predicate, timeout_ms, what):
        deadline = time.monotonic() + timeout_ms / 1000
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout_ms} ms waiting for {what}")
            self.changed.clear()
            try:
                # Wake at least every 100 ms: stats are polled, not pushed.
                await asyncio.wait_for(self.changed.wait(), timeout=min(remaining, 0.1))
            except asyncio.TimeoutError:
                pass

    def _new_pc(self):
        if self.pc is not None:
            raise ValueError("this peer already has a connection")
        # iceServers=[]: without it aiortc uses its public default STUN server (loopback_guard also
        # removes that default).
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc = self.pc

        @pc.on("connectionstatechange")
        def _state():
            log.info("connectionState %s", pc.connectionState)
            self._poke()

        @pc.on("datachannel")
        def _channel(channel):
            log.info("remote data channel %r", channel.label)
            self._watch_channel(channel)

        @pc.on("track")
        def _track(track):
            log.info("remote %s track", track.kind)
            self.tasks.append(asyncio.ensure_future(self._receive(track)))

        return pc

    def _watch_channel(self, channel):
        self.channels[channel.label] = channel
        self.received.setdefault(channel.label, [])

        @channel.on("open")
        def _open():
            log.info("data channel %r open", channel.label)
            self._poke()

        @channel.on("message")
        def _message(message):
            self.received[channel.label].append(message)
            if self.echo:
                try:
                    channel.send(message)
                except Exception as e:  # noqa: BLE001  (reported by dc_received)
                    self.echo_errors.append(f"{type(e).__name__}: {e}")
            self._poke()

        @channel.on("close")
        def _close():
            log.info("data channel %r closed", channel.label)
            self._poke()

        self._poke()

    async def _receive(self, track):
        """Counts the frames aiortc decodes from the track (what the peer sent us)."""
        inbound = self.inbound.setdefault(track.kind, Inbound(track.kind))
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                inbound.ended = "ended"
                break
            inbound.frames += 1
            if track.kind == "video":
                inbound.width, inbound.height = frame.width, frame.height
            if inbound.frames in (1, 10, 100) or inbound.frames % 500 == 0:
                log.info("decoded %d %s frame(s)", inbound.frames, track.kind)
            self._poke()

    async def _description_after_gathering(self):
        # aiortc gathers inside setLocalDescription; its localDescription then carries
        # every candidate.
        return {"sdp": self.pc.localDescription.sdp, "type": self.pc.localDescription.type}

    # ---- ops ---------------------------------------------------------------------------

    async def op_offer(self, req):
        pc = self._new_pc()
        self.echo = bool(req.get("echo", False))
        if req.get("audio", True):
            pc.addTrack(ToneTrack())
        if req.get("video", True):
            pc.addTrack(MovingBarsTrack())
        if req.get("data", True):
            self._watch_channel(pc.createDataChannel(req.get("label", CHANNEL_LABEL)))
        await pc.setLocalDescription(await pc.createOffer())
        return await self._description_after_gathering()

    async def op_answer(self, req):
        pc = self._new_pc()
        self.echo = bool(req.get("echo", True))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=req["sdp"], type="offer"))
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "audio" and req.get("audio", True):
                pc.addTrack(ToneTrack())
            elif transceiver.kind == "video" and req.get("video", True):
                pc.addTrack(MovingBarsTrack())
        await pc.setLocalDescription(await pc.createAnswer())
        return await self._description_after_gathering()

    async def op_set_answer(self, req):
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=req["sdp"], type="answer"))
        return {}

    async def op_wait_connected(self, req):
        pc = self.pc

        def connected():
            if pc.connectionState in ("failed", "closed"):
                raise ConnectionError(f"connectionState is {pc.connectionState}")
            return pc.connectionState == "connected"

        await self._until(connected, req.get("timeout_ms", DEFAULT_TIMEOUT_MS), "connected")
        return {"state": pc.connectionState}

    async def op_dc_send(self, req):
        label = req.get("label", CHANNEL_LABEL)
        timeout_ms = req.get("timeout_ms", DEFAULT_TIMEOUT_MS)
        await self._until(
            lambda: label in self.channels and self.channels[label].readyState == "open",
            timeout_ms,
            f"data channel {label!r} to open",
        )
        channel = self.channels[label]
        messages = [decode_message(m) for m in req["messages"]]
        for m in messages:
            channel.send(m)
        # aiortc queues; wait until the SCTP transport took everything.
        await self._until(lambda: channel.bufferedAmount == 0, timeout_ms, "the messages to leave")
        return {"sent": len(messages)}

    async def op_dc_received(self, req):
        label = req.get("label", CHANNEL_LABEL)
        count = int(req["count"])
        await self._until(
            lambda: len(self.received.get(label, [])) >= count,
            req.get("timeout_ms", DEFAULT_TIMEOUT_MS),
            f"{count} message(s) on {label!r} (have {len(self.received.get(label, []))})",
        )
        return {
            "messages": [encode_message(m) for m in self.received[label]],
            "echo_errors": self.echo_errors,
        }

    async def _stats(self):
        out = {}
        report = await self.pc.getStats()
        for s in report.values():
            if s.type == "inbound-rtp":
                entry = out.setdefault(s.kind, {"packets": 0, "frames": 0})
                entry["packets"] += s.packetsReceived
        for kind, inbound in self.inbound.items():
            entry = out.setdefault(kind, {"packets": 0, "frames": 0})
            entry["frames"] = inbound.frames
            if inbound.width is not None:
                entry["width"], entry["height"] = inbound.width, inbound.height
        return out

    async def op_stats(self, req):
        return await self._stats()

    async def op_wait_inbound(self, req):
        kind = req["kind"]
        packets = int(req.get("packets", 0))
        frames = int(req.get("frames", 0))
        timeout_ms = req.get("timeout_ms", DEFAULT_TIMEOUT_MS)
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            stats = await self._stats()
            entry = stats.get(kind, {"packets": 0, "frames": 0})
            if entry["packets"] >= packets and entry["frames"] >= frames:
                return stats
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"timed out after {timeout_ms} ms waiting for {packets} {kind} packet(s) "
                    f"and {frames} decoded frame(s): {json.dumps(stats)}"
                )
            await asyncio.sleep(0.1)

    async def op_close(self, req):
        await self.close()
        return {"refused": loopback_guard.REFUSED}

    async def close(self):
        for task in self.tasks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()


def decode_message(m):
    """A message to send: `{"text": s}`, `{"hex": h}` or `{"base64": b}` (binary)."""
    if isinstance(m, str):
        return m
    if "text" in m:
        return m["text"]
    if "hex" in m:
        return bytes.fromhex(m["hex"])
    if "base64" in m:
        return base64.b64decode(m["base64"])
    raise ValueError(f"a message needs text, hex or base64: {m!r}")


def encode_message(m):
    if isinstance(m, str):
        return {"text": m}
    return {"hex": m.hex(), "length": len(m)}


# ---- JSON lines --------------------------------------------------------------------------


def emit(message):
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def stdin_lines(loop, queue):
    """Feeds stdin's lines into `queue` from a thread; `None` marks the end of input."""

    def reader():
        try:
            for line in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, line)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=reader, name="stdin", daemon=True).start()


async def run():
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()
    stdin_lines(loop, queue)
    peer = Peer()
    emit({"ok": True, "op": "ready", "aiortc": aiortc.__version__, "aioice": aioice.__version__})
    try:
        while True:
            line = await queue.get()
            if line is None:
                break
            line = line.strip()
            if not line:
                continue
            op = "?"
            try:
                req = json.loads(line)
                op = req["op"]
                handler = getattr(peer, f"op_{op}", None)
                if handler is None:
                    raise ValueError(f"unknown op {op!r}")
                if op not in ("offer", "answer", "close") and peer.pc is None:
                    raise ValueError(f"{op}: no connection yet (offer or answer first)")
                timeout = req.get("timeout_ms", DEFAULT_TIMEOUT_MS) / 1000 + 5
                reply = await asyncio.wait_for(handler(req), timeout=timeout)
                emit({"ok": True, "op": op, **reply})
            except Exception as e:  # noqa: BLE001  (every failure is the request's reply)
                log.warning("%s failed: %s: %s", op, type(e).__name__, e)
                emit({"ok": False, "op": op, "error": f"{type(e).__name__}: {e}"})
    finally:
        await peer.close()
    if loopback_guard.REFUSED:
        log.error("the loopback guard refused: %s", loopback_guard.REFUSED)
        return 1
    return 0


class QuietDecodeErrors(logging.Filter):
    """Lets aiortc's first few "failed to decode" warnings through, then drops them: synthetic
    VP8 (what the tests send) fails on every frame."""

    SHOWN = 3

    def __init__(self):
        super().__init__()
        self.count = 0

    def filter(self, record):
        if "failed to decode" not in record.getMessage():
            return True
        self.count += 1
        if self.count == self.SHOWN:
            record.msg += " (further decode failures are not logged)"
        return self.count <= self.SHOWN


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args()
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s.%(msecs)03d aiortc-peer %(name)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("aiortc.rtcrtpreceiver").addFilter(QuietDecodeErrors())
    try:
        code = asyncio.run(run())
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    # The stdin thread may still block in read(): leave without waiting for it.
    os._exit(code)


if __name__ == "__main__":
    main()
