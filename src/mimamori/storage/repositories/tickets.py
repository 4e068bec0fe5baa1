"""Tickets of the SME portal (相談する / 駆け付けを依頼); tenant-scoped, plus one provider-wide read."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from mimamori.errors import NotFoundError
from mimamori.storage.repositories.tenants import TenantRepository
from mimamori.storage.scoping import found, scoped
from mimamori.storage.tables import new_id, utcnow
from mimamori.storage.tables_tickets import tickets

TICKET_FIELDS = (
    "kind",
    "incident_id",
    "requester_id",
    "requester_name",
    "message",
    "phone",
    "preferred_time",
)


@dataclass(frozen=True, slots=True)
class TicketRow:
    """One ticket as stored."""

    id: str
    tenant_id: str
    kind: str
    incident_id: str | None
    requester_id: str | None
    requester_name: str
    message: str
    phone: str | None
    preferred_time: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    updated_by: str | None


class TicketRepository:
    """Tickets on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, tenant_id: str, values: Mapping[str, Any]) -> TicketRow:
        if not TenantRepository(self._connection).exists(tenant_id):
            raise NotFoundError(f"tenant {tenant_id} not found")
        now = utcnow()
        row = {k: values.get(k) for k in TICKET_FIELDS}
        statement = (
            insert(tickets)
            .values(**row, id=new_id(), tenant_id=tenant_id, status="open", created_at=now, updated_at=now)
            .returning(*tickets.c)
        )
        return _ticket(self._connection.execute(statement).one()._mapping)

    def get(self, tenant_id: str, ticket_id: str) -> TicketRow:
        query = select(tickets).where(scoped(tickets, tenant_id), tickets.c.id == ticket_id)
        return _ticket(found(self._connection.execute(query).first(), "ticket", ticket_id))

    def list(
        self, tenant_id: str, *, status: str | None = None, limit: int = 100
    ) -> builtins.list[TicketRow]:
        """The tenant's tickets, newest first."""
        query = select(tickets).where(scoped(tickets, tenant_id))
        if status is not None:
            query = query.where(tickets.c.status == status)
        query = query.order_by(tickets.c.created_at.desc(), tickets.c.id).limit(limit)
        return [_ticket(row._mapping) for row in self._connection.execute(query)]

    def list_across_tenants(
        self, *, statuses: tuple[str, ...] | None = None, limit: int = 200
    ) -> builtins.list[TicketRow]:
        """Provider-wide: tickets of every tenant, oldest first (the one waiting longest on top)."""
        query = select(tickets)
        if statuses is not None:
            query = query.where(tickets.c.status.in_(statuses))
        query = query.order_by(tickets.c.created_at, tickets.c.id).limit(limit)
        return [_ticket(row._mapping) for row in self._connection.execute(query)]

    def set_status(self, tenant_id: str, ticket_id: str, status: str, by: str) -> TicketRow:
        statement = (
            update(tickets)
            .where(scoped(tickets, tenant_id), tickets.c.id == ticket_id)
            .values(status=status, updated_at=utcnow(), updated_by=by)
            .returning(*tickets.c)
        )
        return _ticket(found(self._connection.execute(statement).first(), "ticket", ticket_id))


def _ticket(row: RowMapping) -> TicketRow:
    return TicketRow(**{f.name: row[f.name] for f in fields(TicketRow)})
