"""JSON arrays: streamed element by element, whatever the block boundaries."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from mimamori.ingest.readers import jsonarray
from mimamori.ingest.readers.source import Oversize, Record

PRETTY = json.dumps(
    [
        {"a": 1, "s": 'brackets ] [ } { and "quotes" and \\ backslash, comma'},
        {"nested": {"list": [1, 2, {"x": "]"}]}, "u": "日本語"},
        [1, 2],
        "text",
        3,
    ],
    indent=2,
    ensure_ascii=False,
).encode()


def read(data: bytes, *, block: int = 5, limit: int = 4096) -> list[Record]:
    def chunks() -> Iterator[bytes]:
        for i in range(0, len(data), block):
            yield data[i : i + block]

    return list(jsonarray.read(chunks(), limit))


@pytest.mark.parametrize("block", [1, 2, 3, 5, 64, 100_000])
def test_elements_are_compacted_whatever_the_block_size(block: int) -> None:
    records = read(PRETTY, block=block)
    assert [json.loads(r) for r in records if isinstance(r, bytes)] == json.loads(PRETTY)
    assert all(b"\n" not in r for r in records if isinstance(r, bytes))


def test_empty_arrays_two_arrays_and_a_truncated_one() -> None:
    assert read(b" [ ] ") == []
    assert read(b'[{"a":1}]\n[{"b":2}]') == [b'{"a":1}', b'{"b":2}']
    assert read(b'[{"a":1},{"b":2') == [b'{"a":1}', b'{"b":2']  # the parser refuses the cut one


def test_an_element_over_the_limit_is_skipped_with_its_size() -> None:
    big = {"data": "x" * 500}
    data = json.dumps([{"a": 1}, big, {"b": 2}]).encode()
    records = read(data, block=16, limit=100)
    assert records[0] == b'{"a":1}'
    assert records[2] == b'{"b":2}'
    assert isinstance(records[1], Oversize)
    assert records[1].size == len(json.dumps(big))
    assert len(records[1].head) == 100


def test_sniff() -> None:
    assert jsonarray.sniff(b"\n  [\n {", "alerts.json")
    assert not jsonarray.sniff(b'{"a": 1}', "x.json")
