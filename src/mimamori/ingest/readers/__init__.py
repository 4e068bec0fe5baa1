"""File readers for ``mimamori ingest``: every kind of input in one table, ``READERS``, chosen by content.

``walk(paths)`` turns files and directories into ``Leaf`` objects (one stream of records each: a file, or
a member of an archive, however deeply nested) and ``Failure`` objects (what cannot be read, with the
reason); the file import service reads each leaf's records and keeps the ledger. Readers are tried in the
table's order on the first bytes of the content (and the name, for ``.evtx``); compressed streams and
archives are opened and their content typed again, so a ``.zip`` of ``.log.gz`` files or a ``.tar.gz``
works. Nothing here touches the database; everything is bounded by ``Limits``.
"""

from __future__ import annotations

import contextlib
import itertools
import lzma
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, cast

from mimamori.errors import IngestError
from mimamori.ingest.readers import archive, compressed, directory, evtx, jsonarray, lines, zeektsv
from mimamori.ingest.readers.source import (
    HEAD,
    Budget,
    Failing,
    Failure,
    Guarded,
    Leaf,
    Limits,
    Oversize,
    Prefixed,
    Readable,
    Record,
    RecordReader,
    blocks,
    fingerprint,
    hashed_length,
    read_head,
)

EVTX_FORMAT = "evtx"  # the parser of the records ``evtx.read`` yields

Members = Callable[[Readable, str, Limits, Budget], Iterator[archive.Member | Failure]]
PathReader = Callable[[Path, int, Leaf], Iterator[Record]]  # (file, start, leaf to note skips on)


@dataclass(frozen=True, slots=True)
class Reader:
    """One kind of input. Exactly one of the four ways to read it is set.

    ``records``: a leaf read from a byte stream; ``path_records``: a leaf that needs a real file (EVTX);
    ``decompress``: a stream whose output is typed again; ``members``: an archive (``seekable`` if it
    needs random access, zip). ``implies`` is the only format its records can be in.
    """

    name: str
    sniff: Callable[[bytes, str], bool]
    records: RecordReader | None = None
    path_records: PathReader | None = None
    decompress: Callable[[Readable], Readable] | None = None
    members: Members | None = None
    seekable: bool = False
    implies: str | None = None


def _sniff_evtx(head: bytes, name: str) -> bool:
    return head.startswith(evtx.FILE_MAGIC) or name.lower().endswith(".evtx")


def _evtx_records(path: Path, start: int, leaf: Leaf) -> Iterator[Record]:
    stats = evtx.ReadStats()
    for _, data in evtx.read(path, start=start, stats=stats):
        yield data
    leaf.skipped = min(start, stats.records)


def _unfollowed(after: int) -> Iterator[tuple[int, bytes]]:  # pragma: no cover - set by _leaf
    raise NotImplementedError(after)


def _never_follows(last_id: int, record_digest: str) -> bool:  # pragma: no cover - set by _leaf
    del last_id, record_digest
    return False


@dataclass(slots=True)
class EvtxLeaf(Leaf):
    """An EVTX file (or member), which is also followed by record id rather than by position.

    ``after(last_id)`` yields ``(record id, document)`` for the records above ``last_id`` (decoding only
    the chunks that can hold them) and sets ``skipped`` to the records up to ``last_id`` the file still
    holds; ``follows(last_id, digest)`` tells whether this content continues the log whose record
    ``last_id`` had that digest (``evtx.follows``). ``open(start)`` still reads by position.
    """

    after: Callable[[int], Iterator[tuple[int, bytes]]] = field(default=_unfollowed)
    follows: Callable[[int, str], bool] = field(default=_never_follows)


def _evtx_after(path: Path, after: int, leaf: Leaf) -> Iterator[tuple[int, bytes]]:
    leaf.skipped = evtx.count_through(path, after) if after else 0
    yield from evtx.read_after(path, after)


