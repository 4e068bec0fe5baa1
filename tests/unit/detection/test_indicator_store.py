from pathlib import Path

import pytest

from mimamori.detection.indicators import Indicator, IndicatorSet, load, parse_line


def test_parse_line_guesses_types_and_skips_comments() -> None:
    assert parse_line("# comment") is None
    assert parse_line("   ") is None
    assert parse_line("192.0.2.10") == Indicator("192.0.2.10", "ip")
    assert parse_line("198.51.100.0/24\tcidr\tbotnet") == Indicator("198.51.100.0/24", "cidr", "botnet")
    assert parse_line("Evil.Example.\tdomain") == Indicator("evil.example", "domain")
    assert parse_line("2001:db8::1") == Indicator("2001:db8::1", "ip")


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
    assert inner.description in {"inner", "outer"}
    outer = found.match_ip("198.51.100.5")
    assert outer is not None
    assert outer.description == "outer"
    assert found.match_ip("198.51.101.1") is None
    assert found.match_ip("2001:db8:bad::1") is not None
    assert found.match_ip("2001:db8:bae::1") is None
    assert found.match_ip("not-an-ip") is None


def test_domain_matches_itself_and_subdomains_only() -> None:
    found = IndicatorSet.from_indicators([Indicator("evil.example", "domain")])
    assert found.match_domain("evil.example") is not None
    assert found.match_domain("a.b.EVIL.example.") is not None
    assert found.match_domain("notevil.example") is None
    assert found.match_domain("evil.example.com") is None
    assert found.match_domain("example") is None
