"""Simulator runs parsed into Events, cached per argument set (shared by the behaviour tests)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from mimamori.domain import Event, RawRecord
from mimamori.parsers import PARSERS
from mimamori.sim import generate
from mimamori.sim.model import GroundTruth

START = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)


@lru_cache(maxsize=8)
def sim_events(
    fmt: str, scenarios: tuple[str, ...], tenants: int, hours: int, rate: int = 60
) -> tuple[tuple[Event, ...], tuple[GroundTruth, ...]]:
    """The parsed events (tenant ids ``t0``, ``t1``...) and ground truth of one simulator run."""
    run = generate(
        tenants=tenants,
        seed=7,
        scenarios=list(scenarios),
        fmt=fmt,
        start=START,
        duration=timedelta(hours=hours),
        events_per_minute=rate,
    )
    parse = PARSERS[fmt]
    events: list[Event] = []
    for record in run.records:
        raw = RawRecord(f"t{record.tenant_index}", "s1", fmt, record.line, record.timestamp)
        event = parse(raw)
        if event is not None:
            events.append(event)
    events.sort(key=lambda e: e.timestamp)
    return tuple(events), tuple(run.truth)


def truths_for(truths: Sequence[GroundTruth], detector: str) -> list[GroundTruth]:
    return [t for t in truths if t.detector == detector]
