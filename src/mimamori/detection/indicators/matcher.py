"""The indicator detector: events whose addresses, names, URLs, hashes or fingerprints are listed.

Severity follows the outcome, because an SME needs to know whether the defence worked: an allowed
connection to a listed server or a delivered malicious file is high (緊急度 高), a DNS lookup of a listed
name, a JA3 fingerprint (they collide between programs) or a mail from a listed sender is medium, and
anything the UTM blocked is low (it still counts in the monthly report). One event gives at most one
finding: the first listed value in the order of ``_candidates``. An allowlisted value (provider-wide or
the tenant's) is skipped. Every hit is counted as a sighting and every external value is recorded as an
observation for retro-hunting (see ``recorder``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from mimamori.detection.indicators import values as v
from mimamori.detection.indicators.candidates import (
    RARE_FIELDS,
    Candidate,
    candidates,
    rare_lookups,
)
from mimamori.detection.indicators.presentation import KINDS, TITLES, indicator_evidence
from mimamori.detection.indicators.recorder import Key, Recorder, Tally, add
from mimamori.detection.indicators.scan import FAILURE, NameScan, scan_addresses
from mimamori.detection.indicators.sides import LOCAL_CACHE, internal_side, is_internal, is_local
from mimamori.detection.indicators.store import Indicator, IndicatorSet
from mimamori.domain import Event, Finding, Severity
from mimamori.parsers import _native

NAME = "indicator"
TAGS = ("attack.command-and-control", "attack.t1071")
MAX_ORIGINAL = 4096  # bytes of the raw log line quoted in an alert's evidence
_address_scan = _native.address_scan


class IndicatorDetector:
    """Matches events against an ``IndicatorSet`` and records sightings and observed values."""

    name = NAME

    def __init__(self, indicators: IndicatorSet, *, observe: bool = True) -> None:
        self.indicators = indicators
        self.observe = observe
        self.recorder = Recorder()

    def detect(self, events: Sequence[Event]) -> Iterator[Finding]:
        store = self.indicators
        observe = self.observe
        if not len(store) and not observe:
            return
        now = time.time()
        ips = store.tables[v.IP]
        in_ranges = store.in_ranges if store.cidrs else None
        sightings: dict[Key, Tally] = {}
        observations: dict[Key, Tally] = {}
        addresses: dict[tuple[str, str], list[Any]] = {}
        batch = events if type(events) is list else list(events)
        names = NameScan(store, now)
        codes = None
        if _address_scan is not None:  # the same pass in C (``parsers._native``)
            codes = _address_scan(
                batch, ips, LOCAL_CACHE, is_local, in_ranges, RARE_FIELDS, addresses, observe,
                store.range_cache, names.native(),
            )  # fmt: skip
        if codes is None:
            codes = scan_addresses(batch, ips, in_ranges, addresses, observe, names=names)
        for code in codes:
            event = batch[code >> 1]
            fields = event.fields
            if code & 1:  # rare fields: look everything up, the addresses only if they can hit
                dst = fields.get("destination.ip")
                src = fields.get("source.ip")
                listed = (dst.__class__ is str and dst in ips) or (src.__class__ is str and src in ips)
                lookups = rare_lookups(fields, dst, src, listed, in_ranges)
                found = self._first_hit(event, lookups, now, sightings, observations)
            else:
                found = self._first_hit(event, candidates(fields), now, sightings, None)
            if found is not None:
                yield found
        if addresses:
            self.recorder.add_addresses(addresses, v.IP)
        if names.out:
            self.recorder.add_addresses(names.out, v.DOMAIN)
        if sightings or observations:
            self.recorder.merge(sightings, observations)

    def _first_hit(
        self,
        event: Event,
        found: list[Candidate],
        now: float,
        sightings: dict[Key, Tally],
        observations: dict[Key, Tally] | None,
    ) -> Finding | None:
        """The finding of the event's first listed, not allowlisted value; records the non-IP values."""
        store = self.indicators
        fields = event.fields
        allowed = fields.get("event.outcome") != FAILURE
        when = event.timestamp
        day = when.date()
        device: str | None = None  # internal_side, worked out only when a tally needs it (``known``)
        known = False
        finding: Finding | None = None
        for kind, value, outbound, field_name in found:
            if observations is not None and self.observe and kind != v.IP:
                key = (event.tenant_id, day, kind, value)
                held = observations.get(key)
                if not known and (held is None or held.device is None):
                    device, known = internal_side(fields), True
                add(observations, key, when, device, allowed)
            if finding is not None:
                continue
            hit = store.match(kind, value, now)
            if hit is None and kind == v.EMAIL:
                hit = store.match(v.EMAIL_DOMAIN, value.rpartition("@")[2], now)
            if hit is None or (store.allowlist and store.allowlist.reason(event.tenant_id, kind, value)):
                continue
            finding = self._finding(event, hit, outbound=outbound, matched_field=field_name)
            if not known:
                device, known = internal_side(fields), True
            add(sightings, (event.tenant_id, day, hit.type, hit.value), when, device, allowed)
        return finding

    def _finding(self, event: Event, hit: Indicator, *, outbound: bool, matched_field: str) -> Finding:
        fields = event.fields
        src = event.get_str("source.ip")
        dst = event.get_str("destination.ip")
        blocked = fields.get("event.outcome") == FAILURE
        kind = KINDS.get(hit.type, "address")
        dns_only = matched_field == "dns.question.name" and not event.dataset.endswith("traffic")
        if blocked:
            severity, context = Severity.LOW, "blocked"
        elif dns_only:
            severity, context = Severity.MEDIUM, "dns"
        elif kind in ("tls", "mail"):
            severity, context = Severity.MEDIUM, "connection"
        elif outbound or kind == "file" or (dst is not None and is_internal(dst)):
            severity, context = Severity.HIGH, "connection"
        else:
            severity, context = Severity.MEDIUM, "connection"
        internal = internal_side(fields) if kind in ("file", "mail") else (src if outbound else dst)
        host = event.get_str("host.name") if outbound else None
        template = TITLES[(context, kind, outbound)]
        evidence = dict(fields)
        for name in _device_only(fields):
            del evidence[name]
        evidence["title.template"] = template
        evidence.setdefault("event.dataset", event.dataset)
        if event.raw is not None:
            evidence["event.original"] = event.raw.data[:MAX_ORIGINAL].decode("utf-8", "replace")
            evidence["log.origin"] = event.raw.origin
        evidence.update(indicator_evidence(hit, matched_field))
        return Finding(
            tenant_id=event.tenant_id,
            detector=NAME,
            key=f"{hit.type}:{hit.value}",
            title=template % {"value": hit.value},
            severity=severity,
            timestamp=event.timestamp,
            host=host or internal,
            source_ip=src,
            destination_ip=dst,
            description=hit.description or hit.threat,
            tags=TAGS,
            evidence=evidence,
            device_ip=internal if internal and is_internal(internal) else None,
        )


_DEVICE_ONLY: dict[tuple[str, ...], tuple[str, ...]] = {}  # field names -> the fortigate.* ones
_DEVICE_ONLY_MAX = 1024  # key layouts remembered; cleared when full
_DEVICE_ONLY_CHARS = 4096  # layouts with longer names together are not remembered


def _device_only(fields: Mapping[str, object]) -> tuple[str, ...]:
    """The device-specific names (``fortigate.*``) an alert's evidence leaves out, per key layout: a
    FortiGate event has ~50 fields, and a test of each name costs more than the rest of the finding."""
    names = tuple(fields)
    found = _DEVICE_ONLY.get(names)
    if found is None:
        found = tuple(name for name in names if name.startswith("fortigate."))
        if sum(map(len, names)) <= _DEVICE_ONLY_CHARS:
            if len(_DEVICE_ONLY) >= _DEVICE_ONLY_MAX:
                _DEVICE_ONLY.clear()
            _DEVICE_ONLY[names] = found
    return found
