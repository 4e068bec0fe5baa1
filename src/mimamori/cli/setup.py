"""Setting up: ``init``, ``tenants``, ``sensors``, ``users`` and ``ingest``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from mimamori.cli.context import database, settings
from mimamori.detection import build_engine
from mimamori.domain import Role
from mimamori.services import auth, content, files, tenants
from mimamori.services.events import open_writer
from mimamori.services.pipeline import Pipeline

tenants_app = typer.Typer(help="SME customers.", no_args_is_help=True)
sensors_app = typer.Typer(help="Log sources of a customer.", no_args_is_help=True)
users_app = typer.Typer(help="People who log in.", no_args_is_help=True)


def init() -> None:
    """Create the data directory and the database, and seed the bundled content."""
    current = settings()
    content.ensure_content(current)
    database(current)
    typer.echo(f"initialised {current.data_dir}")


@tenants_app.command("add")
def tenants_add(name: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Add a customer; prints its id."""
    tenant = tenants.add_tenant(database(), name)
    typer.echo(json.dumps({"id": tenant.id, "name": tenant.name}) if as_json else tenant.id)


@tenants_app.command("list")
def tenants_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List customers."""
    found = tenants.list_tenants(database())
    if as_json:
        typer.echo(json.dumps([{"id": t.id, "name": t.name} for t in found], ensure_ascii=False))
        return
    for t in found:
        typer.echo(f"{t.id}\t{t.name}")


@sensors_app.command("add")
def sensors_add(
    tenant: str = typer.Option(..., "--tenant", help="Tenant id."),
    name: str = typer.Option(..., "--name"),
    fmt: str = typer.Option(..., "--format", help="Parser: fortigate, zeek, syslog."),
    source_address: str | None = typer.Option(None, "--source-address", help="Syslog sender IP."),
    timezone: str = typer.Option("Asia/Tokyo", "--timezone", help="The device's clock (IANA name)."),
    cert_fingerprint: str | None = typer.Option(
        None, "--cert-fingerprint", help="SHA-256 of the sender's TLS client certificate (syslog over TLS)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Register a log source; prints its token once (HTTP ingest, or in syslog structured data)."""
    new = tenants.add_sensor(
        database(),
        tenant,
        name,
        fmt,
        source_address=source_address,
        timezone=timezone,
        cert_fingerprint=cert_fingerprint,
    )
    out = {"id": new.sensor.id, "tenant_id": tenant, "format": fmt, "token": new.token}
    if as_json:
        typer.echo(json.dumps(out))
    else:
        typer.echo(f"sensor {new.sensor.id}\ntoken  {new.token}  (shown once; keep it secret)")


@sensors_app.command("silence")
def sensors_silence(
    sensor_id: str,
    minutes: int | None = typer.Argument(
        None, help="Minutes of silence before a notification; 0 never; omit: default."
    ),
    tenant: str = typer.Option(..., "--tenant", help="Tenant id."),
) -> None:
    """Set how long a sensor may stay silent before the SOC and the customer are told."""
    sensor = tenants.set_silence_minutes(database(), tenant, sensor_id, minutes)
    limit = "default" if sensor.silence_minutes is None else f"{sensor.silence_minutes} min"
    typer.echo(f"sensor {sensor.id}: silence limit {limit}")


@sensors_app.command("token")
def sensors_token(
    sensor_id: str,
    tenant: str = typer.Option(..., "--tenant", help="Tenant id."),
    revoke: bool = typer.Option(False, "--revoke", help="Take the token away instead of replacing it."),
) -> None:
    """Give a sensor a new token (printed once; the old one stops working), or revoke it."""
    if revoke:
        tenants.revoke_token(database(), tenant, sensor_id)
        typer.echo(f"sensor {sensor_id}: token revoked (senders using it are refused within a minute)")
        return
    token = tenants.rotate_token(database(), tenant, sensor_id)
    typer.echo(f"sensor {sensor_id}\ntoken  {token}  (shown once; keep it secret)")


