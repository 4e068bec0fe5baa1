"""The SME portal: one status word, guidance and damage, the two help buttons (tickets), devices with
the network map, settings; tenant isolation (404), viewers' limits (403), CSRF and escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from tests.support.accounts import csrf_of, enroll_totp, staff_login, user_id_of
from tests.unit.web.conftest import PASSWORD, World, login

from mimamori.domain import Event, Finding, Role, Severity
from mimamori.services import auth, contacts, incidents, inventory, tenants
from mimamori.services.triage import record_findings
from mimamori.storage import unit_of_work

XSS = "<script>alert('x')</script>"


def incident(world: World, tenant: str, severity: Severity, key: str, host: str = "PC-SOUMU-01") -> str:
    finding = Finding(
        tenant_id=tenant,
        detector="sigma",
        key=key,
        title=f"title-{key}",
        severity=severity,
        timestamp=datetime(2026, 11, 26, 1, tzinfo=UTC),
        host=host,
        device_ip=f"192.168.1.{10 + len(key)}",
    )
    with unit_of_work(world.runtime.db) as uow:
        recorded = record_findings(uow, [(f"fp-{tenant}-{key}", finding)])
    (incident_id,) = recorded.triage.incidents_created
    return incident_id


def fresh_customer(world: World, role: Role = Role.CUSTOMER_ADMIN) -> str:
    tenant = tenants.add_tenant(world.runtime.db, "鈴木工務店").id
    auth.create_user(world.runtime.db, f"{role.value}@c.example", "C", role, PASSWORD, tenant_id=tenant)
    return tenant


def status_box(html: str) -> str:
    match = re.search(r'data-testid="status">(.*?)</section>', html, re.S)
    assert match, "no status box"
    return match.group(1)


def device(world: World, tenant: str, name: str, os_version: str = "XP") -> str:
    fields: dict[str, Any] = {
        "source.ip": "192.168.1.33",
        "source.mac": "00-00-4C-4E-4B-FF",
        "host.name": name,
        "host.os.name": "Windows",
        "host.os.version": os_version,
        "destination.ip": "203.0.113.66",
        "destination.port": 443,
    }
    event = Event(datetime(2026, 11, 26, 1, tzinfo=UTC), tenant, "fortigate.traffic", fields)
    with unit_of_work(world.runtime.db) as uow:
        inventory.record_devices(uow, [event])
    (found,) = [d for d in inventory.list_assets(world.runtime.db, None, tenant) if d.hostname == name]
    return found.id


def test_status_word_is_safe_then_caution_then_action(client: TestClient, world: World) -> None:
    tenant = fresh_customer(world)
    login(client, "customer_admin@c.example")
    box = status_box(client.get("/portal").text)
    assert "安全" in box
    assert "注意" not in box
    assert "要対応" not in box
    incident(world, tenant, Severity.LOW, "low")
    box = status_box(client.get("/portal").text)
    assert "注意" in box
    assert "安全" not in box
    incident(world, tenant, Severity.HIGH, "high", host="PC-KEIRI-02")
    box = status_box(client.get("/portal").text)
    assert "要対応" in box
    assert "PC-KEIRI-02" in box  # the reason names the device
    assert "次にすること" in box  # and the next step
    english = status_box(client.get("/portal?lang=en").text)
    assert "Action needed" in english


def test_home_has_both_help_buttons_and_open_incidents_with_guidance(
    client: TestClient, world: World
) -> None:
    tenant = fresh_customer(world)
    incident(world, tenant, Severity.HIGH, "c2", host=XSS)
    login(client, "customer_admin@c.example")
    page = client.get("/portal").text
    assert 'data-testid="ask-desk"' in page
    assert 'data-testid="request-onsite"' in page
    assert "いま行っていただきたいこと" in page  # the steps of the guidance
    assert "放置した場合に考えられる損害額" in page
    assert "万円" in page
    assert XSS not in page
    assert "&lt;script&gt;" in page


def test_incident_page_shows_guidance_damage_and_what_the_provider_did(
    client: TestClient, world: World
) -> None:
    found = incident(world, world.tenant_a, Severity.HIGH, "inc")
    incidents.add_note(world.runtime.db, None, world.tenant_a, found, f"LANを抜きました {XSS}")
    login(client, "a@a.example")
    page = client.get(f"/portal/incidents/{found}")
    assert page.status_code == 200
    text = page.text
    assert "いま行っていただきたいこと" in text
    assert "私たちが行っていること" in text
    assert "万円" in text
    assert "LANを抜きました" in text
    assert XSS not in text
    assert "異常を検知し、対応を始めました。" in text
    assert 'data-testid="ask-desk"' in text
    assert 'data-testid="request-onsite"' in text
    assert f"incident={found}" in text


def test_another_tenants_incident_is_404(client: TestClient, world: World) -> None:
    theirs = incident(world, world.tenant_a, Severity.HIGH, "secret")
    login(client, "b@b.example")
    assert client.get(f"/portal/incidents/{theirs}").status_code == 404
    assert client.get(f"/portal/ask?kind=consult&incident={theirs}").status_code == 404
    assert client.get("/portal/incidents/does-not-exist").status_code == 404
    assert "title-secret" not in client.get("/portal/incidents").text


def test_both_buttons_create_tickets_with_csrf(client: TestClient, world: World) -> None:
    found = incident(world, world.tenant_a, Severity.HIGH, "ticket")
    contacts.add_contact(
        world.runtime.db,
        None,
        world.tenant_a,
        {"name": "A", "email": "a@a.example", "phone": "+81312345678", "channels": ["email"]},
    )
    login(client, "a@a.example")
    form = client.get(f"/portal/ask?kind=consult&incident={found}")
    assert form.status_code == 200
    assert 'value="+81312345678"' in form.text
    csrf = csrf_of(form.text)
    refused = client.post("/portal/tickets", data={"kind": "consult", "message": "help"})
    assert refused.status_code == 403
    done = client.post(
        "/portal/tickets",
        data={"kind": "consult", "message": XSS, "phone": "03-1234-5678", "incident_id": found, "csrf": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    confirmation = client.get(done.headers["location"]).text
    assert 'data-testid="ticket-number"' in confirmation
    assert "ご依頼を受け付けました" in confirmation
    onsite_form = client.get("/portal/ask?kind=onsite").text
    assert 'name="preferred_time"' in onsite_form
    onsite = client.post(
        "/portal/tickets",
        data={"kind": "onsite", "preferred_time": "今日15時以降", "csrf": csrf_of(onsite_form)},
        follow_redirects=False,
    )
    assert onsite.status_code == 303
    listing = client.get("/portal/tickets").text
    assert "駆け付け" in listing
    assert "相談" in listing
    assert XSS not in listing
    assert "&lt;script&gt;" in listing
    bad = client.post("/portal/tickets", data={"kind": "consult", "phone": "<b>", "csrf": csrf})
    assert bad.status_code == 422


def test_tickets_of_another_tenant_are_404(client: TestClient, world: World) -> None:
    login(client, "a@a.example")
    csrf = csrf_of(client.get("/portal/ask").text)
    location = client.post(
        "/portal/tickets", data={"kind": "consult", "csrf": csrf}, follow_redirects=False
    ).headers["location"]
    theirs = incident(world, world.tenant_a, Severity.LOW, "theirs")
    client.cookies.clear()
    login(client, "b@b.example")
    assert client.get(location).status_code == 404
    csrf = csrf_of(client.get("/portal/ask").text)
    response = client.post("/portal/tickets", data={"kind": "consult", "incident_id": theirs, "csrf": csrf})
    assert response.status_code == 404


def test_devices_page_flags_escapes_and_draws_the_map(client: TestClient, world: World) -> None:
    device(world, world.tenant_a, XSS)
    device(world, world.tenant_b, "PC-OF-B")
    login(client, "a@a.example")
    page = client.get("/portal/devices").text
    assert "<svg" in page
    assert "viewBox=" in page
    assert XSS not in page
    assert "&lt;script&gt;" in page
    assert "サポートが終了し" in page  # Windows XP: end of life, in plain words
    assert "まだ確認されていません" in page
    assert 'data-testid="approve"' in page
    assert "PC-OF-B" not in page


def test_admin_approves_viewer_cannot_other_tenant_is_404(client: TestClient, world: World) -> None:
    mine = device(world, world.tenant_a, "PC-A")
    theirs = device(world, world.tenant_b, "PC-B")
    auth.create_user(
        world.runtime.db, "v@a.example", "V", Role.CUSTOMER_VIEWER, PASSWORD, tenant_id=world.tenant_a
    )
    login(client, "v@a.example")
    page = client.get("/portal/devices").text
    assert 'data-testid="approve"' not in page
    assert "disabled" in page
    csrf = csrf_of(page)
    assert client.post(f"/portal/devices/{mine}/approve", data={"csrf": csrf}).status_code == 403
    client.cookies.clear()
    login(client, "a@a.example")
    csrf = csrf_of(client.get("/portal/devices").text)
    assert client.post(f"/portal/devices/{mine}/approve", data={}).status_code == 403  # no CSRF token
    assert client.post(f"/portal/devices/{theirs}/approve", data={"csrf": csrf}).status_code == 404
    done = client.post(f"/portal/devices/{mine}/approve", data={"csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert inventory.list_assets(world.runtime.db, None, world.tenant_a)[0].approved


def test_settings_admin_changes_viewer_reads(client: TestClient, world: World) -> None:
    login(client, "a@a.example")
    page = client.get("/portal/settings").text
    assert "すぐにお知らせ" in page
    assert "毎日のまとめでお知らせ" in page
    csrf = csrf_of(page)
    added = client.post(
        "/portal/settings/contacts",
        data={
            "csrf": csrf,
            "name": XSS,
            "role": "総務",
            "email": "soumu@a.example",
            "channels": ["email"],
            "language": "ja",
            "hours": "Mon-Fri 09:00-18:00",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    (person,) = contacts.list_contacts(world.runtime.db, None, world.tenant_a)
    page = client.get("/portal/settings").text
    assert XSS not in page
    assert "&lt;script&gt;" in page
    edited = client.post(
        f"/portal/settings/contacts/{person.id}",
        data={
            "csrf": csrf,
            "name": "総務 花子",
            "email": "soumu@a.example",
            "phone": "+81312345678",
            "channels": ["email", "phone"],
            "language": "en",
        },
        follow_redirects=False,
    )
    assert edited.status_code == 303
    (person,) = contacts.list_contacts(world.runtime.db, None, world.tenant_a)
    assert person.name == "総務 花子"
    assert person.channels == ("email", "phone")
    assert person.language == "en"
    bad = client.post("/portal/settings/notify", data={"csrf": csrf, "medium": "never"})
    assert bad.status_code == 422
    policy = client.post(
        "/portal/settings/notify",
        data={
            "csrf": csrf,
            "medium": "immediate",
            "low": "digest",
            "quiet_hours": "21:00-07:00",
            "digest_time": "09:00",
        },
        follow_redirects=False,
    )
    assert policy.status_code == 303
    assert "21:00-07:00" in client.get("/portal/settings").text
    removed = client.post(f"/portal/settings/contacts/{person.id}/remove", data={"csrf": csrf})
    assert removed.status_code == 200  # followed to the settings page
    assert contacts.list_contacts(world.runtime.db, None, world.tenant_a) == []
    language = client.post("/portal/settings/language", data={"csrf": csrf, "language": "en"})
    assert "Settings" in language.text  # the cookie follows the choice
    assert auth.get_user(world.runtime.db, auth_id(world, "a@a.example")).language == "en"


def auth_id(world: World, email: str) -> str:
    return user_id_of(world.runtime.db, email)


def test_viewer_cannot_change_settings(client: TestClient, world: World) -> None:
    login(client, "b@b.example")
    page = client.get("/portal/settings").text
    assert "御社の管理者のみ" in page
    assert 'action="/portal/settings/contacts"' not in page
    csrf = csrf_of(page)
    response = client.post(
        "/portal/settings/contacts", data={"csrf": csrf, "name": "X", "email": "x@b.example"}
    )
    assert response.status_code == 403
    response = client.post("/portal/settings/notify", data={"csrf": csrf, "medium": "immediate"})
    assert response.status_code == 403
    assert client.post("/portal/settings/language", data={"csrf": csrf, "language": "en"}).status_code == 200


def test_soc_sees_and_moves_tickets_customers_cannot(client: TestClient, world: World) -> None:
    login(client, "a@a.example")
    csrf = csrf_of(client.get("/portal/ask?kind=onsite").text)
    client.post("/portal/tickets", data={"kind": "onsite", "message": XSS, "csrf": csrf})
    assert client.get("/soc/tickets").status_code == 403
    client.cookies.clear()
    secret = enroll_totp(world.runtime.db, auth_id(world, "soc@provider.example"))
    staff_login(client, "soc@provider.example", PASSWORD, secret)
    page = client.get("/soc/tickets").text
    assert "山田製作所" in page
    assert "駆け付け" in page
    assert XSS not in page
    assert "&lt;script&gt;" in page
    match = re.search(r'action="(/soc/tickets/[^"]+/status)"', page)
    assert match
    assert client.post(match.group(1), data={"status": "done"}).status_code == 403  # no CSRF token
    moved = client.post(
        match.group(1), data={"status": "done", "csrf": csrf_of(page)}, follow_redirects=False
    )
    assert moved.status_code == 303
    assert "未対応の依頼はありません。" in client.get("/soc/tickets").text


def test_staff_view_of_a_tenant_and_customers_get_404_for_others(client: TestClient, world: World) -> None:
    login(client, "a@a.example")
    assert client.get(f"/tenants/{world.tenant_a}").status_code == 200
    assert client.get(f"/tenants/{world.tenant_b}").status_code == 404


def test_a_browser_without_a_choice_follows_the_users_stored_language(
    client: TestClient, world: World
) -> None:
    user_id = user_id_of(world.runtime.db, "a@a.example")
    with unit_of_work(world.runtime.db) as uow:
        uow.users.set_language(user_id, "en")
    login(client, "a@a.example")
    first = client.get("/portal", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/portal?lang=en"
    assert "Action needed" in client.get("/portal").text  # followed, and the cookie remembers it
    assert client.get("/portal", follow_redirects=False).status_code == 200
