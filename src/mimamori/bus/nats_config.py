"""Settings and names of the NATS JetStream bus (see :mod:`mimamori.bus.jetstream` for the design)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mimamori.bus.leases import LeaseTimings
from mimamori.errors import ConfigError

__all__ = ["NatsBusConfig"]

_PREFIX = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # valid in subjects, stream, consumer and bucket names


@dataclass(frozen=True, slots=True)
class NatsBusConfig:
    """Everything the NATS bus needs; every process of a deployment must agree on prefix and partitions."""

    url: str = "nats://127.0.0.1:4222"
    prefix: str = "mimamori"
    partitions: int = 16
    # Stream (created if missing, updated to these limits if it exists).
    max_bytes: int = -1  # -1: bounded by max_age and the server's disk (a limit is reserved on the server)
    max_age: float = 3600.0  # seconds a processed batch stays replayable
    discard_new: bool = True  # a full stream pushes back instead of dropping its oldest batches
    replicas: int = 1  # 3 on a NATS cluster: a PubAck then means stored on a quorum of servers
    duplicate_window: float = 120.0  # seconds within which a retried publish (same Nats-Msg-Id) is dropped
    # Publisher.
    max_message_bytes: int = 1024 * 1024  # capped by the server's max_payload
    publish_timeout: float = 5.0
    max_inflight: int = 256  # messages awaiting their PubAck
    retry_initial: float = 0.1
    retry_max: float = 2.0
    # Worker.
    ack_wait: float = 30.0
    max_ack_pending: int = 64  # per partition
    fetch_batch: int = 16
    fetch_timeout: float = 1.0
    buffer: int = 64  # fetched batches held locally before the caller takes them
    leases: LeaseTimings = field(default_factory=LeaseTimings)

    def check(self) -> None:
        """Raise ``ConfigError`` for unusable values."""
        if not _PREFIX.match(self.prefix):
            raise ConfigError("NATS prefix must be 1-64 characters of A-Z a-z 0-9 _ -")
        if not 1 <= self.partitions <= 4096:
            raise ConfigError("partitions must be between 1 and 4096")
        if not 1 <= self.replicas <= 5:
            raise ConfigError("replicas must be between 1 and 5")
        if self.max_message_bytes < 1024 or self.max_inflight < 1 or self.buffer < 1 or self.fetch_batch < 1:
            raise ConfigError("max_message_bytes >= 1024, max_inflight, buffer and fetch_batch >= 1")
        if min(self.publish_timeout, self.ack_wait, self.fetch_timeout, self.retry_initial) <= 0:
            raise ConfigError("timeouts must be positive")
        try:
            self.leases.check()
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc

    @property
    def stream(self) -> str:
        return f"{self.prefix}_raw"

    def subject(self, p: int) -> str:
        return f"{self.prefix}.raw.{p}"

    def durable(self, p: int) -> str:
        return f"{self.prefix}_raw_{p}"
