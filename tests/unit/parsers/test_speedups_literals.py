"""``_speedups.literal_set`` / ``literal_scan`` (``_speedups_literals.c``), the Sigma prefilter's search
of all an event's values: exactly the texts some value holds once lower-cased, as the rules test them.

The reference is written out here in Python (``expected``); the C answer must equal it on random texts
and values chosen to overlap (shared prefixes and suffixes, case, non-ASCII letters whose lower case
differs in length or script, lone surrogates, numbers, booleans, lists), with and without one-byte
texts (which turn the pair-skipping scan off). Skipped when the extension is not built.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mimamori.parsers import _native

pytestmark = pytest.mark.skipif(_native.literal_set is None, reason="C speedups not built")

ALPHABET = [
    "a",
    "b",
    "ab",
    "ba",
    "A",
    "B",
    ":",
    "::",
    "\\",
    ".",
    "-",
    "1",
    "0",
    "K",
    "k",
    "\u212a",
    "İ",
    "i",
    "\u0307",
    "ß",
    "SS",
    "é",
    "É",
    "Σ",
    "σ",
    "ς",
    "\ud800",
    "😀",
    " ",
]


def _text(value: Any) -> str:
    if type(value) is bool:
        return "true" if value else "false"
    return value if type(value) is str else str(value)


def expected(texts: list[str], fields: dict[str, Any]) -> set[int]:
    values: list[str] = []
    for value in fields.values():
        values.extend(_text(v) for v in (value if type(value) is list else [value]))
    lowered = [v.lower() for v in values]
    return {i for i, text in enumerate(texts) if any(text in v for v in lowered)}


def scan(texts: list[str], fields: dict[str, Any]) -> list[int] | None:
    assert _native.literal_set is not None
    assert _native.literal_scan is not None
    automaton = _native.literal_set([t.encode("utf-8", "surrogatepass") for t in texts])
    assert automaton is not None
    return _native.literal_scan(automaton, fields)


pieces = st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=6).map("".join)
scalars = st.one_of(
    pieces,
    st.text(max_size=40),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=True),
)
values = st.one_of(scalars, st.lists(scalars, max_size=4))
events = st.dictionaries(st.sampled_from([f"f{i}" for i in range(12)]), values, max_size=12)


@settings(max_examples=600, deadline=None)
@given(texts=st.lists(pieces, min_size=1, max_size=12, unique=True), fields=events)
def test_scan_finds_exactly_the_texts_in_the_lowered_values(texts: list[str], fields: dict[str, Any]) -> None:
    lowered = list(dict.fromkeys(t.lower() for t in texts))  # the prefilter hands over lower-cased texts
    found = scan(lowered, fields)
    assert found is not None
    assert len(found) == len(set(found))
    assert set(found) == expected(lowered, fields)


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(st.text(alphabet="abc:AB", min_size=2, max_size=5), min_size=1, max_size=8, unique=True),
    body=st.text(alphabet="abcABC: ", max_size=300),
)
def test_pair_skipping_loses_no_occurrence(texts: list[str], body: str) -> None:
    """Texts of two bytes or more over a tiny alphabet: the scan jumps between pairs and restarts often."""
    lowered = list(dict.fromkeys(t.lower() for t in texts))
    assert set(scan(lowered, {"v": body}) or []) == expected(lowered, {"v": body})


def test_known_cases() -> None:
    texts = ["sekurlsa::", "lsa", "kiwi", "4624", "true", "mi\u0307", "straße"]
    fields = {
        "a": "C:\\mimikatz SEKURLSA::logonpasswords",
        "b": 4624,
        "c": [True, "gentil\u212aIWI"],  # KELVIN SIGN lower-cases to k
        "d": "Mİ",  # İ lower-cases to i + U+0307
        "e": "STRASSE",  # no: lower() keeps the SS
    }
    assert sorted(scan(texts, fields) or []) == [0, 1, 2, 3, 4, 5]
    assert scan(["ab"], {"a": "xxxa", "b": "bxxx"}) == []  # no text spans two values


@pytest.mark.parametrize(
    "texts",
    [
        [],
        [b""],
        [b"ab", b"ab"],
        ["ab"],
        [b"x" * (1 << 18)],
        [bytes([i, j]) for i in range(256) for j in range(40)],
    ],
)
def test_sets_it_does_not_take(texts: list[Any]) -> None:
    assert _native.literal_set is not None
    assert _native.literal_set(texts) is None


@pytest.mark.parametrize(
    "fields",
    [{"a": None}, {"a": {"b": "c"}}, {"a": [["x"]]}, {"a": 2**64}, {"a": ("x",)}],
)
def test_values_it_leaves_to_the_caller(fields: dict[str, Any]) -> None:
    assert scan(["xy"], fields) is None


def test_other_mappings_and_bad_arguments() -> None:
    assert _native.literal_set is not None
    assert _native.literal_scan is not None
    automaton = _native.literal_set([b"xy"])
    assert automaton is not None

    class Fields(dict[str, Any]):
        pass

    assert _native.literal_scan(automaton, Fields(a="xy")) is None
    with pytest.raises(TypeError):
        _native.literal_set((b"xy",))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        _native.literal_scan(object(), {"a": "xy"})
