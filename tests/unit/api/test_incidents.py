"""``/api/v1`` incidents and suppressions: shapes, workflow, and tenant isolation on every route."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.support.accounts import enroll_totp
from tests.unit.web.conftest import PASSWORD, login, make_settings

from mimamori.api import incidents as incidents_api
from mimamori.domain import Finding, Role, Severity
from mimamori.services import auth, tenants
from mimamori.services.runtime import Runtime
from mimamori.services.triage import triage_changes
from mimamori.storage import unit_of_work
from mimamori.triage import fingerprinted
from mimamori.web.app import create_app


def _incident(runtime: Runtime, tenant_id: str) -> str:
    finding = Finding(
        tenant_id=tenant_id,
        detector="indicator",
        key="ip:203.0.113.66",
        title="Connection to a known malicious server: 203.0.113.66",
        severity=Severity.HIGH,
        timestamp=datetime(2026, 11, 26, 1, tzinfo=UTC),
        host="PC-KEIRI-01",
        source_ip="192.168.1.10",
        destination_ip="203.0.113.66",
        evidence={"event.outcome": "success"},
        device_ip="192.168.1.10",
    )
    with unit_of_work(runtime.db) as uow:
        (created,) = triage_changes(uow, uow.alerts.record(fingerprinted([finding]))).incidents_created
    return created


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[TestClient, str, str, str, str]]:
    runtime = Runtime(make_settings(tmp_path))
    a = tenants.add_tenant(runtime.db, "山田製作所").id
    b = tenants.add_tenant(runtime.db, "佐藤商店").id
    analyst = auth.create_user(runtime.db, "soc@provider.example", "SOC", Role.ANALYST, PASSWORD)
    enroll_totp(runtime.db, analyst.id)
    auth.create_user(runtime.db, "a@a.example", "A", Role.CUSTOMER_ADMIN, PASSWORD, tenant_id=a)
    auth.create_user(runtime.db, "b@b.example", "B", Role.CUSTOMER_VIEWER, PASSWORD, tenant_id=b)
    inc_a, inc_b = _incident(runtime, a), _incident(runtime, b)
    app = create_app(runtime)
    if not any(getattr(r, "path", "") == "/api/v1/incidents" for r in app.routes):
        app.include_router(incidents_api.router)  # what web/app.py will do (the lead's line)
    with TestClient(app) as client:
        yield client, a, b, inc_a, inc_b


def test_needs_a_login(setup: tuple[TestClient, str, str, str, str]) -> None:
    client = setup[0]
    assert client.get("/api/v1/incidents").status_code == 401


def test_customer_sees_own_incidents_only_and_cannot_change_them(
    setup: tuple[TestClient, str, str, str, str],
) -> None:
    client, a, b, inc_a, inc_b = setup
    login(client, "a@a.example")
    (mine,) = client.get("/api/v1/incidents").json()
    assert mine["id"] == inc_a
    assert {"id", "severity", "score", "host", "alerts", "guidance", "damage"} <= set(mine)
    assert mine["guidance"]["ja"]["what"]
    assert mine["guidance"]["en"]["what"]
    for path in (
        f"/api/v1/incidents?tenant_id={b}",
        f"/api/v1/tenants/{b}/incidents/{inc_b}",
        f"/api/v1/tenants/{a}/incidents/{inc_b}",
    ):
        assert client.get(path).status_code == 404, path
    change = client.post(f"/api/v1/tenants/{a}/incidents/{inc_a}/status", json={"status": "acknowledged"})
    assert change.status_code == 403
    assert client.get(f"/api/v1/tenants/{a}/suppressions").status_code == 403


def test_analyst_workflow_over_the_api(setup: tuple[TestClient, str, str, str, str]) -> None:
    client, a, b, inc_a, inc_b = setup
    login(client, "soc@provider.example")
    assert {i["id"] for i in client.get("/api/v1/incidents").json()} == {inc_a, inc_b}
    base = f"/api/v1/tenants/{a}/incidents/{inc_a}"
    assert client.post(f"{base}/status", json={"status": "acknowledged"}).status_code == 200
    assert client.post(f"{base}/assignee", json={"assignee": "tanaka"}).json()["assignee"] == "tanaka"
    assert client.post(f"{base}/notes", json={"text": "お客様に電話"}).status_code == 200
    bad = client.post(f"{base}/status", json={"status": "resolved"})
    assert bad.status_code == 422
    done = client.post(f"{base}/status", json={"status": "resolved", "resolution": "benign"}).json()
    assert [h["action"] for h in done["history"]] == ["created", "status", "assign", "note", "status"]
    assert client.post(f"/api/v1/tenants/{b}/incidents/{inc_a}/notes", json={"text": "x"}).status_code == 404
    preview = client.get(
        f"/api/v1/tenants/{a}/suppressions/preview", params={"kind": "host", "host": "PC-KEIRI-01"}
    )
    assert preview.json() == {"preview": 1}
    rule = client.post(
        f"/api/v1/tenants/{a}/suppressions",
        json={
            "kind": "host",
            "host": "PC-KEIRI-01",
            "reason": "test PC",
            "expires_at": "2099-01-01T00:00:00Z",
        },
    )
    assert rule.status_code == 201
    assert rule.json()["preview"] == 1
    assert client.delete(f"/api/v1/tenants/{b}/suppressions/{rule.json()['id']}").status_code == 404
    assert client.delete(f"/api/v1/tenants/{a}/suppressions/{rule.json()['id']}").status_code == 204
