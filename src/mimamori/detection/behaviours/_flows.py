"""Small helpers shared by the network behaviours (beacon, smtp_burst, scan): which events are
connections, their endpoints read cheaply and defensively, and per-tenant state holders.

Every value is attacker-controlled: a port may arrive as text, a list or a huge string; these helpers
return ``None``/``-1`` for anything that is not what they expect, never raise.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any, Generic, TypeVar

from mimamori.detection.behaviours.base import BoundedMap
from mimamori.domain import Event
from mimamori.domain.network import is_lan

T = TypeVar("T")

# Datasets whose events are one connection (session/flow) each. The UTM's per-session verdicts
# (fortigate.utm.*, suricata.alert, ...) repeat a session already logged here and are left out.
CONNECTION_DATASETS = frozenset(
    (
        "fortigate.traffic",
        "zeek.conn",
        "suricata.flow",
        "paloalto.traffic",
        "pfsense.firewall",
        "sophos.xg.firewall",
        "sophos.utm.packetfilter",
        "cisco_asa.asa",
        "cisco_asa.ftd",
        "yamaha_rtx.filter",
        "appliance.firewall",
    )
)
MAX_ADDRESS_CHARS = 64  # longer "addresses" are junk (an IPv6 text form is at most 45 characters)
# Every LAN address's text starts with one of these (IPv6 ULA/link-local: fc/fd/fe); a cheap first test
# before ``is_lan`` so that the Internet's many distinct addresses never reach its parser.
LAN_PREFIXES = ("10.", "172.", "192.168.", "169.254.", "f", "F")
MAX_TENANTS = 10_000  # tenants whose state one detector instance keeps (least recently seen evicted)


def port_of(value: Any) -> int:
    """A port number from an int or a short digit string; -1 for anything else."""
    if type(value) is int:
        return value if 0 <= value <= 65535 else -1
    if isinstance(value, str) and 0 < len(value) <= 5 and value.isascii() and value.isdigit():
        number = int(value)
        return number if number <= 65535 else -1
    return -1


def address(fields: Mapping[str, Any], name: str) -> str | None:
    """The address in field ``name`` when it is a plausible (short) string."""
    value = fields.get(name)
    if isinstance(value, str) and 0 < len(value) <= MAX_ADDRESS_CHARS:
        return value
    return None


@lru_cache(maxsize=65536)
def is_unicast(value: str) -> bool:
    """Whether ``value`` is a unicast address a host can talk to (not multicast, broadcast, loopback,
    link-local or unspecified); False for anything unparsable."""
    try:
        parsed = ipaddress.ip_address(value)
    except ValueError:
        return False
    if parsed.is_multicast or parsed.is_loopback or parsed.is_unspecified or parsed.is_link_local:
        return False
    return not (parsed.version == 4 and str(parsed).endswith(".255"))


LAN, EXTERNAL, OTHER = 0, 1, 2  # what a destination address is (``place``)


@lru_cache(maxsize=65536)
def place(value: str) -> int:
    """``LAN`` (a unicast customer address), ``EXTERNAL`` (a unicast Internet address) or ``OTHER``
    (multicast, broadcast, loopback, link-local, unspecified or unparsable): one cached call per address."""
    if not is_unicast(value):
        return OTHER
    return LAN if lan(value) else EXTERNAL


def lan(value: str) -> bool:
    """``is_lan(value)``, answering most Internet addresses with a prefix test alone."""
    return value.startswith(LAN_PREFIXES) and is_lan(value)


def endpoints(event: Event) -> tuple[str, str, int] | None:
    """``(source.ip, destination.ip, destination.port)`` of a connection event, or None."""
    fields = event.fields
    src = fields.get("source.ip")
    dst = fields.get("destination.ip")
    if type(src) is not str or type(dst) is not str:
        return None
    if not (0 < len(src) <= MAX_ADDRESS_CHARS and 0 < len(dst) <= MAX_ADDRESS_CHARS):
        return None
    return src, dst, port_of(fields.get("destination.port"))


def is_connection(event: Event) -> bool:
    """Whether ``event`` is one connection (a set lookup; ``endpoints`` checks the addresses)."""
    return event.dataset in CONNECTION_DATASETS


class TenantStates(Generic[T]):
    """Per-tenant state objects created on first use, at most ``MAX_TENANTS`` of them.

    ``last`` is ``(tenant, state)`` of the latest ``get`` (batches hold runs of one tenant's events): a
    hot path may test it before calling ``get``."""

    def __init__(self, factory: Callable[[str], T], limit: int = MAX_TENANTS) -> None:
        self._factory = factory
        self._map: BoundedMap[str, T] = BoundedMap(limit)
        self.last: tuple[str, T] | None = None

    def get(self, tenant_id: str) -> T:
        last = self.last
        if last is not None and last[0] == tenant_id:
            return last[1]
        data = self._map.data
        state = data.get(tenant_id)
        if state is None:
            state = self._map.setdefault(tenant_id, lambda: self._factory(tenant_id))
        else:
            data.move_to_end(tenant_id)
        self.last = (tenant_id, state)
        return state

    def set(self, tenant_id: str, state: T) -> None:
        self._map.pop(tenant_id)
        self._map.setdefault(tenant_id, lambda: state)
        self.last = None

    def items(self) -> Iterator[tuple[str, T]]:
        return self._map.items()

    def __len__(self) -> int:
        return len(self._map)
