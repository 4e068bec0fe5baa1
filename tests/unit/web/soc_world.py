"""Incidents for the SOC console tests: findings through the real triage (scores, guidance, evidence)."""

from __future__ import annotations

from datetime import UTC, datetime

from mimamori.domain import Finding, Severity
from mimamori.services.runtime import Runtime
from mimamori.services.triage import triage_changes
from mimamori.storage import unit_of_work
from mimamori.triage import fingerprinted

RAW = "<134>date=2026-11-26 devname=<script>alert('raw')</script> srcip=192.168.1.10"


def make_incident(
    runtime: Runtime,
    tenant_id: str,
    *,
    title: str = "Connection to a known malicious server: 203.0.113.66",
    severity: Severity = Severity.HIGH,
    host: str = "PC-KEIRI-01",
    key: str = "ip:203.0.113.66",
    when: datetime | None = None,
    source_ip: str = "192.168.1.10",
) -> str:
    """One incident with one alert whose evidence quotes a hostile raw record."""
    finding = Finding(
        tenant_id=tenant_id,
        detector="indicator",
        key=key,
        title=title,
        severity=severity,
        timestamp=when or datetime(2026, 11, 26, 1, tzinfo=UTC),
        host=host,
        source_ip=source_ip,
        destination_ip="203.0.113.66",
        evidence={"event.outcome": "success", "event.original": RAW, "log.origin": "syslog-tcp"},
        device_ip=source_ip,
    )
    with unit_of_work(runtime.db) as uow:
        (created,) = triage_changes(uow, uow.alerts.record(fingerprinted([finding]))).incidents_created
    return created
