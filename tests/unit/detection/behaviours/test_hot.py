"""The behaviours' C hot paths (``parsers/_speedups_hot.c``) against their Python ``see``.

The C loop calls a behaviour's hot path instead of ``see`` where it offers one; it must leave the same
state and give the same findings as the Python loop, which never uses them. Random streams over few
tenants, devices and destinations reach every branch: the learning period, MAC aliases, devices
forgotten after ``forget`` seconds, new hours, destinations evicted from a host's hour, antivirus
traffic, transfers past the threshold, operating systems changing and end-of-life ones told again after
their cool-down, state restored from a snapshot (numbers back as ints)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mimamori.detection import behaviours as runner_module
from mimamori.detection.behaviours import BehaviourDetector, BehaviourPolicy
from mimamori.detection.behaviours import large_transfer as large_transfer_module
from mimamori.detection.behaviours.base import Behaviour
from mimamori.detection.behaviours.beacon import BeaconBehaviour
from mimamori.detection.behaviours.dns_anomaly import DnsAnomaly
from mimamori.detection.behaviours.eol_os import EolOsBehaviour
from mimamori.detection.behaviours.large_transfer import LargeTransfer
from mimamori.detection.behaviours.new_device import NewDeviceBehaviour
from mimamori.detection.behaviours.no_antivirus import NoAntivirusBehaviour
from mimamori.detection.behaviours.risky_download import RiskyDownload
from mimamori.detection.behaviours.scan import ScanBehaviour
from mimamori.domain import Event, Finding
from mimamori.parsers import _native

pytestmark = pytest.mark.skipif(runner_module._views_c is None, reason="the C speedups are not built")
T0 = datetime(2026, 11, 26, 9, tzinfo=UTC)
# LAN hosts, an Internet one (inbound sessions) and the LAN's gateway (a session to itself)
HOSTS = [
    ("192.168.1.10", "00:1b:63:aa:bb:01"),
    ("192.168.1.11", None),
    ("10.0.0.7", "00:1b:63:aa:bb:07"),
    ("203.0.113.99", None),
    ("192.168.1.1", None),
]
DESTINATIONS = [
    "203.0.113.5",
    "198.51.100.7",
    "192.0.2.9",
    "192.168.1.1",
    "8.8.8.8",
    "192.168.1.11",
    "224.0.0.251",
]
# DNS names: repeated ones, random-looking ones (DGA), tunnels' encoded subdomains, local and odd ones
DNS_NAMES = [
    "www.example.jp",
    "mail.example.jp",
    "qekynuq.com",
    "vopyret.com",
    "gacyryw.com",
    "aGVsbG8gd29ybGQgdGhpcyBpcyBkYXRh.t.evil.example",
    "bXkgc2VjcmV0IGZpbGUgY29udGVudHMh.t.evil.example",
    "x" * 45 + ".t.evil.example",
    "printer.local",
    "d1234.cloudfront.net",
    "WWW.Example.JP.",
    "",
    5,
]
# ordinary, remote-access (scan) and infrastructure (beacon) ports, and junk
PORTS = [443, 443, 80, 25, 3389, 22, 445, 53, 123, "123", None]
DATASETS = ["fortigate.traffic", "zeek.conn", "fortigate.utm.virus", "windows.sysmon", "zeek.dns"]
# Steps between events: seconds (a beacon's check-ins), an hour, past beacon's MAX_PERIOD and new_device's
# forget (90 days), and back in time.
STEPS = [0, 1, 30, 30, 31, 600, 3600, 4000, 11_000, 91 * 86400, -120]
# Per-tenant thresholds small enough for a random stream to pass them.
POLICY = BehaviourPolicy(
    overrides={
        "t1": {
            "large_transfer": {"learn_hours": 1, "floor_bytes": 5_000},
            "no_antivirus": {"observation_seconds": 60, "min_events": 3},
            "new_device": {"learning_seconds": 60, "learning_quiet_seconds": 60},
            "eol_os": {"cooldown_seconds": 600},
            "dns_anomaly": {
                "dga_min_names": 2,
                "nx_min_names": 2,
                "tunnel_min_queries": 2,
                "tunnel_distinct": 3,
            },
            "risky_download": {"rare_hosts": 1},
            "scan": {
                "sweep_min_hosts": 2,
                "portscan_min_ports": 2,
                "lateral_min_hosts": 2,
                "inbound_min_attempts": 2,
            },
            "beacon": {
                "min_connections": 4,
                "min_span_seconds": 60,
                "cooldown_seconds": 600,
                "rare_max_hosts": 1,
            },
        }
    }
)


def _event(draw: Any, at: datetime) -> Event:
    ip, mac = draw(st.sampled_from(HOSTS))
    fields: dict[str, Any] = {
        "source.ip": ip,
        "destination.ip": draw(st.sampled_from(DESTINATIONS)),
        "destination.port": draw(st.sampled_from(PORTS)),
        "source.bytes": draw(st.sampled_from([0, 10, 4_000, 900_000, 2**50, -5, "12"])),
    }
    if mac is not None and draw(st.booleans()):
        fields["source.mac"] = mac
    if draw(st.booleans()):
        fields["host.os.name"] = draw(st.sampled_from(["Windows", "Windows", "iOS", 7]))
        fields["host.os.version"] = draw(st.sampled_from(["XP", "11", "8.1", None, 5, "x" * 70]))
    if draw(st.integers(0, 3)) == 0:
        fields["user_agent.original"] = draw(
            st.sampled_from(["Mozilla/5.0 (Windows NT 5.1)", "Mozilla/5.0 (iPhone; CPU iPhone OS 12_0)", 3])
        )
    if draw(st.integers(0, 9)) == 0:
        fields["url.domain"] = "update.eset.com"
    if draw(st.integers(0, 2)) == 0:  # a DNS look-up (dns_anomaly, risky_download)
        fields["dns.question.name"] = draw(st.sampled_from(DNS_NAMES))
        if draw(st.booleans()):
            fields["dns.response_code"] = draw(st.sampled_from(["NOERROR", "NXDOMAIN", "NXDOMAIN", 3]))
        if draw(st.integers(0, 5)) == 0:
            fields["dns.type"] = draw(st.sampled_from(["answer", "query", 1]))
        if draw(st.integers(0, 5)) == 0:
            fields["url.domain"] = "www.example.jp"
    if draw(st.integers(0, 9)) == 0:
        # an antivirus service's name (its answers are evidence), another name (remembered as plain
        # for the hot path), and odd values
        fields["dns.question.name"] = draw(
            st.sampled_from(["update.eset.com", "www.example.jp", "Update.ESET.com.", " - ", "", 5])
        )
        fields["dns.resolved_ip"] = ["192.0.2.9"]
    tenant = draw(st.sampled_from(["t1", "t2"]))
    return Event(at, tenant, draw(st.sampled_from(DATASETS)), fields)


@st.composite
def streams(draw: Any) -> list[list[Event]]:
    at, events = T0, []
    for _ in range(draw(st.integers(1, 80))):
        at += timedelta(seconds=draw(st.sampled_from(STEPS)))
        events.append(_event(draw, at))
    cut = draw(st.integers(1, 40))
    return [events[i : i + cut] for i in range(0, len(events), cut)]


def _behaviours() -> list[Behaviour]:
    return [
        NewDeviceBehaviour(POLICY),
        NoAntivirusBehaviour(POLICY),
        LargeTransfer(POLICY),
        BeaconBehaviour(POLICY),
        EolOsBehaviour(POLICY),
        ScanBehaviour(POLICY),
        DnsAnomaly(POLICY),
        RiskyDownload(POLICY),
    ]


def _run(batches: list[list[Event]], *, c_loop: bool, restore_at: int) -> tuple[list[Finding], str]:
    runner = BehaviourDetector(_behaviours(), POLICY)
    found: list[Finding] = []
    saved = runner_module._views_c
    runner_module._views_c = saved if c_loop else None
    try:
        for number, batch in enumerate(batches):
            if number == restore_at:  # a restart: the state as JSON (floats that are whole come back as ints)
                state = json.loads(json.dumps(runner.snapshot()).replace(".0,", ",").replace(".0]", "]"))
                runner = BehaviourDetector(_behaviours(), POLICY)
                runner.restore(state)
            found.extend(runner.detect(batch))
    finally:
        runner_module._views_c = saved
    assert runner.errors == {}
    return found, json.dumps(runner.snapshot(), sort_keys=True)


@settings(max_examples=150, deadline=None)
@given(batches=streams(), restore_at=st.integers(0, 4), small=st.booleans())
def test_the_c_loop_with_hot_paths_equals_the_python_loop(
    batches: list[list[Event]], restore_at: int, small: bool
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        if small:  # a host's hour keeps two destinations: evictions on most events
            patch.setattr(large_transfer_module, "MAX_DESTINATIONS", 2)
        assert _run(batches, c_loop=True, restore_at=restore_at) == _run(
            batches, c_loop=False, restore_at=restore_at
        )


def test_hot_paths_are_offered_where_see_allows() -> None:
    assert NewDeviceBehaviour().hot("fortigate.utm.virus") is _native.hot_new_device_verdict
    assert NewDeviceBehaviour().hot("fortigate.traffic") is _native.hot_new_device
    assert NoAntivirusBehaviour().hot("windows.defender") is None
    assert NoAntivirusBehaviour().hot("windows.sysmon") is None
    assert NoAntivirusBehaviour().hot("zeek.conn") is _native.hot_no_antivirus
    assert LargeTransfer().hot("zeek.conn") is _native.hot_large_transfer
    assert EolOsBehaviour().hot("zeek.conn") is _native.hot_eol_os
    assert ScanBehaviour().hot("zeek.conn") is _native.hot_scan
    assert BeaconBehaviour().hot("fortigate.traffic") is _native.hot_beacon
    assert DnsAnomaly().hot("zeek.dns") is _native.hot_dns_anomaly
    assert RiskyDownload().hot("fortigate.utm.dns") is _native.hot_risky_download


@pytest.mark.parametrize(
    "hot",
    [
        "hot_new_device",
        "hot_new_device_verdict",
        "hot_no_antivirus",
        "hot_large_transfer",
        "hot_eol_os",
        "hot_scan",
        "hot_beacon",
        "hot_dns_anomaly",
        "hot_risky_download",
    ],
)
def test_a_hot_path_refuses_what_is_not_a_view(hot: str) -> None:
    function = getattr(_native, hot)
    with pytest.raises(TypeError):
        function(NewDeviceBehaviour(), object())
    with pytest.raises(TypeError):
        function(NewDeviceBehaviour())


def test_an_earlier_event_through_a_mac_alias_moves_the_learning_start() -> None:
    """(found by the property test) ``see`` sets ``state.started`` before it resolves an alias."""
    ip, mac = HOSTS[0]
    fields = {"source.ip": ip, "destination.ip": DESTINATIONS[0], "destination.port": 443}
    batches = [
        [Event(T0, "t1", "fortigate.traffic", {**fields, "source.mac": mac})],
        [Event(T0 - timedelta(minutes=2), "t1", "fortigate.traffic", fields)],
    ]
    with_c, python = _run(batches, c_loop=True, restore_at=9), _run(batches, c_loop=False, restore_at=9)
    assert with_c == python
    assert (
        json.loads(python[1])["behaviours"]["new_device"]["tenants"]["t1"]["started"]
        == (T0 - timedelta(minutes=2)).timestamp()
    )


def test_dns_look_ups_in_one_window_take_the_hot_paths_as_see_does() -> None:
    """Names repeated by the LAN's hosts within a window (the common case the DNS hot paths answer),
    with NXDOMAIN answers, random-looking names and tunnels among them: both loops agree."""
    events = []
    names = [
        "www.example.jp",
        "qekynuq.com",
        "aGVsbG8gd29ybGQgdGhpcyBpcyBkYXRh.t.evil.example",
        "a.b.example",
    ]
    for i in range(120):
        fields: dict[str, Any] = {
            "source.ip": HOSTS[i % 3][0],
            "destination.ip": "8.8.8.8",
            "destination.port": 53,
            "dns.question.name": names[(i // 3) % 4] if i % 5 else f"n{i}.{names[i % 4]}",
            "dns.response_code": "NXDOMAIN" if i % 7 == 0 else "NOERROR",
        }
        events.append(Event(T0 + timedelta(seconds=10 * i), "t1" if i % 11 else "t2", "zeek.dns", fields))
    batches = [events[i : i + 25] for i in range(0, len(events), 25)]
    c_found, c_state = _run(batches, c_loop=True, restore_at=99)
    assert (c_found, c_state) == _run(batches, c_loop=False, restore_at=99)
    assert any(f.detector == "dns_anomaly" for f in c_found)
    assert '"nx": ["' in c_state  # NXDOMAIN names counted on the hot paths' events too
