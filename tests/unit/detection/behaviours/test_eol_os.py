"""eol_os: devices running an operating system without security updates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mimamori.detection.behaviours import eol_os as mod
from mimamori.detection.behaviours.eol_os import EolOsBehaviour
from mimamori.domain import Event, Finding, Severity

from ._sim_parse import sim_events

T0 = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
XP_MAC = "00-00-4C-4E-4B-FF"


def forti(at: datetime, ip: str, mac: str, name: str, os: str, version: str) -> Event:
    fields: dict[str, Any] = {
        "source.ip": ip,
        "source.mac": mac,
        "host.name": name,
        "host.os.name": os,
        "host.os.version": version,
        "host.type": "Windows PC",
        "destination.ip": "203.0.113.66",
        "destination.port": 8080,
    }
    return Event(timestamp=at, tenant_id="t1", dataset="fortigate.traffic", fields=fields)


def http(at: datetime, ip: str, agent: Any) -> Event:
    fields = {"source.ip": ip, "destination.ip": "93.184.216.34", "user_agent.original": agent}
    return Event(timestamp=at, tenant_id="t1", dataset="zeek.http", fields=fields)


def run(behaviour: EolOsBehaviour, events: list[Event]) -> list[Finding]:
    out: list[Finding] = []
    for event in events:
        if behaviour.accepts(event):
            out.extend(behaviour.observe(event))
    return out


def test_windows_xp_from_device_identification_is_medium_once_a_week() -> None:
    behaviour = EolOsBehaviour()
    events = [
        forti(T0 + timedelta(minutes=m), "192.168.1.33", XP_MAC, "PC-SEIZOU-XP", "Windows", "XP")
        for m in range(60)
    ]
    (found,) = run(behaviour, events)
    assert found.severity == Severity.MEDIUM
    assert (found.host, found.source_ip) == ("PC-SEIZOU-XP", "192.168.1.33")
    assert found.evidence["os_family"] == "Windows"
    assert found.evidence["os_version"] == "XP"
    assert found.evidence["os_source"] == "fortigate.device-id"
    assert found.tags == mod.TAGS
    week = T0 + timedelta(seconds=mod.COOLDOWN + 60)
    assert len(run(behaviour, [forti(week, "192.168.1.33", XP_MAC, "PC-SEIZOU-XP", "Windows", "XP")])) == 1


def test_supported_systems_are_silent() -> None:
    behaviour = EolOsBehaviour()
    events = [
        forti(T0, "192.168.1.21", "3C-D9-2B-45-8D-1C", "PC-EIGYO-01", "Windows", "11"),
        forti(T0, "192.168.1.22", "00-00-4C-55-57-A3", "PC-KEIRI-01", "Windows", "10"),
        forti(T0, "192.168.1.104", "AA-CB-45-18-FF-05", "iPhone-04", "iOS", "17.5"),
        forti(T0, "192.168.1.101", "3C-28-6D-90-89-79", "Pixel-01", "Android", "14"),
        forti(T0, "192.168.1.10", "00-11-32-C0-FD-5F", "FS01", "Linux", "DSM 7.2"),
        http(T0, "192.168.1.23", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
    ]
    assert run(behaviour, events) == []


def test_an_old_ios_and_a_user_agent_guess_is_low() -> None:
    behaviour = EolOsBehaviour()
    (iphone,) = run(
        behaviour, [forti(T0, "192.168.1.231", "B2-D7-2B-14-06-FE", "Taro-no-iPhone", "iOS", "16.1")]
    )
    assert iphone.severity == Severity.MEDIUM
    (seven,) = run(behaviour, [http(T0, "192.168.1.40", "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0)")])
    assert seven.severity == Severity.LOW
    assert seven.evidence["os_source"] == "zeek.http"


def test_an_old_user_agent_on_a_device_identified_as_supported_is_ignored() -> None:
    behaviour = EolOsBehaviour()
    events = [
        forti(T0, "192.168.1.21", "3C-D9-2B-45-8D-1C", "PC-EIGYO-01", "Windows", "11"),
        Event(
            timestamp=T0,
            tenant_id="t1",
            dataset="suricata.http",
            fields={
                "source.ip": "192.168.1.21",
                "source.mac": "3C-D9-2B-45-8D-1C",
                "user_agent.original": "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1)",
            },
        ),
    ]
    assert run(behaviour, events) == []


def test_snapshot_restore_and_malformed_input() -> None:
    behaviour = EolOsBehaviour()
    run(behaviour, [forti(T0, "192.168.1.33", XP_MAC, "PC-SEIZOU-XP", "Windows", "XP")])
    restored = EolOsBehaviour()
    restored.restore(behaviour.snapshot())
    assert restored.snapshot() == behaviour.snapshot()
    assert (
        run(
            restored,
            [forti(T0 + timedelta(hours=1), "192.168.1.33", XP_MAC, "PC-SEIZOU-XP", "Windows", "XP")],
        )
        == []
    )
    junks: list[Any] = [
        {},
        {"version": 1, "tenants": {"t1": {"devices": [[1]]}}},
        {"version": 1, "tenants": 3},
        [],
    ]
    for junk in junks:
        fresh = EolOsBehaviour()
        fresh.restore(junk)
        assert fresh.snapshot()["tenants"] == {}


def test_state_is_bounded() -> None:
    behaviour = EolOsBehaviour()
    flood = [
        http(T0, f"10.0.{i >> 8 & 255}.{i & 255}", "Mozilla/5.0 (Windows NT 6.1)")
        for i in range(mod.MAX_DEVICES + 300)
    ]
    assert len(run(behaviour, flood)) == mod.MAX_DEVICES + 300
    assert len(behaviour.snapshot()["tenants"]["t1"]["devices"]) == mod.MAX_DEVICES


@pytest.mark.parametrize(
    "value", [None, 3, 1.5, False, [], ["XP"], {"a": 1}, "x" * 100_000, "Windows NT 5.1" * 5000]
)
def test_hostile_values_never_raise(value: object) -> None:
    behaviour = EolOsBehaviour()
    for name in ("host.os.name", "host.os.version", "user_agent.original", "source.ip", "source.mac"):
        base: dict[str, Any] = {
            "source.ip": "192.168.1.5",
            "host.os.name": "Windows",
            "user_agent.original": "x",
        }
        event = Event(timestamp=T0, tenant_id="t1", dataset="fortigate.traffic", fields={**base, name: value})  # type: ignore[dict-item]
        if behaviour.accepts(event):
            list(behaviour.observe(event))


def test_the_xp_malware_scenarios_pc_is_end_of_life() -> None:
    events, truths = sim_events("fortigate", ("xp-malware",), 2, 2)
    (truth,) = [t for t in truths if t.host == "PC-SEIZOU-XP"][:1]
    found = run(EolOsBehaviour(), list(events))
    hosts = {(f.tenant_id, f.host) for f in found}
    assert (f"t{truth.tenant_index}", "PC-SEIZOU-XP") in hosts
    first = min(f.timestamp for f in found if f.host == "PC-SEIZOU-XP")
    assert first <= truth.first_time  # known before it is even attacked


@pytest.mark.parametrize("fmt", ["fortigate", "zeek"])
def test_a_benign_simulated_day_flags_only_the_legacy_xp_pcs(fmt: str) -> None:
    events, _ = sim_events(fmt, (), 3, 24, 30)
    found = run(EolOsBehaviour(), list(events))
    assert {f.host for f in found} <= {"PC-SEIZOU-XP"}
    per_tenant: dict[str, int] = {}
    for f in found:
        per_tenant[f.tenant_id] = per_tenant.get(f.tenant_id, 0) + 1
    assert all(count <= 1 for count in per_tenant.values())  # within the budget: one 中 per SME per week
