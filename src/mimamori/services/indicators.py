"""Indicators as a product feature: the store the detector loads, manual entries, the allowlist, and
writing what the detector recorded (sightings, observed values) in the pipeline's transaction.

The database is the record. ``load_store`` builds the detector's ``IndicatorSet`` from it (plus the plain
indicator file of the data directory, the demo's list) and the allowlist; ``reload`` swaps a running
engine's store without a restart (an attribute assignment, atomic for the worker threads).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson

from mimamori.config import Settings
from mimamori.detection import DetectionEngine
from mimamori.detection.indicators import Allowlist, Indicator, IndicatorDetector, IndicatorSet, Tally
from mimamori.detection.indicators import values as v
from mimamori.detection.indicators.recorder import Key
from mimamori.detection.indicators.store import NEVER, Meta, read_file
from mimamori.errors import NotFoundError, ValidationError
from mimamori.feeds import FeedEntry
from mimamori.storage import Database, Repositories, read_only, unit_of_work
from mimamori.storage.repositories import AllowEntry, Observation
from mimamori.storage.repositories.indicators import IndicatorRow, LoadRow

log = logging.getLogger(__name__)

MANUAL = "manual"  # the source name of the provider's own entries
FILE_SOURCE = "file"  # the plain indicator file in the data directory (the demo's list)
DEFAULT_CONFIDENCE = 50
DEFAULT_TTL_DAYS = 30  # a feed's indicator without its own expiry stops matching this long after a fetch
DEFAULT_RETROHUNT_DAYS = 30
SNAPSHOT_NAME = "indicators.snapshot.json"
SNAPSHOT_FORMAT = 1


def setting(settings: Settings | None, name: str, default: int) -> int:
    """A setting this feature needs that ``config.Settings`` may not declare yet (see docs/indicators.md)."""
    value = getattr(settings, name, default) if settings is not None else default
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@dataclass(frozen=True, slots=True)
class Converted:
    rows: list[IndicatorRow]
    errors: list[str]
    error_count: int


def convert(
    entries: Iterable[FeedEntry], source: str, *, ttl_days: int | None, now: datetime | None = None
) -> Converted:
    """Normalise feed entries into storable rows; a value that does not normalise is an error string."""
    now = now or datetime.now(UTC)
    default_expiry = now + timedelta(days=ttl_days) if ttl_days else None
    rows: dict[tuple[str, str], IndicatorRow] = {}
    errors: list[str] = []
    error_count = 0
    for entry in entries:
        try:
            kind, value = v.normalise(entry.type or v.guess(entry.value), entry.value)
        except ValueError as exc:
            error_count += 1
            if len(errors) < 100:
                errors.append(str(exc)[:300])
            continue
        confidence = DEFAULT_CONFIDENCE if entry.confidence is None else entry.confidence
        rows[(kind, value)] = (
            kind,
            value,
            source,
            entry.threat[:200],
            confidence,
            (entry.tlp or "clear").lower()[:16],
            entry.expires_at or default_expiry,
            entry.description[:500],
            entry.first_seen,
            entry.last_seen,
        )
    return Converted(list(rows.values()), errors, error_count)


def replace_source(uow: Repositories, source: str, rows: list[IndicatorRow]) -> set[tuple[str, str]]:
    """Make ``source`` list exactly ``rows``; returns the (type, value) pairs it did not list before."""
    existing = uow.indicators.keys(source)
    incoming = {(r[0], r[1]) for r in rows}
    uow.indicators.upsert(source, rows)
    gone = existing - incoming
    if gone:
        uow.indicators.remove(source, gone)
    return incoming - existing


# -- loading the detector's store ---------------------------------------------------------------------
def _store_rows(rows: Iterable[LoadRow], now: float) -> Iterator[tuple[str, str, Meta]]:
    for kind, value, source, threat, confidence, tlp, expires, description in rows:
        if expires is not None and expires <= now:
            continue  # expired: not worth memory
        yield (
            kind,
            value,
            (source, threat, confidence, tlp, NEVER if expires is None else expires, description),
        )


def load_store(
    db: Database, settings: Settings | None = None, *, extra: Path | None = None, snapshot: Path | None = None
) -> IndicatorSet:
    """The detector's indicators: every unexpired database row, the plain file and the allowlist.

    The database rows come from the snapshot file (``indicators.snapshot.json`` in the data directory)
    when its stamp still matches the table, else from the database, and the snapshot is rewritten: a
    million rows load in a fraction of the time (see docs/indicators.md).
    """
    started = time.perf_counter()
    now = time.time()
    path = extra or (settings.indicators_path if settings is not None else None)
    if snapshot is None and settings is not None:
        snapshot = settings.data_dir / SNAPSHOT_NAME
    file_rows: list[tuple[str, str, Meta]] = []
    if path is not None and path.exists():
        found, errors = read_file(path)
        for error in errors[:20]:
            log.warning("indicator file: %s", error)
        file_rows = [(i.type, i.value, i.meta) for i in found]
    with read_only(db) as repos:
        stamp = repos.indicators.stamp()
        store = read_snapshot(snapshot, stamp, now) if snapshot is not None else None
        source = "snapshot"
        if store is None:
            source = "database"
            store = IndicatorSet.from_rows(_store_rows(repos.indicators.load_rows(), now))
            if snapshot is not None:
                write_snapshot(snapshot, store, stamp)
        allowlist = build_allowlist(repos.allowlist.list_across_tenants())
    if file_rows:
        store.add_rows(file_rows)
    store.allowlist = allowlist
    log.info("loaded %d indicators from the %s in %.1f s", len(store), source, time.perf_counter() - started)
    return store


def write_snapshot(path: Path, store: IndicatorSet, stamp: str) -> None:
    """Write the store's rows grouped by shared metadata (atomically; a failure only costs speed)."""
    groups = [
        [kind, *meta[:4], None if meta[4] == NEVER else meta[4], meta[5], values]
        for kind, meta, values in store.groups()
    ]
    data = orjson.dumps({"format": SNAPSHOT_FORMAT, "stamp": stamp, "groups": groups})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as exc:
        log.warning("indicator snapshot %s not written: %s", path, exc)


