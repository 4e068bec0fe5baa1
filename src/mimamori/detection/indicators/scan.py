"""The detector's first pass over a batch: what needs no look-up beyond the addresses and, for a DNS-style
event, its one name (``scan_addresses``). ``_speedups.address_scan`` is the same pass in C; a test holds
the two equal, and the detector's findings and records equal to those of the full per-event path.

Most events are connections: their external addresses are tallied for retro-hunting and only a listed
address (or one in a listed range) sends the event on. An event whose only rare field is one domain name
(a DNS log, FortiGate's DNS filter) is settled here too when the name, or a parent of it, is not listed
and its addresses are not either: its name is tallied like the addresses (the same aggregate, day of the
first occurrence), and only a listed name sends the event on to the Python path that makes the finding.
The observation's device is then an internal address that showed the name, not necessarily the batch's
first one (the names the scan settles are tallied before those of the events sent on).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mimamori.detection.indicators import values as v
from mimamori.detection.indicators.candidates import DOMAIN_NAMES, RARE_FIELDS
from mimamori.detection.indicators.sides import LOCAL_CACHE, internal_side, ip_like, is_internal, is_local
from mimamori.detection.indicators.store import IndicatorSet
from mimamori.domain import Event

__all__ = ["FAILURE", "NameScan", "scan_addresses"]

FAILURE = "failure"


@dataclass(slots=True)
class NameScan:
    """What the scan needs to settle a one-name event: the store (its domain table and ``match_domain``)
    and the time expiries are judged at; ``out`` receives the names seen, ``{(tenant, name): [first,
    last, count, device, allowed]}`` as the addresses are tallied."""

    store: IndicatorSet
    now: float
    out: dict[tuple[str, str], list[Any]] = field(default_factory=dict)

    def native(self) -> tuple[object, ...]:
        """The C scan's form: (out, the domain field names, the domain table, now, is_internal)."""
        return (self.out, DOMAIN_NAMES, self.store.tables[v.DOMAIN], self.now, is_internal)


def _count(seen: list[Any], when: object, allowed: bool) -> None:
    """One more occurrence in a tally ``[first, last, count, device, allowed]``: one allowed occurrence
    makes the value "let through"."""
    seen[2] += 1
    if when > seen[1]:
        seen[1] = when
    elif when < seen[0]:
        seen[0] = when
    if allowed:
        seen[4] = True


def _one_name(
    event: Event,
    names: NameScan,
    observe: bool,
    ips: Mapping[str, object],
    in_ranges: Callable[[object], bool] | None,
) -> bool:
    """Settle an event with a rare field here (True) or leave it to the full path (False): True only
    for one ASCII domain name that ``rare_candidates`` would look up, neither listed (nor a parent) nor
    next to a listed address; its name is then tallied (when ``observe``)."""
    fields = event.fields
    present = RARE_FIELDS.intersection(fields)
    if len(present) != 1:
        return False
    (name_field,) = present
    value = fields[name_field]
    if name_field not in DOMAIN_NAMES or value.__class__ is not str or not value.isascii():
        return False
    if len(value) > v.MAX_DOMAIN:
        return False
    name = value.lower().rstrip(".")
    if "." not in name or ip_like(name):
        return False
    dst, src = fields.get("destination.ip"), fields.get("source.ip")
    if any(a.__class__ is not str and isinstance(a, str) for a in (dst, src)):
        return False  # a str subclass: the full path's exact-type tests decide
    if (dst.__class__ is str and dst in ips) or (src.__class__ is str and src in ips):
        return False
    if in_ranges is not None and (in_ranges(dst) or in_ranges(src)):
        return False
    if names.store.match_domain(name, names.now) is not None:
        return False
    if observe:
        key = (event.tenant_id, name)
        when = event.timestamp
        allowed = fields.get("event.outcome") != FAILURE
        seen = names.out.get(key)
        if seen is None:
            names.out[key] = [when, when, 1, internal_side(fields), allowed]
        else:
            _count(seen, when, allowed)
            if seen[3] is None:
                seen[3] = internal_side(fields)
    return True


def scan_addresses(
    events: list[Event],
    ips: Mapping[str, object],
    in_ranges: Callable[[object], bool] | None,
    addresses: dict[tuple[str, str], list[Any]],
    observe: bool,
    *,
    names: NameScan | None = None,
) -> list[int]:
    """The per-event part of ``detect`` that needs no look-up beyond the addresses, in event order.

    Tallies the observed external addresses into ``addresses`` (when ``observe``: [first, last, count,
    first internal device, any allowed] per (tenant, address)) and returns, as ``2 * index + rare``,
    the events that need more: those with a rare field, and those whose address is listed or in a
    range. With ``names``, an event whose one rare field is a domain name is settled here when nothing
    about it is listed (``_one_name``). ``_speedups.address_scan`` is this function in C.
    """
    codes: list[int] = []
    local_get = LOCAL_CACHE.get
    for index, event in enumerate(events):
        fields = event.fields
        # Addresses inline: most events are connections with nothing else to look up.
        dst = fields.get("destination.ip")
        src = fields.get("source.ip")
        dst_ok = dst.__class__ is str
        src_ok = src.__class__ is str
        if observe:
            # One cache lookup per address (the cache holds False for external addresses too).
            cached = not dst_ok or local_get(dst)  # type: ignore[arg-type]
            dst_local = is_local(dst) if cached is None else cached  # type: ignore[arg-type]
            cached = not src_ok or local_get(src)  # type: ignore[arg-type]
            src_local = is_local(src) if cached is None else cached  # type: ignore[arg-type]
            if not (dst_local and src_local):
                when, tenant = event.timestamp, event.tenant_id
                for ip in (src,) if dst_local else ((dst,) if src_local else (dst, src)):
                    # Plain lists keyed by (tenant, address): the cheapest aggregate per event; the
                    # day is the first occurrence's (a batch spans seconds).
                    seen = addresses.get((tenant, ip))  # type: ignore[arg-type]
                    if seen is None:
                        device = src if src_local and src_ok else (dst if dst_local and dst_ok else None)
                        allowed = fields.get("event.outcome") != FAILURE
                        addresses[(tenant, ip)] = [when, when, 1, device, allowed]  # type: ignore[index]
                    else:
                        _count(seen, when, fields.get("event.outcome") != FAILURE)
        rare = not RARE_FIELDS.isdisjoint(fields)  # a C loop over the (cold) dict's entries
        if rare:
            if names is None or not _one_name(event, names, observe, ips, in_ranges):
                codes.append(2 * index + 1)
        elif (
            (dst_ok and dst in ips)
            or (src_ok and src in ips)
            or (in_ranges is not None and (in_ranges(dst) or in_ranges(src)))
        ):
            codes.append(2 * index)
    return codes
