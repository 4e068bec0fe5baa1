"""Archives: zip (every member) and tar (plain, or inside gzip/bzip2/xz), members typed like files.

Members are read in the archive's order; directories, links, hidden names (``.DS_Store``, ``__MACOSX/``)
and encrypted zip members are left out (encrypted ones reported). Every zip member is checked against the
limits before a byte is inflated (its declared size, its compression ratio) and counted while it inflates,
since a hostile archive can declare anything: over ``Limits.ratio`` times its compressed size or beyond the
archive's ``Limits.expanded`` budget, it is refused as a possible bomb and the next member is read.
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from mimamori.ingest.readers.directory import hidden
from mimamori.ingest.readers.source import Budget, Failure, Guarded, Limits, Readable

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a member first, or an empty archive
TAR_MAGIC_OFFSET = 257


@dataclass(frozen=True, slots=True)
class Member:
    """One member to type and read: its path inside the archive, its stream, the bytes it yields."""

    name: str
    stream: Readable
    size: int


def sniff_zip(head: bytes, name: str) -> bool:
    del name
    return head.startswith(ZIP_MAGICS)


def sniff_tar(head: bytes, name: str) -> bool:
    """POSIX/GNU tar: ``ustar`` at offset 257 of the first header."""
    del name
    return head[TAR_MAGIC_OFFSET : TAR_MAGIC_OFFSET + 5] == b"ustar"


def _hidden_path(name: str) -> bool:
    return any(hidden(part) for part in name.split("/") if part)


def zip_members(file: BinaryIO, where: str, limits: Limits, budget: Budget) -> Iterator[Member | Failure]:
    """The members of the zip archive in ``file`` (seekable); raises ``zipfile.BadZipFile`` if it is none."""
    with zipfile.ZipFile(file) as archive:
        for info in archive.infolist():
            if info.is_dir() or _hidden_path(info.filename):
                continue
            origin = f"{where}!{info.filename}"
            if info.flag_bits & 0x1:
                yield Failure(origin, "encrypted zip member; not read")
                continue
            declared, stored = info.file_size, max(info.compress_size, 1)
            cap = limits.cap(stored)
            if declared > cap or declared > budget.limit - budget.used:
                yield Failure(
                    origin,
                    f"declares {declared} bytes from {stored} compressed, over the limit "
                    f"({limits.member} bytes, ratio {limits.ratio}); refused as a possible zip bomb",
                )
                continue
            with archive.open(info) as member:
                yield Member(info.filename, Guarded(member, budget, origin, cap), declared)


def tar_members(stream: Readable) -> Iterator[Member]:
    """The regular files of the tar stream, read in one pass (no seeking back)."""
    with tarfile.open(fileobj=stream, mode="r|") as archive:  # type: ignore[call-overload]
        for info in archive:
            if not info.isfile() or _hidden_path(info.name):
                continue
            member = archive.extractfile(info)
            if member is not None:
                yield Member(info.name, member, info.size)
