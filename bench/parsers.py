"""Benchmark: every parser in ``PARSERS`` over a representative corpus, one core, one process.

    python bench/parsers.py [--formats fortigate,zeek] [--seconds 2] [--records 200000] [--ab]

Per format the corpus of ``bench/parser_corpus.py`` (golden lines, simulated FortiGate/Zeek volume, real
Suricata/Zeek/EVTX samples when ``/work/shared/data`` is present) is parsed over and over until
``--records`` records or ``--seconds`` seconds, whichever comes first. Prints a table (format,
events/s, µs/event, records, quarantined share, corpus size, ratio) with a same-run baseline,
``orjson.loads`` over the Zeek corpus. The first line names the parser build (mypyc-compiled or pure)
and whether the C speedups (``mimamori.parsers._native``) are on. On a shared machine whose speed
changes from one second to the next, each format's ``ratio`` is its speed over the baseline measured
right before and right after it (half a second each): compare ratios, not events/s, between runs.
When the EVTX samples are present, one more row times the EVTX *reader and parser* together over the
sample files (the ingest path: ``mimamori.ingest.readers.evtx.read`` then ``parsers.evtx.parse``).
With ``--ab`` (and ``evtx`` among the formats), one more line: the EVTX parser with its C speedups
switched off and on, alternating chunks of the corpus in this process, µs per record of each. Then
peak RSS; and as the LAST line exactly one JSON object ``{"<format>": events_per_second, ...}``
(the contract for tools; parsers only).
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
from parser_corpus import SHARED, corpus

from mimamori.domain.models import RawRecord
from mimamori.errors import IngestError, ParseError
from mimamori.parsers import BUILD, PARSERS, _native

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


def evtx_reader(seconds: float) -> dict[str, float] | None:
    """Reader + parser over the EVTX sample files, file after file until ``seconds``; None without them."""
    from mimamori.ingest.readers import evtx as reader  # noqa: PLC0415 - only when the samples exist

    paths = sorted((SHARED / "evtx-attack-samples").rglob("*.evtx"))
    if not paths:
        return None
    parse = PARSERS["evtx"]
    done = quarantined = 0
    clock = time.perf_counter
    started = clock()
    while clock() - started < seconds:
        for path in paths:
            try:
                records = reader.read(path)
            except IngestError:  # not an EVTX file after all: not part of the measurement
                continue
            for _, data in records:
                try:
                    parse(RawRecord("tenant-a", "sensor-1", "evtx", data, RECEIVED_AT))
                except ParseError:
                    quarantined += 1
                done += 1
    return {"records": done, "seconds": clock() - started, "quarantined": quarantined, "corpus": 0}


def evtx_ab(records: list[RawRecord], seconds: float) -> tuple[float, float, int]:
    """The EVTX parser with its C speedups switched off and on, alternating chunks of the same records
    in this process (so that the machine's changing load hits both alike): µs per record of each, and
    the number of chunks. Without the speedups both sides are the pure parser."""
    from mimamori.parsers import evtx  # noqa: PLC0415 - only for --ab
    from mimamori.parsers.evtx import channels, ecs, values  # noqa: PLC0415

    pure = [(evtx, "_fields_c", None)] + [
        (module, name, getattr(values, "_" + name))
        for module in (values, ecs, channels)
        for name in ("get", "copy")
    ]
    native = [(module, name, getattr(module, name)) for module, name, _ in pure]
    clock = time.perf_counter
    spent = {"pure": 0.0, "C": 0.0}
    done = {"pure": 0, "C": 0}
    chunks = 0
    started = clock()
    try:
        while clock() - started < 2 * seconds:
            for at in range(0, len(records), 250):
                chunk = records[at : at + 250]
                order = (("pure", pure), ("C", native)) if chunks % 2 else (("C", native), ("pure", pure))
                for side, switches in order:
                    for module, name, value in switches:
                        setattr(module, name, value)
                    begun = clock()
                    for record in chunk:
                        with contextlib.suppress(ParseError):
                            evtx.parse(record)
                    spent[side] += clock() - begun
                    done[side] += len(chunk)
                chunks += 1
    finally:
        for module, name, value in native:
            setattr(module, name, value)
    return spent["pure"] / done["pure"] * 1e6, spent["C"] / done["C"] * 1e6, chunks


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--formats", default="", help="comma-separated subset of PARSERS (default: all)")
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per format")
    parser.add_argument("--records", type=int, default=200_000, help="record budget per format")
    parser.add_argument(
        "--ab", action="store_true", help="also time EVTX with the C speedups off vs on, chunk by chunk"
    )
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f] or sorted(PARSERS)
    unknown = [f for f in formats if f not in PARSERS]
    if unknown:
        parser.error(f"unknown formats {unknown}; known: {sorted(PARSERS)}")

    corpora = {fmt: corpus(fmt) for fmt in sorted({*formats, "zeek"})}
    gc.collect()
    gc.freeze()  # the corpus is long-lived: keep the collector from rescanning it
    results: dict[str, dict[str, float]] = {}
    nearby: dict[str, float] = {}  # format -> the baseline's speed measured around it
    probe = args.records // 4

    def around(measure: Callable[[], dict[str, float]]) -> tuple[dict[str, float], float]:
        before = baseline(corpora["zeek"], probe, 0.5)
        result = measure()
        after = baseline(corpora["zeek"], probe, 0.5)
        return result, (before["records"] + after["records"]) / (before["seconds"] + after["seconds"])

    for fmt in formats:
        records = [RawRecord("tenant-a", "sensor-1", fmt, line, RECEIVED_AT) for line in corpora[fmt]]
        if not records:
            print(f"{fmt}: no corpus (no golden lines, no samples)", file=sys.stderr)
            continue
        result, nearby[fmt] = around(lambda: run(PARSERS[fmt], records, args.records, args.seconds))  # noqa: B023
        results[fmt] = result | {"corpus": len(records)}
    reader = None
    if "evtx" in formats:
        reader, nearby["evtx+reader"] = around(lambda: evtx_reader(args.seconds) or {})
    base = baseline(corpora["zeek"], args.records, args.seconds)
    ab = None
    if args.ab and "evtx" in formats:
        ab = evtx_ab(
            [RawRecord("tenant-a", "sensor-1", "evtx", line, RECEIVED_AT) for line in corpora["evtx"]],
            args.seconds,
        )

    speeds = {fmt: round(r["records"] / r["seconds"]) for fmt, r in results.items()}
    rows = dict(results)
    if reader:
        rows["evtx+reader"] = reader
    speedups = "on" if _native.AVAILABLE else "off"
    print(f"parsers: {BUILD} build, C speedups {speedups} (MIMAMORI_PURE=1 forces pure Python for both)")
    print(
        f"{'format':<14}{'events/s':>12}{'µs/event':>10}{'records':>10}{'quarantined':>13}{'corpus':>8}"
        f"{'ratio':>8}"
    )
    for fmt, r in rows.items():
        speed = r["records"] / r["seconds"]
        share = r["quarantined"] / r["records"]
        corpus_size = f"{int(r['corpus']):>7,}" if r["corpus"] else f"{'files':>7}"
        print(
            f"{fmt:<14}{round(speed):>12,}{1e6 / speed:>10.2f}{int(r['records']):>10,}"
            f"{share:>12.1%} {corpus_size}{speed / nearby[fmt]:>8.3f}"
        )
    base_speed = base["records"] / base["seconds"]
    base_records = int(base["records"])
    print(
        f"{'(orjson zeek)':<14}{round(base_speed):>12,}{1e6 / base_speed:>10.2f}{base_records:>10,}  baseline"
    )
    if ab is not None:
        off, on, chunks = ab
        print(
            f"evtx A/B, {chunks} chunks of 250: C speedups off {off:.2f} µs, on {on:.2f} µs, x{off / on:.2f}"
        )
    print(f"peak RSS {peak_rss_mib():.1f} MiB")
    print(json.dumps(speeds))


if __name__ == "__main__":
    main()
