"""The SOC's sensor-health page: every sensor's last record, silent ones first and highlighted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from tests.unit.web.conftest import World, login

from mimamori.services import tenants
from mimamori.storage import unit_of_work
from mimamori.storage.repositories.sensors import Counters


def _seen(world: World, sensor_id: str, when: datetime) -> None:
    with unit_of_work(world.runtime.db) as uow:
        uow.sensors.add_counters({sensor_id: Counters(received=7, parsed=7, last_seen=when)})


def test_silent_sensor_is_listed_first_and_highlighted(client: TestClient, world: World) -> None:
    now = datetime.now(UTC)
    quiet = tenants.add_sensor(world.runtime.db, world.tenant_b, "<b>utm-honsha</b>", "fortigate")
    busy = tenants.add_sensor(world.runtime.db, world.tenant_a, "zeek-main", "zeek")
    _seen(world, quiet.sensor.id, now - timedelta(hours=3))
    _seen(world, busy.sensor.id, now - timedelta(minutes=1))
    login(client, "soc@provider.example")

    page = client.get("/soc/health").text

    assert "&lt;b&gt;utm-honsha&lt;/b&gt;" in page  # sensor names are attacker-reachable text: escaped
    assert "<b>utm-honsha</b>" not in page
    assert 'class="sev-high silent"' in page
    assert page.index("utm-honsha") < page.index("zeek-main")  # the blind spot comes first
    assert "監視できていません" in page
    assert "180 分間受信なし" in page or "179 分間受信なし" in page


def test_customers_cannot_see_sensor_health(client: TestClient) -> None:
    login(client, "a@a.example")
    assert client.get("/soc/health").status_code in (403, 404)


def test_verdict_uses_per_sensor_limits(world: World) -> None:
    later = datetime.now(UTC) + timedelta(minutes=90)
    sensors = tenants.list_sensors(world.runtime.db, world.tenant_a)
    (only,) = sensors
    found = {h.sensor.id: h for h in tenants.sensor_health(world.runtime.db, 60, later)}
    assert found[only.id].silent  # never sent anything, registered 90 min ago: blind
    assert found[only.id].silent_minutes is not None
    assert found[only.id].silent_minutes >= 89
    tenants.set_silence_minutes(world.runtime.db, world.tenant_a, only.id, 0)
    found = {h.sensor.id: h for h in tenants.sensor_health(world.runtime.db, 60, later)}
    assert not found[only.id].silent
    assert found[only.id].limit_minutes == 0
