"""The operational database schema as SQLAlchemy Core tables.

Core rather than ORM: the pipeline writes alerts, counters and quarantine rows in batches, and Core
statements (``executemany``, ``INSERT ... ON CONFLICT``) do that without per-object overhead. Rows are
converted to the frozen domain dataclasses in the repositories, never handed out.

Every change to this module needs a new Alembic revision in ``migrations/versions``; a test checks that the
migrations produce exactly this metadata on SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

ID_LENGTH = 32  # column width; generated ids are 16 hex characters, the margin allows other schemes later


def new_id() -> str:
    """A short random text id (64 bits): unguessable across tenants and collision-free in practice."""
    return secrets.token_hex(8)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC: the only kind of datetime the database accepts."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zone type, so values are stored as naive UTC text
    and made aware again on the way out. Naive datetimes are refused on the way in: guessing their zone is how
    alerts end up nine hours off.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: mimamori stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON on SQLite, JSONB on PostgreSQL (indexable, compact); both round-trip dicts and lists.
JSONValue: sa.types.TypeEngine[Any] = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# Deterministic constraint names, so migrations can refer to them on every backend.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(ID_LENGTH), primary_key=True)


def _tenant_fk(*, nullable: bool = False) -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(ID_LENGTH), sa.ForeignKey("tenants.id"), nullable=nullable)


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, nullable=False, server_default=sa.text("0"))


tenants = sa.Table(
    "tenants",
    metadata,
    _id(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

sensors = sa.Table(
    "sensors",
    metadata,
    _id(),
    _tenant_fk(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("format", sa.String(64), nullable=False),
    sa.Column("source_address", sa.String(255), nullable=True, unique=True),
    sa.Column("token_hash", sa.String(128), nullable=True, unique=True),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="Asia/Tokyo"),
    sa.Column("cert_fingerprint", sa.String(64), nullable=True, unique=True),
    sa.Column("last_seen", UTCDateTime, nullable=True),
    _counter("received"),
    _counter("parsed"),
    _counter("quarantined"),
    _counter("dropped"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "tenant_id"),
)

users = sa.Table(
    "users",
    metadata,
    _id(),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    _tenant_fk(nullable=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    _counter("failed_logins"),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

incidents = sa.Table(
    "incidents",
    metadata,
    _id(),
    _tenant_fk(),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("host", sa.String(255), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Index(None, "tenant_id", "opened_at"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    _id(),
    _tenant_fk(),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("detector", sa.String(128), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("host", sa.String(255), nullable=True),
    sa.Column("source_ip", sa.String(64), nullable=True),
    sa.Column("destination_ip", sa.String(64), nullable=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("tags", JSONValue, nullable=False),
    sa.Column("evidence", JSONValue, nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("incident_id", sa.String(ID_LENGTH), sa.ForeignKey("incidents.id"), nullable=True),
    sa.UniqueConstraint("tenant_id", "fingerprint"),
    sa.Index(None, "tenant_id", "last_seen"),
    sa.Index(None, "severity", "last_seen"),
)

assets = sa.Table(
    "assets",
    metadata,
    _id(),
    _tenant_fk(),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("mac", sa.String(32), nullable=True),
    sa.Column("hostname", sa.String(255), nullable=True),
    sa.Column("os", sa.String(128), nullable=True),
    sa.Column("device_class", sa.String(64), nullable=True),
    sa.Column("first_seen", UTCDateTime, nullable=True),
    sa.Column("last_seen", UTCDateTime, nullable=True),
    sa.Column("approved", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("tenant_id", "ip"),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    _id(),
    _tenant_fk(),
    # No foreign key on purpose: a refused record stays evidence even if its sensor is later removed.
    sa.Column("sensor_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("format", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Index(None, "tenant_id", "received_at"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    _id(),
    _tenant_fk(),
    sa.Column("alert_id", sa.String(ID_LENGTH), sa.ForeignKey("alerts.id"), nullable=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("payload", JSONValue, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    _counter("attempts"),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Index(None, "sent_at", "created_at"),
)

imports = sa.Table(
    "imports",
    metadata,
    _id(),
    _tenant_fk(),
    sa.Column("sensor_id", sa.String(ID_LENGTH), nullable=False),
    # What was imported: the file's identity (hash of its head and size) and a display path.
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("records", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("completed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("tenant_id", "sensor_id", "fingerprint"),
)

# Per-tenant settings of the detection content, one JSON document per (tenant, name): "sigma" holds the
# disabled rules and levels and the placeholder values of the Sigma engine (later: behaviour thresholds).
tenant_settings = sa.Table(
    "tenant_settings",
    metadata,
    _tenant_fk(),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("value", JSONValue, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "name"),
)
