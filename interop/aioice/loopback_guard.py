"""Loopback-only aioice, shared by ice_peer.py, connect_bench.py and (through
interop/aiortc/loopback_guard.py, which adds aiortc's part) the aiortc peer.

Importing this module (before using aioice):
  * refuses any `sendto`/`connect` to an address outside 127.0.0.0/8 and ::1;
  * makes aioice gather on 127.0.0.1 only (stock aioice lists every interface
    address *except* 127.0.0.1);
  * stops aioice from resolving remote mDNS (`.local`) names.
"""

import ipaddress
import logging
import socket

log = logging.getLogger("loopback_guard")

# ---- hard guard: nothing but loopback, whatever aioice decides to do ----------------------

HOST_ADDRESSES = ["127.0.0.1"]
# (op, address) of every refused send or connect, for a peer's report.
REFUSED = []
ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]


def _check_destination(op, addr):
    if not isinstance(addr, tuple) or not addr:
        return  # AF_UNIX and the like
    host = str(addr[0]).split("%")[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        # A host name: every address it resolves to must be allowed.
        for info in socket.getaddrinfo(host, None):
            _check_destination(op, (info[4][0],) + tuple(addr[1:]))
        return
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    if not any(ip in net for net in ALLOWED_NETWORKS):
        log.error("refused %s to non-loopback address %s", op, addr)
        REFUSED.append((op, repr(addr)))
        raise PermissionError(f"loopback guard: {op} to non-loopback address {addr!r} refused")


_original_sendto = socket.socket.sendto
_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


def _guarded_sendto(self, data, *args):
    _check_destination("sendto", args[-1])
    return _original_sendto(self, data, *args)


def _guarded_connect(self, addr):
    _check_destination("connect", addr)
    return _original_connect(self, addr)


def _guarded_connect_ex(self, addr):
    _check_destination("connect", addr)
    return _original_connect_ex(self, addr)


socket.socket.sendto = _guarded_sendto
socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex

import aioice  # noqa: E402
import aioice.ice  # noqa: E402


def _loopback_host_addresses(use_ipv4, use_ipv6):
    return [a for a in HOST_ADDRESSES if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]


class _NoMdns:
    async def resolve(self, name, *args, **kwargs):
        log.warning("ignoring mDNS candidate %s (no multicast here)", name)
        return None


async def _no_mdns(subscriber):
    return _NoMdns()


aioice.ice.get_host_addresses = _loopback_host_addresses
aioice.ice.get_or_create_mdns_protocol = _no_mdns
