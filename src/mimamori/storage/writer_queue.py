"""A queue in front of SQLite's write lock, shared by the processes that write one database file.

SQLite lets one writer in at a time; the others poll with growing sleeps (its busy handler: 1, 2, 5 ... up
to 100 ms), so two busy writer processes (``serve --workers N``) leave the lock free for much of the
time they sleep. Writers therefore first take a POSIX lock on ``<database>.writers``: the kernel wakes
the next one as soon as the lock is released. Threads of one process queue on a reentrant lock in front
of it for the same reason (a pipeline thread and the thread writing its periodic aggregates), and a
thread opening a write transaction inside another of its own never waits for itself. It is only a
queue: SQLite's own lock still guards the data, so a writer that does not take it (the sqlite3 shell,
another program) is merely slower, never wrong.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["WriterQueue"]


class WriterQueue:
    """Process-wide turn-taking of writers to one SQLite file (see the module docstring)."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".writers")
        self._mutex = threading.Lock()
        self._threads = threading.RLock()  # one thread of this process at a time (reentrant)
        self._holders = 0  # nesting depth of the thread inside a turn
        self._fd = -1
        self._pid = os.getpid()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait until no other process or thread writes, and hold the turn for the block."""
        if self._pid != os.getpid():  # a forked child inherits the descriptor, not the locks
            self._mutex, self._threads = threading.Lock(), threading.RLock()
            self._fd, self._pid, self._holders = -1, os.getpid(), 0
        with self._threads, self._turn():
            yield

    @contextmanager
    def _turn(self) -> Iterator[None]:
        with self._mutex:
            if self._fd < 0:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._holders += 1
            fd, first = self._fd, self._holders == 1
        try:
            if first:
                fcntl.lockf(fd, fcntl.LOCK_EX)  # releases the GIL while it waits
            yield
        finally:
            with self._mutex:
                self._holders -= 1
                if self._holders == 0 and self._pid == os.getpid():
                    fcntl.lockf(fd, fcntl.LOCK_UN)
