"""Any JSON-object or ``key=value`` log line, renamed to ECS names through a user-supplied field mapping.

A line is either one JSON object (nested objects are flattened to dotted names: ``{"a": {"b": 1}}`` gives
``a.b``) or ``key=value`` pairs separated by blanks, values bare or double-quoted with ``\\"`` and ``\\\\``
escapes (``a=1 b="x y"``). The registered ``generic`` parser uses the identity mapping: names are kept
as they are and the timestamp is found in ``@timestamp``, ``timestamp``, ``time`` or ``ts``.

A custom mapping is a small TOML (or JSON, by the ``.json`` suffix) file, read with ``load_mapping``::

    dataset = "myapp.access"            # Event.dataset (default "generic")
    timestamp_field = "when"            # after flattening; default: the first of the names above
    timestamp_format = "%d/%b/%Y:%H:%M:%S %z"  # strptime, or "iso8601", "epoch", "epoch_ms"; default: auto
    unmapped_prefix = "myapp"           # where unmapped keys go ("" keeps them as they are)
    [fields]
    client = "source.ip"
    cport = "source.port:int"           # ":int", ":float" or ":bool" converts; a bad value stays unmapped

and ``make_parser(mapping)`` turns it into a parser with the usual contract. Seam for per-sensor
mappings: ``PARSERS["generic"]`` is the identity parser; a later change lets a sensor name its mapping
file, and the pipeline will then call ``make_parser(load_mapping(path))`` once per sensor (cache the
result) instead of looking the format up in ``PARSERS``. Timestamps without an offset are in the
sensor's time zone (``RawRecord.timezone``); a line without any timestamp gets its reception time.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mimamori.domain.models import Event, Fields, FieldValue, RawRecord
from mimamori.errors import ConfigError, ParseError
from mimamori.parsers import _json

FORMAT = "generic"

TIMESTAMP_KEYS = ("@timestamp", "timestamp", "time", "ts")
_TYPES = frozenset(("int", "float", "bool"))
_TRUE = frozenset(("true", "1", "yes", "on"))
_FALSE = frozenset(("false", "0", "no", "off"))
# key=value tokens; possessive quantifiers keep the scan linear on hostile input.
_KV_RE = re.compile(r'([^\s="]++)=(?:"((?:[^"\\]++|\\.)*+)("?)|([^\s"]*+))|(\S+)')
_UNESCAPE_RE = re.compile(r'\\(["\\])')


@dataclass(frozen=True, slots=True)
class Mapping:
    """How one kind of generic line becomes an Event (see the module docstring for the file format)."""

    fields: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (ECS name, "", "int"...)
    timestamp_field: str | None = None
    timestamp_format: str | None = None  # None: auto; "iso8601", "epoch", "epoch_ms" or a strptime pattern
    dataset: str = FORMAT
    unmapped_prefix: str = ""


IDENTITY = Mapping()


def _mapping_from(doc: dict[str, Any], where: str) -> Mapping:
    renames: dict[str, tuple[str, str]] = {}
    raw = doc.get("fields", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: 'fields' must be a table of source_key = \"ecs.name\"")
    for key, target in raw.items():
        if not isinstance(target, str) or not target:
            raise ConfigError(f"{where}: field {key!r} must map to a non-empty string")
        name, _, kind = target.partition(":")
        if kind and kind not in _TYPES:
            raise ConfigError(f"{where}: field {key!r}: unknown type {kind!r} (int, float, bool)")
        renames[key] = (name, kind)
    texts = {}
    for key in ("timestamp_field", "timestamp_format", "dataset", "unmapped_prefix"):
        value = doc.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string")
        texts[key] = value
    prefix = texts["unmapped_prefix"] or ""
    return Mapping(
        fields=renames,
        timestamp_field=texts["timestamp_field"],
        timestamp_format=texts["timestamp_format"],
        dataset=texts["dataset"] or FORMAT,
        unmapped_prefix=f"{prefix.rstrip('.')}." if prefix else "",
    )


def load_mapping(path: Path | str) -> Mapping:
    """Read a mapping file (TOML, or JSON when the name ends in ``.json``); errors are ``ConfigError``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # TOMLDecodeError is a ValueError
        raise ConfigError(f"{path}: cannot read the field mapping: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: a field mapping must be an object")
    return _mapping_from(doc, str(path))


