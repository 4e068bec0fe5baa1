"""Sophos SFOS and UTM 9: golden samples (SFOS lines from the Wazuh tests; vendor log references), hostile input."""

from __future__ import annotations

import contextlib
import time

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import sophos

from .conftest import SHARED_DATA, check_event, check_golden, record

WAZUH = [SHARED_DATA / "wazuh-ruleset-tests" / name for name in ("sophos_fw.ini", "sophos.ini")]


def test_golden() -> None:
    check_golden("sophos", "sophos", sophos.parse)


def test_unterminated_quote_keeps_the_rest_of_the_line() -> None:
    event = sophos.parse(
        record("sophos", 'log_type="Firewall" log_subtype="Denied" src_ip=10.0.0.1 tail="broken')
    )
    assert event is not None
    assert event.fields["source.ip"] == "10.0.0.1"
    assert event.fields["event.outcome"] == "failure"


def test_sfos_timezone_offset_and_sensor_zone() -> None:
    base = 'device="SFW" date=2024-03-01 time=10:00:00 log_type="Firewall" log_subtype="Allowed"'
    with_tz = sophos.parse(record("sophos", base + ' timezone="+08"'))
    without = sophos.parse(record("sophos", base))
    assert with_tz is not None
    assert without is not None
    assert with_tz.timestamp.isoformat() == "2024-03-01T02:00:00+00:00"
    assert without.timestamp.isoformat() == "2024-03-01T01:00:00+00:00"


@pytest.mark.parametrize("line", ["no pairs here", "a=1 b=2", "<log><category>x</category></log>"])
def test_refusals(line: str) -> None:
    with pytest.raises(ParseError):
        sophos.parse(record("sophos", line))


@pytest.mark.parametrize(
    "data",
    [
        b'log_type="' * (1 << 18),
        b"log_type=x " + b"k=" * (1 << 19),
        b'sys="a" sub="b" ' + b'x="' + b"y" * (1 << 20),
    ],
)
def test_hostile_inputs_are_quick(data: bytes) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ParseError):
        check_event(sophos.parse(record("sophos", data)))
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
                    check_event(sophos.parse(record("sophos", raw)))
                    parsed += 1
                except ParseError:
                    assert "log_type=" not in raw  # only the endpoint (SAV) lines may be refused
    assert parsed >= 10
