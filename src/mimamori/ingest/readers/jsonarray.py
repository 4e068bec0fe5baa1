"""Files that are one JSON array (``[{...}, {...}]``, e.g. exported alerts): one record per element.

The array is streamed, never loaded whole: a small scanner tracks nesting depth and strings (with their
escapes) across blocks and cuts the top level at its commas. Each element is re-serialised compactly (a
pretty-printed export becomes one line per record); an element that is not valid JSON is passed on as
written for its parser to refuse, and one longer than the limit becomes ``Oversize`` while the scanner
skips the rest of it. Several arrays one after another (``[...][...]``) are read in turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import orjson

from mimamori.ingest.readers import lines
from mimamori.ingest.readers.source import Oversize, Record

_OUTSIDE = re.compile(rb'[\[\]{},"]')  # the bytes that matter outside strings
_INSIDE = re.compile(rb'["\\]')  # ... and inside them


def sniff(head: bytes, name: str) -> bool:
    """The first non-blank byte opens an array."""
    del name
    return head.removeprefix(lines.BOM).lstrip()[:1] == b"["


def _compact(element: bytes) -> bytes:
    try:
        return orjson.dumps(orjson.loads(element))
    except orjson.JSONDecodeError:
        return element


class _Scanner:
    """State carried across blocks: depth, whether inside a string, the element being collected."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.depth = 0  # 0 outside the array, 1 at its top level, more inside an element
        self.in_string = False
        self.escaped = False  # a backslash ended the previous block inside a string
        self.parts: list[bytes] = []  # the current element's bytes so far (dropped once too long)
        self.size = 0  # the current element's length so far
        self.head = b""  # its first bytes, once it is too long

    def _keep(self, data: bytes) -> None:
        if self.depth < 1:
            return
        if not self.size:  # the whitespace before an element is not part of it
            data = data.lstrip()
        if not data:
            return
        self.size += len(data)
        if self.head:
            return
        self.parts.append(data)
        if self.size > self.limit:
            self.head = b"".join(self.parts)[: self.limit]
            self.parts = []

    def _element(self) -> Record | None:
        joined = b"".join(self.parts).strip()
        size, head = self.size, self.head
        self.parts, self.size, self.head = [], 0, b""
        if head:
            return Oversize(head, size)
        return _compact(joined) if joined else None

    def feed(self, block: bytes) -> Iterator[Record]:
        pos, end = 0, len(block)
        while pos < end:
            if self.in_string:
                if self.escaped:  # the byte after a backslash that ended the last block
                    self.escaped = False
                    self._keep(block[pos : pos + 1])
                    pos += 1
                    continue
                match = _INSIDE.search(block, pos)
                if match is None:
                    self._keep(block[pos:])
                    return
                stop = match.end()
                if match.group() == b"\\":
                    if stop >= end:
                        self.escaped = True
                    else:
                        stop += 1
                else:
                    self.in_string = False
                self._keep(block[pos:stop])
                pos = stop
                continue
            match = _OUTSIDE.search(block, pos)
            if match is None:
                self._keep(block[pos:])
                return
            char = match.group()
            start = match.start()
            if char in b",]" and self.depth == 1:
                self._keep(block[pos:start])
                element = self._element()
                if element is not None:
                    yield element
                if char == b"]":
                    self.depth = 0
                pos = start + 1
                continue
            if char == b"[" and self.depth == 0:
                self.depth = 1
                pos = start + 1
                continue
            if char == b'"':
                self.in_string = True
            elif char in b"[{":
                self.depth += 1
            elif char in b"]}":
                self.depth = max(self.depth - 1, 1)
            self._keep(block[pos : start + 1])
            pos = start + 1

    def finish(self) -> Iterator[Record]:
        """An array cut off before its ``]``: the last element as far as it got."""
        if self.depth >= 1:
            element = self._element()
            if element is not None:
                yield element


def read(chunks: Iterator[bytes], limit: int) -> Iterator[Record]:
    """Every element of the array(s) in the stream."""
    scanner = _Scanner(limit)
    for chunk in lines.without_bom(chunks):
        yield from scanner.feed(chunk)
    yield from scanner.finish()
