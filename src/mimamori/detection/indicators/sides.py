"""Which side of a connection is the customer's: private, local and address-like values.

``is_internal`` (private, loopback, link-local) decides the customer's device of an event
(``internal_side``); ``is_local`` (the LAN and unroutable ranges) decides which addresses are not worth
recording for retro-hunting. Both are memoised: traffic repeats its addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import lru_cache

__all__ = ["LOCAL_CACHE", "LOCAL_NETS", "internal_side", "ip_like", "is_internal", "is_local"]


@lru_cache(maxsize=65536)
def is_internal(ip: str) -> bool:
    """Private, loopback or link-local: the customer's side of a connection (never an indicator)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return addr.is_private or addr.is_loopback or addr.is_link_local


# Addresses that are never worth recording for retro-hunting: the LAN, loopback, multicast and the like.
# (``ipaddress.is_private`` would also drop the documentation ranges the demo's C2 servers live in.)
LOCAL_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/3",
        "::/127",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


LOCAL_CACHE: dict[str, bool] = {}  # address -> is_local, a plain dict: cheaper than lru_cache per event
LOCAL_CACHE_SIZE = 65_536


def is_local(ip: str) -> bool:
    """Whether an address is on the customer's side or not routable (not recorded as an observation)."""
    cached = LOCAL_CACHE.get(ip)
    if cached is not None:
        return cached
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        local = True
    else:
        local = any(addr in net for net in LOCAL_NETS if net.version == addr.version)
    if len(LOCAL_CACHE) >= LOCAL_CACHE_SIZE:
        LOCAL_CACHE.clear()
    LOCAL_CACHE[ip] = local
    return local


def ip_like(name: str) -> bool:
    """Whether a name field holds an address (FortiGate puts the server's IP in ``url.domain``)."""
    return (name[-1:].isdigit() and name.replace(".", "").isdigit()) or ":" in name


def internal_side(fields: Mapping[str, object]) -> str | None:
    """The customer's device of an event: a LAN address of source or destination (source first), else
    any private one (the documentation ranges of the demo count as private to ``ipaddress``)."""
    internal = None
    for value in (fields.get("source.ip"), fields.get("destination.ip")):
        if isinstance(value, str) and is_internal(value):
            if is_local(value):
                return value
            if internal is None:
                internal = value
    return internal
