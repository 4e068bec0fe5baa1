"""Incidents through the pipeline and the workflow services (the ones the CLI and the API call)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.unit.services.conftest import C2

from mimamori.domain import Alert, Finding, RawRecord, Role, Severity, User
from mimamori.errors import NotFoundError, PermissionDeniedError, ValidationError
from mimamori.services import Database, incidents, tenants, triage_suppression
from mimamori.services.pipeline import Pipeline
from mimamori.services.triage import _worst, triage_changes
from mimamori.storage import read_only, unit_of_work
from mimamori.triage import fingerprinted

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
ANALYST = User("u1", "soc@provider.example", "SOC", Role.ANALYST)


def line(
    src: str, dst: str, *, name: str = "PC-KEIRI-01", action: str = "accept", minute: int = 0, day: int = 26
) -> bytes:
    return (
        f'<189>date=2026-11-{day:02d} time=10:{minute:02d}:00 devname="FGT60F" devid="FGT60FTK0000" tz="+0900" '
        f'logid="0000000013" type="traffic" subtype="forward" level="notice" srcip={src} srcport=50000 '
        f'dstip={dst} dstport=443 proto=6 action="{action}" policyid=1 service="HTTPS" srcname="{name}"'
    ).encode()


class World:
    def __init__(self, db: Database, pipeline: Pipeline) -> None:
        self.db, self.pipeline = db, pipeline
        self.a = tenants.add_tenant(db, "A社").id
        self.b = tenants.add_tenant(db, "B社").id
        self.sensors = {
            t: tenants.add_sensor(db, t, "utm", "fortigate", with_token=False).sensor.id
            for t in (self.a, self.b)
        }

    def send(self, tenant: str, *payloads: bytes) -> None:
        self.pipeline.process(
            [RawRecord(tenant, self.sensors[tenant], "fortigate", p, NOW, "test") for p in payloads]
        )


@pytest.fixture
def world(db: Database, pipeline: Pipeline) -> World:
    return World(db, pipeline)


def test_pipeline_opens_one_incident_with_severity_reasons_guidance_and_damage(world: World) -> None:
    world.send(world.a, line("192.168.1.5", C2), line("192.168.1.5", C2, minute=5))
    world.send(world.a, line("192.168.1.5", C2, minute=10))  # a later batch joins the same incident
    (incident,) = incidents.list_incidents(world.db, None, world.a)
    assert incident["severity"] == "high"
    assert incident["score"] == sum(r["points"] for r in incident["reasons"])
    assert all(r["ja"] and r["en"] for r in incident["reasons"])
    assert incident["host"] == "PC-KEIRI-01"
    assert len(incident["alerts"]) == 1
    assert incident["timeline"][0]["count"] == 3
    assert "経理のパソコン PC-KEIRI-01" in incident["guidance"]["ja"]["what"]
    assert incident["guidance"]["en"]["what"].startswith("The accounting PC PC-KEIRI-01")
    assert 0 < incident["damage"]["low_yen"] < incident["damage"]["high_yen"]
    assert incident["damage"]["breakdown"]
    assert incidents.list_incidents(world.db, None, world.b) == []


def test_other_devices_get_their_own_incident_and_blocked_is_low(world: World) -> None:
    world.send(world.a, line("192.168.1.5", C2), line("192.168.1.6", C2, name="PC-SOUMU-02", action="deny"))
    found = {i["host"]: i for i in incidents.list_incidents(world.db, None, world.a)}
    assert set(found) == {"PC-KEIRI-01", "PC-SOUMU-02"}
    assert found["PC-SOUMU-02"]["severity"] == "low"
    assert found["PC-SOUMU-02"]["guidance"]["ja"]["entry"] == "blocked"
    assert found["PC-SOUMU-02"]["damage"]["high_yen"] < found["PC-KEIRI-01"]["damage"]["low_yen"]


def test_one_batch_of_two_tenants_is_triaged_per_tenant(world: World) -> None:
    """The triage step takes every tenant of a batch at once: the same device address and indicator in
    two tenants still make one incident each, and a tenant's suppression rule silences only its alerts."""
    triage_suppression.add_rule(
        world.db, ANALYST, world.a, "host", host="192.168.1.9", reason="A's own scanner"
    )
    records = [
        RawRecord(tenant, world.sensors[tenant], "fortigate", payload, NOW, "test")
        for tenant in (world.a, world.b)
        for payload in (line("192.168.1.5", C2), line("192.168.1.9", C2, name="SCANNER"))
    ]
    result = world.pipeline.process(records)
    assert (result.alerts_created, result.alerts_suppressed, result.incidents_created) == (4, 1, 3)
    hosts_a = {i["host"] for i in incidents.list_incidents(world.db, None, world.a)}
    hosts_b = {i["host"] for i in incidents.list_incidents(world.db, None, world.b)}
    assert (hosts_a, hosts_b) == ({"PC-KEIRI-01"}, {"PC-KEIRI-01", "SCANNER"})
    for tenant in (world.a, world.b):
        for incident in incidents.list_incidents(world.db, None, tenant):
            with read_only(world.db) as uow:  # its alerts are the tenant's own
                assert len(uow.alerts.get_many(tenant, incident["alerts"])) == len(incident["alerts"]) == 1
            assert incident["timeline"][0]["count"] == 1
    world.pipeline.process(records)  # the same batch again (a redelivery): nothing new
    assert len(incidents.list_incidents(world.db, None, world.a)) == 1
    assert len(incidents.list_incidents(world.db, None, world.b)) == 2


