"""The embedded bus: a bounded in-process queue of batches in front of an append-only on-disk spool.

Why: in the one-process mode a receiver may tell a sender "got it" only once the records would survive a
crash (kill -9 or an OOM kill; power loss too with ``fsync=True``). ``publish`` therefore returns only
after its batch is framed into a segment file by the group-commit writer thread of
:mod:`mimamori.bus.spool` (which also documents the file format), and only then queues it.

The queue holds at most ``max_batches`` batches (counting publishes still being written); a full queue
makes ``publish(wait=True)`` wait and ``publish(wait=False)`` raise ``BackpressureError``. ``ack`` appends
to the segment's ack log; a segment is deleted once all its batches are acknowledged and the writer has
moved on to a newer one. ``start`` recovers the spool: unacknowledged batches are delivered again, with
``redelivered=True``, before any new batch; they are read from disk one at a time, so a large backlog
does not fill memory. The directory is locked with a POSIX lock, which excludes other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mimamori.bus.base import Delivery
from mimamori.bus.spool import (
    Location,
    SpoolWriter,
    ack_record,
    decode_batch,
    delete_segment,
    encode_batch,
    read_payload,
    recover,
    segment_path,
)
from mimamori.domain import RawRecord
from mimamori.errors import BackpressureError, ConfigError

__all__ = ["BusStats", "EmbeddedBus"]

log = logging.getLogger(__name__)

RETRY_AFTER_S = 1.0  # what a non-waiting publisher is told to wait when the queue is full


@dataclass(frozen=True, slots=True)
class BusStats:
    """Counters since ``start``: batches published/acked/redelivered and spool frames found corrupt."""

    published: int = 0
    published_records: int = 0
    acked: int = 0
    redelivered: int = 0
    corrupt_frames: int = 0


class _Delivery:
    """A batch handed to a consumer; ``ack`` records it in its segment's ack log (once)."""

    __slots__ = ("_acked", "_bus", "_loc", "_records", "_redelivered")

    def __init__(
        self, bus: EmbeddedBus, loc: Location, records: Sequence[RawRecord], redelivered: bool
    ) -> None:
        self._bus, self._loc, self._records, self._redelivered = bus, loc, records, redelivered
        self._acked = False

    @property
    def records(self) -> Sequence[RawRecord]:
        return self._records

    @property
    def redelivered(self) -> bool:
        return self._redelivered

    async def ack(self) -> None:
        if not self._acked:
            self._acked = True
            self._bus._ack(self._loc)


@dataclass(slots=True)
class _Segment:
    total: int = 0  # frames written to it
    acked: int = 0
    sealed: bool = False  # the writer has moved on to a newer segment
    ack_fd: int | None = None


@dataclass(slots=True)
class _Pending:
    records: tuple[RawRecord, ...]
    future: asyncio.Future[None]


