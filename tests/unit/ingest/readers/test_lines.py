"""Line files: splitting across blocks, line endings, blank lines, and lines over the limit."""

from __future__ import annotations

from collections.abc import Iterator

from mimamori.ingest.readers import lines
from mimamori.ingest.readers.source import Oversize, Record


def read(data: bytes, *, block: int = 7, limit: int = 64) -> list[Record]:
    def chunks() -> Iterator[bytes]:
        for i in range(0, len(data), block):
            yield data[i : i + block]

    return list(lines.read(chunks(), limit))


def test_lines_split_across_blocks_with_crlf_blank_lines_and_bom() -> None:
    data = b"\xef\xbb\xbffirst\r\n\r\n\nsecond line\nthird"
    assert read(data) == [b"first", b"second line", b"third"]
    assert read(data, block=1) == [b"first", b"second line", b"third"]
    assert read(data, block=1000) == [b"first", b"second line", b"third"]


def test_a_line_over_the_limit_is_cut_and_reported_with_its_size() -> None:
    long = b"x" * 1000
    records = read(b"a\n" + long + b"\nb\n", block=100, limit=64)
    assert records == [b"a", Oversize(b"x" * 64, 1000), b"b"]


def test_an_oversize_line_within_one_block_and_at_the_end_of_the_file() -> None:
    assert read(b"y" * 100 + b"\nz", block=4096, limit=10) == [Oversize(b"y" * 10, 100), b"z"]
    assert read(b"a\n" + b"w" * 50, block=8, limit=10) == [b"a", Oversize(b"w" * 10, 50)]


def test_sniffers() -> None:
    assert lines.sniff_json(b'\xef\xbb\xbf  {"a": 1}\n', "x.log")
    assert not lines.sniff_json(b"<13>Nov 26 host app: {}", "x.json")
    assert lines.sniff(b"", "anything")
