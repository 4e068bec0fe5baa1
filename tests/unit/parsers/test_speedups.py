"""The C speedups (``_speedups.c``, selected by ``_native``) against the pure-Python code they replace.

Differential: every C function must give exactly the pure function's result (or raise the same kind of
error) on random and hostile input — separators, quotes, escapes, NULs, control and Unicode whitespace
characters, surrogates, huge integers, deep nesting, 10 MB values — and whole parsers must give the same
Event (or the same ``ParseError``) with the C functions as with ``_native`` switched off. Skipped when
the extension is not built or ``MIMAMORI_PURE=1`` is set (then there is nothing to compare).
"""

from __future__ import annotations

import dataclasses
import json
import random
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from bench.mutations import mutate
from bench.parser_corpus import corpus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mimamori.domain.models import Event
from mimamori.errors import ParseError
from mimamori.parsers import _fast, _json, _native, _zeek_fields, evtx, fortigate, suricata, zeek
from mimamori.parsers.evtx import channels, ecs, values

from .conftest import DATA_DIR, RECEIVED_AT, record

pytestmark = pytest.mark.skipif(not _native.AVAILABLE, reason="C speedups not built, or MIMAMORI_PURE=1")

SETTINGS = settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAX_INT = 2**63 - 1
# Module globals through which the parsers reach the C functions, and the pure value of each.
SWITCHES: list[tuple[Any, str, Any]] = [
    (fortigate, "_kv_pairs", _fast.kv_pairs),
    (fortigate, "_to_ints", _fast.to_ints),
    (fortigate, "_rename_values", None),
    (fortigate, "_drop_unset", None),
    (fortigate, "_fortigate_ints", None),
    (zeek, "_zeek_event", None),
    (fortigate, "_fortigate_event", None),
    (suricata, "_suricata_event", None),
    (zeek, "_zeek_fields", None),
    (zeek, "_has_big_int", _json.has_big_int),
    (zeek, "_flatten", _json.flatten),
    (_zeek_fields, "_flatten", _json.flatten),
    (suricata, "_flatten", _json.flatten),
    (suricata, "_rename_into", None),
    (suricata, "_object_fields", None),
    (evtx, "_event_c", None),
    (evtx, "_fields_c", None),
    (values, "get", values._get),
    (values, "copy", values._copy),
    (ecs, "copy", values._copy),
    (channels, "copy", values._copy),
    (ecs, "get", values._get),
    (channels, "get", values._get),
    (ecs._HANDLERS, "windows.sysmon", ecs._sysmon),  # a dict entry: set by item
    (ecs._HANDLERS, "windows.security", ecs._security),
    (ecs, "enrich", ecs._enrich),
]


@contextmanager
def pure() -> Iterator[None]:
    """Run the parsers on their pure-Python paths for the duration."""
    saved = [(module, name, _get(module, name)) for module, name, _ in SWITCHES]
    try:
        for module, name, value in SWITCHES:
            _put(module, name, value)
        yield
    finally:
        for module, name, value in saved:
            _put(module, name, value)


def _get(where: Any, name: str) -> Any:
    return where[name] if isinstance(where, dict) else getattr(where, name)


def _put(where: Any, name: str, value: Any) -> None:
    if isinstance(where, dict):
        where[name] = value
    else:
        setattr(where, name, value)


def outcome(call: Callable[[], Any]) -> Any:
    """A call's result, or its exception's type and message (compared as values)."""
    try:
        return call()
    except (ParseError, TypeError, ValueError) as exc:
        return (type(exc).__name__, str(exc))


def as_tuple(event: Event | None, ordered: bool = False) -> Any:
    if event is None:
        return None
    # The time zone object too, and with ``ordered`` the field order (zeek and suricata build the very
    # same Event in C: their whole parse is there).
    return (
        event.timestamp, event.timestamp.tzinfo, event.tenant_id, event.dataset, event.sensor_id,
        event.fields, list(event.fields) if ordered else None, event.raw,
    )  # fmt: skip


# -- kv_split ------------------------------------------------------------------------------------------

TRICKY = st.sampled_from(
    ['"', "\\", "=", " ", "  ", "\t", "\n", "\u3000", "\xa0", "\x85", "\x1c", "\x7f", "\x01", "\x00", "\ud800",
     "\U0001f600", "é", "語", '=""', '="', "a=", ",", ":", "{", "}"]
)  # fmt: skip
WORD = st.text(st.sampled_from("abk1_-.:/é語"), min_size=0, max_size=4)
KEY = st.text(st.sampled_from("abktype_1.é"), min_size=0, max_size=4)


