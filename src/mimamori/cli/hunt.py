"""``mimamori hunt``: Sigma rules over EVTX / JSON-lines files, offline, with a summary table."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from mimamori.services import hunt as hunting

_LEVEL_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "informational": "dim",
}


def hunt(
    paths: list[Path] = typer.Argument(
        ..., exists=True, readable=True, help="EVTX / JSON-lines files, dirs."
    ),
    rules: Path = typer.Option(..., "--rules", exists=True, help="Sigma rules: a directory or a .zip."),
    json_out: Path | None = typer.Option(None, "--json", help="Write one JSON object per match per line."),
) -> None:
    """Hunt with Sigma rules over Windows event logs (EVTX, Winlogbeat/ECS JSON lines), like Hayabusa."""
    console = Console(stderr=True)
    with console.status("loading Sigma rules..."):
        ruleset, skipped, files = hunting.load_ruleset(rules)
    console.print(f"{len(ruleset.rules)} rules from {files} files ({len(skipped)} skipped)")
    out: IO[bytes] | None = json_out.open("wb") if json_out is not None else None

    def write(match: hunting.HuntMatch) -> None:
        if out is not None:
            out.write(orjson.dumps(match.to_json(), option=orjson.OPT_NON_STR_KEYS) + b"\n")

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("", total=hunting.total_bytes(paths))

            def advance(done: int, origin: str) -> None:
                progress.update(task, completed=done, description=origin[-40:])

            report = hunting.hunt(paths, ruleset, on_match=write, progress=advance)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None
    finally:
        if out is not None:
            out.close()
    table = Table(title="Sigma matches")
    table.add_column("rule")
    table.add_column("level")
    table.add_column("count", justify="right")
    for _, title, level, count in report.summary():
        table.add_row(title, f"[{_LEVEL_STYLE.get(level, '')}]{level}[/]", str(count))
    Console().print(table)
    rate = report.events / report.seconds if report.seconds else 0.0
    typer.echo(
        f"{report.files} files, {report.events} events ({report.unparsed} unparsed), "
        f"{report.matches} matches of {len(report.counts)} rules in {report.seconds:.1f}s "
        f"({rate:,.0f} events/s)"
    )
    for error in report.errors:
        typer.echo(f"error: {error}", err=True)
    if report.errors:
        raise typer.Exit(6)
