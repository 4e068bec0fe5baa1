"""``/api/v1`` assets and network map: shapes, approval, and tenant isolation on every route."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.support.accounts import enroll_totp
from tests.unit.web.conftest import PASSWORD, login, make_settings

from mimamori.domain import Event, Role
from mimamori.services import auth, inventory, tenants
from mimamori.services.runtime import Runtime
from mimamori.storage import unit_of_work
from mimamori.web.app import create_app

T0 = datetime(2026, 11, 26, 1, tzinfo=UTC)


def _device(runtime: Runtime, tenant_id: str, ip: str, mac: str, name: str) -> str:
    fields: dict[str, Any] = {
        "source.ip": ip,
        "source.mac": mac,
        "host.name": name,
        "host.type": "Windows PC",
        "host.os.name": "Windows",
        "host.os.version": "XP",
        "destination.ip": "203.0.113.66",
        "destination.port": 8080,
    }
    with unit_of_work(runtime.db) as uow:
        inventory.record_devices(uow, [Event(T0, tenant_id, "fortigate.traffic", fields)])
    (device,) = [d for d in inventory.list_assets(runtime.db, None, tenant_id) if d.hostname == name]
    return device.id


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[TestClient, str, str, str, str]]:
    runtime = Runtime(make_settings(tmp_path))
    a = tenants.add_tenant(runtime.db, "山田製作所").id
    b = tenants.add_tenant(runtime.db, "佐藤商店").id
    analyst = auth.create_user(runtime.db, "soc@provider.example", "SOC", Role.ANALYST, PASSWORD)
    enroll_totp(runtime.db, analyst.id)
    auth.create_user(runtime.db, "a@a.example", "A", Role.CUSTOMER_ADMIN, PASSWORD, tenant_id=a)
    auth.create_user(runtime.db, "b@b.example", "B", Role.CUSTOMER_VIEWER, PASSWORD, tenant_id=b)
    dev_a = _device(runtime, a, "192.168.1.33", "00-00-4C-4E-4B-FF", "PC-SEIZOU-XP")
    dev_b = _device(runtime, b, "192.168.1.33", "00-00-4C-4E-4B-FF", "<script>alert(1)</script>")
    with TestClient(create_app(runtime)) as client:
        yield client, a, b, dev_a, dev_b


def test_needs_a_login(setup: tuple[TestClient, str, str, str, str]) -> None:
    client, a, _, _, _ = setup
    assert client.get(f"/api/v1/tenants/{a}/assets").status_code == 401
    assert client.get(f"/api/v1/tenants/{a}/network-map").status_code == 401


def test_customer_lists_maps_and_approves_own_devices(setup: tuple[TestClient, str, str, str, str]) -> None:
    client, a, _, dev_a, _ = setup
    login(client, "a@a.example")
    (device,) = client.get(f"/api/v1/tenants/{a}/assets").json()
    assert device["id"] == dev_a
    assert device["vendor"] == "NEC"
    assert device["os"]["family"] == "Windows"
    assert device["os"]["version"] == "XP"
    assert device["os"]["evidence"]["source"] == "fortigate.device-id"
    assert device["approved"] is False
    data = client.get(f"/api/v1/tenants/{a}/network-map").json()
    assert data["subnets"][0]["devices"][0]["flags"] == ["unapproved", "eol_os"]
    assert data["services"][0]["destination"] == "203.0.113.66"
    approved = client.post(f"/api/v1/tenants/{a}/assets/{dev_a}/approve")
    assert approved.status_code == 200
    assert approved.json()["approved"] is True
    assert approved.json()["approved_by"] == "a@a.example"


def test_another_tenants_assets_are_404_on_every_route(setup: tuple[TestClient, str, str, str, str]) -> None:
    client, a, b, dev_a, dev_b = setup
    login(client, "a@a.example")
    for method, path in (
        ("get", f"/api/v1/tenants/{b}/assets"),
        ("get", f"/api/v1/tenants/{b}/network-map"),
        ("post", f"/api/v1/tenants/{b}/assets/{dev_b}/approve"),
        ("post", f"/api/v1/tenants/{a}/assets/{dev_b}/approve"),  # b's device through a's tenant
        ("post", f"/api/v1/tenants/{b}/assets/{dev_a}/approve"),
    ):
        response = getattr(client, method)(path)
        assert response.status_code == 404, path
        assert "script" not in response.text
    login(client, "soc@provider.example")
    (other,) = client.get(f"/api/v1/tenants/{b}/assets").json()
    assert other["id"] == dev_b
    assert other["approved"] is False  # nothing above changed it


def test_a_viewer_cannot_approve(setup: tuple[TestClient, str, str, str, str]) -> None:
    client, _, b, _, dev_b = setup
    login(client, "b@b.example")
    assert client.post(f"/api/v1/tenants/{b}/assets/{dev_b}/approve").status_code == 403
    assert len(client.get(f"/api/v1/tenants/{b}/assets").json()) == 1
