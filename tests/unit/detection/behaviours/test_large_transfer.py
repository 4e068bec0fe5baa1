"""large_transfer: hourly outbound volume against the host's own exponentially weighted baseline."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.unit.detection.behaviours._sim_parse import sim_events

from mimamori.detection.behaviours import large_transfer as mod
from mimamori.detection.behaviours.base import BehaviourPolicy
from mimamori.detection.behaviours.large_transfer import LargeTransfer
from mimamori.domain import Event, Finding, Severity

T0 = datetime(2026, 11, 20, 0, tzinfo=UTC)
PC = "192.168.10.21"
MB = 1_000_000


def conn(
    sent: object, hour: float, *, src: object = PC, dst: str = "203.0.113.9", tenant: str = "t1"
) -> Event:
    fields = {"source.ip": src, "destination.ip": dst, "source.bytes": sent, "destination.port": 443}
    return Event(T0 + timedelta(hours=hour), tenant, "zeek.conn", fields)  # type: ignore[arg-type]


def baseline(hours: int = 30, per_hour: int = 5 * MB, dst: str = "52.98.1.1") -> list[Event]:
    """``hours`` ordinary hours: the volume split over four sessions to a usual destination."""
    return [
        conn(per_hour // 4 + (h % 3) * 100_000, h + q / 4, dst=dst) for h in range(hours) for q in range(4)
    ]


def run(detector: LargeTransfer, events: list[Event]) -> list[Finding]:
    return [f for e in events if detector.accepts(e) for f in detector.observe(e)]


def test_a_large_upload_to_a_new_destination_fires_medium_once() -> None:
    detector = LargeTransfer()
    assert run(detector, baseline()) == []
    burst = [conn(100 * MB, 30.1 + i / 100, dst="198.51.100.5") for i in range(6)]
    found = run(detector, burst)
    assert len(found) == 1
    f = found[0]
    assert (f.detector, f.key, f.severity) == ("large_transfer", "hourly_volume", Severity.MEDIUM)
    assert f.source_ip == PC
    assert f.destination_ip == "198.51.100.5"
    assert f.evidence["destination_regular"] is False
    assert f.evidence["baseline_hours"] == 30
    assert "attack.exfiltration" in f.tags
    # more in the same episode: quiet
    assert run(detector, [conn(500 * MB, 31.5, dst="198.51.100.5")]) == []


def test_a_huge_upload_is_high() -> None:
    detector = LargeTransfer()
    run(detector, baseline())
    found = run(detector, [conn(1200 * MB, 30.2, dst="198.51.100.5")])
    assert [f.severity for f in found] == [Severity.HIGH]


def test_an_upload_to_a_regularly_used_destination_is_ranked_down() -> None:
    detector = LargeTransfer()
    events = baseline()
    events += [conn(2 * MB, h + 0.9, dst="13.107.1.1") for h in range(0, 30, 6)]  # nightly backup target
    events.sort(key=lambda e: e.timestamp)
    run(detector, events)
    found = run(detector, [conn(900 * MB, 30.3, dst="13.107.1.1")])
    assert [(f.severity, f.evidence["destination_regular"]) for f in found] == [(Severity.LOW, True)]


def test_nothing_fires_while_learning_or_below_the_floor_or_within_the_host_baseline() -> None:
    assert run(LargeTransfer(), [conn(5000 * MB, h) for h in range(5)]) == []  # learning period
    detector = LargeTransfer()
    run(detector, baseline())
    assert run(detector, [conn(150 * MB, 30.5)]) == []  # above k·σ but under the 200 MB floor
    server = LargeTransfer()  # a server that always sends ~1 GB an hour
    busy = [conn(1000 * MB + (h % 5) * 50 * MB, h) for h in range(40)]
    assert run(server, busy) == []
    assert run(server, [conn(1100 * MB, 40.5)]) == []


def test_inbound_and_lan_internal_traffic_is_ignored() -> None:
    detector = LargeTransfer()
    run(detector, baseline())
    assert run(detector, [conn(5000 * MB, 30.2, dst="192.168.10.5")]) == []  # to the NAS
    assert run(detector, [conn(5000 * MB, 30.3, src="198.51.100.5", dst=PC)]) == []  # inbound


def test_tenant_overrides_apply() -> None:
    policy = BehaviourPolicy(
        overrides={"t1": {"large_transfer": {"floor_bytes": 50 * MB, "learn_hours": 10}}}
    )
    detector = LargeTransfer(policy)
    run(detector, baseline(hours=12))
    assert len(run(detector, [conn(80 * MB, 12.5, dst="198.51.100.5")])) == 1
    other = LargeTransfer(policy)
    run(other, [conn(e.fields["source.bytes"], 0, tenant="t2") for e in baseline(hours=12)])
    assert run(other, [conn(80 * MB, 12.5, tenant="t2")]) == []


def test_snapshot_restore_round_trip_keeps_the_baseline() -> None:
    first = LargeTransfer()
    run(first, baseline())
    state = json.loads(json.dumps(first.snapshot()))
    second = LargeTransfer()
    second.restore(state)
    assert second.snapshot() == first.snapshot()
    assert len(run(second, [conn(600 * MB, 30.2, dst="198.51.100.5")])) == 1
    for junk in (
        {},
        {"version": 1, "tenants": {"t": {"h": [1, 2]}}},
        {"version": 1, "tenants": []},
        {"version": "1"},
    ):
        fresh = LargeTransfer()
        fresh.restore(junk)
        assert fresh.snapshot() == {"version": 1, "tenants": {}}


def test_state_is_bounded_under_a_flood() -> None:
    detector = LargeTransfer()
    run(detector, [conn(1000, 0, src=f"10.0.{i // 256 % 256}.{i % 256}") for i in range(3000)])
    assert len(detector.snapshot()["tenants"]["t1"]) == mod.MAX_HOSTS
    run(detector, [conn(1000, 0, dst=f"198.18.{i // 256}.{i % 256}") for i in range(500)])
    assert len(detector.snapshot()["tenants"]["t1"][PC][6]) == mod.MAX_DESTINATIONS


@pytest.mark.parametrize("sent", ["9" * 5000, -5, 1.5e12, True, None, [1], 10**40])
def test_hostile_values_never_raise(sent: object) -> None:
    detector = LargeTransfer()
    run(detector, baseline(hours=2))
    for src in (PC, None, 7, "x" * 10_000):
        run(detector, [conn(sent, 2.5, src=src), conn(sent, 2.6, dst="x" * 100_000)])


@pytest.mark.parametrize("fmt", ["fortigate", "zeek"])
def test_a_benign_simulated_day_raises_nothing_medium_or_higher(fmt: str) -> None:
    events, _ = sim_events(fmt, (), 3, 24, 30)
    # a short learning period so that the day is actually judged
    policy = BehaviourPolicy(overrides={f"t{i}": {"large_transfer": {"learn_hours": 4}} for i in range(3)})
    detector = LargeTransfer(policy)
    assert any(detector.accepts(e) for e in events)
    found = run(detector, list(events))
    assert [f for f in found if f.severity.rank >= Severity.MEDIUM.rank] == []
