"""Alert and incident titles in the page language (portal and SOC), the ticket status word, the SOC
timeline's system entries and the damage breakdown's distinct labels."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from tests.support.accounts import csrf_of
from tests.unit.web.conftest import World, login

from mimamori.domain import Finding, Severity
from mimamori.services import contacts
from mimamori.services.notify_plan import process_outbox
from mimamori.services.triage import record_findings
from mimamori.storage import unit_of_work

TEMPLATE = "Connection to a known malicious server: %(value)s"
ENGLISH = "Connection to a known malicious server: 203.0.113.66"
JAPANESE = "危険なサーバーへの通信: 203.0.113.66"
RULE = "Suspicious PowerShell download cradle"


def indicator_incident(world: World, tenant: str) -> str:
    finding = Finding(
        tenant_id=tenant,
        detector="indicator",
        key="ip:203.0.113.66",
        title=ENGLISH,
        severity=Severity.HIGH,
        timestamp=datetime(2026, 11, 26, 1, tzinfo=UTC),
        host="PC-KEIRI-01",
        destination_ip="203.0.113.66",
        evidence={"title.template": TEMPLATE, "indicator.value": "203.0.113.66"},
    )
    return _record(world, tenant, finding)


def sigma_incident(world: World, tenant: str) -> str:
    finding = Finding(
        tenant_id=tenant,
        detector="sigma",
        key="rule-1",
        title=RULE,
        severity=Severity.MEDIUM,
        timestamp=datetime(2026, 11, 26, 2, tzinfo=UTC),
        host="PC-SOUMU-01",
    )
    return _record(world, tenant, finding)


def _record(world: World, tenant: str, finding: Finding) -> str:
    with unit_of_work(world.runtime.db) as uow:
        recorded = record_findings(uow, [(f"fp-{tenant}-{finding.key}", finding)])
    (incident_id,) = recorded.triage.incidents_created
    return incident_id


def test_portal_shows_titles_in_the_page_language(client: TestClient, world: World) -> None:
    found = indicator_incident(world, world.tenant_a)
    rule = sigma_incident(world, world.tenant_a)
    login(client, "a@a.example")
    home = client.get("/portal?lang=ja").text
    assert JAPANESE in home
    assert ENGLISH not in home
    headings = " ".join(re.findall(r"<h3>(.*?)</h3>", home, re.S))
    assert RULE not in headings  # customers read the guidance headline, not the rule title
    assert "不審な動き" in headings
    page = client.get(f"/portal/incidents/{found}").text
    assert JAPANESE in re.findall(r"<h1>(.*?)</h1>", page, re.S)[0]
    assert RULE not in re.findall(r"<h1>(.*?)</h1>", client.get(f"/portal/incidents/{rule}").text, re.S)[0]
    english = client.get(f"/portal/incidents/{found}?lang=en").text
    assert ENGLISH in english
    assert JAPANESE not in english


def test_portal_asks_to_confirm_with_the_translated_title(client: TestClient, world: World) -> None:
    contact = {"name": "総務 花子", "role": "総務", "email": "hanako@a.example", "channels": ["email"]}
    contacts.add_contact(world.runtime.db, None, world.tenant_a, contact)
    indicator_incident(world, world.tenant_a)
    process_outbox(world.runtime.db, world.runtime.settings, datetime.now(UTC))
    login(client, "a@a.example")
    home = client.get("/portal").text
    box = home[home.index('<section class="awaiting">') :]
    box = box[: box.index("</section>")]
    assert JAPANESE in box
    assert ENGLISH not in box
    assert ENGLISH in client.get("/portal?lang=en").text


def test_soc_queue_and_incident_show_titles_in_the_page_language(client: TestClient, world: World) -> None:
    found = indicator_incident(world, world.tenant_a)
    sigma_incident(world, world.tenant_a)
    login(client, "soc@provider.example")
    queue = client.get("/soc?lang=ja").text
    assert JAPANESE in queue
    assert ENGLISH not in queue
    assert RULE in queue  # analysts read rule titles as written
    page = client.get(f"/soc/incidents/{world.tenant_a}/{found}").text
    assert ENGLISH not in page
    assert page.count(JAPANESE) >= 3  # <title>, heading, timeline
    timeline = page[page.index('data-testid="timeline"') :]
    timeline = timeline[: timeline.index("</ol>")]
    assert "システム" in timeline
    assert "インシデントを作成" in timeline
    assert "created" not in timeline
    english = client.get(f"/soc/incidents/{world.tenant_a}/{found}?lang=en").text
    assert ENGLISH in english
    assert "incident opened" in english


def test_ticket_status_reads_received_and_health_counts_records(client: TestClient, world: World) -> None:
    found = indicator_incident(world, world.tenant_a)
    login(client, "a@a.example")
    form = client.get(f"/portal/ask?kind=consult&incident={found}").text
    assert JAPANESE in form
    client.post(
        "/portal/tickets",
        data={"kind": "consult", "message": "help", "incident_id": found, "csrf": csrf_of(form)},
        follow_redirects=False,
    )
    listing = client.get("/portal/tickets").text
    assert "受付済み" in listing
    assert "受信数" not in listing
    assert "受付済み" in client.get(f"/portal/incidents/{found}").text
    client.post("/api/v1/session/logout")
    client.cookies.clear()
    login(client, "soc@provider.example")
    health = client.get("/soc/health").text
    assert "受信件数" in health
    assert "受付済み" not in health


def test_damage_breakdown_labels_are_distinct(client: TestClient, world: World) -> None:
    found = indicator_incident(world, world.tenant_a)
    login(client, "a@a.example")
    page = client.get(f"/portal/incidents/{found}").text
    block = page[page.index('<ul class="breakdown">') :]
    block = block[: block.index("</ul>")]
    labels = [re.sub(r"\s+", " ", label).strip() for label in re.findall(r"<li[^>]*>([^:]*):", block)]
    assert len(labels) >= 4
    assert len(set(labels)) == len(labels), labels
