"""Per-tenant settings documents (JSON), one per (tenant, name), e.g. ``"sigma"``.

The services own the documents' shape; this repository only stores, replaces and lists them. ``all_of``
is the one provider-wide read: the detection engine loads every tenant's settings at start and on reload.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select

from mimamori.storage.dialect import insert_for
from mimamori.storage.scoping import scoped, scoped_in, scoped_param, tenant_list
from mimamori.storage.tables import tenant_settings, utcnow

# Built once: the notifier reads a tenant's policy in every round that routes its alerts.
_GET = select(tenant_settings.c.value).where(
    scoped_param(tenant_settings, "b_tenant"), tenant_settings.c.name == bindparam("b_name")
)

_GET_MANY = select(tenant_settings.c.tenant_id, tenant_settings.c.value).where(
    scoped_in(tenant_settings, "tenants"), tenant_settings.c.name == bindparam("b_name")
)


class SettingsRepository:
    """Settings rows on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, tenant_id: str, name: str) -> dict[str, Any] | None:
        """The tenant's document ``name``, or None when it was never set."""
        (tenant,) = tenant_list([tenant_id])
        value = self._connection.execute(_GET, {"b_tenant": tenant, "b_name": name}).scalar_one_or_none()
        return dict(value) if isinstance(value, dict) else None

    def get_many(self, tenant_ids: Collection[str], name: str) -> dict[str, dict[str, Any] | None]:
        """Provider-side: the document ``name`` of each of ``tenant_ids`` (None where never set)."""
        found: dict[str, dict[str, Any] | None] = dict.fromkeys(tenant_ids)
        if found:
            params = {"tenants": tenant_list(found), "b_name": name}
            for row in self._connection.execute(_GET_MANY, params):
                found[row.tenant_id] = dict(row.value) if isinstance(row.value, dict) else None
        return found

    def put(self, tenant_id: str, name: str, value: dict[str, Any]) -> None:
        """Create or replace the tenant's document ``name``."""
        statement = insert_for(self._connection, tenant_settings).values(
            tenant_id=tenant_id, name=name, value=value, updated_at=utcnow()
        )
        statement = statement.on_conflict_do_update(
            index_elements=["tenant_id", "name"],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
        )
        self._connection.execute(statement)

    def remove(self, tenant_id: str, name: str) -> bool:
        """Drop the tenant's document ``name``; False when there was none."""
        statement = delete(tenant_settings).where(
            scoped(tenant_settings, tenant_id), tenant_settings.c.name == name
        )
        return self._connection.execute(statement).rowcount == 1

    def all_of(self, name: str) -> dict[str, dict[str, Any]]:
        """Provider-wide: every tenant's document ``name``, by tenant id."""
        query = select(tenant_settings.c.tenant_id, tenant_settings.c.value).where(
            tenant_settings.c.name == name
        )
        return {row.tenant_id: dict(row.value) for row in self._connection.execute(query)}
