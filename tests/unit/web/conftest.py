"""A web app over a real Runtime (SQLite in a temp dir, receivers on ephemeral ports) and seeded data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.support.accounts import enroll_totp, login_any

from mimamori.config import Settings
from mimamori.domain import Finding, Role, Severity
from mimamori.domain.fingerprint import fingerprint
from mimamori.services import auth, tenants
from mimamori.services.runtime import Runtime
from mimamori.storage import unit_of_work
from mimamori.web.app import create_app

PASSWORD = "correct horse battery"


@dataclass
class World:
    runtime: Runtime
    tenant_a: str
    tenant_b: str
    alert_a: str
    alert_b: str
    token_a: str


def make_settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="x" * 48,
        syslog_tcp_port=0,
        syslog_udp_port=0,
        **extra,  # type: ignore[arg-type]
    )


def _alert(runtime: Runtime, tenant_id: str, title: str, severity: Severity) -> str:
    finding = Finding(
        tenant_id=tenant_id,
        detector="indicator",
        key=f"ip:{title}",
        title=title,
        severity=severity,
        timestamp=datetime(2026, 11, 26, 1, tzinfo=UTC),
        host="PC-01",
        source_ip="192.168.1.10",
        destination_ip="203.0.113.66",
    )
    with unit_of_work(runtime.db) as uow:
        (change,) = uow.alerts.record([(fingerprint(finding), finding)])
    return change.alert_id


@pytest.fixture
def world(tmp_path: Path) -> World:
    runtime = Runtime(make_settings(tmp_path))
    a = tenants.add_tenant(runtime.db, "山田製作所")
    b = tenants.add_tenant(runtime.db, "佐藤商店")
    token_a = tenants.add_sensor(runtime.db, a.id, "zeek", "zeek").token
    assert token_a
    analyst = auth.create_user(runtime.db, "soc@provider.example", "SOC", Role.ANALYST, PASSWORD)
    enroll_totp(runtime.db, analyst.id)  # staff must use TOTP; login() below sends a code
    auth.create_user(runtime.db, "a@a.example", "A", Role.CUSTOMER_ADMIN, PASSWORD, tenant_id=a.id)
    auth.create_user(runtime.db, "b@b.example", "B", Role.CUSTOMER_VIEWER, PASSWORD, tenant_id=b.id)
    alert_a = _alert(runtime, a.id, "<script>alert('a')</script>", Severity.HIGH)
    alert_b = _alert(runtime, b.id, "secret-of-b", Severity.LOW)
    return World(runtime, a.id, b.id, alert_a, alert_b, token_a)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.runtime)) as test_client:
        yield test_client


def login(client: TestClient, email: str) -> None:
    """JSON login; provider staff enrolled with ``tests.support.accounts.enroll_totp`` also send a code."""
    login_any(client, email, PASSWORD)
