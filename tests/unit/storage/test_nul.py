"""Hostile strings (NUL characters, overlong names) are stored bounded, never a failed statement."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from mimamori.detection import DetectorContext, build_engine
from mimamori.detection.indicators import Indicator, IndicatorSet
from mimamori.domain import RawRecord
from mimamori.errors import NotFoundError
from mimamori.services import tenants
from mimamori.services.pipeline import Pipeline
from mimamori.storage import Database, read_only, unit_of_work
from mimamori.storage.nul import json_dumps, parameters_without_nul, without_nul

C2 = "203.0.113.66"


def test_without_nul_cleans_nested_strings_and_keys_only() -> None:
    value = {"a\x00": ["x\x00y", ("\x00", 1)], "n": None, "b": b"\x00"}
    assert without_nul(value) == {"a\ufffd": ["x\ufffdy", ("\ufffd", 1)], "n": None, "b": b"\x00"}
    clean = {"k": ["v"]}
    assert without_nul("plain") == "plain"
    assert json.loads(json_dumps(clean)) == clean
    assert json.loads(json_dumps({"k": "a\x00b"})) == {"k": "a\ufffdb"}
    assert json.loads(json_dumps({"k": "\\u0000"})) == {"k": "\\u0000"}  # a literal backslash-u stays


def test_parameters_are_copied_only_when_they_hold_nul() -> None:
    single = {"id": "x", "n": 1}
    many = [{"id": "x"}, {"id": "y"}]
    assert parameters_without_nul(single) is single
    assert parameters_without_nul(many) is many
    assert parameters_without_nul({"id": "a\x00", "n": 1}) == {"id": "a\ufffd", "n": 1}
    assert parameters_without_nul([{"id": "x"}, {"id": "\x00"}]) == [{"id": "x"}, {"id": "\ufffd"}]
    assert parameters_without_nul(None) is None


def test_a_nul_in_a_name_is_stored_and_a_nul_in_a_lookup_finds_nothing(database: Database) -> None:
    tenant = tenants.add_tenant(database, "A\x00社")
    with read_only(database) as uow:
        stored = uow.tenants.get(tenant.id).name
        assert not uow.tenants.exists(tenant.id + "\x00")
        with pytest.raises(NotFoundError):
            uow.tenants.get("\x00" + tenant.id)
    assert stored == ("A\x00社" if database.dialect == "sqlite" else "A\ufffd社")


def test_a_log_line_with_nul_does_not_fail_its_batch(database: Database) -> None:
    tenant = tenants.add_tenant(database, "A")
    sensor = tenants.add_sensor(database, tenant.id, "utm", "fortigate", with_token=False).sensor
    indicators = IndicatorSet.from_indicators([Indicator(C2, "ip", "test C2")])
    pipeline = Pipeline(database, build_engine(DetectorContext(indicators=indicators)))
    line = (
        f'<189>date=2026-11-26 time=10:00:00 devname="FGT\x0060F" logid="0000000013" type="traffic" '
        f'subtype="forward" srcip=192.168.1.5 srcport=50000 dstip={C2} dstport=443 proto=6 action="accept" '
        f'srcname="PC\x00XP"'
    ).encode()
    now = datetime(2026, 11, 26, 1, tzinfo=UTC)
    result = pipeline.process([RawRecord(tenant.id, sensor.id, "fortigate", line, now, "test")])
    assert result.alerts_created == 1
    with unit_of_work(database) as uow:
        (alert,) = uow.alerts.list(tenant.id)
    assert alert.host in ("PC\x00XP", "PC\ufffdXP")
    assert "\x00" not in json.dumps(alert.evidence) or database.dialect == "sqlite"


def test_a_log_line_with_an_overlong_host_name_does_not_fail_its_batch(database: Database) -> None:
    tenant = tenants.add_tenant(database, "A")
    sensor = tenants.add_sensor(database, tenant.id, "utm", "fortigate", with_token=False).sensor
    indicators = IndicatorSet.from_indicators([Indicator(C2, "ip", "test C2")])
    pipeline = Pipeline(database, build_engine(DetectorContext(indicators=indicators)))
    line = (
        f'<189>date=2026-11-26 time=10:00:00 devname="FGT60F" logid="0000000013" type="traffic" '
        f'subtype="forward" srcip=192.168.1.5 srcport=50000 dstip={C2} dstport=443 proto=6 action="accept" '
        f'srcname="{"P" * 400}"'
    ).encode()
    now = datetime(2026, 11, 26, 1, tzinfo=UTC)
    result = pipeline.process([RawRecord(tenant.id, sensor.id, "fortigate", line, now, "test")])
    assert result.alerts_created == 1
    assert result.incidents_created == 1
    with unit_of_work(database) as uow:
        (alert,) = uow.alerts.list(tenant.id)
    assert alert.host == "P" * 255  # the column's length, on both backends
