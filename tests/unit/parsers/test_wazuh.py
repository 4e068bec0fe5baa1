"""Wazuh alerts.json: rule, agent, data and Windows event channel mappings."""

from __future__ import annotations

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import wazuh

from .conftest import check_event, check_golden, record


def test_golden() -> None:
    check_golden("wazuh", "alerts", wazuh.parse)


@pytest.mark.parametrize(
    ("level", "name"), [(0, "low"), (6, "low"), (7, "medium"), (12, "high"), (15, "critical")]
)
def test_level_groups(level: int, name: str) -> None:
    line = f'{{"timestamp":"2024-03-01T00:00:00Z","rule":{{"id":"1","level":{level}}}}}'
    event = wazuh.parse(record("wazuh", line))
    check_event(event)
    assert event is not None
    assert event.fields["event.severity"] == level
    assert event.fields["log.level"] == name


@pytest.mark.parametrize(
    "line",
    [b"[]", b'{"rule":{}}', b'{"timestamp":"2024-03-01T00:00:00Z"}', b'{"timestamp":"x","rule":{}}', b"{"],
)
def test_malformed_lines_raise_parse_error(line: bytes) -> None:
    with pytest.raises(ParseError):
        wazuh.parse(record("wazuh", line))
