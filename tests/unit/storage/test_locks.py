"""Leader locks on both backends: exactly one holder; the lock passes on at release and when the holder dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mimamori.storage import Database
from mimamori.storage.locks import LeaderElection, LeaderLock, leader_lock, lock_key

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def name() -> str:
    return (
        f"test-{uuid.uuid4().hex}"  # advisory locks are server-wide: never share a name with a parallel run
    )


@pytest.fixture
def url(migrated_database: Database) -> str:
    return migrated_database.url.render_as_string(hide_password=False)


@pytest.fixture
def second(url: str) -> Iterator[Database]:
    """Another ``Database`` on the same database: another process as far as the locks can tell."""
    other = Database(url)
    yield other
    other.dispose()


def test_lock_key_is_stable_and_signed_64_bit() -> None:
    assert lock_key("scheduler") == lock_key("scheduler")
    assert lock_key("scheduler") != lock_key("retention")
    assert all(-(2**63) <= lock_key(n) < 2**63 for n in ("a", "scheduler", "日本語", "x" * 200))
    assert lock_key("scheduler") == 8331777152484961890  # fixed forever: old and new releases must agree


def test_exactly_one_wins_and_the_loser_wins_after_release(
    migrated_database: Database, second: Database, name: str
) -> None:
    with leader_lock(migrated_database, name) as first_leads:
        assert first_leads
        with leader_lock(second, name) as second_leads:
            assert not second_leads
        with leader_lock(second, name + "-other") as unrelated:
            assert unrelated  # another name is another lock
    with leader_lock(second, name) as second_leads:
        assert second_leads


def test_release_is_idempotent_and_alive_follows_the_hold(
    migrated_database: Database, second: Database, name: str
) -> None:
    lock = LeaderLock(migrated_database, name)
    assert not lock.alive()
    assert lock.try_acquire()
    assert lock.try_acquire()  # already ours
    assert lock.alive()
    lock.release()
    lock.release()
    assert not lock.alive()
    other = LeaderLock(second, name)
    assert other.try_acquire()
    other.release()


def test_lock_is_released_when_the_block_raises(
    migrated_database: Database, second: Database, name: str
) -> None:
    def job() -> None:
        with leader_lock(migrated_database, name) as leads:
            assert leads
            raise RuntimeError("job failed")

    with pytest.raises(RuntimeError):
        job()
    with leader_lock(second, name) as leads:
        assert leads


def test_pool_connections_never_keep_a_lock(migrated_database: Database, second: Database, name: str) -> None:
    for _ in range(3):
        with leader_lock(migrated_database, name) as leads:
            assert leads
        with migrated_database.connect() as connection:  # a pooled session after the lock's
            assert connection is not None
        with leader_lock(second, name) as leads:
            assert leads


def test_election_waits_then_leads_and_watch_ends_when_lost(
    migrated_database: Database, second: Database, name: str
) -> None:
    async def scenario() -> None:
        holder = LeaderElection(migrated_database, name, retry_seconds=0.05, check_seconds=0.05)
        waiter = LeaderElection(second, name, retry_seconds=0.05, check_seconds=0.05)
        await holder.acquire_or_wait()
        assert holder.is_leader
        waiting = asyncio.create_task(waiter.acquire_or_wait())
        await asyncio.sleep(0.3)
        assert not waiting.done()
        assert not waiter.is_leader
        assert await holder.check()
        await holder.release()
        assert not holder.is_leader
        await asyncio.wait_for(waiting, 10)
        assert waiter.is_leader
        assert not await holder.try_acquire()
        watching = asyncio.create_task(waiter.watch())
        await asyncio.sleep(0.15)
        assert not watching.done()
        _lose(waiter)
        await asyncio.wait_for(watching, 10)
        assert not waiter.is_leader
        waiter.release_now()

    asyncio.run(scenario())


def _lose(election: LeaderElection) -> None:
    """Make the held lock's session die under the election, as a dropped connection would."""
    lock = election.lock
    if lock._connection is not None:
        lock._connection.invalidate()  # the session ends: the server releases the lock
    else:
        lock.release()  # SQLite: nothing can take a flock away; model the loss directly


_HOLDER = """
import sys, time
from mimamori.storage import Database
from mimamori.storage.locks import leader_lock
with leader_lock(Database(sys.argv[1]), sys.argv[2]) as leads:
    print("leads" if leads else "lost", flush=True)
    time.sleep(120)
"""


def test_a_killed_holder_gives_the_lock_up(url: str, second: Database, name: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, url, name], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "leads"
        with leader_lock(second, name) as leads:
            assert not leads
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        deadline = time.monotonic() + 10
        while True:
            with leader_lock(second, name) as leads:
                if leads:
                    break
            assert time.monotonic() < deadline, "the lock was not released after the holder died"
            time.sleep(0.05)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if child.stdout is not None:
            child.stdout.close()


def test_sqlite_lock_file_sits_beside_the_database(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'mimamori.db'}")
    try:
        with leader_lock(db, "scheduler") as leads:
            assert leads
            assert (tmp_path / "mimamori.db.leader-scheduler.lock").exists()
        with leader_lock(db, "../odd name") as leads:
            assert leads
            assert all(p.parent == tmp_path for p in tmp_path.iterdir())
    finally:
        db.dispose()


def test_in_memory_sqlite_locks_within_the_process() -> None:
    db = Database("sqlite://")
    try:
        with leader_lock(db, "scheduler") as first, leader_lock(db, "scheduler") as second:
            assert (first, second) == (True, False)
        with leader_lock(db, "scheduler") as again:
            assert again
    finally:
        db.dispose()


def test_an_unreachable_database_means_not_leading() -> None:
    db = Database("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2")  # nothing listens on port 1
    try:
        election = LeaderElection(db, "scheduler", retry_seconds=0.01)
        assert asyncio.run(election.try_acquire()) is False
        assert not election.is_leader
        assert asyncio.run(election.check()) is False
    finally:
        db.dispose()
