"""SQLite writers of several processes queue for their turn (mimamori.storage.writer_queue)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import text
from tests.unit.storage.writer_procs import HOLD_S, hold_turn

from mimamori.storage import Database
from mimamori.storage.writer_queue import WriterQueue


def _other_process_holds(database: Path) -> tuple[multiprocessing.process.BaseProcess, Connection]:
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    process = ctx.Process(target=hold_turn, args=(str(database), theirs), daemon=True)
    process.start()
    assert ours.poll(30), "the other process never took its turn"
    assert ours.recv() == "holding"
    return process, ours


def test_a_writer_waits_while_another_process_has_the_turn(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    process, conn = _other_process_holds(database)
    started = time.monotonic()
    with WriterQueue(database).turn():
        waited = time.monotonic() - started
        assert conn.poll(5)  # we got in only after the other left
        assert conn.recv() == "released"
    process.join(10)
    assert waited >= HOLD_S * 0.5


def test_a_database_transaction_on_a_sqlite_file_takes_the_turn(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    db = Database(f"sqlite:///{database}")
    try:
        with db.transaction() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
        process, _conn = _other_process_holds(database)
        started = time.monotonic()
        with db.transaction() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
        assert time.monotonic() - started >= HOLD_S * 0.5
        process.join(10)
    finally:
        db.dispose()


def test_threads_of_one_process_take_turns_and_one_thread_may_nest(tmp_path: Path) -> None:
    queue = WriterQueue(tmp_path / "db.sqlite")
    inside = threading.Event()
    done = threading.Event()

    def other_thread() -> None:
        with queue.turn():  # waits for the first thread's turn to end
            done.set()

    with queue.turn():
        with queue.turn():  # the same thread: no wait, no deadlock
            inside.set()
        thread = threading.Thread(target=other_thread)
        thread.start()
        assert not done.wait(0.5)
    assert done.wait(5)
    thread.join()
    # After the last holder leaves, another process gets in at once.
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    process = ctx.Process(target=hold_turn, args=(str(tmp_path / "db.sqlite"), theirs), daemon=True)
    started = time.monotonic()
    process.start()
    assert ours.poll(30)
    assert ours.recv() == "holding"
    process.join(10)
    assert inside.is_set()
    assert time.monotonic() - started < 30


def test_no_queue_for_in_memory_sqlite() -> None:
    db = Database("sqlite://")
    try:
        with db.transaction() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        db.dispose()
