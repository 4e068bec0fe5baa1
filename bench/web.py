"""Benchmark: the web under a provider's real size — the SOC queue across 1,000 customers and a
customer's portal home, through the real app (SQLite, TestClient, no network).

    python bench/web.py [--tenants 1000] [--incidents-per-tenant 10] [--requests 50]

Builds N tenants with open incidents of every severity (findings through the triage service, as the
pipeline stores them), then times page requests: the SOC queue (first page, filtered by severity, text
search, a late page), one incident view, a tenant list page, and a customer's portal home. As a baseline in
the same run it times ``/healthz`` (the framework's own cost per request). The last line is JSON with the
median and p95 milliseconds of each page and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
from fastapi.testclient import TestClient

from mimamori.config import Settings
from mimamori.domain import Finding, Role, Severity
from mimamori.services import accounts, auth, tenants
from mimamori.services.runtime import Runtime
from mimamori.services.triage import record_findings
from mimamori.storage import unit_of_work
from mimamori.triage import fingerprinted
from mimamori.web.app import create_app

PASSWORD = "bench-password-long"
SECRET = "BENCHSOCANALYSTTOTPSECRETKEY2345"
SEVERITIES = (Severity.HIGH, Severity.MEDIUM, Severity.LOW)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(runtime: Runtime, args: argparse.Namespace) -> tuple[str, str]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    first = ""
    for t in range(args.tenants):
        tenant = tenants.add_tenant(runtime.db, f"顧客{t:04d} 株式会社")
        first = first or tenant.id
        findings = []
        for i in range(args.incidents_per_tenant):
            findings.append(
                Finding(
                    tenant_id=tenant.id,
                    detector="indicator",
                    key=f"ip:203.0.113.{i}",
                    title=f"Connection to a known malicious server: 203.0.113.{i}",
                    severity=SEVERITIES[i % 3],
                    timestamp=start + timedelta(days=i % 20, minutes=t),
                    host=f"PC-{i:02d}",
                    source_ip=f"192.168.1.{10 + i}",
                    destination_ip=f"203.0.113.{i}",
                    device_ip=f"192.168.1.{10 + i}",
                )
            )
        with unit_of_work(runtime.db) as uow:
            record_findings(uow, fingerprinted(findings))
        if t % 100 == 99:
            print(f"  {t + 1} tenants", file=sys.stderr)
    staff = auth.create_user(runtime.db, "soc@bench.example", "SOC", Role.ANALYST, PASSWORD)
    accounts.enrol_with_secret(runtime.db, staff.id, SECRET)
    auth.create_user(runtime.db, "c@bench.example", "C", Role.CUSTOMER_ADMIN, PASSWORD, tenant_id=first)
    return first, staff.id


def timed(client: TestClient, url: str, n: int) -> dict[str, float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        answer = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{url}: {answer.status_code} {answer.text[:200]}")
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 1), "p95_ms": round(samples[int(0.95 * n) - 1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--incidents-per-tenant", type=int, default=10)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mimamori-bench-web-"))
    settings = Settings(data_dir=workdir, secret_key="w" * 48, syslog_tcp_port=0, syslog_udp_port=0)
    runtime = Runtime(settings)
    t0 = time.perf_counter()
    first, _ = build(runtime, args)
    print(f"built {args.tenants} tenants in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    results: dict[str, dict[str, float]] = {}
    with TestClient(create_app(runtime, manage_runtime=False)) as soc:
        results["healthz (baseline)"] = timed(soc, "/healthz", args.requests)
        soc.post(
            "/api/v1/session",
            json={"email": "soc@bench.example", "password": PASSWORD, "totp": pyotp.TOTP(SECRET).now()},
        ).raise_for_status()
        incident = soc.get("/api/v1/incidents", params={"tenant_id": first, "limit": 1}).json()[0]["id"]
        pages = {
            "soc queue": "/soc",
            "soc queue high only": "/soc?severity=high",
            "soc queue text search": "/soc?q=PC-07",
            "soc queue page 20": "/soc?page=20",
            "soc incident": f"/soc/incidents/{first}/{incident}",
            "soc tenants": "/soc/tenants",
            "api incidents (100)": "/api/v1/incidents?limit=100",
        }
        for name, url in pages.items():
            results[name] = timed(soc, url, args.requests)
            print(f"  {name:<24} {results[name]}", file=sys.stderr)
    with TestClient(create_app(runtime, manage_runtime=False)) as customer:
        customer.post(
            "/api/v1/session", json={"email": "c@bench.example", "password": PASSWORD}
        ).raise_for_status()
        results["portal home"] = timed(customer, "/portal", args.requests)
        print(f"  {'portal home':<24} {results['portal home']}", file=sys.stderr)
    summary = {
        "benchmark": "web",
        "tenants": args.tenants,
        "incidents": args.tenants * args.incidents_per_tenant,
        "pages": results,
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
