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
    # Notifications (0007): the longest silence before the sensor counts as blind (NULL: the provider's
    # default, 0: never), and when its silence was notified (cleared when it speaks again).
    sa.Column("silence_minutes", sa.Integer, nullable=True),
    sa.Column("silent_since", UTCDateTime, nullable=True),
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
    # Triage (migration 0005): score and its reasons, the correlation key, the analyst's workflow.
    sa.Column("score", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("category", sa.String(32), nullable=True),
    sa.Column("device", sa.String(255), nullable=True),
    sa.Column("last_seen", UTCDateTime, nullable=True),
    sa.Column("reasons", JSONValue, nullable=True),
    sa.Column("assignee", sa.String(320), nullable=True),
    sa.Column("resolution", sa.String(32), nullable=True),
    sa.Column("merged_into", sa.String(ID_LENGTH), nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=True),
    sa.Index(None, "tenant_id", "device", "status"),
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
    sa.Column("suppressed_by", sa.String(ID_LENGTH), nullable=True),  # a suppression rule (0005)
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
    # Inventory (migration 0008): the device's identity ("mac:..", else "ip:..", else "name:.."), what it is
    # and the evidence for its OS; who approved it. See mimamori.inventory and docs/inventory.md.
    sa.Column("device_key", sa.String(160), nullable=True),
    sa.Column("vendor", sa.String(128), nullable=True),
    sa.Column("private_mac", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("os_family", sa.String(64), nullable=True),
    sa.Column("os_version", sa.String(64), nullable=True),
    sa.Column("os_evidence", JSONValue, nullable=True),  # {"source", "detail", "confidence"}
    sa.Column("os_confidence", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("names", JSONValue, nullable=True),  # other host names seen (bounded)
    sa.Column("approved_at", UTCDateTime, nullable=True),
    sa.Column("approved_by", sa.String(320), nullable=True),
    sa.UniqueConstraint("tenant_id", "device_key"),
    sa.Index(None, "tenant_id", "ip"),
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
    # EVTX files are followed by record id: the highest id committed and the digest of that record (the
    # proof that a grown copy is still the same log; a cleared or replaced one is read from its start).
    sa.Column("last_record_id", sa.BigInteger, nullable=True),
    sa.Column("last_record_digest", sa.String(64), nullable=True),
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

# Triage (migration 0005): every change to an incident (state, assignment, note, merge, split), in order.
incident_log = sa.Table(
    "incident_log",
    metadata,
    _id(),
    _tenant_fk(),
    sa.Column("incident_id", sa.String(ID_LENGTH), sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("detail", JSONValue, nullable=False),
    sa.Index(None, "tenant_id", "incident_id", "at"),
)

# Suppression rules: alerts matching one (tenant, optionally a host, a rule or an indicator) until it
# expires are kept but open no incident.
suppression_rules = sa.Table(
    "suppression_rules",
    metadata,
    _id(),
    _tenant_fk(),
    sa.Column("host", sa.String(255), nullable=True),
    sa.Column("detector", sa.String(128), nullable=True),
    sa.Column("key", sa.String(255), nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(320), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Index(None, "tenant_id", "expires_at"),
)

# Threat-intelligence indicators (issue 5). The database is the record; the detector holds a compact copy
# in memory (``detection.indicators.IndicatorSet``). One row per (source, type, value): a value listed by
# two feeds is two rows, so removing one feed never drops the other's listing.
indicators = sa.Table(
    "indicators",
    metadata,
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("value", sa.String(2048), nullable=False),
    sa.Column("threat", sa.String(200), nullable=False),
    sa.Column("description", sa.String(500), nullable=False),
    sa.Column("confidence", sa.SmallInteger, nullable=False, server_default=sa.text("50")),
    sa.Column("tlp", sa.String(16), nullable=False, server_default="clear"),
    sa.Column("first_seen", UTCDateTime, nullable=True),
    sa.Column("last_seen", UTCDateTime, nullable=True),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("source", "type", "value"),
    sa.Index(None, "type", "value"),
)

# Configured feeds and their fetch state (conditional-request validators, last success, the warning the
# provider sees when a fetch or parse failed and the last good data was kept).
indicator_feeds = sa.Table(
    "indicator_feeds",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("options", JSONValue, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("etag", sa.String(255), nullable=True),
    sa.Column("last_modified", sa.String(64), nullable=True),
    sa.Column("last_attempt_at", UTCDateTime, nullable=True),
    sa.Column("last_success_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    _counter("indicator_count"),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# Known-good values that suppress indicator hits: provider-wide (tenant_id NULL) or for one tenant.
indicator_allowlist = sa.Table(
    "indicator_allowlist",
    metadata,
    _id(),
    _tenant_fk(nullable=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("value", sa.String(2048), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "tenant_id"),
)

# Sightings: matches aggregated per (tenant, UTC day, indicator), for the sharing features and reports.
indicator_sightings = sa.Table(
    "indicator_sightings",
    metadata,
    _tenant_fk(),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("value", sa.String(2048), nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "day", "type", "value"),
)

# Observed values for retro-hunting (no event archive yet): distinct external addresses, names, URLs,
# hashes and fingerprints per (tenant, UTC day), with first/last time, count, the first internal device and
# whether any occurrence was let through. Pruned after the retro-hunt window.
observed_values = sa.Table(
    "observed_values",
    metadata,
    _tenant_fk(),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("value", sa.String(2048), nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("device", sa.String(64), nullable=True),
    sa.Column("allowed", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "day", "type", "value"),
    sa.Index(None, "day"),
)
