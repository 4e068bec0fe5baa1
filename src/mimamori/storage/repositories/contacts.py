"""A tenant's contacts and the provider's on-call rota (who notifications go to)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from mimamori.domain import Contact, OnCallShift
from mimamori.errors import NotFoundError
from mimamori.storage.repositories.tenants import TenantRepository
from mimamori.storage.scoping import found, scoped
from mimamori.storage.tables import new_id, utcnow
from mimamori.storage.tables_notify import contacts, oncall_shifts

CONTACT_FIELDS = (
    "name",
    "role",
    "language",
    "email",
    "phone",
    "channels",
    "endpoints",
    "hours",
    "priority",
    "active",
)


class ContactRepository:
    """Contacts on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, tenant_id: str, values: Mapping[str, Any]) -> Contact:
        if not TenantRepository(self._connection).exists(tenant_id):
            raise NotFoundError(f"tenant {tenant_id} not found")
        row = {k: values[k] for k in CONTACT_FIELDS if k in values}
        statement = (
            insert(contacts)
            .values(**row, id=new_id(), tenant_id=tenant_id, created_at=utcnow())
            .returning(*contacts.c)
        )
        return _contact(self._connection.execute(statement).one()._mapping)

    def get(self, tenant_id: str, contact_id: str) -> Contact:
        query = select(contacts).where(scoped(contacts, tenant_id), contacts.c.id == contact_id)
        return _contact(found(self._connection.execute(query).first(), "contact", contact_id))

    def list(self, tenant_id: str, *, active_only: bool = False) -> builtins.list[Contact]:
        """The tenant's contacts, first-told first."""
        query = select(contacts).where(scoped(contacts, tenant_id))
        if active_only:
            query = query.where(contacts.c.active.is_(True))
        query = query.order_by(contacts.c.priority, contacts.c.created_at, contacts.c.id)
        return [_contact(row._mapping) for row in self._connection.execute(query)]

    def update(self, tenant_id: str, contact_id: str, values: Mapping[str, Any]) -> Contact:
        changes = {k: values[k] for k in CONTACT_FIELDS if k in values}
        statement = (
            update(contacts)
            .where(scoped(contacts, tenant_id), contacts.c.id == contact_id)
            .values(**changes)
            .returning(*contacts.c)
        )
        return _contact(found(self._connection.execute(statement).first(), "contact", contact_id))

    def remove(self, tenant_id: str, contact_id: str) -> None:
        statement = delete(contacts).where(scoped(contacts, tenant_id), contacts.c.id == contact_id)
        if self._connection.execute(statement).rowcount == 0:
            raise NotFoundError(f"contact {contact_id} not found")


class OnCallRepository:
    """The provider's on-call shifts (provider-wide: no tenant)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, values: Mapping[str, Any]) -> OnCallShift:
        statement = (
            insert(oncall_shifts)
            .values(**values, id=new_id(), created_at=utcnow())
            .returning(*oncall_shifts.c)
        )
        return _shift(self._connection.execute(statement).one()._mapping)

    def at(self, now: datetime) -> builtins.list[OnCallShift]:
        """The shifts covering ``now``, primary first."""
        query = (
            select(oncall_shifts)
            .where(oncall_shifts.c.starts_at <= now, oncall_shifts.c.ends_at > now)
            .order_by(oncall_shifts.c.level, oncall_shifts.c.starts_at, oncall_shifts.c.id)
        )
        return [_shift(row._mapping) for row in self._connection.execute(query)]

    def list(self, *, ending_after: datetime | None = None) -> builtins.list[OnCallShift]:
        query = select(oncall_shifts)
        if ending_after is not None:
            query = query.where(oncall_shifts.c.ends_at > ending_after)
        query = query.order_by(oncall_shifts.c.starts_at, oncall_shifts.c.level, oncall_shifts.c.id)
        return [_shift(row._mapping) for row in self._connection.execute(query)]

    def remove(self, shift_id: str) -> None:
        if (
            self._connection.execute(delete(oncall_shifts).where(oncall_shifts.c.id == shift_id)).rowcount
            == 0
        ):
            raise NotFoundError(f"on-call shift {shift_id} not found")


def _contact(row: RowMapping) -> Contact:
    return Contact(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        role=row["role"],
        language=row["language"],
        email=row["email"],
        phone=row["phone"],
        channels=tuple(row["channels"] or ()),
        endpoints=dict(row["endpoints"] or {}),
        hours=row["hours"],
        priority=row["priority"],
        active=row["active"],
    )


def _shift(row: RowMapping) -> OnCallShift:
    return OnCallShift(
        id=row["id"],
        name=row["name"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        level=row["level"],
        language=row["language"],
        email=row["email"],
        phone=row["phone"],
        channels=tuple(row["channels"] or ()),
        endpoints=dict(row["endpoints"] or {}),
    )
