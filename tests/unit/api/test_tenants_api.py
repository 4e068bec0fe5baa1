"""``/api/v1`` customers, onboarding, sensor health and the bulk incident action: what the SOC console's
pages do, for scripts; with the same permissions (admins onboard, analysts read, customers see their own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.support.accounts import enroll_totp
from tests.unit.web.conftest import PASSWORD, World, client, login, world
from tests.unit.web.soc_world import make_incident

from mimamori.domain import Role, Severity
from mimamori.services import auth, incidents, tenants
from mimamori.storage import unit_of_work
from mimamori.storage.repositories.sensors import Counters

ADMIN = "admin@provider.example"
__all__ = ["client", "world"]  # the web fixtures: a Runtime over SQLite and a client on it


@pytest.fixture
def admin(world: World) -> str:
    user = auth.create_user(world.runtime.db, ADMIN, "Admin", Role.PROVIDER_ADMIN, PASSWORD)
    enroll_totp(world.runtime.db, user.id)
    return ADMIN


def payload(**extra: Any) -> dict[str, Any]:
    return {
        "name": "鈴木工業",
        "profile": {"industry": "製造業", "employees": 45, "sales_band": "100m-500m"},
        "contacts": [{"name": "鈴木 花子", "email": "hanako@suzuki.example", "phone": "+81312345678"}],
        "sensors": [
            {"name": "utm", "format": "fortigate"},
            {"name": "zeek", "format": "zeek", "timezone": "UTC"},
        ],
        **extra,
    }


def test_admin_onboards_over_the_api_and_tokens_work(client: TestClient, world: World, admin: str) -> None:
    login(client, admin)
    made = client.post("/api/v1/tenants", json=payload())
    assert made.status_code == 201, made.text
    body = made.json()
    tenant_id = body["tenant"]["id"]
    assert body["profile"] == {"industry": "製造業", "employees": 45, "sales_band": "100m-500m"}
    by_name = {s["name"]: s for s in body["sensors"]}
    assert by_name["utm"]["setup"]["transport"] == "syslog"
    assert by_name["utm"]["setup"]["structured_data"] == f'[mimamori@32473 token="{by_name["utm"]["token"]}"]'
    assert by_name["zeek"]["setup"]["transport"] == "http"
    assert by_name["zeek"]["setup"]["header"] == f"Authorization: Bearer {by_name['zeek']['token']}"
    found = tenants.sensor_for_token(world.runtime.db, by_name["zeek"]["token"])
    assert found is not None
    assert found.tenant_id == tenant_id
    detail = client.get(f"/api/v1/tenants/{tenant_id}").json()
    assert detail["name"] == "鈴木工業"
    assert [c["email"] for c in detail["contacts"]] == ["hanako@suzuki.example"]
    assert {s["name"] for s in detail["sensors"]} == {"utm", "zeek"}
    assert "token" not in str(client.get(f"/api/v1/tenants/{tenant_id}/sensors").json())


def test_onboarding_reports_every_problem_and_creates_nothing(
    client: TestClient, world: World, admin: str
) -> None:
    login(client, admin)
    before = len(tenants.list_tenants(world.runtime.db))
    bad = payload(
        contacts=[{"name": "x", "email": "not-mail"}],
        sensors=[{"name": "utm", "format": "nope"}, {"name": "utm", "format": "zeek", "timezone": "Mars/X"}],
    )
    response = client.post("/api/v1/tenants", json=bad)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "contact 1" in detail
    assert "sensor 1" in detail
    assert "sensor 2" in detail
    assert client.post("/api/v1/tenants", json=payload(contacts=[])).status_code == 422
    assert len(tenants.list_tenants(world.runtime.db)) == before


def test_only_admins_onboard(client: TestClient, world: World) -> None:
    login(client, "soc@provider.example")
    assert client.post("/api/v1/tenants", json=payload()).status_code == 403
    assert client.get("/api/v1/tenants").status_code == 200
    login(client, "a@a.example")
    assert client.post("/api/v1/tenants", json=payload()).status_code == 403


def test_tenant_list_counts_and_sensor_health(client: TestClient, world: World) -> None:
    make_incident(world.runtime, world.tenant_a)
    quiet = tenants.add_sensor(world.runtime.db, world.tenant_b, "utm", "fortigate").sensor
    with unit_of_work(world.runtime.db) as uow:
        uow.sensors.add_counters(
            {quiet.id: Counters(received=1, last_seen=datetime.now(UTC) - timedelta(days=1))}
        )
    login(client, "soc@provider.example")
    listing = {t["name"]: t for t in client.get("/api/v1/tenants").json()}
    assert listing["山田製作所"]["open_incidents"] == 1
    assert listing["佐藤商店"]["sensors"] == 1
    assert listing["佐藤商店"]["silent_sensors"] == 1
    assert [t["name"] for t in client.get("/api/v1/tenants", params={"q": "佐藤"}).json()] == ["佐藤商店"]
    health = client.get("/api/v1/sensors/health").json()
    assert health[0]["id"] == quiet.id
    assert health[0]["silent"] is True


def test_customers_see_only_their_own_tenant(client: TestClient, world: World) -> None:
    login(client, "a@a.example")
    assert client.get("/api/v1/tenants").status_code == 403
    assert client.get("/api/v1/sensors/health").status_code == 403
    assert client.get(f"/api/v1/tenants/{world.tenant_a}").status_code == 200
    assert client.get(f"/api/v1/tenants/{world.tenant_a}/sensors").status_code == 200
    assert client.get(f"/api/v1/tenants/{world.tenant_b}").status_code == 404
    assert client.get(f"/api/v1/tenants/{world.tenant_b}/sensors").status_code == 404


def test_bulk_incident_action(client: TestClient, world: World) -> None:
    one = make_incident(world.runtime, world.tenant_a)
    two = make_incident(world.runtime, world.tenant_b, host="PC-B", source_ip="10.0.0.2")
    items = [
        {"tenant_id": world.tenant_a, "incident_id": one},
        {"tenant_id": world.tenant_b, "incident_id": two},
    ]
    login(client, "a@a.example")
    assert (
        client.post("/api/v1/incidents/bulk", json={"items": items, "action": "acknowledge"}).status_code
        == 403
    )
    login(client, "soc@provider.example")
    done = client.post("/api/v1/incidents/bulk", json={"items": items, "action": "acknowledge"})
    assert done.status_code == 200
    assert done.json() == {"done": [one, two], "failed": []}
    again = client.post("/api/v1/incidents/bulk", json={"items": items[:1], "action": "acknowledge"}).json()
    assert again["done"] == []
    assert "cannot go from acknowledged" in again["failed"][0]["error"]
    crossed = [{"tenant_id": world.tenant_b, "incident_id": one}]
    assert (
        client.post("/api/v1/incidents/bulk", json={"items": crossed, "action": "assign"}).json()["failed"][
            0
        ]["error"]
        == "not found"
    )
    assert (
        client.post("/api/v1/incidents/bulk", json={"items": items, "action": "resolve"}).status_code == 422
    )
    client.post("/api/v1/incidents/bulk", json={"items": items, "action": "resolve", "resolution": "benign"})
    assert incidents.get_incident(world.runtime.db, None, world.tenant_b, two)["resolution"] == "benign"
    assert client.post("/api/v1/incidents/bulk", json={"items": items, "action": "delete"}).status_code == 422


def test_incident_list_takes_the_queue_filters(client: TestClient, world: World) -> None:
    low = make_incident(
        world.runtime,
        world.tenant_b,
        title="Port scan",
        severity=Severity.LOW,
        host="PC-B",
        source_ip="10.0.0.2",
    )
    high = make_incident(world.runtime, world.tenant_a, when=datetime(2026, 11, 27, tzinfo=UTC))
    login(client, "soc@provider.example")

    def ids(**params: str) -> list[str]:
        response = client.get("/api/v1/incidents", params=params)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()]

    assert ids(sort="severity", status="open") == [high, low]
    assert ids(severity="low") == [low]
    assert ids(q="port") == [low]
    incidents.assign(world.runtime.db, None, world.tenant_a, high, "x@p.example")
    assert ids(assignee="") == [low]  # nobody assigned
    assert ids(assignee="x@p.example") == [high]
    assert client.get("/api/v1/incidents", params={"sort": "random"}).status_code == 422
