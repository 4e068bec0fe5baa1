"""Cluster-wide leader locks: a scheduled job runs in one process at a time, however many are started.

PostgreSQL: ``pg_try_advisory_lock(key)`` on a connection of its own, held for as long as the lock is;
the server releases it when the session ends, so a process that dies (even SIGKILL) gives it up at once.
SQLite (one host): ``flock`` on a file beside the database file, released by the kernel when the process
dies. ``leader_lock`` is one attempt around a block; ``LeaderElection`` keeps trying, checks the lock's
connection periodically and tells its owner when leadership was lost.

Session-level advisory locks need a real session: behind PgBouncer, use session pooling (transaction
pooling would hand the lock's session to someone else). The lock's connection is never returned to the
pool; it is closed when the lock is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from mimamori.storage.db import Database

log = logging.getLogger(__name__)

__all__ = ["LeaderElection", "LeaderLock", "leader_lock", "lock_key"]

_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_memory_held: set[tuple[str, str]] = set()  # (database url, name) held in this process (in-memory SQLite)
_memory_guard = threading.Lock()


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name`` (the same in every process and release)."""
    digest = hashlib.blake2b(f"mimamori.leader:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _lock_file(database: str, name: str) -> Path:
    suffix = name if _SAFE_NAME.fullmatch(name) else f"{lock_key(name) & 0xFFFFFFFFFFFFFFFF:016x}"
    path = Path(database).expanduser()
    return path.with_name(f"{path.name}.leader-{suffix}.lock")


class LeaderLock:
    """One named lock of one ``Database``: ``try_acquire`` (never blocks), ``alive``, ``release``.

    Thread-safe; not re-entrant (a second ``try_acquire`` while held answers True without a new hold).
    """

    def __init__(self, db: Database, name: str) -> None:
        if not name or len(name) > 200:
            raise ValueError("a lock name has 1 to 200 characters")
        self.db = db
        self.name = name
        self.key = lock_key(name)
        self._guard = threading.Lock()
        self._connection: Connection | None = None  # PostgreSQL: the session that holds the lock
        self._fd: int | None = None  # SQLite file: the descriptor holding the flock
        self._memory: tuple[str, str] | None = None  # in-memory SQLite: the process-wide registration

    @property
    def held(self) -> bool:
        return self._connection is not None or self._fd is not None or self._memory is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False (at once) if another process or ``Database`` does."""
        with self._guard:
            if self.held:
                return True
            if self.db.dialect == "postgresql":
                return self._acquire_pg()
            if self.db.dialect == "sqlite":
                return self._acquire_sqlite()
            raise NotImplementedError(f"leader locks are not supported on {self.db.dialect}")

    def _acquire_pg(self) -> bool:
        connection = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            won = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar()
        except SQLAlchemyError:
            _discard(connection)
            raise
        if won:
            self._connection = connection
            return True
        _discard(connection)
        return False

    def _acquire_sqlite(self) -> bool:
        database = self.db.url.database
        if database in (None, "", ":memory:") or self.db.url.query.get("mode") == "memory":
            token = (str(self.db.url), self.name)
            with _memory_guard:
                if token in _memory_held:
                    return False
                _memory_held.add(token)
            self._memory = token
            return True
        assert database is not None
        path = _lock_file(database, self.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(
                fd, fcntl.LOCK_EX | fcntl.LOCK_NB
            )  # per open file: two handles in one process compete
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        with contextlib.suppress(OSError):  # who holds it, for an operator looking at the file
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def alive(self) -> bool:
        """Whether the lock is still held: on PostgreSQL its session must answer (a lost connection lost
        the lock as well, and another process may hold it now)."""
        with self._guard:
            if self._connection is not None:
                try:
                    self._connection.execute(text("SELECT 1")).scalar()
                except SQLAlchemyError:
                    log.warning("leader lock %r: its database session is gone", self.name)
                    _discard(self._connection)
                    self._connection = None
                    return False
                return True
            return self._fd is not None or self._memory is not None

    def release(self) -> None:
        """Give the lock up (nothing happens when it is not held)."""
        with self._guard:
            connection, self._connection = self._connection, None
            fd, self._fd = self._fd, None
            memory, self._memory = self._memory, None
        if connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            _discard(connection)  # closing the session releases it in any case
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        if memory is not None:
            with _memory_guard:
                _memory_held.discard(memory)


def _discard(connection: Connection) -> None:
    """Close a lock connection for good: never return a session that may hold a lock to the pool."""
    with contextlib.suppress(SQLAlchemyError):
        connection.invalidate()
    with contextlib.suppress(SQLAlchemyError):
        connection.close()


@contextlib.contextmanager
def leader_lock(db: Database, name: str) -> Iterator[bool]:
    """Try once to take the cluster-wide lock ``name``; yields whether this process holds it for the block.

    ``with leader_lock(db, "retention") as leader: if leader: run()`` — released when the block ends.
    """
    lock = LeaderLock(db, name)
    acquired = lock.try_acquire()
    try:
        yield acquired
    finally:
        lock.release()


class LeaderElection:
    """Long-running leadership for a scheduler: wait until the lock is ours, watch it, give it back.

    ``await acquire_or_wait()`` returns once this process leads (trying every ``retry_seconds``);
    ``await watch()`` returns when leadership is lost (the lock's session checked every
    ``check_seconds``); ``release()`` hands it on. ``is_leader`` is the current state.
    """

    def __init__(
        self, db: Database, name: str, *, retry_seconds: float = 5.0, check_seconds: float = 10.0
    ) -> None:
        self.lock = LeaderLock(db, name)
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self._leader = False

    @property
    def is_leader(self) -> bool:
        return self._leader

    async def try_acquire(self) -> bool:
        """One attempt (the database call runs in a thread); a database error counts as not won."""
        try:
            self._leader = await asyncio.to_thread(self.lock.try_acquire)
        except (SQLAlchemyError, OSError):
            log.warning("leader election %r: the lock could not be asked for", self.lock.name, exc_info=True)
            self._leader = False
        return self._leader

    async def acquire_or_wait(self) -> None:
        """Return once this process holds the lock; cancel the task to stop waiting."""
        while not await self.try_acquire():
            await asyncio.sleep(self.retry_seconds)
        log.info("leader election %r: this process leads", self.lock.name)

    async def check(self) -> bool:
        """Whether this process still leads (asks the lock's session); updates ``is_leader``."""
        if not self._leader:
            return False
        self._leader = await asyncio.to_thread(self.lock.alive)
        if not self._leader:
            log.warning("leader election %r: leadership lost", self.lock.name)
            await asyncio.to_thread(self.lock.release)
        return self._leader

    async def watch(self) -> None:
        """Return when leadership is lost (checked every ``check_seconds``)."""
        while await self.check():
            await asyncio.sleep(self.check_seconds)

    async def release(self) -> None:
        """Give leadership up (another process may take it at its next try)."""
        self._leader = False
        await asyncio.to_thread(self.lock.release)

    def release_now(self) -> None:
        """``release`` for synchronous shutdown paths."""
        self._leader = False
        self.lock.release()
