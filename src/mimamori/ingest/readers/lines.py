"""Line files: plain text logs and JSON lines, one record per line (LF or CRLF), blank lines skipped.

The reader splits blocks, never calls ``readline`` on an unbounded stream: a line longer than the limit is
cut to its first bytes and reported as ``Oversize`` while the rest of it is skipped, so a 10 MB line costs
no more memory than a normal one. A UTF-8 byte-order mark at the start of the file is dropped. A last line
without its newline is a record too (a file import reads what is there).
"""

from __future__ import annotations

from collections.abc import Iterator

from mimamori.ingest.readers.source import Oversize, Record

BOM = b"\xef\xbb\xbf"


def sniff(head: bytes, name: str) -> bool:
    """Every file is a line file when nothing more specific matches (the table's last entry)."""
    del head, name
    return True


def sniff_json(head: bytes, name: str) -> bool:
    """JSON lines: the first non-blank byte opens an object."""
    del name
    return head.removeprefix(BOM).lstrip()[:1] == b"{"


def without_bom(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The blocks with a UTF-8 byte-order mark at the very start removed (Windows tools write one)."""
    chunks = iter(chunks)
    start = b""
    for chunk in chunks:
        start += chunk
        if len(start) >= len(BOM):
            break
    if start:
        yield start.removeprefix(BOM)
    yield from chunks


def read(chunks: Iterator[bytes], limit: int) -> Iterator[Record]:
    """Every non-blank line of the stream, without its line ending."""
    carry = b""
    skipping: Oversize | None = None  # the line being skipped, its first bytes and its length so far
    for chunk in without_bom(chunks):
        block = chunk
        if skipping is not None:
            end = block.find(b"\n")
            if end < 0:
                skipping = Oversize(skipping.head, skipping.size + len(block))
                continue
            yield Oversize(skipping.head, skipping.size + end)
            skipping = None
            block = block[end + 1 :]
        elif carry:
            block = carry + block
        parts = block.split(b"\n")
        carry = parts.pop()
        for part in parts:
            if len(part) > limit:
                yield Oversize(part[:limit], len(part))
            elif part[-1:] == b"\r":
                if len(part) > 1:
                    yield part[:-1]
            elif part:
                yield part
        if len(carry) > limit:
            skipping = Oversize(carry[:limit], len(carry))
            carry = b""
    if skipping is not None:
        yield skipping
    elif carry:
        carry = carry.removesuffix(b"\r")
        if len(carry) > limit:
            yield Oversize(carry[:limit], len(carry))
        elif carry:
            yield carry
