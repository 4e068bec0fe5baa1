"""Device inventory: asset identity, vendor, OS and its evidence, approval; external services per asset.

Existing assets get the device key ``ip:<address>``; the unique (tenant, ip) constraint becomes an index
(a device is its MAC when known, and addresses move between devices).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

ID = 32


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _dt(name: str, *, nullable: bool) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("device_key", sa.String(160), nullable=True))
        batch.add_column(sa.Column("vendor", sa.String(128), nullable=True))
        batch.add_column(sa.Column("private_mac", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("os_family", sa.String(64), nullable=True))
        batch.add_column(sa.Column("os_version", sa.String(64), nullable=True))
        batch.add_column(sa.Column("os_evidence", _json(), nullable=True))
        batch.add_column(
            sa.Column("os_confidence", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("names", _json(), nullable=True))
        batch.add_column(_dt("approved_at", nullable=True))
        batch.add_column(sa.Column("approved_by", sa.String(320), nullable=True))
        batch.drop_constraint(op.f("uq_assets_tenant_id_ip"), type_="unique")
        batch.create_unique_constraint(op.f("uq_assets_tenant_id_device_key"), ["tenant_id", "device_key"])
        batch.create_index(op.f("ix_assets_tenant_id_ip"), ["tenant_id", "ip"])
    op.execute("UPDATE assets SET device_key = 'ip:' || ip WHERE ip IS NOT NULL AND device_key IS NULL")
    op.create_table(
        "asset_services",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("asset_id", sa.String(ID), nullable=False),
        sa.Column("destination", sa.String(253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        _dt("first_seen", nullable=False),
        _dt("last_seen", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_asset_services_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name=op.f("fk_asset_services_asset_id_assets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_services")),
        sa.UniqueConstraint(
            "asset_id", "destination", "port", name=op.f("uq_asset_services_asset_id_destination_port")
        ),
    )
    op.create_index(op.f("ix_asset_services_tenant_id_asset_id"), "asset_services", ["tenant_id", "asset_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_asset_services_tenant_id_asset_id"), table_name="asset_services")
    op.drop_table("asset_services")
    # Rows that only differ by device key would break the old unique (tenant, ip): keep the newest per ip.
    op.execute(
        "DELETE FROM assets WHERE ip IS NOT NULL AND EXISTS (SELECT 1 FROM assets AS newer "
        "WHERE newer.tenant_id = assets.tenant_id AND newer.ip = assets.ip AND newer.id <> assets.id "
        "AND (newer.last_seen > assets.last_seen "
        "OR (newer.last_seen = assets.last_seen AND newer.id > assets.id)))"
    )
    with op.batch_alter_table("assets") as batch:
        batch.drop_index(op.f("ix_assets_tenant_id_ip"))
        batch.drop_constraint(op.f("uq_assets_tenant_id_device_key"), type_="unique")
        batch.create_unique_constraint(op.f("uq_assets_tenant_id_ip"), ["tenant_id", "ip"])
        for column in (
            "approved_by",
            "approved_at",
            "names",
            "os_confidence",
            "os_evidence",
            "os_version",
            "os_family",
            "private_mac",
            "vendor",
            "device_key",
        ):
            batch.drop_column(column)