@st.composite
def bodies(draw: st.DrawFn) -> str:
    """Mostly well-formed ``k=v k="v w"`` bodies with tricky characters sprinkled in."""
    tokens = []
    for _ in range(draw(st.integers(1, 8))):
        key = draw(KEY | TRICKY)
        value = draw(st.lists(WORD | TRICKY, max_size=4).map("".join))
        tokens.append(f'{key}="{value}"' if draw(st.booleans()) else f"{key}={value}")
        if draw(st.integers(0, 5)) == 0:
            tokens.append(draw(WORD | TRICKY))
    return draw(st.sampled_from([" ", "  ", "", "\t"])).join(tokens) + draw(st.sampled_from(["", " ", '"']))


def check_kv(body: str) -> None:
    assert _native.kv_split is not None
    assert _native.kv_split(body) == _fast.kv_pairs(body)


@SETTINGS
@given(body=bodies() | st.text(max_size=80))
def test_kv_split_is_kv_pairs(body: str) -> None:
    check_kv(body)


def test_kv_split_on_mutated_fortigate_lines() -> None:
    rng = random.Random(3)
    lines = [
        line
        for path in sorted((DATA_DIR / "fortigate").glob("*.log"))
        for line in path.read_bytes().splitlines()
        if line.strip()
    ]
    for _ in range(5000):
        text = mutate(rng.choice(lines), rng).decode("utf-8", "replace")
        check_kv(text)
        check_kv(text.partition(">")[2])


def test_kv_split_keeps_order_and_the_last_of_a_repeated_key() -> None:
    assert _native.kv_split is not None
    pairs = _native.kv_split('b=1 a="x y" b=2 語=値 e=')
    assert pairs == {"b": "2", "a": "x y", "語": "値", "e": ""}
    assert list(pairs or {}) == ["b", "a", "語", "e"]


def test_kv_split_huge_and_hostile_bodies() -> None:
    assert _native.kv_split is not None
    huge = "a=" + "x" * 10_000_000
    assert _native.kv_split(huge) == {"a": "x" * 10_000_000}
    assert _native.kv_split('a="' + "y" * 10_000_000) is None  # unterminated quote
    for body in ["", " ", "=", '"', "a", "a=b ", " a=b", "a=b\x00", "a=\ud800", 'a="\\"', "k=" * 100_000]:
        check_kv(body)
    many = " ".join(f"key{i}=v{i}" for i in range(50_000))
    assert _native.kv_split(many) == _fast.kv_pairs(many)
    with pytest.raises(TypeError):
        _native.kv_split(b"a=b")  # type: ignore[arg-type]


# -- to_ints, has_big_int -------------------------------------------------------------------------------

NUMBERS = st.sampled_from(
    ["0", "00", "01", "1", "65535", "9223372036854775807", "9223372036854775808", "99999999999999999999",
     "", "-1", "+1", "1.5", "１", "٣", " 1", "1 ", "1e3", "18446744073709551616"]
) | st.integers(0, 2**70).map(str)  # fmt: skip


@SETTINGS
@given(values=st.lists(NUMBERS, max_size=8), limit=st.sampled_from([0, 1, 65535, MAX_INT]))
def test_to_ints_is_the_pure_one(values: list[str], limit: int) -> None:
    assert _native.to_ints is not None
    assert _native.to_ints(values, limit) == _fast.to_ints(values, limit)
    assert _native.to_ints(tuple(values), limit) == _fast.to_ints(tuple(values), limit)


JSONISH = st.lists(
    st.sampled_from([b"1", b"9", b"0", b":", b",", b"[", b" ", b"\t", b"\n", b"\r", b"-", b".", b'"', b"x", b"\xff"]),
    max_size=120,
).map(b"".join)  # fmt: skip


@SETTINGS
@given(data=JSONISH | st.binary(max_size=80))
def test_has_big_int_is_the_pure_one(data: bytes) -> None:
    assert _native.has_big_int is not None
    assert _native.has_big_int(data) == _json.has_big_int(data)


def test_has_big_int_edges() -> None:
    assert _native.has_big_int is not None
    for data in [
        b"",
        b":" + b"1" * 18,
        b":" + b"1" * 19,
        b"1" * 40,
        b"x" + b"1" * 40,
        b"[" + b"0" * 19 + b"]",
    ]:
        assert _native.has_big_int(data) == _json.has_big_int(data)


