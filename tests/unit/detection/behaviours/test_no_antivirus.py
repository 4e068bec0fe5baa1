"""no_antivirus: a Windows device where no endpoint antivirus activity is ever seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mimamori.detection.behaviours import no_antivirus as mod
from mimamori.detection.behaviours.base import BehaviourPolicy
from mimamori.detection.behaviours.no_antivirus import NoAntivirusBehaviour
from mimamori.domain import Event, Finding, Severity

from ._sim_parse import sim_events

T0 = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
AV_IP = "91.228.167.133"


def forti(at: datetime, ip: str, mac: str, name: str, dest: str = "52.98.152.178", **extra: Any) -> Event:
    fields: dict[str, Any] = {
        "source.ip": ip,
        "source.mac": mac,
        "host.name": name,
        "host.os.name": "Windows",
        "host.os.version": "11",
        "destination.ip": dest,
        "destination.port": 443,
        **extra,
    }
    return Event(timestamp=at, tenant_id="t1", dataset="fortigate.traffic", fields=fields)


def dns_answer(at: datetime) -> Event:
    fields: dict[str, Any] = {
        "source.ip": "192.168.1.50",
        "destination.ip": "1.1.1.1",
        "dns.question.name": "update.eset.com",
        "dns.resolved_ip": [AV_IP],
    }
    return Event(timestamp=at, tenant_id="t1", dataset="fortigate.utm.dns", fields=fields)


def day(ip: str, mac: str, name: str, *, av_every: int = 0) -> list[Event]:
    """A day of a device's sessions, one every 10 minutes (an AV update every ``av_every``th)."""
    return [
        forti(
            T0 + timedelta(minutes=10 * i),
            ip,
            mac,
            name,
            AV_IP if av_every and i % av_every == 0 else "52.98.152.178",
        )
        for i in range(6 * 25)
    ]


def run(behaviour: NoAntivirusBehaviour, events: list[Event]) -> list[Finding]:
    out: list[Finding] = []
    for event in sorted(events, key=lambda e: e.timestamp):
        if behaviour.accepts(event):
            out.extend(behaviour.observe(event))
    return out


def test_a_windows_pc_without_antivirus_traffic_is_reported_once_after_a_day() -> None:
    behaviour = NoAntivirusBehaviour()
    found = run(behaviour, [dns_answer(T0), *day("192.168.1.33", "00-00-4C-4E-4B-FF", "PC-SEIZOU-XP")])
    assert [(f.host, f.severity) for f in found] == [("PC-SEIZOU-XP", Severity.LOW)]
    assert found[0].timestamp >= T0 + timedelta(seconds=mod.OBSERVATION)
    assert found[0].tags == mod.TAGS


def test_av_update_sessions_by_address_or_name_and_defender_events_count() -> None:
    behaviour = NoAntivirusBehaviour()
    events = [dns_answer(T0), *day("192.168.1.21", "3C-D9-2B-45-8D-1C", "PC-EIGYO-01", av_every=12)]
    events += [
        forti(
            T0 + timedelta(minutes=10 * i + 1),
            "192.168.1.22",
            "00-00-4C-55-57-A3",
            "PC-KEIRI-01",
            "1.2.3.4",
            **({"tls.client.server_name": "iaus.activeupdate.trendmicro.com"} if i == 3 else {}),
        )
        for i in range(150)
    ]
    events.append(
        Event(
            timestamp=T0,
            tenant_id="t1",
            dataset="windows.defender",
            fields={"host.name": "PC-SOUMU-01.corp.example"},
        )
    )
    events += day("192.168.1.23", "00-00-39-39-CB-C0", "PC-SOUMU-01")
    assert run(behaviour, events) == []


