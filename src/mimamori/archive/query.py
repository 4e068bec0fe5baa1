"""Event search over one tenant's archive with DuckDB.

Only files this module listed itself are read: the tenant's directory (a validated path component) and
the UTC days of the asked range. User input reaches DuckDB only as bound parameters; column names come
from the fixed ``FILTERS`` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.dataset as ds

from mimamori.archive.layout import SCHEMA, day_dir, days_between, list_day, utc
from mimamori.archive.store import FileSystemRoot, Root, list_day_fs
from mimamori.errors import ValidationError

MAX_LIMIT = 10_000  # a hard cap of this layer; services set their own, lower ones
MAX_DAYS = 400
MAX_TEXT = 200
MAX_VALUE = 500


@dataclass(frozen=True, slots=True)
class Filter:
    column: str
    kind: str  # "exact" | "nocase" | "int"


# Public filter name -> column and how it matches. Names are the ECS field names.
FILTERS: dict[str, Filter] = {
    "source.ip": Filter("source.ip", "exact"),
    "destination.ip": Filter("destination.ip", "exact"),
    "destination.port": Filter("destination.port", "int"),
    "source.port": Filter("source.port", "int"),
    "host.name": Filter("host.name", "nocase"),
    "user.name": Filter("user.name", "nocase"),
    "dns.question.name": Filter("dns.question.name", "nocase"),
    "url.domain": Filter("url.domain", "nocase"),
    "event.action": Filter("event.action", "nocase"),
    "event.outcome": Filter("event.outcome", "nocase"),
    "event.category": Filter("event.category", "nocase"),
    "dataset": Filter("dataset", "exact"),
    "format": Filter("format", "exact"),
    "sensor_id": Filter("sensor_id", "exact"),
}

_COLUMNS = (
    "sensor_id",
    "format",
    "dataset",
    "event.category",
    "event.action",
    "event.outcome",
    "source.ip",
    "source.port",
    "destination.ip",
    "destination.port",
    "host.name",
    "user.name",
    "dns.question.name",
    "url.full",
    "url.domain",
    "message",
    "fields",
    "raw",
)


@dataclass(frozen=True, slots=True)
class ArchivedEvent:
    timestamp: datetime
    tenant_id: str
    columns: dict[str, Any]  # the named columns above (None when the event had no such field)
    fields: dict[str, Any]
    raw: str | None

    def get(self, name: str) -> Any:
        return self.columns.get(name)


@dataclass(frozen=True, slots=True)
class SearchPage:
    events: list[ArchivedEvent]
    has_more: bool
    files: int  # part files read


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that reads local files only: no extension downloads, bounded memory."""
    return duckdb.connect(
        config={
            "threads": 2,
            "memory_limit": "512MB",
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _checked(value: str, what: str, limit: int) -> str:
    if len(value) > limit:
        raise ValidationError(f"{what} has at most {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{what} is not valid text") from None
    return value


def files_for(root: Root, tenant_id: str, start: datetime, end: datetime) -> list[str]:
    """The visible part files of the tenant's days in [start, end) (local paths, or file-system paths)."""
    days = days_between(start, end)
    if len(days) > MAX_DAYS:
        raise ValidationError(f"a search covers at most {MAX_DAYS} days")
    found: list[str] = []
    for day in days:
        if isinstance(root, FileSystemRoot):
            found.extend(list_day_fs(root, root.day(tenant_id, day)).visible)
        else:
            found.extend(str(p) for p in list_day(day_dir(root, tenant_id, day)).visible)
    return found


def register_files(con: duckdb.DuckDBPyConnection, root: FileSystemRoot, files: list[str], name: str) -> None:
    """Make ``files`` of a file-system root a DuckDB view ``name``, read by pyarrow (no DuckDB extension
    needed for S3); projections and filters are pushed down to the Parquet reader."""
    dataset = ds.dataset(files, schema=SCHEMA, format="parquet", filesystem=root.filesystem)
    con.register(name, dataset)


_RETRY_ERRORS = (duckdb.IOException, duckdb.InvalidInputException, OSError, pa.ArrowException)


def search(
    root: Root,
    tenant_id: str,
    start: datetime,
    end: datetime,
    *,
    text: str | None = None,
    filters: dict[str, str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> SearchPage:
    """Events of ``tenant_id`` with ``start <= timestamp < end``, newest first.

    ``text`` is a case-insensitive substring of the field JSON or the raw record; ``filters`` map names
    of ``FILTERS`` to values (IP addresses and ids exact, names case-insensitive, ports as numbers).
    """
    start, end = utc(start), utc(end)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0 or offset > 1_000_000:
        raise ValidationError("offset must be between 0 and 1000000")
    where = ["timestamp >= $start", "timestamp < $end"]
    params: dict[str, Any] = {"start": start, "end": end}
    if text is not None and text.strip():
        needle = _checked(text, "the search text", MAX_TEXT).strip().lower()
        params["text"] = needle
        # ``fields`` is JSON: a quote or backslash in a value is escaped there, so the text is looked for
        # in its JSON form (a bare '"' would otherwise match the JSON syntax of every event).
        params["text_json"] = orjson.dumps(needle).decode()[1:-1]
        where.append("(contains(lower(fields), $text_json) OR contains(lower(raw), $text))")
    for n, (name, given) in enumerate(sorted((filters or {}).items())):
        spec = FILTERS.get(name)
        if spec is None:
            raise ValidationError(f"unknown filter {name!r}")
        value = given.strip()
        if not value:
            continue
        _checked(value, f"filter {name}", MAX_VALUE)
        column, key = _quote(spec.column), f"f{n}"
        if spec.kind == "int":
            if not (value.isascii() and value.isdigit()) or len(value) > 9:
                raise ValidationError(f"filter {name} must be a number")
            params[key] = int(value)
            where.append(f"{column} = ${key}")
        elif spec.kind == "nocase":
            params[key] = value.lower()
            where.append(f"lower({column}) = ${key}")
        else:
            params[key] = value
            where.append(f"{column} = ${key}")
    files = files_for(root, tenant_id, start, end)
    if not files:
        return SearchPage([], False, 0)
    params["limit"] = limit + 1
    params["offset"] = offset
    selected = ", ".join(_quote(c) for c in _COLUMNS)
    local = "read_parquet($files, union_by_name = true)"
    source = "archive_files" if isinstance(root, FileSystemRoot) else local
    sql = (
        f"SELECT epoch_us(timestamp), tenant_id, {selected} "  # fixed column names only
        f"FROM {source} "
        f"WHERE {' AND '.join(where)} "
        "ORDER BY timestamp DESC LIMIT $limit OFFSET $offset"
    )
    with connect() as con:
        try:
            rows = _run(con, root, files, sql, params)
        except _RETRY_ERRORS:
            # A compaction replaced the files between listing and reading: list again, once.
            files = files_for(root, tenant_id, start, end)
            if not files:
                return SearchPage([], False, 0)
            rows = _run(con, root, files, sql, params)
    events = [_row(row) for row in rows[:limit]]
    return SearchPage(events, len(rows) > limit, len(files))


def _run(
    con: duckdb.DuckDBPyConnection, root: Root, files: list[str], sql: str, params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    if isinstance(root, FileSystemRoot):
        register_files(con, root, files, "archive_files")
        return con.execute(sql, {k: v for k, v in params.items() if k != "files"}).fetchall()
    return con.execute(sql, {**params, "files": files}).fetchall()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _row(row: tuple[Any, ...]) -> ArchivedEvent:
    columns = dict(zip(_COLUMNS, row[2:], strict=True))
    raw_fields = columns.pop("fields")
    raw = columns.pop("raw")
    try:
        fields = orjson.loads(raw_fields) if raw_fields else {}
    except orjson.JSONDecodeError:
        fields = {}
    return ArchivedEvent(
        timestamp=_EPOCH + timedelta(microseconds=row[0]),
        tenant_id=row[1],
        columns=columns,
        fields=fields if isinstance(fields, dict) else {},
        raw=raw,
    )
