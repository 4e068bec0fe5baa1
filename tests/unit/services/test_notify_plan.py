"""Routing, escalation, digests and silent sensors against a real database, with a controllable clock."""

from __future__ import annotations

import contextlib
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from mimamori.config import Settings
from mimamori.domain import Finding, Role, Severity, User
from mimamori.errors import NotFoundError
from mimamori.services import Database, contacts, incidents, notify, tenants
from mimamori.services.notify_periodic import check_sensors, send_digests
from mimamori.services.notify_plan import escalate_due, process_outbox
from mimamori.services.triage import record_findings
from mimamori.storage import Counters, read_only, unit_of_work
from mimamori.storage.repositories import NotificationRow

# Thursday 2026-11-26 11:00 JST: office hours, outside the quiet hours.
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
SECRET = "k" * 40


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, secret_key=SECRET, soc_email="soc@provider.example")


class World:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self.a = tenants.add_tenant(db, "A社").id
        self.b = tenants.add_tenant(db, "B社").id
        self.first = contacts.add_contact(
            db,
            None,
            self.a,
            {
                "name": "総務 花子",
                "role": "総務",
                "email": "hanako@a.example",
                "phone": "+81311112222",
                "channels": ["email", "phone"],
                "priority": 1,
                "hours": "Mon-Fri 09:00-18:00",
            },
        )
        self.second = contacts.add_contact(
            db,
            None,
            self.a,
            {
                "name": "Owner",
                "role": "代表",
                "email": "owner@a.example",
                "language": "en",
                "priority": 2,
                "channels": ["email", "slack"],
                "endpoints": {"slack": "https://hooks.slack.example/a"},
            },
        )
        self.primary = contacts.add_shift(
            db,
            None,
            {
                "name": "Analyst 1",
                "email": "oncall1@provider.example",
                "phone": "+81399990001",
                "channels": ["email", "phone"],
                "level": 1,
                "starts_at": NOW - timedelta(days=1),
                "ends_at": NOW + timedelta(days=2),
            },
        )
        self.backup = contacts.add_shift(
            db,
            None,
            {
                "name": "Analyst 2",
                "email": "oncall2@provider.example",
                "channels": ["email"],
                "level": 2,
                "starts_at": NOW - timedelta(days=1),
                "ends_at": NOW + timedelta(days=2),
            },
        )

    def alert(
        self,
        tenant: str,
        key: str,
        severity: Severity,
        *,
        at: datetime = NOW,
        host: str = "PC-KEIRI-01",
        level: str = "high",
    ) -> None:
        device = "192.168.1.5" if host == "PC-KEIRI-01" else "192.168.1.9"
        finding = Finding(
            tenant_id=tenant,
            detector="sigma",
            key=key,
            title=f"rule {key}",
            severity=severity,
            timestamp=at,
            host=host,
            source_ip=device,
            device_ip=device,
            tags=("attack.execution",),
            evidence={"sigma.level": level, "sigma.rule_id": key},
        )
        with unit_of_work(self.db) as uow:
            record_findings(uow, [(f"fp-{tenant}-{key}-{at.isoformat()}", finding)])

    def sent(self, tenant: str | None = None) -> list[NotificationRow]:
        with read_only(self.db) as uow:
            return sorted(
                uow.notifications.list(tenant, limit=1000), key=lambda r: (r.step, r.channel, r.address)
            )


@pytest.fixture
def world(database: Database, settings: Settings) -> World:
    return World(database, settings)  # SQLite and PostgreSQL


def addresses(rows: list[NotificationRow], **where: object) -> set[str]:
    return {r.address for r in rows if all(getattr(r, k) == v for k, v in where.items())}


def test_high_incident_goes_at_once_to_first_contacts_and_the_on_call_once(world: World) -> None:
    world.alert(world.a, "r1", Severity.HIGH)
    result = process_outbox(world.db, world.settings, NOW)
    assert result.outbox == 1
    rows = world.sent(world.a)
    assert addresses(rows) == {"hanako@a.example", "oncall1@provider.example"}  # no phone at step 0
    assert {r.kind for r in rows} == {"incident"}
    assert {r.severity for r in rows} == {"high"}
    customer = next(r for r in rows if r.address == "hanako@a.example")
    assert customer.language == "ja"
    assert customer.notice["ack_url"].startswith("http://127.0.0.1:8000/ack/")
    assert "PC-KEIRI-01" in customer.notice["title"] or "PC-KEIRI-01" in customer.notice["summary"]
    assert customer.cause_at is not None
    assert customer.next_attempt_at == NOW
    # A second alert in the same incident sends nothing more; the outbox is consumed exactly once.
    world.alert(world.a, "r2", Severity.HIGH, at=NOW + timedelta(minutes=1))
    assert process_outbox(world.db, world.settings, NOW).queued == 0
    assert process_outbox(world.db, world.settings, NOW).outbox == 0
    assert len(world.sent(world.a)) == 2
    assert world.sent(world.b) == []


