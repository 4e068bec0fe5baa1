"""Personal API tokens on /api/v1: bearer auth as the owner, scopes, tenant scoping, management routes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tests.unit.web import conftest as web
from tests.unit.web.conftest import World, login

from mimamori.services import accounts
from mimamori.services.runtime import Runtime


def token(runtime: Runtime, email: str, scopes: str, **extra: Any) -> str:
    user = accounts.user_by_email(runtime.db, email)
    return accounts.create_token(runtime.db, user, "test", scopes, **extra)[1]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


world = web.world  # the web tests' app over a real runtime, with two tenants and their users
client = web.client

CONTACT = {"name": "総務 山田", "role": "総務", "email": "yamada@a.example"}


def test_a_token_acts_as_its_owner_within_their_tenant(client: TestClient, world: World) -> None:
    read = bearer(token(world.runtime, "a@a.example", "read"))
    alerts = client.get("/api/v1/alerts", headers=read)
    assert alerts.status_code == 200
    assert {a["tenant_id"] for a in alerts.json()} == {world.tenant_a}
    assert client.get(f"/api/v1/tenants/{world.tenant_b}/alerts", headers=read).status_code == 404
    assert (
        client.get(f"/api/v1/tenants/{world.tenant_a}/alerts/{world.alert_b}", headers=read).status_code
        == 404
    )


def test_a_read_token_cannot_write_a_write_token_can(client: TestClient, world: World) -> None:
    path = f"/api/v1/tenants/{world.tenant_a}/contacts"
    read = bearer(token(world.runtime, "a@a.example", "read"))
    refused = client.post(path, json=CONTACT, headers=read)
    assert refused.status_code == 403
    assert "do not allow POST" in refused.json()["detail"]
    assert client.get(path, headers=read).status_code == 200
    write = bearer(token(world.runtime, "a@a.example", "write"))
    assert client.post(path, json=CONTACT, headers=write).status_code == 201
    viewer = bearer(token(world.runtime, "b@b.example", "write"))  # the role still decides
    assert (
        client.post(f"/api/v1/tenants/{world.tenant_b}/contacts", json=CONTACT, headers=viewer).status_code
        == 403
    )


def test_bad_tokens_are_401_even_with_a_session_and_ingest_keeps_sensor_tokens(
    client: TestClient, world: World
) -> None:
    login(client, "a@a.example")
    assert client.get("/api/v1/alerts").status_code == 200  # the session works
    basic = client.get("/api/v1/alerts", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 200  # another scheme (a proxy's) is not ours: the session decides
    for header in ("Bearer mmr_made-up", "Bearer ", "bearer  ", f"Bearer {world.token_a}"):
        answer = client.get("/api/v1/alerts", headers={"Authorization": header})
        assert answer.status_code == 401, header  # a bearer header is never ignored for the cookie
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    user_token = token(world.runtime, "a@a.example", "write")
    assert client.post("/api/v1/ingest", content=b"{}\n", headers=bearer(user_token)).status_code == 401
    sensor = client.post("/api/v1/ingest", content=b'{"ts": 1}\n', headers=bearer(world.token_a))
    assert sensor.status_code == 202


def test_revoked_tokens_are_refused_and_last_use_is_recorded(client: TestClient, world: World) -> None:
    value = token(world.runtime, "a@a.example", "read")
    assert client.get("/api/v1/alerts", headers=bearer(value)).status_code == 200
    user = accounts.user_by_email(world.runtime.db, "a@a.example")
    (record,) = accounts.list_tokens(world.runtime.db, user)
    assert record.last_used_at is not None
    accounts.revoke_token(world.runtime.db, None, record.id)
    assert client.get("/api/v1/alerts", headers=bearer(value)).status_code == 401


def test_token_management_routes(client: TestClient, world: World) -> None:
    assert client.get("/api/v1/tokens").status_code == 401
    login(client, "a@a.example")
    created = client.post(
        "/api/v1/tokens", json={"name": "nightly export", "scopes": ["read"], "expires_in_days": 30}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith(body["prefix"])
    assert body["scopes"] == ["read"]
    assert body["expires_at"] is not None
    listed = client.get("/api/v1/tokens").json()
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0]
    assert client.post("/api/v1/tokens", json={"name": "x", "scopes": ["root"]}).status_code == 422
    assert client.post("/api/v1/tokens", json={"name": "x", "expires_in_days": 0}).status_code == 422

    # a token can list tokens but not mint or revoke them (no escalation from a leaked token)
    write = bearer(token(world.runtime, "a@a.example", "write"))
    assert client.get("/api/v1/tokens", headers=write).status_code == 200
    assert client.post("/api/v1/tokens", json={"name": "more"}, headers=write).status_code == 403
    assert client.delete(f"/api/v1/tokens/{body['id']}", headers=write).status_code == 403

    other = token(world.runtime, "b@b.example", "read")
    (other_record,) = accounts.list_tokens(
        world.runtime.db, accounts.user_by_email(world.runtime.db, "b@b.example")
    )
    assert client.delete(f"/api/v1/tokens/{other_record.id}").status_code == 404  # another user's: missing
    assert client.get("/api/v1/alerts", headers=bearer(other)).status_code == 200
    assert client.delete(f"/api/v1/tokens/{body['id']}").status_code == 204
    assert client.get("/api/v1/alerts", headers=bearer(body["token"])).status_code == 401
    assert client.get("/api/v1/tokens").json()[0]["revoked_at"] is not None


def test_staff_tokens_see_every_tenant(client: TestClient, world: World) -> None:
    staff = bearer(token(world.runtime, "soc@provider.example", "read"))
    tenants = {a["tenant_id"] for a in client.get("/api/v1/alerts", headers=staff).json()}
    assert tenants == {world.tenant_a, world.tenant_b}
