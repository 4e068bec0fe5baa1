"""File import: counts, resuming, idempotence, appended files, hostile files, formats — on a real database."""

from __future__ import annotations

import gzip
import os
import zipfile
from pathlib import Path

import pytest
from tests.unit.services.conftest import C2

from mimamori.detection import DetectorContext, build_engine
from mimamori.detection.indicators import Indicator, IndicatorSet
from mimamori.ingest.readers import evtx as evtx_reader
from mimamori.services import Database, files, tenants
from mimamori.services.pipeline import BatchResult, Pipeline
from mimamori.storage import read_only

ZEEK_TSV = b"#separator \\x09\n#path\tdns\n#fields\tts\tquery\n#types\ttime\tstring\n1.0\texample.com\n"


def fortigate(i: int, dst: str = "13.107.42.14") -> bytes:
    return (
        f'date=2026-11-26 time=10:{i // 60 % 60:02d}:{i % 60:02d} devname="FGT60F" devid="FGT60FTK0000" '
        f'tz="+0900" logid="0000000013" type="traffic" subtype="forward" level="notice" srcip=192.168.1.{i % 200 + 1} '
        f'srcport=50000 dstip={dst} dstport=443 proto=6 action="accept" policyid=1 service="HTTPS"'
    ).encode()


def log_lines(start: int, stop: int, *, c2_every: int = 50) -> bytes:
    return b"".join(
        fortigate(i, C2 if i % c2_every == 0 else "13.107.42.14") + b"\n" for i in range(start, stop)
    )


@pytest.fixture
def tenant(db: Database) -> str:
    return tenants.add_tenant(db, "A社").id


def alerts(db: Database, tenant_id: str) -> int:
    with read_only(db) as uow:
        return sum(a.count for a in uow.alerts.list(tenant_id))


def sensor_received(db: Database, tenant_id: str) -> int:
    with read_only(db) as uow:
        return sum(s.received for s in uow.sensors.list(tenant_id))


def run(
    pipeline: Pipeline, tenant_id: str, *paths: Path, fmt: str | None = "fortigate"
) -> files.ImportReport:
    return files.import_paths(pipeline, list(paths), tenant_id, fmt, batch=100)


def test_import_again_is_all_duplicates_and_creates_nothing(
    pipeline: Pipeline, db: Database, tenant: str, tmp_path: Path
) -> None:
    path = tmp_path / "fgt.log"
    path.write_bytes(log_lines(0, 1000))
    first = run(pipeline, tenant, path)
    assert (first.received, first.parsed, first.quarantined, first.duplicates) == (1000, 1000, 0, 0)
    assert first.alerts_created > 0
    assert first.errors == []
    hits = alerts(db, tenant)
    second = run(pipeline, tenant, path)
    assert (second.received, second.duplicates, second.alerts_created) == (0, 1000, 0)
    assert alerts(db, tenant) == hits
    assert sensor_received(db, tenant) == 1000
    copy = tmp_path / "same-content.log.gz"  # the same content under another name, compressed
    copy.write_bytes(gzip.compress(path.read_bytes()))
    assert run(pipeline, tenant, copy).duplicates == 1000


@pytest.mark.parametrize("lines", [300, 8000])  # a head shorter than 1 MiB, and a full one
def test_appended_lines_are_the_only_ones_read(
    pipeline: Pipeline, db: Database, tenant: str, tmp_path: Path, lines: int
) -> None:
    path = tmp_path / "growing.log"
    path.write_bytes(log_lines(0, lines))
    assert run(pipeline, tenant, path).received == lines
    with path.open("ab") as handle:
        handle.write(log_lines(lines, lines + 77))
    again = run(pipeline, tenant, path)
    assert (again.received, again.duplicates) == (77, lines)
    assert sensor_received(db, tenant) == lines + 77
    assert run(pipeline, tenant, path).duplicates == lines + 77


def test_a_replaced_file_is_new_content(pipeline: Pipeline, tenant: str, tmp_path: Path) -> None:
    path = tmp_path / "rotated.log"
    path.write_bytes(log_lines(0, 100))
    run(pipeline, tenant, path)
    path.write_bytes(log_lines(500, 550))
    assert (run(pipeline, tenant, path).received, run(pipeline, tenant, path).duplicates) == (50, 50)


