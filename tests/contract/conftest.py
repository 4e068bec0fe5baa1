"""A service with two customers for the contract tests: tenant A owns one of every kind of object.

``objects`` maps a path-parameter name to tenant A's object of that kind (the isolation test fills route
paths with it). When you add a route with a new path parameter, create tenant A's object here and add
it to ``objects`` under the parameter's name. Every text of tenant A carries ``MARK_A``, so a response
to tenant B that leaks anything of A is found by searching for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.unit.web.conftest import PASSWORD, make_settings

from mimamori.domain import Event, Finding, Role, Severity
from mimamori.services import accounts, auth, contacts, inventory, notify, tenants, tickets
from mimamori.services import triage_suppression as suppression
from mimamori.services.notify_plan import process_outbox
from mimamori.services.runtime import Runtime
from mimamori.services.triage import record_findings
from mimamori.storage import unit_of_work
from mimamori.web.app import create_app

MARK_A = "AAAMARK"  # in every text of tenant A: must never reach tenant B
TENANT_A_NAME = f"山田製作所 {MARK_A}"

ANALYST = "soc@provider.example"
A_ADMIN = "admin@a.example"
A_VIEWER = "viewer@a.example"
B_ADMIN = "admin@b.example"
B_VIEWER = "viewer@b.example"

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class ContractWorld:
    runtime: Runtime
    tenant_a: str
    tenant_b: str
    sensor_token_a: str
    analyst_token: str  # an API token (write) of the provider analyst
    objects: dict[str, str] = field(default_factory=dict)


def _incident(runtime: Runtime, tenant_id: str, title: str, host: str) -> tuple[str, str]:
    finding = Finding(
        tenant_id=tenant_id,
        detector="indicator",
        key=f"ip:203.0.113.66:{tenant_id}",
        title=title,
        severity=Severity.HIGH,
        timestamp=datetime.now(UTC) - timedelta(minutes=5),
        host=host,
        source_ip="192.168.1.10",
        destination_ip="203.0.113.66",
        device_ip="192.168.1.10",
    )
    with unit_of_work(runtime.db) as uow:
        recorded = record_findings(uow, [(f"fp-{tenant_id}", finding)])
        (alert,) = uow.alerts.list(tenant_id)
    (incident_id,) = recorded.triage.incidents_created
    return alert.id, incident_id


def _device(runtime: Runtime, tenant_id: str, name: str) -> str:
    fields: dict[str, Any] = {
        "source.ip": "192.168.1.33",
        "source.mac": "00-00-4C-4E-4B-FF",
        "host.name": name,
        "host.os.name": "Windows",
        "destination.ip": "203.0.113.66",
        "destination.port": 443,
    }
    with unit_of_work(runtime.db) as uow:
        inventory.record_devices(uow, [Event(datetime.now(UTC), tenant_id, "fortigate.traffic", fields)])
    (device,) = inventory.list_assets(runtime.db, None, tenant_id)
    return device.id


def _tenant_objects(runtime: Runtime, tenant_id: str, mark: str) -> dict[str, str]:
    """One object of every kind for the tenant, each text carrying ``mark``."""
    db = runtime.db
    contact = contacts.add_contact(
        db, None, tenant_id, {"name": f"総務 {mark}", "email": f"{mark.lower()}@example.com"}
    )
    alert_id, incident_id = _incident(runtime, tenant_id, f"Malware {mark}", f"PC-{mark}")
    process_outbox(db, runtime.settings, datetime.now(UTC))  # → a notification to the contact
    (notification, *_) = notify.list_notifications(db, None, tenant_id)
    rule = suppression.add_rule(db, None, tenant_id, "host", reason=f"test PC {mark}", host=f"PC-{mark}")
    ticket = tickets.create_ticket(db, None, tenant_id, "consult", message=f"help {mark}")
    sensor = tenants.add_sensor(db, tenant_id, f"utm-{mark}", "fortigate", with_token=False)
    return {
        "tenant_id": tenant_id,
        "alert_id": alert_id,
        "incident_id": incident_id,
        "asset_id": _device(runtime, tenant_id, f"PC-{mark}"),
        "contact_id": contact.id,
        "notification_id": notification.id,
        "rule_id": str(rule["id"]),
        "ticket_id": ticket.id,
        "sensor_id": sensor.sensor.id,
    }


@pytest.fixture(scope="module")
def contract_world(tmp_path_factory: pytest.TempPathFactory) -> ContractWorld:
    tmp: Path = tmp_path_factory.mktemp("contract")
    runtime = Runtime(make_settings(tmp))
    db = runtime.db
    a = tenants.add_tenant(db, TENANT_A_NAME).id
    b = tenants.add_tenant(db, "佐藤商店 BBBMARK").id
    sensor_token = tenants.add_sensor(db, a, "zeek", "zeek").token
    assert sensor_token
    analyst = auth.create_user(db, ANALYST, "SOC", Role.ANALYST, PASSWORD)
    a_admin = auth.create_user(db, A_ADMIN, f"A {MARK_A}", Role.CUSTOMER_ADMIN, PASSWORD, tenant_id=a)
    auth.create_user(db, A_VIEWER, "A viewer", Role.CUSTOMER_VIEWER, PASSWORD, tenant_id=a)
    auth.create_user(db, B_ADMIN, "B admin", Role.CUSTOMER_ADMIN, PASSWORD, tenant_id=b)
    auth.create_user(db, B_VIEWER, "B viewer", Role.CUSTOMER_VIEWER, PASSWORD, tenant_id=b)
    _, analyst_token = accounts.create_token(db, analyst, "contract tests", "write")
    objects = _tenant_objects(runtime, a, MARK_A)
    _tenant_objects(runtime, b, "BBBMARK")  # so that B's own lists are not trivially empty
    token_record, _ = accounts.create_token(db, a_admin, f"script {MARK_A}", "read")
    objects["token_id"] = token_record.id
    now = datetime.now(UTC)
    shift = contacts.add_shift(
        db,
        None,
        {"name": "当番", "email": "oncall@provider.example", "starts_at": now, "ends_at": now + timedelta(1)},
    )
    objects["shift_id"] = shift.id
    return ContractWorld(runtime, a, b, sensor_token, analyst_token, objects)


@pytest.fixture(scope="module")
def contract_app(contract_world: ContractWorld) -> FastAPI:
    return create_app(contract_world.runtime, manage_runtime=False)


@pytest.fixture(scope="module")
def contract_client(contract_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(contract_app) as client:
        yield client


def sign_in(client: TestClient, email: str) -> str:
    """Sign ``client`` in as a customer user (session cookie); returns the session's CSRF token."""
    client.cookies.clear()
    response = client.post("/api/v1/session", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    page = client.get("/login")  # any page renders the session's CSRF token into its forms
    found = CSRF.search(page.text)
    assert found, "no CSRF token on /login"
    return found.group(1)
