"""Request-scoped dependencies: the runtime, the current user and the one place that resolves tenants."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mimamori.domain import User
from mimamori.errors import AuthError, NotFoundError, PermissionDeniedError
from mimamori.services import accounts, auth
from mimamori.services.app_runtime import AppRuntime
from mimamori.services.ratelimit import AttemptLimiter

SESSION_USER = "user_id"
SESSION_STAMP = "stamp"  # auth.session_stamp of the password the session was opened with
SESSION_PENDING = "login_pending"  # {"uid", "at", "tries"}: password checked, second factor still missing
API_PREFIX = "/api/v1/"
SENSOR_ROUTES = ("/api/v1/ingest",)  # keep their own sensor tokens


def get_runtime(request: Request) -> AppRuntime:
    runtime: AppRuntime = request.app.state.runtime
    return runtime


def client_key(request: Request) -> str:
    """The address failed logins are counted by (the direct peer; see docs/accounts.md for proxies)."""
    return request.client.host if request.client else "unknown"


def login_limiter(request: Request) -> AttemptLimiter:
    """The app's failed-login counter per client address (created on first use)."""
    limiter = getattr(request.app.state, "login_limiter", None)
    if not isinstance(limiter, AttemptLimiter):
        limiter = AttemptLimiter()
        request.app.state.login_limiter = limiter
    return limiter


def _bearer_user(request: Request, runtime: AppRuntime, value: str) -> User:
    user, token = accounts.authenticate_token(runtime.db, value)
    if not accounts.allows(token.scopes, request.method):
        scopes = " ".join(token.scopes)
        raise PermissionDeniedError(f"this API token's scopes ({scopes}) do not allow {request.method}")
    request.state.api_token = token
    return user


def optional_user(request: Request, runtime: Annotated[AppRuntime, Depends(get_runtime)]) -> User | None:
    path = request.url.path
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and path.startswith(API_PREFIX) and not path.startswith(SENSOR_ROUTES):
        return _bearer_user(request, runtime, value.strip())  # a bearer token wins over any session cookie
    user_id = request.session.get(SESSION_USER)
    if not isinstance(user_id, str):
        return None
    try:
        user, stamp = auth.session_user(runtime.db, user_id)
    except NotFoundError:
        request.session.clear()
        return None
    if request.session.get(SESSION_STAMP) != stamp:  # the password changed since this session began
        request.session.clear()
        return None
    return user if user.active else None


def open_session(request: Request, runtime: AppRuntime, user_id: str) -> None:
    """A fresh session for ``user_id`` (nothing of an earlier one survives), bound to their password."""
    request.session.clear()
    request.session[SESSION_USER] = user_id
    request.session[SESSION_STAMP] = auth.session_user(runtime.db, user_id)[1]


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise AuthError("login required")
    return user


RuntimeDep = Annotated[AppRuntime, Depends(get_runtime)]
UserDep = Annotated[User, Depends(current_user)]
OptionalUserDep = Annotated[User | None, Depends(optional_user)]
