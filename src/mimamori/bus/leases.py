"""Partition leases of the scale-out workers, kept in NATS KV buckets.

Two buckets, both with a per-bucket TTL so that expiry is decided by the server's clock alone:

- ``<prefix>_workers``: one key per live worker, rewritten every ``heartbeat_interval``; a worker that
  stops heartbeating disappears after ``member_ttl``.
- ``<prefix>_leases``: key ``p.<n>`` holds the worker id owning partition n. A worker claims a free
  partition with KV *create* (fails if the key exists) and renews it every ``renew_interval`` with
  *update* at the last revision it wrote (compare-and-set); a lease that is not renewed disappears after
  ``lease_ttl`` and becomes free.

Each worker aims at its fair share ``ceil(P / live workers)``: it claims free partitions (in a
worker-specific rendezvous order, so workers rarely race for the same key) until it has its share and
releases its least preferred ones when it holds more (another worker joined). A partition nobody took
for ``member_ttl + rebalance_interval`` (its share arithmetic was based on a dead member) is claimed by
anyone. Locally a lease is valid until ``lease_ttl - safety_margin`` after the renewal request that
succeeded was *sent*, so a worker cut off from NATS stops using a partition before the server lets
another worker take it. A failed CAS means someone else owns it: the lease is dropped at once.

Callbacks are awaited one at a time by the rebalance task: ``on_assigned`` after the claim and before
the caller starts fetching, ``on_revoked`` for lost or released partitions; a released key is deleted
only after ``on_revoked`` returned, so the next owner starts after the state was saved. Renewals run in
a separate task and continue while a callback is slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import KeyWrongLastSequenceError, NoKeysError
from nats.js.kv import KeyValue

__all__ = ["LeaseTimings", "PartitionHandler", "PartitionLeases"]

log = logging.getLogger(__name__)

PartitionHandler = Callable[[frozenset[int]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LeaseTimings:
    """Seconds; the defaults let a surviving worker take over a dead one's partitions within ~15 s."""

    lease_ttl: float = 10.0
    renew_interval: float = 3.0
    member_ttl: float = 10.0
    heartbeat_interval: float = 3.0
    rebalance_interval: float = 2.0
    safety_margin: float = 1.5  # local validity ends this long before the server expires the lease

    def check(self) -> None:
        if not 0 < self.renew_interval < self.lease_ttl - self.safety_margin:
            raise ValueError("renew_interval must be positive and below lease_ttl - safety_margin")
        if not 0 < self.heartbeat_interval < self.member_ttl:
            raise ValueError("heartbeat_interval must be positive and below member_ttl")
        if self.rebalance_interval <= 0 or self.safety_margin < 0:
            raise ValueError("rebalance_interval must be positive, safety_margin not negative")


@dataclass(slots=True)
class _Lease:
    revision: int
    valid_until: float  # time.monotonic()


def _key(p: int) -> str:
    return f"p.{p}"


