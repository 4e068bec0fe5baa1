"""Assets: devices seen on a customer's network, keyed by (tenant, IP address).

Minimal for now: the enrichment stage upserts what it learns, the portal lists it. Inventory workflows
(approval, merging by MAC) come later.
"""

from __future__ import annotations

import builtins
from datetime import datetime

from sqlalchemy import Connection, RowMapping, func, select

from mimamori.domain.models import Asset
from mimamori.storage.dialect import greatest, insert_for, least
from mimamori.storage.scoping import scoped
from mimamori.storage.tables import assets, new_id, utcnow


class AssetRepository:
    """Assets on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def upsert(
        self,
        tenant_id: str,
        ip: str,
        *,
        mac: str | None = None,
        hostname: str | None = None,
        os: str | None = None,
        device_class: str | None = None,
        seen_at: datetime | None = None,
    ) -> Asset:
        """Record that the tenant's device at ``ip`` was seen; known attributes are kept unless given anew.

        Concurrency-safe (``INSERT ... ON CONFLICT``); ``first_seen``/``last_seen`` widen to include
        ``seen_at`` (default: now). The ``approved`` flag is never changed here.
        """
        scoped(assets, tenant_id)  # validates the tenant id like every other tenant-owned write
        seen_at = seen_at or utcnow()
        statement = insert_for(self._connection, assets).values(
            id=new_id(),
            tenant_id=tenant_id,
            ip=ip,
            mac=mac,
            hostname=hostname,
            os=os,
            device_class=device_class,
            first_seen=seen_at,
            last_seen=seen_at,
            approved=False,
        )
        new = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[assets.c.tenant_id, assets.c.ip],
            set_={
                "mac": func.coalesce(new.mac, assets.c.mac),
                "hostname": func.coalesce(new.hostname, assets.c.hostname),
                "os": func.coalesce(new.os, assets.c.os),
                "device_class": func.coalesce(new.device_class, assets.c.device_class),
                "first_seen": least(
                    self._connection, func.coalesce(assets.c.first_seen, new.first_seen), new.first_seen
                ),
                "last_seen": greatest(
                    self._connection, func.coalesce(assets.c.last_seen, new.last_seen), new.last_seen
                ),
            },
        )
        row = self._connection.execute(statement.returning(*assets.c)).one()
        return _asset(row._mapping)

    def list(self, tenant_id: str) -> builtins.list[Asset]:
        """The tenant's assets, by IP address."""
        query = select(assets).where(scoped(assets, tenant_id)).order_by(assets.c.ip, assets.c.id)
        return [_asset(row._mapping) for row in self._connection.execute(query)]


def _asset(row: RowMapping) -> Asset:
    return Asset(
        id=row["id"],
        tenant_id=row["tenant_id"],
        ip=row["ip"],
        mac=row["mac"],
        hostname=row["hostname"],
        os=row["os"],
        device_class=row["device_class"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        approved=bool(row["approved"]),
    )
