"""The pipeline use case: parse, detect, dedup, store, outbox, quarantine, counters — on a real database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
from tests.unit.services.conftest import C2

from mimamori import storage
from mimamori.domain import RawRecord
from mimamori.services import Database, tenants
from mimamori.services import pipeline as pipeline_module
from mimamori.services.pipeline import Pipeline
from mimamori.storage import Repositories, read_only

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
EPOCH = date(2000, 1, 1)


def fortigate(src: str, dst: str, action: str = "accept", name: str = "PC-XP-01") -> bytes:
    return (
        f'<189>date=2026-11-26 time=10:00:00 devname="FGT60F" devid="FGT60FTK0000" eventtime=1764118800000000000 '
        f'tz="+0900" logid="0000000013" type="traffic" subtype="forward" level="notice" srcip={src} '
        f'srcport=50000 dstip={dst} dstport=443 proto=6 action="{action}" policyid=1 service="HTTPS" '
        f'sentbyte=100 rcvdbyte=200 srcname="{name}"'
    ).encode()


@pytest.fixture
def sensor(db: Database) -> tuple[str, str]:
    tenant = tenants.add_tenant(db, "A社")
    return tenant.id, tenants.add_sensor(db, tenant.id, "utm", "fortigate", with_token=False).sensor.id


def records(sensor: tuple[str, str], *payloads: bytes, fmt: str = "fortigate") -> list[RawRecord]:
    return [RawRecord(sensor[0], sensor[1], fmt, p, NOW, "test") for p in payloads]


def test_c2_connection_becomes_one_alert_with_one_outbox_row(
    pipeline: Pipeline, db: Database, sensor: tuple[str, str]
) -> None:
    batch = records(
        sensor,
        fortigate("192.168.1.5", C2),
        fortigate("192.168.1.5", C2),
        fortigate("192.168.1.5", "13.107.42.14"),
    )
    result = pipeline.process(batch)
    assert (result.received, result.parsed, result.findings, result.alerts_created) == (3, 3, 2, 1)
    with read_only(db) as uow:
        (alert,) = uow.alerts.list(sensor[0])
        outbox = uow.outbox.list(sensor[0])
        (stored_sensor,) = uow.sensors.list(sensor[0])
    assert alert.count == 2
    assert alert.host == "PC-XP-01"
    assert alert.destination_ip == C2
    assert alert.severity.value == "high"
    assert [m.kind for m in outbox] == ["alert.created"]
    assert (stored_sensor.received, stored_sensor.parsed, stored_sensor.quarantined) == (3, 3, 0)
    assert stored_sensor.last_seen == NOW


def test_a_redelivered_batch_creates_no_new_alert_or_notification(
    pipeline: Pipeline, db: Database, sensor: tuple[str, str]
) -> None:
    batch = records(sensor, fortigate("192.168.1.5", C2))
    assert pipeline.process(batch).alerts_created == 1
    again = pipeline.process(batch)
    assert again.alerts_created == 0
    assert again.alerts_updated == 1
    with read_only(db) as uow:
        assert uow.alerts.count(sensor[0]) == 1
        assert len(uow.outbox.list(sensor[0])) == 1


def test_bad_records_are_quarantined_with_their_reason_and_the_batch_goes_on(
    pipeline: Pipeline, db: Database, sensor: tuple[str, str]
) -> None:
    batch = records(
        sensor,
        b"\x00\xff garbage without key=value structure \xfe",
        b"x" * 5000,  # over the pipeline's 4096-byte record limit
        fortigate("192.168.1.5", C2),
    )
    batch.append(RawRecord(sensor[0], sensor[1], "no-such-format", b"hello", NOW, "test"))
    result = pipeline.process(batch)
    assert (result.parsed, result.quarantined, result.alerts_created) == (1, 3, 1)
    with read_only(db) as uow:
        reasons = sorted(q.reason for q in uow.quarantine.list(sensor[0]))
        (stored_sensor,) = uow.sensors.list(sensor[0])
    assert any("exceeds" in r for r in reasons)
    assert any("no parser" in r for r in reasons)
    assert stored_sensor.quarantined == 3


def test_a_crashing_parser_is_contained(
    pipeline: Pipeline, db: Database, sensor: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mimamori.services import pipeline as module

    def boom(_record: RawRecord) -> None:
        raise RuntimeError("parser bug")

    monkeypatch.setitem(module.PARSERS, "fortigate", boom)
    result = pipeline.process(records(sensor, fortigate("192.168.1.5", C2)))
    assert result.quarantined == 1
    with read_only(db) as uow:
        (bad,) = uow.quarantine.list(sensor[0])
    assert bad.reason == "internal parser error: RuntimeError"


def test_zeek_and_fortigate_views_of_one_device_share_one_alert(
    pipeline: Pipeline, db: Database, sensor: tuple[str, str]
) -> None:
    zeek = (
        '{"_path":"conn","ts":1764118801.5,"uid":"C1","id.orig_h":"192.168.1.5","id.orig_p":50001,'
        f'"id.resp_h":"{C2}","id.resp_p":443,"proto":"tcp","conn_state":"SF"}}'
    ).encode()
    pipeline.process(records(sensor, fortigate("192.168.1.5", C2)) + records(sensor, zeek, fmt="zeek"))
    with read_only(db) as uow:
        (alert,) = uow.alerts.list(sensor[0])
    assert alert.count == 2
    assert alert.host == "PC-XP-01"


def test_the_raw_line_is_kept_by_reference_and_quoted_as_evidence(
    pipeline: Pipeline, db: Database, sensor: tuple[str, str]
) -> None:
    batch = records(sensor, fortigate("192.168.1.5", C2))
    events, _bad, _tallies, _skipped = pipeline.parse(batch)
    assert events[0].raw is batch[0]
    pipeline.process(batch)
    with read_only(db) as uow:
        (alert,) = uow.alerts.list(sensor[0])
    assert alert.evidence["event.original"] == batch[0].data.decode()
    assert alert.evidence["log.origin"] == "test"


def test_due_aggregates_are_written_after_the_batch_in_transactions_of_their_own(
    pipeline: Pipeline, db: Database, sensor: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_module, "AGGREGATE_ROWS", 2)
    batch = records(sensor, *(fortigate(f"192.168.1.{i}", f"13.107.42.{i}") for i in range(1, 6)))
    commits: list[int] = []
    real = storage.unit_of_work

    @contextmanager
    def counting(database: Database) -> Iterator[Repositories]:
        with real(database) as uow:
            yield uow
        commits.append(1)

    monkeypatch.setattr(pipeline_module, "unit_of_work", counting)
    pipeline.process(batch)  # nothing is due yet: the batch's own transaction only
    assert len(commits) == 1
    with read_only(db) as uow:
        assert uow.observations.list(sensor[0], EPOCH) == []
    written = pipeline.write_aggregates(force=True)
    with read_only(db) as uow:
        observed = {o.value for o in uow.observations.list(sensor[0], EPOCH)}
        devices = uow.assets.inventory(sensor[0])
    assert {f"13.107.42.{i}" for i in range(1, 6)} <= observed
    assert devices
    # Two rows per transaction: at least three for the five destinations alone.
    assert len(commits) - 1 >= -(-written // 2) >= 3


def test_a_failing_aggregate_write_does_not_fail_the_committed_batch(
    pipeline: Pipeline, db: Database, sensor: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("database gone")

    monkeypatch.setattr(pipeline, "write_aggregates", broken)
    result = pipeline.process(records(sensor, fortigate("192.168.1.5", C2)))
    assert result.alerts_created == 1
    with read_only(db) as uow:
        (stored_sensor,) = uow.sensors.list(sensor[0])
    assert stored_sensor.received == 1