@SETTINGS
@given(
    fields=st.dictionaries(
        st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(["", "N/A", "n/a", "x", "NA"])
    ),
    names=st.lists(st.sampled_from(["a", "b", "c", "e"]), max_size=5).map(tuple),
)
def test_drop_unset_is_the_pure_loop(fields: dict[str, Any], names: tuple[str, ...]) -> None:
    assert _native.drop_unset is not None
    native = dict(fields)
    _native.drop_unset(native, names, fortigate._NOT_SET)
    expected = dict(fields)
    for name in names:
        if expected.get(name) in fortigate._NOT_SET:
            del expected[name]
    assert native == expected
    with pytest.raises(TypeError):
        _native.drop_unset({"a": []}, ("a",), fortigate._NOT_SET)  # unhashable, as in Python


# -- flatten, rename_into, object_fields ---------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([MAX_INT, -MAX_INT, -MAX_INT - 1, MAX_INT + 1, 0, 65535, 65536, -1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
KEYS = st.sampled_from(
    ["a", "b", "", ".", "x.y", "\x00", "語", "signature", "rev", "severity", "action", "category", "src_ip",
     "dest_port", "src_port", "alert", "http", "tls", "flow", "dns", "fileinfo", "anomaly", "proto", "flow_id",
     "timestamp", "event_type", "hostname", "url", "status", "length", "size", "filename"]
)  # fmt: skip
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5)
)


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for n in range(levels):
        value = {f"k{n}": value, "n": n}
    return value


@SETTINGS
@given(value=VALUES, name=st.sampled_from(["x", "suricata.dns", ""]), depth=st.integers(0, 9))
def test_flatten_is_the_pure_one(value: Any, name: str, depth: int) -> None:
    assert _native.flatten is not None
    native: dict[str, Any] = {"pre": 1}
    expected: dict[str, Any] = {"pre": 1}
    _native.flatten(native, name, value, depth)
    _json.flatten(expected, name, value, depth)
    assert native == expected
    assert list(native) == list(expected)


def test_flatten_deep_and_odd_values() -> None:
    assert _native.flatten is not None
    for value in [deep(20), deep(300), [deep(3)], [[1]], [None], (1, 2), {1: "int key"}, {"a": (1,)}, set()]:
        native: dict[str, Any] = {}
        expected: dict[str, Any] = {}
        _native.flatten(native, "v", value)
        _json.flatten(expected, "v", value)
        assert native == expected


@SETTINGS
@given(obj=st.dictionaries(KEYS, VALUES, max_size=8), kind=st.sampled_from(sorted(suricata._PLAIN)))
def test_rename_into_is_suricatas_rename(obj: dict[str, Any], kind: str) -> None:
    native: dict[str, Any] = {}
    suricata._rename(native, obj, kind)
    expected: dict[str, Any] = {}
    with pure():
        suricata._rename(expected, obj, kind)
    assert native == expected
    assert list(native) == list(expected)


@SETTINGS
@given(obj=st.dictionaries(KEYS, VALUES, max_size=10))
def test_object_fields_is_suricatas_loop(obj: dict[str, Any]) -> None:
    native = outcome(lambda: suricata._fields(obj))
    with pure():
        expected = outcome(lambda: suricata._fields(obj))
    assert native == expected


# -- zeek_fields -----------------------------------------------------------------------------------------

ZEEK_KEYS = st.sampled_from(
    sorted(
        {key for spec in (_zeek_fields.COMMON, *_zeek_fields.SPECS.values()) for key in spec}
        | {"ts", "_path", "x", "y.z"}
    )
)
ZEEK_VALUES = VALUES | st.sampled_from(
    [80, 70000, -1, 2**64, 0.5, -0.5, 1e10, "00:0c:29:ab:cd:ef", "TLSv12", True]
)


@SETTINGS
@given(
    obj=st.dictionaries(ZEEK_KEYS, ZEEK_VALUES, max_size=12),
    path=st.sampled_from(sorted(_zeek_fields.SPECS)),
    checked=st.booleans(),
)
def test_zeek_fields_is_the_pure_path(obj: dict[str, Any], path: str, checked: bool) -> None:
    table = zeek._table(path)
    native = outcome(lambda: zeek._fields(dict(obj), table, checked))
    with pure():
        expected = outcome(lambda: zeek._fields(dict(obj), table, checked))
    assert native == expected
    if isinstance(native, dict):
        assert list(native) == list(expected)


# -- whole parsers ---------------------------------------------------------------------------------------


def golden(fmt: str) -> list[bytes]:
    return [
        line
        for path in sorted((DATA_DIR / fmt).glob("*.log"))
        for line in path.read_bytes().splitlines()
        if line.strip()
    ]


