"""Request-scoped dependencies: the runtime, the current user and the one place that resolves tenants."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mimamori.domain import User
from mimamori.errors import AuthError, NotFoundError
from mimamori.services import auth
from mimamori.services.runtime import Runtime

SESSION_USER = "user_id"


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def optional_user(request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]) -> User | None:
    user_id = request.session.get(SESSION_USER)
    if not isinstance(user_id, str):
        return None
    try:
        user = auth.get_user(runtime.db, user_id)
    except NotFoundError:
        request.session.clear()
        return None
    return user if user.active else None


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise AuthError("login required")
    return user


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
UserDep = Annotated[User, Depends(current_user)]
OptionalUserDep = Annotated[User | None, Depends(optional_user)]
