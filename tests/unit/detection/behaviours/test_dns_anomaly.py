"""dns_anomaly: DGA lookups, NXDOMAIN bursts and DNS tunnelling per LAN host."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.unit.detection.behaviours._sim_parse import sim_events

from mimamori.detection.behaviours import dns_anomaly as mod
from mimamori.detection.behaviours.base import BehaviourPolicy
from mimamori.detection.behaviours.dns_anomaly import DnsAnomaly, looks_generated, registered_domain
from mimamori.domain import Event, Finding, RawRecord, Severity
from mimamori.ingest.readers import zeektsv
from mimamori.parsers import PARSERS

T0 = datetime(2026, 11, 26, 1, tzinfo=UTC)
HOST = "192.168.10.21"
SIMDA = [
    "qekynuq.com",
    "vopyret.com",
    "gacyryw.com",
    "puzylyp.com",
    "lykyvod.com",
    "qetyfuv.com",
    "vojycif.com",
    "gahyhob.com",
    "lymyjon.com",
    "qexylup.com",
    "ganykaz.com",
    "vocygyk.com",
]
GENERATED = [n for n in SIMDA if looks_generated(n.split(".")[0])]
NORMAL = [
    "www.google.com",
    "outlook.office365.com",
    "login.microsoftonline.com",
    "www.yahoo.co.jp",
    "www.rakuten.co.jp",
    "yamada-seisakusho.co.jp",
    "update.eset.com",
    "www.nikkei.com",
    "mail.google.com",
    "teams.microsoft.com",
    "www.amazon.co.jp",
    "www.mizuhobank.co.jp",
    "weather.tenki.jp",
    "www.kuronekoyamato.co.jp",
]
STRATOSPHERE = (
    Path(__file__).parents[4] / "../shared/data/stratosphere-zeek/005-zeek-scenario-malicious/dns.log"
)


def dns(
    name: object, seconds: float = 0, *, host: object = HOST, rcode: str = "NOERROR", tenant: str = "t1"
) -> Event:
    fields = {
        "dns.question.name": name,
        "source.ip": host,
        "destination.ip": "8.8.8.8",
        "dns.response_code": rcode,
    }
    return Event(T0 + timedelta(seconds=seconds), tenant, "zeek.dns", fields)  # type: ignore[arg-type]


def run(detector: DnsAnomaly, events: list[Event]) -> list[Finding]:
    return [f for e in events if detector.accepts(e) for f in detector.observe(e)]


def test_registered_domain_handles_japanese_second_level_suffixes() -> None:
    assert registered_domain("www.yamada.co.jp") == "yamada.co.jp"
    assert registered_domain("a.b.example.com") == "example.com"
    assert registered_domain("example.com") == "example.com"
    assert registered_domain("x.bbc.co.uk") == "bbc.co.uk"


def test_the_character_score_separates_generated_labels_from_words_and_romaji() -> None:
    generated = sum(looks_generated(n.split(".")[0]) for n in SIMDA)
    assert generated >= 9  # most Simda names: a few look pronounceable, which is why one name is not enough
    for word in (
        "google",
        "microsoft",
        "rakuten",
        "yamada-seisakusho",
        "kuronekoyamato",
        "mizuhobank",
        "nikkei",
    ):
        assert not looks_generated(word), word


def test_many_generated_names_from_one_host_fire_once() -> None:
    detector = DnsAnomaly()
    found = run(detector, [dns(n, i * 20, rcode="NXDOMAIN") for i, n in enumerate(SIMDA)])
    dga = [f for f in found if f.key == "dga"]
    assert len(dga) == 1
    assert dga[0].detector == "dns_anomaly"
    assert dga[0].severity is Severity.HIGH
    assert dga[0].source_ip == HOST
    assert dga[0].evidence["count"] == mod.DGA_MIN_NAMES
    assert "attack.command-and-control" in dga[0].tags
    # the next window's names are within the cooldown: no second finding
    more = [dns(n.replace("q", "x") + "x", 700 + i, rcode="NXDOMAIN") for i, n in enumerate(SIMDA)]
    assert [f for f in run(detector, more) if f.key == "dga"] == []


def test_a_single_odd_name_normal_names_and_cdn_hashes_do_not_fire() -> None:
    detector = DnsAnomaly()
    events = [dns("qekynuq.com")] + [dns(n, i) for i, n in enumerate(NORMAL * 5)]
    events += [dns(f"d{i}x7kq2zv9wpl.cloudfront.net", i) for i in range(50)]
    events += [dns(f"e{i}qzx.dscb.akamaiedge.net", i) for i in range(50)]
    assert run(detector, events) == []


def test_generated_names_that_resolve_need_twice_as_many() -> None:
    names = [f"{n.split('.')[0]}{s}.com" for s in ("", "x") for n in GENERATED][: 2 * mod.DGA_MIN_NAMES]
    names = [n for n in names if looks_generated(n.split(".")[0])]
    assert len(names) >= 2 * mod.DGA_MIN_NAMES - 1
    detector = DnsAnomaly()
    resolved = [dns(n, i) for i, n in enumerate(names[: 2 * mod.DGA_MIN_NAMES - 1])]  # NOERROR
    assert run(detector, resolved) == []
    assert [f.key for f in run(DnsAnomaly(), [*resolved, dns("zyqxvbk.com", 60)])] == ["dga"]


def test_generated_names_spread_over_hours_do_not_fire() -> None:
    detector = DnsAnomaly()
    assert run(detector, [dns(n, i * 900) for i, n in enumerate(SIMDA)]) == []


def test_nxdomain_burst_fires_medium_and_needs_the_threshold() -> None:
    names = [f"host{i}.partner-{i % 3}.example.com" for i in range(mod.NX_MIN_NAMES)]
    below = run(DnsAnomaly(), [dns(n, i, rcode="NXDOMAIN") for i, n in enumerate(names[:-1])])
    assert below == []
    found = run(DnsAnomaly(), [dns(n, i, rcode="NXDOMAIN") for i, n in enumerate(names)])
    assert [(f.key, f.severity) for f in found] == [("nxdomain", Severity.MEDIUM)]
    # repeating the same missing name is one name
    assert run(DnsAnomaly(), [dns("printer.example.com", i, rcode="NXDOMAIN") for i in range(100)]) == []


def test_tunnelling_with_long_encoded_subdomains_fires() -> None:
    chunk = "mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpjqwe3dfoy"
    events = [dns(f"{chunk[i % 7 :]}{i}.{chunk[: 20 + i % 9]}.t.tunnel-c2.example", i) for i in range(40)]
    found = run(DnsAnomaly(), events)
    assert [(f.key, f.severity) for f in found] == [("tunnel:tunnel-c2.example", Severity.HIGH)]
    assert "attack.exfiltration" in found[0].tags


def test_tunnelling_by_volume_of_distinct_short_subdomains_fires() -> None:
    events = [dns(f"q{i:05d}.data-drop.example", i * 0.5) for i in range(600)]
    found = run(DnsAnomaly(), events)
    assert [f.key for f in found] == ["tunnel:data-drop.example"]


def test_reputation_lookups_and_repeated_names_are_not_tunnelling() -> None:
    chunk = "mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpjqwe3dfoy"
    events = [dns(f"{chunk}{i}.v4.sophosxl.net", i) for i in range(100)]
    events += [dns("www.google.com", i) for i in range(1000)]
    events += [dns(f"{i}.{i}.168.192.in-addr.arpa", i) for i in range(500)]
    assert run(DnsAnomaly(), events) == []


def test_tenant_override_changes_the_threshold() -> None:
    policy = BehaviourPolicy(overrides={"t1": {"dns_anomaly": {"dga_min_names": 3}}})
    found = run(DnsAnomaly(policy), [dns(n, i, rcode="NXDOMAIN") for i, n in enumerate(GENERATED[:3])])
    assert [f.key for f in found] == ["dga"]
    assert (
        run(
            DnsAnomaly(policy),
            [dns(n, i, rcode="SERVFAIL", tenant="t2") for i, n in enumerate(GENERATED[:3])],
        )
        == []
    )


def test_allow_domains_override_silences_a_domain() -> None:
    policy = BehaviourPolicy(overrides={"t1": {"dns_anomaly": {"allow_domains": ["data-drop.example"]}}})
    assert run(DnsAnomaly(policy), [dns(f"q{i:05d}.data-drop.example", i) for i in range(600)]) == []


def test_suricata_answers_count_for_the_client_and_fortigate_lookups_without_answers_count_as_failed() -> (
    None
):
    answers = []
    for i, name in enumerate(GENERATED[: mod.DGA_MIN_NAMES]):
        fields = {
            "dns.question.name": name,
            "source.ip": "192.168.10.1",  # the LAN resolver answering
            "destination.ip": HOST,
            "dns.type": "answer",
            "dns.response_code": "NXDOMAIN",
        }
        answers.append(Event(T0 + timedelta(seconds=i), "t1", "suricata.dns", fields))  # type: ignore[arg-type]
    found = run(DnsAnomaly(), answers)
    assert [(f.key, f.source_ip) for f in found] == [("dga", HOST)]
    lookups = [
        Event(
            T0 + timedelta(seconds=i), "t1", "fortigate.utm.dns", {"dns.question.name": n, "source.ip": HOST}
        )
        for i, n in enumerate(GENERATED[: mod.DGA_MIN_NAMES])
    ]
    assert [f.key for f in run(DnsAnomaly(), lookups)] == ["dga"]


def test_ignore_hosts_override_silences_a_forwarding_resolver() -> None:
    policy = BehaviourPolicy(overrides={"t1": {"dns_anomaly": {"ignore_hosts": [HOST]}}})
    events = [dns(n, i, rcode="NXDOMAIN") for i, n in enumerate(SIMDA * 3)]
    assert run(DnsAnomaly(policy), events) == []
    assert run(
        DnsAnomaly(policy), [dns(n, i, rcode="NXDOMAIN", host="192.168.10.99") for i, n in enumerate(SIMDA)]
    )


def test_snapshot_restore_round_trip_continues_the_window() -> None:
    first = DnsAnomaly()
    assert (
        run(first, [dns(n, i, rcode="NXDOMAIN") for i, n in enumerate(GENERATED[: mod.DGA_MIN_NAMES - 1])])
        == []
    )
    state = json.loads(json.dumps(first.snapshot()))
    second = DnsAnomaly()
    second.restore(state)
    assert [f.key for f in run(second, [dns(GENERATED[-1], 30, rcode="NXDOMAIN")])] == ["dga"]
    for junk in (
        {},
        {"version": 2},
        {"version": 1, "tenants": 5},
        {"version": 1, "tenants": {"t": {"h": {"x": 1}}}},
    ):
        fresh = DnsAnomaly()
        fresh.restore(junk)
        assert fresh.snapshot() == {"version": 1, "tenants": {}}


def test_state_is_bounded_under_a_flood_of_hosts_and_domains() -> None:
    detector = DnsAnomaly()
    run(
        detector,
        [
            dns(f"a{i}.example.com", 0, host=f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}")
            for i in range(3000)
        ],
    )
    hosts = detector.snapshot()["tenants"]["t1"]
    assert len(hosts) == mod.MAX_HOSTS
    run(detector, [dns(f"x.d{i}.example", 1) for i in range(500)])
    assert len(detector.snapshot()["tenants"]["t1"][HOST]["domains"]) <= mod.MAX_DOMAINS


@pytest.mark.parametrize(
    "name",
    [
        None,
        42,
        ["a.example"],
        "",
        ".",
        "x" * 100_000,
        "a." * 5000 + "com",
        "例え.テスト",
        "\x00\xff.com",
        "...",
    ],
)
def test_hostile_names_never_raise(name: object) -> None:
    detector = DnsAnomaly()
    for host in (HOST, None, 5, "x" * 10_000, "8.8.8.8"):
        run(detector, [dns(name, 0, host=host), dns(name, 1, host=host, rcode="NXDOMAIN")])


def test_the_stratosphere_simda_capture_fires_dga_on_the_infected_host() -> None:
    if not STRATOSPHERE.is_file():
        pytest.skip("shared Stratosphere data not present")
    detector = DnsAnomaly()
    found: list[Finding] = []
    for line in zeektsv.read(iter([STRATOSPHERE.read_bytes()]), 1 << 20):
        assert isinstance(line, bytes)
        event = PARSERS["zeek"](RawRecord("t1", "s1", "zeek", line, T0))
        if event is not None and detector.accepts(event):
            found.extend(detector.observe(event))
    keys = {(f.key, f.source_ip) for f in found}
    assert ("dga", "192.168.1.116") in keys
    assert all(f.source_ip in ("192.168.1.116", "fd77:48a1:c0bb:0:b96c:506d:6c7f:e8be") for f in found)


@pytest.mark.parametrize("fmt", ["fortigate", "zeek"])
def test_a_benign_simulated_day_raises_nothing_medium_or_higher(fmt: str) -> None:
    events, _ = sim_events(fmt, (), 3, 24, 30)
    detector = DnsAnomaly()
    found = run(detector, list(events))
    assert [f for f in found if f.severity.rank >= Severity.MEDIUM.rank] == []


def test_the_name_cache_is_bounded_and_skips_overlong_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mod, "MAX_NAMES", 16)
    detector = DnsAnomaly()
    for i in range(40):
        list(detector.observe(dns(f"host{i}.example.com", i)))
    assert 0 < len(detector._names) <= 16
    list(detector.observe(dns("x" * 600 + ".example.com", 50)))
    assert all(len(name) <= 2 * mod.MAX_NAME for name in detector._names)
