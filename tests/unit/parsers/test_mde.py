"""Microsoft Defender for Endpoint alerts: API resource and SIEM shapes, evidence lists, outcome."""

from __future__ import annotations

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import mde

from .conftest import DATA_DIR, check_event, check_golden, record


def test_golden() -> None:
    check_golden("mde", "alerts", mde.parse)


def test_evidence_becomes_lists_and_prevented_is_failure() -> None:
    line = (DATA_DIR / "mde" / "alerts.log").read_bytes().splitlines()[0]
    event = mde.parse(record("mde", line))
    check_event(event)
    assert event is not None
    assert event.fields["file.name"] == ["mimikatz.exe", "powershell.exe"]
    assert event.fields["related.user"] == ["sales", "sales@corp.example.jp"]
    assert event.fields["event.outcome"] == "failure"
    assert event.fields["threat.technique.id"] == ["T1003", "T1003.001"]
    assert event.fields["host.name"] == "pc-sales01.corp.example.jp"


@pytest.mark.parametrize(
    "line",
    [
        b'{"value":[{"id":"1","firstEventTime":"2024-03-01T00:00:00Z"}]}',
        b'{"title":"no id","firstEventTime":"2024-03-01T00:00:00Z"}',
        b'{"id":"1"}',
        b'{"id":"1","firstEventTime":"soon"}',
        b"[]",
    ],
)
def test_malformed_lines_raise_parse_error(line: bytes) -> None:
    with pytest.raises(ParseError):
        mde.parse(record("mde", line))
