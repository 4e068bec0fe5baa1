"""Where the archive keeps its files, and the columns of every part file.

Layout (one directory per tenant and UTC day, Hive-style names so DuckDB and other tools read it as is)::

    <root>/tenant=<tenant id>/date=YYYY-MM-DD/part-<UTC time>-<uuid>.parquet     (written by the writer)
    <root>/tenant=<tenant id>/date=YYYY-MM-DD/compact-<UTC time>-<uuid>.parquet  (merged by compaction)

Files are written under a dot-prefixed ``.tmp`` name and renamed into place, so a visible ``.parquet`` file
is always complete. A compaction first writes a journal (``compact-….journal``, the files it replaces);
readers ignore the replaced files while the journal exists, so a crash between the rename of the merged
file and the deletion of its sources never shows an event twice.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pyarrow as pa

from mimamori.errors import ValidationError

# A tenant id becomes a directory name: only a safe path component is accepted (no dots, slashes, '=').
_TENANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
RAW_MAX_BYTES = 8 * 1024  # the raw record text kept per event
ROW_GROUP_ROWS = 64 * 1024  # rows per Parquet row group
COMPRESSION = "zstd"

# ECS fields copied into their own columns (the whole field dict is in ``fields`` as JSON as well).
TEXT_COLUMNS: tuple[str, ...] = (
    "event.category",
    "event.action",
    "event.outcome",
    "source.ip",
    "destination.ip",
    "host.name",
    "user.name",
    "dns.question.name",
    "url.full",
    "url.domain",
    "message",
)
INT_COLUMNS: tuple[str, ...] = ("source.port", "destination.port")

SCHEMA = pa.schema(
    [
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("tenant_id", pa.string(), nullable=False),
        pa.field("sensor_id", pa.string()),
        pa.field("format", pa.string()),
        pa.field("dataset", pa.string()),
        *(pa.field(name, pa.string()) for name in TEXT_COLUMNS),
        *(pa.field(name, pa.int32()) for name in INT_COLUMNS),
        pa.field("fields", pa.string()),  # the flat ECS field dict, JSON
        pa.field("raw", pa.string()),  # the record as received, UTF-8 (invalid bytes replaced), truncated
    ],
    metadata={"mimamori.archive.version": "1"},
)
# Dictionary encoding and min/max statistics pay off for the short, repetitive columns (and the
# timestamp's statistics let readers skip row groups); ``fields`` and ``raw`` are long and unique.
_LONG = ("fields", "raw")
DICTIONARY_COLUMNS: list[str] = [n for n in SCHEMA.names if n not in (*_LONG, "timestamp")]
STATISTICS_COLUMNS: list[str] = [n for n in SCHEMA.names if n not in _LONG]


def check_tenant_id(tenant_id: str) -> str:
    """The tenant id if it is a safe path component; ValidationError otherwise."""
    if not isinstance(tenant_id, str) or _TENANT_ID.fullmatch(tenant_id) is None:
        raise ValidationError("invalid tenant id")
    return tenant_id


def tenant_dir(root: Path, tenant_id: str) -> Path:
    return root / f"tenant={check_tenant_id(tenant_id)}"


def day_dir(root: Path, tenant_id: str, day: date) -> Path:
    return tenant_dir(root, tenant_id) / f"date={day.isoformat()}"


def parse_day_dir(name: str) -> date | None:
    if not name.startswith("date="):
        return None
    try:
        return date.fromisoformat(name[5:])
    except ValueError:
        return None


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValidationError("times must carry a time zone")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValidationError("time out of range") from None


def days_between(start: datetime, end: datetime) -> list[date]:
    """The UTC days that [start, end) touches (``end`` exclusive)."""
    start, end = utc(start), utc(end)
    if end <= start:
        return []
    first, last = start.date(), (end - timedelta(microseconds=1)).date()  # end > start: no underflow
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def new_name(prefix: str, now: datetime, suffix: str = ".parquet") -> str:
    return f"{prefix}-{now.strftime('%Y%m%dT%H%M%S%fZ')}-{os.urandom(8).hex()}{suffix}"


@dataclass(frozen=True, slots=True)
class DayFiles:
    """The files of one day directory, as a reader must see them."""

    visible: list[Path]  # complete part and compact files, replaced ones excluded
    journals: list[Path]
    temporary: list[Path]


def list_day(directory: Path) -> DayFiles:
    """Classify a day directory's entries; files a finished compaction replaced are left out."""
    parquet: dict[str, Path] = {}
    journals: list[Path] = []
    temporary: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return DayFiles([], [], [])
    for entry in entries:
        name = entry.name
        if name.endswith(".tmp"):
            temporary.append(Path(entry.path))
        elif name.endswith(".journal") and name.startswith("compact-"):
            journals.append(Path(entry.path))
        elif name.endswith(".parquet") and name.startswith(("part-", "compact-")):
            parquet[name] = Path(entry.path)
    for journal in journals:
        try:
            plan = orjson.loads(journal.read_bytes())
            target, sources = plan["target"], plan["sources"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # an unreadable journal: its target was never renamed into place (written first)
        if isinstance(target, str) and target in parquet and isinstance(sources, list):
            for source in sources:
                parquet.pop(str(source), None)
    return DayFiles(sorted(parquet.values()), journals, temporary)
