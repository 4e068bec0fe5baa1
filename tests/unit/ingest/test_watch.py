"""DirectoryWatcher on real files and a real EmbeddedBus: lines, rotation, truncation, restarts."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import shutil
from collections.abc import AsyncIterator, Coroutine, Sequence
from pathlib import Path
from typing import Any

import pytest

from mimamori.bus.embedded import EmbeddedBus
from mimamori.domain import RawRecord
from mimamori.ingest import DirectoryWatcher, ReceiverStats, Route, WatchSource, tail
from mimamori.ingest.watch import MAX_BATCHES_PER_FILE, ROTATION_GRACE_POLLS

ROUTE = Route("tenant-a", "sensor-zeek", "zeek", "UTC")


def run(coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Env:
    """A bus, a watcher over ``logs/*.log*`` and helpers to take what was published."""

    def __init__(self, tmp: Path, bus: EmbeddedBus, **options: Any) -> None:
        self.tmp, self.bus, self.logs = tmp, bus, tmp / "logs"
        self.logs.mkdir(exist_ok=True)
        self.stats = ReceiverStats()
        self.options = options
        self.watcher = self.new_watcher()

    def new_watcher(self) -> DirectoryWatcher:
        options = dict(self.options)
        pattern = str(self.logs / options.pop("pattern", "*.log*"))
        source = WatchSource(pattern, ROUTE, from_start=options.pop("from_start", True))
        return DirectoryWatcher(
            self.bus, [source], state_path=self.tmp / "state" / "watch.json", stats=self.stats, **options
        )

    async def poll(self) -> list[bytes]:
        """One poll; the lines it published."""
        count = await self.watcher.poll()
        return [r.data for r in await take(self.bus, count)]

    async def records(self) -> list[RawRecord]:
        return await take(self.bus, await self.watcher.poll())


async def take(bus: EmbeddedBus, count: int) -> list[RawRecord]:
    records: list[RawRecord] = []
    while len(records) < count:
        async for delivery in bus.deliveries():
            records.extend(delivery.records)
            await delivery.ack()
            break
    return records


@contextlib.asynccontextmanager
async def watching(tmp: Path, **options: Any) -> AsyncIterator[Env]:
    bus = EmbeddedBus(tmp / "spool", fsync=False)
    await bus.start()
    env = Env(tmp, bus, **options)
    try:
        yield env
    finally:
        await env.watcher.stop()
        await bus.close()


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as out:
        out.write(data)


def lines(prefix: str, count: int, start: int = 0) -> list[bytes]:
    return [f"{prefix} {i}".encode() for i in range(start, start + count)]


def joined(items: Sequence[bytes]) -> bytes:
    return b"".join(item + b"\n" for item in items)


def test_complete_lines_only_and_the_partial_line_waits(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watching(tmp_path) as env:
            log = env.logs / "conn.log"
            append(log, b"first\r\nsecond\n\n" + "日本語 third\n".encode() + b"par")
            records = await env.records()
            assert [r.data for r in records] == [b"first", b"second", "日本語 third".encode()]
            assert records[0].origin == f"file:{log}"
            assert (records[0].tenant_id, records[0].sensor_id, records[0].format) == (
                "tenant-a",
                "sensor-zeek",
                "zeek",
            )
            assert records[0].timezone == "UTC"
            assert await env.poll() == []
            append(log, b"tial")
            assert await env.poll() == []
            append(log, b" line\nnext\n")
            assert await env.poll() == [b"partial line", b"next"]
            counts = env.stats.snapshot_and_reset().sensors["sensor-zeek"]
            assert counts.received == 5
            assert counts.last_seen is not None

    run(scenario())


def test_existing_files_start_at_their_end_and_new_files_at_their_start(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watching(tmp_path, from_start=False) as env:
            old = env.logs / "old.log"
            append(old, b"history 1\nhistory 2\nhalf a li")
            assert await env.poll() == []
            append(old, b"ne\nfresh\n")
            assert await env.poll() == [b"fresh"]  # the fragment of the line cut by the start is skipped
            new = env.logs / "new.log"
            append(new, b"from the very start\n")
            assert await env.poll() == [b"from the very start"]

    run(scenario())


def test_rotation_by_rename_finishes_the_old_file_first(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watching(tmp_path) as env:
            log = env.logs / "syslog.log"
            append(log, joined(lines("before", 3)))
            assert await env.poll() == lines("before", 3)
            with log.open("ab") as writer:  # the writer keeps its descriptor across the rename
                writer.write(joined(lines("unread", 2)))
                writer.flush()
                log.rename(env.logs / "rotated-away")  # out of the glob
                writer.write(joined(lines("late", 2)))  # written to the old inode after the rename
            append(log, joined(lines("after", 2)))
            assert await env.poll() == [*lines("unread", 2), *lines("late", 2), *lines("after", 2)]
            with (env.logs / "rotated-away").open("ab") as writer:
                writer.write(b"later still\n")
            assert await env.poll() == [b"later still"]  # read through the grace polls
            for _ in range(ROTATION_GRACE_POLLS + 1):
                assert await env.poll() == []
            state = json.loads((tmp_path / "state" / "watch.json").read_text())
            assert [f["path"] for f in state["files"].values()] == [str(log)]  # the old inode is forgotten

    run(scenario())


def test_rotation_within_the_glob_and_compressed_rotations(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watching(tmp_path) as env:
            log = env.logs / "fw.log"
            append(log, b"one\n")
            assert await env.poll() == [b"one"]
            append(log, b"two\n")
            log.rename(env.logs / "fw.log.1")  # still matches "*.log*": the same file under a new name
            append(log, b"three\n")
            with gzip.open(env.logs / "fw.log.2.gz", "wb") as archive:
                archive.write(b"archived\n")
            records = await env.records()
            assert [r.data for r in records] == [b"two", b"three"]
            assert [r.origin for r in records] == [f"file:{env.logs / 'fw.log.1'}", f"file:{log}"]

    run(scenario())


def test_copytruncate_restarts_at_zero(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watching(tmp_path) as env:
            log = env.logs / "app.log"
            append(log, joined(lines("long line number", 5)))
            assert await env.poll() == lines("long line number", 5)
            shutil.copyfile(log, env.logs / "app.log.1.gz")  # the copy (compressed: ignored)
            with log.open("r+b") as out:
                out.truncate(0)
            append(log, b"x\ny\n")
            assert await env.poll() == [b"x", b"y"]

    run(scenario())


def test_deleted_files_are_finished_then_forgotten(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watching(tmp_path) as env:
            log = env.logs / "gone.log"
            append(log, b"a\n")
            assert await env.poll() == [b"a"]
            with log.open("ab") as writer:
                writer.write(b"b\n")
                writer.flush()
                log.unlink()
                writer.write(b"c\n")
            assert await env.poll() == [b"b", b"c"]
            for _ in range(ROTATION_GRACE_POLLS + 1):
                assert await env.poll() == []
            assert env.watcher._files == {}

    run(scenario())


def test_oversize_lines_are_dropped_and_counted(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watching(tmp_path, max_line=100) as env:
            log = env.logs / "big.log"
            append(log, b"ok 1\n" + b"x" * 101 + b"\nok 2\n" + b"y" * 300)  # the last one is still growing
            assert await env.poll() == [b"ok 1", b"ok 2"]
            append(log, b"y" * 300)
            assert await env.poll() == []
            append(log, b"yyy\nok 3\n" + b"z" * 100 + b"\n")  # exactly max_line is fine
            assert await env.poll() == [b"ok 3", b"z" * 100]
            drops = env.stats.snapshot_and_reset().sensors["sensor-zeek"].dropped_by_reason
            assert drops == {"oversize": 2}

    run(scenario())


def test_a_restart_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watching(tmp_path, batch_size=10) as env:
            log = env.logs / "conn.log"
            append(log, joined(lines("day", 25)) + b"partial")
            assert await env.poll() == lines("day", 25)
            await env.watcher.stop()
            append(log, b" completed\n" + joined(lines("while down", 3)))
            log.rename(env.logs / "conn.log-20261126")  # rotated while the watcher was down
            append(log, b"new file\n")
            env.watcher = env.new_watcher()
            assert await env.poll() == [b"partial completed", *lines("while down", 3), b"new file"]
            await env.watcher.stop()
            env.watcher = env.new_watcher()
            assert await env.poll() == []

    run(scenario())


def test_a_restart_finds_a_file_rotated_out_of_the_glob_meanwhile(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watching(tmp_path, pattern="*.log", from_start=False) as env:
            log = env.logs / "fw.log"
            append(log, b"before the first start\n")
            assert await env.poll() == []
            append(log, b"seen\n")
            assert await env.poll() == [b"seen"]
            await env.watcher.stop()
            append(log, b"written while down\n")
            log.rename(env.logs / "fw.log.1")
            append(log, b"new file while down\n")
            append(env.logs / "other.log", b"another new file\n")
            env.watcher = env.new_watcher()
            assert await env.poll() == [b"written while down", b"new file while down", b"another new file"]

    run(scenario())


def test_a_reused_inode_with_other_content_is_read_from_the_start(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watching(tmp_path) as env:
            log = env.logs / "reuse.log"
            append(log, b"original content\n")
            assert await env.poll() == [b"original content"]
            await env.watcher.stop()
            state_path = tmp_path / "state" / "watch.json"
            state = json.loads(state_path.read_text())
            (entry,) = state["files"].values()
            entry["head"] = "0" * 64  # as if another file had held this inode
            entry["offset"] = 5
            state_path.write_text(json.dumps(state))
            env.watcher = env.new_watcher()
            assert await env.poll() == [b"original content"]

    run(scenario())


def test_a_corrupt_state_file_is_set_aside(tmp_path: Path) -> None:
    async def scenario() -> None:
        (tmp_path / "state").mkdir()
        (tmp_path / "state" / "watch.json").write_text("{not json")
        async with watching(tmp_path, from_start=False) as env:
            append(env.logs / "a.log", b"old\n")
            assert await env.poll() == []
            assert (tmp_path / "state" / "watch.json.corrupt").exists()

    run(scenario())


def test_start_polls_until_stop(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watching(tmp_path, poll_interval=0.02, batch_size=7) as env:
            await env.watcher.start()
            append(env.logs / "a.log", joined(lines("a", 20)))
            await asyncio.sleep(0.05)
            append(env.logs / "b.log", joined(lines("b", 20)))
            records = await asyncio.wait_for(take(env.bus, 40), 5)
            by_file: dict[str, list[bytes]] = {}
            for record in records:
                by_file.setdefault(os.path.basename(record.origin), []).append(record.data)
            assert by_file == {"a.log": lines("a", 20), "b.log": lines("b", 20)}
            await env.watcher.stop()

    run(scenario())


class FailingOnce:
    """A bus whose first publish fails (the spool's disk is full, say)."""

    def __init__(self, bus: EmbeddedBus) -> None:
        self.bus, self.failed = bus, False

    async def publish(self, records: Sequence[RawRecord], *, wait: bool = True) -> None:
        if not self.failed:
            self.failed = True
            raise OSError("no space left on device")
        await self.bus.publish(records, wait=wait)


def test_a_failed_publish_is_read_again(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watching(tmp_path) as env:
            failing = FailingOnce(env.bus)
            env.watcher = DirectoryWatcher(
                failing,  # type: ignore[arg-type]
                [WatchSource(str(env.logs / "*.log"), ROUTE, from_start=True)],
                state_path=tmp_path / "watch.json",
                stats=env.stats,
            )
            append(env.logs / "a.log", b"one\ntwo\n")
            try:
                await env.watcher.poll()
            except OSError:
                pass
            else:
                raise AssertionError("the publish should have failed")
            assert await env.poll() == [b"one", b"two"]

    run(scenario())


def test_lines_across_read_chunks_and_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tail, "CHUNK", 64)
    expected = [f"line {i} ".encode() + b"x" * (i % 40) for i in range(300)]

    async def scenario() -> None:
        async with watching(tmp_path, max_line=50, batch_size=7) as env:
            append(env.logs / "a.log", joined(expected) + b"y" * 51 + b"\nlast\n")
            first = await env.poll()
            assert MAX_BATCHES_PER_FILE * 7 <= len(first) < 300  # one file's turn per poll is bounded
            rest = [line for _ in range(3) for line in await env.poll()]
            assert [*first, *rest] == [*expected, b"last"]
            assert env.stats.snapshot_and_reset().sensors["sensor-zeek"].dropped_by_reason == {"oversize": 1}

    run(scenario())
