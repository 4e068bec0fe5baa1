"""Compressed single files: gzip (``.gz``, including several members one after another), bzip2 and xz.

Each is recognised by its magic bytes, not its name, and decompressed as a stream (never to disk or
memory as a whole); what comes out is typed again, so ``.tar.gz``, ``.json.gz`` or ``.evtx.gz`` work. A
file that is corrupt part-way raises when the reader gets there, after the records before it were read.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from typing import BinaryIO, cast

from mimamori.ingest.readers.source import Readable

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
SUFFIXES = (".gz", ".gzip", ".bz2", ".xz")  # dropped from the name of what is inside


def sniff_gzip(head: bytes, name: str) -> bool:
    del name
    return head.startswith(GZIP_MAGIC)


def sniff_bzip2(head: bytes, name: str) -> bool:
    del name
    return head.startswith(BZIP2_MAGIC) and head[3:4] in b"123456789" and len(head) > 4


def sniff_xz(head: bytes, name: str) -> bool:
    del name
    return head.startswith(XZ_MAGIC)


def open_gzip(stream: Readable) -> Readable:
    return gzip.GzipFile(fileobj=cast(BinaryIO, stream), mode="rb")


def open_bzip2(stream: Readable) -> Readable:
    return bz2.BZ2File(cast(BinaryIO, stream))


def open_xz(stream: Readable) -> Readable:
    return lzma.LZMAFile(cast(BinaryIO, stream))


def inner_name(name: str) -> str:
    """The name of the decompressed content: ``a.log.gz`` -> ``a.log``, ``b.tgz`` -> ``b.tar``."""
    lowered = name.lower()
    if lowered.endswith(".tgz"):
        return name[:-4] + ".tar"
    for suffix in SUFFIXES:
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name
