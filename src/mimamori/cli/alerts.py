"""``mimamori alerts``: the scripting interface to alerts."""

from __future__ import annotations

import json

import typer

from mimamori.cli.context import database
from mimamori.domain import Severity
from mimamori.services import alerts

app = typer.Typer(help="Alerts.", no_args_is_help=True)


@app.command("list")
def list_alerts(
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant (default: all)."),
    severity: Severity | None = typer.Option(None, "--severity"),
    limit: int = typer.Option(1000, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List alerts, newest first."""
    found = alerts.list_alerts(database(), None, tenant, severity=severity, limit=limit)
    if as_json:
        typer.echo(json.dumps([alerts.alert_to_dict(a) for a in found], ensure_ascii=False))
        return
    for a in found:
        typer.echo(
            f"{a.severity.label_ja} {a.last_seen:%Y-%m-%d %H:%M} {a.tenant_id} {a.host or '-'} "
            f"x{a.count} {a.title}"
        )
    if not found:
        typer.echo("no alerts")
