"""One event as the behaviours read it: the facts several of them need, computed once per event.

Eleven behaviours used to read ``event.fields`` eleven times over: the addresses and whether they are
local, the destination port, the device's identity, the event's epoch seconds. ``View`` computes them
once (``BehaviourDetector.detect`` builds one per event and hands it to every behaviour that takes the
event), and a behaviour's ``route(dataset)`` says once per dataset whether it wants the dataset's events
at all, all of them, or only those passing a cheap test of the view (a field present, a port value).

The facts keep the semantics of the helpers they replace (``_flows.endpoints``/``address``, ``lan``,
``place``, ``new_device.device_key``): an address is a string of 1 to ``MAX_ADDRESS_CHARS`` characters
(parsers only produce plain ``str``; other values are ``None``), a port is ``port_of``'s number or -1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any, Protocol

from mimamori.detection.behaviours._flows import LAN, LAN_PREFIXES, MAX_ADDRESS_CHARS, OTHER, place, port_of
from mimamori.domain import Event, Finding
from mimamori.domain.network import is_lan
from mimamori.inventory import normalise_mac
from mimamori.parsers import _native

MAX_FIELD = 64  # characters: longer device addresses and MACs are junk
# Datasets about a host itself (its address and MAC in host.*), not about one of its sessions.
HOST_DATASETS = frozenset({"zeek.dhcp", "zeek.known_hosts", "zeek.software"})


@lru_cache(maxsize=65536)
def device_of(ip: str | None, raw_mac: str | None) -> tuple[str, str | None] | None:
    """``(key, ip)`` of a LAN device from a source address and MAC as logged (cached: a LAN has few
    devices): ``mac:<mac>`` when the MAC is valid, else ``ip:<address>`` for a LAN address, else None."""
    if ip is not None and (len(ip) > MAX_FIELD or not ip.startswith(LAN_PREFIXES) or not is_lan(ip)):
        ip = None
    mac = normalise_mac(raw_mac) if raw_mac is not None and len(raw_mac) <= MAX_FIELD else None
    if mac is not None:
        return f"mac:{mac}", ip
    if ip is not None:
        return f"ip:{ip}", ip
    return None


class View:
    """The shared per-event facts (read-only by convention; built by ``BehaviourDetector``)."""

    __slots__ = (
        "dataset", "device", "dst", "dst_lan", "dst_place", "event", "fields", "now", "port", "src",
        "src_lan", "tenant",
    )  # fmt: skip

    def __init__(self, event: Event) -> None:
        fields = event.fields
        self.event = event
        self.fields = fields
        self.tenant = event.tenant_id
        dataset = self.dataset = event.dataset
        self.now: float = event.timestamp.timestamp()  # epoch seconds of the event's own time
        raw_src = fields.get("source.ip")
        if type(raw_src) is str and 0 < len(raw_src) <= MAX_ADDRESS_CHARS:
            self.src: str | None = raw_src  # source.ip
            self.src_lan = raw_src.startswith(LAN_PREFIXES) and is_lan(raw_src)  # a customer address
        else:
            self.src, self.src_lan = None, False
        dst = fields.get("destination.ip")
        if type(dst) is str and 0 < len(dst) <= MAX_ADDRESS_CHARS:
            self.dst: str | None = dst  # destination.ip
            where = self.dst_place = place(dst)  # LAN / EXTERNAL / OTHER (see ``_flows.place``)
            self.dst_lan = where == LAN or (where == OTHER and dst.startswith(LAN_PREFIXES) and is_lan(dst))
        else:
            self.dst, self.dst_place, self.dst_lan = None, OTHER, False
        port = fields.get("destination.port")
        self.port = port if type(port) is int and 0 <= port <= 65535 else port_of(port)  # -1: none/junk
        # The LAN device the event is about: new_device.device_key's ``(key, ip)``, or None.
        if dataset in HOST_DATASETS:
            ip, mac = fields.get("host.ip"), fields.get("host.mac")
            self.device = device_of(ip if type(ip) is str else None, mac if type(mac) is str else None)
        else:
            # Only a LAN source address can name a device: passing None for the others gives
            # ``device_of`` the same answer without parsing (and caching) the Internet's many addresses.
            mac = fields.get("source.mac")
            if type(mac) is str:
                self.device = device_of(self.src if self.src_lan else None, mac)
            else:
                self.device = device_of(self.src, None) if self.src_lan else None


# What ``route`` answers for a dataset: False (never its events), True (all of them), the name of a field
# the event must have, a frozenset of field names of which it must have one, a ``(field, values)`` tuple
# (the field's value is one of ``values``: see ``has_value``) — these three checked without a call — or a
# test each event's view must pass (cheap, and it must never raise).
Route = bool | str | frozenset[str] | tuple[str, frozenset[str | int]] | Callable[[View], bool]
# A behaviour's hot path for the C loop (``hot(dataset)``, optional): ``hot(behaviour, view)`` does what
# ``see(view)`` does and returns its findings, or None when ``see`` must run (see _speedups_hot.c).
Hot = Callable[[Any, View], Iterable[Finding] | None]


def has_value(value: Any, values: frozenset[str | int]) -> bool:
    """A value route's test: ``value`` is an exact str or int in ``values``, or a list with such an item."""
    if type(value) is str or type(value) is int:
        return value in values
    return isinstance(value, list) and any(
        (type(item) is str or type(item) is int) and item in values for item in value
    )


def taken(fields: Mapping[str, Any], needed: str | frozenset[str] | tuple[str, frozenset[str | int]]) -> bool:
    """Whether an event's ``fields`` pass a route's field condition (``Route``'s str, frozenset or tuple)."""
    if type(needed) is str:
        return needed in fields
    if type(needed) is tuple:
        return has_value(fields.get(needed[0]), needed[1])
    return not fields.keys().isdisjoint(needed)


class ViewBehaviour(Protocol):
    """A behaviour that reads the shared ``View`` (every behaviour in this package; see ``Behaviour``)."""

    name: str

    def route(self, dataset: str) -> Route:
        """Whether events of ``dataset`` may concern this behaviour (``accepts`` split in two: the part
        that depends on the dataset alone, answered once, and a test of each event's view)."""
        ...

    def see(self, view: View) -> Iterable[Finding]:
        """``observe`` of the event behind ``view`` (the runner calls it only on events ``route`` takes)."""
        ...

    def snapshot(self) -> dict[str, Any]: ...


# With the C speedups, ``BehaviourDetector`` runs a batch through ``_native.behaviour_views``, which builds
# each View as ``View.__init__`` does (these slots, in this order, and these helpers).
_C_SLOTS = (
    "dataset", "device", "dst", "dst_lan", "dst_place", "event", "fields", "now", "port", "src", "src_lan",
    "tenant",
)  # fmt: skip
IN_C = _native.views_configure is not None and View.__slots__ == _C_SLOTS
if IN_C and _native.views_configure is not None:
    _native.views_configure(
        View,
        _C_SLOTS,  # the order of the C code's enum: a View with other slots runs the Python loop
        is_lan,
        place,
        port_of,
        device_of,
        LAN_PREFIXES,
        MAX_ADDRESS_CHARS,
        LAN,
        OTHER,
        HOST_DATASETS,
    )

__all__ = [
    "HOST_DATASETS",
    "IN_C",
    "MAX_FIELD",
    "Hot",
    "Route",
    "View",
    "ViewBehaviour",
    "device_of",
    "has_value",
    "taken",
]
