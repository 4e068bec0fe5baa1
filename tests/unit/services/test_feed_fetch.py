"""Unpacking feeds published as archives: bounded, and a damaged archive is a FeedError."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from mimamori.feeds import FeedError
from mimamori.services.feed_fetch import unpack


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def test_plain_zip_and_gzip() -> None:
    assert unpack(b"192.0.2.1\n", 100) == b"192.0.2.1\n"
    assert unpack(zipped("csv.txt", b"a,b\n"), 100) == b"a,b\n"
    assert unpack(gzip.compress(b"x" * 50), 100) == b"x" * 50


@pytest.mark.parametrize(
    "data",
    [
        gzip.compress(b"0" * 10_000),  # inflates past the limit
        zipped("big.csv", b"0" * 10_000),
        b"PK\x03\x04 not really a zip",
        gzip.compress(b"abc")[:-6],  # truncated
    ],
)
def test_oversized_or_damaged_archives_are_refused(data: bytes) -> None:
    with pytest.raises(FeedError):
        unpack(data, 1000)
