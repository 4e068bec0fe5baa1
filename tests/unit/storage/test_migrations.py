"""The Alembic migrations produce exactly the metadata in ``tables.py``, on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from mimamori.storage import Database
from mimamori.storage.db import alembic_config
from mimamori.storage.tables import metadata


def test_migrations_match_metadata(migrated_database: Database) -> None:
    with migrated_database.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, metadata) == []


def test_single_head_and_runs_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the packaged migrations must not depend on the CWD
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1  # one line of history, no branches
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        db.migrate()
        with db.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {*metadata.tables, "alembic_version"}
    finally:
        db.dispose()


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'updown.db'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
