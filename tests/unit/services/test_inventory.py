"""services.inventory: recording a simulated office from the pipeline's events, listing, approving, the
network map, tenant isolation, the billing count and the OUI refresh."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mimamori.domain import Event, RawRecord, Role, User
from mimamori.errors import NotFoundError, PermissionDeniedError, ValidationError
from mimamori.inventory import default_table
from mimamori.inventory.oui import OUI_FILE, OuiTable, use_table
from mimamori.parsers import PARSERS
from mimamori.services import Database, inventory, tenants
from mimamori.sim import generate
from mimamori.storage import unit_of_work

START = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)


def office_events(tenant_id: str, scenarios: tuple[str, ...] = ("byod-iphone",)) -> list[Event]:
    run = generate(
        tenants=1,
        seed=3,
        scenarios=list(scenarios),
        fmt="fortigate",
        start=START,
        duration=timedelta(hours=2),
    )
    parse = PARSERS["fortigate"]
    events = [parse(RawRecord(tenant_id, "s1", "fortigate", r.line, r.timestamp)) for r in run.records]
    return [e for e in events if e is not None]


def record(db: Database, events: list[Event], batch: int = 500) -> None:
    for start in range(0, len(events), batch):
        with unit_of_work(db) as uow:
            inventory.record_devices(uow, events[start : start + batch])


@pytest.fixture
def office(db: Database) -> tuple[str, str]:
    a = tenants.add_tenant(db, "山田製作所").id
    b = tenants.add_tenant(db, "佐藤商店").id
    tenants.add_sensor(db, a, "FGT60F-YAMADA", "fortigate")
    record(db, office_events(a))
    return a, b


def test_the_simulated_office_is_inventoried(db: Database, office: tuple[str, str]) -> None:
    a, _ = office
    devices = {d.hostname: d for d in inventory.list_assets(db, None, a)}
    phone = devices["Taro-no-iPhone"]
    assert phone.private_mac
    assert phone.vendor is None
    assert phone.device_class == "phone"
    assert (phone.os_family, phone.os_version) == ("iOS", "16.1")
    assert phone.os_evidence is not None
    assert phone.os_evidence["source"] == "fortigate.device-id"
    fs = devices["FS01"]
    assert (fs.vendor, fs.device_class) == ("Synology Incorporated", "server")
    assert all(d.device_key and d.device_key.startswith("mac:") for d in devices.values())
    assert len(devices) == len(inventory.list_assets(db, None, a))  # one row per device
    as_json = [inventory.asset_to_dict(d) for d in inventory.list_assets(db, None, a)]
    json.dumps(as_json)
    assert {
        "id",
        "ip",
        "mac",
        "hostname",
        "vendor",
        "device_class",
        "os",
        "first_seen",
        "last_seen",
        "approved",
    } <= set(as_json[0])
    assert set(as_json[0]["os"]) == {"family", "version", "evidence"}


def test_network_map_approval_and_billing(db: Database, office: tuple[str, str]) -> None:
    a, _ = office
    data = inventory.network_map(db, None, a)
    json.dumps(data)
    assert data["gateway"] == {"name": "FGT60F-YAMADA", "format": "fortigate", "kind": "utm"}
    (subnet,) = data["subnets"]
    assert subnet["cidr"].endswith(".0/24")
    phone = next(d for d in subnet["devices"] if d["hostname"] == "Taro-no-iPhone")
    assert phone["flags"] == ["unapproved", "private_mac", "eol_os"]  # iOS 16
    assert phone["services"][0]["destination"] == "198.51.100.23"
    assert data["services"]
    assert data["summary"]["devices"] == len(subnet["devices"])
    approved = inventory.approve(db, None, a, phone["id"])
    assert approved.approved
    assert approved.approved_by == "cli"
    again = inventory.network_map(db, None, a)
    assert (
        "unapproved" not in next(d for d in again["subnets"][0]["devices"] if d["id"] == phone["id"])["flags"]
    )
    assert inventory.count_devices(db, a, START) == len(subnet["devices"])
    assert inventory.count_devices(db, a, START + timedelta(days=1)) == 0


def test_customers_see_only_their_own_tenant(db: Database, office: tuple[str, str]) -> None:
    a, b = office
    alice = User("u1", "a@a.example", "A", Role.CUSTOMER_ADMIN, tenant_id=a)
    bob = User("u2", "b@b.example", "B", Role.CUSTOMER_VIEWER, tenant_id=b)
    device = inventory.list_assets(db, alice, a)[0]
    for call in (
        lambda: inventory.list_assets(db, bob, a),
        lambda: inventory.network_map(db, bob, a),
        lambda: inventory.approve(db, bob, a, device.id),
        lambda: inventory.approve(db, alice, a, "no-such-device"),
        lambda: inventory.list_assets(db, None, "no-such-tenant"),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert inventory.list_assets(db, bob, b) == []
    with pytest.raises(PermissionDeniedError):  # viewers cannot approve, even their own
        inventory.approve(db, bob, b, device.id)
    with pytest.raises(NotFoundError):  # a device id of another tenant is not found in one's own tenant
        inventory.approve(db, User("u3", "c@b.example", "C", Role.CUSTOMER_ADMIN, tenant_id=b), b, device.id)
    assert not inventory.list_assets(db, alice, a)[0].approved


def test_recording_is_cheap_per_event(db: Database, office: tuple[str, str]) -> None:
    a, _ = office
    events = office_events(a, ())
    started = time.perf_counter()
    record(db, events)
    per_event = (time.perf_counter() - started) / len(events)
    assert per_event < 200e-6  # seconds; ~15 µs in practice (SQLite, batches of 500)


def test_update_oui_from_a_registry_file_wins_over_the_bundled_table(tmp_path: Path) -> None:
    rows = ["Registry,Assignment,Organization Name,Organization Address"]
    rows += [f"MA-L,{i:06X},Vendor {i},Somewhere" for i in range(1200)]
    rows.append("MA-L,001132,Renamed NAS Maker,Taipei")
    source = tmp_path / "oui.csv"
    source.write_text("\n".join(rows))
    data_dir = tmp_path / "data"
    before = default_table()
    try:
        assert inventory.update_oui(data_dir, inventory.fetch_registry(str(source))) == 1201
        assert (data_dir / OUI_FILE).exists()
        assert default_table().vendor("00:11:32:00:00:01") == "Renamed NAS Maker"
        assert inventory.load_oui(data_dir) == 1201
        assert OuiTable.load(data_dir).vendor("00:11:32:00:00:01") == "Renamed NAS Maker"
        with pytest.raises(ValidationError):
            inventory.update_oui(data_dir, b"not,a,registry\n")
        with pytest.raises(ValidationError):
            inventory.fetch_registry("http://insecure.example/oui.csv")
    finally:
        use_table(before)


def test_a_recorder_writes_when_due_or_forced(db: Database) -> None:
    from mimamori.inventory import DeviceRecorder

    a = tenants.add_tenant(db, "山田製作所").id
    events = office_events(a, ())
    recorder = DeviceRecorder(interval=3600.0)
    for start in range(0, len(events), 500):
        with unit_of_work(db) as uow:
            assert inventory.record_devices(uow, events[start : start + 500], recorder) == 0  # not due
    assert inventory.list_assets(db, None, a) == []
    with unit_of_work(db) as uow:
        written = inventory.record_devices(uow, [], recorder, force=True)
    assert written == len(inventory.list_assets(db, None, a)) > 10
    direct = tenants.add_tenant(db, "佐藤商店").id
    record(db, office_events(direct, ()))
    left = {(d.hostname, d.os_family, d.device_class) for d in inventory.list_assets(db, None, a)}
    right = {(d.hostname, d.os_family, d.device_class) for d in inventory.list_assets(db, None, direct)}
    assert left == right  # the same inventory as writing every batch at once
    assert (
        inventory.network_map(db, None, a)["services"] == inventory.network_map(db, None, direct)["services"]
    )
