"""Device identity in storage: observations known by address only go to the device holding the address.

A device is its MAC when known (``mac:..``). A log without the MAC (most Zeek logs, EVTX with an address)
names only the LAN address; it belongs to the device that currently holds that address on the tenant's
LAN — the MAC-keyed asset with that ``ip``, the most recently seen one when several still carry it (the
row keeps the newest address, so after a DHCP move the new holder is the latest seen). An address-keyed
row (``ip:..``) written before the MAC became known is merged into the MAC's device: earliest
``first_seen``, latest ``last_seen``, union of names and services, the stronger OS evidence, approved if
either was; its services are repointed, then it is deleted. Used by ``AssetRepository``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from mimamori.inventory import DeviceSummary
from mimamori.storage.scoping import scoped
from mimamori.storage.tables import assets
from mimamori.storage.tables_inventory import asset_services

MAX_NAMES = 8  # other host names remembered per device (as in assets.py)


def address_only(device: DeviceSummary) -> bool:
    """Whether a summary knows its device by the LAN address only."""
    return device.key.startswith("ip:") and device.mac is None and bool(device.ip)


def holders(connection: Connection, tenant_id: str, ips: Iterable[str]) -> dict[str, tuple[str, str, Any]]:
    """The stored MAC-keyed device holding each address: ip → (device_key, mac, last_seen)."""
    wanted = set(ips)
    if not wanted:
        return {}
    query = (
        select(assets.c.ip, assets.c.device_key, assets.c.mac, assets.c.last_seen)
        .where(scoped(assets, tenant_id), assets.c.ip.in_(wanted), assets.c.device_key.like("mac:%"))
        .order_by(assets.c.last_seen, assets.c.id)
    )
    out: dict[str, tuple[str, str, Any]] = {}
    for row in connection.execute(query):  # ascending: the most recently seen holder wins
        out[row.ip] = (row.device_key, row.mac, row.last_seen)
    return out


def attribute(
    connection: Connection, tenant_id: str, devices: Sequence[DeviceSummary]
) -> list[DeviceSummary]:
    """The batch's summaries with every address-only one folded into the device holding its address
    (another summary of the batch or a stored device), one summary per key."""
    by_key: dict[str, DeviceSummary] = {}
    batch_holders: dict[str, DeviceSummary] = {}
    for device in devices:
        known = by_key.get(device.key)
        if known is not None:  # the same device twice (never from summarise; be safe)
            known.merge(device)
            continue
        by_key[device.key] = device
        if device.key.startswith("mac:") and device.ip:
            held = batch_holders.get(device.ip)
            if held is None or device.last_seen >= held.last_seen:
                batch_holders[device.ip] = device
    loose = [d for d in by_key.values() if address_only(d)]
    if not loose:
        return list(by_key.values())
    stored = holders(connection, tenant_id, {d.ip for d in loose if d.ip})
    for device in loose:
        ip = device.ip or ""
        target = batch_holders.get(ip)
        in_store = stored.get(ip)
        if in_store is not None and (target is None or _later(in_store[2], target.last_seen)):
            key, mac, _ = in_store
            moved = by_key.get(key)
            if moved is None:  # the holder is only stored: the facts are written under its key
                del by_key[device.key]
                by_key[key] = dataclasses.replace(device, key=key, mac=mac, services=dict(device.services))
                continue
            if not moved.ip or moved.ip == ip:
                target = moved
            # else: the stored holder moved to another address in this batch; the batch's holder stays
        if target is None:
            continue  # nobody holds the address (yet): the device stays known by it
        target.absorb(device)
        del by_key[device.key]
    return list(by_key.values())


def _later(stored: datetime | None, batch: datetime) -> bool:
    return stored is not None and stored > batch


def fold_address_rows(connection: Connection, tenant_id: str, ips: Iterable[str]) -> int:
    """Merge every stored ``ip:<ip>`` device of ``ips`` into the MAC device holding the address;
    how many were merged."""
    wanted = {ip for ip in ips if ip}
    if not wanted:
        return 0
    rows = connection.execute(
        select(assets.c.id, assets.c.ip).where(
            scoped(assets, tenant_id), assets.c.device_key.in_({f"ip:{ip}" for ip in wanted})
        )
    ).all()
    if not rows:
        return 0
    stored = holders(connection, tenant_id, {row.ip for row in rows})
    merged = 0
    for row in rows:
        holder = stored.get(row.ip)
        if holder is None:
            continue
        target = connection.execute(
            select(assets.c.id).where(scoped(assets, tenant_id), assets.c.device_key == holder[0])
        ).scalar_one()
        merge(connection, tenant_id, row.id, target)
        merged += 1
    return merged


def merge(connection: Connection, tenant_id: str, source_id: str, target_id: str) -> bool:
    """Merge the tenant's device ``source_id`` into ``target_id`` and delete it; False if either is not
    the tenant's (or they are the same)."""
    if source_id == target_id:
        return False
    where = scoped(assets, tenant_id)
    found = {
        row.id: row._mapping
        for row in connection.execute(select(assets).where(where, assets.c.id.in_([source_id, target_id])))
    }
    source, target = found.get(source_id), found.get(target_id)
    if source is None or target is None:
        return False
    connection.execute(
        update(assets).where(where, assets.c.id == target_id).values(**_merged(source, target))
    )
    _move_services(connection, tenant_id, source_id, target_id)
    connection.execute(delete(assets).where(where, assets.c.id == source_id))
    return True


