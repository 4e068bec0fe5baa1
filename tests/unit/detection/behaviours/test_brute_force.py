"""Brute-force logons: failure bursts (Windows 4625, SSH, FortiGate SSL-VPN) and a success after them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.unit.detection.behaviours._sim_parse import sim_events

from mimamori.detection.behaviours.brute_force import MAX_KEYS, BruteForceBehaviour
from mimamori.domain import Event, Finding, RawRecord, Severity
from mimamori.parsers import PARSERS

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
GOLDEN = Path(__file__).resolve().parents[3] / "data/parsers/evtx/security.json"


def real_4625() -> dict[str, Any]:
    """The real 4625 record of the EVTX golden file (CA_4624_4625_LogonType2_LogonProc_chrome.evtx)."""
    records = json.loads(GOLDEN.read_text())
    (fields,) = [r["fields"] for r in records if r["fields"].get("event.code") == "4625"]
    return dict(fields)


def windows(at: float, code: str, ip: str = "192.168.1.60", user: str = "administrator") -> Event:
    fields = real_4625()
    fields.update({"source.ip": ip, "user.name": user, "host.name": "FS01", "event.code": code})
    fields["event.outcome"] = "failure" if code == "4625" else "success"
    fields["event.action"] = "logon-failed" if code == "4625" else "logged-in"
    return Event(T0 + timedelta(seconds=at), "t1", "windows.security", fields)


def run(behaviour: BruteForceBehaviour, events: list[Event]) -> list[Finding]:
    return [
        f
        for e in sorted(events, key=lambda e: e.timestamp)
        if behaviour.accepts(e)
        for f in behaviour.observe(e)
    ]


def test_failure_burst_then_success_is_high() -> None:
    events = [windows(i * 5.0, "4625", user=f"user{i % 3}") for i in range(30)] + [windows(200.0, "4624")]
    findings = run(BruteForceBehaviour(), events)
    assert [(f.key, f.severity) for f in findings] == [
        ("brute_force:failures", Severity.MEDIUM),
        ("brute_force:success", Severity.HIGH),
    ]
    assert findings[0].evidence["failures_in_window"] == 10
    assert findings[0].source_ip == "192.168.1.60"
    assert "attack.credential-access" in findings[0].tags


def test_a_few_typos_and_a_success_without_burst_are_quiet() -> None:
    events = [windows(i * 3600.0, "4625") for i in range(24)] + [
        windows(i * 3600.0 + 5, "4624") for i in range(24)
    ]
    # Monday morning: 50 people each mistype their own password once.
    events += [windows(i * 1.0, "4625", ip=f"192.168.1.{i + 1}", user=f"user{i}") for i in range(50)]
    assert run(BruteForceBehaviour(), events) == []


def test_ssh_and_vpn_failures_from_the_internet_are_low() -> None:
    ssh = [Event(T0 + timedelta(seconds=i), "t1", "zeek.ssh", {"source.ip": "198.51.100.7", "destination.ip": "192.168.1.5",
           "event.outcome": "failure", "zeek.ssh.auth_attempts": 3}) for i in range(4)]  # fmt: skip
    line = (b'date=2026-11-26 time=10:00:00 devname="FGT60F-YAMADA" devid="FGT60FTK21000001" logid="0101039426" type="event"'
            b' subtype="vpn" level="alert" vd="root" logdesc="SSL VPN login fail" action="ssl-login-fail" tunneltype="ssl-web"'
            b' remip=203.0.113.9 user="yamada" reason="sslvpn_login_permission_denied" msg="SSL user failed to logged in"')  # fmt: skip
    vpn = PARSERS["fortigate"](RawRecord("t1", "s1", "fortigate", line, T0))
    assert vpn is not None
    vpn_burst = [Event(T0 + timedelta(seconds=i), "t1", vpn.dataset, vpn.fields) for i in range(12)]
    findings = run(BruteForceBehaviour(), ssh + vpn_burst)
    assert sorted((f.evidence["source"], f.severity) for f in findings) == [
        ("198.51.100.7", Severity.LOW),
        ("203.0.113.9", Severity.LOW),
    ]
    assert all(f.device_ip is None for f in findings)


def test_other_windows_events_with_an_outcome_are_not_logons() -> None:
    burst = [windows(i * 5.0, "4625") for i in range(12)]
    logoff = windows(100.0, "4634")  # a logoff (audit success) is not a successful logon
    findings = run(BruteForceBehaviour(), [*burst, logoff])
    assert [f.key for f in findings] == ["brute_force:failures"]


def test_unknown_outcome_is_not_judged() -> None:
    events = [Event(T0 + timedelta(seconds=i), "t1", "zeek.ssh", {"source.ip": "10.0.0.9", "destination.ip": "10.0.0.5",
              "zeek.ssh.auth_attempts": 0}) for i in range(100)]  # fmt: skip
    assert run(BruteForceBehaviour(), events) == []


def test_snapshot_restore_bounds_and_hostile_values() -> None:
    first = BruteForceBehaviour()
    assert run(first, [windows(i, "4625") for i in range(9)]) == []
    second = BruteForceBehaviour()
    second.restore(json.loads(json.dumps(first.snapshot())))
    assert len(run(second, [windows(9, "4625"), windows(30, "4624")])) == 2
    junks: tuple[Any, ...] = (
        {"version": 1, "tenants": {"t1": [["k", ["x"]]]}},
        {"version": 1},
        {"tenants": {}},
    )
    for junk in junks:
        BruteForceBehaviour().restore(junk)
    flood = BruteForceBehaviour()
    run(
        flood,
        [
            windows(i * 0.01, "4625", ip=f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
            for i in range(MAX_KEYS + 10)
        ],
    )
    assert len(flood.tenants.get("t1").pairs) == MAX_KEYS
    hostile: dict[str, Any] = {"event.category": ["authentication"], "event.outcome": "failure", "source.ip": ["x"], "user.name": "u" * 100_000,
               "zeek.ssh.auth_attempts": 10**12, "host.name": 5}  # fmt: skip
    assert list(flood.observe(Event(T0, "t1", "windows.security", hostile))) == []


def test_benign_simulation_day_has_no_alert() -> None:
    events, _ = sim_events("fortigate", (), 3, 24)
    assert run(BruteForceBehaviour(), list(events)) == []


def test_one_account_guessed_from_many_addresses_then_success() -> None:
    botnet = [windows(i * 2.0, "4625", ip=f"198.51.100.{i + 1}", user="Yamada") for i in range(15)]
    login = windows(600.0, "4624", ip="203.0.113.50", user="yamada")  # the attacker's own address
    findings = run(BruteForceBehaviour(), [*botnet, login])
    assert [(f.key, f.severity) for f in findings] == [
        ("brute_force:failures", Severity.LOW),
        ("brute_force:success", Severity.HIGH),
    ]
    assert findings[0].evidence["distinct_others"] == 10  # sources seen when the threshold was crossed


def test_openssh_syslog_lines_are_read() -> None:
    # Message shapes from the Wazuh ruleset tests (sshd.ini), through the real syslog parser.
    lines = [
        f"<38>Jul  3 21:44:{i:02d} vmi189193 sshd[26279]: Failed password for invalid user sammy from "
        f"82.202.219.155 port {51676 + i} ssh2"
        for i in range(12)
    ]
    lines.append(
        "<38>Jul  3 21:50:00 vmi189193 sshd[26300]: Accepted password for sammy from 82.202.219.155 port 1 ssh2"
    )
    lines.append("<38>Jul  3 21:50:01 vmi189193 sshd[26300]: Invalid user admin from 212.64.151.233")
    events = []
    for line in lines:
        event = PARSERS["syslog"](RawRecord("t1", "s1", "syslog", line.encode(), T0))
        assert event is not None
        events.append(event)
    findings = run(BruteForceBehaviour(), events)
    assert [(f.key, f.severity, f.host, f.evidence["user.name"]) for f in findings] == [
        ("brute_force:failures", Severity.LOW, "vmi189193", "sammy"),
        ("brute_force:success", Severity.HIGH, "vmi189193", "sammy"),
    ]
