"""The OpenAPI document of ``/api/v1`` (served at ``/api/openapi.json``, browsable at ``/api/docs``).

FastAPI builds the paths from the routes; this module adds what it cannot know: the two ways a person
signs in (the session cookie of ``POST /api/v1/session`` and a bearer API token), the sensor token of
the ingest route, the tag descriptions and the API's conventions. A route needs a user when one of its
dependencies is ``deps.current_user`` — found by walking the dependency tree, so new routes are
documented correctly without being listed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from mimamori.api import deps, schemas

DESCRIPTION = """\
The JSON API of mimamori. Version 1 lives under `/api/v1`; a breaking change gets `/api/v2`.

* **Sign-in**: `POST /api/v1/session` sets the `mimamori_session` cookie (browsers, short scripts), or
  send `Authorization: Bearer <API token>` on every request (scripts, integrations).
* **Errors** are `{"detail": "..."}` (a list of field errors for a request that does not match the
  schema): 401 not signed in, 403 role may not, 404 no such object, 422 bad value, 429 busy.
* **Tenant isolation**: another tenant's object is answered with 404, exactly like a missing one.
* **Lists** take `limit` (and `offset` where the list can be long), newest first.
"""

TAGS: list[dict[str, str]] = [
    {"name": "session", "description": "Sign in and out with a session cookie."},
    {"name": "ingest", "description": "Log records from sensors (sensor token, not a user's)."},
    {"name": "alerts", "description": "Detections, one per device, detector and day."},
    {"name": "incidents", "description": "Alerts grouped per device and day, with guidance."},
    {"name": "suppressions", "description": "Rules that hide known-benign alerts (provider staff)."},
    {"name": "assets", "description": "The devices seen in a customer's network."},
    {"name": "contacts", "description": "Who at the customer is told about incidents."},
    {"name": "notifications", "description": "Notification rules, messages sent and acknowledgement."},
    {"name": "on-call", "description": "The provider's on-call shifts."},
]

SECURITY_SCHEMES: dict[str, Any] = {
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "mimamori_session",
        "description": "Set by `POST /api/v1/session` (or the login page).",
    },
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token: `Authorization: Bearer <token>`.",
    },
    "sensorToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The sensor's token (`mimamori sensors add` prints it); only for the ingest route.",
    },
}

SENSOR_ROUTES = {"/api/v1/ingest"}
PROBLEM = {"$ref": "#/components/schemas/Problem"}
SIGNED_IN_ERRORS = (401, 403, 404, 422)
USER_SECURITY: list[dict[str, list[str]]] = [{"session": []}, {"bearer": []}]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One FastAPI route of the app as it is served (prefixes of included routers applied)."""

    path: str
    methods: frozenset[str]
    dependant: Dependant
    in_schema: bool
    route: APIRoute


def endpoints(app: FastAPI) -> Iterator[Endpoint]:
    """Every ``APIRoute`` of ``app`` (JSON and pages), through included routers.

    FastAPI keeps included routers as nested route objects, so ``app.routes`` alone does not list
    them; the tenant-isolation contract test walks the app with this function.
    """
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path is not None:
            methods = frozenset(context.methods or route.methods or ())
            yield Endpoint(context.path, methods, route.dependant, route.include_in_schema, route)


def needs_user(dependant: Dependant) -> bool:
    """Whether ``current_user`` is somewhere in the route's dependency tree."""
    return any(
        dependency.call is deps.current_user or needs_user(dependency)
        for dependency in dependant.dependencies
    )


def resource(path: str) -> str:
    """The tag of an operation that has none: the resource it is about (``tenants``, ``events``...)."""
    parts = [p for p in path.removeprefix("/api/v1/").split("/") if p]
    if len(parts) >= 3 and parts[0] == "tenants" and parts[1].startswith("{"):
        return parts[2]
    return parts[0] if parts else "api"


def build(app: FastAPI) -> dict[str, Any]:
    """The document for ``app`` (routes, security, tags)."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=DESCRIPTION,
        routes=app.routes,
        tags=TAGS,
    )
    components = document.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    components.setdefault("schemas", {})["Problem"] = schemas.Problem.model_json_schema()
    paths: dict[str, dict[str, Any]] = document.get("paths", {})
    for path, item in paths.items():
        for operation in item.values():
            if path.startswith("/api/v1/") and not operation.get("tags"):
                operation["tags"] = [resource(path)]
    for endpoint in endpoints(app):
        if not endpoint.in_schema:
            continue
        if endpoint.path in SENSOR_ROUTES:
            security: list[dict[str, list[str]]] = [{"sensorToken": []}]
        elif needs_user(endpoint.dependant):
            security = USER_SECURITY
        else:
            continue
        for method in endpoint.methods:
            operation = paths.get(endpoint.path, {}).get(method.lower())
            if operation is not None:
                operation["security"] = security
                if security is USER_SECURITY:
                    _document_errors(operation)
    return document


def _document_errors(operation: dict[str, Any]) -> None:
    """The error answers every signed-in route can give, with the one error body (``Problem``)."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for code in SIGNED_IN_ERRORS:
        answer = responses.setdefault(str(code), {"description": schemas.ERROR_TEXTS[code]})
        answer["content"] = {"application/json": {"schema": PROBLEM}}


def install(app: FastAPI) -> None:
    """Serve ``build(app)`` (computed once, on the first request) as the app's OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