def same_event(fmt: str, data: bytes) -> None:
    parse = {
        "fortigate": fortigate.parse,
        "zeek": zeek.parse,
        "suricata": suricata.parse,
        "evtx": evtx.parse,
    }[fmt]
    rec = record(fmt, data)
    ordered = fmt in ("zeek", "suricata")
    native = outcome(lambda: as_tuple(parse(rec), ordered))
    with pure():
        expected = outcome(lambda: as_tuple(parse(rec), ordered))
    assert native == expected, data[:200]


@pytest.mark.parametrize("fmt", ["fortigate", "zeek", "suricata", "evtx"])
def test_parsers_give_the_same_events_on_golden_and_mutated_lines(fmt: str) -> None:
    rng = random.Random(11)
    lines = golden(fmt)
    for line in lines:
        same_event(fmt, line)
    for _ in range(4000):
        same_event(fmt, mutate(rng.choice(lines), rng))


@pytest.mark.parametrize("fmt", ["zeek", "suricata"])
@SETTINGS
@given(obj=st.dictionaries(ZEEK_KEYS | KEYS, ZEEK_VALUES, max_size=12), seed=st.integers(0, 3))
def test_json_parsers_give_the_same_events_on_random_objects(
    fmt: str, obj: dict[str, Any], seed: int
) -> None:
    base: dict[str, Any] = (
        {"_path": ["conn", "dns", "http", "ssl", "x509", "software", "notice"][seed], "ts": 1.5}
        if fmt == "zeek"
        else {"timestamp": "2024-03-01T00:00:00+00:00", "event_type": ["alert", "dns", "http", "flow"][seed]}
    )
    same_event(fmt, json.dumps({**base, **obj}).encode())


@pytest.mark.parametrize(
    "line",
    [
        b"date=2024-03-01 time=10:00:00 type=traffic " + b"x=" + b"9" * 10_000_000,
        b'<189>date=2024-03-01 time=10:00:00 type="traffic" srcport=99999999999999999999 dstport=70000',
        b'<189>date=2024-03-01 time=10:00:00 type="traffic" devname="\xff\xfe\x00" srcip=1.2.3.4',
        b"date=2024-03-01 time=10:00:00 type=traffic " + b"k=v " * 100_000 + b"end=1",
    ],
)
def test_fortigate_hostile_lines(line: bytes) -> None:
    same_event("fortigate", line)


# -- zeek_event, suricata_event: whole events ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["zeek", "suricata"])
def test_whole_events_on_the_real_samples_and_their_mutations(fmt: str) -> None:
    """Golden, simulated and (when present) the real Zeek/Suricata samples of ``/work/shared/data``."""
    lines = corpus(fmt, real_limit=20_000)
    for line in lines:
        same_event(fmt, line)
    rng = random.Random(5)
    for _ in range(3000):
        same_event(fmt, mutate(rng.choice(lines), rng))


def test_the_c_path_takes_the_common_lines() -> None:
    """Not a silent fallback: the common lines give their Event from C (None means the Python path)."""
    assert _native.zeek_event is not None
    assert _native.suricata_event is not None
    zeek.parse(record("zeek", b'{"_path":"conn","ts":1.5}'))  # the first line of a type makes its table
    suricata.parse(record("suricata", b'{"event_type":"alert","timestamp":"2024-03-01T00:00:00Z"}'))
    assert _native.zeek_event(record("zeek", b'{"_path":"conn","ts":1.5,"id.orig_p":1}')) is not None
    line = b'{"event_type":"alert","timestamp":"2024-03-01T00:00:00Z","alert":{"signature_id":1}}'
    assert _native.suricata_event(record("suricata", line)) is not None
    for hard in [b"", b" {}", b"#x", b"{bad", b"[1]", b'{"_path":"conn"', b'{"_path":"never_seen_yet"}']:
        assert _native.zeek_event(record("zeek", hard)) is None
        assert _native.suricata_event(record("suricata", hard)) is None


# -- fortigate_event: all of fortigate.parse but _build ------------------------------------------------


def test_whole_fortigate_events_on_the_corpus_and_its_mutations() -> None:
    """Golden, simulated and (when present) Wazuh's FortiGate test lines, and mutations of them."""
    lines = corpus("fortigate", real_limit=20_000)
    for line in lines:
        same_event("fortigate", line)
    rng = random.Random(7)
    for _ in range(4000):
        same_event("fortigate", mutate(rng.choice(lines), rng))


FG_BODY = (
    b'date=2024-03-01 time=10:00:00 tz="+0900" devname="FG-1" type="traffic" subtype="forward" srcip=10.0.0.5'
)


