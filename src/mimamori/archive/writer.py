"""The archive writer: buffers parsed events per (tenant, UTC day) and writes them as Parquet part files.

The pipeline hands each batch over in two steps: ``prepare`` right after parsing converts the events to
Arrow base columns (``columns.to_batch``) while they are in the CPU cache, and ``add`` files the result
once the batch's transaction committed (``append`` does both). The events themselves are not kept: the
buffers hold Arrow data, so the Python heap and the garbage collector do not grow with them.

A buffer is written when it holds ``flush_events`` events or its oldest event waited ``flush_seconds``
(``flush_due``, the runtime's timer); when all buffers together hold ``max_buffered`` events the biggest
are written first. Writing (the other ECS columns from the JSON, zstd, fsync) runs in a thread of its
own with ``background=True``. Every write is a NEW file (a ``.tmp`` name, fsync, rename; on a
``store.FileSystemRoot`` such as S3, one upload of the complete bytes): a crash never leaves half a
file visible; it loses at most the events still buffered (the database keeps alerts; the archive is
for searching).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePath, PurePosixPath

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mimamori.archive.columns import BASE_SCHEMA, complete, fields_json, to_batch, to_table
from mimamori.archive.layout import (
    COMPRESSION,
    DICTIONARY_COLUMNS,
    ROW_GROUP_ROWS,
    STATISTICS_COLUMNS,
    day_dir,
    new_name,
)
from mimamori.archive.store import FileSystemRoot, Root, put_table
from mimamori.domain import Event
from mimamori.errors import ValidationError

log = logging.getLogger(__name__)

__all__ = ["ArchiveWriter", "WriterStats", "fields_json", "to_table", "write_atomically"]


@dataclass(slots=True)
class _Buffer:
    since: float  # monotonic time of the oldest event held
    batches: list[pa.RecordBatch] = field(default_factory=list)
    rows: int = 0


@dataclass(slots=True)
class WriterStats:
    appended: int = 0
    written: int = 0
    parts: int = 0
    dropped: int = 0  # events lost to a failed write (disk full, bad tenant id)


def write_atomically(table: pa.Table, target: Path, *, fsync: bool = True) -> None:
    """Write ``table`` to ``target`` through a hidden temporary file and a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with open(tmp, "wb") as sink:
            pq.write_table(
                table,
                sink,
                compression=COMPRESSION,
                row_group_size=ROW_GROUP_ROWS,
                use_dictionary=DICTIONARY_COLUMNS,
                write_statistics=STATISTICS_COLUMNS,
            )
            if fsync:
                sink.flush()
                os.fsync(sink.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


Key = tuple[str, date]
Prepared = list[tuple[Key, pa.RecordBatch]]
Groups = list[tuple[Key, list[pa.RecordBatch]]]


class ArchiveWriter:
    """Thread-safe: the pipeline worker appends while the runtime's timer flushes due buffers."""

    def __init__(
        self,
        root: Root,
        *,
        flush_seconds: float = 60.0,
        flush_events: int = 20_000,
        max_buffered: int = 100_000,
        fsync: bool = True,
        background: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root
        self.background = background  # full buffers are written by a thread of their own
        self.flush_seconds = flush_seconds
        self.flush_events = max(1, flush_events)
        self.max_buffered = max(self.flush_events, max_buffered)
        self.fsync = fsync
        self.clock = clock
        self.stats = WriterStats()
        self._buffers: dict[Key, _Buffer] = {}
        self._buffered = 0
        self._lock = threading.Lock()  # guards the buffers
        self._write_lock = threading.Lock()  # one writer of files at a time
        self._executor: ThreadPoolExecutor | None = None
        self._jobs_lock = threading.Lock()
        self._inflight: deque[tuple[Future[list[PurePath]], int]] = deque()  # jobs of the writer thread

    @property
    def buffered(self) -> int:
        return self._buffered

    def append(self, events: Sequence[Event]) -> None:
        """File a batch's events; writes the buffers that became full."""
        self.add(self.prepare(events))

    def prepare(self, events: Sequence[Event], encoded: Sequence[bytes] | None = None) -> Prepared:
        """Convert a batch's events to Arrow, per (tenant, day), without filing them yet.

        The pipeline converts right after parsing, while the events are still in the CPU cache (and
        passes the ``fields_json`` it made for each event as it was parsed, ``encoded``), and files
        the result with ``add`` once the batch's transaction committed."""
        if not events:
            return []
        if encoded is not None and len(encoded) != len(events):
            encoded = None
        tenants = {e.tenant_id for e in events}
        if len(tenants) == 1:  # the usual case: one sensor's batch
            parts: list[tuple[Sequence[Event], Sequence[bytes] | None]] = [(events, encoded)]
        else:
            members: dict[str, list[int]] = {}
            for n, event in enumerate(events):
                members.setdefault(event.tenant_id, []).append(n)
            parts = [
                ([events[n] for n in idx], [encoded[n] for n in idx] if encoded is not None else None)
                for idx in members.values()
            ]
        converted: Prepared = []
        for group, blobs in parts:
            tenant_id = group[0].tenant_id
            try:
                batch = to_batch(group, blobs)
                days = batch.column(0).cast(pa.date32())  # the UTC day
                dates = pc.unique(days).to_pylist()
                if len(dates) == 1:
                    converted.append(((tenant_id, dates[0]), batch))
                else:
                    converted.extend(((tenant_id, d), batch.filter(pc.equal(days, d))) for d in dates)
            except Exception:  # a value Arrow refuses must not stop the pipeline: count and go on
                log.exception("archive: %d events of %s not converted", len(group), tenant_id)
                self.stats.dropped += len(group)
        return converted

    def add(self, converted: Prepared) -> None:
        """File converted events (``prepare``); writes the buffers that became full."""
        if not converted:
            return
        now = self.clock()
        full: Groups = []
        with self._lock:
            buffers = self._buffers
            for k, batch in converted:
                buffer = buffers.get(k)
                if buffer is None:
                    buffer = buffers[k] = _Buffer(now)
                buffer.batches.append(batch)
                buffer.rows += batch.num_rows
                self._buffered += batch.num_rows
                self.stats.appended += batch.num_rows
                if buffer.rows >= self.flush_events:
                    full.append((k, self._take(k)))
            if self._buffered > self.max_buffered:
                for k, _b in sorted(buffers.items(), key=lambda item: -item[1].rows):
                    if self._buffered <= self.max_buffered // 2:
                        break
                    full.append((k, self._take(k)))
        if full:
            if self.background:
                self._submit(full)
            else:
                self._write_all(full)

    def _submit(self, groups: Groups) -> Future[list[PurePath]]:
        """Hand full buffers to the writer thread (FIFO, one thread): the pipeline does not wait for
        compression and fsync. If the thread falls behind by ``max_buffered`` events, wait for it."""
        rows = sum(b.num_rows for _k, batches in groups for b in batches)
        with self._jobs_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-writer")
            future = self._executor.submit(self._write_all, groups)
            inflight = self._inflight
            inflight.append((future, rows))
            while inflight and inflight[0][0].done():
                inflight.popleft()
            behind = [f for f, _r in inflight] if sum(r for _f, r in inflight) > self.max_buffered else []
        for job in behind[:-1]:
            job.result()
        return future

    def _write(self, groups: Groups) -> list[PurePath]:
        """Write now (waiting for the writer thread's earlier jobs first, so files keep their order)."""
        if self._executor is None:
            return self._write_all(groups)
        return self._submit(groups).result()  # FIFO: every earlier job is done too

    def flush_due(self) -> list[PurePath]:
        """Write the buffers whose oldest event waited ``flush_seconds`` (the runtime's timer)."""
        limit = self.clock() - self.flush_seconds
        with self._lock:
            due = [(k, self._take(k)) for k, b in list(self._buffers.items()) if b.since <= limit]
        return self._write(due)

    def flush(self) -> list[PurePath]:
        """Write everything buffered and wait until it is on disk (shutdown, end of an import)."""
        with self._lock:
            taken = [(k, self._take(k)) for k in list(self._buffers)]
        return self._write(taken)

    def close(self) -> None:
        """Flush, then stop the writer thread."""
        self.flush()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _take(self, key: Key) -> list[pa.RecordBatch]:
        buffer = self._buffers.pop(key)
        self._buffered -= buffer.rows
        return buffer.batches

    def _write_all(self, groups: Groups) -> list[PurePath]:
        written: list[PurePath] = []
        with self._write_lock:
            for (tenant_id, day), batches in groups:
                rows = sum(b.num_rows for b in batches)
                root = self.root
                try:
                    directory: PurePath = (
                        PurePosixPath(root.day(tenant_id, day))
                        if isinstance(root, FileSystemRoot)
                        else day_dir(root, tenant_id, day)
                    )
                except ValidationError:
                    log.error("archive: %d events with an invalid tenant id dropped", rows)
                    self.stats.dropped += rows
                    continue
                try:
                    table = complete(pa.Table.from_batches(batches, schema=BASE_SCHEMA))
                except Exception:
                    log.exception("archive: %d events of %s %s not converted", rows, tenant_id, day)
                    self.stats.dropped += rows
                    continue
                for start in range(0, rows, self.flush_events):
                    chunk = table.slice(start, self.flush_events)
                    target = directory / new_name("part", datetime.now(UTC))
                    try:
                        if isinstance(root, FileSystemRoot):
                            put_table(root, target.as_posix(), chunk)  # one upload, no rename
                        else:
                            write_atomically(chunk, Path(target), fsync=self.fsync)
                    except Exception:  # a full disk or a bug must not stop the pipeline: count, go on
                        log.exception("archive: %d events of %s %s lost", chunk.num_rows, tenant_id, day)
                        self.stats.dropped += chunk.num_rows
                        continue
                    written.append(target)
                    self.stats.parts += 1
                    self.stats.written += chunk.num_rows
        return written
