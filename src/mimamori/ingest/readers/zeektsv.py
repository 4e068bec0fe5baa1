"""Zeek's default ASCII (TSV) logs, converted to one compact JSON object per data line.

The Zeek parser reads Zeek's JSON; this reader turns each TSV data line into the object Zeek itself would
have written with ``LogAscii::use_json=T``, plus ``_path`` from the header, so ``--format zeek`` covers both.
The header (Zeek's ASCII writer, ``#separator`` first and always with a space) gives the separator, the set
separator, the unset (``-``) and empty (``(empty)``) markers, the field names and their types; a file may
hold several headers (concatenated logs), each applying to the lines after it. Values: ``\\xHH`` escapes
and ``\\\\`` are decoded (bytes that are not UTF-8 stay as ``\\xHH`` text, as in Zeek's JSON); unset
fields are left out; ``set[...]``/``vector[...]`` become lists split on the set separator; ``count``,
``int`` and ``port`` become integers, ``time``/``interval``/``double`` numbers, ``bool`` true/false. A
data line whose field count does not match the header is passed on as it is, and the parser refuses it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from mimamori.ingest.readers import lines
from mimamori.ingest.readers.source import Oversize, Record

FORMAT = "zeek"  # the parser these records are meant for
MAGIC = b"#separator "

_ESCAPE_RE = re.compile(rb"\\(x[0-9A-Fa-f]{2}|\\)")
_INTS = frozenset(("count", "int", "port"))
_FLOATS = frozenset(("time", "interval", "double"))

Convert = Callable[[bytes], Any]


def sniff(head: bytes, name: str) -> bool:
    """Zeek's ASCII writer starts every log with ``#separator`` and a space."""
    del name
    return head.removeprefix(lines.BOM).startswith(MAGIC)


def _unescape_match(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    return b"\\" if code == b"\\" else bytes((int(code[1:], 16),))


def unescape(value: bytes) -> bytes:
    """Decode Zeek's ``\\xHH`` and ``\\\\`` escapes (anything else stays as written)."""
    return _ESCAPE_RE.sub(_unescape_match, value) if b"\\" in value else value


def _text(value: bytes) -> str:
    return unescape(value).decode("utf-8", "backslashreplace")


def _int(value: bytes) -> Any:
    try:
        return int(value)
    except ValueError:
        return _text(value)


def _float(value: bytes) -> Any:
    try:
        number = float(value)
    except ValueError:
        return _text(value)
    return number if math.isfinite(number) else _text(value)


def _bool(value: bytes) -> Any:
    if value == b"T":
        return True
    if value == b"F":
        return False
    return _text(value)


def _scalar_converter(zeek_type: str) -> Convert:
    if zeek_type in _INTS:
        return _int
    if zeek_type in _FLOATS:
        return _float
    if zeek_type == "bool":
        return _bool
    return _text


class Header:
    """The state one ``#`` header block sets up: separators, markers, names and converters."""

    def __init__(self, separator: bytes) -> None:
        self.separator = separator
        self.set_separator = b","
        self.unset = b"-"
        self.empty = b"(empty)"
        self.path: str | None = None
        self.fields: list[str] = []
        self.types: list[str] = []
        self.converters: list[tuple[str, Convert, bool]] = []

    def directive(self, line: bytes) -> None:
        """Apply one ``#name<sep>value`` line."""
        name, _, value = line[1:].partition(self.separator)
        if name == b"set_separator":
            self.set_separator = unescape(value) or b","
        elif name == b"unset_field":
            self.unset = value
        elif name == b"empty_field":
            self.empty = value
        elif name == b"path":
            self.path = _text(value)
        elif name == b"fields":
            self.fields = [_text(f) for f in value.split(self.separator)]
            self._compile()
        elif name == b"types":
            self.types = [_text(t) for t in value.split(self.separator)]
            self._compile()

    def _compile(self) -> None:
        types = self.types if len(self.types) == len(self.fields) else ["string"] * len(self.fields)
        compiled: list[tuple[str, Convert, bool]] = []
        for name, zeek_type in zip(self.fields, types, strict=True):
            container = zeek_type.startswith(("set[", "vector[", "table["))
            inner = zeek_type[zeek_type.find("[") + 1 : -1] if container else zeek_type
            compiled.append((name, _scalar_converter(inner), container))
        self.converters = compiled

    def convert(self, line: bytes) -> bytes | None:
        """The JSON object for one data line, or None if it does not fit the header."""
        values = line.split(self.separator)
        if not self.converters or len(values) != len(self.converters):
            return None
        obj: dict[str, Any] = {}
        if self.path is not None:
            obj["_path"] = self.path
        unset, empty = self.unset, self.empty
        for (name, convert, container), value in zip(self.converters, values, strict=True):
            if value == unset:
                continue
            if container:
                if value == empty:
                    obj[name] = []
                else:
                    obj[name] = [convert(v) for v in value.split(self.set_separator)]
            elif value == empty:
                obj[name] = ""
            else:
                obj[name] = convert(value)
        return orjson.dumps(obj)


def _separator(line: bytes) -> bytes:
    return unescape(line[len(MAGIC) :].strip(b" \r")) or b"\t"


def read(chunks: Iterator[bytes], limit: int) -> Iterator[Record]:
    """One JSON object per data line; ``#`` lines set the header and yield nothing."""
    header: Header | None = None
    for line in lines.read(chunks, limit):
        if isinstance(line, Oversize):
            yield line
        elif line.startswith(b"#"):
            if line.startswith(MAGIC):
                header = Header(_separator(line))
            elif header is not None:
                header.directive(line)
        elif header is None:
            yield line
        else:
            converted = header.convert(line)
            yield line if converted is None else converted