def _unquote(value: str) -> str:
    return _UNESCAPE_RE.sub(r"\1", value) if "\\" in value else value


def key_values(text: str) -> dict[str, str]:
    """``a=1 b="x y"`` to a dict; a stray word extends the value before it, an open quote is an error."""
    pairs: dict[str, str] = {}
    last: str | None = None
    for key, quoted, closing, bare, stray in _KV_RE.findall(text):
        if stray:
            if last is None or stray.startswith('"'):
                raise ParseError("not a key=value line")
            pairs[last] = f"{pairs[last]} {stray}"
            continue
        if (quoted or closing) and not closing:
            raise ParseError(f"unbalanced quote in value of {key[:64]!r}")
        if bare.startswith('"'):
            raise ParseError(f"unbalanced quote in value of {key[:64]!r}")
        pairs[key] = _unquote(quoted) if closing else bare
        last = key
    if not pairs:
        raise ParseError("no key=value pairs found")
    return pairs


def _convert(value: FieldValue, kind: str) -> FieldValue | None:
    if not kind or isinstance(value, list):
        return value if not kind else None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        return True if text in _TRUE else False if text in _FALSE else None
    try:
        number = int(value) if kind == "int" else float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number) or abs(number) > _json.MAX_INT:
        return None
    return number


def _timestamp(fields: Fields, mapping: Mapping, record: RawRecord) -> datetime:
    """The event time from the first timestamp field present, which is then removed from ``fields``."""
    names = (mapping.timestamp_field,) if mapping.timestamp_field else TIMESTAMP_KEYS
    for name in names:
        value = fields.get(name)
        if value is None or isinstance(value, list | bool):
            continue
        del fields[name]
        fmt = mapping.timestamp_format
        if fmt is None:
            return _json.any_time(value, record.timezone)
        if fmt in {"epoch", "epoch_ms"}:
            try:
                number = float(value)
            except ValueError as exc:
                raise ParseError(f"bad epoch timestamp {str(value)[:64]!r}") from exc
            return _json.epoch_time(number, 1000.0 if fmt == "epoch_ms" else 1.0)
        if fmt == "iso8601":
            return _json.iso_time(str(value), record.timezone)
        try:
            ts = datetime.strptime(str(value)[:256], fmt)
        except ValueError as exc:
            raise ParseError(f"timestamp {str(value)[:64]!r} does not match {fmt[:64]!r}") from exc
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=_json.zone(record.timezone))
        try:
            return ts.astimezone(UTC)
        except OverflowError as exc:
            raise ParseError(f"timestamp out of range: {str(value)[:64]!r}") from exc
    if mapping.timestamp_field:
        raise ParseError(f"no timestamp field {mapping.timestamp_field[:64]!r}")
    return record.received_at.astimezone(UTC)


def make_parser(mapping: Mapping) -> Callable[[RawRecord], Event | None]:
    """A parser with the usual contract (``None`` for blank lines, ``ParseError`` for bad ones)."""

    def parse_with_mapping(record: RawRecord) -> Event | None:
        data = record.data.strip()
        if not data:
            return None
        if data.startswith(b"{"):
            raw = _json.flat(_json.load_object(data, "generic"))
        else:
            text = data.decode("utf-8", "replace")
            raw = dict(key_values(text))
        if any(len(key) > _json.MAX_KEY for key in raw):
            raise ParseError("a key is longer than 256 characters")
        if b"\x00" in data or b"\\u0000" in data:
            raw = _json.clean_nul(raw)
        timestamp = _timestamp(raw, mapping, record)
        fields: Fields = {}
        prefix = mapping.unmapped_prefix
        for key, value in raw.items():
            target = mapping.fields.get(key)
            converted = None if target is None else _convert(value, target[1])
            if target is not None and converted is not None:
                fields[target[0]] = converted
            else:
                fields[prefix + key] = value
        return Event(
            timestamp=timestamp,
            tenant_id=record.tenant_id,
            sensor_id=record.sensor_id,
            dataset=mapping.dataset,
            fields=fields,
        )

    return parse_with_mapping


parse = make_parser(IDENTITY)
