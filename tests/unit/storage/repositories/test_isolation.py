"""Tenant B can never read or change tenant A's data: a foreign object looks exactly like a missing one."""

from __future__ import annotations

import pytest

from mimamori.domain.models import AlertStatus, QuarantinedRecord, Tenant
from mimamori.errors import NotFoundError
from mimamori.storage import Repositories

from ..samples import T0, finding


@pytest.fixture
def a_data(repos: Repositories, tenant_a: Tenant) -> dict[str, str]:
    sensor = repos.sensors.add(tenant_a.id, "UTM", "fortigate", source_address="192.0.2.1")
    [change] = repos.alerts.record([("fp", finding(tenant_a.id))])
    repos.quarantine.add_many([QuarantinedRecord(tenant_a.id, sensor.id, "fortigate", "bad", b"x", T0)])
    repos.assets.upsert(tenant_a.id, "192.168.1.10")
    repos.outbox.add(tenant_a.id, change.alert_id, "email", {}, "k")
    return {"sensor": sensor.id, "alert": change.alert_id}


def test_tenant_b_cannot_get_a_objects(repos: Repositories, tenant_b: Tenant, a_data: dict[str, str]) -> None:
    with pytest.raises(NotFoundError) as foreign:
        repos.alerts.get(tenant_b.id, a_data["alert"])
    with pytest.raises(NotFoundError) as missing:
        repos.alerts.get(tenant_b.id, "does-not-exist")
    assert str(foreign.value).replace(a_data["alert"], "?") == str(missing.value).replace(
        "does-not-exist", "?"
    )
    with pytest.raises(NotFoundError):
        repos.sensors.get(tenant_b.id, a_data["sensor"])


def test_tenant_b_cannot_change_a_objects(
    repos: Repositories, tenant_a: Tenant, tenant_b: Tenant, a_data: dict[str, str]
) -> None:
    with pytest.raises(NotFoundError):
        repos.alerts.set_status(tenant_b.id, a_data["alert"], AlertStatus.RESOLVED)
    with pytest.raises(NotFoundError):
        repos.sensors.set_token_hash(tenant_b.id, a_data["sensor"], "b-token")
    assert repos.alerts.get(tenant_a.id, a_data["alert"]).status == AlertStatus.OPEN
    # the same fingerprint recorded for B becomes B's own alert, never a count on A's
    [change] = repos.alerts.record([("fp", finding(tenant_b.id))])
    assert change.created
    assert change.alert_id != a_data["alert"]
    assert repos.alerts.get(tenant_a.id, a_data["alert"]).count == 1
    # the same IP upserted for B is B's asset
    repos.assets.upsert(tenant_b.id, "192.168.1.10", hostname="b-host")
    assert repos.assets.list(tenant_a.id)[0].hostname is None


def test_tenant_b_lists_and_counts_nothing_of_a(
    repos: Repositories, tenant_a: Tenant, tenant_b: Tenant, a_data: dict[str, str]
) -> None:
    assert repos.alerts.list(tenant_b.id) == []
    assert repos.alerts.count(tenant_b.id) == 0
    assert repos.alerts.list_across_tenants(tenant_ids=[tenant_b.id]) == []
    assert repos.sensors.list(tenant_b.id) == []
    assert repos.quarantine.list(tenant_b.id, 10) == []
    assert repos.quarantine.count(tenant_b.id) == 0
    assert repos.assets.list(tenant_b.id) == []
    assert repos.outbox.list(tenant_b.id) == []
    # and A still sees its own
    assert repos.alerts.count(tenant_a.id) == 1
    assert len(repos.sensors.list(tenant_a.id)) == 1
    assert repos.quarantine.count(tenant_a.id) == 1
    assert len(repos.assets.list(tenant_a.id)) == 1
