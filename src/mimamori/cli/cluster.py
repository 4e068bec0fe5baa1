"""``mimamori receiver | worker | scheduler | web``: the scale-out processes (docs/deploy.md).

Each runs one stage against the shared NATS JetStream (``MIMAMORI_NATS_URL``) and PostgreSQL
(``MIMAMORI_DATABASE_URL``); ``mimamori serve`` keeps running every stage in one process instead.
"""

from __future__ import annotations

import asyncio

import typer
import uvicorn

from mimamori.cli.serve import HOST, PORT, _settings
from mimamori.services.cluster import processes
from mimamori.web.app import create_app


def receiver(host: str | None = HOST, port: int | None = PORT) -> None:
    """Syslog (UDP/TCP/TLS), directory watch and HTTP ingest onto NATS JetStream; serves the web app too."""
    current = _settings(host, port)
    current.check_secrets()
    runtime = processes.gateway(current, listeners=True)
    typer.echo(
        f"mimamori receiver: syslog tcp/{current.syslog_tcp_port} udp/{current.syslog_udp_port}, "
        f"http://{current.host}:{current.port} -> {current.nats_url} ({current.bus_partitions} partitions)"
    )
    uvicorn.run(
        create_app(runtime), host=current.host, port=current.port, log_level="warning", access_log=False
    )


def web(host: str | None = HOST, port: int | None = PORT) -> None:
    """The portal, SOC console and REST API; HTTP ingest publishes to NATS JetStream."""
    current = _settings(host, port)
    current.check_secrets()
    runtime = processes.gateway(current, listeners=False)
    typer.echo(f"mimamori web on http://{current.host}:{current.port}")
    uvicorn.run(
        create_app(runtime), host=current.host, port=current.port, log_level="warning", access_log=False
    )


def worker() -> None:
    """Pipeline worker: owns bus partitions, parses, detects and stores; run one per core and machine."""
    current = _settings(None, None)
    current.check_secrets()
    done = asyncio.run(processes.run_worker(current))
    typer.echo(
        f"worker stopped after {done.processed.received} records ({done.processed.alerts_created} alerts)"
    )


def scheduler() -> None:
    """Notifications and escalation, feed refresh, archive maintenance: one leader across the cluster."""
    current = _settings(None, None)
    current.check_secrets()
    done = asyncio.run(processes.run_scheduler(current))
    typer.echo(f"scheduler stopped (led {done.terms} times)")
