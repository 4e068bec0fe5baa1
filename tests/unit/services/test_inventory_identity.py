"""services.inventory identity: a simulated office logged by both its FortiGate (which knows MACs) and
Zeek (which mostly knows addresses only) through the Pipeline is inventoried once per device, and the
network map shows each device once (docs/inventory.md, "Identity and merging")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mimamori.domain import RawRecord
from mimamori.inventory import DeviceSummary
from mimamori.services import Database, inventory, tenants
from mimamori.services.pipeline import Pipeline
from mimamori.sim import SimRun, generate
from mimamori.storage import unit_of_work

START = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)


def simulated(fmt: str) -> SimRun:
    return generate(tenants=1, seed=5, fmt=fmt, start=START, duration=timedelta(minutes=30))


def feed(pipeline: Pipeline, tenant_id: str, sensor_id: str, run: SimRun, fmt: str, batch: int = 400) -> None:
    records = [RawRecord(tenant_id, sensor_id, fmt, r.line, r.timestamp) for r in run.records]
    for start in range(0, len(records), batch):
        pipeline.process(records[start : start + batch])


def test_both_log_formats_give_one_device_per_simulated_device(db: Database, pipeline: Pipeline) -> None:
    tenant = tenants.add_tenant(db, "山田製作所").id
    forti = tenants.add_sensor(db, tenant, "FGT60F-YAMADA", "fortigate").sensor.id
    zeek = tenants.add_sensor(db, tenant, "zeek-yamada", "zeek").sensor.id
    fortigate_run, zeek_run = simulated("fortigate"), simulated("zeek")
    simulated_devices = fortigate_run.tenants[0].devices
    feed(pipeline, tenant, forti, fortigate_run, "fortigate")
    pipeline.flush()
    feed(pipeline, tenant, zeek, zeek_run, "zeek")  # address-only logs after the MACs are known
    pipeline.flush()

    devices = inventory.list_assets(db, None, tenant)
    assert len(devices) == len(simulated_devices)
    assert {d.mac for d in devices} == {d.mac for d in simulated_devices}
    assert all(d.device_key and d.device_key.startswith("mac:") for d in devices)
    assert inventory.count_devices(db, tenant, START) == len(simulated_devices)
    the_map = inventory.network_map(db, None, tenant)
    mapped = [d for subnet in the_map["subnets"] for d in subnet["devices"]]
    assert len(mapped) == the_map["summary"]["devices"] == len(simulated_devices)
    assert len({d["ip"] for d in mapped}) == len(mapped)


def test_address_only_logs_first_then_macs_in_the_same_write(db: Database, pipeline: Pipeline) -> None:
    """The demo's order: Zeek and FortiGate batches pending together, written in one flush."""
    tenant = tenants.add_tenant(db, "佐藤商店").id
    forti = tenants.add_sensor(db, tenant, "FGT60F-SATO", "fortigate").sensor.id
    zeek = tenants.add_sensor(db, tenant, "zeek-sato", "zeek").sensor.id
    fortigate_run, zeek_run = simulated("fortigate"), simulated("zeek")
    feed(pipeline, tenant, zeek, zeek_run, "zeek")
    feed(pipeline, tenant, forti, fortigate_run, "fortigate")
    pipeline.flush()
    feed(pipeline, tenant, zeek, zeek_run, "zeek")
    pipeline.flush()

    simulated_devices = fortigate_run.tenants[0].devices
    devices = inventory.list_assets(db, None, tenant)
    assert sorted(d.ip or "" for d in devices) == sorted(d.ip for d in simulated_devices)
    assert len(devices) == len(simulated_devices)
    by_mac = {d.mac: d for d in devices}
    for device in simulated_devices:
        assert by_mac[device.mac].ip == device.ip


def test_fold_addresses_repairs_a_doubled_inventory(db: Database) -> None:
    tenant = tenants.add_tenant(db, "鈴木商店").id
    other = tenants.add_tenant(db, "高橋工業").id
    with unit_of_work(db) as uow:
        uow.assets.upsert(tenant, "192.168.1.10", hostname="FS01", mac="00:11:32:c7:56:ef")  # no MAC key
        uow.assets.record(
            tenant,
            [
                DeviceSummary(
                    tenant, "mac:00:11:32:c7:56:ef", START, START, ip="192.168.1.10", mac="00:11:32:c7:56:ef"
                )
            ],
        )
    assert len(inventory.list_assets(db, None, tenant)) == 1  # recording folded the address row at once
    with unit_of_work(db) as uow:
        uow.assets.upsert(tenant, "192.168.1.10")  # a doubled row as written before the rule
        uow.assets.upsert(other, "192.168.1.10")
    assert len(inventory.list_assets(db, None, tenant)) == 2
    assert inventory.fold_addresses(db) == 1
    (device,) = inventory.list_assets(db, None, tenant)
    assert device.device_key == "mac:00:11:32:c7:56:ef"
    assert len(inventory.list_assets(db, None, other)) == 1
