"""The NATS JetStream bus of the scale-out mode.

Subjects and stream: records are partitioned by tenant, ``partition = blake2b(tenant)[:8] mod P``
(:mod:`mimamori.bus.partitions`), so all of one tenant's records reach the same worker. A publish groups its
batch by partition and sends each group as one or more messages (many records per message, framed like
the embedded spool with a CRC, each under the server's ``max_payload``) to ``<prefix>.raw.<p>`` on the
stream ``<prefix>_raw``, created if missing (updated to the configured limits if it exists): file storage,
``replicas``, limits retention, ``max_age`` (how long processed batches stay replayable), ``max_bytes``
(default unlimited, i.e. bounded by the server's disk; a set limit is reserved on the server), discard
*new*, so that a full stream pushes back instead of dropping batches nobody processed yet. P is written
into the stream's description; a process configured with another P refuses to start (changing P means
draining and deleting the stream). Order is kept per partition, not across partitions.

Durability and push-back: ``publish`` returns only when the server acknowledged (PubAck: stored in its
file store; with ``replicas=3`` on a cluster, on a quorum) every message of the batch. Each message carries
a ``Nats-Msg-Id`` that stays the same across retries, so the server drops a retry of a message it already
stored (``duplicate_window``). When NATS is down, slow or the stream is full, ``publish(wait=True)``
retries with capped exponential backoff until it succeeds (a TCP receiver stops reading meanwhile; a
deleted stream is recreated) and ``publish(wait=False)`` raises ``BackpressureError`` (HTTP 429) -- at
once when disconnected or when ``max_inflight`` messages already await their PubAck, else after
``publish_timeout``. A ``BackpressureError`` after part of a batch was stored means the sender's retry
duplicates that part: delivery is at-least-once everywhere, alert fingerprints make replays idempotent.
``start`` fails if NATS is unreachable; afterwards the client reconnects forever.

Workers (``deliveries()``; a publisher-only process never joins): each worker heartbeats in the KV
bucket ``<prefix>_workers`` and holds partitions through leases in ``<prefix>_leases``
(:mod:`mimamori.bus.leases`: compare-and-set claims and renewals, server-side TTL; partitions move so
that workers carry equal work, measured as each partition's backlog and recent arrivals, see
:mod:`mimamori.bus.balance`). Per owned partition a durable pull consumer ``<prefix>_raw_<p>`` (explicit ack,
``max_ack_pending``, ``ack_wait``) is fetched (:mod:`mimamori.bus.consumer`). ``on_assigned(partitions)``
is awaited before fetching them starts, ``on_revoked(partitions)`` after it stopped (restore and save
per-partition detector state there, e.g. in :class:`mimamori.bus.state_store.NatsStateStore`); a
released partition is claimable by others only after ``on_revoked`` returned. A delivery is acked only
when the caller calls ``ack()`` after committing its results. If a worker dies, its leases and its
membership expire after ``lease_ttl``/``member_ttl`` (10 s) and the others claim its partitions within a
rebalance interval (measured: 10 s after a SIGKILL with the defaults); the batches it had not acked are
redelivered after ``ack_wait`` (30 s from their delivery). A clean ``close`` releases at once. A worker
that loses a lease (cut off from NATS, CAS failure) stops fetching that partition at once and hands its
buffered batches of it back (nak) for immediate redelivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import nats
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from mimamori.bus.balance import valid_worker_id
from mimamori.bus.consumer import NatsDelivery, PartitionFetcher
from mimamori.bus.leases import PartitionHandler, PartitionLeases
from mimamori.bus.nats_config import NatsBusConfig
from mimamori.bus.partitions import encode_frames, group_by_partition
from mimamori.bus.state_store import NatsStateStore
from mimamori.domain import RawRecord
from mimamori.errors import BackpressureError, ConfigError

__all__ = ["NatsBus", "NatsBusConfig", "NatsBusStats", "NatsDelivery"]

log = logging.getLogger(__name__)

RETRY_AFTER_S = 1.0
_HEADROOM = 4096  # bytes of max_payload left for headers and the subject
_NATS_ERRORS = (nats.errors.Error, OSError)


@dataclass(frozen=True, slots=True)
class NatsBusStats:
    """Counters since ``start`` (for /metrics); ``partitions_owned`` is a gauge."""

    published_batches: int = 0
    published_messages: int = 0
    published_records: int = 0
    publish_retries: int = 0
    publish_errors: int = 0
    backpressure: int = 0
    delivered: int = 0
    redelivered: int = 0
    acked: int = 0
    ack_errors: int = 0
    corrupt: int = 0
    late_handed_back: int = 0  # sent for a fetch after it returned; nak'ed when its subscription ended
    leases_lost: int = 0
    partitions_owned: int = 0


def _worker_id() -> str:
    host = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in socket.gethostname())[:40]
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


class NatsBus:
    """The Bus of the scale-out mode (see the module docstring)."""

    def __init__(
        self,
        config: NatsBusConfig,
        *,
        on_assigned: PartitionHandler | None = None,
        on_revoked: PartitionHandler | None = None,
        worker_id: str | None = None,
    ) -> None:
        config.check()
        if worker_id is not None and not valid_worker_id(worker_id):
            raise ConfigError("worker id must be 1-64 characters of A-Z a-z 0-9 _ -")
        self.config = config
        self.worker_id = worker_id or _worker_id()
        self._on_assigned, self._on_revoked = on_assigned, on_revoked
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._slots = asyncio.Semaphore(config.max_inflight)
        self._seq = itertools.count()
        self._counts = dict.fromkeys(NatsBusStats.__slots__, 0)
        self._leases: PartitionLeases | None = None
        self._fetcher: PartitionFetcher | None = None
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect (reconnecting forever afterwards) and create or update the stream."""
        if self._nc is not None or self._closed:
            raise RuntimeError("NatsBus can be started once")
        self._nc = await nats.connect(
            self.config.url,
            name=f"mimamori-{self.worker_id}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            connect_timeout=3,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        self._js = self._nc.jetstream(timeout=self.config.publish_timeout)
        try:
            await self._ensure_stream()
        except BaseException:
            self._closed = True
            await self._nc.close()
            raise

    async def close(self) -> None:
        """Revoke partitions (``on_revoked``), stop fetching, leave, close the connection; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._leases is not None:
            await self._leases.stop()
        if self._fetcher is not None:
            await self._fetcher.close()
        if self._nc is not None:
            await self._nc.close()

    # -- Bus protocol ---------------------------------------------------------------------------------
    async def publish(self, records: Sequence[RawRecord], *, wait: bool = True) -> None:
        """Store the batch in the stream; see :meth:`mimamori.bus.base.Bus.publish` and the module doc."""
        nc, js = self._running()
        if not records:
            return
        limit = min(self.config.max_message_bytes, nc.max_payload - _HEADROOM)
        groups = group_by_partition(records, self.config.partitions)
        plan = [(p, encode_frames(group, limit)) for p, group in sorted(groups.items())]  # may raise 413
        if not wait and (not nc.is_connected or self._slots.locked()):
            self._counts["backpressure"] += 1
            raise BackpressureError(RETRY_AFTER_S)
        results = await asyncio.gather(
            *(self._publish_partition(js, p, frames, wait) for p, frames in plan), return_exceptions=True
        )
        for result in results:
            if isinstance(result, asyncio.CancelledError):
                raise result
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            if not wait and isinstance(failures[0], (*_NATS_ERRORS, BackpressureError)):
                self._counts["backpressure"] += 1
                raise BackpressureError(RETRY_AFTER_S) from failures[0]
            raise failures[0]
        self._counts["published_batches"] += 1
        self._counts["published_records"] += len(records)

    async def deliveries(self) -> AsyncIterator[NatsDelivery]:
        """Batches of the partitions this worker owns; joins the worker group on first use."""
        fetcher = await self._join()
        while not self._closed:
            delivery = await fetcher.get()
            if delivery is None:
                return
            yield delivery

    async def waiting(self, max_records: int) -> list[NatsDelivery]:
        """Batches of owned partitions already buffered, taken without waiting, until about
        ``max_records`` records: a busy worker processes them with the one it got as one transaction."""
        return await self._fetcher.waiting(max_records) if self._fetcher is not None else []

    def depth(self) -> int:
        """Batches buffered locally plus those left in the owned partitions' consumers."""
        return self._fetcher.depth() if self._fetcher is not None else 0

    @property
    def stats(self) -> NatsBusStats:
        counts = dict(self._counts)
        if self._leases is not None:
            counts["leases_lost"] = self._leases.lost_count
            counts["partitions_owned"] = len(self._leases.owned)
        return NatsBusStats(**counts)

    @property
    def partitions_owned(self) -> frozenset[int]:
        return self._leases.owned if self._leases is not None else frozenset()

    async def state_store(self) -> NatsStateStore:
        """The shared state store ``<prefix>_state`` on this connection (created if missing)."""
        _, js = self._running()
        store = NatsStateStore(js, self.config.prefix, replicas=self.config.replicas)
        await store.start()
        return store

    # -- publishing -----------------------------------------------------------------------------------
    def _running(self) -> tuple[Client, JetStreamContext]:
        if self._nc is None or self._js is None or self._closed:
            raise RuntimeError("NatsBus is not running")
        return self._nc, self._js

    async def _publish_partition(
        self, js: JetStreamContext, p: int, frames: list[tuple[bytes, int]], wait: bool
    ) -> None:
        subject = self.config.subject(p)
        for frame, _count in frames:  # in order: one partition's messages keep the batch order
            await self._publish_message(js, subject, frame, wait)
            self._counts["published_messages"] += 1

    async def _publish_message(self, js: JetStreamContext, subject: str, frame: bytes, wait: bool) -> None:
        headers = {"Nats-Msg-Id": f"{self.worker_id}-{next(self._seq)}"}  # the same for every retry
        delay = self.config.retry_initial
        if not wait and self._slots.locked():
            raise BackpressureError(RETRY_AFTER_S)
        async with self._slots:
            while True:
                try:
                    await js.publish(subject, frame, timeout=self.config.publish_timeout, headers=headers)
                    return
                except _NATS_ERRORS as exc:
                    self._counts["publish_errors"] += 1
                    if not wait or self._closed or isinstance(exc, nats.errors.ConnectionClosedError):
                        raise
                    if self._counts["publish_retries"] % 50 == 0:
                        log.warning("publish to %s failed, retrying: %r", subject, exc)
                    self._counts["publish_retries"] += 1
                    if isinstance(exc, nats.js.errors.NoStreamResponseError):  # stream deleted? recreate it
                        with contextlib.suppress(*_NATS_ERRORS):
                            await self._ensure_stream()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.retry_max)

    async def _ensure_stream(self) -> None:
        assert self._js is not None
        c = self.config
        description = f"mimamori raw records; partitions={c.partitions}"
        config = StreamConfig(
            name=c.stream,
            description=description,
            subjects=[f"{c.prefix}.raw.*"],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.NEW if c.discard_new else DiscardPolicy.OLD,
            max_bytes=c.max_bytes,
            max_age=c.max_age,
            max_msg_size=-1,
            duplicate_window=c.duplicate_window,
            num_replicas=c.replicas,
        )
        try:
            info = await self._js.stream_info(c.stream)
        except nats.js.errors.NotFoundError:
            await self._js.add_stream(config)
            return
        if info.config.description != description:
            raise ConfigError(
                f"stream {c.stream} was created for other partitions ({info.config.description!r}); "
                f"every process must use partitions={c.partitions} or the stream must be drained and deleted"
            )
        await self._js.update_stream(config)

    # -- workers --------------------------------------------------------------------------------------
    async def _join(self) -> PartitionFetcher:
        _, js = self._running()
        if self._fetcher is None:
            leases = PartitionLeases(
                js,
                self.config.prefix,
                self.config.partitions,
                self.worker_id,
                self.config.leases,
                on_assigned=self._assigned,
                on_revoked=self._revoked,
                replicas=self.config.replicas,
                work=self._work,
            )
            self._fetcher = PartitionFetcher(js, self.config, leases.holds, self._counts)
            self._leases = leases
            await leases.start()
        return self._fetcher

    def _work(self) -> dict[int, float]:
        return self._fetcher.work() if self._fetcher is not None else {}

    async def _assigned(self, partitions: frozenset[int]) -> None:
        if self._on_assigned is not None:
            await self._on_assigned(partitions)
        if self._fetcher is not None:
            self._fetcher.start(partitions)

    async def _revoked(self, partitions: frozenset[int]) -> None:
        if self._fetcher is not None:
            await self._fetcher.stop(partitions)
        if self._on_revoked is not None:
            await self._on_revoked(partitions)

    # -- connection events ----------------------------------------------------------------------------
    async def _on_error(self, exc: Exception) -> None:
        log.debug("NATS connection error: %r", exc)

    async def _on_disconnected(self) -> None:
        if not self._closed:
            log.warning("NATS disconnected; reconnecting")

    async def _on_reconnected(self) -> None:
        log.info("NATS reconnected")
