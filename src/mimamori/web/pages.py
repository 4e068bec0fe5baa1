"""Server-rendered pages: login, the SOC alert queue (all tenants) and the SME portal (one tenant)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mimamori.api.deps import SESSION_USER, OptionalUserDep, RuntimeDep, UserDep
from mimamori.domain import Severity
from mimamori.errors import AuthError, PermissionDeniedError
from mimamori.services import alerts, auth, feeds, notify, tenants
from mimamori.web.render import check_csrf, render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(user: OptionalUserDep) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/soc" if user.role.is_provider else "/portal", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return render(request, "login.html", error=None)


@router.post("/login")
def login(
    request: Request,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        user = auth.authenticate(runtime.db, email, password)
    except AuthError:
        return render(request, "login.html", status_code=401, error=True)
    request.session.clear()
    request.session[SESSION_USER] = user.id
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    check_csrf(request, csrf)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/soc", response_class=HTMLResponse)
def soc(request: Request, user: UserDep, runtime: RuntimeDep, severity: Severity | None = None) -> Response:
    if not user.role.is_provider:
        raise PermissionDeniedError("provider staff only")
    names = {t.id: t.name for t in tenants.list_tenants(runtime.db)}
    found = alerts.list_alerts(runtime.db, user, None, severity=severity, limit=200)
    problems = feeds.warnings(runtime.db)  # a failing threat-intel feed must be seen by the provider
    dead = notify.dead_letters(runtime.db, user)  # so must a message that never reached anyone
    return render(
        request,
        "soc.html",
        user=user,
        alerts=found,
        tenant_names=names,
        severity=severity,
        warnings=problems,
        dead_letters=dead,
    )


@router.get("/soc/health", response_class=HTMLResponse)
def soc_health(request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    """Every customer's sensors: last record, counters, and the silent ones first."""
    if not user.role.is_provider:
        raise PermissionDeniedError("provider staff only")
    found = tenants.sensor_health(runtime.db, runtime.settings.sensor_silence_minutes, datetime.now(UTC))
    return render(request, "health.html", user=user, sensors=found, silent=sum(h.silent for h in found))


@router.get("/portal", response_class=HTMLResponse)
def portal(request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    if user.tenant_id is None:
        return RedirectResponse("/soc", status_code=303)
    return _tenant_page(request, runtime, user, user.tenant_id)


@router.get("/tenants/{tenant_id}", response_class=HTMLResponse)
def tenant_page(tenant_id: str, request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    return _tenant_page(request, runtime, user, tenant_id)


def _tenant_page(request: Request, runtime: RuntimeDep, user: UserDep, tenant_id: str) -> Response:
    found = alerts.list_alerts(runtime.db, user, tenant_id, limit=200)  # scoping happens here
    tenant = tenants.get_tenant(runtime.db, tenant_id)
    open_alerts = [a for a in found if a.status.value != "resolved"]
    worst = max((a.severity.rank for a in open_alerts), default=0)
    status = "action" if worst >= Severity.HIGH.rank else ("caution" if worst else "safe")
    waiting = notify.awaiting(runtime.db, user, tenant_id)
    return render(
        request, "portal.html", user=user, tenant=tenant, alerts=found, status=status, awaiting=waiting
    )
