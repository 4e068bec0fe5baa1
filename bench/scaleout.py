"""Benchmark: simulated SMEs over syslog TCP into the scale-out processes and into ``mimamori serve``.

    python bench/scaleout.py [--events 400000] [--tenants 40] [--modes workers_1,workers_2,embedded]
                             [--partitions 16] [--repeat 2] [--senders 2] [--rate 0] [--alert-every 2000]
                             [--serve-workers 2]

Each mode runs on fresh state, with the same pre-encoded load (the simulator's FortiGate traffic for
``--tenants`` SMEs with every attack scenario, plus one connection from a new device to a listed C2
server every ``--alert-every`` records: a 高 alert, so each tenant's contact is e-mailed at once):

- ``workers_N``: ``mimamori receiver`` (syslog TCP) → NATS JetStream (a unique prefix, deleted after) →
  N × ``mimamori worker`` → PostgreSQL (a fresh database, dropped after) + Parquet archive, and
  ``mimamori scheduler`` (the notifier, writing .eml files: ``MIMAMORI_MAIL_DIR`` without SMTP host);
- ``embedded``: ``mimamori serve --workers <--serve-workers>`` (one command, SQLite, the in-process bus
  with its durable spool; the pipeline in that many child processes, or in the serving process for 1);
  ``embedded_N`` (not in the default modes) is the same with ``--workers N``, to compare in one run.

Forked sender processes (``--senders``) each own some SMEs, one TCP connection per SME from its own source
address (``127.0.1.N``, registered as the sensor's address), and write RFC 6587 octet-counted frames with
blocking ``sendall`` (flat out, or paced to ``--rate`` records/s in total); their own ceiling into a
discarding sink is measured first. Per run:

- ``events_per_s`` = records sent / (first send → the sensors' ``received`` counters reach the total);
- ``lost`` = sent − received (the wait ends after ``--stall`` s without progress); in the worker modes the
  end also needs every partition's consumer drained, because a batch redelivered after ``ack_wait`` is
  counted twice (``duplicates``, with the consumers' ``redelivered`` and the receiver's published counts);
- ``p99_alert_latency_s``: notification ``sent_at`` − ``cause_at`` (the alert's creation) from the
  database, for every notification an alert caused;
- ``peak_rss_mb`` = the sum of the service processes' VmHWM (each with its child processes), read just
  before stopping them;
- ``cpu_percent``: CPU time per process (with its children) over the measured interval / its wall time
  (100 = one core),
  with the PostgreSQL backends of the run's database, the shared nats-server (others use it too) and the
  whole machine for comparison.

Modes are interleaved ``--repeat`` times. The last line is JSON ``{mode: {...}}``: ``events_per_s`` the
mean over runs, ``lost``, ``p99_alert_latency_s`` and ``peak_rss_mb`` the worst, and every run in ``runs``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import nats

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _scaleout_support import (
    NATS_URL,
    Load,
    Senders,
    Services,
    backend_pids,
    build_load,
    cpu_seconds,
    delete_nats,
    free_port,
    fresh_database,
    log,
    machine_busy,
    pids_named,
    sender_speed,
    source_address,
)

from mimamori.config import Settings
from mimamori.services import contacts, content, tenants
from mimamori.services.runtime import open_database
from mimamori.storage import Database, read_only

MODES = ("workers_1", "workers_2", "embedded")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))], 3)


def register(db: Database, load: Load) -> list[str]:
    """One tenant per simulated SME: a FortiGate sensor at its source address and one e-mail contact."""
    ids = []
    for index in sorted(load.chunks):
        tenant = tenants.add_tenant(db, f"SME {index:03d}").id
        tenants.add_sensor(
            db, tenant, "utm", "fortigate", source_address=source_address(index), with_token=False
        )
        contacts.add_contact(
            db, None, tenant, {"name": f"総務 {index}", "email": f"soumu{index}@sme.example"}
        )
        ids.append(tenant)
    return ids


def received(db: Database, tenant_ids: list[str]) -> int:
    with read_only(db) as uow:
        return sum(s.received for t in tenant_ids for s in uow.sensors.list(t))


def sent_notifications(db: Database) -> list[tuple[datetime, datetime]]:
    """(alert created, notification sent) of every sent notification an alert caused."""
    with read_only(db) as uow:
        rows = uow.notifications.list(None, status="sent", limit=10_000_000)
    return [(r.cause_at, r.sent_at) for r in rows if r.cause_at is not None and r.sent_at is not None]


async def _consumers(prefix: str, partitions: int) -> dict[str, int]:
    client = await nats.connect(NATS_URL, connect_timeout=3, max_reconnect_attempts=0)
    out = {"pending": 0, "ack_pending": 0, "redelivered": 0, "deliveries": 0}
    try:
        js = client.jetstream()
        for p in range(partitions):
            with contextlib.suppress(Exception):
                info = await js.consumer_info(f"{prefix}_raw", f"{prefix}_raw_{p}")
                out["pending"] += info.num_pending or 0
                out["ack_pending"] += info.num_ack_pending or 0
                out["redelivered"] += info.num_redelivered or 0
                out["deliveries"] += (info.delivered.consumer_seq or 0) if info.delivered else 0
    finally:
        await client.close()
    return out


def consumers(prefix: str, partitions: int) -> dict[str, int]:
    """Messages pending, delivered but unacknowledged, redelivered and not yet acknowledged, and every
    delivery made (``deliveries`` − the receiver's published messages = redeliveries), over partitions."""
    return asyncio.run(_consumers(prefix, partitions))


def metrics(base: str) -> dict[str, float]:
    """The process's Prometheus counters (``mimamori_`` stripped); empty when unreachable."""
    out: dict[str, float] = {}
    with contextlib.suppress(httpx.HTTPError):
        for line in httpx.get(f"{base}/metrics", timeout=5).text.splitlines():
            if line.startswith("mimamori_"):
                name, _, value = line.partition(" ")
                with contextlib.suppress(ValueError):
                    out[name.removeprefix("mimamori_")] = float(value)
    return out


def drained(prefix: str, partitions: int) -> bool:
    """At least once: a batch redelivered after ``ack_wait`` counts twice, so the counters alone may
    reach the total early; done means every partition's consumer has nothing pending or unacknowledged."""
    state = consumers(prefix, partitions)
    return state["pending"] == 0 and state["ack_pending"] == 0


def base_env(workdir: Path, tcp_port: int, web_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIMAMORI_")}
    env.update(
        {
            "MIMAMORI_DATA_DIR": str(workdir / "data"),
            "MIMAMORI_SECRET_KEY": "scaleout-" + "k" * 55,
            "MIMAMORI_SYSLOG_TCP_PORT": str(tcp_port),
            "MIMAMORI_SYSLOG_UDP_PORT": str(free_port(socket.SOCK_DGRAM)),
            "MIMAMORI_MAIL_DIR": str(workdir / "mail"),
            "MIMAMORI_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
            "MIMAMORI_SENSOR_SILENCE_MINUTES": "0",
        }
    )
    return env


def run_mode(mode: str, load: Load, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    tcp_port, web_port = free_port(), free_port()
    env = base_env(workdir, tcp_port, web_port)
    base = f"http://127.0.0.1:{web_port}"
    prefix = f"bench{secrets.token_hex(4)}"
    with ExitStack() as stack:
        database_url, database_name = "", ""
        if not mode.startswith("embedded"):
            database_url, database_name = stack.enter_context(fresh_database())
            env.update(
                {
                    "MIMAMORI_DATABASE_URL": database_url,
                    "MIMAMORI_NATS_URL": NATS_URL,
                    "MIMAMORI_BUS_PREFIX": prefix,
                    "MIMAMORI_BUS_PARTITIONS": str(args.partitions),
                }
            )
            stack.callback(delete_nats, prefix)
        settings = Settings(
            data_dir=workdir / "data", database_url=database_url, secret_key=env["MIMAMORI_SECRET_KEY"]
        )
        content.ensure_content(settings)
        db = open_database(settings)
        stack.callback(db.dispose)
        tenant_ids = register(db, load)
        services = Services(workdir, env)
        stack.callback(services.stop)
        if mode.startswith("embedded"):
            serve_workers = int(mode[9:]) if mode.startswith("embedded_") else args.serve_workers
            services.start("serve", "serve", "--port", str(web_port), "--workers", str(serve_workers))
            services.wait_http("serve", base)
        else:
            workers = int(mode.split("_")[1])
            services.start("receiver", "receiver", "--port", str(web_port))
            for n in range(workers):
                services.start(f"w{n + 1}", "worker", MIMAMORI_WORKER_ID=f"w{n + 1}")
            services.start("scheduler", "scheduler")
            services.wait_http("receiver", base)
            for n in range(workers):
                services.wait_log(f"w{n + 1}", "assigned partitions")
            time.sleep(5)  # let the partitions settle between the workers
        time.sleep(2)
        senders = Senders(load, tcp_port, args.senders, args.rate)
        pg = backend_pids(database_name) if database_name else []
        nats_pids = pids_named("nats-server") if database_name else []
        cpu0 = services.cpu()
        pg0 = {p: cpu_seconds(p) for p in pg + nats_pids}
        busy0, total0 = machine_busy()
        started = senders.go()
        log(f"{mode}: sending {load.total:,} records")
        done_at, count, last_change, last_count = None, 0, time.time(), 0
        deadline = started + args.max_seconds
        while time.time() < deadline:
            time.sleep(0.25)
            for name in services.processes:
                services.check(name)
            count = received(db, tenant_ids)
            now = time.time()
            if count != last_count:
                last_change, last_count = now, count
            if count >= load.total and (not database_name or drained(prefix, args.partitions)):
                done_at = now
                break
            if now - last_change > args.stall:
                log(f"{mode}: no progress for {args.stall:.0f} s at {count:,} received")
                break
        end = done_at or last_change
        cpu1 = services.cpu()
        pg1 = {p: cpu_seconds(p) for p in pg0}
        busy1, total1 = machine_busy()
        sent = senders.result(60)
        # Notifications still on their way: wait until the number sent stops changing (at most 30 s).
        stable_since, before, settle_deadline = time.time(), -1, time.time() + 30
        while time.time() < settle_deadline and time.time() - stable_since < 3:
            now_count = len(sent_notifications(db))
            if now_count != before:
                stable_since, before = time.time(), now_count
            time.sleep(0.5)
        counters = metrics(base)
        bus = consumers(prefix, args.partitions) if database_name else {}
        peaks = services.peak_rss()
        services.stop()
        pairs = sent_notifications(db)
    seconds = max(1e-9, end - started)
    wall = seconds
    cpu = {
        name: round(100 * ((cpu1[name] or 0) - (cpu0[name] or 0)) / wall, 1)
        for name in cpu0
        if cpu0[name] is not None
    }
    cpu_us = {  # CPU µs per record received: the contention-free cost, for sizing
        name: round(1e6 * ((cpu1[name] or 0) - (cpu0[name] or 0)) / max(1, count), 1)
        for name in cpu0
        if cpu0[name] is not None
    }
    cpu["senders"] = round(100 * sent.cpu_s / wall, 1)
    pg_cpu = sum((pg1[p] or 0) - (pg0[p] or 0) for p in pg if pg0[p] is not None and pg1[p] is not None)
    nats_cpu = sum(
        (pg1[p] or 0) - (pg0[p] or 0) for p in nats_pids if pg0[p] is not None and pg1[p] is not None
    )
    if database_name:
        cpu["postgres_backends"] = round(100 * pg_cpu / wall, 1)
        cpu["nats_server_shared"] = round(100 * nats_cpu / wall, 1)
        cpu_us["postgres_backends"] = round(1e6 * pg_cpu / max(1, count), 1)
    cpu["machine_total"] = round(100 * (busy1 - busy0) / wall, 1)
    cpu["machine_capacity"] = round(100 * (total1 - total0) / wall, 1)
    latencies = [(s - c).total_seconds() for c, s in pairs]
    result = {
        "events_per_s": round(count / seconds) if done_at is None else round(load.total / seconds),
        "lost": max(0, sent.sent - count),
        "duplicates": max(0, count - sent.sent),  # redelivered batches processed twice
        "p99_alert_latency_s": percentile(latencies, 0.99),
        "peak_rss_mb": round(sum(peaks.values()), 1),
        "sent": sent.sent,
        "received": count,
        "seconds": round(seconds, 2),
        "send_seconds": round(sent.finished - sent.started, 2),
        "notifications": len(latencies),
        "alert_lines": load.alert_lines,
        "p50_alert_latency_s": percentile(latencies, 0.5),
        "max_alert_latency_s": round(max(latencies), 3) if latencies else None,
        "peak_rss_mb_by_process": peaks,
        "cpu_percent": cpu,
        "cpu_us_per_event": cpu_us,
        "nats_consumers": bus,
        "redelivered_messages": (
            int(bus["deliveries"] - counters.get("bus_published_messages", 0)) if bus else None
        ),
        "receiver_metrics": {
            k: v for k, v in counters.items() if any(w in k for w in ("published", "received", "worker_"))
        },
    }
    log(f"{mode}: {json.dumps(result, ensure_ascii=False)}")
    return result


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def worst(key: str) -> Any:
        values = [r[key] for r in runs if r[key] is not None]
        return max(values) if values else None

    return {
        "events_per_s": round(statistics.fmean(r["events_per_s"] for r in runs)),
        "lost": worst("lost"),
        "p99_alert_latency_s": worst("p99_alert_latency_s"),
        "peak_rss_mb": worst("peak_rss_mb"),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--tenants", type=int, default=40)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument(
        "--partitions",
        type=int,
        default=Settings().bus_partitions,
        help="the product's default (16): with 40 SMEs, 8 split the load between 2 workers unevenly",
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs per mode, interleaved")
    parser.add_argument("--senders", type=int, default=2, help="sender processes")
    parser.add_argument("--rate", type=float, default=0, help="records/s in total (0: flat out)")
    parser.add_argument("--alert-every", type=int, default=2000, help="a 高 alert line every N records")
    parser.add_argument("--stall", type=float, default=60, help="give up after this long without progress")
    parser.add_argument("--max-seconds", type=float, default=900, help="bound of one run's wait")
    parser.add_argument("--skip-sender-check", action="store_true")
    parser.add_argument(
        "--serve-workers", type=int, default=2, help="pipeline processes of `serve` in the embedded mode"
    )
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in modes:
        known = mode == "embedded" or any(
            mode.startswith(kind) and mode[len(kind) :].isdigit() for kind in ("workers_", "embedded_")
        )
        if not known:
            parser.error(f"unknown mode {mode!r}")
    if not 1 <= args.tenants <= 250:
        parser.error("--tenants: 1 to 250 (one source address 127.0.1.N each)")

    t0 = time.time()
    load = build_load(args.events, args.tenants, args.alert_every)
    log(
        f"load: {load.total:,} records ({load.alert_lines} alert lines, {load.mean_bytes:.0f} B mean) "
        f"for {args.tenants} SMEs in {time.time() - t0:.1f} s"
    )
    if not args.skip_sender_check:
        log(f"senders alone into a discarding sink: {sender_speed(load, args.senders):,.0f} records/s")
    root = Path(tempfile.mkdtemp(prefix="mimamori-scaleout-"))
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    for n in range(args.repeat):
        for mode in modes if n % 2 == 0 else list(reversed(modes)):
            workdir = root / f"{mode}-{n}"
            workdir.mkdir()
            log(f"run {n + 1}/{args.repeat} {mode} in {workdir} (load {os.getloadavg()[0]:.1f})")
            runs[mode].append(run_mode(mode, load, args, workdir))
    summary = {mode: summarise(r) for mode, r in runs.items()}
    if "workers_1" in summary and "workers_2" in summary:
        ratio = summary["workers_2"]["events_per_s"] / max(1, summary["workers_1"]["events_per_s"])
        log(f"workers_2 / workers_1 = {ratio:.2f} (target ≥ 1.6)")
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
