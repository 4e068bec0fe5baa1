"""Byte-level mutations of valid log lines, shared by the fuzz test and the long fuzz run.

Tokens that break parsers in practice: quotes and escapes, NULs, separators of every format, syslog
PRI extremes, invalid and multi-byte UTF-8, huge or non-finite numbers, absurd dates, very long tokens.
Standard library only, so both ``tests/`` and ``bench/fuzz_parsers.py`` can import it.
"""

from __future__ import annotations

import random

INSERTS = [
    b'"', b'\\"', b"\\", b"\\\\", b"\x00", b"=", b'=""', b" ", b"  ", b"\t", b"\r\n", b"\n", b"|", b",",
    b":", b"{", b"}", b"[", b"]", b"<", b">", b"<191>", b"<999>", b"1 ", b"-", b"%s", b"%n", b"\xff",
    b"\xc3", b"\xe3\x80\x80", b"\xc2\x85", b"\xed\xa0\x80", b"9" * 40, b"-9" * 20, b"1e999", b"NaN",
    b"Infinity", b"null", b"true", b"0x1F", b"9999-12-31T23:59:59Z", b"0000-00-00", b"A" * 5000,
    b"x=" * 2000, b'"' * 300, b"\\u0000", b"\\ud800", b"CEF:0|", b"LEEF:2.0|", b"type=utm ",
]  # fmt: skip


def mutate(line: bytes, rng: random.Random) -> bytes:
    """1-6 edits: bit flip, truncation, duplicated slice, inserted token, deletion, random bytes."""
    data = bytearray(line)
    for _ in range(rng.randint(1, 6)):
        pos = rng.randint(0, len(data))
        op = rng.randrange(6)
        if op == 0 and data:
            data[min(pos, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            del data[pos:]
        elif op == 2:
            data[pos:pos] = data[pos : pos + rng.randint(1, 200)] * rng.randint(1, 3)
        elif op == 3:
            data[pos:pos] = rng.choice(INSERTS)
        elif op == 4:
            del data[pos : pos + rng.randint(1, 16)]
        else:
            data[pos:pos] = rng.randbytes(rng.randint(1, 8))
    return bytes(data)
