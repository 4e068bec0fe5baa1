"""JSON helpers shared by the JSON-family parsers (zeek, suricata, ecs, wazuh, mde, generic).

``load_object`` decodes one line with ``orjson`` (invalid UTF-8 replaced, anything but an object refused),
``flatten`` stores nested values under dotted names within the Event model (64-bit integers, finite
floats, lists of scalars; everything else as JSON text), and the ``*_time`` functions turn ISO-8601 or
epoch values into aware UTC (a time without offset is in the sensor's zone, ``RawRecord.timezone``).
Every failure is a ``ParseError``.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from mimamori.domain.models import Fields, FieldValue, Scalar
from mimamori.errors import ParseError

MAX_INT = 2**63 - 1
MAX_DEPTH = 8  # nesting kept as dotted names; anything deeper is kept as JSON text
MAX_KEY = 256  # longer keys are refused: no ECS name is that long


def load_object(data: bytes, what: str) -> dict[str, Any]:
    """Decode one JSON object (``what`` names the format in errors); invalid UTF-8 is replaced."""
    data = data.strip()
    if not data.startswith(b"{"):
        raise ParseError(f"not a {what} JSON object")
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:  # orjson refuses invalid UTF-8: retry once on the replaced text before giving up
            obj = orjson.loads(data.decode("utf-8", "replace"))
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"invalid JSON: {str(exc)[:120]}") from exc
    if not isinstance(obj, dict):
        raise ParseError(f"{what} JSON line is not an object")
    return obj


def scalar(value: Any) -> Scalar | None:
    """A JSON scalar that fits the Event model; integers beyond 64 bits become text, ``None`` otherwise."""
    kind = type(value)
    if kind is str or kind is bool or kind is float:  # orjson floats are always finite
        return value  # type: ignore[no-any-return]
    if kind is int:
        return value if -MAX_INT <= value <= MAX_INT else str(value)
    return None


def json_text(value: Any) -> str:
    """A value as compact JSON text; one nested deeper than orjson writes (254 levels) as a marker."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return "[nested too deep]"


def flatten(fields: Fields, name: str, value: Any, depth: int = 0) -> None:
    """Store ``value`` flat under ``name``: scalars as they are, lists of scalars as lists, objects as
    dotted names; lists of objects and too-deep objects become JSON text, ``null`` is dropped."""
    kind = type(value)
    if kind is str or kind is bool or kind is float:
        fields[name] = value
    elif kind is int:
        fields[name] = value if -MAX_INT <= value <= MAX_INT else str(value)
    elif kind is list:
        items = [scalar(v) for v in value]
        if None in items:
            fields[name] = json_text(value)
        else:
            fields[name] = items  # type: ignore[assignment]
    elif kind is dict and depth < MAX_DEPTH:
        for key, inner in value.items():
            flatten(fields, f"{name}.{key}", inner, depth + 1)
    elif value is not None:
        fields[name] = json_text(value)


def flat(obj: dict[str, Any], prefix: str = "") -> Fields:
    """Flatten a whole object; ``prefix`` (with its dot) is put before every name."""
    fields: Fields = {}
    for key, value in obj.items():
        flatten(fields, prefix + key, value)
    return fields


def _no_nul(value: FieldValue) -> FieldValue:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in value]
    return value


def clean_nul(fields: Fields) -> Fields:
    """Replace NUL characters (from ``\\u0000`` escapes) in names and text; databases refuse them."""
    return {key.replace("\x00", "\ufffd"): _no_nul(value) for key, value in fields.items()}


@functools.lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The sensor's IANA time zone; an unknown name is a ``ParseError`` (the sensor is misconfigured)."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ParseError(f"unknown time zone {name[:64]!r}") from exc


def iso_time(value: str, tz: str) -> datetime:
    """ISO-8601 text to aware UTC; without an offset the time is in the zone ``tz``."""
    try:
        ts = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ParseError(f"bad timestamp: {value[:64]!r}") from exc
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=zone(tz))
    try:
        return ts.astimezone(UTC)
    except OverflowError as exc:
        raise ParseError(f"timestamp out of range: {value[:64]!r}") from exc


def epoch_time(value: float, scale: float = 1.0) -> datetime:
    """Seconds (or ``scale`` units per second) since 1970 to aware UTC."""
    try:
        return datetime.fromtimestamp(value / scale, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ParseError(f"timestamp out of range: {value!r}"[:80]) from exc


def any_time(value: Any, tz: str) -> datetime:
    """ISO text, or epoch seconds / milliseconds told apart by magnitude (as text or number)."""
    if isinstance(value, str):
        if value.isascii() and value.replace(".", "", 1).isdigit() and len(value) < 24:
            value = float(value)
        else:
            return iso_time(value, tz)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return epoch_time(value, 1000.0 if abs(value) >= 1e11 else 1.0)
    raise ParseError("missing or non-time timestamp")


SCALARS = frozenset((str, int, float, bool))
_LEARNED_NAMES = 512  # unknown keys remembered per table (bounds memory under hostile input)


class _Names(dict[str, str]):
    """key -> field name; an unknown key gets ``prefix + key`` and is remembered (bounded)."""

    __slots__ = ("prefix",)

    def __init__(self, prefix: str, known: dict[str, str]) -> None:
        super().__init__(known)
        self.prefix = prefix

    def __missing__(self, key: str) -> str:
        name = self.prefix + key
        if len(self) < _LEARNED_NAMES and len(key) <= 64:
            self[key] = name
        return name


class Renamer:
    """Renames one JSON object's keys at C speed when its values are plain scalars of the right types.

    ``known`` maps a key to its ECS name and the one JSON type that name takes; other keys go under
    ``prefix``. ``rename`` returns False (and does nothing) when a value is a list, an object, ``null``
    or of the wrong type, or when ``big_ints`` says the line has an integer beyond 64 bits: the caller
    then takes its key-by-key path, which must give the same fields.
    """

    __slots__ = ("defaults", "keys", "names", "types")

    def __init__(self, prefix: str, known: dict[str, tuple[str, type[Any]]]) -> None:
        self.names = _Names(prefix, {key: name for key, (name, _) in known.items()})
        self.keys = tuple(known)
        self.types = [kind for _, kind in known.values()]
        self.defaults = tuple(kind() for kind in self.types)  # a missing key passes the type check

    def rename(self, fields: Fields, obj: dict[str, Any], big_ints: bool) -> bool:
        if big_ints or not {*map(type, obj.values())} <= SCALARS:
            return False
        if list(map(type, map(obj.get, self.keys, self.defaults))) != self.types:
            return False
        fields.update(zip(map(self.names.__getitem__, obj), obj.values()))  # noqa: B905
        return True


# A JSON integer beyond 64 bits has 19+ digits after ":", "," or "[" (spaces allowed): translate digits
# to "0" and those separators to " ", then look for " " + 19 zeros (two C calls). Fractions (".000...")
# do not match; a string that happens to match only costs the slower, fully checked path.
_NUMBER_SHAPE = bytes(48 if 48 <= i <= 57 else 32 if i in b":,[ \t\r\n" else 120 for i in range(256))
_BIG_INTEGER = b" " + b"0" * 19


def has_big_int(data: bytes) -> bool:
    """Whether the JSON text may hold an integer literal beyond 64 bits."""
    return _BIG_INTEGER in data.translate(_NUMBER_SHAPE)