def read_snapshot(path: Path, stamp: str, now: float) -> IndicatorSet | None:
    """The store of a snapshot whose stamp matches, or None (missing, stale or damaged: use the DB)."""
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(document, dict) or document.get("format") != SNAPSHOT_FORMAT:
        return None
    if document.get("stamp") != stamp:
        return None
    store = IndicatorSet()
    try:
        for kind, source, threat, confidence, tlp, expires, description, values in document["groups"]:
            expiry = NEVER if expires is None else float(expires)
            if expiry > now:
                store.add_group(kind, (source, threat, int(confidence), tlp, expiry, description), values)
        store.finish()
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("indicator snapshot %s unusable: %s", path, exc)
        return None
    return store


def _chain(
    first: list[tuple[str, str, Meta]], rest: Iterator[tuple[str, str, Meta]]
) -> Iterator[tuple[str, str, Meta]]:
    yield from first
    yield from rest


def build_allowlist(entries: Iterable[AllowEntry]) -> Allowlist:
    provider: list[Indicator] = []
    tenants: dict[str, list[Indicator]] = {}
    for e in entries:
        item = Indicator(e.value, e.type, e.reason, source="allowlist")
        (provider if e.tenant_id is None else tenants.setdefault(e.tenant_id, [])).append(item)
    return Allowlist(
        IndicatorSet.from_indicators(provider) if provider else None,
        {tenant: IndicatorSet.from_indicators(items) for tenant, items in tenants.items()},
    )


def row_indicator(row: IndicatorRow) -> Indicator:
    kind, value, source, threat, confidence, tlp, expires, description, first, last = row
    return Indicator(value, kind, description, source, threat, confidence, tlp, first, last, expires)


def detectors(engine: DetectionEngine) -> list[IndicatorDetector]:
    return [d for d in engine.detectors if isinstance(d, IndicatorDetector)]


def reload(engine: DetectionEngine, db: Database, settings: Settings | None = None) -> int:
    """Swap a running engine's indicators for a fresh load (after a feed update); returns the count."""
    store = load_store(db, settings)
    for detector in detectors(engine):
        detector.indicators = store
    return len(store)


