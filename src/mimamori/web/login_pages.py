"""The login steps: password (``/login``, called from ``pages``), the TOTP code (``/login/totp``) and the
password reset by e-mail (``/password/forgot``, ``/password/reset/{token}``).

After a correct password an account that needs a second factor gets only a *pending* marker in the
session (user id, time, tries), never ``SESSION_USER``: the pages treat it as logged out. The marker lasts
``PENDING_SECONDS`` and ``MAX_CODE_TRIES`` wrong codes; then the password must be entered again. Failed
attempts of every step count against the client address (``AttemptLimiter``): over the limit the pages
answer 429 with ``Retry-After``.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mimamori.api.deps import (
    SESSION_PENDING,
    RuntimeDep,
    client_key,
    get_runtime,
    login_limiter,
    open_session,
)
from mimamori.errors import AuthError, NotFoundError, ValidationError
from mimamori.services import accounts, password_reset
from mimamori.services.app_runtime import AppRuntime
from mimamori.web.render import check_csrf, render

router = APIRouter(include_in_schema=False)

PENDING_SECONDS = 300
MAX_CODE_TRIES = 5

Csrf = Annotated[str, Form(max_length=100)]
Code = Annotated[str, Form(max_length=16)]
Secret = Annotated[str, Form(max_length=1024)]


def _too_many(request: Request, template: str, wait: float, **context: object) -> Response:
    response = render(request, template, status_code=429, error="rate", **context)
    response.headers["Retry-After"] = str(max(1, round(wait)))
    return response


def pending_user(request: Request) -> str | None:
    """The user id of a login waiting for its second factor (None if none or expired)."""
    marker = request.session.get(SESSION_PENDING)
    if not isinstance(marker, dict):
        return None
    uid, at = marker.get("uid"), marker.get("at")
    if not isinstance(uid, str) or not isinstance(at, (int, float)) or time.time() - at > PENDING_SECONDS:
        request.session.pop(SESSION_PENDING, None)
        return None
    return uid


def complete_login(request: Request, user_id: str) -> Response:
    """The second factor passed (or was not needed): a fresh session holding the user id."""
    open_session(request, get_runtime(request), user_id)
    return RedirectResponse("/", status_code=303)


def password_login(request: Request, runtime: AppRuntime, email: str, password: str) -> Response:
    """POST /login after the CSRF check: the password step."""
    limiter, key = login_limiter(request), client_key(request)
    wait = limiter.retry_after(key)
    if wait is not None:
        return _too_many(request, "login.html", wait)
    try:
        step = accounts.begin_login(runtime.db, email, password)
    except AuthError:
        limiter.failed(key)
        return render(request, "login.html", status_code=401, error=True)
    if step.next is accounts.NextStep.DONE:
        return complete_login(request, step.user.id)
    request.session.clear()  # nothing of an earlier session survives; the CSRF token is renewed too
    request.session[SESSION_PENDING] = {"uid": step.user.id, "at": time.time(), "tries": 0}
    target = "/account/totp" if step.next is accounts.NextStep.ENROL else "/login/totp"
    return RedirectResponse(target, status_code=303)


@router.get("/login/totp", response_class=HTMLResponse)
def totp_form(request: Request) -> Response:
    if pending_user(request) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "login_totp.html", error=None)


@router.post("/login/totp", response_class=HTMLResponse)
def totp_submit(request: Request, runtime: RuntimeDep, code: Code = "", csrf: Csrf = "") -> Response:
    check_csrf(request, csrf)
    user_id = pending_user(request)
    if user_id is None:
        return RedirectResponse("/login", status_code=303)
    limiter, key = login_limiter(request), client_key(request)
    wait = limiter.retry_after(key)
    if wait is not None:
        return _too_many(request, "login_totp.html", wait)
    try:
        accounts.verify_code(runtime.db, user_id, code)
    except (AuthError, NotFoundError):
        limiter.failed(key)
        marker = dict(request.session[SESSION_PENDING])
        marker["tries"] = int(marker.get("tries", 0)) + 1
        if marker["tries"] >= MAX_CODE_TRIES:
            request.session.clear()
            return render(request, "login.html", status_code=401, error="tries")
        request.session[SESSION_PENDING] = marker
        return render(request, "login_totp.html", status_code=401, error="code")
    return complete_login(request, user_id)


# ---- password reset ---------------------------------------------------------------------------------


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_form(request: Request) -> Response:
    return render(request, "password_forgot.html", sent=False, error=None)


@router.post("/password/forgot", response_class=HTMLResponse)
def forgot(
    request: Request,
    runtime: RuntimeDep,
    background: BackgroundTasks,
    email: Annotated[str, Form(max_length=320)] = "",
    csrf: Csrf = "",
) -> Response:
    """The same answer whether or not the account exists; the mail is sent after the response."""
    check_csrf(request, csrf)
    limiter, key = login_limiter(request), client_key(request)
    wait = limiter.retry_after(key)
    if wait is not None:
        return _too_many(request, "password_forgot.html", wait, sent=False)
    limiter.failed(key)  # every request counts: nobody needs many reset mails (and it stops mail bombing)
    mail = password_reset.request_reset(runtime.db, email, runtime.settings.public_url)
    if mail is not None:
        background.add_task(password_reset.send_mail, runtime.settings, mail)
    return render(request, "password_forgot.html", sent=True, error=None)


def _no_referrer(response: Response) -> Response:
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response


@router.get("/password/reset/{token}", response_class=HTMLResponse)
def reset_form(token: str, request: Request, runtime: RuntimeDep) -> Response:
    try:
        password_reset.check_reset(runtime.db, token)
    except AuthError:
        return _no_referrer(render(request, "password_reset.html", status_code=404, invalid=True, error=None))
    return _no_referrer(render(request, "password_reset.html", invalid=False, error=None, token=token))


@router.post("/password/reset/{token}", response_class=HTMLResponse)
def reset(
    token: str,
    request: Request,
    runtime: RuntimeDep,
    password: Secret = "",
    confirm: Secret = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    context: dict[str, object] = {"invalid": False, "token": token}
    if password != confirm:
        return _no_referrer(
            render(request, "password_reset.html", status_code=422, error="mismatch", **context)
        )
    try:
        password_reset.complete_reset(runtime.db, token, password)
    except ValidationError:
        return _no_referrer(render(request, "password_reset.html", status_code=422, error="short", **context))
    except AuthError:
        context["invalid"] = True
        return _no_referrer(render(request, "password_reset.html", status_code=404, error=None, **context))
    request.session.clear()
    return _no_referrer(render(request, "password_reset.html", done=True, invalid=False, error=None))
