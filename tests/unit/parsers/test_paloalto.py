"""PAN-OS CSV: golden samples (Wazuh tests; PAN-OS 10/11 syslog field descriptions), versions, hostile input."""

from __future__ import annotations

import contextlib
import time

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import paloalto

from .conftest import SHARED_DATA, check_event, check_golden, record

WAZUH = SHARED_DATA / "wazuh-ruleset-tests" / "paloalto.ini"
TRAFFIC_81 = (
    "1,2024/03/01 10:00:00,0011C100000,TRAFFIC,drop,1,2024/03/01 10:00:00,203.0.113.1,198.51.100.1,0.0.0.0,0.0.0.0,"
    "deny-in,,,not-applicable,vsys1,untrust,trust,ethernet1/1,,fwd,2024/03/01 10:00:00,0,1,40000,3389,0,0,0x0,tcp,"
    "deny,60,60,0,1,2024/03/01 10:00:00,0,any,0,100,0x0,US,10.0.0.0-10.255.255.255,0,1,0"
)


def test_golden() -> None:
    check_golden("paloalto", "panos", paloalto.parse)


def test_older_shorter_traffic_line() -> None:
    event = paloalto.parse(record("paloalto", TRAFFIC_81))
    check_event(event)
    assert event is not None
    assert event.fields["event.outcome"] == "failure"
    assert event.fields["destination.port"] == 3389
    assert event.timestamp.isoformat() == "2024-03-01T01:00:00+00:00"  # device clock in the sensor zone


def test_extra_trailing_fields_are_tolerated() -> None:
    event = paloalto.parse(record("paloalto", TRAFFIC_81 + ",x" * 200))
    assert event is not None
    assert event.fields["source.ip"] == "203.0.113.1"


@pytest.mark.parametrize(
    "line",
    ["1,2024/03/01 10:00:00,001,TRAFFIC,", "nothing", '1,2024/03/01 10:00:00,001,THREAT,url,"unterminated'],
)
def test_refusals(line: str) -> None:
    with pytest.raises(ParseError):
        paloalto.parse(record("paloalto", line))


@pytest.mark.parametrize(
    "data",
    [
        b"1,2024/03/01 10:00:00,001,TRAFFIC," + b"," * (1 << 20),
        b'1,2024/03/01 10:00:00,001,THREAT,url,1,2,"' + b"a" * (1 << 20) + b'"',
        b"x" * (1 << 20) + b",2024/03/01 10:00:00,001,SYSTEM,a,b,c,d",
    ],
)
def test_hostile_inputs_are_quick(data: bytes) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ParseError):
        check_event(paloalto.parse(record("paloalto", data)))
    assert time.perf_counter() - started < 2.0


def test_every_wazuh_line_parses_or_is_refused_as_truncated() -> None:
    if not WAZUH.exists():
        pytest.skip(f"shared test data not found: {WAZUH}")
    parsed = 0
    reasons: list[str] = []
    for line in WAZUH.read_text(encoding="utf-8").splitlines():
        if line.startswith("log ") and " = " in line:
            try:
                check_event(paloalto.parse(record("paloalto", line.split(" = ", 1)[1])))
                parsed += 1
            except ParseError as exc:
                reasons.append(exc.reason)
    assert parsed >= 10
    # the refused ones are header-only lines (5 fields) and the made-up type OTHERS
    assert all("truncated" in reason or "no PAN-OS" in reason for reason in reasons)
