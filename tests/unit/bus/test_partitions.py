"""Partitioning and message framing of the NATS bus (no server needed)."""

from __future__ import annotations

import contextlib
import struct
import zlib
from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mimamori.bus.leases import LeaseTimings
from mimamori.bus.nats_config import NatsBusConfig
from mimamori.bus.partitions import decode_frame, encode_frames, group_by_partition, partition
from mimamori.domain import RawRecord
from mimamori.errors import ConfigError, PayloadTooLargeError

NOW = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def record(tenant: str, i: int, size: int = 10) -> RawRecord:
    return RawRecord(
        tenant, "s1", "fortigate", bytes(range(256)) * (size // 256) + f"r{i}".encode(), NOW, "t"
    )


def test_partition_is_stable_and_in_range() -> None:
    # Fixed values: a change of the hash would send tenants to other workers after an upgrade.
    assert [partition(t, 16) for t in ("acme", "tenant-1", "日本")] == [1, 3, 10]
    assert partition("acme", 1000) == 185
    assert partition("acme", 1) == 0
    assert all(0 <= partition(f"t{i}", 7) < 7 for i in range(200))
    with pytest.raises(ValueError):
        partition("acme", 0)


def test_partition_known_values() -> None:
    import hashlib

    digest = hashlib.blake2b(b"acme", digest_size=8).digest()
    assert partition("acme", 1000) == int.from_bytes(digest, "big") % 1000


def test_partitions_spread_tenants() -> None:
    counts = Counter(partition(f"tenant-{i}", 8) for i in range(8000))
    assert len(counts) == 8
    assert min(counts.values()) > 800  # ~1000 each


def test_group_keeps_order_within_partition() -> None:
    records = [record(f"t{i % 5}", i) for i in range(50)]
    groups = group_by_partition(records, 4)
    assert sum(len(g) for g in groups.values()) == 50
    for p, group in groups.items():
        assert all(partition(r.tenant_id, 4) == p for r in group)
        assert group == [r for r in records if partition(r.tenant_id, 4) == p]


def test_frames_round_trip_and_split_under_limit() -> None:
    records = [record("acme", i, size=1000) for i in range(300)]
    frames = encode_frames(records, 20_000)
    assert len(frames) > 10
    assert all(len(frame) <= 20_000 for frame, _ in frames)
    decoded = [r for frame, _ in frames for r in decode_frame(frame)]
    assert decoded == records
    assert sum(n for _, n in frames) == 300


def test_one_frame_when_it_fits() -> None:
    records = [record("acme", i) for i in range(3)]
    [(frame, n)] = encode_frames(records, 1_000_000)
    assert n == 3
    assert decode_frame(frame) == tuple(records)
    assert encode_frames([], 1000) == []


def test_record_over_the_limit_is_rejected() -> None:
    with pytest.raises(PayloadTooLargeError):
        encode_frames([record("acme", 0, size=5000)], 2000)


AT = "2024-05-01T12:00:00+00:00"


def _v2(header: object) -> bytes:
    encoded = orjson.dumps(header)
    return b"\x02" + struct.pack("<I", len(encoded)) + encoded


def test_runs_of_records_round_trip_exactly_and_share_their_header() -> None:
    later = NOW.replace(second=1)
    records = [
        record("acme", 1),
        record("acme", 2),
        RawRecord("beta", "s2", "zeek", b"\xff\x00 not utf-8", later, "o2", "UTC"),
        record("acme", 3),
        RawRecord("acme", "s1", "fortigate", b"", later, "t"),
    ]
    [(frame, n)] = encode_frames(records, 1_000_000)
    assert n == 5
    assert decode_frame(frame) == tuple(records)
    header_size = struct.unpack_from("<I", frame, 13)[0]
    runs = orjson.loads(frame[17 : 17 + header_size])
    sizes = [len(r.data) for r in records]
    assert [run[-1] for run in runs] == [sizes[0:2], sizes[2:3], sizes[3:4], [0]]


def test_frames_of_the_first_payload_version_are_still_read() -> None:
    item = ["t", "s", "f", "d\u00ff", "2024-05-01T12:00:00+00:00", "o"]
    [old, with_zone] = decode_frame(_frame(orjson.dumps([item, [*item, "UTC"]])))
    assert old == RawRecord("t", "s", "f", b"d\xff", NOW.replace(microsecond=0), "o")
    assert with_zone.timezone == "UTC"


def _frame(payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(struct.pack("<I", len(payload))))
    return struct.pack("<4sII", b"MMB1", len(payload), crc) + payload


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"XXXX" + bytes(8),
        _frame(b"not json"),
        _frame(b'{"a": 1}'),
        _frame(b"[1, 2]"),
        _frame(b'[["t", "s", "f", "d"]]'),
        _frame(b'[["t", "s", "f", "d", "not a date", "o", "tz"]]'),
        _frame(b'[[1, "s", "f", "d", "2024-05-01T12:00:00+00:00", "o", "tz"]]'),
        _frame(orjson.dumps([["t", "s", "f", "d", "2024-05-01T12:00:00+00:00", 5]])),
        _frame(b"\x02"),
        _frame(b"\x02\x05\x00\x00\x00[]"),  # the header runs past the payload
        _frame(_v2({"a": 1})),
        _frame(_v2([["t", "s", "f", AT, "o", "tz"]])),
        _frame(_v2([["t", "s", "f", AT, "o", 5, [1]]]) + b"x"),
        _frame(_v2([["t", "s", "f", "not a date", "o", "tz", [1]]]) + b"x"),
        _frame(_v2([["t", "s", "f", AT, "o", "tz", 1]]) + b"x"),
        _frame(_v2([["t", "s", "f", AT, "o", "tz", [-1]]]) + b"x"),
        _frame(_v2([["t", "s", "f", AT, "o", "tz", [True]]]) + b"x"),
        _frame(_v2([["t", "s", "f", AT, "o", "tz", [2]]]) + b"x"),  # less data than announced
        _frame(_v2([["t", "s", "f", AT, "o", "tz", [1]]]) + b"xy"),  # more data than announced
    ],
)
def test_hostile_messages_raise_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        decode_frame(data)


