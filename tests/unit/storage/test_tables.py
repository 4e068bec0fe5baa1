"""Timestamps come back timezone-aware UTC on every backend; naive ones are refused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import StatementError

from mimamori.storage.tables import new_id, tenants

JST = timezone(timedelta(hours=9))


def test_aware_datetime_round_trips_as_utc(connection: Connection) -> None:
    created = datetime(2026, 4, 1, 18, 30, 15, 123456, tzinfo=JST)
    connection.execute(insert(tenants).values(id="t1", name="x", created_at=created))
    stored = connection.execute(select(tenants.c.created_at)).scalar_one()
    assert stored == created
    assert stored.utcoffset() == timedelta(0)
    assert stored.hour == 9


def test_naive_datetime_is_refused(connection: Connection) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        connection.execute(insert(tenants).values(id="t1", name="x", created_at=datetime(2026, 4, 1)))


def test_new_id_is_short_random_hex() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)
