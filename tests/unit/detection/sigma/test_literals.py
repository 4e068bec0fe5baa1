"""Literals a regex cannot match without, and the ranking of literal sets for the prefilter."""

from __future__ import annotations

import pytest

from mimamori.detection.sigma.literals import best, rank, required


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\$PSHome\[\s*\d{1,3}\s*\]", {"$pshome["}),
        (r"(?i)(invoke|iex)-expression", {"-expression"}),
        (r"(abcd|efgh)[0-9]", {"abcd", "efgh"}),
        (r"(abcd|.)x", None),
        (r"a?b*c+", None),
        (r"[a-z]+\d+", None),
        (r"(mimikatz\s+run){1,2}", {"mimikatz"}),
        (r"net\s+user", {"net"}),  # "user" is in every path under C:\\Users
        (r"(", None),
    ],
)
def test_required(pattern: str, expected: set[str] | None) -> None:
    found = required(pattern)
    assert (None if found is None else set(found)) == expected


def test_non_ascii_single_characters_are_selective() -> None:
    assert best([frozenset({"\U0001f600", "\u202e"})]) == frozenset({"\U0001f600", "\u202e"})
    assert best([frozenset({"ab"})]) is None


def test_rank_prefers_rare_then_long() -> None:
    common = frozenset({"c:\\windows\\"})
    rare = frozenset({"mimikatz"})
    assert rank(rare) > rank(common)
    assert best([common, rare]) == rare
    assert rank(frozenset({"abcdef"})) > rank(frozenset({"abcd", "abcdefgh"}))


def test_rare_characters_alone_are_selective_but_rank_last() -> None:
    assert required(r"\w+`(?:\w+|-|.)`[\w+|\s]") == frozenset({"`"})
    assert required(r'"(?:\{\d\})+"\s*-f') in (frozenset({"{"}), frozenset({"}"}))
    assert best([frozenset({"\\\\"})]) == frozenset({"\\\\"})  # two backslashes: a UNC path
    assert best([frozenset({"a"})]) is None
    assert best([frozenset({"\\"})]) is None
    assert best([frozenset({"`"}), frozenset({"iex"})]) == frozenset({"iex"})
