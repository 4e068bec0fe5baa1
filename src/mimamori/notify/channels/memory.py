"""An in-memory channel: the product's own fake, for tests and ``mimamori notify test --dry-run`` style use.

It keeps every delivery it accepted and can be told to fail: ``failures`` is a queue of ``DeliveryError``
(or None for success) consumed one per ``send``. Not in ``CHANNELS``: construct it with the channel name it
stands in for.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from mimamori.errors import DeliveryError
from mimamori.notify.message import ChannelName, Delivery


class MemoryChannel:
    """Records deliveries instead of sending them."""

    def __init__(
        self, name: ChannelName = ChannelName.EMAIL, failures: Iterable[DeliveryError | None] = ()
    ) -> None:
        self.name = name
        self.sent: list[Delivery] = []
        self.failures: list[DeliveryError | None] = list(failures)
        self.closed = False
        self._lock = threading.Lock()

    def send(self, delivery: Delivery) -> str:
        with self._lock:
            failure = self.failures.pop(0) if self.failures else None
            if failure is not None:
                raise failure
            self.sent.append(delivery)
            return f"stored #{len(self.sent)}"

    def close(self) -> None:
        self.closed = True

    def keys(self) -> list[str]:
        """The idempotency keys accepted, in order (duplicates show up twice)."""
        with self._lock:
            return [d.idempotency_key for d in self.sent]
