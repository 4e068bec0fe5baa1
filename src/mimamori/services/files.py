"""File import (``mimamori ingest FILE``): lines of a log file through the same pipeline as live traffic.

Plain and gzip-compressed files are read as one record per line. EVTX, archives, directories and
resumable imports belong to the ingestion issue.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from mimamori.domain import RawRecord
from mimamori.errors import IngestError
from mimamori.services.pipeline import BatchResult, Pipeline
from mimamori.services.tenants import ensure_sensor

ProgressCallback = Callable[[int, BatchResult], None]  # (bytes read so far, result of the last batch)
BATCH = 1000


def _open(path: Path) -> tuple[BinaryIO, BinaryIO]:
    """(reader, underlying file): the reader inflates gzip; the file's position drives the progress bar."""
    try:
        raw = path.open("rb")
        magic = raw.read(2)
        raw.seek(0)
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw), raw  # type: ignore[return-value]
    return raw, raw


def _lines(handle: BinaryIO, raw: BinaryIO) -> Iterator[tuple[int, bytes]]:
    for line in handle:
        stripped = line.rstrip(b"\r\n")
        if stripped:
            yield raw.tell(), stripped


def import_file(
    pipeline: Pipeline,
    path: Path,
    tenant_id: str,
    fmt: str,
    *,
    progress: ProgressCallback | None = None,
) -> BatchResult:
    """Import every line of ``path`` for ``tenant_id`` as format ``fmt``; returns the summed result."""
    sensor = ensure_sensor(pipeline.db, tenant_id, f"file import ({fmt})", fmt)
    total = BatchResult()
    origin = f"file:{path.name}"
    handle, raw = _open(path)
    with raw, handle:
        batch: list[RawRecord] = []
        position = 0
        try:
            for position, line in _lines(handle, raw):
                batch.append(
                    RawRecord(tenant_id, sensor.id, fmt, line, datetime.now(UTC), origin, sensor.timezone),
                )
                if len(batch) >= BATCH:
                    _flush(pipeline, batch, total, position, progress)
                    batch = []
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            _flush(pipeline, batch, total, position, progress)
            raise IngestError(f"{path}: stopped after {total.received} records: {exc}") from exc
        _flush(pipeline, batch, total, position, progress)
    return total


def _flush(
    pipeline: Pipeline,
    batch: list[RawRecord],
    total: BatchResult,
    position: int,
    progress: ProgressCallback | None,
) -> None:
    if not batch:
        return
    result = pipeline.process(batch)
    total.add(result)
    if progress is not None:
        progress(position, result)
