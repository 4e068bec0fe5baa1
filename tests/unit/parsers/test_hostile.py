"""Attacker-controlled bytes: every parser returns an Event or None, or raises ParseError, nothing else.

Seeded ``random`` mutations of valid lines (truncation, byte flips, insertions of syntax characters),
random bytes, and hand-made worst cases (1 MB lines, deep nesting, huge numbers). Each case must also
finish quickly: a regex with quadratic backtracking would show up here as a timeout-like slowness.
"""

from __future__ import annotations

import random
import time

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import PARSERS

from .conftest import DATA_DIR, check_event, record

SEED = 20240301
MUTATIONS_PER_LINE = 60
SPECIAL = [b'"', b"=", b"\\", b"\x00", b"{", b"}", b"[", b"]", b"<", b">", b" ", b"\xff", b"\xc3", b"-", b":"]
MB = 1 << 20
WORST_CASES = [
    b"",
    b"\x00" * 100,
    b"\xff\xfe" * 1000,
    b"a" * MB,
    b"a=" * (MB // 2),
    b'a="' * (MB // 3),
    b"<13>" + b"x" * MB,
    b"<13>1 " + b"- " * (MB // 2),
    b"<13>1 2024-01-01T00:00:00Z h a p m " + b"[x" * (MB // 2),
    b'<13>1 2024-01-01T00:00:00Z h a p m [x a="' + b"\\" * MB,
    b"type=event " + b'k="\\' * (MB // 4),
    b"[" * 100_000,
    b'{"a":' * 100_000,
    b'{"ts":1,"_path":"conn","x":' + b"9" * 5000 + b"}",
    b'{"ts":1e999}',
    b'{"ts":NaN,"_path":"dns"}',
    b'"just a string"',
    b"12345",
    b"null",
    b'{"ts":"2024-01-01T00:00:00","_path":"conn","id.orig_p":-1,"orig_bytes":1e308}',
    b"date=9999-12-31 time=23:59:59 tz=-2359 type=event",
    b"eventtime=" + b"9" * 100_000 + b" type=event",
]


def _run(fmt: str, data: bytes) -> None:
    parser = PARSERS[fmt]
    try:
        event = parser(record(fmt, data))
    except ParseError:
        return  # the one refusal allowed; any other exception fails the test
    check_event(event)


def _mutations(line: bytes, rng: random.Random) -> list[bytes]:
    out = [line[: rng.randrange(len(line) + 1)] for _ in range(MUTATIONS_PER_LINE // 3)]
    for _ in range(MUTATIONS_PER_LINE):
        data = bytearray(line)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(data) + 1)
            op = rng.random()
            if op < 0.4:
                data[pos:pos] = rng.choice(SPECIAL)
            elif op < 0.7 and data:
                data[min(pos, len(data) - 1)] = rng.randrange(256)
            else:
                del data[pos : pos + rng.randint(1, 8)]
        out.append(bytes(data))
    return out


def _valid_lines() -> list[bytes]:
    lines: list[bytes] = []
    for path in sorted(DATA_DIR.glob("*/*.log")):
        lines.extend(line for line in path.read_bytes().splitlines() if line.strip())
    return lines


@pytest.mark.parametrize("fmt", sorted(PARSERS))
def test_mutated_valid_lines(fmt: str) -> None:
    rng = random.Random(SEED)
    for line in _valid_lines():
        for data in _mutations(line, rng):
            _run(fmt, data)


@pytest.mark.parametrize("fmt", sorted(PARSERS))
def test_random_bytes(fmt: str) -> None:
    rng = random.Random(SEED + 1)
    for _ in range(2000):
        _run(fmt, rng.randbytes(rng.randrange(0, 300)))


@pytest.mark.parametrize("fmt", sorted(PARSERS))
@pytest.mark.parametrize("case", range(len(WORST_CASES)))
def test_worst_cases_are_refused_fast(fmt: str, case: int) -> None:
    # A bound against pathological (e.g. quadratic) behaviour, not a benchmark: generous, because CI shares
    # two cores with other work. Records over 64 KiB never reach a parser in the pipeline anyway.
    started = time.process_time()
    _run(fmt, WORST_CASES[case])
    assert time.process_time() - started < 10.0
