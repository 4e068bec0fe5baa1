"""Outbound mail burst: SMTP to many external servers from a client that is not the mail server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.unit.detection.behaviours._sim_parse import sim_events, truths_for

from mimamori.detection.behaviours.base import BehaviourPolicy
from mimamori.detection.behaviours.smtp_burst import MAX_SENDERS, SmtpBurstBehaviour
from mimamori.domain import Event, Finding, Severity

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def smtp(at: float, src: str, dst: str, port: object = 25, tenant: str = "t1") -> Event:
    fields: dict[str, Any] = {
        "source.ip": src,
        "destination.ip": dst,
        "destination.port": port,
        "host.name": "NB-EIGYO-01",
    }
    return Event(T0 + timedelta(seconds=at), tenant, "fortigate.traffic", fields)


def run(behaviour: SmtpBurstBehaviour, events: list[Event]) -> list[Finding]:
    return [
        f
        for e in sorted(events, key=lambda e: e.timestamp)
        if behaviour.accepts(e)
        for f in behaviour.observe(e)
    ]


def emotet(src: str = "192.168.1.28", start: float = 0.0, count: int = 60) -> list[Event]:
    return [
        smtp(start + i * 3.0, src, f"198.51.{100 + i // 200}.{i % 200 + 1}", (25, 587)[i % 2])
        for i in range(count)
    ]


def test_burst_from_a_laptop_fires_once_on_the_first_sessions() -> None:
    findings = run(SmtpBurstBehaviour(), emotet())
    assert len(findings) == 1
    found = findings[0]
    assert found.severity is Severity.HIGH
    assert found.source_ip == "192.168.1.28"
    assert found.evidence["distinct_servers"] == 10
    assert found.timestamp <= T0 + timedelta(seconds=30)


def test_known_and_learned_mail_servers_do_not_fire() -> None:
    policy = BehaviourPolicy(mail_servers={"t1": frozenset({"192.168.1.11"})})
    assert run(SmtpBurstBehaviour(policy), emotet("192.168.1.11")) == []
    # MAIL01 sending to MX hosts over three hours is learned, then a big newsletter is not a burst.
    routine = [
        smtp(h * 3600.0 + m * 600.0, "192.168.1.12", f"52.101.68.{m + 1}") for h in range(3) for m in range(3)
    ]
    assert run(SmtpBurstBehaviour(), routine + emotet("192.168.1.12", start=4 * 3600.0)) == []


def test_submission_to_one_provider_and_slow_sending_do_not_fire() -> None:
    events = [smtp(i * 20.0, "192.168.1.30", "52.98.160.2", 587) for i in range(200)]  # Office 365
    events += [smtp(i * 120.0, "192.168.1.31", f"203.0.113.{i + 1}") for i in range(40)]  # 5 per 10 min
    events += [smtp(i, "198.51.100.9", f"192.168.1.{i + 1}") for i in range(40)]  # inbound: not ours
    assert run(SmtpBurstBehaviour(), events) == []


def test_override_lowers_the_threshold_for_one_tenant() -> None:
    policy = BehaviourPolicy(overrides={"t1": {"smtp_burst": {"min_servers": 5}}})
    assert len(run(SmtpBurstBehaviour(policy), emotet(count=6))) == 1
    assert run(SmtpBurstBehaviour(), emotet(count=6)) == []


def test_snapshot_restore_and_malformed_state() -> None:
    first = SmtpBurstBehaviour()
    assert run(first, emotet(count=6)) == []
    second = SmtpBurstBehaviour()
    second.restore(json.loads(json.dumps(first.snapshot())))
    assert len(run(second, emotet(start=18.0)[6:])) == 1
    third = SmtpBurstBehaviour()
    third.restore(json.loads(json.dumps(second.snapshot())))
    assert run(third, emotet(start=300.0)) == []  # same episode: cooldown restored
    for junk in (
        {"version": 2},
        {"version": 1, "tenants": {"t1": [["a", [1, 2]]]}},
        {"version": 1, "tenants": {"t1": 7}},
    ):
        SmtpBurstBehaviour().restore(junk)


def test_state_is_bounded_and_hostile_values_are_ignored() -> None:
    behaviour = SmtpBurstBehaviour()
    run(
        behaviour,
        [
            smtp(i * 0.001, f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}", "203.0.113.1")
            for i in range(MAX_SENDERS + 100)
        ],
    )
    assert len(behaviour.tenants.get("t1").senders) == MAX_SENDERS
    ports: tuple[Any, ...] = ("25" * 40, [25], None, 25.0)
    for port in ports:
        fields: dict[str, Any] = {
            "source.ip": "192.168.1.2",
            "destination.ip": "x" * 5000,
            "destination.port": port,
        }
        event = Event(T0, "t1", "fortigate.traffic", fields)
        assert not behaviour.accepts(event) or list(behaviour.observe(event)) == []


def test_benign_simulation_day_has_no_alert() -> None:
    events, _ = sim_events("fortigate", (), 3, 24)
    assert run(SmtpBurstBehaviour(), list(events)) == []


def test_sim_emotet_fires_on_the_laptop_within_a_minute() -> None:
    events, truths = sim_events("fortigate", ("emotet-hotel-wifi",), 3, 2)
    (truth,) = truths_for(truths, "smtp_burst")
    findings = run(SmtpBurstBehaviour(), list(events))
    assert [(f.tenant_id, f.source_ip, f.host) for f in findings] == [
        (f"t{truth.tenant_index}", truth.host_ip, truth.host)
    ]
    assert timedelta(0) <= findings[0].timestamp - truth.first_time <= timedelta(minutes=1)
