"""Contacts, notification rules, notifications and acknowledgement over the API and the pages, with
tenant isolation: another tenant's objects are 404 by every route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.unit.web.conftest import World, login

from mimamori.domain import Finding, Severity
from mimamori.services import contacts, notify
from mimamori.services.notify_plan import process_outbox
from mimamori.services.triage import record_findings
from mimamori.storage import read_only, unit_of_work

CONTACT = {"name": "総務 花子", "role": "総務", "email": "hanako@a.example", "channels": ["email"]}


def incident(world: World, tenant: str, title: str = "<script>alert(1)</script>") -> str:
    finding = Finding(
        tenant_id=tenant,
        detector="sigma",
        key="k-" + tenant,
        title=title,
        severity=Severity.HIGH,
        timestamp=datetime(2026, 11, 26, 1, tzinfo=UTC),
        host="<img src=x onerror=alert(2)>",
        device_ip="192.168.1.50",
        evidence={"sigma.level": "critical"},
    )
    with unit_of_work(world.runtime.db) as uow:
        recorded = record_findings(uow, [("fp-" + tenant, finding)])
    process_outbox(world.runtime.db, world.runtime.settings, datetime.now(UTC))
    (incident_id,) = recorded.triage.incidents_created
    return incident_id


def test_customer_admin_manages_own_contacts_and_rules(client: TestClient, world: World) -> None:
    login(client, "a@a.example")
    created = client.post(f"/api/v1/tenants/{world.tenant_a}/contacts", json=CONTACT)
    assert created.status_code == 201, created.text
    contact = created.json()
    assert contact["priority"] == 1
    assert contact["channels"] == ["email"]
    changed = client.patch(
        f"/api/v1/tenants/{world.tenant_a}/contacts/{contact['id']}", json={"hours": "Mon-Fri 09:00-18:00"}
    )
    assert changed.json()["hours"] == "Mon-Fri 09:00-18:00"
    assert (
        client.patch(
            f"/api/v1/tenants/{world.tenant_a}/contacts/{contact['id']}", json={"hours": "whenever"}
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"/api/v1/tenants/{world.tenant_a}/contacts", json={**CONTACT, "channels": ["phone"]}
        ).status_code
        == 422
    )  # the phone channel needs a number
    policy = client.patch(f"/api/v1/tenants/{world.tenant_a}/notify-policy", json={"medium": "immediate"})
    assert policy.json()["medium"] == "immediate"
    assert (
        client.patch(f"/api/v1/tenants/{world.tenant_a}/notify-policy", json={"high": "portal"}).status_code
        == 422
    )
    assert client.get(f"/api/v1/tenants/{world.tenant_a}/notify-policy").json()["high"] == "immediate"
    assert client.delete(f"/api/v1/tenants/{world.tenant_a}/contacts/{contact['id']}").status_code == 204
    assert client.get(f"/api/v1/tenants/{world.tenant_a}/contacts").json() == []


def test_viewers_read_but_do_not_change(client: TestClient, world: World) -> None:
    login(client, "b@b.example")  # customer viewer of B
    assert client.get(f"/api/v1/tenants/{world.tenant_b}/contacts").status_code == 200
    assert client.post(f"/api/v1/tenants/{world.tenant_b}/contacts", json=CONTACT).status_code == 403
    assert (
        client.patch(f"/api/v1/tenants/{world.tenant_b}/notify-policy", json={"low": "digest"}).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/tenants/{b}/contacts", None),
        ("POST", "/api/v1/tenants/{b}/contacts", CONTACT),
        ("PATCH", "/api/v1/tenants/{b}/contacts/{contact_b}", {"name": "x"}),
        ("DELETE", "/api/v1/tenants/{b}/contacts/{contact_b}", None),
        ("PATCH", "/api/v1/tenants/{a}/contacts/{contact_b}", {"name": "x"}),
        ("DELETE", "/api/v1/tenants/{a}/contacts/{contact_b}", None),
        ("GET", "/api/v1/tenants/{b}/notify-policy", None),
        ("PATCH", "/api/v1/tenants/{b}/notify-policy", {"medium": "portal"}),
        ("POST", "/api/v1/tenants/{b}/incidents/{incident_b}/acknowledge", None),
        ("POST", "/api/v1/tenants/{a}/incidents/{incident_b}/acknowledge", None),
        ("GET", "/api/v1/notifications?tenant_id={b}", None),
    ],
)
def test_another_tenants_notification_objects_are_404(
    client: TestClient, world: World, method: str, path: str, body: object
) -> None:
    contact_b = contacts.add_contact(
        world.runtime.db, None, world.tenant_b, {**CONTACT, "email": "secret@b.example"}
    ).id
    incident_b = incident(world, world.tenant_b)
    login(client, "a@a.example")
    url = path.format(a=world.tenant_a, b=world.tenant_b, contact_b=contact_b, incident_b=incident_b)
    response = client.request(method, url, json=body)
    assert response.status_code == 404, (url, response.status_code, response.text)
    assert "secret@b.example" not in response.text
    assert contacts.list_contacts(world.runtime.db, None, world.tenant_b)[0].name == CONTACT["name"]


def test_provider_views_and_customer_scoping_of_notifications(client: TestClient, world: World) -> None:
    contacts.add_contact(world.runtime.db, None, world.tenant_a, CONTACT)
    contacts.add_contact(world.runtime.db, None, world.tenant_b, {**CONTACT, "email": "secret@b.example"})
    incident(world, world.tenant_a)
    incident(world, world.tenant_b)
    login(client, "a@a.example")
    mine = client.get("/api/v1/notifications").json()
    assert {n["address"] for n in mine} == {"hanako@a.example"}
    for path in ("/api/v1/notifications/status", "/api/v1/oncall", f"/api/v1/notifications/{mine[0]['id']}"):
        assert client.get(path).status_code == 403
    assert client.post("/api/v1/notifications/retry", json={}).status_code == 403
    login(client, "soc@provider.example")
    every = client.get("/api/v1/notifications").json()
    assert {n["address"] for n in every} == {"hanako@a.example", "secret@b.example"}
    queue = client.get("/api/v1/notifications/status").json()
    assert queue["pending"] + queue["dead"] >= 2  # the runtime's notifier may have tried them already
    shift = client.post(
        "/api/v1/oncall",
        json={
            "name": "Analyst",
            "email": "oncall@provider.example",
            "starts_at": datetime.now(UTC).isoformat(),
            "ends_at": (datetime.now(UTC) + timedelta(hours=8)).isoformat(),
        },
    )
    assert shift.status_code == 201, shift.text
    assert [s["id"] for s in client.get("/api/v1/oncall").json()] == [shift.json()["id"]]


def test_acknowledge_from_api_and_portal_button(client: TestClient, world: World) -> None:
    contacts.add_contact(world.runtime.db, None, world.tenant_a, CONTACT)
    first = incident(world, world.tenant_a)
    login(client, "a@a.example")
    page = client.get("/portal")
    assert "確認しました" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    done = client.post(
        f"/portal/incidents/{world.tenant_a}/{first}/ack", data={"csrf": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    assert notify.awaiting(world.runtime.db, None, world.tenant_a) == []
    # Already acknowledged: the API says so without error.
    again = client.post(f"/api/v1/tenants/{world.tenant_a}/incidents/{first}/acknowledge")
    assert again.json() == {"incident_id": first, "acknowledged": True, "escalation_stopped": False}


def test_ack_link_page_escapes_log_text_and_rejects_forgeries(client: TestClient, world: World) -> None:
    contacts.add_contact(world.runtime.db, None, world.tenant_a, CONTACT)
    incident(world, world.tenant_a)
    (sent,) = notify.list_notifications(world.runtime.db, None, world.tenant_a)
    with read_only(world.runtime.db) as uow:
        row = uow.notifications.get(sent.id)
    path = "/" + row.notice["ack_url"].split("://", 1)[1].split("/", 1)[1]
    page = client.get(path)
    assert page.status_code == 200
    assert "<img src=x" not in page.text
    assert "<script>alert(1)" not in page.text
    token = path.split("/ack/", 1)[1].split("?", 1)[0]
    forged = client.get("/ack/" + token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB"))
    assert forged.status_code == 404
    assert "確認しました" not in forged.text
    # The POST needs the page's CSRF token.
    assert client.post(path, data={"csrf": "nope"}).status_code == 403


def test_soc_console_shows_dead_letters(client: TestClient, world: World) -> None:
    contacts.add_contact(world.runtime.db, None, world.tenant_a, CONTACT)
    incident(world, world.tenant_a)
    assert world.runtime.notifier is not None
    world.runtime.notifier.tick()  # no SMTP and no mail directory configured: dead at once
    login(client, "soc@provider.example")
    page = client.get("/soc")
    assert "e-mail is not configured" in page.text
    assert "hanako@a.example" in page.text


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https://127.0.0.1/hook",
        "https://10.0.0.5/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hook",
        "https://intranet.local/hook",
    ],
)
def test_customer_webhooks_cannot_point_into_the_providers_network(
    client: TestClient, world: World, url: str
) -> None:
    login(client, "a@a.example")
    body = {**CONTACT, "channels": ["webhook"], "endpoints": {"webhook": url}}
    assert client.post(f"/api/v1/tenants/{world.tenant_a}/contacts", json=body).status_code == 422