def test_workflow_states_assignment_notes_and_audit_trail(world: World) -> None:
    world.send(world.a, line("192.168.1.5", C2))
    (incident,) = incidents.list_incidents(world.db, None, world.a)
    iid = incident["id"]
    incidents.set_status(world.db, ANALYST, world.a, iid, "acknowledged")
    incidents.assign(world.db, ANALYST, world.a, iid, "tanaka@provider.example")
    incidents.add_note(world.db, None, world.a, iid, "called the customer")
    with pytest.raises(ValidationError):
        incidents.set_status(world.db, ANALYST, world.a, iid, "new")  # no way back to new
    with pytest.raises(ValidationError):
        incidents.set_status(world.db, ANALYST, world.a, iid, "resolved")  # needs a resolution
    incidents.set_status(world.db, ANALYST, world.a, iid, "investigating")
    done = incidents.set_status(world.db, ANALYST, world.a, iid, "resolved", resolution="false_positive")
    assert (done["status"], done["resolution"], done["assignee"]) == (
        "resolved",
        "false_positive",
        "tanaka@provider.example",
    )
    actions = [(h["actor"], h["action"]) for h in done["history"]]
    assert actions == [
        ("system", "created"),
        ("soc@provider.example", "status"),
        ("soc@provider.example", "assign"),
        ("cli", "note"),
        ("soc@provider.example", "status"),
        ("soc@provider.example", "status"),
    ]
    world.send(world.a, line("192.168.1.5", C2, minute=30))  # the same alert stays in its incident
    assert len(incidents.list_incidents(world.db, None, world.a)) == 1
    world.send(world.a, line("192.168.1.5", C2, day=27))  # a new alert is not added to a resolved incident
    assert [i["status"] for i in incidents.list_incidents(world.db, None, world.a)] == ["new", "resolved"]


def test_customers_read_their_own_but_change_nothing_and_never_see_others(world: World) -> None:
    world.send(world.a, line("192.168.1.5", C2))
    (incident,) = incidents.list_incidents(world.db, None, world.a)
    customer_a = User("ca", "a@a.example", "A", Role.CUSTOMER_ADMIN, tenant_id=world.a)
    customer_b = User("cb", "b@b.example", "B", Role.CUSTOMER_VIEWER, tenant_id=world.b)
    assert [i["id"] for i in incidents.list_incidents(world.db, customer_a)] == [incident["id"]]
    assert incidents.list_incidents(world.db, customer_b) == []
    with pytest.raises(NotFoundError):
        incidents.get_incident(world.db, customer_b, world.a, incident["id"])
    with pytest.raises(NotFoundError):
        incidents.get_incident(world.db, None, world.b, incident["id"])
    with pytest.raises(PermissionDeniedError):
        incidents.set_status(world.db, customer_a, world.a, incident["id"], "acknowledged")
    with pytest.raises(NotFoundError):
        incidents.set_status(world.db, ANALYST, world.b, incident["id"], "acknowledged")


def test_merge_and_split_move_alerts_and_are_logged(world: World) -> None:
    world.send(world.a, line("192.168.1.5", C2), line("192.168.1.6", C2, name="PC-SOUMU-02"))
    first, second = incidents.list_incidents(world.db, None, world.a)
    merged = incidents.merge(world.db, ANALYST, world.a, first["id"], [second["id"]])
    assert sorted(merged["alerts"]) == sorted(first["alerts"] + second["alerts"])
    assert any(r["code"] == "spread.hosts" for r in merged["reasons"])
    assert [i["id"] for i in incidents.list_incidents(world.db, None, world.a)] == [first["id"]]
    with pytest.raises(ValidationError):
        incidents.merge(world.db, ANALYST, world.a, first["id"], [second["id"]])  # already merged
    with pytest.raises(ValidationError):
        incidents.split(world.db, ANALYST, world.a, first["id"], merged["alerts"])  # not all of them
    new = incidents.split(world.db, ANALYST, world.a, first["id"], second["alerts"])
    assert new["alerts"] == second["alerts"]
    assert [h["action"] for h in new["history"]] == ["split_from"]
    after = incidents.get_incident(world.db, None, world.a, first["id"])
    assert after["alerts"] == first["alerts"]
    assert [h["action"] for h in after["history"]][-2:] == ["merged", "split"]


