#!/usr/bin/env python3
"""An aioice ICE peer speaking the JSON-lines protocol of `cargo run -p ice --example ice-peer`.

    python ice_peer.py [--controlled] [--loopback] [--send N] [--timeout SECS]

Prints JSON lines on stdout and reads the remote peer's from stdin, one object per line:

    {"type":"credentials","ufrag":"...","pwd":"..."}
    {"type":"candidate","candidate":"candidate:..."}   (SDP attribute value without "a=")
    {"type":"end-of-candidates"}

Unknown types are ignored. Piping this peer's stdout into the other peer's stdin and back
connects the two (`cargo xtask test-all` does so in its interop-ice-aioice step).

Roles and modes, as in ice-peer:
  * controlling by default, `--controlled` for the controlled role;
  * without `--send`: echo every datagram received over ICE back to the peer, until stdin
    has closed and `--timeout` seconds have passed since the start (or until killed);
  * `--send N`: once connected, send N messages one at a time, wait for each echo, print
    the round-trip times to stderr and exit 0; exit 1 on failure or when `--timeout`
    seconds pass first.

This peer is always loopback-only: it gathers one host candidate on 127.0.0.1 (stock aioice
lists every interface address *except* 127.0.0.1, so `aioice.ice.get_host_addresses` is
replaced), never resolves remote mDNS names, uses no STUN or TURN server, and refuses any
`sendto`/`connect` to an address outside 127.0.0.0/8 and ::1. `--loopback` is accepted for
symmetry with ice-peer and changes nothing. Logs go to stderr.
"""

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import threading
import time

log = logging.getLogger("ice_peer")

# ---- loopback only: see loopback_guard.py ----------------------------------------------

import loopback_guard  # noqa: E402,F401  (installs the guard and the aioice patches)
import aioice  # noqa: E402
from aioice import Candidate, Connection  # noqa: E402

# ---- signalling over stdin/stdout ----------------------------------------------------------

CANDIDATE_PREFIX = "candidate:"


def emit(message):
    """Writes one JSON line to stdout and flushes it at once: the other peer waits for it."""
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def stdin_lines(loop, queue):
    """Feeds stdin's lines into `queue` from a thread (works for pipes, files and ttys);
    `None` marks the end of input."""

    def reader():
        try:
            for line in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, line)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=reader, name="stdin", daemon=True).start()


class Signalling:
    """Applies the remote peer's lines to the connection as they arrive."""

    def __init__(self, connection):
        self.connection = connection
        self.credentials = asyncio.Event()
        self.stdin_closed = asyncio.Event()
        self.end_of_candidates = False
        self.remote_candidates = 0

    async def run(self, queue):
        while True:
            line = await queue.get()
            if line is None:
                break
            line = line.strip()
            if not line:
                continue
            try:
                message = json.loads(line)
            except ValueError as e:
                log.warning("ignoring a line that is not JSON (%s): %r", e, line)
                continue
            if not isinstance(message, dict):
                log.warning("ignoring a JSON line that is not an object: %r", line)
                continue
            try:
                await self.handle(message)
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                log.warning("ignoring a malformed message (%s: %s): %r", type(e).__name__, e, line)
        log.info("stdin closed")
        self.stdin_closed.set()
        if not self.end_of_candidates:
            # No more candidates can come: let connect() fail instead of waiting for them.
            await self.signal_end_of_candidates()

    async def handle(self, message):
        kind = message.get("type")
        if kind == "credentials":
            self.connection.remote_username = message["ufrag"]
            self.connection.remote_password = message["pwd"]
            log.info("remote credentials: ufrag %s", message["ufrag"])
            self.credentials.set()
        elif kind == "candidate":
            sdp = message["candidate"].strip()
            if sdp.startswith("a="):
                sdp = sdp[2:]
            if sdp.startswith(CANDIDATE_PREFIX):
                sdp = sdp[len(CANDIDATE_PREFIX):]
            if self.end_of_candidates:
                log.warning("ignoring a candidate after end-of-candidates: %s", sdp)
                return
            try:
                candidate = Candidate.from_sdp(sdp)
            except (ValueError, IndexError) as e:
                log.warning("ignoring a candidate aioice cannot parse (%s): %s", e, sdp)
                return
            log.info("remote candidate: %s", sdp)
            self.remote_candidates += 1
            await self.connection.add_remote_candidate(candidate)
        elif kind == "end-of-candidates":
            log.info("remote end-of-candidates (%d candidates)", self.remote_candidates)
            await self.signal_end_of_candidates()
        else:
            log.debug("ignoring message of type %r", kind)

    async def signal_end_of_candidates(self):
        if not self.end_of_candidates:
            self.end_of_candidates = True
            await self.connection.add_remote_candidate(None)


# ---- the peer ------------------------------------------------------------------------------


