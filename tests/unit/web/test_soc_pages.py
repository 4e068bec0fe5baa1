"""The SOC console: the incident queue (filters, order, paging, bulk actions), one incident with its
escaped raw evidence and forms, customers (list, detail, onboarding) and who may see any of it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from tests.support.accounts import enroll_totp
from tests.unit.web.conftest import PASSWORD, World, login
from tests.unit.web.soc_world import make_incident

from mimamori.domain import Role, Severity
from mimamori.services import auth, contacts, incidents, tenants, triage_suppression

ADMIN = "admin@provider.example"
ANALYST = "soc@provider.example"


def csrf(client: TestClient, path: str = "/soc") -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match, path
    return match.group(1)


@pytest.fixture
def queue(world: World) -> dict[str, str]:
    """Three incidents: a high one in A (oldest high), a high one in A (newer), a low one in B."""
    rt = world.runtime
    return {
        "old_high": make_incident(rt, world.tenant_a, host="PC-OLD", when=datetime(2026, 11, 20, tzinfo=UTC)),
        "new_high": make_incident(rt, world.tenant_a, host="PC-NEW", when=datetime(2026, 11, 25, tzinfo=UTC)),
        "low_b": make_incident(
            rt,
            world.tenant_b,
            title="Port scan from 198.51.100.7",
            severity=Severity.LOW,
            host="PC-B",
            key="scan:198.51.100.7",
            when=datetime(2026, 11, 19, tzinfo=UTC),
        ),
    }


def make_admin(world: World) -> None:
    admin = auth.create_user(world.runtime.db, ADMIN, "Admin", Role.PROVIDER_ADMIN, PASSWORD)
    enroll_totp(world.runtime.db, admin.id)


def rows(page: str) -> list[str]:
    """Incident ids of the queue rows, in page order."""
    return re.findall(r'name="items" value="[^:"]+:([^"]+)"', page)


def test_queue_orders_by_severity_then_age_and_by_newest(
    client: TestClient, world: World, queue: dict[str, str]
) -> None:
    login(client, ANALYST)
    page = client.get("/soc")
    assert page.status_code == 200
    assert rows(page.text) == [queue["old_high"], queue["new_high"], queue["low_b"]]
    assert "山田製作所" in page.text
    assert "佐藤商店" in page.text
    newest = client.get("/soc?sort=newest").text
    assert rows(newest) == [queue["new_high"], queue["old_high"], queue["low_b"]]


def test_queue_filters_by_tenant_severity_status_assignee_and_text(
    client: TestClient, world: World, queue: dict[str, str]
) -> None:
    login(client, ANALYST)
    assert rows(client.get(f"/soc?tenant={world.tenant_b}").text) == [queue["low_b"]]
    assert rows(client.get("/soc?severity=low").text) == [queue["low_b"]]
    assert rows(client.get("/soc?q=PORT+scan").text) == [queue["low_b"]]
    assert rows(client.get("/soc?q=%25").text) == []  # a LIKE wildcard is searched for literally
    incidents.assign(world.runtime.db, None, world.tenant_a, queue["new_high"], ANALYST)
    assert rows(client.get("/soc?assignee=me").text) == [queue["new_high"]]
    assert queue["new_high"] not in rows(client.get("/soc?assignee=none").text)
    incidents.set_status(
        world.runtime.db, None, world.tenant_b, queue["low_b"], "resolved", resolution="benign"
    )
    assert queue["low_b"] not in rows(client.get("/soc").text)  # open ones by default
    assert rows(client.get("/soc?status=resolved").text) == [queue["low_b"]]
    assert len(rows(client.get("/soc?status=all").text)) == 3


def test_queue_pages(client: TestClient, world: World, queue: dict[str, str]) -> None:
    for n in range(25):
        make_incident(
            world.runtime,
            world.tenant_b,
            host=f"PC-{n:02}",
            severity=Severity.MEDIUM,
            source_ip=f"10.0.0.{n}",
        )
    login(client, ANALYST)
    first = client.get("/soc?per=25").text
    assert len(rows(first)) == 25
    assert 'rel="next"' in first
    assert 'rel="prev"' not in first
    second = client.get("/soc?per=25&page=2").text
    assert len(rows(second)) == 3
    assert not set(rows(first)) & set(rows(second))


def test_bulk_acknowledge_assign_and_resolve(client: TestClient, world: World, queue: dict[str, str]) -> None:
    login(client, ANALYST)
    token = csrf(client)
    items = [f"{world.tenant_a}:{queue['old_high']}", f"{world.tenant_b}:{queue['low_b']}"]
    done = client.post(
        "/soc/bulk",
        data={"csrf": token, "items": items, "action": "acknowledge", "back": "status=all"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/soc?status=all"
    db = world.runtime.db
    assert incidents.get_incident(db, None, world.tenant_a, queue["old_high"])["status"] == "acknowledged"
    assert incidents.get_incident(db, None, world.tenant_b, queue["low_b"])["status"] == "acknowledged"
    assert incidents.get_incident(db, None, world.tenant_a, queue["new_high"])["status"] == "new"
    assert "2 件を更新しました" in client.get("/soc").text  # the flash message, once
    assert "2 件を更新しました" not in client.get("/soc").text

    client.post("/soc/bulk", data={"csrf": token, "items": items, "action": "assign_me"})
    assert incidents.get_incident(db, None, world.tenant_b, queue["low_b"])["assignee"] == ANALYST
    client.post(
        "/soc/bulk", data={"csrf": token, "items": items[:1], "action": "assign", "assignee": "x@p.example"}
    )
    assert incidents.get_incident(db, None, world.tenant_a, queue["old_high"])["assignee"] == "x@p.example"

    refused = client.post("/soc/bulk", data={"csrf": token, "items": items, "action": "resolve"})
    assert "resolution" in refused.text  # resolving needs a resolution: nothing changed
    assert incidents.get_incident(db, None, world.tenant_a, queue["old_high"])["status"] == "acknowledged"
    client.post(
        "/soc/bulk",
        data={"csrf": token, "items": items, "action": "resolve", "resolution": "false_positive"},
    )
    resolved = incidents.get_incident(db, None, world.tenant_a, queue["old_high"])
    assert (resolved["status"], resolved["resolution"]) == ("resolved", "false_positive")


def test_bulk_reports_failures_and_needs_csrf(
    client: TestClient, world: World, queue: dict[str, str]
) -> None:
    login(client, ANALYST)
    items = [f"{world.tenant_b}:{queue['old_high']}", f"{world.tenant_a}:{queue['new_high']}"]
    assert client.post("/soc/bulk", data={"items": items, "action": "acknowledge"}).status_code == 403
    assert (
        incidents.get_incident(world.runtime.db, None, world.tenant_a, queue["new_high"])["status"] == "new"
    )
    page = client.post("/soc/bulk", data={"csrf": csrf(client), "items": items, "action": "acknowledge"})
    assert "1 件完了、1 件失敗" in page.text  # the wrong tenant/incident pair is a failure, not a change
    assert incidents.get_incident(world.runtime.db, None, world.tenant_a, queue["new_high"])["status"] == (
        "acknowledged"
    )


def test_incident_page_shows_escaped_raw_evidence_and_timeline(
    client: TestClient, world: World, queue: dict[str, str]
) -> None:
    login(client, ANALYST)
    page = client.get(f"/soc/incidents/{world.tenant_a}/{queue['old_high']}")
    assert page.status_code == 200
    text = page.text
    assert "<script>alert('raw')</script>" not in text
    assert "devname=&lt;script&gt;alert(&#39;raw&#39;)&lt;/script&gt;" in text
    assert 'data-testid="evidence"' in text
    assert "event.original" in text
    assert 'data-testid="ack"' in text
    assert 'data-testid="resolve"' in text
    assert "山田製作所" in text
    assert "PC-OLD" in text
    assert 'data-testid="guidance"' in text
    assert f"/soc/incidents/{world.tenant_b}/{queue['old_high']}" not in text
    assert client.get(f"/soc/incidents/{world.tenant_b}/{queue['old_high']}").status_code == 404


def test_incident_forms_change_state_with_a_message(
    client: TestClient, world: World, queue: dict[str, str]
) -> None:
    login(client, ANALYST)
    url = f"/soc/incidents/{world.tenant_a}/{queue['old_high']}"
    token = csrf(client, url)
    db = world.runtime.db
    ack = client.post(f"{url}/status", data={"csrf": token, "status": "acknowledged"}, follow_redirects=False)
    assert (ack.status_code, ack.headers["location"]) == (303, url)
    page = client.get(url).text
    assert "受け付けました" in page
    assert 'data-testid="ack"' not in page  # no longer new
    client.post(f"{url}/assign", data={"csrf": token, "me": "1"})
    client.post(f"{url}/note", data={"csrf": token, "text": "<b>お客様に電話</b>"})
    bad = client.post(f"{url}/status", data={"csrf": token, "status": "resolved"})
    assert "resolution" in bad.text
    client.post(f"{url}/status", data={"csrf": token, "status": "resolved", "resolution": "true_positive"})
    view = incidents.get_incident(db, None, world.tenant_a, queue["old_high"])
    assert (view["status"], view["resolution"], view["assignee"]) == ("resolved", "true_positive", ANALYST)
    page = client.get(url).text
    assert "&lt;b&gt;お客様に電話&lt;/b&gt;" in page  # notes are shown as text
    assert client.post(f"{url}/note", data={"text": "x"}).status_code == 403  # no CSRF token


def test_suppress_creates_a_rule_with_reason(client: TestClient, world: World, queue: dict[str, str]) -> None:
    login(client, ANALYST)
    url = f"/soc/incidents/{world.tenant_a}/{queue['old_high']}"
    token = csrf(client, url)
    empty = client.post(f"{url}/suppress", data={"csrf": token, "kind": "host", "host": "PC-OLD"})
    assert "reason" in empty.text
    assert triage_suppression.list_rules(world.runtime.db, None, world.tenant_a) == []
    made = client.post(
        f"{url}/suppress",
        data={"csrf": token, "kind": "host", "host": "PC-OLD", "reason": "検証用PC", "days": "30"},
    )
    assert "過去のアラート 1 件" in made.text  # the preview count, in the message after the redirect
    (rule,) = triage_suppression.list_rules(world.runtime.db, None, world.tenant_a)
    assert (rule["host"], rule["reason"], rule["created_by"]) == ("PC-OLD", "検証用PC", ANALYST)
    assert rule["expires_at"] is not None
    assert "検証用PC" in client.get(url).text


def test_customers_get_403_on_every_soc_page(client: TestClient, world: World, queue: dict[str, str]) -> None:
    login(client, "a@a.example")
    for path in (
        "/soc",
        "/soc/alerts",
        "/soc/health",
        "/soc/tenants",
        "/soc/tenants/new",
        f"/soc/tenants/{world.tenant_a}",
        f"/soc/incidents/{world.tenant_a}/{queue['old_high']}",
    ):
        assert client.get(path).status_code in (403, 404), path
    token = csrf(client, "/login")
    url = f"/soc/incidents/{world.tenant_a}/{queue['old_high']}"
    for path, data in (
        ("/soc/bulk", {"items": [f"{world.tenant_a}:{queue['old_high']}"], "action": "acknowledge"}),
        (f"{url}/status", {"status": "acknowledged"}),
        (f"{url}/assign", {"me": "1"}),
        (f"{url}/note", {"text": "x"}),
        (f"{url}/suppress", {"kind": "host", "host": "PC-OLD", "reason": "x"}),
        ("/soc/tenants/new", {"name": "x"}),
    ):
        assert client.post(path, data={"csrf": token, **data}).status_code in (403, 404), path
    assert (
        incidents.get_incident(world.runtime.db, None, world.tenant_a, queue["old_high"])["status"] == "new"
    )


def test_alerts_list_and_warnings_stay_reachable(client: TestClient, world: World) -> None:
    login(client, ANALYST)
    page = client.get("/soc/alerts?severity=low").text
    assert "secret-of-b" in page
    assert "&lt;script&gt;" not in page
    assert 'href="/soc/tickets"' in page
    assert 'href="/soc/events"' in page


def onboarding_form(token: str, **extra: str) -> dict[str, str]:
    return {
        "csrf": token,
        "name": "<b>鈴木工業</b>",
        "industry": "製造業",
        "employees": "45",
        "sales_band": "100m-500m",
        "contact-0-name": "鈴木 花子",
        "contact-0-email": "hanako@suzuki.example",
        "contact-0-phone": "03-1234-5678",
        "contact-0-language": "ja",
        "contact-1-name": "Bob",
        "contact-1-email": "bob@suzuki.example",
        "contact-1-language": "en",
        "sensor-0-name": "utm",
        "sensor-0-format": "fortigate",
        "sensor-0-timezone": "Asia/Tokyo",
        "sensor-1-name": "zeek",
        "sensor-1-format": "zeek",
        "sensor-1-timezone": "UTC",
        **extra,
    }


def test_admin_onboards_a_customer_in_one_form(client: TestClient, world: World) -> None:
    make_admin(world)
    login(client, ADMIN)
    form = client.get("/soc/tenants/new")
    assert form.status_code == 200
    assert "fortigate" in form.text
    result = client.post("/soc/tenants/new", data=onboarding_form(csrf(client, "/soc/tenants/new")))
    assert result.status_code == 200
    assert result.headers["cache-control"] == "no-store"
    assert "&lt;b&gt;鈴木工業&lt;/b&gt;" in result.text
    shown = re.findall(r'data-testid="token">([^<]+)<', result.text)
    assert len(shown) == 2
    (tenant,) = [t for t in tenants.list_tenants(world.runtime.db) if "鈴木工業" in t.name]
    sensors = {s.name: s for s in tenants.list_sensors(world.runtime.db, tenant.id)}
    assert set(sensors) == {"utm", "zeek"}
    assert sensors["zeek"].timezone == "UTC"
    for token in shown:  # each token works for exactly its sensor
        found = tenants.sensor_for_token(world.runtime.db, token)
        assert found is not None
        assert found.tenant_id == tenant.id
    assert "[mimamori@32473 token=&#34;" in result.text
    assert "<th>TCP</th>" in result.text
    assert "Authorization: Bearer " in result.text
    assert "/api/v1/ingest" in result.text
    people = contacts.list_contacts(world.runtime.db, None, tenant.id)
    assert [(p.name, p.phone, p.language) for p in people] == [
        ("鈴木 花子", "+81312345678", "ja"),
        ("Bob", None, "en"),
    ]
    detail = client.get(f"/soc/tenants/{tenant.id}").text
    assert "製造業" in detail
    assert "hanako@suzuki.example" in detail
    assert "utm" in detail
    assert shown[0] not in detail  # the token is never shown again
    listing = client.get("/soc/tenants").text
    assert "&lt;b&gt;鈴木工業&lt;/b&gt;" in listing


def test_onboarding_validates_everything_first_and_keeps_the_input(client: TestClient, world: World) -> None:
    make_admin(world)
    login(client, ADMIN)
    before = len(tenants.list_tenants(world.runtime.db))
    form = onboarding_form(
        csrf(client, "/soc/tenants/new"),
        **{"contact-1-email": "not-an-address", "sensor-1-format": "nope", "sensor-0-timezone": "Mars/Base"},
    )
    page = client.post("/soc/tenants/new", data=form)
    assert page.status_code == 422
    assert "contact 2" in page.text
    assert "sensor 2" in page.text
    assert "sensor 1" in page.text
    assert 'value="hanako@suzuki.example"' in page.text  # what was typed stays in the form
    assert len(tenants.list_tenants(world.runtime.db)) == before  # nothing half-created


def test_onboarding_is_atomic_when_a_sensor_clashes(client: TestClient, world: World) -> None:
    make_admin(world)
    tenants.add_sensor(world.runtime.db, world.tenant_a, "utm", "fortigate", source_address="203.0.113.10")
    login(client, ADMIN)
    form = onboarding_form(csrf(client, "/soc/tenants/new"), **{"sensor-0-source_address": "203.0.113.10"})
    page = client.post("/soc/tenants/new", data=form)
    assert page.status_code == 422
    assert not [t for t in tenants.list_tenants(world.runtime.db) if "鈴木工業" in t.name]


def test_analyst_views_customers_but_cannot_onboard(
    client: TestClient, world: World, queue: dict[str, str]
) -> None:
    login(client, ANALYST)
    listing = client.get("/soc/tenants")
    assert listing.status_code == 200
    assert 'data-testid="onboard"' not in listing.text
    assert re.search(r'href="/soc\?tenant=' + world.tenant_a + r'">2<', listing.text)  # open incidents
    assert client.get("/soc/tenants/new").status_code == 403
    token = csrf(client)
    assert client.post("/soc/tenants/new", data=onboarding_form(token)).status_code == 403
    detail = client.get(f"/soc/tenants/{world.tenant_a}").text
    assert "zeek" in detail
    assert queue["old_high"] in detail
    assert client.get("/soc/tenants/no-such-tenant").status_code == 404