def test_the_c_path_takes_the_common_fortigate_lines() -> None:
    assert _native.fortigate_event is not None
    fortigate.parse(record("fortigate", FG_BODY))  # the first line of a type/subtype caches its dataset
    for common in [
        FG_BODY,
        b"<189>" + FG_BODY,
        FG_BODY + b"\r\n",
        FG_BODY + b' user="\xe5\xb1\xb1\xe7\x94\xb0"',
    ]:
        assert _native.fortigate_event(record("fortigate", common)) is not None, common
    for hard in [
        b"",
        b"  ",
        b"<1890>" + FG_BODY,
        b"<192>" + FG_BODY,
        b"<>" + FG_BODY,
        b"<189>1 2024-03-01T10:00:00Z fg - - - - " + FG_BODY,
        b"Mar  1 10:00:00 fg " + FG_BODY,
        b"\xef\xbb\xbf" + FG_BODY,
        FG_BODY + b" x=\xff",
        FG_BODY + b" x=\x00",
        FG_BODY + b"  x=1",
        FG_BODY.replace(b'"traffic"', b'"never-seen-type"'),
        FG_BODY.replace(b"type=", b"kind="),
        FG_BODY.replace(b"date=2024-03-01", b"date=2024-02-30"),
        FG_BODY.replace(b' tz="+0900"', b""),  # the sensor's zone: Python applies it
    ]:
        assert _native.fortigate_event(record("fortigate", hard)) is None, hard
        same_event("fortigate", hard)


# -- fortigate_build: fortigate._build for a cached key layout ----------------------------------------

FG_KEYS = sorted(
    {*fortigate._NAMES, "type", "subtype", "status", "catdesc", "recipient", "action", "utmaction", "x-y"}
)
FG_VALUES = st.sampled_from(
    ["", "N/A", "n/a", "0", "6", "17", "999", "65535", "65536", "007", "9223372036", "9223372035",
     "9223372036854775807", "9223372036854775808", "99999999999999999999", "-1", "١٢", "00:11:22:AA:bb:cc",
     "00-11-22-aa-bb-cc", "0011.22aa.bbcc", "accept", "deny", "close", "Blocked", "passthrough", "HTTPS",
     "Ｄｎｓ", "Example.COM.", "例え.テスト.", "...", "http://Evil.example:8080/a?b#c", "/p?q", "[::1]:80/x",
     "1.2.3.4, 5.6.7.8,", " , ", "İstanbul", "ß"]
) | st.text(max_size=12)  # fmt: skip
FG_FEATURES = st.sampled_from([*fortigate._CATEGORY, "utm", "event", "webfilter", "traffic", "Traffic"])


def build_outcome(build: Callable[[dict[str, str], str], Any], pairs: dict[str, str], feature: str) -> Any:
    """``_build``'s fields in insertion order, or the exception it raised (as a value)."""
    try:
        return list(build(dict(pairs), feature).items())
    except Exception as exc:
        return (type(exc).__name__, str(exc))


@SETTINGS
@given(pairs=st.dictionaries(st.sampled_from(FG_KEYS), FG_VALUES, max_size=14), feature=FG_FEATURES)
def test_fortigate_build_is_pythons(pairs: dict[str, str], feature: str) -> None:
    """Every rename, integer, N/A, special and tail rule, in the same order, on hostile values."""
    assert _native.fortigate_build is not None
    expected = build_outcome(fortigate._build, pairs, feature)  # also caches the layout
    assert tuple(pairs) in fortigate._LAYOUTS or sum(map(len, pairs)) > fortigate._CACHED_KEYS_CHARS
    assert build_outcome(_native.fortigate_build, pairs, feature) == expected


def test_fortigate_build_on_the_corpus_and_for_uncached_layouts() -> None:
    assert _native.fortigate_build is not None
    for line in corpus("fortigate", real_limit=5_000):
        try:
            pairs = fortigate._split(line.decode("utf-8", "replace"), RECEIVED_AT)
            feature = fortigate._dataset(pairs["type"], pairs.get("subtype", ""))[1]
        except ParseError:
            continue
        expected = build_outcome(fortigate._build, pairs, feature)
        assert build_outcome(_native.fortigate_build, pairs, feature) == expected
    fortigate._LAYOUTS.clear()  # not cached: the Python function builds (and caches) the layout
    pairs = {"type": "traffic", "srcip": "10.0.0.1", "duration": "12", "proto": "6"}
    fields = _native.fortigate_build(pairs, "traffic")
    assert fields["event.duration"] == 12 * 10**9
    assert fields["network.transport"] == "tcp"
    assert tuple(pairs) in fortigate._LAYOUTS
    with pytest.raises(TypeError):
        _native.fortigate_build([], "traffic")  # type: ignore[arg-type]


