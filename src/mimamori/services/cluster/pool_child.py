"""One pipeline process of ``mimamori serve --workers N`` (the parent side is :mod:`.pool`).

The parent (receivers, spool, web, notifier) sends each child the records of the partitions it owns over
a pipe; the child runs them through the scale-out :class:`~mimamori.services.cluster.worker.Worker`
(parse → detect → one database transaction → event archive) and answers every batch only after its
transaction committed. The parent acknowledges a spooled batch once every child it was split between
has answered, so a child killed half-way loses nothing: its batches are sent again to its successor.

Messages on the pipe (``send_bytes``): parent → child ``B`` + batch id (8 bytes) + a spool frame,
``G`` + JSON list (give these partitions up: save their behaviour state), ``T`` + JSON list (take these
partitions on: restore their state) or ``S`` (finish and exit); child → parent ``R`` (ready), ``A`` +
JSON ``{"id": ..., "result": {...}}`` (committed; ``result`` is the child's :class:`BatchResult` since
its previous answer), ``V`` + JSON list (given up, state saved) and ``W`` (new alerts: wake the
notifier). ``G`` and ``T`` take effect between batches, in pipe order: every batch sent before a ``G``
is committed before its partitions' state is saved. When the parent's end of the pipe closes, the child
finishes like on ``S``.
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
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path

import orjson

from mimamori.bus.partitions import decode_frame, partition
from mimamori.config import Settings
from mimamori.domain import RawRecord
from mimamori.services.cluster.worker import PartitionDelivery, Worker
from mimamori.services.pipeline import BatchResult
from mimamori.storage import Database

__all__ = [
    "ACK",
    "BATCH",
    "GIVE",
    "GIVEN",
    "READY",
    "STOP",
    "TAKE",
    "WAKE",
    "FileStateStore",
    "encode_batch_message",
    "encode_partitions",
    "main",
]

log = logging.getLogger(__name__)

BATCH, STOP, READY, ACK, WAKE = b"B", b"S", b"R", b"A", b"W"
GIVE, TAKE, GIVEN = b"G", b"T", b"V"  # partition moves (see the module docstring)
_ID = struct.Struct("<Q")
COALESCE_RECORDS = 4_000  # parts already waiting are processed together up to this many records
RESULT_FIELDS = tuple(
    f.name for f in dataclasses.fields(BatchResult) if f.type in {"int", int}
)  # the counters an answer carries (not the id lists)


def encode_batch_message(batch_id: int, frame: bytes) -> bytes:
    return BATCH + _ID.pack(batch_id) + frame


def encode_partitions(kind: bytes, partitions: Iterable[int]) -> bytes:
    """A ``G``, ``T`` or ``V`` message."""
    return kind + orjson.dumps(sorted(partitions))


def decode_partitions(message: bytes) -> list[int] | None:
    """The partitions of a ``G``, ``T`` or ``V`` message (None when it is malformed)."""
    try:
        value = orjson.loads(message[1:])
    except orjson.JSONDecodeError:
        return None
    if isinstance(value, list) and all(type(p) is int and p >= 0 for p in value):
        return value
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class _Move:
    """A ``G`` or ``T`` from the parent, carried out between batches."""

    kind: bytes
    partitions: list[int]


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
    """One or more of the parent's parts, processed as one batch (one transaction) and answered together.

    ``partition`` is the child's slot: the parts sent to a slot never move to another one (a restarted
    child gets its predecessor's unanswered parts); the tenants' partitions inside move only between
    batches (``G``/``T``), so the worker never hands a part back."""

    batch_ids: list[int]
    partition: int
    records: Sequence[RawRecord]
    source: _PipeSource
    redelivered: bool = False

    async def ack(self) -> None:
        for batch_id in self.batch_ids:
            self.source.answer(batch_id)

    async def nak(self) -> None:
        """Nothing to do: a slot never moves (see the class docstring)."""


Mover = Callable[[bytes, list[int]], Awaitable[None]]


class _PipeSource:
    """The child's side of the pipe: batches in, answers out (a reader thread feeds the event loop)."""

    def __init__(self, conn: Connection, slot: int, totals: BatchResult, mover: Mover | None = None) -> None:
        self.conn = conn
        self.slot = slot
        self.totals = totals  # the worker's running BatchResult
        self.mover = mover  # carries out G/T (the worker's on_revoked/on_assigned)
        self._sent = dict.fromkeys(RESULT_FIELDS, 0)
        self._lock = threading.Lock()
        self._items: deque[_PipeDelivery | _Move | None] = deque()
        self._arrived = asyncio.Event()

    @property
    def partitions_owned(self) -> frozenset[int]:
        return frozenset({self.slot})

    async def waiting(self, max_records: int) -> Sequence[PartitionDelivery]:
        """None: :meth:`deliveries` already joins the parts that wait."""
        return ()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._read, args=(loop,), name="pool-child-reader", daemon=True).start()

    def _put(self, item: _PipeDelivery | _Move | None) -> None:
        self._items.append(item)
        self._arrived.set()

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                message = self.conn.recv_bytes()
            except (EOFError, OSError):
                break
            kind = message[:1]
            if kind == STOP:
                break
            if kind in (GIVE, TAKE):
                partitions = decode_partitions(message)
                if partitions is None:
                    log.error("malformed partition move from the parent; ignored")
                else:
                    loop.call_soon_threadsafe(self._put, _Move(kind, partitions))
                continue
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
            delivery = _PipeDelivery([batch_id], self.slot, records, self)
            loop.call_soon_threadsafe(self._put, delivery)
        loop.call_soon_threadsafe(self._put, None)

    async def _next(self) -> _PipeDelivery | _Move | None:
        while not self._items:
            self._arrived.clear()
            await self._arrived.wait()
        return self._items.popleft()

    async def deliveries(self) -> AsyncIterator[PartitionDelivery]:
        """The parts in arrival order; parts already waiting are joined (up to ``COALESCE_RECORDS``), so a
        busy child pays the per-batch costs (transaction, counters, commit) once for several parts.
        A move is carried out when it is reached, i.e. after the batches before it were processed."""
        while True:
            item = await self._next()
            if item is None:
                return
            if isinstance(item, _Move):
                await self._move(item)
                continue
            if not self._items or not isinstance(self._items[0], _PipeDelivery):
                yield item
                continue
            ids, records = list(item.batch_ids), list(item.records)
            while len(records) < COALESCE_RECORDS and self._items:
                more = self._items[0]
                if not isinstance(more, _PipeDelivery):
                    break  # a move or the end: the batches before it go first
                self._items.popleft()
                ids.extend(more.batch_ids)
                records.extend(more.records)
            yield _PipeDelivery(ids, self.slot, records, self)

    async def _move(self, move: _Move) -> None:
        if self.mover is not None:
            try:
                await self.mover(move.kind, move.partitions)
            except Exception:  # the state is lost at worst: the partition's next owner starts fresh
                log.exception("moving partitions %s failed", move.partitions)
        if move.kind == GIVE:
            self.send(encode_partitions(GIVEN, move.partitions))

    def send(self, message: bytes) -> None:
        with self._lock, contextlib.suppress(OSError):  # the parent is gone: it resends to a successor
            self.conn.send_bytes(message)

    def answer(self, batch_id: int) -> None:
        now = {name: getattr(self.totals, name) for name in RESULT_FIELDS}
        delta = {name: now[name] - self._sent[name] for name in RESULT_FIELDS}
        self._sent = now
        self.send(ACK + orjson.dumps({"id": batch_id, "result": delta}))


