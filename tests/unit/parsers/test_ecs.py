"""ECS JSON (Winlogbeat 6/7/8, Filebeat, Elastic Agent, Elasticsearch hits): flattening and EVTX parity."""

from __future__ import annotations

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import ecs

from .conftest import check_event, check_golden, record


def test_golden() -> None:
    check_golden("ecs", "winlogbeat", ecs.parse)


def test_windows_fields_have_the_evtx_shape() -> None:
    line = (
        b'{"@timestamp":"2024-03-01T00:00:00Z","winlog":{"channel":"Security","event_id":"4624",'
        b'"computer_name":"PC1.corp","event_data":{"LogonType":3,"TargetUserName":"bob","Flag":true}}}'
    )
    event = ecs.parse(record("ecs", line))
    check_event(event)
    assert event is not None
    assert event.dataset == "windows.security"
    assert event.fields["winlog.event_id"] == 4624
    assert event.fields["winlog.event_data.LogonType"] == "3"
    assert event.fields["winlog.event_data.Flag"] == "true"
    assert event.fields["host.name"] == "PC1.corp"
    assert event.fields["event.code"] == "4624"


def test_dataset_from_the_document() -> None:
    event = ecs.parse(
        record("ecs", b'{"@timestamp":"2024-03-01T00:00:00Z","event":{"dataset":"nginx.access"}}')
    )
    assert event is not None
    assert event.dataset == "nginx.access"
    event = ecs.parse(record("ecs", b'{"@timestamp":"2024-03-01T00:00:00Z","event":{"dataset":"../../x"}}'))
    assert event is not None
    assert event.dataset == "ecs"


@pytest.mark.parametrize(
    "line",
    [b"[]", b'{"message":"no time"}', b'{"@timestamp":5}', b'{"@timestamp":"yesterday"}', b'{"@timestamp":'],
)
def test_malformed_lines_raise_parse_error(line: bytes) -> None:
    with pytest.raises(ParseError):
        ecs.parse(record("ecs", line))
