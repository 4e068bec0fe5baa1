"""Benchmark: what the behaviour detectors add to the pipeline's per-event cost (target ≤ 30 %).

    python bench/behaviours.py [--tenants 5] [--minutes 60] [--rate 300] [--batch 1000] [--rounds 3]
                               [--archive on|off]

Simulated FortiGate syslog and Zeek JSON of N SMEs with every attack scenario go through the real Pipeline
(parse, detectors, alert upsert, triage, SQLite) on fresh databases, three ways per round:

* ``without``: indicator + Sigma only (the baseline);
* ``replay``: the baseline plus a detector that hands over, batch by batch, the findings the behaviours
  made on the same corpus beforehand — the alert, incident and triage work of their findings without
  their own per-event work;
* ``with``: the baseline plus the behaviours.

By default (``--archive on``) every run also archives each parsed event as Parquet (``ArchiveWriter`` in
a fresh directory, flushed inside the timing): the pipeline as ``serve`` and ``worker`` run it
(``archive_enabled`` is true by default), the pipeline whose per-event cost the target is about.
``--archive off`` is a stricter baseline: the same behaviour cost over a pipeline without its archive.

So ``replay − without`` is the cost of the extra findings and ``with − replay`` the behaviours' own work
in the pipeline. The best time of each over the rounds is compared (same run: the machine is noisy; the
three run in a rotating order, so use ``--rounds 3`` or more), in
wall time and in CPU time of the process (``time.process_time``, steadier when other work shares the
cores). It also times the behaviours alone over pre-parsed events (host names filled in as the pipeline
does), each behaviour by itself, and the size of their saved state. The last line is JSON with
``overhead`` ((with − without) / without, wall) and ``overhead_cpu``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import resource
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mimamori import sim
from mimamori.archive import ArchiveWriter
from mimamori.config import Settings
from mimamori.detection import DETECTORS, Detector, build_engine
from mimamori.detection.behaviours import BEHAVIOURS, BehaviourDetector, BehaviourPolicy
from mimamori.detection.hostnames import HostNames
from mimamori.domain import Event, Finding, RawRecord
from mimamori.services import content, tenants
from mimamori.services.pipeline import BatchResult, Pipeline
from mimamori.services.runtime import open_database

Raw = list[tuple[int, str, bytes, str]]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def records_for(settings: Settings, args: argparse.Namespace) -> Raw:
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


class Replay:
    """A detector that returns prepared findings, one list per batch, in order (the ``replay`` run)."""

    name = BehaviourDetector.name

    def __init__(self, batches: list[list[Finding]]) -> None:
        self.batches = batches
        self.calls = 0

    def detect(self, events: Sequence[Event]) -> Iterator[Finding]:
        found = self.batches[self.calls] if self.calls < len(self.batches) else []
        self.calls += 1
        yield from found


def one_run(
    workdir: Path,
    raw: Raw,
    args: argparse.Namespace,
    extra: Detector | None,
    replay: list[list[Finding]] | None = None,
) -> tuple[float, float, BatchResult]:
    """(wall seconds, CPU seconds, result) of the corpus through a fresh pipeline: indicator + Sigma, and
    ``extra`` (the behaviours) or the ``replay`` of findings made with tenant ids ``t0000``..."""
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
    engine = build_engine(content.detector_context(settings), set(DETECTORS) - {BehaviourDetector.name})
    if replay is not None:
        real = {f"t{index:04d}": tenant_id for index, tenant_id in names.items()}
        extra = Replay(
            [[dataclasses.replace(f, tenant_id=real[f.tenant_id]) for f in batch] for batch in replay]
        )
    if extra is not None:
        engine.detectors.append(extra)
    archive = ArchiveWriter(settings.data_dir / "archive", background=True) if args.archive == "on" else None
    pipeline = Pipeline(db, engine, archive=archive)
    batches = [records[i : i + args.batch] for i in range(0, len(records), args.batch)]
    gc.collect()
    gc.freeze()  # the corpus and the pipeline live to the end: keep the collector from rescanning them
    result = BatchResult()
    t0, c0 = time.perf_counter(), time.process_time()
    for batch in batches:
        result.add(pipeline.process(batch))
    if archive is not None:
        archive.close()  # (flushes, and waits for the writer thread)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    gc.unfreeze()
    db.dispose()
    if isinstance(extra, Replay) and extra.calls != len(batches):
        raise SystemExit(f"replay out of step: {extra.calls} calls for {len(batches)} batches")
    return seconds, cpu, result


def parsed_batches(workdir: Path, raw: Raw, args: argparse.Namespace) -> tuple[list[list[Event]], Settings]:
    """The corpus parsed once, batch by batch, tenant ids ``t0000``..., host names filled in as the
    pipeline does (``HostNames.enrich``)."""
    settings = Settings(data_dir=workdir / "alone", secret_key="b" * 48)
    content.ensure_content(settings)
    db = open_database(settings)
    pipeline = Pipeline(db, build_engine(content.detector_context(settings), set()))
    received = datetime.now(UTC)
    records = [RawRecord(f"t{index:04d}", "s", fmt, line, received, "bench") for index, fmt, line, _ in raw]
    names = HostNames()
    batches = []
    for i in range(0, len(records), args.batch):
        events = pipeline.parse(records[i : i + args.batch])[0]
        names.enrich(events)
        batches.append(events)
    db.dispose()
    return batches, settings


def alone(
    batches: list[list[Event]], policy: BehaviourPolicy, total: int
) -> tuple[float, list[list[Finding]], BehaviourDetector, dict[str, float]]:
    """The behaviours over pre-parsed batches: seconds, findings per batch, the detector (its state),
    and µs per event of each behaviour by itself."""
    detector = BehaviourDetector.build(policy)
    found: list[list[Finding]] = []
    gc.collect()
    gc.freeze()  # the pre-parsed corpus lives to the end: keep the collector from rescanning it
    t0 = time.perf_counter()
    for events in batches:
        found.append(list(detector.detect(events)))
    seconds = time.perf_counter() - t0
    each: dict[str, float] = {}
    for name, factory in sorted(BEHAVIOURS.items()):
        single = BehaviourDetector([factory(policy)], policy)
        gc.collect()
        t0 = time.perf_counter()
        for events in batches:
            for _ in single.detect(events):
                pass
        each[name] = round((time.perf_counter() - t0) / total * 1e6, 2)
        print(f"  {name:<16} {each[name]:6.2f} µs/event (alone, including the shared view)", file=sys.stderr)
    gc.unfreeze()
    return seconds, found, detector, each


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument(
        "--rate", type=int, default=300, help="benign events per minute per tenant and format"
    )
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--archive",
        choices=("on", "off"),
        default="on",
        help="archive every event as Parquet in each run, as serve and worker do by default (default: on;"
        " off: the stricter baseline of a pipeline without its archive)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mimamori-bench-behaviours-"))
    raw = records_for(Settings(data_dir=workdir, secret_key="b" * 48), args)
    total = len(raw)
    print(f"{total} records; behaviours: {', '.join(sorted(BEHAVIOURS))}", file=sys.stderr)

    batches, settings = parsed_batches(workdir, raw, args)
    policy = content.detector_context(settings).behaviour_policy
    alone_seconds, replay, detector, each = alone(batches, policy, total)
    state_bytes = len(json.dumps(detector.snapshot(), separators=(",", ":")))
    events = sum(len(b) for b in batches)
    del batches

    kinds = ("without", "replay", "with")
    wall = dict.fromkeys(kinds, float("inf"))
    cpu = dict.fromkeys(kinds, float("inf"))
    findings = dict.fromkeys(kinds, 0)
    for round_ in range(args.rounds):
        # The order rotates from round to round: the first run of a round was seen to be slower (by
        # ~4 µs/event with the archive on), and each kind's best run is what is compared.
        for kind in kinds[round_ % 3 :] + kinds[: round_ % 3]:
            extra = BehaviourDetector.build(policy) if kind == "with" else None
            seconds, used, result = one_run(workdir, raw, args, extra, replay if kind == "replay" else None)
            wall[kind], cpu[kind] = min(wall[kind], seconds), min(cpu[kind], used)
            findings[kind] = result.findings
            print(
                f"round {round_ + 1} {kind:<7}: {total / seconds:,.0f} ev/s,"
                f" {seconds / total * 1e6:.1f} µs/event wall, {used / total * 1e6:.1f} CPU",
                file=sys.stderr,
            )

    def us(seconds: float) -> float:
        return round(seconds / total * 1e6, 2)

    summary = {
        "benchmark": "behaviours",
        "records": total,
        "archive": args.archive,
        "behaviours": sorted(BEHAVIOURS),
        "pipeline_without_per_s": round(total / wall["without"]),
        "pipeline_with_per_s": round(total / wall["with"]),
        "overhead": round((wall["with"] - wall["without"]) / wall["without"], 3),
        "overhead_cpu": round((cpu["with"] - cpu["without"]) / cpu["without"], 3),
        "us_per_event_wall": {k: us(v) for k, v in wall.items()},
        "us_per_event_cpu": {k: us(v) for k, v in cpu.items()},
        # The overhead split: the extra findings' alert/incident work, and the behaviours' own work.
        "findings_work_us": us(wall["replay"] - wall["without"]),
        "findings_work_us_cpu": us(cpu["replay"] - cpu["without"]),
        "behaviours_work_us": us(wall["with"] - wall["replay"]),
        "behaviours_work_us_cpu": us(cpu["with"] - cpu["replay"]),
        "findings": findings,
        "behaviours_alone_per_s": round(events / alone_seconds) if alone_seconds else None,
        "behaviours_alone_us": us(alone_seconds),
        "behaviour_findings": sum(len(b) for b in replay),
        "us_per_event": each,
        "state_kb": round(state_bytes / 1024, 1),
        "state_kb_per_tenant": round(state_bytes / 1024 / args.tenants, 1),
        "peak_rss_mb": round(peak_rss_mib(), 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
