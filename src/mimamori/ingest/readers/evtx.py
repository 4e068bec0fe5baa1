"""Windows event log files (``.evtx``) to one compact JSON document per event record.

The file importer calls ``read(path, start=n)`` and gets ``(position, record_bytes)`` pairs:
``position`` is the 0-based index of the record among the records this reader could decode, so an
interrupted import resumes by passing the number of records already committed as ``start``;
``record_bytes`` is the JSON that the ``evtx`` parser (``mimamori.parsers.evtx``) reads::

    {"event_record_id": 42, "timestamp": "2019-04-27T15:57:27.0876132Z", "Event": {"System": ..., ...}}

Decoding is done chunk by chunk in C (``_native.evtx_chunk``, ``parsers/_speedups_evtx_binxml.c``),
which writes for each record byte for byte the document the ``evtx`` package (Rust, the
``#attributes``/``#text`` JSON shape) gives, about twice as fast; a chunk the C decoder does not take
whole (damaged, or holding a construct it leaves to the package: ANSI strings, floats, most arrays,
CDATA, entity references...) is decoded by the package, and so is every chunk without the C speedups
(``MIMAMORI_PURE=1``). A damaged file is read as far as it goes: a corrupt chunk or record is counted
in ``ReadStats.errors``, logged, and skipped, never raised, so one bad chunk does not cost the rest of
the file. A file that is not an EVTX file at all (wrong magic, too short, unreadable) raises
``IngestError`` before anything is yielded.

A file that is still written (an agent's export, a live log copied again) is followed by record id,
not by position: ``read_after(path, last_id)`` yields only the records whose id is above ``last_id``
and hands the decoder only the chunks whose header says they hold such a record (file header + those
64 KiB chunks, a few MiB at a time), so a grown file costs the new records, not the whole file again.
Record ids only grow, also when Windows overwrites its oldest chunks (a circular log); a log that was
cleared starts again at 1, which ``record_ids(path)`` shows (its newest id is below ``last_id``).
``read_after`` hands the chunks over in the order of their record ids, not of their place in the file
(a circular log's newest chunks sit before its oldest), so a follower that stores the highest id it has
committed never skips an older record it had not reached yet. ``follows(path, last_id, digest)`` tells
whether a file is the log a follower left (the record ``last_id`` is still there with the same
``digest``, or was overwritten by newer ones) or another one: a cleared log, or another log copied to
the same path.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import orjson
from evtx import PyEvtxParser

from mimamori.errors import IngestError
from mimamori.parsers import _native

__all__ = [
    "FILE_MAGIC",
    "ReadStats",
    "count_hint",
    "count_through",
    "digest",
    "follows",
    "read",
    "read_after",
    "record_ids",
]

log = logging.getLogger(__name__)

FILE_MAGIC = b"ElfFile\x00"
_CHUNK_MAGIC = b"ElfChnk\x00"
_FILE_HEADER_SIZE = 0x1000  # the file header block; chunks follow it
_CHUNK_SIZE = 0x10000  # every chunk is 64 KiB
_CHUNK_IDS = struct.Struct("<8xQQ")  # magic, first and last event record number of the chunk
MAX_CONSECUTIVE_ERRORS = 100_000  # errors in a row after which a file is given up as garbage
_LOGGED_ERRORS = 5  # per file: the first few errors are logged one by one, the rest only counted
_CHUNKS_PER_VIEW = 64  # chunks handed to one decoder by ``read_after`` (4 MiB of memory at most)


@dataclass(slots=True)
class ReadStats:
    """What one ``read`` call saw; filled while iterating, complete when the iterator is exhausted."""

    records: int = 0  # records decoded (including the ``start`` ones skipped on resume)
    errors: int = 0  # corrupt chunks or records skipped
    last_error: str = ""


def _check_magic(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(FILE_MAGIC))
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if magic != FILE_MAGIC:
        raise IngestError(f"{path} is not a Windows event log (.evtx) file: no ElfFile header")


def _open(path: Path | io.BytesIO, threads: int, name: Path) -> Iterator[dict[str, Any]]:
    try:
        source = str(path) if isinstance(path, Path) else path
        parser = PyEvtxParser(source, number_of_threads=threads)
        return cast("Iterator[dict[str, Any]]", parser.records_json())
    except (OSError, RuntimeError, ValueError) as exc:
        raise IngestError(f"{name} is not a readable .evtx file: {exc}") from exc


def _document(record: dict[str, Any]) -> bytes:
    """One record of ``records_json()`` as our compact JSON document.

    The package's ``data`` is already compact JSON (``{"Event": {...}}``); the record id and timestamp
    are spliced in front of it instead of decoding and re-encoding the whole tree.
    """
    record_id = record["event_record_id"]
    timestamp = record["timestamp"]
    data = record["data"]
    if type(record_id) is not int or type(timestamp) is not str or type(data) is not str:
        raise ValueError("unexpected record shape from the evtx package")
    timestamp = timestamp.removesuffix(" UTC")
    head = f'{{"event_record_id":{record_id},"timestamp":{orjson.dumps(timestamp).decode()}'
    if data.startswith('{"'):
        return f"{head},{data[1:]}".encode()
    tree = orjson.loads(data)  # not expected from the package; kept correct rather than fast
    if isinstance(tree, dict):
        tree.pop("event_record_id", None)
        tree.pop("timestamp", None)
        body = orjson.dumps(tree).decode()
        return f"{head},{body[1:]}".encode() if len(body) > 2 else f"{head}}}".encode()
    return f'{head},"Event":null}}'.encode()


def _guarded(source: Iterator[dict[str, Any]]) -> Iterator[Any]:
    """The package's records, with its exceptions yielded instead of raised (the generator survives)."""
    while True:
        try:
            record = next(source)
        except StopIteration:
            return
        except Exception as exc:  # a damaged record or chunk: _records counts it
            yield exc
            continue
        yield record


