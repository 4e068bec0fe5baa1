"""The bus seam between receivers and pipeline workers.

Two implementations share this interface: the embedded one (bounded in-process queue + on-disk spool) and,
in the scale-out issue, NATS JetStream (subject ``raw.<partition>``). Receivers ``publish`` batches of
RawRecords; a worker iterates ``deliveries()`` and calls ``ack()`` only after the batch's results are
committed. Until then a delivery survives a crash and is delivered again (at-least-once; alert
fingerprints make a replay idempotent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from mimamori.domain import RawRecord


class Delivery(Protocol):
    """One published batch handed to a worker."""

    @property
    def records(self) -> Sequence[RawRecord]: ...

    @property
    def redelivered(self) -> bool: ...

    async def ack(self) -> None:
        """The batch's results are committed: forget it (remove it from the spool / ack the stream)."""
        ...


class Bus(Protocol):
    """Durable, bounded, batch-oriented transport of RawRecords."""

    async def start(self) -> None:
        """Open the spool/connection and queue up anything not acknowledged before a crash."""
        ...

    async def publish(self, records: Sequence[RawRecord], *, wait: bool = True) -> None:
        """Make the batch durable, then queue it.

        With ``wait=True`` the call blocks while the queue is full (a TCP receiver stops reading);
        with ``wait=False`` it raises ``BackpressureError`` instead (HTTP answers 429).
        When it returns, the records survive a crash of this process.
        """
        ...

    def deliveries(self) -> AsyncIterator[Delivery]:
        """Batches in publish order (redeliveries of unacknowledged batches first)."""
        ...

    def depth(self) -> int:
        """Batches waiting to be processed (for metrics and /readyz)."""
        ...

    async def close(self) -> None: ...
