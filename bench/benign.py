"""Quality benchmark: false alarms on benign traffic — 100 simulated SMEs for 24 hours, every detector.

    python bench/benign.py [--tenants 100] [--hours 24] [--rate 10] [--batch 2000]

The simulator's benign office traffic (no attack scenario) of N SMEs, FortiGate syslog and Zeek JSON, goes
through the real pipeline (parsers, indicator, Sigma and behaviour detectors, alerts, triage) on SQLite.
The issue's budget is at most one 中-or-higher alert per SME per week of simulated time; for N SMEs over H
hours that is N × H / 168 alerts in total. The simulated offices are not spotless: every third one keeps a
Windows XP PC (`PC-SEIZOU-XP`, docs/scenarios.md), whose end-of-life finding is true (and repeats at most
weekly); it is counted apart from the false alarms. The last line is JSON with the medium-or-higher
alerts, the false alarms among them, the budget, the alerts per detector and severity, and events/s.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mimamori import sim
from mimamori.config import Settings
from mimamori.detection import build_engine
from mimamori.domain import RawRecord
from mimamori.services import content, tenants
from mimamori.services.pipeline import BatchResult, Pipeline
from mimamori.services.runtime import open_database
from mimamori.storage import read_only

WEEK_HOURS = 168
LEGACY_PC = "PC-SEIZOU-XP"  # the simulator's deliberate Windows XP PC (every third tenant)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--rate", type=int, default=10, help="benign events per minute per tenant and format")
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mimamori-bench-benign-"))
    settings = Settings(data_dir=workdir, secret_key="b" * 48)
    content.ensure_content(settings)
    db = open_database(settings)
    pipeline = Pipeline(db, build_engine(content.detector_context(settings, db)))
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # a Monday, JST 09:00
    received = datetime.now(UTC)
    total = 0
    result = BatchResult()
    seconds = 0.0
    tenant_ids: dict[int, str] = {}
    for fmt in ("fortigate", "zeek"):
        run = sim.generate(
            tenants=args.tenants,
            seed=11,
            scenarios=(),
            fmt=fmt,
            start=start,
            duration=timedelta(hours=args.hours),
            events_per_minute=args.rate,
        )
        sensors = {}
        for t in run.tenants:
            if t.index not in tenant_ids:
                tenant_ids[t.index] = tenants.add_tenant(db, t.name).id
            sensors[t.index] = tenants.ensure_sensor(db, tenant_ids[t.index], f"bench-{fmt}", fmt).id
        records = [
            RawRecord(tenant_ids[r.tenant_index], sensors[r.tenant_index], fmt, r.line, received, "bench")
            for r in run.records
        ]
        del run
        gc.collect()
        print(f"{fmt}: {len(records):,} records", file=sys.stderr)
        t0 = time.perf_counter()
        for i in range(0, len(records), args.batch):
            result.add(pipeline.process(records[i : i + args.batch]))
        seconds += time.perf_counter() - t0
        total += len(records)
        del records
        gc.collect()
    pipeline.flush()
    with read_only(db) as uow:
        alerts = [a for t in tenant_ids.values() for a in uow.alerts.list(t, limit=100_000)]
    by = Counter((a.detector, a.severity.value) for a in alerts)
    serious = [a for a in alerts if a.severity.value in ("medium", "high")]
    expected = [a for a in serious if a.detector == "eol_os" and a.host == LEGACY_PC]
    false_alarms = [a for a in serious if a not in expected]
    per_tenant = Counter(a.tenant_id for a in serious)
    budget = args.tenants * args.hours / WEEK_HOURS
    for (detector, severity), count in sorted(by.items()):
        print(f"  {detector:<16} {severity:<6} {count}", file=sys.stderr)
    summary = {
        "benchmark": "benign",
        "tenants": args.tenants,
        "hours": args.hours,
        "records": total,
        "events_per_s": round(total / seconds),
        "alerts": len(alerts),
        "medium_or_higher": len(serious),
        "expected_legacy_xp": len(expected),
        "false_alarms_medium_or_higher": len(false_alarms),
        "budget_medium_or_higher": round(budget, 1),
        "false_alarms_within_budget": len(false_alarms) <= budget,
        "tenants_with_medium_or_higher": len(per_tenant),
        "max_per_tenant": max(per_tenant.values(), default=0),
        "by_detector": {f"{d}/{s}": c for (d, s), c in sorted(by.items())},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