def _zip(file: Readable, where: str, limits: Limits, budget: Budget) -> Iterator[archive.Member | Failure]:
    return archive.zip_members(cast(BinaryIO, file), where, limits, budget)  # seekable: see _archive


def _tar(stream: Readable, where: str, limits: Limits, budget: Budget) -> Iterator[archive.Member | Failure]:
    del where, limits, budget  # tar members are stored, not compressed: nothing to inflate
    return archive.tar_members(stream)


def _never(head: bytes, name: str) -> bool:
    del head, name
    return False


# Tried in this order; the last one takes anything.
READERS: dict[str, Reader] = {
    "directory": Reader("directory", _never),  # chosen by the path being a directory (walk)
    "gzip": Reader("gzip", compressed.sniff_gzip, decompress=compressed.open_gzip),
    "bzip2": Reader("bzip2", compressed.sniff_bzip2, decompress=compressed.open_bzip2),
    "xz": Reader("xz", compressed.sniff_xz, decompress=compressed.open_xz),
    "zip": Reader("zip", archive.sniff_zip, members=_zip, seekable=True),
    "tar": Reader("tar", archive.sniff_tar, members=_tar),
    "evtx": Reader("evtx", _sniff_evtx, path_records=_evtx_records, implies=EVTX_FORMAT),
    "zeek-tsv": Reader("zeek-tsv", zeektsv.sniff, records=zeektsv.read, implies=zeektsv.FORMAT),
    "json-array": Reader("json-array", jsonarray.sniff, records=jsonarray.read),
    "json-lines": Reader("json-lines", lines.sniff_json, records=lines.read),
    "lines": Reader("lines", lines.sniff, records=lines.read),
}

# Damage a reader reports while decompressing or unpacking: the file is refused (or stops) with the reason.
READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.TarError,
    IngestError,
)


