"""LEEF 1.0/2.0: golden samples (Panda from the Wazuh tests; IBM/vendor examples), delimiters, devTime, hostile input."""

from __future__ import annotations

import contextlib
import time

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import leef

from .conftest import SHARED_DATA, check_event, check_golden, record

WAZUH = SHARED_DATA / "wazuh-ruleset-tests" / "panda_paps.ini"


def _parse(line: str) -> dict[str, object]:
    event = leef.parse(record("leef", line))
    check_event(event)
    assert event is not None
    return dict(event.fields)


def test_golden() -> None:
    check_golden("leef", "leef", leef.parse)


@pytest.mark.parametrize(
    ("spec", "sep"), [("^", "^"), ("x5E", "^"), ("0x5e", "^"), ("x09", "\t"), ("|", "|")]
)
def test_leef2_delimiters(spec: str, sep: str) -> None:
    body = sep.join(["src=10.0.0.1", "dstPort=443", "usrName=bob"])
    fields = _parse(f"LEEF:2.0|V|P|1|E|{spec}|{body}")
    assert fields["source.ip"] == "10.0.0.1"
    assert fields["destination.port"] == 443
    assert fields["user.name"] == "bob"


def test_leef2_without_delimiter_field_uses_tab() -> None:
    fields = _parse("LEEF:2.0|V|P|1|E|src=10.0.0.1\tsev=4")
    assert fields["source.ip"] == "10.0.0.1"
    assert fields["event.severity"] == 4


def test_dev_time_with_java_format() -> None:
    line = "LEEF:1.0|V|P|1|E|devTime=01/03/2024 10:00:00\tdevTimeFormat=dd/MM/yyyy HH:mm:ss"
    event = leef.parse(record("leef", line))
    assert event is not None
    assert event.timestamp.isoformat() == "2024-03-01T01:00:00+00:00"


def test_dev_time_epoch_millis() -> None:
    event = leef.parse(record("leef", "LEEF:1.0|V|P|1|E|devTime=1709254800000"))
    assert event is not None
    assert event.timestamp.isoformat() == "2024-03-01T01:00:00+00:00"


@pytest.mark.parametrize("line", ["LEEF:1.0|a|b", "nothing", "LEEF:2.0|V|P|1|E|zz|a=1"])
def test_refusals(line: str) -> None:
    with pytest.raises(ParseError):
        leef.parse(record("leef", line))


@pytest.mark.parametrize(
    "data",
    [
        b"LEEF:1.0|" + b"|" * (1 << 20),
        b"LEEF:1.0|a|b|c|d|" + b"k=\t" * (1 << 18),
        b"LEEF:2.0|a|b|c|d|x09|devTime=" + b"1" * 5000 + b"\tdevTimeFormat=" + b"y" * 5000,
        b"LEEF:2.0|" * (1 << 17),
    ],
)
def test_hostile_inputs_are_quick(data: bytes) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ParseError):
        check_event(leef.parse(record("leef", data)))
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
        check_event(leef.parse(record("leef", raw)))
