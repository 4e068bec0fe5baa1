"""A set of indicators (IP addresses, CIDR ranges, domains) loaded from a plain file.

File format, one indicator per line: ``value<TAB>type<TAB>description`` (type and description optional;
type is ``ip``, ``cidr`` or ``domain`` and is guessed when missing). ``#`` starts a comment. Bad lines are
collected with their line number, never fatal. The full indicator engine (feeds, expiry, allowlists) is
its own issue; this store is what the first detector needs and keeps the same lookup shapes: hashed sets
for exact values, a sorted range table for CIDRs, suffix walks for domains.
"""

from __future__ import annotations

import bisect
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

MAX_DOMAIN_LABELS = 127


@dataclass(frozen=True, slots=True)
class Indicator:
    value: str
    type: str  # "ip" | "cidr" | "domain"
    description: str = ""


@dataclass(slots=True)
class IndicatorSet:
    """Lookup structures; build with ``IndicatorSet.from_indicators`` or ``load``."""

    ips: dict[str, Indicator] = field(default_factory=dict)
    domains: dict[str, Indicator] = field(default_factory=dict)
    _starts: list[int] = field(default_factory=list)
    _ranges: list[tuple[int, int, Indicator]] = field(default_factory=list)

    @classmethod
    def from_indicators(cls, indicators: list[Indicator]) -> IndicatorSet:
        result = cls()
        ranges: list[tuple[int, int, Indicator]] = []
        for ind in indicators:
            if ind.type == "ip":
                result.ips[ind.value] = ind
            elif ind.type == "domain":
                result.domains[ind.value] = ind
            else:
                net = ipaddress.ip_network(ind.value, strict=False)
                offset = 0 if net.version == 4 else 1 << 32  # keep v4 and v6 apart in one table
                ranges.append((int(net.network_address) + offset, int(net.broadcast_address) + offset, ind))
        ranges.sort(key=lambda r: (r[0], -r[1]))
        result._ranges = ranges
        result._starts = [r[0] for r in ranges]
        return result

    def __len__(self) -> int:
        return len(self.ips) + len(self.domains) + len(self._ranges)

    def match_ip(self, value: str) -> Indicator | None:
        """The indicator an IP address text falls under, or None."""
        hit = self.ips.get(value)
        if hit is not None or not self._ranges:
            return hit
        try:
            addr = ipaddress.ip_address(value)
        except ValueError:
            return None
        num = int(addr) + (0 if addr.version == 4 else 1 << 32)
        pos = bisect.bisect_right(self._starts, num)
        # Ranges may nest; scan back over candidates that start before the address.
        for start, end, ind in reversed(self._ranges[max(0, pos - 8) : pos]):
            if start <= num <= end:
                return ind
        return None

    def match_domain(self, value: str) -> Indicator | None:
        """A listed domain matches itself and its subdomains (``a.b.evil.example`` under ``evil.example``)."""
        if not self.domains:
            return None
        name = value.lower().rstrip(".")
        hit = self.domains.get(name)
        if hit is not None:
            return hit
        labels = name.split(".", MAX_DOMAIN_LABELS)
        for i in range(1, len(labels) - 1):
            hit = self.domains.get(".".join(labels[i:]))
            if hit is not None:
                return hit
        return None


def parse_line(line: str) -> Indicator | None:
    """One indicator from one line; None for blanks and comments; ValueError with a reason when bad."""
    text = line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""
    if not text:
        return None
    parts = [p.strip() for p in text.split("\t")]
    value, kind = parts[0], (parts[1] if len(parts) > 1 else "")
    description = parts[2] if len(parts) > 2 else ""
    if not kind:
        kind = "cidr" if "/" in value else ("ip" if _is_ip(value) else "domain")
    if kind == "ip":
        return Indicator(str(ipaddress.ip_address(value)), "ip", description)
    if kind == "cidr":
        return Indicator(str(ipaddress.ip_network(value, strict=False)), "cidr", description)
    if kind == "domain":
        name = value.lower().rstrip(".")
        if not name or " " in name or "/" in name or "." not in name:
            raise ValueError(f"not a domain name: {value!r}")
        return Indicator(name, "domain", description)
    raise ValueError(f"unknown indicator type {kind!r}")


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def load(path: Path) -> tuple[IndicatorSet, list[str]]:
    """Load an indicator file; returns the set and the errors as ``"path:line: reason"`` strings."""
    indicators: list[Indicator] = []
    errors: list[str] = []
    if not path.exists():
        return IndicatorSet(), [f"{path}: file not found"]
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                ind = parse_line(line)
            except ValueError as exc:
                errors.append(f"{path}:{number}: {exc}")
                continue
            if ind is not None:
                indicators.append(ind)
    return IndicatorSet.from_indicators(indicators), errors
