"""The in-memory indicator store: a million indicators in a few hundred MB, looked up in microseconds.

One plain ``dict`` per type maps the normalised value to a *shared* metadata tuple (source, threat,
confidence, TLP, expiry, description): indicators of one feed refresh share one tuple, so an indicator costs
its key string and a dictionary slot, not an object (a dataclass per indicator doubled the memory in
``bench/indicators.py``). CIDR ranges (laminar: nested or disjoint) are flattened once into sorted,
non-overlapping segments pointing at the innermost range, so an address costs one ``bisect``. A listed
domain matches its subdomains by walking the name's suffixes. Expired indicators stop matching at once
(checked on a hit); the next reload drops them. ``Indicator`` objects are built only for hits.

Plain file format (the bundled demo list), one indicator per line: ``value<TAB>type<TAB>description``
(type and description optional; the type is guessed when missing); ``#`` starts a comment; bad lines are
collected with their line number, never fatal.
"""

from __future__ import annotations

import bisect
import ipaddress
import math
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mimamori.detection.indicators import values as v

# (source, threat, confidence, tlp, expires as epoch seconds (inf: never), description)
Meta = tuple[str, str, int, str, float, str]
Row = tuple[str, str, Meta]  # (type, value, meta)
NEVER = math.inf
V6_OFFSET = 1 << 32  # v4 and v6 addresses share one number line: v6 numbers are shifted past every v4
DEFAULT_SOURCE = "file"
DEFAULT_CONFIDENCE = 50
DEFAULT_TLP = "clear"
RANGE_CACHE = 65_536  # addresses whose CIDR look-up is remembered (cleared when full)
EXACT_TYPES = tuple(t for t in v.TYPES if t != v.CIDR)


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator with its metadata (the record a feed produces and a hit reports)."""

    value: str
    type: str
    description: str = ""
    source: str = DEFAULT_SOURCE
    threat: str = ""
    confidence: int = DEFAULT_CONFIDENCE
    tlp: str = DEFAULT_TLP
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    expires_at: datetime | None = None

    @property
    def meta(self) -> Meta:
        expires = self.expires_at.timestamp() if self.expires_at is not None else NEVER
        return (self.source, self.threat, self.confidence, self.tlp, expires, self.description)


def to_indicator(kind: str, value: str, meta: Meta) -> Indicator:
    """The full record of a stored (type, value, meta) row (built for hits only)."""
    expires = None if meta[4] == NEVER else datetime.fromtimestamp(meta[4], UTC)
    return Indicator(value, kind, meta[5], meta[0], meta[1], meta[2], meta[3], expires_at=expires)


def ip_number(text: str) -> int | None:
    """An address text as one integer on the shared v4/v6 number line, or None when it is not one."""
    try:
        if ":" in text:
            return int.from_bytes(socket.inet_pton(socket.AF_INET6, text.split("%", 1)[0])) + V6_OFFSET
        return int.from_bytes(socket.inet_pton(socket.AF_INET, text))
    except (OSError, ValueError):
        return None


class IndicatorSet:
    """Lookup structures; build with ``from_indicators``, ``from_rows`` or ``load``."""

    __slots__ = ("_ends", "_range_cache", "_segments", "_starts", "allowlist", "cidrs", "tables")

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Meta]] = {t: {} for t in EXACT_TYPES}
        self.cidrs: dict[str, Meta] = {}
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._segments: list[tuple[str, Meta]] = []
        self._range_cache: dict[str, int] = {}  # address text -> segment index or -1 (traffic repeats)
        self.allowlist = Allowlist()

    # -- building ---------------------------------------------------------------------------------
    @classmethod
    def from_indicators(cls, indicators: Iterable[Indicator]) -> IndicatorSet:
        return cls.from_rows((i.type, i.value, i.meta) for i in indicators)

    @classmethod
    def from_rows(cls, rows: Iterable[Row]) -> IndicatorSet:
        """Rows of already-normalised values; of two rows with one value the higher confidence wins."""
        result = cls()
        result.add_rows(rows)
        return result

    def add_rows(self, rows: Iterable[Row]) -> None:
        """Add rows (the higher confidence wins on a repeated value) and rebuild the range table."""
        shared: dict[Meta, Meta] = {}
        tables, cidrs = self.tables, self.cidrs
        for kind, value, given in rows:
            meta = shared.setdefault(given, given)
            table = cidrs if kind == v.CIDR else tables.get(kind)
            if table is None:
                continue
            old = table.get(value)
            if old is None or meta[2] > old[2]:
                table[value] = meta
        self._build_ranges()

    def add_group(self, kind: str, meta: Meta, values: list[str]) -> None:
        """Many values sharing one metadata tuple at C speed (the snapshot's load); call ``finish`` after."""
        table = self.cidrs if kind == v.CIDR else self.tables.get(kind)
        if table is not None:
            table.update(dict.fromkeys(values, meta))

    def finish(self) -> None:
        self._build_ranges()

    def groups(self) -> Iterator[tuple[str, Meta, list[str]]]:
        """``(type, meta, values)`` per type and shared metadata tuple (what a snapshot stores)."""
        for kind, table in [*self.tables.items(), (v.CIDR, self.cidrs)]:
            by_meta: dict[int, tuple[Meta, list[str]]] = {}
            for value, meta in table.items():
                entry = by_meta.get(id(meta))
                if entry is None:
                    entry = by_meta[id(meta)] = (meta, [])
                entry[1].append(value)
            for meta, found in by_meta.values():
                yield kind, meta, found

    def _build_ranges(self) -> None:
        self._range_cache.clear()
        ranges: list[tuple[int, int, str, Meta]] = []
        for value, meta in self.cidrs.items():
            net = ipaddress.ip_network(value)
            offset = 0 if net.version == 4 else V6_OFFSET
            ranges.append(
                (int(net.network_address) + offset, int(net.broadcast_address) + offset, value, meta)
            )
        ranges.sort(key=lambda r: (r[0], -r[1]))
        points = sorted({r[0] for r in ranges} | {r[1] + 1 for r in ranges})
        stack: list[tuple[int, int, str, Meta]] = []
        i = 0
        starts, ends, segments = self._starts, self._ends, self._segments
        starts.clear()
        ends.clear()
        segments.clear()
        for n, point in enumerate(points):
            while stack and stack[-1][1] < point:
                stack.pop()
            while i < len(ranges) and ranges[i][0] == point:
                stack.append(ranges[i])  # sorted outer first, so the innermost ends on top
                i += 1
            if stack and n + 1 < len(points):
                top = stack[-1]
                starts.append(point)
                ends.append(min(points[n + 1] - 1, top[1]))
                segments.append((top[2], top[3]))

    # -- reading ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return sum(len(t) for t in self.tables.values()) + len(self.cidrs)

    def counts(self) -> dict[str, int]:
        found = {kind: len(table) for kind, table in self.tables.items() if table}
        if self.cidrs:
            found[v.CIDR] = len(self.cidrs)
        return found

    def rows(self) -> Iterator[Row]:
        for kind, table in self.tables.items():
            for value, meta in table.items():
                yield kind, value, meta
        for value, meta in self.cidrs.items():
            yield v.CIDR, value, meta

    def match_ip(self, value: str, now: float | None = None) -> Indicator | None:
        """The indicator an IP address text falls under (exact or innermost CIDR), or None."""
        now = time.time() if now is None else now
        meta = self.tables[v.IP].get(value)
        if meta is not None and meta[4] > now:
            return to_indicator(v.IP, value, meta)
        if not self._starts:
            return None
        pos = self._range_cache.get(value)
        if pos is None:
            pos = self._segment(value)
        if pos >= 0:
            cidr, meta = self._segments[pos]
            if meta[4] > now:
                return to_indicator(v.CIDR, cidr, meta)
        return None

    @property
    def range_cache(self) -> dict[str, int]:
        """``in_ranges``' memory, {address text: segment index or -1}, read by ``_native.address_scan``."""
        return self._range_cache

    def in_ranges(self, value: object) -> bool:
        """Whether an address text falls in a listed CIDR range (expiry aside): the detector's fast test."""
        if value.__class__ is not str:
            return False
        pos = self._range_cache.get(value)
        if pos is None:
            pos = self._segment(value)
        return pos >= 0

    def _segment(self, value: str) -> int:
        """The index of the segment holding an address, or -1; remembered (traffic repeats addresses)."""
        num = ip_number(value)
        pos = -1 if num is None else bisect.bisect_right(self._starts, num) - 1
        if pos >= 0 and num is not None and num > self._ends[pos]:
            pos = -1
        if len(self._range_cache) >= RANGE_CACHE:
            self._range_cache.clear()
        self._range_cache[value] = pos
        return pos

    def match_domain(self, value: str, now: float | None = None, kind: str = v.DOMAIN) -> Indicator | None:
        """A listed domain matches itself and its subdomains (``a.b.evil.example`` under ``evil.example``)."""
        table = self.tables[kind]
        if not table:
            return None
        now = time.time() if now is None else now
        name = value.lower().rstrip(".") if not value.islower() or value.endswith(".") else value
        start = 0
        while True:
            meta = table.get(name[start:] if start else name)
            if meta is not None and meta[4] > now:
                return to_indicator(kind, name[start:], meta)
            start = name.find(".", start) + 1
            if start == 0 or name.find(".", start) < 0:  # never look up a bare top-level domain
                return None

    def match(self, kind: str, value: str, now: float | None = None) -> Indicator | None:
        """Look ``value`` (normalised for ``kind``) up with that type's semantics."""
        if kind in (v.IP, v.CIDR):
            return self.match_ip(value, now)
        if kind in (v.DOMAIN, v.EMAIL_DOMAIN):
            return self.match_domain(value, now, kind)
        table = self.tables.get(kind)
        meta = table.get(value) if table else None
        if meta is None or meta[4] <= (time.time() if now is None else now):
            return None
        return to_indicator(kind, value, meta)


class Allowlist:
    """Known-good values (provider-wide and per tenant) that suppress hits; the reason is the description."""

    __slots__ = ("provider", "tenants")

    def __init__(
        self, provider: IndicatorSet | None = None, tenants: dict[str, IndicatorSet] | None = None
    ) -> None:
        self.provider = provider
        self.tenants = tenants or {}

    def __bool__(self) -> bool:
        return self.provider is not None or bool(self.tenants)

    def reason(self, tenant_id: str, kind: str, value: str) -> str | None:
        """Why ``value`` is allowed for this tenant, or None when it is not on any allowlist."""
        for found in (self.provider, self.tenants.get(tenant_id)):
            if found is None:
                continue
            hit = found.match(kind, value, 0.0)
            if hit is None and kind == v.URL:
                hit = found.match_domain(value.split("/", 1)[0].split(":", 1)[0], 0.0)
            if hit is not None:
                return hit.description or "allowlisted"
        return None


def parse_line(line: str) -> Indicator | None:
    """One indicator from one line; None for blanks and comments; ValueError with a reason when bad."""
    text = line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""
    if not text:
        return None
    parts = [p.strip() for p in text.split("\t")]
    value, kind = parts[0], (parts[1] if len(parts) > 1 else "")
    description = parts[2] if len(parts) > 2 else ""
    kind, value = v.normalise(kind or v.guess(value), value)
    return Indicator(value, kind, description)


def load(path: Path) -> tuple[IndicatorSet, list[str]]:
    """Load an indicator file; returns the set and the errors as ``"path:line: reason"`` strings."""
    indicators, errors = read_file(path)
    return IndicatorSet.from_indicators(indicators), errors


def read_file(path: Path) -> tuple[list[Indicator], list[str]]:
    """The indicators of a plain file and its errors (see the module docstring for the format)."""
    indicators: list[Indicator] = []
    errors: list[str] = []
    if not path.exists():
        return [], [f"{path}: file not found"]
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                ind = parse_line(line)
            except ValueError as exc:
                errors.append(f"{path}:{number}: {exc}")
                continue
            if ind is not None:
                indicators.append(ind)
    return indicators, errors
