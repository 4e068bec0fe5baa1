"""The quarantine: raw records their parser refused, kept with the reason for the provider to inspect."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from sqlalchemy import Connection, func, insert, select

from mimamori.domain.models import QuarantinedRecord
from mimamori.storage.scoping import scoped
from mimamori.storage.tables import new_id, quarantine

MAX_DATA_BYTES = 64 * 1024  # enough to diagnose a parser; a flood of huge junk must not fill the database


class QuarantineRepository:
    """Quarantined records on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add_many(self, items: Sequence[QuarantinedRecord]) -> None:
        """Store a batch in one ``executemany``; ``data`` beyond 64 KiB is cut off."""
        if not items:
            return
        rows = [
            {
                "id": new_id(),
                "tenant_id": item.tenant_id,
                "sensor_id": item.sensor_id,
                "format": item.format,
                "reason": item.reason,
                "data": bytes(item.data[:MAX_DATA_BYTES]),
                "received_at": item.received_at,
            }
            for item in items
        ]
        self._connection.execute(insert(quarantine), rows)

    def list(self, tenant_id: str, limit: int = 100) -> builtins.list[QuarantinedRecord]:
        """The tenant's newest quarantined records first."""
        query = (
            select(quarantine)
            .where(scoped(quarantine, tenant_id))
            .order_by(quarantine.c.received_at.desc(), quarantine.c.id)
            .limit(limit)
        )
        return [
            QuarantinedRecord(
                tenant_id=row.tenant_id,
                sensor_id=row.sensor_id,
                format=row.format,
                reason=row.reason,
                data=bytes(row.data),
                received_at=row.received_at,
            )
            for row in self._connection.execute(query)
        ]

    def count(self, tenant_id: str) -> int:
        """How many records of the tenant are in quarantine."""
        query = select(func.count()).select_from(quarantine).where(scoped(quarantine, tenant_id))
        return int(self._connection.execute(query).scalar_one())
