"""The import ledger: how far each imported file was read, so ``mimamori ingest`` resumes and never repeats.

One row per (tenant, sensor, fingerprint of the file's head). ``position`` counts the file's records already
committed; the file import advances it in the same transaction as the pipeline results of those records, so
a crash loses nothing and counts nothing twice. ``advance`` is a compare-and-set on the old position: two
processes importing the same file at once cannot both commit the same records. An EVTX file is followed by
record id instead: ``last_record_id`` (the highest id committed) and ``last_record_digest`` (that record's
digest, which tells a grown copy of the same log from a cleared or another one) move with ``position``.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, RowMapping, select, update

from mimamori.storage.dialect import insert_for
from mimamori.storage.scoping import scoped
from mimamori.storage.tables import imports, new_id, utcnow


@dataclass(frozen=True, slots=True)
class ImportEntry:
    """One ledger row: ``position`` records of ``source`` are done; ``records`` were sent to the pipeline."""

    id: str
    tenant_id: str
    sensor_id: str
    fingerprint: str
    source: str
    position: int
    records: int
    completed: bool
    updated_at: datetime
    last_record_id: int | None = None
    last_record_digest: str | None = None


def _entry(row: RowMapping) -> ImportEntry:
    return ImportEntry(
        id=row["id"],
        tenant_id=row["tenant_id"],
        sensor_id=row["sensor_id"],
        fingerprint=row["fingerprint"],
        source=row["source"],
        position=int(row["position"]),
        records=int(row["records"]),
        completed=bool(row["completed"]),
        updated_at=row["updated_at"],
        last_record_id=None if row["last_record_id"] is None else int(row["last_record_id"]),
        last_record_digest=row["last_record_digest"],
    )


class ImportRepository:
    """Ledger rows on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def find(self, tenant_id: str, sensor_id: str, fingerprint: str) -> ImportEntry | None:
        """The row of this file identity, if it was ever imported for the sensor."""
        query = select(imports).where(
            scoped(imports, tenant_id),
            imports.c.sensor_id == sensor_id,
            imports.c.fingerprint == fingerprint,
        )
        row = self._connection.execute(query).first()
        return None if row is None else _entry(row._mapping)

    def by_source(self, tenant_id: str, sensor_id: str, source: str) -> builtins.list[ImportEntry]:
        """Rows recorded under this source name (candidates for a file that grew since), newest first."""
        query = (
            select(imports)
            .where(scoped(imports, tenant_id), imports.c.sensor_id == sensor_id, imports.c.source == source)
            .order_by(imports.c.updated_at.desc(), imports.c.id)
        )
        return [_entry(row._mapping) for row in self._connection.execute(query)]

    def start(self, tenant_id: str, sensor_id: str, fingerprint: str, source: str) -> ImportEntry:
        """The row of this file identity, created at position 0 if missing (race-free upsert)."""
        statement = (
            insert_for(self._connection, imports)
            .values(
                id=new_id(),
                tenant_id=tenant_id,
                sensor_id=sensor_id,
                fingerprint=fingerprint,
                source=source,
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "sensor_id", "fingerprint"])
        )
        self._connection.execute(statement)
        entry = self.find(tenant_id, sensor_id, fingerprint)
        if entry is None:  # pragma: no cover - the row was just written or already there
            raise RuntimeError("import ledger row vanished")
        return entry

    def rekey(self, tenant_id: str, sensor_id: str, import_id: str, fingerprint: str) -> bool:
        """Give a row a new identity (its file grew past the head hashed before); False if taken.

        A concurrent writer taking the same identity in between raises ``IntegrityError`` (the unique
        constraint), which rolls the caller's transaction back: nothing is counted twice.
        """
        if self.find(tenant_id, sensor_id, fingerprint) is not None:
            return False
        statement = (
            update(imports)
            .where(scoped(imports, tenant_id), imports.c.sensor_id == sensor_id, imports.c.id == import_id)
            .values(fingerprint=fingerprint, updated_at=utcnow())
        )
        return self._connection.execute(statement).rowcount == 1

    def advance(
        self,
        tenant_id: str,
        import_id: str,
        *,
        expected: int,
        position: int,
        completed: bool,
        last_record: tuple[int, str] | None = None,
    ) -> bool:
        """Move ``position`` from ``expected`` to ``position``; False (and no change) if someone moved it.

        ``last_record`` (EVTX: the highest record id now committed and its digest) is stored with it.
        """
        values: dict[str, object] = {}
        if last_record is not None:
            values = {"last_record_id": last_record[0], "last_record_digest": last_record[1]}
        statement = (
            update(imports)
            .where(
                scoped(imports, tenant_id),
                imports.c.id == import_id,
                imports.c.position == expected,
            )
            .values(
                position=position,
                records=imports.c.records + (position - expected),
                completed=completed,
                updated_at=utcnow(),
                **values,
            )
        )
        return self._connection.execute(statement).rowcount == 1

    def list(self, tenant_id: str, limit: int = 100) -> builtins.list[ImportEntry]:
        """The tenant's most recently touched imports first."""
        query = (
            select(imports)
            .where(scoped(imports, tenant_id))
            .order_by(imports.c.updated_at.desc(), imports.c.id)
            .limit(limit)
        )
        return [_entry(row._mapping) for row in self._connection.execute(query)]
