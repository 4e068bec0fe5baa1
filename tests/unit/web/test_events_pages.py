"""The SOC's event search page (/soc/events) and the events API: staff only for the page, tenant
isolation on the API, hostile archived text shown escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from tests.unit.web.conftest import World, login

from mimamori.domain import Event, RawRecord

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 10:00 JST
HOSTILE = "<script>alert('raw')</script>"
RANGE = {"start": "2026-11-26T09:00", "end": "2026-11-26T11:00"}  # JST


def _archive(world: World) -> None:
    writer = world.runtime.pipeline.archive
    assert writer is not None
    for tenant, ip, host in (
        (world.tenant_a, "192.168.1.5", "<b>PC-01</b>"),
        (world.tenant_b, "10.0.0.9", "B-PC"),
    ):
        raw = RawRecord(tenant, "s", "zeek", HOSTILE.encode(), T0)
        fields = {
            "source.ip": ip,
            "destination.ip": "203.0.113.66",
            "destination.port": 443,
            "host.name": host,
        }
        writer.append([Event(T0, tenant, "zeek.conn", fields, "s", raw)])  # type: ignore[arg-type]
    writer.flush()


def test_staff_search_shows_escaped_results(client: TestClient, world: World) -> None:
    _archive(world)
    login(client, "soc@provider.example")
    response = client.get("/soc/events", params={"tenant": world.tenant_a, **RANGE})
    assert response.status_code == 200
    page = response.text
    assert 'data-testid="event-results"' in page
    assert "2026-11-26 10:00:00" in page  # Japan time
    assert "192.168.1.5" in page
    assert "10.0.0.9" not in page  # the other tenant's event
    assert "&lt;b&gt;PC-01&lt;/b&gt;" in page
    assert "<b>PC-01</b>" not in page
    assert "&lt;script&gt;alert(&#39;raw&#39;)&lt;/script&gt;" in page
    assert HOSTILE not in page
    assert "<details>" in page
    assert 'class="raw"' in page
    assert "イベント検索" in page


def test_staff_filters_and_text(client: TestClient, world: World) -> None:
    _archive(world)
    login(client, "soc@provider.example")
    hit = client.get("/soc/events", params={"tenant": world.tenant_a, **RANGE, "source_ip": "192.168.1.5"})
    assert "192.168.1.5" in hit.text
    miss = client.get("/soc/events", params={"tenant": world.tenant_a, **RANGE, "q": "nothing-like-this"})
    assert "この期間のイベントはありません。" in miss.text


def test_page_without_tenant_shows_the_form(client: TestClient, world: World) -> None:
    login(client, "soc@provider.example")
    page = client.get("/soc/events").text
    assert 'data-testid="event-search"' in page
    assert "山田製作所" in page
    assert "佐藤商店" in page
    assert 'data-testid="event-results"' not in page


def test_bad_input_is_explained(client: TestClient, world: World) -> None:
    login(client, "soc@provider.example")
    bad_time = client.get("/soc/events", params={"tenant": world.tenant_a, "start": "yesterday"})
    assert bad_time.status_code == 422
    assert 'data-testid="event-error"' in bad_time.text
    too_long = client.get(
        "/soc/events",
        params={"tenant": world.tenant_a, "start": "2026-10-01T00:00", "end": "2026-11-26T00:00"},
    )
    assert too_long.status_code == 422
    assert "31 days" in too_long.text
    assert client.get("/soc/events", params={"tenant": "../etc", **RANGE}).status_code == 404


def test_customers_cannot_use_the_page(client: TestClient, world: World) -> None:
    _archive(world)
    login(client, "a@a.example")
    response = client.get("/soc/events", params={"tenant": world.tenant_a, **RANGE})
    assert response.status_code == 403
    assert "192.168.1.5" not in response.text


def test_anonymous_is_sent_to_login(client: TestClient) -> None:
    response = client.get("/soc/events", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_api_scoping_and_shape(client: TestClient, world: World) -> None:
    _archive(world)
    params = {"start": T0.isoformat(), "end": (T0 + timedelta(minutes=1)).isoformat()}
    login(client, "a@a.example")
    own = client.get(f"/api/v1/tenants/{world.tenant_a}/events", params=params)
    assert own.status_code == 200
    (event,) = own.json()["events"]
    assert event["source.ip"] == "192.168.1.5"
    assert event["raw"] == HOSTILE
    other = client.get(f"/api/v1/tenants/{world.tenant_b}/events", params=params)
    assert other.status_code == 404
    assert other.json() == {"detail": "not found"}  # like a tenant that does not exist
    assert "10.0.0.9" not in other.text


def test_api_filters_and_limits(client: TestClient, world: World) -> None:
    _archive(world)
    login(client, "soc@provider.example")
    url = f"/api/v1/tenants/{world.tenant_b}/events"
    params = {"start": T0.isoformat(), "end": (T0 + timedelta(minutes=1)).isoformat()}
    assert len(client.get(url, params={**params, "source_ip": "10.0.0.9"}).json()["events"]) == 1
    assert client.get(url, params={**params, "source_ip": "10.0.0.1"}).json()["events"] == []
    assert client.get(url, params={**params, "limit": 1001}).status_code == 422
    wide = {"start": "2026-01-01T00:00:00+00:00", "end": "2026-03-01T00:00:00+00:00"}
    assert client.get(url, params=wide).status_code == 422
    naive = {"start": "2026-11-26T00:00:00", "end": "2026-11-26T02:00:00"}
    assert client.get(url, params=naive).status_code == 422
    assert client.get(url, params={**params, "destination_port": "443 OR 1=1"}).status_code == 422
