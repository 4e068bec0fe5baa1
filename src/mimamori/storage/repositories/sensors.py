"""Sensors (log sources at a customer's site): registration, sender lookup and traffic counters.

Senders are authenticated before their tenant is known, so the lookups by token hash and source address are
provider-wide by necessity; they are the only unscoped reads here and are named for what they do.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection, RowMapping, bindparam, case, select, update
from sqlalchemy.exc import IntegrityError

from mimamori.domain.models import DEFAULT_TIMEZONE, Sensor
from mimamori.errors import NotFoundError, ValidationError
from mimamori.storage.dialect import insert_for
from mimamori.storage.repositories.tenants import TenantRepository
from mimamori.storage.scoping import found, scoped
from mimamori.storage.tables import new_id, sensors, utcnow


@dataclass(frozen=True, slots=True)
class Counters:
    """Traffic seen from one sensor since the last flush; ``last_seen`` is the newest record's time."""

    received: int = 0
    parsed: int = 0
    quarantined: int = 0
    dropped: int = 0
    last_seen: datetime | None = None


class SensorRepository:
    """Sensors on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(
        self,
        tenant_id: str,
        name: str,
        format: str,
        *,
        source_address: str | None = None,
        token_hash: str | None = None,
        timezone: str = DEFAULT_TIMEZONE,
        cert_fingerprint: str | None = None,
    ) -> Sensor:
        """Register a sensor; ValidationError if its address or token already belongs to another sensor.

        The duplicate check is the database's unique constraint (``ON CONFLICT DO NOTHING``), so two
        registrations racing for the same address cannot both win, and the transaction stays usable.
        """
        if not TenantRepository(self._connection).exists(tenant_id):
            raise NotFoundError(f"tenant {tenant_id} not found")
        sensor = Sensor(
            id=new_id(),
            tenant_id=tenant_id,
            name=name,
            format=format,
            source_address=source_address,
            timezone=timezone,
            cert_fingerprint=cert_fingerprint,
            created_at=utcnow(),
        )
        statement = (
            insert_for(self._connection, sensors)
            .values(
                id=sensor.id,
                tenant_id=tenant_id,
                name=name,
                format=format,
                source_address=source_address,
                token_hash=token_hash,
                timezone=timezone,
                cert_fingerprint=cert_fingerprint,
                created_at=sensor.created_at,
            )
            .on_conflict_do_nothing()
            .returning(sensors.c.id)
        )
        if self._connection.execute(statement).first() is None:
            raise ValidationError("another sensor already uses this source address, token or certificate")
        return sensor

    def get(self, tenant_id: str, sensor_id: str) -> Sensor:
        """The tenant's sensor, or NotFoundError (also for another tenant's sensor)."""
        query = select(sensors).where(scoped(sensors, tenant_id), sensors.c.id == sensor_id)
        return _sensor(found(self._connection.execute(query).first(), "sensor", sensor_id))

    def list(self, tenant_id: str) -> builtins.list[Sensor]:
        """The tenant's sensors, by name."""
        query = select(sensors).where(scoped(sensors, tenant_id)).order_by(sensors.c.name, sensors.c.id)
        return [_sensor(row._mapping) for row in self._connection.execute(query)]

    def set_token_hash(self, tenant_id: str, sensor_id: str, token_hash: str | None) -> None:
        """Replace the sensor's token hash (token rotation; None revokes HTTP access).

        NotFoundError for a missing or another tenant's sensor; ValidationError if the hash belongs to
        another sensor (checked by the unique constraint inside a savepoint, so the transaction survives).
        """
        statement = (
            update(sensors)
            .where(scoped(sensors, tenant_id), sensors.c.id == sensor_id)
            .values(token_hash=token_hash)
        )
        try:
            with self._connection.begin_nested():
                result = self._connection.execute(statement)
        except IntegrityError as error:
            raise ValidationError("another sensor already uses this token") from error
        if result.rowcount == 0:
            raise NotFoundError(f"sensor {sensor_id} not found")

    def find_by_token_hash(self, token_hash: str) -> Sensor | None:
        """Provider-wide: the sensor whose bearer token hashes to ``token_hash`` (HTTP ingest auth)."""
        query = select(sensors).where(sensors.c.token_hash == token_hash)
        row = self._connection.execute(query).first()
        return None if row is None else _sensor(row._mapping)

    def find_by_source_address(self, source_address: str) -> Sensor | None:
        """Provider-wide: the sensor sending from ``source_address`` (syslog sender recognition)."""
        query = select(sensors).where(sensors.c.source_address == source_address)
        row = self._connection.execute(query).first()
        return None if row is None else _sensor(row._mapping)

    def find_by_cert_fingerprint(self, fingerprint: str) -> Sensor | None:
        """Provider-wide: the sensor whose TLS client certificate has this SHA-256 (syslog over TLS)."""
        query = select(sensors).where(sensors.c.cert_fingerprint == fingerprint.lower())
        row = self._connection.execute(query).first()
        return None if row is None else _sensor(row._mapping)

    def list_all_routes(self) -> builtins.list[Sensor]:
        """Provider-wide: every sensor with a source address or certificate, for the receivers' tables."""
        query = (
            select(sensors)
            .where(sa.or_(sensors.c.source_address.is_not(None), sensors.c.cert_fingerprint.is_not(None)))
            .order_by(sensors.c.id)
        )
        return [_sensor(row._mapping) for row in self._connection.execute(query)]

    def all_sensors(self) -> builtins.list[Sensor]:
        """Provider-wide: every sensor of every tenant (the silent-sensor check watches them all)."""
        query = select(sensors).order_by(sensors.c.tenant_id, sensors.c.id)
        return [_sensor(row._mapping) for row in self._connection.execute(query)]

    def set_silence_minutes(self, tenant_id: str, sensor_id: str, minutes: int | None) -> None:
        """The sensor's own silence limit (None: the provider's default; 0: never counts as silent)."""
        statement = (
            update(sensors)
            .where(scoped(sensors, tenant_id), sensors.c.id == sensor_id)
            .values(silence_minutes=minutes)
        )
        if self._connection.execute(statement).rowcount == 0:
            raise NotFoundError(f"sensor {sensor_id} not found")

    def mark_silent(self, tenant_id: str, sensor_id: str, since: datetime | None) -> None:
        """Record that the sensor's silence was notified (``since``), or that it speaks again (None)."""
        statement = (
            update(sensors)
            .where(scoped(sensors, tenant_id), sensors.c.id == sensor_id)
            .values(silent_since=since)
        )
        self._connection.execute(statement)

    def add_counters(self, deltas: Mapping[str, Counters]) -> None:
        """Add traffic counters per sensor id in one ``executemany``; ``last_seen`` only moves forward.

        Keyed by the globally unique sensor id (the ingest side knows the sensor, already authenticated);
        unknown ids are ignored.
        """
        if not deltas:
            return
        new_seen = bindparam("new_seen", type_=sensors.c.last_seen.type)
        statement = (
            update(sensors)
            .where(sensors.c.id == bindparam("sensor_id"))
            .values(
                received=sensors.c.received + bindparam("d_received"),
                parsed=sensors.c.parsed + bindparam("d_parsed"),
                quarantined=sensors.c.quarantined + bindparam("d_quarantined"),
                dropped=sensors.c.dropped + bindparam("d_dropped"),
                last_seen=case(
                    (sensors.c.last_seen.is_(None), new_seen),
                    (new_seen > sensors.c.last_seen, new_seen),
                    else_=sensors.c.last_seen,
                ),
            )
        )
        parameters = [
            {
                "sensor_id": sensor_id,
                "d_received": delta.received,
                "d_parsed": delta.parsed,
                "d_quarantined": delta.quarantined,
                "d_dropped": delta.dropped,
                "new_seen": delta.last_seen,
            }
            for sensor_id, delta in sorted(deltas.items())  # one lock order for every writer: no deadlocks
        ]
        self._connection.execute(statement, parameters)


def _sensor(row: RowMapping) -> Sensor:
    return Sensor(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        format=row["format"],
        source_address=row["source_address"],
        timezone=row["timezone"],
        cert_fingerprint=row["cert_fingerprint"],
        last_seen=row["last_seen"],
        received=row["received"],
        parsed=row["parsed"],
        quarantined=row["quarantined"],
        dropped=row["dropped"],
        silence_minutes=row["silence_minutes"],
        silent_since=row["silent_since"],
        created_at=row["created_at"],
    )
