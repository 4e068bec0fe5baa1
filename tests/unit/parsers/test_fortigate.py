"""FortiGate key=value logs: golden samples, header variants, tokenizer paths, real Wazuh test lines."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import fortigate

from .conftest import SHARED_DATA, check_event, check_golden, record

WAZUH_INI = SHARED_DATA / "wazuh-ruleset-tests" / "fortigate.ini"
BODY = 'date=2024-03-01 time=10:00:00 type="traffic" subtype="forward" srcip=10.0.0.1 action="deny"'


@pytest.mark.parametrize("name", ["traffic", "utm", "event"])
def test_golden(name: str) -> None:
    check_golden("fortigate", name, fortigate.parse)


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "<189>",
        "<189>Mar  1 10:00:00 fgt ",
        "Mar  1 10:00:00 10.0.0.254 ",
        "<189>1 2024-03-01T10:00:00+09:00 fgt - - - - ",
        '<189>1 2024-03-01T10:00:00+09:00 fgt - - - [origin ip="10.0.0.254"] ',
        "2018 Apr 09 16:03:37 relay->10.0.0.254 ",
    ],
)
def test_header_variants_give_the_same_event(prefix: str) -> None:
    event = fortigate.parse(record("fortigate", prefix + BODY))
    check_event(event)
    assert event is not None
    assert event.dataset == "fortigate.traffic"
    assert event.timestamp == datetime(2024, 3, 1, 1, 0, tzinfo=UTC)  # 10:00 in the sensor's Asia/Tokyo
    assert event.fields["source.ip"] == "10.0.0.1"
    assert event.fields["event.outcome"] == "failure"


@pytest.mark.parametrize(
    ("eventtime", "expected"),
    [
        ("1709255702", datetime(2024, 3, 1, 1, 15, 2, tzinfo=UTC)),
        ("1709255702123", datetime(2024, 3, 1, 1, 15, 2, 123000, tzinfo=UTC)),
        ("1709255702123456", datetime(2024, 3, 1, 1, 15, 2, 123456, tzinfo=UTC)),
        ("1709255702123456789", datetime(2024, 3, 1, 1, 15, 2, 123456, tzinfo=UTC)),
    ],
)
def test_eventtime_magnitude(eventtime: str, expected: datetime) -> None:
    event = fortigate.parse(record("fortigate", f"eventtime={eventtime} type=event subtype=system"))
    assert event is not None
    assert event.timestamp == expected


def test_date_time_with_tz_and_without() -> None:
    """``tz`` when the line has it; else (FortiOS before 6.2) the device's local time is in the
    sensor's zone, Asia/Tokyo unless the sensor says otherwise."""
    line = "date=2024-03-01 time=09:00:00 type=event"
    jst = fortigate.parse(record("fortigate", line.replace("type=", "tz=+0900 type=")))
    utc = fortigate.parse(record("fortigate", line.replace("type=", "tz=UTC type=")))
    sensor = fortigate.parse(record("fortigate", line))
    assert jst is not None
    assert utc is not None
    assert sensor is not None
    assert jst.timestamp == datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
    assert utc.timestamp == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert sensor.timestamp == jst.timestamp  # the default sensor zone, Asia/Tokyo
    for zone, hour in [("UTC", 9), ("America/New_York", 14), ("Europe/Berlin", 8)]:
        raw = record("fortigate", line)
        event = fortigate.parse(dataclasses.replace(raw, timezone=zone))
        assert event is not None
        assert event.timestamp == datetime(2024, 3, 1, hour, 0, tzinfo=UTC), zone
    summer = dataclasses.replace(
        record("fortigate", "date=2024-07-01 time=09:00:00 type=event"), timezone="Europe/Berlin"
    )
    event = fortigate.parse(summer)
    assert event is not None
    assert event.timestamp == datetime(2024, 7, 1, 7, 0, tzinfo=UTC)  # CEST
    with pytest.raises(ParseError, match="unknown time zone"):
        fortigate.parse(dataclasses.replace(record("fortigate", line), timezone="Not/AZone"))


@pytest.mark.parametrize(
    "body",
    [
        BODY,
        BODY + ' msg="a \\"quoted\\" word" path="C:\\\\temp"',
        BODY + " url=/a?b=c&d=e empty= x=1",
        BODY + ' ui=GUI("x") tail="end"',
        BODY + ' msg="time=10: 13:03" stray words here',
        BODY + ' dup="1" dup="2"',
        BODY + ' q="" r="has = sign and  two spaces"',
    ],
)
def test_fast_tokenizer_agrees_with_exact_one(body: str) -> None:
    assert _outcome(fortigate._tokens, body) == _outcome(fortigate._tokens_exact, body)


def _outcome(tokenize: Callable[[str], dict[str, str]], body: str) -> dict[str, str] | str:
    try:
        return tokenize(body)
    except ParseError as exc:
        return f"ParseError: {exc.reason}"


@pytest.mark.parametrize(
    "line",
    [
        BODY + ' msg="unterminated',
        BODY.replace('type="traffic" ', ""),
        "no pairs at all",
        'date=2024-03-01 time=10:00:00 type="../etc"',
        "date=2024-13-01 time=10:00:00 type=event",
        "date=2024-03-01 time=10:00:00 tz=JST type=event",
        "type=event",
        "eventtime=99999999999999999999999999 type=event",
    ],
)
def test_malformed_lines_raise_parse_error(line: str) -> None:
    with pytest.raises(ParseError):
        fortigate.parse(record("fortigate", line))


def test_not_set_values_are_dropped_from_ecs_fields_and_bad_ints_kept_raw() -> None:
    event = fortigate.parse(record("fortigate", BODY + ' user="N/A" srcport=99999 sentbyte=abc'))
    assert event is not None
    assert "user.name" not in event.fields
    assert "source.port" not in event.fields
    assert event.fields["fortigate.srcport"] == "99999"
    assert event.fields["fortigate.sentbyte"] == "abc"


def test_real_wazuh_lines() -> None:
    if not WAZUH_INI.is_file():
        pytest.skip(f"sample data absent: {WAZUH_INI}")
    lines = re.findall(r"^log \d+ pass = (.*)$", WAZUH_INI.read_text(encoding="utf-8"), re.MULTILINE)
    assert len(lines) > 40
    for line in lines:
        event = fortigate.parse(record("fortigate", line))
        check_event(event)
        assert event is not None
        assert event.dataset.startswith("fortigate.")
