"""The nouns of the simulator: simulated tenants and devices, emitted records and the ground truth.

All are frozen dataclasses so a run can be shared between tests, the demo and the benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FORMATS = ("fortigate", "zeek")


@dataclass(frozen=True, slots=True)
class SimDevice:
    """A device on a simulated LAN, with the fields FortiGate device identification reports.

    ``device_type`` is FortiGate's ``devtype`` ("Windows PC", "iPhone", "Printer"...), ``vendor`` its
    ``srchwvendor``; ``role`` is ours: "pc", "laptop", "legacy", "server", "mail", "printer", "phone", "byod".
    """

    name: str
    ip: str
    mac: str
    os_name: str
    os_version: str
    device_type: str
    vendor: str
    role: str


@dataclass(frozen=True, slots=True)
class SimTenant:
    """One simulated SME customer: its LAN, its FortiGate and its devices (the approved inventory)."""

    index: int
    name: str
    subnet: str
    firewall_name: str
    firewall_serial: str
    devices: tuple[SimDevice, ...]
    wan_ip: str = ""

    def by_role(self, *roles: str) -> tuple[SimDevice, ...]:
        """The devices whose role is one of ``roles``, in inventory order."""
        return tuple(d for d in self.devices if d.role in roles)


@dataclass(frozen=True, slots=True)
class SimRecord:
    """One emitted log record; ``line`` carries no trailing newline, ``timestamp`` is aware UTC."""

    tenant_index: int
    format: str
    timestamp: datetime
    line: bytes


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """What a detector must find for one injected scenario on one host.

    ``detector`` names the detector expected to fire ("indicator" for the indicator matcher); ``indicator``
    is the listed indicator value (as written in ``indicators.txt``) it must match, or None.
    """

    scenario: str
    tenant_index: int
    host: str
    host_ip: str
    first_time: datetime
    detector: str
    indicator: str | None
    description: str


@dataclass(frozen=True, slots=True)
class SimRun:
    """The result of :func:`mimamori.sim.generate`: records sorted by time and the ground truth."""

    tenants: list[SimTenant]
    records: list[SimRecord]
    truth: list[GroundTruth]
