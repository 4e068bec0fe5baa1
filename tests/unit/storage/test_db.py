"""Database: URL handling, SQLite tuning, transaction scopes, ping."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError

from mimamori.storage import Database
from mimamori.storage.db import alembic_config, normalise_url
from mimamori.storage.tables import tenants, utcnow


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_normalise_url_selects_psycopg3(given: str, driver: str) -> None:
    assert normalise_url(given).drivername == driver


def test_sqlite_creates_parent_directory_and_tunes_pragmas(tmp_sqlite_url: str) -> None:
    db = Database(tmp_sqlite_url)
    try:
        assert Path(tmp_sqlite_url.removeprefix("sqlite:///")).parent.is_dir()
        with db.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        assert pragma == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 10_000}
    finally:
        db.dispose()


def test_transaction_commits_on_success_and_rolls_back_on_error(database: Database) -> None:
    with database.transaction() as conn:
        conn.execute(insert(tenants).values(id="t-ok", name="ok", created_at=utcnow()))
    with pytest.raises(RuntimeError), database.transaction() as conn:  # noqa: PT012 - raise inside the scope
        conn.execute(insert(tenants).values(id="t-bad", name="bad", created_at=utcnow()))
        raise RuntimeError("boom")
    with database.connect() as conn:
        assert conn.execute(select(tenants.c.id)).scalars().all() == ["t-ok"]


def test_connect_is_read_only_and_leaves_the_pool_writable(database: Database) -> None:
    with pytest.raises(DBAPIError), database.connect() as conn:
        conn.execute(insert(tenants).values(id="t-ro", name="ro", created_at=utcnow()))
    with database.transaction() as conn:  # the same pooled connection must be writable again
        conn.execute(insert(tenants).values(id="t-rw", name="rw", created_at=utcnow()))
    with database.connect() as conn:
        assert conn.execute(select(tenants.c.id)).scalars().all() == ["t-rw"]


def test_ping(database: Database, tmp_path: Path) -> None:
    assert database.ping()
    unreachable = Database("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    assert not unreachable.ping()
    unreachable.dispose()


def test_migrate_twice_is_a_no_op(database: Database) -> None:
    database.migrate()
    with database.connect() as conn:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head


def test_connect_sees_one_snapshot(database: Database) -> None:
    with database.connect() as reader:
        assert reader.execute(select(tenants.c.id)).all() == []
        with database.transaction() as writer:
            writer.execute(insert(tenants).values(id="t-new", name="new", created_at=utcnow()))
        assert reader.execute(select(tenants.c.id)).all() == []  # still the snapshot taken at first read
    with database.connect() as reader:
        assert reader.execute(select(tenants.c.id)).scalars().all() == ["t-new"]
