"""Candidate rules for an event by multi-pattern substring search over its values.

Each rule brings up to three literal groups (``CompiledRule.groups``): every event it matches contains
one text of each group in the values of the group's fields (or, for a keyword group, in any value). A
bucket's prefilter hands over only the rules all of whose groups were found, plus the rules without
groups. It never decides a match, so it can cost time, never results.

All the groups of a rule are searched at once, in C, instead of only its rarest one with the others
checked by ``in`` in Python afterwards (except groups made of texts common in Windows events, which
would be found in most events: ``literals.rank``). A text found counts for a group about a field only
once it is known to be in *that* field's lower-cased values (``EventView.lower``, cached per event and
reused by the evaluation): "\\rundll32.exe" in ``ParentImage`` does not satisfy a group on ``Image``. On
Sysmon process creation this brings the candidates from ~10 to ~6.5 per event. The values are searched
as one JSON array written by orjson in C (``EventView.json``), the texts as their JSON-escaped forms
(``_pattern``): the fields the bucket's groups name for field texts, all values for keyword texts.

The multi-pattern search is RE2's ``Set`` (a lazily built DFA over the escaped texts: for a set of
literals that DFA *is* the Aho-Corasick automaton, run in C++ over UTF-8 bytes, each text reported
once however often it occurs). Measured here against ``pyahocorasick``'s unicode automaton: 6x faster
over all the values of a Sysmon process creation with ~9,700 texts, 1.6x faster for ~20 texts. A ``Set``
of many-match kind never gives up on slow input (RE2 bails out of "slow" DFA progress only for other
kinds), so it cannot silently miss a text; its memory is bounded by ``MAX_MEMORY``, and a set RE2
refuses to build within it (the program alone too large) is searched with ``pyahocorasick`` instead.

The all-values search (keyword texts, and the field texts of a small bucket) runs in every bucket that
has one (``Mimikatz Use`` names no log source beyond Windows, so that is every bucket), and writing the
JSON text for it cost more than the search. With the C speedups it is ``_native.literal_scan`` instead:
an Aho-Corasick automaton of the lower-cased texts run over each value as the rules see it (ASCII folded
byte by byte, anything else through ``str.lower``), jumping between the byte pairs that start a text;
its answer is exactly the texts some lower-cased value holds. A set it does not take (too large, a
repeated or empty text) or a value it does not know (None, a nested list) falls back to RE2 over
``EventView.json`` for that bucket or event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ahocorasick  # type: ignore[import-not-found]
import orjson
import re2  # type: ignore[import-untyped]
from re2 import _re2

from mimamori.detection.sigma.compiler import MAX_GROUPS, CompiledRule
from mimamori.detection.sigma.fields import keys as field_keys
from mimamori.detection.sigma.literals import rank
from mimamori.detection.sigma.view import EventView
from mimamori.parsers import _native

__all__ = ["MAX_MEMORY", "SMALL_SET", "Prefilter"]

SMALL_SET = 400  # field texts; a bucket with keyword texts and no more searches all values at once

MAX_MEMORY = 16 << 20  # RE2 program + DFA cache budget of one set (lazily used); bounds hostile input
Search = Callable[[bytes], list[int]]  # text searched -> ids of the literals found in it
Marks = tuple[tuple[int, tuple[int, ...]], ...]  # (group number, the rules) a text satisfies that group of
Entry = tuple[str | None, str, Marks, frozenset[int]]  # field (None: any), text, marks, all their rules
_UNSEEN: tuple[str, ...] = ("\x00unseen",)
_literal_set = _native.literal_set
_literal_scan = _native.literal_scan


def _pattern(text: str) -> str:
    """A literal as it appears inside the JSON text of a value (``EventView.json``), lower-cased.

    JSON escaping maps each character on its own, so a text inside a value is, escaped, inside the
    escaped value; orjson writes non-ASCII as UTF-8 and its ``\\u`` escapes in lower-case hex."""
    return orjson.dumps(text)[1:-1].decode().lower()


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _re2_set(patterns: Sequence[str], caseless: bool) -> Search | None:
    """An RE2 set of literals, ``caseless`` over the JSON text: RE2 folds every character with its
    ``str.lower``, but one ``EventView.json`` takes care of (see there)."""
    options = re2.Options()
    options.max_mem = MAX_MEMORY
    options.never_capture = True
    options.log_errors = False
    options.case_sensitive = not caseless
    found = _re2.Set(_re2.RE2.Anchor.UNANCHORED, options)
    for pattern in patterns:
        if found.Add(_re2.RE2.QuoteMeta(_encode(pattern))) < 0:
            return None
    if not found.Compile():
        return None
    return found.Match  # type: ignore[no-any-return]


def _automaton(patterns: Sequence[str]) -> Search:
    automaton = ahocorasick.Automaton()
    for index, pattern in enumerate(patterns):
        automaton.add_word(pattern, index)
    automaton.make_automaton()

    def search(data: bytes) -> list[int]:
        text = data.decode("utf-8", "surrogatepass").lower()
        return list({index for _, index in automaton.iter(text)})

    return search


Found = tuple[tuple[Entry, ...], ...]  # pattern -> its entries


def _entry(name: str | None, text: str, bits: dict[int, set[int]]) -> Entry:
    marks = tuple((number, tuple(sorted(rules))) for number, rules in sorted(bits.items()))
    return name, text, marks, frozenset().union(*bits.values())


def _build(
    by_pattern: dict[str, dict[str | None, dict[str, dict[int, set[int]]]]],
) -> tuple[Search | None, Found]:
    ordered = sorted(by_pattern)
    found: Found = tuple(
        tuple(
            _entry(name, text, bits)
            for name, by_text in sorted(by_pattern[p].items(), key=lambda i: i[0] or "")
            for text, bits in sorted(by_text.items())
        )
        for p in ordered
    )
    return ((_re2_set(ordered, caseless=True) or _automaton(ordered)) if ordered else None), found


def _scanner(found: Found) -> object | None:
    """The all-values texts as one automaton in C (``_native.literal_set``: no JSON text to write, each
    value searched as the rules see it, lower-cased), or None: RE2 over ``EventView.json`` instead."""
    if _literal_set is None or not found:
        return None
    return _literal_set([_encode(entries[0][1]) for entries in found])  # a pattern's entries share a text


class Prefilter:
    """The rules of one bucket: those without literal groups (always evaluated) and the others.

    The rules found are tracked as one set of rule indexes per group number: a text found adds, with one
    ``set.update`` in C, every rule it satisfies a group of, and the candidates are the rules found for
    all their groups (``_complete``; one Python integer per group as a bit set measured slower: each ``|``
    on a 1,200-bit integer allocates). Per pattern of a set, for each field the text is required in
    (None: any value): the lower-case text, (group number, rules) and all those rules. Field texts are
    searched in the values of the event fields the bucket's Sigma names resolve
    to (``_keys``): on Sysmon process creation that JSON text is 2.5x shorter than all the values, and the
    ~10,000-text set costs per byte. A bucket with at most ``SMALL_SET`` field texts and some keyword
    texts searches all of them over all the values in one pass: one text and one search cost less.
    """

    __slots__ = (
        "_always",
        "_always_rules",
        "_ecs_keys",
        "_fields",
        "_keys",
        "_keywords",
        "_more",
        "_scan",
        "_verify",
        "always",
        "rules",
    )

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = tuple(rules)
        self.always: tuple[int, ...] = tuple(i for i, r in enumerate(self.rules) if not r.groups)
        self._always = frozenset(self.always)
        self._always_rules = tuple(self.rules[i] for i in self.always)
        # The first (most selective) group of each rule, and the others only if none of their texts is
        # common in Windows events: "\\cmd.exe" or ".exe" would be found in most events and cost more
        # to look up than the candidates they remove.
        kept = [[g for n, g in enumerate(r.groups[:MAX_GROUPS]) if n == 0 or rank(g[0])[0]] for r in rules]
        # rules with a second group / a third group: those must have found that group too
        self._more = tuple(
            frozenset(i for i, groups in enumerate(kept) if len(groups) > number)
            for number in range(1, MAX_GROUPS)
        )
        # JSON-escaped text -> field (None: any value) -> lower-case text -> group number -> rules
        by_field: dict[str, dict[str | None, dict[str, dict[int, set[int]]]]] = {}
        by_keyword: dict[str, dict[str | None, dict[str, dict[int, set[int]]]]] = {}
        keys: set[str] = set()
        ecs_keys: set[str] = set()
        for index, groups in enumerate(kept):
            for number, (texts, names) in enumerate(groups):
                if None in names:  # a keyword search, or an OR with one: any value may hold the text
                    fields: list[str | None] = [None]
                    target = by_keyword
                else:
                    named = sorted(n for n in names if n)
                    fields = list(named)
                    target = by_field
                    for name in named:
                        native, ecs = field_keys(name)
                        keys.update(native)
                        ecs_keys.update(ecs)
                for text in texts:
                    lowered = text.lower()
                    by_name = target.setdefault(_pattern(lowered), {})
                    for field in fields:
                        by_number = by_name.setdefault(field, {}).setdefault(lowered, {})
                        by_number.setdefault(number, set()).add(index)
        if by_keyword and len(by_field) <= SMALL_SET:
            for pattern, by_name in by_field.items():
                merged = by_keyword.setdefault(pattern, {})
                for field, by_text in by_name.items():
                    for text, by_number in by_text.items():
                        into = merged.setdefault(field, {}).setdefault(text, {})
                        for number, indexes in by_number.items():
                            into.setdefault(number, set()).update(indexes)
            by_field, keys, ecs_keys = {}, set(), set()
        # Checking each text is in its field pays in the large buckets only (Sysmon process creation:
        # ~10 candidates down to ~6.5); in a small one it costs about what evaluating the few rules does.
        self._verify = bool(by_field)
        self._fields = _build(by_field)
        self._keywords = _build(by_keyword)
        self._scan = _scanner(self._keywords[1])
        self._keys = tuple(sorted(keys))  # what the Sigma names resolve to in EVTX-derived events
        self._ecs_keys = tuple(sorted(ecs_keys))  # ... and in Winlogbeat / Elastic Agent documents

    def candidates(self, view: EventView) -> list[CompiledRule]:
        """The rules that may match the event, in rule order.

        Two passes over the texts found: the first counts each text for every field it is required in
        (no look at the values); only the rules that pass are then checked field by field, so an event
        where no rule can be a candidate costs no lower-casing at all."""
        entries: list[Entry] = []
        search, found = self._fields
        if search is not None:
            for pattern_id in search(view.json(self._ecs_keys if view.ecs else self._keys)):
                entries.extend(found[pattern_id])
        search, found = self._keywords
        if search is not None:
            scan = self._scan
            ids = _literal_scan(scan, view.fields) if scan is not None and _literal_scan is not None else None
            for pattern_id in search(view.json()) if ids is None else ids:
                entries.extend(found[pattern_id])
        if not entries:  # most events of most buckets: only the rules without groups
            return list(self._always_rules)
        hits: list[set[int]] = [set() for _ in range(MAX_GROUPS)]
        for entry in entries:
            for number, indexes in entry[2]:
                hits[number].update(indexes)
        chosen = self._complete(hits)
        if chosen and self._verify:
            hits = [set() for _ in range(MAX_GROUPS)]
            seen: dict[str, tuple[str, ...] | None] = {}
            for name, text, marks, owners in entries:
                if name is not None:  # the text must be in this field's values, not just anywhere
                    if chosen.isdisjoint(owners):
                        continue
                    values = seen.get(name, _UNSEEN)
                    if values is _UNSEEN:
                        values = seen[name] = view.lower(name)
                    if values is None:
                        continue
                    if len(values) == 1:
                        if text not in values[0]:
                            continue
                    elif not any(text in value for value in values):
                        continue
                for number, indexes in marks:
                    hits[number].update(indexes)
            chosen &= self._complete(hits)
        if not chosen:
            return list(self._always_rules)
        rules = self.rules
        return [rules[i] for i in sorted(chosen.union(self._always))]

    def _complete(self, hits: list[set[int]]) -> set[int]:
        """The rules all of whose groups have been found (set operations in C, on the few rules found)."""
        chosen = hits[0]
        for number, more in enumerate(self._more, 1):
            if chosen:
                chosen = chosen - (more.intersection(chosen) - hits[number])
        return chosen
