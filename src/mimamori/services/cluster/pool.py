"""``mimamori serve --workers N``: the pipeline in N child processes behind the one-process front.

The embedded runtime's pipeline is one Python process, so it uses one core. With ``--workers N`` the
parent keeps the receivers, the durable spool (:mod:`mimamori.bus.embedded`), the web app and the
notifier, and hands the pipeline to N spawned child processes (:mod:`.pool_child`). The tenants are
hashed into ``bus_partitions`` partitions (the stable hash of :func:`mimamori.bus.partitions.partition`)
and each partition is owned by one child at a time, so a tenant's events always meet the same stateful
behaviour detectors, as in the scale-out mode.

Each spooled batch is split by owner; each part goes to its child over a pipe. The spool's batch is
acknowledged only when every part has been answered, and a child answers only after its database
transaction committed. If a child dies, it is started again and every part it had not answered is sent
to the new one (alert fingerprints make a part processed twice harmless). At most ``inflight`` spooled
batches are out at once; beyond that the dispatcher stops taking batches from the spool, whose bounded
queue then pushes back on the receivers.

Balance: partitions start spread round-robin, but tenants differ in size and a few large ones can hash
unevenly, leaving one child busy and the other idle. Every ``REBALANCE_SECONDS`` the dispatcher weighs
each partition by the records it sent there and, when one child carries clearly more than another
(:func:`mimamori.bus.balance.plan_moves`, the rule of the scale-out workers), moves partitions: it stops
dispatching, tells the giving child ``G`` (which saves the partition's behaviour state after the parts
sent before), waits for its answer, then tells the taker ``T`` (which restores that state before any
later part) and goes on. A child that dies during a move keeps the partition (its successor restores the
state); the move is tried again later.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

import orjson

from mimamori.bus.balance import plan_moves
from mimamori.bus.base import Delivery
from mimamori.bus.embedded import EmbeddedBus
from mimamori.bus.partitions import group_by_partition
from mimamori.bus.spool import encode_batch
from mimamori.config import Settings
from mimamori.domain import RawRecord
from mimamori.services.cluster import pool_child
from mimamori.services.pipeline import BatchResult

__all__ = ["WorkerPool"]

log = logging.getLogger(__name__)

INFLIGHT_PER_WORKER = 32  # spooled batches out per child: enough to keep each one busy
STOP_SECONDS = 60.0  # a child gets this long to write what it holds and exit before it is killed
RESTART_PAUSE_SECONDS = 1.0  # between a child's death and its successor (no busy loop on a crash at start)
REBALANCE_SECONDS = 5.0  # the load is weighed and partitions moved at most this often
SETTLE_ROUNDS = 2  # a partition that moved stays put for this many rounds (no ping-pong on noise)
SLOW_MOVE_SECONDS = 10.0  # a child that takes longer to give a partition up is reported


class MoveAborted(Exception):
    """The giving child died before it gave the partitions up: they stay with it (its successor)."""


@dataclass(slots=True)
class _Out:
    """A spooled batch whose parts are with the children."""

    delivery: Delivery
    parts: dict[int, bytes]  # child index -> its message, until the child answers


@dataclass(slots=True)
class _Child:
    index: int
    process: BaseProcess | None = None
    conn: Connection | None = None
    ready: bool = False
    generation: int = 0  # +1 per restart: a part registered before it was sent again by the restart
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one sender at a time, in batch order
    giving: asyncio.Future[None] | None = None  # a move waiting for this child's GIVEN
    records: int = 0  # records it committed (its answers' ``received``), for tests and logs


class WorkerPool:
    """N pipeline processes fed from the embedded bus (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        count: int,
        *,
        processed: BatchResult,
        on_alerts: Callable[[], None] = lambda: None,
        inflight: int | None = None,
    ) -> None:
        if count < 2:
            raise ValueError("a worker pool needs at least two processes (one runs in-process)")
        self.settings = settings
        self.count = count
        self.partitions = max(settings.bus_partitions, count)
        self.processed = processed
        self.on_alerts = on_alerts
        self.restarts = 0
        self.moves = 0  # partitions moved between children for balance
        self.owner = [p % count for p in range(self.partitions)]  # partition -> child index
        self._sent = [0] * self.partitions  # records dispatched per partition in this balance round
        self._round_started = time.monotonic()
        self._moved_in_round: dict[int, int] = {}  # partition -> the round it last moved in
        self._round = 0
        self._ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self._children = [_Child(i) for i in range(count)]
        self._out: dict[int, _Out] = {}
        self._next_id = 0
        self._slots = asyncio.Semaphore(inflight or INFLIGHT_PER_WORKER * count)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        atexit.register(self._abandon)  # runs before multiprocessing's own exit handler (registered earlier)
        for child in self._children:
            await self._spawn(child)

    async def _spawn(self, child: _Child) -> None:
        parent_end, child_end = self._ctx.Pipe(duplex=True)
        owned = [p for p, owner in enumerate(self.owner) if owner == child.index]
        process = self._ctx.Process(
            target=pool_child.main,
            args=(self.settings, child.index, self.partitions, owned, child_end),
            name=f"mimamori-worker-{child.index}",
            daemon=True,
        )
        await asyncio.to_thread(process.start)
        child_end.close()
        child.process, child.conn, child.ready = process, parent_end, False
        threading.Thread(
            target=self._listen, args=(child, parent_end), name=f"pool-reader-{child.index}", daemon=True
        ).start()

    def ready(self) -> bool:
        return all(child.ready for child in self._children)

    def outstanding(self) -> int:
        """Spooled batches handed to the children and not yet answered by all of them."""
        return len(self._out)

    async def stop(self) -> None:
        """Ask every child to finish (write what it holds, save its state) and wait for it."""
        self._stopping = True
        for child in self._children:
            async with child.lock:
                if child.conn is not None:
                    with contextlib.suppress(OSError):
                        await asyncio.to_thread(child.conn.send_bytes, pool_child.STOP)
        deadline = time.monotonic() + STOP_SECONDS
        for child in self._children:
            if child.process is not None:
                await asyncio.to_thread(child.process.join, max(0.1, deadline - time.monotonic()))
                if child.process.is_alive():
                    log.warning("worker %d did not stop in time; killed", child.index)
                    child.process.kill()
                    await asyncio.to_thread(child.process.join, 5.0)
            if child.conn is not None:
                child.conn.close()
        for task in list(self._tasks):
            task.cancel()
        atexit.unregister(self._abandon)

    def _abandon(self) -> None:
        """At interpreter exit without :meth:`stop` (a start that failed half-way): ask each child to
        finish and reap it. Without this, multiprocessing's exit handler would wait for children that
        ignore SIGTERM and still hold their end of the pipe: the process would never exit."""
        self._stopping = True
        for child in self._children:
            if child.conn is not None:
                with contextlib.suppress(OSError, ValueError):
                    child.conn.send_bytes(pool_child.STOP)
        deadline = time.monotonic() + STOP_SECONDS
        for child in self._children:
            if child.process is not None and child.process.is_alive():
                child.process.join(max(0.1, deadline - time.monotonic()))
                if child.process.is_alive():
                    child.process.kill()
                    child.process.join(5.0)

    # -- dispatch --------------------------------------------------------------------------------------
    async def run(self, bus: EmbeddedBus) -> None:
        """Hand the bus's batches to the children until cancelled."""
        async for delivery in bus.deliveries():
            await self._slots.acquire()
            self._next_id += 1
            batch_id = self._next_id
            per_child: dict[int, list[RawRecord]] = {}
            for p, records in group_by_partition(delivery.records, self.partitions).items():
                self._sent[p] += len(records)
                part = per_child.get(self.owner[p])
                if part is None:
                    per_child[self.owner[p]] = records
                else:
                    part.extend(records)
            parts = {
                index: pool_child.encode_batch_message(batch_id, encode_batch(records))
                for index, records in per_child.items()
            }
            if not parts:  # nothing to do (an empty batch): done at once
                await delivery.ack()
                self._slots.release()
            else:
                self._out[batch_id] = _Out(delivery, dict(parts))
                # Each child's parts go out on their own (a child busy reading its pipe does not hold up
                # the others); the child's lock, taken in call order, keeps its parts in batch order.
                for index, message in parts.items():
                    child = self._children[index]
                    self._background(self._send(child, message, child.generation))
            if time.monotonic() - self._round_started >= REBALANCE_SECONDS:
                await self.rebalance()

    # -- balance ---------------------------------------------------------------------------------------
    def weights(self) -> dict[str, dict[int, float]]:
        """Each child's partitions with their weight: 1 + the records sent there per second this round."""
        seconds = max(time.monotonic() - self._round_started, 1e-3)
        out: dict[str, dict[int, float]] = {str(c.index): {} for c in self._children}
        for p, owner in enumerate(self.owner):
            out[str(owner)][p] = 1.0 + self._sent[p] / seconds
        return out

    async def rebalance(self) -> int:
        """End a balance round: move partitions from the busiest child while that evens the load out;
        returns how many moved."""
        weights = self.weights()
        self._round += 1
        self._round_started = time.monotonic()
        self._sent = [0] * self.partitions
        moved = 0
        if self._stopping or not self.ready():
            return 0
        busiest = max(weights, key=lambda c: (sum(weights[c].values()), c))
        settled = {p for p, at in self._moved_in_round.items() if self._round - at < SETTLE_ROUNDS}
        movable = [p for p in weights[busiest] if p not in settled]
        for p, to in plan_moves(busiest, weights, movable):
            if await self.move(p, int(to)):
                moved += 1
        return moved

    async def move(self, p: int, to: int) -> bool:
        """Move partition ``p`` to child ``to`` (see the module docstring); False if it stayed put."""
        giver, taker = self._children[self.owner[p]], self._children[to]
        if giver is taker or not (giver.ready and taker.ready) or self._stopping:
            return False  # a child that died is not ready again before its successor says so
        assert self._loop is not None
        giving = giver.giving = self._loop.create_future()
        started = time.monotonic()
        await self._send_after_queued(giver, pool_child.encode_partitions(pool_child.GIVE, [p]))
        try:
            await asyncio.wait_for(asyncio.shield(giving), SLOW_MOVE_SECONDS)
        except TimeoutError:
            log.warning("worker %d takes long to give partition %d up (busy or retrying)", giver.index, p)
            try:
                await giving
            except MoveAborted:
                return False
        except MoveAborted:
            return False
        finally:
            giver.giving = None
        self.owner[p] = to
        self._moved_in_round[p] = self._round
        await self._send_after_queued(taker, pool_child.encode_partitions(pool_child.TAKE, [p]))
        self.moves += 1
        log.info(
            "partition %d moved from worker %d to %d for balance (%.2f s)",
            p,
            giver.index,
            to,
            time.monotonic() - started,
        )
        return True

    async def _send_after_queued(self, child: _Child, message: bytes) -> None:
        """Send ``message`` after the parts already handed to :meth:`_background` for this child: as a
        task of its own, created after theirs, it asks for the child's lock after them (a direct call
        could take the lock before their tasks first ran, and a ``G`` overtake parts of its partition)."""
        await asyncio.create_task(self._send(child, message, child.generation))

    async def _send(self, child: _Child, message: bytes, generation: int) -> None:
        async with child.lock:
            conn = child.conn
            if conn is None or child.generation != generation:
                return  # the child's restart has sent (or will send) every unanswered part
            with contextlib.suppress(OSError):  # the child died: its successor gets every unanswered part
                await asyncio.to_thread(conn.send_bytes, message)

    # -- answers (read on a thread per child, handled on the event loop) -------------------------------
    def _listen(self, child: _Child, conn: Connection) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the event loop is closed: the process is exiting
            while True:
                try:
                    message = conn.recv_bytes()
                except (EOFError, OSError):
                    break
                self._loop.call_soon_threadsafe(self._on_message, child, message)
            self._loop.call_soon_threadsafe(self._on_exit, child, conn)

    def _on_message(self, child: _Child, message: bytes) -> None:
        kind = message[:1]
        if kind == pool_child.READY:
            child.ready = True
            log.info("worker %d ready", child.index)
        elif kind == pool_child.WAKE:
            self.on_alerts()
        elif kind == pool_child.ACK:
            answer = orjson.loads(message[1:])
            self._answered(child, int(answer["id"]), answer.get("result") or {})
        elif kind == pool_child.GIVEN and child.giving is not None and not child.giving.done():
            child.giving.set_result(None)

    def _answered(self, child: _Child, batch_id: int, result: dict[str, int]) -> None:
        counts = {name: int(result.get(name, 0)) for name in pool_child.RESULT_FIELDS}
        self.processed.add(BatchResult(**counts))  # type: ignore[arg-type]
        child.records += counts["received"]
        out = self._out.get(batch_id)
        if out is None or out.parts.pop(child.index, None) is None:
            return  # an answer to a part sent twice (after a restart): already counted as done
        if not out.parts:
            del self._out[batch_id]
            self._background(self._finish(out.delivery))

    async def _finish(self, delivery: Delivery) -> None:
        try:
            await delivery.ack()
        finally:
            self._slots.release()

    def _on_exit(self, child: _Child, conn: Connection) -> None:
        if self._stopping or child.conn is not conn:
            return
        code = child.process.exitcode if child.process is not None else None
        log.error("worker %d exited (code %s); starting it again", child.index, code)
        child.ready = False  # no move starts with it until its successor is ready
        if child.giving is not None and not child.giving.done():
            child.giving.set_exception(MoveAborted())
        self._background(self._restart(child))

    async def _restart(self, child: _Child) -> None:
        async with child.lock:
            if child.process is not None:
                await asyncio.to_thread(child.process.join, 5.0)
            if child.conn is not None:
                child.conn.close()
            child.conn = None
            # Parts registered until now are sent again below; later ones carry the new generation and
            # are sent by the dispatcher once this lock is released.
            child.generation += 1
            resend = [o.parts[child.index] for _, o in sorted(self._out.items()) if child.index in o.parts]
            await asyncio.sleep(RESTART_PAUSE_SECONDS)
            if self._stopping:
                return
            self.restarts += 1
            await self._spawn(child)
            conn = child.conn
            assert conn is not None
            for message in resend:
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(conn.send_bytes, message)
            if resend:
                log.warning("worker %d: %d unanswered batches sent again", child.index, len(resend))

    def _background(self, coro: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
