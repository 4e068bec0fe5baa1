"""Long fuzz run: every parser in ``PARSERS`` against ≥ 10^6 random and mutated inputs, plus giant inputs.

    python bench/fuzz_parsers.py [--cases 1000000] [--formats a,b] [--jobs 2] [--seed 1] [--out DIR]

The contract under test is the one of ``mimamori.parsers``: a parser returns an Event within the model
(str/int/float/bool values or lists of them, no NUL, finite floats, 64-bit ints, aware UTC timestamp),
``None``, or raises ``ParseError``; anything else is a failure, and so is a single case that takes over
``--slow`` seconds. Cases: random bytes, mutations of ``bench/parser_corpus.py`` lines (bit flips,
truncation, duplicated slices, inserted syntax characters, escapes, NULs, huge numbers, long tokens),
and for JSON formats random JSON with real key names and wrong value types. No shrinking: a failing
input is written as-is to ``--out`` and its path printed.

Then, per parser, giant inputs: a 10 MB line (plain, inside a valid line, as a JSON string value) and
100,000-deep JSON nesting, each checked for time (``--giant-seconds``) and ``tracemalloc`` peak
(``--giant-mib``). The LAST line is one JSON object: ``{"<format>": {"cases": n, "failures": k}, ...}``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import random
import sys
import time
import traceback
import tracemalloc
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from mutations import mutate
from parser_corpus import corpus

from mimamori.domain.models import Event, RawRecord
from mimamori.errors import ParseError
from mimamori.parsers import PARSERS

RECEIVED_AT = datetime(2026, 11, 26, 12, tzinfo=UTC)
MB = 1 << 20
SCALARS: list[Any] = [
    None, True, False, 0, -1, 2**63, -(2**63) - 1, 2**80, 1.5, 1e308, -0.0, "", "N/A",
    "2024-03-01T00:00:00Z", "1709254800.5", "10.0.0.1", "::1", "\x00", "\ud7ff", "x" * 300,
]  # fmt: skip

SLOW_SECONDS = 1.0  # one case slower than this is a failure (--slow)
# Set in each worker (inherited through fork, or rebuilt by ``_init``).
_LINES: dict[str, list[bytes]] = {}
_KEYS: list[str] = []


def problem(event: object) -> str | None:
    """Why ``event`` breaks the parser contract, or None."""
    if event is None:
        return None
    if not isinstance(event, Event):
        return f"returned {type(event).__name__}"
    offset = event.timestamp.utcoffset()
    if offset is None or offset.total_seconds() != 0:
        return "timestamp not aware UTC"
    if not event.dataset or not isinstance(event.dataset, str):
        return "empty dataset"
    for name, value in event.fields.items():
        if not isinstance(name, str) or "\x00" in name:
            return f"bad field name {name!r:.80}"
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str | int | float | bool):
                return f"{name}: {type(item).__name__} value"
            if isinstance(item, str) and "\x00" in item:
                return f"{name}: NUL in value"
            if isinstance(item, float) and not math.isfinite(item):
                return f"{name}: non-finite float"
            if isinstance(item, int) and not -(2**63) <= item < 2**63:
                return f"{name}: int beyond 64 bits"
    return None


def run_case(fmt: str, data: bytes) -> str | None:
    """None when the parser kept its contract on ``data``, else the reason."""
    try:
        return problem(PARSERS[fmt](RawRecord("tenant-a", "sensor-1", fmt, data, RECEIVED_AT)))
    except ParseError:
        return None
    except Exception as exc:  # every other exception is the finding
        return "".join(traceback.format_exception_only(exc)).strip()[:300]


def random_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 4 or roll < 0.5:
        return rng.choice(SCALARS) if rng.random() < 0.7 else rng.randbytes(8).decode("latin-1")
    if roll < 0.65:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(_KEYS): random_json(rng, depth + 1) for _ in range(rng.randint(0, 6))}


def json_case(lines: list[bytes], rng: random.Random) -> bytes:
    """A real object with some values replaced by random JSON, or an object of random real keys."""
    try:
        doc = json.loads(rng.choice(lines))
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or rng.random() < 0.3:
        doc = {}
    for _ in range(rng.randint(1, 5)):
        target = doc
        while target and rng.random() < 0.5:
            inner = target[rng.choice(list(target))]
            if not isinstance(inner, dict):
                break
            target = inner
        key = rng.choice(list(target)) if target and rng.random() < 0.6 else rng.choice(_KEYS)
        target[key] = random_json(rng)
    return json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _collect_keys(value: Any, out: set[str]) -> None:
    if isinstance(value, dict):
        out.update(value)
        for inner in value.values():
            _collect_keys(inner, out)
    elif isinstance(value, list):
        for inner in value:
            _collect_keys(inner, out)


def _prepare(formats: list[str]) -> None:
    keys: set[str] = set()
    for fmt in formats:
        lines = corpus(fmt, real_limit=300)
        _LINES[fmt] = lines or [b""]
        for line in islice((x for x in lines if x.startswith(b"{")), 300):
            try:
                _collect_keys(json.loads(line), keys)
            except ValueError:
                continue
    _KEYS[:] = sorted(keys) or ["message"]


def fuzz_chunk(job: tuple[str, int, int]) -> tuple[str, int, float, int, list[tuple[str, bytes]]]:
    """Run ``count`` cases of ``fmt`` from ``seed``: count, CPU seconds, failures, the first 20 failing."""
    fmt, seed, count = job
    rng = random.Random(f"{fmt}:{seed}")
    lines = _LINES[fmt]
    is_json = any(line.startswith(b"{") for line in lines[:50])
    failures: list[tuple[str, bytes]] = []
    failed = 0
    clock = time.perf_counter
    cpu = time.process_time()
    for _ in range(count):
        roll = rng.random()
        if roll < 0.1:
            data = rng.randbytes(rng.randint(0, 400))
        elif is_json and roll < 0.35:
            data = json_case(lines, rng)
        else:
            data = mutate(rng.choice(lines), rng)
        started = clock()
        reason = run_case(fmt, data)
        if reason is None and clock() - started > SLOW_SECONDS:
            reason = f"slow: {clock() - started:.2f}s"
        if reason is not None:
            failed += 1
            if len(failures) < 20:
                failures.append((reason, data))
    return fmt, count, time.process_time() - cpu, failed, failures


def giants(fmt: str) -> list[tuple[str, bytes]]:
    line = _LINES[fmt][0]
    return [
        ("10MB plain", b"a" * (10 * MB)),
        ("10MB token in a valid line", line + b" " + b"x" * (10 * MB)),
        ("10MB quoted value", line + b' k="' + b"y" * (10 * MB) + b'"'),
        ("10MB JSON string", b'{"message":"' + b"z" * (10 * MB) + b'"}'),
        ("100k-deep JSON objects", b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
        ("100k-deep JSON arrays", b"[" * 100_000 + b"]" * 100_000),
    ]


def check_giants(fmt: str, limit_seconds: float, limit_mib: float) -> list[tuple[str, bytes]]:
    failures = []
    for name, data in giants(fmt):
        tracemalloc.start()
        started = time.perf_counter()
        reason = run_case(fmt, data)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / MB
        tracemalloc.stop()
        print(f"  {fmt:<12} {name:<28} {seconds:7.3f} s  peak {peak:8.1f} MiB  {reason or 'ok'}")
        if reason is None and seconds > limit_seconds:
            reason = f"{name}: {seconds:.1f}s > {limit_seconds}s"
        if reason is None and peak > limit_mib:
            reason = f"{name}: peak {peak:.0f} MiB > {limit_mib} MiB"
        if reason is not None:
            failures.append((reason, data))
    return failures


def save(out: Path, fmt: str, reason: str, data: bytes) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{fmt}-{hashlib.sha256(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    print(f"FAIL {fmt}: {reason} -> {path}", file=sys.stderr)
    return path


def main() -> None:
    global SLOW_SECONDS  # noqa: PLW0603  # a worker setting read by every fork
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases per parser")
    parser.add_argument("--formats", default="", help="comma-separated subset of PARSERS (default: all)")
    parser.add_argument("--jobs", type=int, default=multiprocessing.cpu_count())
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=20_000, help="cases per worker task")
    parser.add_argument("--slow", type=float, default=1.0, help="seconds after which one case fails")
    parser.add_argument("--giant-seconds", type=float, default=10.0)
    parser.add_argument("--giant-mib", type=float, default=400.0, help="tracemalloc peak limit (10 MB input)")
    parser.add_argument("--out", type=Path, default=Path("fuzz-failures"))
    args = parser.parse_args()
    SLOW_SECONDS = args.slow
    formats = [f for f in args.formats.split(",") if f] or sorted(PARSERS)
    unknown = [f for f in formats if f not in PARSERS]
    if unknown:
        parser.error(f"unknown formats {unknown}; known: {sorted(PARSERS)}")
    _prepare(formats)

    summary = {fmt: {"cases": 0, "failures": 0} for fmt in formats}
    jobs = [
        (fmt, args.seed * 1_000_003 + i, min(args.chunk, args.cases - start))
        for fmt in formats
        for i, start in enumerate(range(0, args.cases, args.chunk))
    ]
    cpu = dict.fromkeys(formats, 0.0)
    wall = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        for fmt, count, seconds, failed, failures in pool.imap_unordered(fuzz_chunk, jobs):
            summary[fmt]["cases"] += count
            summary[fmt]["failures"] += failed
            cpu[fmt] += seconds
            for reason, data in failures:
                save(args.out, fmt, reason, data)
            if summary[fmt]["cases"] >= args.cases:
                rate = args.cases / max(cpu[fmt], 1e-9)
                bad = summary[fmt]["failures"]
                print(
                    f"{fmt:<12} {args.cases:>10,} cases {rate:>9,.0f} cases/s/core {bad:>6} failures",
                    flush=True,
                )
    seconds = time.perf_counter() - wall
    total = sum(s["cases"] for s in summary.values())
    print(f"{total:,} cases in {seconds:.0f} s: {total / seconds:,.0f} cases/s over {args.jobs} processes")

    print("giant inputs (time, tracemalloc peak):")
    for fmt in formats:
        failures = check_giants(fmt, args.giant_seconds, args.giant_mib)
        summary[fmt]["cases"] += len(giants(fmt))
        summary[fmt]["failures"] += len(failures)
        for reason, data in failures:
            save(args.out, fmt, reason, data)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
