"""utm_verdict: anti-virus (utm_virus) and IDS/IPS (ids_alert) verdicts of security devices as findings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.unit.detection.behaviours._sim_parse import sim_events, truths_for

from mimamori.detection.behaviours import utm_verdict as mod
from mimamori.detection.behaviours.base import BehaviourPolicy
from mimamori.detection.behaviours.utm_verdict import UtmVerdict
from mimamori.domain import Event, Finding, Severity

T0 = datetime(2026, 11, 26, 1, tzinfo=UTC)
PC = "192.168.10.21"
GOLDEN = Path(__file__).parents[3] / "data" / "parsers"


def virus(action: str, seconds: float = 0, *, name: object = "W32/Agent.ABCD!tr", host: object = PC) -> Event:
    fields = {
        "source.ip": host,
        "destination.ip": "198.51.100.7",
        "threat.name": name,
        "file.name": "setup.exe",
        "event.action": action,
        "url.original": "http://dl.example/setup.exe",
    }
    return Event(T0 + timedelta(seconds=seconds), "t1", "fortigate.utm.virus", fields)  # type: ignore[arg-type]


def golden(fmt: str, name: str) -> list[Event]:
    events = []
    for item in json.loads((GOLDEN / fmt / name).read_text(encoding="utf-8")):
        if item:
            moment = datetime.fromisoformat(item["timestamp"])
            events.append(Event(moment, "t1", item["dataset"], item["fields"]))
    return events


def run(detector: UtmVerdict, events: list[Event]) -> list[Finding]:
    return [f for e in events if detector.accepts(e) for f in detector.observe(e)]


def test_the_supply_chain_scenario_gives_utm_virus_per_recipient() -> None:
    events, truths = sim_events("fortigate", ("supply-chain-phish",), 2, 2)
    expected = truths_for(truths, "utm_virus")
    assert len(expected) >= 2
    found = [f for f in run(UtmVerdict(), list(events)) if f.key == "VBA/Agent.KDR!tr"]
    for truth in expected:
        hits = [f for f in found if f.source_ip == truth.host_ip and f.tenant_id == f"t{truth.tenant_index}"]
        assert len(hits) == 1, truth
        assert hits[0].detector == "utm_virus"
        assert hits[0].severity is Severity.LOW  # blocked: the defence worked, it still counts
        assert abs((hits[0].timestamp - truth.first_time).total_seconds()) < 60
        assert str(hits[0].evidence["sender"]).endswith("torihikisaki-shoji.example")


def test_blocked_is_low_passed_is_high_and_repeats_are_aggregated() -> None:
    detector = UtmVerdict()
    blocked = run(detector, [virus("blocked", i) for i in range(20)])
    assert [(f.detector, f.severity) for f in blocked] == [("utm_virus", Severity.LOW)]
    assert blocked[0].evidence["enforced"] is True
    passed = run(detector, [virus("passed", 30 + i) for i in range(5)])  # escalation within the window
    assert [f.severity for f in passed] == [Severity.HIGH]
    assert run(detector, [virus("blocked", 60)]) == []
    assert len(run(detector, [virus("blocked", 60, name="JS/Miner.BP!tr")])) == 1  # another signature
    assert len(run(detector, [virus("blocked", 60, host="192.168.10.22")])) == 1  # another host
    assert run(detector, [virus("blocked", 3700)]) == []  # still blocked: one story for the day
    assert len(run(detector, [virus("passed", 3700)])) == 1  # let through again, an hour later
    assert len(run(detector, [virus("blocked", 95_000)])) == 1  # the next day


def test_fortigate_ips_drop_is_low_on_the_attacked_lan_server() -> None:
    fields: dict[str, Any] = {
        "source.ip": "198.19.1.2",
        "destination.ip": "192.168.10.10",
        "threat.name": "MS.SMB.Server.SMB1.Trans2.Secondary.Handling.Code.Execution",
        "event.action": "dropped",
    }
    found = run(UtmVerdict(), [Event(T0, "t1", "fortigate.utm.ips", fields)])
    assert [(f.detector, f.severity, f.source_ip, f.destination_ip) for f in found] == [
        ("ids_alert", Severity.LOW, "192.168.10.10", "198.19.1.2")
    ]
    fields["event.action"] = "detected"
    fields["fortigate.severity"] = "low"
    assert [f.severity for f in run(UtmVerdict(), [Event(T0, "t1", "fortigate.utm.ips", fields)])] == [
        Severity.LOW
    ]
    fields["fortigate.severity"] = "critical"
    assert [f.severity for f in run(UtmVerdict(), [Event(T0, "t1", "fortigate.utm.ips", fields)])] == [
        Severity.HIGH
    ]


def test_suricata_alerts_take_the_rule_severity_and_policy_rules_are_low() -> None:
    found = run(UtmVerdict(), golden("suricata", "alert.json") + golden("suricata", "eve.json"))
    by_rule = {f.key: f for f in found}
    assert by_rule["ET MALWARE Spyware Related User-Agent (UtilMind HTTPGet)"].severity is Severity.HIGH
    assert by_rule["ET MALWARE Spyware Related User-Agent (UtilMind HTTPGet)"].source_ip == "10.47.42.68"
    assert by_rule["ET CURRENT_EVENTS Malformed HeartBeat Request"].severity is Severity.MEDIUM
    assert by_rule["ET POLICY Dropbox.com Offsite File Backup in Use"].severity is Severity.LOW
    assert by_rule["SURICATA SMTP invalid reply"].severity is Severity.LOW
    eternal = by_rule["ET EXPLOIT Possible ETERNALBLUE MS17-010 Echo Response"]
    assert (eternal.severity, eternal.source_ip) == (Severity.HIGH, "192.168.1.5")
    cobalt = by_rule["ET MALWARE Observed Cobalt Strike CnC Domain in TLS SNI"]
    assert cobalt.severity is Severity.LOW  # blocked inline
    assert {f.detector for f in found} == {"ids_alert"}


def test_wazuh_alerts_from_level_seven_with_their_attack_mapping() -> None:
    found = run(UtmVerdict(), golden("wazuh", "alerts.json"))
    summary = {(f.key, f.severity, f.source_ip) for f in found}
    assert ("Multiple Windows logon failures.", Severity.MEDIUM, "192.168.1.57") in summary
    assert ("Host Blocked by firewall-drop Active Response", Severity.HIGH, None) in summary
    assert all(f.key != "sshd: authentication failed." for f in found)  # level 5
    logon = next(f for f in found if f.key == "Multiple Windows logon failures.")
    assert "attack.credential-access" in logon.tags
    assert "attack.t1110" in logon.tags
    lower = UtmVerdict(BehaviourPolicy(overrides={"t1": {"utm_virus": {"wazuh_min_level": 3}}}))
    assert any(f.key == "sshd: authentication failed." for f in run(lower, golden("wazuh", "alerts.json")))


def test_defender_alerts_malware_vs_other_and_false_positives_skipped() -> None:
    found = run(UtmVerdict(), golden("mde", "alerts.json"))
    summary = {(f.detector, f.key, f.severity, f.host) for f in found}
    assert ("utm_virus", "HackTool:Win32/Mimikatz", Severity.HIGH, "pc-sales01.corp.example.jp") in summary
    assert ("utm_virus", "Virus:DOS/EICAR_Test_File", Severity.LOW, "pc-sales01.corp.example.jp") in summary
    assert ("ids_alert", "Connection to a known malicious IP", Severity.MEDIUM, "pc-acct02") in summary
    assert all(f.key != "Suspicious PowerShell command line" for f in found)  # informational, false positive


def test_snapshot_restore_round_trip_keeps_the_aggregation() -> None:
    first = UtmVerdict()
    run(first, [virus("blocked")])
    state = json.loads(json.dumps(first.snapshot()))
    second = UtmVerdict()
    second.restore(state)
    assert second.snapshot() == first.snapshot()
    assert run(second, [virus("blocked", 10)]) == []
    assert len(run(second, [virus("passed", 11)])) == 1
    for junk in ({}, {"version": 1, "seen": {"t": {"k": "x"}}}, {"version": 1, "seen": 4}, {"version": None}):
        fresh = UtmVerdict()
        fresh.restore(junk)
        assert fresh.snapshot() == {"version": 1, "seen": {}}


def test_state_is_bounded_under_a_flood_of_signatures() -> None:
    detector = UtmVerdict()
    run(detector, [virus("blocked", 0, name=f"W32/Gen.{i}!tr") for i in range(mod.MAX_KEYS + 500)])
    assert len(detector.snapshot()["seen"]["t1"]) == mod.MAX_KEYS


@pytest.mark.parametrize(
    "value",
    [None, 7, ["a", 1], "x" * 100_000, "\x00", "ウイルス", "²", "٣"],  # "²".isdigit(), int("²") fails
)
def test_hostile_values_never_raise(value: object) -> None:
    detector = UtmVerdict()
    run(detector, [virus("blocked", name=value), virus(value, host=value)])  # type: ignore[arg-type]
    for dataset in mod.DATASETS:
        fields = {
            "event.severity": value,
            "log.level": value,
            "rule.name": value,
            "tags": value,
            "host.name": value,
        }
        run(detector, [Event(T0, "t1", dataset, fields)])  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["fortigate", "zeek"])
def test_a_benign_simulated_day_raises_nothing_medium_or_higher(fmt: str) -> None:
    events, _ = sim_events(fmt, (), 3, 24, 30)
    found = run(UtmVerdict(), list(events))
    if fmt == "fortigate":
        assert found  # the everyday blocked viruses and IPS drops are reported, low
    assert [f for f in found if f.severity.rank >= Severity.MEDIUM.rank] == []
