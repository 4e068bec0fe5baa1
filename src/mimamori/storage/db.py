"""The database handle: one engine, tuned per backend, with migrations and transaction scopes.

Embedded mode runs on a SQLite file (WAL, so the web readers never block the pipeline writer); scale-out mode
runs on PostgreSQL. Everything above this module sees a ``Connection`` and nothing backend-specific.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from mimamori.storage import nul
from mimamori.storage.writer_queue import WriterQueue

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for another process's write lock before failing
PG_CONNECT_TIMEOUT_S = 10  # seconds to establish a PostgreSQL connection before giving up
MIGRATION_LOCK_KEY = 0x6D696D616D6F7269  # "mimamori": PostgreSQL advisory lock held while migrating
_WRITE_OPTION = "mimamori_write"  # execution option: this transaction will write (SQLite: BEGIN IMMEDIATE)


def normalise_url(url: str) -> URL:
    """Parse ``url``; plain ``postgresql://`` (and ``postgres://``) become the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class Database:
    """An engine plus the operations the services need: migrate, transaction, read-only connection, ping.

    Construct once per process (the engine owns a connection pool) and call ``dispose()`` on shutdown.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.engine: Engine = _create_engine(self.url, echo=echo)
        self._writers = _writer_queue(self.url)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Bring the schema to the newest revision (Alembic ``upgrade head``), from the installed package.

        On PostgreSQL an advisory lock serialises concurrent starts of several workers.
        """
        config = alembic_config()
        with self.transaction() as connection:
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed if the block succeeds, rolled back if it raises.

        On SQLite the write lock is taken at the start (``BEGIN IMMEDIATE``), so two writers queue on the
        busy timeout instead of failing on a lock upgrade half-way through; writers of a SQLite file first
        queue for their turn across processes (:mod:`mimamori.storage.writer_queue`).
        """
        with (
            self._writers.turn() if self._writers is not None else nullcontext(),
            self.engine.connect() as plain,
        ):
            connection = plain.execution_options(**{_WRITE_OPTION: True})
            with connection.begin():
                yield connection

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading: one consistent snapshot, never committed, writes refused."""
        with self.engine.connect() as plain:
            sqlite = self.dialect == "sqlite"
            if sqlite:
                plain.exec_driver_sql("PRAGMA query_only = ON")
                plain.commit()
                connection = plain
            else:
                # REPEATABLE READ: a page and its count see the same data; read-only, so it never conflicts.
                connection = plain.execution_options(
                    postgresql_readonly=True, isolation_level="REPEATABLE READ"
                )
            try:
                yield connection  # the first statement begins the transaction
            finally:
                connection.rollback()
                if sqlite:
                    connection.exec_driver_sql("PRAGMA query_only = OFF")
                    connection.commit()

    def ping(self) -> bool:
        """Whether the database answers a trivial query (for health checks); never raises."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        """Close every pooled connection (on shutdown, or in a child process after fork)."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migrations, independent of the working directory."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", normalise_url(url).render_as_string(hide_password=False))
    return config


def _writer_queue(url: URL) -> WriterQueue | None:
    """The cross-process writer queue of a SQLite file (None for PostgreSQL and in-memory SQLite)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.query.get("mode") == "memory" or str(url.database).startswith("file:"):
        return None
    return WriterQueue(Path(url.database).expanduser().resolve())


def _create_engine(url: URL, *, echo: bool) -> Engine:
    if url.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url, echo=echo)
    if url.get_backend_name() == "postgresql":
        # A dead server must fail a health check in seconds, not hang a worker; the URL may override it.
        connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        engine = create_engine(
            url, echo=echo, pool_pre_ping=True, connect_args=connect_args, json_serializer=nul.json_dumps
        )

        @event.listens_for(engine, "before_cursor_execute", retval=True)
        def _no_nul(
            _conn: Connection, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
        ) -> tuple[str, Any]:
            return statement, nul.parameters_without_nul(parameters)  # PostgreSQL text cannot hold U+0000

        return engine
    return create_engine(url, echo=echo)


def _create_sqlite_engine(url: URL, *, echo: bool) -> Engine:
    in_memory = url.database in (None, "", ":memory:") or bool(url.query.get("mode") == "memory")
    if not in_memory and url.database is not None:
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from sqlite3 (it skips it for SELECT and breaks SAVEPOINT); see _on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe with WAL
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS:d}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