def test_suppression_preview_and_effect(world: World) -> None:
    world.send(world.a, line("192.168.1.5", C2))
    assert triage_suppression.preview(world.db, None, world.a, "indicator", value=f"ip:{C2}") == 1
    assert triage_suppression.preview(world.db, None, world.a, "host", host="PC-OTHER") == 0
    with pytest.raises(ValidationError):
        triage_suppression.add_rule(world.db, None, world.a, "host", reason="")
    rule = triage_suppression.add_rule(
        world.db,
        ANALYST,
        world.a,
        "host",
        host="192.168.1.9",
        reason="the customer's own scanner",
        expires_at=datetime.now(UTC) + timedelta(days=30),
    )
    assert rule["preview"] == 0
    assert rule["created_by"] == ANALYST.email
    world.send(world.a, line("192.168.1.9", C2, name="SCANNER"))
    hosts = {i["host"] for i in incidents.list_incidents(world.db, None, world.a)}
    assert hosts == {"PC-KEIRI-01"}  # the suppressed alert opened nothing
    with read_only(world.db) as uow:
        assert uow.alerts.count(world.a) == 2  # but it is stored
    assert [r["id"] for r in triage_suppression.list_rules(world.db, None, world.a)] == [rule["id"]]
    assert triage_suppression.list_rules(world.db, None, world.b) == []
    with pytest.raises(NotFoundError):
        triage_suppression.remove_rule(world.db, None, world.b, rule["id"])
    triage_suppression.remove_rule(world.db, None, world.a, rule["id"])
    customer = User("ca", "a@a.example", "A", Role.CUSTOMER_ADMIN, tenant_id=world.a)
    with pytest.raises(PermissionDeniedError):
        triage_suppression.list_rules(world.db, customer, world.a)


def test_profile_changes_damage_and_criticality(world: World) -> None:
    world.send(world.a, line("192.168.1.5", C2))
    (before,) = incidents.list_incidents(world.db, None, world.a)
    incidents.set_profile(
        world.db,
        None,
        world.a,
        {"employees": 200, "annual_sales_yen": 5_000_000_000, "critical_hosts": ["PC-KEIRI-01"]},
    )
    world.send(world.a, line("192.168.1.5", C2, minute=1))
    (after,) = incidents.list_incidents(world.db, None, world.a)
    assert after["damage"]["low_yen"] > before["damage"]["high_yen"]
    assert any(r["code"] == "asset.critical" for r in after["reasons"])
    with pytest.raises(ValidationError):
        incidents.set_profile(world.db, None, world.a, {"favourite_colour": "blue"})


def test_sigma_and_indicator_alerts_on_one_device_form_one_kill_chain_incident(world: World) -> None:
    def finding(detector: str, key: str, minute: int, **extra: object) -> Finding:
        return Finding(
            tenant_id=world.a,
            detector=detector,
            key=key,
            title=f"{detector} {key}",
            severity=Severity.HIGH,
            timestamp=NOW + timedelta(minutes=minute),
            host="PC-KEIRI-01",
            source_ip="192.168.1.5",
            device_ip="192.168.1.5",
            **extra,  # type: ignore[arg-type]
        )

    powershell = finding(
        "sigma",
        "rule-ps",
        0,
        tags=("attack.execution", "attack.t1059.001"),
        evidence={"sigma.level": "high", "sigma.rule_id": "rule-ps"},
    )
    c2 = finding(
        "indicator",
        f"ip:{C2}",
        5,
        tags=("attack.command-and-control",),
        evidence={"event.outcome": "success"},
    )
    for batch in ([powershell], [c2]):
        with unit_of_work(world.db) as uow:
            triage_changes(uow, uow.alerts.record(fingerprinted(batch)))
    (incident,) = incidents.list_incidents(world.db, None, world.a)
    assert [a["detector"] for a in incident["timeline"]] == ["sigma", "indicator"]
    assert incident["category"] == "c2"
    assert incident["severity"] == "high"
    assert {r["code"] for r in incident["reasons"]} >= {"level", "spread.alerts", "spread.stages"}
    history = incidents.get_incident(world.db, None, world.a, incident["id"])["history"]
    assert [h["action"] for h in history][:2] == ["created", "alerts_added"]


def test_the_incident_title_does_not_depend_on_random_alert_ids() -> None:
    """Two alerts made from one event tie on severity and times: the title is the same whatever their ids
    and order (it was decided by the random ids before)."""

    def alert(alert_id: str, fingerprint: str, title: str, severity: Severity = Severity.MEDIUM) -> Alert:
        return Alert(alert_id, "t", fingerprint, "d", "k", title, severity, NOW, NOW, 1)

    pair = [alert("ffff", "aaaa", "New device"), alert("0000", "bbbb", "End-of-life OS")]
    assert _worst(pair).title == _worst(pair[::-1]).title == "New device"
    swapped = [alert("0000", "aaaa", "New device"), alert("ffff", "bbbb", "End-of-life OS")]
    assert _worst(swapped).title == "New device"
    high = alert("1111", "zzzz", "Worse", Severity.HIGH)
    assert _worst([*pair, high]).title == "Worse"  # the most severe first
