"""pfSense/OPNsense filterlog: golden samples (Wazuh tests; Netgate's Filter Log Format), variants, hostile input."""

from __future__ import annotations

import contextlib
import time

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import pfsense

from .conftest import SHARED_DATA, check_event, check_golden, record

WAZUH = SHARED_DATA / "wazuh-ruleset-tests" / "pfsense.ini"


def test_golden() -> None:
    check_golden("pfsense", "filterlog", pfsense.parse)


def test_bare_csv_without_header() -> None:
    event = pfsense.parse(
        record(
            "pfsense",
            "5,,,1000102433,em0,match,block,in,4,0x0,,128,1,0,none,17,udp,30,10.0.0.1,10.0.0.2,1,2,10",
        )
    )
    check_event(event)
    assert event is not None
    assert event.fields["event.outcome"] == "failure"
    assert event.fields["destination.port"] == 2


@pytest.mark.parametrize(
    "body",
    [
        "5,,,1,em0,match,block",
        "x,,,1,em0,match,block,in,4,0x0,,1,1,0,none,6,tcp,1,a,b",
        "5,,,1,em0,match,block,in,9,1,2,3,4,5,6,7,8,9,10,11",
    ],
)
def test_malformed_filterlog_is_refused(body: str) -> None:
    with pytest.raises(ParseError):
        pfsense.parse(record("pfsense", f"<134>Mar  1 09:15:02 fw filterlog[1]: {body}"))


@pytest.mark.parametrize(
    "data", [b"<134>Mar  1 09:15:02 fw filterlog: " + b"," * (1 << 20), b"filterlog: 1," + b"9" * (1 << 20)]
)
def test_hostile_inputs_are_quick(data: bytes) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ParseError):
        check_event(pfsense.parse(record("pfsense", data)))
    assert time.perf_counter() - started < 2.0


def test_every_wazuh_line_parses() -> None:
    if not WAZUH.exists():
        pytest.skip(f"shared test data not found: {WAZUH}")
    lines = [
        line.split(" = ", 1)[1]
        for line in WAZUH.read_text(encoding="utf-8").splitlines()
        if line.startswith("log ")
    ]
    assert lines
    for raw in lines:
        event = pfsense.parse(record("pfsense", raw))
        check_event(event)
        assert event is not None
        assert event.dataset == "pfsense.firewall"
