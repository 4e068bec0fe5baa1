"""The sensor token in RFC 5424 structured data: found where it is, ignored where it is not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mimamori.ingest.structured_data import token

HEADER = b"<134>1 2026-11-26T10:00:00+09:00 fw01 app 1234 ID47 "


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (HEADER + b'[mimamori@32473 token="s3cr3t"] msg', "s3cr3t"),
        (b'<134>1 2026-11-26T10:00:00+09:00 fw01 - - - [mimamori@32473 token="abc"] msg', "abc"),
        (HEADER + b'[mimamori@32473 token="abc"]', "abc"),  # no MSG
        (HEADER + b'[exampleSDID@32473 iut="3" eventSource="App" x="a]b"][mimamori@32473 token="t2"]', "t2"),
        (HEADER + b'[mimamori@32473 site="x" token="t3" token="second"] m', "t3"),
        (HEADER + b'[mimamori@32473 token="q\\"u\\\\o\\]te"] m', 'q"u\\o]te'),
        (HEADER + b'[mimamori@32473 token="\\n kept"] m', "\\n kept"),  # unknown escapes stay
        (HEADER + b'[mimamori@32473 token="\xe6\x97\xa5\xff"] m', "日\ufffd"),
        (HEADER + b'[origin ip="192.0.2.1"] [mimamori@32473 token="x"]', None),  # SP ends the SD
        (HEADER + b'- [mimamori@32473 token="x"] in the message', None),
        (HEADER + b'[mimamori@32473 other="x"] m', None),
        (HEADER + b'[mimamori@32473 token="unterminated] m', None),
        (HEADER + b"[mimamori@32473 token=unquoted] m", None),
        (HEADER + b'[other@1 token="not ours"] m', None),
        (b'<13>Nov 26 10:00:00 fw01 app: [mimamori@32473 token="x"]', None),  # RFC 3164
        (b'date=2026-11-26 devname=fw01 [mimamori@32473 token="x"]', None),
        (b"", None),
        (b"<134>1 short", None),
    ],
)
def test_token(message: bytes, expected: str | None) -> None:
    assert token(message) == expected


@given(st.binary(max_size=300))
def test_any_bytes_give_a_str_or_none(data: bytes) -> None:
    assert token(HEADER + data) is None or isinstance(token(HEADER + data), str)
    assert token(data) is None or isinstance(token(data), str)
