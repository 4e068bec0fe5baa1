"""syslog-auto: each vendor signature delegates to its parser, ambiguity is refused, the rest is plain syslog."""

from __future__ import annotations

import time

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import auto

from .conftest import check_event, check_golden, record


def test_golden() -> None:
    check_golden("syslog-auto", "auto", auto.parse)


@pytest.mark.parametrize(
    ("line", "fmt"),
    [
        ("<14>Mar  1 10:00:00 h CEF:0|V|P|1|s|n|3|src=1.2.3.4", "cef"),
        ("LEEF:1.0|V|P|1|E|src=1.2.3.4", "leef"),
        ("%FTD-6-106100: access-list x denied tcp a/1.1.1.1(1) -> b/2.2.2.2(2)", "cisco_asa"),
        (
            "Mar  1 10:00:00 fw filterlog[1]: 5,,,1,em0,match,block,in,4,0x0,,1,1,0,none,17,udp,30,1.1.1.1,2.2.2.2,1,2,3",
            "pfsense",
        ),
        ('device="SFW" date=2024-03-01 time=10:00:00 log_type="Firewall" log_subtype="Allowed"', "sophos"),
        (
            "date=2011-07-25 time=08: 19:42 devname=FG device_id=FGX log_id=0038016002 type=traffic subtype=other",
            "fortigate",
        ),
        ("[INSPECT] PP[01][out][101] TCP 1.1.1.1:1 > 2.2.2.2:80 (2024/03/01 10:00:00)", "yamaha_rtx"),
        ("<13>Mar  1 10:00:00 host sshd[1]: hello", "syslog"),
    ],
)
def test_detect(line: str, fmt: str) -> None:
    assert auto.detect(line)[0] == fmt
    check_event(auto.parse(record("syslog-auto", line)))


@pytest.mark.parametrize(
    "line",
    [
        "<13>h CEF:0|V|P|1|s|n|3|x LEEF:1.0|V|P|1|E|",
        '%ASA-6-106100: log_type="Firewall" x',
        "filterlog: 1,2 %ASA-4-106023: x",
    ],
)
def test_two_signatures_are_ambiguous(line: str) -> None:
    with pytest.raises(ParseError, match="ambiguous format"):
        auto.parse(record("syslog-auto", line))


def test_detection_is_cheap_on_a_megabyte() -> None:
    data = b"x" * (1 << 20)
    started = time.perf_counter()
    auto.parse(record("syslog-auto", data))
    assert time.perf_counter() - started < 0.5
