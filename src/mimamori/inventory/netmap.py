"""The network map: a tenant's devices grouped by subnet, its gateway, and the external services they use.

Pure: built from inventory rows the service reads. The structure is JSON-able for the portal to draw::

    {"tenant_id": ..., "generated_at": ISO-8601,
     "gateway": {"name": "FGT60F-...", "kind": "utm"} | None,
     "subnets": [{"cidr": "192.168.1.0/24", "devices": [device, ...]}, ...],
     "services": [{"destination": "outlook.office365.com", "port": 443, "count": n, "devices": k}, ...],
     "summary": {"devices": n, "unapproved": n, "unknown_vendor": n, "eol_os": n, "private_mac": n}}

A device: ``{"id", "ip", "mac", "hostname", "vendor", "device_class", "os", "approved", "last_seen",
"flags": [...], "services": [{"destination", "port", "count"}, ...]}``; flags are ``unapproved``,
``unknown_vendor``, ``private_mac`` and ``eol_os``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mimamori.inventory.eol import is_eol

SUBNET_PREFIX_V4 = 24  # devices are grouped by /24 (IPv4) ...
SUBNET_PREFIX_V6 = 64  # ... and /64 (IPv6)
TOP_SERVICES = 10  # external services shown per device
TOP_TENANT_SERVICES = 30  # external services shown for the whole tenant
NO_ADDRESS = "unknown"  # the group of devices known only by name


@dataclass(frozen=True, slots=True)
class MapDevice:
    """What the map needs of one device (the service fills it from storage)."""

    id: str
    ip: str | None
    mac: str | None
    hostname: str | None
    vendor: str | None
    private_mac: bool
    device_class: str | None
    os_family: str | None
    os_version: str | None
    approved: bool
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class MapService:
    """One external service of one device."""

    device_id: str
    destination: str
    port: int
    count: int


def subnet_of(ip: str | None) -> str:
    """The /24 (or /64) a LAN address belongs to; ``unknown`` without a valid address."""
    if not ip:
        return NO_ADDRESS
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return NO_ADDRESS
    prefix = SUBNET_PREFIX_V4 if address.version == 4 else SUBNET_PREFIX_V6
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def flags(device: MapDevice) -> list[str]:
    """What the portal should draw attention to."""
    out = []
    if not device.approved:
        out.append("unapproved")
    if device.private_mac:
        out.append("private_mac")
    elif device.mac and not device.vendor:
        out.append("unknown_vendor")
    if is_eol(device.os_family, device.os_version):
        out.append("eol_os")
    return out


def _sort_key(subnet: str) -> tuple[int, Any]:
    try:
        network = ipaddress.ip_network(subnet)
    except ValueError:
        return (2, subnet)
    return (network.version - 4, int(network.network_address))


def network_map(
    tenant_id: str,
    devices: Sequence[MapDevice],
    services: Iterable[MapService],
    *,
    gateway: Mapping[str, Any] | None,
    generated_at: datetime,
) -> dict[str, Any]:
    """The map structure (see the module docstring)."""
    by_device: dict[str, list[MapService]] = {}
    totals: dict[tuple[str, int], list[int]] = {}  # → [count, devices]
    for service in services:
        by_device.setdefault(service.device_id, []).append(service)
        total = totals.setdefault((service.destination, service.port), [0, 0])
        total[0] += service.count
        total[1] += 1
    subnets: dict[str, list[dict[str, Any]]] = {}
    summary = {"devices": 0, "unapproved": 0, "unknown_vendor": 0, "eol_os": 0, "private_mac": 0}
    for device in devices:
        marks = flags(device)
        summary["devices"] += 1
        for mark in marks:
            summary[mark] += 1
        used = sorted(by_device.get(device.id, []), key=lambda s: (-s.count, s.destination))[:TOP_SERVICES]
        subnets.setdefault(subnet_of(device.ip), []).append(
            {
                "id": device.id,
                "ip": device.ip,
                "mac": device.mac,
                "hostname": device.hostname,
                "vendor": device.vendor,
                "device_class": device.device_class or "unknown",
                "os": {"family": device.os_family, "version": device.os_version},
                "approved": device.approved,
                "last_seen": device.last_seen.isoformat() if device.last_seen else None,
                "flags": marks,
                "services": [{"destination": s.destination, "port": s.port, "count": s.count} for s in used],
            }
        )
    top = sorted(totals.items(), key=lambda item: (-item[1][0], item[0]))[:TOP_TENANT_SERVICES]
    return {
        "tenant_id": tenant_id,
        "generated_at": generated_at.isoformat(),
        "gateway": dict(gateway) if gateway else None,
        "subnets": [
            {"cidr": cidr, "devices": sorted(members, key=lambda d: (d["ip"] or "", d["id"]))}
            for cidr, members in sorted(subnets.items(), key=lambda item: _sort_key(item[0]))
        ],
        "services": [
            {"destination": dest, "port": port, "count": count, "devices": hosts}
            for (dest, port), (count, hosts) in top
        ],
        "summary": summary,
    }
