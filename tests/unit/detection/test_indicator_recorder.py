"""Recorder.add_addresses: the scan's address tallies merged as ``merge`` would merge one Tally each."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from mimamori.detection.indicators.recorder import Recorder, Tally


def _batch(rng: random.Random, start: datetime) -> dict[tuple[str, str], list[Any]]:
    out: dict[tuple[str, str], list[Any]] = {}
    for _ in range(rng.randint(0, 30)):
        first = start + timedelta(hours=rng.randint(0, 60), seconds=rng.randint(0, 59))
        last = first + timedelta(seconds=rng.randint(0, 90))
        device = rng.choice([None, "", "192.168.1.5", "192.168.1.6"])
        key = (rng.choice(["t1", "t2"]), f"198.51.100.{rng.randint(1, 12)}")
        out[key] = [first, last, rng.randint(1, 5), device, rng.random() < 0.5]
    return out


def _tallies(held: Recorder) -> dict[Any, tuple[Any, ...]]:
    _, observations = held.drain()
    return {k: (t.first, t.last, t.count, t.device, t.allowed) for k, t in observations.items()}


def test_add_addresses_is_merge_of_one_tally_each() -> None:
    rng = random.Random(3)
    start = datetime(2026, 11, 26, 23, tzinfo=UTC)  # batches straddle UTC days
    for _ in range(200):
        fast, reference = Recorder(max_entries=rng.choice([5, 1000])), Recorder()
        reference.max_entries = fast.max_entries
        for _ in range(rng.randint(1, 4)):
            batch = _batch(rng, start)
            fast.add_addresses({k: list(v) for k, v in batch.items()}, "ip")
            reference.merge(
                {},
                {
                    (tenant, first.date(), "ip", ip): Tally(first, last, count, device, allowed)
                    for (tenant, ip), (first, last, count, device, allowed) in batch.items()
                },
            )
        assert fast.dropped == reference.dropped
        assert _tallies(fast) == _tallies(reference)
