"""The FEEDS table: every format module registered, and no parser lets anything but FeedError escape."""

from __future__ import annotations

import pkgutil
import random

import pytest

import mimamori.feeds
from mimamori.feeds import FEEDS, FeedError

from .conftest import SAMPLES


def test_every_format_module_is_registered() -> None:
    modules = {m.name for m in pkgutil.iter_modules(mimamori.feeds.__path__) if m.name != "base"}
    registered = {f.parse.__module__.rsplit(".", 1)[1] for f in FEEDS.values()}
    assert modules == registered


def test_every_registered_name_matches_its_key() -> None:
    assert all(name == fmt.name and fmt.description for name, fmt in FEEDS.items())


def _mutations() -> list[bytes]:
    rng = random.Random(11)
    seeds = [p.read_bytes() for p in sorted(SAMPLES.rglob("*")) if p.is_file() and p.suffix != ".md"]
    found: list[bytes] = [b"", b"\x00\xff" * 50, b"{", b"[1, 2", b'{"Event": 3}', b'{"objects": [1, "x"]}']
    for seed in seeds:
        for _ in range(6):
            data = bytearray(seed)
            for _ in range(rng.randrange(1, 20)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
            found.append(bytes(data[: rng.randrange(len(data) + 1)]))
    return found


@pytest.mark.parametrize("fmt", sorted(FEEDS))
def test_hostile_input_gives_entries_errors_or_feed_error_only(fmt: str) -> None:
    options = {"value": "0", "header": "false"} if fmt == "csv" else {}
    for data in _mutations():
        try:
            result = FEEDS[fmt].parse(data, options)
        except FeedError:
            continue
        assert result.error_count >= len(result.errors)
        assert all(isinstance(e.value, str) for e in result.entries)
