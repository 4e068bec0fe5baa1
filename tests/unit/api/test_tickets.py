"""``/api/v1`` tickets: customers open and read their own, staff read every tenant's and change status;
another tenant's ticket is a 404 on every route."""

from __future__ import annotations

from typing import get_args

from fastapi.testclient import TestClient
from tests.support.accounts import enroll_totp, staff_login, user_id_of
from tests.unit.web.conftest import PASSWORD, World, client, login, world

from mimamori.api import tickets as tickets_api
from mimamori.services import tickets

__all__ = ["client", "world"]  # the web fixtures, reused


def staff(client: TestClient, world: World) -> None:
    client.cookies.clear()
    secret = enroll_totp(world.runtime.db, user_id_of(world.runtime.db, "soc@provider.example"))
    staff_login(client, "soc@provider.example", PASSWORD, secret)


def test_customer_opens_and_reads_own_tickets(client: TestClient, world: World) -> None:
    login(client, "a@a.example")
    created = client.post(
        f"/api/v1/tenants/{world.tenant_a}/tickets",
        json={"kind": "onsite", "message": "<b>来て</b>", "phone": "03-1234-5678", "preferred_time": "午後"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "open"
    assert body["kind"] == "onsite"
    assert body["message"] == "<b>来て</b>"  # JSON carries the text as given; pages escape it
    assert body["number"] == f"{body['id'][:4]}-{body['id'][4:8]}".upper()
    listed = client.get(f"/api/v1/tenants/{world.tenant_a}/tickets").json()
    assert [t["id"] for t in listed] == [body["id"]]
    one = client.get(f"/api/v1/tenants/{world.tenant_a}/tickets/{body['id']}")
    assert one.json()["id"] == body["id"]
    assert client.post(f"/api/v1/tenants/{world.tenant_a}/tickets", json={"kind": "x"}).status_code == 422
    assert client.get("/api/v1/tickets").status_code == 403
    patch = client.patch(f"/api/v1/tenants/{world.tenant_a}/tickets/{body['id']}", json={"status": "done"})
    assert patch.status_code == 403


def test_another_tenants_tickets_are_404(client: TestClient, world: World) -> None:
    login(client, "a@a.example")
    mine = client.post(f"/api/v1/tenants/{world.tenant_a}/tickets", json={"kind": "consult"}).json()
    client.cookies.clear()
    login(client, "b@b.example")
    assert client.get(f"/api/v1/tenants/{world.tenant_a}/tickets").status_code == 404
    assert client.get(f"/api/v1/tenants/{world.tenant_a}/tickets/{mine['id']}").status_code == 404
    assert client.get(f"/api/v1/tenants/{world.tenant_b}/tickets/{mine['id']}").status_code == 404
    opened = client.post(f"/api/v1/tenants/{world.tenant_a}/tickets", json={"kind": "consult"})
    assert opened.status_code == 404
    assert client.get(f"/api/v1/tenants/{world.tenant_b}/tickets").json() == []


def test_staff_see_all_and_change_status(client: TestClient, world: World) -> None:
    login(client, "a@a.example")
    a = client.post(f"/api/v1/tenants/{world.tenant_a}/tickets", json={"kind": "consult"}).json()
    client.cookies.clear()
    login(client, "b@b.example")
    b = client.post(f"/api/v1/tenants/{world.tenant_b}/tickets", json={"kind": "onsite"}).json()
    staff(client, world)
    assert [t["id"] for t in client.get("/api/v1/tickets").json()] == [a["id"], b["id"]]
    moved = client.patch(
        f"/api/v1/tenants/{world.tenant_a}/tickets/{a['id']}", json={"status": "in_progress"}
    )
    assert moved.status_code == 200
    assert moved.json()["status"] == "in_progress"
    wrong = client.patch(f"/api/v1/tenants/{world.tenant_b}/tickets/{a['id']}", json={"status": "done"})
    assert wrong.status_code == 404
    bad = client.patch(f"/api/v1/tenants/{world.tenant_a}/tickets/{a['id']}", json={"status": "closed"})
    assert bad.status_code == 422
    client.patch(f"/api/v1/tenants/{world.tenant_a}/tickets/{a['id']}", json={"status": "done"})
    assert [t["id"] for t in client.get("/api/v1/tickets").json()] == [b["id"]]
    assert [t["id"] for t in client.get("/api/v1/tickets?status=done").json()] == [a["id"]]


def test_request_value_sets_match_the_service() -> None:
    assert get_args(tickets_api.Kind) == tickets.KINDS
    assert get_args(tickets_api.Status) == tickets.STATUSES
