"""The C chunk decoder (``_native.evtx_chunk``): the package's documents byte for byte, or the package.

Every record of the shared EVTX samples is decoded by both and compared; mutated chunks (hostile input)
are either left to the package (None) or give what the package gives for every record it decodes; the reader yields the
same with and without the C decoder, also for a file whose damaged chunk goes to the package.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from evtx import PyEvtxParser
from tests.unit.ingest.readers.evtx_samples import CHUNK, FIRST_CHUNK, MULTI_CHUNK
from tests.unit.ingest.readers.evtx_samples import samples as _samples

from mimamori.ingest.readers import evtx
from mimamori.parsers import _native

HEADER = FIRST_CHUNK

chunk_c = _native.evtx_chunk
pytestmark = pytest.mark.skipif(chunk_c is None, reason="C speedups not built (or MIMAMORI_PURE=1)")


def _chunks(data: bytes) -> Iterator[bytes]:
    for offset in range(HEADER, len(data), CHUNK):
        yield data[offset : offset + CHUNK]


def _package(head: bytes, chunk: bytes) -> list[Any]:
    """What the package gives for one chunk behind the file header: (id, document) or "error"."""
    out: list[Any] = []
    records = PyEvtxParser(io.BytesIO(head + chunk), number_of_threads=1).records_json()
    while True:
        try:
            record = next(records)
        except StopIteration:
            return out
        except Exception:
            out.append("error")
            continue
        out.append((record["event_record_id"], evtx._document(record)))


def _decode(chunk: bytes) -> list[tuple[int, bytes]] | None:
    assert chunk_c is not None
    return chunk_c(chunk)


def test_every_sample_record_is_the_packages_document() -> None:
    records = taken = chunks = 0
    for path in _samples():
        data = path.read_bytes()
        for chunk in _chunks(data):
            mine = _decode(chunk)
            if chunk.count(0) == len(chunk):  # an empty slot: no record, as in the package
                assert mine == []
                continue
            chunks += 1
            theirs = _package(data[:HEADER], chunk)
            records += len(theirs)
            if mine is not None:
                taken += 1
                assert mine == theirs, path.name
    # Today the C decoder takes every chunk of the samples (string arrays, nested BinXML, odd booleans
    # included); a chunk it leaves to the package still reads right, but more of them would be slow.
    print(f"{records} records, {taken} of {chunks} chunks decoded in C")
    assert records > 4000
    assert taken == chunks


def _mutated(rng: random.Random, chunk: bytes) -> bytes:
    out = bytearray(chunk)
    for _ in range(rng.choice((1, 1, 2, 5, 20))):
        spot = rng.randrange(512, len(out)) if rng.random() < 0.9 else rng.randrange(len(out))
        out[spot] = rng.randrange(256)
    return bytes(out)


def test_a_damaged_chunk_is_left_to_the_package_or_decoded_exactly_as_it_would() -> None:
    rng = random.Random(20261127)
    files = [path.read_bytes() for path in _samples()]
    taken = 0
    for _ in range(400):
        data = rng.choice(files)
        chunks = [chunk for chunk in _chunks(data) if chunk.startswith(b"ElfChnk\x00")]
        chunk = _mutated(rng, rng.choice(chunks))
        mine = _decode(chunk)
        if mine is not None:
            taken += 1
            theirs = _package(data[:HEADER], chunk)
            assert len(mine) == len(theirs)
            # A record the package refuses may still be decoded here (about one damaged chunk in
            # 2,500: a value type byte the package checks where this decoder does not look); every
            # record the package decodes is the same.
            assert all(b == "error" or a == b for a, b in zip(mine, theirs, strict=True))
    assert taken > 100  # most single-byte damage hits a value, which both decoders read alike


def test_garbage_never_crashes_the_decoder() -> None:
    rng = random.Random(7)
    head = b"ElfChnk\x00" + bytes(32) + (128).to_bytes(4, "little")
    for size in (0, 1, 511, 512, CHUNK - 1, CHUNK, CHUNK + 1):
        assert _decode(bytes(size)) in (None, [])
        assert _decode((head + bytes(max(0, size - len(head))))[:size]) in (None, [])
    for _ in range(300):
        noise = bytes(rng.randrange(256) for _ in range(1024)) * (CHUNK // 1024)
        result = _decode(head + noise[len(head) :])
        assert result is None or isinstance(result, list)
    assert _decode(memoryview(bytes(CHUNK))) == []  # any buffer


def _without_c(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_native, "evtx_chunk", None)


def test_the_reader_yields_the_same_with_and_without_the_c_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [*_samples()[::7], MULTI_CHUNK]
    fast = {path: list(evtx.read(path)) for path in paths}
    fast_start = list(evtx.read(MULTI_CHUNK, start=700))
    fast_after = list(evtx.read_after(MULTI_CHUNK, 1200))
    _without_c(monkeypatch)
    for path in paths:
        assert fast[path] == list(evtx.read(path)), path.name
    assert fast_start == list(evtx.read(MULTI_CHUNK, start=700))
    assert fast_after == list(evtx.read_after(MULTI_CHUNK, 1200))
    assert len(fast_after) == 1537 - 1200


def test_a_file_with_a_damaged_chunk_reads_as_the_package_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _samples()
    data = bytearray(MULTI_CHUNK.read_bytes())
    second = HEADER + CHUNK
    data[second + 48 : second + 52] = (0xFFFFFFFF).to_bytes(4, "little")  # its free-space offset: absurd
    assert _decode(bytes(data[second : second + CHUNK])) is None
    path = tmp_path / "damaged.evtx"
    path.write_bytes(bytes(data))
    stats = evtx.ReadStats()
    fast = list(evtx.read(path, stats=stats))
    _without_c(monkeypatch)
    slow_stats = evtx.ReadStats()
    assert fast == list(evtx.read(path, stats=slow_stats))
    assert (stats.records, stats.errors) == (slow_stats.records, slow_stats.errors)
    assert len(fast) > 1400  # the other 15 chunks