def _not_cancelled() -> bool:
    """True until the current task is asked to stop; then raise, even if a library swallowed the cancel."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
    return True


def _parse_key(key: str) -> int | None:
    head, _, number = key.partition(".")
    return int(number) if head == "p" and number.isascii() and number.isdigit() and len(number) < 9 else None


class PartitionLeases:
    """Membership and partition leases of one worker (see the module docstring)."""

    def __init__(
        self,
        js: JetStreamContext,
        prefix: str,
        partitions: int,
        worker_id: str,
        timings: LeaseTimings,
        *,
        on_assigned: PartitionHandler,
        on_revoked: PartitionHandler,
        replicas: int = 1,
    ) -> None:
        timings.check()
        self._js, self._prefix, self._partitions = js, prefix, partitions
        self.worker_id = worker_id
        self._t = timings
        self._on_assigned, self._on_revoked = on_assigned, on_revoked
        self._replicas = replicas
        self._leases: dict[int, _Lease] = {}
        self._lost: set[int] = set()
        self._releasing: set[int] = set()
        self._free_since: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._cas = asyncio.Lock()  # renewals and releases of lease keys do not interleave
        self._tasks: list[asyncio.Task[None]] = []
        self._leases_kv: KeyValue | None = None
        self._workers_kv: KeyValue | None = None
        self._order = sorted(range(partitions), key=self._rank)
        self.lost_count = 0

    def _rank(self, p: int) -> bytes:
        return hashlib.blake2b(f"{self.worker_id}/{p}".encode(), digest_size=8).digest()

    # -- public -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Create the buckets if missing, announce this worker and start the lease tasks."""
        self._leases_kv = await self._bucket(f"{self._prefix}_leases", self._t.lease_ttl)
        self._workers_kv = await self._bucket(f"{self._prefix}_workers", self._t.member_ttl)
        await self._heartbeat()
        self._tasks = [
            asyncio.create_task(self._keepalive(), name=f"leases-keepalive-{self.worker_id}"),
            asyncio.create_task(self._rebalance_loop(), name=f"leases-rebalance-{self.worker_id}"),
        ]

    async def stop(self) -> None:
        """Stop rebalancing, revoke every partition (awaiting ``on_revoked``), release keys, leave."""
        keepalive, rebalance = self._tasks or (None, None)
        self._tasks = []
        for task in (rebalance, keepalive):  # leases stay renewed while on_revoked saves state
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if task is rebalance and (self._leases or self._lost):
                await self._revoke(set(self._leases) | self._lost, release=True)
        if self._workers_kv is not None:
            with contextlib.suppress(nats.errors.Error, OSError):
                await self._workers_kv.delete(self.worker_id)

    def holds(self, p: int) -> bool:
        """Whether this worker may fetch partition ``p`` right now."""
        lease = self._leases.get(p)
        return lease is not None and p not in self._releasing and time.monotonic() < lease.valid_until

    @property
    def owned(self) -> frozenset[int]:
        return frozenset(p for p in self._leases if self.holds(p))

    # -- tasks ------------------------------------------------------------------------------------------
    async def _keepalive(self) -> None:
        next_beat = next_renew = time.monotonic()
        while _not_cancelled():
            now = time.monotonic()
            expired = {p for p, lease in self._leases.items() if lease.valid_until <= now}
            if expired:
                log.warning("worker %s: leases of partitions %s expired", self.worker_id, sorted(expired))
                self._drop(expired)
            try:
                if now >= next_beat:
                    next_beat = now + self._t.heartbeat_interval
                    await self._heartbeat()
                if now >= next_renew:
                    next_renew = now + self._t.renew_interval
                    await self._renew()
            except (nats.errors.Error, OSError) as exc:
                log.warning("worker %s: lease keepalive failed: %r", self.worker_id, exc)
            await asyncio.sleep(min(0.5, self._t.renew_interval / 2))

    async def _rebalance_loop(self) -> None:
        while _not_cancelled():
            try:
                if self._lost:
                    lost, self._lost = self._lost, set()
                    await self._revoke(lost, release=False)
                await self._rebalance()
            except (nats.errors.Error, OSError) as exc:
                log.warning("worker %s: rebalance failed: %r", self.worker_id, exc)
            except Exception:  # a failing callback must not end the leases of this worker
                log.exception("worker %s: partition callback failed", self.worker_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._t.rebalance_interval)
            self._wake.clear()

    # -- steps ------------------------------------------------------------------------------------------
    async def _bucket(self, name: str, ttl: float) -> KeyValue:
        config = KeyValueConfig(
            bucket=name, history=1, ttl=ttl, storage=StorageType.FILE, replicas=self._replicas
        )
        return await self._js.create_key_value(config)

    async def _heartbeat(self) -> None:
        assert self._workers_kv is not None
        await self._workers_kv.put(self.worker_id, str(len(self._leases)).encode())

    async def _renew(self) -> None:
        async with self._cas:
            await asyncio.gather(*(self._renew_one(p) for p in list(self._leases)))

    async def _renew_one(self, p: int) -> None:
        assert self._leases_kv is not None
        lease = self._leases.get(p)
        if lease is None:
            return
        sent = time.monotonic()
        try:
            revision = await self._leases_kv.update(_key(p), self.worker_id.encode(), last=lease.revision)
        except KeyWrongLastSequenceError:
            log.warning("worker %s: lease of partition %d was lost", self.worker_id, p)
            self._drop({p})
            return
        if p in self._leases:
            self._leases[p] = _Lease(revision, sent + self._t.lease_ttl - self._t.safety_margin)

    def _drop(self, partitions: Iterable[int]) -> None:
        """Stop using these partitions now; the rebalance task runs ``on_revoked`` soon."""
        for p in partitions:
            if self._leases.pop(p, None) is not None and p not in self._releasing:
                self.lost_count += 1
                self._lost.add(p)
        self._wake.set()

    async def _live_workers(self) -> int:
        assert self._workers_kv is not None
        try:
            members = set(await self._workers_kv.keys())
        except NoKeysError:
            members = set()
        return len(members | {self.worker_id})

    async def _held(self) -> set[int]:
        assert self._leases_kv is not None
        try:
            keys = await self._leases_kv.keys()
        except NoKeysError:
            return set()
        return {p for p in map(_parse_key, keys) if p is not None}

    async def _rebalance(self) -> None:
        share = math.ceil(self._partitions / await self._live_workers())
        held = await self._held()
        now = time.monotonic()
        free = [p for p in self._order if p not in held and p not in self._leases]
        self._free_since = {p: self._free_since.get(p, now) for p in free}
        mine = [p for p in self._order if p in self._leases]
        if len(mine) > share:
            await self._revoke(set(mine[share:]), release=True)
            return
        orphan_after = self._t.member_ttl + self._t.rebalance_interval
        claimed: dict[int, _Lease] = {}
        for p in free:
            if len(mine) + len(claimed) >= share and now - self._free_since[p] < orphan_after:
                continue
            lease = await self._claim(p)
            if lease is not None:
                claimed[p] = lease
        if claimed:
            self._leases.update(claimed)
            log.info("worker %s: assigned partitions %s", self.worker_id, sorted(claimed))
            try:
                await self._on_assigned(frozenset(claimed))
            except Exception:
                log.exception("worker %s: on_assigned failed; partitions released", self.worker_id)
                await self._release(set(claimed))

    async def _claim(self, p: int) -> _Lease | None:
        assert self._leases_kv is not None
        sent = time.monotonic()
        try:
            revision = await self._leases_kv.create(_key(p), self.worker_id.encode())
        except KeyWrongLastSequenceError:
            return None  # another worker was faster
        return _Lease(revision, sent + self._t.lease_ttl - self._t.safety_margin)

    async def _revoke(self, partitions: set[int], *, release: bool) -> None:
        """Run ``on_revoked``; with ``release`` keep renewing meanwhile, then delete the lease keys."""
        self._lost -= partitions
        if not partitions:
            return
        self._releasing |= partitions  # holds() is False from now on; renewals continue
        log.info("worker %s: revoking partitions %s", self.worker_id, sorted(partitions))
        try:
            await self._on_revoked(frozenset(partitions))
        finally:
            self._releasing -= partitions
            if release:
                await self._release(partitions)
            else:
                for p in partitions:
                    self._leases.pop(p, None)

    async def _release(self, partitions: set[int]) -> None:
        """Forget these leases and delete their keys (if still ours), so another worker can claim them."""
        async with self._cas:
            revisions = {p: self._leases.pop(p).revision for p in partitions if p in self._leases}
            if self._leases_kv is not None:
                for p, revision in revisions.items():
                    with contextlib.suppress(nats.errors.Error, OSError):  # it expires anyway
                        await self._leases_kv.delete(_key(p), last=revision)
