"""``mimamori sim``: generate simulated SME traffic to a file or send it to a receiver."""

from __future__ import annotations

from pathlib import Path

import typer

from mimamori.sim.cli import run_sim


def sim(
    scenario: str | None = typer.Option(None, "--scenario", help="A named scenario (see docs/scenarios.md)."),
    tenants: int = typer.Option(3, "--tenants", min=1, max=1000),
    seed: int = typer.Option(1, "--seed"),
    fmt: str = typer.Option("fortigate", "--format", help="fortigate or zeek."),
    out: Path | None = typer.Option(None, "--out", help="Write one record per line to this file."),
    send: str | None = typer.Option(
        None,
        "--send",
        help="syslog+tcp://HOST:PORT, syslog+udp://HOST:PORT or http://HOST:PORT/api/v1/ingest",
    ),
    token: str | None = typer.Option(None, "--token", help="Sensor token for HTTP sending."),
    minutes: int = typer.Option(60, "--minutes", min=1, help="Simulated time span."),
    bind_base: str | None = typer.Option(
        None, "--bind-base", help="Send tenant i from BASE+i (e.g. 127.0.1.1) so each looks like its own UTM."
    ),
) -> None:
    """Simulate SME networks (deterministic from --seed)."""
    code = run_sim(scenario, tenants, seed, fmt, out, send, token, minutes, bind_base)
    raise typer.Exit(code)
