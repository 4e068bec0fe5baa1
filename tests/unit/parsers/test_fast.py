"""The C-level key=value tokenizer must agree with the exact one on every body it accepts.

``kv_pairs`` may refuse (return ``None``) whatever it likes, but whenever it returns pairs they must be
exactly what ``kv_pairs_exact`` returns, and ``kv_pairs_exact`` must not refuse that body. Bodies are
built from an alphabet of the characters that matter (quotes, escapes, ``=``, ASCII and Unicode
whitespace, control characters) so that hypothesis explores the boundaries of the canonical shape.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mimamori.errors import ParseError
from mimamori.parsers._fast import BoundedCache, kv_pairs, kv_pairs_exact, to_ints

from .conftest import DATA_DIR

TRICKY = st.sampled_from(['"', "\\", "=", " ", "  ", "\t", "\u3000", "\xa0", "\x85", "\x01", "\x00", "%s"])
WORD = st.text(st.sampled_from("abk1_-.:/é語"), min_size=0, max_size=4)
KEY = st.text(st.sampled_from("abktype_1."), min_size=1, max_size=4)


@st.composite
def bodies(draw: st.DrawFn) -> str:
    """Mostly well-formed ``k=v k="v w"`` bodies with tricky characters sprinkled in."""
    tokens = []
    for _ in range(draw(st.integers(1, 8))):
        key = draw(KEY)
        value = draw(st.lists(WORD | TRICKY, max_size=4).map("".join))
        tokens.append(f'{key}="{value}"' if draw(st.booleans()) else f"{key}={value}")
        if draw(st.integers(0, 5)) == 0:
            tokens.append(draw(WORD | TRICKY))
    return draw(st.sampled_from([" ", "  ", ""])).join(tokens)


def exact(body: str) -> dict[str, str] | None:
    try:
        return kv_pairs_exact(body)
    except ParseError:
        return None


@settings(max_examples=2000, derandomize=True, database=None, deadline=None)
@given(body=bodies() | st.text(max_size=60))
def test_fast_tokenizer_agrees_with_exact_one(body: str) -> None:
    fast = kv_pairs(body)
    if fast is not None:
        assert fast == exact(body)


def test_fast_tokenizer_takes_canonical_fortigate_lines() -> None:
    lines = (DATA_DIR / "fortigate" / "traffic.log").read_text(encoding="utf-8").splitlines()
    body = lines[0].partition(">")[2]
    assert kv_pairs(body) == kv_pairs_exact(body)
    assert len(kv_pairs(body) or {}) > 50


@pytest.mark.parametrize(
    "body",
    [
        'a="x"b=1 c=2',  # quote not followed by a space
        'a=1 "b"=2',  # quoted key
        "a=b=c d",  # "=" inside a bare value, then a stray word
        "a=1  b=2",  # doubled space
        "a=1\tb=2",  # other whitespace
        "a=1\u3000b=2",  # Unicode whitespace outside quotes
        'a="x\\"y"',  # escape
        "=1 a=2",  # empty key
        'a="unterminated',
    ],
)
def test_non_canonical_bodies_are_left_to_the_exact_tokenizer(body: str) -> None:
    assert kv_pairs(body) is None


def test_quoted_values_keep_spaces_equals_and_unicode() -> None:
    body = 'msg="a b=c" user="山田\u3000太郎" n=1 empty= q=""'
    assert kv_pairs(body) == {"msg": "a b=c", "user": "山田\u3000太郎", "n": "1", "empty": "", "q": ""}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (("1", "65535", "0"), [1, 65535, 0]),
        (("1", ""), None),
        (("01",), None),
        (("-1",), None),
        (("١",), None),
        (("9223372036854775808",), None),
        (("99999999999999999999999",), None),
    ],
)
def test_to_ints(values: tuple[str, ...], expected: list[int] | None) -> None:
    assert to_ints(values, 2**63 - 1) == expected


def test_bounded_cache_forgets_when_full() -> None:
    cache: BoundedCache[int, int] = BoundedCache(3)
    for i in range(3):
        assert cache.put(i, i * 10) == i * 10
    assert len(cache) == 3
    cache.put(99, 1)
    assert dict(cache) == {99: 1}
