"""Recorder.due: observed values are written every FLUSH_SECONDS or once FLUSH_ENTRIES keys wait."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from mimamori.detection.indicators import recorder
from mimamori.detection.indicators.recorder import Recorder, Tally


def test_due_after_the_period_or_when_many_keys_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    held = Recorder()
    start = time.monotonic()
    assert not held.due(start)
    assert held.due(start + recorder.FLUSH_SECONDS + 1)
    monkeypatch.setattr(recorder, "FLUSH_ENTRIES", 2)
    now = datetime.now(UTC)
    table = {("t", date(2026, 11, 26), "ip", f"198.51.100.{i}"): Tally(now, now) for i in range(3)}
    held.merge({}, table)
    assert held.due(start)
    sightings, observations = held.drain()
    assert len(observations) == 3
    assert not sightings
    assert not held.due()  # draining restarts the period