def _decoded(path: Path, offsets: list[int] | None, threads: int) -> Iterator[Any]:
    """The records of the chunks at ``offsets`` (every chunk slot when None), in that order.

    Each item is a list of ``(record id, document)``, a chunk's records from the C decoder; a record
    dict of the package for a chunk the C decoder left to it (consecutive such chunks go to the
    package together, behind the file header); or an exception of the package's. Raises ``OSError``.
    """
    chunk_c = _native.evtx_chunk
    assert chunk_c is not None
    with path.open("rb") as handle:
        head = handle.read(_FILE_HEADER_SIZE)
        pending: list[bytes] = []
        slots = iter(offsets) if offsets is not None else _slots(path)
        for offset in slots:
            handle.seek(offset)
            chunk = handle.read(_CHUNK_SIZE)
            if not chunk:
                break
            records = chunk_c(chunk)
            if records is None:
                pending.append(chunk)
                continue
            if pending:
                yield from _guarded(_open(io.BytesIO(b"".join((head, *pending))), threads, path))
                pending = []
            yield records
        if pending:
            yield from _guarded(_open(io.BytesIO(b"".join((head, *pending))), threads, path))


def _slots(path: Path) -> Iterator[int]:
    """The offsets of every chunk slot after the file header (the last one may be short)."""
    size = path.stat().st_size
    yield from range(_FILE_HEADER_SIZE, size, _CHUNK_SIZE)


def _records(
    path: Path, source: Iterator[Any], start: int, after: int, stats: ReadStats
) -> Iterator[tuple[int, Any, bytes]]:
    """Decode ``source``; yield ``(position, record id, document)`` from position ``start`` on, for the
    records whose id is above ``after``.

    The others are still counted (positions stay those of a full read) but not serialised. Errors are
    counted and skipped, a long run of them ends the file.
    """
    position = 0
    consecutive = 0
    while True:
        try:
            record = next(source)
            if type(record) is list:  # a chunk's (record id, document) pairs from the C decoder
                stats.records += len(record)
                for record_id, document in record:
                    if position >= start and record_id > after:
                        yield position, record_id, document
                    position += 1
                consecutive = 0
                continue
            if isinstance(record, Exception):
                raise record
            record_id = record["event_record_id"]
            document = _document(record) if position >= start and record_id > after else None
        except StopIteration:
            break
        except Exception as exc:
            stats.errors += 1
            stats.last_error = str(exc)[:500]
            consecutive += 1
            if stats.errors <= _LOGGED_ERRORS:
                log.warning("%s: skipped damaged EVTX data: %s", path, stats.last_error)
            if consecutive >= MAX_CONSECUTIVE_ERRORS:
                log.error("%s: giving up after %d errors in a row", path, consecutive)
                break
            continue
        consecutive = 0
        stats.records += 1
        if document is not None:
            yield position, record_id, document
        position += 1


