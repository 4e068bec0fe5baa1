"""``/api/v1``: ingest, session, alerts. Thin: parse input, call a service, render JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field

from mimamori.api import schemas
from mimamori.api.accounts import session_login
from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.domain import Severity
from mimamori.errors import AuthError, PayloadTooLargeError
from mimamori.services import alerts

router = APIRouter(prefix="/api/v1")


class Credentials(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    totp: str | None = Field(default=None, max_length=16, description="6-digit code (staff: required)")


@router.post(
    "/ingest",
    status_code=202,
    summary="Send log records (JSON lines) as a sensor",
    tags=["ingest"],
    response_model=schemas.IngestResult,
    responses=schemas.errors(400, 401, 413, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "string"}},
            },
        }
    },
)
async def ingest(
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
    content_encoding: Annotated[str | None, Header()] = None,
) -> dict[str, int]:
    """JSON lines from a sensor, authenticated by its bearer token (not a user's: the sensor's).

    The body may be gzip-compressed (``Content-Encoding: gzip``). Lines that are not JSON objects are
    quarantined and counted as ``rejected``. A full queue answers 429 with ``Retry-After``."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise AuthError("a sensor token is required (Authorization: Bearer ...)")
    limit = runtime.settings.http_max_body
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLargeError(f"body larger than {limit} bytes")
    result = await runtime.ingest_http(authorization[7:].strip(), bytes(body), content_encoding)
    return {"accepted": result.accepted, "rejected": result.rejected}


@router.post(
    "/session",
    summary="Sign in (sets the session cookie)",
    tags=["session"],
    response_model=schemas.Session,
    responses=schemas.errors(401, 422, 429),  # 429: too many failed logins from this address
)
def login(credentials: Credentials, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """Provider staff (and customers who enrolled TOTP) also send ``totp``; see docs/accounts.md."""
    user = session_login(request, runtime, credentials.email, credentials.password, credentials.totp)
    return {"id": user.id, "role": user.role.value, "tenant_id": user.tenant_id}


@router.delete("/session", status_code=204, summary="Sign out", tags=["session"])
async def logout(request: Request) -> None:
    request.session.clear()


@router.get(
    "/alerts",
    summary="List alerts the caller may see",
    tags=["alerts"],
    response_model=list[schemas.Alert],
    responses=schemas.SIGNED_IN,
)
def list_alerts(
    user: UserDep,
    runtime: RuntimeDep,
    tenant_id: Annotated[str | None, Query(max_length=64)] = None,
    severity: Severity | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    """Newest first. Provider staff see every tenant's (or one, with ``tenant_id``); a customer sees
    only their own tenant's, and ``tenant_id`` of another tenant is a 404."""
    found = alerts.list_alerts(runtime.db, user, tenant_id, severity=severity, limit=limit, offset=offset)
    return [alerts.alert_to_dict(a) for a in found]


@router.get(
    "/tenants/{tenant_id}/alerts",
    summary="List one tenant's alerts",
    tags=["alerts"],
    response_model=list[schemas.Alert],
    responses=schemas.SIGNED_IN,
)
def tenant_alerts(
    tenant_id: str,
    user: UserDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return [alerts.alert_to_dict(a) for a in alerts.list_alerts(runtime.db, user, tenant_id, limit=limit)]


@router.get(
    "/tenants/{tenant_id}/alerts/{alert_id}",
    summary="Get one alert",
    tags=["alerts"],
    response_model=schemas.Alert,
    responses=schemas.SIGNED_IN,
)
def tenant_alert(tenant_id: str, alert_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return alerts.alert_to_dict(alerts.get_alert(runtime.db, user, tenant_id, alert_id))
