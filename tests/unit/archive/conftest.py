"""Events to archive: a small factory and a writer over a temporary root with a controllable clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mimamori.archive import ArchiveWriter
from mimamori.domain import Event, RawRecord

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
TENANT = "a1b2c3d4e5f60718"
OTHER = "ffffeeee00001111"


def event(
    when: datetime = T0,
    *,
    tenant: str = TENANT,
    raw: bytes = b"raw line",
    dataset: str = "zeek.conn",
    **fields: object,
) -> Event:
    flat = {k.replace("__", "."): v for k, v in fields.items()}
    record = RawRecord(tenant, "sensor-1", "zeek", raw, when)
    return Event(when, tenant, dataset, flat, "sensor-1", record)  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "archive"


@pytest.fixture
def make_writer(root: Path, clock: Clock) -> Callable[..., ArchiveWriter]:
    def build(**options: object) -> ArchiveWriter:
        return ArchiveWriter(root, fsync=False, clock=clock, **options)  # type: ignore[arg-type]

    return build
