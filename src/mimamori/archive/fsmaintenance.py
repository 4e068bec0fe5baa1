"""Compaction and retention for any archive root: a local directory goes to ``maintenance`` (renames,
fsync), a ``FileSystemRoot`` (S3, ``file://``) is handled here, without renames.

Compaction of a day on a file-system root: DuckDB merges the sources (read by pyarrow through the file
system) in time order into a LOCAL temporary file; its size is then known, and the journal
(``compact-….journal``: target, sources, size) is uploaded first, then the merged file in one upload,
then the sources and the journal are deleted. Readers (``store.list_day_fs``) count the merged file only
when it exists with the journal's size, and then leave its sources out: every moment shows each event
once, even when an upload was cut off. The next run finishes (target complete: delete the sources) or
undoes (target missing or short: delete it) what a crash left.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import duckdb
import orjson
import pyarrow as pa
import pyarrow.dataset as ds

from mimamori.archive import maintenance
from mimamori.archive.layout import (
    ROW_GROUP_ROWS,
    new_name,
    parse_day_dir,
)
from mimamori.archive.maintenance import TODAY_MIN_PARTS, CompactReport, PruneReport
from mimamori.archive.query import connect
from mimamori.archive.store import (
    FileSystemRoot,
    FsDayFiles,
    Root,
    delete_files,
    entries,
    journal_plan,
    list_day_fs,
    put_bytes,
    put_file,
    read_small,
    subdirectories,
    tree_size,
)

log = logging.getLogger(__name__)

__all__ = ["compact", "prune"]

_DATA_NAME = re.compile(r"(?:part|compact)-[A-Za-z0-9]+-[0-9a-f]+\.parquet")


def compact(
    root: Root,
    *,
    tenant_id: str | None = None,
    today: date | None = None,
    today_min_parts: int = TODAY_MIN_PARTS,
    fsync: bool = True,
) -> CompactReport:
    """Merge the parts of each past day into one file; today only once ``today_min_parts`` piled up
    (and then only the writer's parts). ``fsync`` applies to a local directory only."""
    if isinstance(root, Path):
        return maintenance.compact(
            root, tenant_id=tenant_id, today=today, today_min_parts=today_min_parts, fsync=fsync
        )
    today = today or datetime.now(UTC).date()
    report = CompactReport()
    for tenant in _tenants(root, tenant_id):
        for day, directory in _days(root, tenant):
            files = list_day_fs(root, directory)
            if files.journals:
                report.recovered += _recover(root, directory, files)
                files = list_day_fs(root, directory)
            sources = files.visible
            if day >= today:
                sources = [p for p in sources if _name(p).startswith("part-")]
                if len(sources) < today_min_parts:
                    continue
            elif len(sources) < 2:
                continue
            try:
                report.rows += _merge(root, directory, sources)
            except (OSError, duckdb.Error, pa.ArrowException):
                log.exception("archive: compacting %s/%s failed; its parts stay as they are", root, directory)
                continue
            report.days += 1
            report.files_merged += len(sources)
    return report


def prune(root: Root, retention_days: int, *, today: date | None = None) -> PruneReport:
    """Delete the day directories older than ``retention_days`` (a day is kept while younger)."""
    if isinstance(root, Path):
        return maintenance.prune(root, retention_days, today=today)
    report = PruneReport()
    if retention_days <= 0:
        return report
    today = today or datetime.now(UTC).date()
    oldest_kept = today - timedelta(days=retention_days)
    for tenant in _tenants(root, None):
        days = _days(root, tenant)
        for day, directory in days:
            if day >= oldest_kept:
                break
            report.bytes += tree_size(root, directory)
            try:
                root.filesystem.delete_dir(directory)  # on an object store: every object of the prefix
            except FileNotFoundError:
                pass
            except OSError:
                log.exception("archive: deleting %s/%s failed", root, directory)
                continue
            report.days += 1
        if not entries(root, tenant):  # (an object store may keep an empty "directory" marker)
            with contextlib.suppress(OSError):
                root.filesystem.delete_dir(tenant)  # only when no day is left
    return report


def _name(path: str) -> str:
    return path.rpartition("/")[2]


def _tenants(root: FileSystemRoot, tenant_id: str | None) -> list[str]:
    if tenant_id is not None:
        return [root.tenant(tenant_id)]
    return [path for _name, path in subdirectories(root, root.base, "tenant=")]


def _days(root: FileSystemRoot, tenant: str) -> list[tuple[date, str]]:
    found = [(day, p) for name, p in subdirectories(root, tenant, "date=") if (day := parse_day_dir(name))]
    return sorted(found)


def _recover(root: FileSystemRoot, directory: str, files: FsDayFiles) -> int:
    """Finish (target complete: delete its sources) or undo (target missing or short) compactions."""
    done = 0
    for journal in files.journals:
        try:
            plan = journal_plan(read_small(root, journal))
        except (OSError, ValueError):
            plan = None
        if plan is not None:
            target, sources, size = plan
            found = files.sizes.get(target)
            if found is not None and (size is None or found == size):
                names = [s for s in sources if s != target and _DATA_NAME.fullmatch(s)]
                delete_files(root, [f"{directory}/{s}" for s in names])
            elif found is not None and _DATA_NAME.fullmatch(target):
                delete_files(root, [f"{directory}/{target}"])  # a cut-off upload; its sources count
        delete_files(root, [journal])
        done += 1
    return done


def _merge(root: FileSystemRoot, directory: str, sources: list[str]) -> int:
    target_name = new_name("compact", datetime.now(UTC))
    target = f"{directory}/{target_name}"
    journal = f"{directory}/{target_name.removesuffix('.parquet')}.journal"
    with tempfile.TemporaryFile(prefix="mimamori-compact-") as spool:
        rows = _merge_into(root, sources, spool)
        plan = {"target": target_name, "sources": [_name(s) for s in sources], "size": spool.tell()}
        put_bytes(root, journal, orjson.dumps(plan))
        try:
            put_file(root, target, spool)
        except BaseException:
            try:  # the journal goes only once the (maybe partial) target is gone
                delete_files(root, [target])
                delete_files(root, [journal])
            except OSError:
                log.warning("archive: cleaning up the failed compaction of %s left its journal", directory)
            raise
    delete_files(root, sources)
    delete_files(root, [journal])
    return rows


def _merge_into(root: FileSystemRoot, sources: list[str], spool: BinaryIO) -> int:
    """Stream ``sources`` through DuckDB in time order into ``spool`` as one Parquet file."""
    found = ds.dataset(sources, format="parquet", filesystem=root.filesystem)
    unified = pa.unify_schemas(
        [f.physical_schema for f in found.get_fragments()], promote_options="permissive"
    )
    dataset = ds.dataset(sources, schema=unified, format="parquet", filesystem=root.filesystem)
    rows = 0
    with connect() as con:
        con.register("sources", dataset)
        relation = con.sql("SELECT * FROM sources ORDER BY timestamp")
        rows = maintenance.write_merged(relation.to_arrow_reader(ROW_GROUP_ROWS), spool)
    spool.flush()
    return rows
