"""The JSON API: sessions, alerts and tenant isolation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.unit.web.conftest import PASSWORD, World, login


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "queue": True, "receivers": True}


def test_alerts_need_a_login(client: TestClient) -> None:
    response = client.get("/api/v1/alerts")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_wrong_password_is_401_and_does_not_say_why(client: TestClient) -> None:
    wrong = client.post("/api/v1/session", json={"email": "a@a.example", "password": "nope-nope-nope"})
    unknown = client.post("/api/v1/session", json={"email": "x@x.example", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_lockout_after_repeated_failures(client: TestClient) -> None:
    for _ in range(5):
        client.post("/api/v1/session", json={"email": "a@a.example", "password": "wrong-password"})
    locked = client.post("/api/v1/session", json={"email": "a@a.example", "password": PASSWORD})
    assert locked.status_code == 401


def test_customer_sees_only_own_tenant(client: TestClient, world: World) -> None:
    login(client, "a@a.example")
    mine = client.get("/api/v1/alerts").json()
    assert [a["id"] for a in mine] == [world.alert_a]
    assert mine[0]["tenant_id"] == world.tenant_a
    assert mine[0]["severity"] == "high"
    assert {
        "id",
        "tenant_id",
        "severity",
        "title",
        "detector",
        "host",
        "source_ip",
        "destination_ip",
        "first_seen",
        "last_seen",
        "count",
    } <= set(mine[0])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/alerts?tenant_id={b}",
        "/api/v1/tenants/{b}/alerts",
        "/api/v1/tenants/{b}/alerts/{alert_b}",
        "/api/v1/tenants/{a}/alerts/{alert_b}",
        "/tenants/{b}",
    ],
)
def test_other_tenants_data_is_404_for_a_customer(client: TestClient, world: World, path: str) -> None:
    login(client, "a@a.example")
    url = path.format(a=world.tenant_a, b=world.tenant_b, alert_b=world.alert_b)
    response = client.get(url)
    assert response.status_code == 404
    assert "secret-of-b" not in response.text


def test_provider_sees_every_tenant(client: TestClient, world: World) -> None:
    login(client, "soc@provider.example")
    ids = {a["id"] for a in client.get("/api/v1/alerts").json()}
    assert ids == {world.alert_a, world.alert_b}
    only_b = client.get(f"/api/v1/alerts?tenant_id={world.tenant_b}").json()
    assert [a["id"] for a in only_b] == [world.alert_b]
    one = client.get(f"/api/v1/tenants/{world.tenant_b}/alerts/{world.alert_b}")
    assert one.status_code == 200


def test_unknown_tenant_is_404_for_provider_too(client: TestClient) -> None:
    login(client, "soc@provider.example")
    assert client.get("/api/v1/tenants/nope/alerts").status_code == 404


def test_logout_ends_the_session(client: TestClient) -> None:
    login(client, "a@a.example")
    assert client.delete("/api/v1/session").status_code == 204
    assert client.get("/api/v1/alerts").status_code == 401
