"""Compaction (many parts of a day -> one file, crash-safe) and retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from tests.unit.archive.conftest import T0, TENANT, event

from mimamori.archive import ArchiveWriter, compact, prune, search
from mimamori.archive import maintenance as maintenance_module
from mimamori.archive.layout import list_day

DAY = T0.date()
RANGE = (T0 - timedelta(hours=2), T0 + timedelta(days=3))


def _day(root: Path, day: date = DAY) -> Path:
    return root / f"tenant={TENANT}" / f"date={day.isoformat()}"


def _three_parts(make_writer: Callable[..., ArchiveWriter]) -> None:
    writer = make_writer(flush_events=2)
    writer.append([event(T0 + timedelta(seconds=i), source__ip=f"10.0.0.{i}") for i in range(5)])
    writer.flush()


def test_past_day_is_merged_into_one_sorted_file(
    make_writer: Callable[..., ArchiveWriter], root: Path
) -> None:
    _three_parts(make_writer)
    assert len(list_day(_day(root)).visible) == 3
    report = compact(root, today=DAY + timedelta(days=1), fsync=False)
    assert (report.days, report.files_merged, report.rows) == (1, 3, 5)
    (merged,) = _day(root).iterdir()
    assert merged.name.startswith("compact-")
    table = pq.read_table(merged)
    assert table.column("timestamp").to_pylist() == [T0 + timedelta(seconds=i) for i in range(5)]
    assert str(table.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    assert len(search(root, TENANT, *RANGE, limit=100).events) == 5
    assert compact(root, today=DAY + timedelta(days=1), fsync=False).days == 0  # nothing left to do


def test_today_waits_for_many_parts(make_writer: Callable[..., ArchiveWriter], root: Path) -> None:
    _three_parts(make_writer)
    assert compact(root, today=DAY, fsync=False).days == 0
    assert compact(root, today=DAY, today_min_parts=3, fsync=False).days == 1
    assert len(list_day(_day(root)).visible) == 1


def test_crash_after_rename_never_shows_events_twice(
    make_writer: Callable[..., ArchiveWriter], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_parts(make_writer)
    real_unlink = Path.unlink

    def die_on_source_delete(self: Path, missing_ok: bool = False) -> None:
        if self.name.startswith("part-"):
            raise KeyboardInterrupt  # the process is killed between the rename and the deletions
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", die_on_source_delete)
    with pytest.raises(KeyboardInterrupt):
        compact(root, today=DAY + timedelta(days=1), fsync=False)
    monkeypatch.setattr(Path, "unlink", real_unlink)
    names = sorted(p.name.split("-")[0] for p in _day(root).iterdir())
    assert names == ["compact", "compact", "part", "part", "part"]  # merged file, journal, sources
    assert len(search(root, TENANT, *RANGE, limit=100).events) == 5  # not 10
    report = compact(root, today=DAY + timedelta(days=1), fsync=False)
    assert report.recovered == 1
    assert [p.name.split("-")[0] for p in _day(root).iterdir()] == ["compact"]
    assert len(search(root, TENANT, *RANGE, limit=100).events) == 5


def test_crash_before_rename_keeps_the_parts(
    make_writer: Callable[..., ArchiveWriter], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_parts(make_writer)

    real_replace = maintenance_module.os.replace

    def boom(source: Path, target: Path) -> None:
        if str(target).endswith(".parquet"):
            raise OSError("disk full")  # the journal is in place, the merged file never appears
        real_replace(source, target)

    monkeypatch.setattr(maintenance_module.os, "replace", boom)
    report = compact(root, today=DAY + timedelta(days=1), fsync=False)
    assert report.days == 0
    monkeypatch.undo()
    assert sorted(p.name.split("-")[0] for p in _day(root).iterdir()) == ["part", "part", "part"]
    assert len(search(root, TENANT, *RANGE, limit=100).events) == 5


def test_a_journal_whose_target_is_missing_is_discarded(
    make_writer: Callable[..., ArchiveWriter], root: Path
) -> None:
    _three_parts(make_writer)
    sources = [p.name for p in list_day(_day(root)).visible]
    journal = _day(root) / "compact-20261126T000000000000Z-0000000000000000.journal"
    journal.write_bytes(orjson.dumps({"target": "compact-missing.parquet", "sources": sources}))
    assert len(search(root, TENANT, *RANGE, limit=100).events) == 5  # the parts still count
    compact(root, today=DAY, fsync=False)
    assert not journal.exists()


def test_retention_deletes_old_days_only(make_writer: Callable[..., ArchiveWriter], root: Path) -> None:
    writer = make_writer()
    writer.append([event(T0 - timedelta(days=d)) for d in (0, 89, 90, 91, 200)])
    writer.flush()
    report = prune(root, 90, today=DAY)
    assert report.days == 2  # 91 and 200 days old
    kept = sorted(p.name for p in (root / f"tenant={TENANT}").iterdir())
    assert kept == [f"date={(DAY - timedelta(days=d)).isoformat()}" for d in (90, 89, 0)]
    assert prune(root, 0, today=DAY).days == 0  # 0: kept forever


def test_retention_removes_an_emptied_tenant(make_writer: Callable[..., ArchiveWriter], root: Path) -> None:
    writer = make_writer()
    writer.append([event(T0 - timedelta(days=400))])
    writer.flush()
    prune(root, 90, today=DAY)
    assert not (root / f"tenant={TENANT}").exists()
