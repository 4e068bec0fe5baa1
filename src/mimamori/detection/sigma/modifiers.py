"""Sigma values, after pySigma applied the rule's modifiers, to plain Python tests on event values.

pySigma already does what the modifiers do to a *value*: ``contains``/``startswith``/``endswith`` add
wildcards, ``base64``/``base64offset``/``utf16*``/``wide``/``windash`` rewrite or expand it (an expansion
is OR-linked even under ``all``), ``re`` with its ``i``/``m``/``s`` flags yields a regular expression,
``cidr``, ``gt``..``lte``, ``fieldref``, ``exists``, ``expand`` and ``cased`` yield their own types. This
module turns each resulting value into a ``Test``: a kind plus a ready argument, grouped per field by
``matcher`` into one function, so an ``OR`` of fifty ``contains`` on ``CommandLine`` costs one call.

Case: plain strings compare case-insensitively (the specification's default) against lower-cased event
values; ``cased`` strings and regular expressions see the original text. Numbers match the event's text
or integer (``EventID: 4688`` and ``'4688'`` are the same test). Event values are hostile: glob patterns
and regular expressions run on RE2 (linear time in the value; see ``compile_regex``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ahocorasick  # type: ignore[import-not-found]
import re2  # type: ignore[import-untyped]
from re2 import _re2
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExpansion,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from mimamori.detection.sigma.literals import required

__all__ = ["LowerCheck", "RawCheck", "Test", "UnsupportedValue", "matcher", "tests_for"]

LowerCheck = Callable[[Sequence[str]], bool]  # on the lower-cased values of a field
RawCheck = Callable[[Sequence[str]], bool]  # on the original values
MAX_SCANNED = 12  # more ``contains`` texts than this on one field: one Aho-Corasick pass instead of ``in``
_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}


class UnsupportedValue(ValueError):
    """A value type this engine does not evaluate (the rule is reported as skipped)."""


@dataclass(frozen=True, slots=True)
class Test:
    """One value test. ``kind``: eq, prefix, suffix, contains, any, glob (on lower-cased text), or raw
    (a predicate on the original text). ``literals``: lower-case texts one of which every matching value
    contains (None: no such texts known)."""

    kind: str
    arg: Any
    literals: frozenset[str] | None


def _number_text(number: int | float) -> str:
    return str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)


def _glob_regex(parts: Sequence[str | SpecialChars]) -> str:
    out = []
    for part in parts:
        if part is SpecialChars.WILDCARD_MULTI:
            out.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append(".")
        else:
            out.append(re.escape(str(part)))
    return "(?s)^" + "".join(out) + "$"


def _glob(parts: Sequence[str | SpecialChars]) -> Callable[[str], bool]:
    """A wildcard pattern: a chain of ``str.find`` when it has only ``*``, else RE2 (linear time)."""
    if any(p is SpecialChars.WILDCARD_SINGLE for p in parts):
        search = _re2_search(_glob_regex(parts))
        if search is None:  # pragma: no cover - an escaped literal pattern always compiles
            raise UnsupportedValue("wildcard pattern RE2 refuses")
        return search
    head = parts[0] if isinstance(parts[0], str) else ""
    tail = parts[-1] if isinstance(parts[-1], str) and len(parts) > 1 else ""
    middle = tuple(
        p for p in parts[1 if head else 0 : len(parts) - 1 if tail else len(parts)] if isinstance(p, str)
    )

    def match(v: str) -> bool:
        if not v.startswith(head):
            return False
        start, end = len(head), len(v) - len(tail)
        if end < start or not v.endswith(tail):
            return False
        for text in middle:
            found = v.find(text, start, end)
            if found < 0:
                return False
            start = found + len(text)
        return True

    return match


def _string_test(value: SigmaString, cased: bool) -> Test:
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, str):
            text = part if cased else part.lower()
            if parts and isinstance(parts[-1], str):
                parts[-1] += text
            else:
                parts.append(text)
        elif isinstance(part, SpecialChars):
            parts.append(part)
        else:
            raise UnsupportedValue(f"unexpanded placeholder {part}")
    texts = [p for p in parts if isinstance(p, str)]
    longest = max(texts, key=len).lower() if texts else ""
    literal = frozenset((longest,)) if longest else None
    star = SpecialChars.WILDCARD_MULTI
    kind: str
    arg: Any
    if not parts:
        kind, arg = "eq", ""
    elif all(p is star for p in parts):
        kind, arg = "any", None
    elif len(parts) == 1 and isinstance(parts[0], str):
        kind, arg = "eq", parts[0]
    elif len(parts) == 2 and isinstance(parts[0], str) and parts[1] is star:
        kind, arg = "prefix", parts[0]
    elif len(parts) == 2 and parts[0] is star and isinstance(parts[1], str):
        kind, arg = "suffix", parts[1]
    elif len(parts) == 3 and parts[0] is star and parts[2] is star and isinstance(parts[1], str):
        kind, arg = "contains", parts[1]
    else:
        kind, arg = "glob", _glob(parts)
    if cased:
        return Test("raw", _cased(kind, arg), literal)
    return Test(kind, arg, literal)


def _cased(kind: str, arg: Any) -> Callable[[str], bool]:
    if kind == "eq":
        return lambda v: v == arg
    if kind == "prefix":
        return lambda v: v.startswith(arg)
    if kind == "suffix":
        return lambda v: v.endswith(arg)
    if kind == "contains":
        return lambda v: arg in v
    if kind == "any":
        return lambda v: True
    return arg  # type: ignore[no-any-return]


def _re2_search(pattern: str) -> Callable[[str], bool] | None:
    """RE2's C++ matcher called directly: the ``re2`` module's Python wrapper costs ten times more."""
    options = re2.Options()
    options.never_capture = True
    try:
        compiled = _re2.RE2(pattern.encode("utf-8", "surrogatepass"), options)
    except Exception:  # the binding raises its own error type
        return None
    if not compiled.ok():
        return None
    match = compiled.Match

    def search(v: str) -> bool:
        data = v.encode("utf-8", "surrogatepass")
        return bool(match(_UNANCHORED, data, 0, len(data))[0][0] != -1)

    return search


def compile_regex(pattern: str, flags: str) -> Callable[[str], bool]:
    """A linear-time search function for a rule's regular expression, on RE2.

    pySigma's default policy already refuses, at load, a regex RE2 cannot express (look-around,
    back-references): such a rule is reported as skipped. No rule regex ever runs on Python's ``re``.
    """
    search = _re2_search(f"(?{flags}){pattern}" if flags else pattern)
    if search is None:
        raise UnsupportedValue(f"regular expression RE2 cannot run: {pattern[:80]}")
    return search


def _regex_test(value: SigmaRegularExpression) -> Test:
    flags = "".join(sorted(_FLAGS[f] for f in value.flags if f in _FLAGS))
    pattern = str(value.regexp)
    return Test("raw", compile_regex(pattern, flags), required(pattern, "i" in flags))


_ADDRESSES: dict[str, tuple[int, int] | None] = {}  # event text -> (IP version, address as int), bounded
_MAX_ADDRESSES = 4096


def _address(v: str) -> tuple[int, int] | None:
    """An event value as (version, integer) when it is an IP address (IPv4-mapped IPv6 as IPv4, a zone
    dropped), else None; parsed once per distinct value: a rule's ``cidr`` list tests it many times."""
    found = _ADDRESSES.get(v, False)
    if found is not False:
        return found  # type: ignore[return-value]
    address: tuple[int, int] | None = None
    if 2 <= len(v) <= 64:
        try:
            parsed = ipaddress.ip_address(v.removeprefix("::ffff:").partition("%")[0])
        except ValueError:
            pass
        else:
            address = (parsed.version, int(parsed))
    if len(_ADDRESSES) >= _MAX_ADDRESSES:
        _ADDRESSES.clear()
    _ADDRESSES[v] = address
    return address


