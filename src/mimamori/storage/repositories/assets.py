"""Assets: the devices seen on a customer's network, and the external services each one uses.

A device is identified per tenant by its ``device_key`` (``mac:..`` when a log gave its MAC, else
``ip:..``, else ``name:..``; see ``mimamori.inventory``). ``record`` writes a pipeline batch's merged
device facts in a few statements (one upsert per device through ``executemany``, one for the services);
the strongest OS evidence wins; ``approved`` is only changed by ``approve``. Facts known by address only
go to the MAC device holding the address, never to a second ``ip:`` device (``asset_identity``).
``upsert``/``list`` are the older address-keyed API (kept for the enrichment stage and the portal).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, case, func, literal, or_, select, update

from mimamori.domain.models import Asset
from mimamori.inventory import DeviceSummary
from mimamori.storage.dialect import greatest, insert_for, least
from mimamori.storage.repositories import asset_identity
from mimamori.storage.scoping import scoped
from mimamori.storage.tables import UTCDateTime, assets, new_id, utcnow
from mimamori.storage.tables_inventory import asset_services

MAX_SERVICES_PER_DEVICE = 200  # external (destination, port) pairs stored per device; more are not added
MAX_NAMES = 8  # other host names remembered per device


@dataclass(frozen=True, slots=True)
class AssetRecord:
    """A device of the inventory with everything known about it."""

    id: str
    tenant_id: str
    device_key: str | None
    ip: str | None
    mac: str | None
    hostname: str | None
    names: tuple[str, ...]
    vendor: str | None
    private_mac: bool
    device_class: str | None
    os_family: str | None
    os_version: str | None
    os_evidence: dict[str, Any] | None
    first_seen: datetime | None
    last_seen: datetime | None
    approved: bool
    approved_at: datetime | None
    approved_by: str | None


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    """One external service a device used."""

    asset_id: str
    destination: str
    port: int
    count: int
    first_seen: datetime
    last_seen: datetime


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
        """Record that the tenant's device at ``ip`` (device key ``ip:<ip>``) was seen.

        Known attributes are kept unless given anew; ``first_seen``/``last_seen`` widen to include
        ``seen_at`` (default: now). The ``approved`` flag is never changed here.
        """
        scoped(assets, tenant_id)  # validates the tenant id like every other tenant-owned write
        seen_at = seen_at or utcnow()
        statement = insert_for(self._connection, assets).values(
            id=new_id(),
            tenant_id=tenant_id,
            device_key=f"ip:{ip}",
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
            index_elements=[assets.c.tenant_id, assets.c.device_key],
            set_={
                "mac": func.coalesce(new.mac, assets.c.mac),
                "hostname": func.coalesce(new.hostname, assets.c.hostname),
                "os": func.coalesce(new.os, assets.c.os),
                "device_class": func.coalesce(new.device_class, assets.c.device_class),
                "first_seen": self._least(assets.c.first_seen, new.first_seen),
                "last_seen": self._greatest(assets.c.last_seen, new.last_seen),
            },
        )
        row = self._connection.execute(statement.returning(*assets.c)).one()
        return _asset(row._mapping)

    def _least(self, column: Any, new: Any) -> Any:
        return least(self._connection, func.coalesce(column, new), new)

    def _greatest(self, column: Any, new: Any) -> Any:
        return greatest(self._connection, func.coalesce(column, new), new)

    def list(self, tenant_id: str) -> builtins.list[Asset]:
        """The tenant's assets, by IP address."""
        query = select(assets).where(scoped(assets, tenant_id)).order_by(assets.c.ip, assets.c.id)
        return [_asset(row._mapping) for row in self._connection.execute(query)]

    def record(self, tenant_id: str, devices: Sequence[DeviceSummary]) -> int:
        """Write one batch's merged facts about the tenant's ``devices``; returns how many were written."""
        devices = [d for d in devices if d.tenant_id == tenant_id]
        if not devices:
            return 0
        where = scoped(assets, tenant_id)
        devices = asset_identity.attribute(self._connection, tenant_id, devices)
        keys = {d.key for d in devices} | {f"ip:{d.ip}" for d in devices if d.mac and d.ip}
        existing = {
            row.device_key: row
            for row in self._connection.execute(
                select(assets.c.id, assets.c.device_key, assets.c.mac, assets.c.names).where(
                    where, assets.c.device_key.in_(keys)
                )
            )
        }
        for device in devices:  # a device known by its address until a log gave its MAC
            if device.mac and device.ip and device.key not in existing:
                old = existing.get(f"ip:{device.ip}")
                if old is not None and old.mac is None:
                    self._connection.execute(
                        update(assets).where(where, assets.c.id == old.id).values(device_key=device.key)
                    )
                    existing[device.key] = old
                    del existing[f"ip:{device.ip}"]  # re-keyed once, by the batch's first holder
        rows = [_row(tenant_id, d, existing.get(d.key)) for d in devices]
        statement = insert_for(self._connection, assets)
        new = statement.excluded
        stronger = and_(new.os_confidence > 0, new.os_confidence >= assets.c.os_confidence)
        statement = statement.on_conflict_do_update(
            index_elements=[assets.c.tenant_id, assets.c.device_key],
            set_={
                "ip": case(
                    (new.last_seen >= assets.c.last_seen, func.coalesce(new.ip, assets.c.ip)),
                    else_=assets.c.ip,
                ),
                "mac": func.coalesce(assets.c.mac, new.mac),
                "hostname": func.coalesce(new.hostname, assets.c.hostname),
                "names": func.coalesce(new.names, assets.c.names),
                "vendor": func.coalesce(new.vendor, assets.c.vendor),
                "private_mac": or_(new.private_mac, assets.c.private_mac),
                "device_class": func.coalesce(
                    func.nullif(new.device_class, "unknown"), assets.c.device_class
                ),
                "os": case((stronger, new.os), else_=assets.c.os),
                "os_family": case((stronger, new.os_family), else_=assets.c.os_family),
                "os_version": case((stronger, new.os_version), else_=assets.c.os_version),
                "os_evidence": case((stronger, new.os_evidence), else_=assets.c.os_evidence),
                "os_confidence": case((stronger, new.os_confidence), else_=assets.c.os_confidence),
                "first_seen": self._least(assets.c.first_seen, new.first_seen),
                "last_seen": self._greatest(assets.c.last_seen, new.last_seen),
            },
        )
        self._connection.execute(statement, rows)
        self._record_services(tenant_id, devices)
        # An address-keyed device stored before its MAC was known joins the MAC's device.
        asset_identity.fold_address_rows(self._connection, tenant_id, {d.ip for d in devices if d.ip})
        return len(rows)

    def merge(self, tenant_id: str, source_id: str, into_id: str) -> AssetRecord | None:
        """Merge the tenant's device ``source_id`` into ``into_id`` (times widened, names, services and
        approval kept, services repointed) and delete it; None if either is not the tenant's device."""
        if not asset_identity.merge(self._connection, tenant_id, source_id, into_id):
            return None
        return self.get(tenant_id, into_id)

    def fold_addresses(self, tenant_id: str) -> int:
        """Merge every address-keyed device of the tenant whose address a MAC-keyed device holds
        (repairs inventories written before this rule); how many were merged."""
        ips = self._connection.execute(
            select(assets.c.ip).where(scoped(assets, tenant_id), assets.c.device_key.like("ip:%"))
        ).scalars()
        return asset_identity.fold_address_rows(self._connection, tenant_id, {ip for ip in ips if ip})

    def _record_services(self, tenant_id: str, devices: Sequence[DeviceSummary]) -> None:
        used = [d for d in devices if d.services]
        if not used:
            return
        where = scoped(assets, tenant_id)
        ids: dict[str, str] = dict(
            self._connection.execute(
                select(assets.c.device_key, assets.c.id).where(
                    where, assets.c.device_key.in_({d.key for d in used})
                )
            ).all()
        )
        counts: dict[str, int] = dict(
            self._connection.execute(
                select(asset_services.c.asset_id, func.count())
                .where(scoped(asset_services, tenant_id), asset_services.c.asset_id.in_(set(ids.values())))
                .group_by(asset_services.c.asset_id)
            ).all()
        )
        rows: builtins.list[dict[str, Any]] = []
        capped: builtins.list[dict[str, Any]] = []
        for device in used:
            asset_id = ids.get(device.key)
            if asset_id is None:
                continue
            full = counts.get(asset_id, 0) >= MAX_SERVICES_PER_DEVICE
            for (destination, port), use in device.services.items():
                row = {
                    "id": new_id(),
                    "tenant_id": tenant_id,
                    "asset_id": asset_id,
                    "destination": destination,
                    "port": port,
                    "count": use.count,
                    "first_seen": use.first_seen,
                    "last_seen": use.last_seen,
                }
                (capped if full else rows).append(row)
        if rows:
            statement = insert_for(self._connection, asset_services)
            new = statement.excluded
            statement = statement.on_conflict_do_update(
                index_elements=[
                    asset_services.c.asset_id,
                    asset_services.c.destination,
                    asset_services.c.port,
                ],
                set_={
                    "count": asset_services.c.count + new.count,
                    "first_seen": least(self._connection, asset_services.c.first_seen, new.first_seen),
                    "last_seen": greatest(self._connection, asset_services.c.last_seen, new.last_seen),
                },
            )
            self._connection.execute(statement, rows)
        for row in capped:  # a full device: only services it already has are counted
            self._connection.execute(
                update(asset_services)
                .where(
                    asset_services.c.asset_id == row["asset_id"],
                    asset_services.c.destination == row["destination"],
                    asset_services.c.port == row["port"],
                )
                .values(
                    count=asset_services.c.count + row["count"],
                    last_seen=greatest(
                        self._connection, asset_services.c.last_seen, literal(row["last_seen"], UTCDateTime)
                    ),
                )
            )

    def inventory(self, tenant_id: str) -> builtins.list[AssetRecord]:
        """The tenant's devices with every inventory attribute, by address."""
        query = select(assets).where(scoped(assets, tenant_id)).order_by(assets.c.ip, assets.c.id)
        return [_record(row._mapping) for row in self._connection.execute(query)]

    def get(self, tenant_id: str, asset_id: str) -> AssetRecord | None:
        row = self._connection.execute(
            select(assets).where(scoped(assets, tenant_id), assets.c.id == asset_id)
        ).first()
        return None if row is None else _record(row._mapping)

    def approve(self, tenant_id: str, asset_id: str, *, by: str, at: datetime) -> AssetRecord | None:
        """Mark the tenant's device approved (None: no such device of this tenant)."""
        self._connection.execute(
            update(assets)
            .where(scoped(assets, tenant_id), assets.c.id == asset_id)
            .values(approved=True, approved_at=at, approved_by=by[:320])
        )
        return self.get(tenant_id, asset_id)

    def services(self, tenant_id: str, *, top: int) -> builtins.list[ServiceRecord]:
        """The tenant's services, most used first (at most ``top`` per device)."""
        query = (
            select(asset_services)
            .where(scoped(asset_services, tenant_id))
            .order_by(asset_services.c.asset_id, asset_services.c.count.desc(), asset_services.c.destination)
        )
        out: builtins.list[ServiceRecord] = []
        per_asset: dict[str, int] = {}
        for row in self._connection.execute(query):
            m = row._mapping
            if per_asset.get(m["asset_id"], 0) >= top:
                continue
            per_asset[m["asset_id"]] = per_asset.get(m["asset_id"], 0) + 1
            out.append(
                ServiceRecord(
                    m["asset_id"], m["destination"], m["port"], m["count"], m["first_seen"], m["last_seen"]
                )
            )
        return out

    def count_active(self, tenant_id: str, since: datetime) -> int:
        """How many of the tenant's devices were seen at or after ``since`` (per-device billing)."""
        query = select(func.count()).where(scoped(assets, tenant_id), assets.c.last_seen >= since)
        return int(self._connection.execute(query).scalar_one())


