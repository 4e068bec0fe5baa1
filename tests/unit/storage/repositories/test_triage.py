"""The batch triage repository: several tenants per statement, and still no tenant sees another's rows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mimamori.domain.models import Tenant
from mimamori.errors import NotFoundError
from mimamori.storage import Repositories

from ..samples import T0, finding
from .test_incidents import make


def _alert(repos: Repositories, tenant_id: str, key: str = "rule-1") -> str:
    [change] = repos.alerts.record([(f"fp-{tenant_id}-{key}", finding(tenant_id, key))])
    return change.alert_id


def test_reads_keep_only_the_pairs_asked_for(repos: Repositories, tenant_a: Tenant, tenant_b: Tenant) -> None:
    a1, a2, b1 = _alert(repos, tenant_a.id, "x"), _alert(repos, tenant_a.id, "y"), _alert(repos, tenant_b.id)
    ia, ib = make(repos, tenant_a.id), make(repos, tenant_b.id)
    repos.alerts.place(tenant_a.id, [a1], ia)
    repos.alerts.place(tenant_b.id, [b1], ib)
    batch = repos.triage
    # b1 asked under tenant A: absent, although both tenants are in the statement
    got = batch.alerts({tenant_a.id: [a1, a2, b1], tenant_b.id: []})
    assert sorted(a.id for a, _ in got) == sorted([a1, a2])
    assert {a.tenant_id for a, _ in got} == {tenant_a.id}
    both = batch.alerts({tenant_a.id: [a1], tenant_b.id: [b1]})
    assert {(a.tenant_id, a.id) for a, _ in both} == {(tenant_a.id, a1), (tenant_b.id, b1)}
    assert [a.id for a in batch.placed_alerts({tenant_a.id: [ia, ib]})] == [a1]
    assert set(batch.incidents({tenant_b.id: [ib]})) == {ib}
    with pytest.raises(NotFoundError):
        batch.incidents({tenant_b.id: [ia]})  # another tenant's incident looks missing
    assert [r.id for r in batch.open_incidents({tenant_a.id: ["192.0.2.10"]})] == [ia]
    assert batch.open_incidents({}) == []


def test_writes_never_touch_another_tenants_rows(
    repos: Repositories, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    a1, b1 = _alert(repos, tenant_a.id), _alert(repos, tenant_b.id)
    ia = make(repos, tenant_a.id)
    batch = repos.triage
    batch.place([(tenant_a.id, b1, ia)])  # b1 is tenant B's: the tenant filter leaves it alone
    batch.suppress([(tenant_a.id, b1, "rule")])
    [(alert_b, suppressed_b)] = batch.alerts({tenant_b.id: [b1]})
    assert (alert_b.incident_id, suppressed_b) == (None, None)
    batch.place([(tenant_a.id, a1, ia)])
    batch.suppress([(tenant_a.id, a1, "rule")])
    [(alert_a, suppressed_a)] = batch.alerts({tenant_a.id: [a1]})
    assert (alert_a.incident_id, suppressed_a) == (ia, "rule")
    values = {
        "title": "new title", "severity": "medium", "score": 55, "category": "malware", "host": "pc-9",
        "opened_at": T0, "last_seen": T0 + timedelta(hours=1), "reasons": [{"code": "c"}],
    }  # fmt: skip
    batch.refresh_incidents([(tenant_b.id, ia, values)])  # wrong tenant: nothing changes
    assert repos.incidents.get(tenant_a.id, ia).title == "t"
    batch.refresh_incidents([(tenant_a.id, ia, values)])
    row = repos.incidents.get(tenant_a.id, ia)
    assert (row.title, row.severity, row.score, row.host, row.reasons) == (
        "new title", "medium", 55, "pc-9", [{"code": "c"}],
    )  # fmt: skip
    with pytest.raises(ValueError, match="tenant ids"):
        batch.place([("", a1, ia)])


def test_create_log_settings_rules_and_outbox(
    repos: Repositories, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    batch = repos.triage
    values = {"title": "x" * 10, "severity": "low", "status": "new", "device": "d" * 400,
              "opened_at": T0, "last_seen": T0}  # fmt: skip
    ia, ib = batch.create_incidents([(tenant_a.id, values), (tenant_b.id, values)])
    assert repos.incidents.get(tenant_a.id, ia).device == "d" * 255  # cut to the column
    assert repos.incidents.get(tenant_b.id, ib).tenant_id == tenant_b.id
    # log times strictly increase in the given order, even when written within one microsecond
    batch.log([(tenant_a.id, ia, "system", action, {"n": n}) for n, action in enumerate("abcdefgh")])
    history = repos.incidents.history(tenant_a.id, ia)
    assert [e.action for e in history] == list("abcdefgh")
    assert len({e.at for e in history}) == 8
    assert repos.incidents.history(tenant_b.id, ib) == []
    repos.settings.put(tenant_a.id, "profile", {"critical_hosts": ["pc-1"]})
    repos.settings.put(tenant_b.id, "other", {"x": 1})
    assert batch.settings([tenant_a.id, tenant_b.id], "profile") == {
        tenant_a.id: {"critical_hosts": ["pc-1"]}
    }
    repos.incidents.add_rule(tenant_a.id, {"host": "pc-1", "reason": "r", "created_by": "me"})
    repos.incidents.add_rule(
        tenant_b.id, {"host": "pc-2", "reason": "old", "created_by": "me", "expires_at": T0}
    )
    rules = batch.rules([tenant_a.id, tenant_b.id], active_at=T0 + timedelta(days=1))
    assert list(rules) == [tenant_a.id]
    a1 = _alert(repos, tenant_a.id)
    message = (tenant_a.id, a1, "alert.created", {"alert_id": a1}, f"alert.created:{a1}")
    batch.enqueue([message])
    batch.enqueue([message])  # the same key again: queued once
    assert [m.alert_id for m in repos.outbox.pending()] == [a1]
