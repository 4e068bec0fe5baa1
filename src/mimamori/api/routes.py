"""``/api/v1``: ingest, session, alerts. Thin: parse input, call a service, render JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel

from mimamori.api.deps import SESSION_USER, RuntimeDep, UserDep
from mimamori.domain import Severity
from mimamori.errors import AuthError, PayloadTooLargeError
from mimamori.services import alerts, auth

router = APIRouter(prefix="/api/v1")


class Credentials(BaseModel):
    email: str
    password: str


@router.post("/ingest", status_code=202)
async def ingest(
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
    content_encoding: Annotated[str | None, Header()] = None,
) -> dict[str, int]:
    """JSON lines from a sensor, authenticated by its bearer token."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise AuthError("a sensor token is required (Authorization: Bearer ...)")
    limit = runtime.settings.http_max_body
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLargeError(f"body larger than {limit} bytes")
    result = await runtime.ingest_http(authorization[7:].strip(), bytes(body), content_encoding)
    return {"accepted": result.accepted, "rejected": result.rejected}


@router.post("/session")
async def login(credentials: Credentials, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    user = auth.authenticate(runtime.db, credentials.email, credentials.password)
    request.session.clear()
    request.session[SESSION_USER] = user.id
    return {"id": user.id, "role": user.role.value, "tenant_id": user.tenant_id}


@router.delete("/session", status_code=204)
async def logout(request: Request) -> None:
    request.session.clear()


@router.get("/alerts")
def list_alerts(
    user: UserDep,
    runtime: RuntimeDep,
    tenant_id: str | None = None,
    severity: Severity | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    found = alerts.list_alerts(runtime.db, user, tenant_id, severity=severity, limit=limit, offset=offset)
    return [alerts.alert_to_dict(a) for a in found]


@router.get("/tenants/{tenant_id}/alerts")
def tenant_alerts(
    tenant_id: str,
    user: UserDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return [alerts.alert_to_dict(a) for a in alerts.list_alerts(runtime.db, user, tenant_id, limit=limit)]


@router.get("/tenants/{tenant_id}/alerts/{alert_id}")
def tenant_alert(tenant_id: str, alert_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return alerts.alert_to_dict(alerts.get_alert(runtime.db, user, tenant_id, alert_id))
