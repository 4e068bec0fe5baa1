"""Beaconing: periodic connections to a rare external address; popular and infrastructure traffic is not."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.unit.detection.behaviours._sim_parse import sim_events, truths_for

from mimamori.detection.behaviours.base import BehaviourPolicy
from mimamori.detection.behaviours.beacon import MAX_PAIRS, BeaconBehaviour, periodic
from mimamori.domain import Event, Finding, Severity

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def conn(at: float, src: str, dst: str, port: object = 443, tenant: str = "t1") -> Event:
    fields: dict[str, Any] = {
        "source.ip": src,
        "destination.ip": dst,
        "destination.port": port,
        "network.transport": "tcp",
    }
    return Event(T0 + timedelta(seconds=at), tenant, "zeek.conn", fields)


def run(behaviour: BeaconBehaviour, events: list[Event]) -> list[Finding]:
    return [
        f
        for e in sorted(events, key=lambda e: e.timestamp)
        if behaviour.accepts(e)
        for f in behaviour.observe(e)
    ]


def beacon(src: str, dst: str, period: float, count: int, jitter: float = 0.1, seed: int = 1) -> list[Event]:
    rng = random.Random(seed)
    at, out = 0.0, []
    for _ in range(count):
        out.append(conn(at, src, dst, 8080))
        at += period * (1 + rng.uniform(-jitter, jitter))
    return out


def test_jittered_beacon_fires_once_per_episode() -> None:
    findings = run(BeaconBehaviour(), beacon("192.168.1.33", "203.0.113.66", 300, 40))
    assert len(findings) == 1
    found = findings[0]
    assert found.detector == "beacon"
    assert found.severity is Severity.MEDIUM
    assert found.source_ip == "192.168.1.33"
    assert found.destination_ip == "203.0.113.66"
    median = found.evidence["interval_median_s"]
    assert isinstance(median, float)
    assert 270 <= median <= 330
    assert "attack.command-and-control" in found.tags
    assert found.timestamp <= T0 + timedelta(seconds=12 * 330)  # after the 12th check-in


def test_alternating_delays_are_periodic() -> None:
    # NjRAT-like: reconnect after 9 s, then after 14 s, again and again.
    times = [i // 2 * 23.0 + (9.0 if i % 2 else 0.0) for i in range(60)]
    assert periodic([b - a for a, b in itertools.pairwise(times)], 11, 0.2) is not None
    findings = run(BeaconBehaviour(), [conn(t, "192.168.1.115", "41.108.179.197", 1177) for t in times])
    assert len(findings) == 1


def test_random_traffic_is_not_periodic() -> None:
    rng = random.Random(3)
    at, events = 0.0, []
    for _ in range(2000):
        at += rng.expovariate(1 / 40)
        events.append(conn(at, "192.168.1.40", "202.218.4.52"))
    assert run(BeaconBehaviour(), events) == []


def test_popular_destinations_and_infrastructure_ports_are_ignored() -> None:
    events = []
    for host in range(5):  # Windows Update / M365 keep-alives: every PC, every 5 minutes
        events += [conn(i * 300.0 + host, f"192.168.1.{20 + host}", "13.107.4.50") for i in range(30)]
    events += [conn(i * 64.0, "192.168.1.10", "133.243.238.164", 123) for i in range(100)]  # NTP
    events += [conn(i * 60.0, "192.168.1.21", "1.1.1.1", "53") for i in range(100)]  # DNS to the resolver
    events += [conn(i * 60.0, "192.168.1.21", "192.168.1.1", 445) for i in range(100)]  # LAN to LAN
    events += [conn(i * 60.0, "192.168.1.21", "ff02::fb", 5353) for i in range(100)]  # multicast
    assert run(BeaconBehaviour(), events) == []


def test_tenant_override_and_tenants_are_separate() -> None:
    policy = BehaviourPolicy(overrides={"t2": {"beacon": {"min_connections": 30}}})
    events = beacon("192.168.1.33", "203.0.113.66", 300, 20)
    other = [Event(e.timestamp, "t2", e.dataset, e.fields) for e in events]
    findings = run(BeaconBehaviour(policy), events + other)
    assert [f.tenant_id for f in findings] == ["t1"]


def test_snapshot_restore_continues_the_episode() -> None:
    events = beacon("192.168.1.33", "203.0.113.66", 300, 40)
    first = BeaconBehaviour()
    assert run(first, events[:8]) == []
    state = json.loads(json.dumps(first.snapshot()))
    second = BeaconBehaviour()
    second.restore(state)
    assert len(run(second, events[8:])) == 1
    third = BeaconBehaviour()
    third.restore(json.loads(json.dumps(second.snapshot())))
    assert run(third, beacon("192.168.1.33", "203.0.113.66", 300, 40)[20:]) == []  # cooldown survives


def test_restore_ignores_malformed_state() -> None:
    behaviour = BeaconBehaviour()
    for junk in ({}, {"version": 1, "tenants": []}, {"version": 1, "tenants": {"t1": {"pairs": [[1]]}}},
                 {"version": 1, "tenants": {"t1": {"pairs": [["a", [1, 2, "x", [], 0]]], "popularity": 5}}}):  # fmt: skip
        behaviour.restore(junk)
    assert run(behaviour, beacon("192.168.1.33", "203.0.113.66", 300, 13)) != []


def test_state_is_bounded_under_a_flood_of_destinations() -> None:
    behaviour = BeaconBehaviour()
    events = [
        conn(i * 0.01, "192.168.1.5", f"198.18.{i // 250 % 250}.{i % 250 + 1}")
        for i in range(MAX_PAIRS + 500)
    ]
    run(behaviour, events)
    state = behaviour.tenants.get("t1")
    assert len(state.pairs) == MAX_PAIRS
    assert len(json.dumps(behaviour.snapshot())) < 2_000_000


def test_hostile_field_values_do_not_crash() -> None:
    behaviour = BeaconBehaviour()
    hostile: tuple[dict[str, Any], ...] = ({"source.ip": ["x"], "destination.ip": "1.2.3.4"}, {"source.ip": "192.168.1.1", "destination.ip": "x" * 10_000},
                   {"source.ip": "192.168.1.1", "destination.ip": "203.0.113.1", "destination.port": "9" * 50},
                   {"source.ip": "192.168.1.1", "destination.ip": "203.0.113.1", "destination.port": True})  # fmt: skip
    for fields in hostile:
        event = Event(T0, "t1", "zeek.conn", fields)
        assert list(behaviour.observe(event)) == []


def test_benign_simulation_day_has_no_medium_alert() -> None:
    behaviour = BeaconBehaviour()
    events, _ = sim_events("fortigate", (), 3, 24)
    assert [f for f in run(behaviour, list(events)) if f.severity.rank >= Severity.MEDIUM.rank] == []


def test_sim_beacons_fire_on_the_right_hosts() -> None:
    events, truths = sim_events("zeek", ("xp-malware", "c2-allowed"), 3, 4)
    (xp,) = truths_for(truths, "beacon")
    c2 = next(t for t in truths if t.scenario == "c2-allowed")  # its ground truth names the indicator only
    findings = run(BeaconBehaviour(), list(events))
    assert [(f.tenant_id, f.source_ip, f.destination_ip) for f in findings] == [
        (f"t{xp.tenant_index}", xp.host_ip, "203.0.113.66"),
        (f"t{c2.tenant_index}", c2.host_ip, "192.0.2.44"),
    ]
    assert findings[0].timestamp - xp.first_time <= timedelta(minutes=70)  # 12 check-ins ~5 min apart
    assert findings[1].timestamp - c2.first_time <= timedelta(minutes=125)  # 12 check-ins ~10 min apart


def test_a_destination_many_customers_use_is_not_a_beacon() -> None:
    # A one-PC office syncing with a cloud service every 5 minutes: rare in the office, common elsewhere.
    events = []
    for tenant in range(6):
        events += [
            Event(e.timestamp, f"c{tenant}", e.dataset, e.fields)
            for e in beacon("192.168.1.9", "162.125.19.9", 300, 30)
        ]
    assert run(BeaconBehaviour(), events) == []  # six customers' offices use it: a service
    assert len(run(BeaconBehaviour(), [e for e in events if e.tenant_id == "c0"])) == 1  # alone: rare
    policy = BehaviourPolicy(overrides={"c9": {"beacon": {"global_popular_tenants": 0}}})
    known = BeaconBehaviour(policy)
    warm = [
        Event(T0, f"c{t}", "zeek.conn", {"source.ip": "192.168.1.2", "destination.ip": "162.125.19.9"})
        for t in range(5)
    ]
    run(known, warm)
    known.restore(json.loads(json.dumps(known.snapshot())))  # prevalence survives a restart
    office = [
        Event(e.timestamp, "c8", e.dataset, e.fields) for e in beacon("192.168.1.9", "162.125.19.9", 300, 30)
    ]
    assert run(known, office) == []
    audited = [Event(e.timestamp, "c9", e.dataset, e.fields) for e in office]
    assert len(run(known, audited)) == 1  # the override turns the cross-customer test off


def test_snapshot_leaves_out_pairs_silent_for_hours() -> None:
    behaviour = BeaconBehaviour()
    run(behaviour, [conn(0, "192.168.1.5", "203.0.113.7"), conn(5 * 3600.0, "192.168.1.5", "203.0.113.8")])
    pairs = behaviour.snapshot()["tenants"]["t1"]["pairs"]
    assert [key for key, _ in pairs] == ["192.168.1.5>203.0.113.8"]


def test_pairs_with_a_destination_popular_in_the_tenant_are_not_tracked() -> None:
    behaviour = BeaconBehaviour()
    hosts = ["192.168.1.10", "192.168.1.11", "192.168.1.12", "192.168.1.13"]
    run(behaviour, [conn(i, host, "203.0.113.7") for i, host in enumerate(hosts)])
    state = behaviour.tenants.get("t1")
    # the first three hosts made it popular (more than RARE_MAX_HOSTS): the fourth's pair is never made
    assert "192.168.1.13>203.0.113.7" not in state.pairs.data
    assert "192.168.1.10>203.0.113.7" in state.pairs.data
    run(behaviour, [conn(100 + 60 * i, "192.168.1.13", "203.0.113.7") for i in range(30)])
    assert "192.168.1.13>203.0.113.7" not in state.pairs.data
