"""Merging facts about one device: per pipeline batch in memory, then once per device into storage.

The strongest evidence wins: the OS guess with the highest confidence (a later one of equal confidence
replaces an earlier one: devices get upgraded), the UTM's device type over a class guessed from the
vendor, a real vendor over none. External services are counted per (destination, port), bounded.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mimamori.domain import Event
from mimamori.inventory.classify import DeviceClass, OsGuess
from mimamori.inventory.facts import DeviceFacts, observe, observe_again, service_of

MAX_SERVICES_PER_BATCH = 64  # distinct (destination, port) kept per device and batch
_MISSING: Any = object()  # "not seen yet" (None means: seen, and not about a LAN device)
MAX_DEVICES_PER_BATCH = 4096  # distinct devices kept per tenant and batch (the rest wait for the next)
MAX_KNOWN_IDENTITIES = 65_536  # a recorder's remembered identities; forgotten all at once when full


@dataclass(slots=True)
class ServiceUse:
    """How often a device used one external service in a batch."""

    count: int
    first_seen: datetime
    last_seen: datetime


@dataclass(slots=True)
class DeviceSummary:
    """Everything a batch said about one device."""

    tenant_id: str
    key: str
    first_seen: datetime
    last_seen: datetime
    ip: str | None = None
    mac: str | None = None
    hostname: str | None = None
    vendor: str | None = None
    private_mac: bool = False
    device_class: str = DeviceClass.UNKNOWN.value
    class_from_devtype: bool = False
    os: OsGuess | None = None
    events: int = 0
    services: dict[tuple[str, int], ServiceUse] = field(default_factory=dict)  # (destination, port) →

    def add(self, facts: DeviceFacts) -> None:
        """Merge ``facts`` into this summary."""
        self.events += 1
        self.first_seen = min(self.first_seen, facts.seen)
        if facts.seen > self.last_seen:
            self.last_seen = facts.seen
            if facts.ip:
                self.ip = facts.ip
        self.ip = self.ip or facts.ip
        self.mac = self.mac or facts.mac
        self.hostname = facts.hostname or self.hostname
        self.vendor = self.vendor or facts.vendor
        self.private_mac = self.private_mac or facts.private_mac
        if not self.class_from_devtype and (facts.devtype or self.device_class == DeviceClass.UNKNOWN):
            found = facts.device_class  # computed once per device, or until the UTM's device type gives it
            if found != DeviceClass.UNKNOWN:
                self.device_class = found
                self.class_from_devtype = facts.devtype is not None
        if facts.os is not None and (self.os is None or facts.os.confidence >= self.os.confidence):
            self.os = facts.os
        self.use(facts.seen, facts.destination, facts.port)

    def touch(self, seen: datetime, destination: str | None, port: int | None) -> None:
        """Another event of the same device saying nothing new about it but when and where to."""
        self.events += 1
        if seen < self.first_seen:
            self.first_seen = seen
        elif seen > self.last_seen:
            self.last_seen = seen
        self.use(seen, destination, port)

    def use(self, seen: datetime, destination: str | None, port: int | None) -> None:
        """Count one use of an external service."""
        if destination is None:
            return
        service = (destination, port if port is not None else 0)
        entry = self.services.get(service)
        if entry is not None:
            entry.count += 1
            if seen > entry.last_seen:
                entry.last_seen = seen
            elif seen < entry.first_seen:
                entry.first_seen = seen
        elif len(self.services) < MAX_SERVICES_PER_BATCH:
            self.services[service] = ServiceUse(1, seen, seen)

    def merge(self, later: DeviceSummary) -> None:
        """Merge a later batch's summary of the same device (the recorder's accumulation)."""
        newer = later.last_seen >= self.last_seen
        self.absorb(later)
        if newer and later.ip:
            self.ip = later.ip
        if later.mac and not self.mac:
            self.mac = later.mac
        self.private_mac = self.private_mac or later.private_mac
        if later.class_from_devtype and not self.class_from_devtype:
            self.device_class, self.class_from_devtype = later.device_class, True

    def absorb(self, other: DeviceSummary) -> None:
        """Merge a summary of the same device known by its IP only (a log without the MAC)."""
        self.events += other.events - 1
        if self.device_class == DeviceClass.UNKNOWN:
            self.device_class = other.device_class
        self.add(
            DeviceFacts(
                tenant_id=other.tenant_id,
                seen=other.first_seen,
                hostname=other.hostname,
                vendor=other.vendor,
                os=other.os,
            )
        )
        self.last_seen = max(self.last_seen, other.last_seen)
        for service, use in other.services.items():
            entry = self.services.get(service)
            if entry is not None:
                entry.count += use.count
                entry.first_seen = min(entry.first_seen, use.first_seen)
                entry.last_seen = max(entry.last_seen, use.last_seen)
            elif len(self.services) < MAX_SERVICES_PER_BATCH:
                self.services[service] = use


# The fields that say who a device is and what it runs: events agreeing on all of them (and on tenant and
# dataset) give the same facts but for the time and the service, so only the first is fully observed.
_IDENTITY = (
    "source.ip",
    "source.mac",
    "host.ip",
    "host.mac",
    "host.name",
    "host.type",
    "host.vendor",
    "host.os.name",
    "host.os.version",
    "user_agent.original",
    "source.domain",
)


def summarise_events(
    events: Iterable[Event], known: dict[tuple[Any, ...], DeviceFacts | None] | None = None
) -> list[DeviceSummary]:
    """``summarise(observe(e) for e in events)``, but cheap: an event whose identity fields repeat an
    earlier one's in the batch only adds its time and service (no parsing, no look-ups).

    ``known`` (the recorder's, kept across batches) remembers the facts of identities seen in earlier
    batches, so the first event of a known device in a batch is read with ``observe_again`` (time,
    service, verdicts) instead of being observed from scratch; new identities are added to it.
    """
    builder = _Builder()
    seen: dict[tuple[Any, ...], DeviceSummary | None] = {}
    for event in events:
        get = event.fields.get
        ident = (event.tenant_id, event.dataset, *map(get, _IDENTITY))
        try:
            summary = seen.get(ident, _MISSING)
        except TypeError:  # a list where a scalar belongs: no caching for this event
            fact = observe(event)
            if fact is not None:
                builder.add(fact)
            continue
        if summary is _MISSING:
            if known is None:
                fact = observe(event)
            else:
                earlier = known.get(ident, _MISSING)
                if earlier is _MISSING:
                    fact = known[ident] = observe(event)
                else:
                    fact = None if earlier is None else observe_again(earlier, event)
            seen[ident] = None if fact is None else builder.add(fact)
        elif summary is not None:
            summary.touch(event.timestamp, *service_of(event))
    return builder.done()


class _Builder:
    """Summaries per (tenant, device key), bounded per tenant."""

    def __init__(self) -> None:
        self.out: dict[tuple[str, str], DeviceSummary] = {}
        self.per_tenant: dict[str, int] = {}

    def add(self, fact: DeviceFacts) -> DeviceSummary | None:
        key = fact.key
        if key is None:
            return None
        summary = self.out.get((fact.tenant_id, key))
        if summary is None:
            if self.per_tenant.get(fact.tenant_id, 0) >= MAX_DEVICES_PER_BATCH:
                return None
            self.per_tenant[fact.tenant_id] = self.per_tenant.get(fact.tenant_id, 0) + 1
            summary = DeviceSummary(fact.tenant_id, key, fact.seen, fact.seen)
            self.out[(fact.tenant_id, key)] = summary
        summary.add(fact)
        return summary

    def done(self) -> list[DeviceSummary]:
        """The summaries, logs without a MAC folded into the MAC's device by address."""
        out = self.out
        by_ip = {(s.tenant_id, s.ip or ""): s for s in out.values() if s.mac is not None and s.ip}
        for (tenant_id, key), summary in list(out.items()):
            if key.startswith("ip:"):
                owner = by_ip.get((tenant_id, summary.ip or ""))
                if owner is not None:
                    owner.absorb(summary)
                    del out[(tenant_id, key)]
        return list(out.values())


class DeviceRecorder:
    """Accumulates batches' summaries in memory so storage is written every ``interval`` seconds (or
    when ``max_devices`` devices are pending), not once per batch: the counts are aggregates.

    Bounded: at most ``max_devices`` pending devices (further new devices wait for the next write).
    """

    def __init__(self, interval: float = 30.0, max_devices: int = 20_000) -> None:
        self.interval = interval  # seconds between writes
        self.max_devices = max_devices
        self.pending: dict[tuple[str, str], DeviceSummary] = {}
        self.dropped = 0  # new devices not kept because the pending set was full
        # Facts of identities seen in earlier batches (see summarise_events); forgotten at every drain,
        # so a changed OUI table or classification reaches every device within one interval.
        self.known: dict[tuple[Any, ...], DeviceFacts | None] = {}
        self._last = time.monotonic()

    def add(self, events: Iterable[Event]) -> None:
        """Summarise a batch and merge it into the pending summaries."""
        pending = self.pending
        if len(self.known) >= MAX_KNOWN_IDENTITIES:
            self.known = {}
        for summary in summarise_events(events, self.known):
            key = (summary.tenant_id, summary.key)
            known = pending.get(key)
            if known is not None:
                known.merge(summary)
            elif len(pending) < self.max_devices:
                pending[key] = summary
            else:
                self.dropped += 1

    def due(self) -> bool:
        """Whether the pending summaries should be written now."""
        return bool(self.pending) and (
            time.monotonic() - self._last >= self.interval or len(self.pending) >= self.max_devices
        )

    def drain(self) -> list[DeviceSummary]:
        """The pending summaries, forgotten here (the caller writes them)."""
        out = list(self.pending.values())
        self.pending = {}
        self.known = {}
        self._last = time.monotonic()
        return out


def summarise(facts: Iterable[DeviceFacts]) -> list[DeviceSummary]:
    """One summary per (tenant, device key), in first-seen order; bounded per tenant."""
    builder = _Builder()
    for fact in facts:
        builder.add(fact)
    return builder.done()