def test_escalation_ladder_with_a_controllable_clock(world: World) -> None:
    world.alert(world.a, "r1", Severity.HIGH)
    process_outbox(world.db, world.settings, NOW)
    assert escalate_due(world.db, world.settings, NOW + timedelta(minutes=14)).escalated == 0
    # 15 minutes: the next contact (priority 2), by e-mail and Slack.
    assert escalate_due(world.db, world.settings, NOW + timedelta(minutes=15)).escalated == 1
    step1 = [r for r in world.sent(world.a) if r.step == 1]
    assert {(r.channel, r.address) for r in step1} == {
        ("email", "owner@a.example"),
        ("slack", "https://hooks.slack.example/a"),
    }
    assert {r.kind for r in step1} == {"escalation"}
    assert {r.language for r in step1} == {"en"}
    # 30 minutes: the SOC on-call again, the backup analyst this time.
    escalate_due(world.db, world.settings, NOW + timedelta(minutes=30))
    assert addresses(world.sent(world.a), step=2) == {"oncall2@provider.example"}
    # 45 minutes: the telephone webhook, to the on-call and to the first contact (reachable at 11:45).
    escalate_due(world.db, world.settings, NOW + timedelta(minutes=45))
    assert addresses(world.sent(world.a), step=3, channel="phone") == {"+81399990001", "+81311112222"}
    # Then the ladder is exhausted: nothing more, ever.
    assert escalate_due(world.db, world.settings, NOW + timedelta(hours=5)).escalated == 0
    assert len(world.sent(world.a)) == 7


def test_acknowledging_stops_the_ladder_by_link_portal_api_or_soc(world: World, settings: Settings) -> None:
    world.alert(world.a, "r1", Severity.HIGH)
    process_outbox(world.db, settings, NOW)
    link = next(r for r in world.sent(world.a) if r.address == "hanako@a.example").notice["ack_url"]
    token = link.rsplit("/", 1)[1].split("?", 1)[0]
    _claim, page = notify.read_link(world.db, settings, token)
    assert page["tenant_name"] == "A社"
    assert page["acknowledged_at"] is None
    assert notify.acknowledge_link(world.db, settings, token) is True
    assert notify.acknowledge_link(world.db, settings, token) is False  # once
    assert escalate_due(world.db, settings, NOW + timedelta(hours=1)).escalated == 0
    (incident,) = incidents.list_incidents(world.db, None, world.a)
    history = incidents.get_incident(world.db, None, world.a, incident["id"])
    assert history is not None
    # The SOC taking the incident up acknowledges a second incident's ladder too.
    world.alert(world.a, "r9", Severity.HIGH, host="NAS-01", at=NOW + timedelta(minutes=2))
    process_outbox(world.db, settings, NOW + timedelta(minutes=2))
    other = next(i for i in incidents.list_incidents(world.db, None, world.a) if i["host"] == "NAS-01")
    incidents.set_status(
        world.db, User("u", "soc@provider.example", "SOC", Role.ANALYST), world.a, other["id"], "acknowledged"
    )
    assert escalate_due(world.db, settings, NOW + timedelta(hours=1)).escalated == 0


def test_customers_acknowledge_only_their_own_incidents(world: World) -> None:
    world.alert(world.a, "r1", Severity.HIGH)
    process_outbox(world.db, world.settings, NOW)
    (incident,) = incidents.list_incidents(world.db, None, world.a)
    stranger = User("ub", "b@b.example", "B", Role.CUSTOMER_ADMIN, tenant_id=world.b)
    with pytest.raises(NotFoundError):
        notify.acknowledge(world.db, stranger, world.a, incident["id"])
    with pytest.raises(NotFoundError):
        notify.acknowledge(world.db, stranger, world.b, incident["id"])
    assert notify.list_notifications(world.db, stranger, world.b) == []
    assert notify.list_notifications(world.db, stranger, None) == []  # scoped to B, never everything
    owner = User("ua", "a@a.example", "A", Role.CUSTOMER_ADMIN, tenant_id=world.a)
    assert notify.acknowledge(world.db, owner, world.a, incident["id"]) is True