def test_non_windows_and_short_lived_devices_are_not_judged() -> None:
    behaviour = NoAntivirusBehaviour()
    phone = [
        Event(
            timestamp=T0 + timedelta(minutes=10 * i),
            tenant_id="t1",
            dataset="fortigate.traffic",
            fields={"source.ip": "192.168.1.104", "host.os.name": "iOS", "destination.ip": "17.253.85.201"},
        )
        for i in range(200)
    ]
    brief = [forti(T0 + timedelta(hours=h), "192.168.1.60", "3C-D9-2B-00-00-60", "PC-VISIT") for h in (0, 30)]
    assert run(behaviour, [*phone, *brief]) == []


def test_snapshot_restore_and_malformed_input() -> None:
    behaviour = NoAntivirusBehaviour()
    events = [dns_answer(T0), *day("192.168.1.33", "00-00-4C-4E-4B-FF", "PC-SEIZOU-XP")]
    half = len(events) // 2
    run(behaviour, events[:half])
    restored = NoAntivirusBehaviour()
    restored.restore(behaviour.snapshot())
    assert restored.snapshot() == behaviour.snapshot()
    assert len(run(restored, events[half:])) == 1
    junks: list[Any] = [
        {},
        {"version": 1, "tenants": {"t1": {"devices": [["k", [1]]]}}},
        {"version": "1"},
        [],
    ]
    for junk in junks:
        fresh = NoAntivirusBehaviour()
        fresh.restore(junk)
        assert fresh.snapshot()["tenants"] == {}


def test_state_is_bounded() -> None:
    behaviour = NoAntivirusBehaviour()
    flood = [forti(T0, f"10.0.{i >> 8 & 255}.{i & 255}", "", "") for i in range(mod.MAX_DEVICES + 300)]
    run(behaviour, flood)
    assert len(behaviour.snapshot()["tenants"]["t1"]["devices"]) == mod.MAX_DEVICES


@pytest.mark.parametrize("value", [None, 3, 1.5, True, [], ["1.2.3.4"], {"a": 1}, "x" * 100_000])
def test_hostile_values_never_raise(value: object) -> None:
    behaviour = NoAntivirusBehaviour()
    for name in (
        "source.ip",
        "host.name",
        "destination.ip",
        "dns.resolved_ip",
        "dns.question.name",
        "url.domain",
    ):
        for dataset in ("fortigate.traffic", "fortigate.utm.dns", "windows.defender"):
            base: dict[str, Any] = {
                "source.ip": "192.168.1.5",
                "host.os.name": "Windows",
                "dns.question.name": "update.eset.com",
            }
            event = Event(timestamp=T0, tenant_id="t1", dataset=dataset, fields={**base, name: value})  # type: ignore[dict-item]
            if behaviour.accepts(event):
                list(behaviour.observe(event))


def test_a_simulated_day_flags_only_the_pc_without_antivirus() -> None:
    events, _ = sim_events("fortigate", (), 3, 24, 30)
    half_day = {"no_antivirus": {"observation_seconds": 12 * 3600.0}}  # the window is only one day
    policy = BehaviourPolicy(overrides={f"t{i}": half_day for i in range(3)})
    found = run(NoAntivirusBehaviour(policy), list(events))
    assert {(f.tenant_id, f.host) for f in found} == {("t0", "PC-SEIZOU-XP")}  # every third tenant has one
    assert all(f.severity == Severity.LOW for f in found)


def test_plain_dns_names_are_remembered_bounded_and_antivirus_names_never(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mod, "MAX_PLAIN", 4)
    behaviour = NoAntivirusBehaviour()
    for i in range(10):
        lookup = dns_answer(T0 + timedelta(seconds=i))
        lookup.fields["dns.question.name"] = f"www{i}.example.jp"
        run(behaviour, [lookup])
    assert 0 < len(behaviour._plain) <= 4
    run(behaviour, [dns_answer(T0 + timedelta(seconds=20))])
    assert "update.eset.com" not in behaviour._plain
    state = behaviour.tenants.get("t1")
    assert AV_IP in state.av_addresses.data  # the antivirus name's answer was learnt
