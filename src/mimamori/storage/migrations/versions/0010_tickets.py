"""Tickets from the SME portal: ask the desk and on-site help requests.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

ID = 32


def _dt(name: str, *, nullable: bool) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("incident_id", sa.String(ID), nullable=True),
        sa.Column("requester_id", sa.String(ID), nullable=True),
        sa.Column("requester_name", sa.String(320), nullable=False),
        sa.Column("message", sa.String(2000), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("preferred_time", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        _dt("created_at", nullable=False),
        _dt("updated_at", nullable=False),
        sa.Column("updated_by", sa.String(320), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_tickets_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    op.create_index(op.f("ix_tickets_tenant_id_created_at"), "tickets", ["tenant_id", "created_at"])
    op.create_index(op.f("ix_tickets_status_created_at"), "tickets", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tickets_status_created_at"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_tenant_id_created_at"), table_name="tickets")
    op.drop_table("tickets")
