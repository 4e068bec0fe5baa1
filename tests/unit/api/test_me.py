"""/api/v1/me (profile, language, password) and /api/v1/tenants/{id}/status: what the portal's home and
settings pages do, for scripts."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.unit.api.test_tokens import bearer, token
from tests.unit.web import conftest as web
from tests.unit.web.conftest import PASSWORD, World, login

world = web.world
client = web.client

NEW = "another long passphrase"


def test_me_shows_and_changes_my_language(client: TestClient, world: World) -> None:
    login(client, "a@a.example")
    me = client.get("/api/v1/me").json()
    assert me["tenant_id"] == world.tenant_a
    assert me["role"] == "customer_admin"
    assert me["language"] == "ja"
    assert client.patch("/api/v1/me", json={"language": "en"}).json()["language"] == "en"
    assert client.get("/api/v1/me").json()["language"] == "en"
    assert client.patch("/api/v1/me", json={"language": "fr"}).status_code == 422


def test_password_change_keeps_this_session_and_needs_the_current_password(client: TestClient) -> None:
    login(client, "a@a.example")
    wrong = client.post("/api/v1/me/password", json={"current": "nope-nope-nope", "password": NEW})
    assert wrong.status_code == 401
    short = client.post("/api/v1/me/password", json={"current": PASSWORD, "password": "short"})
    assert short.status_code == 422
    assert client.post("/api/v1/me/password", json={"current": PASSWORD, "password": NEW}).status_code == 204
    assert client.get("/api/v1/me").status_code == 200
    client.delete("/api/v1/session")
    assert client.post("/api/v1/session", json={"email": "a@a.example", "password": NEW}).status_code == 200


def test_an_api_token_cannot_change_the_password(client: TestClient, world: World) -> None:
    write = bearer(token(world.runtime, "a@a.example", "write"))
    answer = client.post("/api/v1/me/password", json={"current": PASSWORD, "password": NEW}, headers=write)
    assert answer.status_code == 403


def test_status_of_my_tenant_and_never_of_another(client: TestClient, world: World) -> None:
    login(client, "a@a.example")
    mine = client.get(f"/api/v1/tenants/{world.tenant_a}/status").json()
    assert mine["status"] == "action"  # the fixture's open 高 alert
    assert client.get(f"/api/v1/tenants/{world.tenant_b}/status").status_code == 404
    login(client, "b@b.example")
    assert client.get(f"/api/v1/tenants/{world.tenant_b}/status").json()["status"] == "caution"