def reason(exc: BaseException) -> str:
    """A one-line account of a read error for people."""
    if isinstance(exc, IngestError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if isinstance(exc, EOFError | zlib.error) else text


def sniff(head: bytes, name: str) -> Reader:
    """The first reader of the table that claims this content."""
    for reader in READERS.values():
        if reader.sniff(head, name):
            return reader
    return READERS["lines"]  # pragma: no cover - lines claims everything


@dataclass(frozen=True, slots=True)
class _Node:
    """Something to type: a top-level file or what came out of a container."""

    origin: str  # for people
    source: str  # identity across runs
    name: str  # its name, for the extension
    stream: Readable
    file: BinaryIO | None  # a seekable file holding exactly this content, if there is one
    path: Path | None  # ... and its path
    depth: int  # containers around it
    size: int  # bytes it holds (compressed, for a compressed stream)


@dataclass(frozen=True, slots=True)
class _Top:
    """What all nodes of one top-level file share."""

    limits: Limits
    budget: Budget
    progress: Callable[[], int]
    size: int


def walk(paths: Sequence[Path], limits: Limits | None = None) -> Iterator[Leaf | Failure]:
    """Every leaf (and every failure) under ``paths``, in order: files as given, directories sorted.

    Read each leaf's records before taking the next item: the walk holds its file open meanwhile.
    """
    limits = limits or Limits()
    for path in paths:
        targets = directory.files(path) if path.is_dir() else iter((path,))
        for target in targets:
            yield from _top(target, limits)


def _top(path: Path, limits: Limits) -> Iterator[Leaf | Failure]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield Failure(str(path), f"cannot read: {reason(exc)}")
        return
    with handle:
        size = os.fstat(handle.fileno()).st_size
        top = _Top(limits, Budget(limits.expanded), handle.tell, size)
        node = _Node(str(path), str(path.resolve()), path.name, handle, handle, path, 0, size)
        yield from _expand(top, node)


def _expand(top: _Top, node: _Node) -> Iterator[Leaf | Failure]:
    head, error = read_head(node.stream, READ_ERRORS)
    if error is not None:
        if not head:
            yield Failure(node.origin, reason(error))
            return
        node = replace(node, stream=Failing(error), file=None)
    reader = sniff(head, node.name)
    leaf = reader.records is not None or reader.path_records is not None
    if not leaf and node.depth >= top.limits.depth:
        yield Failure(node.origin, f"nested more than {top.limits.depth} containers deep; not read")
        return
    try:
        if leaf:
            yield from _leaf(top, node, reader, head)
        elif reader.decompress is not None:
            inner = reader.decompress(_prefixed(head, node))
            if node.depth > 0:  # inside an archive: count what comes out
                inner = Guarded(inner, top.budget, node.origin, top.limits.cap(node.size))
            name = compressed.inner_name(node.name)
            yield from _expand(
                top, replace(node, name=name, stream=inner, file=None, path=None, depth=node.depth + 1)
            )
        elif reader.members is not None:
            yield from _archive(top, node, reader, reader.members, head)
    except READ_ERRORS as exc:
        yield Failure(node.origin, reason(exc))


def _prefixed(head: bytes, node: _Node) -> Readable:
    if node.file is not None:  # a real file: go back instead of holding the head
        node.file.seek(0)
        return node.file
    return Prefixed(head, node.stream)


def _archive(
    top: _Top, node: _Node, reader: Reader, members: Members, head: bytes
) -> Iterator[Leaf | Failure]:
    with contextlib.ExitStack() as stack:
        source: Readable
        if node.file is not None:
            node.file.seek(0)
            source = node.file
        elif reader.seekable:  # a zip inside something else: copied out (counted by the budget) to seek
            spool = stack.enter_context(tempfile.TemporaryFile())
            shutil.copyfileobj(_prefixed(head, node), spool, HEAD)
            spool.seek(0)
            source = spool
        else:
            source = _prefixed(head, node)
        for member in members(source, node.origin, top.limits, top.budget):
            if isinstance(member, Failure):
                yield member
                continue
            name = member.name.rsplit("/", 1)[-1]
            origin, identity = f"{node.origin}!{member.name}", f"{node.source}!{member.name}"
            child = _Node(origin, identity, name, member.stream, None, None, node.depth + 1, member.size)
            yield from _expand(top, child)


def _leaf(top: _Top, node: _Node, reader: Reader, head: bytes) -> Iterator[Leaf]:
    kind = EvtxLeaf if reader.name == "evtx" else Leaf
    leaf = kind(
        node.origin, node.source, reader.name, head, reader.implies, _unopened, top.progress, top.size
    )
    records, path_records = reader.records, reader.path_records
    with contextlib.ExitStack() as stack:
        if path_records is not None:
            path = node.path
            if path is None:  # a member: the reader needs a file of its own
                spool = stack.enter_context(tempfile.NamedTemporaryFile(suffix=".evtx"))
                shutil.copyfileobj(_prefixed(head, node), spool, HEAD)
                spool.flush()
                path = Path(spool.name)
            leaf.open = lambda start: path_records(path, start, leaf)
            if isinstance(leaf, EvtxLeaf):
                leaf.after = lambda after: _evtx_after(path, after, leaf)
                leaf.follows = lambda last_id, record_digest: evtx.follows(path, last_id, record_digest)
        elif records is not None:
            limit, stream = top.limits.record, node.stream
            leaf.open = lambda start: _skipping(records(blocks(head, stream), limit), start, leaf)
        yield leaf


def _unopened(start: int) -> Iterator[Record]:  # pragma: no cover - replaced before the leaf is handed out
    raise NotImplementedError(start)


def _skipping(records: Iterator[Record], start: int, leaf: Leaf) -> Iterator[Record]:
    if start:
        leaf.skipped = sum(1 for _ in itertools.islice(records, start))
    yield from records


__all__ = [
    "EVTX_FORMAT",
    "HEAD",
    "READERS",
    "READ_ERRORS",
    "EvtxLeaf",
    "Failure",
    "Leaf",
    "Limits",
    "Oversize",
    "Reader",
    "Record",
    "fingerprint",
    "hashed_length",
    "reason",
    "sniff",
    "walk",
]
