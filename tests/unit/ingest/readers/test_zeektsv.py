"""Zeek TSV to Zeek JSON: the header, types, escapes and sets, checked against Zeek's own JSON output."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from tests.unit.parsers.conftest import SHARED_DATA

from mimamori.domain import RawRecord
from mimamori.ingest.readers import zeektsv
from mimamori.ingest.readers.source import Record
from mimamori.parsers import zeek

HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#open\t2026-11-26-10-00-00\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\tlocal_orig"
    "\ttunnel_parents\tnote\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tbool\tset[string]\tstring\n"
)


def convert(text: str | bytes) -> list[Record]:
    data = text.encode() if isinstance(text, str) else text
    return list(zeektsv.read(iter([data]), 65536))


def objects(text: str | bytes) -> list[dict[str, object]]:
    return [json.loads(r) for r in convert(text) if isinstance(r, bytes)]


def test_types_unset_empty_sets_and_escapes() -> None:
    line = (
        "1764118800.123456\tCabc\t192.168.1.5\t50000\t203.0.113.66\t443\ttcp\t-\t1.500000\tT"
        "\ta\\x2cb,c\ttab\\x09and\\\\backslash \\xe6\\x97\\xa5 \\xff\n"
    )
    (obj,) = objects(HEADER + line + "#close\t2026-11-26-11-00-00\n")
    assert obj == {
        "_path": "conn",
        "ts": 1764118800.123456,
        "uid": "Cabc",
        "id.orig_h": "192.168.1.5",
        "id.orig_p": 50000,
        "id.resp_h": "203.0.113.66",
        "id.resp_p": 443,
        "proto": "tcp",
        "duration": 1.5,
        "local_orig": True,
        "tunnel_parents": ["a,b", "c"],
        "note": "tab\tand\\backslash 日 \\xff",
    }
    (empty,) = objects(HEADER + "1.0\tC\t::1\t1\t::1\t2\tudp\t(empty)\t-\tF\t(empty)\t\\x2d\n")
    assert empty["service"] == ""
    assert empty["tunnel_parents"] == []
    assert empty["note"] == "-"


def test_a_second_header_applies_to_the_lines_after_it_and_bad_lines_pass_through() -> None:
    other = "#separator \\x09\n#path\tdns\n#fields\tts\tquery\n#types\ttime\tstring\n1.0\texample.com\n"
    records = convert(HEADER + "only\ttwo\n" + other)
    assert records[0] == b"only\ttwo"  # wrong field count: left for the parser to refuse
    assert isinstance(records[1], bytes)
    assert json.loads(records[1]) == {"_path": "dns", "ts": 1.0, "query": "example.com"}


def test_sniff() -> None:
    assert zeektsv.sniff(HEADER.encode(), "conn.log")
    assert not zeektsv.sniff(b'{"_path":"conn"}', "conn.log")


def _shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found: {path}")
    return path


def _records(path: Path) -> Iterator[Record]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return zeektsv.read(iter([data]), 65536)


@pytest.mark.parametrize("name", ["notice", "ssh", "kerberos"])
def test_same_objects_as_zeeks_own_json_writer(name: str) -> None:
    tsv_path = _shared("zed-sample-data-zeek", "zeek-default", f"{name}.log.gz")
    tsv = [json.loads(r) for r in _records(tsv_path) if isinstance(r, bytes)]
    with gzip.open(_shared("zed-sample-data-zeek", "zeek-json", f"{name}.json.gz")) as handle:
        expected = [json.loads(line) for line in handle]
    assert len(tsv) == len(expected) > 0
    for got, want in zip(tsv, expected, strict=True):
        want.pop("_write_ts")
        for key, value in want.items():  # this sample was written with ISO-8601 times
            if isinstance(value, str) and value.endswith("Z") and isinstance(got.get(key), float):
                want[key] = round(datetime.fromisoformat(value).timestamp(), 6)
        assert got == want


@pytest.mark.parametrize(
    "relative",
    [
        "001-zeek-scenario-malicious/labeled-conn.log",
        "005-zeek-scenario-malicious/dns.log",
        "005-zeek-scenario-malicious/http.log",
        "006-zeek-scenario-ssh/ssh.log",
        "008-zeek-mixed/data/conn.log.labeled",
        "008-zeek-mixed/data/ssl.log.labeled",
        "008-zeek-mixed/data/notice.log.labeled",
    ],
)
def test_stratosphere_logs_all_parse_as_zeek(relative: str) -> None:
    path = _shared("stratosphere-zeek", *relative.split("/"))
    data_lines = sum(1 for line in path.read_bytes().splitlines() if line and not line.startswith(b"#"))
    records = list(_records(path))
    assert len(records) == data_lines
    for data in records:
        assert isinstance(data, bytes)
        event = zeek.parse(RawRecord("t", "s", "zeek", data, datetime.now().astimezone()))
        assert event is not None
        assert event.dataset == f"zeek.{json.loads(data)['_path']}"
