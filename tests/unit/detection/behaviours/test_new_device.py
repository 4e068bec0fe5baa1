"""new_device: the first record of a device the tenant never had, after a learning period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mimamori.detection.behaviours import new_device as mod
from mimamori.detection.behaviours.base import BehaviourPolicy
from mimamori.detection.behaviours.new_device import NewDeviceBehaviour
from mimamori.domain import Event, Finding, Severity

from ._sim_parse import sim_events, truths_for

T0 = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
OFFICE = [  # (ip, mac, name, devtype, os)
    ("192.168.1.10", "00-11-32-C0-FD-5F", "FS01", "NAS", "Linux"),
    ("192.168.1.21", "3C-D9-2B-45-8D-1C", "PC-EIGYO-01", "Windows PC", "Windows"),
    ("192.168.1.102", "B6-51-01-1D-14-D5", "iPhone-02", "iPhone", "iOS"),
]


def traffic(
    at: datetime, ip: str, mac: str | None, name: str, devtype: str = "", os: str = "", **extra: Any
) -> Event:
    fields: dict[str, Any] = {
        "source.ip": ip,
        "destination.ip": "52.98.152.178",
        "destination.port": 443,
        "host.name": name,
    }
    if mac:
        fields["source.mac"] = mac
    if devtype:
        fields["host.type"] = devtype
    if os:
        fields["host.os.name"] = os
    fields.update(extra)
    return Event(
        timestamp=at, tenant_id="t1", dataset=extra.pop("dataset", "fortigate.traffic"), fields=fields
    )


def run(behaviour: NewDeviceBehaviour, events: list[Event]) -> list[Finding]:
    out: list[Finding] = []
    for event in events:
        if behaviour.accepts(event):
            out.extend(behaviour.observe(event))
    return out


def learnt(behaviour: NewDeviceBehaviour, minutes: int = 30) -> datetime:
    """Feed the office for ``minutes`` (the learning period); the time after it."""
    events = [
        traffic(T0 + timedelta(minutes=m), ip, mac, name, devtype, os)
        for m in range(minutes)
        for ip, mac, name, devtype, os in OFFICE
    ]
    assert run(behaviour, events) == []
    return T0 + timedelta(minutes=minutes)


def test_the_office_is_learnt_silently_then_a_new_pc_is_low() -> None:
    behaviour = NewDeviceBehaviour()
    after = learnt(behaviour)
    (found,) = run(
        behaviour, [traffic(after, "192.168.1.40", "00-00-4C-11-22-33", "PC-NEW-01", "Windows PC", "Windows")]
    )
    assert found.severity == Severity.LOW
    assert found.detector == "new_device"
    assert (found.host, found.source_ip, found.device_ip) == ("PC-NEW-01", "192.168.1.40", "192.168.1.40")
    assert found.evidence["vendor"] == "NEC"
    assert found.tags == mod.TAGS
    # The same device again, or under another address, is not new.
    again = [traffic(after + timedelta(minutes=1), "192.168.1.41", "00:00:4c:11:22:33", "PC-NEW-01")]
    assert run(behaviour, again) == []


def test_a_phone_with_a_private_mac_and_an_unknown_vendor_rank_medium() -> None:
    behaviour = NewDeviceBehaviour()
    after = learnt(behaviour)
    (phone,) = run(
        behaviour, [traffic(after, "192.168.1.231", "B2-D7-2B-14-06-FE", "Taro-no-iPhone", "iPhone", "iOS")]
    )
    assert phone.severity == Severity.MEDIUM
    assert phone.evidence["private_mac"] is True
    assert phone.evidence["device_class"] == "phone"
    (odd,) = run(behaviour, [traffic(after, "192.168.1.77", "0C-00-00-AB-CD-EF", "")])  # unassigned OUI
    assert odd.severity == Severity.MEDIUM
    assert odd.evidence["vendor"] == "unknown"


def test_bad_reputation_traffic_of_a_new_device_escalates_once() -> None:
    behaviour = NewDeviceBehaviour()
    after = learnt(behaviour)
    ip, mac = "192.168.1.77", "3C-D9-2B-99-99-99"
    (first,) = run(behaviour, [traffic(after, ip, mac, "NB-GUEST")])
    assert first.severity == Severity.LOW
    ips = Event(
        timestamp=after + timedelta(minutes=5),
        tenant_id="t1",
        dataset="fortigate.utm.ips",
        fields={"source.ip": ip, "source.mac": mac, "destination.ip": "198.51.100.23"},
    )
    (escalated,) = run(behaviour, [ips])
    assert escalated.severity == Severity.HIGH
    assert escalated.key.endswith(":verdict")
    assert run(behaviour, [ips]) == []  # once
    # An old, known device with the same kind of verdict is not a new device.
    known = Event(
        timestamp=after,
        tenant_id="t1",
        dataset="fortigate.utm.ips",
        fields={"source.ip": "192.168.1.21", "source.mac": OFFICE[1][1], "destination.ip": "198.51.100.23"},
    )
    assert run(behaviour, [known]) == []


def test_a_device_known_by_address_keeps_its_identity_when_a_log_gives_its_mac() -> None:
    behaviour = NewDeviceBehaviour()
    events = [traffic(T0 + timedelta(minutes=m), "192.168.1.50", None, "PC-50") for m in range(30)]
    assert run(behaviour, events) == []
    later = T0 + timedelta(hours=2)
    assert run(behaviour, [traffic(later, "192.168.1.50", "3C-D9-2B-00-00-50", "PC-50")]) == []
    assert run(behaviour, [traffic(later, "192.168.1.50", None, "PC-50")]) == []


def test_learning_lasts_until_devices_stop_appearing_and_is_tunable() -> None:
    behaviour = NewDeviceBehaviour()
    # A new device every 5 minutes for 3 hours: still learning (no 10 quiet minutes) ...
    events = [
        traffic(T0 + timedelta(minutes=5 * i), f"192.168.1.{i + 2}", None, f"PC-{i}") for i in range(36)
    ]
    assert run(behaviour, events) == []
    # ... until the day's cap.
    late = T0 + timedelta(seconds=mod.LEARNING_MAX + 1)
    assert len(run(behaviour, [traffic(late, "192.168.1.200", None, "PC-LATE")])) == 1
    quick = NewDeviceBehaviour(
        BehaviourPolicy(
            overrides={"t1": {"new_device": {"learning_seconds": 0.0, "learning_quiet_seconds": 0.0}}}
        )
    )
    assert len(run(quick, [traffic(T0, "192.168.1.9", None, "PC-9")])) == 1


def test_a_device_unseen_for_months_is_new_again() -> None:
    behaviour = NewDeviceBehaviour()
    after = learnt(behaviour)
    back = after + timedelta(seconds=mod.FORGET_AFTER + 3600)
    found = run(behaviour, [traffic(back, *OFFICE[1][:3])])
    assert [f.host for f in found] == ["PC-EIGYO-01"]


def test_snapshot_restore_round_trip() -> None:
    behaviour = NewDeviceBehaviour()
    after = learnt(behaviour)
    restored = NewDeviceBehaviour()
    restored.restore(behaviour.snapshot())
    assert restored.snapshot() == behaviour.snapshot()
    assert run(restored, [traffic(after, *OFFICE[0][:3])]) == []  # still known
    assert len(run(restored, [traffic(after, "192.168.1.99", "3C-D9-2B-01-02-03", "PC-99")])) == 1
    junks: list[Any] = [
        {},
        {"version": 1, "tenants": {"t1": {"known": 5}}},
        {"version": 2},
        {"tenants": []},
        [],
    ]
    for junk in junks:
        fresh = NewDeviceBehaviour()
        fresh.restore(junk)
        assert fresh.snapshot()["tenants"] == {}


def test_state_is_bounded_under_a_flood_of_devices() -> None:
    behaviour = NewDeviceBehaviour()
    after = learnt(behaviour)
    flood = [
        traffic(after + timedelta(milliseconds=i), f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", None, "")
        for i in range(mod.MAX_DEVICES + 500)
    ]
    found = run(behaviour, flood)
    assert len(found) == mod.MAX_DEVICES + 500  # each is new (LOW) ...
    assert {f.severity for f in found} == {Severity.LOW}
    state = behaviour.snapshot()["tenants"]["t1"]
    assert len(state["known"]) == mod.MAX_DEVICES  # ... but memory stays bounded
    assert len(state["probation"]) <= mod.MAX_PROBATION


@pytest.mark.parametrize(
    "value", [None, 5, 2.5, True, [], ["192.168.1.5"], {"a": 1}, "x" * 100_000, "192.168.1.5\n"]
)
def test_hostile_values_never_raise(value: object) -> None:
    behaviour = NewDeviceBehaviour(
        BehaviourPolicy(
            overrides={"t1": {"new_device": {"learning_seconds": 0.0, "learning_quiet_seconds": 0.0}}}
        )
    )
    for name in ("source.ip", "source.mac", "host.name", "host.type", "host.os.name", "host.ip", "host.mac"):
        for dataset in ("fortigate.traffic", "zeek.dhcp", "fortigate.utm.ips"):
            fields: dict[str, Any] = {"source.ip": "192.168.1.5", name: value}
            event = Event(timestamp=T0, tenant_id="t1", dataset=dataset, fields=fields)
            if behaviour.accepts(event):
                list(behaviour.observe(event))


def test_the_byod_iphone_scenario_fires_on_its_first_record() -> None:
    events, truths = sim_events("fortigate", ("byod-iphone",), 2, 6)
    (truth,) = truths_for(truths, "new_device")
    behaviour = NewDeviceBehaviour()
    found = [f for f in run(behaviour, list(events)) if f.severity.rank >= Severity.MEDIUM.rank]
    assert [(f.tenant_id, f.host, f.source_ip) for f in found] == [
        (f"t{truth.tenant_index}", "Taro-no-iPhone", truth.host_ip)
    ]
    assert found[0].timestamp == truth.first_time
    assert found[0].severity == Severity.MEDIUM


@pytest.mark.parametrize("fmt", ["fortigate", "zeek"])
def test_a_benign_simulated_day_raises_nothing_medium_or_higher(fmt: str) -> None:
    events, _ = sim_events(fmt, (), 3, 24, 30)
    found = run(NewDeviceBehaviour(), list(events))
    assert [f for f in found if f.severity.rank >= Severity.MEDIUM.rank] == []


def test_escalation_through_the_runner_and_its_hot_paths() -> None:
    """The same escalation when the runner (the C loop and its verdict-dataset hot path, where built)
    takes the events: a device on probation goes to ``see``, a known one is answered at once."""
    from mimamori.detection.behaviours import BehaviourDetector

    behaviour = NewDeviceBehaviour()
    runner = BehaviourDetector([behaviour])
    after = T0 + timedelta(minutes=30)
    office = [
        traffic(T0 + timedelta(minutes=m), ip, mac, name, devtype, os)
        for m in range(30)
        for ip, mac, name, devtype, os in OFFICE
    ]
    assert list(runner.detect(office)) == []
    ip, mac = "192.168.1.77", "3C-D9-2B-99-99-99"
    (first,) = runner.detect([traffic(after, ip, mac, "NB-GUEST")])
    assert first.severity == Severity.LOW

    def verdict(address: str, device: str, minutes: int) -> Event:
        fields = {"source.ip": address, "source.mac": device, "destination.ip": "198.51.100.23"}
        return Event(after + timedelta(minutes=minutes), "t1", "fortigate.utm.ips", fields)

    (escalated,) = runner.detect([verdict(ip, mac, 5)])
    assert escalated.severity == Severity.HIGH
    assert list(runner.detect([verdict(ip, mac, 6)])) == []  # once
    old_ip, old_mac = OFFICE[0][0], OFFICE[0][1]
    assert list(runner.detect([verdict(old_ip, old_mac, 7)])) == []  # a known device: not new
    assert runner.errors == {}
