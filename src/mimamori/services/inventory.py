"""The customer's device inventory and network map: recording from the pipeline, listing, approving.

``record_devices(uow, events)`` runs once per pipeline batch inside the batch's transaction: it extracts
device facts from every event (``mimamori.inventory.observe``), merges them per (tenant, device) in
memory and writes each device once. The other functions serve ``mimamori assets`` and
``/api/v1/tenants/{id}/assets``; a customer only ever sees their own tenant (another tenant's is a 404).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from mimamori.domain import Event, User
from mimamori.errors import NotFoundError, PermissionDeniedError, ValidationError
from mimamori.inventory import DeviceRecorder, DeviceSummary, OuiTable, netmap, summarise_events, use_table
from mimamori.inventory.oui import OUI_FILE, encode_table, parse_registry
from mimamori.services.alerts import visible_tenant
from mimamori.storage import Database, Repositories, read_only, unit_of_work
from mimamori.storage.repositories.assets import AssetRecord

GATEWAY_FORMATS = frozenset({"fortigate", "yamaha_rtx", "pfsense", "paloalto", "sophos", "cisco_asa"})
IEEE_OUI_URL = "https://standards-oui.ieee.org/oui/oui.csv"
MAX_OUI_BYTES = 32 * 1024 * 1024  # the IEEE CSV is ~4 MB, oui.txt ~6 MB
OUI_TIMEOUT = 60.0  # seconds
MIN_OUI_PREFIXES = 1000  # a refreshed vendor table with fewer entries is not the IEEE registry
MAP_SERVICES_PER_DEVICE = 10  # external services per device read for the map


def _now() -> datetime:
    return datetime.now(UTC)


def _scope(viewer: User | None, tenant_id: str) -> str:
    scope = visible_tenant(viewer, tenant_id)
    assert scope is not None
    return scope


def _tenant(uow: Repositories, tenant_id: str) -> None:
    if not uow.tenants.exists(tenant_id):
        raise NotFoundError("no such tenant")


def record_devices(
    uow: Repositories, events: Sequence[Event], recorder: DeviceRecorder | None = None, *, force: bool = False
) -> int:
    """Update the inventory from one batch's events, in the batch's transaction; devices written.

    Facts are merged per (tenant, device) in memory. Without ``recorder`` each device is written at once;
    with one (the pipeline keeps one), the batch is added to it and the accumulated devices are written
    only when it is due (every 30 s) or ``force`` (end of an import, shutdown), so a busy pipeline writes
    each device about twice a minute whatever its batch rate. If that transaction rolls back, the drained
    counts are lost, never counted twice.
    """
    if recorder is None:
        return _write(uow, summarise_events(events))
    recorder.add(events)
    if not force and not recorder.due():
        return 0
    return _write(uow, recorder.drain())


def drain_due(recorder: DeviceRecorder, *, force: bool = False) -> list[DeviceSummary]:
    """The device summaries the recorder accumulated, taken from it when it is due or ``force``."""
    return recorder.drain() if recorder.pending and (force or recorder.due()) else []


def write_devices(uow: Repositories, summaries: Sequence[DeviceSummary]) -> int:
    """Write device summaries (from :func:`drain_due`) in the caller's transaction; devices written."""
    return _write(uow, summaries)


def _write(uow: Repositories, summaries: Sequence[DeviceSummary]) -> int:
    by_tenant: dict[str, list[DeviceSummary]] = {}
    for summary in summaries:
        by_tenant.setdefault(summary.tenant_id, []).append(summary)
    return sum(uow.assets.record(tenant_id, devices) for tenant_id, devices in by_tenant.items())


def list_assets(db: Database, viewer: User | None, tenant_id: str) -> list[AssetRecord]:
    """The tenant's devices."""
    scope = _scope(viewer, tenant_id)
    with read_only(db) as uow:
        _tenant(uow, scope)
        return uow.assets.inventory(scope)


def approve(db: Database, viewer: User | None, tenant_id: str, asset_id: str) -> AssetRecord:
    """Mark a device as the customer's own (承認). Viewers may not; another tenant's device is a 404."""
    scope = _scope(viewer, tenant_id)
    if viewer is not None and viewer.role.value == "customer_viewer":
        raise PermissionDeniedError("viewers cannot approve devices")
    with unit_of_work(db) as uow:
        record = uow.assets.approve(scope, asset_id, by=viewer.email if viewer else "cli", at=_now())
    if record is None:
        raise NotFoundError("no such device")
    return record


