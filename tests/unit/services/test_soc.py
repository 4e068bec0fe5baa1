"""The SOC console's services: queue filters and order, bulk changes, incident detail, tenant overview,
and onboarding (validation first, one transaction, setup instructions)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mimamori.config import Settings
from mimamori.domain import Finding, Role, Severity, User
from mimamori.errors import NotFoundError, PermissionDeniedError, ValidationError
from mimamori.services import Database, contacts, incidents, onboarding, soc, tenants
from mimamori.services.triage import triage_changes
from mimamori.storage import read_only, unit_of_work
from mimamori.triage import fingerprinted

ANALYST = User("u1", "soc@p.example", "SOC", Role.ANALYST)
ADMIN = User("u2", "admin@p.example", "Admin", Role.PROVIDER_ADMIN)


def customer(tenant_id: str) -> User:
    return User("u3", "c@c.example", "C", Role.CUSTOMER_ADMIN, tenant_id=tenant_id)


def incident(db: Database, tenant_id: str, host: str, severity: Severity, day: int, title: str = "") -> str:
    finding = Finding(
        tenant_id=tenant_id,
        detector="indicator",
        key=f"ip:{host}",
        title=title or f"Connection from {host}",
        severity=severity,
        timestamp=datetime(2026, 11, day, tzinfo=UTC),
        host=host,
        evidence={"event.original": "<raw>"},
    )
    with unit_of_work(db) as uow:
        (created,) = triage_changes(uow, uow.alerts.record(fingerprinted([finding]))).incidents_created
    return created


@pytest.fixture
def seeded(db: Database) -> dict[str, str]:
    a = tenants.add_tenant(db, "A社").id
    b = tenants.add_tenant(db, "B社").id
    return {
        "a": a,
        "b": b,
        "a_high_old": incident(db, a, "PC-1", Severity.HIGH, 10),
        "a_high_new": incident(db, a, "PC-2", Severity.HIGH, 20),
        "b_medium": incident(db, b, "PC-3", Severity.MEDIUM, 5, title="50%_off offer"),
        "b_low": incident(db, b, "PC-4", Severity.LOW, 1),
    }


def ids(page: soc.Queue) -> list[str]:
    return [i["id"] for i in page.items]


def test_queue_sorts_by_severity_then_age_or_newest(db: Database, seeded: dict[str, str]) -> None:
    page = soc.queue(db, ANALYST)
    assert ids(page) == [seeded["a_high_old"], seeded["a_high_new"], seeded["b_medium"], seeded["b_low"]]
    assert page.total == 4
    assert not page.has_next
    newest = soc.queue(db, ANALYST, sort="newest")
    assert ids(newest) == [seeded["a_high_new"], seeded["a_high_old"], seeded["b_medium"], seeded["b_low"]]
    second = soc.queue(db, ANALYST, limit=3, offset=3)
    assert ids(second) == [seeded["b_low"]]
    assert second.has_previous
    assert second.total == 4


def test_queue_filters(db: Database, seeded: dict[str, str]) -> None:
    assert ids(soc.queue(db, ANALYST, tenant_id=seeded["b"])) == [seeded["b_medium"], seeded["b_low"]]
    assert soc.queue(db, ANALYST, tenant_id=seeded["b"]).total == 2
    assert ids(soc.queue(db, ANALYST, severity="low")) == [seeded["b_low"]]
    assert ids(soc.queue(db, ANALYST, text="50%_")) == [seeded["b_medium"]]  # wildcards taken literally
    assert ids(soc.queue(db, ANALYST, text="%")) == [seeded["b_medium"]]
    assert ids(soc.queue(db, ANALYST, text="pc-4")) == [seeded["b_low"]]  # host, any case
    incidents.assign(db, ANALYST, seeded["a"], seeded["a_high_new"], "x@p.example")
    assert ids(soc.queue(db, ANALYST, assignee="x@p.example")) == [seeded["a_high_new"]]
    assert seeded["a_high_new"] not in ids(soc.queue(db, ANALYST, assignee=""))
    incidents.set_status(db, ANALYST, seeded["b"], seeded["b_low"], "resolved", resolution="benign")
    assert seeded["b_low"] not in ids(soc.queue(db, ANALYST))
    assert ids(soc.queue(db, ANALYST, status="resolved")) == [seeded["b_low"]]
    assert soc.queue(db, ANALYST, status=None).total == 4
    with pytest.raises(ValidationError):
        soc.queue(db, ANALYST, status="closed")
    with pytest.raises(ValidationError):
        soc.queue(db, ANALYST, severity="critical")


def test_queue_and_bulk_are_for_staff_only(db: Database, seeded: dict[str, str]) -> None:
    with pytest.raises(PermissionDeniedError):
        soc.queue(db, customer(seeded["a"]))
    with pytest.raises(PermissionDeniedError):
        soc.bulk(db, customer(seeded["a"]), [(seeded["a"], seeded["a_high_old"])], "acknowledge")
    with pytest.raises(PermissionDeniedError):
        soc.tenant_summaries(db, customer(seeded["a"]), 60, datetime.now(UTC))


def test_bulk_changes_each_incident_on_its_own(db: Database, seeded: dict[str, str]) -> None:
    items = [
        (seeded["a"], seeded["a_high_old"]),
        (seeded["a"], seeded["b_low"]),
        (seeded["b"], seeded["b_low"]),
    ]
    result = soc.bulk(db, ANALYST, items, "acknowledge")
    assert result.done == [seeded["a_high_old"], seeded["b_low"]]
    assert [f["incident_id"] for f in result.failed] == [seeded["b_low"]]  # the wrong tenant: not found
    assert result.failed[0]["error"] == "not found"
    view = incidents.get_incident(db, None, seeded["a"], seeded["a_high_old"])
    assert view["status"] == "acknowledged"
    assert view["history"][-1]["actor"] == ANALYST.email
    with pytest.raises(ValidationError):
        soc.bulk(db, ANALYST, items, "resolve", resolution="maybe")
    with pytest.raises(ValidationError):
        soc.bulk(db, ANALYST, [], "acknowledge")
    with pytest.raises(ValidationError):
        soc.parse_item("no-colon")


def test_incident_detail_has_evidence_and_timeline_in_order(db: Database, seeded: dict[str, str]) -> None:
    incidents.add_note(db, ANALYST, seeded["a"], seeded["a_high_old"], "called")
    detail = soc.incident_detail(db, ANALYST, seeded["a"], seeded["a_high_old"])
    (alert,) = detail["alerts"]
    assert detail["evidence"][alert.id][-1] == ("event.original", "<raw>")
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds[0] == "alert"
    assert kinds[-1] == "change"
    assert detail["timeline"][-1]["change"]["detail"] == {"text": "called"}
    assert detail["tenant"].name == "A社"
    assert detail["suggested_kind"] == "indicator"
    assert detail["suggested_value"] == "ip:PC-1"
    with pytest.raises(NotFoundError):
        soc.incident_detail(db, ANALYST, seeded["b"], seeded["a_high_old"])


def test_tenant_summaries_count_open_incidents_and_sensors(db: Database, seeded: dict[str, str]) -> None:
    tenants.add_sensor(db, seeded["b"], "utm", "fortigate")
    later = datetime(2099, 1, 1, tzinfo=UTC)
    found = {s.tenant.name: s for s in soc.tenant_summaries(db, ANALYST, 60, later)}
    assert (found["A社"].open_incidents, found["A社"].sensors) == (2, 0)
    assert (found["B社"].open_incidents, found["B社"].sensors, found["B社"].silent_sensors) == (2, 1, 1)
    assert [s.tenant.name for s in soc.tenant_summaries(db, ANALYST, 60, later, text="b社")] == ["B社"]
    detail = soc.tenant_detail(db, customer(seeded["b"]), seeded["b"], 60, later)
    assert [h.sensor.name for h in detail.sensors] == ["utm"]
    with pytest.raises(NotFoundError):
        soc.tenant_detail(db, customer(seeded["b"]), seeded["a"], 60, later)


def request(**extra: object) -> dict[str, object]:
    return {
        "name": "  鈴木   工業 ",
        "profile": {"industry": "製造業", "employees": "45", "sales_band": "1b-5b"},
        "contacts": [
            {"name": "花子", "email": "hanako@s.example", "phone": "090-1234-5678"},
            {"name": "", "email": "", "phone": ""},  # an empty form row is ignored
        ],
        "sensors": [{"name": "utm", "format": "fortigate", "source_address": "203.0.113.9"}],
        **extra,
    }


def test_onboarding_plan_normalises_and_reports_all_problems() -> None:
    plan = onboarding.plan(request())
    assert plan.name == "鈴木 工業"
    assert plan.profile == {"industry": "製造業", "employees": 45, "sales_band": "1b-5b"}
    (person,) = plan.contacts
    assert (person["phone"], person["channels"]) == ("+819012345678", ["email", "phone"])
    with pytest.raises(onboarding.OnboardingError) as caught:
        onboarding.plan(
            request(
                name="",
                profile={"employees": "many", "sales_band": "huge"},
                contacts=[{"name": "x", "phone": "12"}],
                sensors=[{"name": "a", "format": "fortigate", "source_address": "not-ip"}],
            )
        )
    problems = " ".join(caught.value.problems)
    for part in ("company name", "employees", "sales band", "contact 1", "sensor 1"):
        assert part in problems
    for zone in ("Asia", "x" * 300, "../etc"):  # a directory of the zone database, a too long name
        with pytest.raises(onboarding.OnboardingError, match="time zone"):
            onboarding.plan(request(sensors=[{"name": "s", "format": "zeek", "timezone": zone}]))
    with pytest.raises(onboarding.OnboardingError, match="at least one sensor"):
        onboarding.plan(request(sensors=[]))


def test_onboard_is_one_transaction(db: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="x" * 48, public_url="https://soc.example.jp")
    with pytest.raises(PermissionDeniedError):
        onboarding.onboard(db, ANALYST, settings, request())
    existing = tenants.add_tenant(db, "old").id
    tenants.add_sensor(db, existing, "fw", "fortigate", source_address="203.0.113.9")
    with pytest.raises(onboarding.OnboardingError):
        onboarding.onboard(db, ADMIN, settings, request())  # the address clashes: nothing is kept
    assert [t.name for t in tenants.list_tenants(db)] == ["old"]
    done = onboarding.onboard(db, ADMIN, settings, request(sensors=[{"name": "zeek", "format": "zeek"}]))
    ((sensor, token),) = done.sensors
    assert tenants.sensor_for_token(db, token) == tenants.get_sensor(db, done.tenant.id, sensor.id)
    guide = done.instructions[sensor.id]
    assert guide["url"] == "https://soc.example.jp/api/v1/ingest"
    assert guide["doc"] == "docs/sources/zeek.md"
    assert [c.email for c in contacts.list_contacts(db, None, done.tenant.id)] == ["hanako@s.example"]
    with read_only(db) as uow:
        assert uow.settings.get(done.tenant.id, "triage.profile") == done.profile


def test_instructions_per_format(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, secret_key="x" * 48, syslog_host="0.0.0.0", public_url="https://m.example"
    )
    from mimamori.domain import Sensor

    syslog = onboarding.instructions(settings, Sensor("s", "t", "utm", "fortigate"), "TOK")
    assert (syslog["transport"], syslog["syslog_host"], syslog["tls_port"]) == ("syslog", "m.example", None)
    assert syslog["structured_data"] == '[mimamori@32473 token="TOK"]'
    assert onboarding.instructions(settings, Sensor("s", "t", "pc", "evtx"), "TOK")["transport"] == "file"
    assert onboarding.instructions(settings, Sensor("s", "t", "x", "mde"), "T")["doc"].endswith(
        "defender-for-endpoint.md"
    )
