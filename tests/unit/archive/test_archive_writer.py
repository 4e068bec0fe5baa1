"""The archive writer: buffers per tenant and UTC day, new part files written atomically."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.unit.archive.conftest import OTHER, T0, TENANT, Clock, event

from mimamori.archive import SCHEMA, ArchiveWriter, to_table
from mimamori.archive import writer as writer_module


def parts(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


def test_append_only_buffers_until_a_threshold(make_writer: Callable[..., ArchiveWriter], root: Path) -> None:
    writer = make_writer(flush_events=100, flush_seconds=60)
    writer.append([event(source__ip="10.0.0.1")])
    assert writer.buffered == 1
    assert parts(root) == []


def test_full_buffer_is_written_as_a_new_part(make_writer: Callable[..., ArchiveWriter], root: Path) -> None:
    writer = make_writer(flush_events=3)
    writer.append([event(T0 + timedelta(seconds=i)) for i in range(3)])
    (part,) = parts(root)
    assert part.parent == root / f"tenant={TENANT}" / "date=2026-11-26"
    assert part.name.startswith("part-")
    assert pq.read_table(part).num_rows == 3
    assert writer.buffered == 0
    writer.append([event(T0 + timedelta(seconds=9 + i)) for i in range(3)])
    assert len(parts(root)) == 2  # never appended to an existing file


def test_one_directory_per_tenant_and_utc_day(make_writer: Callable[..., ArchiveWriter], root: Path) -> None:
    writer = make_writer()
    late = T0.replace(hour=23, minute=59, second=59)  # 08:59 JST next day, still 2026-11-26 in UTC
    writer.append([event(T0), event(late), event(late + timedelta(seconds=2)), event(T0, tenant=OTHER)])
    written = writer.flush()
    assert sorted(str(p.parent.relative_to(root)) for p in written) == [
        f"tenant={TENANT}/date=2026-11-26",
        f"tenant={TENANT}/date=2026-11-27",
        f"tenant={OTHER}/date=2026-11-26",
    ]
    assert writer.stats.written == 4


def test_due_buffers_are_written_by_age(
    make_writer: Callable[..., ArchiveWriter], root: Path, clock: Clock
) -> None:
    writer = make_writer(flush_seconds=30)
    writer.append([event(T0)])
    clock.now += 10
    writer.append([event(T0, tenant=OTHER)])
    clock.now += 21  # the first buffer waited 31 s, the second 21 s
    written = writer.flush_due()
    assert [p.parent.parent.name for p in written] == [f"tenant={TENANT}"]
    assert writer.buffered == 1


def test_memory_cap_writes_the_biggest_buffers(make_writer: Callable[..., ArchiveWriter], root: Path) -> None:
    writer = make_writer(flush_events=1000, max_buffered=1000)
    writer.append([event(T0, tenant=OTHER)] * 10)
    writer.append([event(T0)] * 995)  # 1005 > 1000: the biggest buffer goes first
    assert [p.parent.parent.name for p in parts(root)] == [f"tenant={TENANT}"]
    assert writer.buffered == 10


def test_columns_and_types(make_writer: Callable[..., ArchiveWriter], root: Path) -> None:
    writer = make_writer()
    writer.append(
        [
            event(
                raw=b"\xff\xfe not utf-8 " + b"x" * 20_000,
                source__ip="192.168.1.5",
                destination__ip="203.0.113.66",
                destination__port=443,
                event__category=["network", "web"],
                event__outcome="success",
                host__name="PC-01",
                message="hello",
                zeek__extra=True,
            )
        ]
    )
    (part,) = writer.flush()
    table = pq.read_table(part)
    assert table.schema.field("timestamp").type == SCHEMA.field("timestamp").type
    assert str(table.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    row = table.to_pylist()[0]
    assert row["timestamp"] == T0
    assert row["tenant_id"] == TENANT
    assert row["sensor_id"] == "sensor-1"
    assert row["format"] == "zeek"
    assert row["source.ip"] == "192.168.1.5"
    assert row["destination.port"] == 443
    assert row["event.category"] == "network,web"
    assert row["message"] == "hello"
    assert '"zeek.extra":true' in row["fields"]
    assert row["raw"].startswith("\ufffd\ufffd not utf-8")
    assert len(row["raw"].encode()) <= 8 * 1024 + 8  # truncated to 8 KiB (+ replacement characters)


def test_prepare_then_add_files_only_when_added(
    make_writer: Callable[..., ArchiveWriter], root: Path
) -> None:
    writer = make_writer()
    prepared = writer.prepare([event(T0), event(T0, tenant=OTHER)])
    assert writer.buffered == 0  # converted, not filed: a batch whose transaction fails is not archived
    writer.add(prepared)
    assert writer.buffered == 2
    assert len(writer.flush()) == 2


def test_table_keeps_the_given_order() -> None:
    table = to_table([event(T0 + timedelta(seconds=5)), event(T0), event(T0 + timedelta(seconds=2))])
    assert table.column("timestamp").to_pylist() == [T0 + timedelta(seconds=5), T0, T0 + timedelta(seconds=2)]


def test_a_failed_write_leaves_no_visible_file(
    make_writer: Callable[..., ArchiveWriter], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = writer_module.pq.write_table

    def crash(table: object, sink: object, **kwargs: object) -> None:
        real(table, sink, **kwargs)  # the bytes are written, then the process "dies" before the rename
        raise OSError("disk full")

    monkeypatch.setattr(writer_module.pq, "write_table", crash)
    writer = make_writer()
    writer.append([event(T0)])
    assert writer.flush() == []  # the pipeline is not stopped: logged and counted
    assert writer.stats.dropped == 1
    assert list(root.rglob("*")) != []  # the day directory exists ...
    assert [p for p in root.rglob("*") if p.is_file()] == []  # ... but neither a part nor a .tmp


def test_events_of_an_unsafe_tenant_id_are_dropped(
    make_writer: Callable[..., ArchiveWriter], root: Path, tmp_path: Path
) -> None:
    writer = make_writer()
    writer.append([event(T0, tenant="../../escape"), event(T0, tenant="a/b"), event(T0)])
    written = writer.flush()
    assert len(written) == 1
    assert writer.stats.dropped == 2
    assert all(p.is_relative_to(root) for p in tmp_path.rglob("*.parquet"))


def test_background_writer_writes_full_buffers_and_flush_waits(
    make_writer: Callable[..., ArchiveWriter], root: Path
) -> None:
    writer = make_writer(flush_events=10, background=True)
    for n in range(5):
        writer.append([event(T0 + timedelta(seconds=n * 10 + i)) for i in range(10)])  # each fills a buffer
    writer.append([event(T0 + timedelta(minutes=5))])
    written = writer.flush()  # returns once everything, also the thread's earlier jobs, is on disk
    assert len(written) == 1
    assert len(parts(root)) == 6
    assert writer.stats.written == 51
    writer.close()
    assert sum(pq.read_table(p).num_rows for p in parts(root)) == 51


def test_odd_values_are_kept_or_nulled_never_fatal() -> None:
    no_raw = event(
        T0, destination__port=True, source__port=99_999_999_999, event__category=["a", "b"], message=5
    )
    no_raw = type(no_raw)(no_raw.timestamp, no_raw.tenant_id, no_raw.dataset, no_raw.fields, "s", None)
    rows = to_table([no_raw, event(T0, destination__port="80")]).to_pylist()
    assert [r["destination.port"] for r in rows] == [None, 80]
    assert rows[0]["source.port"] is None
    assert rows[0]["event.category"] == "a,b"
    assert rows[0]["message"] == "5"
    assert [r["raw"] for r in rows] == [None, "raw line"]
    assert [r["format"] for r in rows] == [None, "zeek"]
