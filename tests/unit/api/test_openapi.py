"""The OpenAPI document (/api/openapi.json): every /api/v1 operation documented, secured and typed."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from tests.unit.web.conftest import make_settings

from mimamori.api import incidents as incidents_api
from mimamori.api import notify as notify_api
from mimamori.domain.contacts import CHANNEL_NAMES
from mimamori.notify.policy import Mode
from mimamori.services import contacts, incidents, triage_suppression
from mimamori.services.runtime import Runtime
from mimamori.web.app import create_app

PUBLIC = {("post", "/api/v1/session"), ("delete", "/api/v1/session")}
# tags whose operations answer with a documented model (mimamori.api.schemas)
TYPED_TAGS = {"alerts", "incidents", "suppressions", "assets", "contacts", "notifications", "on-call"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    runtime = Runtime(make_settings(Path(tmp_path_factory.mktemp("openapi"))))
    with TestClient(create_app(runtime, manage_runtime=False)) as client:
        response = client.get("/api/openapi.json")
        assert response.status_code == 200
        assert client.get("/api/docs").status_code == 200
        data: dict[str, Any] = response.json()
        return data


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if path.startswith("/api/v1/")
    ]


def test_security_schemes_are_declared(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["session"] == {**schemes["session"], "type": "apiKey", "in": "cookie"}
    assert schemes["session"]["name"] == "mimamori_session"
    assert schemes["bearer"]["scheme"] == "bearer"
    assert document["paths"]["/api/v1/ingest"]["post"]["security"] == [{"sensorToken": []}]


def test_every_operation_has_a_summary_tags_and_security(document: dict[str, Any]) -> None:
    problems = []
    for method, path, operation in operations(document):
        where = f"{method.upper()} {path}"
        if not operation.get("summary") or not operation.get("tags"):
            problems.append(f"{where}: summary and tags")
        if (method, path) not in PUBLIC and not operation.get("security"):
            problems.append(f"{where}: no security requirement")
    assert problems == [], "\n".join(problems)


def test_signed_in_operations_document_their_errors(document: dict[str, Any]) -> None:
    problems = []
    for method, path, operation in operations(document):
        if not set(operation.get("tags", ())) & TYPED_TAGS:
            continue
        codes = set(operation["responses"])
        if not {"401", "403", "404", "422"} <= codes:
            problems.append(f"{method.upper()} {path}: {sorted(codes)}")
        error = operation["responses"].get("404", {}).get("content", {}).get("application/json", {})
        if error.get("schema") != {"$ref": "#/components/schemas/Problem"}:
            problems.append(f"{method.upper()} {path}: 404 body is not a Problem")
        ok = [c for c in codes if c.startswith("2")]
        if ok != ["204"] and not any(
            operation["responses"][c].get("content", {}).get("application/json", {}).get("schema") for c in ok
        ):
            problems.append(f"{method.upper()} {path}: no response model")
    assert problems == [], "\n".join(problems)


def test_alert_model_is_described(document: dict[str, Any]) -> None:
    alert = document["components"]["schemas"]["Alert"]
    assert {"id", "tenant_id", "severity", "first_seen", "count"} <= set(alert["required"])


def test_request_value_sets_match_the_services() -> None:
    """The Literal types of the request models are the services' own value sets."""
    assert get_args(incidents_api.Status) == incidents.STATES
    assert get_args(incidents_api.Resolution) == incidents.RESOLUTIONS
    assert get_args(incidents_api.RuleKind) == triage_suppression.KINDS
    assert get_args(notify_api.Language) == contacts.LANGUAGES
    assert get_args(notify_api.Channel) == CHANNEL_NAMES
    assert set(get_args(notify_api.Mode)) == {m.value for m in Mode}
