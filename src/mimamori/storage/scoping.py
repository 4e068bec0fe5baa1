"""The one place that writes the tenant filter (ARCHITECTURE §4.4).

Every repository query on tenant-owned data filters through ``scoped`` (or ``scoped_any`` for a provider
view over several tenants); no repository spells ``table.c.tenant_id == ...`` itself, so a review (or a grep)
finds every exception, and the few provider-wide reads are separately named methods. A missing or empty
tenant id is a programming error and fails loudly instead of turning into ``tenant_id IS NULL``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Row, RowMapping, Table, false

from mimamori.errors import NotFoundError


def scoped(table: Table, tenant_id: str) -> ColumnElement[bool]:
    """The WHERE clause restricting ``table`` to one tenant's rows."""
    if not isinstance(tenant_id, str) or not tenant_id:
        raise ValueError(f"a tenant id is required to query {table.name}, got {tenant_id!r}")
    column: ColumnElement[Any] = table.c.tenant_id
    return column == tenant_id


def found(row: Row[*tuple[Any, ...]] | None, what: str, object_id: str) -> RowMapping:
    """The row's mapping, or NotFoundError: a missing object and another tenant's look exactly the same."""
    if row is None:
        raise NotFoundError(f"{what} {object_id} not found")
    return row._mapping


def scoped_any(table: Table, tenant_ids: Collection[str]) -> ColumnElement[bool]:
    """The WHERE clause restricting ``table`` to a set of tenants (a provider view filtered by customer).

    An empty set matches nothing, never everything.
    """
    ids = sorted(set(tenant_ids))
    if not all(isinstance(tenant_id, str) and tenant_id for tenant_id in ids):
        raise ValueError(f"tenant ids must be non-empty strings, got {ids!r}")
    column: ColumnElement[Any] = table.c.tenant_id
    return column.in_(ids) if ids else false()
