"""The on-disk spool of the embedded bus: frame format, the group-commit writer thread, recovery.

Layout (one directory)::

    000000000007.seg   frames: MAGIC(4) | payload length u32 LE | CRC32(length + payload) u32 LE | payload
    000000000007.ack   acks:   frame offset u64 LE | CRC32(offset) u32 LE      (one per acknowledged batch)

The payload (version 2) is ``0x02 | header length u32 LE | header | data``: the header is ``orjson`` of
``[[tenant, sensor, format, received_at, origin, tz, [length, ...]], ...]``, one entry per run of
consecutive records that share everything but their bytes (a receiver's read from one connection), and
``data`` is every record's bytes, concatenated in order. So the bytes are copied, never escaped, and a
run's metadata and timestamp are written and parsed once: a record costs a slice and an object.
Version 1 payloads (``orjson`` of ``[[tenant, sensor, format, data (latin-1), received_at, origin,
tz], ...]``, first byte ``[``), written before 2026-11-29, are still read. The magic and the CRC over the
length make a zero-filled or torn tail detectable. Everything here does blocking I/O and is meant to
run in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from typing import Generic, TypeVar

import orjson

from mimamori.domain import RawRecord

__all__ = [
    "Location",
    "Recovered",
    "SpoolWriter",
    "ack_record",
    "decode_batch",
    "delete_segment",
    "encode_batch",
    "read_payload",
    "recover",
    "segment_path",
]

log = logging.getLogger(__name__)

MAGIC = b"MMB1"
_HEADER = struct.Struct("<4sII")  # magic, payload length, crc32(length bytes + payload)
_ACK = struct.Struct("<QI")  # frame offset, crc32(offset bytes)
_LEN = struct.Struct("<I")
_OFF = struct.Struct("<Q")
_V2 = b"\x02"  # the first byte of a version 2 payload (version 1 is JSON: ``[``)
# What a run of records shares (everything but the bytes), and the bytes.
_RUN = attrgetter("tenant_id", "sensor_id", "format", "received_at", "origin", "timezone")
_DATA = attrgetter("data")
Location = tuple[int, int]  # (segment number, frame offset)
T = TypeVar("T")


def segment_path(directory: Path, seg: int, suffix: str) -> Path:
    """``<dir>/000000000007.seg`` (data) or ``.ack`` (its ack log)."""
    return directory / f"{seg:012d}{suffix}"


def encode_batch(records: Sequence[RawRecord]) -> bytes:
    """One frame (header + payload, version 2) for ``records``."""
    runs = [[*key, [len(r.data) for r in run]] for key, run in groupby(records, _RUN)]
    header = orjson.dumps(runs)
    payload = b"".join((_V2, _LEN.pack(len(header)), header, *map(_DATA, records)))
    crc = zlib.crc32(payload, zlib.crc32(_LEN.pack(len(payload))))
    return _HEADER.pack(MAGIC, len(payload), crc) + payload


def decode_batch(payload: bytes) -> tuple[RawRecord, ...]:
    """The inverse of :func:`encode_batch` for a payload whose CRC has been checked; ``ValueError`` (or
    ``TypeError``) when its content does not describe records."""
    if payload[:1] != _V2:
        return _decode_v1(payload)
    if len(payload) < 1 + _LEN.size:
        raise ValueError("payload shorter than its header")
    (size,) = _LEN.unpack_from(payload, 1)
    pos = 1 + _LEN.size + size
    runs = orjson.loads(payload[1 + _LEN.size : pos])
    if not isinstance(runs, list):
        raise ValueError("payload header is not a list of runs")
    out: list[RawRecord] = []
    for run in runs:
        if not (isinstance(run, list) and len(run) == 7):
            raise ValueError("payload run is not a 7-item list")
        tenant, sensor, fmt, at, origin, tz, lengths = run
        if not all(isinstance(v, str) for v in (tenant, sensor, fmt, at, origin, tz)):
            raise ValueError("payload run holds non-text fields")
        if not isinstance(lengths, list) or not all(type(n) is int and n >= 0 for n in lengths):
            raise ValueError("payload run's lengths are not sizes")
        received_at = datetime.fromisoformat(at)
        for n in lengths:
            end = pos + n
            out.append(RawRecord(tenant, sensor, fmt, payload[pos:end], received_at, origin, tz))
            pos = end
    if pos != len(payload):
        raise ValueError("payload data does not match its header")
    return tuple(out)


def _decode_v1(payload: bytes) -> tuple[RawRecord, ...]:
    records = tuple(
        # Spools written before the timezone field carry six items: they get the default zone.
        RawRecord(
            item[0], item[1], item[2], item[3].encode("latin-1"), datetime.fromisoformat(item[4]), *item[5:]
        )
        for item in orjson.loads(payload)
    )
    for r in records:
        if not all(isinstance(v, str) for v in (r.tenant_id, r.sensor_id, r.format, r.origin, r.timezone)):
            raise ValueError("payload holds a record with non-text fields")
    return records


def ack_record(offset: int) -> bytes:
    """The ack-log entry for the frame at ``offset``; the CRC keeps a zeroed tail from acking frame 0."""
    return _ACK.pack(offset, zlib.crc32(_OFF.pack(offset)))


class SpoolWriter(Generic[T]):
    """The group-commit thread: appends submitted frames to the active segment and rotates segments.

    Every round takes all frames submitted since the last one, writes them with one ``write`` and one
    ``fdatasync``, and reports ``(tokens, locations)`` -- or ``(tokens, exception)`` -- to the event loop
    through ``call_soon_threadsafe``, in submission order.
    """

    def __init__(
        self,
        directory: Path,
        first_seg: int,
        *,
        segment_bytes: int,
        fsync: bool,
        loop: asyncio.AbstractEventLoop,
        on_done: Callable[[list[T], list[Location] | Exception], None],
    ) -> None:
        self._dir, self._segment_bytes, self._fsync = directory, segment_bytes, fsync
        self._loop, self._on_done = loop, on_done
        self._cv = threading.Condition()
        self._queue: list[tuple[bytes, T]] = []
        self._stopping = False
        self._seg, self._fd, self._size = first_seg - 1, -1, 0
        self._thread = threading.Thread(target=self._run, name="mimamori-spool-writer", daemon=True)
        self._thread.start()

    def submit(self, frame: bytes, token: T) -> None:
        with self._cv:
            self._queue.append((frame, token))
            self._cv.notify()

    def stop(self) -> None:
        """Write what was submitted, then end the thread (blocking: call it from a worker thread)."""
        with self._cv:
            self._stopping = True
            self._cv.notify()
        self._thread.join()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._stopping:
                    self._cv.wait()
                if not self._queue:
                    return
                items, self._queue = self._queue, []
            tokens = [token for _, token in items]
            result: list[Location] | Exception
            try:
                result = self._write([frame for frame, _ in items])
            except Exception as exc:  # anything uncaught would leave the publishers waiting forever
                log.exception("spool write failed; %d batches not accepted", len(items))
                result = exc
            self._loop.call_soon_threadsafe(self._on_done, tokens, result)

    def _write(self, frames: list[bytes]) -> list[Location]:
        locations: list[Location] = []
        chunk: list[bytes] = []
        for frame in frames:
            if self._fd < 0 or (self._size > 0 and self._size + len(frame) > self._segment_bytes):
                self._flush(chunk)
                chunk = []
                self._rotate()
            locations.append((self._seg, self._size))
            chunk.append(frame)
            self._size += len(frame)
        self._flush(chunk)
        return locations

    def _flush(self, chunk: list[bytes]) -> None:
        if not chunk:
            return
        data = memoryview(b"".join(chunk))
        start = self._size - len(data)
        try:
            while data:
                data = data[os.write(self._fd, data) :]
            if self._fsync:
                os.fdatasync(self._fd)
        except OSError:
            # Cut the half-written group so the segment stays parseable; if even that fails, move on.
            try:
                os.ftruncate(self._fd, start)
                self._size = start
            except OSError:
                self._size = self._segment_bytes
            raise

    def _rotate(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._seg += 1
        self._size = 0
        path = segment_path(self._dir, self._seg, ".seg")
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        if self._fsync:  # make the new directory entry durable too
            dir_fd = os.open(self._dir, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


@dataclass(slots=True)
class Recovered:
    """What ``recover`` found: per live segment ``(frames, acked)``, the unacked frames in order."""

    segments: dict[int, tuple[int, int]] = field(default_factory=dict)
    pending: list[tuple[int, int, int]] = field(default_factory=list)  # (segment, offset, payload length)
    corrupt: int = 0
    next_seg: int = 0


def _scan_segment(path: Path) -> tuple[list[tuple[int, int]], int]:
    """Valid frames ``(offset, payload length)`` of a segment and where the valid part ends."""
    frames: list[tuple[int, int]] = []
    offset = 0
    with path.open("rb") as f:
        while True:
            header = f.read(_HEADER.size)
            if len(header) < _HEADER.size:
                break
            magic, length, crc = _HEADER.unpack(header)
            if magic != MAGIC:
                break
            payload = f.read(length)
            if len(payload) < length or zlib.crc32(payload, zlib.crc32(_LEN.pack(length))) != crc:
                break
            frames.append((offset, length))
            offset += _HEADER.size + length
    return frames, offset


def _read_acks(path: Path) -> set[int]:
    acked: set[int] = set()
    with contextlib.suppress(FileNotFoundError):
        data = path.read_bytes()
        for i in range(0, len(data) - _ACK.size + 1, _ACK.size):  # a torn last record is ignored
            offset, crc = _ACK.unpack_from(data, i)
            if zlib.crc32(_OFF.pack(offset)) == crc:
                acked.add(offset)
    return acked


def recover(directory: Path) -> Recovered:
    """Scan the spool, cut corrupt tails, delete what is fully acknowledged, list what is not."""
    seg_numbers = sorted(
        int(p.stem) for p in directory.glob("*.seg") if p.stem.isascii() and p.stem.isdigit()
    )
    numbers = set(seg_numbers)
    for ack in directory.glob("*.ack"):  # left behind by a crash between the two unlinks of a segment
        if ack.stem.isascii() and ack.stem.isdigit() and int(ack.stem) not in numbers:
            ack.unlink(missing_ok=True)
    result = Recovered(next_seg=max(numbers, default=-1) + 1)
    for seg in seg_numbers:
        path, ack_path = segment_path(directory, seg, ".seg"), segment_path(directory, seg, ".ack")
        try:
            frames, valid_end = _scan_segment(path)
            size = path.stat().st_size
        except FileNotFoundError:  # deleted meanwhile by a still-running deleter thread: fully acked
            continue
        if valid_end < size:
            result.corrupt += 1
            log.warning(
                "spool %s: torn or corrupt tail at offset %d, %d bytes cut", path, valid_end, size - valid_end
            )
            os.truncate(path, valid_end)
        acked = _read_acks(ack_path)
        pending = [(seg, off, length) for off, length in frames if off not in acked]
        if not pending:
            path.unlink(missing_ok=True)
            ack_path.unlink(missing_ok=True)
            continue
        result.segments[seg] = (len(frames), len(frames) - len(pending))
        result.pending.extend(pending)
    return result


def delete_segment(directory: Path, seg: int) -> None:
    """Remove a fully acknowledged segment, slowly for big files: run it in a thread.

    First the data, then the acks: a crash in between leaves an ack log without data, which ``recover``
    removes; the other order could bring acknowledged batches back.
    """
    segment_path(directory, seg, ".seg").unlink(missing_ok=True)
    segment_path(directory, seg, ".ack").unlink(missing_ok=True)


def read_payload(directory: Path, seg: int, offset: int, length: int) -> bytes:
    """The payload of the frame at ``offset`` of segment ``seg``."""
    with segment_path(directory, seg, ".seg").open("rb") as f:
        f.seek(offset + _HEADER.size)
        return f.read(length)
