"""The notification outbox: messages written in the same transaction as the alerts that caused them.

A sender process drains ``pending`` and marks each message sent; the idempotency key makes a replayed
pipeline batch (after a crash, or a NATS redelivery) enqueue nothing twice.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, select, update

from mimamori.errors import NotFoundError
from mimamori.storage.dialect import insert_for
from mimamori.storage.scoping import scoped
from mimamori.storage.tables import new_id, outbox, utcnow

# Built once: the notifier runs these on every round.
_PENDING = (
    select(outbox)
    .where(outbox.c.sent_at.is_(None))
    .order_by(outbox.c.created_at, outbox.c.id)
    .limit(bindparam("limit"))
)
_MARK_SENT = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("ids", expanding=True)), outbox.c.sent_at.is_(None))
    .values(sent_at=bindparam("at", type_=outbox.c.sent_at.type), attempts=outbox.c.attempts + 1)
)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One notification waiting to be sent (or sent, when ``sent_at`` is set)."""

    id: str
    tenant_id: str
    alert_id: str | None
    kind: str
    payload: Mapping[str, Any]
    created_at: datetime
    idempotency_key: str
    attempts: int = 0
    sent_at: datetime | None = None


class OutboxRepository:
    """The outbox on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(
        self,
        tenant_id: str,
        alert_id: str | None,
        kind: str,
        payload: Mapping[str, Any],
        idempotency_key: str,
    ) -> bool:
        """Enqueue a message; returns False (and changes nothing) if ``idempotency_key`` is already queued."""
        scoped(outbox, tenant_id)  # validates the tenant id like every other tenant-owned write
        statement = (
            insert_for(self._connection, outbox)
            .values(
                id=new_id(),
                tenant_id=tenant_id,
                alert_id=alert_id,
                kind=kind,
                payload=dict(payload),
                created_at=utcnow(),
                attempts=0,
                idempotency_key=idempotency_key,
            )
            .on_conflict_do_nothing(index_elements=[outbox.c.idempotency_key])
            .returning(outbox.c.id)
        )
        return self._connection.execute(statement).first() is not None

    def pending(self, limit: int = 100) -> builtins.list[OutboxMessage]:
        """Provider-wide: unsent messages of every tenant, oldest first (the sender works for all tenants)."""
        return [_message(row._mapping) for row in self._connection.execute(_PENDING, {"limit": limit})]

    def list(self, tenant_id: str, limit: int = 100) -> builtins.list[OutboxMessage]:
        """The tenant's messages, newest first (what was sent to this customer)."""
        query = (
            select(outbox)
            .where(scoped(outbox, tenant_id))
            .order_by(outbox.c.created_at.desc(), outbox.c.id)
            .limit(limit)
        )
        return [_message(row._mapping) for row in self._connection.execute(query)]

    def mark_sent(self, message_id: str) -> None:
        """Record a successful delivery, so the message is no longer pending."""
        self._update(message_id, sent_at=utcnow(), attempts=outbox.c.attempts + 1)

    def mark_sent_many(self, message_ids: Collection[str]) -> int:
        """``mark_sent`` for the pending ones among ``message_ids``, in one statement; returns how many."""
        if not message_ids:
            return 0
        values = {"ids": sorted(set(message_ids)), "at": utcnow()}
        return int(self._connection.execute(_MARK_SENT, values).rowcount)

    def mark_failed(self, message_id: str) -> None:
        """Record a failed delivery attempt; the message stays pending (escalation reads ``attempts``)."""
        self._update(message_id, attempts=outbox.c.attempts + 1)

    def _update(self, message_id: str, **values: Any) -> None:
        result = self._connection.execute(update(outbox).where(outbox.c.id == message_id).values(**values))
        if result.rowcount == 0:
            raise NotFoundError(f"outbox message {message_id} not found")


def _message(row: RowMapping) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        tenant_id=row["tenant_id"],
        alert_id=row["alert_id"],
        kind=row["kind"],
        payload=row["payload"],
        created_at=row["created_at"],
        idempotency_key=row["idempotency_key"],
        attempts=row["attempts"],
        sent_at=row["sent_at"],
    )
