"""``mimamori rules``: install, inspect and roll back Sigma rulesets; per-tenant rule switches."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from mimamori.cli.context import database, settings
from mimamori.errors import ValidationError
from mimamori.services import rules
from mimamori.services.rulestore import RulesetInfo

app = typer.Typer(
    help="Sigma detection rules: update, status, rollback, per-tenant switches.", no_args_is_help=True
)


def _describe(info: RulesetInfo) -> str:
    return (
        f"{info.version}: {info.compiled} rules in use of {info.files} files "
        f"({info.skipped} not loadable, {info.uncompilable} not compilable, {info.correlations} correlations)"
        f"\n  source: {info.source}\n  installed: {info.installed_at}"
    )


@app.command("update")
def update(
    source: str | None = typer.Argument(
        None,
        help="SigmaHQ release archive URL, a local .zip or a directory (default: the configured source).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Fetch and validate a ruleset; install it as the current one (the old one stays for rollback)."""
    current = settings()
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=as_json) as progress:
        task = progress.add_task("fetching", total=None)

        def report(stage: str, done: int, total: int | None) -> None:
            label = {"download": "downloading", "validate": "loading and compiling rules"}.get(stage, stage)
            progress.update(task, description=label, completed=done, total=total)

        result = rules.update(current, source, progress=report)
    info = result.info
    if as_json:
        typer.echo(
            json.dumps({"changed": result.changed, "note": result.note, **asdict(info)}, ensure_ascii=False)
        )
        return
    if not result.changed:
        typer.echo(f"unchanged ({result.note}); current ruleset {info.version}")
        return
    typer.echo(f"installed {_describe(info)}")
    for path, reason in info.skipped_reasons[:20]:
        typer.echo(f"  skipped {path}: {reason}", err=True)
    if len(info.skipped_reasons) > 20:
        typer.echo(
            f"  ... and {len(info.skipped_reasons) - 20} more (see `mimamori rules status --json`)", err=True
        )
    typer.echo("running services pick the new rules up within a minute")


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """The current ruleset, the previous one and every installed version."""
    store = rules.store(settings())
    current, previous = store.current(), store.previous()
    versions = store.installed()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "current": current.version if current else None,
                    "previous": previous.version if previous else None,
                    "versions": [asdict(v) for v in versions],
                },
                ensure_ascii=False,
            )
        )
        return
    if current is None:
        typer.echo("no ruleset installed yet (the bundled starter rules are installed on first use)")
        return
    typer.echo(f"current  {_describe(current)}")
    if previous is not None:
        typer.echo(f"previous {previous.version}")
    for info in versions:
        typer.echo(f"  {info.version}  {info.compiled} rules  {info.source}")


@app.command("rollback")
def rollback() -> None:
    """Return to the previous ruleset (run again to undo)."""
    info = rules.rollback(settings())
    typer.echo(f"current ruleset is now {info.version}")


def _placeholders(values: list[str]) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for item in values:
        name, sep, rest = item.partition("=")
        if not sep or not name:
            raise ValidationError(
                f"--placeholder {item!r}: expected NAME=VALUE[,VALUE...] (empty VALUE removes it)"
            )
        parsed[name] = [v for v in rest.split(",") if v]
    return parsed


@app.command("tenant")
def tenant(
    tenant_id: str = typer.Argument(..., help="The customer's tenant id."),
    disable: list[str] = typer.Option([], "--disable", help="Rule id to switch off for this customer."),
    enable: list[str] = typer.Option(
        [], "--enable", help="Rule id to switch on (also one the provider disabled)."
    ),
    levels: str | None = typer.Option(
        None,
        "--disabled-levels",
        help="Comma-separated levels to switch off (e.g. informational,low); '' for none.",
    ),
    placeholder: list[str] = typer.Option(
        [],
        "--placeholder",
        help="Values for a rule placeholder: NAME=VALUE[,VALUE...] (e.g. Admins=taro,hanako).",
    ),
    reset: bool = typer.Option(False, "--reset", help="Forget this customer's switches first."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show or change one customer's Sigma switches (with no options: show them)."""
    db = database()
    if disable or enable or levels is not None or placeholder or reset:
        chosen = None if levels is None else [v.strip() for v in levels.split(",") if v.strip()]
        updated = rules.change_tenant_settings(
            db,
            tenant_id,
            disable_rules=disable,
            enable_rules=enable,
            disabled_levels=chosen,
            placeholders=_placeholders(placeholder),
            reset=reset,
        )
    else:
        updated = rules.tenant_settings(db, tenant_id)
    document = updated.to_document()
    if as_json:
        typer.echo(json.dumps(document, ensure_ascii=False))
        return
    inherited = "(provider default)" if updated.disabled_levels is None else ""
    typer.echo(
        f"disabled levels: {', '.join(document.get('disabled_levels', [])) or '-'} {inherited}".rstrip()
    )
    typer.echo(f"disabled rules:  {', '.join(document['disabled_rules']) or '-'}")
    typer.echo(f"enabled rules:   {', '.join(document['enabled_rules']) or '-'}")
    for name, values in document["placeholders"].items():
        typer.echo(f"placeholder %{name}%: {', '.join(values)}")
