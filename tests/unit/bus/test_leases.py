"""Lease helpers that need no server (the lease protocol itself is tested in tests/integration)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from mimamori.bus.leases import LeaseTimings, _not_cancelled, _parse_key


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("p.0", 0),
        ("p.17", 17),
        ("p.", None),
        ("q.1", None),
        ("p.-1", None),
        ("p.1x", None),
        ("p.9999999999", None),
    ],
)
def test_parse_key(key: str, expected: int | None) -> None:
    assert _parse_key(key) == expected


def test_default_timings_are_valid_and_take_over_within_15s() -> None:
    timings = LeaseTimings()
    timings.check()
    assert max(timings.lease_ttl, timings.member_ttl) + timings.rebalance_interval <= 15


@pytest.mark.parametrize(
    "timings",
    [
        LeaseTimings(lease_ttl=3, renew_interval=2, safety_margin=1.5),
        LeaseTimings(renew_interval=0),
        LeaseTimings(member_ttl=3, heartbeat_interval=3),
        LeaseTimings(rebalance_interval=0),
        LeaseTimings(safety_margin=-1),
    ],
)
def test_bad_timings_are_rejected(timings: LeaseTimings) -> None:
    with pytest.raises(ValueError):
        timings.check()


def test_a_swallowed_cancellation_still_ends_a_loop() -> None:
    async def loop() -> int:
        rounds = 0
        while _not_cancelled() and rounds < 20:  # the bound keeps this test finite if the guard breaks
            rounds += 1
            with contextlib.suppress(asyncio.CancelledError):  # what a careless library might do
                await asyncio.sleep(0.2)
        return rounds

    async def scenario() -> None:
        task = asyncio.create_task(loop())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
