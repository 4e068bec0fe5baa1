"""What the indicator detector remembers between batches: sightings and observed values, aggregated.

Both are bounded aggregates, never a row per event: a sighting is (tenant, UTC day, indicator) with first
and last time and a count (for the sharing features); an observation is (tenant, UTC day, type, value) of
an external address, name, URL, hash or fingerprint seen in any event, with first/last time, count, the
first internal device and whether any of them was allowed through. Retro-hunting searches the stored
observations when new indicators arrive (there is no event archive yet). The pipeline drains the recorder
in the same transaction as the batch's alerts (``services.indicators.record``); past ``max_entries``
distinct keys new keys are dropped and counted rather than growing without bound.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

MAX_ENTRIES = 200_000  # distinct keys held between two drains (about 40 MB at worst)
FLUSH_SECONDS = 30.0  # observed values are written at most this often (a batch-by-batch upsert of
# thousands of distinct values halved the pipeline's throughput); a crash loses at most this much
# retro-hunt history, never an alert
FLUSH_ENTRIES = 50_000  # ... or as soon as this many distinct keys are waiting

Key = tuple[str, date, str, str]  # tenant, UTC day, type, value


@dataclass(slots=True)
class Tally:
    first: datetime
    last: datetime
    count: int = 1
    device: str | None = None  # the first internal address that showed the value
    allowed: bool = False  # at least one of the events was not blocked

    def merge(self, other: Tally) -> None:
        self.first = min(self.first, other.first)
        self.last = max(self.last, other.last)
        self.count += other.count
        self.device = self.device or other.device
        self.allowed = self.allowed or other.allowed


def add(table: dict[Key, Tally], key: Key, when: datetime, device: str | None, allowed: bool) -> None:
    """Count one occurrence of ``key`` in a batch-local table."""
    tally = table.get(key)
    if tally is None:
        table[key] = Tally(when, when, 1, device, allowed)
        return
    if when < tally.first:
        tally.first = when
    elif when > tally.last:
        tally.last = when
    tally.count += 1
    if allowed:
        tally.allowed = True
    if tally.device is None:
        tally.device = device


class Recorder:
    """Thread-safe buffers of sightings and observations, merged per batch and drained by the pipeline."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.dropped = 0
        self._lock = threading.Lock()
        self._sightings: dict[Key, Tally] = {}
        self._observations: dict[Key, Tally] = {}
        self._last_drain = time.monotonic()

    def due(self, now: float | None = None) -> bool:
        """True when the held values should be written: ``FLUSH_SECONDS`` passed or many are waiting."""
        now = time.monotonic() if now is None else now
        return now - self._last_drain >= FLUSH_SECONDS or len(self) >= FLUSH_ENTRIES

    def merge(self, sightings: dict[Key, Tally], observations: dict[Key, Tally]) -> None:
        with self._lock:
            for mine, theirs in ((self._sightings, sightings), (self._observations, observations)):
                for key, tally in theirs.items():
                    held = mine.get(key)
                    if held is not None:
                        held.merge(tally)
                    elif len(mine) < self.max_entries:
                        mine[key] = tally
                    else:
                        self.dropped += 1

    def add_addresses(self, addresses: dict[tuple[str, str], list[Any]], kind: str) -> None:
        """Merge the addresses a batch's scan tallied, ``{(tenant, address): [first, last, count,
        device, allowed]}``, as observations of type ``kind`` on the first occurrence's day: the same as
        ``merge`` with one ``Tally`` each, without the batch-local table in between (most events of a
        batch add one address)."""
        with self._lock:
            mine = self._observations
            for (tenant, value), (first, last, count, device, allowed) in addresses.items():
                key = (tenant, first.date(), kind, value)
                held = mine.get(key)
                if held is None:
                    if len(mine) < self.max_entries:
                        mine[key] = Tally(first, last, count, device, allowed)
                    else:
                        self.dropped += 1
                    continue
                held.first = min(held.first, first)
                held.last = max(held.last, last)
                held.count += count
                if not held.device:
                    held.device = device
                if allowed:
                    held.allowed = True

    def drain(self) -> tuple[dict[Key, Tally], dict[Key, Tally]]:
        """Take everything recorded so far: ``(sightings, observations)``."""
        with self._lock:
            self._last_drain = time.monotonic()
            sightings, self._sightings = self._sightings, {}
            observations, self._observations = self._observations, {}
        return sightings, observations

    def __len__(self) -> int:
        return len(self._sightings) + len(self._observations)
