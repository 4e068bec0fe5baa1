"""``mimamori incidents``: the analyst's workflow from the command line (same services as the API)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer

from mimamori.cli.context import database
from mimamori.services import incidents, triage_suppression

app = typer.Typer(
    help="Incidents: correlated alerts, severity, guidance, damage, workflow.", no_args_is_help=True
)
suppress_app = typer.Typer(help="Suppression rules.", no_args_is_help=True)
app.add_typer(suppress_app, name="suppress")

TENANT = typer.Option(..., "--tenant", help="The tenant id.")


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False))


@app.command("list")
def list_incidents(
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant (default: all)."),
    status: str | None = typer.Option(None, "--status", help="new, acknowledged, investigating, resolved."),
    limit: int = typer.Option(1000, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List incidents, most recently active first."""
    found = incidents.list_incidents(database(), None, tenant, status=status, limit=limit)
    if as_json:
        _print(found)
        return
    for i in found:
        damage = i["damage"]
        typer.echo(
            f"{i['severity_label']} {i['score']:>3} {i['status']:<13} {i['tenant_id']} {i['host'] or '-'} "
            f"alerts={len(i['alerts'])} ¥{damage['low_yen']:,}-¥{damage['high_yen']:,} {i['title']}"
        )
    if not found:
        typer.echo("no incidents")


@app.command("show")
def show(incident_id: str, tenant: str = TENANT) -> None:
    """One incident as JSON, with its change log."""
    _print(incidents.get_incident(database(), None, tenant, incident_id))


@app.command("status")
def status(
    incident_id: str,
    new_status: str = typer.Argument(..., metavar="STATUS"),
    tenant: str = TENANT,
    resolution: str | None = typer.Option(
        None, "--resolution", help="true_positive, false_positive, benign."
    ),
) -> None:
    """Move an incident: acknowledged, investigating, resolved (with --resolution)."""
    _print(incidents.set_status(database(), None, tenant, incident_id, new_status, resolution=resolution))


@app.command("assign")
def assign(incident_id: str, assignee: str, tenant: str = TENANT) -> None:
    """Assign an incident to someone ("" to unassign)."""
    _print(incidents.assign(database(), None, tenant, incident_id, assignee))


@app.command("note")
def note(incident_id: str, text: str, tenant: str = TENANT) -> None:
    """Add a note to the incident's log."""
    _print(incidents.add_note(database(), None, tenant, incident_id, text))


@app.command("merge")
def merge(target: str, sources: list[str], tenant: str = TENANT) -> None:
    """Merge the SOURCES incidents into TARGET."""
    _print(incidents.merge(database(), None, tenant, target, sources))


@app.command("split")
def split(incident_id: str, alert_ids: list[str], tenant: str = TENANT) -> None:
    """Move ALERT_IDS of an incident into a new incident."""
    _print(incidents.split(database(), None, tenant, incident_id, alert_ids))


@app.command("profile")
def profile(
    tenant: str = TENANT,
    employees: int | None = typer.Option(None, "--employees", min=1),
    annual_sales_yen: int | None = typer.Option(None, "--annual-sales-yen", min=0),
    sales_band: str | None = typer.Option(None, "--sales-band"),
    personal_records: int | None = typer.Option(None, "--personal-records", min=0),
    critical_host: list[str] = typer.Option([], "--critical-host", help="An important device (repeatable)."),
) -> None:
    """Set the company profile used by the damage estimate and the severity."""
    values: dict[str, Any] = {
        "employees": employees,
        "annual_sales_yen": annual_sales_yen,
        "sales_band": sales_band,
        "personal_records": personal_records,
        "critical_hosts": critical_host or None,
    }
    _print(
        incidents.set_profile(database(), None, tenant, {k: v for k, v in values.items() if v is not None})
    )


@suppress_app.command("preview")
def suppress_preview(
    kind: str = typer.Argument(..., help="tenant, host, rule or indicator."),
    tenant: str = TENANT,
    host: str | None = typer.Option(None, "--host"),
    value: str | None = typer.Option(
        None, "--value", help="The rule id or indicator key (e.g. ip:192.0.2.1)."
    ),
) -> None:
    """How many past alerts a rule would have suppressed."""
    _print({"preview": triage_suppression.preview(database(), None, tenant, kind, host=host, value=value)})


@suppress_app.command("add")
def suppress_add(
    kind: str = typer.Argument(..., help="tenant, host, rule or indicator."),
    tenant: str = TENANT,
    reason: str = typer.Option(..., "--reason"),
    host: str | None = typer.Option(None, "--host"),
    value: str | None = typer.Option(None, "--value"),
    expires: datetime | None = typer.Option(None, "--expires", help="ISO date/time (UTC if no offset)."),
) -> None:
    """Add a suppression rule; prints it with its preview count."""
    _print(
        triage_suppression.add_rule(
            database(), None, tenant, kind, reason=reason, host=host, value=value, expires_at=expires
        )
    )


@suppress_app.command("list")
def suppress_list(tenant: str = TENANT) -> None:
    _print(triage_suppression.list_rules(database(), None, tenant))


@suppress_app.command("remove")
def suppress_remove(rule_id: str, tenant: str = TENANT) -> None:
    triage_suppression.remove_rule(database(), None, tenant, rule_id)
