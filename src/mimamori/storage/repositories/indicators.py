"""Threat-intelligence indicators, the feeds that deliver them and the allowlist.

Indicators and feeds are provider content, not customer data: they have no tenant and their reads are
provider-wide by nature. Allowlist entries are either provider-wide (``tenant_id`` NULL) or one tenant's;
the tenant's reads go through ``scoped``. Indicator rows are handed out as plain tuples, not objects:
loading a million of them into the detector is the hot path and an object per row doubles its time.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, delete, func, select, tuple_, update

from mimamori.errors import NotFoundError
from mimamori.storage.dialect import insert_for
from mimamori.storage.scoping import scoped
from mimamori.storage.tables import indicator_allowlist, indicator_feeds, indicators, new_id, utcnow

LOAD_CHUNK = 50_000  # rows fetched per round trip when streaming the whole table
WRITE_CHUNK = 5_000  # rows per executemany
DELETE_CHUNK = 500  # keys per DELETE ... WHERE (type, value) IN (...)

EPOCH_CACHE = 10_000  # distinct expiry stamps remembered while loading (a feed refresh shares one)
# (type, value, source, threat, confidence, tlp, expires (epoch seconds), description)
LoadRow = tuple[str, str, str, str, int, str, float | None, str]
# (type, value, source, threat, confidence, tlp, expires_at, description, first_seen, last_seen)
IndicatorRow = tuple[str, str, str, str, int, str, datetime | None, str, datetime | None, datetime | None]


@dataclass(frozen=True, slots=True)
class FeedRecord:
    """A configured feed and its fetch state."""

    name: str
    format: str
    url: str
    options: dict[str, str]
    enabled: bool
    etag: str | None = None
    last_modified: str | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    indicator_count: int = 0


@dataclass(frozen=True, slots=True)
class AllowEntry:
    id: str
    tenant_id: str | None  # None: provider-wide
    type: str
    value: str
    reason: str
    created_at: datetime


class IndicatorRepository:
    """Indicator rows on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def keys(self, source: str) -> set[tuple[str, str]]:
        """The (type, value) pairs a source lists now."""
        query = select(indicators.c.type, indicators.c.value).where(indicators.c.source == source)
        return {(row[0], row[1]) for row in self._connection.execute(query)}

    def upsert(self, source: str, rows: Sequence[IndicatorRow]) -> None:
        """Insert or refresh ``rows`` (their own ``source`` field is ignored: ``source`` is used)."""
        now = utcnow()
        insert = insert_for(self._connection, indicators)
        new = insert.excluded
        statement = insert.on_conflict_do_update(
            index_elements=[indicators.c.source, indicators.c.type, indicators.c.value],
            set_={
                name: getattr(new, name)
                for name in (
                    "threat",
                    "description",
                    "confidence",
                    "tlp",
                    "first_seen",
                    "last_seen",
                    "expires_at",
                    "updated_at",
                )
            },
        )
        for start in range(0, len(rows), WRITE_CHUNK):
            chunk = rows[start : start + WRITE_CHUNK]
            self._connection.execute(
                statement,
                [
                    {
                        "source": source,
                        "type": r[0],
                        "value": r[1],
                        "threat": r[3][:200],
                        "confidence": r[4],
                        "tlp": r[5][:16],
                        "expires_at": r[6],
                        "description": r[7][:500],
                        "first_seen": r[8],
                        "last_seen": r[9],
                        "updated_at": now,
                    }
                    for r in chunk
                ],
            )

    def remove(self, source: str, keys: Iterable[tuple[str, str]]) -> int:
        """Delete some (type, value) pairs of a source; how many went."""
        pending = list(keys)
        removed = 0
        for start in range(0, len(pending), DELETE_CHUNK):
            chunk = pending[start : start + DELETE_CHUNK]
            statement = delete(indicators).where(
                indicators.c.source == source, tuple_(indicators.c.type, indicators.c.value).in_(chunk)
            )
            removed += self._connection.execute(statement).rowcount
        return removed

    def remove_source(self, source: str) -> int:
        return self._connection.execute(delete(indicators).where(indicators.c.source == source)).rowcount

    def stream(self) -> Iterator[IndicatorRow]:
        """Every indicator row, fetched in chunks (the detector's load)."""
        query = select(
            indicators.c.type,
            indicators.c.value,
            indicators.c.source,
            indicators.c.threat,
            indicators.c.confidence,
            indicators.c.tlp,
            indicators.c.expires_at,
            indicators.c.description,
            indicators.c.first_seen,
            indicators.c.last_seen,
        )
        result = self._connection.execute(query, execution_options={"yield_per": LOAD_CHUNK})
        for row in result:
            yield tuple(row)

    def load_rows(self) -> Iterator[LoadRow]:
        """Every indicator as ``(type, value, source, threat, confidence, tlp, expires, description)`` with
        ``expires`` in epoch seconds (None: never), straight from the driver: the detector's start-up path,
        where SQLAlchemy's per-row result processing was most of the time for a million rows."""
        statement = (
            "SELECT type, value, source, threat, confidence, tlp, expires_at, description FROM indicators"
        )
        sqlite = self._connection.dialect.name == "sqlite"
        epochs: dict[object, float] = {}
        result = self._connection.exec_driver_sql(statement, execution_options={"yield_per": LOAD_CHUNK})
        for kind, value, source, threat, confidence, tlp, expires, description in result:
            if expires is None:
                yield kind, value, source, threat, confidence, tlp, None, description
                continue
            epoch = epochs.get(expires)
            if epoch is None:
                if len(epochs) > EPOCH_CACHE:
                    epochs.clear()
                stamp = datetime.fromisoformat(expires) if sqlite else expires
                epoch = epochs[expires] = (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
            yield kind, value, source, threat, confidence, tlp, epoch, description

    def find(self, kind: str, value: str) -> builtins.list[IndicatorRow]:
        """Every source's row for one value (``mimamori feeds lookup``)."""
        query = select(
            indicators.c.type,
            indicators.c.value,
            indicators.c.source,
            indicators.c.threat,
            indicators.c.confidence,
            indicators.c.tlp,
            indicators.c.expires_at,
            indicators.c.description,
            indicators.c.first_seen,
            indicators.c.last_seen,
        ).where(indicators.c.type == kind, indicators.c.value == value)
        return [tuple(row) for row in self._connection.execute(query)]

    def stamp(self) -> str:
        """A cheap fingerprint of the table's content (row count and newest change): every write either
        changes the count or refreshes ``updated_at``, so an unchanged stamp means an unchanged table."""
        count, newest = self._connection.execute(
            select(func.count(), func.max(indicators.c.updated_at)).select_from(indicators)
        ).one()
        return f"{int(count)}:{newest.isoformat() if newest is not None else '-'}"

    def count_by_source(self) -> dict[str, int]:
        query = select(indicators.c.source, func.count()).group_by(indicators.c.source)
        return {row[0]: int(row[1]) for row in self._connection.execute(query)}

    def prune_expired(self, now: datetime) -> int:
        """Delete indicators whose expiry has passed; how many went."""
        statement = delete(indicators).where(
            and_(indicators.c.expires_at.is_not(None), indicators.c.expires_at <= now)
        )
        return self._connection.execute(statement).rowcount


class FeedRepository:
    """Feed definitions and fetch state."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def put(self, name: str, format: str, url: str, options: dict[str, str], *, enabled: bool = True) -> None:
        """Create or redefine a feed (its fetch state is reset when its address or format changes)."""
        insert = insert_for(self._connection, indicator_feeds).values(
            name=name, format=format, url=url, options=options, enabled=enabled, created_at=utcnow()
        )
        statement = insert.on_conflict_do_update(
            index_elements=[indicator_feeds.c.name],
            set_={
                "format": insert.excluded.format,
                "url": insert.excluded.url,
                "options": insert.excluded.options,
                "enabled": insert.excluded.enabled,
                "etag": None,
                "last_modified": None,
            },
        )
        self._connection.execute(statement)

    def get(self, name: str) -> FeedRecord:
        row = self._connection.execute(select(indicator_feeds).where(indicator_feeds.c.name == name)).first()
        if row is None:
            raise NotFoundError(f"feed {name} not found")
        return _feed(row._mapping)

    def list(self) -> builtins.list[FeedRecord]:
        query = select(indicator_feeds).order_by(indicator_feeds.c.name)
        return [_feed(row._mapping) for row in self._connection.execute(query)]

    def record_attempt(
        self,
        name: str,
        *,
        error: str | None,
        success: bool,
        count: int | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """Store the outcome of one fetch; an error leaves the last success and the counts untouched."""
        now = utcnow()
        values: dict[str, Any] = {"last_attempt_at": now, "last_error": error}
        if success:
            values["last_success_at"] = now
            if count is not None:
                values["indicator_count"] = count
            if etag is not None or last_modified is not None:
                values["etag"] = etag
                values["last_modified"] = last_modified
        self._connection.execute(
            update(indicator_feeds).where(indicator_feeds.c.name == name).values(**values)
        )

    def remove(self, name: str) -> bool:
        statement = delete(indicator_feeds).where(indicator_feeds.c.name == name)
        return self._connection.execute(statement).rowcount == 1


def _feed(row: RowMapping) -> FeedRecord:
    return FeedRecord(
        name=row["name"],
        format=row["format"],
        url=row["url"],
        options={str(k): str(v) for k, v in (row["options"] or {}).items()},
        enabled=bool(row["enabled"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_attempt_at=row["last_attempt_at"],
        last_success_at=row["last_success_at"],
        last_error=row["last_error"],
        indicator_count=int(row["indicator_count"]),
    )


class AllowlistRepository:
    """Allowlist entries: provider-wide ones have no tenant; a tenant's are read through ``scoped``."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, tenant_id: str | None, kind: str, value: str, reason: str) -> AllowEntry:
        entry = AllowEntry(new_id(), tenant_id, kind, value, reason, utcnow())
        self._connection.execute(
            indicator_allowlist.insert().values(
                id=entry.id,
                tenant_id=tenant_id,
                type=kind,
                value=value,
                reason=reason,
                created_at=entry.created_at,
            )
        )
        return entry

    def list_provider(self) -> builtins.list[AllowEntry]:
        """The provider-wide entries."""
        query = select(indicator_allowlist).where(indicator_allowlist.c.tenant_id.is_(None))
        return [_allow(row._mapping) for row in self._connection.execute(query.order_by("created_at"))]

    def list(self, tenant_id: str) -> builtins.list[AllowEntry]:
        """One tenant's own entries."""
        query = select(indicator_allowlist).where(scoped(indicator_allowlist, tenant_id))
        return [_allow(row._mapping) for row in self._connection.execute(query.order_by("created_at"))]

    def list_across_tenants(self) -> builtins.list[AllowEntry]:
        """Every entry, provider-wide and per tenant (the detector's load)."""
        query = select(indicator_allowlist).order_by(indicator_allowlist.c.created_at)
        return [_allow(row._mapping) for row in self._connection.execute(query)]

    def remove(self, entry_id: str, tenant_id: str | None = None) -> bool:
        """Delete an entry; a tenant may only delete its own, ``None`` deletes a provider-wide one."""
        owner = (
            indicator_allowlist.c.tenant_id.is_(None)
            if tenant_id is None
            else scoped(indicator_allowlist, tenant_id)
        )
        statement = delete(indicator_allowlist).where(owner, indicator_allowlist.c.id == entry_id)
        return self._connection.execute(statement).rowcount == 1


def _allow(row: RowMapping) -> AllowEntry:
    return AllowEntry(
        row["id"], row["tenant_id"], row["type"], row["value"], row["reason"], row["created_at"]
    )