EPOCHS = st.integers(0, 2**64).map(str) | st.sampled_from(
    ["", "0", "00000000000000000001", "9223372036854775807", "9223372036854775808", "99999999999",
     "100000000000", "99999999999999", "100000000000000", "99999999999999999", "100000000000000000",
     "1700000000", "1700000000123", "1700000000123456", "1700000000123456789", "-1", "+1", " 1", "1.5",
     "١٢٣", "1e9", "0x10"]
)  # fmt: skip
DATES = st.sampled_from(
    ["2024-03-01", "2024-3-1", "0001-01-01", "9999-12-31", "0000-01-01", "2024-02-29", "2023-02-29",
     "2024-13-01", "2024-00-10", "2024-01-32", "24-01-01", "2024-001-01", "2024/01/01", "２０２４-01-01", ""]
) | st.from_regex(r"\A[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}\Z")  # fmt: skip
CLOCKS = st.sampled_from(
    ["10:00:00", "1:2:3", "10: 0:00", "10:  0:00", "23:59:59", "24:00:00", "10:60:00", "10:00:60",
     "10:00", "10:00:00.5", "100:00:00", "٠١:00:00", ""]
) | st.from_regex(r"\A[0-9]{1,2}: ?[0-9]{1,2}:[0-9]{1,2}\Z")  # fmt: skip
ZONES = st.sampled_from(
    [None, "UTC", "GMT", "Z", "+0000", "-0000", "+09:00", "+0900", "-0800", "+23:59", "+2400", "+0599",
     "+9", "+09:0", "JST", "utc", "+09:00:00", "−0900", ""]
) | st.from_regex(r"\A[+-][0-9]{2}:?[0-9]{2}\Z")  # fmt: skip


@SETTINGS
@given(
    eventtime=st.none() | EPOCHS, logtime=st.none() | EPOCHS, date=DATES, clock=CLOCKS, tz=ZONES,
    header=st.sampled_from([b"", b"<189>", b"<0>", b"<191>", b"<007>"]),
)  # fmt: skip
def test_fortigate_times_are_pythons(
    eventtime: str | None, logtime: str | None, date: str, clock: str, tz: str | None, header: bytes
) -> None:
    parts = [f"date={date}", f'time="{clock}"' if " " in clock or not clock else f"time={clock}"]
    parts += [f"tz={tz}" if tz else f'tz="{tz}"'] if tz is not None else []
    parts += ["type=traffic subtype=forward"]
    parts += [f"eventtime={eventtime}"] if eventtime else []
    parts += [f"logtime={logtime}"] if logtime else []
    same_event("fortigate", header + " ".join(parts).encode())


TIMES = st.floats(min_value=-7e10, max_value=3e11, allow_nan=False) | st.sampled_from(
    [0.0, -0.0, 0.5, -0.5, 1.0000005, 1.0000015, -1.0000005, 1521911720.8657159, 1e-7, -1e-7,
     -62135596800.0, -62135596800.5, -62135596799.9999995, 253402300799.999999, 253402300799.9999996,
     253402300800.0, 1e300, -1e300, 2.0**63, 4.9e-324, 1700000000.9999995,
     # exact halves of a microsecond (k/128 s): CPython rounds them half to even
     0.0078125, 1.0078125, 0.0390625, -0.0078125, -0.0390625, 1700000000.0078125, 1700000000.0390625]
)  # fmt: skip


@SETTINGS
@given(ts=TIMES | st.integers(-(2**66), 2**66))
def test_zeek_epoch_times_are_pythons(ts: float) -> None:
    """``datetime.fromtimestamp(ts, UTC)``'s rounding (half to even) and range, computed in C."""
    same_event("zeek", json.dumps({"_path": "conn", "ts": ts}).encode())


@st.composite
def iso_times(draw: st.DrawFn) -> str:
    """ISO-8601-like text, valid or nearly: every part may be out of range or of an odd form."""

    def num(width: int, low: int, high: int) -> str:
        return str(draw(st.integers(low, high))).zfill(width)

    date = f"{num(4, 0, 9999)}-{num(2, 0, 13)}-{num(2, 0, 32)}"
    time = f"{num(2, 0, 25)}:{num(2, 0, 61)}:{num(2, 0, 61)}"
    fraction = draw(st.sampled_from(["", ".", ".1", ".12", ".123", ".1234", ".123456", ".1234567", ",123"]))
    offset = draw(
        st.sampled_from(["", "Z", "z", "+00:00", "-0600", "+0530", "+05:30", "+23:59", "-23:59", "+24:00",
                         "+05", "+05:30:15", "-00:60", "+1:00", "Z ", " Z", "+05:3", "+١٢:٠٠"])
    )  # fmt: skip
    separator = draw(st.sampled_from(["T", "T", "T", " ", "t", "x"]))
    return date + separator + time + fraction + offset


