"""Tenants (SME customers) and their sensors: onboarding and the sender routing table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mimamori.domain import DEFAULT_TIMEZONE, QuarantinedRecord, Sensor, Tenant
from mimamori.errors import ValidationError
from mimamori.parsers import PARSERS
from mimamori.services.auth import hash_token, new_token
from mimamori.storage import Database, read_only, unit_of_work

MAX_TIMEZONE_CHARS = 64  # the longest IANA names are about 30 characters


@dataclass(frozen=True, slots=True)
class NewSensor:
    sensor: Sensor
    token: str | None  # shown once, only its hash is stored


def add_tenant(db: Database, name: str) -> Tenant:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError("a tenant name must have 1 to 200 characters")
    with unit_of_work(db) as uow:
        return uow.tenants.add(name)


def list_tenants(db: Database) -> list[Tenant]:
    with read_only(db) as uow:
        return uow.tenants.list()


def get_tenant(db: Database, tenant_id: str) -> Tenant:
    with read_only(db) as uow:
        return uow.tenants.get(tenant_id)


def add_sensor(
    db: Database,
    tenant_id: str,
    name: str,
    fmt: str,
    *,
    source_address: str | None = None,
    with_token: bool = True,
    timezone: str = DEFAULT_TIMEZONE,
    cert_fingerprint: str | None = None,
) -> NewSensor:
    """Register a log source.

    Syslog senders are recognised by source address, TLS client certificate (SHA-256 fingerprint) or the
    sensor token in the structured data; HTTP senders by the token. ``timezone`` is the device's clock,
    used for logs whose timestamps carry no offset.
    """
    if fmt not in PARSERS:
        raise ValidationError(f"unknown format {fmt!r}; known: {', '.join(sorted(PARSERS))}")
    try:
        if not timezone or len(timezone) > MAX_TIMEZONE_CHARS:
            raise ValueError(timezone)
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # "Asia" is a directory: OSError
        raise ValidationError(
            f"unknown time zone {timezone!r} (use an IANA name such as Asia/Tokyo)"
        ) from exc
    if cert_fingerprint is not None:
        cert_fingerprint = cert_fingerprint.replace(":", "").strip().lower()
        if len(cert_fingerprint) != 64 or any(c not in "0123456789abcdef" for c in cert_fingerprint):
            raise ValidationError("a certificate fingerprint is 64 hex digits (SHA-256), colons allowed")
    token = new_token() if with_token else None
    with unit_of_work(db) as uow:
        uow.tenants.get(tenant_id)
        sensor = uow.sensors.add(
            tenant_id,
            name,
            fmt,
            source_address=source_address,
            token_hash=hash_token(token) if token else None,
            timezone=timezone,
            cert_fingerprint=cert_fingerprint,
        )
    return NewSensor(sensor, token)


def get_sensor(db: Database, tenant_id: str, sensor_id: str) -> Sensor:
    with read_only(db) as uow:
        return uow.sensors.get(tenant_id, sensor_id)


def list_sensors(db: Database, tenant_id: str) -> list[Sensor]:
    with read_only(db) as uow:
        return uow.sensors.list(tenant_id)


def ensure_sensor(db: Database, tenant_id: str, name: str, fmt: str) -> Sensor:
    """The tenant's sensor of this name, created without address or token when missing (file imports)."""
    with unit_of_work(db) as uow:
        uow.tenants.get(tenant_id)
        for sensor in uow.sensors.list(tenant_id):
            if sensor.name == name and sensor.format == fmt:
                return sensor
        return uow.sensors.add(tenant_id, name, fmt)


def sensor_for_token(db: Database, token: str) -> Sensor | None:
    with read_only(db) as uow:
        return uow.sensors.find_by_token_hash(hash_token(token))


def address_routes(db: Database) -> dict[str, Sensor]:
    """Registered syslog source addresses -> their sensor, for the receivers' in-memory table."""
    with read_only(db) as uow:
        return {s.source_address: s for s in uow.sensors.list_all_routes() if s.source_address}


def certificate_routes(db: Database) -> dict[str, Sensor]:
    """Registered TLS client-certificate fingerprints -> their sensor."""
    with read_only(db) as uow:
        return {s.cert_fingerprint: s for s in uow.sensors.list_all_routes() if s.cert_fingerprint}


def rotate_token(db: Database, tenant_id: str, sensor_id: str) -> str:
    """Give a sensor a new HTTP token (the old one stops working); returns the new token once."""
    token = new_token()
    with unit_of_work(db) as uow:
        uow.sensors.set_token_hash(tenant_id, sensor_id, hash_token(token))
    return token


def revoke_token(db: Database, tenant_id: str, sensor_id: str) -> None:
    """Take a sensor's HTTP/syslog token away (a leaked token); senders using it are refused within
    ``ingest.senders.TOKEN_CACHE_S`` seconds. Address and certificate routes are unchanged."""
    with unit_of_work(db) as uow:
        uow.sensors.set_token_hash(tenant_id, sensor_id, None)


def list_quarantine(db: Database, tenant_id: str, limit: int = 100) -> list[QuarantinedRecord]:
    """Records of this tenant that no parser could read, newest first, with the reason."""
    with read_only(db) as uow:
        uow.tenants.get(tenant_id)
        return uow.quarantine.list(tenant_id, limit)


def set_silence_minutes(db: Database, tenant_id: str, sensor_id: str, minutes: int | None) -> Sensor:
    """How long the sensor may stay silent before a notification (None: the default; 0: never)."""
    if minutes is not None and not 0 <= minutes <= 7 * 24 * 60:
        raise ValidationError("silence limit: 0 (never) to 10080 minutes (a week)")
    with unit_of_work(db) as uow:
        uow.sensors.set_silence_minutes(tenant_id, sensor_id, minutes)
        return uow.sensors.get(tenant_id, sensor_id)


@dataclass(frozen=True, slots=True)
class SensorHealth:
    """One sensor as the SOC sees it: when it last sent, and whether it is silent for too long."""

    sensor: Sensor
    tenant_name: str
    limit_minutes: int  # 0: never counts as silent
    silent: bool
    silent_minutes: int | None  # how long since the last record (or since registration), when silent


def sensor_health(db: Database, default_limit_minutes: int, now: datetime) -> list[SensorHealth]:
    """Provider-wide: every sensor with its silence verdict, silent ones first (24-hour monitoring must
    see where it is blind). The verdict uses the same limits as the silent-sensor notification."""
    with read_only(db) as uow:
        names = {t.id: t.name for t in uow.tenants.list()}
        sensors = uow.sensors.all_sensors()
    found = []
    for sensor in sensors:
        limit = default_limit_minutes if sensor.silence_minutes is None else sensor.silence_minutes
        seen = sensor.last_seen or sensor.created_at
        quiet = int((now - seen).total_seconds() // 60) if seen is not None else None
        silent = limit > 0 and quiet is not None and quiet > limit
        found.append(
            SensorHealth(sensor, names.get(sensor.tenant_id, ""), limit, silent, quiet if silent else None)
        )
    return sorted(found, key=lambda h: (not h.silent, h.tenant_name, h.sensor.name))
