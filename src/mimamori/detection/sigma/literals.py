"""Texts a regular expression cannot match without: what lets the prefilter skip regex-only rules.

``required(pattern)`` parses a rule's regex with Python's own parser (``re._parser``; parsing only, the
regex itself runs on RE2) and returns lower-case literals at least one of which occurs in any text the
regex matches, or None when it cannot tell (character classes everywhere, optional parts only, an
alternation with a branch that has no literal). Consecutive literal characters form a candidate; a
group or a repetition of at least one contributes its own; an alternation contributes the union of its
branches; the best candidate of a sequence is the one whose shortest text is longest.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MIN_LITERAL", "best", "rank", "required"]

MIN_LITERAL = 3  # shorter texts occur in nearly every event: no use to the prefilter
_NUMERIC = frozenset("0123456789.-+e")
_RARE = frozenset("^|`~!#&;,<>{}[]()'\"")  # a two-character text with one of these is rare enough
# Characters rare enough in Windows event values to be a literal on their own (PowerShell's backtick and
# cmd's caret escapes, format strings): better than evaluating the rule on every event. A set with one
# ranks below every longer one (``rank``), so it is only chosen when nothing better is known.
_RARE_ALONE = frozenset("`^{}")
_RARE_PAIRS = frozenset(("\\\\",))  # two backslashes: a UNC path ("\\\\server\\share"), rare in values
_WORDS = ("true", "false", "inf", "-inf", "nan")  # str() of booleans and special floats, lower-cased
# Text found in most Windows events (paths, accounts, vendors): a literal inside it selects little.
_COMMON = "\x00".join((
    "c:\\windows\\system32\\cmd.exe", "c:\\windows\\syswow64\\", "c:\\program files (x86)\\",
    "c:\\program files\\", "c:\\programdata\\", "c:\\users\\public\\", "\\appdata\\local\\temp\\",
    "\\appdata\\roaming\\", "nt authority\\system", "microsoft corporation", "microsoft-windows-",
    "microsoft® windows® operating system", "powershell.exe", "svchost.exe", "explorer.exe",
    "rundll32.exe", "conhost.exe", ".dll", "sha256=", "md5=", "imphash=", "system", "high", "medium",
    "process", "create", "-create", "start", "sysmon", "windows", "security", "information", "true", "false",
))  # fmt: skip

try:  # Python 3.11+
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as _c
    import sre_parse as _p


def _textual(text: str) -> bool:
    """Could only be found in a string value, never in a number's or boolean's rendering.

    The prefilter searches the event's string values only (``EventView.text``): an integer field such as
    ``destination.port`` is not in that text, so a literal it could supply must not be required.
    """
    return not set(text) <= _NUMERIC and not any(text in word for word in _WORDS)


def _selective(text: str) -> bool:
    """Long enough to be rare in event text (one non-ASCII character, an emoji or a homoglyph, is), and
    only ever found in string values."""
    long_enough = (
        len(text) >= MIN_LITERAL
        or (len(text) == 2 and not set(text).isdisjoint(_RARE))
        or text in _RARE_ALONE
        or text in _RARE_PAIRS
    )
    return (long_enough or (bool(text) and not text.isascii())) and _textual(text)


def rank(texts: frozenset[str]) -> tuple[bool, int, int]:
    """How selective a literal set is, higher is better: no text common in Windows events, then the
    length of its shortest text, then fewer texts."""
    rare = not any(text in _COMMON for text in texts)
    return rare, min(len(x) for x in texts), -len(texts)


def best(options: list[frozenset[str]]) -> frozenset[str] | None:
    """The most selective of several sufficient literal sets."""
    usable = [o for o in options if o and all(_selective(x) for x in o)]
    if not usable:
        return None
    return max(usable, key=rank)


def _sequence(items: Any, ignore_case: bool) -> frozenset[str] | None:
    options: list[frozenset[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            options.append(frozenset(("".join(run).lower(),)))
            run.clear()

    for op, av in items:
        if op is _c.LITERAL:
            char = chr(av)
            if ignore_case and not char.isascii():
                flush()
                continue
            run.append(char)
            continue
        flush()
        found: frozenset[str] | None = None
        if op is _c.SUBPATTERN:
            found = _sequence(av[-1], ignore_case)
        elif op is _c.BRANCH:
            branches = [_sequence(b, ignore_case) for b in av[1]]
            if all(b is not None for b in branches):
                found = frozenset().union(*(b for b in branches if b is not None))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and av[0] >= 1:
            found = _sequence(av[2], ignore_case)
        if found:
            options.append(found)
    flush()
    return best(options)


def required(pattern: str, ignore_case: bool = False) -> frozenset[str] | None:
    """Lower-case literals one of which every match of ``pattern`` contains; None if unknown."""
    try:
        parsed = _p.parse(pattern, re.IGNORECASE if ignore_case else 0)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None
    flags = parsed.state.flags if hasattr(parsed, "state") else 0
    return _sequence(parsed, ignore_case or bool(flags & re.IGNORECASE))
