"""The event archive: every parsed event kept as Parquet, per tenant and UTC day, searched with DuckDB.

``writer.ArchiveWriter`` (the pipeline appends each batch), ``maintenance`` (compaction, retention),
``query.search`` (one tenant, a time range, text and field filters). Guide: docs/archive.md.
"""

from mimamori.archive.layout import SCHEMA, check_tenant_id, days_between
from mimamori.archive.maintenance import CompactReport, PruneReport, compact, prune
from mimamori.archive.query import FILTERS, ArchivedEvent, SearchPage, search
from mimamori.archive.writer import ArchiveWriter, fields_json, to_table

__all__ = [
    "FILTERS",
    "SCHEMA",
    "ArchiveWriter",
    "ArchivedEvent",
    "CompactReport",
    "PruneReport",
    "SearchPage",
    "check_tenant_id",
    "compact",
    "days_between",
    "fields_json",
    "prune",
    "search",
    "to_table",
]
