"""Threat-intelligence feeds: configure, fetch (conditional, retried, bounded), parse, store, retro-hunt.

A feed is a named source with a format from ``mimamori.feeds.FEEDS``, an address and options; its
indicators are stored under its name, so an update replaces exactly what that feed listed. A feed that
fails (network, HTTP error, truncated or malformed body, nothing usable in it) keeps its last good data
and records the reason in ``last_error``, which ``mimamori feeds list`` and the SOC console show to the
provider. New indicators are retro-hunted over the observed values of the last N days.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mimamori.config import Settings
from mimamori.detection import DetectionEngine
from mimamori.detection.indicators import Indicator
from mimamori.errors import NotFoundError, ValidationError
from mimamori.feeds import FEEDS, FeedEntry, FeedError
from mimamori.services import indicators as ind
from mimamori.services import retrohunt
from mimamori.services.feed_fetch import (
    DEFAULT_MAX_BYTES,
    MISP_EVENTS,
    FetchError,
    Progress,
    misp_directory,
    quiet,
    read_source,
    unpack,
)
from mimamori.storage import Database, read_only, unit_of_work
from mimamori.storage.repositories import FeedRecord

log = logging.getLogger(__name__)

DEFAULT_REFRESH_MINUTES = 60


@dataclass(frozen=True, slots=True)
class FeedResult:
    """The outcome of one feed's update, for the per-feed summary."""

    name: str
    status: str  # "updated" | "not-modified" | "failed"
    indicators: int = 0
    added: int = 0
    removed: int = 0
    errors: int = 0
    retro_alerts: int = 0
    message: str = ""


# -- configuration -----------------------------------------------------------------------------------
def add_feed(db: Database, name: str, fmt: str, url: str = "", options: dict[str, str] | None = None) -> None:
    """Configure (or redefine) a feed; the format's public address is used when ``url`` is empty."""
    if fmt not in FEEDS:
        raise ValidationError(f"unknown feed format {fmt!r}; known: {', '.join(sorted(FEEDS))}")
    if not name or len(name) > 64 or name in (ind.MANUAL, ind.FILE_SOURCE):
        raise ValidationError(f"feed name {name!r} is empty, too long or reserved")
    with unit_of_work(db) as uow:
        uow.feeds.put(name, fmt, url or FEEDS[fmt].url, options or {})


def remove_feed(db: Database, name: str, *, keep_indicators: bool = False) -> None:
    with unit_of_work(db) as uow:
        if not uow.feeds.remove(name):
            raise NotFoundError(f"feed {name} not found")
        if not keep_indicators:
            uow.indicators.remove_source(name)


def list_feeds(db: Database) -> list[FeedRecord]:
    with read_only(db) as repos:
        return repos.feeds.list()


def warnings(db: Database) -> list[str]:
    """Provider-visible warnings: every enabled feed whose last attempt failed."""
    return [
        f"feed {f.name}: {f.last_error} (last good data from {f.last_success_at or 'never'})"
        for f in list_feeds(db)
        if f.enabled and f.last_error
    ]


def _parse(fmt: str, data: bytes, options: dict[str, str]) -> tuple[list[FeedEntry], int, list[str]]:
    parser = FEEDS[fmt].parse
    if fmt == "misp" and data.startswith(MISP_EVENTS):
        entries: list[FeedEntry] = []
        count, errors = 0, []
        for event in data.split(b"\n")[1:]:
            result = parser(event, options)
            entries.extend(result.entries)
            count += result.error_count
            errors.extend(result.errors[:10])
        return entries, count, errors
    result = parser(data, options)
    return result.entries, result.error_count, result.errors


# -- updating --------------------------------------------------------------------------------------------
def ingest(
    db: Database,
    source: str,
    fmt: str,
    data: bytes,
    options: dict[str, str],
    *,
    settings: Settings | None = None,
) -> tuple[FeedResult, list[Indicator]]:
    """Parse ``data`` and make ``source`` list exactly its indicators; FeedError keeps the old ones."""
    entries, error_count, errors = _parse(fmt, data, options)
    ttl = int(options.get("ttl_days", ind.setting(settings, "indicator_ttl_days", ind.DEFAULT_TTL_DAYS)))
    converted = ind.convert(entries, source, ttl_days=ttl or None)
    error_count += converted.error_count
    rows = converted.rows
    if not rows:
        reason = (errors + converted.errors)[:1]
        raise FeedError(f"no usable indicators ({error_count} errors{': ' + reason[0] if reason else ''})")
    if error_count > len(rows):
        raise FeedError(f"mostly malformed: {error_count} bad entries against {len(rows)} good ones")
    with unit_of_work(db) as uow:
        before = uow.indicators.keys(source)
        added = ind.replace_source(uow, source, rows)
    new = [ind.row_indicator(r) for r in rows if (r[0], r[1]) in added]
    removed = len(before) - (len(rows) - len(added))
    result = FeedResult(source, "updated", len(rows), len(added), max(0, removed), error_count)
    return result, new


