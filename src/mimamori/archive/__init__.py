"""The event archive: every parsed event kept as Parquet, per tenant and UTC day, searched with DuckDB.

``writer.ArchiveWriter`` (the pipeline appends each batch), ``maintenance`` (compaction, retention),
``query.search`` (one tenant, a time range, text and field filters). The root is a local directory
(``Path``) or a ``store.FileSystemRoot`` (S3, ``file://``; ``open_root`` reads the setting), and
``fsmaintenance`` dispatches compaction and retention for either. Guide: docs/archive.md.
"""

from mimamori.archive.fsmaintenance import compact, prune
from mimamori.archive.layout import SCHEMA, check_tenant_id, days_between
from mimamori.archive.maintenance import CompactReport, PruneReport
from mimamori.archive.query import FILTERS, ArchivedEvent, SearchPage, search
from mimamori.archive.store import FileSystemRoot, Root, open_root
from mimamori.archive.writer import ArchiveWriter, fields_json, to_table

__all__ = [
    "FILTERS",
    "SCHEMA",
    "ArchiveWriter",
    "ArchivedEvent",
    "CompactReport",
    "FileSystemRoot",
    "PruneReport",
    "Root",
    "SearchPage",
    "check_tenant_id",
    "compact",
    "days_between",
    "fields_json",
    "open_root",
    "prune",
    "search",
    "to_table",
]
