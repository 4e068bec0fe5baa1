"""Entry point of the ``mimamori`` command and the one mapping of errors to exit codes."""

from __future__ import annotations

import logging
import sys

import typer

from mimamori import __version__
from mimamori.cli import (
    accounts,
    alerts,
    assets,
    behaviours,
    cluster,
    feeds,
    hunt,
    incidents,
    notify,
    rules,
    serve,
    setup,
    sim,
)
from mimamori.cli import events as events_cli
from mimamori.errors import (
    AuthError,
    ConfigError,
    IngestError,
    MimamoriError,
    NotFoundError,
    ValidationError,
)

app = typer.Typer(
    name="mimamori",
    help="mimamori (見守り): 24-hour security monitoring of SME networks for a security provider.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("init")(setup.init)
app.add_typer(setup.tenants_app, name="tenants")
app.add_typer(setup.sensors_app, name="sensors")
app.add_typer(setup.users_app, name="users")
setup.users_app.command("reset-totp")(accounts.reset_totp)
setup.users_app.add_typer(accounts.token_app, name="token")
app.command("ingest")(setup.ingest)
app.add_typer(setup.quarantine_app, name="quarantine")
app.add_typer(alerts.app, name="alerts")
app.add_typer(incidents.app, name="incidents")
app.add_typer(rules.app, name="rules")
app.add_typer(feeds.app, name="feeds")
app.add_typer(behaviours.app, name="behaviours")
app.add_typer(notify.contacts_app, name="contacts")
app.add_typer(notify.oncall_app, name="oncall")
app.add_typer(notify.notify_app, name="notify")
app.add_typer(assets.app, name="assets")
app.command("serve")(serve.serve)
app.command("receiver")(cluster.receiver)
app.command("worker")(cluster.worker)
app.command("scheduler")(cluster.scheduler)
app.command("web")(cluster.web)
app.command("demo")(serve.demo)
app.command("sim")(sim.sim)
app.command("hunt")(hunt.hunt)
app.add_typer(events_cli.app, name="events")

EXIT_CODES: tuple[tuple[type[MimamoriError], int], ...] = (
    (ValidationError, 2),
    (NotFoundError, 3),
    (AuthError, 4),
    (ConfigError, 5),
    (IngestError, 6),
)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        for noisy in ("httpx", "httpcore", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def main() -> None:
    try:
        app()
    except MimamoriError as exc:
        code = next((c for kind, c in EXIT_CODES if isinstance(exc, kind)), 1)
        typer.echo(f"error: {exc}", err=True)
        sys.exit(code)
