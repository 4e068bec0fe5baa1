"""Initial schema: tenants, sensors, users, incidents, alerts, assets, quarantine, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Written out in plain SQLAlchemy types (not the application's ``UTCDateTime``), so this revision keeps
producing the same schema however ``tables.py`` evolves.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(32), nullable=False)


def _tenant_id(*, nullable: bool = False) -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(32), nullable=nullable)


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"))


def upgrade() -> None:
    op.create_table(
        "tenants",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )
    op.create_table(
        "sensors",
        _id(),
        _tenant_id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("format", sa.String(64), nullable=False),
        sa.Column("source_address", sa.String(255), nullable=True),
        sa.Column("token_hash", sa.String(128), nullable=True),
        _time("last_seen", nullable=True),
        _counter("received"),
        _counter("parsed"),
        _counter("quarantined"),
        _counter("dropped"),
        _time("created_at"),
        _tenant_fk("sensors"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensors")),
        sa.UniqueConstraint("source_address", name=op.f("uq_sensors_source_address")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sensors_token_hash")),
    )
    op.create_index(op.f("ix_sensors_tenant_id"), "sensors", ["tenant_id"])
    op.create_table(
        "users",
        _id(),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        _tenant_id(nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        _counter("failed_logins"),
        _time("locked_until", nullable=True),
        _time("created_at"),
        _tenant_fk("users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "incidents",
        _id(),
        _tenant_id(),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        _time("opened_at"),
        _tenant_fk("incidents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(op.f("ix_incidents_tenant_id_opened_at"), "incidents", ["tenant_id", "opened_at"])
    op.create_table(
        "alerts",
        _id(),
        _tenant_id(),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("detector", sa.String(128), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("source_ip", sa.String(64), nullable=True),
        sa.Column("destination_ip", sa.String(64), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        _json("tags"),
        _json("evidence"),
        _time("first_seen"),
        _time("last_seen"),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_alerts_incident_id_incidents")
        ),
        _tenant_fk("alerts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("tenant_id", "fingerprint", name=op.f("uq_alerts_tenant_id_fingerprint")),
    )
    op.create_index(op.f("ix_alerts_tenant_id_last_seen"), "alerts", ["tenant_id", "last_seen"])
    op.create_index(op.f("ix_alerts_severity_last_seen"), "alerts", ["severity", "last_seen"])
    op.create_table(
        "assets",
        _id(),
        _tenant_id(),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("mac", sa.String(32), nullable=True),
        sa.Column("hostname", sa.String(255), nullable=True),
        sa.Column("os", sa.String(128), nullable=True),
        sa.Column("device_class", sa.String(64), nullable=True),
        _time("first_seen", nullable=True),
        _time("last_seen", nullable=True),
        sa.Column("approved", sa.Boolean(), server_default=sa.false(), nullable=False),
        _tenant_fk("assets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        sa.UniqueConstraint("tenant_id", "ip", name=op.f("uq_assets_tenant_id_ip")),
    )
    op.create_table(
        "quarantine",
        _id(),
        _tenant_id(),
        sa.Column("sensor_id", sa.String(32), nullable=False),
        sa.Column("format", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        _time("received_at"),
        _tenant_fk("quarantine"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    op.create_index(op.f("ix_quarantine_tenant_id_received_at"), "quarantine", ["tenant_id", "received_at"])
    op.create_table(
        "outbox",
        _id(),
        _tenant_id(),
        sa.Column("alert_id", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(64), nullable=False),
        _json("payload"),
        _time("created_at"),
        _time("sent_at", nullable=True),
        _counter("attempts"),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_outbox_alert_id_alerts")),
        _tenant_fk("outbox"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index(op.f("ix_outbox_sent_at_created_at"), "outbox", ["sent_at", "created_at"])


def downgrade() -> None:
    for table in ("outbox", "quarantine", "assets", "alerts", "incidents", "users", "sensors", "tenants"):
        op.drop_table(table)  # indexes go with their table
