"""Loopback-only aiortc/aioice. Import this BEFORE creating any RTCPeerConnection.

It loads interop/aioice/loopback_guard.py (one copy of the guard for both
peers), which
  * refuses any `sendto`/`connect` to an address outside 127.0.0.0/8 and ::1
    (PermissionError), whatever aiortc or aioice decide to do;
  * makes aioice gather on 127.0.0.1 only (stock `aioice.ice.get_host_addresses` lists
    every interface address *except* 127.0.0.1);
  * stops aioice from resolving remote mDNS (`.local`) candidates (multicast to
    224.0.0.251): they are dropped;
and then replaces aiortc's default ICE server (a public STUN server, which
aiortc uses when `RTCConfiguration.iceServers` is None) by no server at all. peer.py
also passes `iceServers=[]` explicitly. asyncio's datagram transports send through
socket.sendto too, so the guard covers them.
"""

import importlib.util
import pathlib

_path = pathlib.Path(__file__).resolve().parent.parent / "aioice" / "loopback_guard.py"
_spec = importlib.util.spec_from_file_location("aioice_loopback_guard", _path)
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)

# (op, address) of every refused send or connect, for the peer's report.
REFUSED = _base.REFUSED

import aiortc.rtcicetransport  # noqa: E402

aiortc.rtcicetransport.RTCIceGatherer.getDefaultIceServers = classmethod(lambda cls: [])
