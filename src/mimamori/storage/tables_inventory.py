"""Inventory tables (migration 0008), kept beside ``tables`` on the same metadata.

The device rows themselves are ``tables.assets`` (columns added by 0008); ``asset_services`` holds the
external services each device uses (destination name or address and port, how often, when), bounded per
device by the repository, for the network map.
"""

from __future__ import annotations

import sqlalchemy as sa

from mimamori.storage.tables import ID_LENGTH, UTCDateTime, _id, _tenant_fk, metadata

asset_services = sa.Table(
    "asset_services",
    metadata,
    _id(),
    _tenant_fk(),
    sa.Column("asset_id", sa.String(ID_LENGTH), sa.ForeignKey("assets.id"), nullable=False),
    sa.Column("destination", sa.String(253), nullable=False),  # a DNS name or an IP address
    sa.Column("port", sa.Integer, nullable=False),  # 0: unknown
    sa.Column("count", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.UniqueConstraint("asset_id", "destination", "port"),
    sa.Index(None, "tenant_id", "asset_id"),
)
