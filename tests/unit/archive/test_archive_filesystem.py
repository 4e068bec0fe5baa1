"""The archive on any root: the local fast path (``Path``) and the object-store path (``file://`` URL, and
pyarrow's in-memory mock file system), written, read back, searched, compacted and pruned the same way;
crashes and cut-off uploads on the object-store path never show an event twice or lose one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from tests.unit.archive.conftest import OTHER, T0, TENANT, event

from mimamori.archive import (
    ArchiveWriter,
    FileSystemRoot,
    Root,
    compact,
    fsmaintenance,
    open_root,
    prune,
    search,
    store,
)
from mimamori.errors import ConfigError, ValidationError

DAY = T0.date()
RANGE = (T0 - timedelta(hours=2), T0 + timedelta(days=3))
DAY_DIR = f"tenant={TENANT}/date={DAY.isoformat()}"


# An S3-compatible server to run the same tests against (e.g. MinIO, or `moto_server -p 5055` with
# MIMAMORI_TEST_S3_ENDPOINT=http://127.0.0.1:5055); without it the S3 variant is not collected.
S3_ENDPOINT = os.environ.get("MIMAMORI_TEST_S3_ENDPOINT", "")
ROOTS = ["path", "file-url", "mock", *(["s3"] if S3_ENDPOINT else [])]


def _s3_root(tmp_path: Path) -> Iterator[FileSystemRoot]:
    """A root in a fresh bucket of the test S3 server; the bucket is deleted afterwards."""
    bucket = f"mimamori-test-{uuid.uuid4().hex[:12]}"
    region = os.environ.get("MIMAMORI_TEST_S3_REGION", "us-east-1")
    key = os.environ.get("MIMAMORI_TEST_S3_ACCESS_KEY", "test")
    secret = os.environ.get("MIMAMORI_TEST_S3_SECRET_KEY", "test")
    root = open_root(
        f"s3://{bucket}/archive",
        tmp_path,
        s3_endpoint=S3_ENDPOINT,
        s3_region=region,
        s3_access_key=key,
        s3_secret_key=secret,
    )
    assert isinstance(root, FileSystemRoot)
    scheme, _sep, host = S3_ENDPOINT.partition("://")
    admin = pafs.S3FileSystem(
        region=region,
        access_key=key,
        secret_key=secret,
        endpoint_override=host,
        scheme=scheme,
        allow_bucket_creation=True,
        allow_bucket_deletion=True,
    )
    admin.create_dir(bucket)
    yield root
    admin.delete_dir(bucket)


def _roots(kind: str, tmp_path: Path) -> Iterator[Root]:
    if kind == "path":
        yield tmp_path / "archive"
    elif kind == "file-url":
        yield open_root(f"file://{tmp_path}/archive", tmp_path / "unused")
    elif kind == "mock":  # an in-memory file system: nothing of it is on the local disk
        yield FileSystemRoot(pafs._MockFileSystem(), "bucket/archive", "mock://bucket/archive")
    else:
        yield from _s3_root(tmp_path)


@pytest.fixture(params=ROOTS)
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Root]:
    """Every kind of root: the local fast path and the object-store path."""
    yield from _roots(request.param, tmp_path)


@pytest.fixture(params=ROOTS[1:])
def fs_root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FileSystemRoot]:
    """The object-store path only (crash and upload-failure scenarios)."""
    for root in _roots(request.param, tmp_path):
        assert isinstance(root, FileSystemRoot)
        yield root


def names(root: Root, relative: str = DAY_DIR) -> list[str]:
    """The file names of a directory of the archive, whatever the root."""
    if isinstance(root, Path):
        directory = root / relative
        return sorted(p.name for p in directory.iterdir()) if directory.exists() else []
    return sorted(i.base_name for i in store.entries(root, root.path(*relative.split("/"))))


def writer(root: Root, **options: object) -> ArchiveWriter:
    return ArchiveWriter(root, fsync=False, **options)  # type: ignore[arg-type]


def five_events_in_three_parts(root: Root) -> None:
    w = writer(root, flush_events=2)
    w.append([event(T0 + timedelta(seconds=i), source__ip=f"10.0.0.{i}", message=f"m{i}") for i in range(5)])
    w.flush()


def read(root: Root, name: str) -> list[dict[str, object]]:
    if isinstance(root, Path):
        return list(pq.read_table(root / DAY_DIR / name).to_pylist())
    return list(pq.read_table(f"{root.path(DAY_DIR)}/{name}", filesystem=root.filesystem).to_pylist())


def count(root: Root) -> int:
    return len(search(root, TENANT, *RANGE, limit=1000).events)


def test_written_parts_read_back(archive: Root) -> None:
    w = writer(archive, flush_events=3)
    w.append([event(T0 + timedelta(seconds=i), destination__port=443) for i in range(4)])
    w.append([event(T0, tenant=OTHER)])
    written = w.flush()
    assert len(written) == 1  # OTHER's part: TENANT's full buffer was written as 3 + 1 events at once
    parts = names(archive)
    assert len(parts) == 2
    assert all(n.startswith("part-") and n.endswith(".parquet") for n in parts)  # never a temporary name
    rows = [r for n in parts for r in read(archive, n)]
    assert sorted(r["timestamp"] for r in rows) == [T0 + timedelta(seconds=i) for i in range(4)]  # type: ignore[type-var]
    assert {r["destination.port"] for r in rows} == {443}
    assert w.stats.written == 5


def test_search_on_every_root(archive: Root) -> None:
    five_events_in_three_parts(archive)
    w = writer(archive)
    w.append([event(T0, tenant=OTHER, message="other")])
    w.flush()
    page = search(archive, TENANT, *RANGE, limit=2)
    assert [e.get("message") for e in page.events] == ["m4", "m3"]
    assert page.has_more
    assert page.files == 3
    assert [
        e.get("message") for e in search(archive, TENANT, *RANGE, filters={"source.ip": "10.0.0.2"}).events
    ] == ["m2"]
    assert [e.get("message") for e in search(archive, TENANT, *RANGE, text="M1").events] == ["m1"]
    start, end = T0 + timedelta(seconds=1), T0 + timedelta(seconds=3)
    assert [e.get("message") for e in search(archive, TENANT, start, end).events] == [
        "m2",
        "m1",
    ]  # end exclusive
    other = search(archive, OTHER, *RANGE)
    assert ([e.get("message") for e in other.events], other.files) == (["other"], 1)
    with pytest.raises(ValidationError):
        search(archive, "../" + TENANT, *RANGE)


def test_compact_merges_a_past_day_and_search_sees_each_event_once(archive: Root) -> None:
    five_events_in_three_parts(archive)
    assert compact(archive, today=DAY, fsync=False).days == 0  # today: waits for 16 parts
    report = compact(archive, today=DAY + timedelta(days=1), fsync=False)
    assert (report.days, report.files_merged, report.rows) == (1, 3, 5)
    (merged,) = names(archive)
    assert merged.startswith("compact-")
    assert merged.endswith(".parquet")
    assert [r["message"] for r in read(archive, merged)] == [f"m{i}" for i in range(5)]  # time order
    assert count(archive) == 5
    assert compact(archive, today=DAY + timedelta(days=1), fsync=False).days == 0


def test_prune_deletes_old_days_and_an_emptied_tenant(archive: Root) -> None:
    w = writer(archive)
    w.append([event(T0 - timedelta(days=d)) for d in (0, 90, 91, 200)])
    w.append([event(T0 - timedelta(days=300), tenant=OTHER)])
    w.flush()
    report = prune(archive, 90, today=DAY)
    assert report.days == 3
    assert report.bytes > 0
    kept = names(archive, f"tenant={TENANT}")
    assert kept == [f"date={(DAY - timedelta(days=d)).isoformat()}" for d in (90, 0)]
    assert names(archive, "") == [f"tenant={TENANT}"]
    assert prune(archive, 0, today=DAY).days == 0


def test_crash_after_the_upload_never_shows_events_twice(
    fs_root: FileSystemRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    five_events_in_three_parts(fs_root)
    real = store.delete_files

    def die_on_source_delete(root: FileSystemRoot, paths: list[str]) -> None:
        if any("/part-" in p for p in paths):
            raise KeyboardInterrupt  # the process is killed after the merged file was uploaded
        real(root, paths)

    monkeypatch.setattr(fsmaintenance, "delete_files", die_on_source_delete)
    with pytest.raises(KeyboardInterrupt):
        compact(fs_root, today=DAY + timedelta(days=1))
    monkeypatch.undo()
    assert [n.split("-")[0] for n in names(fs_root)] == ["compact", "compact", "part", "part", "part"]
    assert count(fs_root) == 5  # not 10
    report = compact(fs_root, today=DAY + timedelta(days=1))
    assert report.recovered == 1
    assert [n.split("-")[0] for n in names(fs_root)] == ["compact"]
    assert count(fs_root) == 5


def test_a_cut_off_upload_never_hides_its_sources(fs_root: FileSystemRoot) -> None:
    five_events_in_three_parts(fs_root)
    sources = names(fs_root)
    directory = fs_root.path(DAY_DIR)
    target = "compact-20261127T000000000000Z-00000000000000aa.parquet"
    store.put_bytes(fs_root, f"{directory}/{target}", b"PAR1 half a file")  # what a broken upload left
    plan = {"target": target, "sources": sources, "size": 123_456}
    store.put_bytes(fs_root, f"{directory}/{target[:-8]}.journal", orjson.dumps(plan))
    assert count(fs_root) == 5  # the short target is ignored, the parts count
    report = compact(fs_root, today=DAY + timedelta(days=1))
    assert (report.recovered, report.days, report.rows) == (1, 1, 5)
    assert [n.split("-")[0] for n in names(fs_root)] == ["compact"]
    assert count(fs_root) == 5


def test_a_failed_upload_leaves_the_parts(fs_root: FileSystemRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    five_events_in_three_parts(fs_root)

    def broken(root: FileSystemRoot, path: str, source: object) -> None:
        store.put_bytes(root, path, b"PAR1 partial")
        raise OSError("connection reset")

    monkeypatch.setattr(fsmaintenance, "put_file", broken)
    assert compact(fs_root, today=DAY + timedelta(days=1)).days == 0  # logged; the next run retries
    assert [n.split("-")[0] for n in names(fs_root)] == ["part", "part", "part"]  # no target, no journal
    assert count(fs_root) == 5


def test_a_failed_part_write_is_counted_and_leaves_nothing(
    fs_root: FileSystemRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mimamori.archive import writer as writer_module

    def refuse(root: FileSystemRoot, path: str, table: object) -> None:
        raise OSError("access denied")

    monkeypatch.setattr(writer_module, "put_table", refuse)
    w = writer(fs_root)
    w.append([event(T0)])
    assert w.flush() == []
    assert w.stats.dropped == 1
    assert names(fs_root) == []


def test_a_journal_for_a_missing_target_is_discarded(fs_root: FileSystemRoot) -> None:
    five_events_in_three_parts(fs_root)
    journal = f"{fs_root.path(DAY_DIR)}/compact-20261126T000000000000Z-0000000000000000.journal"
    plan = {"target": "compact-missing.parquet", "sources": ["../../../etc/passwd", *names(fs_root)]}
    store.put_bytes(fs_root, journal, orjson.dumps(plan))
    store.put_bytes(fs_root, journal.replace("0000.journal", "0001.journal"), b"{not json")
    assert count(fs_root) == 5
    assert compact(fs_root, today=DAY).recovered == 2
    assert [n.split("-")[0] for n in names(fs_root)] == ["part", "part", "part"]


def test_open_root_reads_the_setting(tmp_path: Path) -> None:
    default = tmp_path / "archive"
    assert open_root("", default) == default
    assert open_root(" /srv/archive ", default) == Path("/srv/archive")  # a plain path: the fast path
    local = open_root(f"file://{tmp_path}/x", default)
    assert isinstance(local, FileSystemRoot)
    assert (local.filesystem.type_name, local.base) == ("local", f"{tmp_path}/x")
    s3 = open_root(
        "s3://logs/mimamori/archive/",
        default,
        s3_endpoint="http://127.0.0.1:9000",
        s3_region="ap-northeast-1",
        s3_access_key="key",
        s3_secret_key="secret",
    )
    assert isinstance(s3, FileSystemRoot)
    assert (s3.filesystem.type_name, s3.base, s3.virtual_directories) == ("s3", "logs/mimamori/archive", True)
    assert "secret" not in str(s3)
    assert s3.day(TENANT, DAY) == f"logs/mimamori/archive/{DAY_DIR}"


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("s3:///prefix", {}),
        ("s3://bucket", {"s3_access_key": "only-the-key"}),
        ("s3://bucket", {"s3_endpoint": "ftp://host"}),
        ("nosuchscheme://x/y", {}),
    ],
)
def test_bad_archive_urls_are_config_errors(tmp_path: Path, url: str, options: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        open_root(url, tmp_path, **options)


def test_search_lists_again_when_a_compaction_replaced_the_files(
    archive: Root, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mimamori.archive import query

    five_events_in_three_parts(archive)
    real = query.files_for
    calls: list[int] = []

    def stale_first(*args: object) -> list[str]:
        found = real(*args)  # type: ignore[arg-type]
        calls.append(len(found))
        return found if len(calls) > 1 else [*found, found[0].replace("part-", "part-0gone")]

    monkeypatch.setattr(query, "files_for", stale_first)
    assert count(archive) == 5
    assert len(calls) == 2
