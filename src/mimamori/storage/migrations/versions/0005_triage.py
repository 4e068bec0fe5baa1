"""Triage: incident score, correlation key and workflow columns; incident log; suppression rules.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("score", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("category", sa.String(32), nullable=True))
        batch.add_column(sa.Column("device", sa.String(255), nullable=True))
        batch.add_column(sa.Column("last_seen", WHEN, nullable=True))
        batch.add_column(sa.Column("reasons", JSON, nullable=True))
        batch.add_column(sa.Column("assignee", sa.String(320), nullable=True))
        batch.add_column(sa.Column("resolution", sa.String(32), nullable=True))
        batch.add_column(sa.Column("merged_into", sa.String(32), nullable=True))
        batch.add_column(sa.Column("updated_at", WHEN, nullable=True))
        batch.create_index(
            op.f("ix_incidents_tenant_id_device_status"), ["tenant_id", "device", "status"], unique=False
        )
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("suppressed_by", sa.String(32), nullable=True))
    op.create_table(
        "incident_log",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_log_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_incident_log_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_log")),
    )
    op.create_index(
        op.f("ix_incident_log_tenant_id_incident_id_at"), "incident_log", ["tenant_id", "incident_id", "at"]
    )
    op.create_table(
        "suppression_rules",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("detector", sa.String(128), nullable=True),
        sa.Column("key", sa.String(255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_suppression_rules_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression_rules")),
    )
    op.create_index(
        op.f("ix_suppression_rules_tenant_id_expires_at"), "suppression_rules", ["tenant_id", "expires_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_suppression_rules_tenant_id_expires_at"), table_name="suppression_rules")
    op.drop_table("suppression_rules")
    op.drop_index(op.f("ix_incident_log_tenant_id_incident_id_at"), table_name="incident_log")
    op.drop_table("incident_log")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("suppressed_by")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_index(op.f("ix_incidents_tenant_id_device_status"))
        for column in (
            "updated_at",
            "merged_into",
            "resolution",
            "assignee",
            "reasons",
            "last_seen",
            "device",
            "category",
            "score",
        ):
            batch.drop_column(column)
