"""The directory watcher's memory: committed offsets per followed file, in a JSON file written atomically.

One entry per file, keyed by ``"<device>:<inode>"``, with its path, the glob it matched, the committed
offset (just after the last line published), whether that offset is inside an oversize line being
skipped, and a digest of the file's first bytes (inode numbers are reused after a deletion; the head
tells a resumed file from a newcomer on the same inode). ``patterns`` lists the globs already polled:
a glob seen for the first time starts its existing files at their end. ``evtx`` holds, per path, the
Windows event logs followed by record id: the highest id published and that record's digest (an agent
copies a live log again and again, under a new inode each time: the path and the record are what stay).

The file is replaced atomically (write a temporary file, rename it over the old one; fsync both at most
every ``SYNC_INTERVAL_S`` and at stop), so a crash leaves either the old or the new state, never a torn
one, and a power loss at worst an older one. An unreadable state file is set aside as
``<name>.corrupt`` and the watcher starts afresh (files present then start at their end).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mimamori.ingest.tail import FileKey, TailedFile

__all__ = ["STATE_VERSION", "Saved", "SavedLog", "WatchState"]

log = logging.getLogger(__name__)

STATE_VERSION = 1
SYNC_INTERVAL_S = 1.0  # at most this much committed progress is lost with the power (read again: duplicates)


@dataclass(frozen=True, slots=True)
class Saved:
    """The committed state of one file."""

    path: str
    pattern: str
    offset: int
    skip: bool = False
    head: str = ""
    head_len: int = 0


@dataclass(frozen=True, slots=True)
class SavedLog:
    """The committed state of one EVTX file: the last record id published and its digest."""

    pattern: str
    last_id: int
    digest: str


class WatchState:
    """Committed offsets and known globs, loaded once and saved after every published batch."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._patterns: set[str] = set()
        self._files: dict[FileKey, Saved] = {}
        self._logs: dict[str, SavedLog] = {}
        self._dirty = False
        self._synced = -SYNC_INTERVAL_S  # monotonic time of the last fsynced save
        self._unsynced = False  # the file on disk was written without fsync

    def load(self) -> dict[FileKey, Saved]:
        """Read the state file: the files to resume (an absent file means a first run)."""
        try:
            raw = json.loads(self._path.read_bytes())
            self._patterns = {str(p) for p in raw["patterns"]}
            saved = {_key(k): _saved(v) for k, v in raw["files"].items()}
            self._logs = {
                str(k): SavedLog(str(v["pattern"]), int(v["last_id"]), str(v["digest"]))
                for k, v in raw.get("evtx", {}).items()
            }
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.error("directory watch: state %s unreadable (%s); starting afresh", self._path, exc)
            with contextlib.suppress(OSError):
                self._path.replace(self._path.with_name(self._path.name + ".corrupt"))
            self._patterns, self._logs = set(), {}
            return {}
        return saved

    def knows(self, pattern: str) -> bool:
        return pattern in self._patterns

    def learn(self, pattern: str) -> None:
        if pattern not in self._patterns:
            self._patterns.add(pattern)
            self._dirty = True

    def commit(self, tailed: TailedFile, pattern: str, offset: int, skip: bool) -> None:
        """Record that ``tailed`` is published up to ``offset``."""
        entry = Saved(tailed.path, pattern, offset, skip, tailed.head, tailed.head_len)
        if self._files.get(tailed.key) != entry:
            self._files[tailed.key] = entry
            self._dirty = True

    def position(self, key: FileKey) -> tuple[int, bool]:
        """The committed offset of a file and whether it is inside a skipped line."""
        saved = self._files.get(key)
        return (saved.offset, saved.skip) if saved else (0, False)

    def log(self, path: str) -> SavedLog | None:
        """The committed state of the EVTX file at ``path``, if it was ever published from."""
        return self._logs.get(path)

    def commit_log(self, path: str, pattern: str, last_id: int, digest: str) -> None:
        """Record that the EVTX file at ``path`` is published up to record ``last_id``."""
        entry = SavedLog(pattern, last_id, digest)
        if self._logs.get(path) != entry:
            self._logs[path] = entry
            self._dirty = True

    def forget(self, key: FileKey) -> None:
        if self._files.pop(key, None) is not None:
            self._dirty = True

    def save(self, *, sync: bool = False) -> None:
        """Write the state atomically if it changed since the last save.

        The new file is fsynced (surviving a power loss, not just a crash of the process) when ``sync``
        or at most every ``SYNC_INTERVAL_S``: an fsync costs milliseconds, a save follows every batch.
        """
        if not self._dirty and not (sync and self._unsynced):
            return
        now = time.monotonic()
        sync = sync or now - self._synced >= SYNC_INTERVAL_S
        document = {
            "version": STATE_VERSION,
            "patterns": sorted(self._patterns),
            "files": {
                f"{dev}:{ino}": {
                    "path": s.path,
                    "pattern": s.pattern,
                    "offset": s.offset,
                    "skip": s.skip,
                    "head": s.head,
                    "head_len": s.head_len,
                }
                for (dev, ino), s in self._files.items()
            },
            "evtx": {
                path: {"pattern": s.pattern, "last_id": s.last_id, "digest": s.digest}
                for path, s in self._logs.items()
            },
        }
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_name(self._path.name + ".tmp")
        with temporary.open("wb") as out:
            out.write(json.dumps(document, ensure_ascii=False, indent=1).encode())
            if sync:
                out.flush()
                os.fsync(out.fileno())
        temporary.replace(self._path)
        if sync:
            directory = os.open(self._path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
            self._synced = now
        self._dirty, self._unsynced = False, not sync


def _key(text: str) -> FileKey:
    dev, ino = text.split(":")
    return int(dev), int(ino)


def _saved(value: Any) -> Saved:
    return Saved(
        path=str(value["path"]),
        pattern=str(value["pattern"]),
        offset=int(value["offset"]),
        skip=bool(value.get("skip", False)),
        head=str(value.get("head", "")),
        head_len=int(value.get("head_len", 0)),
    )