class EmbeddedBus:
    """The Bus of the one-process mode (see the module docstring for the guarantees)."""

    def __init__(
        self,
        spool_dir: Path,
        *,
        max_batches: int = 256,
        segment_bytes: int = 64 * 1024 * 1024,
        fsync: bool = True,
    ) -> None:
        if max_batches < 1:
            raise ConfigError("max_batches must be at least 1")
        self._dir = Path(spool_dir)
        self._max_batches = max_batches
        self._segment_bytes = segment_bytes
        self._fsync = fsync
        self._queue: deque[_Delivery] = deque()
        self._backlog: deque[tuple[int, int, int]] = deque()  # unacknowledged frames found at start
        self._reserved = 0  # batches admitted but not yet committed to the spool
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: deque[asyncio.Future[None]] = deque()
        self._segments: dict[int, _Segment] = {}
        self._counts = dict.fromkeys(BusStats.__slots__, 0)
        self._writer: SpoolWriter[_Pending] | None = None
        self._loop: asyncio.AbstractEventLoop
        self._deletions: set[asyncio.Future[None]] = set()
        self._lock_fd = -1
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Lock the spool directory, recover it, and start the writer thread."""
        if self._writer is not None or self._closed:
            raise RuntimeError("EmbeddedBus can be started once")
        self._loop = asyncio.get_running_loop()
        self._dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self._dir / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
        try:  # POSIX locks exclude other processes: two services on one spool would corrupt it
            fcntl.lockf(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._lock_fd)
            raise ConfigError(f"spool directory {self._dir} is in use by another process") from exc
        found = await asyncio.to_thread(recover, self._dir)
        self._segments = {
            seg: _Segment(total=total, acked=acked, sealed=True)
            for seg, (total, acked) in found.segments.items()
        }
        self._backlog.extend(found.pending)
        self._counts["corrupt_frames"] += found.corrupt
        if found.pending:
            log.info("spool %s: %d unacknowledged batches to redeliver", self._dir, len(found.pending))
        self._writer = SpoolWriter(
            self._dir,
            found.next_seg,
            segment_bytes=self._segment_bytes,
            fsync=self._fsync,
            loop=self._loop,
            on_done=self._on_written,
        )

    async def close(self) -> None:
        """Finish pending writes, end ``deliveries`` iterators, release the spool; unacked batches stay."""
        if self._closed:
            return
        self._closed = True
        if self._writer is None:
            return
        await asyncio.to_thread(self._writer.stop)
        await asyncio.sleep(0)  # let the writer's last callbacks run
        for waiter in (*self._getters, *self._putters):
            if not waiter.done():
                waiter.set_result(None)
        for seg, state in list(self._segments.items()):
            state.sealed = True
            self._maybe_delete(seg, state)
            if state.ack_fd is not None:
                os.close(state.ack_fd)
                state.ack_fd = None
        if self._deletions:
            await asyncio.wait(list(self._deletions))
        os.close(self._lock_fd)

    # -- Bus protocol ---------------------------------------------------------------------------------
    async def publish(self, records: Sequence[RawRecord], *, wait: bool = True) -> None:
        """Spool the batch, then queue it; see :meth:`mimamori.bus.base.Bus.publish`."""
        if self._writer is None or self._closed:
            raise RuntimeError("EmbeddedBus is not running")
        if not records:
            return
        if self._full() or self._putters:  # earlier waiters go first: publish order is queue order
            if not wait:
                raise BackpressureError(RETRY_AFTER_S)
            await self._wait_for_slot()
            if self._closed:
                raise RuntimeError("EmbeddedBus closed while waiting for space")
        else:
            self._reserved += 1
        try:
            frame = encode_batch(records)
        except Exception:
            self._release_reservation()
            raise
        future: asyncio.Future[None] = self._loop.create_future()
        self._writer.submit(frame, _Pending(tuple(records), future))
        await future

    async def deliveries(self) -> AsyncIterator[Delivery]:
        """Batches in order, redeliveries first; ends when the bus is closed (unacked ones stay spooled)."""
        while not self._closed:
            if self._backlog:
                delivery = await self._load_redelivery(*self._backlog.popleft())
                if delivery is not None:
                    yield delivery
            elif self._queue:
                delivery = self._queue.popleft()
                self._hand_off_slot()
                yield delivery
            else:
                waiter: asyncio.Future[None] = self._loop.create_future()
                self._getters.append(waiter)
                try:
                    await waiter
                except BaseException:
                    waiter.cancel()
                    with contextlib.suppress(ValueError):
                        self._getters.remove(waiter)
                    raise

    def depth(self) -> int:
        """Batches waiting for a consumer, including redeliveries not yet handed out."""
        return len(self._queue) + len(self._backlog)

    @property
    def stats(self) -> BusStats:
        """A snapshot of the counters."""
        return BusStats(**self._counts)

    # -- internals (all on the event loop thread) -----------------------------------------------------
    def _full(self) -> bool:
        return len(self._queue) + self._reserved >= self._max_batches

    @staticmethod
    def _wake(waiters: deque[asyncio.Future[None]]) -> None:
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _wait_for_slot(self) -> None:
        """Queue up behind earlier publishers; returns once a freed slot was handed over (reserved)."""
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._putters.append(waiter)
        if not self._full():
            self._hand_off_slot()
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._release_reservation()  # the slot was ours already: pass it on
            else:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._putters.remove(waiter)
            raise

    def _hand_off_slot(self) -> None:
        """A slot is free: reserve it for the longest-waiting publisher, so no newcomer can take it."""
        while self._putters and not self._full():
            waiter = self._putters.popleft()
            if not waiter.done():
                self._reserved += 1
                waiter.set_result(None)
                return

    def _release_reservation(self) -> None:
        self._reserved -= 1
        self._hand_off_slot()

    def _on_written(self, items: list[_Pending], result: list[Location] | Exception) -> None:
        """Writer callback: queue committed batches in spool order, or fail their publishers."""
        if isinstance(result, Exception):
            for item in items:
                self._release_reservation()
                if not item.future.done():
                    item.future.set_exception(result)
            return
        for item, (seg, offset) in zip(items, result, strict=True):
            state = self._segments.get(seg)
            if state is None:  # the writer rotated: every older segment is now sealed
                for older_seg, older in list(self._segments.items()):
                    if not older.sealed:
                        older.sealed = True
                        self._maybe_delete(older_seg, older)
                state = self._segments[seg] = _Segment()
            state.total += 1
            self._reserved -= 1
            self._counts["published"] += 1
            self._counts["published_records"] += len(item.records)
            self._queue.append(_Delivery(self, (seg, offset), item.records, redelivered=False))
            self._wake(self._getters)
            if not item.future.done():  # a cancelled publisher's batch is durable and delivered anyway
                item.future.set_result(None)

    async def _load_redelivery(self, seg: int, offset: int, length: int) -> _Delivery | None:
        try:
            payload = await asyncio.to_thread(read_payload, self._dir, seg, offset, length)
            records = decode_batch(payload)
        except (OSError, ValueError, TypeError):  # the CRC matched but the content does not decode
            log.exception("spool segment %d offset %d: unreadable batch skipped", seg, offset)
            self._counts["corrupt_frames"] += 1
            self._ack((seg, offset))
            return None
        self._counts["redelivered"] += 1
        return _Delivery(self, (seg, offset), records, redelivered=True)

    def _ack(self, loc: Location) -> None:
        seg, offset = loc
        state = self._segments.get(seg)
        if state is None or self._closed:
            return  # after close the batch is simply delivered again at the next start
        if state.ack_fd is None:
            path = segment_path(self._dir, seg, ".ack")
            state.ack_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(state.ack_fd, ack_record(offset))  # no fsync: a lost ack only causes a redelivery
        state.acked += 1
        self._counts["acked"] += 1
        self._maybe_delete(seg, state)

    def _maybe_delete(self, seg: int, state: _Segment) -> None:
        if not state.sealed or state.acked < state.total:
            return
        if state.ack_fd is not None:
            os.close(state.ack_fd)
            state.ack_fd = None
        del self._segments[seg]
        # Unlinking a 64 MiB file can take tens of milliseconds: keep it off the event loop.
        deletion = self._loop.run_in_executor(None, delete_segment, self._dir, seg)
        self._deletions.add(deletion)
        deletion.add_done_callback(self._deletion_done)

    def _deletion_done(self, deletion: asyncio.Future[None]) -> None:
        self._deletions.discard(deletion)
        if not deletion.cancelled() and deletion.exception() is not None:
            log.error("spool: deleting an acknowledged segment failed: %s", deletion.exception())
