"""Partition leases of the scale-out workers, kept in NATS KV buckets.

Two buckets, both with a per-bucket TTL so that expiry is decided by the server's clock alone:

- ``<prefix>_workers``: one key per live worker, rewritten every ``heartbeat_interval`` with the weight of
  each partition it owns (:mod:`mimamori.bus.balance`: 1 + the records it expects to process for it
  soon); a worker that stops heartbeating disappears after ``member_ttl``.
- ``<prefix>_leases``: key ``p.<n>`` holds the worker id owning partition n. A worker claims a free
  partition with KV *create* (fails if the key exists) and renews it every ``renew_interval`` with
  *update* at the last revision it wrote (compare-and-set); a lease that is not renewed disappears after
  ``lease_ttl`` and becomes free. Key ``h.<n>`` names the worker a partition is being handed to.

Free partitions: a worker claims those handed to it, and others (in a worker-specific rendezvous order,
so workers rarely race for the same key) until it holds ``ceil(P / live workers)``. A partition nobody
took for ``member_ttl + rebalance_interval`` (its hand-over target or the share arithmetic was based on
a dead member) is claimed by anyone. Balance: a worker whose partitions weigh clearly more than the
lightest worker's hands that worker the partitions that even the pair out (:func:`balance.plan_moves`),
and neither within ``2 * heartbeat_interval`` of its last hand-over nor of its last claim, so that the
heartbeats it decides on show the previous move; in an idle cluster this is a split by count.
Locally a lease is valid until ``lease_ttl - safety_margin`` after the renewal request that succeeded
was *sent*, so a worker cut off from NATS stops using a partition before the server lets another worker
take it. A failed CAS means someone else owns it: the lease is dropped at once.

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
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError
from nats.js.kv import KeyValue

from mimamori.bus.balance import decode_weights, encode_weights, plan_moves, valid_worker_id

__all__ = ["LeaseTimings", "PartitionHandler", "PartitionLeases"]

log = logging.getLogger(__name__)

PartitionHandler = Callable[[frozenset[int]], Awaitable[None]]
WorkProbe = Callable[[], Mapping[int, float]]  # records each owned partition will need soon


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


def _hint_key(p: int) -> str:
    return f"h.{p}"


def _parse_key(key: str, head: str = "p") -> int | None:
    first, _, number = key.partition(".")
    ok = first == head and number.isascii() and number.isdigit() and len(number) < 9
    return int(number) if ok else None


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
        work: WorkProbe | None = None,
    ) -> None:
        timings.check()
        self._js, self._prefix, self._partitions = js, prefix, partitions
        self.worker_id = worker_id
        self._t = timings
        self._on_assigned, self._on_revoked = on_assigned, on_revoked
        self._replicas = replicas
        self._work = work
        self._leases: dict[int, _Lease] = {}
        self._acquired: dict[int, float] = {}  # partition -> time.monotonic() of its claim
        self._last_move = float("-inf")
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

    def _weights(self) -> dict[int, float]:
        """This worker's partitions and their weights (1 + expected records)."""
        work = self._work() if self._work is not None else {}
        return {p: 1.0 + max(0.0, work.get(p, 0.0)) for p in self._leases}

    async def _heartbeat(self) -> None:
        assert self._workers_kv is not None
        await self._workers_kv.put(self.worker_id, encode_weights(self._weights()))

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

    async def _members(self) -> dict[str, dict[int, float]]:
        """Every live worker's partitions and weights from its last heartbeat; this worker's are fresh."""
        assert self._workers_kv is not None
        try:
            keys = await self._workers_kv.keys()
        except NoKeysError:
            keys = []
        members: dict[str, dict[int, float]] = {}
        for key in keys:
            if key == self.worker_id or not valid_worker_id(key):
                continue
            try:
                entry = await self._workers_kv.get(key)
            except KeyNotFoundError:
                continue  # left meanwhile
            members[key] = decode_weights(entry.value, self._partitions)
        members[self.worker_id] = self._weights()
        return members

    async def _keys(self, head: str) -> set[int]:
        assert self._leases_kv is not None
        try:
            keys = await self._leases_kv.keys()
        except NoKeysError:
            return set()
        return {p for p in (_parse_key(key, head) for key in keys) if p is not None}

    async def _held(self) -> set[int]:
        return await self._keys("p")

    async def _hints(self) -> dict[int, str]:
        """Partition -> the worker it is being handed to."""
        assert self._leases_kv is not None
        hints: dict[int, str] = {}
        for p in await self._keys("h"):
            with contextlib.suppress(KeyNotFoundError):
                entry = await self._leases_kv.get(_hint_key(p))
                if entry.value:
                    hints[p] = entry.value.decode("ascii", "replace")
        return hints

    async def _rebalance(self) -> None:
        members = await self._members()
        share = math.ceil(self._partitions / len(members))
        held = await self._held()
        now = time.monotonic()
        free = [p for p in self._order if p not in held and p not in self._leases]
        self._free_since = {p: self._free_since.get(p, now) for p in free}
        hints = await self._hints() if free else {}
        orphan_after = self._t.member_ttl + self._t.rebalance_interval
        count = len(self._leases)
        claimed: dict[int, _Lease] = {}
        for p in free:
            target = hints.get(p)
            taken = target in members or count + len(claimed) >= share  # handed to another, or share held
            if target != self.worker_id and taken and now - self._free_since[p] < orphan_after:
                continue
            lease = await self._claim(p)
            if lease is not None:
                claimed[p] = lease
                if target is not None and self._leases_kv is not None:  # the hint has served
                    with contextlib.suppress(nats.errors.Error, OSError):
                        await self._leases_kv.delete(_hint_key(p))
        if claimed:
            self._leases.update(claimed)
            self._acquired.update(dict.fromkeys(claimed, now))
            self._last_move = now  # give nothing away until the heartbeats show the new split
            log.info("worker %s: assigned partitions %s", self.worker_id, sorted(claimed))
            try:
                await self._on_assigned(frozenset(claimed))
            except Exception:
                log.exception("worker %s: on_assigned failed; partitions released", self.worker_id)
                await self._release(set(claimed))
            return
        await self._balance(members, now)

    async def _balance(self, members: dict[str, dict[int, float]], now: float) -> None:
        """Hand partitions to the lightest worker when this one carries clearly more (module doc)."""
        settle = 2 * self._t.heartbeat_interval
        if now - self._last_move < settle:
            return
        movable = set(self._leases)
        moves = plan_moves(self.worker_id, members, movable)
        if not moves:
            return
        assert self._leases_kv is not None
        self._last_move = now
        for p, to in moves:
            await self._leases_kv.put(_hint_key(p), to.encode())
        log.info("worker %s: handing partitions %s over", self.worker_id, moves)
        await self._revoke({p for p, _ in moves}, release=True)

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
                    self._acquired.pop(p, None)

    async def _release(self, partitions: set[int]) -> None:
        """Forget these leases and delete their keys (if still ours), so another worker can claim them."""
        async with self._cas:
            revisions = {p: self._leases.pop(p).revision for p in partitions if p in self._leases}
            for p in partitions:
                self._acquired.pop(p, None)
            if self._leases_kv is not None:
                for p, revision in revisions.items():
                    with contextlib.suppress(nats.errors.Error, OSError):  # it expires anyway
                        await self._leases_kv.delete(_key(p), last=revision)
