"""Keeping the archive small and bounded: compaction (many small parts of a day -> one file) and
retention (days older than the limit are deleted).

Compaction of a day: write a journal naming the target and its sources (tmp + rename), stream the
sources through DuckDB in time order into the target (tmp + fsync + rename), delete the sources, delete
the journal. Readers skip the sources of a journal whose target exists (``layout.list_day``), so every
moment of a crash shows each event exactly once; ``compact`` finishes or undoes what a crash left.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from mimamori.archive.layout import (
    COMPRESSION,
    DICTIONARY_COLUMNS,
    ROW_GROUP_ROWS,
    SCHEMA,
    STATISTICS_COLUMNS,
    DayFiles,
    list_day,
    new_name,
    parse_day_dir,
    tenant_dir,
)
from mimamori.archive.query import connect

log = logging.getLogger(__name__)

TODAY_MIN_PARTS = 16  # the current day is compacted once this many writer parts piled up
STALE_TMP_SECONDS = 3600.0  # a temporary file this old belongs to a crashed writer


@dataclass(slots=True)
class CompactReport:
    days: int = 0  # day directories merged
    files_merged: int = 0
    rows: int = 0
    recovered: int = 0  # journals of interrupted compactions finished or undone


@dataclass(slots=True)
class PruneReport:
    days: int = 0
    bytes: int = 0


def _tenant_dirs(root: Path, tenant_id: str | None) -> list[Path]:
    if tenant_id is not None:
        return [tenant_dir(root, tenant_id)]
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("tenant="))
    except FileNotFoundError:
        return []


def _day_dirs(tenant: Path) -> list[tuple[date, Path]]:
    try:
        entries = list(tenant.iterdir())
    except FileNotFoundError:
        return []
    found = [(day, p) for p in entries if p.is_dir() and (day := parse_day_dir(p.name)) is not None]
    return sorted(found)


def _recover(files: DayFiles) -> int:
    """Finish (target in place: delete its sources) or undo (no target) interrupted compactions."""
    done = 0
    for journal in files.journals:
        try:
            plan = orjson.loads(journal.read_bytes())
            target, sources = str(plan["target"]), [str(s) for s in plan["sources"]]
        except (OSError, ValueError, KeyError, TypeError):
            target, sources = "", []
        directory = journal.parent
        if target and (directory / target).exists():
            for source in sources:
                if source != target:
                    (directory / source).unlink(missing_ok=True)
        journal.unlink(missing_ok=True)
        done += 1
    now = time.time()
    for tmp in files.temporary:
        try:
            if now - tmp.stat().st_mtime > STALE_TMP_SECONDS:
                tmp.unlink()
        except FileNotFoundError:
            pass
    return done


def _merge(directory: Path, sources: list[Path], *, fsync: bool) -> int:
    target = directory / new_name("compact", datetime.now(UTC))
    journal = directory / (target.stem + ".journal")
    _write_file(journal, orjson.dumps({"target": target.name, "sources": [s.name for s in sources]}), fsync)
    tmp = target.with_name(f".{target.name}.tmp")
    rows = 0
    try:
        with connect() as con:
            relation = con.sql(
                "SELECT * FROM read_parquet($files, union_by_name = true) ORDER BY timestamp",
                params={"files": [str(s) for s in sources]},
            )
            assert relation is not None
            with open(tmp, "wb") as sink:
                rows = write_merged(relation.to_arrow_reader(ROW_GROUP_ROWS), sink)
                if fsync:
                    sink.flush()
                    os.fsync(sink.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        journal.unlink(missing_ok=True)
        raise
    for source in sources:
        source.unlink(missing_ok=True)
    journal.unlink(missing_ok=True)
    return rows


def unified_schema(found: pa.Schema) -> pa.Schema:
    """The archive's schema for its own columns (DuckDB hands back its own types), others as found."""
    fields = [SCHEMA.field(f.name) if f.name in SCHEMA.names else f for f in found]
    return pa.schema(fields, metadata=SCHEMA.metadata)


def _write_file(path: Path, data: bytes, fsync: bool) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as sink:
            sink.write(data)
            if fsync:
                sink.flush()
                os.fsync(sink.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def compact(
    root: Path,
    *,
    tenant_id: str | None = None,
    today: date | None = None,
    today_min_parts: int = TODAY_MIN_PARTS,
    fsync: bool = True,
) -> CompactReport:
    """Merge the parts of each past day into one file; today only once ``today_min_parts`` piled up
    (and then only the writer's parts, not the growing merged file)."""
    today = today or datetime.now(UTC).date()
    report = CompactReport()
    for tenant in _tenant_dirs(root, tenant_id):
        for day, directory in _day_dirs(tenant):
            files = list_day(directory)
            if files.journals or files.temporary:
                report.recovered += _recover(files)
                files = list_day(directory)
            if day >= today:
                sources = [p for p in files.visible if p.name.startswith("part-")]
                if len(sources) < today_min_parts:
                    continue
            else:
                sources = files.visible
                if len(sources) < 2:
                    continue
            try:
                report.rows += _merge(directory, sources, fsync=fsync)
            except (OSError, duckdb.Error, pa.ArrowException):
                log.exception("archive: compacting %s failed; its parts stay as they are", directory)
                continue
            report.days += 1
            report.files_merged += len(sources)
    return report


def prune(root: Path, retention_days: int, *, today: date | None = None) -> PruneReport:
    """Delete the day directories older than ``retention_days`` (a day is kept while younger)."""
    report = PruneReport()
    if retention_days <= 0:
        return report
    today = today or datetime.now(UTC).date()
    oldest_kept = today - timedelta(days=retention_days)
    for tenant in _tenant_dirs(root, None):
        for day, directory in _day_dirs(tenant):
            if day >= oldest_kept:
                break
            report.bytes += sum(f.stat().st_size for f in directory.iterdir() if f.is_file())
            shutil.rmtree(directory, ignore_errors=True)
            report.days += 1
        with contextlib.suppress(OSError):
            tenant.rmdir()  # only succeeds when no day is left
    return report


def write_merged(reader: pa.RecordBatchReader, sink: Any) -> int:
    """Write ``reader``'s batches (time-ordered by the caller) to ``sink`` as one Parquet file with the
    archive's unified schema, compression and row groups; returns the rows written."""
    schema = unified_schema(reader.schema)
    rows = 0
    with pq.ParquetWriter(
        sink,
        schema,
        compression=COMPRESSION,
        use_dictionary=[n for n in DICTIONARY_COLUMNS if n in schema.names],
        write_statistics=[n for n in STATISTICS_COLUMNS if n in schema.names],
    ) as writer:
        for batch in reader:
            table = pa.Table.from_batches([batch]).cast(schema)
            writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            rows += table.num_rows
    return rows