def _log_errors(path: Path, stats: ReadStats) -> None:
    if stats.errors:
        log.warning(
            "%s: %d records read, %d damaged chunks/records skipped", path, stats.records, stats.errors
        )


def _read(
    path: Path, source: Iterator[dict[str, Any]], start: int, stats: ReadStats
) -> Iterator[tuple[int, bytes]]:
    for position, _, document in _records(path, source, start, -1, stats):
        yield position, document
    _log_errors(path, stats)


def read(
    path: Path, *, start: int = 0, stats: ReadStats | None = None, threads: int = 1
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(position, json_bytes)`` for every decodable record of the EVTX file at ``path``.

    ``start`` skips that many records (they are still decoded, not serialised). ``stats``, if given,
    receives the counts of records and skipped errors. ``threads`` is the Rust decoder's worker count
    (1 keeps the import on one core beside the pipeline; 0 lets the package use every core). Raises
    ``IngestError`` at once, not on first iteration, when the file is not EVTX at all.
    """
    if start < 0:
        raise ValueError("start must be >= 0")
    _check_magic(path)
    source: Iterator[Any] = _open(path, threads, path)  # also what tells a file the package refuses
    if _native.evtx_chunk is not None:
        source = _decoded(path, None, threads)
    return _read(path, source, start, stats if stats is not None else ReadStats())


def _chunks(path: Path) -> Iterator[tuple[int, int, int]]:
    """``(offset, first id, last id)`` of every chunk slot after the file header, from its 24-byte head.

    ``first``/``last`` are 0 for a slot whose head is not a sane chunk head (damaged or unknown: only
    the decoder can tell what is in it) and -1 for an empty slot (all zeros: a preallocated file).
    Raises ``OSError``.
    """
    with path.open("rb") as handle:
        offset = _FILE_HEADER_SIZE
        while True:
            handle.seek(offset)
            header = handle.read(_CHUNK_IDS.size)
            if len(header) < _CHUNK_IDS.size:
                return
            if header.startswith(_CHUNK_MAGIC):
                first, last = _CHUNK_IDS.unpack(header)
                if 0 < first <= last and last - first < _CHUNK_SIZE:
                    yield offset, first, last
                else:
                    yield offset, 0, 0
            elif header.count(0) == len(header):
                yield offset, -1, -1
            else:
                yield offset, 0, 0
            offset += _CHUNK_SIZE


def count_hint(path: Path) -> int | None:
    """The number of records the chunk headers announce (a progress-bar total), or None if unreadable.

    Reads 24 bytes per 64 KiB chunk; damaged or empty chunks are left out, so the hint may differ from
    what ``read`` yields.
    """
    try:
        with path.open("rb") as handle:
            if handle.read(len(FILE_MAGIC)) != FILE_MAGIC:
                return None
        return sum(last - first + 1 for _, first, last in _chunks(path) if first > 0)
    except OSError:
        return None


def record_ids(path: Path) -> tuple[int, int] | None:
    """The lowest and highest record id that the chunk headers announce; None if there is none.

    A follower compares the highest with the last id it read: lower means the log was cleared (or
    replaced) and is read again from the start.
    """
    try:
        _check_magic(path)
        ranges = [(first, last) for _, first, last in _chunks(path) if first > 0]
    except (OSError, IngestError):
        return None
    if not ranges:
        return None
    return min(first for first, _ in ranges), max(last for _, last in ranges)


def count_through(path: Path, last_id: int) -> int:
    """How many records with an id up to ``last_id`` the chunk headers announce (0 if unreadable).

    What a follower reports as already read when it resumes after ``last_id``, without decoding them.
    """
    try:
        return sum(min(last, last_id) - first + 1 for _, first, last in _chunks(path) if 0 < first <= last_id)
    except OSError:
        return 0


def digest(document: bytes) -> str:
    """The identity of one record's document (SHA-256, hex): a follower's proof it is still that log."""
    return hashlib.sha256(document).hexdigest()


def follows(path: Path, last_id: int, record_digest: str) -> bool:
    """Whether ``path`` continues the log whose record ``last_id`` (with ``record_digest``) was read last.

    True when that record is still there unchanged, or when every record announced is newer (the log
    wrapped past it: reading after ``last_id`` loses nothing). False for a log whose newest id is below
    ``last_id`` (cleared), whose record ``last_id`` differs (another log at the same path), or that
    holds no record at all. Decodes at most the one chunk holding ``last_id``.
    """
    ids = record_ids(path)
    if ids is None or ids[1] < last_id:
        return False
    if ids[0] > last_id or last_id <= 0:
        return True
    try:
        for record_id, document in read_after(path, last_id - 1):
            return record_id != last_id or digest(document) == record_digest
    except IngestError:
        return False
    return True  # announced but not decodable (a damaged chunk): reading after ``last_id`` loses nothing


def _ordered(path: Path, after: int) -> list[int]:
    """Offsets of the chunks that may hold a record above ``after``, oldest records first.

    Chunks with a damaged head (ids unknown) come last: their records are still read, after the rest.
    """
    known: list[tuple[int, int]] = []
    unknown: list[int] = []
    for offset, first, last in _chunks(path):
        if first == 0:
            unknown.append(offset)
        elif last > after:
            known.append((first, offset))
    return [offset for _, offset in sorted(known)] + unknown


def _in_file_order(path: Path) -> bool:
    """Whether the chunks' record ids grow with their place in the file (no wrapped circular log)."""
    firsts = [first for _, first, _ in _chunks(path) if first > 0]
    return firsts == sorted(firsts)


def _views(path: Path, after: int) -> Iterator[io.BytesIO]:
    """The file header followed by the chunks that may hold a record above ``after``, in groups.

    The decoder reads chunks until the end of its input (it does not trust the header's chunk count,
    which Windows updates lazily), so such a view decodes exactly like those chunks of the real file.
    """
    offsets = _ordered(path, after)
    with path.open("rb") as handle:
        head = handle.read(_FILE_HEADER_SIZE)
        for group in range(0, len(offsets), _CHUNKS_PER_VIEW):
            view = io.BytesIO()
            view.write(head)
            for offset in offsets[group : group + _CHUNKS_PER_VIEW]:
                handle.seek(offset)
                view.write(handle.read(_CHUNK_SIZE))
            view.seek(0)
            yield view


def read_after(
    path: Path, after: int, *, stats: ReadStats | None = None, threads: int = 1
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(record_id, json_bytes)`` for the records of ``path`` whose record id is above ``after``.

    Only the chunks whose header announces such an id (and chunks with a damaged header) are decoded;
    ``stats.records`` counts the records decoded, which is how a test sees the others were skipped.
    ``after=0`` reads the whole file. Raises ``IngestError`` at once when the file is not EVTX at all.
    """
    if after < 0:
        raise ValueError("after must be >= 0")
    _check_magic(path)
    return _read_after(path, after, stats if stats is not None else ReadStats(), threads)


def _read_after(path: Path, after: int, stats: ReadStats, threads: int) -> Iterator[tuple[int, bytes]]:
    try:
        whole = not after and _in_file_order(path)  # the package reads the file as it lies
        if _native.evtx_chunk is not None:
            offsets = None if whole else _ordered(path, after)
            decoded = _decoded(path, offsets, threads)
            for _, record_id, document in _records(path, decoded, 0, after, stats):
                yield record_id, document
            _log_errors(path, stats)
            return
        views = iter(()) if whole else _views(path, after)
        for view in views:
            source = _guarded(_open(view, threads, path))
            for _, record_id, document in _records(path, source, 0, after, stats):
                yield record_id, document
        if whole:
            for _, record_id, document in _records(path, _guarded(_open(path, threads, path)), 0, -1, stats):
                yield record_id, document
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from exc
    _log_errors(path, stats)
