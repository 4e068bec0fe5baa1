"""Partitioning of RawRecords by tenant and their framing into NATS messages.

``partition(tenant, P)`` is the first 8 bytes of BLAKE2b over the tenant id, modulo P: stable across
processes, hosts and Python versions (unlike ``hash``), so every receiver sends one tenant's records to
the same subject and one worker sees all of them. A message carries many records in the frame of the
embedded spool (:func:`mimamori.bus.spool.encode_batch`: magic, length, CRC32, payload), so a
corrupted or foreign message is recognised before it is decoded.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Sequence

from mimamori.bus.spool import MAGIC, decode_batch, encode_batch
from mimamori.domain import RawRecord
from mimamori.errors import PayloadTooLargeError

__all__ = ["decode_frame", "encode_frames", "group_by_partition", "partition"]

_HEADER = struct.Struct("<4sII")  # the spool frame header: magic, payload length, crc32(length + payload)
_LEN = struct.Struct("<I")


def partition(tenant_id: str, partitions: int) -> int:
    """The partition of ``tenant_id`` among ``partitions`` (stable hash modulo P)."""
    if partitions < 1:
        raise ValueError("partitions must be at least 1")
    digest = hashlib.blake2b(tenant_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


def group_by_partition(records: Sequence[RawRecord], partitions: int) -> dict[int, list[RawRecord]]:
    """The records per partition, each list in the original order."""
    groups: dict[int, list[RawRecord]] = {}
    cache: dict[str, int] = {}  # a batch usually holds few tenants: hash each once
    for record in records:
        p = cache.get(record.tenant_id)
        if p is None:
            p = cache[record.tenant_id] = partition(record.tenant_id, partitions)
        groups.setdefault(p, []).append(record)
    return groups


def encode_frames(records: Sequence[RawRecord], max_bytes: int) -> list[tuple[bytes, int]]:
    """Frames of at most ``max_bytes`` holding ``records`` in order, each with its record count.

    Raises ``PayloadTooLargeError`` when a single record does not fit in one frame.
    """
    if not records:
        return []
    frame = encode_batch(records)
    if len(frame) <= max_bytes:
        return [(frame, len(records))]
    if len(records) == 1:
        raise PayloadTooLargeError(f"one record encodes to {len(frame)} bytes, over the {max_bytes} limit")
    # Split into pieces sized from this measurement (10% slack), then halve any piece still too large.
    pieces = min(len(records), -(-len(frame) * 11 // (max_bytes * 10)))
    step = -(-len(records) // max(pieces, 2))
    out: list[tuple[bytes, int]] = []
    for start in range(0, len(records), step):
        out.extend(encode_frames(records[start : start + step], max_bytes))  # step < len: terminates
    return out


def decode_frame(data: bytes) -> tuple[RawRecord, ...]:
    """The records of one message; ``ValueError`` if it is not an intact frame."""
    if len(data) < _HEADER.size:
        raise ValueError("message shorter than a frame header")
    magic, length, crc = _HEADER.unpack_from(data)
    if magic != MAGIC or length != len(data) - _HEADER.size:
        raise ValueError("not a mimamori frame")
    payload = data[_HEADER.size :]
    if zlib.crc32(payload, zlib.crc32(_LEN.pack(length))) != crc:
        raise ValueError("frame CRC mismatch")
    try:
        records = decode_batch(payload)
    except (TypeError, IndexError, KeyError, UnicodeError, AttributeError) as exc:
        raise ValueError(f"undecodable frame: {exc}") from exc
    return records
