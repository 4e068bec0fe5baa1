"""abuse.ch formats: Feodo Tracker (CSV, JSON), URLhaus, ThreatFox, SSLBL; real Feodo data when present."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mimamori.feeds import FeedError, feodo, sslbl, threatfox, urlhaus

from .conftest import sample, shared


def test_feodo_csv_rows_become_c2_addresses_with_family_and_times() -> None:
    result = feodo.parse_csv(sample("feodo_ipblocklist.csv"), {})
    assert [e.value for e in result.entries] == ["203.0.113.66", "198.51.100.77", "198.51.100.78"]
    first = result.entries[0]
    assert (first.type, first.threat, first.confidence) == ("ip", "QakBot", 90)
    assert first.first_seen == datetime(2026, 10, 1, 17, 51, 44, tzinfo=UTC)
    assert first.last_seen == datetime(2026, 11, 25, tzinfo=UTC)
    assert "port 443" in first.description


def test_feodo_real_snapshot_parses_completely() -> None:
    data = shared("abusech-feodo", "ipblocklist.csv").read_bytes()
    result = feodo.parse_csv(data, {})
    assert len(result.entries) == 28
    assert result.error_count == 0
    assert {e.threat for e in result.entries} >= {"Pikabot"}


def test_feodo_json_skips_entries_without_an_address() -> None:
    result = feodo.parse_json(sample("feodo_ipblocklist.json"), {})
    assert [e.value for e in result.entries] == ["203.0.113.66", "2001:db8::66"]
    assert result.error_count == 1


@pytest.mark.parametrize("data", [b"<html>502 Bad Gateway</html>", b'{"ip_address": "x"}'])
def test_feodo_json_refuses_what_is_not_the_blocklist(data: bytes) -> None:
    with pytest.raises(FeedError):
        feodo.parse_json(data, {})


def test_feodo_csv_refuses_an_html_error_page() -> None:
    with pytest.raises(FeedError):
        feodo.parse_csv(b"<html>\n<body>Service Unavailable, try later</body>\n</html>\n", {})


def test_urlhaus_uses_the_header_comment_and_lowers_offline_confidence() -> None:
    result = urlhaus.parse(sample("urlhaus.csv"), {})
    assert [e.value for e in result.entries] == [
        "http://malware-dist.example/bins/x86.elf",
        "https://Invoice-Check.example:443/dl/Invoice.zip?id=7",
        "http://203.0.113.120:8080/a.sh",
    ]
    assert [e.confidence for e in result.entries] == [90, 60, 90]
    assert result.entries[0].threat == "elf"
    assert result.entries[2].threat == "malware_download"  # tags "None"


def test_threatfox_export_maps_types_and_strips_ports() -> None:
    result = threatfox.parse(sample("threatfox_export.json"), {})
    got = [(e.type, e.value, e.threat, e.confidence) for e in result.entries]
    assert got == [
        ("ip", "198.51.100.23", "Cobalt Strike", 100),
        ("domain", "c2.badsite.example", "AsyncRAT", 75),
        ("sha256", "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", "Agent Tesla", 50),
    ]
    assert result.error_count == 1  # sha3_384 is not matched


def test_threatfox_api_answer_is_read_too() -> None:
    (entry,) = threatfox.parse(sample("threatfox_api.json"), {}).entries
    assert (entry.type, entry.value, entry.threat) == ("url", "http://phish.example/login.php", "Formbook")
    assert entry.first_seen == datetime(2026, 11, 25, 7, tzinfo=UTC)


def test_threatfox_refuses_a_failed_query() -> None:
    with pytest.raises(FeedError):
        threatfox.parse(b'{"query_status": "no_result", "data": "Your search did not yield any results"}', {})


def test_sslbl_ja3_and_certificates() -> None:
    ja3 = sslbl.parse_ja3(sample("sslbl_ja3.csv"), {})
    assert [(e.type, e.value, e.threat) for e in ja3.entries] == [
        ("ja3", "72a589da586844d7f0818ce684948eea", "Tofsee"),
        ("ja3", "b386946a5a44d1ddcc843bc75336dfce", "Dridex"),
    ]
    assert ja3.error_count == 1
    certs = sslbl.parse_certificates(sample("sslbl_cert.csv"), {})
    assert [(e.type, e.threat) for e in certs.entries] == [
        ("x509_sha1", "AsyncRAT"),
        ("x509_sha1", "Cobalt Strike"),
    ]
