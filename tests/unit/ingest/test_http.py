"""HTTP ingest body reader: JSON lines and arrays, message vs raw objects, rejects, gzip limits."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import orjson
import pytest

from mimamori.errors import IngestError, PayloadTooLargeError
from mimamori.ingest import BodyTooLargeError, Route, UnsupportedEncodingError, decode_body, read_body

ROUTE = Route("tenant-a", "sensor-h", "zeek")
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FORTI = 'date=2024-05-01 time=12:00:00 devname="FG" srcip=192.168.1.5 msg="ログイン失敗"'
ZEEK = b'{"ts":1714564800.0,"uid":"C1","id.orig_h":"10.0.0.1",  "id.resp_p":443}'


def test_json_lines_with_messages_and_raw_objects() -> None:
    body = orjson.dumps({"message": FORTI}) + b"\r\n" + ZEEK + b"\n\n  \n"
    records, rejected = read_body(body, ROUTE, max_record=1000, now=NOW)
    assert rejected == []
    assert [r.data for r in records] == [FORTI.encode(), ZEEK]  # the object's own bytes, spacing kept
    record = records[0]
    assert (record.tenant_id, record.sensor_id, record.format) == ("tenant-a", "sensor-h", "zeek")
    assert (record.received_at, record.origin) == (NOW, "http")


def test_a_json_array_even_pretty_printed() -> None:
    items = [{"message": "line one"}, orjson.loads(ZEEK), {"message": 42}]
    body = orjson.dumps(items, option=orjson.OPT_INDENT_2)
    records, rejected = read_body(body, ROUTE, max_record=1000, now=NOW)
    assert rejected == []
    assert [r.data for r in records] == [
        b"line one",
        orjson.dumps(orjson.loads(ZEEK)),
        b'{"message":42}',  # a non-string message is not a log line: the object is kept
    ]


def test_json_lines_of_arrays() -> None:
    body = b'[{"message": "a"}, {"message": "b"}]\n[{"message": "c"}]\n'
    records, _ = read_body(body, ROUTE, max_record=1000, now=NOW)
    assert [r.data for r in records] == [b"a", b"b", b"c"]


def test_bad_lines_are_rejected_with_a_reason_and_the_rest_accepted() -> None:
    long_message = "x" * 200
    body = b"\n".join(
        [
            b'{"message": "good"}',
            b'{"message": "unterminated',
            orjson.dumps({"message": long_message}),
            b'"just a string"',
            b'{"message": "\\ud800 lone surrogate"}',
            b'{"message": "also good"}',
        ]
    )
    records, rejected = read_body(body, ROUTE, max_record=100, now=NOW)
    assert [r.data for r in records] == [b"good", b"also good"]
    reasons = [reason for _, reason in rejected]
    assert len(rejected) == 4
    assert reasons[0].startswith("bad JSON")
    assert reasons[1] == "oversize: 200 bytes > 100"
    assert rejected[1][0] == b"x" * 100  # cut to the limit
    assert reasons[2] == "not a JSON object"
    assert rejected[0][0] == b'{"message": "unterminated'


def test_empty_body() -> None:
    assert read_body(b"", ROUTE, max_record=10, now=NOW) == ([], [])
    assert read_body(b"[]", ROUTE, max_record=10, now=NOW) == ([], [])


def test_decode_body_identity_and_gzip() -> None:
    body = b'{"message": "hello"}\n' * 100
    assert decode_body(body, None, 10_000) == body
    assert decode_body(body, "identity", 10_000) == body
    assert decode_body(gzip.compress(body), "gzip", 10_000) == body
    assert decode_body(gzip.compress(body[:50]) + gzip.compress(body[50:]), " GZIP ", 10_000) == body


def test_decode_body_limits_and_errors() -> None:
    with pytest.raises(BodyTooLargeError):
        decode_body(b"x" * 101, None, 100)
    with pytest.raises(PayloadTooLargeError):  # what the interfaces map to HTTP 413
        decode_body(b"x" * 101, None, 100)
    with pytest.raises(ValueError):  # also a ValueError, like any bad argument value
        decode_body(b"x" * 101, None, 100)
    bomb = gzip.compress(b"\0" * 50_000_000)  # ~50 kB that would inflate to 50 MB
    assert len(bomb) < 100_000
    with pytest.raises(BodyTooLargeError, match="inflates beyond"):
        decode_body(bomb, "gzip", 1_000_000)
    assert len(decode_body(gzip.compress(b"y" * 1000), "gzip", 1000)) == 1000  # exactly at the limit
    with pytest.raises(UnsupportedEncodingError):
        decode_body(b"", "br", 100)
    with pytest.raises(IngestError, match="invalid gzip"):
        decode_body(b"not gzip at all", "gzip", 100)
    with pytest.raises(IngestError, match="truncated"):
        decode_body(gzip.compress(b"z" * 1000)[:-12], "gzip", 10_000)
