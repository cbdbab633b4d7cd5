#!/usr/bin/env python3
"""ICE connection setup time of aioice on loopback, for `cargo xtask bench ice-connect`.

    python connect_bench.py [--rounds 200] [--warmup 5] [--samples]

The same measurement as `benches/src/bin/ice-connect.rs`, with aioice: each round, in one
process and one asyncio event loop,

1. makes two `aioice.Connection`s (controlling and controlled, one component, no STUN or
   TURN server, IPv4 only), gathers their candidates (one host candidate each on 127.0.0.1)
   and gives each the other's credentials; candidates go through SDP strings, as
   signalling would carry them (none of this is timed);
2. starts the clock, hands each connection the other's candidates and end-of-candidates
   (`add_remote_candidate` for each, then `None`), runs both `connect()` concurrently
   with `asyncio.gather` and stops the clock when both have returned (aioice's
   `connect()` returns once a pair is nominated: the check list is completed);
3. closes both connections.

The first `--warmup` rounds are run but not counted. Output, microseconds (p10/p90 by
nearest rank), one line:

    aioice_connect_us median=... p10=... p90=... min=... max=... n=...

`--samples` also prints every sample (`samples_us=...`). A failure, or a round that takes
longer than 10 s, exits non-zero.

Loopback only, as interop/aioice/ice_peer.py: stock aioice lists every interface address
*except* 127.0.0.1, so `aioice.ice.get_host_addresses` is replaced to return 127.0.0.1;
remote mDNS names are never resolved; and any `sendto`/`connect` to an address outside
127.0.0.0/8 and ::1 is refused.
"""

import argparse
import asyncio
import ipaddress
import logging
import math
import statistics
import sys
import time

log = logging.getLogger("connect_bench")

# ---- loopback only: see loopback_guard.py ----------------------------------------------

import loopback_guard  # noqa: E402,F401  (installs the guard and the aioice patches)
import aioice  # noqa: E402
from aioice import Candidate, Connection  # noqa: E402

# ---- the measurement -----------------------------------------------------------------------

ROUND_TIMEOUT = 10.0


def new_connection(controlling):
    return Connection(
        ice_controlling=controlling,
        components=1,
        stun_server=None,
        turn_server=None,
        use_ipv4=True,
        use_ipv6=False,
    )


async def hand_over(to, candidates):
    for c in candidates:
        await to.add_remote_candidate(c)
    await to.add_remote_candidate(None)


async def one_round():
    """Returns the seconds from "both have the other's candidates" to both connected."""
    a = new_connection(True)
    b = new_connection(False)
    try:
        await asyncio.gather(a.gather_candidates(), b.gather_candidates())
        for c in a.local_candidates + b.local_candidates:
            if not ipaddress.ip_address(c.host).is_loopback:
                raise RuntimeError(f"non-loopback local candidate {c.to_sdp()}")
        if not a.local_candidates or not b.local_candidates:
            raise RuntimeError("a connection gathered no candidate")
        a.remote_username, a.remote_password = b.local_username, b.local_password
        b.remote_username, b.remote_password = a.local_username, a.local_password
        # Through SDP, as signalling would carry them.
        for_b = [Candidate.from_sdp(c.to_sdp()) for c in a.local_candidates]
        for_a = [Candidate.from_sdp(c.to_sdp()) for c in b.local_candidates]

        async def timed():
            start = time.perf_counter()
            await asyncio.gather(hand_over(a, for_a), hand_over(b, for_b))
            await asyncio.gather(a.connect(), b.connect())
            return time.perf_counter() - start

        return await asyncio.wait_for(timed(), ROUND_TIMEOUT)
    finally:
        await a.close()
        await b.close()


def percentile(sorted_us, p):
    rank = math.ceil(p / 100.0 * len(sorted_us))
    return sorted_us[min(max(rank, 1), len(sorted_us)) - 1]


def summary(name, seconds):
    us = sorted(s * 1e6 for s in seconds)
    return (
        f"{name} median={statistics.median(us):.1f} p10={percentile(us, 10):.1f} "
        f"p90={percentile(us, 90):.1f} min={us[0]:.1f} max={us[-1]:.1f} n={len(us)}"
    )


async def run(args):
    samples = []
    for i in range(args.warmup + args.rounds):
        try:
            elapsed = await one_round()
        except (asyncio.TimeoutError, TimeoutError):
            raise RuntimeError(f"round {i + 1}: not connected within {ROUND_TIMEOUT} s") from None
        except Exception as e:
            raise RuntimeError(f"round {i + 1}: {type(e).__name__}: {e}") from e
        if i >= args.warmup:
            samples.append(elapsed)
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="counted rounds (default 200)")
    parser.add_argument("--warmup", type=int, default=5, help="uncounted rounds first (default 5)")
    parser.add_argument("--samples", action="store_true", help="also print every sample")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 100_000 or not 0 <= args.warmup <= 100_000:
        parser.error("--rounds must be in 1..=100000 and --warmup in 0..=100000")
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING,
        format="connect_bench %(name)s %(levelname)s %(message)s",
    )
    try:
        samples = asyncio.run(run(args))
    except RuntimeError as e:
        print(f"connect_bench: {e}", file=sys.stderr)
        return 1
    print(summary("aioice_connect_us", samples), flush=True)
    if args.samples:
        print("samples_us=" + ",".join(f"{s * 1e6:.1f}" for s in samples), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
