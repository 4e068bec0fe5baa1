from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mimamori.detection.indicators import Allowlist, Indicator, IndicatorSet, load, parse_line

NOW = datetime.now(UTC)


def test_parse_line_guesses_types_and_skips_comments() -> None:
    assert parse_line("# comment") is None
    assert parse_line("   ") is None
    assert parse_line("192.0.2.10") == Indicator("192.0.2.10", "ip")
    assert parse_line("198.51.100.0/24\tcidr\tbotnet") == Indicator("198.51.100.0/24", "cidr", "botnet")
    assert parse_line("Evil.Example.\tdomain") == Indicator("evil.example", "domain")
    assert parse_line("2001:db8::1") == Indicator("2001:db8::1", "ip")
    assert parse_line("http://evil.example/x") == Indicator("evil.example/x", "url")


@pytest.mark.parametrize(
    "line", ["999.1.1.1\tip", "not a domain\tdomain", "x.example\tweird", "nodots\tdomain"]
)
def test_parse_line_rejects_bad_values(line: str) -> None:
    with pytest.raises(ValueError):
        parse_line(line)


def test_load_collects_errors_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "ind.txt"
    path.write_text("192.0.2.1\n300.0.0.1\tip\nbad.example\n", encoding="utf-8")
    found, errors = load(path)
    assert len(found) == 2
    assert errors == [f"{path}:2: '300.0.0.1' does not appear to be an IPv4 or IPv6 address"]


def test_load_missing_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    found, errors = load(tmp_path / "missing.txt")
    assert len(found) == 0
    assert errors
    assert "not found" in errors[0]


def test_ip_and_cidr_matching_including_nested_ranges_and_ipv6() -> None:
    found = IndicatorSet.from_indicators(
        [
            Indicator("192.0.2.7", "ip"),
            Indicator("198.51.100.0/24", "cidr", "outer"),
            Indicator("198.51.100.128/25", "cidr", "inner"),
            Indicator("2001:db8:bad::/48", "cidr"),
        ]
    )
    assert found.match_ip("192.0.2.7") is not None
    assert found.match_ip("192.0.2.8") is None
    inner = found.match_ip("198.51.100.200")
    assert inner is not None
    assert inner.description == "inner"  # the innermost range wins
    outer = found.match_ip("198.51.100.5")
    assert outer is not None
    assert outer.description == "outer"
    assert found.match_ip("198.51.101.1") is None
    assert found.match_ip("2001:db8:bad::1") is not None
    assert found.match_ip("2001:db8:bae::1") is None
    assert found.match_ip("not-an-ip") is None


def test_many_nested_ranges_still_find_the_outer_one() -> None:
    """More than a handful of small ranges inside a big one (the old store scanned back only 8)."""
    inner = [Indicator(f"10.0.{i}.0/24", "cidr", f"inner {i}") for i in range(0, 200, 2)]
    found = IndicatorSet.from_indicators([Indicator("10.0.0.0/16", "cidr", "outer"), *inner])
    hit = found.match_ip("10.0.199.1")
    assert hit is not None
    assert hit.description == "outer"
    assert found.in_ranges("10.0.198.1")
    assert not found.in_ranges("10.1.0.1")
    assert not found.in_ranges(None)
    assert found.match_ip("10.0.198.1") is not None
    assert found.match_ip("10.0.198.1").description == "inner 198"  # type: ignore[union-attr]


def test_domain_matches_itself_and_subdomains_only() -> None:
    found = IndicatorSet.from_indicators([Indicator("evil.example", "domain")])
    assert found.match_domain("evil.example") is not None
    assert found.match_domain("a.b.EVIL.example.") is not None
    assert found.match_domain("notevil.example") is None
    assert found.match_domain("evil.example.com") is None
    assert found.match_domain("example") is None


def test_exact_types_and_expiry() -> None:
    past = NOW - timedelta(minutes=1)
    future = NOW + timedelta(days=1)
    found = IndicatorSet.from_indicators(
        [
            Indicator("ab" * 32, "sha256", threat="Emotet", confidence=90),
            Indicator("evil.example/x.exe", "url"),
            Indicator("old.example", "domain", expires_at=past),
            Indicator("192.0.2.9", "ip", expires_at=future),
            Indicator("192.0.2.10", "ip", expires_at=past),
            Indicator("198.51.100.0/24", "cidr", expires_at=past),
        ]
    )
    hit = found.match("sha256", "ab" * 32)
    assert hit is not None
    assert (hit.threat, hit.confidence) == ("Emotet", 90)
    assert found.match("url", "evil.example/x.exe") is not None
    assert found.match("url", "evil.example/y.exe") is None
    assert found.match("domain", "a.old.example") is None  # expired
    hit = found.match_ip("192.0.2.9")
    assert hit is not None
    assert hit.expires_at is not None
    assert abs((hit.expires_at - future).total_seconds()) < 1
    assert found.match_ip("192.0.2.10") is None
    assert found.match_ip("198.51.100.1") is None
    assert found.counts() == {"ip": 2, "domain": 1, "url": 1, "sha256": 1, "cidr": 1}


def test_higher_confidence_wins_and_metadata_is_shared() -> None:
    found = IndicatorSet.from_indicators(
        [
            Indicator("192.0.2.1", "ip", source="a", confidence=40),
            Indicator("192.0.2.1", "ip", source="b", confidence=90),
            Indicator("192.0.2.2", "ip", source="b", confidence=90),
        ]
    )
    assert len(found) == 2
    assert found.match_ip("192.0.2.1").source == "b"  # type: ignore[union-attr]
    table = found.tables["ip"]
    assert table["192.0.2.1"] is table["192.0.2.2"]  # one tuple for both: memory per indicator is its key


def test_allowlist_provider_and_tenant_with_reason() -> None:
    provider = IndicatorSet.from_indicators([Indicator("cdn.example", "domain", "shared CDN")])
    tenant = IndicatorSet.from_indicators([Indicator("192.0.2.0/24", "cidr", "the customer's own range")])
    allow = Allowlist(provider, {"t1": tenant})
    assert allow.reason("t1", "domain", "img.cdn.example") == "shared CDN"
    assert allow.reason("t2", "domain", "img.cdn.example") == "shared CDN"
    assert allow.reason("t1", "ip", "192.0.2.5") == "the customer's own range"
    assert allow.reason("t2", "ip", "192.0.2.5") is None
    assert allow.reason("t1", "url", "img.cdn.example/x.js") == "shared CDN"
    assert not Allowlist()