class Crash(Exception):
    pass


def test_a_crash_mid_import_resumes_with_exact_totals(
    pipeline: Pipeline, db: Database, tenant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.log.gz"
    path.write_bytes(gzip.compress(log_lines(0, 2000, c2_every=7)))
    real = pipeline.process
    calls = 0

    def crashing(records: list[object], **kwargs: object) -> BatchResult:
        nonlocal calls
        calls += 1
        if calls == 6:
            raise Crash
        return real(records, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "process", crashing)
    with pytest.raises(Crash):
        run(pipeline, tenant, path)
    assert sensor_received(db, tenant) == 500  # five batches committed with their position
    monkeypatch.setattr(pipeline, "process", real)
    resumed = run(pipeline, tenant, path)
    assert (resumed.received, resumed.duplicates) == (1500, 500)
    assert sensor_received(db, tenant) == 2000
    clean = tenants.add_tenant(db, "B社").id  # the same file imported without a crash
    assert run(pipeline, clean, path).received == 2000
    assert alerts(db, tenant) == alerts(db, clean) > 0  # every C2 connection counted exactly once


def test_a_10_mb_line_is_quarantined_without_holding_it(
    pipeline: Pipeline, db: Database, tenant: str, tmp_path: Path
) -> None:
    path = tmp_path / "huge.log"
    path.write_bytes(fortigate(1) + b"\n" + b"A" * 10_000_000 + b"\n" + fortigate(2) + b"\n")
    report = run(pipeline, tenant, path)
    assert (report.received, report.parsed, report.quarantined, report.errors) == (3, 2, 1, [])
    with read_only(db) as uow:
        (bad,) = uow.quarantine.list(tenant)
        (sensor,) = uow.sensors.list(tenant)
    assert bad.reason.startswith(f"record over {pipeline.max_record} bytes (10000000 bytes)")
    assert len(bad.data) == pipeline.max_record
    assert (sensor.received, sensor.quarantined) == (3, 1)
    assert run(pipeline, tenant, path).duplicates == 3


def test_a_corrupt_gzip_is_reported_and_the_directory_goes_on(
    pipeline: Pipeline, tenant: str, tmp_path: Path
) -> None:
    data = gzip.compress(log_lines(0, 3000))
    tmp_path = tmp_path / "logs"
    tmp_path.mkdir()
    (tmp_path / "a-broken.log.gz").write_bytes(data[: len(data) // 2])  # cut off half-way
    (tmp_path / "b-fine.log").write_bytes(log_lines(0, 10))
    report = run(pipeline, tenant, tmp_path)
    broken, fine = report.files
    assert broken.error is not None
    assert "a-broken.log.gz" in broken.error
    assert "stopped after" in broken.error
    assert 0 < broken.received < 3000
    assert (fine.received, fine.error) == (10, None)


def test_formats_implied_by_content_and_required_otherwise(
    pipeline: Pipeline, tenant: str, tmp_path: Path
) -> None:
    tmp_path = tmp_path / "logs"
    tmp_path.mkdir()
    (tmp_path / "dns.log").write_bytes(ZEEK_TSV)
    (tmp_path / "fgt.log").write_bytes(log_lines(0, 3))
    report = run(pipeline, tenant, tmp_path, fmt=None)
    zeek, plain = report.files
    assert (zeek.reader, zeek.format, zeek.parsed) == ("zeek-tsv", "zeek", 1)
    assert plain.error is not None
    assert "--format" in plain.error
    assert plain.received == 0
    mixed = run(pipeline, tenant, tmp_path, fmt="fortigate")
    assert [(f.format, f.parsed, f.duplicates) for f in mixed.files] == [("zeek", 0, 1), ("fortigate", 3, 0)]


def test_zip_members_each_have_their_ledger_row(
    pipeline: Pipeline, db: Database, tenant: str, tmp_path: Path
) -> None:
    archive = tmp_path / "logs.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("one.log.gz", gzip.compress(log_lines(0, 20)))
        z.writestr("two.log", log_lines(100, 130))
    first = run(pipeline, tenant, archive)
    assert [(f.origin, f.received) for f in first.files] == [
        (f"{archive}!one.log.gz", 20),
        (f"{archive}!two.log", 30),
    ]
    assert run(pipeline, tenant, archive).duplicates == 50
    with read_only(db) as uow:
        rows = uow.imports.list(tenant)
    assert sorted((r.source.rsplit("!", 1)[-1], r.position, r.completed) for r in rows) == [
        ("one.log.gz", 20, True),
        ("two.log", 30, True),
    ]


def test_another_process_on_the_same_file_stops_this_one(
    pipeline: Pipeline, db: Database, tenant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mimamori.storage import ImportRepository

    path = tmp_path / "contested.log"
    path.write_bytes(log_lines(0, 250, c2_every=1))
    monkeypatch.setattr(ImportRepository, "advance", lambda *a, **k: False)
    report = run(pipeline, tenant, path)
    assert report.files[0].error is not None
    assert "another process" in report.files[0].error
    assert alerts(db, tenant) == 0
    assert sensor_received(db, tenant) == 0


def test_empty_files_are_skipped(pipeline: Pipeline, tenant: str, tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_bytes(b"")
    (report,) = run(pipeline, tenant, tmp_path / "empty.log").files
    assert (report.received, report.error) == (0, None)


def test_total_bytes_counts_what_will_be_read(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(b"12345")
    (tmp_path / ".hidden").write_bytes(b"123")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.log").write_bytes(b"12")
    assert files.total_bytes([tmp_path, tmp_path / "a.log"]) == 12


# -- EVTX: a grown copy of a live log is followed by record id ------------------------------------------
SHARED_DATA = Path(
    os.environ.get("MIMAMORI_SHARED_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data")
)
EVTX_SAMPLES = SHARED_DATA / "evtx-attack-samples"
# 10 chunks (then 7 empty, preallocated), record ids 1..869, every record from the address EVTX_HIT.
EVTX_LOG = EVTX_SAMPLES / "Lateral Movement" / "LM_5145_Remote_FileCopy.evtx"
EVTX_TOTAL = 869
EVTX_OTHER = EVTX_SAMPLES / "Execution" / "rogue_msi_url_1040_1042.evtx"  # ids 1..351
EVTX_HIT = "10.0.2.15"
CHUNK, FILE_HEADER = 0x10000, 0x1000


@pytest.fixture
def evtx_pipeline(db: Database) -> Pipeline:
    if not EVTX_LOG.is_file():
        pytest.skip(f"sample data absent: {EVTX_LOG}")
    indicators = IndicatorSet.from_indicators([Indicator(EVTX_HIT, "ip", "test C2")])
    return Pipeline(db, build_engine(DetectorContext(indicators=indicators)), max_record=1 << 20)


def evtx_chunks(*chunks: int, source: Path = EVTX_LOG) -> bytes:
    """The file header of ``source`` and the chunks numbered ``chunks`` (0-based), in that order."""
    data = source.read_bytes()
    return data[:FILE_HEADER] + b"".join(
        data[FILE_HEADER + c * CHUNK : FILE_HEADER + (c + 1) * CHUNK] for c in chunks
    )


def evtx_count(data: bytes, tmp_path: Path) -> int:
    probe = tmp_path / "probe" / "count.evtx"
    probe.parent.mkdir(exist_ok=True)
    probe.write_bytes(data)
    return sum(1 for _ in evtx_reader.read_after(probe, 0))


def test_a_grown_evtx_sends_only_its_new_records(
    evtx_pipeline: Pipeline, db: Database, tenant: str, tmp_path: Path
) -> None:
    path = tmp_path / "Security.evtx"
    path.write_bytes(evtx_chunks(*range(4)))  # the log as an agent copied it earlier
    earlier = evtx_count(path.read_bytes(), tmp_path)
    first = run(evtx_pipeline, tenant, path, fmt=None)
    assert (first.received, first.duplicates, first.errors) == (earlier, 0, [])
    assert alerts(db, tenant) == earlier  # one alert, counted once per record
    path.write_bytes(EVTX_LOG.read_bytes())  # copied again: 6 more chunks, a rewritten file header
    grown = run(evtx_pipeline, tenant, path, fmt=None)
    assert (grown.received, grown.duplicates) == (EVTX_TOTAL - earlier, earlier)
    assert sensor_received(db, tenant) == EVTX_TOTAL
    again = run(evtx_pipeline, tenant, path, fmt=None)
    assert (again.received, again.duplicates, again.alerts_created) == (0, EVTX_TOTAL, 0)
    clean = tenants.add_tenant(db, "B社").id  # the whole log at once: the same alerts, counted once
    assert run(evtx_pipeline, clean, EVTX_LOG, fmt=None).received == EVTX_TOTAL
    assert alerts(db, tenant) == alerts(db, clean) == EVTX_TOTAL
    with read_only(db) as uow:
        (row,) = uow.imports.list(tenant)
    assert (row.last_record_id, row.position, row.source) == (EVTX_TOTAL, EVTX_TOTAL, str(path.resolve()))


def test_a_wrapped_circular_evtx_reads_its_new_chunks_only(
    evtx_pipeline: Pipeline, db: Database, tenant: str, tmp_path: Path
) -> None:
    path = tmp_path / "Security.evtx"
    path.write_bytes(evtx_chunks(0, 1, 2, 3))
    earlier = run(evtx_pipeline, tenant, path, fmt=None).received
    path.write_bytes(evtx_chunks(4, 5, 2, 3))  # the two oldest chunks overwritten by newer records
    newer = evtx_count(evtx_chunks(4, 5), tmp_path)
    wrapped = run(evtx_pipeline, tenant, path, fmt=None)
    assert wrapped.received == newer
    assert wrapped.duplicates == earlier - evtx_count(evtx_chunks(0, 1), tmp_path)
    assert sensor_received(db, tenant) == earlier + newer


def test_a_cleared_or_replaced_evtx_is_read_from_its_start(
    evtx_pipeline: Pipeline, db: Database, tenant: str, tmp_path: Path
) -> None:
    if not EVTX_OTHER.is_file():
        pytest.skip(f"sample data absent: {EVTX_OTHER}")
    path = tmp_path / "Security.evtx"
    path.write_bytes(EVTX_LOG.read_bytes())
    assert run(evtx_pipeline, tenant, path, fmt=None).received == EVTX_TOTAL
    path.write_bytes(evtx_chunks(0, 1))  # cleared, then 2 chunks of new records: ids restart at 1
    cleared = evtx_count(path.read_bytes(), tmp_path)
    assert (run(evtx_pipeline, tenant, path, fmt=None).received, cleared > 0) == (cleared, True)
    other = EVTX_OTHER.read_bytes()  # another log copied to the same path: ids overlap the last one read
    path.write_bytes(other)
    expected = evtx_count(other, tmp_path)
    assert expected > cleared  # its records include the id read last, with other content
    replaced = run(evtx_pipeline, tenant, path, fmt=None)
    assert (replaced.received, replaced.duplicates) == (expected, 0)
    assert sensor_received(db, tenant) == EVTX_TOTAL + cleared + expected


def test_an_evtx_import_crashed_mid_way_resumes_by_record_id(
    evtx_pipeline: Pipeline, db: Database, tenant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "Security.evtx"
    path.write_bytes(evtx_chunks(*range(6)))
    total = evtx_count(path.read_bytes(), tmp_path)
    real = evtx_pipeline.process
    calls = 0

    def crashing(records: list[object], **kwargs: object) -> BatchResult:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise Crash
        return real(records, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(evtx_pipeline, "process", crashing)
    with pytest.raises(Crash):
        run(evtx_pipeline, tenant, path, fmt=None)
    assert sensor_received(db, tenant) == 200
    monkeypatch.setattr(evtx_pipeline, "process", real)
    path.write_bytes(evtx_chunks(*range(8)))  # and it grew meanwhile
    resumed = run(evtx_pipeline, tenant, path, fmt=None)
    grown = evtx_count(path.read_bytes(), tmp_path)
    assert (resumed.received, resumed.duplicates) == (grown - 200, 200)
    assert sensor_received(db, tenant) == grown > total
