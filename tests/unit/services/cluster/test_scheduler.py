"""``mimamori scheduler``: several may run, exactly one leads, another takes over when it stops."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from mimamori.config import Settings
from mimamori.services.cluster.scheduler import Scheduler
from mimamori.storage import Database


async def _until(condition: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_one_scheduler_leads_and_another_takes_over(database: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, notify_enabled=True)

    async def scenario() -> None:
        first = Scheduler(settings, database, retry_seconds=0.1, check_seconds=0.1)
        second = Scheduler(settings, database, retry_seconds=0.1, check_seconds=0.1)
        one = asyncio.create_task(first.run())
        await _until(lambda: first.election.is_leader)
        two = asyncio.create_task(second.run())
        await asyncio.sleep(0.5)
        assert not second.election.is_leader  # waits while the first leads
        assert second.terms == 0
        second.wake()  # a no-op while not leading
        one.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await one
        await _until(lambda: second.election.is_leader)
        assert second.terms == 1
        two.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await two

    asyncio.run(asyncio.wait_for(scenario(), 30))