# -- the pipeline hook ---------------------------------------------------------------------------------
def _observations(table: dict[Key, Tally]) -> list[Observation]:
    return [
        Observation(tenant, day, kind, value, t.first, t.last, t.count, t.device, t.allowed)
        for (tenant, day, kind, value), t in table.items()
        if tenant
    ]


def drain_due(engine: DetectionEngine, *, force: bool = False) -> tuple[list[Observation], list[Observation]]:
    """The sightings and observed values the indicator detector collected, taken from it when its
    recorder is due (every 30 s or 50,000 keys) or ``force`` (end of a file import, shutdown).

    The pipeline writes them after the batch's transaction, in transactions of their own (see
    docs/indicators.md): they are aggregates, and with SQLite one long write would stop every other
    pipeline process for its length.
    """
    sightings: list[Observation] = []
    observations: list[Observation] = []
    for detector in detectors(engine):
        if not force and not detector.recorder.due():
            continue
        seen, observed = detector.recorder.drain()
        sightings.extend(_observations(seen))
        observations.extend(_observations(observed))
    return sightings, observations


def record(uow: Repositories, engine: DetectionEngine, *, force: bool = False) -> None:
    """Write what :func:`drain_due` takes, in the caller's transaction."""
    sightings, observations = drain_due(engine, force=force)
    if sightings:
        uow.sightings.record(sightings)
    if observations:
        uow.observations.record(observations)


# -- manual entries and the allowlist -----------------------------------------------------------------
def add_manual(
    db: Database,
    kind: str,
    value: str,
    *,
    threat: str = "",
    description: str = "",
    confidence: int = 80,
    tlp: str = "amber",
    expires_at: datetime | None = None,
) -> tuple[str, str]:
    """Add (or update) one of the provider's own indicators; returns its normalised (type, value)."""
    try:
        kind, value = v.normalise(kind or v.guess(value), value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    now = datetime.now(UTC)
    row: IndicatorRow = (kind, value, MANUAL, threat, confidence, tlp, expires_at, description, now, now)
    with unit_of_work(db) as uow:
        uow.indicators.upsert(MANUAL, [row])
    return kind, value


def remove_manual(db: Database, kind: str, value: str) -> None:
    try:
        kind, value = v.normalise(kind or v.guess(value), value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    with unit_of_work(db) as uow:
        if not uow.indicators.remove(MANUAL, [(kind, value)]):
            raise NotFoundError(f"no manual indicator {kind}:{value}")


def lookup(db: Database, kind: str, value: str) -> list[IndicatorRow]:
    try:
        kind, value = v.normalise(kind or v.guess(value), value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    with read_only(db) as repos:
        return repos.indicators.find(kind, value)


def allow(db: Database, tenant_id: str | None, kind: str, value: str, reason: str) -> AllowEntry:
    """Allowlist a value provider-wide (``tenant_id`` None) or for one tenant; a reason is required."""
    if not reason.strip():
        raise ValidationError("an allowlist entry needs a reason")
    try:
        kind, value = v.normalise(kind or v.guess(value), value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    with unit_of_work(db) as uow:
        if tenant_id is not None and not uow.tenants.exists(tenant_id):
            raise NotFoundError(f"tenant {tenant_id} not found")
        return uow.allowlist.add(tenant_id, kind, value, reason.strip()[:500])


def disallow(db: Database, entry_id: str, tenant_id: str | None = None) -> None:
    with unit_of_work(db) as uow:
        if not uow.allowlist.remove(entry_id, tenant_id):
            raise NotFoundError(f"allowlist entry {entry_id} not found")


def allowlist(db: Database) -> list[AllowEntry]:
    with read_only(db) as repos:
        return repos.allowlist.list_across_tenants()


def housekeeping(
    db: Database, settings: Settings | None = None, *, today: date | None = None
) -> dict[str, int]:
    """Drop expired indicators and observations older than the retro-hunt window (daily is enough)."""
    today = today or datetime.now(UTC).date()
    keep = setting(settings, "retrohunt_days", DEFAULT_RETROHUNT_DAYS)
    with unit_of_work(db) as uow:
        return {
            "indicators_expired": uow.indicators.prune_expired(datetime.now(UTC)),
            "observations_pruned": uow.observations.prune(today - timedelta(days=keep)),
        }
