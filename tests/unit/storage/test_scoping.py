"""The tenant filter refuses to be called without a tenant."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, select

from mimamori.domain.models import Tenant
from mimamori.storage import Repositories
from mimamori.storage.scoping import scoped, scoped_any
from mimamori.storage.tables import alerts


@pytest.mark.parametrize("tenant_id", ["", None])
def test_scoped_requires_a_tenant(tenant_id: object) -> None:
    with pytest.raises(ValueError, match="tenant id is required"):
        scoped(alerts, tenant_id)  # type: ignore[arg-type]


def test_every_repository_method_refuses_an_empty_tenant(repos: Repositories) -> None:
    for call in (
        lambda: repos.alerts.list(""),
        lambda: repos.alerts.get("", "x"),
        lambda: repos.sensors.list(""),
        lambda: repos.quarantine.count(""),
        lambda: repos.assets.list(""),
        lambda: repos.outbox.add("", None, "email", {}, "k"),
    ):
        with pytest.raises(ValueError, match="tenant id"):
            call()


def test_scoped_any_with_no_tenants_matches_nothing(connection: Connection, tenant_a: Tenant) -> None:
    assert connection.execute(select(alerts).where(scoped_any(alerts, []))).all() == []
