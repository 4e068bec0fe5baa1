"""Framer: RFC 6587 framing rules, independent of how the stream is cut into reads."""

from __future__ import annotations

import pytest

from mimamori.ingest.framing import Framer

STREAM = (
    b"11 <13>a\nb c d"  # octet-counted, with an embedded newline
    b"<13>line one\n"
    b"<13>line two\r\n"
    b"<13>nul ended\x00"
    b"\n\r\n"  # empty frames are ignored
    + "13 <13>日本語".encode()  # 13 bytes of UTF-8
    + b"2024-05-01 starts with digits\n"
    + b"123456789012 too many digits for a length\n"
    + b"<13>unterminated"
)
EXPECTED = [
    b"<13>a\nb c d",
    b"<13>line one",
    b"<13>line two",
    b"<13>nul ended",
    "<13>日本語".encode(),
    b"2024-05-01 starts with digits",
    b"123456789012 too many digits for a length",
]


def frames(stream: bytes, chunk: int, max_message: int = 1000) -> tuple[list[bytes], Framer]:
    framer = Framer(max_message)
    out: list[bytes] = []
    for i in range(0, len(stream), chunk):
        out += framer.feed(stream[i : i + chunk])
    out += framer.finish()
    return out, framer


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 10_000])
def test_the_same_messages_whatever_the_reads(chunk: int) -> None:
    out, framer = frames(STREAM, chunk)
    assert out == [*EXPECTED, b"<13>unterminated"]
    assert not framer.drops


@pytest.mark.parametrize("chunk", [1, 5, 100, 10_000])
def test_oversize_frames_are_skipped_without_losing_the_framing(chunk: int) -> None:
    big = b"<13>" + b"x" * 50
    stream = b"%d %s" % (len(big), big) + b"6 <13>ok" + big + b"\n<13>next\n" + big + b"\x00<13>end\n"
    out, framer = frames(stream, chunk, max_message=20)
    assert out == [b"<13>ok", b"<13>next", b"<13>end"]
    assert framer.drops == {"oversize": 3}


def test_an_octet_counted_frame_cut_by_the_end_of_the_stream_is_dropped() -> None:
    out, framer = frames(b"5 <13>x" + b"40 <13>only part", 4)
    assert out == [b"<13>x"]
    assert framer.drops == {"truncated": 1}


def test_the_buffer_stays_bounded_without_delimiters() -> None:
    framer = Framer(100)
    for _ in range(1000):
        assert framer.feed(b"y" * 1000) == []
        assert len(framer._buf) <= 1100
    assert framer.feed(b"tail of the monster\n<13>fine\n") == [b"<13>fine"]
    assert framer.drops == {"oversize": 1}
