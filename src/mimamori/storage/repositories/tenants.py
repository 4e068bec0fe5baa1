"""Tenants (the SME customers): the root of every scoped query, and provider-wide by nature."""

from __future__ import annotations

import builtins

from sqlalchemy import Connection, RowMapping, insert, select

from mimamori.domain.models import Tenant
from mimamori.errors import ValidationError
from mimamori.storage.scoping import found
from mimamori.storage.tables import new_id, tenants, utcnow


class TenantRepository:
    """Create, get and list tenants on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, name: str) -> Tenant:
        """Create a tenant with a fresh id."""
        name = name.strip()
        if not name:
            raise ValidationError("a tenant needs a name")
        tenant = Tenant(id=new_id(), name=name, created_at=utcnow())
        self._connection.execute(
            insert(tenants).values(id=tenant.id, name=name, created_at=tenant.created_at)
        )
        return tenant

    def get(self, tenant_id: str) -> Tenant:
        """The tenant, or NotFoundError."""
        row = self._connection.execute(select(tenants).where(tenants.c.id == tenant_id)).first()
        return _tenant(found(row, "tenant", tenant_id))

    def exists(self, tenant_id: str) -> bool:
        """Whether the tenant exists (cheaper than ``get`` for validation)."""
        query = select(tenants.c.id).where(tenants.c.id == tenant_id)
        return self._connection.execute(query).first() is not None

    def list(self) -> builtins.list[Tenant]:
        """Every tenant, by name (a provider-wide read: only provider staff see this list)."""
        rows = self._connection.execute(select(tenants).order_by(tenants.c.name, tenants.c.id))
        return [_tenant(row._mapping) for row in rows]


def _tenant(row: RowMapping) -> Tenant:
    return Tenant(id=row["id"], name=row["name"], created_at=row["created_at"])
