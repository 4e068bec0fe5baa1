"""The reader table and the walk over files, directories, compressed files and archives."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pkgutil
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.unit.parsers.conftest import SHARED_DATA

from mimamori.ingest import readers
from mimamori.ingest.readers import READ_ERRORS, READERS, Failure, Leaf, Limits, walk
from mimamori.ingest.readers.source import GIB

ZEEK_TSV = b"#separator \\x09\n#path\tdns\n#fields\tts\tquery\n#types\ttime\tstring\n1.0\texample.com\n"


def items(*paths: Path, limits: Limits | None = None) -> Iterator[tuple[str, str, list[object] | str]]:
    """(origin, reader, records) per leaf, read in order; (origin, "failure", message) per failure."""
    for item in walk(list(paths), limits):
        if isinstance(item, Failure):
            yield item.origin, "failure", item.message
        else:
            yield item.origin, item.reader, list(item.open(0))


def test_every_reader_module_is_in_the_table() -> None:
    modules = {m.name for m in pkgutil.iter_modules(readers.__path__)} - {"source"}
    used = {"lines", "jsonarray", "zeektsv", "compressed", "archive", "directory", "evtx"}
    assert modules == used
    assert list(READERS)[-1] == "lines"
    assert {"gzip", "zip", "directory", "json-lines", "json-array", "zeek-tsv", "evtx"} <= set(READERS)


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (b"\x1f\x8b\x08", "a.log", "gzip"),
        (b"PK\x03\x04", "a.bin", "zip"),
        (b"BZh91AY", "a", "bzip2"),
        (b"\xfd7zXZ\x00\x00", "a", "xz"),
        (b"ElfFile\x00", "renamed.log", "evtx"),
        (b"", "Security.evtx", "evtx"),
        (ZEEK_TSV, "dns.log", "zeek-tsv"),
        (b' [{"a":1}]', "alerts.json", "json-array"),
        (b'{"a":1}\n', "eve.json", "json-lines"),
        (b"<13>Nov 26 10:00:00 host app: hi", "syslog", "lines"),
        (b"", "empty", "lines"),
    ],
)
def test_sniffing_by_content_then_name(head: bytes, name: str, expected: str) -> None:
    assert readers.sniff(head, name).name == expected


def test_a_directory_is_walked_sorted_recursively_without_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_bytes(b"secret\n")
    (tmp_path / ".hidden.log").write_bytes(b"no\n")
    (tmp_path / "b" / "2.log").write_bytes(b"two\n")
    (tmp_path / "a.log").write_bytes(b"one\n")
    (tmp_path / "c.log.gz").write_bytes(gzip.compress(b"three\n"))
    found = list(items(tmp_path))
    assert [(Path(o).relative_to(tmp_path).as_posix(), r, d) for o, r, d in found] == [
        ("a.log", "lines", [b"one"]),
        ("b/2.log", "lines", [b"two"]),
        ("c.log.gz", "lines", [b"three"]),
    ]


def test_zip_with_nested_gzip_tar_and_zip_members(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("deep.log", b"deep\n")
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as t:
        member = tarfile.TarInfo("in-tar.log")
        member.size = 8
        t.addfile(member, io.BytesIO(b"tarline\n"))
    archive = tmp_path / "logs.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("dir/", b"")
        z.writestr("dir/a.log.gz", gzip.compress(b"a1\na2\n"))
        z.writestr("__MACOSX/._a.log.gz", b"junk")
        z.writestr("dns.log", ZEEK_TSV)
        z.writestr("inner.zip", inner.getvalue())
        z.writestr("bundle.tar.xz", lzma.compress(tar_bytes.getvalue()))
        z.writestr("old.log.bz2", bz2.compress(b"b1\n"))
    found = list(items(archive))
    origin = str(archive)
    assert found == [
        (f"{origin}!dir/a.log.gz", "lines", [b"a1", b"a2"]),
        (f"{origin}!dns.log", "zeek-tsv", [b'{"_path":"dns","ts":1.0,"query":"example.com"}']),
        (f"{origin}!inner.zip!deep.log", "lines", [b"deep"]),
        (f"{origin}!bundle.tar.xz!in-tar.log", "lines", [b"tarline"]),
        (f"{origin}!old.log.bz2", "lines", [b"b1"]),
    ]


def test_leaves_know_their_source_head_and_implied_format(tmp_path: Path) -> None:
    path = tmp_path / "dns.log.gz"
    path.write_bytes(gzip.compress(ZEEK_TSV))
    walker = walk([path])
    leaf = next(walker)
    assert isinstance(leaf, Leaf)
    assert (leaf.source, leaf.head, leaf.implies, leaf.size) == (
        str(path.resolve()),
        ZEEK_TSV,
        "zeek",
        path.stat().st_size,
    )
    assert len(list(leaf.open(0))) == 1
    assert leaf.progress() == path.stat().st_size


def test_open_skips_records_already_done(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"1\n2\n3\n")
    walker = walk([path])
    leaf = next(walker)
    assert isinstance(leaf, Leaf)
    assert list(leaf.open(2)) == [b"3"]
    assert leaf.skipped == 2


def test_a_zip_bomb_is_refused_before_inflating_and_the_next_member_is_read(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("zeros.log", bytes(64 * 1024 * 1024))  # 64 MiB of zeros: ~64 KiB stored
        z.writestr("ok.log", b"fine\n")
    assert archive.stat().st_size < 200_000
    (bomb, ok) = list(items(archive))
    assert bomb[1] == "failure"
    assert "zip bomb" in str(bomb[2])
    assert "zeros.log" in bomb[0]
    assert ok[1:] == ("lines", [b"fine"])
    small = list(items(archive, limits=Limits(member=1024 * 1024, ratio=10**9)))
    assert small[0][1] == "failure"
    assert "zip bomb" in str(small[0][2])


def test_a_bomb_hidden_in_a_gzip_member_stops_while_inflating(tmp_path: Path) -> None:
    archive = tmp_path / "nested.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        z.writestr("zeros.log.gz", gzip.compress(b"\n".join([b"a" * 100] * 200_000), 9))
    walker = walk([archive], Limits(member=GIB, ratio=50))
    leaf = next(walker)
    assert isinstance(leaf, Leaf)
    with pytest.raises(READ_ERRORS) as caught:
        list(leaf.open(0))
    assert "archive bomb" in str(caught.value)


def test_a_corrupt_gzip_raises_when_reached_after_the_good_records(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(b"line %d\n" % i for i in range(200_000)))
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data[: len(data) // 2] + b"\x00" * 100 + data[len(data) // 2 + 100 :])
    walker = walk([path])
    leaf = next(walker)
    assert isinstance(leaf, Leaf)
    got: list[object] = []
    with pytest.raises(READ_ERRORS) as caught:
        got.extend(leaf.open(0))
    assert readers.reason(caught.value)
    assert 0 < len(got) < 200_000


def test_unreadable_and_not_an_archive(tmp_path: Path) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK\x03\x04 but not really a zip")
    missing = tmp_path / "gone.log"
    found = list(items(fake, missing))
    assert [(o, r) for o, r, _ in found] == [(str(fake), "failure"), (str(missing), "failure")]


def test_containers_nested_too_deep_are_refused(tmp_path: Path) -> None:
    data = b"x\n"
    for _ in range(5):
        data = gzip.compress(data)
    path = tmp_path / "deep.gz"
    path.write_bytes(data)
    assert next(iter(items(path, limits=Limits(depth=3))))[1] == "failure"
    assert next(iter(items(path)))[1:] == ("lines", [b"x"])


def test_evtx_files_are_read_by_the_evtx_reader_also_inside_a_zip(tmp_path: Path) -> None:
    samples = sorted(SHARED_DATA.glob("evtx-attack-samples/*/*.evtx"), key=lambda p: p.stat().st_size)
    if not samples:
        pytest.skip(f"shared EVTX samples not found under {SHARED_DATA}")
    sample = samples[0]
    archive = tmp_path / "evtx.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(sample, "Security.evtx")
    direct = list(items(sample))
    zipped = list(items(archive))
    assert direct[0][1] == zipped[0][1] == "evtx"
    assert direct[0][2] == zipped[0][2]
    assert len(direct[0][2]) > 0
    walker = walk([sample])
    leaf = next(walker)
    assert isinstance(leaf, Leaf)
    assert leaf.implies == "evtx"
    rest = list(leaf.open(1))
    assert len(rest) == len(direct[0][2]) - 1
    assert leaf.skipped == 1


def test_a_truncated_compressed_evtx_is_a_failure_not_a_crash(tmp_path: Path) -> None:
    data = gzip.compress(b"ElfFile\x00" + bytes(200_000))
    path = tmp_path / "Security.evtx.gz"
    path.write_bytes(data[: len(data) // 2])
    ((origin, kind, message),) = list(items(path))
    assert (origin, kind) == (str(path), "failure")
    assert "EOFError" in str(message)
