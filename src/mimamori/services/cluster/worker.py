"""``mimamori worker``: the pipeline stage of the scale-out mode.

A worker owns some of the bus's partitions (leases in a NATS key-value bucket, see
:mod:`mimamori.bus.jetstream`), runs each delivered batch through the same :class:`Pipeline` as ``serve``
(parse → detect → alerts, incidents and outbox rows in one PostgreSQL transaction → event archive) and
acknowledges the batch only after that transaction committed. Batches already waiting in the bus's
buffer when one arrives are processed with it as one (up to ``JOIN_RECORDS`` records): a busy worker pays
the per-transaction costs (counters, commit, PostgreSQL's work per commit) once for many of the
receivers' small per-partition messages. A batch that fails (the database is down, a bug) is retried
with backoff while the worker still owns its partitions; the batches of a partition that moves meanwhile
are handed back (nak) to its next owner. Alert fingerprints are unique, so a batch processed twice
creates no second alert and no second notification.

The behaviour detectors keep per-tenant state; each owned partition has its own (see
:mod:`.partitioned`). It is saved to the shared state store every ``STATE_SAVE_SECONDS``, when the
partition is given up and at shutdown, and restored when a worker takes the partition on; after a
crash the new owner continues from the last periodic save.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

from mimamori.bus.base import Delivery
from mimamori.config import Settings
from mimamori.detection import build_engine
from mimamori.services import behaviours, content, indicators, inventory, rules
from mimamori.services import events as event_archive
from mimamori.services.cluster.partitioned import PartitionedBehaviours
from mimamori.services.pipeline import BatchResult, Pipeline
from mimamori.storage import Database, read_only

__all__ = ["PartitionSource", "StateStore", "Worker"]

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 5.0  # rules, behaviour policy and indicator changes are picked up this often
STATE_SAVE_SECONDS = 60.0  # owned partitions' behaviour state is saved this often
ARCHIVE_TICK_SECONDS = 5.0
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 10.0
MAX_STATE_BYTES = 256 * 1024 * 1024
JOIN_RECORDS = 4_000  # batches already waiting are processed together up to about this many records


class PartitionDelivery(Delivery, Protocol):
    @property
    def partition(self) -> int: ...

    async def nak(self) -> None:
        """Not processed here: the partition's (next) owner gets the batch again at once."""
        ...


class PartitionSource(Protocol):
    """The worker side of the bus: batches of the partitions this worker owns."""

    def deliveries(self) -> AsyncIterator[PartitionDelivery]: ...

    async def waiting(self, max_records: int) -> Sequence[PartitionDelivery]:
        """Batches already buffered (none is waited for), until about ``max_records`` records."""
        ...

    @property
    def partitions_owned(self) -> frozenset[int]: ...


class StateStore(Protocol):
    """Small blobs shared by every worker (the behaviour state per partition)."""

    async def put(self, name: str, data: bytes) -> None: ...

    async def get(self, name: str) -> bytes | None: ...


def state_name(partition: int) -> str:
    return f"behaviours.p{partition}"


def encode_state(snapshot: dict[str, Any]) -> bytes:
    """The snapshot as gzip'd JSON (the stdlib encoder: behaviour state may hold integers beyond 64 bits)."""
    return gzip.compress(json.dumps(snapshot, separators=(",", ":")).encode(), compresslevel=3)