def _row(tenant_id: str, device: DeviceSummary, existing: Any) -> dict[str, Any]:
    guess = device.os
    names: builtins.list[str] = builtins.list(existing.names or []) if existing is not None else []
    if device.hostname and device.hostname not in names:
        names = [*names, device.hostname][-MAX_NAMES:]
    return {
        "id": new_id(),
        "tenant_id": tenant_id,
        "device_key": device.key,
        "ip": device.ip,
        "mac": device.mac,
        "hostname": device.hostname,
        "names": names or None,
        "vendor": device.vendor,
        "private_mac": device.private_mac,
        "device_class": device.device_class,
        "os": f"{guess.family} {guess.version or ''}".strip()[:128] if guess else None,
        "os_family": guess.family[:64] if guess else None,
        "os_version": (guess.version or "")[:64] or None if guess else None,
        "os_evidence": (
            {"source": guess.source, "detail": guess.detail[:200], "confidence": guess.confidence}
            if guess
            else None
        ),
        "os_confidence": guess.confidence if guess else 0,
        "first_seen": device.first_seen,
        "last_seen": device.last_seen,
        "approved": False,
    }


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


def _record(row: RowMapping) -> AssetRecord:
    names = row["names"]
    evidence = row["os_evidence"]
    return AssetRecord(
        id=row["id"],
        tenant_id=row["tenant_id"],
        device_key=row["device_key"],
        ip=row["ip"],
        mac=row["mac"],
        hostname=row["hostname"],
        names=tuple(str(n) for n in names) if isinstance(names, builtins.list) else (),
        vendor=row["vendor"],
        private_mac=bool(row["private_mac"]),
        device_class=row["device_class"],
        os_family=row["os_family"],
        os_version=row["os_version"],
        os_evidence=evidence if isinstance(evidence, dict) else None,
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        approved=bool(row["approved"]),
        approved_at=row["approved_at"],
        approved_by=row["approved_by"],
    )
