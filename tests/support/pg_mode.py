"""PostgreSQL mode of the test suite (``MIMAMORI_TEST_DATABASE=postgresql``, docs/testing-postgres.md).

Every test that takes the operational database from the settings or the environment (``Settings.db_url``,
``open_database``, ``operational_url``) then runs on a fresh PostgreSQL database instead of a SQLite file:

- once per session, a template database is created and migrated on the server of ``MIMAMORI_TEST_PG_URL``;
- each test module gets its own copy (``CREATE DATABASE ... TEMPLATE``, a few tens of milliseconds), so
  module-scoped fixtures see PostgreSQL too;
- each test that uses ``tmp_path`` (the mark of a test that builds its own ``Settings``) gets a copy of its own;
- ``MIMAMORI_DATABASE_URL`` names the copy while it is in use (subprocesses inherit it), and the copy is
  dropped ``WITH (FORCE)`` afterwards by a background thread, so a test never waits for the drop.

The fixtures for the storage tests (``connection``, ``database``) keep their SQLite/PostgreSQL parametrisation.
"""

from __future__ import annotations

import queue
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest
from sqlalchemy.engine import URL, make_url

from mimamori.storage import Database

MODE_VARIABLE = "MIMAMORI_TEST_DATABASE"
MODES = ("sqlite", "postgresql")
URL_VARIABLE = "MIMAMORI_DATABASE_URL"
PREFIX = "mimamori_t_"  # every database this module creates starts with it
_STOP = ""


class PgDatabases:
    """Copies of one migrated template database on the server of ``url``; dropped in a background thread."""

    def __init__(self, url: str, require: Callable[[str, str], NoReturn]) -> None:
        import psycopg

        self._base = make_url(url).set(drivername="postgresql+psycopg")
        dsn = self._base.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            self._admin: Any = psycopg.connect(dsn, autocommit=True, connect_timeout=3)
            self._dropper: Any = psycopg.connect(dsn, autocommit=True, connect_timeout=3)
        except psycopg.OperationalError as error:
            require("PostgreSQL", f"{self._base.render_as_string()}: {' '.join(str(error).split())}")
        self.template = f"{PREFIX}tpl_{secrets.token_hex(4)}"
        self._admin.execute(f'CREATE DATABASE "{self.template}"')
        database = Database(self.url(self.template))
        try:
            database.migrate()
        finally:
            database.dispose()  # a template must have no open connection when it is copied
        self._drops: queue.Queue[str] = queue.Queue()
        self._errors: list[str] = []
        self._thread = threading.Thread(target=self._drop_loop, name="pg-mode-dropper", daemon=True)
        self._thread.start()

    def url(self, name: str) -> str:
        """The SQLAlchemy URL of database ``name`` on this server."""
        database_url: URL = self._base.set(database=name)
        return database_url.render_as_string(hide_password=False)

    def create(self) -> str:
        """A new database copied from the migrated template; returns its name."""
        name = f"{PREFIX}{secrets.token_hex(6)}"
        # WAL_LOG (the default strategy), not FILE_COPY: FILE_COPY forces a checkpoint, which takes seconds
        # while other tests write to the same server; WAL_LOG costs 0.05-0.3 s whatever the others do.
        self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" STRATEGY WAL_LOG')
        # Commits need not wait for the disk in a throwaway database (the tests commit thousands of times).
        self._admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        return name

    def drop(self, name: str) -> None:
        """Drop ``name`` soon (in the background), closing whatever connections a test left open."""
        self._drops.put(name)

    def close(self) -> list[str]:
        """Drop everything still queued and the template; return the drops that failed."""
        self._drops.put(_STOP)
        self._thread.join(timeout=120)
        if self._thread.is_alive():  # a slow server: finish the queue here rather than leave databases behind
            self._errors.append("the background drops took over 120 s; finishing them in the main thread")
        while not self._drops.empty():
            if (name := self._drops.get_nowait()) != _STOP:
                self._drop_now(name)
        self._drop_now(self.template)
        self._admin.close()
        self._dropper.close()
        return self._errors

    def _drop_loop(self) -> None:
        while (name := self._drops.get()) != _STOP:
            self._drop_now(name, connection=self._dropper)

    def _drop_now(self, name: str, connection: Any = None) -> None:
        try:
            (connection or self._admin).execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception as error:
            self._errors.append(f"{name}: {error}")


class _State:
    url = ""
    require: Callable[[str, str], NoReturn] | None = None
    databases: PgDatabases | None = None
    leftovers: list[str] = []  # noqa: RUF012 - module state, never shared between instances


def register(config: pytest.Config, url: str, require: Callable[[str, str], NoReturn]) -> None:
    """Turn PostgreSQL mode on: this module becomes a plugin whose autouse fixtures provide the databases."""
    _State.url, _State.require = url, require
    config.pluginmanager.register(sys.modules[__name__], "mimamori-postgres-mode")


def _databases() -> PgDatabases:
    if _State.databases is None:
        assert _State.require is not None
        _State.databases = PgDatabases(_State.url, _State.require)
    return _State.databases


def session_database_url() -> str:
    """The URL of another fresh database, dropped at the end of the session (for a parametrised fixture)."""
    databases = _databases()
    name = databases.create()
    _State.leftovers.append(name)
    return databases.url(name)


def _use(databases: PgDatabases) -> Iterator[str]:
    name = databases.create()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(URL_VARIABLE, databases.url(name))
        try:
            yield name
        finally:
            databases.drop(name)


@pytest.fixture(scope="module", autouse=True)
def _pg_module_database() -> Iterator[str]:
    """A fresh database for the module (module-scoped fixtures build their Settings before any test)."""
    yield from _use(_databases())


@pytest.fixture(autouse=True)
def _pg_test_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A fresh database for each test that uses ``tmp_path``; the others share their module's."""
    if "tmp_path" not in request.fixturenames:
        yield None
        return
    yield from _use(_databases())


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _State.databases is not None:
        for name in _State.leftovers:
            _State.databases.drop(name)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for failure in _State.databases.close():
            if reporter is not None:
                reporter.write_line(f"PostgreSQL mode: could not drop {failure}", yellow=True)
        _State.databases = None


def pytest_report_header() -> str:
    shown = make_url(_State.url).render_as_string(hide_password=True)
    return f"operational database: PostgreSQL (fresh copies on {shown}, {MODE_VARIABLE}=postgresql)"


def selected_mode(value: str | None) -> str:
    """The mode named by ``MIMAMORI_TEST_DATABASE`` (default ``sqlite``); raises on an unknown name."""
    mode = (value or "sqlite").strip().lower()
    if mode not in MODES:
        raise pytest.UsageError(f"{MODE_VARIABLE}={value!r}: expected one of {', '.join(MODES)}")
    return mode