def update_feed(
    db: Database,
    feed: FeedRecord,
    settings: Settings | None = None,
    *,
    progress: Progress = quiet,
    backoff: float = 1.0,
    hunt: bool = True,
) -> FeedResult:
    """Fetch, parse and store one feed; every failure is recorded on the feed, never raised."""
    try:
        fetched = read_source(feed, settings, progress, backoff)
        if fetched.data is None:
            with unit_of_work(db) as uow:
                uow.feeds.record_attempt(feed.name, error=None, success=True)
            return FeedResult(feed.name, "not-modified", feed.indicator_count)
        result, new = ingest(db, feed.name, feed.format, fetched.data, feed.options, settings=settings)
    except (FetchError, FeedError, OSError) as exc:
        message = str(exc)[:500] or type(exc).__name__
        log.warning("feed %s failed, keeping its last good data: %s", feed.name, message)
        with unit_of_work(db) as uow:
            uow.feeds.record_attempt(feed.name, error=message, success=False)
        return FeedResult(feed.name, "failed", feed.indicator_count, message=message)
    with unit_of_work(db) as uow:
        uow.feeds.record_attempt(
            feed.name,
            error=None,
            success=True,
            count=result.indicators,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
        )
    if hunt and new:
        hunted = retrohunt.hunt(db, new, settings)
        result = replace(result, retro_alerts=hunted.alerts_created)
    return result


def update(
    db: Database,
    settings: Settings | None = None,
    names: list[str] | None = None,
    *,
    progress: Progress = quiet,
    backoff: float = 1.0,
) -> list[FeedResult]:
    """Update every enabled feed (or the named ones, enabled or not), one after the other."""
    feeds = list_feeds(db)
    if names:
        known = {f.name: f for f in feeds}
        missing = [n for n in names if n not in known]
        if missing:
            raise NotFoundError(f"no such feed: {', '.join(missing)}")
        feeds = [known[n] for n in names]
    else:
        feeds = [f for f in feeds if f.enabled]
    return [update_feed(db, f, settings, progress=progress, backoff=backoff) for f in feeds]


def import_file(
    db: Database,
    path: Path,
    fmt: str,
    settings: Settings | None = None,
    *,
    source: str | None = None,
    options: dict[str, str] | None = None,
    hunt: bool = True,
) -> FeedResult:
    """Load a feed file offline under ``source`` (default: ``import-<file stem>``); replaces that source."""
    if fmt not in FEEDS:
        raise ValidationError(f"unknown feed format {fmt!r}; known: {', '.join(sorted(FEEDS))}")
    if not path.exists():
        raise NotFoundError(f"{path} not found")
    name = source or f"import-{path.stem}"[:64]
    max_bytes = ind.setting(settings, "indicator_max_download", DEFAULT_MAX_BYTES)
    try:
        if fmt == "misp" and path.is_dir():
            data = misp_directory(path)
        else:
            data = unpack(path.read_bytes()[: max_bytes + 1], max_bytes)
        result, new = ingest(db, name, fmt, data, options or {}, settings=settings)
    except (FeedError, OSError) as exc:
        raise ValidationError(f"{path}: {exc}") from exc
    if hunt and new:
        hunted = retrohunt.hunt(db, new, settings)
        result = replace(result, retro_alerts=hunted.alerts_created)
    return result


def refresh_due(
    db: Database, settings: Settings | None = None, *, now: datetime | None = None
) -> list[FeedResult]:
    """The scheduled job: update the enabled feeds not attempted within ``indicator_refresh_minutes``."""
    now = now or datetime.now(UTC)
    interval = timedelta(minutes=ind.setting(settings, "indicator_refresh_minutes", DEFAULT_REFRESH_MINUTES))
    due = [
        f
        for f in list_feeds(db)
        if f.enabled and (f.last_attempt_at is None or now - f.last_attempt_at >= interval)
    ]
    return [update_feed(db, f, settings) for f in due]


def scheduled_refresh(db: Database, settings: Settings | None, engine: DetectionEngine) -> list[FeedResult]:
    """The runtime's housekeeping hook: refresh due feeds and reload the detector when anything changed."""
    results = refresh_due(db, settings)
    if any(r.status == "updated" for r in results):
        ind.reload(engine, db, settings)
    return results
