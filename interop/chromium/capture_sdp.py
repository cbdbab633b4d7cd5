#!/usr/bin/env python3
"""Captures the Chromium part of the sdp crate's SDP corpus (`cargo xtask capture-sdp`).

    python capture_sdp.py OUT_DIR [--chromium PATH] [--verbose]

Runs headless Chromium exactly as sdp_peer.py does (same flags, same page, same loopback-only
network namespace: it re-runs itself under `unshare --net` when needed) and writes one `.sdp` file
per scenario into OUT_DIR, byte for byte as Chromium produced it (CRLF), plus a README.md naming
the Chromium version and what each file is. Every scenario checks that the SDP has the feature it
is there for, so a Chromium that changed shape fails loudly instead of writing a silent corpus.
"""

import argparse
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sdp_peer  # noqa: E402


class Peers:
    def __init__(self, browser):
        self.b = browser

    def __call__(self, op, **args):
        value = self.b.op(op, args)
        return value or {}

    def gathered(self, pc):
        """The local description once gathering is complete (candidates in it)."""
        return self("wait_gathering", id=pc, timeout_ms=15000)

    def offer_answer(self, offerer, answerer, before_answer=None):
        """A full exchange with gathered descriptions; returns (offer, answer) as Chromium has
        them after gathering. `before_answer(answerer)` runs between set_remote and create_answer."""
        self("set_local", id=offerer, **self("create_offer", id=offerer))
        offer = self.gathered(offerer)
        self("set_remote", id=answerer, type="offer", sdp=offer["sdp"])
        if before_answer:
            before_answer(answerer)
        self("set_local", id=answerer, **self("create_answer", id=answerer))
        answer = self.gathered(answerer)
        self("set_remote", id=offerer, type="answer", sdp=answer["sdp"])
        return offer["sdp"], answer["sdp"]

    def connected(self, *pcs):
        for pc in pcs:
            self("wait_state", id=pc, state="connected", timeout_ms=20000)


def need(name, sdp, *snippets):
    for s in snippets:
        if s not in sdp:
            raise SystemExit(f"capture_sdp: {name}: expected {s!r} in Chromium's SDP:\n{sdp}")