@sensors_app.command("list")
def sensors_list(
    tenant: str = typer.Option(..., "--tenant"), as_json: bool = typer.Option(False, "--json")
) -> None:
    """List a customer's sensors with their last-seen time and counters."""
    rows = [
        {
            "id": s.id,
            "name": s.name,
            "format": s.format,
            "source_address": s.source_address,
            "timezone": s.timezone,
            "last_seen": s.last_seen.isoformat() if s.last_seen else None,
            "received": s.received,
            "parsed": s.parsed,
            "quarantined": s.quarantined,
            "dropped": s.dropped,
        }
        for s in tenants.list_sensors(database(), tenant)
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        typer.echo(
            "\t".join(str(r[k]) for k in ("id", "name", "format", "last_seen", "received", "quarantined"))
        )


@users_app.command("add")
def users_add(
    email: str,
    name: str = typer.Option(..., "--name"),
    role: Role = typer.Option(..., "--role"),
    tenant: str | None = typer.Option(None, "--tenant"),
    password: str = typer.Option(..., "--password", prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Add a user (provider staff without --tenant, customer users with it)."""
    user = auth.create_user(database(), email, name, role, password, tenant_id=tenant)
    typer.echo(user.id)


def ingest(
    paths: list[Path] = typer.Argument(..., exists=True, readable=True, help="Files and directories."),
    tenant: str = typer.Option(..., "--tenant"),
    fmt: str | None = typer.Option(
        None, "--format", help="Parser (fortigate, zeek, syslog, evtx...); EVTX and Zeek TSV are recognised."
    ),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON summary line."),
) -> None:
    """Import log files, directories and archives (gz, zip, tar) through the pipeline; resumable."""
    current = settings()
    content.ensure_content(current)
    db = database(current)
    pipeline = Pipeline(db, build_engine(content.detector_context(current, db)), archive=open_writer(current))
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    console = Console(stderr=True)
    started = time.perf_counter()
    with Progress(*columns, console=console, transient=True, disable=as_json) as progress:
        task = progress.add_task("", total=files.total_bytes(paths))

        def advance(done: int, origin: str) -> None:
            progress.update(task, completed=done, description=origin[-40:])

        try:
            report = files.import_paths(pipeline, paths, tenant, fmt, progress=advance)
        except KeyboardInterrupt:
            if pipeline.archive is not None:
                pipeline.archive.flush()  # the batches the import ledger counts as done are archived
            typer.echo("interrupted: run the same command again to resume", err=True)
            raise typer.Exit(130) from None
    summary = report.summary(time.perf_counter() - started)
    for failed in report.errors:
        typer.echo(f"error: {failed.error}", err=True)
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    else:
        for f in report.files:
            typer.echo(
                f"{f.origin}: {f.received} records, {f.duplicates} duplicates, {f.quarantined} quarantined"
            )
        typer.echo(
            f"{report.received} records, {report.parsed} parsed, {report.quarantined} quarantined, "
            f"{report.duplicates} duplicates, {report.alerts_created} new alerts in {summary['seconds']}s"
        )
    if report.errors:
        raise typer.Exit(6)


quarantine_app = typer.Typer(help="Records that could not be parsed.", no_args_is_help=True)


@quarantine_app.command("list")
def quarantine_list(
    tenant: str = typer.Option(..., "--tenant"),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show quarantined records with the reason (newest first)."""
    rows = [
        {
            "sensor_id": q.sensor_id,
            "format": q.format,
            "reason": q.reason,
            "received_at": q.received_at.isoformat(),
            "data": q.data[:2000].decode("utf-8", "replace"),
        }
        for q in tenants.list_quarantine(database(), tenant, limit)
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(f"{r['received_at']} {r['format']}: {r['reason']}\n    {r['data'][:200]!r}")
