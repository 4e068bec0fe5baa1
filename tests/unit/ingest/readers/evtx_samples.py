"""The shared EVTX attack samples the reader tests use (``MIMAMORI_SHARED_DATA``; skipped without them).

The same location as tests/unit/parsers/conftest.py's SHARED_DATA (a sibling package, not importable
from here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get("MIMAMORI_SHARED_DATA", Path(__file__).resolve().parents[4].parent / "shared" / "data")
)
SAMPLES = SHARED_DATA / "evtx-attack-samples"
# A file with 16 chunks (1,537 records): damage in its second chunk must not cost the other 15.
MULTI_CHUNK = SAMPLES / "Command and Control" / "bits_openvpn.evtx"
FIRST_CHUNK = 0x1000  # the file header's size: where the first chunk starts
CHUNK = 0x10000


def samples() -> list[Path]:
    """Every sample file, sorted; skips the calling test when the data is absent."""
    if not SAMPLES.is_dir():
        pytest.skip(f"sample data absent: {SAMPLES}")
    return sorted(SAMPLES.rglob("*.evtx"))
