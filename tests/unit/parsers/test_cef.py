"""CEF: golden samples (F5, FireEye from the Wazuh tests; spec examples), escapes, severities, hostile input."""

from __future__ import annotations

import contextlib
import time

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import cef

from .conftest import SHARED_DATA, check_event, check_golden, record

WAZUH = [SHARED_DATA / "wazuh-ruleset-tests" / name for name in ("f5_big_ip.ini", "fireeye.ini")]


def _parse(line: str | bytes) -> dict[str, object]:
    event = cef.parse(record("cef", line))
    check_event(event)
    assert event is not None
    return dict(event.fields)


def test_golden() -> None:
    check_golden("cef", "cef", cef.parse)


def test_header_and_extension_escapes() -> None:
    fields = _parse(r"CEF:0|V\|x|P\\y|1|sig|a \| b|5|msg=x\=y \\ z\nq cs1=v cs1Label=My Label")
    assert fields["observer.vendor"] == "V|x"
    assert fields["observer.product"] == "P\\y"
    assert fields["cef.name"] == "a | b"
    assert fields["message"] == "x=y \\ z\nq"
    assert fields["cef.my_label"] == "v"


@pytest.mark.parametrize(
    ("severity", "number", "level"),
    [
        ("0", 0, "low"),
        ("5", 5, "medium"),
        ("8", 8, "high"),
        ("10", 10, "very-high"),
        ("Very-High", 10, "very-high"),
        ("Low", 3, "low"),
    ],
)
def test_severity(severity: str, number: int, level: str) -> None:
    fields = _parse(f"CEF:0|V|P|1|s|n|{severity}|src=10.0.0.1")
    assert fields["event.severity"] == number
    assert fields["log.level"] == level


def test_outcome_and_ports() -> None:
    fields = _parse("CEF:0|V|P|1|s|n|3|act=blocked spt=70000 dpt=443 proto=TCP src=1.2.3.4")
    assert fields["event.outcome"] == "failure"
    assert "source.port" not in fields
    assert fields["cef.spt"] == "70000"
    assert fields["destination.port"] == 443
    assert fields["network.transport"] == "tcp"


def test_rt_in_the_sensor_zone_when_no_zone_is_given() -> None:
    event = cef.parse(record("cef", "CEF:0|V|P|1|s|n|3|rt=Mar 01 2024 09:00:00 src=1.2.3.4"))
    assert event is not None
    assert event.timestamp.isoformat() == "2024-03-01T00:00:00+00:00"


@pytest.mark.parametrize("line", ["", "   ", "CEF:0|only|three", "no cef here", "CEF:0|a|b|c|d|e|f"])
def test_refusals(line: str) -> None:
    if not line.strip():
        assert cef.parse(record("cef", line)) is None
        return
    with pytest.raises(ParseError):
        cef.parse(record("cef", line))


@pytest.mark.parametrize(
    "data",
    [
        b"CEF:0|" + b"|" * (1 << 20),
        b"CEF:0|a|b|c|d|e|5|" + b"k=" * (1 << 19),
        b"CEF:0|a|b|c|d|e|5|x=" + b"\\" * (1 << 20),
        b"CEF:0|a|b|c|d|e|5|rt=" + b"9" * 5000,
        b"CEF:" * (1 << 18),
    ],
)
def test_hostile_inputs_are_quick(data: bytes) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ParseError):
        check_event(cef.parse(record("cef", data)))
    assert time.perf_counter() - started < 2.0


def test_every_wazuh_line_parses_or_is_refused() -> None:
    if not all(path.exists() for path in WAZUH):
        pytest.skip(f"shared test data not found under {SHARED_DATA}")
    parsed = 0
    for path in WAZUH:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("log ") and " = " in line:
                raw = line.split(" = ", 1)[1]
                try:
                    check_event(cef.parse(record("cef", raw)))
                    parsed += 1
                except ParseError:
                    assert "CEF:" not in raw
    assert parsed >= 8
