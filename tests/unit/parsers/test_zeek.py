"""Zeek JSON logs: conn and dns mappings, _path inference, real sample data."""

from __future__ import annotations

import gzip

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import zeek

from .conftest import SHARED_DATA, check_event, check_golden, record

ZED_JSON = SHARED_DATA / "zed-sample-data-zeek" / "zeek-json"
STRATOSPHERE = SHARED_DATA / "stratosphere-zeek" / "001-zeek-scenario-malicious" / "conn.log"


@pytest.mark.parametrize("name", ["conn", "dns", "other"])
def test_golden(name: str) -> None:
    check_golden("zeek", name, zeek.parse)


@pytest.mark.parametrize(
    ("line", "dataset"),
    [
        (b'{"ts":1,"id.orig_h":"a","proto":"tcp","conn_state":"S0"}', "zeek.conn"),
        (b'{"ts":1,"id.orig_h":"a","proto":"tcp"}', "zeek.conn"),
        (b'{"ts":1,"query":"x.example","qtype_name":"A"}', "zeek.dns"),
        (b'{"ts":1,"method":"GET","uri":"/"}', "zeek.http"),
        (b'{"ts":1,"server_name":"x.example","version":"TLSv13"}', "zeek.ssl"),
        (b'{"_path":"weird","ts":1,"name":"x"}', "zeek.weird"),
    ],
)
def test_log_type_inference(line: bytes, dataset: str) -> None:
    event = zeek.parse(record("zeek", line))
    check_event(event)
    assert event is not None
    assert event.dataset == dataset


@pytest.mark.parametrize(
    "line",
    [
        b"[1, 2]",
        b'{"ts": 1, "no_known_key": true}',
        b'{"_path": "conn"}',
        b'{"_path": "conn", "ts": "yesterday"}',
        b'{"_path": "conn", "ts": 1e300}',
        b'{"_path": "../../etc", "ts": 1}',
        b'{"_path": "conn", "ts": NaN}',
        b'{"_path": "conn", "ts": 1',
        b"1489002424.98\tC91Ycq\t10.0.0.1",
    ],
)
def test_malformed_lines_raise_parse_error(line: bytes) -> None:
    with pytest.raises(ParseError):
        zeek.parse(record("zeek", line))


def test_odd_values_are_kept_in_the_model() -> None:
    line = (
        b'{"_path":"conn","ts":1.5,"id.orig_h":"10.0.0.1","id.orig_p":"80","orig_bytes":18446744073709551615,'
        b'"nested":{"a":{"b":[1,{"c":2}]}},"nul":"a\\u0000b","big":-1e308}'
    )
    event = zeek.parse(record("zeek", line))
    check_event(event)
    assert event is not None
    assert "source.port" not in event.fields
    assert event.fields["zeek.conn.id.orig_p"] == "80"
    assert event.fields["zeek.conn.orig_bytes"] == "18446744073709551615"
    assert event.fields["zeek.conn.nested.a.b"] == '[1,{"c":2}]'
    assert event.fields["zeek.conn.nul"] == "a\ufffdb"


def test_real_zed_sample_lines() -> None:
    if not ZED_JSON.is_dir():
        pytest.skip(f"sample data absent: {ZED_JSON}")
    parsed = 0
    for path in sorted(ZED_JSON.glob("*.json.gz")):
        with gzip.open(path) as handle:
            for number, line in enumerate(handle):
                if number >= 1000:
                    break
                event = zeek.parse(record("zeek", line))
                check_event(event)
                assert event is not None, path.name
                assert event.dataset == "zeek." + path.name.split(".")[0]
                parsed += 1
    assert parsed > 3000


def test_tsv_header_lines_are_no_event() -> None:
    if not STRATOSPHERE.is_file():
        pytest.skip(f"sample data absent: {STRATOSPHERE}")
    with STRATOSPHERE.open("rb") as handle:
        headers = [line for _, line in zip(range(20), handle, strict=False) if line.startswith(b"#")]
    assert headers
    for line in headers:
        assert zeek.parse(record("zeek", line)) is None
