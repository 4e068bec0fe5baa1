"""The C speedups (``_speedups.c``, selected by ``_native``) against the pure-Python code they replace.

Differential: every C function must give exactly the pure function's result (or raise the same kind of
error) on random and hostile input — separators, quotes, escapes, NULs, control and Unicode whitespace
characters, surrogates, huge integers, deep nesting, 10 MB values — and whole parsers must give the same
Event (or the same ``ParseError``) with the C functions as with ``_native`` switched off. Skipped when
the extension is not built or ``MIMAMORI_PURE=1`` is set (then there is nothing to compare).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from bench.mutations import mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mimamori.domain.models import Event
from mimamori.errors import ParseError
from mimamori.parsers import _fast, _json, _native, _zeek_fields, evtx, fortigate, suricata, zeek
from mimamori.parsers.evtx import channels, ecs, values

from .conftest import DATA_DIR, record

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
    (zeek, "_zeek_fields", None),
    (zeek, "_has_big_int", _json.has_big_int),
    (zeek, "_flatten", _json.flatten),
    (_zeek_fields, "_flatten", _json.flatten),
    (suricata, "_flatten", _json.flatten),
    (suricata, "_rename_into", None),
    (suricata, "_object_fields", None),
    (evtx, "_fields_c", None),
    (values, "get", values._get),
    (values, "copy", values._copy),
    (ecs, "copy", values._copy),
    (channels, "copy", values._copy),
    (ecs, "get", values._get),
    (channels, "get", values._get),
]


@contextmanager
def pure() -> Iterator[None]:
    """Run the parsers on their pure-Python paths for the duration."""
    saved = [(module, name, getattr(module, name)) for module, name, _ in SWITCHES]
    try:
        for module, name, value in SWITCHES:
            setattr(module, name, value)
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def outcome(call: Callable[[], Any]) -> Any:
    """A call's result, or its exception's type and message (compared as values)."""
    try:
        return call()
    except (ParseError, TypeError, ValueError) as exc:
        return (type(exc).__name__, str(exc))


def as_tuple(event: Event | None) -> Any:
    if event is None:
        return None
    return (event.timestamp, event.tenant_id, event.dataset, event.sensor_id, event.fields)


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
    native = outcome(lambda: as_tuple(parse(rec)))
    with pure():
        expected = outcome(lambda: as_tuple(parse(rec)))
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
