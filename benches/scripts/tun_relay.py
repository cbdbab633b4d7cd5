#!/usr/bin/env python3
"""A userspace delay-and-loss path for IPv4, through a TUN device.

Used by benches/tests/lossy_path.rs to put Linux TCP and our data channel on
the same emulated path (this machine's kernel has no netem). Run it as root
inside a fresh network namespace (`unshare --net`); it creates `tun0` with
10.0.0.1/24. A socket bound to 10.0.0.1 that sends to 10.0.0.2 sends into the
TUN device; the relay holds each IPv4 packet for `--delay-ms`, drops it with
probability `--loss` (a seeded generator, so runs repeat), swaps its source
and destination addresses and writes it back, so it arrives at 10.0.0.1 from
10.0.0.2. Swapping the two addresses changes no checksum (IP's and the
TCP/UDP pseudo-header's are sums of the same words), so any protocol passes.
Both directions cross the relay once: the round trip is twice the delay, and
each direction loses `--loss` of its packets.

Prints `ready` on stdout once the device is up, and its counts on stderr when
it gets SIGTERM or SIGINT.
"""

import argparse
import collections
import fcntl
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--delay-ms", type=float, default=25.0, help="one-way delay")
    ap.add_argument("--loss", type=float, default=0.01, help="drop probability per packet")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--name", default="tun0")
    args = ap.parse_args()

    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", args.name.encode(), IFF_TUN | IFF_NO_PI))
    for cmd in (
        ["ip", "addr", "add", "10.0.0.1/24", "dev", args.name],
        ["ip", "link", "set", args.name, "up", "txqueuelen", "10000"],
    ):
        subprocess.run(cmd, check=True)
    # Packets from 10.0.0.2 arrive on the device that routes to 10.0.0.2; no
    # reverse-path filter in the way (written directly: no procps needed).
    for conf in ("all", args.name):
        with open(f"/proc/sys/net/ipv4/conf/{conf}/rp_filter", "w") as f:
            f.write("0")

    rng = random.Random(args.seed)
    delay = args.delay_ms / 1000.0
    queue = collections.deque()  # (release time, packet): constant delay keeps it in order
    counts = {"forwarded": 0, "dropped": 0, "other": 0}
    stop = []

    def on_signal(_sig, _frame):
        stop.append(True)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print("ready", flush=True)

    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while not stop:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            os.write(fd, queue.popleft()[1])
            counts["forwarded"] += 1
        wait_ms = 100 if not queue else max(0.0, (queue[0][0] - now) * 1000.0)
        try:
            ready = poller.poll(wait_ms)
        except InterruptedError:
            continue
        if not ready:
            continue
        arrived = time.monotonic()
        while True:
            try:
                p = os.read(fd, 65536)
            except BlockingIOError:
                break
            if len(p) < 20 or p[0] >> 4 != 4:
                counts["other"] += 1  # IPv6 router solicitations and the like
                continue
            if rng.random() < args.loss:
                counts["dropped"] += 1
                continue
            swapped = p[:12] + p[16:20] + p[12:16] + p[20:]
            queue.append((arrived + delay, swapped))
    print(
        f"tun_relay: forwarded {counts['forwarded']}, dropped {counts['dropped']}, "
        f"ignored {counts['other']}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
