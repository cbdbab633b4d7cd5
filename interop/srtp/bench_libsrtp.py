#!/usr/bin/env python3
"""libsrtp (pylibsrtp wheel: libsrtp 2 with OpenSSL) protect/unprotect speed on
1200-byte RTP packets, one thread, for the SRTP section of docs/benchmarks.md.

    target/srtp-venv/bin/python interop/srtp/bench_libsrtp.py [--seconds 2] [--runs 3]

Each Python call costs extra (argument checks, a cffi `int *` allocation, two
1200-byte buffer copies). The script times that wrapper around a trivial cffi
call with the same copies ("python overhead") and reports both the raw rate and
an estimate of libsrtp's own rate, 1 / (t_call - t_overhead). Median of --runs.
"""
import argparse
import statistics
import time

from pylibsrtp import Policy, Session, ffi, lib

PROFILES = [
    ("SRTP_AES128_CM_SHA1_80", Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 16, 14),
    ("SRTP_AES128_CM_SHA1_32", Policy.SRTP_PROFILE_AES128_CM_SHA1_32, 16, 14),
    ("SRTP_AEAD_AES_128_GCM", Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 16, 12),
    ("SRTP_AEAD_AES_256_GCM", Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 32, 12),
]
PACKET = 1200
SSRC = 0x12345678
CHUNK = 4096


def rtp(seq: int) -> bytes:
    header = bytes([0x80, 96]) + seq.to_bytes(2, "big") + (seq * 3000 % 2**32).to_bytes(4, "big")
    header += SSRC.to_bytes(4, "big")
    return header + bytes((i * 7) & 0xFF for i in range(PACKET - 12))


def session(profile: int, key: bytes, outbound: bool, repeat: bool = False) -> Session:
    policy = Policy(
        key=key,
        ssrc_type=Policy.SSRC_ANY_OUTBOUND if outbound else Policy.SSRC_ANY_INBOUND,
        srtp_profile=profile,
    )
    policy.allow_repeat_tx = repeat
    return Session(policy=policy)


def rate_protect(profile: int, key: bytes, packets, seconds: float) -> float:
    # allow_repeat_tx: the 64 packets are cycled (within libsrtp's replay
    # window, so a repeat is allowed rather than "too old"); libsrtp still does
    # all the work.
    s = session(profile, key, True, repeat=True)
    protect = s.protect
    n = 0
    start = time.perf_counter()
    while True:
        for p in packets:
            protect(p)
        n += len(packets)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def rate_unprotect(profile: int, key: bytes, seconds: float) -> float:
    # A fresh pair per chunk so every index is new to the receiver; only the
    # unprotect loop is timed.
    plain = [rtp(seq) for seq in range(CHUNK)]
    n = 0
    timed = 0.0
    while timed < seconds:
        tx = session(profile, key, True)
        protected = [tx.protect(p) for p in plain]
        rx = session(profile, key, False)
        unprotect = rx.unprotect
        start = time.perf_counter()
        for p in protected:
            unprotect(p)
        timed += time.perf_counter() - start
        n += len(protected)
    return n / timed


def rate_overhead(seconds: float) -> float:
    """pylibsrtp's Session.__process around a trivial cffi call."""
    cdata = ffi.new("char[]", 1500)
    buf = ffi.buffer(cdata)
    data = rtp(1)
    trivial = lib.srtp_profile_get_master_key_length
    prof = Policy.SRTP_PROFILE_AES128_CM_SHA1_80

    def process(data):
        if not isinstance(data, bytes):
            raise TypeError
        if len(data) > len(cdata) - 144:
            raise ValueError
        len_p = ffi.new("int *")
        len_p[0] = len(data)
        buf[0 : len(data)] = data
        trivial(prof)
        return buf[0 : len_p[0] + 10]

    n = 0
    start = time.perf_counter()
    while True:
        for _ in range(CHUNK):
            process(data)
        n += CHUNK
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    packets = [rtp(seq) for seq in range(64)]
    overhead = statistics.median(rate_overhead(args.seconds) for _ in range(args.runs))
    t_over = 1.0 / overhead
    print(f"python overhead per call: {t_over * 1e9:.0f} ns")
    print(f"{'profile':24} {'protect raw':>12} {'est. libsrtp':>12} {'unprotect raw':>14} {'est. libsrtp':>12}")
    for name, profile, klen, slen in PROFILES:
        key = bytes((i * 13 + 5) & 0xFF for i in range(klen + slen))
        prot = statistics.median(rate_protect(profile, key, packets, args.seconds) for _ in range(args.runs))
        unprot = statistics.median(rate_unprotect(profile, key, args.seconds) for _ in range(args.runs))

        def est(rate):
            t = 1.0 / rate - t_over
            return 1.0 / t if t > 0 else float("inf")

        print(
            f"{name:24} {prot / 1e3:>9.0f} k/s {est(prot) / 1e3:>9.0f} k/s "
            f"{unprot / 1e3:>11.0f} k/s {est(unprot) / 1e3:>9.0f} k/s"
        )


if __name__ == "__main__":
    main()
