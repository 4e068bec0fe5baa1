"""Pages of notifications: the one-click acknowledgement behind a link in a message, and the portal's
"I have seen it" button. The link opens a page with one button (a POST): mail scanners open links, and
an acknowledgement by a GET would stop the escalation before any person has seen the message."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.errors import AuthError, NotFoundError
from mimamori.services import notify
from mimamori.web.render import check_csrf, render

router = APIRouter(include_in_schema=False)


def _invalid(request: Request, error: Exception) -> Response:
    expired = "expired" in str(error)
    return render(request, "ack.html", status_code=404, invalid=True, expired=expired, page=None, done=False)


@router.get("/ack/{token}", response_class=HTMLResponse)
def ack_page(token: str, request: Request, runtime: RuntimeDep) -> Response:
    try:
        _claim, page = notify.read_link(runtime.db, runtime.settings, token)
    except (AuthError, NotFoundError) as error:
        return _invalid(request, error)
    return render(request, "ack.html", page=page, token=token, done=False, invalid=False)


@router.post("/ack/{token}", response_class=HTMLResponse)
def ack(
    token: str, request: Request, runtime: RuntimeDep, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    check_csrf(request, csrf)
    try:
        notify.acknowledge_link(runtime.db, runtime.settings, token)
        _claim, page = notify.read_link(runtime.db, runtime.settings, token)
    except (AuthError, NotFoundError) as error:
        return _invalid(request, error)
    return render(request, "ack.html", page=page, token=token, done=True, invalid=False)


@router.post("/portal/incidents/{tenant_id}/{incident_id}/ack")
def portal_ack(
    tenant_id: str,
    incident_id: str,
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    notify.acknowledge(runtime.db, user, tenant_id, incident_id)
    target = "/portal" if user.tenant_id else f"/tenants/{tenant_id}"
    return RedirectResponse(target, status_code=303)
