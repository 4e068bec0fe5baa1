from datetime import UTC, datetime

from mimamori.detection import DetectorContext, build_engine
from mimamori.detection.indicators import Indicator, IndicatorDetector, IndicatorSet
from mimamori.domain import Event, Fields, Severity

T = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
IND = IndicatorSet.from_indicators(
    [Indicator("203.0.113.66", "ip", "C2"), Indicator("malware-cdn.example", "domain", "dist")]
)


def event(dataset: str, **fields: str | int) -> Event:
    data: Fields = {k.replace("_", "."): v for k, v in fields.items()}
    return Event(T, "tenant-a", dataset, data, "sensor-1")


def detect(*events: Event) -> list:  # type: ignore[type-arg]
    return list(IndicatorDetector(IND).detect(events))


def test_allowed_outbound_connection_to_c2_is_high_and_names_the_internal_host() -> None:
    (finding,) = detect(
        event(
            "fortigate.traffic",
            source_ip="192.168.1.5",
            destination_ip="203.0.113.66",
            event_outcome="success",
            host_name="PC-XP-01",
        )
    )
    assert finding.severity is Severity.HIGH
    assert finding.host == "PC-XP-01"
    assert finding.source_ip == "192.168.1.5"
    assert finding.destination_ip == "203.0.113.66"
    assert finding.key == "ip:203.0.113.66"
    assert finding.evidence["indicator.value"] == "203.0.113.66"
    assert "attack.command-and-control" in finding.tags


def test_blocked_connection_is_low() -> None:
    (finding,) = detect(
        event(
            "fortigate.traffic",
            source_ip="192.168.1.5",
            destination_ip="203.0.113.66",
            event_outcome="failure",
        )
    )
    assert finding.severity is Severity.LOW
    assert finding.title.startswith("Blocked")


def test_inbound_from_listed_ip_names_the_internal_destination() -> None:
    (finding,) = detect(event("fortigate.traffic", source_ip="203.0.113.66", destination_ip="192.168.1.9"))
    assert finding.host == "192.168.1.9"
    assert finding.severity is Severity.HIGH


def test_dns_lookup_of_listed_subdomain_is_medium() -> None:
    (finding,) = detect(
        event(
            "zeek.dns",
            source_ip="192.168.1.5",
            destination_ip="192.168.1.1",
            dns_question_name="x.malware-cdn.example",
        )
    )
    assert finding.severity is Severity.MEDIUM
    assert finding.key == "domain:malware-cdn.example"


def test_benign_events_and_empty_sets_yield_nothing() -> None:
    benign = event(
        "fortigate.traffic",
        source_ip="192.168.1.5",
        destination_ip="13.107.42.14",
        url_domain="www.microsoft.com",
    )
    assert detect(benign) == []
    assert list(IndicatorDetector(IndicatorSet()).detect([benign])) == []


def test_engine_keeps_running_when_a_detector_fails() -> None:
    class Broken:
        name = "broken"

        def detect(self, events):  # type: ignore[no-untyped-def]
            raise RuntimeError("bug")

    engine = build_engine(DetectorContext(indicators=IND))
    engine.detectors.insert(0, Broken())
    hits = engine.run([event("fortigate.traffic", source_ip="192.168.1.5", destination_ip="203.0.113.66")])
    assert len(hits) == 1
    assert engine.errors == {"broken": 1}


# -- grown with issue 5: more types, allowlist, expiry, sightings and observed values ------------------
def test_titles_exist_for_every_context_kind_and_direction() -> None:
    from mimamori.detection.indicators.matcher import KINDS, TITLES

    for context in ("connection", "blocked", "retro"):
        for kind in set(KINDS.values()):
            for outbound in (True, False):
                assert "%(value)s" in TITLES[(context, kind, outbound)]


def test_hash_ja3_and_mail_hits_with_their_severities() -> None:
    found = IndicatorSet.from_indicators(
        [
            Indicator("ab" * 32, "sha256", threat="Emotet"),
            Indicator("72a589da586844d7f0818ce684948eea", "ja3", threat="Tofsee"),
            Indicator("phish.example", "email_domain"),
        ]
    )
    file_hit, ja3_hit, mail_hit = IndicatorDetector(found).detect(
        [
            event(
                "zeek.files",
                source_ip="198.51.100.7",
                destination_ip="192.168.1.20",
                file_hash_sha256="AB" * 32,
            ),
            event(
                "zeek.ssl",
                source_ip="192.168.1.21",
                destination_ip="198.51.100.8",
                tls_client_ja3="72a589da586844d7f0818ce684948eea",
            ),
            event(
                "fortigate.utm.emailfilter",
                source_ip="10.1.100.11",
                destination_ip="172.18.62.158",
                email_from_address="Invoice@Phish.Example",
            ),
        ]
    )
    assert (file_hit.severity, file_hit.key) == (Severity.HIGH, "sha256:" + "ab" * 32)
    assert file_hit.device_ip == "192.168.1.20"  # the PC that received the file
    assert file_hit.title.startswith("Transfer of a known malicious file")
    assert ja3_hit.severity is Severity.MEDIUM
    assert mail_hit.severity is Severity.MEDIUM
    assert mail_hit.evidence["indicator.type"] == "email_domain"


