"""Sensor tokens are revocable and replaceable: by a provider admin only, effective at once in this
process, and another customer's sensor is a 404."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.unit.web import conftest as web
from tests.unit.web.conftest import PASSWORD, World, login

from mimamori.domain import Role
from mimamori.services import auth, tenants

world = web.world
client = web.client

LINE = b'{"message": "hello"}\n'


def _ingest(client: TestClient, token: str) -> int:
    return client.post(
        "/api/v1/ingest", content=LINE, headers={"Authorization": f"Bearer {token}"}
    ).status_code


def test_an_admin_rotates_then_revokes_a_sensor_token(client: TestClient, world: World) -> None:
    auth.create_user(world.runtime.db, "admin@provider.example", "Admin", Role.PROVIDER_ADMIN, PASSWORD)
    (sensor,) = tenants.list_sensors(world.runtime.db, world.tenant_a)
    assert _ingest(client, world.token_a) == 202  # the old token works and is now cached
    login(client, "admin@provider.example")

    rotated = client.post(f"/api/v1/tenants/{world.tenant_a}/sensors/{sensor.id}/token")
    assert rotated.status_code == 201
    new = rotated.json()["token"]
    assert new != world.token_a
    assert _ingest(client, world.token_a) == 401  # at once, despite the cache
    assert _ingest(client, new) == 202

    assert client.delete(f"/api/v1/tenants/{world.tenant_a}/sensors/{sensor.id}/token").status_code == 204
    assert _ingest(client, new) == 401


def test_analysts_and_customers_cannot_touch_sensor_tokens(client: TestClient, world: World) -> None:
    (sensor,) = tenants.list_sensors(world.runtime.db, world.tenant_a)
    url = f"/api/v1/tenants/{world.tenant_a}/sensors/{sensor.id}/token"
    login(client, "soc@provider.example")
    assert client.post(url).status_code == 403
    login(client, "b@b.example")
    assert client.post(url).status_code == 404  # another customer's sensor does not exist for them
    assert client.delete(url).status_code == 404
    login(client, "a@a.example")
    assert client.post(url).status_code == 403  # customers do not manage sensors
    assert _ingest(client, world.token_a) == 202
