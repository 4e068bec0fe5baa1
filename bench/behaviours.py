"""Benchmark: what the behaviour detectors add to the pipeline's per-event cost (target ≤ 30 %).

    python bench/behaviours.py [--tenants 10] [--minutes 60] [--rate 300] [--batch 1000] [--rounds 2]

Simulated FortiGate syslog and Zeek JSON of N SMEs with every attack scenario go through the real Pipeline
(parse, detectors, alert upsert, triage, SQLite) twice per round, on fresh databases: once without the
behaviour detectors (indicator + Sigma only: the baseline) and once with all of them. The best time of
each over the rounds is compared, so the ratio is measured in the same run on a noisy machine. It also
times the behaviours alone over pre-parsed events and reports the size of their saved state. The last
line is JSON with ``overhead`` ((with − without) / without), events/s of both and peak RSS.
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
from mimamori.detection import DETECTORS, build_engine
from mimamori.detection.behaviours import BEHAVIOURS, BehaviourDetector
from mimamori.domain import Event, RawRecord
from mimamori.services import content, tenants
from mimamori.services.pipeline import BatchResult, Pipeline
from mimamori.services.runtime import open_database


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def records_for(settings: Settings, args: argparse.Namespace) -> list[tuple[int, str, bytes, str]]:
    start = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    out = []
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
        out += [(r.tenant_index, fmt, r.line, run.tenants[r.tenant_index].name) for r in run.records]
    return out


def one_run(
    workdir: Path, raw: list[tuple[int, str, bytes, str]], args: argparse.Namespace, *, with_behaviours: bool
) -> tuple[float, BatchResult]:
    settings = Settings(data_dir=workdir / f"run-{time.monotonic_ns()}", secret_key="b" * 48)
    content.ensure_content(settings)
    db = open_database(settings)
    ids: dict[tuple[int, str], tuple[str, str]] = {}
    names: dict[int, str] = {}
    received = datetime.now(UTC)
    records = []
    for index, fmt, line, name in raw:
        if index not in names:
            names[index] = tenants.add_tenant(db, name).id
        key = (index, fmt)
        if key not in ids:
            ids[key] = (names[index], tenants.ensure_sensor(db, names[index], f"bench-{fmt}", fmt).id)
        tenant_id, sensor_id = ids[key]
        records.append(RawRecord(tenant_id, sensor_id, fmt, line, received, "bench"))
    enabled = set(DETECTORS) if with_behaviours else set(DETECTORS) - {BehaviourDetector.name}
    pipeline = Pipeline(db, build_engine(content.detector_context(settings), enabled))
    batches = [records[i : i + args.batch] for i in range(0, len(records), args.batch)]
    gc.collect()
    result = BatchResult()
    t0 = time.perf_counter()
    for batch in batches:
        result.add(pipeline.process(batch))
    seconds = time.perf_counter() - t0
    db.dispose()
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument(
        "--rate", type=int, default=300, help="benign events per minute per tenant and format"
    )
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mimamori-bench-behaviours-"))
    raw = records_for(Settings(data_dir=workdir, secret_key="b" * 48), args)
    total = len(raw)
    print(f"{total} records; behaviours: {', '.join(sorted(BEHAVIOURS))}", file=sys.stderr)
    best = {False: float("inf"), True: float("inf")}
    findings = {False: 0, True: 0}
    for round_ in range(args.rounds):
        for with_behaviours in (False, True):
            seconds, result = one_run(workdir, raw, args, with_behaviours=with_behaviours)
            best[with_behaviours] = min(best[with_behaviours], seconds)
            findings[with_behaviours] = result.findings
            label = "with" if with_behaviours else "without"
            print(f"round {round_ + 1} {label:<7} behaviours: {total / seconds:,.0f} ev/s", file=sys.stderr)

    # The behaviours alone, over events parsed once, and the size of their saved state.
    settings = Settings(data_dir=workdir / "alone", secret_key="b" * 48)
    content.ensure_content(settings)
    db = open_database(settings)
    pipeline = Pipeline(db, build_engine(content.detector_context(settings), set()))
    tenant_ids = {i: f"t{i:04d}" for i in range(args.tenants)}
    received = datetime.now(UTC)
    events: list[Event] = []
    records = [RawRecord(tenant_ids[index], "s", fmt, line, received, "bench") for index, fmt, line, _ in raw]
    for i in range(0, len(records), args.batch):
        events.extend(pipeline.parse(records[i : i + args.batch])[0])
    detector = BehaviourDetector.build(content.detector_context(settings).behaviour_policy)
    t0 = time.perf_counter()
    alone_findings = 0
    for i in range(0, len(events), args.batch):
        alone_findings += sum(1 for _ in detector.detect(events[i : i + args.batch]))
    alone = time.perf_counter() - t0
    state_bytes = len(json.dumps(detector.snapshot(), separators=(",", ":")))
    each: dict[str, float] = {}
    for name, factory in sorted(BEHAVIOURS.items()):  # µs per event of each behaviour alone
        single = BehaviourDetector([factory(detector.policy)])
        t0 = time.perf_counter()
        for i in range(0, len(events), args.batch):
            for _ in single.detect(events[i : i + args.batch]):
                pass
        each[name] = round((time.perf_counter() - t0) / len(events) * 1e6, 2)
        print(f"  {name:<16} {each[name]:6.2f} µs/event", file=sys.stderr)
    summary = {
        "benchmark": "behaviours",
        "records": total,
        "behaviours": sorted(BEHAVIOURS),
        "pipeline_without_per_s": round(total / best[False]),
        "pipeline_with_per_s": round(total / best[True]),
        "overhead": round((best[True] - best[False]) / best[False], 3),
        "findings_without": findings[False],
        "findings_with": findings[True],
        "behaviours_alone_per_s": round(len(events) / alone) if alone else None,
        "behaviour_findings": alone_findings,
        "us_per_event": each,
        "state_kb": round(state_bytes / 1024, 1),
        "state_kb_per_tenant": round(state_bytes / 1024 / args.tenants, 1),
        "peak_rss_mb": round(peak_rss_mib(), 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
