"""One pipeline process of ``mimamori serve --workers N`` (the parent side is :mod:`.pool`).

The parent (receivers, spool, web, notifier) sends each child the records of the partitions it owns over
a pipe; the child runs them through the scale-out :class:`~mimamori.services.cluster.worker.Worker`
(parse → detect → one database transaction → event archive) and answers every batch only after its
transaction committed. The parent acknowledges a spooled batch once every child it was split between
has answered, so a child killed half-way loses nothing: its batches are sent again to its successor.

Messages on the pipe (``send_bytes``): parent → child ``B`` + batch id (8 bytes) + a spool frame, or
``S`` (finish and exit); child → parent ``R`` (ready), ``A`` + JSON ``{"id": ..., "result": {...}}``
(committed; ``result`` is the child's :class:`BatchResult` since its previous answer) and ``W`` (new
alerts: wake the notifier). When the parent's end of the pipe closes, the child finishes like on ``S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import struct
import threading
from collections.abc import AsyncIterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path

import orjson

from mimamori.bus.partitions import decode_frame, partition
from mimamori.config import Settings
from mimamori.domain import RawRecord
from mimamori.services.cluster.worker import PartitionDelivery, Worker
from mimamori.services.pipeline import BatchResult
from mimamori.storage import Database

__all__ = ["ACK", "BATCH", "READY", "STOP", "WAKE", "FileStateStore", "encode_batch_message", "main"]

log = logging.getLogger(__name__)

BATCH, STOP, READY, ACK, WAKE = b"B", b"S", b"R", b"A", b"W"
_ID = struct.Struct("<Q")
COALESCE_RECORDS = 4_000  # parts already waiting are processed together up to this many records
RESULT_FIELDS = tuple(
    f.name for f in dataclasses.fields(BatchResult) if f.type in {"int", int}
)  # the counters an answer carries (not the id lists)


def encode_batch_message(batch_id: int, frame: bytes) -> bytes:
    return BATCH + _ID.pack(batch_id) + frame


class FileStateStore:
    """The behaviour state of each partition as a file under ``directory`` (written atomically)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def put(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, name, data)

    def _put(self, name: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{name}.json.gz"
        scratch = path.with_suffix(".tmp")
        scratch.write_bytes(data)
        os.replace(scratch, path)

    async def get(self, name: str) -> bytes | None:
        path = self.directory / f"{name}.json.gz"
        return await asyncio.to_thread(path.read_bytes) if path.is_file() else None


@dataclasses.dataclass(slots=True)
class _PipeDelivery:
    """One or more of the parent's parts, processed as one batch (one transaction) and answered together."""

    batch_ids: list[int]
    partition: int
    records: Sequence[RawRecord]
    source: _PipeSource
    redelivered: bool = False

    async def ack(self) -> None:
        for batch_id in self.batch_ids:
            self.source.answer(batch_id)

    async def nak(self) -> None:
        """Nothing to do: a child's partition never moves (its successor gets unanswered parts again)."""


class _PipeSource:
    """The child's side of the pipe: batches in, answers out (a reader thread feeds the event loop)."""

    def __init__(self, conn: Connection, owned: int, totals: BatchResult) -> None:
        self.conn = conn
        self.owned = owned
        self.totals = totals  # the worker's running BatchResult
        self._sent = dict.fromkeys(RESULT_FIELDS, 0)
        self._lock = threading.Lock()
        self._queue: asyncio.Queue[_PipeDelivery | None] = asyncio.Queue()

    @property
    def partitions_owned(self) -> frozenset[int]:
        return frozenset({self.owned})

    async def waiting(self, max_records: int) -> Sequence[PartitionDelivery]:
        """None: :meth:`deliveries` already joins the parts that wait."""
        return ()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._read, args=(loop,), name="pool-child-reader", daemon=True).start()

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                message = self.conn.recv_bytes()
            except (EOFError, OSError):
                break
            kind = message[:1]
            if kind == STOP:
                break
            if kind != BATCH or len(message) < 1 + _ID.size:
                log.error("unknown message from the parent (%r); ignored", message[:1])
                continue
            (batch_id,) = _ID.unpack_from(message, 1)
            try:
                records = decode_frame(message[1 + _ID.size :])
            except ValueError:
                log.exception("batch %d is not an intact frame; answered without processing", batch_id)
                self.answer(batch_id)
                continue
            delivery = _PipeDelivery([batch_id], self.owned, records, self)
            loop.call_soon_threadsafe(self._queue.put_nowait, delivery)
        loop.call_soon_threadsafe(self._queue.put_nowait, None)

    async def deliveries(self) -> AsyncIterator[PartitionDelivery]:
        """The parts in arrival order; parts already waiting are joined (up to ``COALESCE_RECORDS``), so a
        busy child pays the per-batch costs (transaction, counters, commit) once for several parts."""
        finished = False
        while not finished:
            delivery = await self._queue.get()
            if delivery is None:
                return
            if self._queue.empty():
                yield delivery
                continue
            ids, records = list(delivery.batch_ids), list(delivery.records)
            while len(records) < COALESCE_RECORDS and not self._queue.empty():
                more = self._queue.get_nowait()
                if more is None:
                    finished = True  # the parent asked us to stop: this batch is the last
                    break
                ids.extend(more.batch_ids)
                records.extend(more.records)
            yield _PipeDelivery(ids, self.owned, records, self)

    def send(self, message: bytes) -> None:
        with self._lock, contextlib.suppress(OSError):  # the parent is gone: it resends to a successor
            self.conn.send_bytes(message)

    def answer(self, batch_id: int) -> None:
        now = {name: getattr(self.totals, name) for name in RESULT_FIELDS}
        delta = {name: now[name] - self._sent[name] for name in RESULT_FIELDS}
        self._sent = now
        self.send(ACK + orjson.dumps({"id": batch_id, "result": delta}))


async def _run(settings: Settings, index: int, count: int, conn: Connection) -> None:
    db = Database(settings.db_url)
    source: _PipeSource | None = None

    async def wake() -> None:
        if source is not None:
            source.send(WAKE)

    state = FileStateStore(settings.data_dir / "state" / f"serve-workers-{count}")
    worker = Worker(
        settings, db, partition_of=lambda tenant: partition(tenant, count), state=state, on_alerts=wake
    )
    source = _PipeSource(conn, index, worker.processed)
    await worker.on_assigned([index])
    source.start()
    source.send(READY)
    try:
        await worker.run(source)
    finally:
        await worker.close()
        db.dispose()


def main(settings: Settings, index: int, count: int, conn: Connection) -> None:
    """The child process's entry point (spawned by :class:`mimamori.services.cluster.pool.WorkerPool`)."""
    # Ctrl-C and systemd's SIGTERM reach the whole process group: the parent stops us with STOP (or its
    # end of the pipe closing) once it has drained, so buffered archive rows and state are written.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        level=logging.INFO if os.environ.get("MIMAMORI_DEBUG") else logging.WARNING,
        format=f"%(asctime)s worker {index}/{count} %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(_run(settings, index, count, conn))
