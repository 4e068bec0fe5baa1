"""Worst cases inside otherwise valid envelopes of the JSON-family formats (zeek, suricata, ecs, wazuh,
mde, generic): deep nesting, 1 MB values, many keys, huge numbers, odd types. Each must give an Event
within the model or a ParseError, quickly."""

from __future__ import annotations

import time

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import PARSERS

from .conftest import check_event, record

MB = 1 << 20
ENVELOPES = {
    "zeek": b'{"_path":"conn","ts":1709254800.5,%s}',
    "suricata": b'{"timestamp":"2024-03-01T10:00:00+0900","event_type":"alert","alert":{%s},%s}',
    "ecs": b'{"@timestamp":"2024-03-01T00:00:00Z","winlog":{"event_id":4624,"event_data":{%s}},%s}',
    "wazuh": b'{"timestamp":"2024-03-01T00:00:00Z","rule":{"id":"1",%s},"data":{%s}}',
    "mde": b'{"id":"x","firstEventTime":"2024-03-01T00:00:00Z","evidence":[{%s}],%s}',
    "generic": b'{"ts":1709254800,%s}',
}
PAYLOADS = [
    b'"deep":' + b'{"a":' * 1000 + b"1" + b"}" * 1000,
    b'"deep_list":' + b"[" * 1000 + b"]" * 1000,
    b'"big":"' + b"x" * MB + b'"',
    b'"k' + b'":1,"k'.join(str(i).encode() for i in range(50_000)) + b'":1',
    b'"huge":18446744073709551615,"neg":-9223372036854775809,"float":1.7976931348623157e308',
    b'"mixed":[1,"a",null,{"b":[true]}],"null":null,"empty":{},"nul":"a\\u0000b","\\u0000":1',
    b'"id.orig_p":"80","src_port":-5,"dest_port":65536,"srcport":"99999","level":99,"event_id":"x"',
    b'"rrname":[],"answers":{"a":1},"grouped":[1],"queries":[null],"sni":7,"url":{},"evidence":"x"',
    b'"\xff\xfe":"\xc3\x28"',
    # digits to str.isdigit() that int() refuses (superscript two, Arabic-Indic three)
    '"id.orig_p":"²","dest_port":"٣","event_id":"²","level":"²","@timestamp":"²","time":"²"'.encode(),
]


def _line(fmt: str, payload: bytes) -> bytes:
    envelope = ENVELOPES[fmt]
    return envelope.replace(b"%s", payload, 1).replace(b"%s", b'"pad":0')


@pytest.mark.parametrize("fmt", sorted(ENVELOPES))
@pytest.mark.parametrize("case", range(len(PAYLOADS)))
def test_worst_payloads(fmt: str, case: int) -> None:
    started = time.perf_counter()
    try:
        event = PARSERS[fmt](record(fmt, _line(fmt, PAYLOADS[case])))
    except ParseError:
        pass
    else:
        check_event(event)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize("fmt", sorted(ENVELOPES))
@pytest.mark.parametrize(
    "data", [b"null", b"[]", b'"x"', b"1e999", b"{}", b"{" + b" " * MB + b"}", b"\xef\xbb\xbf{}"]
)
def test_non_objects_and_empty_objects(fmt: str, data: bytes) -> None:
    try:
        event = PARSERS[fmt](record(fmt, data))
    except ParseError:
        return
    check_event(event)
