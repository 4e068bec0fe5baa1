"""Benchmark: simulated mixed traffic through parse -> detect -> store in one process.

    python bench/pipeline.py [--tenants 20] [--minutes 30] [--rate 600] [--batch 1000] [--db URL]

Generates FortiGate syslog and Zeek JSON for N simulated SMEs with every attack scenario, then runs the
records through the real Pipeline (parsers, indicator detector, SQLite alert upsert, quarantine, sensor
counters) in batches. As a same-run baseline it also times parsing alone, so the ratio
(pipeline / parse-only) is comparable across noisy runs. The last line printed is one JSON object with
events/s and peak RSS.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mimamori import sim
from mimamori.config import Settings
from mimamori.detection import build_engine
from mimamori.domain import RawRecord
from mimamori.services import content, tenants
from mimamori.services.pipeline import BatchResult, Pipeline
from mimamori.services.runtime import open_database


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
    args = parser.parse_args()

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

    result = BatchResult()
    t0 = time.perf_counter()
    for batch in batches:
        result.add(pipeline.process(batch))
    seconds = time.perf_counter() - t0

    summary = {
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
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "peak_rss_after_generating_input_mib": round(rss_input, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
