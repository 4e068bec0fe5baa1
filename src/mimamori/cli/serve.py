"""``mimamori serve`` and ``mimamori demo``: every stage and the web app in one process."""

from __future__ import annotations

import os
from collections.abc import Sequence

import typer
import uvicorn

from mimamori.cli.context import settings
from mimamori.config import Settings, default_data_dir
from mimamori.services import demo as demo_service
from mimamori.services.runtime import Runtime
from mimamori.web.app import BackgroundJob, create_app

HOST = typer.Option(None, "--host", help="Address of the web server (default 127.0.0.1).")
PORT = typer.Option(None, "--port", help="Port of the web server (default 8000).")
WORKERS = typer.Option(
    None,
    "--workers",
    min=1,
    max=64,
    help="Pipeline processes (default 1, or MIMAMORI_WORKERS): more use more cores; see docs/deploy.md.",
)


def _run(current: Settings, runtime: Runtime, background: Sequence[BackgroundJob] = ()) -> None:
    app = create_app(runtime, background=background)
    uvicorn.run(app, host=current.host, port=current.port, log_level="warning", access_log=False)


def _settings(host: str | None, port: int | None, **extra: object) -> Settings:
    overrides: dict[str, object] = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    overrides.update(extra)
    return Settings.load(**overrides) if overrides else settings()


def serve(host: str | None = HOST, port: int | None = PORT, workers: int | None = WORKERS) -> None:
    """Run receivers, pipeline and web behind one command (embedded SQLite unless MIMAMORI_DATABASE_URL)."""
    current = _settings(host, port, **({"workers": workers} if workers is not None else {}))
    current.check_secrets()
    if not current.session_secure and current.host not in {"127.0.0.1", "localhost", "::1"}:
        typer.echo(
            "warning: the session cookie is not Secure; behind HTTPS set MIMAMORI_PUBLIC_URL=https://... "
            "(or MIMAMORI_SESSION_HTTPS_ONLY=true), see docs/accounts.md",
            err=True,
        )
    runtime = Runtime(current)
    typer.echo(
        f"mimamori on http://{current.host}:{current.port}  syslog tcp/{current.syslog_tcp_port} "
        f"udp/{current.syslog_udp_port}  data {current.data_dir}"
        + (f"  pipeline processes {current.workers}" if current.workers > 1 else "")
    )
    _run(current, runtime)


def demo(
    host: str | None = HOST,
    port: int | None = PORT,
    seed: int = typer.Option(1, "--seed", help="Seed of the simulated customers."),
    tenants: int = typer.Option(3, "--tenants", min=1, max=50),
) -> None:
    """Start mimamori with simulated SME customers sending real-format logs through the real receivers."""
    extra: dict[str, object] = {"demo": True}
    if "MIMAMORI_DATA_DIR" not in os.environ:
        extra["data_dir"] = default_data_dir() / "demo"
    current = _settings(host, port, **extra)
    url = f"http://{current.host}:{current.port}"
    # Without an SMTP server the demo's notifications are written as .eml files one can open.
    mail = (
        {"mail_dir": current.data_dir / "mail"} if not current.smtp_host and current.mail_dir is None else {}
    )
    current = current.model_copy(update={"public_url": url, **mail})
    runtime = Runtime(current)
    setup = demo_service.prepare(runtime.db, tenants=tenants, seed=seed)
    typer.echo(demo_service.banner(setup, url, mail_dir=current.mail_dir if not current.smtp_host else None))

    async def feed() -> None:
        await demo_service.feed(runtime, setup)

    _run(current, runtime, [feed])
