"""The SOC queue's incident search: filters, orders, counts, and tenant scoping of each."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mimamori.domain.models import Tenant
from mimamori.storage import Repositories
from mimamori.storage.repositories import IncidentFilter

from ..samples import T0


def make(repos: Repositories, tenant_id: str, title: str, severity: str, hours: int, **extra: str) -> str:
    opened = T0 + timedelta(hours=hours)
    values = {"title": title, "severity": severity, "status": "new", "opened_at": opened, "last_seen": opened}
    return repos.incidents.create(tenant_id, {**values, **extra}).id


@pytest.fixture
def rows(repos: Repositories, tenant_a: Tenant, tenant_b: Tenant) -> dict[str, str]:
    return {
        "a_low": make(repos, tenant_a.id, "low one", "low", 0),
        "a_high_new": make(repos, tenant_a.id, "100% sure", "high", 5, assignee="x@p.example"),
        "a_high_old": make(repos, tenant_a.id, "C:\\temp_x", "high", 1, host="PC-KEIRI"),
        "b_medium": make(repos, tenant_b.id, "b one", "medium", 3, status="resolved"),
    }


def test_orders(repos: Repositories, rows: dict[str, str]) -> None:
    every = IncidentFilter()
    by_severity = [r.id for r in repos.incidents.search_across_tenants(every, sort="severity")]
    assert by_severity == [rows["a_high_old"], rows["a_high_new"], rows["b_medium"], rows["a_low"]]
    newest = [r.id for r in repos.incidents.search_across_tenants(every, sort="newest")]
    assert newest == [rows["a_high_new"], rows["b_medium"], rows["a_high_old"], rows["a_low"]]
    with pytest.raises(ValueError, match="sort"):
        repos.incidents.search_across_tenants(every, sort="random")


def test_filters_and_counts(
    repos: Repositories, tenant_a: Tenant, tenant_b: Tenant, rows: dict[str, str]
) -> None:
    def found(filters: IncidentFilter, tenant_ids: list[str] | None = None) -> set[str]:
        listed = {r.id for r in repos.incidents.search_across_tenants(filters, tenant_ids=tenant_ids)}
        assert repos.incidents.count_across_tenants(filters, tenant_ids=tenant_ids) == len(listed)
        return listed

    assert found(IncidentFilter(status="open")) == {rows["a_low"], rows["a_high_new"], rows["a_high_old"]}
    assert found(IncidentFilter(status="resolved")) == {rows["b_medium"]}
    assert found(IncidentFilter(severity="high")) == {rows["a_high_new"], rows["a_high_old"]}
    assert found(IncidentFilter(assignee="x@p.example")) == {rows["a_high_new"]}
    assert rows["a_high_new"] not in found(IncidentFilter(assignee=""))
    assert found(IncidentFilter(text="100%")) == {rows["a_high_new"]}  # % is literal
    assert found(IncidentFilter(text="_")) == {rows["a_high_old"]}  # so is _
    assert found(IncidentFilter(text="\\temp")) == {rows["a_high_old"]}  # and the escape character
    assert found(IncidentFilter(text="keiri")) == {rows["a_high_old"]}  # the host too, any case
    assert found(IncidentFilter(), [tenant_b.id]) == {rows["b_medium"]}
    assert found(IncidentFilter(), []) == set()
    scoped = {r.id for r in repos.incidents.search(tenant_b.id, IncidentFilter(severity="high"))}
    assert scoped == set()  # A's high incidents are not B's
    assert repos.incidents.open_counts_across_tenants() == {tenant_a.id: 3}
