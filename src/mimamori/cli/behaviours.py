"""``mimamori behaviours``: the behaviour detectors and a tenant's thresholds."""

from __future__ import annotations

import json

import typer

from mimamori.cli.context import database
from mimamori.detection.behaviours import BEHAVIOURS
from mimamori.errors import ValidationError
from mimamori.services import behaviours

app = typer.Typer(help="Behaviour detectors (beaconing, mail bursts, scans...).", no_args_is_help=True)


@app.command("list")
def list_behaviours() -> None:
    """The registered behaviour detectors."""
    for name in sorted(BEHAVIOURS):
        typer.echo(name)


def _threshold(text: str) -> tuple[str, str, float | int]:
    name, _, rest = text.partition(".")
    key, _, value = rest.partition("=")
    if not name or not key or not value:
        raise ValidationError(f"--set takes BEHAVIOUR.THRESHOLD=NUMBER, not {text!r}")
    try:
        number: float | int = int(value)
    except ValueError:
        try:
            number = float(value)
        except ValueError:
            raise ValidationError(f"{text!r}: the value must be a number") from None
    return name, key, number


@app.command("tenant")
def tenant(
    tenant_id: str,
    set_: list[str] | None = typer.Option(None, "--set", help="BEHAVIOUR.THRESHOLD=NUMBER (repeat)."),
    mail_server: list[str] | None = typer.Option(
        None, "--mail-server", help="The tenant's own mail server's LAN address (repeat)."
    ),
) -> None:
    """Set a tenant's behaviour thresholds or mail servers; prints the tenant's document."""
    thresholds: dict[str, dict[str, float | int]] = {}
    for text in set_ or []:
        name, key, value = _threshold(text)
        thresholds.setdefault(name, {})[key] = value
    document = behaviours.change_tenant_settings(
        database(), None, tenant_id, thresholds=thresholds or None, mail_servers=mail_server or None
    )
    typer.echo(json.dumps(document, ensure_ascii=False))
