"""Suricata EVE JSON: alerts (real samples), dns v1/v2/v3, http, tls, flow, fileinfo, anomaly, others."""

from __future__ import annotations

import json

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import suricata

from .conftest import SHARED_DATA, check_event, check_golden, record

SAMPLES = SHARED_DATA / "suricata-sample-data" / "samples"


@pytest.mark.parametrize("name", ["alert", "eve"])
def test_golden(name: str) -> None:
    check_golden("suricata", name, suricata.parse)


def test_every_real_alert_parses() -> None:
    files = sorted(SAMPLES.glob("*/alerts-only.json"))
    if not files:
        pytest.skip(f"sample data absent: {SAMPLES}")
    count = 0
    for path in files:
        for alert in json.loads(path.read_text(encoding="utf-8")):
            event = suricata.parse(record("suricata", json.dumps(alert)))
            check_event(event)
            assert event is not None
            assert event.dataset == "suricata.alert"
            assert event.fields["rule.id"] == str(alert["alert"]["signature_id"])
            assert event.fields["event.outcome"] == "success"
            assert event.fields["source.ip"] == alert["src_ip"]
            count += 1
    assert count > 500


def test_blocked_alert_is_a_failure() -> None:
    line = b'{"timestamp":"2024-03-01T10:00:00+0900","event_type":"alert","alert":{"action":"blocked","signature_id":1}}'
    event = suricata.parse(record("suricata", line))
    assert event is not None
    assert event.fields["event.outcome"] == "failure"
    assert event.fields["event.action"] == "blocked"


@pytest.mark.parametrize(
    "line",
    [
        b"[1]",
        b'{"event_type":"alert"}',
        b'{"timestamp":"2024-03-01T10:00:00Z"}',
        b'{"timestamp":"2024-03-01T10:00:00Z","event_type":"../x"}',
        b'{"timestamp":"not a time","event_type":"dns"}',
        b'{"timestamp":"2024-03-01T10:00:00Z","event_type":"dns"',
    ],
)
def test_malformed_lines_raise_parse_error(line: bytes) -> None:
    with pytest.raises(ParseError):
        suricata.parse(record("suricata", line))


def test_odd_values_stay_in_the_model() -> None:
    line = (
        b'{"timestamp":"2024-03-01T10:00:00Z","event_type":"dns","src_port":70000,"dest_port":18446744073709551615,'
        b'"dns":{"rrname":5,"answers":[1,{"rdata":2}],"grouped":{"A":[null]}},"x":"a\\u0000b"}'
    )
    event = suricata.parse(record("suricata", line))
    check_event(event)
    assert event is not None
    assert "source.port" not in event.fields
    assert event.fields["suricata.x"] == "a\ufffdb"
