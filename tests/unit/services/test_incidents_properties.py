"""Dedup and correlation through the real storage path, property-tested: no finding lost, none twice."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import operational_url

from mimamori.domain import Finding, Severity
from mimamori.domain.fingerprint import fingerprint
from mimamori.services import Database, tenants
from mimamori.services.triage import triage_changes
from mimamori.storage import read_only, unit_of_work
from mimamori.triage import fingerprinted
from mimamori.triage.correlate import device_of

T0 = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)

finding_args = st.tuples(
    st.integers(0, 1),  # tenant
    st.integers(1, 3),  # device
    st.sampled_from(["ip:203.0.113.66", "domain:bad.example", "rule-1"]),
    st.integers(0, 60 * 24 * 3),  # minutes after T0
    st.sampled_from(list(Severity)),
    st.sampled_from(["indicator", "sigma", "beacon"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(finding_args, min_size=1, max_size=60), st.integers(1, 20), st.data())
def test_findings_to_alerts_to_incidents(
    tmp_path: Path, args: list[tuple[int, int, str, int, Severity, str]], batch: int, data: st.DataObject
) -> None:
    db = Database(operational_url(tmp_path, "p.db"))
    db.migrate()
    tenant_ids = [tenants.add_tenant(db, f"T{i}").id for i in range(2)]
    findings = [
        Finding(
            tenant_id=tenant_ids[t],
            detector=detector,
            key=key,
            title=key,
            severity=severity,
            timestamp=T0 + timedelta(minutes=minute),
            host=f"PC-{device}",
            source_ip=f"192.168.1.{device}",
            device_ip=f"192.168.1.{device}",
        )
        for t, device, key, minute, severity, detector in args
    ]
    order = data.draw(st.permutations(findings))
    for start in range(0, len(order), batch):
        with unit_of_work(db) as uow:
            triage_changes(uow, uow.alerts.record(fingerprinted(order[start : start + batch])))
    with read_only(db) as uow:
        alerts = [a for t in tenant_ids for a in uow.alerts.list(t, limit=10_000)]
        rows = {r.id: r for t in tenant_ids for r in uow.incidents.list(t, limit=10_000)}
    # dedup: one alert per fingerprint, counts sum to the findings
    expected = Counter((f.tenant_id, fingerprint(f)) for f in findings)
    assert Counter({(a.tenant_id, a.fingerprint): a.count for a in alerts}) == expected
    # correlation: every alert in exactly one incident of its own tenant and device
    assert all(a.incident_id in rows for a in alerts)
    for incident_id, row in rows.items():
        members = [a for a in alerts if a.incident_id == incident_id]
        assert members, "an incident without alerts"
        assert {(a.tenant_id, device_of(a)) for a in members} == {(row.tenant_id, row.device)}
        assert row.opened_at == min(a.first_seen for a in members)
        assert row.last_seen == max(a.last_seen for a in members)
    db.dispose()
