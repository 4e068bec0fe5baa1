"""One event as the compiled rules see it: values by Sigma field name, as text, cached per event.

Every rule that asks for ``CommandLine`` on the same event gets the same tuple; the lower-casing of a
value is done once per event, not once per rule. Values are text the way Windows renders them: an
integer is its decimal digits (so ``EventID: 4688`` and ``'4688'`` match the integer 4688), a boolean is
``true``/``false``, a list is one text per item (a rule matches if any item matches).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from mimamori.detection.sigma.fields import is_ecs_document, keys
from mimamori.domain.models import FieldValue

__all__ = ["SEPARATOR", "EventView", "texts"]

SEPARATOR = "\x00"  # between values in ``EventView.text``; no rule literal contains it

_EMPTY: Mapping[str, Sequence[str]] = {}
_DOTTED_I = "\u0130".encode()  # see ``EventView.json``
_SURROGATE = re.compile("[\ud800-\udfff]")
# Not looked up yet (None is a cached "the event has no such field"); compared by identity.
_UNSEEN: tuple[str, ...] = ("\x00unseen",)


_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}  # ``fields.keys`` without the call


def _keys(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    found = keys(name)
    if len(_KEYS) < 8192:  # Sigma names come from the rules, not from events: bounded anyway
        _KEYS[name] = found
    return found


def _text(value: object) -> str:
    if type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    return str(value)


def _items(value: FieldValue) -> str:
    """The items of a list value joined (only called for lists)."""
    return SEPARATOR.join([v if type(v) is str else _text(v) for v in value])  # type: ignore[union-attr]


def _scrub(values: list[object]) -> list[object]:
    """Lone surrogates to U+FFFD, one character for one (so a literal's position is kept)."""
    out: list[object] = []
    for value in values:
        if type(value) is str:
            out.append(_SURROGATE.sub("\ufffd", value))
        elif type(value) is list:
            out.append(_scrub(value))
        else:
            out.append(value)
    return out


def texts(value: FieldValue) -> tuple[str, ...]:
    """A field value as a tuple of texts."""
    if type(value) is list:
        return tuple(_text(v) for v in value)
    return (_text(value),)


class EventView:
    """Cached access to one event's values by Sigma field name (original and lower-cased)."""

    __slots__ = ("_all", "_json", "_lower", "_raw", "_text", "ecs", "fields", "placeholders")

    def __init__(
        self, fields: Mapping[str, FieldValue], placeholders: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.fields = fields
        self.ecs = is_ecs_document(fields)
        self.placeholders = placeholders if placeholders is not None else _EMPTY
        self._raw: dict[str, tuple[str, ...] | None] = {}
        self._lower: dict[str, tuple[str, ...] | None] = {}
        self._all: tuple[tuple[str, ...], tuple[str, ...]] | None = None
        self._text: str | None = None
        self._json: bytes | None = None

    def text(self) -> str:
        """The event's string values (and the items of its lists) joined by NUL, as received. Numbers
        and booleans are left out (no prefilter literal can be found in their rendering, see
        ``literals``); the order of the values is not kept."""
        if self._text is None:
            self._text = SEPARATOR.join(
                [
                    v if type(v) is str else _items(v)
                    for v in self.fields.values()
                    if type(v) is str or type(v) is list
                ]
            )
        return self._text

    def json(self, keys: Sequence[str] | None = None) -> bytes:
        """The values (of the fields ``keys``, else all) as one JSON array: what the prefilter searches.

        orjson writes it in C, faster than joining the texts in Python. A lone surrogate (orjson refuses
        it) becomes U+FFFD first, which no rule literal contains. Only the all-values text is cached.

        The prefilter's search is caseless (RE2's Unicode simple case folding). For every character but
        one, ``c.lower()`` is a single character RE2 folds together with ``c`` (checked over all of
        Unicode, ``test_view``), so a lower-case literal inside ``value.lower()`` is found caselessly in
        ``value`` itself, and lower-casing in Python (8 µs on a Sysmon process creation, which has a
        non-ASCII ``®`` most of the time) is skipped. The exception, U+0130 ``İ``, lower-cases to two
        characters (``i`` and a combining dot); a text with one is lower-cased here as the rules see it."""
        if keys is None and self._json is not None:
            return self._json
        values: list[Any] = list(self.fields.values()) if keys is None else list(map(self.fields.get, keys))
        try:
            data = orjson.dumps(values)
        except orjson.JSONEncodeError:
            data = orjson.dumps(_scrub(values))
        # the one character RE2's case folding does not pair the way str.lower does
        if not data.isascii() and _DOTTED_I in data:
            data = data.decode().lower().encode()
        if keys is None:
            self._json = data
        return data

    def text_lower(self) -> str:
        """``text`` lower-cased, as the rules see values."""
        return self.text().lower()

    def raw(self, name: str) -> tuple[str, ...] | None:
        """The texts of the event's value for a Sigma field, or None when the event lacks it."""
        found = self._raw.get(name, _UNSEEN)
        if found is not _UNSEEN:
            return found
        fields = self.fields
        names = _KEYS.get(name) or _keys(name)
        for key in names[self.ecs]:
            value = fields.get(key)
            if value is not None:
                found = (value,) if type(value) is str else texts(value)
                break
        else:
            found = None
        self._raw[name] = found
        return found

    def lower(self, name: str) -> tuple[str, ...] | None:
        """``raw`` lower-cased (what case-insensitive tests compare with), computed once per event."""
        lowered = self._lower.get(name, _UNSEEN)
        if lowered is not _UNSEEN:
            return lowered
        raw = self._raw.get(name, _UNSEEN)
        if raw is _UNSEEN:
            raw = self.raw(name)
        if raw is None:
            lowered = None
        elif len(raw) == 1:
            lowered = (raw[0].lower(),)
        else:
            lowered = tuple(v.lower() for v in raw)
        self._lower[name] = lowered
        return lowered

    def everything(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Every distinct value text of the event, lower-cased and original (keyword searches, prefilter)."""
        if self._all is None:
            raw: dict[str, None] = {}
            for value in self.fields.values():
                if type(value) is str:
                    raw[value] = None
                else:
                    for text in texts(value):
                        raw[text] = None
            originals = tuple(raw)
            self._all = (tuple(v.lower() for v in originals), originals)
        return self._all