def _cidr_test(value: SigmaCIDRExpression) -> Test:
    network = value.network
    version, first, mask = network.version, int(network.network_address), int(network.netmask)

    def test(v: str) -> bool:
        address = _address(v)
        return address is not None and address[0] == version and address[1] & mask == first

    return Test("raw", test, None)


def _to_number(v: str) -> float | None:
    if not v or len(v) > 40:
        return None
    try:
        return int(v, 16) if v[:2] in ("0x", "0X") else float(v)
    except ValueError:
        return None


_COMPARE: dict[CompareOperators, Callable[[float, float], bool]] = {
    CompareOperators.LT: lambda a, b: a < b,
    CompareOperators.LTE: lambda a, b: a <= b,
    CompareOperators.GT: lambda a, b: a > b,
    CompareOperators.GTE: lambda a, b: a >= b,
    CompareOperators.NEQ: lambda a, b: a != b,
}


def _compare_test(value: SigmaCompareExpression) -> Test:
    bound = value.number.number
    compare = _COMPARE[value.op]

    def test(v: str) -> bool:
        number = _to_number(v)
        return number is not None and compare(number, bound)

    return Test("raw", test, None)


def tests_for(value: SigmaType) -> list[Test]:
    """The tests of one (post-modifier) value; several for an expansion (OR-linked)."""
    if isinstance(value, SigmaExpansion):
        return [test for inner in value.values for test in tests_for(inner)]
    if isinstance(value, SigmaCasedString):
        return [_string_test(value, cased=True)]
    if isinstance(value, SigmaString):
        return [_string_test(value, cased=False)]
    if isinstance(value, SigmaTimestampPart):
        raise UnsupportedValue("timestamp part modifiers (minute, hour, day...) are not evaluated")
    if isinstance(value, SigmaBool):
        text = "true" if value.boolean else "false"
        return [Test("eq", text, frozenset((text,)))]
    if isinstance(value, SigmaNumber):
        text = _number_text(value.number)
        return [Test("eq", text, frozenset((text,)))]
    if isinstance(value, SigmaRegularExpression):
        return [_regex_test(value)]
    if isinstance(value, SigmaCIDRExpression):
        return [_cidr_test(value)]
    if isinstance(value, SigmaCompareExpression):
        return [_compare_test(value)]
    raise UnsupportedValue(f"value type {type(value).__name__}")


