"""Benchmark: simulated mixed traffic through parse -> detect -> store in one process.

    python bench/pipeline.py [--tenants 20] [--minutes 30] [--rate 600] [--batch 1000] [--db URL]
                             [--archive off|on|both] [--repeat 1]

Generates FortiGate syslog and Zeek JSON for N simulated SMEs with every attack scenario, then runs the
records through the real Pipeline (parsers, indicator detector, SQLite alert upsert, quarantine, sensor
counters) in batches. As a same-run baseline it also times parsing alone, so the ratio
(pipeline / parse-only) is comparable across noisy runs. The last line printed is one JSON object with
events/s and peak RSS.

``--archive`` runs the pipeline without the event archive (off, the default), with it (on: every parsed
event appended, Parquet parts written to a temp dir, the rest flushed at the end, inside the timing), or
both, alternating ``--repeat`` times, each run on a fresh copy of the seeded SQLite database and a fresh
Pipeline; it then also times the archive alone (append + write of every event) as µs/event.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mimamori import sim
from mimamori.archive import ArchiveWriter
from mimamori.config import Settings
from mimamori.detection import build_engine
from mimamori.domain import RawRecord
from mimamori.services import content, tenants
from mimamori.services.pipeline import BatchResult, Pipeline
from mimamori.services.runtime import open_database
from mimamori.storage import Database


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument(
        "--rate", type=int, default=600, help="benign events per minute per tenant and format"
    )
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--db", default="", help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("--archive", choices=("off", "on", "both"), default="off")
    parser.add_argument("--repeat", type=int, default=1, help="runs per archive mode (--archive both)")
    args = parser.parse_args()
    if args.archive == "both" and args.db:
        parser.error("--archive both copies the SQLite database between runs; leave --db out")

    workdir = Path(tempfile.mkdtemp(prefix="mimamori-bench-"))
    settings = Settings(data_dir=workdir, database_url=args.db, secret_key="b" * 48)
    content.ensure_content(settings)
    db = open_database(settings)
    start = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    received = datetime.now(UTC)

    records: list[RawRecord] = []
    tenant_ids: dict[int, str] = {}
    for fmt in ("fortigate", "zeek"):
        run = sim.generate(
            tenants=args.tenants,
            seed=7,
            scenarios=tuple(sim.SCENARIOS),
            fmt=fmt,
            start=start,
            duration=timedelta(minutes=args.minutes),
            events_per_minute=args.rate,
        )
        ids = {}
        for t in run.tenants:
            if t.index not in tenant_ids:
                tenant_ids[t.index] = tenants.add_tenant(db, t.name).id
            tenant_id = tenant_ids[t.index]
            ids[t.index] = (tenant_id, tenants.ensure_sensor(db, tenant_id, f"bench-{fmt}", fmt).id)
        for r in run.records:
            tenant_id, sensor_id = ids[r.tenant_index]
            records.append(RawRecord(tenant_id, sensor_id, fmt, r.line, received, "bench"))
    total = len(records)
    print(
        f"{total} records ({args.tenants} tenants x 2 formats, {args.minutes} simulated minutes)",
        file=sys.stderr,
    )

    rss_input = peak_rss_mib()  # the pre-generated input alone; the pipeline's own growth is the difference
    pipeline = Pipeline(db, build_engine(content.detector_context(settings)))
    batches = [records[i : i + args.batch] for i in range(0, total, args.batch)]
    gc.collect()
    gc.freeze()

    t0 = time.perf_counter()
    parsed = 0
    for batch in batches:
        parsed += len(pipeline.parse(batch)[0])
    parse_seconds = time.perf_counter() - t0

    if args.archive != "both":
        archive = ArchiveWriter(workdir / "archive", background=True) if args.archive == "on" else None
        pipeline.archive = archive
        result, seconds, _cpu = _run(pipeline, batches)
        summary = _summary(args, total, result, seconds, parse_seconds, rss_input)
        if archive is not None:
            summary["archive_parts"] = archive.stats.parts
            summary["archive_events_written"] = archive.stats.written
        print(json.dumps(summary))
        return

    pristine = workdir / "seeded.db"
    _copy_sqlite(workdir / "mimamori.db", pristine)
    rates: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[float]] = {"off": [], "on": []}  # CPU µs per event: steadier than wall time
    summary = {}
    for n in range(args.repeat):
        for mode in ("on", "off") if n % 2 == 0 else ("off", "on"):
            run_dir = workdir / f"run-{n}-{mode}"
            run_dir.mkdir()
            _copy_sqlite(pristine, run_dir / "mimamori.db")
            run_db = Database(f"sqlite:///{run_dir / 'mimamori.db'}")
            archive = ArchiveWriter(run_dir / "archive", background=True) if mode == "on" else None
            fresh = Pipeline(run_db, build_engine(content.detector_context(settings)), archive=archive)
            result, seconds, cpu_seconds = _run(fresh, batches)
            rates[mode].append(total / seconds)
            cpu[mode].append(cpu_seconds / total * 1e6)
            summary = _summary(args, total, result, seconds, parse_seconds, rss_input)
            print(
                f"run {n} archive {mode}: {total / seconds:,.0f} events/s, "
                f"{cpu_seconds / total * 1e6:.1f} CPU µs/event",
                file=sys.stderr,
            )
            run_db.dispose()
    events = [e for batch in batches for e in pipeline.parse(batch)[0]]
    alone = ArchiveWriter(workdir / "archive-alone")
    c0 = time.process_time()
    for start in range(0, len(events), args.batch):
        alone.append(events[start : start + args.batch])
    alone.flush()
    archive_cpu = time.process_time() - c0
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    cpu_off, cpu_on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
    summary.update(
        {
            "events_per_second_archive_off": round(off),
            "events_per_second_archive_on": round(on),
            "archive_added_cost_percent_wall": round((off / on - 1) * 100, 1),
            "cpu_us_per_event_archive_off": round(cpu_off, 2),
            "cpu_us_per_event_archive_on": round(cpu_on, 2),
            "archive_added_cost_percent_cpu": round((cpu_on / cpu_off - 1) * 100, 1),
            "archive_alone_cpu_us_per_event": round(archive_cpu / len(events) * 1e6, 2),
            "archive_alone_percent_of_pipeline_off": round(archive_cpu / len(events) * 1e8 / cpu_off, 1),
            "archive_parts_alone": alone.stats.parts,
            "archive_bytes_alone": sum(
                f.stat().st_size for f in (workdir / "archive-alone").rglob("*.parquet")
            ),
            "repeat": args.repeat,
        }
    )
    print(json.dumps(summary))


def _copy_sqlite(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _run(pipeline: Pipeline, batches: list[list[RawRecord]]) -> tuple[BatchResult, float, float]:
    """Process every batch (and flush the archive); wall-clock and CPU seconds of this process."""
    result = BatchResult()
    t0, c0 = time.perf_counter(), time.process_time()
    for batch in batches:
        result.add(pipeline.process(batch))
    if pipeline.archive is not None:
        pipeline.archive.flush()
    return result, time.perf_counter() - t0, time.process_time() - c0


def _summary(
    args: argparse.Namespace,
    total: int,
    result: BatchResult,
    seconds: float,
    parse_seconds: float,
    rss_input: float,
) -> dict[str, object]:
    return {
        "benchmark": "pipeline",
        "records": total,
        "parsed": result.parsed,
        "quarantined": result.quarantined,
        "findings": result.findings,
        "alerts_created": result.alerts_created,
        "seconds": round(seconds, 3),
        "events_per_second": round(total / seconds),
        "parse_only_events_per_second": round(total / parse_seconds),
        "ratio_pipeline_to_parse_only": round(parse_seconds / seconds, 3),
        "batch": args.batch,
        "database": "sqlite" if not args.db else args.db.split(":", 1)[0],
        "archive": args.archive,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "peak_rss_after_generating_input_mib": round(rss_input, 1),
    }


if __name__ == "__main__":
    main()
