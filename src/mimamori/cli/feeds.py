"""``mimamori feeds``: threat-intelligence feeds, manual indicators, the allowlist and retro-hunting."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from mimamori.cli.context import database, settings
from mimamori.errors import ValidationError
from mimamori.feeds import FEEDS
from mimamori.services import feeds, retrohunt
from mimamori.services import indicators as ind

app = typer.Typer(help="Threat-intelligence feeds and indicators.", no_args_is_help=True)


def _options(pairs: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--option needs key=value, got {pair!r}")
        options[key.strip()] = value
    return options


OPTION_HELP = "Format option key=value (repeatable): csv columns, type=, ttl_days=, header:Auth-Key=..."


@app.command("formats")
def formats_list() -> None:
    """List the feed formats."""
    for name, fmt in FEEDS.items():
        typer.echo(f"{name:16} {fmt.description}" + (f"\n{'':16} {fmt.url}" if fmt.url else ""))


@app.command("add")
def add(
    name: str,
    fmt: str = typer.Option(..., "--format", help="A format of `mimamori feeds formats`."),
    url: str = typer.Option("", "--url", help="Address or local path (default: the format's public URL)."),
    option: list[str] = typer.Option([], "--option", help=OPTION_HELP),
) -> None:
    """Configure a feed (``mimamori feeds update`` fetches it)."""
    feeds.add_feed(database(), name, fmt, url, _options(option))
    typer.echo(f"feed {name} configured")


@app.command("remove")
def remove(name: str, keep: bool = typer.Option(False, "--keep-indicators")) -> None:
    """Remove a feed and (unless --keep-indicators) the indicators it delivered."""
    feeds.remove_feed(database(), name, keep_indicators=keep)
    typer.echo(f"feed {name} removed")


@app.command("list")
def list_feeds(as_json: bool = typer.Option(False, "--json")) -> None:
    """Feeds with their state; a failing feed shows its warning."""
    found = feeds.list_feeds(database())
    if as_json:
        typer.echo(json.dumps([asdict(f) for f in found], default=str, ensure_ascii=False))
        return
    for f in found:
        state = f"WARNING {f.last_error}" if f.last_error else "ok"
        success = f"{f.last_success_at:%Y-%m-%d %H:%M}" if f.last_success_at else "never"
        typer.echo(f"{f.name}\t{f.format}\t{f.indicator_count} indicators\tlast good {success}\t{state}")
    if not found:
        typer.echo("no feeds configured (mimamori feeds add NAME --format F)")


@app.command("update")
def update(
    names: list[str] = typer.Argument(None, help="Only these feeds (default: every enabled feed)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array of per-feed results."),
) -> None:
    """Fetch every configured feed (conditional requests, retries) and retro-hunt the new indicators."""
    current = settings()
    db = database(current)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True, disable=as_json) as progress:
        tasks: dict[str, object] = {}

        def advance(name: str, done: int, total: int | None) -> None:
            task = tasks.get(name)
            if task is None:
                task = tasks[name] = progress.add_task(name, total=total)
            progress.update(task, completed=done, total=total)  # type: ignore[arg-type]

        results = feeds.update(db, current, names or None, progress=advance)
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in results], ensure_ascii=False))
    else:
        for r in results:
            detail = r.message if r.status == "failed" else f"+{r.added} -{r.removed}, {r.errors} bad entries"
            typer.echo(
                f"{r.name}: {r.status}, {r.indicators} indicators ({detail}), {r.retro_alerts} retro alerts"
            )
        if not results:
            typer.echo("no feeds to update")
    if any(r.status == "failed" for r in results):
        raise typer.Exit(6)


@app.command("import")
def import_file(
    path: Path = typer.Argument(..., exists=True, readable=True),
    fmt: str = typer.Option(..., "--format", help="A format of `mimamori feeds formats`."),
    name: str | None = typer.Option(None, "--name", help="Source name (default: import-<file stem>)."),
    option: list[str] = typer.Option([], "--option", help=OPTION_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Load a feed file offline; replaces what an earlier import under the same name listed."""
    current = settings()
    result = feeds.import_file(database(current), path, fmt, current, source=name, options=_options(option))
    if as_json:
        typer.echo(json.dumps(asdict(result), ensure_ascii=False))
    else:
        typer.echo(
            f"{result.name}: {result.indicators} indicators (+{result.added} -{result.removed}), "
            f"{result.errors} bad entries, {result.retro_alerts} retro alerts"
        )