def test_corrupted_frame_is_detected() -> None:
    [(frame, _)] = encode_frames([record("acme", 1)], 100_000)
    broken = bytearray(frame)
    broken[-2] ^= 0x01
    with pytest.raises(ValueError, match="CRC"):
        decode_frame(bytes(broken))
    with pytest.raises(ValueError):
        decode_frame(frame[:-1])


@pytest.mark.parametrize(
    "config",
    [
        NatsBusConfig(prefix="bad.prefix"),
        NatsBusConfig(prefix=""),
        NatsBusConfig(partitions=0),
        NatsBusConfig(replicas=0),
        NatsBusConfig(ack_wait=0),
        NatsBusConfig(leases=LeaseTimings(lease_ttl=2, renew_interval=3)),
        NatsBusConfig(leases=LeaseTimings(member_ttl=2, heartbeat_interval=3)),
    ],
)
def test_bad_config_is_rejected(config: NatsBusConfig) -> None:
    with pytest.raises(ConfigError):
        config.check()


def test_names() -> None:
    config = NatsBusConfig(prefix="mm")
    config.check()
    assert (config.stream, config.subject(3), config.durable(3)) == ("mm_raw", "mm.raw.3", "mm_raw_3")


_text = st.text(max_size=8)
_records = st.lists(
    st.builds(
        RawRecord,
        st.sampled_from(["a", "b"]),
        _text,
        _text,
        st.binary(max_size=40),
        st.sampled_from([NOW, NOW.replace(year=2025)]),
        _text,
        _text,
    ),
    max_size=12,
)


@given(_records)
def test_any_records_round_trip(records: list[RawRecord]) -> None:
    for frame, _ in encode_frames(records, 1_000_000):
        assert decode_frame(frame) == tuple(records)


@given(_records, st.data())
def test_a_frame_with_a_wrong_byte_under_a_good_crc_raises_value_error_or_decodes(
    records: list[RawRecord], data: st.DataObject
) -> None:
    if not records:
        return
    [(frame, _)] = encode_frames(records, 1_000_000)
    payload = bytearray(frame[12:])
    at = data.draw(st.integers(0, len(payload) - 1))
    payload[at] = data.draw(st.integers(0, 255))
    with contextlib.suppress(ValueError):
        decode_frame(_frame(bytes(payload)))  # anything else would crash a worker
