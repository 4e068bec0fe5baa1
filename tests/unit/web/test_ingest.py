"""HTTP ingest: sensor tokens, size limits, gzip, backpressure, and records reaching alerts."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from fastapi.testclient import TestClient
from tests.unit.web.conftest import World, make_settings

from mimamori.domain import RawRecord
from mimamori.services import tenants
from mimamori.services.pipeline import BatchResult
from mimamori.services.runtime import Runtime
from mimamori.storage import read_only
from mimamori.web.app import create_app

C2 = "203.0.113.66"  # listed in the bundled demo indicators
ZEEK = (
    '{"_path":"conn","ts":1764118801.5,"uid":"C1","id.orig_h":"192.168.1.5","id.orig_p":50001,'
    f'"id.resp_h":"{C2}","id.resp_p":443,"proto":"tcp","conn_state":"SF"}}'
)


def wait_for(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_missing_or_unknown_token_is_401(client: TestClient) -> None:
    assert client.post("/api/v1/ingest", content=ZEEK).status_code == 401
    response = client.post("/api/v1/ingest", content=ZEEK, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_zeek_lines_become_an_alert_of_the_tokens_tenant_only(client: TestClient, world: World) -> None:
    body = (ZEEK + "\n" + '{"message": "not json at all"}' + "\n" + "{broken").encode()
    response = client.post(
        "/api/v1/ingest", content=body, headers={"Authorization": f"Bearer {world.token_a}"}
    )
    assert response.status_code == 202
    assert response.json() == {"accepted": 2, "rejected": 1}

    def alert_count() -> int:
        with read_only(world.runtime.db) as uow:
            return sum(
                1
                for a in uow.alerts.list(world.tenant_a)
                if a.detector == "indicator" and a.key == f"ip:{C2}"
            )

    assert wait_for(lambda: alert_count() == 1)
    with read_only(world.runtime.db) as uow:
        assert [a.id for a in uow.alerts.list(world.tenant_b)] == [world.alert_b]  # only its own seeded alert
        assert uow.quarantine.count(world.tenant_a) >= 2  # the broken line and the non-zeek message


def test_gzip_bodies_are_accepted_and_bombs_refused(client: TestClient, world: World) -> None:
    headers = {"Authorization": f"Bearer {world.token_a}", "Content-Encoding": "gzip"}
    ok = client.post("/api/v1/ingest", content=gzip.compress(ZEEK.encode()), headers=headers)
    assert ok.status_code == 202
    world.runtime.settings.http_max_body = 100_000
    bomb = gzip.compress(b"0" * 5_000_000)
    assert len(bomb) < 100_000
    assert client.post("/api/v1/ingest", content=bomb, headers=headers).status_code == 413


def test_oversize_body_is_413(client: TestClient, world: World) -> None:
    world.runtime.settings.http_max_body = 1000
    response = client.post(
        "/api/v1/ingest", content=b"x" * 2000, headers={"Authorization": f"Bearer {world.token_a}"}
    )
    assert response.status_code == 413


def test_a_non_ascii_digit_content_length_is_no_server_error(client: TestClient, world: World) -> None:
    headers = {"Authorization": f"Bearer {world.token_a}", "Content-Length": "²".encode()}
    response = client.post("/api/v1/ingest", content=ZEEK.encode(), headers=headers)  # type: ignore[arg-type]
    assert response.status_code < 500


def test_full_queue_answers_429_with_retry_after(tmp_path: Path) -> None:
    runtime = Runtime(make_settings(tmp_path, queue_batches=1))
    tenant = tenants.add_tenant(runtime.db, "T")
    token = tenants.add_sensor(runtime.db, tenant.id, "z", "zeek").token
    release = threading.Event()
    original = runtime.pipeline.process

    def slow(records: Sequence[RawRecord]) -> BatchResult:
        release.wait(10)
        return original(records)

    runtime.pipeline.process = slow  # type: ignore[method-assign]
    statuses = []
    with TestClient(create_app(runtime)) as client:
        for _ in range(10):
            response = client.post(
                "/api/v1/ingest", content=ZEEK, headers={"Authorization": f"Bearer {token}"}
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["retry-after"]) >= 1
                break
        release.set()
    assert statuses[-1] == 429
    assert statuses[0] == 202


def test_metrics_count_quarantined_and_rejected_records(client: TestClient, world: World) -> None:
    body = (ZEEK + "\n{broken\n").encode()
    client.post("/api/v1/ingest", content=body, headers={"Authorization": f"Bearer {world.token_a}"})
    assert wait_for(lambda: world.runtime.processed.received >= 1)
    text = client.get("/metrics").text
    assert "mimamori_http_rejected 1" in text
    assert "mimamori_records_received 1" in text
    assert "mimamori_bus_depth_batches" in text
    assert world.tenant_a not in text
