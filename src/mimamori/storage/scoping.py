"""The one place that writes the tenant filter (ARCHITECTURE §4.4).

Every repository query on tenant-owned data filters through ``scoped`` (or ``scoped_any`` for a provider
view over several tenants, or ``scoped_in``/``scoped_param`` for a statement built once and executed with
its tenants as parameters, checked by ``tenant_list``); no repository spells ``table.c.tenant_id == ...``
itself, so a review (or a grep) finds every exception, and the few provider-wide reads are separately
named methods. A missing or empty tenant id is a programming error and fails loudly instead of turning
into ``tenant_id IS NULL``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Row, RowMapping, Table, bindparam, false

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


def tenant_list(tenant_ids: Iterable[str]) -> list[str]:
    """``tenant_ids`` sorted and unique, each checked as ``scoped`` checks one (the parameter of a statement
    built with ``scoped_in`` or ``scoped_param``)."""
    ids = sorted(set(tenant_ids))
    if not all(isinstance(tenant_id, str) and tenant_id for tenant_id in ids):
        raise ValueError(f"tenant ids must be non-empty strings, got {ids!r}")
    return ids


def scoped_in(table: Table, name: str) -> ColumnElement[bool]:
    """``tenant_id IN :name`` for a statement built once: bind ``name`` to ``tenant_list(...)``, which is
    never empty when there is anything to ask (callers return early otherwise)."""
    column: ColumnElement[Any] = table.c.tenant_id
    return column.in_(bindparam(name, expanding=True))


def scoped_param(table: Table, name: str) -> ColumnElement[bool]:
    """``tenant_id = :name`` for a statement built once and executed with many parameter sets (each row's
    tenant checked by ``tenant_list`` first)."""
    column: ColumnElement[Any] = table.c.tenant_id
    parameter: BindParameter[Any] = bindparam(name, type_=column.type)
    return column == parameter
