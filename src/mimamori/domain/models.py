"""The nouns of mimamori as frozen dataclasses: no I/O, no framework imports.

Times are timezone-aware UTC ``datetime`` objects. Identifiers are opaque strings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

DEFAULT_TIMEZONE = "Asia/Tokyo"  # device clocks of Japanese SMEs; per sensor in its settings

Scalar = str | int | float | bool
FieldValue = Scalar | list[Scalar]
Fields = dict[str, FieldValue]


class Severity(enum.StrEnum):
    """緊急度. Ordered: ``Severity.HIGH.rank > Severity.LOW.rank``."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return {"high": 3, "medium": 2, "low": 1}[self.value]

    @property
    def label_ja(self) -> str:
        return {"high": "高", "medium": "中", "low": "低"}[self.value]


class Role(enum.StrEnum):
    """What a user may do. Provider roles work across tenants; customer roles see one tenant only."""

    PROVIDER_ADMIN = "provider_admin"
    ANALYST = "analyst"
    TECHNICIAN = "technician"
    CUSTOMER_ADMIN = "customer_admin"
    CUSTOMER_VIEWER = "customer_viewer"

    @property
    def is_provider(self) -> bool:
        return self in (Role.PROVIDER_ADMIN, Role.ANALYST, Role.TECHNICIAN)


class AlertStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Tenant:
    """An SME customer."""

    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Sensor:
    """A log source at a customer's site: a UTM, a Zeek box, an agent.

    ``format`` names the parser (a key of ``mimamori.parsers.PARSERS``). A syslog sender is recognised by
    ``source_address``; an HTTP sender by its bearer token (only its hash is stored).
    """

    id: str
    tenant_id: str
    name: str
    format: str
    source_address: str | None = None
    timezone: str = DEFAULT_TIMEZONE  # the device's clock, for logs that carry no offset
    cert_fingerprint: str | None = None  # SHA-256 (hex) of the TLS client certificate it sends with
    last_seen: datetime | None = None
    received: int = 0
    parsed: int = 0
    quarantined: int = 0
    dropped: int = 0
    silence_minutes: int | None = None  # longest silence before it counts as blind (None: default; 0: never)
    silent_since: datetime | None = None  # when its silence was notified (None: not silent)
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One log record as received, stamped with its tenant and sensor; ``data`` is the untouched bytes."""

    tenant_id: str
    sensor_id: str
    format: str
    data: bytes
    received_at: datetime
    origin: str = ""  # e.g. "syslog-tcp 192.0.2.1:5141", "http", "file:/path#123"
    timezone: str = DEFAULT_TIMEZONE  # the sensor's clock, for timestamps without an offset


# Every received record is one of these: its ``__init__`` sets the slots through their descriptors
# instead of the frozen dataclass's ``object.__setattr__`` calls (0.6 instead of 1.1 µs). Same
# signature, defaults and result; the class stays frozen (assignment raises), equal, hashable.
_RAW_SET = tuple(RawRecord.__dict__[name].__set__ for name in RawRecord.__dataclass_fields__)


def _raw_record_init(  # noqa: PLR0917 (the dataclass's own signature)
    self: RawRecord,
    tenant_id: str,
    sensor_id: str,
    format: str,
    data: bytes,
    received_at: datetime,
    origin: str = "",
    timezone: str = DEFAULT_TIMEZONE,
) -> None:
    s_tenant, s_sensor, s_format, s_data, s_received, s_origin, s_timezone = _RAW_SET
    s_tenant(self, tenant_id)
    s_sensor(self, sensor_id)
    s_format(self, format)
    s_data(self, data)
    s_received(self, received_at)
    s_origin(self, origin)
    s_timezone(self, timezone)


RawRecord.__init__ = _raw_record_init  # type: ignore[method-assign]


@dataclass(frozen=True, slots=True)
class Event:
    """A parsed record: flat, ECS-named fields (``source.ip``, ``destination.port``, ``event.outcome``...)."""

    timestamp: datetime
    tenant_id: str
    dataset: str  # e.g. "fortigate.traffic", "zeek.conn"
    fields: Fields
    sensor_id: str = ""
    # The record it came from, kept by reference (no copy of the bytes): detectors quote it as evidence.
    raw: RawRecord | None = field(default=None, compare=False, repr=False)

    def get_str(self, name: str) -> str | None:
        value = self.fields.get(name)
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Finding:
    """One detector hit on one event.

    ``key`` is the detector's own deduplication key (rule or indicator); together with tenant, host and
    time window it forms the alert fingerprint.
    """

    tenant_id: str
    detector: str
    key: str
    title: str
    severity: Severity
    timestamp: datetime
    host: str | None = None
    source_ip: str | None = None
    destination_ip: str | None = None
    description: str = ""
    tags: tuple[str, ...] = ()
    evidence: Fields = field(default_factory=dict)
    device_ip: str | None = None  # the customer's device's LAN address: the stable identity for dedup


@dataclass(frozen=True, slots=True)
class Alert:
    """Deduplicated findings: repeats raise ``count`` and ``last_seen`` instead of creating a new alert."""

    id: str
    tenant_id: str
    fingerprint: str
    detector: str
    key: str
    title: str
    severity: Severity
    first_seen: datetime
    last_seen: datetime
    count: int
    status: AlertStatus = AlertStatus.OPEN
    host: str | None = None
    source_ip: str | None = None
    destination_ip: str | None = None
    description: str = ""
    tags: tuple[str, ...] = ()
    evidence: Fields = field(default_factory=dict)
    incident_id: str | None = None


@dataclass(frozen=True, slots=True)
class Incident:
    """Alerts of one tenant grouped into one story (host and time window); grown in the triage issue."""

    id: str
    tenant_id: str
    title: str
    severity: Severity
    opened_at: datetime
    host: str | None = None
    status: AlertStatus = AlertStatus.OPEN


@dataclass(frozen=True, slots=True)
class Asset:
    """A device seen on the customer's network."""

    id: str
    tenant_id: str
    ip: str | None
    mac: str | None = None
    hostname: str | None = None
    os: str | None = None
    device_class: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    approved: bool = False


@dataclass(frozen=True, slots=True)
class User:
    """A person who logs in. Provider staff have no tenant; customer users have exactly one."""

    id: str
    email: str
    name: str
    role: Role
    tenant_id: str | None = None
    language: str = "ja"
    active: bool = True


@dataclass(frozen=True, slots=True)
class QuarantinedRecord:
    """A record its parser refused, kept with the reason for the provider to look at."""

    tenant_id: str
    sensor_id: str
    format: str
    reason: str
    data: bytes
    received_at: datetime
