"""``/api/v1/me`` (the signed-in user: profile, language, password) and a customer's one-word status.

What the portal's home page and settings do, for scripts and apps. Thin: parse, call a service, render.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from mimamori.api import schemas
from mimamori.api.deps import RuntimeDep, UserDep, client_key, login_limiter, open_session
from mimamori.domain import User
from mimamori.errors import AuthError, PermissionDeniedError
from mimamori.services import accounts, portal

router = APIRouter(prefix="/api/v1")


class Me(BaseModel):
    id: str
    email: str
    name: str
    role: str = Field(description="provider_admin, analyst, technician, customer_admin or customer_viewer")
    tenant_id: str | None = Field(description="The customer's tenant; null for provider staff.")
    language: Literal["ja", "en"] | str


class MeChange(BaseModel):
    language: Literal["ja", "en"]


class PasswordChange(BaseModel):
    current: str = Field(max_length=1024)
    password: str = Field(max_length=1024)


class Status(BaseModel):
    status: Literal["safe", "caution", "action"] = Field(
        description="safe (安全): nothing open; caution (注意): medium/low incidents open; action (要対応): "
        "a high incident is open"
    )
    open_incidents: int
    focus_incident_id: str | None = Field(description="The incident the status is about, if any.")


def _me(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "tenant_id": user.tenant_id,
        "language": user.language,
    }


@router.get("/me", summary="Who am I", tags=["session"], response_model=Me, responses=schemas.SIGNED_IN)
def get_me(user: UserDep) -> dict[str, Any]:
    return _me(user)


@router.patch(
    "/me", summary="Change my language", tags=["session"], response_model=Me, responses=schemas.SIGNED_IN
)
def change_me(change: MeChange, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    portal.set_language(runtime.db, user, change.language)
    return {**_me(user), "language": change.language}


@router.post(
    "/me/password",
    status_code=204,
    summary="Change my password (ends my other sessions)",
    tags=["session"],
    responses=schemas.SIGNED_IN,
)
def change_password(change: PasswordChange, request: Request, user: UserDep, runtime: RuntimeDep) -> None:
    if getattr(request.state, "api_token", None) is not None:  # a leaked token must not take the account
        raise PermissionDeniedError("change the password in a signed-in session, not with an API token")
    try:
        accounts.change_password(runtime.db, user, change.current, change.password)
    except AuthError:
        login_limiter(request).failed(client_key(request))
        raise
    open_session(request, runtime, user.id)  # this session goes on; the user's other sessions end


@router.get(
    "/tenants/{tenant_id}/status",
    summary="A customer's status: safe / caution / action",
    tags=["portal"],
    response_model=Status,
    responses=schemas.SIGNED_IN,
)
def tenant_status(tenant_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    view = portal.overview(runtime.db, user, tenant_id)
    focus = view["focus"]
    incident = focus["incident"]["id"] if focus and focus["kind"] == "incident" else None
    return {"status": view["status"], "open_incidents": len(view["incidents"]), "focus_incident_id": incident}
