"""Incident, log and suppression-rule repositories: every method is scoped to its tenant."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mimamori.domain.models import Tenant
from mimamori.errors import NotFoundError
from mimamori.storage import Repositories

from ..samples import T0, finding


def make(repos: Repositories, tenant_id: str, device: str = "192.0.2.10") -> str:
    row = repos.incidents.create(
        tenant_id,
        {
            "title": "t",
            "severity": "high",
            "status": "new",
            "device": device,
            "opened_at": T0,
            "last_seen": T0,
        },
    )
    return row.id


def test_create_get_update_list(repos: Repositories, tenant_a: Tenant) -> None:
    incident_id = make(repos, tenant_a.id)
    row = repos.incidents.get(tenant_a.id, incident_id)
    assert (row.severity, row.status, row.score, row.reasons) == ("high", "new", 0, [])
    updated = repos.incidents.update(tenant_a.id, incident_id, {"score": 70, "reasons": [{"code": "x"}]})
    assert (updated.score, updated.reasons) == (70, [{"code": "x"}])
    assert [r.id for r in repos.incidents.list(tenant_a.id)] == [incident_id]
    assert [r.id for r in repos.incidents.open_for_devices(tenant_a.id, ["192.0.2.10"])] == [incident_id]
    repos.incidents.update(tenant_a.id, incident_id, {"status": "resolved"})
    assert repos.incidents.open_for_devices(tenant_a.id, ["192.0.2.10"]) == []
    assert repos.incidents.list(tenant_a.id, status="new") == []


def test_another_tenant_sees_and_changes_nothing(
    repos: Repositories, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    incident_id = make(repos, tenant_a.id)
    [change] = repos.alerts.record([("fp", finding(tenant_a.id))])
    repos.alerts.place(tenant_a.id, [change.alert_id], incident_id)
    repos.incidents.log(tenant_a.id, incident_id, "me", "note", {"text": "secret"})
    rule = repos.incidents.add_rule(tenant_a.id, {"reason": "r", "created_by": "me", "host": "pc-01"})
    with pytest.raises(NotFoundError):
        repos.incidents.get(tenant_b.id, incident_id)
    with pytest.raises(NotFoundError):
        repos.incidents.update(tenant_b.id, incident_id, {"status": "resolved"})
    assert repos.incidents.list(tenant_b.id) == []
    assert repos.incidents.list_across_tenants(tenant_ids=[tenant_b.id]) == []
    assert repos.incidents.open_for_devices(tenant_b.id, ["192.0.2.10"]) == []
    assert repos.incidents.history(tenant_b.id, incident_id) == []
    assert repos.incidents.rules(tenant_b.id) == []
    assert not repos.incidents.remove_rule(tenant_b.id, rule.id)
    assert repos.alerts.of_incidents(tenant_b.id, [incident_id]) == []
    assert repos.alerts.get_many(tenant_b.id, [change.alert_id]) == []
    assert repos.alerts.place(tenant_b.id, [change.alert_id], None) == 0
    assert repos.alerts.suppress(tenant_b.id, [change.alert_id], rule.id) == 0
    assert repos.alerts.count_matching(tenant_b.id) == 0
    assert repos.alerts.get(tenant_a.id, change.alert_id).incident_id == incident_id
    assert [e.action for e in repos.incidents.history(tenant_a.id, incident_id)] == ["note"]
    with pytest.raises(ValueError, match="tenant id"):
        repos.incidents.list("")


def test_rules_expire_and_alerts_count_for_the_preview(repos: Repositories, tenant_a: Tenant) -> None:
    repos.alerts.record(
        [("f1", finding(tenant_a.id, "k1")), ("f2", finding(tenant_a.id, "k2", host="pc-02"))]
    )
    assert repos.alerts.count_matching(tenant_a.id) == 2
    assert repos.alerts.count_matching(tenant_a.id, host="pc-02") == 1
    assert repos.alerts.count_matching(tenant_a.id, detector="indicator", key="k1") == 1
    assert repos.alerts.count_matching(tenant_a.id, key="nope") == 0
    old = repos.incidents.add_rule(
        tenant_a.id, {"reason": "old", "created_by": "me", "expires_at": T0 - timedelta(days=1)}
    )
    keep = repos.incidents.add_rule(tenant_a.id, {"reason": "keep", "created_by": "me"})
    assert [r.id for r in repos.incidents.rules(tenant_a.id)] == [old.id, keep.id]
    assert [r.id for r in repos.incidents.rules(tenant_a.id, active_at=T0)] == [keep.id]
    assert repos.incidents.remove_rule(tenant_a.id, old.id)


def test_get_many_returns_only_the_tenants_own_incidents(
    repos: Repositories, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    mine = [make(repos, tenant_a.id, f"192.0.2.{i}") for i in range(3)]
    theirs = make(repos, tenant_b.id)
    found = repos.incidents.get_many(tenant_a.id, [*mine, theirs, "missing"])
    assert sorted(found) == sorted(mine)
    assert all(row.tenant_id == tenant_a.id and row.id == key for key, row in found.items())
    assert repos.incidents.get_many(tenant_b.id, mine) == {}
    assert repos.incidents.get_many(tenant_a.id, []) == {}
