"""Backend-specific SQL the repositories need, chosen from the connection's dialect in one place.

Upserts use the native ``INSERT ... ON CONFLICT`` of SQLite and PostgreSQL (same syntax, separate SQLAlchemy
constructs), never SELECT-then-INSERT, which races between two pipeline workers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Table, func
from sqlalchemy.dialects import postgresql, sqlite

Insert = postgresql.Insert | sqlite.Insert
_T = TypeVar("_T")


def insert_for(connection: Connection, table: Table) -> Insert:
    """An INSERT with ``on_conflict_do_nothing``/``on_conflict_do_update`` for the connection's backend."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    if connection.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported database backend {connection.dialect.name!r}")


def greatest(
    connection: Connection, left: ColumnElement[Any], right: ColumnElement[Any]
) -> ColumnElement[Any]:
    """The larger of two non-null values: ``GREATEST`` on PostgreSQL, two-argument ``max`` on SQLite."""
    if connection.dialect.name == "postgresql":
        return func.greatest(left, right, type_=left.type)
    return func.max(left, right, type_=left.type)


def least(connection: Connection, left: ColumnElement[Any], right: ColumnElement[Any]) -> ColumnElement[Any]:
    """The smaller of two non-null values: ``LEAST`` on PostgreSQL, two-argument ``min`` on SQLite."""
    if connection.dialect.name == "postgresql":
        return func.least(left, right, type_=left.type)
    return func.min(left, right, type_=left.type)


def built_once(cache: dict[str, Any], connection: Connection, build: Callable[[Connection], _T]) -> _T:
    """``build(connection)`` for the connection's backend, built on first use and kept in ``cache`` (for
    hot statements that differ by backend: building a statement costs more than running it)."""
    name = connection.dialect.name
    statement: _T | None = cache.get(name)
    if statement is None:
        statement = cache[name] = build(connection)
    return statement
