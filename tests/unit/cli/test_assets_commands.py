"""``mimamori assets list|approve|map|update-oui``: the JSON contract for scripts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mimamori.cli.context import database
from mimamori.cli.main import app
from mimamori.domain import Event
from mimamori.errors import NotFoundError
from mimamori.inventory import default_table
from mimamori.inventory.oui import OUI_FILE, use_table
from mimamori.services import inventory
from mimamori.storage import unit_of_work

T0 = datetime(2026, 11, 26, 1, tzinfo=UTC)
KEYS = {"id", "ip", "mac", "hostname", "vendor", "device_class", "os", "first_seen", "last_seen", "approved"}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def run(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def seed(tenant: str) -> None:
    """What the pipeline records for two FortiGate sessions of the tenant's devices."""
    events = [
        Event(T0, tenant, "fortigate.traffic", {
            "source.ip": "192.168.1.33", "source.mac": "00-00-4C-4E-4B-FF", "host.name": "PC-SEIZOU-XP",
            "host.type": "Windows PC", "host.os.name": "Windows", "host.os.version": "XP",
            "destination.ip": "203.0.113.66", "destination.port": 8080,
        }),
        Event(T0, tenant, "fortigate.traffic", {
            "source.ip": "192.168.1.231", "source.mac": "B2-D7-2B-14-06-FE", "host.name": "Taro-no-iPhone",
            "host.type": "iPhone", "host.os.name": "iOS", "host.os.version": "16.1",
            "destination.ip": "198.51.100.23", "destination.port": 443,
        }),
    ]  # fmt: skip
    db = database()
    with unit_of_work(db) as uow:
        inventory.record_devices(uow, events)


def test_assets_list_json_approve_and_map(cli: CliRunner) -> None:
    tenant = run(cli, "tenants", "add", "山田製作所").strip()
    other = run(cli, "tenants", "add", "佐藤商店").strip()
    assert json.loads(run(cli, "assets", "list", "--tenant", tenant, "--json")) == []
    seed(tenant)
    listed = json.loads(run(cli, "assets", "list", "--tenant", tenant, "--json"))
    assert isinstance(listed, list)
    assert len(listed) == 2
    assert all(set(d) >= KEYS for d in listed)
    xp = next(d for d in listed if d["hostname"] == "PC-SEIZOU-XP")
    assert (xp["ip"], xp["mac"], xp["vendor"], xp["device_class"]) == (
        "192.168.1.33",
        "00:00:4c:4e:4b:ff",
        "NEC",
        "pc",
    )
    assert xp["os"]["family"] == "Windows"
    assert xp["os"]["version"] == "XP"
    assert xp["os"]["evidence"]["source"] == "fortigate.device-id"
    assert xp["approved"] is False
    assert datetime.fromisoformat(xp["first_seen"]) == T0
    phone = next(d for d in listed if d["hostname"] == "Taro-no-iPhone")
    assert (phone["vendor"], phone["private_mac"], phone["device_class"]) == (None, True, "phone")
    approved = json.loads(run(cli, "assets", "approve", xp["id"], "--tenant", tenant))
    assert approved["approved"] is True
    with pytest.raises(NotFoundError):
        cli.invoke(app, ["assets", "approve", xp["id"], "--tenant", other], catch_exceptions=False)
    assert json.loads(run(cli, "assets", "list", "--tenant", other, "--json")) == []
    data = json.loads(run(cli, "assets", "map", "--tenant", tenant, "--json"))
    assert data["summary"]["devices"] == 2
    assert data["summary"]["unapproved"] == 1
    assert "PC-SEIZOU-XP" in run(cli, "assets", "map", "--tenant", tenant)
    assert "未承認" in run(cli, "assets", "list", "--tenant", tenant)


def test_update_oui_from_a_file(cli: CliRunner, tmp_path: Path) -> None:
    rows = ["Registry,Assignment,Organization Name,Organization Address"]
    rows += [f"MA-L,{i:06X},Vendor {i},Somewhere" for i in range(1500)]
    source = tmp_path / "oui.csv"
    source.write_text("\n".join(rows))
    before = default_table()
    try:
        assert "1500 OUI prefixes" in run(cli, "assets", "update-oui", str(source))
        assert (tmp_path / "data" / OUI_FILE).exists()
    finally:
        use_table(before)


def test_assets_fold_merges_a_doubled_device(cli: CliRunner) -> None:
    tenant = run(cli, "tenants", "add", "山田製作所").strip()
    seed(tenant)
    with unit_of_work(database()) as uow:
        uow.assets.upsert(tenant, "192.168.1.33", seen_at=T0)  # an address row as written before the rule
    assert len(json.loads(run(cli, "assets", "list", "--tenant", tenant, "--json"))) == 3
    assert run(cli, "assets", "fold", "--tenant", tenant).startswith("1 merged")
    devices = json.loads(run(cli, "assets", "list", "--tenant", tenant, "--json"))
    assert sorted(d["hostname"] for d in devices) == ["PC-SEIZOU-XP", "Taro-no-iPhone"]
    assert run(cli, "assets", "fold").startswith("0 merged")
