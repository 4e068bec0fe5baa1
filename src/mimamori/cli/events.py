"""``mimamori events``: search the event archive, compact it and apply retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import typer

from mimamori.cli.context import database, settings
from mimamori.domain.models import DEFAULT_TIMEZONE
from mimamori.errors import ValidationError
from mimamori.services import events

app = typer.Typer(help="The event archive: search, compact, prune.", no_args_is_help=True)
JAPAN = ZoneInfo(DEFAULT_TIMEZONE)


def _moment(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{name}: not an ISO 8601 time (e.g. 2026-11-26T09:00+09:00)") from None
    return moment.replace(tzinfo=JAPAN) if moment.tzinfo is None else moment


@app.command("search")
def search(
    tenant: str = typer.Option(..., "--tenant"),
    start: str | None = typer.Option(None, "--start", help="ISO 8601; without an offset: Japan time."),
    end: str | None = typer.Option(None, "--end", help="ISO 8601, exclusive (default: now)."),
    query: str | None = typer.Option(None, "--query", "-q", help="Case-insensitive text in any field."),
    filters: list[str] = typer.Option(
        [], "--filter", "-f", help=f"FIELD=VALUE, repeatable; FIELD one of: {', '.join(events.FILTER_NAMES)}"
    ),
    limit: int = typer.Option(events.DEFAULT_LIMIT, "--limit", min=1, max=events.MAX_LIMIT),
    offset: int = typer.Option(0, "--offset", min=0),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Events of one tenant in a time range (default: the last 24 hours), newest first."""
    end_at = _moment(end, "--end") or datetime.now(UTC)
    start_at = _moment(start, "--start") or end_at - timedelta(hours=24)
    given: dict[str, str] = {}
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValidationError(f"--filter {item!r}: use FIELD=VALUE")
        given[name.strip()] = value
    current = settings()
    page = events.search_events(
        current,
        database(current),
        None,
        tenant,
        start_at,
        end_at,
        text=query,
        filters=given,
        limit=limit,
        offset=offset,
    )
    if as_json:
        typer.echo(json.dumps(events.page_to_dict(page), ensure_ascii=False))
        return
    for event in page.events:
        when = event.timestamp.astimezone(JAPAN).strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(f"{when} JST {event.get('dataset') or '-'} {events.summary(event)}")
    if not page.events:
        typer.echo("no events")
    elif page.has_more:
        typer.echo(f"more: --offset {offset + limit}", err=True)


@app.command("compact")
def compact(tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant.")) -> None:
    """Merge the small part files of past days (and of today, once many piled up)."""
    report = events.compact(settings(), tenant)
    typer.echo(
        f"{report.days} days compacted, {report.files_merged} files merged, {report.rows} events, "
        f"{report.recovered} interrupted compactions recovered"
    )


@app.command("prune")
def prune() -> None:
    """Delete archived days older than MIMAMORI_ARCHIVE_RETENTION_DAYS."""
    current = settings()
    report = events.prune(current)
    typer.echo(
        f"{report.days} days deleted ({report.bytes} bytes), keeping {current.archive_retention_days} days"
    )
