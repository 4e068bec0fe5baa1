"""Directory watch: follow log files that another program writes and publish their lines as RawRecords.

For sensors that write files instead of sending: a syslog daemon's per-device files, Zeek's
``current/*.log``, Suricata's ``eve.json``. Each ``WatchSource`` is a glob and the route of what it
matches. Polling (portable, no inotify needed) every ``poll_interval``:

- files matching a glob are followed by device and inode (``tail.TailedFile``); only complete lines
  are published, a partial last line waits for its writer;
- a pattern's files present the first time the pattern is seen start at their end (unless
  ``from_start``); files that appear later start at 0, so a new or rotated file loses nothing;
- rotation by rename: the old inode is read to its end (and for ``ROTATION_GRACE_POLLS`` more polls,
  while its writer may still finish) before the file that replaced it at its path; copytruncate (the
  file shrinks) restarts at 0; deleted files are finished through the open descriptor and forgotten;
  compressed rotations (``.gz``...) are ignored; lines over ``max_line`` are dropped and counted;
- offsets are committed per file after each published batch (``bus.publish(wait=True)``) and written
  atomically to the JSON ``state_path`` (``watch_state``; fsynced at most once a second and at stop),
  so a restart resumes where the last published batch ended: no loss, and no duplicates beyond a
  batch published but not yet recorded (after a power loss: up to a second of batches).

Windows event logs (``*.evtx``: an agent copies Security.evtx here again and again) are followed by
path and record id, not by inode and offset: each poll where the file changed, the records above the
last id published are read (only the chunks that can hold them are decoded) and published as RawRecords
of format ``evtx``; the last id and that record's digest are committed like the offsets. A log that no
longer holds that record unchanged (cleared, or another log copied over it) is read from its start.

Limits: a file truncated and regrown past the read position between two polls is not noticed, and
lines written between a copytruncate's copy and its truncation are lost (as with every tailer).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mimamori.bus.base import Bus
from mimamori.domain import RawRecord
from mimamori.errors import IngestError
from mimamori.ingest.readers import EVTX_FORMAT, evtx
from mimamori.ingest.routes import Route
from mimamori.ingest.stats import ReceiverStats
from mimamori.ingest.tail import (
    FileKey,
    TailedFile,
    is_event_log,
    log_end,
    log_resume,
    log_signature,
    matches,
    rotated_sibling,
)
from mimamori.ingest.watch_state import Saved, WatchState

__all__ = ["DirectoryWatcher", "WatchSource"]

log = logging.getLogger(__name__)

ROTATION_GRACE_POLLS = 5  # polls a renamed or deleted file is still read after its last new data
IDLE_CLOSE_POLLS = (
    300  # polls without new data after which a file's descriptor is closed (reopened on growth)
)
MAX_BATCHES_PER_FILE = 20  # batches read from one file per poll before the others get their turn
STOP_TIMEOUT_S = 10.0  # how long ``stop`` waits for a publish stuck on a full bus


@dataclass(frozen=True, slots=True)
class WatchSource:
    """Files matching the glob ``pattern`` (``**`` allowed) belong to ``route``."""

    pattern: str
    route: Route
    from_start: bool = False  # read files present at the pattern's first poll from the start


@dataclass(slots=True)
class _Followed:
    file: TailedFile
    source: WatchSource
    read_lines: int = 0  # lines read this poll


class DirectoryWatcher:
    """Follows the files of ``sources`` and publishes their lines to ``bus``; see the module docstring."""

    def __init__(
        self,
        bus: Bus,
        sources: Sequence[WatchSource],
        *,
        state_path: Path,
        poll_interval: float = 1.0,
        batch_size: int = 500,
        max_line: int = 65536,
        stats: ReceiverStats,
    ) -> None:
        self._bus, self._sources, self._stats = bus, list(sources), stats
        self._state = WatchState(Path(state_path))
        self._interval, self._batch_size, self._max_line = poll_interval, batch_size, max_line
        self._files: dict[FileKey, _Followed] = {}
        self._moved: dict[str, FileKey] = {}  # path -> the old file that left it and is being finished
        self._saved: dict[FileKey, Saved] = {}  # state file entries not yet matched (first poll)
        self._loaded = False
        self._batch: list[RawRecord] = []  # read, not yet published
        self._marks: dict[FileKey, int] = {}  # file -> position after its last line in ``_batch``
        self._published = 0  # lines published by the current poll
        self._logs: dict[str, WatchSource] = {}  # event logs (by path) matching a glob now
        self._log_seen: dict[str, tuple[int, int, int]] = {}  # log -> signature when read to its end
        self._log_marks: dict[str, tuple[int, bytes]] = {}  # log -> newest record in ``_batch``
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load the state file and start polling."""
        await self._load()
        self._stopping.clear()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="directory-watch")

    async def stop(self) -> None:
        """Stop polling (after the current publish, or ``STOP_TIMEOUT_S``); close every file."""
        self._stopping.set()
        if self._task is not None:
            done, _ = await asyncio.wait([self._task], timeout=STOP_TIMEOUT_S)
            if not done:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for followed in self._files.values():
            followed.file.close()
        if self._loaded:
            await asyncio.to_thread(functools.partial(self._state.save, sync=True))

    async def poll(self) -> int:
        """One round: find files, read and publish their new lines, record offsets; lines published."""
        await self._load()
        await asyncio.to_thread(self._scan)
        published = await self._read_all()
        await asyncio.to_thread(self._forget_finished)
        return published

    # -- internals --------------------------------------------------------------------------------
    async def _load(self) -> None:
        if not self._loaded:
            self._saved = await asyncio.to_thread(self._state.load)
            self._loaded = True

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.poll()
            except Exception:  # the file system or the bus failed: retry at the next poll
                log.exception("directory watch: poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)

    def _scan(self) -> None:
        """Match the globs; start following new files; notice files that moved or disappeared."""
        seen: set[FileKey] = set()
        logs: dict[str, WatchSource] = {}
        for source in self._sources:
            initial = not self._state.knows(source.pattern)
            for key, (path, st) in matches(source.pattern).items():
                if is_event_log(path):
                    if path not in logs:
                        logs[path] = source
                        self._watch_log(path, source, initial)
                    continue
                if key in seen:
                    continue
                seen.add(key)
                followed = self._files.get(key)
                if followed is None:
                    self._follow(TailedFile(key, path, size=st.st_size), source, initial)
                    continue
                if followed.file.path != path:
                    self._moved[followed.file.path] = key
                followed.file.path, followed.file.size, followed.file.gone_polls = path, st.st_size, -1
            self._state.learn(source.pattern)
        self._logs = logs
        for key, followed in self._files.items():
            tailed = followed.file
            if key in seen or tailed.gone_polls >= 0:
                continue
            tailed.gone_polls = 0
            self._moved[tailed.path] = key
            if tailed.fd is None:  # closed while idle: find it by inode if it was only renamed
                tailed.path = rotated_sibling(tailed.path, key) or tailed.path
        for key, saved in list(self._saved.items()):  # rotated while mimamori was down
            owner = next((s for s in self._sources if s.pattern == saved.pattern), None)
            sibling = rotated_sibling(saved.path, key)
            if owner is not None and sibling is not None and key not in self._files:
                self._follow(TailedFile(key, sibling, gone_polls=0), owner, initial=False)
                self._moved[saved.path] = key
        self._saved.clear()

    def _watch_log(self, path: str, source: WatchSource, initial: bool) -> None:
        """An event log present at its pattern's first poll starts after its newest record."""
        if path in self._logs or self._state.log(path) is not None or not initial or source.from_start:
            return
        end = log_end(path)
        if end is not None:
            self._state.commit_log(path, source.pattern, end[0], end[1])

    def _follow(self, tailed: TailedFile, source: WatchSource, initial: bool) -> None:
        """Open a file first seen now and choose where to start reading it."""
        if not tailed.open():
            return
        assert tailed.fd is not None
        saved = self._saved.pop(tailed.key, None)
        if saved is not None and tailed.same_head(saved.head, saved.head_len):
            tailed.position, tailed.discarding = saved.offset, saved.skip
            tailed.head, tailed.head_len = saved.head, saved.head_len
            if saved.path != tailed.path:  # renamed while mimamori was down: finish it first
                self._moved[saved.path] = tailed.key
        elif initial and not source.from_start:
            tailed.position, tailed.discarding = tailed.size, tailed.ends_mid_line()
        tailed.identify_head()
        self._files[tailed.key] = _Followed(tailed, source)
        self._state.commit(tailed, source.pattern, tailed.position, tailed.discarding)

    async def _read_all(self) -> int:
        moved = {k: None for k in self._moved.values() if k in self._files}
        order = [*moved, *(k for k in self._files if k not in moved)]
        blocked: set[str] = set()  # paths whose previous file is not finished yet
        self._published = 0
        for key in order:
            followed = self._files[key]
            tailed = followed.file
            if tailed.path in blocked:
                continue
            if tailed.gone_polls < 0 and tailed.size == tailed.position:  # unchanged since the last read
                followed.read_lines = 0
                self._after_read(followed, True, blocked)
                continue
            if not await asyncio.to_thread(tailed.open):
                if tailed.gone_polls >= 0:  # deleted while closed: nothing left to read
                    tailed.gone_polls = ROTATION_GRACE_POLLS
                continue
            followed.read_lines, at_end = 0, False
            while not at_end and followed.read_lines < MAX_BATCHES_PER_FILE * self._batch_size:
                at_end = await self._read_once(followed)
            self._after_read(followed, at_end, blocked)
        for path, source in list(self._logs.items()):
            await self._read_log(path, source)
        if self._batch:
            await self._publish()
        return self._published

    async def _read_log(self, path: str, source: WatchSource) -> None:
        """Read an event log's records above the last id published into the batch (if it changed)."""
        signature = await asyncio.to_thread(log_signature, path)
        if signature is None or self._log_seen.get(path) == signature:
            return
        saved = self._state.log(path)
        last = None if saved is None else (saved.last_id, saved.digest)
        after = await asyncio.to_thread(log_resume, path, last)
        if last is not None and after == 0:
            log.info(
                "directory watch: %s is not the log read before (cleared?); reading it from the start", path
            )
        route, read, limit = source.route, 0, MAX_BATCHES_PER_FILE * self._batch_size
        t, s, z, origin = route.tenant_id, route.sensor_id, route.timezone, f"file:{path}"
        try:
            records = iter(await asyncio.to_thread(evtx.read_after, Path(path), after))
            while read < limit:
                items = await asyncio.to_thread(_take, records, self._batch_size - len(self._batch))
                if not items:
                    break
                now = datetime.now(UTC)
                self._batch.extend(RawRecord(t, s, EVTX_FORMAT, doc, now, origin, z) for _, doc in items)
                newest = max(items, key=lambda item: item[0])
                mark = self._log_marks.get(path)
                if mark is None or newest[0] > mark[0]:
                    self._log_marks[path] = newest
                read += len(items)
                if len(self._batch) >= self._batch_size:
                    await self._publish()
        except IngestError as exc:
            log.warning("directory watch: %s: %s", path, exc)
        if read < limit:  # read to its end: nothing to do until it changes
            self._log_seen[path] = signature

    async def _read_once(self, followed: _Followed) -> bool:
        """Read a chunk of one file into the batch, publishing each batch as it fills up."""
        tailed, route = followed.file, followed.source.route
        read = await asyncio.to_thread(tailed.read, self._max_line)
        if read.truncated:
            log.info("directory watch: %s was truncated; reading it again from the start", tailed.path)
        if read.oversize:
            self._stats.dropped(route.sensor_id, "oversize", read.oversize)
        if not read.lines and tailed.key not in self._marks:
            # Only skipped bytes (an oversize line, blank lines): nothing to lose by committing them.
            self._state.commit(tailed, followed.source.pattern, tailed.position, tailed.discarding)
        now, origin = datetime.now(UTC), f"file:{tailed.path}"
        t, s, f, z = route.tenant_id, route.sensor_id, route.format, route.timezone
        done, total = 0, len(read.lines)
        while done < total:
            take = min(total - done, self._batch_size - len(self._batch))
            self._batch.extend(
                RawRecord(t, s, f, line, now, origin, z) for line in read.lines[done : done + take]
            )
            done += take
            self._marks[tailed.key] = read.ends[done - 1]
            if len(self._batch) >= self._batch_size:
                await self._publish()
        followed.read_lines += total
        return read.at_end

    def _after_read(self, followed: _Followed, at_end: bool, blocked: set[str]) -> None:
        """Order rotations (a moved file before its successor), and count idle and gone polls."""
        tailed = followed.file
        left = [path for path, key in self._moved.items() if key == tailed.key]
        if not at_end:
            blocked.update(left)  # its successor at the old path waits for the next poll
            tailed.gone_polls = min(0, tailed.gone_polls)
            return
        for path in left:
            del self._moved[path]
        if tailed.gone_polls >= 0:
            tailed.gone_polls = 0 if followed.read_lines else tailed.gone_polls + 1
        if followed.read_lines:
            tailed.idle_polls = 0
        else:
            tailed.idle_polls += 1
            if tailed.idle_polls >= IDLE_CLOSE_POLLS and tailed.gone_polls < 0:
                tailed.close()

    async def _publish(self) -> None:
        """Publish the batch; then its files' offsets are committed and the state file written.

        If the bus fails, every file goes back to its committed offset: the poll ends, and the next
        one reads the lost lines again.
        """
        batch, marks, log_marks = self._batch, self._marks, self._log_marks
        self._batch, self._marks, self._log_marks = [], {}, {}
        try:
            await self._bus.publish(batch, wait=True)
        except BaseException:
            self._log_seen.clear()  # event logs are read again from their committed record
            for followed in self._files.values():
                followed.file.position, followed.file.discarding = self._state.position(followed.file.key)
            raise
        now = datetime.now(UTC)
        for sensor_id, count in Counter(record.sensor_id for record in batch).items():
            self._stats.received(sensor_id, count, now)
        for key, end in marks.items():
            followed = self._files[key]
            self._state.commit(followed.file, followed.source.pattern, end, False)
        for path, (record_id, document) in log_marks.items():
            pattern = self._logs[path].pattern if path in self._logs else ""
            self._state.commit_log(path, pattern, record_id, evtx.digest(document))
        await asyncio.to_thread(self._state.save)
        self._published += len(batch)

    def _forget_finished(self) -> None:
        """Close and forget renamed or deleted files that have been finished; drop their state."""
        finished = [k for k, f in self._files.items() if f.file.gone_polls >= ROTATION_GRACE_POLLS]
        for key in finished:
            self._files.pop(key).file.close()
            self._state.forget(key)
        self._moved = {p: k for p, k in self._moved.items() if k in self._files}
        self._state.save()


def _take(records: Iterator[tuple[int, bytes]], count: int) -> list[tuple[int, bytes]]:
    """Up to ``count`` (at least one) more records of an event log (blocking: decodes chunks)."""
    return list(itertools.islice(records, max(1, count)))
