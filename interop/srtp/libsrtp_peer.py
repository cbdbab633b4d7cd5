#!/usr/bin/env python3
"""libsrtp as a line-oriented oracle for the SRTP differential test.

Reads one command per line on stdin and answers one line on stdout:

    session NAME PROFILE DIRECTION KEYHEX   -> ok
    protect NAME HEX                        -> ok HEX | err MESSAGE
    unprotect NAME HEX                      -> ok HEX | err MESSAGE
    protect_rtcp NAME HEX                   -> ok HEX | err MESSAGE
    unprotect_rtcp NAME HEX                 -> ok HEX | err MESSAGE
    version                                 -> ok TEXT

PROFILE is a DTLS-SRTP profile name (SRTP_AES128_CM_SHA1_80,
SRTP_AES128_CM_SHA1_32, SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_256_GCM),
DIRECTION is `out` (protects, any outbound SSRC) or `in` (unprotects, any
inbound SSRC), KEYHEX the master key followed by the master salt. Replay window
and everything else are libsrtp's defaults (128 packets, no repeated tx).
"""
import sys

import pylibsrtp
from pylibsrtp import Policy, Session

PROFILES = {
    "SRTP_AES128_CM_SHA1_80": Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    "SRTP_AES128_CM_SHA1_32": Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
    "SRTP_AEAD_AES_128_GCM": Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    "SRTP_AEAD_AES_256_GCM": Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
}


def main() -> None:
    sessions = {}
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        cmd = parts[0]
        try:
            if cmd == "version":
                out = "ok pylibsrtp-" + pylibsrtp.__version__
            elif cmd == "session":
                name, profile, direction, key = parts[1:5]
                ssrc_type = (
                    Policy.SSRC_ANY_OUTBOUND if direction == "out" else Policy.SSRC_ANY_INBOUND
                )
                policy = Policy(
                    key=bytes.fromhex(key),
                    ssrc_type=ssrc_type,
                    srtp_profile=PROFILES[profile],
                )
                sessions[name] = Session(policy=policy)
                out = "ok"
            else:
                session = sessions[parts[1]]
                data = bytes.fromhex(parts[2])
                fn = {
                    "protect": session.protect,
                    "unprotect": session.unprotect,
                    "protect_rtcp": session.protect_rtcp,
                    "unprotect_rtcp": session.unprotect_rtcp,
                }[cmd]
                out = "ok " + fn(data).hex()
        except pylibsrtp.Error as e:
            out = "err " + str(e)
        except Exception as e:  # a malformed command: say so, keep going
            out = "err %s: %s" % (type(e).__name__, e)
        sys.stdout.write(out + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
