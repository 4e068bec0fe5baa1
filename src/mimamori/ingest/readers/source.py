"""What the file readers share: the byte streams they read, the size limits, and what they produce.

A reader never holds a whole file: streams are read in blocks of ``BLOCK`` bytes, one record at most
``Limits.record`` bytes is kept (longer ones become ``Oversize`` with their first bytes), and everything
decompressed out of an archive is counted against ``Budget`` so a zip bomb stops at its limit instead of
filling the disk or the memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from mimamori.errors import IngestError

BLOCK = 1024 * 1024  # bytes per read: large enough that per-call overhead vanishes
HEAD = 1024 * 1024  # bytes hashed to recognise a file again (it may have grown since)
GIB = 1024**3


class Readable(Protocol):
    """The one method the readers need of a byte stream (files, decompressors, archive members)."""

    def read(self, size: int = -1, /) -> bytes: ...


def reader_of(stream: Readable) -> Callable[[int], bytes]:
    """The stream's ``read1`` if it has one, else ``read``.

    ``read1`` returns what one underlying read gives: a stream that is corrupt further on still hands
    out everything before the damage, where a buffered ``read(n)`` would drop the part it had collected.
    """
    read1: Callable[[int], bytes] | None = getattr(stream, "read1", None)
    return read1 if read1 is not None else stream.read


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds against hostile files; the defaults suit real logs.

    ``record``: longest record kept (longer ones are quarantined, never held whole); ``member``: bytes one
    member of an archive may expand to (through all its layers); ``ratio``: largest expansion of a member
    over its compressed size; ``expanded``: bytes that may come out of one top-level archive in all;
    ``depth``: containers (archives, compression) inside each other.
    """

    record: int = 64 * 1024
    member: int = GIB
    ratio: int = 1000
    expanded: int = 16 * GIB
    depth: int = 6

    def cap(self, stored: int) -> int:
        """Most bytes a member stored in ``stored`` bytes may expand to."""
        return min(self.member, max(self.ratio * stored, HEAD))


@dataclass(frozen=True, slots=True)
class Oversize:
    """A record longer than the limit: its first bytes (for the quarantine) and its real size."""

    head: bytes
    size: int


Record = bytes | Oversize
RecordReader = Callable[[Iterator[bytes], int], Iterator[Record]]  # (blocks, record limit) -> records


@dataclass(slots=True)
class Budget:
    """Decompressed bytes still allowed for one top-level file (shared by all its nested layers)."""

    limit: int
    used: int = 0
    origin: str = ""

    def take(self, size: int, where: str) -> None:
        self.used += size
        if self.used > self.limit:
            raise IngestError(
                f"{where}: expands beyond {self.limit} bytes; refused as a possible archive bomb"
            )


class Guarded:
    """A stream whose output is counted against a ``Budget`` (and optionally a per-member cap)."""

    def __init__(self, stream: Readable, budget: Budget, where: str, cap: int) -> None:
        self._read = reader_of(stream)
        self._budget = budget
        self._where = where
        self._cap = cap
        self._count = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._read(size)
        self._count += len(data)
        if self._count > self._cap:
            raise IngestError(
                f"{self._where}: expands beyond {self._cap} bytes (the limit for its size); "
                "refused as a possible archive bomb"
            )
        self._budget.take(len(data), self._where)
        return data


class Prefixed:
    """A stream with its first bytes already read (to sniff them) put back in front."""

    def __init__(self, head: bytes, stream: Readable) -> None:
        self._head = head
        self._stream = stream
        self._read = reader_of(stream)

    def read(self, size: int = -1, /) -> bytes:
        if self._head:
            if size < 0:
                data, self._head = self._head + self._stream.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._read(size) if size >= 0 else self._stream.read()


class Failing:
    """A stream that fails as the one it replaces did (raised when the reader gets that far)."""

    def __init__(self, error: BaseException) -> None:
        self._error = error

    def read(self, size: int = -1, /) -> bytes:
        raise self._error


def read_head(
    stream: Readable, errors: tuple[type[BaseException], ...], size: int = HEAD
) -> tuple[bytes, BaseException | None]:
    """Up to ``size`` bytes from the start of ``stream``, and the read error that cut them short, if any.

    A corrupt stream still gives the records before the damage; the error is raised again later, once
    the reader reaches it.
    """
    parts: list[bytes] = []
    wanted = size
    error: BaseException | None = None
    read = reader_of(stream)
    while wanted > 0:
        try:
            data = read(wanted)
        except errors as exc:
            error = exc
            break
        if not data:
            break
        parts.append(data)
        wanted -= len(data)
    return b"".join(parts), error


def blocks(head: bytes, stream: Readable) -> Iterator[bytes]:
    """The whole content as blocks: the head already read, then the rest of the stream."""
    if head:
        yield head
    read = reader_of(stream)
    while data := read(BLOCK):
        yield data


def fingerprint(head: bytes) -> str:
    """The file's identity: the length hashed (hex) and the SHA-256 of those first bytes, 64 characters.

    The length is kept so that a file that grew since (same first bytes, more of them now) can be
    recognised by hashing the same number of its bytes again.
    """
    digest = hashlib.sha256(head).hexdigest()
    return f"{len(head):x}:{digest}"[:64]


def hashed_length(value: str) -> int | None:
    """How many head bytes ``value`` (a ``fingerprint``) covers; None if it is not one."""
    length, sep, _ = value.partition(":")
    try:
        return int(length, 16) if sep else None
    except ValueError:
        return None


@dataclass(slots=True)
class Leaf:
    """One stream of records: a file, or a member of an archive, ready to read.

    ``origin`` is for people (``logs/a.zip!b.log.gz``), ``source`` identifies it across runs (absolute
    path and member names). ``head`` is the first ``HEAD`` bytes of its (decompressed) content;
    ``implies`` is the only format it can be in (EVTX, Zeek TSV), if any. Read it before asking the walk
    for the next one.
    """

    origin: str
    source: str
    reader: str
    head: bytes
    implies: str | None
    open: Callable[[int], Iterator[Record]]  # the records after the first ``start``
    progress: Callable[[], int]  # bytes of the top-level file read so far
    size: int  # bytes of the top-level file
    skipped: int = 0  # records ``open`` skipped (complete once its iterator is exhausted)


@dataclass(frozen=True, slots=True)
class Failure:
    """A file or member that cannot be read at all, with the reason; the walk goes on after it."""

    origin: str
    message: str


# -- progress across the top-level inputs of an import or a hunt ------------------------------------
Callback = Callable[[int, str], None]  # (bytes of all inputs read so far, the leaf being read)


class _Leaf(Protocol):
    origin: str
    size: int

    @property
    def progress(self) -> Callable[[], int]: ...


class ByteProgress:
    """Bytes read across top-level inputs, from each leaf's position in its file: calls
    ``callback(done, origin)`` for each leaf. Leaves of one archive share their file's ``progress``
    callable; a new one means the previous file is finished. A missing callback makes it a no-op."""

    def __init__(self, callback: Callback | None) -> None:
        self.callback = callback
        self.done = 0  # bytes of the top-level files finished before the current one
        self.current: Callable[[], int] | None = None
        self.size = 0

    def __call__(self, leaf: _Leaf) -> None:
        if leaf.progress is not self.current:
            if self.current is not None:
                self.done += self.size
            self.current, self.size = leaf.progress, leaf.size
        if self.callback is not None:
            try:
                position = min(leaf.progress(), leaf.size)
            except (OSError, ValueError):
                position = 0
            self.callback(self.done + position, leaf.origin)
