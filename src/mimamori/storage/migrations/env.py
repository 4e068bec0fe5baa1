"""Alembic environment for mimamori, loaded by ``Database.migrate()`` or the ``alembic`` command.

``Database.migrate()`` hands over its own open connection in ``config.attributes["connection"]`` (so the
engine settings, such as a PostgreSQL ``search_path``, apply); the ``alembic`` command line instead gives a
URL in ``sqlalchemy.url`` (see ``storage/alembic.ini``). No path here depends on the working directory.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from mimamori.storage.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url configured")
    engine = create_engine(url)
    try:
        with engine.begin() as own_connection:
            _run(own_connection)
    finally:
        engine.dispose()


_main()
