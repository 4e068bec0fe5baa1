"""The private PostgreSQL server of the fault tests (``tests/support/pg_server.py``) really is one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.conftest import require_service
from tests.support.pg_server import PgServer, find_binaries

from mimamori.services import tenants
from mimamori.storage import Database, read_only


@pytest.fixture
def server() -> Iterator[PgServer]:
    if find_binaries() is None:
        require_service("postgresql server binaries", "initdb/pg_ctl/postgres not found")
    with PgServer.create() as pg:
        yield pg


def test_schema_and_data_survive_a_restart_and_a_kill(server: PgServer) -> None:
    assert server.port != 5432
    db = Database(server.url())
    try:
        db.migrate()
        tenant = tenants.add_tenant(db, "再起動テスト")
        server.restart()
        with read_only(db) as uow:  # the pool's connections died with the server: pre-ping replaces them
            assert [t.id for t in uow.tenants.list()] == [tenant.id]
        server.kill()
        assert server.pid is None
        server.start()
        with db.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM tenants")).scalar_one() == 1
    finally:
        db.dispose()


def test_close_stops_the_server_and_removes_its_directory() -> None:
    if find_binaries() is None:
        require_service("postgresql server binaries", "initdb/pg_ctl/postgres not found")
    server = PgServer.create()
    pid, root = server.pid, server.root
    assert pid is not None
    assert Path(root, "data", "PG_VERSION").exists()
    server.close()
    server.close()  # twice is harmless
    assert server.pid is None
    assert not root.exists()
    assert not Database(server.url(connect_timeout=1)).ping()