def _merged(source: Any, target: Any) -> dict[str, Any]:
    names = [str(n) for n in (target["names"] or []) if isinstance(n, str)]
    for name in [*(source["names"] or []), source["hostname"]]:
        if isinstance(name, str) and name and name not in names:
            names.append(name)
    values: dict[str, Any] = {
        "first_seen": _pick(min, source["first_seen"], target["first_seen"]),
        "last_seen": _pick(max, source["last_seen"], target["last_seen"]),
        "ip": target["ip"] or source["ip"],
        "hostname": target["hostname"] or source["hostname"],
        "names": names[-MAX_NAMES:] or None,
        "vendor": target["vendor"] or source["vendor"],
        "private_mac": bool(target["private_mac"] or source["private_mac"]),
        "device_class": (
            target["device_class"]
            if target["device_class"] not in (None, "unknown")
            else source["device_class"] or target["device_class"]
        ),
    }
    if (source["os_confidence"] or 0) > (target["os_confidence"] or 0):
        for column in ("os", "os_family", "os_version", "os_evidence", "os_confidence"):
            values[column] = source[column]
    if not target["approved"] and source["approved"]:
        values.update(approved=True, approved_at=source["approved_at"], approved_by=source["approved_by"])
    return values


def _pick(choose: Any, a: datetime | None, b: datetime | None) -> datetime | None:
    present = [v for v in (a, b) if v is not None]
    return choose(present) if present else None


def _move_services(connection: Connection, tenant_id: str, source_id: str, target_id: str) -> None:
    where = scoped(asset_services, tenant_id)
    mine = {
        (row.destination, row.port): row
        for row in connection.execute(
            select(asset_services).where(where, asset_services.c.asset_id == target_id)
        )
    }
    for row in connection.execute(
        select(asset_services).where(where, asset_services.c.asset_id == source_id)
    ).all():
        same = mine.get((row.destination, row.port))
        if same is None:
            connection.execute(
                update(asset_services).where(where, asset_services.c.id == row.id).values(asset_id=target_id)
            )
            continue
        connection.execute(
            update(asset_services)
            .where(where, asset_services.c.id == same.id)
            .values(
                count=same._mapping["count"] + row._mapping["count"],  # Row.count is tuple.count
                first_seen=min(same.first_seen, row.first_seen),
                last_seen=max(same.last_seen, row.last_seen),
            )
        )
        connection.execute(delete(asset_services).where(where, asset_services.c.id == row.id))
