"""Shared fixtures of the parser tests: records from bytes, golden-file comparison, event invariants.

Golden files live in ``tests/data/parsers/<format>/NAME.log`` (one record per line) with the expected
``NAME.json`` beside them: a list with, per line, ``null`` (no event) or ``{dataset, timestamp, fields}``.
Set ``MIMAMORI_REGEN_GOLDEN=1`` to rewrite the JSON from the current parser, then review the diff by eye.
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mimamori.domain.models import Event, RawRecord
from mimamori.parsers import Parser

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "parsers"
# The project's shared test data sits beside the repository (../shared/data); overridable for other layouts.
SHARED_DATA = Path(
    os.environ.get("MIMAMORI_SHARED_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data")
)
RECEIVED_AT = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
TENANT = "tenant-a"
SENSOR = "sensor-1"


def record(fmt: str, data: bytes | str, received_at: datetime = RECEIVED_AT) -> RawRecord:
    raw = data.encode() if isinstance(data, str) else data
    return RawRecord(TENANT, SENSOR, fmt, raw, received_at, origin="test")


def as_json(event: Event | None) -> dict[str, Any] | None:
    if event is None:
        return None
    return {"dataset": event.dataset, "timestamp": event.timestamp.isoformat(), "fields": event.fields}


def check_event(event: Event | None) -> None:
    """The invariants every parser promises, whatever the input."""
    if event is None:
        return
    assert isinstance(event, Event)
    assert event.timestamp.tzinfo is not None
    assert event.timestamp.utcoffset() is not None
    assert event.timestamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert event.tenant_id == TENANT
    assert event.sensor_id == SENSOR
    assert isinstance(event.dataset, str)
    assert event.dataset
    for name, value in event.fields.items():
        assert isinstance(name, str)
        assert "\x00" not in name
        values = value if isinstance(value, list) else [value]
        for item in values:
            assert isinstance(item, str | int | float | bool), (name, value)
            if isinstance(item, str):
                assert "\x00" not in item, name
            elif isinstance(item, float):
                assert math.isfinite(item), name
            elif isinstance(item, int):
                assert -(2**63) <= item < 2**63, name


def check_golden(fmt: str, name: str, parser: Parser) -> None:
    source = DATA_DIR / fmt / f"{name}.log"
    expected_path = DATA_DIR / fmt / f"{name}.json"
    lines = source.read_bytes().splitlines()
    actual = []
    for line in lines:
        event = parser(record(fmt, line))
        check_event(event)
        actual.append(as_json(event))
    if os.environ.get("MIMAMORI_REGEN_GOLDEN") == "1":
        text = json.dumps(actual, indent=2, ensure_ascii=False) + "\n"
        expected_path.write_text(text, encoding="utf-8")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    assert len(expected) == len(lines)
    for number, (want, got) in enumerate(zip(expected, actual, strict=True), 1):
        assert got == want, f"{source.name} line {number}"