@app.command("add-indicator")
def add_indicator(
    value: str,
    kind: str = typer.Option("", "--type", help="ip, cidr, domain, url, md5, sha1, sha256, email, ja3 ..."),
    threat: str = typer.Option("", "--threat", help="Malware family or kind of threat."),
    description: str = typer.Option("", "--description"),
    confidence: int = typer.Option(80, "--confidence", min=0, max=100),
    tlp: str = typer.Option("amber", "--tlp"),
    days: int | None = typer.Option(None, "--expires-days", min=1, help="Stop matching after N days."),
) -> None:
    """Add one of the provider's own indicators (source ``manual``); also retro-hunts it."""
    current = settings()
    db = database(current)
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    kind, value = ind.add_manual(
        db,
        kind,
        value,
        threat=threat,
        description=description,
        confidence=confidence,
        tlp=tlp,
        expires_at=expires,
    )
    found = ind.lookup(db, kind, value)
    hunted = retrohunt.hunt(db, [ind.row_indicator(r) for r in found if r[2] == ind.MANUAL], current)
    typer.echo(f"added {kind}:{value} ({hunted.alerts_created} retro alerts)")


@app.command("remove-indicator")
def remove_indicator(value: str, kind: str = typer.Option("", "--type")) -> None:
    """Remove one of the provider's own indicators."""
    ind.remove_manual(database(), kind, value)
    typer.echo("removed")


@app.command("lookup")
def lookup(
    value: str, kind: str = typer.Option("", "--type"), as_json: bool = typer.Option(False, "--json")
) -> None:
    """Which sources list a value (exact value; a listed parent domain or range is not shown)."""
    rows = ind.lookup(database(), kind, value)
    out = [
        {"type": r[0], "value": r[1], "source": r[2], "threat": r[3], "confidence": r[4], "tlp": r[5]}
        | {"expires_at": r[6].isoformat() if r[6] else None, "description": r[7]}
        for r in rows
    ]
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    for o in out:
        typer.echo(f"{o['source']}\t{o['type']}:{o['value']}\t{o['threat']}\tconfidence {o['confidence']}")
    if not out:
        typer.echo("not listed")


@app.command("allow")
def allow(
    value: str,
    reason: str = typer.Option(..., "--reason", help="Why this value is known good (shown to analysts)."),
    tenant: str | None = typer.Option(
        None, "--tenant", help="Only for this tenant (default: provider-wide)."
    ),
    kind: str = typer.Option("", "--type"),
) -> None:
    """Allowlist a value: matching indicators raise no alert (a domain covers its subdomains)."""
    entry = ind.allow(database(), tenant, kind, value, reason)
    typer.echo(entry.id)


@app.command("allowlist")
def allowlist(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the allowlist (provider-wide entries show tenant ``*``)."""
    entries = ind.allowlist(database())
    if as_json:
        typer.echo(json.dumps([asdict(e) for e in entries], default=str, ensure_ascii=False))
        return
    for e in entries:
        typer.echo(f"{e.id}\t{e.tenant_id or '*'}\t{e.type}:{e.value}\t{e.reason}")


@app.command("disallow")
def disallow(entry_id: str, tenant: str | None = typer.Option(None, "--tenant")) -> None:
    """Remove an allowlist entry (``--tenant`` for a tenant's own entry)."""
    ind.disallow(database(), entry_id, tenant)
    typer.echo("removed")


@app.command("hunt")
def hunt(
    days: int | None = typer.Option(None, "--days", min=1, help="Window (default: the setting, 30)."),
) -> None:
    """Retro-hunt every current indicator over the observed values of the last N days."""
    current = settings()
    db = database(current)
    result = retrohunt.hunt_store(db, ind.load_store(db, current), current, days=days)
    typer.echo(f"{result.scanned} observations scanned, {result.findings} findings")
    typer.echo(f"{result.alerts_created} new alerts")
