"""Where the archive lives: a local directory (``Path``, the fast path) or a ``FileSystemRoot`` — a pyarrow
file system and a base path (``s3://bucket/prefix``, ``file:///path``), reached without renames.

Object stores have no rename and no directories, but an object appears completely or not at all when
its upload finishes. So on a ``FileSystemRoot`` every file is written in ONE upload of complete bytes
(``put_bytes``/``put_table``: a Parquet part is built in memory first), never under a temporary name;
directories are only prefixes of object names. A compaction journal records the merged file's size, and
the merged file counts only when it is there with exactly that size (a cut-off upload never hides its
sources).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit, urlunsplit

import orjson
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from mimamori.archive.layout import (
    COMPRESSION,
    DICTIONARY_COLUMNS,
    ROW_GROUP_ROWS,
    STATISTICS_COLUMNS,
    check_tenant_id,
)
from mimamori.errors import ConfigError

__all__ = ["FileSystemRoot", "FsDayFiles", "Root", "open_root"]

MAX_JOURNAL_BYTES = 4 * 1024 * 1024
COPY_CHUNK = 8 * 1024 * 1024
_VIRTUAL_DIRECTORIES = {"s3", "gcs", "abfs"}  # object stores: a "directory" is a name prefix


@dataclass(frozen=True, slots=True)
class FileSystemRoot:
    """An archive root on a pyarrow file system, written and read through the generic code path."""

    filesystem: pafs.FileSystem
    base: str  # "bucket/prefix" on S3, "/path" on a local file system; no trailing slash
    url: str = field(default="", compare=False)  # for messages (no credentials)

    def path(self, *names: str) -> str:
        return "/".join((self.base.rstrip("/"), *names)) if self.base else "/".join(names)

    def tenant(self, tenant_id: str) -> str:
        return self.path(f"tenant={check_tenant_id(tenant_id)}")

    def day(self, tenant_id: str, day: date) -> str:
        return f"{self.tenant(tenant_id)}/date={day.isoformat()}"

    @property
    def virtual_directories(self) -> bool:
        return self.filesystem.type_name in _VIRTUAL_DIRECTORIES

    def __str__(self) -> str:
        return self.url or f"{self.filesystem.type_name}:{self.base}"


Root = Path | FileSystemRoot


def open_root(
    url: str,
    default: Path,
    *,
    s3_endpoint: str = "",
    s3_region: str = "",
    s3_access_key: str = "",
    s3_secret_key: str = "",
) -> Root:
    """The archive root for the ``archive_url`` setting.

    Empty: ``default`` (a local directory, fast path). A plain path: that local directory (fast path).
    ``file:///path``: a local directory through the generic object-store path (tests; file systems
    without rename). ``s3://bucket/prefix``: S3 or an S3-compatible store (``s3_endpoint`` such as
    ``http://minio:9000``); credentials empty means the AWS default chain (environment, instance role).
    """
    url = url.strip()
    if not url:
        return default
    parts = urlsplit(url)
    if not parts.scheme or len(parts.scheme) == 1:  # "/var/archive", "C:\\…"
        return Path(url).expanduser()
    shown = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
    if parts.scheme == "s3":
        bucket, prefix = parts.netloc.rpartition("@")[2], parts.path.strip("/")
        if not bucket:
            raise ConfigError("archive_url: s3:// needs a bucket (s3://bucket/prefix)")
        options: dict[str, Any] = {}
        if s3_region:
            options["region"] = s3_region
        if s3_access_key or s3_secret_key:
            if not (s3_access_key and s3_secret_key):
                raise ConfigError("archive_s3_access_key and archive_s3_secret_key go together")
            options["access_key"], options["secret_key"] = s3_access_key, s3_secret_key
        if s3_endpoint:
            endpoint = urlsplit(s3_endpoint if "://" in s3_endpoint else f"https://{s3_endpoint}")
            if endpoint.scheme not in ("http", "https") or not endpoint.netloc:
                raise ConfigError("archive_s3_endpoint must look like http://host:9000")
            options["endpoint_override"], options["scheme"] = endpoint.netloc, endpoint.scheme
        try:
            filesystem = pafs.S3FileSystem(**options)
        except (pa.ArrowException, ValueError, TypeError) as error:
            raise ConfigError(f"archive_url {shown}: {error}") from None
        return FileSystemRoot(filesystem, f"{bucket}/{prefix}".rstrip("/"), shown)
    try:
        filesystem, base = pafs.FileSystem.from_uri(url)
    except (pa.ArrowException, ValueError, TypeError) as error:
        raise ConfigError(f"archive_url {shown}: {error}") from None
    return FileSystemRoot(filesystem, base.rstrip("/") or base, shown)


# ---- operations on a FileSystemRoot ------------------------------------------------------------------


def entries(root: FileSystemRoot, directory: str) -> list[pafs.FileInfo]:
    """The entries directly under ``directory`` (none when it does not exist)."""
    try:
        return list(root.filesystem.get_file_info(pafs.FileSelector(directory, allow_not_found=True)))
    except FileNotFoundError:
        return []


def subdirectories(root: FileSystemRoot, directory: str, prefix: str) -> list[tuple[str, str]]:
    """(name, path) of the subdirectories of ``directory`` whose name starts with ``prefix``, sorted."""
    found = [
        (info.base_name, info.path)
        for info in entries(root, directory)
        if info.type == pafs.FileType.Directory and info.base_name.startswith(prefix)
    ]
    return sorted(found)


def _make_parent(root: FileSystemRoot, path: str) -> None:
    if not root.virtual_directories:
        root.filesystem.create_dir(path.rpartition("/")[0], recursive=True)


def put_bytes(root: FileSystemRoot, path: str, data: bytes | pa.Buffer) -> None:
    """Write a whole object in one upload (an object store shows it completely or not at all)."""
    _make_parent(root, path)
    with root.filesystem.open_output_stream(path) as sink:
        sink.write(data)


def put_file(root: FileSystemRoot, path: str, source: BinaryIO) -> None:
    """Upload a complete local (temporary) file as the object ``path``."""
    _make_parent(root, path)
    source.seek(0)
    with root.filesystem.open_output_stream(path) as sink:
        while chunk := source.read(COPY_CHUNK):
            sink.write(chunk)


def table_bytes(table: pa.Table) -> pa.Buffer:
    """``table`` as a complete Parquet file in memory, with the archive's options."""
    buffer = pa.BufferOutputStream()
    pq.write_table(
        table,
        buffer,
        compression=COMPRESSION,
        row_group_size=ROW_GROUP_ROWS,
        use_dictionary=DICTIONARY_COLUMNS,
        write_statistics=STATISTICS_COLUMNS,
    )
    return buffer.getvalue()


