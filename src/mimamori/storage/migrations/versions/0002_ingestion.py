"""Ingestion: sensor time zone and TLS client certificate, and the resumable-import ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("sensors") as batch:
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=False, server_default="Asia/Tokyo"))
        batch.add_column(sa.Column("cert_fingerprint", sa.String(64), nullable=True))
        batch.create_unique_constraint(op.f("uq_sensors_cert_fingerprint"), ["cert_fingerprint"])
    op.create_table(
        "imports",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("sensor_id", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("records", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("completed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_imports_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
        sa.UniqueConstraint(
            "tenant_id", "sensor_id", "fingerprint", name=op.f("uq_imports_tenant_id_sensor_id_fingerprint")
        ),
    )


def downgrade() -> None:
    op.drop_table("imports")
    with op.batch_alter_table("sensors") as batch:
        batch.drop_constraint(op.f("uq_sensors_cert_fingerprint"), type_="unique")
        batch.drop_column("cert_fingerprint")
        batch.drop_column("timezone")
