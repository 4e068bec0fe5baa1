"""Feed samples (tests/data/feeds, written from each feed's documentation) and the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "feeds"
SHARED_DATA = Path(
    os.environ.get("MIMAMORI_SHARED_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data")
)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found: {path}")
    return path