EDGES = st.sampled_from(
    ["0001-01-01T00:00:00Z", "0001-01-01T05:00:00+06:00", "0001-01-01T05:00:00-06:00",
     "9999-12-31T23:59:59.999999Z", "9999-12-31T23:00:00-01:00", "9999-12-31T23:00:00+01:00",
     "2024-02-29T12:00:00Z", "2023-02-29T12:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
     "2018-03-24T14:37:19.037299-0600", "2018-03-24T17:15:20.865716Z", "", "2024", "２０２４-01-01T00:00:00Z",
     "2024-01-01T00:00:00.١٢٣Z"]
)  # fmt: skip


@SETTINGS
@given(
    text=st.one_of(iso_times(), iso_times(), iso_times(), EDGES),
    zone=st.sampled_from(["UTC", "Asia/Tokyo", "America/Denver", "Nowhere/X"]),
)
def test_iso_times_are_pythons(text: str, zone: str) -> None:
    """``fromisoformat(...).astimezone(UTC)`` in C for the common forms; everything else is Python's."""
    for fmt, obj in [
        ("suricata", {"event_type": "flow", "timestamp": text}),
        ("zeek", {"_path": "dns", "ts": text}),
    ]:
        rec = dataclasses.replace(record(fmt, json.dumps(obj).encode()), timezone=zone)
        parse = zeek.parse if fmt == "zeek" else suricata.parse
        native = outcome(lambda: as_tuple(parse(rec), True))  # noqa: B023 - called at once
        with pure():
            expected = outcome(lambda: as_tuple(parse(rec), True))  # noqa: B023
        assert native == expected, text


HOSTILE_SURICATA = [
    {"alert": [1]}, {"alert": {"signature_id": 2**70, "action": "blocked", "rev": 2**64}},
    {"alert": {"signature_id": True, "action": ["allowed"], "severity": -(2**63)}},
    {"http": "x"}, {"http": {"protocol": "HTTP/\u0661.\u0661", "url": "/a?b"}},
    {"http": {"protocol": "HTTP/1.1x", "url": 5, "hostname": "..."}},
    {"http": {"protocol": "HTTP/2", "url": "?", "hostname": "ÉXAMPLE.Com.", "status": 2**64}},
    {"http": {"protocol": "HTTP/", "url": "/p?", "hostname": ""}}, {"http": {"url": "/x?y?z", "hostname": 1}},
    {"fileinfo": {"filename": "/a/b/c.exe", "size": 2**63}}, {"fileinfo": {"filename": "c/"}},
    {"fileinfo": {"filename": ["a/b"]}}, {"flow": {"start": 1, "pkts_toserver": 2**63 - 1}},
    {"anomaly": {"event": None}}, {"tls": {"sni": "A.B.", "version": "TLS 1.2", "ja3": {"hash": "h"}}},
    {"dns": {"queries": [{"rrname": "X."}], "answers": [{"rdata": "1.2.3.4", "rrtype": "A"}]}},
    {"src_port": 2**64, "dest_port": -1, "proto": "TCP", "flow_id": 2**65, "app_proto": "HTTP"},
    {"src_port": 70000, "dest_port": 65535, "proto": "ÜDP", "app_proto": "İ"},
    {"src_ip": "\u0000", "x\u0000": "y\u0000", "alert": {"signature": "a\u0000b"}},
    {"payload": "A" * 100_000, "packet": [1, [2], {"a": 1}]},
    {"tls": {"version": "TLSv1.2", "fingerprint": "ab:" * 19 + "cd", "ja3": {"hash": 5}, "ja3s": {"hash": "s"}}},
    {"tls": {"version": "TLS 1.3", "fingerprint": "é" * 59, "sni": "Ä.B.", "ja3": ["hash"]}},
    {"tls": {"version": "SSLv3", "fingerprint": "a" * 58, "sni": "...", "subject": 1, "serial": "x"}},
    {"tls": {"version": "DTLSv1.0", "fingerprint": "A:b" * 19 + "zz", "sni": ""}},
    {"tls": {"version": "TLS v\u0661"}}, {"tls": {"version": "TLSv1."}}, {"tls": {"version": "TLS"}},
    {"tls": {"version": "TLSv12x"}}, {"tls": {"version": "tls1.2"}}, {"tls": {"version": "TLS  1"}},
    {"tls": {"version": 12, "fingerprint": 59, "sni": ["a"], "ja3": None}}, {"tls": []},
]  # fmt: skip
HOSTILE_ZEEK = [
    {"local_orig": True, "local_resp": False}, {"local_orig": 1, "local_resp": False},
    {"local_orig": [True], "local_resp": {}}, {"id.orig_p": 2**64, "id.resp_p": -1, "duration": 2**70},
    {"id.orig_h": "\u0000", "x\u0000": "\u0000"}, {"uid": "A" * 100_000}, {"ts": True}, {"ts": None},
    {"ts": [1.5]}, {"ts": "1.5"}, {"ts": 10**30}, {"ts": 1}, {"orig_l2_addr": "00:0c:29:ab:cd:ef"},
    # the handlers run in C (_zeek_fields.NATIVE)
    {"answers": ["A.B.", "1.2.3.4", "...", "", "TXT 16 v=spf1 -all", "::1", "1.2.3", ".", "a:b."]},
    {"answers": ["É.", "١٢٣"]}, {"answers": ["a", 1]}, {"answers": []}, {"answers": "x"},
    {"duration": 0.0078125}, {"duration": 8999999999}, {"duration": 9e9}, {"duration": 1.5e-9},
    {"duration": 2.5e-9}, {"duration": -0.0}, {"duration": True}, {"duration": 2**64},
    {"trans_id": 65535}, {"trans_id": 65536}, {"trans_id": -1}, {"trans_id": "1"},
    {"query": "EXAMPLE.COM."}, {"query": ""}, {"query": "Ä."}, {"TTLs": [1.0, {"a": 1}]}, {"TTLs": None},
]  # fmt: skip


