"""Yamaha RTX/NVR: golden samples written from Yamaha's documented and publicly posted log forms, hostile input."""

from __future__ import annotations

import contextlib
import time

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import yamaha_rtx

from .conftest import check_event, check_golden, record


def _parse(line: str) -> tuple[str, dict[str, object]]:
    event = yamaha_rtx.parse(record("yamaha_rtx", line))
    check_event(event)
    assert event is not None
    return event.dataset, dict(event.fields)


def test_golden() -> None:
    check_golden("yamaha_rtx", "rtx", yamaha_rtx.parse)


@pytest.mark.parametrize(("verdict", "outcome"), [("Rejected", "failure"), ("Passed", "success")])
def test_filter_verdicts(verdict: str, outcome: str) -> None:
    dataset, fields = _parse(f"PP[01] {verdict} at IN(1011) filter: TCP 203.0.113.5:4431 > 198.51.100.2:445")
    assert dataset == "yamaha_rtx.filter"
    assert fields["event.outcome"] == outcome
    assert fields["rule.id"] == "1011"
    assert fields["observer.ingress.interface.name"] == "PP[01]"


def test_bracketed_ipv6_endpoint() -> None:
    _, fields = _parse("LAN2 Rejected at IN(11) filter: TCP [2001:db8::5]:443 > [2001:db8::6]:5000")
    assert fields["source.ip"] == "2001:db8::5"
    assert fields["destination.port"] == 5000


def test_unknown_message_is_a_system_event() -> None:
    dataset, fields = _parse("<190>Some new message of a future firmware")
    assert dataset == "yamaha_rtx.system"
    assert fields["message"] == "Some new message of a future firmware"


@pytest.mark.parametrize(
    "data",
    [
        b"PP[01] Rejected at IN(1) filter: " + b"TCP " * (1 << 18),
        b"[IDS] " + b"a > b " * 150000,
        b"[INSPECT] " + b"[" * (1 << 20),
        b"Login succeeded for " * 50000,
        b"[DHCPD] " + b"1" * (1 << 20),
    ],
)
def test_hostile_inputs_are_quick(data: bytes) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ParseError):
        check_event(yamaha_rtx.parse(record("yamaha_rtx", data)))
    assert time.perf_counter() - started < 2.0