async def connect(connection, signalling, deadline):
    """Waits for the remote credentials, then runs the ICE checks. Raises on failure."""
    loop = asyncio.get_running_loop()
    credentials = asyncio.ensure_future(signalling.credentials.wait())
    closed = asyncio.ensure_future(signalling.stdin_closed.wait())
    try:
        await asyncio.wait(
            [credentials, closed],
            timeout=max(0.0, deadline - loop.time()),
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        credentials.cancel()
        closed.cancel()
    if not signalling.credentials.is_set():
        if signalling.stdin_closed.is_set():
            raise ConnectionError("stdin closed before the remote credentials arrived")
        raise TimeoutError("no remote credentials before the timeout")
    started = time.monotonic()
    await asyncio.wait_for(connection.connect(), timeout=max(0.0, deadline - loop.time()))
    pair = connection._nominated.get(1)  # aioice keeps no public accessor for it
    log.info(
        "connected in %.1f ms: %s",
        (time.monotonic() - started) * 1000,
        f"{pair.local_addr} -> {pair.remote_addr}" if pair else "?",
    )


async def echo(connection):
    """Sends every datagram received back to the peer."""
    count = 0
    while True:
        data = await connection.recv()
        await connection.send(data)
        count += 1
        if count <= 3 or count % 100 == 0:
            log.info("echoed %d datagram(s)", count)


async def ping(connection, count, deadline):
    """Sends `count` messages one at a time and waits for each echo (re-sending a message
    whose echo is late); returns the round-trip times in seconds and how many
    messages were sent again."""
    loop = asyncio.get_running_loop()
    nonce = os.urandom(4).hex()
    rtts = []
    resent = 0
    for seq in range(count):
        payload = f"ice-peer ping {seq} {nonce}".encode()
        while True:
            sent = time.monotonic()
            await connection.send(payload)
            wait = min(1.0, deadline - loop.time())
            if wait <= 0:
                raise TimeoutError(f"no echo of message {seq + 1} of {count} before the timeout")
            try:
                await asyncio.wait_for(wait_for_echo(connection, payload), timeout=wait)
                break
            except asyncio.TimeoutError:
                resent += 1
                log.warning("no echo of message %d after %.1f s, sending it again", seq, wait)
        rtts.append(time.monotonic() - sent)
    return rtts, resent


async def wait_for_echo(connection, payload):
    while True:
        data = await connection.recv()
        if data == payload:
            return
        log.info("ignoring a datagram that is not the awaited echo: %r", data[:64])


def rtt_summary(rtts, resent):
    ms = sorted(r * 1000 for r in rtts)
    return (
        f"rtt summary: {len(ms)}/{len(ms)} echoes, min {ms[0]:.3f} ms, "
        f"median {statistics.median(ms):.3f} ms, mean {statistics.fmean(ms):.3f} ms, "
        f"max {ms[-1]:.3f} ms, {resent} resent"
    )


async def run(args):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.timeout
    connection = Connection(
        ice_controlling=not args.controlled,
        components=1,
        stun_server=None,
        turn_server=None,
        use_ipv4=True,
        use_ipv6=False,
    )
    role = "controlled" if args.controlled else "controlling"
    log.info("aioice %s, %s, %s", aioice.__version__, role, f"send {args.send}" if args.send is not None else "echo")

    await connection.gather_candidates()
    emit({"type": "credentials", "ufrag": connection.local_username, "pwd": connection.local_password})
    # aioice gathers everything at once: all candidates, then end-of-candidates.
    for candidate in connection.local_candidates:
        log.info("local candidate: %s", candidate.to_sdp())
        emit({"type": "candidate", "candidate": CANDIDATE_PREFIX + candidate.to_sdp()})
    emit({"type": "end-of-candidates"})
    if not connection.local_candidates:
        log.error("gathered no candidates")

    queue = asyncio.Queue()
    stdin_lines(loop, queue)
    signalling = Signalling(connection)
    signalling_task = asyncio.create_task(signalling.run(queue))
    try:
        if args.send is not None:
            await connect(connection, signalling, deadline)
            rtts, resent = await ping(connection, args.send, deadline)
            if rtts:
                print("rtt ms: " + " ".join(f"{r * 1000:.3f}" for r in rtts), file=sys.stderr)
                print(rtt_summary(rtts, resent), file=sys.stderr, flush=True)
            log.info("all %d echoes received", args.send)
            return 0

        # Echo mode: serve until stdin has closed and the timeout has passed.
        echo_task = None
        connected = False
        try:
            await connect(connection, signalling, deadline)
            connected = True
            echo_task = asyncio.create_task(echo(connection))
        except (ConnectionError, TimeoutError, asyncio.TimeoutError) as e:
            log.error("not connected: %s", str(e) or type(e).__name__)
        await signalling.stdin_closed.wait()
        remaining = deadline - loop.time()
        if remaining > 0:
            if echo_task is None:
                await asyncio.sleep(remaining)
            else:
                await asyncio.wait([echo_task], timeout=remaining)
        if echo_task is not None:
            if echo_task.done() and echo_task.exception() is not None:
                log.info("echo stopped: %s", echo_task.exception())
            echo_task.cancel()
        return 0 if connected else 1
    except (ConnectionError, TimeoutError, asyncio.TimeoutError) as e:
        log.error("failed: %s", str(e) or type(e).__name__)
        return 1
    finally:
        signalling_task.cancel()
        await connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--controlled", action="store_true", help="take the controlled role")
    parser.add_argument("--loopback", action="store_true", help="accepted; always loopback-only")
    parser.add_argument("--send", type=int, metavar="N", help="send N messages and await their echoes")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECS", help="default 30")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args()
    if args.send is not None and args.send < 0:
        parser.error("--send needs a count >= 0")
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s.%(msecs)03d aioice-peer %(name)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        code = asyncio.run(run(args))
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    # The stdin thread may still block in read(): leave without waiting for it.
    os._exit(code)


if __name__ == "__main__":
    main()
