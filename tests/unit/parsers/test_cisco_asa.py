"""Cisco ASA/FTD: golden samples (Wazuh tests; Cisco's syslog message reference), id mapping, hostile input."""

from __future__ import annotations

import contextlib
import time

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import cisco_asa

from .conftest import SHARED_DATA, check_event, check_golden, record

WAZUH = [SHARED_DATA / "wazuh-ruleset-tests" / name for name in ("cisco_asa.ini", "cisco_ftd.ini", "pix.ini")]


def _parse(line: str) -> dict[str, object]:
    event = cisco_asa.parse(record("cisco_asa", line))
    check_event(event)
    assert event is not None
    return dict(event.fields)


def test_golden() -> None:
    check_golden("cisco_asa", "asa", cisco_asa.parse)


def test_outbound_connection_swaps_initiator_to_source() -> None:
    fields = _parse(
        "%ASA-6-302013: Built outbound TCP connection 9 for outside:8.8.8.8/443 (8.8.8.8/443) to inside:10.0.0.2/5000 (198.51.100.1/5000)"
    )
    assert fields["source.ip"] == "10.0.0.2"
    assert fields["destination.ip"] == "8.8.8.8"
    assert fields["source.nat.ip"] == "198.51.100.1"


def test_unknown_id_still_gives_an_event() -> None:
    fields = _parse("<166>%ASA-6-999999: anything at all")
    assert fields["event.code"] == "999999"
    assert fields["message"] == "anything at all"
    assert fields["log.level"] == "informational"


def test_device_timestamp_is_read_in_the_sensor_zone() -> None:
    event = cisco_asa.parse(
        record(
            "cisco_asa",
            'Mar 01 2024 09:00:00: %ASA-4-106023: Deny tcp src a:1.1.1.1/1 dst b:2.2.2.2/2 by access-group "x"',
        )
    )
    assert event is not None
    assert event.timestamp.isoformat() == "2024-03-01T00:00:00+00:00"


@pytest.mark.parametrize("line", ["no tag", "%ASA-9-106023: bad severity", "%ASA-6-12345: short id"])
def test_refusals(line: str) -> None:
    with pytest.raises(ParseError):
        cisco_asa.parse(record("cisco_asa", line))


@pytest.mark.parametrize(
    "data",
    [
        b"%ASA-6-302013: Built inbound TCP connection 1 for " + b"a:" * (1 << 19),
        b"%ASA-4-106023: " + b"from 1.1.1.1/1 " * 60000,
        b"%ASA-6-113004: " + b"User " * 200000,
        b"Mar 01 2024 09:00:00 " * 40000 + b"%ASA-6-302014: x",
    ],
)
def test_hostile_inputs_are_quick(data: bytes) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ParseError):
        check_event(cisco_asa.parse(record("cisco_asa", data)))
    assert time.perf_counter() - started < 2.0


def test_every_wazuh_line_parses() -> None:
    if not all(path.exists() for path in WAZUH):
        pytest.skip(f"shared test data not found under {SHARED_DATA}")
    count = 0
    for path in WAZUH:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("log ") and " = " in line:
                check_event(cisco_asa.parse(record("cisco_asa", line.split(" = ", 1)[1])))
                count += 1
    assert count > 100
