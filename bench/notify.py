"""Benchmark: notification latency under pipeline load, from alert creation to SMTP acceptance.

    python bench/notify.py [--tenants 50] [--seconds 30] [--alert-rate 5] [--load-eps 3000]

Runs the embedded runtime (SQLite, the in-process bus, the pipeline, the notifier) with a real SMTP
server in a separate process (aiosmtpd, a test dependency) that records when it accepted each message.
Each tenant has one contact; an on-call analyst covers the run. Two phases of ``--seconds`` each:

1. idle: only the alerts (``--alert-rate`` per second, each a FortiGate connection from a new device to a
   listed C2 server, so each opens a 高 incident and is notified at once) — the same-run baseline;
2. loaded: the same alerts while benign FortiGate traffic is pushed through the pipeline at
   ``--load-eps`` events per second.

For every message the latency is SMTP acceptance time minus the alert's creation time (the outbox row
written in the alert's transaction). The last line is JSON with ``p50_s`` and ``p99_s`` of the loaded
phase (the target is p99 ≤ 1 s), the idle phase's figures, the load achieved and peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mimamori.config import Settings
from mimamori.domain import RawRecord
from mimamori.services import contacts, notify, tenants
from mimamori.services.runtime import Runtime
from mimamori.storage import read_only

C2 = "203.0.113.66"  # in the bundled demo indicators
SMTP_SINK = r"""
import asyncio, json, sys, time
from aiosmtpd.controller import Controller
from email.parser import BytesHeaderParser

out = open(sys.argv[2], "a", buffering=1)

class Sink:
    async def handle_DATA(self, server, session, envelope):
        at = time.time()
        headers = BytesHeaderParser().parsebytes(envelope.original_content or envelope.content)
        out.write(json.dumps({"id": headers["Message-ID"], "at": at}) + "\n")
        return "250 2.0.0 Ok"

controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"""


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def line(device: str, dst: str, now: datetime, action: str = "accept") -> bytes:
    local = now.astimezone(UTC) + timedelta(hours=9)
    return (
        f'<189>date={local:%Y-%m-%d} time={local:%H:%M:%S} devname="FGT60F" devid="FGT60FTK0000" tz="+0900" '
        f'logid="0000000013" type="traffic" subtype="forward" level="notice" srcip={device} srcport=50000 '
        f'dstip={dst} dstport=443 proto=6 action="{action}" policyid=1 service="HTTPS" sentbyte=1200 '
        "rcvdbyte=800"
    ).encode()


def message_id(key: str, sender: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{sender.rpartition('@')[2]}>"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def phase(
    runtime: Runtime,
    sensors: list[tuple[str, str]],
    *,
    seconds: float,
    alert_rate: float,
    load_eps: int,
    first_device: int,
) -> tuple[int, int]:
    """Push alerts (and benign load); returns (alerts injected, load events pushed)."""
    alerts = load = 0
    started = time.monotonic()
    next_alert = started
    device = first_device
    batch = max(1, load_eps // 20)  # benign traffic in 50 ms slices
    next_load = started
    while time.monotonic() - started < seconds:
        now = time.monotonic()
        if now >= next_alert:
            tenant, sensor = sensors[device % len(sensors)]
            address = f"10.{(device >> 16) & 255}.{(device >> 8) & 255}.{device & 255}"
            record = RawRecord(
                tenant, sensor, "fortigate", line(address, C2, datetime.now(UTC)), datetime.now(UTC)
            )
            await runtime.bus.publish([record])
            alerts += 1
            device += 1
            next_alert += 1 / alert_rate
        if load_eps and now >= next_load:
            wall = datetime.now(UTC)
            records = [
                RawRecord(
                    t, s, "fortigate", line(f"192.168.{i % 200}.{i % 250 + 1}", "198.51.100.10", wall), wall
                )
                for i, (t, s) in enumerate(sensors[j % len(sensors)] for j in range(batch))
            ]
            await runtime.bus.publish(records)
            load += len(records)
            next_load += 0.05
        await asyncio.sleep(0.005)
    return alerts, load


def latencies(runtime: Runtime, accepted: dict[str, float], since: datetime, until: datetime) -> list[float]:
    sender = runtime.settings.smtp_from
    with read_only(runtime.db) as uow:
        rows = list(uow.notifications.list(None, status="sent", limit=1_000_000))
    out = []
    for row in rows:
        if row.cause_at is None or not (since <= row.cause_at < until):
            continue
        at = accepted.get(message_id(row.idempotency_key, sender))
        if at is not None:
            out.append(at - row.cause_at.timestamp())
    return out


async def run(args: argparse.Namespace) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="mimamori-bench-notify-"))
    port = free_port()
    received_log = workdir / "accepted.jsonl"
    sink = subprocess.Popen(
        [sys.executable, "-c", SMTP_SINK, str(port), str(received_log)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None
    assert sink.stdout.readline().strip() == "ready"
    settings = Settings(
        data_dir=workdir,
        secret_key="b" * 48,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        syslog_tcp_port=0,
        syslog_udp_port=0,
        syslog_tls_port=0,
        sensor_silence_minutes=0,
        batch_linger_ms=50,
    )
    runtime = Runtime(settings)
    sensors = []
    for n in range(args.tenants):
        tenant = tenants.add_tenant(runtime.db, f"SME {n:03d}").id
        sensor = tenants.add_sensor(runtime.db, tenant, "utm", "fortigate", with_token=False).sensor.id
        contacts.add_contact(
            runtime.db, None, tenant, {"name": f"総務 {n}", "email": f"soumu{n}@sme{n}.example"}
        )
        sensors.append((tenant, sensor))
    now = datetime.now(UTC)
    contacts.add_shift(
        runtime.db,
        None,
        {
            "name": "On call",
            "email": "oncall@provider.example",
            "starts_at": now - timedelta(hours=1),
            "ends_at": now + timedelta(hours=6),
        },
    )
    await runtime.start()
    results: dict[str, object] = {}
    try:
        marks = []
        for name, load in (("idle", 0), ("loaded", args.load_eps)):
            since = datetime.now(UTC)
            alerts, pushed = await phase(
                runtime,
                sensors,
                seconds=args.seconds,
                alert_rate=args.alert_rate,
                load_eps=load,
                first_device=len(marks) * 1_000_000,
            )
            until = datetime.now(UTC)
            marks.append((name, since, until, alerts, pushed))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            runtime.bus.depth() or notify.status(runtime.db, None)["pending"]
        ):
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)
    finally:
        await runtime.stop()
        assert sink.stdin is not None
        sink.stdin.close()
        sink.wait(10)
    accepted = {}
    for raw in received_log.read_text().splitlines():
        item = json.loads(raw)
        accepted[item["id"]] = item["at"]
    for name, since, until, alerts, pushed in marks:
        values = latencies(runtime, accepted, since, until)
        seconds = (until - since).total_seconds()
        results[name] = {
            "alerts": alerts,
            "messages": len(values),
            "load_events_per_s": round(pushed / seconds),
            "p50_s": round(percentile(values, 0.50), 3),
            "p99_s": round(percentile(values, 0.99), 3),
            "max_s": round(max(values), 3) if values else None,
            "mean_s": round(statistics.fmean(values), 3) if values else None,
        }
        print(
            f"{name:<7} alerts={alerts} messages={len(values)} load={pushed / seconds:,.0f} ev/s "
            f"p50={results[name]['p50_s']} s p99={results[name]['p99_s']} s max={results[name]['max_s']} s"
        )
    loaded = results["loaded"]
    assert isinstance(loaded, dict)
    processed = runtime.processed
    return {
        "p50_s": loaded["p50_s"],
        "p99_s": loaded["p99_s"],
        "max_s": loaded["max_s"],
        "messages": loaded["messages"],
        "alerts": loaded["alerts"],
        "load_events_per_s": loaded["load_events_per_s"],
        "idle": results["idle"],
        "records_processed": processed.received,
        "peak_rss_mb": round(peak_rss_mib(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--alert-rate", type=float, default=5.0, help="new 高 alerts per second")
    parser.add_argument(
        "--load-eps", type=int, default=3000, help="benign events per second in the loaded phase"
    )
    args = parser.parse_args()
    os.environ.setdefault("MIMAMORI_PURE", os.environ.get("MIMAMORI_PURE", "0"))
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
