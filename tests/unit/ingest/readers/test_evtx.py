"""EVTX reader: every sample file read without an exception escaping, damage counted, resume by index."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest
from tests.unit.ingest.readers.evtx_samples import CHUNK, FIRST_CHUNK, MULTI_CHUNK
from tests.unit.ingest.readers.evtx_samples import samples as _samples

from mimamori.errors import IngestError
from mimamori.ingest.readers import evtx


def _read_all(path: Path, **kwargs: int) -> tuple[list[tuple[int, bytes]], evtx.ReadStats]:
    stats = evtx.ReadStats()
    return list(evtx.read(path, stats=stats, **kwargs)), stats


def test_every_sample_file_is_read(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    records = errors = 0
    for path in _samples():
        items, stats = _read_all(path)
        assert [position for position, _ in items] == list(range(len(items)))
        assert stats.records == len(items)
        assert evtx.count_hint(path) == len(items), path.name
        for _, data in items[:50]:
            doc = orjson.loads(data)
            assert isinstance(doc["event_record_id"], int)
            assert doc["timestamp"].endswith("Z")
            assert "System" in doc["Event"]
        records += len(items)
        errors += stats.errors
    print(f"EVTX samples: {records} records parsed, {errors} errors")
    assert records > 4000
    assert errors == 0


def test_document_carries_id_timestamp_and_event_tree() -> None:
    _samples()
    position, data = next(iter(evtx.read(MULTI_CHUNK)))
    assert position == 0
    assert data.startswith(b'{"event_record_id":')
    assert b"\n" not in data
    doc = orjson.loads(data)
    # The record header's id; an exported log renumbers it, System/EventRecordID keeps the original.
    assert doc["event_record_id"] == 1
    assert doc["Event"]["System"]["EventRecordID"] == 7873


def test_resume_skips_the_records_already_imported() -> None:
    _samples()
    everything, _ = _read_all(MULTI_CHUNK)
    resumed, stats = _read_all(MULTI_CHUNK, start=1000)
    assert resumed == everything[1000:]
    assert stats.records == len(everything)
    with pytest.raises(ValueError, match="start"):
        evtx.read(MULTI_CHUNK, start=-1)


def test_flipped_bytes_in_a_chunk_are_counted_not_raised(tmp_path: Path) -> None:
    _samples()
    data = bytearray(MULTI_CHUNK.read_bytes())
    damaged_chunk = FIRST_CHUNK + CHUNK
    for offset in range(damaged_chunk + 0x300, damaged_chunk + 0x2000, 7):
        data[offset] ^= 0x5A
    path = tmp_path / "damaged.evtx"
    path.write_bytes(bytes(data))
    intact, _ = _read_all(MULTI_CHUNK)
    items, stats = _read_all(path)
    assert stats.errors >= 1
    assert stats.last_error
    assert len(intact) - 200 < len(items) < len(intact)  # one chunk (~100 records) lost, not the file
    assert [position for position, _ in items] == list(range(len(items)))


@pytest.mark.parametrize("keep", [0x1000 + 0x18000, 0x1000 + 3 * CHUNK + 1234])
def test_truncated_file_is_read_as_far_as_it_goes(tmp_path: Path, keep: int) -> None:
    _samples()
    path = tmp_path / "truncated.evtx"
    path.write_bytes(MULTI_CHUNK.read_bytes()[:keep])
    items, stats = _read_all(path)
    assert 0 < len(items) < 1537
    assert stats.records == len(items)


def test_random_garbage_after_the_header_never_escapes(tmp_path: Path) -> None:
    _samples()
    head = MULTI_CHUNK.read_bytes()[: FIRST_CHUNK + 0x200]
    path = tmp_path / "garbage.evtx"
    path.write_bytes(head + bytes(range(256)) * 1024)
    items, stats = _read_all(path)
    assert stats.records == len(items)


@pytest.mark.parametrize(
    "content",
    [b"", b"hello world\n" * 100, b"ElfFile", b"MZ\x90\x00" + b"\x00" * 5000, b'{"Event": {}}\n'],
)
def test_non_evtx_file_raises_ingest_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "not.evtx"
    path.write_bytes(content)
    with pytest.raises(IngestError, match="not a Windows event log"):
        evtx.read(path)
    assert evtx.count_hint(path) is None


def test_header_only_or_short_evtx(tmp_path: Path) -> None:
    path = tmp_path / "short.evtx"
    path.write_bytes(evtx.FILE_MAGIC + b"\x00" * 50)
    with pytest.raises(IngestError):
        list(evtx.read(path))
    header_only = tmp_path / "empty.evtx"
    header_only.write_bytes(evtx.FILE_MAGIC + b"\x00" * (0x1000 - 8))
    try:
        items, _ = _read_all(header_only)
    except IngestError:
        return  # refusing a file with a zeroed header is as good as reading nothing from it
    assert items == []


def test_missing_file_and_directory_raise_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="cannot read"):
        evtx.read(tmp_path / "absent.evtx")
    with pytest.raises(IngestError):
        evtx.read(tmp_path)
    assert evtx.count_hint(tmp_path / "absent.evtx") is None


# -- following a file that grows: read_after(path, last_id) -------------------------------------------
def _grown(tmp_path: Path, chunks: int) -> Path:
    """The first ``chunks`` chunks of MULTI_CHUNK behind its header: the file as it was earlier."""
    path = tmp_path / "earlier.evtx"
    path.write_bytes(MULTI_CHUNK.read_bytes()[: FIRST_CHUNK + chunks * CHUNK])
    return path


def _ids(items: list[tuple[int, bytes]]) -> list[int]:
    return [orjson.loads(data)["event_record_id"] for _, data in items]


def test_read_after_yields_only_the_records_added_since() -> None:
    _samples()
    everything = list(evtx.read(MULTI_CHUNK))
    ids = _ids(everything)
    last = ids[1000]  # in the middle of a chunk
    stats = evtx.ReadStats()
    newer = list(evtx.read_after(MULTI_CHUNK, last, stats=stats))
    assert newer == [(i, data) for i, (_, data) in zip(ids, everything, strict=True) if i > last]
    assert [record_id for record_id, _ in newer] == _ids(newer)
    # Whole chunks below the id were not handed to the decoder: far fewer records decoded than a full read.
    assert len(newer) <= stats.records < len(newer) + 200
    assert stats.errors == 0


def test_a_grown_file_costs_only_its_new_chunks(tmp_path: Path) -> None:
    _samples()
    earlier = list(evtx.read_after(_grown(tmp_path, 10), 0))
    last = earlier[-1][0]
    stats = evtx.ReadStats()
    newer = list(evtx.read_after(MULTI_CHUNK, last, stats=stats))
    full = list(evtx.read_after(MULTI_CHUNK, 0))
    assert earlier + newer == full  # nothing lost, nothing twice
    assert stats.records == len(newer)  # the boundary was a chunk boundary: nothing old decoded
    assert list(evtx.read_after(MULTI_CHUNK, full[-1][0])) == []


def test_record_ids_tell_a_cleared_log(tmp_path: Path) -> None:
    _samples()
    assert evtx.record_ids(MULTI_CHUNK) == (1, 1537)
    assert evtx.record_ids(_grown(tmp_path, 3)) == (1, len(list(evtx.read(_grown(tmp_path, 3)))))
    not_evtx = tmp_path / "x.evtx"
    not_evtx.write_bytes(b"hello")
    assert evtx.record_ids(not_evtx) is None


def test_read_after_still_decodes_a_chunk_with_a_damaged_header(tmp_path: Path) -> None:
    _samples()
    data = bytearray(MULTI_CHUNK.read_bytes())
    third = FIRST_CHUNK + 2 * CHUNK
    data[third + 8 : third + 24] = b"\xff" * 16  # first/last ids unreadable: only the decoder can tell
    path = tmp_path / "ids-damaged.evtx"
    path.write_bytes(bytes(data))
    intact = list(evtx.read_after(MULTI_CHUNK, 0))
    after = intact[len(intact) // 2][0]
    got = list(evtx.read_after(path, after))
    assert got == [item for item in intact if item[0] > after]


def test_read_after_refuses_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="after"):
        evtx.read_after(tmp_path / "x.evtx", -1)
    path = tmp_path / "not.evtx"
    path.write_bytes(b"hello world\n" * 100)
    with pytest.raises(IngestError, match="not a Windows event log"):
        evtx.read_after(path, 5)


def _chunks_of(tmp_path: Path, *chunks: int, name: str = "log.evtx") -> Path:
    """MULTI_CHUNK's header and the chunks numbered ``chunks`` in this order (a circular log's slots)."""
    data = MULTI_CHUNK.read_bytes()
    path = tmp_path / name
    body = b"".join(data[FIRST_CHUNK + c * CHUNK : FIRST_CHUNK + (c + 1) * CHUNK] for c in chunks)
    path.write_bytes(data[:FIRST_CHUNK] + body)
    return path


def test_a_wrapped_circular_log_is_read_oldest_record_first(tmp_path: Path) -> None:
    _samples()
    wrapped = _chunks_of(tmp_path, 4, 5, 2, 3)  # the two oldest slots overwritten by newer records
    in_order = list(evtx.read_after(_chunks_of(tmp_path, 2, 3, 4, 5, name="ordered.evtx"), 0))
    assert list(evtx.read_after(wrapped, 0)) == in_order
    ids = [record_id for record_id, _ in in_order]
    assert ids == sorted(ids)
    middle = ids[len(ids) // 2]
    assert list(evtx.read_after(wrapped, middle)) == [item for item in in_order if item[0] > middle]


def test_count_through_and_follows(tmp_path: Path) -> None:
    _samples()
    earlier = _chunks_of(tmp_path, 0, 1, 2, name="earlier.evtx")
    items = list(evtx.read_after(earlier, 0))
    last_id, last_doc = items[-1]
    assert evtx.count_through(MULTI_CHUNK, last_id) == len(items)
    assert evtx.count_through(MULTI_CHUNK, 0) == 0
    assert evtx.count_through(tmp_path / "absent.evtx", 5) == 0
    digest = evtx.digest(last_doc)
    assert evtx.follows(MULTI_CHUNK, last_id, digest)  # the same log, grown
    assert not evtx.follows(MULTI_CHUNK, last_id, evtx.digest(b"another record"))  # another log
    assert not evtx.follows(_chunks_of(tmp_path, 0, name="cleared.evtx"), last_id, digest)  # ids restart
    assert evtx.follows(_chunks_of(tmp_path, 5, 6, name="wrapped.evtx"), last_id, digest)  # all newer
    assert not evtx.follows(tmp_path / "absent.evtx", last_id, digest)
