"""Threat-intelligence indicators: indicators, feeds, allowlist, sightings and observed values.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _when(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"))


def upgrade() -> None:
    op.create_table(
        "indicators",
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("value", sa.String(2048), nullable=False),
        sa.Column("threat", sa.String(200), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("confidence", sa.SmallInteger(), server_default=sa.text("50"), nullable=False),
        sa.Column("tlp", sa.String(16), server_default="clear", nullable=False),
        _when("first_seen", nullable=True),
        _when("last_seen", nullable=True),
        _when("expires_at", nullable=True),
        _when("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("source", "type", "value", name=op.f("pk_indicators")),
    )
    op.create_index(op.f("ix_indicators_type_value"), "indicators", ["type", "value"])
    op.create_table(
        "indicator_feeds",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("etag", sa.String(255), nullable=True),
        sa.Column("last_modified", sa.String(64), nullable=True),
        _when("last_attempt_at", nullable=True),
        _when("last_success_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("indicator_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _when("created_at", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_indicator_feeds")),
    )
    op.create_table(
        "indicator_allowlist",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("value", sa.String(2048), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _when("created_at", nullable=False),
        _tenant_fk("indicator_allowlist"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_allowlist")),
    )
    op.create_index(op.f("ix_indicator_allowlist_tenant_id"), "indicator_allowlist", ["tenant_id"])
    for table in ("indicator_sightings", "observed_values"):
        extra = (
            [
                sa.Column("device", sa.String(64), nullable=True),
                sa.Column("allowed", sa.Boolean(), nullable=False),
            ]
            if table == "observed_values"
            else []
        )
        op.create_table(
            table,
            sa.Column("tenant_id", sa.String(32), nullable=False),
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column("type", sa.String(16), nullable=False),
            sa.Column("value", sa.String(2048), nullable=False),
            _when("first_seen", nullable=False),
            _when("last_seen", nullable=False),
            sa.Column("count", sa.BigInteger(), nullable=False),
            *extra,
            _tenant_fk(table),
            sa.PrimaryKeyConstraint("tenant_id", "day", "type", "value", name=op.f(f"pk_{table}")),
        )
    op.create_index(op.f("ix_observed_values_day"), "observed_values", ["day"])


def downgrade() -> None:
    op.drop_index(op.f("ix_observed_values_day"), table_name="observed_values")
    op.drop_table("observed_values")
    op.drop_table("indicator_sightings")
    op.drop_index(op.f("ix_indicator_allowlist_tenant_id"), table_name="indicator_allowlist")
    op.drop_table("indicator_allowlist")
    op.drop_table("indicator_feeds")
    op.drop_index(op.f("ix_indicators_type_value"), table_name="indicators")
    op.drop_table("indicators")
