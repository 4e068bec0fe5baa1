"""Spamhaus DROP, plain lists and CSV with a column mapping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mimamori.feeds import FeedError, csvmap, plain, spamhaus

from .conftest import sample


def test_spamhaus_text_and_json_lines_give_the_same_netblocks() -> None:
    text = spamhaus.parse(sample("spamhaus_drop.txt"), {})
    lines = spamhaus.parse(sample("spamhaus_drop_v4.json"), {})
    assert [e.value for e in text.entries] == ["203.0.113.192/27", "198.51.100.0/25", "198.51.100.64/26"]
    assert [e.value for e in lines.entries] == ["203.0.113.192/27", "198.51.100.0/25"]
    assert text.entries[0].description == "Spamhaus DROP SBL000001"
    assert {e.type for e in text.entries} == {"cidr"}


def test_spamhaus_refuses_a_page_without_netblocks() -> None:
    with pytest.raises(FeedError):
        spamhaus.parse(b"<html>\nrate limited\n</html>\n", {})


def test_plain_list_takes_the_first_token_and_leaves_the_type_to_guess() -> None:
    result = plain.parse(sample("plain.txt"), {"threat": "own list", "confidence": "70"})
    assert [e.value for e in result.entries] == [
        "192.0.2.44",
        "203.0.113.0/28",
        "evil-cdn.example",
        "http://evil-cdn.example/payload.exe",
        "d41d8cd98f00b204e9800998ecf8427e",
        "phisher@mail.example",
    ]
    assert {(e.type, e.threat, e.confidence) for e in result.entries} == {("", "own list", 70)}


def test_plain_list_with_a_fixed_type() -> None:
    assert {e.type for e in plain.parse(b"a.example\nb.example\n", {"type": "domain"}).entries} == {"domain"}


def test_csv_mapping_by_header_name() -> None:
    options = {
        "value": "indicator",
        "type": "kind",
        "threat": "family",
        "first_seen": "added",
        "delimiter": ";",
    }
    result = csvmap.parse(sample("mapped.csv"), options)
    assert [(e.type, e.value, e.threat) for e in result.entries] == [
        ("ip", "192.0.2.200", "Lokibot"),
        ("domain", "bad.partner.example", "Lokibot"),
    ]
    assert result.entries[0].first_seen == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert result.error_count == 1


def test_csv_mapping_by_index_without_header() -> None:
    result = csvmap.parse(
        b"x,192.0.2.1\ny,192.0.2.2\n", {"value": "1", "header": "false", "fixed_type": "ip"}
    )
    assert [(e.type, e.value) for e in result.entries] == [("ip", "192.0.2.1"), ("ip", "192.0.2.2")]


@pytest.mark.parametrize("options", [{}, {"value": "nope"}])
def test_csv_mapping_needs_a_known_value_column(options: dict[str, str]) -> None:
    with pytest.raises(FeedError):
        csvmap.parse(sample("mapped.csv"), {**options, "delimiter": ";"})
