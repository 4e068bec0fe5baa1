"""What every behaviour detector shares: the ``Behaviour`` protocol, per-tenant thresholds, and
bounded state that survives a restart.

A behaviour looks at one event at a time (``observe``) and keeps a little state per tenant — counters in
time windows, the destinations a host talks to — bounded in size (``BoundedMap`` evicts the least
recently used keys) and in time (windows measured on the events' own timestamps, so replayed or late
logs behave like live ones). ``snapshot``/``restore`` turn that state into JSON-able data so that a
restart (or a partition moving to another worker) continues where it stopped.

Thresholds are named module constants with their unit (``WINDOW = timedelta(minutes=10)  # ...``);
``BehaviourPolicy`` carries per-tenant overrides by detector and threshold name (tenant settings
document ``"behaviour"``: ``{"thresholds": {"beacon": {"min_connections": 16}}}``, see
``services.behaviours``) and the tenant's known mail servers.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from mimamori.domain import Event, Finding

K = TypeVar("K")
V = TypeVar("V")


class Behaviour(Protocol):
    """One behaviour detector (one module in ``detection/behaviours``, registered in ``BEHAVIOURS``)."""

    name: str  # short, stable, the findings' detector name: "beacon" (see triage.categories)

    def accepts(self, event: Event) -> bool:
        """A cheap test (dataset prefix, a field present) so ``observe`` runs only on relevant events."""
        ...

    def observe(self, event: Event) -> Iterable[Finding]:
        """Update the state with ``event``; yield findings when a threshold is crossed (once per episode)."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """The state as JSON-able data (bounded: the same caps as in memory)."""
        ...

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from a snapshot; unknown or malformed content is ignored (start fresh), never raised."""
        ...


@dataclass(frozen=True, slots=True)
class BehaviourPolicy:
    """Per-tenant threshold overrides and facts about the tenant's network."""

    # tenant → detector → threshold name → value
    overrides: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    mail_servers: Mapping[str, frozenset[str]] = field(default_factory=dict)  # tenant → LAN mail server IPs

    def value(self, tenant_id: str, detector: str, threshold: str, default: V) -> V:
        """The tenant's value of ``threshold`` (same type as ``default``), else ``default``."""
        found = self.overrides.get(tenant_id, {}).get(detector, {}).get(threshold)
        if type(found) is int and type(default) is float:
            return float(found)  # type: ignore[return-value]  # "900" seconds for a float threshold
        if found is None or type(found) is not type(default):
            return default
        return found


class BoundedMap(Generic[K, V]):
    """A dict that keeps at most ``limit`` keys, evicting the least recently touched (an LRU).

    ``data`` is the underlying ``OrderedDict`` (least recently touched first): hot paths may read it
    directly — ``data.get(key)`` then ``data.move_to_end(key)`` when found is ``get`` without the call —
    but add keys only through ``setdefault`` (it evicts)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data: OrderedDict[K, V] = OrderedDict()
        self.evicted = 0

    def get(self, key: K) -> V | None:
        data = self.data
        value = data.get(key)
        if value is not None:
            data.move_to_end(key)
        return value

    def setdefault(self, key: K, factory: Any) -> V:
        """The value of ``key``, created with ``factory()`` when missing (and marked recently used)."""
        data = self.data
        value = data.get(key)
        if value is None:
            value = factory()
            data[key] = value
            if len(data) > self.limit:
                data.popitem(last=False)
                self.evicted += 1
        else:
            data.move_to_end(key)
        return value

    def pop(self, key: K) -> V | None:
        return self.data.pop(key, None)

    def items(self) -> Iterator[tuple[K, V]]:
        return iter(list(self.data.items()))

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, key: object) -> bool:
        return key in self.data


def epoch(moment: datetime) -> float:
    """Seconds since the epoch of an aware datetime (state keeps floats: compact and JSON-able)."""
    return moment.timestamp()


def finding(
    behaviour: str,
    event: Event,
    *,
    key: str,
    title: str,
    severity: Any,
    tags: tuple[str, ...],
    evidence: Mapping[str, Any],
    host: str | None = None,
    source_ip: str | None = None,
    destination_ip: str | None = None,
    description: str = "",
) -> Finding:
    """A finding of behaviour ``behaviour`` on ``event``; the device is the LAN side (``source_ip``)."""
    return Finding(
        tenant_id=event.tenant_id,
        detector=behaviour,
        key=key,
        title=title,
        severity=severity,
        timestamp=event.timestamp,
        host=host or event.get_str("host.name") or event.get_str("source.domain"),
        source_ip=source_ip,
        destination_ip=destination_ip,
        description=description,
        tags=tags,
        evidence={k: v for k, v in evidence.items() if isinstance(v, str | int | float | bool)},
        device_ip=source_ip,
    )
