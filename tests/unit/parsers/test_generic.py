"""The generic parser: identity mapping, user mappings from TOML/JSON, key=value lines, timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mimamori.errors import ConfigError, ParseError
from mimamori.parsers import generic

from .conftest import DATA_DIR, RECEIVED_AT, check_event, check_golden, record

MAPPING = DATA_DIR / "generic" / "mapped.toml"


def test_golden_identity() -> None:
    check_golden("generic", "identity", generic.parse)


def test_golden_custom_mapping() -> None:
    check_golden("generic", "mapped", generic.make_parser(generic.load_mapping(MAPPING)))


def test_json_mapping_file_equals_toml(tmp_path: Path) -> None:
    doc = {"dataset": "x.y", "fields": {"a": "source.ip", "n": "source.port:int"}, "unmapped_prefix": "x"}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    event = generic.make_parser(generic.load_mapping(path))(record("generic", b'a=10.0.0.1 n=80 other="q r"'))
    check_event(event)
    assert event is not None
    assert event.dataset == "x.y"
    assert event.fields == {"source.ip": "10.0.0.1", "source.port": 80, "x.other": "q r"}
    assert event.timestamp == RECEIVED_AT


@pytest.mark.parametrize(
    "text",
    ["fields = 3", "[fields]\na = 1", "[fields]\na = 'x.y:long'", "dataset = 5", "not toml ["],
)
def test_bad_mapping_files_are_config_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        generic.load_mapping(path)


def test_missing_mapping_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        generic.load_mapping(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        ("epoch", "1709254800", datetime(2024, 3, 1, 1, 0, tzinfo=UTC)),
        ("epoch_ms", "1709254800000", datetime(2024, 3, 1, 1, 0, tzinfo=UTC)),
        ("iso8601", "2024-03-01T10:00:00", datetime(2024, 3, 1, 1, 0, tzinfo=UTC)),  # sensor zone: Tokyo
        ("%d/%b/%Y:%H:%M:%S %z", "01/Mar/2024:10:00:00 +0900", datetime(2024, 3, 1, 1, 0, tzinfo=UTC)),
    ],
)
def test_timestamp_formats(fmt: str, value: str, expected: datetime) -> None:
    parser = generic.make_parser(generic.Mapping(timestamp_field="t", timestamp_format=fmt))
    event = parser(record("generic", f't="{value}" x=1'))
    assert event is not None
    assert event.timestamp == expected
    assert "t" not in event.fields


@pytest.mark.parametrize(
    "line",
    [b'a="open', b'"quoted"', b"[1,2]", b'{"a":', b'{"ts":"yesterday"}', b'{"ts":1e300}', b"just words"],
)
def test_malformed_lines_raise_parse_error(line: bytes) -> None:
    with pytest.raises(ParseError):
        generic.parse(record("generic", line))


def test_missing_required_timestamp_field() -> None:
    parser = generic.make_parser(generic.Mapping(timestamp_field="when"))
    with pytest.raises(ParseError, match="no timestamp field"):
        parser(record("generic", b"a=1"))


def test_unknown_sensor_time_zone_is_a_parse_error() -> None:
    raw = record("generic", b'{"ts":"2024-03-01T10:00:00"}')
    bad = type(raw)(raw.tenant_id, raw.sensor_id, raw.format, raw.data, raw.received_at, timezone="No/Such")
    with pytest.raises(ParseError, match="time zone"):
        generic.parse(bad)
