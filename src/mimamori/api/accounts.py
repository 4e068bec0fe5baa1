"""``/api/v1/tokens`` (personal API tokens) and the JSON login with its second factor and rate limit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from mimamori.api.deps import RuntimeDep, UserDep, client_key, login_limiter, open_session
from mimamori.domain import User
from mimamori.errors import AuthError, PermissionDeniedError
from mimamori.services import accounts
from mimamori.services.app_runtime import AppRuntime
from mimamori.services.ratelimit import RateLimitedError

router = APIRouter(prefix="/api/v1", tags=["tokens"])


def session_login(request: Request, runtime: AppRuntime, email: str, password: str, totp: str | None) -> User:
    """Password (+ TOTP for staff and enrolled customers) → a fresh session; 429 after too many failures."""
    limiter = login_limiter(request)
    key = client_key(request)
    wait = limiter.retry_after(key)
    if wait is not None:
        raise RateLimitedError(wait)
    try:
        step = accounts.begin_login(runtime.db, email, password)
    except AuthError:
        limiter.failed(key)
        raise
    if step.next is accounts.NextStep.ENROL:
        raise AuthError(
            "two-factor authentication is required for this account but not set up yet: "
            "log in once on the web page (/login) to set it up"
        )
    if step.next is accounts.NextStep.TOTP:
        if not totp:
            raise AuthError("two-factor code required: send the current 6-digit code as 'totp'")
        try:
            accounts.verify_code(runtime.db, step.user.id, totp)
        except AuthError:
            limiter.failed(key)
            raise
    open_session(request, runtime, step.user.id)  # a new session: nothing of an earlier one survives
    return step.user


class NewToken(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(default=["read"], description="read, write (write implies read)")
    expires_in_days: int | None = Field(default=None, ge=1, le=accounts.MAX_TOKEN_DAYS)


def _session_only(request: Request) -> None:
    if getattr(request.state, "api_token", None) is not None:
        raise PermissionDeniedError("create and revoke API tokens from a logged-in session, not with a token")


@router.get("/tokens", summary="List my API tokens (never their values)")
def list_tokens(user: UserDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    return [accounts.token_to_dict(t) for t in accounts.list_tokens(runtime.db, user)]


@router.post("/tokens", status_code=201, summary="Create an API token; its value is shown only once")
def create_token(body: NewToken, request: Request, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    _session_only(request)
    record, value = accounts.create_token(
        runtime.db, user, body.name, body.scopes, expires_in_days=body.expires_in_days
    )
    return {**accounts.token_to_dict(record), "token": value}


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke one of my API tokens")
def revoke_token(
    token_id: Annotated[str, Path(max_length=64)], request: Request, user: UserDep, runtime: RuntimeDep
) -> None:
    _session_only(request)
    accounts.revoke_token(runtime.db, user, token_id)