def capture(p):
    """Returns [(file name, description, sdp)]."""
    out = []

    def keep(name, what, sdp, *snippets):
        need(name, sdp, "v=0\r\n", "a=fingerprint:sha-256 ", *snippets)
        out.append((name, what, sdp))

    # 1. audio + video + data channel, fake devices; the trickle-style offer straight from
    #    createOffer, the gathered one, and Chromium's answer to it.
    p("new_pc", id="a1", config={"bundlePolicy": "max-bundle"})
    p("new_pc", id="b1", config={"bundlePolicy": "max-bundle"})
    p("add_transceivers", id="a1", audio=1, video=1, data=True)
    p("add_transceivers", id="b1", audio=1, video=1)
    trickle = p("create_offer", id="a1")["sdp"]
    keep("offer-audio-video-data-trickle.sdp",
         "createOffer() result, before gathering (port 9, no candidates): what a trickling app signals",
         trickle, "m=audio 9 ", "m=video 9 ", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
         "a=setup:actpass", "a=ssrc:", "a=msid:")
    p("set_local", id="a1", type="offer", sdp=trickle)
    offer = p.gathered("a1")["sdp"]
    p("set_remote", id="b1", type="offer", sdp=offer)
    p("set_local", id="b1", **p("create_answer", id="b1"))
    answer = p.gathered("b1")["sdp"]
    p("set_remote", id="a1", type="answer", sdp=answer)
    p.connected("a1", "b1")
    keep("offer-audio-video-data.sdp",
         "the same offer as localDescription after gathering: host candidates on 127.0.0.1",
         offer, "a=group:BUNDLE 0 1 2", "a=candidate:", " 127.0.0.1 ", "a=sctp-port:5000",
         "a=ssrc-group:FID ")
    keep("answer-audio-video-data.sdp",
         "Chromium's answer (sendrecv audio and video, data channel) to offer-audio-video-data.sdp",
         answer, "a=setup:active", "a=candidate:", "m=application ")

    # 2. ICE restart on the connected pair of 1: new ufrag/pwd, same sections.
    p("set_local", id="a1", **p("create_offer", id="a1", ice_restart=True))
    restart = p.gathered("a1")["sdp"]
    keep("offer-ice-restart.sdp",
         "re-offer of the connected pair of offer-audio-video-data.sdp with iceRestart: new ice-ufrag/ice-pwd",
         restart, "a=candidate:")
    old_ufrag = [l for l in offer.split("\r\n") if l.startswith("a=ice-ufrag:")][0]
    if old_ufrag in restart:
        raise SystemExit("capture_sdp: the ICE-restart offer kept the old ice-ufrag")
    p("close", id="a1")
    p("close", id="b1")

    # 3. audio + simulcast video (three rids via sendEncodings).
    p("new_pc", id="s")
    p("add_transceivers", id="s", audio=1, video=1, simulcast=True)
    p("set_local", id="s", **p("create_offer", id="s"))
    keep("offer-simulcast.sdp",
         "audio + video with three simulcast encodings (rids q, h, f) from sendEncodings",
         p.gathered("s")["sdp"], "a=rid:q send", "a=rid:h send", "a=rid:f send",
         "a=simulcast:send q;h;f", "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id")
    p("close", id="s")

    # 4. data channel only.
    p("new_pc", id="d")
    p("add_transceivers", id="d", data=True)
    p("set_local", id="d", **p("create_offer", id="d"))
    dsdp = p.gathered("d")["sdp"]
    keep("offer-data-only.sdp", "a data channel only (one m=application section)",
         dsdp, "m=application ", "a=max-message-size:")
    if "m=audio" in dsdp or "m=video" in dsdp:
        raise SystemExit("capture_sdp: the data-only offer has media sections")
    p("close", id="d")

    # 5. audio only.
    p("new_pc", id="au")
    p("add_transceivers", id="au", audio=1)
    p("set_local", id="au", **p("create_offer", id="au"))
    asdp = p.gathered("au")["sdp"]
    keep("offer-audio-only.sdp", "one audio track (fake microphone)", asdp,
         "m=audio ", "a=rtpmap:111 opus/48000/2", "a=msid:")
    if "m=video" in asdp:
        raise SystemExit("capture_sdp: the audio-only offer has a video section")
    p("close", id="au")

    # 6. rejecting a section. Chromium 156 answers a section whose transceiver the answerer
    #    stopped with a=inactive (the transceiver is then stopped); the rejection with port 0
    #    comes with the next exchange: the stopping side's re-offer has m=video 0 and the other
    #    side's answer rejects the section too.
    p("new_pc", id="ra")
    p("new_pc", id="rb")
    p("add_transceivers", id="ra", audio=1, video=1)

    def stop_video(pc):
        video = [t for t in p("transceivers", id=pc)["transceivers"] if t["kind"] == "video"]
        p("stop_transceiver", id=pc, mid=video[0]["mid"])

    offer, answer = p.offer_answer("ra", "rb", before_answer=stop_video)
    p.connected("ra", "rb")
    keep("offer-audio-video.sdp", "audio + video (no data channel), answered by answer-video-stopped.sdp",
         offer, "m=audio ", "m=video ", "a=group:BUNDLE 0 1")
    keep("answer-video-stopped.sdp",
         "answer to offer-audio-video.sdp by a peer with no tracks that stopped its video transceiver "
         "before answering: Chromium answers the section a=inactive, not port 0",
         answer, "a=inactive", "a=recvonly")
    offer, answer = p.offer_answer("rb", "ra")
    keep("offer-video-stopped.sdp",
         "the stopping side's re-offer (after answer-video-stopped.sdp): m=video 0, BUNDLE without it",
         offer, "m=video 0 ", "a=group:BUNDLE 0\r\n")
    keep("answer-video-rejected.sdp",
         "answer to offer-video-stopped.sdp: the video section rejected with port 0",
         answer, "m=video 0 ", "a=group:BUNDLE 0\r\n")
    p("close", id="ra")
    p("close", id="rb")

    # 7. renegotiation adding a section: audio-only pair connects, then the offerer adds video.
    p("new_pc", id="na")
    p("new_pc", id="nb")
    p("add_transceivers", id="na", audio=1)
    p.offer_answer("na", "nb")
    p.connected("na", "nb")
    p("add_transceivers", id="na", video=1)
    offer, answer = p.offer_answer("na", "nb")
    keep("offer-renegotiation-add-video.sdp",
         "second offer of a connected audio-only session after adding a video track (o= version 3, mid 1 added)",
         offer, "a=group:BUNDLE 0 1", "m=video ")
    keep("answer-renegotiation-add-video.sdp",
         "the answer to offer-renegotiation-add-video.sdp (the answerer has no video track: recvonly)",
         answer, "a=group:BUNDLE 0 1", "m=video ", "a=recvonly")
    p("close", id="na")
    p("close", id="nb")
    return out


def readme(version, files):
    lines = [
        "# Chromium SDP corpus",
        "",
        "Captured from real headless Chromium by `cargo xtask capture-sdp`",
        "(interop/chromium/capture_sdp.py): Debian's `chromium` in a loopback-only network",
        "namespace, fake camera and microphone, `--allow-loopback-in-peer-connection`, so every",
        "candidate is on 127.0.0.1. Files are byte for byte what the browser produced (CRLF).",
        "Recapturing rewrites every file (ufrags, fingerprints, ssrcs and ports change each time).",
        "",
        f"- Chromium: {version['product']} (`{version['userAgent']}`)",
        f"- Captured: {datetime.date.today().isoformat()}",
        "",
        "| file | what |",
        "| --- | --- |",
    ]
    lines += [f"| `{name}` | {what} |" for name, what, _ in files]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    sdp_peer.common_args(parser)
    args = parser.parse_args()
    out_dir = os.path.abspath(args.out_dir)
    browser = sdp_peer.launch(args)
    try:
        version = browser.version()
        files = capture(Peers(browser))
    finally:
        browser.close()
    os.makedirs(out_dir, exist_ok=True)
    for name, _, sdp in files:
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(sdp.encode())
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(readme(version, files))
    print(f"capture_sdp: {version['product']}: wrote {len(files)} SDPs and README.md to {out_dir}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
