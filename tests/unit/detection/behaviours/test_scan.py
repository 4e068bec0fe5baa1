"""Scans and lateral movement inside the LAN; inbound Internet scans summarised at low severity."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.unit.detection.behaviours._sim_parse import sim_events

from mimamori.detection.behaviours.base import BehaviourPolicy
from mimamori.detection.behaviours.scan import MAX_SOURCES, ScanBehaviour
from mimamori.domain import Event, Finding, Severity

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
CAPTURE = (
    Path(__file__).resolve().parents[5]
    / "shared/data/stratosphere-zeek/002-zeek-scenario-port-scanning/conn.log"
)


def conn(at: float, src: str, dst: str, port: object, outcome: str = "success", tenant: str = "t1") -> Event:
    fields: dict[str, Any] = {
        "source.ip": src,
        "destination.ip": dst,
        "destination.port": port,
        "event.outcome": outcome,
    }
    return Event(T0 + timedelta(seconds=at), tenant, "zeek.conn", fields)


def run(behaviour: ScanBehaviour, events: list[Event]) -> list[Finding]:
    return [
        f
        for e in sorted(events, key=lambda e: e.timestamp)
        if behaviour.accepts(e)
        for f in behaviour.observe(e)
    ]


def test_host_sweep_port_scan_and_smb_fan_out() -> None:
    sweep = [conn(i * 0.1, "192.168.1.50", f"192.168.1.{i + 1}", 80) for i in range(60)]
    ports = [conn(10 + i * 0.01, "192.168.1.51", "192.168.1.10", i + 1) for i in range(200)]
    smb = [conn(20 + i, "192.168.1.52", f"192.168.2.{i + 1}", 445) for i in range(12)]
    kinds = {(f.source_ip, f.evidence["kind"], f.severity) for f in run(ScanBehaviour(), sweep + ports + smb)}
    assert kinds == {
        ("192.168.1.50", "sweep", Severity.MEDIUM),
        ("192.168.1.51", "portscan", Severity.MEDIUM),
        ("192.168.1.52", "lateral", Severity.HIGH),
    }


def test_busy_file_server_clients_and_broadcasts_are_not_scans() -> None:
    events = [conn(i, f"192.168.1.{20 + i % 10}", "192.168.1.5", 445) for i in range(500)]  # 10 PCs → FS01
    events += [conn(i, "192.168.1.20", "192.168.1.255", 137) for i in range(100)]
    events += [conn(i, "192.168.1.20", "224.0.0.251", 5353) for i in range(100)]
    events += [conn(i, "192.168.1.21", f"203.0.113.{i % 200 + 1}", 443) for i in range(300)]  # browsing
    events += [conn(i * 60.0, "192.168.1.22", f"192.168.1.{i % 8 + 1}", 445) for i in range(100)]  # slow
    assert run(ScanBehaviour(), events) == []


def test_exempt_source_and_threshold_override() -> None:
    sweep = [conn(i * 0.1, "192.168.1.50", f"192.168.1.{i + 1}", 161) for i in range(60)]
    assert (
        run(
            ScanBehaviour(BehaviourPolicy(overrides={"t1": {"scan": {"exempt_sources": ["192.168.1.50"]}}})),
            sweep,
        )
        == []
    )
    policy = BehaviourPolicy(overrides={"t1": {"scan": {"sweep_min_hosts": 100}}})
    assert run(ScanBehaviour(policy), sweep) == []


def test_inbound_scans_make_one_low_summary_per_window() -> None:
    events = [
        conn(i * 10.0, f"198.18.{i % 200}.{i % 250 + 1}", "100.64.0.2", 22, "failure") for i in range(500)
    ]
    findings = run(ScanBehaviour(), events)
    assert [(f.severity, f.evidence["kind"], f.device_ip) for f in findings] == [
        (Severity.LOW, "inbound", None)
    ]


def test_snapshot_restore_bounds_and_hostile_values() -> None:
    first = ScanBehaviour()
    sweep = [conn(i * 0.1, "192.168.1.50", f"192.168.1.{i + 1}", 80) for i in range(30)]
    assert run(first, sweep[:15]) == []
    second = ScanBehaviour()
    second.restore(json.loads(json.dumps(first.snapshot())))
    assert len(run(second, sweep[15:])) == 1
    junks: tuple[Any, ...] = (
        {"version": 1, "tenants": {"t1": {"sources": [["x", [1]]]}}},
        {"version": 1, "tenants": 3},
        [],
    )
    for junk in junks:
        ScanBehaviour().restore(junk)
    flood = ScanBehaviour()
    run(
        flood,
        [
            conn(i * 0.001, f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", "10.0.0.1", 80)
            for i in range(MAX_SOURCES + 50)
        ],
    )
    assert len(flood.tenants.get("t1").sources) == MAX_SOURCES
    hostile: tuple[dict[str, Any], ...] = (
        {"source.ip": "192.168.1.1", "destination.ip": {"a": 1}},
        {"source.ip": "1" * 9999, "destination.ip": "::1"},
    )
    for fields in hostile:
        assert list(flood.observe(Event(T0, "t1", "zeek.conn", fields))) == []


def test_benign_simulation_day_has_only_low_summaries() -> None:
    events, _ = sim_events("fortigate", (), 3, 24)
    findings = run(ScanBehaviour(), list(events))
    assert {(f.severity, f.key) for f in findings} <= {(Severity.LOW, "scan:inbound")}
    assert len(findings) <= 3  # one summary per tenant and day


@pytest.mark.skipif(not CAPTURE.is_file(), reason="stratosphere capture 002 not present")
def test_stratosphere_nmap_capture_flags_only_the_scanner() -> None:
    from bench.detection_quality import SCENARIOS, evaluate

    (scenario,) = [s for s in SCENARIOS if s.name == "002-port-scanning"]
    result = evaluate(scenario, CAPTURE.parents[1])
    assert result["flagged"] == ["172.16.1.11"]
    assert result["precision"] == 1.0
    assert result["recall"] == 1.0
