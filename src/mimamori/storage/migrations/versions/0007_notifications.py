"""Notifications: contacts, on-call shifts, notifications and attempts, escalations, notify marks; sensor
silence limits.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

ID = 32


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _tenant(table: str, *, nullable: bool = False) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.String(ID), nullable=nullable),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")),
    ]


def _dt(name: str, *, nullable: bool) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.String(ID), nullable=False),
        *_tenant("contacts"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("channels", _json(), nullable=False),
        sa.Column("endpoints", _json(), nullable=False),
        sa.Column("hours", sa.String(64), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        _dt("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    op.create_index(op.f("ix_contacts_tenant_id_priority"), "contacts", ["tenant_id", "priority"])
    op.create_table(
        "oncall_shifts",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("channels", _json(), nullable=False),
        sa.Column("endpoints", _json(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        _dt("starts_at", nullable=False),
        _dt("ends_at", nullable=False),
        _dt("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_shifts")),
    )
    op.create_index(op.f("ix_oncall_shifts_starts_at_ends_at"), "oncall_shifts", ["starts_at", "ends_at"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(ID), nullable=False),
        *_tenant("notifications", nullable=True),
        sa.Column("incident_id", sa.String(ID), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(2048), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("step", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _dt("next_attempt_at", nullable=False),
        _dt("claimed_until", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("notice", _json(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        _dt("cause_at", nullable=True),
        _dt("created_at", nullable=False),
        _dt("sent_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notifications_idempotency_key")),
    )
    op.create_index(
        op.f("ix_notifications_status_next_attempt_at"), "notifications", ["status", "next_attempt_at"]
    )
    op.create_index(
        op.f("ix_notifications_tenant_id_created_at"), "notifications", ["tenant_id", "created_at"]
    )
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("notification_id", sa.String(ID), nullable=False),
        _dt("at", nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_attempts_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempts")),
    )
    op.create_index(
        op.f("ix_notification_attempts_notification_id_at"),
        "notification_attempts",
        ["notification_id", "at"],
    )
    op.create_table(
        "escalations",
        sa.Column("incident_id", sa.String(ID), nullable=False),
        *_tenant("escalations"),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _dt("started_at", nullable=False),
        _dt("due_at", nullable=True),
        _dt("acknowledged_at", nullable=True),
        sa.Column("acknowledged_by", sa.String(320), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_escalations_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_escalations")),
    )
    op.create_index(op.f("ix_escalations_state_due_at"), "escalations", ["state", "due_at"])
    op.create_table(
        "notify_marks",
        sa.Column("incident_id", sa.String(ID), nullable=False),
        *_tenant("notify_marks"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        _dt("at", nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_notify_marks_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", "kind", name=op.f("pk_notify_marks")),
    )
    with op.batch_alter_table("sensors") as batch:
        batch.add_column(sa.Column("silence_minutes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("silent_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sensors") as batch:
        batch.drop_column("silent_since")
        batch.drop_column("silence_minutes")
    for table in (
        "notify_marks",
        "escalations",
        "notification_attempts",
        "notifications",
        "oncall_shifts",
        "contacts",
    ):
        op.drop_table(table)
