"""Device facts from single events: FortiGate device identification, Zeek, EVTX, user agents."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mimamori.domain import Event
from mimamori.inventory import DeviceClass, observe
from mimamori.inventory.facts import antivirus_addresses, is_antivirus_name

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
GOLDEN = Path(__file__).parents[2] / "data" / "parsers"

FORTI_IPHONE: dict[str, Any] = {
    "source.ip": "192.168.199.231",
    "host.name": "Taro-no-iPhone",
    "destination.ip": "17.253.85.201",
    "destination.port": 443,
    "host.os.name": "iOS",
    "host.os.version": "16.1",
    "source.mac": "B2-D7-2B-14-06-FE",
    "host.type": "iPhone",
    "host.vendor": "Apple",
}


def event(dataset: str, fields: dict[str, Any]) -> Event:
    return Event(timestamp=T0, tenant_id="t1", dataset=dataset, fields=fields)


def golden(fmt: str, name: str, dataset: str) -> Event:
    data = json.loads((GOLDEN / fmt / name).read_text())
    items = data if isinstance(data, list) else data["events"]
    for item in items:
        if item["dataset"] == dataset:
            return event(dataset, item["fields"])
    raise AssertionError(f"no {dataset} in {name}")


def test_fortigate_device_identification_of_a_private_mac_iphone() -> None:
    facts = observe(event("fortigate.traffic", FORTI_IPHONE))
    assert facts is not None
    assert (facts.ip, facts.mac, facts.hostname) == ("192.168.199.231", "b2:d7:2b:14:06:fe", "Taro-no-iPhone")
    assert facts.private_mac
    assert facts.vendor is None
    assert facts.device_class == DeviceClass.PHONE
    assert facts.os is not None
    assert (facts.os.family, facts.os.version, facts.os.source) == ("iOS", "16.1", "fortigate.device-id")
    assert facts.key == "mac:b2:d7:2b:14:06:fe"
    assert (facts.destination, facts.port) == ("17.253.85.201", 443)


def test_fortigate_vendor_comes_from_the_oui_then_the_utm() -> None:
    fields = {
        **FORTI_IPHONE,
        "source.mac": "00-00-4C-4E-4B-FF",
        "host.type": "Windows PC",
        "host.vendor": "X",
    }
    facts = observe(event("fortigate.traffic", fields))
    assert facts is not None
    assert facts.vendor == "NEC"
    assert facts.device_class == DeviceClass.PC
    unknown = observe(event("fortigate.traffic", {**fields, "source.mac": "02-00-00-00-00-01"}))
    assert unknown is not None
    assert unknown.private_mac
    assert unknown.vendor is None


def test_zeek_dhcp_known_hosts_software_and_ntlm_golden_events() -> None:
    dhcp = observe(golden("zeek", "logs.json", "zeek.dhcp"))
    assert dhcp is not None
    assert (dhcp.ip, dhcp.mac, dhcp.hostname) == ("192.168.1.57", "00:0c:29:ab:cd:ef", "PC-SALES01")
    assert dhcp.vendor is not None
    assert "VMware" in dhcp.vendor
    known = observe(golden("zeek", "logs.json", "zeek.known_hosts"))
    assert known is not None
    assert known.key == "ip:192.168.1.57"
    software = observe(golden("zeek", "real.json", "zeek.software"))
    assert software is not None
    assert software.os is not None
    assert (software.os.family, software.os.version, software.os.source) == ("Windows", "XP", "zeek.software")


def test_user_agent_os_guesses() -> None:
    agents = {
        "Mozilla/5.0 (iPhone; CPU iPhone OS 15_7 like Mac OS X)": ("iOS", "15.7"),
        "Mozilla/5.0 (Linux; Android 11; Pixel 3)": ("Android", "11"),
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64)": ("Windows", "7"),
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)": ("macOS", "10.15"),
    }
    for agent, (family, version) in agents.items():
        facts = observe(event("zeek.http", {"source.ip": "10.0.0.5", "user_agent.original": agent}))
        assert facts is not None
        assert facts.os is not None
        assert (facts.os.family, facts.os.version) == (family, version), agent
        assert facts.os.source == "zeek.http"


def test_windows_event_log_host_name_without_an_address() -> None:
    facts = observe(golden("evtx", "defender.json", "windows.defender"))
    assert facts is not None
    assert facts.hostname == "MSEDGEWIN10"
    assert facts.key == "name:msedgewin10"
    assert facts.antivirus


def test_outside_sources_and_empty_events_say_nothing() -> None:
    assert (
        observe(event("fortigate.traffic", {"source.ip": "198.51.100.9", "destination.ip": "192.168.1.10"}))
        is None
    )
    assert observe(event("zeek.conn", {})) is None


def test_antivirus_names_and_addresses() -> None:
    assert is_antivirus_name("iaus.activeupdate.trendmicro.com")
    assert not is_antivirus_name("trendmicro.com.evil.example")
    dns = event(
        "fortigate.utm.dns",
        {
            "source.ip": "192.168.1.5",
            "dns.question.name": "update.eset.com",
            "dns.resolved_ip": ["91.228.167.133"],
        },
    )
    assert antivirus_addresses(dns) == ("91.228.167.133",)
    assert not observe(dns).antivirus  # type: ignore[union-attr]  # a look-up alone is not AV activity
    tls = event(
        "zeek.ssl",
        {
            "source.ip": "192.168.1.5",
            "destination.ip": "1.2.3.4",
            "tls.client.server_name": "update.eset.com",
        },
    )
    facts = observe(tls)
    assert facts is not None
    assert facts.antivirus
    assert facts.destination == "update.eset.com"


def test_bad_reputation_is_an_ips_hit_or_an_allowed_high_risk_session() -> None:
    base = {"source.ip": "192.168.1.5", "destination.ip": "198.51.100.23"}
    assert observe(event("fortigate.utm.ips", base)).bad_reputation  # type: ignore[union-attr]
    blocked = {**base, "fortigate.crlevel": "high", "event.outcome": "failure"}
    assert not observe(event("fortigate.utm.webfilter", blocked)).bad_reputation  # type: ignore[union-attr]
    allowed = {**blocked, "event.outcome": "success"}
    assert observe(event("fortigate.utm.webfilter", allowed)).bad_reputation  # type: ignore[union-attr]
    assert observe(event("suricata.alert", base)).bad_reputation  # type: ignore[union-attr]
    assert not observe(event("fortigate.traffic", base)).bad_reputation  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "value", [None, 7, 1.5, True, [], ["192.168.1.5"], "x" * 100_000, "192.168.1.5\x00", "\u202e", "-"]
)
def test_hostile_values_never_raise(value: object) -> None:
    names = [
        "source.ip",
        "source.mac",
        "host.name",
        "host.type",
        "host.os.name",
        "host.os.version",
        "user_agent.original",
        "destination.ip",
        "destination.port",
        "url.domain",
        "dns.resolved_ip",
    ]
    for name in names:
        fields: dict[str, Any] = {"source.ip": "192.168.1.5", name: value}
        for dataset in (
            "fortigate.traffic",
            "zeek.dhcp",
            "zeek.software",
            "windows.security",
            "fortigate.utm.dns",
        ):
            facts = observe(event(dataset, fields))
            if facts is not None:
                assert facts.device_class in set(DeviceClass)
                assert len(facts.hostname or "") <= 128
            antivirus_addresses(event(dataset, fields))
