"""Benchmark: the device inventory's cost per event, next to parsing (one core, one process).

    python bench/inventory.py [--tenants 10] [--minutes 60] [--rate 60] [--batch 1000] [--rounds 3]

Simulated FortiGate syslog and Zeek JSON of N SMEs (every scenario) are parsed once (timed: the baseline),
then per format: ``inventory.summarise_events`` alone, ``services.inventory.record_devices`` per batch on a
fresh migrated SQLite database (its own transaction per batch, as in the pipeline) — writing every batch,
and with a ``DeviceRecorder`` (written when due, every 30 s, and once at the end) — and the behaviours
``new_device``, ``eol_os`` and ``no_antivirus`` over the events. Best of ``--rounds``. Prints µs/event
and the share of the parse cost; the last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mimamori import sim
from mimamori.detection.behaviours.eol_os import EolOsBehaviour
from mimamori.detection.behaviours.new_device import NewDeviceBehaviour
from mimamori.detection.behaviours.no_antivirus import NoAntivirusBehaviour
from mimamori.domain import Event, RawRecord
from mimamori.inventory import DeviceRecorder, summarise_events
from mimamori.parsers import PARSERS
from mimamori.services import Database, inventory, tenants
from mimamori.storage import unit_of_work


def best(rounds: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(fmt: str, args: argparse.Namespace) -> dict[str, float]:
    """The figures of one log format (µs per event)."""
    start = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    run = sim.generate(
        tenants=args.tenants,
        seed=7,
        scenarios=tuple(sim.SCENARIOS),
        fmt=fmt,
        start=start,
        duration=timedelta(minutes=args.minutes),
        events_per_minute=args.rate,
    )
    parse = PARSERS[fmt]
    records = [RawRecord(f"t{r.tenant_index}", "s", fmt, r.line, r.timestamp) for r in run.records]
    parsed: list[Event | None] = []
    parse_s = best(args.rounds, lambda: parsed.__setitem__(slice(None), [parse(r) for r in records]))
    events = [e for e in parsed if e is not None]
    n = len(events)
    batches = [events[i : i + args.batch] for i in range(0, n, args.batch)]
    summarise_s = best(args.rounds, lambda: [summarise_events(b) for b in batches])

    def record(recorder: DeviceRecorder | None) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
            db.migrate()
            ids = {f"t{i}": tenants.add_tenant(db, f"SME {i}").id for i in range(args.tenants)}
            mapped = [[Event(e.timestamp, ids[e.tenant_id], e.dataset, e.fields) for e in b] for b in batches]
            started = time.perf_counter()
            for batch in mapped:
                with unit_of_work(db) as uow:
                    inventory.record_devices(uow, batch, recorder)
            if recorder is not None:
                with unit_of_work(db) as uow:
                    inventory.record_devices(uow, [], recorder, force=True)
            timings.append(time.perf_counter() - started)
            db.dispose()

    timings: list[float] = []
    figures = {"parse_us": parse_s / len(records) * 1e6, "summarise_us": summarise_s / n * 1e6}
    for label, make in (
        ("record_devices_us", lambda: None),
        ("record_devices_recorder_us", DeviceRecorder),
    ):
        timings.clear()
        for _ in range(args.rounds):
            record(make())
        figures[label] = min(timings) / n * 1e6
    for cls in (NewDeviceBehaviour, EolOsBehaviour, NoAntivirusBehaviour):

        def behave(cls: type = cls) -> None:
            behaviour = cls()
            accepts, observe = behaviour.accepts, behaviour.observe
            for event in events:
                if accepts(event):
                    observe(event)

        figures[f"{cls.name}_us"] = best(args.rounds, behave) / n * 1e6
    print(f"{fmt}: {n} events")
    return {k: round(v, 2) for k, v in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--rate", type=int, default=60)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result: dict[str, dict[str, float]] = {}
    for fmt in ("fortigate", "zeek"):
        result[fmt] = measure(fmt, args)
        for name, value in result[fmt].items():
            share = "" if name == "parse_us" else f"  ({value / result[fmt]['parse_us']:.0%} of parsing)"
            print(f"  {name:<20} {value:8.2f} µs/event{share}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
