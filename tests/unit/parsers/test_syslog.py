"""RFC 5424 and RFC 3164 envelopes and the generic syslog dataset."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import syslog

from .conftest import check_golden, record


@pytest.mark.parametrize("name", ["rfc5424", "rfc3164"])
def test_golden(name: str) -> None:
    check_golden("syslog", name, syslog.parse)


def test_envelope_5424_structured_data_escapes() -> None:
    env = syslog.parse_envelope(
        b"<165>1 2003-10-11T22:14:15.003Z host app 1 ID "
        b'[a@1 x="q\\"uote" y="b\\\\s" z="br\\]"][b@1] \xef\xbb\xbfmsg'
    )
    assert env.structured_data == {"a@1": {"x": 'q"uote', "y": "b\\s", "z": "br]"}, "b@1": {}}
    assert env.message == "msg"
    assert (env.facility, env.severity) == (20, 5)
    assert env.timestamp == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)


def test_envelope_5424_nilvalues() -> None:
    env = syslog.parse_envelope(b"<14>1 - - - - - -")
    assert env.timestamp is None
    assert (env.hostname, env.app_name, env.procid, env.msgid) == (None, None, None, None)
    assert env.message == ""


def test_bsd_year_comes_from_receipt_and_rolls_back_over_new_year() -> None:
    received = datetime(2024, 1, 1, 0, 0, 5, tzinfo=UTC)
    env = syslog.parse_envelope(b"<13>Dec 31 23:59:59 host app: x", received_at=received)
    assert env.timestamp == datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC)
    env = syslog.parse_envelope(b"<13>Jan  1 00:00:01 host app: x", received_at=received)
    assert env.timestamp == datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)


def test_bsd_tag_without_hostname() -> None:
    env = syslog.parse_envelope(b"<30>Jan  5 08:01:02 dhclient[77]: hi", received_at=datetime.now(UTC))
    assert (env.hostname, env.app_name, env.procid, env.message) == (None, "dhclient", "77", "hi")


@pytest.mark.parametrize(
    "line",
    [
        b"<999>1 2003-10-11T22:14:15Z h a p m - x",  # PRI out of range
        b"<13>1 2003-13-45T22:14:15Z h a p m - x",  # impossible date
        b"<13>1 2003-10-11T22:14:15Z h a p m [unclosed x",  # broken structured data
        b'<13>1 2003-10-11T22:14:15Z h a p m [id x="y"]junk',  # no space after SD
        b"<13>1 short",  # truncated header
        b"<13>Feb 30 10:00:00 host app: impossible day",
    ],
)
def test_malformed_lines_raise_parse_error(line: bytes) -> None:
    with pytest.raises(ParseError):
        syslog.parse(record("syslog", line))


def test_empty_line_is_no_event() -> None:
    assert syslog.parse(record("syslog", b"\r\n")) is None


def test_bsd_timestamps_are_read_in_the_sensors_time_zone() -> None:
    from dataclasses import replace

    from mimamori.parsers import syslog as module

    line = "<13>Oct 11 22:14:15 host app: hello"
    japan = module.parse(record("syslog", line))
    utc = module.parse(replace(record("syslog", line), timezone="UTC"))
    assert japan is not None
    assert utc is not None
    assert japan.timestamp.isoformat() == "2023-10-11T13:14:15+00:00"
    assert utc.timestamp.isoformat() == "2023-10-11T22:14:15+00:00"
    assert module.device_zone("Not/AZone") == module.device_zone("Asia/Tokyo")