@pytest.mark.parametrize("extra", HOSTILE_SURICATA)
@pytest.mark.parametrize("event_type", ["alert", "http", "fileinfo", "dns", "tls", "flow", "new_type_x"])
def test_hostile_suricata_objects(extra: dict[str, Any], event_type: str) -> None:
    base = {"timestamp": "2024-03-01T00:00:00.5+09:00", "event_type": event_type}
    text = json.dumps({**base, **extra}, ensure_ascii=False)
    same_event("suricata", text.encode())
    same_event("suricata", text.encode())  # the second line of a new type takes the C path


@pytest.mark.parametrize("extra", HOSTILE_ZEEK)
@pytest.mark.parametrize("path", ["conn", "dns", "software", "x509", "notice", "smb_files", "brand_new"])
def test_hostile_zeek_objects(extra: dict[str, Any], path: str) -> None:
    text = json.dumps({"_path": path, "ts": 1.25, **extra}, ensure_ascii=False)
    same_event("zeek", text.encode())
    same_event("zeek", text.encode())


@pytest.mark.parametrize("fmt", ["zeek", "suricata"])
def test_whole_events_on_odd_bytes(fmt: str) -> None:
    head = (
        b'{"_path":"conn","ts":1.5,'
        if fmt == "zeek"
        else b'{"event_type":"alert","timestamp":"2024-03-01T00:00:00Z",'
    )
    for tail in [
        b'"a":"\xff\xfe"}',
        b'"a":"\x00"}',
        b'"a":1}\x00',
        b'"a":' + b"[" * 2000 + b"]" * 2000 + b"}",
        b'"a":' + b"9" * 5000 + b"}",
        b'"a":1e400}',
        b'"a":NaN}',
        b'"a":"\\ud800"}',
        b'"a":1} {"b":2}',
        b'"\\u0000":"\\u0000"}',
        b'"a":"\\"}',
        b'"a":"' + b"\\" * 9 + b'"}',
        b"}",
    ]:
        same_event(fmt, head + tail)


def test_the_common_zeek_handlers_run_in_c() -> None:
    """``_zeek_fields.NATIVE`` handlers are not called from C (no Python call), the others are."""
    called: list[str] = []

    def profile(frame: Any, event: str, _arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename == _zeek_fields.__file__:
            called.append(frame.f_code.co_name)

    line = b'{"_path":"dns","ts":1.5,"query":"A.","answers":["B."],"trans_id":1,"TTLs":[1.0],"rejected":1}'
    zeek.parse(record("zeek", line))
    sys.setprofile(profile)
    try:
        event = zeek.parse(record("zeek", line))
        zeek.parse(record("zeek", b'{"_path":"conn","ts":1.5,"duration":0.5,"orig_l2_addr":"x"}'))
    finally:
        sys.setprofile(None)
    assert event is not None
    assert event.fields["dns.answers"] == ["b"]
    assert called == ["_mac"]  # conn's duration in C; the MAC check stays in Python
