"""Merging a batch's facts per device (strongest evidence wins) and the network-map structure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mimamori.inventory import DeviceFacts, OsGuess, summarise
from mimamori.inventory.classify import CONFIDENCE_DEVICE_ID, CONFIDENCE_USER_AGENT
from mimamori.inventory.merge import MAX_SERVICES_PER_BATCH
from mimamori.inventory.netmap import MapDevice, MapService, network_map, subnet_of

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
XP = OsGuess("Windows", "XP", "fortigate.device-id", "Windows XP", CONFIDENCE_DEVICE_ID)
UA7 = OsGuess("Windows", "7", "zeek.http", "Mozilla/5.0 (Windows NT 6.1)", CONFIDENCE_USER_AGENT)


def test_facts_merge_per_device_with_the_strongest_os_evidence() -> None:
    facts = [
        DeviceFacts("t1", T0, ip="192.168.1.33", mac="00:00:4c:4e:4b:ff", os=XP, devtype="Windows PC"),
        DeviceFacts("t1", T0 + timedelta(seconds=5), ip="192.168.1.33", mac="00:00:4c:4e:4b:ff", os=UA7),
        DeviceFacts("t1", T0 - timedelta(seconds=5), ip="192.168.1.33", hostname="PC-SEIZOU-XP"),  # no MAC
        DeviceFacts("t2", T0, ip="192.168.1.33"),  # another tenant's device with the same address
    ]
    one, other = summarise(facts)
    assert (one.tenant_id, one.key, other.tenant_id, other.key) == (
        "t1",
        "mac:00:00:4c:4e:4b:ff",
        "t2",
        "ip:192.168.1.33",
    )
    assert one.os == XP  # the user agent's guess is weaker than the UTM's device identification
    assert one.hostname == "PC-SEIZOU-XP"  # from the log without the MAC, folded in by address
    assert one.device_class == "pc"
    assert (one.first_seen, one.last_seen, one.events) == (
        T0 - timedelta(seconds=5),
        T0 + timedelta(seconds=5),
        3,
    )


def test_services_are_counted_and_bounded_per_device() -> None:
    facts = [
        DeviceFacts(
            "t1", T0 + timedelta(seconds=i), ip="192.168.1.5", destination=f"d{i % 3}.example", port=443
        )
        for i in range(9)
    ]
    facts += [
        DeviceFacts("t1", T0, ip="192.168.1.5", destination=f"x{i}.example", port=80) for i in range(500)
    ]
    (device,) = summarise(facts)
    assert device.services[("d0.example", 443)].count == 3
    assert len(device.services) == MAX_SERVICES_PER_BATCH


def test_network_map_groups_by_subnet_flags_and_ranks_services() -> None:
    seen = T0
    devices = [
        MapDevice(
            "a",
            "192.168.1.10",
            "00:11:32:00:00:01",
            "FS01",
            "Synology",
            False,
            "server",
            "Linux",
            "DSM 7.2",
            True,
            seen,
        ),
        MapDevice(
            "b",
            "192.168.1.33",
            "00:00:4c:4e:4b:ff",
            "PC-SEIZOU-XP",
            "NEC",
            False,
            "pc",
            "Windows",
            "XP",
            True,
            seen,
        ),
        MapDevice(
            "c",
            "192.168.2.231",
            "b2:d7:2b:14:06:fe",
            "Taro-no-iPhone",
            None,
            True,
            "phone",
            "iOS",
            "17.5",
            False,
            seen,
        ),
        MapDevice("d", "192.168.1.99", "00:12:34:56:78:9a", None, None, False, None, None, None, False, None),
        MapDevice("e", None, None, "LAPTOP-X", None, False, "pc", None, None, True, None),
    ]
    services = [
        MapService("b", "203.0.113.66", 8080, 40),
        MapService("a", "outlook.office365.com", 443, 10),
        MapService("b", "outlook.office365.com", 443, 5),
    ]
    result = network_map("t1", devices, services, gateway={"name": "FGT60F", "kind": "utm"}, generated_at=T0)
    json.dumps(result)  # JSON-able
    assert [s["cidr"] for s in result["subnets"]] == ["192.168.1.0/24", "192.168.2.0/24", "unknown"]
    first = result["subnets"][0]["devices"]
    assert [d["id"] for d in first] == ["a", "b", "d"]
    assert first[1]["flags"] == ["eol_os"]
    assert first[1]["services"][0] == {"destination": "203.0.113.66", "port": 8080, "count": 40}
    assert first[2]["flags"] == ["unapproved", "unknown_vendor"]
    assert result["subnets"][1]["devices"][0]["flags"] == ["unapproved", "private_mac"]
    assert result["services"][0] == {"destination": "203.0.113.66", "port": 8080, "count": 40, "devices": 1}
    assert result["services"][1] == {
        "destination": "outlook.office365.com",
        "port": 443,
        "count": 15,
        "devices": 2,
    }
    assert result["summary"] == {
        "devices": 5,
        "unapproved": 2,
        "unknown_vendor": 1,
        "eol_os": 1,
        "private_mac": 1,
    }
    assert result["gateway"] == {"name": "FGT60F", "kind": "utm"}


def test_subnet_of() -> None:
    assert subnet_of("10.1.2.3") == "10.1.2.0/24"
    assert subnet_of("fd00::1") == "fd00::/64"
    assert subnet_of("not an ip") == subnet_of(None) == "unknown"


def test_summarise_events_equals_observing_every_event() -> None:
    """The shortcut for repeated identities gives exactly what observing each event gives."""
    from mimamori.domain import RawRecord
    from mimamori.inventory import observe, summarise_events
    from mimamori.parsers import PARSERS
    from mimamori.sim import generate

    for fmt in ("fortigate", "zeek"):
        run = generate(
            tenants=2, seed=5, scenarios=["byod-iphone"], fmt=fmt, start=T0, duration=timedelta(hours=1)
        )
        parse = PARSERS[fmt]
        events = [parse(RawRecord(f"t{r.tenant_index}", "s", fmt, r.line, r.timestamp)) for r in run.records]
        parsed = [e for e in events if e is not None]
        slow = {(s.tenant_id, s.key): s for s in summarise(f for f in map(observe, parsed) if f is not None)}
        fast = {(s.tenant_id, s.key): s for s in summarise_events(parsed)}
        assert fast.keys() == slow.keys()
        for key, summary in slow.items():
            other = fast[key]
            assert (other.first_seen, other.last_seen, other.events) == (
                summary.first_seen,
                summary.last_seen,
                summary.events,
            )
            assert (other.ip, other.mac, other.hostname, other.vendor, other.os, other.device_class) == (
                summary.ip,
                summary.mac,
                summary.hostname,
                summary.vendor,
                summary.os,
                summary.device_class,
            )
            assert {k: v.count for k, v in other.services.items()} == {
                k: v.count for k, v in summary.services.items()
            }


def test_summarise_events_survives_unhashable_values() -> None:
    from mimamori.domain import Event
    from mimamori.inventory import summarise_events

    events = [
        Event(
            T0,
            "t1",
            "zeek.conn",
            {"source.ip": "192.168.1.5", "host.name": ["a", "b"], "destination.ip": "1.2.3.4"},
        ),
        Event(T0, "t1", "zeek.conn", {"source.ip": "192.168.1.5", "destination.ip": "1.2.3.4"}),
        Event(T0, "t1", "zeek.conn", {"source.ip": "8.8.8.8", "destination.ip": "192.168.1.5"}),
        Event(T0, "t1", "zeek.conn", {"source.ip": "8.8.8.8", "destination.ip": "192.168.1.5"}),
    ]
    (device,) = summarise_events(events)
    assert (device.key, device.events) == ("ip:192.168.1.5", 2)
    assert device.services[("1.2.3.4", 0)].count == 2


def test_the_recorder_accumulates_batches_until_due_and_stays_bounded() -> None:
    from mimamori.domain import Event
    from mimamori.inventory import DeviceRecorder

    def conn(at: datetime, ip: str, dest: str, mac: str | None = None) -> Event:
        fields: dict[str, str | int] = {"source.ip": ip, "destination.ip": dest, "destination.port": 443}
        if mac:
            fields["source.mac"] = mac
        return Event(at, "t1", "zeek.conn", fields)

    recorder = DeviceRecorder(interval=3600.0, max_devices=3)
    recorder.add([conn(T0, "192.168.1.5", "1.1.1.1", "00:00:4c:00:00:05")])
    recorder.add([conn(T0 + timedelta(minutes=1), "192.168.1.6", "1.1.1.1", "00:00:4c:00:00:05")])  # moved
    recorder.add([conn(T0 + timedelta(minutes=2), "192.168.1.7", "2.2.2.2")])
    assert not recorder.due()
    (moved, other) = sorted(recorder.pending.values(), key=lambda s: s.key, reverse=True)
    assert (moved.ip, moved.events, moved.last_seen) == ("192.168.1.6", 2, T0 + timedelta(minutes=1))
    assert moved.services[("1.1.1.1", 443)].count == 2
    recorder.add([conn(T0, f"192.168.2.{i}", "3.3.3.3") for i in range(10)])
    assert len(recorder.pending) == 3
    assert recorder.dropped == 9
    assert recorder.due()  # full
    assert len(recorder.drain()) == 3
    assert recorder.pending == {}
    assert not recorder.due()
    assert other.key == "ip:192.168.1.7"


def test_identities_remembered_across_batches_give_what_observing_afresh_gives() -> None:
    """``summarise_events(batch, known)``: the first event of a device already known from an earlier
    batch is read with ``observe_again``; every batch's summaries equal those without the memory,
    including the per-event verdicts (antivirus, bad reputation) and services."""
    from mimamori.domain import Event, RawRecord
    from mimamori.inventory import observe, summarise_events
    from mimamori.inventory.facts import observe_again
    from mimamori.parsers import PARSERS
    from mimamori.sim import SCENARIOS, generate

    for fmt in ("fortigate", "zeek"):
        run = generate(
            tenants=3, seed=11, scenarios=tuple(SCENARIOS), fmt=fmt, start=T0, duration=timedelta(hours=1)
        )
        parse = PARSERS[fmt]
        records = (RawRecord(f"t{r.tenant_index}", "s", fmt, r.line, r.timestamp) for r in run.records)
        parsed = [e for e in map(parse, records) if e is not None]
        known: dict[tuple[Any, ...], DeviceFacts | None] = {}
        for start in range(0, len(parsed), 97):
            batch = parsed[start : start + 97]
            assert summarise_events(batch, known) == summarise_events(batch)
        assert known, "nothing was remembered"
        hits = 0
        for event in parsed:  # and fact by fact, for every event of a remembered identity
            first = observe(event)
            if first is not None:
                assert observe_again(first, event) == first
                hits += 1
        assert hits
    # A remembered identity's verdicts still come from each event: an IPS hit after clean traffic.
    clean = Event(
        T0, "t1", "fortigate.utm.webfilter", {"source.ip": "192.168.1.9", "destination.ip": "8.8.8.8"}
    )
    risky = Event(
        T0 + timedelta(seconds=1),
        "t1",
        "fortigate.utm.webfilter",
        {
            "source.ip": "192.168.1.9",
            "destination.ip": "9.9.9.9",
            "fortigate.crlevel": "high",
            "event.outcome": "success",
        },
    )
    remembered = observe(clean)
    assert remembered is not None
    again = observe_again(remembered, risky)
    assert again == observe(risky)
    assert (again.bad_reputation, again.destination) == (True, "9.9.9.9")


def test_the_recorder_forgets_remembered_identities_at_each_drain_and_when_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mimamori.domain import Event
    from mimamori.inventory import DeviceRecorder, merge

    def conn(ip: str) -> Event:
        return Event(T0, "t1", "zeek.conn", {"source.ip": ip, "destination.ip": "1.1.1.1"})

    recorder = DeviceRecorder(interval=3600.0)
    recorder.add([conn("192.168.1.5"), conn("192.168.1.6")])
    assert len(recorder.known) == 2
    recorder.drain()
    assert recorder.known == {}  # a changed OUI table reaches every device within one interval
    monkeypatch.setattr(merge, "MAX_KNOWN_IDENTITIES", 3)
    recorder.add([conn(f"192.168.1.{i}") for i in range(3)])
    recorder.add([conn("192.168.1.200")])  # full: forgotten before this batch
    assert len(recorder.known) == 1
    assert len(recorder.pending) == 4
