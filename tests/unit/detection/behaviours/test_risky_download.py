"""risky_download: executables and archives from rare or non-reputable sites."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.unit.detection.behaviours._sim_parse import sim_events, truths_for

from mimamori.detection.behaviours import risky_download as mod
from mimamori.detection.behaviours.base import BehaviourPolicy
from mimamori.detection.behaviours.risky_download import RiskyDownload
from mimamori.domain import Event, Fields, Finding, Severity

T0 = datetime(2026, 11, 26, 1, tzinfo=UTC)
PC = "192.168.10.21"


def http(domain: object, path: object, seconds: float = 0, *, host: str = PC, **extra: str) -> Event:
    fields: dict[str, Any] = {"source.ip": host, "destination.ip": "203.0.113.80", "url.domain": domain}
    fields.update({"url.path": path, **{k.replace("_", "."): v for k, v in extra.items()}})
    return Event(T0 + timedelta(seconds=seconds), "t1", "zeek.http", fields)


def lookup(name: str, host: str, seconds: float = 0) -> Event:
    fields: Fields = {"source.ip": host, "destination.ip": "8.8.8.8", "dns.question.name": name}
    return Event(T0 + timedelta(seconds=seconds), "t1", "zeek.dns", fields)


def run(detector: RiskyDownload, events: list[Event]) -> list[Finding]:
    return [f for e in events if detector.accepts(e) for f in detector.observe(e)]


def test_the_freeware_scenario_fires_high_on_the_victim() -> None:
    events, truths = sim_events("fortigate", ("freeware-malware",), 2, 2)
    # the ground truth names the indicator matcher for this scenario (risky_download once it is listed)
    candidates = truths_for(truths, "risky_download") or [
        t for t in truths if t.scenario == "freeware-malware"
    ]
    truth = candidates[0]
    found = run(RiskyDownload(), list(events))
    hits = [f for f in found if f.severity is Severity.HIGH]
    assert len(hits) == 1
    hit = hits[0]
    assert hit.tenant_id == f"t{truth.tenant_index}"
    assert hit.source_ip == truth.host_ip
    assert hit.key == "download:badsite.example"
    assert "newly observed" in str(hit.evidence["reasons"])
    assert abs((hit.timestamp - truth.first_time).total_seconds()) < 60
    assert "attack.initial-access" in hit.tags


def test_executables_from_ip_urls_and_dynamic_dns_are_high_archives_medium() -> None:
    found = run(
        RiskyDownload(),
        [
            http("198.51.100.7", "/a/b/invoice.exe"),
            http("files.duckdns.org", "/get/photos.zip"),
            http("x.ngrok-free.app", "/payload.hta?id=3"),
        ],
    )
    assert [(f.key, f.severity) for f in found] == [
        ("download:198.51.100.7", Severity.HIGH),
        ("download:duckdns.org", Severity.MEDIUM),
        ("download:ngrok-free.app", Severity.HIGH),
    ]


def test_a_rare_site_alone_is_low_and_a_popular_one_is_nothing() -> None:
    detector = RiskyDownload()
    events = [
        lookup("dl.vendor-tools.example", h) for h in ("192.168.10.30", "192.168.10.31", "192.168.10.32")
    ]
    events += [http("dl.vendor-tools.example", "/setup.msi", 5)]
    events += [http("tiny-shareware.example", "/tool.exe", 6)]
    found = run(detector, events)
    assert [(f.key, f.severity) for f in found] == [("download:tiny-shareware.example", Severity.LOW)]


def test_mime_types_of_zeek_files_logs_count_and_the_lan_side_is_the_host() -> None:
    fields = {
        "source.ip": "198.51.100.7",
        "destination.ip": PC,
        "file.mime_type": "application/x-dosexec",
        "file.name": "",
        "network.protocol": "http",
    }
    found = run(RiskyDownload(), [Event(T0, "t1", "zeek.files", fields)])  # type: ignore[arg-type]
    assert [(f.source_ip, f.severity, f.evidence["file_kind"]) for f in found] == [
        (PC, Severity.HIGH, "executable")
    ]


def test_blocked_verdicts_documents_and_repeats_do_not_fire() -> None:
    detector = RiskyDownload()
    events = [
        http("198.51.100.7", "/report.pdf"),
        http("198.51.100.7", "/index.html"),
        http("198.51.100.7", "/x.exe", event_action="blocked"),
        http("198.51.100.7", "/x.exe", threat_name="W32/Agent!tr", event_action="passed"),
        http("198.51.100.7", "/dir.exe/file.txt"),
        http("198.51.100.7", "", url_original="http://www.example.com"),
        http("198.51.100.7", "", url_original="https://shop.example.com/?next=a.exe"),
    ]
    assert run(detector, events) == []
    first = run(detector, [http("198.51.100.7", "/x.exe", 10)])
    again = run(detector, [http("198.51.100.7", "/y.exe", 20), http("198.51.100.7", "/z.zip", 30)])
    assert (len(first), again) == (1, [])


def test_tenant_override_of_rarity() -> None:
    policy = BehaviourPolicy(overrides={"t1": {"risky_download": {"rare_hosts": 0}}})
    assert run(RiskyDownload(policy), [http("tiny-shareware.example", "/tool.exe")]) == []
    stricter = BehaviourPolicy(overrides={"t1": {"risky_download": {"rare_hosts": 5}}})
    visits = [lookup("dl.vendor-tools.example", f"192.168.10.{i}") for i in range(30, 34)]  # 4 other hosts
    found = run(RiskyDownload(stricter), [*visits, http("dl.vendor-tools.example", "/setup.exe", 5)])
    assert [(f.severity, f.evidence["tenant_hosts_before"]) for f in found] == [(Severity.LOW, 4)]
    assert run(RiskyDownload(), [*visits, http("dl.vendor-tools.example", "/setup.exe", 5)]) == []


def test_snapshot_restore_round_trip_keeps_popularity_and_cooldowns() -> None:
    first = RiskyDownload()
    run(first, [lookup("dl.vendor-tools.example", f"192.168.10.{i}") for i in (30, 31, 32)])
    run(first, [http("198.51.100.7", "/x.exe")])
    state = json.loads(json.dumps(first.snapshot()))
    second = RiskyDownload()
    second.restore(state)
    assert second.snapshot() == first.snapshot()
    assert (
        run(second, [http("dl.vendor-tools.example", "/setup.exe", 5), http("198.51.100.7", "/y.exe", 6)])
        == []
    )
    for junk in (
        {},
        {"version": 1, "seen": {"t": {"d": 5}}, "fired": {}},
        {"version": 1, "seen": [], "fired": 3},
    ):
        fresh = RiskyDownload()
        fresh.restore(junk)
        assert fresh.snapshot() == {"version": 1, "seen": {}, "fired": {}}


def test_state_is_bounded_under_a_flood_of_domains() -> None:
    detector = RiskyDownload()
    run(detector, [lookup(f"h.d{i}.example", PC) for i in range(mod.MAX_DOMAINS + 500)])
    assert len(detector.snapshot()["seen"]["t1"]) == mod.MAX_DOMAINS
    run(detector, [http(f"d{i}.example", "/a.exe", i * 0.01) for i in range(mod.MAX_FIRED + 500)])
    assert len(detector.snapshot()["fired"]["t1"]) == mod.MAX_FIRED


@pytest.mark.parametrize(
    "value", [None, 5, ["a.exe", 3], "x" * 100_000 + ".exe", "\x00.exe", "例え.exe", "..", "."]
)
def test_hostile_values_never_raise(value: object) -> None:
    detector = RiskyDownload()
    run(detector, [http(value, value), http("a.example", value), http(value, "/a.exe")])
    fields = {"source.ip": value, "destination.ip": value, "file.mime_type": value, "file.name": value}
    run(detector, [Event(T0, "t1", "zeek.files", fields)])  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["fortigate", "zeek"])
def test_a_benign_simulated_day_raises_nothing_medium_or_higher(fmt: str) -> None:
    events, _ = sim_events(fmt, (), 3, 24, 30)
    detector = RiskyDownload()
    assert any(detector.accepts(e) for e in events)
    found = run(detector, list(events))
    assert [f for f in found if f.severity.rank >= Severity.MEDIUM.rank] == []


def test_lookups_count_popularity_through_a_bounded_name_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mod, "MAX_LOOKUPS", 8)
    detector = RiskyDownload()
    for i in range(20):
        assert run(detector, [lookup(f"WWW.Site{i}.example.", f"192.168.10.{i + 2}", i)]) == []
    assert 0 < len(detector._lookups) <= 8
    run(detector, [lookup("a" * 600 + ".example.com", PC, 30)])
    assert all(len(name) <= 512 for name in detector._lookups)
    # two hosts looked "Popular.Example" up (cased and with the root dot): not rare any more
    for host in ("192.168.10.50", "192.168.10.51"):
        run(detector, [lookup("Popular.Example.", host, 40)])
    assert run(detector, [http("popular.example", "/setup.exe", 50)]) == []
    assert [f.severity for f in run(detector, [http("unknown.example", "/setup.exe", 60)])] == [Severity.LOW]