async def _run(settings: Settings, slot: int, partitions: int, owned: list[int], conn: Connection) -> None:
    db = Database(settings.db_url)
    source: _PipeSource | None = None

    async def wake() -> None:
        if source is not None:
            source.send(WAKE)

    state = FileStateStore(state_directory(settings, partitions))
    worker = Worker(
        settings,
        db,
        partition_of=lambda tenant: partition(tenant, partitions),
        state=state,
        on_alerts=wake,
    )

    async def move(kind: bytes, moved: list[int]) -> None:
        if kind == GIVE:
            await worker.on_revoked(moved)
        else:
            await worker.on_assigned(moved)

    source = _PipeSource(conn, slot, worker.processed, move)
    await worker.on_assigned(owned)
    source.start()
    source.send(READY)
    try:
        await worker.run(source)
    finally:
        await worker.close()
        db.dispose()


def state_directory(settings: Settings, partitions: int) -> Path:
    """Where the children keep the behaviour state of each of the ``partitions`` partitions."""
    return settings.data_dir / "state" / f"serve-partitions-{partitions}"


def main(settings: Settings, slot: int, partitions: int, owned: list[int], conn: Connection) -> None:
    """The child process's entry point (spawned by :class:`mimamori.services.cluster.pool.WorkerPool`):
    pipeline slot ``slot`` owning ``owned`` of the tenants' ``partitions`` partitions at start."""
    # Ctrl-C and systemd's SIGTERM reach the whole process group: the parent stops us with STOP (or its
    # end of the pipe closing) once it has drained, so buffered archive rows and state are written.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        level=logging.INFO if os.environ.get("MIMAMORI_DEBUG") else logging.WARNING,
        format=f"%(asctime)s worker {slot} %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(_run(settings, slot, partitions, owned, conn))
