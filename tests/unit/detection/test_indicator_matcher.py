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