def test_medium_incidents_wait_for_the_daily_digest_which_never_repeats(world: World) -> None:
    world.alert(world.a, "m1", Severity.MEDIUM, level="medium")
    process_outbox(world.db, world.settings, NOW)
    (incident,) = incidents.list_incidents(world.db, None, world.a)
    assert incident["severity"] == "medium"
    assert world.sent(world.a) == []  # not at once
    # The digest of the day (08:30 JST = 23:30 UTC the day before) has passed: today's goes out now.
    assert send_digests(world.db, world.settings, NOW).digests == 1
    rows = world.sent(world.a)
    assert {(r.kind, r.address) for r in rows} == {("digest", "hanako@a.example")}
    assert [i["incident_id"] for i in rows[0].notice["items"]] == [incident["id"]]
    assert send_digests(world.db, world.settings, NOW + timedelta(hours=1)).digests == 0
    # Next morning without anything new: no digest. A new alert in the incident: it is in the next one.
    tomorrow = NOW + timedelta(days=1)
    assert send_digests(world.db, world.settings, tomorrow).digests == 0
    world.alert(world.a, "m2", Severity.MEDIUM, level="medium", at=NOW + timedelta(hours=3))
    assert send_digests(world.db, world.settings, tomorrow + timedelta(days=1)).digests == 1
    assert len([r for r in world.sent(world.a) if r.kind == "digest"]) == 2


def test_quiet_hours_hold_medium_but_never_high(world: World, settings: Settings) -> None:
    notify.set_policy(world.db, None, settings, world.a, {"medium": "immediate"})
    night = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # 23:00 JST
    world.alert(world.a, "m1", Severity.MEDIUM, level="medium", at=night)
    world.alert(world.a, "h1", Severity.HIGH, at=night, host="NAS-01")
    process_outbox(world.db, settings, night)
    rows = world.sent(world.a)
    medium = [r for r in rows if r.severity == "medium"]
    high = [r for r in rows if r.severity == "high"]
    assert medium
    assert all(r.next_attempt_at == datetime(2026, 11, 26, 23, 0, tzinfo=UTC) for r in medium)
    assert high
    assert all(r.next_attempt_at == night for r in high)


def test_silent_sensor_is_notified_once_and_its_return_too(world: World) -> None:
    sensor = tenants.add_sensor(world.db, world.a, "utm", "fortigate", with_token=False).sensor
    with unit_of_work(world.db) as uow:
        uow.sensors.add_counters({sensor.id: Counters(1, 1, 0, 0, NOW)})
    assert check_sensors(world.db, world.settings, NOW + timedelta(minutes=59)).silent == 0
    assert check_sensors(world.db, world.settings, NOW + timedelta(minutes=61)).silent == 1
    assert check_sensors(world.db, world.settings, NOW + timedelta(minutes=120)).silent == 0
    rows = world.sent(world.a)
    assert addresses(rows, kind="sensor_silent") == {"oncall1@provider.example", "hanako@a.example"}
    with unit_of_work(world.db) as uow:
        uow.sensors.add_counters({sensor.id: Counters(1, 1, 0, 0, NOW + timedelta(minutes=130))})
    assert check_sensors(world.db, world.settings, NOW + timedelta(minutes=131)).recovered == 1
    assert addresses(world.sent(world.a), kind="sensor_recovered") == {
        "oncall1@provider.example",
        "hanako@a.example",
    }


def test_without_on_call_the_soc_mailbox_is_told(db: Database, settings: Settings) -> None:
    tenant = tenants.add_tenant(db, "C社").id
    finding = Finding(
        tenant_id=tenant,
        detector="sigma",
        key="k",
        title="t",
        severity=Severity.HIGH,
        timestamp=NOW,
        host="PC-1",
        device_ip="192.168.1.7",
        evidence={"sigma.level": "critical"},
    )
    with unit_of_work(db) as uow:
        record_findings(uow, [("fp-c", finding)])
    process_outbox(db, settings, NOW)
    with read_only(db) as uow:
        rows = uow.notifications.list(tenant)
    assert [(r.address, r.recipient) for r in rows] == [("soc@provider.example", "soc")]


