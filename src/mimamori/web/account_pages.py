"""``/account``: change the password, two-factor status and set-up, personal API tokens.

``/account/totp`` is also the enrolment step of a staff login without a confirmed secret: it accepts the
pending marker of ``login_pages`` instead of a session, and a confirmed code completes that login. The QR
code is an SVG drawn by ``segno`` from the otpauth:// URI (paths only: no text of the user inside).
"""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from mimamori.api.deps import RuntimeDep, UserDep, client_key, login_limiter, open_session, optional_user
from mimamori.domain import User
from mimamori.errors import AuthError, NotFoundError, PermissionDeniedError, ValidationError
from mimamori.services import accounts, auth
from mimamori.services.app_runtime import AppRuntime
from mimamori.web.login_pages import Code, Csrf, Secret, complete_login, pending_user
from mimamori.web.render import check_csrf, render

router = APIRouter(include_in_schema=False)


def qr_svg(uri: str) -> Markup:
    """The QR code of ``uri`` as inline SVG (segno writes only geometry, so it is safe markup)."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, border=2, title=None, svgclass="qr")
    return Markup(svg)  # noqa: S704 - generated geometry, no user text


def _account_page(
    request: Request, runtime: AppRuntime, user: User, status_code: int = 200, **extra: object
) -> Response:
    context: dict[str, object] = {
        "message": None,
        "error": None,
        "new_token": None,
        "min_length": auth.MIN_PASSWORD_LENGTH,
        **extra,
    }
    return render(
        request,
        "account.html",
        status_code=status_code,
        user=user,
        totp_enabled=accounts.totp_enabled(runtime.db, user.id),
        tokens=accounts.list_tokens(runtime.db, user),
        **context,
    )


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    return _account_page(request, runtime, user)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    current: Secret = "",
    password: Secret = "",
    confirm: Secret = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    if password != confirm:
        return _account_page(request, runtime, user, 422, error="mismatch")
    try:
        accounts.change_password(runtime.db, user, current, password)
    except ValidationError:
        return _account_page(request, runtime, user, 422, error="short")
    except AuthError:
        login_limiter(request).failed(client_key(request))
        return _account_page(request, runtime, user, 422, error="current")
    open_session(request, runtime, user.id)  # this session goes on; every other one of this user ends
    return _account_page(request, runtime, user, message="password")


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    name: Annotated[str, Form(max_length=100)] = "",
    scope: Annotated[str, Form(max_length=16)] = "read",
    expires_in_days: Annotated[str, Form(max_length=4)] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        days = int(expires_in_days) if expires_in_days.strip() else None
        record, value = accounts.create_token(runtime.db, user, name, scope, expires_in_days=days)
    except ValueError:  # ValidationError is not a ValueError; int() failing is
        return _account_page(request, runtime, user, 422, error="token")
    except ValidationError:
        return _account_page(request, runtime, user, 422, error="token")
    return _account_page(request, runtime, user, 201, new_token=value, new_token_name=record.name)


@router.post("/account/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(
    token_id: str, request: Request, user: UserDep, runtime: RuntimeDep, csrf: Csrf = ""
) -> Response:
    check_csrf(request, csrf)
    accounts.revoke_token(runtime.db, user, token_id)  # another user's token: 404
    return RedirectResponse("/account", status_code=303)


# ---- two-factor set-up ------------------------------------------------------------------------------


def _setup_user(request: Request, runtime: AppRuntime) -> tuple[User, bool]:
    """The user setting up TOTP and whether this completes a pending login; AuthError if neither."""
    user = optional_user(request, runtime)
    if user is not None:
        return user, False
    uid = pending_user(request)
    if uid is None:
        raise AuthError("login required")
    try:
        return auth.get_user(runtime.db, uid), True
    except NotFoundError:
        raise AuthError("login required") from None


def _setup_page(
    request: Request, runtime: AppRuntime, user: User, pending: bool, status_code: int = 200
) -> Response:
    enrolment = accounts.start_enrolment(runtime.db, user)
    return render(
        request,
        "totp_setup.html",
        status_code=status_code,
        user=None if pending else user,
        secret=enrolment.secret,
        uri=enrolment.uri,
        qr=qr_svg(enrolment.uri),
        error={401: "code", 429: "rate"}.get(status_code),
    )


@router.get("/account/totp", response_class=HTMLResponse)
def totp_setup(request: Request, runtime: RuntimeDep) -> Response:
    user, pending = _setup_user(request, runtime)
    if accounts.totp_enabled(runtime.db, user.id):
        return RedirectResponse("/account", status_code=303)
    return _setup_page(request, runtime, user, pending)


@router.post("/account/totp", response_class=HTMLResponse)
def totp_confirm(request: Request, runtime: RuntimeDep, code: Code = "", csrf: Csrf = "") -> Response:
    check_csrf(request, csrf)
    user, pending = _setup_user(request, runtime)
    if accounts.totp_enabled(runtime.db, user.id):
        return RedirectResponse("/account", status_code=303)
    limiter, key = login_limiter(request), client_key(request)
    if limiter.retry_after(key) is not None:
        return _setup_page(request, runtime, user, pending, 429)
    try:
        accounts.confirm_enrolment(runtime.db, user, code)
    except AuthError:
        limiter.failed(key)
        return _setup_page(request, runtime, user, pending, 401)
    if pending:
        return complete_login(request, user.id)
    return RedirectResponse("/account", status_code=303)


@router.post("/account/totp/disable", response_class=HTMLResponse)
def totp_disable(
    request: Request, user: UserDep, runtime: RuntimeDep, code: Code = "", csrf: Csrf = ""
) -> Response:
    check_csrf(request, csrf)
    limiter, key = login_limiter(request), client_key(request)
    if limiter.retry_after(key) is not None:
        return _account_page(request, runtime, user, 429, error="rate")
    try:
        accounts.disable_totp(runtime.db, user, code)
    except PermissionDeniedError:
        raise
    except AuthError:
        limiter.failed(key)
        return _account_page(request, runtime, user, 422, error="code")
    return _account_page(request, runtime, user, message="totp_off")
