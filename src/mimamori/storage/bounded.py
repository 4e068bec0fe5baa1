"""Strings cut to their column's declared length before they are written.

PostgreSQL refuses a value longer than a ``VARCHAR(n)`` (the whole statement fails); SQLite stores it. Values
that come from logs (a host name, a detection key) are the attacker's to choose, so on PostgreSQL one long
name would fail its pipeline batch on every redelivery. Repositories that write such values pass their rows
through ``fit``; both backends then store the same, bounded value.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import String, Table


@cache
def _limits(table: Table) -> dict[str, int]:
    return {
        column.name: column.type.length
        for column in table.columns
        if isinstance(column.type, String) and column.type.length
    }


def fit(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with every string value cut to the length of its column in ``table`` (others unchanged)."""
    limits = _limits(table)
    return {
        name: value[: limits[name]] if isinstance(value, str) and name in limits else value
        for name, value in row.items()
    }
