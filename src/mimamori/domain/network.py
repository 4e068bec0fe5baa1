"""Which addresses are the customer's own (LAN) and which are the outside world."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

# Customer LAN ranges. Not ``ip_address.is_private``: it also covers the documentation ranges, which are
# where the simulator (and many tests) put the attackers' servers.
LAN_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7", "fe80::/10")
)


@lru_cache(maxsize=65536)
def is_lan(value: str) -> bool:
    """Whether ``value`` is an address in a customer LAN range (False for anything unparsable)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return any(address.version == n.version and address in n for n in LAN_NETWORKS)
