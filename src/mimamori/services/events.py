"""Event search: the SOC's "what happened at this customer between these times", over the archive.

Scoping is the same as for alerts (``alerts.visible_tenant``): another tenant's events are answered as
if the tenant did not exist. The archive itself lives in ``mimamori.archive`` (docs/archive.md).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from mimamori import archive
from mimamori.config import Settings
from mimamori.domain import User
from mimamori.errors import ValidationError
from mimamori.services.alerts import visible_tenant
from mimamori.storage import Database, read_only

log = logging.getLogger(__name__)

MAX_RANGE = timedelta(days=31)
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
FILTER_NAMES: tuple[str, ...] = tuple(archive.FILTERS)


@dataclass(frozen=True, slots=True)
class EventPage:
    tenant_id: str
    start: datetime
    end: datetime
    events: list[archive.ArchivedEvent]
    has_more: bool
    limit: int
    offset: int


def archive_root(settings: Settings) -> archive.Root:
    """Where the archive lives (``archive_url``; empty: ``data_dir/archive``). ConfigError when invalid."""
    return _root(
        settings.archive_url,
        settings.archive_dir,
        endpoint=settings.archive_s3_endpoint,
        region=settings.archive_s3_region,
        key=settings.archive_s3_access_key,
        secret=settings.archive_s3_secret_key,
    )


@functools.lru_cache(maxsize=8)
def _root(url: str, default: Path, *, endpoint: str, region: str, key: str, secret: str) -> archive.Root:
    # One file-system client per configuration: an S3 client keeps its connections for the next search.
    return archive.open_root(
        url, default, s3_endpoint=endpoint, s3_region=region, s3_access_key=key, s3_secret_key=secret
    )


def open_writer(settings: Settings) -> archive.ArchiveWriter | None:
    """The pipeline's archive writer, or None when the archive is switched off."""
    if not settings.archive_enabled:
        return None
    return archive.ArchiveWriter(
        archive_root(settings),
        flush_seconds=settings.archive_flush_seconds,
        flush_events=settings.archive_flush_events,
        max_buffered=settings.archive_max_buffered,
        background=True,  # the pipeline never waits for compression and fsync
    )


def search_events(  # noqa: PLR0917 - the agreed signature: who, which tenant, when
    settings: Settings,
    db: Database,
    viewer: User | None,
    tenant_id: str,
    start: datetime,
    end: datetime,
    *,
    text: str | None = None,
    filters: dict[str, str] | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> EventPage:
    """One tenant's archived events with ``start <= time < end``, newest first.

    ``viewer=None`` is the local operator (CLI). Limits: a range of at most 31 days, 1000 rows a page.
    """
    scope = visible_tenant(viewer, tenant_id)
    assert scope is not None
    with read_only(db) as uow:
        uow.tenants.get(scope)  # NotFoundError for an unknown tenant, like another tenant's
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationError("start and end need a time zone (e.g. 2026-11-26T09:00+09:00)")
    start, end = archive.layout.utc(start), archive.layout.utc(end)  # ValidationError when out of range
    if end <= start:
        raise ValidationError("the end must be after the start")
    if end - start > MAX_RANGE:
        raise ValidationError("an event search covers at most 31 days")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise ValidationError("offset must not be negative")
    page = archive.search(
        archive_root(settings),
        scope,
        start,
        end,
        text=text,
        filters={k: v for k, v in (filters or {}).items() if v},
        limit=limit,
        offset=offset,
    )
    return EventPage(scope, start, end, page.events, page.has_more, limit, offset)


def summary(event: archive.ArchivedEvent) -> str:
    """One line for a results table: what, from where to where."""
    parts: list[str] = []
    action = event.get("event.action")
    if action:
        parts.append(str(action))
    source, destination = event.get("source.ip"), event.get("destination.ip")
    port = event.get("destination.port")
    if source or destination:
        target = f"{destination}:{port}" if destination and port is not None else str(destination or "")
        parts.append(f"{source or '?'} → {target or '?'}")
    for name in ("dns.question.name", "url.full", "url.domain"):
        value = event.get(name)
        if value:
            parts.append(str(value))
            break
    message = event.get("message")
    if message:
        parts.append(str(message))
    return " · ".join(parts)[:300]


def event_to_dict(event: archive.ArchivedEvent) -> dict[str, Any]:
    """The scripting shape of an archived event (API and ``mimamori events search --json``)."""
    return {
        "timestamp": event.timestamp.isoformat(),
        "tenant_id": event.tenant_id,
        **event.columns,
        "summary": summary(event),
        "fields": event.fields,
        "raw": event.raw,
    }


def page_to_dict(page: EventPage) -> dict[str, Any]:
    return {
        "tenant_id": page.tenant_id,
        "start": page.start.isoformat(),
        "end": page.end.isoformat(),
        "limit": page.limit,
        "offset": page.offset,
        "has_more": page.has_more,
        "events": [event_to_dict(e) for e in page.events],
    }


def compact(settings: Settings, tenant_id: str | None = None) -> archive.CompactReport:
    """Merge small part files (``mimamori events compact`` and the runtime, hourly)."""
    return archive.compact(archive_root(settings), tenant_id=tenant_id)


def prune(settings: Settings, today: date | None = None) -> archive.PruneReport:
    """Delete archived days older than ``archive_retention_days``."""
    return archive.prune(archive_root(settings), settings.archive_retention_days, today=today)


def maintain(settings: Settings) -> None:
    """The runtime's hourly archive housekeeping: compaction, then retention."""
    merged = compact(settings)
    pruned = prune(settings)
    if merged.days or merged.recovered or pruned.days:
        log.info(
            "archive: %d days compacted (%d files), %d interrupted compactions recovered, %d days pruned",
            merged.days,
            merged.files_merged,
            merged.recovered,
            pruned.days,
        )
