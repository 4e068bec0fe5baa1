"""What another process does in the writer-queue tests (importable by a spawned child)."""

from __future__ import annotations

import time
from multiprocessing.connection import Connection
from pathlib import Path

from mimamori.storage.writer_queue import WriterQueue

HOLD_S = 0.6


def hold_turn(path: str, conn: Connection) -> None:
    """Take the turn, say so, hold it for HOLD_S, say it is released."""
    queue = WriterQueue(Path(path))
    with queue.turn():
        conn.send("holding")
        time.sleep(HOLD_S)
    conn.send("released")
