"""Benchmark: every parser in ``PARSERS`` over a representative corpus, one core, one process.

    python bench/parsers.py [--formats fortigate,zeek] [--seconds 2] [--records 200000]

Per format the corpus of ``bench/parser_corpus.py`` (golden lines, simulated FortiGate/Zeek volume, real
Suricata/Zeek/EVTX samples when ``/work/shared/data`` is present) is parsed over and over until
``--records`` records or ``--seconds`` seconds, whichever comes first. Prints a table (format,
events/s, µs/event, records, quarantined share, corpus size) with a same-run baseline, ``orjson.loads``
over the Zeek corpus, so that ratios stay comparable on a noisy shared machine; then peak RSS; and as
the LAST line exactly one JSON object ``{"<format>": events_per_second, ...}`` (the contract for tools).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import resource
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
from parser_corpus import corpus

from mimamori.domain.models import RawRecord
from mimamori.errors import ParseError
from mimamori.parsers import PARSERS

RECEIVED_AT = datetime(2026, 11, 26, 12, tzinfo=UTC)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run(
    parse: Callable[[RawRecord], object], records: list[RawRecord], limit: int, seconds: float
) -> dict[str, float]:
    """Parse ``records`` in passes until ``limit`` records or ``seconds``; count refusals."""
    done = quarantined = 0
    elapsed = 0.0
    clock = time.perf_counter
    for record in records[:1000]:  # warm-up: caches, first-call imports
        with contextlib.suppress(ParseError):
            parse(record)
    while done < limit and elapsed < seconds:
        batch = records[: limit - done]
        started = clock()
        for record in batch:
            try:
                parse(record)
            except ParseError:
                quarantined += 1
        elapsed += clock() - started
        done += len(batch)
    return {"records": done, "seconds": elapsed, "quarantined": quarantined}


def baseline(lines: list[bytes], limit: int, seconds: float) -> dict[str, float]:
    """``orjson.loads`` over the same kind of input: what "as fast as C JSON" means on this machine now."""
    records = [RawRecord("t", "s", "zeek", line, RECEIVED_AT) for line in lines if line.startswith(b"{")]

    def loads(record: RawRecord) -> object:
        return orjson.loads(record.data)

    return run(loads, records, limit, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--formats", default="", help="comma-separated subset of PARSERS (default: all)")
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per format")
    parser.add_argument("--records", type=int, default=200_000, help="record budget per format")
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f] or sorted(PARSERS)
    unknown = [f for f in formats if f not in PARSERS]
    if unknown:
        parser.error(f"unknown formats {unknown}; known: {sorted(PARSERS)}")

    corpora = {fmt: corpus(fmt) for fmt in sorted({*formats, "zeek"})}
    gc.collect()
    gc.freeze()  # the corpus is long-lived: keep the collector from rescanning it
    results: dict[str, dict[str, float]] = {}
    for fmt in formats:
        records = [RawRecord("tenant-a", "sensor-1", fmt, line, RECEIVED_AT) for line in corpora[fmt]]
        if not records:
            print(f"{fmt}: no corpus (no golden lines, no samples)", file=sys.stderr)
            continue
        results[fmt] = run(PARSERS[fmt], records, args.records, args.seconds) | {"corpus": len(records)}
    base = baseline(corpora["zeek"], args.records, args.seconds)

    speeds = {fmt: round(r["records"] / r["seconds"]) for fmt, r in results.items()}
    print(f"{'format':<14}{'events/s':>12}{'µs/event':>10}{'records':>10}{'quarantined':>13}{'corpus':>8}")
    for fmt, r in results.items():
        share = r["quarantined"] / r["records"]
        print(
            f"{fmt:<14}{speeds[fmt]:>12,}{1e6 / speeds[fmt]:>10.2f}{int(r['records']):>10,}"
            f"{share:>12.1%} {int(r['corpus']):>7,}"
        )
    base_speed = base["records"] / base["seconds"]
    base_records = int(base["records"])
    print(
        f"{'(orjson zeek)':<14}{round(base_speed):>12,}{1e6 / base_speed:>10.2f}{base_records:>10,}  baseline"
    )
    print(f"peak RSS {peak_rss_mib():.1f} MiB")
    print(json.dumps(speeds))


if __name__ == "__main__":
    main()