def test_the_notifier_checks_escalations_every_few_seconds_and_drains_full_claims(
    world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Notifier.tick`` with a clock: the due-escalation check runs on the first round, then only once
    ``ESCALATE_SECONDS`` of clock have passed (or when forced), so a step due now is sent at most that
    late; a claim that came back full is followed by another, so everything due is attempted."""
    from mimamori.services import notify_plan
    from mimamori.services.notifier import ESCALATE_SECONDS, Notifier
    from mimamori.services.notify_delivery import Deliverer

    calls: list[datetime] = []
    real = notify_plan.escalate_due

    def counting(db: Database, s: Settings, now: datetime) -> Any:
        calls.append(now)
        return real(db, s, now)

    monkeypatch.setattr(notify_plan, "escalate_due", counting)
    clock = [NOW]
    mail = Settings(data_dir=settings.data_dir, secret_key=SECRET, mail_dir=settings.data_dir / "mail")
    notifier = Notifier(world.db, mail, clock=lambda: clock[0])
    world.alert(world.a, "r1", Severity.HIGH)
    notifier.tick(schedule=False)
    assert len(calls) == 1
    clock[0] = NOW + timedelta(seconds=ESCALATE_SECONDS - 1)
    notifier.tick(schedule=False)
    assert len(calls) == 1  # too soon: skipped
    notifier.tick(schedule=True)
    assert len(calls) == 2  # forced
    clock[0] = NOW + timedelta(minutes=15)  # the first step is due
    notifier.tick(schedule=False)
    assert len(calls) == 3
    assert addresses(world.sent(world.a), step=1, channel="email") == {"owner@a.example"}
    # More due at once than one claim takes: the round claims again until a claim comes back short.
    original = Deliverer.run_once
    monkeypatch.setattr(Deliverer, "run_once", lambda self, limit=2: original(self, 2))
    ids = [notify.queue_test(world.db, None, mail, "email", f"t{n}@provider.example") for n in range(5)]
    clock[0] = datetime.now(UTC) + timedelta(seconds=1)  # the test messages are due from now on
    assert notifier.tick(schedule=False) >= 5  # claims of 2, 2, ... until one comes back short
    assert {notify.get_notification(world.db, None, i)["status"] for i in ids} == {"sent"}


def test_a_round_reads_incidents_and_policies_per_tenant_not_per_alert(world: World) -> None:
    """The statements of an outbox round grow with its tenants, not with its alerts or incidents."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    def round_statements(alerts: list[tuple[str, str, str]]) -> int:
        for tenant, key, host in alerts:
            world.alert(tenant, key, Severity.MEDIUM, host=host, level="medium")
        statements.clear()
        event.listen(world.db.engine, "before_cursor_execute", count)
        try:
            assert process_outbox(world.db, world.settings, NOW).outbox == len(alerts)
        finally:
            event.remove(world.db.engine, "before_cursor_execute", count)
        return len(statements)

    few = round_statements([(world.a, "m1", "PC-KEIRI-01"), (world.b, "m1", "PC-KEIRI-01")])
    many = round_statements(
        [
            (t, f"m{i}-{host}", host)
            for t in (world.a, world.b)
            for i in range(2, 6)
            for host in ("PC-KEIRI-01", "PC-2")
        ]
    )
    with read_only(world.db) as uow:
        assert len(uow.incidents.list(world.a)) == 2  # the second round touched two incidents per tenant
    assert many == few, statements


def test_rounds_woken_in_a_burst_start_at_least_the_round_gap_apart(
    world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An idle notifier routes a new alert at once; wake-ups that keep coming (workers committing
    alerts) are taken by rounds no closer than ``ROUND_GAP_SECONDS``."""
    import asyncio
    import time as clock

    from mimamori.services.notifier import ROUND_GAP_SECONDS, Notifier

    starts: list[float] = []
    monkeypatch.setattr(Notifier, "tick", lambda self, schedule=None: starts.append(clock.monotonic()) or 0)
    quiet = Settings(data_dir=settings.data_dir, secret_key=SECRET, notify_poll_seconds=30.0)
    notifier = Notifier(world.db, quiet)

    async def scenario() -> float:
        task = asyncio.create_task(notifier.run())
        while not starts:  # the first round runs on start
            await asyncio.sleep(0.01)
        await asyncio.sleep(ROUND_GAP_SECONDS * 2)
        woken = clock.monotonic()
        notifier.wake()  # idle: routed at once
        while len(starts) < 2:
            await asyncio.sleep(0.005)
        first_delay = starts[1] - woken
        end = clock.monotonic() + ROUND_GAP_SECONDS * 5
        while clock.monotonic() < end:  # a wake-up every 10 ms
            notifier.wake()
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return first_delay

    first_delay = asyncio.run(scenario())
    assert first_delay < ROUND_GAP_SECONDS / 2
    gaps = [b - a for a, b in itertools.pairwise(starts[1:])]
    assert 3 <= len(gaps) <= 7, gaps  # ~5 rounds in 5 gaps' time, not one per wake-up (~100)
    assert min(gaps) >= ROUND_GAP_SECONDS * 0.95, gaps
