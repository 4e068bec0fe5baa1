"""The detector against events exactly as the parsers produce them (golden inputs of tests/data/parsers)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mimamori.detection.indicators import Indicator, IndicatorDetector, IndicatorSet
from mimamori.domain import Event, RawRecord, Severity
from mimamori.errors import ParseError
from mimamori.parsers import PARSERS

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "parsers"
RECEIVED = datetime(2026, 11, 26, tzinfo=UTC)


def events(fmt: str, name: str) -> list[Event]:
    found = []
    for line in (GOLDEN / fmt / name).read_bytes().splitlines():
        if line.strip():
            try:
                event = PARSERS[fmt](RawRecord("t1", "s1", fmt, line, RECEIVED, "test"))
            except ParseError:
                continue
            if event is not None:
                found.append(event)
    return found


@pytest.mark.parametrize(
    ("fmt", "name", "indicator", "dataset", "matched_field"),
    [
        ("suricata", "eve.log", Indicator("example.com", "domain"), "suricata.alert", "tls.server.name"),
        (
            "suricata",
            "eve.log",
            Indicator("e7d705a3286e19ea42f587b344ee6865", "ja3"),
            "suricata.tls",
            "tls.client.ja3",
        ),
        (
            "suricata",
            "eve.log",
            Indicator("b56a9d0e2f1c3b4a5d6e7f8091a2b3c4d5e6f708", "x509_sha1"),
            "suricata.tls",
            "tls.server.hash.sha1",
        ),
        (
            "suricata",
            "eve.log",
            Indicator("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", "sha256"),
            "suricata.fileinfo",
            "file.hash.sha256",
        ),
        (
            "suricata",
            "eve.log",
            Indicator("download.example.net/files/setup.exe?id=42", "url"),
            "suricata.http",
            "url.original",
        ),
        (
            "zeek",
            "logs.log",
            Indicator("2f249230b8ea5c7b5b8a3b5e2b0d7f1e", "md5"),
            "zeek.files",
            "file.hash.md5",
        ),
        ("zeek", "logs.log", Indicator("upload.example.net", "domain"), "zeek.http", "url.domain"),
        ("zeek", "dns.log", Indicator("wrccdc.org", "domain"), "zeek.dns", "dns.question.name"),
        (
            "fortigate",
            "utm.log",
            Indicator("morrishittu.ddns.net", "domain"),
            "fortigate.utm.webfilter",
            "url.domain",
        ),
        (
            "fortigate",
            "utm.log",
            Indicator("www.karsec.gov.in/FrontPageImgHandler.ashx?id=12", "url"),
            "fortigate.utm.virus",
            "url.original",
        ),
        (
            "fortigate",
            "utm.log",
            Indicator("qa.fortinet.com", "email_domain"),
            "fortigate.utm.emailfilter",
            "email.from.address",
        ),
    ],
)
def test_parser_fields_reach_the_indicator(
    fmt: str, name: str, indicator: Indicator, dataset: str, matched_field: str
) -> None:
    detector = IndicatorDetector(IndicatorSet.from_indicators([indicator]))
    hits = [
        f
        for f in detector.detect(events(fmt, name))
        if f.evidence["indicator.matched_field"] == matched_field
    ]
    assert hits, f"no {matched_field} hit in {fmt}/{name}"
    assert dataset in {f.evidence["event.dataset"] for f in hits}
    assert all(f.evidence["indicator.value"] == indicator.value for f in hits)


def test_blocked_virus_download_is_low_and_allowed_webfilter_access_is_high() -> None:
    found = IndicatorSet.from_indicators(
        [Indicator("www.karsec.gov.in", "domain"), Indicator("www.dailymotion.com", "domain")]
    )
    by_host = {
        f.evidence["indicator.value"]: f
        for f in IndicatorDetector(found).detect(events("fortigate", "utm.log"))
    }
    assert by_host["www.karsec.gov.in"].severity is Severity.LOW  # the UTM blocked the virus
    assert by_host["www.karsec.gov.in"].title.startswith("Blocked")
    assert by_host["www.dailymotion.com"].severity is Severity.HIGH  # app-ctrl let it through


def test_every_golden_event_of_every_format_is_safe_to_match() -> None:
    """Whatever fields a parser produces, the detector neither raises nor finds anything in an empty store."""
    detector = IndicatorDetector(IndicatorSet())
    for fmt_dir in sorted(GOLDEN.iterdir()):
        fmt = fmt_dir.name
        if fmt not in PARSERS:
            continue
        for log in sorted(fmt_dir.glob("*.log")):
            parsed = events(fmt, log.name)
            assert list(detector.detect(parsed)) == []
    sightings, observations = detector.recorder.drain()
    assert not sightings
    assert observations  # external values were recorded for retro-hunting
