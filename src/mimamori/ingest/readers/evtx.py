"""Windows event log files (``.evtx``) to one compact JSON document per event record.

The file importer calls ``read(path, start=n)`` and gets ``(position, record_bytes)`` pairs:
``position`` is the 0-based index of the record among the records this reader could decode, so an
interrupted import resumes by passing the number of records already committed as ``start``;
``record_bytes`` is the JSON that the ``evtx`` parser (``mimamori.parsers.evtx``) reads::

    {"event_record_id": 42, "timestamp": "2019-04-27T15:57:27.0876132Z", "Event": {"System": ..., ...}}

Decoding is done by the ``evtx`` package (Rust, the ``#attributes``/``#text`` JSON shape). A damaged
file is read as far as it goes: a corrupt chunk or record is counted in ``ReadStats.errors``, logged,
and skipped, never raised, so one bad chunk does not cost the rest of the file. A file that is not an
EVTX file at all (wrong magic, too short, unreadable) raises ``IngestError`` before anything is yielded.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import orjson
from evtx import PyEvtxParser

from mimamori.errors import IngestError

__all__ = ["FILE_MAGIC", "ReadStats", "count_hint", "read"]

log = logging.getLogger(__name__)

FILE_MAGIC = b"ElfFile\x00"
_CHUNK_MAGIC = b"ElfChnk\x00"
_FILE_HEADER_SIZE = 0x1000  # the file header block; chunks follow it
_CHUNK_SIZE = 0x10000  # every chunk is 64 KiB
_CHUNK_IDS = struct.Struct("<8xQQ")  # magic, first and last event record number of the chunk
MAX_CONSECUTIVE_ERRORS = 100_000  # errors in a row after which a file is given up as garbage
_LOGGED_ERRORS = 5  # per file: the first few errors are logged one by one, the rest only counted


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


def _open(path: Path, threads: int) -> Iterator[dict[str, Any]]:
    _check_magic(path)
    try:
        parser = PyEvtxParser(str(path), number_of_threads=threads)
        return cast("Iterator[dict[str, Any]]", parser.records_json())
    except (OSError, RuntimeError, ValueError) as exc:
        raise IngestError(f"{path} is not a readable .evtx file: {exc}") from exc


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


def _records(
    path: Path, source: Iterator[dict[str, Any]], start: int, stats: ReadStats
) -> Iterator[tuple[int, bytes]]:
    position = 0
    consecutive = 0
    while True:
        try:
            record = next(source)
            document = _document(record) if position >= start else b""
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
        if position >= start:
            yield position, document
        position += 1
    if stats.errors:
        log.warning(
            "%s: %d records read, %d damaged chunks/records skipped", path, stats.records, stats.errors
        )


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
    source = _open(path, threads)
    return _records(path, source, start, stats if stats is not None else ReadStats())


def count_hint(path: Path) -> int | None:
    """The number of records the chunk headers announce (a progress-bar total), or None if unreadable.

    Reads 24 bytes per 64 KiB chunk; damaged or empty chunks are left out, so the hint may differ from
    what ``read`` yields.
    """
    total = 0
    try:
        with path.open("rb") as handle:
            if handle.read(len(FILE_MAGIC)) != FILE_MAGIC:
                return None
            offset = _FILE_HEADER_SIZE
            while True:
                handle.seek(offset)
                header = handle.read(_CHUNK_IDS.size)
                if len(header) < _CHUNK_IDS.size:
                    break
                if header.startswith(_CHUNK_MAGIC):
                    first, last = _CHUNK_IDS.unpack(header)
                    if 0 < first <= last and last - first < _CHUNK_SIZE:
                        total += last - first + 1
                offset += _CHUNK_SIZE
    except OSError:
        return None
    return total
