"""Indicator sightings and observed values: per-tenant, per-day aggregates written by the pipeline.

Both are upserts that add counts and widen the first/last times, so a batch never writes a row per event
and two workers racing on one key cannot lose an increment. The retro-hunt scan of observed values is the
one provider-wide read (``stream_across_tenants``): new indicators are checked against every tenant.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Table, delete, func, select

from mimamori.storage.dialect import greatest, insert_for, least
from mimamori.storage.scoping import scoped
from mimamori.storage.tables import indicator_sightings, observed_values

SCAN_CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class Observation:
    """One aggregate: a value (or, for sightings, an indicator) seen by a tenant on one UTC day."""

    tenant_id: str
    day: date
    type: str
    value: str
    first_seen: datetime
    last_seen: datetime
    count: int
    device: str | None = None
    allowed: bool = True


def _upsert(connection: Connection, table: Table, rows: Sequence[Observation], observed: bool) -> None:
    if not rows:
        return
    insert = insert_for(connection, table)
    new = insert.excluded
    changes = {
        "count": table.c.count + new.count,
        "first_seen": least(connection, table.c.first_seen, new.first_seen),
        "last_seen": greatest(connection, table.c.last_seen, new.last_seen),
    }
    if observed:
        changes["allowed"] = table.c.allowed | new.allowed
        changes["device"] = func.coalesce(table.c.device, new.device)
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.tenant_id, table.c.day, table.c.type, table.c.value], set_=changes
    )
    payload = []
    for o in sorted(rows, key=lambda o: (o.tenant_id, o.day, o.type, o.value)):  # stable lock order
        item = {
            "tenant_id": o.tenant_id,
            "day": o.day,
            "type": o.type,
            "value": o.value[:2048],
            "first_seen": o.first_seen,
            "last_seen": o.last_seen,
            "count": o.count,
        }
        if observed:
            item["device"] = o.device[:64] if o.device else None
            item["allowed"] = o.allowed
        payload.append(item)
    connection.execute(statement, payload)


class SightingRepository:
    """Indicator matches per (tenant, day, indicator)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def record(self, rows: Sequence[Observation]) -> None:
        _upsert(self._connection, indicator_sightings, rows, observed=False)

    def list(self, tenant_id: str, since: date) -> builtins.list[Observation]:
        t = indicator_sightings
        query = select(t).where(scoped(t, tenant_id), t.c.day >= since).order_by(t.c.day, t.c.value)
        return [_observation(row._mapping) for row in self._connection.execute(query)]

    def keys_across_tenants(self, since: date) -> set[tuple[str, date, str, str]]:
        """Provider-wide: (tenant, day, type, value) of every sighting since a day (live hits)."""
        t = indicator_sightings
        query = select(t.c.tenant_id, t.c.day, t.c.type, t.c.value).where(t.c.day >= since)
        return {(row[0], row[1], row[2], row[3]) for row in self._connection.execute(query)}

    def totals_across_tenants(self, since: date) -> dict[tuple[str, str], int]:
        """Provider-wide: how often each indicator was seen since a day (for the sharing features)."""
        t = indicator_sightings
        query = select(t.c.type, t.c.value, func.sum(t.c.count)).where(t.c.day >= since)
        query = query.group_by(t.c.type, t.c.value)
        return {(row[0], row[1]): int(row[2]) for row in self._connection.execute(query)}


class ObservationRepository:
    """Observed values per (tenant, day, type, value), for retro-hunting."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def record(self, rows: Sequence[Observation]) -> None:
        _upsert(self._connection, observed_values, rows, observed=True)

    def list(self, tenant_id: str, since: date) -> builtins.list[Observation]:
        t = observed_values
        query = select(t).where(scoped(t, tenant_id), t.c.day >= since).order_by(t.c.day, t.c.value)
        return [_observation(row._mapping) for row in self._connection.execute(query)]

    def stream_across_tenants(self, since: date) -> Iterator[Observation]:
        """Provider-wide: every observation since a day, in chunks (the retro-hunt scan)."""
        query = select(observed_values).where(observed_values.c.day >= since)
        result = self._connection.execute(query, execution_options={"yield_per": SCAN_CHUNK})
        for row in result:
            yield _observation(row._mapping)

    def prune(self, before: date) -> int:
        """Forget observations older than the retro-hunt window; how many rows went."""
        statement = delete(observed_values).where(observed_values.c.day < before)
        return self._connection.execute(statement).rowcount

    def prune_sightings(self, before: date) -> int:
        statement = delete(indicator_sightings).where(indicator_sightings.c.day < before)
        return self._connection.execute(statement).rowcount


def _observation(row: object) -> Observation:
    m = row  # a RowMapping
    return Observation(
        tenant_id=m["tenant_id"],  # type: ignore[index]
        day=m["day"],  # type: ignore[index]
        type=m["type"],  # type: ignore[index]
        value=m["value"],  # type: ignore[index]
        first_seen=m["first_seen"],  # type: ignore[index]
        last_seen=m["last_seen"],  # type: ignore[index]
        count=int(m["count"]),  # type: ignore[index]
        device=m.get("device"),  # type: ignore[attr-defined]
        allowed=bool(m.get("allowed", True)),  # type: ignore[attr-defined]
    )