def matcher(tests: Sequence[Test]) -> tuple[LowerCheck, RawCheck | None]:
    """Functions testing whether any event value passes any of ``tests`` (an OR over one field): one on
    the lower-cased values, and one on the original values when some test needs them (else None)."""
    eq = frozenset(t.arg for t in tests if t.kind == "eq")
    prefixes = tuple(t.arg for t in tests if t.kind == "prefix")
    suffixes = tuple(t.arg for t in tests if t.kind == "suffix")
    subs = tuple(t.arg for t in tests if t.kind == "contains")
    globs = tuple(t.arg for t in tests if t.kind == "glob")
    raws = tuple(t.arg for t in tests if t.kind == "raw")
    raw_check = _raw_check(raws) if raws else None
    if any(t.kind == "any" for t in tests):
        return (lambda lower: True), None
    return _lower_check(eq, prefixes, suffixes, subs, globs), raw_check


def _raw_check(raws: tuple[Callable[[str], bool], ...]) -> RawCheck:
    if len(raws) == 1:
        only = raws[0]
        return lambda values: any(only(v) for v in values)
    return lambda values: any(r(v) for v in values for r in raws)


def _lower_check(
    eq: frozenset[str],
    prefixes: tuple[str, ...],
    suffixes: tuple[str, ...],
    subs: tuple[str, ...],
    globs: tuple[Callable[[str], bool], ...],
) -> LowerCheck:
    if not (prefixes or suffixes or subs or globs):
        if not eq:
            return lambda lower: False
        return lambda lower: any(v in eq for v in lower)
    if not (eq or prefixes or suffixes or globs) and len(subs) == 1:
        sub = subs[0]
        return lambda lower: any(sub in v for v in lower)
    if not (eq or subs or globs):
        if not suffixes:
            return lambda lower: any(v.startswith(prefixes) for v in lower)
        if not prefixes:
            return lambda lower: any(v.endswith(suffixes) for v in lower)
    if len(subs) > MAX_SCANNED:
        automaton = ahocorasick.Automaton()
        for sub in subs:
            automaton.add_word(sub, None)
        automaton.make_automaton()
        scan = automaton.iter
        subs = ()
    else:
        scan = None

    def match(lower: Sequence[str]) -> bool:
        for v in lower:
            if v in eq or v.startswith(prefixes) or v.endswith(suffixes):
                return True
            for s in subs:
                if s in v:
                    return True
            if scan is not None:
                for _ in scan(v):
                    return True
            for g in globs:
                if g(v):
                    return True
        return False

    return match