def put_table(root: FileSystemRoot, path: str, table: pa.Table) -> None:
    """Write a Parquet part: built in memory, then one upload."""
    put_bytes(root, path, table_bytes(table))


def read_small(root: FileSystemRoot, path: str, limit: int = MAX_JOURNAL_BYTES) -> bytes:
    with root.filesystem.open_input_stream(path) as source:
        data: bytes = source.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path} is larger than {limit} bytes")
    return data


def delete_files(root: FileSystemRoot, paths: Iterable[str]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            root.filesystem.delete_file(path)


def tree_size(root: FileSystemRoot, directory: str) -> int:
    selector = pafs.FileSelector(directory, allow_not_found=True, recursive=True)
    return sum(i.size or 0 for i in root.filesystem.get_file_info(selector) if i.type == pafs.FileType.File)


@dataclass(frozen=True, slots=True)
class FsDayFiles:
    """A day directory on a ``FileSystemRoot`` as readers must see it (paths inside the file system)."""

    visible: list[str]
    journals: list[str]
    sizes: dict[str, int]  # name -> size of every parquet file listed


def journal_plan(data: bytes) -> tuple[str, list[str], int | None] | None:
    """(target, sources, expected target size) of a journal; None when unreadable."""
    try:
        plan = orjson.loads(data)
        target, sources, size = plan["target"], plan["sources"], plan.get("size")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(target, str) or not isinstance(sources, list):
        return None
    return target, [str(s) for s in sources], size if isinstance(size, int) else None


def list_day_fs(root: FileSystemRoot, directory: str) -> FsDayFiles:
    """Classify a day's objects; sources of a compaction whose target is complete are left out."""
    parquet: dict[str, str] = {}
    sizes: dict[str, int] = {}
    journals: list[str] = []
    for info in entries(root, directory):
        if info.type != pafs.FileType.File:
            continue
        name = info.base_name
        if name.endswith(".journal") and name.startswith("compact-"):
            journals.append(info.path)
        elif name.endswith(".parquet") and name.startswith(("part-", "compact-")):
            parquet[name] = info.path
            sizes[name] = info.size or 0
    for journal in journals:
        try:
            plan = journal_plan(read_small(root, journal))
        except (OSError, ValueError):
            plan = None
        if plan is None:
            continue  # unreadable: written before its target, so the target never became visible
        target, sources, size = plan
        if target in parquet and (size is None or sizes[target] == size):
            for source in sources:
                parquet.pop(source, None)
        elif target in parquet:
            parquet.pop(target)  # an incomplete upload of the merged file: its sources still count
    return FsDayFiles(sorted(parquet.values()), sorted(journals), sizes)
