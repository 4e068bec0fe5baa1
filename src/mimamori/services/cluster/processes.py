"""How each scale-out process is put together from settings (the commands in ``cli/cluster.py`` are thin).

Every process reads the same settings (environment or ``MIMAMORI_CONFIG_FILE``): ``MIMAMORI_DATABASE_URL``
(PostgreSQL), ``MIMAMORI_NATS_URL``, ``MIMAMORI_BUS_PREFIX`` and ``MIMAMORI_BUS_PARTITIONS`` must agree
across the deployment. A process stops cleanly on SIGTERM/SIGINT: a worker gives its partitions back
(their behaviour state saved) after finishing the batch in hand, a scheduler releases the leader lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
from collections.abc import Awaitable, Callable

import nats
from nats.aio.client import Client

from mimamori.bus.jetstream import NatsBus, NatsBusConfig
from mimamori.bus.partitions import partition
from mimamori.config import Settings
from mimamori.services.cluster.gateway import Gateway
from mimamori.services.cluster.scheduler import Scheduler
from mimamori.services.cluster.worker import Worker
from mimamori.services.runtime import open_database

__all__ = ["alerts_subject", "bus_config", "gateway", "run_scheduler", "run_worker"]

log = logging.getLogger(__name__)


def bus_config(settings: Settings) -> NatsBusConfig:
    return NatsBusConfig(
        url=settings.nats_url,
        prefix=settings.bus_prefix,
        partitions=settings.bus_partitions,
        max_bytes=settings.bus_stream_max_bytes,
    )


def alerts_subject(settings: Settings) -> str:
    """Core NATS subject on which workers announce committed alerts (wakes the scheduler's notifier)."""
    return f"{settings.bus_prefix}.alerts"


def gateway(settings: Settings, *, listeners: bool) -> Gateway:
    """The web app's runtime for ``mimamori receiver`` (``listeners``: syslog and watch) or ``web``."""
    bus = NatsBus(bus_config(settings))
    return Gateway(
        settings,
        open_database(settings),
        bus,
        listeners=listeners,
        bus_metrics=lambda: {f"bus_{k}": v for k, v in _stats(bus).items()},
    )


def _stats(bus: NatsBus) -> dict[str, int]:
    stats = bus.stats
    return {name: getattr(stats, name) for name in stats.__slots__}


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def _until(stop: asyncio.Event, work: Awaitable[None]) -> None:
    """Run ``work`` until it ends or ``stop`` is set (then cancel it)."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, waiter):
            pending.cancel()
        for pending in (task, waiter):
            with contextlib.suppress(asyncio.CancelledError):
                await pending
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


async def _announcer(settings: Settings) -> tuple[Client, Callable[[], Awaitable[None]]]:
    client = await nats.connect(settings.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=1)
    subject = alerts_subject(settings)

    async def announce() -> None:
        await client.publish(subject, b"")

    return client, announce


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> Worker:
    """``mimamori worker`` until ``stop`` (or a signal); returns the worker (its counters) at the end."""
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    config = bus_config(settings)
    db = await asyncio.to_thread(open_database, settings)
    client, announce = await _announcer(settings)
    worker = await asyncio.to_thread(
        lambda: Worker(
            settings, db, partition_of=lambda tenant: partition(tenant, config.partitions), on_alerts=announce
        )
    )
    bus = NatsBus(
        config,
        on_assigned=worker.on_assigned,
        on_revoked=worker.on_revoked,
        worker_id=re.sub(r"[^A-Za-z0-9_-]", "-", settings.worker_id)[:64] or None,
    )
    await bus.start()
    try:
        worker.state = await bus.state_store()
        log.info("worker %s started (%d partitions in the bus)", bus.worker_id, config.partitions)
        await _until(stop, worker.run(bus))
    finally:
        await bus.close()  # gives the partitions back: on_revoked saves their state
        await worker.close()
        await client.close()
        db.dispose()
    return worker


async def run_scheduler(settings: Settings, stop: asyncio.Event | None = None) -> Scheduler:
    """``mimamori scheduler`` until ``stop`` (or a signal)."""
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    db = await asyncio.to_thread(open_database, settings)
    scheduler = Scheduler(settings, db)
    client = await nats.connect(settings.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=1)

    async def woken(_msg: object) -> None:
        scheduler.wake()

    await client.subscribe(alerts_subject(settings), cb=woken)
    try:
        await _until(stop, scheduler.run())
    finally:
        await client.close()
        db.dispose()
    return scheduler
