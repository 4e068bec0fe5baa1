"""A small shared state store on the JetStream object store ``<prefix>_state``.

Workers save per-partition detector state there when a partition is revoked and load it when it is
assigned, so stateful detectors continue where the previous owner stopped. Objects are chunked by the
object store (snapshots of several MB are fine) and checked with their SHA-256 digest on read; a ``put``
replaces the previous value of a name (readers see the old or the new value, never a mix).
"""

from __future__ import annotations

import logging

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.errors import DigestMismatchError, ObjectDeletedError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

__all__ = ["NatsStateStore"]

log = logging.getLogger(__name__)


class NatsStateStore:
    """``put``/``get``/``delete`` of named byte strings, shared by every process of a deployment."""

    def __init__(self, js: JetStreamContext, prefix: str, *, replicas: int = 1) -> None:
        self._js, self._replicas = js, replicas
        self.bucket = f"{prefix}_state"
        self._store: ObjectStore | None = None

    async def start(self) -> None:
        """Create the bucket if missing (file storage)."""
        config = ObjectStoreConfig(bucket=self.bucket, storage=StorageType.FILE, replicas=self._replicas)
        self._store = await self._js.create_object_store(self.bucket, config)

    def _bucket(self) -> ObjectStore:
        if self._store is None:
            raise RuntimeError("NatsStateStore is not started")
        return self._store

    async def put(self, name: str, data: bytes) -> None:
        """Store ``data`` under ``name``, replacing any previous value."""
        await self._bucket().put(name, data)

    async def get(self, name: str) -> bytes | None:
        """The value stored under ``name``, or None if there is none."""
        for attempt in range(3):
            try:
                result = await self._bucket().get(name)
            except (ObjectNotFoundError, ObjectDeletedError):
                return None
            except DigestMismatchError:  # read while a put replaced it: read again
                log.warning("state %s changed while being read (attempt %d)", name, attempt + 1)
                continue
            return bytes(result.data or b"")
        raise nats.errors.Error(f"state {name!r} could not be read consistently")

    async def delete(self, name: str) -> None:
        """Remove ``name`` (no error if it does not exist)."""
        try:
            await self._bucket().delete(name)
        except (ObjectNotFoundError, ObjectDeletedError):
            return