def decode_state(data: bytes) -> dict[str, Any] | None:
    """A saved snapshot, or None when it is unreadable (the partition then starts fresh)."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            raw = handle.read(MAX_STATE_BYTES)
        value = json.loads(raw)
    except (OSError, EOFError, ValueError) as error:
        log.warning("saved behaviour state unreadable (%s); starting fresh", error)
        return None
    return value if isinstance(value, dict) else None


class Worker:
    """One pipeline worker process's stage (its partitions come from the bus)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        partition_of: Callable[[str], int],
        state: StateStore | None = None,
        on_alerts: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.state = state
        self.on_alerts = on_alerts  # tells the scheduler's notifier that new alerts were committed
        content.ensure_content(settings)
        inventory.load_oui(settings.data_dir)
        engine = build_engine(content.detector_context(settings, db))
        self.behaviours = PartitionedBehaviours.replace_in(engine, partition_of)
        self.pipeline = Pipeline(
            db, engine, max_record=settings.record_max_bytes, archive=event_archive.open_writer(settings)
        )
        self.processed = BatchResult()
        self.retries = 0
        self.abandoned = 0  # batches handed back to a partition's next owner after the lease moved
        self._indicator_stamp = self._stamp()

    # -- partition hand-over (called by the bus) ---------------------------------------------------
    async def on_assigned(self, partitions: Iterable[int]) -> None:
        """Restore the behaviour state of newly owned partitions before their batches are fetched."""
        if self.behaviours is None:
            return
        for partition in partitions:
            data = await self._get_state(partition)
            snapshot = decode_state(data) if data else None
            restored = self.behaviours.assign(partition, snapshot)
            log.info("partition %d assigned (%d behaviours continue from saved state)", partition, restored)

    async def on_revoked(self, partitions: Iterable[int]) -> None:
        """Save the behaviour state of partitions given up (their fetching has stopped)."""
        if self.behaviours is None:
            return
        for partition in partitions:
            snapshot = self.behaviours.revoke(partition)
            if snapshot is not None:
                await self._put_state(partition, snapshot)
            log.info("partition %d revoked", partition)

    async def save_state(self) -> int:
        """Save every owned partition's behaviour state; returns how many were saved."""
        if self.behaviours is None or self.state is None:
            return 0
        saved = 0
        for partition in self.behaviours.partitions:
            snapshot = self.behaviours.snapshot(partition)
            if snapshot is not None:
                await self._put_state(partition, snapshot)
                saved += 1
        return saved

    async def _get_state(self, partition: int) -> bytes | None:
        if self.state is None:
            return None
        try:
            return await self.state.get(state_name(partition))
        except Exception:
            log.exception("could not read the saved state of partition %d; starting fresh", partition)
            return None

    async def _put_state(self, partition: int, snapshot: dict[str, Any]) -> None:
        if self.state is None:
            return
        try:
            data = await asyncio.to_thread(encode_state, snapshot)
            await self.state.put(state_name(partition), data)
        except Exception:
            log.exception("could not save the state of partition %d", partition)

    # -- batches -----------------------------------------------------------------------------------
    async def handle(self, deliveries: Sequence[PartitionDelivery], source: PartitionSource) -> int:
        """Process batches as one and acknowledge them after the commit; returns how many were acked
        (fewer when partitions moved while a failing batch was retried: those are handed back)."""
        pending = list(deliveries)
        wait = RETRY_FIRST_SECONDS
        while pending:
            records = pending[0].records if len(pending) == 1 else [r for d in pending for r in d.records]
            try:
                result = await asyncio.to_thread(self.pipeline.process, records)
                break
            except Exception as error:
                self.retries += 1
                log.warning(
                    "batch of partitions %s failed (%s: %s); retrying in %.1f s",
                    sorted({d.partition for d in pending}),
                    type(error).__name__,
                    str(error)[:200],
                    wait,
                )
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_MAX_SECONDS)
                owned = source.partitions_owned
                for delivery in [d for d in pending if d.partition not in owned]:
                    self.abandoned += 1
                    await delivery.nak()  # its partition's next owner gets it
                pending = [d for d in pending if d.partition in owned]
        else:
            return 0
        self.processed.add(result)  # before the ack: a local pool's answer carries these counts
        for delivery in pending:
            await delivery.ack()
        if result.alerts_created and self.on_alerts is not None:
            try:
                await self.on_alerts()
            except Exception:  # the notifier's poll finds them anyway
                log.warning("could not announce new alerts", exc_info=True)
        return len(pending)

    async def run(self, source: PartitionSource) -> None:
        """Process batches until cancelled; housekeeping runs beside it."""
        tasks = [
            asyncio.create_task(self._housekeeping(), name="worker-housekeeping"),
            asyncio.create_task(self._archive(), name="worker-archive"),
        ]
        try:
            async for delivery in source.deliveries():
                batch = [delivery]
                if len(delivery.records) < JOIN_RECORDS:
                    batch.extend(await source.waiting(JOIN_RECORDS - len(delivery.records)))
                await self.handle(batch, source)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def close(self) -> None:
        """Write what is held (sightings, inventory, archive buffers) and every partition's state."""
        try:
            await asyncio.to_thread(self.pipeline.flush)
        except Exception:
            log.exception("final flush failed")
        await self.save_state()

    # -- housekeeping --------------------------------------------------------------------------------
    def _stamp(self) -> str:
        with read_only(self.db) as repos:
            return str(repos.indicators.stamp())

    def refresh(self) -> None:
        """Pick up changed rules, behaviour thresholds and indicators (written by other processes)."""
        detectors = self.pipeline.engine.detectors
        rules.refresh(detectors, self.settings, self.db)
        if self.behaviours is not None:
            self.behaviours.update_policy(behaviours.load_policy(self.db))
        stamp = self._stamp()
        if stamp != self._indicator_stamp:
            self._indicator_stamp = stamp
            count = indicators.reload(self.pipeline.engine, self.db, self.settings)
            log.info("indicators changed: %d loaded", count)

    async def _housekeeping(self) -> None:
        saved = time.monotonic()
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            try:
                await asyncio.to_thread(self.refresh)
                if time.monotonic() - saved >= STATE_SAVE_SECONDS:
                    saved = time.monotonic()
                    await self.save_state()
            except Exception:
                log.exception("worker housekeeping failed")

    async def _archive(self) -> None:
        writer = self.pipeline.archive
        if writer is None:
            return
        while True:
            await asyncio.sleep(max(0.5, min(ARCHIVE_TICK_SECONDS, self.settings.archive_flush_seconds)))
            try:
                await asyncio.to_thread(writer.flush_due)
            except Exception:
                log.exception("event archive flush failed")
