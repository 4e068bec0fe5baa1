"""The operational database: SQLAlchemy Core tables, Alembic migrations and tenant-scoped repositories.

The only package that imports SQLAlchemy (ARCHITECTURE §3). Services use ``Database`` for the engine and
``unit_of_work`` for a transaction with every repository; repositories return domain objects, never rows.
"""

from mimamori.storage.db import Database
from mimamori.storage.repositories import (
    AlertChange,
    AlertRepository,
    AssetRepository,
    Counters,
    ImportEntry,
    ImportRepository,
    LoginState,
    OutboxMessage,
    OutboxRepository,
    QuarantineRepository,
    SensorRepository,
    TenantRepository,
    UserRepository,
)
from mimamori.storage.unit_of_work import Repositories, read_only, unit_of_work

__all__ = [
    "AlertChange",
    "AlertRepository",
    "AssetRepository",
    "Counters",
    "Database",
    "ImportEntry",
    "ImportRepository",
    "LoginState",
    "OutboxMessage",
    "OutboxRepository",
    "QuarantineRepository",
    "Repositories",
    "SensorRepository",
    "TenantRepository",
    "UserRepository",
    "read_only",
    "unit_of_work",
]
