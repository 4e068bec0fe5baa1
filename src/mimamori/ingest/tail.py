"""One followed log file: complete lines read from a byte position, by inode, for the directory watcher.

A file is known by its device and inode, so a rename (rotation) does not make it a new file; the open
descriptor keeps reading the old inode after a rename or a deletion until its writer has finished.
Only complete lines (ending with LF; a CR before it is dropped) are returned: a partial last line stays
in the file until its writer completes it. Lines longer than ``max_line`` are skipped up to their LF and
counted. A file that shrinks below the read position was truncated in place (copytruncate): reading
restarts at 0. The methods do blocking file I/O: the watcher calls them from a worker thread.

Windows event logs (``*.evtx``) are not lines: they are followed by record id (``log_resume``,
``log_end``), by path rather than by inode, since an agent copies a live log again under a new inode.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from mimamori.errors import IngestError
from mimamori.ingest.readers import evtx

__all__ = [
    "COMPRESSED",
    "HEAD_BYTES",
    "FileKey",
    "Read",
    "TailedFile",
    "file_key",
    "head_digest",
    "is_event_log",
    "log_end",
    "log_resume",
    "log_signature",
    "matches",
]

CHUNK = 1024 * 1024  # bytes read at once (at least max_line + 1)
HEAD_BYTES = 64  # the start of a file that identifies it across restarts (inode numbers get reused)
COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip", ".z", ".tgz")  # rotated archives: ignored

FileKey = tuple[int, int]  # (st_dev, st_ino)


def file_key(st: os.stat_result) -> FileKey:
    return (st.st_dev, st.st_ino)


def head_digest(fd: int, length: int) -> str:
    """SHA-256 (hex) of the first ``length`` bytes of the open file."""
    return hashlib.sha256(os.pread(fd, length, 0)).hexdigest()


def matches(pattern: str) -> dict[FileKey, tuple[str, os.stat_result]]:
    """Regular, uncompressed files matching the glob ``pattern`` (``**`` allowed), by key."""
    found: dict[FileKey, tuple[str, os.stat_result]] = {}
    for path in sorted(glob.glob(pattern, recursive=True)):
        if path.lower().endswith(COMPRESSED):
            continue
        with contextlib.suppress(OSError):
            st = os.stat(path)
            if stat.S_ISREG(st.st_mode):
                found.setdefault(file_key(st), (path, st))
    return found


def rotated_sibling(path: str, key: FileKey) -> str | None:
    """Where the file once at ``path`` went if renamed in place (``x.log.1``, ``x.log-20261126``)."""
    for candidate in sorted(glob.glob(glob.escape(path) + "[.-]*")):
        if candidate.lower().endswith(COMPRESSED):
            continue
        with contextlib.suppress(OSError):
            if file_key(os.stat(candidate)) == key:
                return candidate
    return None


def is_event_log(path: str) -> bool:
    """Whether the watcher follows ``path`` as a Windows event log (by record id) instead of by lines."""
    return path.lower().endswith(".evtx")


def log_signature(path: str) -> tuple[int, int, int] | None:
    """Inode, size and modification time: an event log whose signature is unchanged has nothing new."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def log_resume(path: str, last: tuple[int, str] | None) -> int:
    """The record id to read the event log at ``path`` after: ``last`` if it continues that log, else 0.

    ``last`` is (record id, digest) of the record published last; a cleared log or another log copied
    to the path does not continue it (``evtx.follows``) and is read from its start.
    """
    if last is None:
        return 0
    return last[0] if evtx.follows(Path(path), last[0], last[1]) else 0


def log_end(path: str) -> tuple[int, str] | None:
    """The newest record id of an event log and its digest (where a log present at the first poll starts)."""
    ids = evtx.record_ids(Path(path))
    if ids is None:
        return None
    newest: tuple[int, bytes] | None = None
    try:
        for record_id, document in evtx.read_after(Path(path), ids[1] - 1):
            if newest is None or record_id > newest[0]:
                newest = (record_id, document)
    except IngestError:
        return None
    return None if newest is None else (newest[0], evtx.digest(newest[1]))


@dataclass(slots=True)
class Read:
    """What one ``TailedFile.read`` found: lines with the file position after each, and mishaps.

    ``at_end``: the read reached the end of the file (what is left is at most a partial line).
    """

    lines: list[bytes] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    oversize: int = 0
    truncated: bool = False
    at_end: bool = True


@dataclass(slots=True)
class TailedFile:
    """A followed file; ``position`` is where the next unread line starts (or the skip resumes)."""

    key: FileKey
    path: str
    position: int = 0
    discarding: bool = False  # inside an oversize line: skip to its LF
    head: str = ""
    head_len: int = 0
    fd: int | None = None
    size: int = 0  # as seen by the last read or stat
    idle_polls: int = 0  # polls without new data, to close idle descriptors
    gone_polls: int = -1  # polls since it no longer matches its pattern; -1 while it does

    def open(self) -> bool:
        """Open ``path`` if it is still this file (same device and inode); ``False`` otherwise."""
        if self.fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return False
        if file_key(os.fstat(fd)) != self.key:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None

    def identify_head(self) -> None:
        """Remember the file's first bytes (again, while it is shorter than ``HEAD_BYTES``)."""
        if self.fd is not None and self.head_len < HEAD_BYTES and self.size > self.head_len:
            self.head_len = min(HEAD_BYTES, self.size)
            self.head = head_digest(self.fd, self.head_len)

    def ends_mid_line(self) -> bool:
        """Whether the open file's last byte is not a LF (its writer is inside a line)."""
        assert self.fd is not None
        return self.size > 0 and os.pread(self.fd, 1, self.size - 1) != b"\n"

    def same_head(self, head: str, head_len: int) -> bool:
        """Whether the open file starts with the bytes recorded as ``head`` (a resumed file)."""
        if self.fd is None or head_len > os.fstat(self.fd).st_size:
            return False
        return head_len == 0 or head_digest(self.fd, head_len) == head

    def read(self, max_line: int) -> Read:
        """The complete lines of the next chunk (``CHUNK`` bytes) from ``position``; the file must be open."""
        assert self.fd is not None
        result = Read()
        self.size = os.fstat(self.fd).st_size
        if self.size < self.position:
            result.truncated = True
            self.position, self.discarding = 0, False
            self.head, self.head_len = "", 0
        if self.size == self.position:
            return result
        data = os.pread(self.fd, max(CHUNK, max_line + 2), self.position)
        start, end, lines, ends = 0, len(data), result.lines, result.ends
        while True:
            newline = data.find(b"\n", start)
            if newline < 0:
                break
            if self.discarding:
                self.discarding = False
            else:
                stop = newline - 1 if newline > start and data[newline - 1] == 0x0D else newline
                if stop - start > max_line:
                    result.oversize += 1
                elif stop > start:
                    lines.append(data[start:stop])
                    ends.append(self.position + newline + 1)
            start = newline + 1
        if end - start > max_line:
            if not self.discarding:
                result.oversize += 1
            self.discarding, start = True, end
        elif self.discarding:
            start = end
        result.at_end = self.position + end >= self.size
        self.position += start
        self.identify_head()
        return result
