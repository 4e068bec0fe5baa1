"""Tenant isolation, enforced in one place: every route of the app is walked automatically.

The rule (docs/api.md): another tenant's object is answered with 404, exactly like a missing one, and
nothing of it ever appears in a response. This test does not list routes: it walks the application
(``mimamori.api.openapi.endpoints``, i.e. every FastAPI route, JSON and pages, through included
routers), so a route added tomorrow is checked tomorrow.

For every method of every route with a path parameter, the path is filled with TENANT A's objects and
called by TENANT B's customer_admin and customer_viewer (signed in, with a valid CSRF token for forms,
and a plausible body and query so the call reaches the tenant guard): the answer must be 404 — or
403/404 for the provider-only prefixes in ``PROVIDER_ONLY`` — and must not contain ``MARK_A``. A route
whose path has no ``{tenant_id}`` (the portal's own-tenant pages) may instead refuse by role with 403,
but only when it answers a missing object byte for byte the same way (probed with ``MISSING`` ids): the
caller cannot tell A's object from no object. Tenant A's own admin
must not get 404 from the GET routes (which proves the filled-in objects are real). Routes without
path parameters are called by B too (no ``MARK_A`` in any answer) and, when they take a ``tenant_id``
query parameter, with A's tenant id (404).

WHEN THIS TEST FAILS BECAUSE OF A ROUTE YOU ADDED
- "unknown path parameter 'x_id'": create one tenant-A object of that kind in
  ``tests/contract/conftest.py`` (``_tenant_objects``; put ``MARK_A`` into its texts) and add it to the
  returned dict under the parameter's name. Never rename the parameter to dodge the check.
- "expected 404, got 200/403/422 ...": resolve the tenant before anything else in the service
  (``services.alerts.visible_tenant`` first, then role checks, then validation), so another tenant's
  object is a 404 like a missing one.
- A route that is staff-only as a whole (SOC console) may answer 403: add its path prefix to
  ``PROVIDER_ONLY`` with a comment — only for provider-only designs, never to silence a leak.
- A path parameter that is itself a secret capability (signed links, reset tokens) and not an object
  id goes into ``CAPABILITY_PARAMS``; those routes have their own tests.
- A form field the body builder cannot guess: add a plausible value to ``FIELD_VALUES``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.contract.conftest import A_ADMIN, B_ADMIN, B_VIEWER, MARK_A, ContractWorld, sign_in

from mimamori.api.openapi import Endpoint, endpoints

# Path prefixes that only provider staff may use at all: a customer gets 403 (or 404) whatever the ids.
PROVIDER_ONLY = (
    "/soc",  # the SOC console pages
    "/api/v1/oncall",  # the provider's on-call roster
    "/api/v1/notifications/{notification_id}",  # delivery details with attempts (staff only)
)

# Path parameters that are unguessable capabilities, not object ids (their routes have own tests).
CAPABILITY_PARAMS = frozenset({"token"})

# Plausible values for body fields by name, so that a body passes validation and reaches the guard.
FIELD_VALUES: dict[str, Any] = {
    "status": "acknowledged",
    "kind": "host",
    "email": "x@example.com",
    "language": "ja",
    "channels": ["email"],
    "scopes": ["read"],
    "phone": "03-1234-5678",
    "reason": "contract test",
    "text": "contract test",
    "message": "contract test",
    "name": "contract test",
    "host": "PC-1",
    "assignee": "someone",
}

# Process endpoints without tenant data; a 503 of /readyz (receivers not started here) is not a failure.
INFRASTRUCTURE = ("/healthz", "/readyz", "/metrics")

MISSING = "0000000000000000"  # an id no object has
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


@dataclass(frozen=True)
class Call:
    method: str
    template: str
    endpoint: Endpoint

    @property
    def params(self) -> list[str]:
        return PARAM.findall(self.template)

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def calls(app: FastAPI) -> Iterator[Call]:
    for endpoint in endpoints(app):
        for method in sorted(endpoint.methods & set(METHODS)):
            yield Call(method, endpoint.path, endpoint)


def provider_only(template: str) -> bool:
    return template.startswith(PROVIDER_ONLY)


def fill(template: str, objects: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in objects:
            raise LookupError(name)
        return objects[name]

    return PARAM.sub(value, template)


# ---- request bodies ---------------------------------------------------------------------------------


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def example(schema: dict[str, Any], document: dict[str, Any], name: str = "") -> Any:
    """A small value that satisfies ``schema`` (and is plausible for a field called ``name``)."""
    schema = _resolve(schema, document)
    if "enum" in schema or "const" in schema:
        allowed = schema.get("enum", [schema.get("const")])
        return FIELD_VALUES[name] if FIELD_VALUES.get(name) in allowed else allowed[0]
    if name in FIELD_VALUES:
        return FIELD_VALUES[name]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o, document).get("type") != "null"]
            return example(options[0], document, name) if options else None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {key: example(properties[key], document, key) for key in schema.get("required", [])}
    if kind == "array":
        return [example(schema.get("items", {}), document) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if schema.get("format") == "date-time":
        return "2099-01-01T00:00:00+00:00"
    return "x" * max(1, schema.get("minLength", 1))


def json_body(call: Call, document: dict[str, Any]) -> Any | None:
    operation = document.get("paths", {}).get(call.template, {}).get(call.method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return example(content["application/json"].get("schema", {}), document)


def form_body(call: Call, csrf: str) -> dict[str, str]:
    form: dict[str, str] = {}
    for parameter in call.endpoint.dependant.body_params:
        name = parameter.alias
        if name == "csrf":
            form[name] = csrf
            continue
        value = FIELD_VALUES.get(name, "x")
        annotation = str(getattr(parameter.field_info, "annotation", ""))
        if "int" in annotation:
            value = "1"
        form[name] = ",".join(value) if isinstance(value, list) else str(value)
    return form


def query(call: Call) -> dict[str, str]:
    """The required query parameters, with plausible values."""
    return {
        p.alias: str(FIELD_VALUES.get(p.alias, "x"))
        for p in call.endpoint.dependant.query_params
        if p.field_info.is_required()
    }


def request(client: TestClient, call: Call, url: str, csrf: str, document: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {"follow_redirects": False, "params": query(call)}
    if call.method != "GET":
        body = json_body(call, document)
        if body is not None:
            kwargs["json"] = body
        elif call.endpoint.dependant.body_params:
            kwargs["data"] = form_body(call, csrf)
    return client.request(call.method, url, **kwargs)


# ---- the contract -----------------------------------------------------------------------------------


def routes_with_objects(app: FastAPI, objects: dict[str, str]) -> tuple[list[tuple[Call, str]], list[str]]:
    """(call, filled-in url) for every route with a path parameter, and the unknown parameters."""
    found: list[tuple[Call, str]] = []
    unknown: list[str] = []
    for call in calls(app):
        if not call.params or CAPABILITY_PARAMS & set(call.params):
            continue
        try:
            found.append((call, fill(call.template, objects)))
        except LookupError as missing:
            unknown.append(f"{call}: unknown path parameter {missing.args[0]!r}")
    return found, unknown


def test_every_path_parameter_is_known(contract_app: FastAPI, contract_world: ContractWorld) -> None:
    """A new kind of object id must get a tenant-A fixture (see the instructions at the top)."""
    _, unknown = routes_with_objects(contract_app, contract_world.objects)
    hint = "add tenant A's object for these to tests/contract/conftest.py:\n"
    assert unknown == [], hint + "\n".join(unknown)


def test_walk_finds_the_known_routes(contract_app: FastAPI, contract_world: ContractWorld) -> None:
    """The walk itself must see routes of included routers (guards against a silently empty walk)."""
    found, _ = routes_with_objects(contract_app, contract_world.objects)
    templates = {str(call) for call, _ in found}
    assert "GET /api/v1/tenants/{tenant_id}/alerts/{alert_id}" in templates
    assert "POST /api/v1/tenants/{tenant_id}/assets/{asset_id}/approve" in templates
    assert "PATCH /api/v1/tenants/{tenant_id}/contacts/{contact_id}" in templates
    assert len(found) > 30


@pytest.mark.parametrize("email", [B_ADMIN, B_VIEWER])
def test_tenant_b_never_reaches_tenant_a_objects(
    contract_client: TestClient, contract_app: FastAPI, contract_world: ContractWorld, email: str
) -> None:
    csrf = sign_in(contract_client, email)
    document = contract_app.openapi()
    found, _ = routes_with_objects(contract_app, contract_world.objects)
    missing = dict.fromkeys(contract_world.objects, MISSING)
    failures = []
    for call, url in found:
        response = request(contract_client, call, url, csrf, document)
        allowed = {403, 404} if provider_only(call.template) else {404}
        if response.status_code == 403 and "tenant_id" not in call.params:
            probe = request(contract_client, call, fill(call.template, missing), csrf, document)
            if (probe.status_code, probe.text) == (403, response.text):
                allowed.add(403)  # refused by role, exactly as for a missing object
        if response.status_code not in allowed:
            failures.append(
                f"{call}: expected {sorted(allowed)}, got {response.status_code} {response.text[:200]}"
            )
        elif MARK_A in response.text:
            failures.append(f"{call}: tenant A's data in the answer: {response.text[:200]}")
    assert failures == [], f"as {email}:\n" + "\n".join(failures)


def test_tenant_a_reaches_its_own_objects(
    contract_client: TestClient, contract_app: FastAPI, contract_world: ContractWorld
) -> None:
    """The same GET routes as tenant A's admin: never 404 (the fixtures are real) and never 5xx."""
    csrf = sign_in(contract_client, A_ADMIN)
    document = contract_app.openapi()
    found, _ = routes_with_objects(contract_app, contract_world.objects)
    failures = []
    for call, url in found:
        if call.method != "GET":
            continue
        response = request(contract_client, call, url, csrf, document)
        if response.status_code == 404 or response.status_code >= 500:
            failures.append(f"{call}: got {response.status_code} {response.text[:200]}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("email", [B_ADMIN, B_VIEWER])
def test_lists_never_show_tenant_a_to_tenant_b(
    contract_client: TestClient, contract_app: FastAPI, contract_world: ContractWorld, email: str
) -> None:
    """Every GET route without path parameters, as B: no trace of A; ``?tenant_id=A`` is a 404."""
    sign_in(contract_client, email)
    failures = []
    checked = 0
    for call in calls(contract_app):
        if call.method != "GET" or call.params:
            continue
        response = contract_client.get(call.template, params=query(call), follow_redirects=False)
        checked += 1
        broken = response.status_code >= 500 and call.template not in INFRASTRUCTURE
        if broken or MARK_A in response.text:
            failures.append(f"{call}: {response.status_code} {response.text[:200]}")
        if "tenant_id" in {p.alias for p in call.endpoint.dependant.query_params}:
            scoped = contract_client.get(
                call.template, params={"tenant_id": contract_world.tenant_a}, follow_redirects=False
            )
            allowed = {403, 404} if provider_only(call.template) else {404}
            if scoped.status_code not in allowed or MARK_A in scoped.text:
                failures.append(f"{call}?tenant_id=A: {scoped.status_code} {scoped.text[:200]}")
    assert checked > 5
    assert failures == [], f"as {email}:\n" + "\n".join(failures)


def test_provider_lists_do_show_tenant_a(contract_client: TestClient, contract_world: ContractWorld) -> None:
    """The marker search above can fail: staff do see tenant A's alerts and incidents."""
    headers = {"Authorization": f"Bearer {contract_world.analyst_token}"}
    for path in ("/api/v1/alerts", "/api/v1/incidents"):
        response = contract_client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        assert MARK_A in response.text, path
