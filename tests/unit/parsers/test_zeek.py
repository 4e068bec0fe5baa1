"""Zeek JSON logs: conn and dns mappings, _path inference, real sample data."""

from __future__ import annotations

import gzip

import pytest

from mimamori.errors import ParseError
from mimamori.parsers import _native, zeek

from .conftest import SHARED_DATA, check_event, check_golden, record

ZED_JSON = SHARED_DATA / "zed-sample-data-zeek" / "zeek-json"
STRATOSPHERE = SHARED_DATA / "stratosphere-zeek" / "001-zeek-scenario-malicious" / "conn.log"


@pytest.mark.parametrize("name", ["conn", "dns", "other", "logs", "real"])
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
        b'{"_path": ["conn"], "ts": 1}',
        b'{"_path": {"a": 1}, "ts": 1}',
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


def test_tsv_data_line_names_the_fix() -> None:
    with pytest.raises(ParseError, match="without its header; import the file with `mimamori ingest`"):
        zeek.parse(record("zeek", b"1489002424.98\tC91Ycq\t10.0.0.1\t56464"))


def test_fast_and_checked_paths_agree() -> None:
    """The bulk rename and the key-by-key path give the same fields (a 19-digit string forces the latter)."""
    base = (
        b'{"_path":"conn","ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":80,"id.resp_h":"10.0.0.2",'
        b'"id.resp_p":443,"proto":"tcp","orig_bytes":5,"duration":0.5,"local_orig":true,"local_resp":false,'
        b'"unknown_key":1.25,"tunnel_parents":[]'
    )
    fast = zeek.parse(record("zeek", base + b"}"))
    checked = zeek.parse(record("zeek", base + b',"pad": 1234567890123456789}'))
    assert fast is not None
    assert checked is not None
    del checked.fields["zeek.conn.pad"]
    assert fast.fields == checked.fields


def test_a_layout_plan_is_reused_only_by_lines_of_the_same_types() -> None:
    """The per-layout plan is made from the first line; a line with the same keys but other value types
    (hostile or odd) takes the checked path and gets the same fields as on its own."""
    line = (
        b'{"_path":"conn","ts":1.5,"uid":"C1","id.orig_p":%s,"proto":"tcp","orig_bytes":%s,'
        b'"orig_l2_addr":"00:0c:29:ab:cd:ef","duration":0.5,"tunnel_parents":[]}'
    )
    zeek._TABLES.clear()
    first = zeek.parse(record("zeek", line % (b"80", b"5")))
    assert first is not None
    assert first.fields["source.port"] == 80
    assert first.fields["source.bytes"] == 5
    assert first.fields["source.mac"] == "00-0C-29-AB-CD-EF"
    assert first.fields["event.duration"] == 500_000_000
    assert first.fields["zeek.conn.tunnel_parents"] == []
    table = zeek._TABLES["conn"]
    assert len(table.plans) == (0 if _native.zeek_fields else 1)  # the C path needs no plans
    fresh: list[dict[str, object]] = []
    for port, size in [(b'"80"', b"5"), (b"80", b"[1]"), (b"80", b"null"), (b"70000", b"5"), (b"81", b"6")]:
        again = zeek.parse(record("zeek", line % (port, size)))
        zeek._TABLES.clear()  # the same line parsed with no plan at all
        alone = zeek.parse(record("zeek", line % (port, size)))
        assert again is not None
        assert alone is not None
        assert again.fields == alone.fields
        fresh.append(dict(again.fields))
        zeek._TABLES["conn"] = table
    assert fresh[0]["zeek.conn.id.orig_p"] == "80"
    assert "source.port" not in fresh[0]
    assert fresh[1]["zeek.conn.orig_bytes"] == [1]
    assert "source.port" not in fresh[3]
    assert fresh[4]["source.port"] == 81
    assert len(table.plans) == (0 if _native.zeek_fields else 1)  # one layout: one plan, whatever the types


@pytest.mark.parametrize(
    ("line", "field", "value"),
    [
        (b'{"_path":"conn","ts":1,"id.orig_p":-1,"id.resp_p":70000}', "source.port", None),
        (b'{"_path":"conn","ts":1,"uid":5}', "zeek.conn.uid", 5),
        (
            b'{"_path":"ssl","ts":1,"version":"TLSv13","server_name":"A.example."}',
            "tls.server.name",
            "a.example",
        ),
        (b'{"_path":"ssl","ts":1,"version":"TLSv13"}', "tls.version", "1.3"),
        (
            b'{"_path":"kerberos","ts":1,"client":"bob/CORP.EXAMPLE","success":false}',
            "user.domain",
            "CORP.EXAMPLE",
        ),
        (b'{"_path":"dhcp","ts":1,"mac":"00:0c:29:ab:cd:ef"}', "host.mac", "00-0C-29-AB-CD-EF"),
    ],
)
def test_field_conversions(line: bytes, field: str, value: object) -> None:
    event = zeek.parse(record("zeek", line))
    check_event(event)
    assert event is not None
    assert event.fields.get(field) == value


def test_real_zed_sample_lines() -> None:
    if not ZED_JSON.is_dir():
        pytest.skip(f"sample data absent: {ZED_JSON}")
    parsed = 0
    for path in sorted(ZED_JSON.glob("*.json.gz")):
        with gzip.open(path) as handle:
            for number, line in enumerate(handle):
                if number >= 4000:
                    break
                event = zeek.parse(record("zeek", line))
                check_event(event)
                assert event is not None, path.name
                assert event.dataset == "zeek." + path.name.split(".")[0]
                parsed += 1
    assert parsed > 5000


def test_tsv_header_lines_are_no_event() -> None:
    if not STRATOSPHERE.is_file():
        pytest.skip(f"sample data absent: {STRATOSPHERE}")
    with STRATOSPHERE.open("rb") as handle:
        headers = [line for _, line in zip(range(20), handle, strict=False) if line.startswith(b"#")]
    assert headers
    for line in headers:
        assert zeek.parse(record("zeek", line)) is None
