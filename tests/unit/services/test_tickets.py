"""Tickets (相談する / 駆け付けを依頼): creation, scoping, staff-only listing and status, and the portal
status word derived from open incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mimamori.config import Settings
from mimamori.domain import Finding, Role, Severity, User
from mimamori.errors import NotFoundError, PermissionDeniedError, ValidationError
from mimamori.services import Database, auth, contacts, notify, portal, tenants, tickets
from mimamori.services.incidents import set_status
from mimamori.services.notify_plan import process_outbox
from mimamori.services.triage import record_findings
from mimamori.storage import read_only, unit_of_work

PASSWORD = "correct horse battery"


@pytest.fixture
def people(db: Database) -> dict[str, User]:
    a = tenants.add_tenant(db, "山田製作所").id
    b = tenants.add_tenant(db, "佐藤商店").id
    return {
        "staff": auth.create_user(db, "soc@p.example", "SOC", Role.ANALYST, PASSWORD),
        "admin_a": auth.create_user(db, "a@a.example", "A", Role.CUSTOMER_ADMIN, PASSWORD, tenant_id=a),
        "viewer_a": auth.create_user(db, "v@a.example", "V", Role.CUSTOMER_VIEWER, PASSWORD, tenant_id=a),
        "viewer_b": auth.create_user(db, "b@b.example", "B", Role.CUSTOMER_VIEWER, PASSWORD, tenant_id=b),
    }


def incident(db: Database, tenant_id: str, severity: Severity, key: str = "k") -> str:
    finding = Finding(
        tenant_id=tenant_id,
        detector="sigma",
        key=key,
        title="Suspicious PowerShell",
        severity=severity,
        timestamp=datetime(2026, 11, 26, 1, tzinfo=UTC),
        host=f"PC-{key}",
        device_ip=f"192.168.1.{50 + len(key) + sum(map(ord, key)) % 100}",
    )
    with unit_of_work(db) as uow:
        recorded = record_findings(uow, [(f"fp-{tenant_id}-{key}", finding)])
    (incident_id,) = recorded.triage.incidents_created
    return incident_id


def tenant_of(user: User) -> str:
    assert user.tenant_id is not None
    return user.tenant_id


def test_a_viewer_opens_a_ticket_about_an_incident_and_the_outbox_hears_of_it(
    db: Database, people: dict[str, User]
) -> None:
    viewer = people["viewer_a"]
    found = incident(db, tenant_of(viewer), Severity.HIGH)
    ticket = tickets.create_ticket(
        db,
        viewer,
        tenant_of(viewer),
        "onsite",
        message=" 来てください ",
        phone="03-1234-5678",
        preferred_time="今日の15時以降",
        incident_id=found,
    )
    assert (ticket.kind, ticket.status, ticket.incident_id) == ("onsite", "open", found)
    assert ticket.message == "来てください"
    assert ticket.requester_id == viewer.id
    assert tickets.ticket_number(ticket.id) == f"{ticket.id[:4].upper()}-{ticket.id[4:8].upper()}"
    with read_only(db) as uow:
        kinds = [m.kind for m in uow.outbox.pending(limit=100)]
    assert "ticket.created" in kinds


def test_ticket_input_is_validated(db: Database, people: dict[str, User]) -> None:
    user = people["admin_a"]
    with pytest.raises(ValidationError):
        tickets.create_ticket(db, user, tenant_of(user), "pizza")
    with pytest.raises(ValidationError):
        tickets.create_ticket(db, user, tenant_of(user), "consult", phone="call me <b>")
    with pytest.raises(ValidationError):
        tickets.create_ticket(db, user, tenant_of(user), "consult", message="x" * 2001)


def test_another_tenants_incident_or_ticket_is_not_found(db: Database, people: dict[str, User]) -> None:
    a, b = people["admin_a"], people["viewer_b"]
    theirs = incident(db, tenant_of(a), Severity.LOW)
    with pytest.raises(NotFoundError):
        tickets.create_ticket(db, b, tenant_of(b), "consult", incident_id=theirs)
    with pytest.raises(NotFoundError):
        tickets.create_ticket(db, b, tenant_of(a), "consult")
    ticket = tickets.create_ticket(db, a, tenant_of(a), "consult")
    with pytest.raises(NotFoundError):
        tickets.get_ticket(db, b, tenant_of(a), ticket.id)
    with pytest.raises(NotFoundError):
        tickets.get_ticket(db, b, tenant_of(b), ticket.id)
    assert tickets.list_tickets(db, b, tenant_of(b)) == []


def test_staff_list_every_tenant_and_move_tickets_customers_cannot(
    db: Database, people: dict[str, User]
) -> None:
    a, b, staff = people["admin_a"], people["viewer_b"], people["staff"]
    first = tickets.create_ticket(db, a, tenant_of(a), "consult")
    second = tickets.create_ticket(db, b, tenant_of(b), "onsite")
    assert [t.id for t in tickets.list_all(db, staff)] == [first.id, second.id]  # longest waiting first
    with pytest.raises(PermissionDeniedError):
        tickets.list_all(db, a)
    with pytest.raises(PermissionDeniedError):
        tickets.set_status(db, a, tenant_of(a), first.id, "done")
    moved = tickets.set_status(db, staff, tenant_of(a), first.id, "in_progress")
    assert moved.status == "in_progress"
    assert moved.updated_by == "soc@p.example"
    tickets.set_status(db, staff, tenant_of(a), first.id, "done")
    assert [t.id for t in tickets.list_all(db, staff)] == [second.id]  # done ones leave the queue
    with pytest.raises(ValidationError):
        tickets.set_status(db, staff, tenant_of(b), second.id, "closed")
    with pytest.raises(NotFoundError):
        tickets.set_status(db, staff, tenant_of(b), first.id, "done")  # wrong tenant: not found


@pytest.mark.parametrize(
    ("severities", "word"),
    [
        ((), "safe"),
        ((Severity.LOW,), "caution"),
        ((Severity.MEDIUM,), "caution"),
        ((Severity.LOW, Severity.HIGH), "action"),
    ],
)
def test_status_word_follows_the_worst_open_incident(
    db: Database, people: dict[str, User], severities: tuple[Severity, ...], word: str
) -> None:
    user = people["viewer_a"]
    for index, severity in enumerate(severities):
        incident(db, tenant_of(user), severity, key=f"k{index}")
    summary = portal.overview(db, user, tenant_of(user))
    assert summary["status"] == word
    if severities:
        assert summary["focus"]["incident"]["severity"] == max(severities, key=lambda s: s.rank).value


def test_a_resolved_incident_no_longer_counts(db: Database, people: dict[str, User]) -> None:
    user = people["viewer_a"]
    found = incident(db, tenant_of(user), Severity.HIGH)
    assert portal.overview(db, user, tenant_of(user))["status"] == "action"
    set_status(db, people["staff"], tenant_of(user), found, "resolved", resolution="benign")
    assert portal.overview(db, user, tenant_of(user))["status"] == "safe"


def test_language_is_stored_on_the_user(db: Database, people: dict[str, User]) -> None:
    user = people["viewer_a"]
    portal.set_language(db, user, "en")
    assert auth.get_user(db, user.id).language == "en"
    with pytest.raises(ValidationError):
        portal.set_language(db, user, "fr")


def test_a_new_ticket_reaches_the_soc_on_call_once(
    db: Database, people: dict[str, User], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    contacts.add_shift(
        db,
        None,
        {
            "name": "Analyst 1",
            "email": "oncall1@provider.example",
            "channels": ["email"],
            "level": 1,
            "starts_at": now - timedelta(hours=1),
            "ends_at": now + timedelta(hours=8),
        },
    )
    user = people["viewer_a"]
    ticket = tickets.create_ticket(
        db, user, tenant_of(user), "onsite", message="<script>x</script>", phone="03-1234-5678"
    )
    settings = Settings(data_dir=tmp_path / "data", secret_key="x" * 48)
    process_outbox(db, settings, now)
    process_outbox(db, settings, now)  # the outbox row is done: nothing is queued twice
    sent = [r for r in notify.list_notifications(db, None, tenant_of(user)) if r.kind == "ticket"]
    assert [r.address for r in sent] == ["oncall1@provider.example"]
    notice = sent[0].notice
    assert tickets.ticket_number(ticket.id) in notice["title"]
    assert "山田製作所" in notice["title"]
    assert notice["summary"] == "<script>x</script>"  # plain text: each channel escapes it
    assert notice["portal_url"].endswith("/soc/tickets")