def fold_addresses(db: Database, tenant_id: str | None = None) -> int:
    """Merge address-keyed devices into the MAC device holding their address, for one tenant or all
    (repairs inventories recorded before that rule; recording applies it itself); devices merged."""
    with unit_of_work(db) as uow:
        ids = [tenant_id] if tenant_id is not None else [t.id for t in uow.tenants.list()]
        return sum(uow.assets.fold_addresses(i) for i in ids)


def count_devices(db: Database, tenant_id: str, since: datetime) -> int:
    """Devices of the tenant seen since ``since``: the per-device billing count (operator use)."""
    with read_only(db) as uow:
        return uow.assets.count_active(tenant_id, since)


def network_map(db: Database, viewer: User | None, tenant_id: str) -> dict[str, Any]:
    """The tenant's network map (see ``mimamori.inventory.netmap``)."""
    scope = _scope(viewer, tenant_id)
    with read_only(db) as uow:
        _tenant(uow, scope)
        records = uow.assets.inventory(scope)
        services = uow.assets.services(scope, top=MAP_SERVICES_PER_DEVICE)
        sensors = uow.sensors.list(scope)
    gateway = next(
        ({"name": s.name, "format": s.format, "kind": "utm"} for s in sensors if s.format in GATEWAY_FORMATS),
        None,
    )
    devices = [
        netmap.MapDevice(
            id=r.id,
            ip=r.ip,
            mac=r.mac,
            hostname=r.hostname,
            vendor=r.vendor,
            private_mac=r.private_mac,
            device_class=r.device_class,
            os_family=r.os_family,
            os_version=r.os_version,
            approved=r.approved,
            last_seen=r.last_seen,
        )
        for r in records
    ]
    used = [netmap.MapService(s.asset_id, s.destination, s.port, s.count) for s in services]
    return netmap.network_map(scope, devices, used, gateway=gateway, generated_at=_now())


def asset_to_dict(record: AssetRecord) -> dict[str, Any]:
    """The JSON form of a device (the ``assets list --json`` and API contract)."""
    return {
        "id": record.id,
        "ip": record.ip,
        "mac": record.mac,
        "hostname": record.hostname,
        "names": list(record.names),
        "vendor": record.vendor,
        "private_mac": record.private_mac,
        "device_class": record.device_class or "unknown",
        "os": {
            "family": record.os_family,
            "version": record.os_version,
            "evidence": record.os_evidence,
        },
        "first_seen": record.first_seen.isoformat() if record.first_seen else None,
        "last_seen": record.last_seen.isoformat() if record.last_seen else None,
        "approved": record.approved,
        "approved_at": record.approved_at.isoformat() if record.approved_at else None,
        "approved_by": record.approved_by,
    }


def load_oui(data_dir: Path) -> int:
    """Use the data directory's vendor table (else the bundled one) in this process; prefixes loaded."""
    table = OuiTable.load(data_dir)
    use_table(table)
    return len(table)


def fetch_registry(source: str) -> bytes:
    """The IEEE registry from an https:// URL or a local file (at most ``MAX_OUI_BYTES``)."""
    if source.startswith("https://"):
        with httpx.stream("GET", source, timeout=OUI_TIMEOUT, follow_redirects=True) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_OUI_BYTES:
                    raise ValidationError("the OUI registry is larger than expected")
                chunks.append(chunk)
            return b"".join(chunks)
    if "://" in source:
        raise ValidationError("an https:// URL or a file path")
    path = Path(source)
    if path.stat().st_size > MAX_OUI_BYTES:
        raise ValidationError("the OUI registry is larger than expected")
    return path.read_bytes()


def update_oui(data_dir: Path, source: bytes) -> int:
    """Write a vendor table parsed from the IEEE registry ``source`` (CSV or oui.txt) to the data
    directory, where it wins over the bundled one; the number of prefixes."""
    table = parse_registry(source.decode("utf-8", "replace"))
    if len(table) < MIN_OUI_PREFIXES:
        raise ValidationError(f"only {len(table)} OUI prefixes: not the IEEE registry")
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / OUI_FILE
    partial = target.with_suffix(".tmp")
    partial.write_bytes(encode_table(table))
    partial.replace(target)
    use_table(OuiTable(table))
    return len(table)
