"""JSON snapshots of the correlation engine's windows, to hand a partition over to another worker.

Groups name their correlation by key and their rules by reference (not by position), so a worker whose
ruleset differs restores what it can evaluate and ignores the rest. Groups stay in update order, which
is the eviction order.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from mimamori.detection.sigma.correlation_compile import CorrelationSpec
from mimamori.detection.sigma.correlation_state import Group, GroupKey

SNAPSHOT_VERSION = 1


def dump(
    specs: Sequence[CorrelationSpec], groups: Mapping[GroupKey, Group], stats: Mapping[str, int]
) -> bytes:
    """Encode the groups (and counters) as JSON."""
    rows = []
    for (number, tenant, values), group in groups.items():
        spec = specs[number]
        entries = [[at, spec.slots[slot].reference, value] for at, slot, value in group.entries]
        times = [_finite(group.newest), _finite(group.anchor), _finite(group.quiet_until)]
        rows.append([spec.key, tenant, list(values), *times, entries])
    return orjson.dumps({"version": SNAPSHOT_VERSION, "stats": dict(stats), "groups": rows})


def load(
    specs: Sequence[CorrelationSpec], data: bytes
) -> tuple[OrderedDict[GroupKey, Group], dict[str, int]]:
    """Decode a snapshot for these specs; raises ValueError when it is not one ``dump`` wrote."""
    try:
        document = orjson.loads(data)
        if document.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported version {document.get('version')!r}")
        groups = _groups(specs, document["groups"])
        stats = {str(k): int(v) for k, v in document.get("stats", {}).items()}
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ValueError(f"corrupt correlation snapshot: {exc}") from None
    return groups, stats


def _groups(specs: Sequence[CorrelationSpec], rows: list[Any]) -> OrderedDict[GroupKey, Group]:
    numbers = {spec.key: n for n, spec in enumerate(specs)}
    restored: OrderedDict[GroupKey, Group] = OrderedDict()
    for key, tenant, values, newest, anchor, quiet, entries in rows:
        number = numbers.get(key)
        if number is None:
            continue  # a correlation this worker does not run
        spec = specs[number]
        if len(values) != len(spec.group_by):
            continue  # the rule's group-by changed since
        slots = {slot.reference: i for i, slot in enumerate(spec.slots)}
        group = Group(newest=_infinite(newest), anchor=_infinite(anchor), quiet_until=_infinite(quiet))
        kept = ((float(at), slots[ref], str(value)) for at, ref, value in entries if ref in slots)
        group.entries = sorted(kept, key=lambda e: e[0])[-spec.cap :]
        restored[(number, str(tenant), tuple(str(v) for v in values))] = group
    return restored


def _finite(seconds: float) -> float | None:
    return seconds if math.isfinite(seconds) else None


def _infinite(seconds: float | None) -> float:
    return -math.inf if seconds is None else float(seconds)