def test_allowlisted_and_expired_values_raise_nothing_but_are_still_observed() -> None:
    from mimamori.detection.indicators import Allowlist

    past = datetime(2020, 1, 1, tzinfo=UTC)
    found = IndicatorSet.from_indicators(
        [
            Indicator("203.0.113.66", "ip"),
            Indicator("cdn.example", "domain"),
            Indicator("198.51.100.1", "ip", expires_at=past),
        ]
    )
    found.allowlist = Allowlist(
        None, {"tenant-a": IndicatorSet.from_indicators([Indicator("cdn.example", "domain", "our CDN")])}
    )
    detector = IndicatorDetector(found)
    hits = list(
        detector.detect(
            [
                event(
                    "zeek.dns",
                    source_ip="192.168.1.5",
                    destination_ip="192.168.1.1",
                    dns_question_name="img.cdn.example",
                ),
                event("zeek.conn", source_ip="192.168.1.5", destination_ip="198.51.100.1"),
            ]
        )
    )
    assert hits == []
    sightings, observations = detector.recorder.drain()
    assert sightings == {}
    assert {(k[2], k[3]) for k in observations} == {("domain", "img.cdn.example"), ("ip", "198.51.100.1")}


def test_sightings_and_observations_are_aggregated_per_tenant_day_and_value() -> None:
    detector = IndicatorDetector(IND)
    batch = [
        event(
            "fortigate.traffic",
            source_ip="192.168.1.5",
            destination_ip="203.0.113.66",
            event_outcome="success",
        )
        for _ in range(3)
    ] + [event("fortigate.traffic", source_ip="192.168.1.6", destination_ip="192.168.1.7")]
    assert len(list(detector.detect(batch))) == 3
    sightings, observations = detector.recorder.drain()
    (key,) = sightings
    assert key == ("tenant-a", T.date(), "ip", "203.0.113.66")
    assert sightings[key].count == 3
    (okey,) = observations  # LAN-to-LAN traffic is not recorded
    assert observations[okey].count == 3
    assert observations[okey].device == "192.168.1.5"
    assert observations[okey].allowed is True
    assert detector.recorder.drain() == ({}, {})


def test_hostile_field_values_never_raise() -> None:
    weird: list[Fields] = [
        {"destination.ip": 5, "source.ip": ["x"], "dns.question.name": 3},
        {"destination.ip": "", "url.original": "http://" + "a" * 5000, "url.domain": "\x00"},
        {"url.original": "/x", "url.domain": "a b"},
        {"tls.server.name": ".", "dns.question.name": "." * 300, "email.from.address": "@"},
        {"file.hash.md5": "zz" * 16, "tls.client.ja3": None, "suricata.tls.fingerprint": ":" * 80},  # type: ignore[dict-item]
        {"destination.ip": "999.1.1.1", "source.ip": "fe80::1%eth0"},
    ]
    found = IndicatorSet.from_indicators(
        [Indicator("198.51.100.0/24", "cidr"), Indicator("a.example", "domain")]
    )
    detector = IndicatorDetector(found)
    assert list(detector.detect([Event(T, "t", "x", f) for f in weird])) == []


def test_an_address_blocked_once_and_allowed_later_counts_as_let_through() -> None:
    detector = IndicatorDetector(IndicatorSet())
    list(
        detector.detect(
            [
                event(
                    "fortigate.traffic",
                    source_ip="192.168.1.5",
                    destination_ip="198.51.100.9",
                    event_outcome="failure",
                ),
                event(
                    "fortigate.traffic",
                    source_ip="192.168.1.5",
                    destination_ip="198.51.100.9",
                    event_outcome="success",
                ),
            ]
        )
    )
    _, observations = detector.recorder.drain()
    (tally,) = observations.values()
    assert (tally.count, tally.allowed, tally.device) == (2, True, "192.168.1.5")
