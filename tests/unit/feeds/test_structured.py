"""MISP feed events and STIX 2.1 bundles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mimamori.feeds import FeedError, misp, stix

from .conftest import sample

EVENT = "misp/5f3c8a4e-1b2c-4d5e-8f90-a1b2c3d4e5f6.json"


def test_misp_manifest_lists_events_newest_first() -> None:
    assert misp.manifest(sample("misp/manifest.json")) == [
        "5f3c8a4e-1b2c-4d5e-8f90-a1b2c3d4e5f6",
        "6a4d9b5f-2c3d-4e6f-9a01-b2c3d4e5f6a7",
    ]


def test_misp_event_gives_ids_attributes_with_tlp_family_and_composites() -> None:
    result = misp.parse(sample(EVENT), {})
    got = [(e.type, e.value) for e in result.entries]
    assert got == [
        ("ip", "192.0.2.150"),
        ("domain", "formbook-c2.example"),
        ("email", "invoice@phish-sender.example"),
        ("sha256", "4bf6b8a93fd1b39b6ec61d7d2e5d2bd5e3a6e8be2c7d5b8a3a1e2c3d4b5a6f70"),
    ]
    assert {(e.tlp, e.threat, e.confidence) for e in result.entries} == {("green", "Formbook", 90)}


def test_misp_non_ids_attributes_only_on_request() -> None:
    values = {e.value for e in misp.parse(sample(EVENT), {"include_non_ids": "true"}).entries}
    assert "not-for-ids.example" in values


@pytest.mark.parametrize("data", [b"[]", b'{"Event": []}', b"not json"])
def test_misp_refuses_what_is_not_an_event(data: bytes) -> None:
    with pytest.raises(FeedError):
        misp.parse(data, {})


def test_stix_bundle_indicators_with_tlp_expiry_and_family() -> None:
    result = stix.parse(sample("stix_bundle.json"), {})
    got = [(e.type, e.value) for e in result.entries]
    assert got == [
        ("ip", "198.51.100.99"),
        ("cidr", "203.0.113.0/29"),
        ("sha256", "2f249230b8ea5c7b5b8a3b5e2b0d7f1e2f249230b8ea5c7b5b8a3b5e2b0d7f1e"),
        ("domain", "emotet-dl.example"),
    ]
    first = result.entries[0]
    assert (first.tlp, first.confidence) == ("green", 85)
    assert first.expires_at == datetime(2027, 1, 20, tzinfo=UTC)
    assert result.entries[3].threat == "Emotet"
    # the AND pattern and the invalid object are reported; the snort pattern is not ours to read
    assert result.error_count == 2
    assert any("AND" in e for e in result.errors)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[url:value = 'http://a.example/x']", [("url", "http://a.example/x")]),
        (
            "[email-addr:value = 'x@a.example'] OR [domain-name:value = 'b.example']",
            [("email", "x@a.example"), ("domain", "b.example")],
        ),
        ("[ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.2']", []),
        ("[domain-name:value LIKE '%.example']", []),
        ("[file:name = 'x.exe']", []),
        ("[domain-name:value = 'it\\'s.example']", [("domain", "it's.example")]),
    ],
)
def test_stix_patterns_reduce_to_values_or_nothing(pattern: str, expected: list[tuple[str, str]]) -> None:
    assert stix.values_of(pattern) == expected


def test_stix_refuses_what_is_not_a_bundle() -> None:
    with pytest.raises(FeedError):
        stix.parse(b'{"type": "bundle"}', {})
