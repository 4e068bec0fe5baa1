"""The SOC console (provider staff): the incident queue across customers with bulk actions, one incident
with its timeline and raw evidence and the analyst's forms, the alert list and sensor health.

Customer users get 403 on every page here. Every form posts a CSRF token and is answered with a 303
back to the page, with a one-time message (``flash``) saying what happened.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.domain import Severity, User
from mimamori.errors import PermissionDeniedError, ValidationError
from mimamori.services import alerts, feeds, incidents, notify, soc, tenants, triage_suppression
from mimamori.web.render import check_csrf, local_time, render

router = APIRouter(include_in_schema=False)
FLASH = "soc_flash"
Csrf = Annotated[str, Form(max_length=100)]


def staff(user: User) -> User:
    if not user.role.is_provider:
        raise PermissionDeniedError("provider staff only")
    return user


def flash(request: Request, kind: str, message: str, *, detail: str = "", **values: Any) -> None:
    """A message for the next page: ``message`` is one of our msgids (translated there, ``values``
    filled in escaped); ``detail`` is other text, e.g. a service's error, always shown escaped."""
    request.session[FLASH] = {"kind": kind, "message": message, "values": values, "detail": detail}


def flash_error(request: Request, error: Exception) -> None:
    flash(request, "error", "The change was refused:", detail=str(error)[:500])


def take_flash(request: Request) -> dict[str, Any] | None:
    value = request.session.pop(FLASH, None)
    return value if isinstance(value, dict) else None


def when(value: str | datetime | None) -> str:
    """An ISO time (as in incident views) in Japan time, for the page."""
    if value is None or value == "":
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return local_time(moment)


def age(value: str) -> str:
    """How long ago, compactly: ``45m``, ``6h``, ``3d``."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    minutes = max(0, int((datetime.now(UTC) - moment).total_seconds() // 60))
    if minutes < 120:
        return f"{minutes}m"
    return f"{minutes // 60}h" if minutes < 48 * 60 else f"{minutes // 1440}d"


def page(request: Request, template: str, user: User, status_code: int = 200, **context: Any) -> Response:
    """Render a console page with the one-time message and the nav's current section."""
    return render(
        request,
        template,
        status_code=status_code,
        user=user,
        flash=take_flash(request),
        when=when,
        age=age,
        **context,
    )


def _warnings(runtime: RuntimeDep, user: User) -> dict[str, Any]:
    """What must be seen on the console's first pages: failing feeds, undeliverable notifications."""
    return {"warnings": feeds.warnings(runtime.db), "dead_letters": notify.dead_letters(runtime.db, user)}


def _blank(value: str | None) -> str | None:
    return (value or "").strip() or None


@router.get("/soc", response_class=HTMLResponse)
def soc_queue(
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    tenant: str | None = None,
    severity: str | None = None,
    status: str = "open",
    assignee: str | None = None,
    q: str | None = None,
    sort: str = "severity",
    per: str = "50",
) -> Response:
    """Every customer's incidents; open ones by severity then age (the oldest high first) by default."""
    staff(user)
    number = request.query_params.get("page", "")
    page_no = max(1, int(number)) if number.isdecimal() and len(number) < 7 else 1
    size = int(per) if per.isdecimal() and len(per) < 4 and int(per) in soc.PAGE_SIZES else 50
    sort = sort if sort in ("severity", "newest", "recent") else "severity"
    chosen = {"me": user.email, "none": ""}.get(assignee or "", _blank(assignee))
    try:
        found = soc.queue(
            runtime.db,
            user,
            tenant_id=_blank(tenant),
            severity=_blank(severity),
            status=None if status == "all" else _blank(status),
            assignee=chosen,
            text=_blank(q),
            sort=sort,
            limit=size,
            offset=(page_no - 1) * size,
        )
    except ValidationError as error:
        flash_error(request, error)
        return RedirectResponse("/soc", status_code=303)
    params = {
        "tenant": tenant or "",
        "severity": severity or "",
        "status": status,
        "assignee": assignee or "",
        "q": q or "",
        "sort": sort,
        "per": size,
    }
    return page(
        request,
        "soc_queue.html",
        user,
        queue=found,
        params=params,
        query=urlencode(params),
        page_no=page_no,
        tenant_names={t.id: t.name for t in tenants.list_tenants(runtime.db)},
        resolutions=incidents.RESOLUTIONS,
        section="queue",
        **_warnings(runtime, user),
    )


@router.post("/soc/bulk")
async def soc_bulk(request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    """One action on the checked incidents of the queue."""
    staff(user)
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    back = str(form.get("back") or "")
    target = "/soc" + ("?" + back if back and not any(c in back for c in "\r\n\\") else "")
    action = str(form.get("action") or "")
    try:
        items = [soc.parse_item(str(v)) for v in form.getlist("items")]
        who = str(form.get("assignee") or "").strip()
        assignee = user.email if action == "assign_me" else who
        result = soc.bulk(
            runtime.db,
            user,
            items,
            "assign" if action == "assign_me" else action,
            assignee=assignee or None,
            resolution=str(form.get("resolution") or "") or None,
        )
    except ValidationError as error:
        flash_error(request, error)
        return RedirectResponse(target, status_code=303)
    failed = "; ".join(f"{f['incident_id'][:8]}: {f['error']}" for f in result.failed[:5])
    if result.failed:
        flash(
            request,
            "error",
            "%(done)s done, %(failed)s failed",
            done=len(result.done),
            failed=len(result.failed),
            detail=failed,
        )
    else:
        flash(request, "ok", "%(done)s incidents updated", done=len(result.done))
    return RedirectResponse(target, status_code=303)


@router.get("/soc/alerts", response_class=HTMLResponse)
def soc_alerts(
    request: Request, user: UserDep, runtime: RuntimeDep, severity: Severity | None = None
) -> Response:
    """The raw alert list of every customer (before grouping into incidents)."""
    staff(user)
    names = {t.id: t.name for t in tenants.list_tenants(runtime.db)}
    found = alerts.list_alerts(runtime.db, user, None, severity=severity, limit=200)
    return page(
        request,
        "soc.html",
        user,
        alerts=found,
        tenant_names=names,
        severity=severity,
        section="alerts",
        **_warnings(runtime, user),
    )


@router.get("/soc/health", response_class=HTMLResponse)
def soc_health(request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    """Every customer's sensors: last record, counters, and the silent ones first."""
    if not user.role.is_provider:
        raise PermissionDeniedError("provider staff only")
    found = tenants.sensor_health(runtime.db, runtime.settings.sensor_silence_minutes, datetime.now(UTC))
    silent = sum(h.silent for h in found)
    return page(request, "health.html", user, sensors=found, silent=silent, section="health")


def _incident_url(tenant_id: str, incident_id: str) -> str:
    return f"/soc/incidents/{tenant_id}/{incident_id}"


@router.get("/soc/incidents/{tenant_id}/{incident_id}", response_class=HTMLResponse)
def soc_incident(
    tenant_id: str, incident_id: str, request: Request, user: UserDep, runtime: RuntimeDep
) -> Response:
    staff(user)
    detail = soc.incident_detail(runtime.db, user, tenant_id, incident_id)
    status = detail["incident"]["status"]
    return page(
        request,
        "soc_incident.html",
        user,
        d=detail,
        i=detail["incident"],
        next_states=sorted(incidents.TRANSITIONS[status]),
        resolutions=incidents.RESOLUTIONS,
        kinds=triage_suppression.KINDS,
        url=_incident_url(tenant_id, incident_id),
        section="queue",
    )


def _act(request: Request, tenant_id: str, incident_id: str, done: str, change: Any) -> Response:
    """Run one change; a refused one (wrong state, bad input) comes back as a message, not an error page."""
    try:
        change()
    except ValidationError as error:
        flash_error(request, error)
    else:
        flash(request, "ok", done)
    return RedirectResponse(_incident_url(tenant_id, incident_id), status_code=303)


@router.post("/soc/incidents/{tenant_id}/{incident_id}/status")
def soc_status(
    tenant_id: str,
    incident_id: str,
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    status: Annotated[str, Form(max_length=32)],
    csrf: Csrf = "",
    resolution: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Acknowledge, investigate, resolve (with a resolution) or reopen."""
    check_csrf(request, csrf)
    staff(user)
    return _act(
        request,
        tenant_id,
        incident_id,
        {"acknowledged": "Acknowledged.", "resolved": "Resolved."}.get(status, "Status changed."),
        lambda: incidents.set_status(
            runtime.db, user, tenant_id, incident_id, status, resolution=resolution or None
        ),
    )


@router.post("/soc/incidents/{tenant_id}/{incident_id}/assign")
def soc_assign(
    tenant_id: str,
    incident_id: str,
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    csrf: Csrf = "",
    assignee: Annotated[str, Form(max_length=320)] = "",
    me: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    check_csrf(request, csrf)
    staff(user)
    who = user.email if me else assignee.strip()
    return _act(
        request,
        tenant_id,
        incident_id,
        "Assigned." if who else "Unassigned.",
        lambda: incidents.assign(runtime.db, user, tenant_id, incident_id, who or None),
    )


@router.post("/soc/incidents/{tenant_id}/{incident_id}/note")
def soc_note(
    tenant_id: str,
    incident_id: str,
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    text: Annotated[str, Form(max_length=incidents.MAX_NOTE + 100)] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    staff(user)
    return _act(
        request,
        tenant_id,
        incident_id,
        "Note added.",
        lambda: incidents.add_note(runtime.db, user, tenant_id, incident_id, text),
    )


@router.post("/soc/incidents/{tenant_id}/{incident_id}/suppress")
def soc_suppress(
    tenant_id: str,
    incident_id: str,
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    kind: Annotated[str, Form(max_length=16)],
    csrf: Csrf = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    host: Annotated[str, Form(max_length=320)] = "",
    value: Annotated[str, Form(max_length=1000)] = "",
    days: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    """A suppression rule for this incident's host or alert key, with a reason and an optional expiry."""
    check_csrf(request, csrf)
    staff(user)
    incidents.get_incident(runtime.db, user, tenant_id, incident_id)  # 404 for a wrong pair
    try:
        expires = None
        if days.strip():
            if not days.strip().isdecimal() or not 1 <= int(days) <= 365:
                raise ValidationError("expiry: 1 to 365 days, or empty for none")
            expires = datetime.now(UTC) + timedelta(days=int(days))
        rule = triage_suppression.add_rule(
            runtime.db,
            user,
            tenant_id,
            kind,
            reason=reason,
            host=host.strip() or None,
            value=value.strip() or None,
            expires_at=expires,
        )
    except ValidationError as error:
        flash_error(request, error)
    else:
        flash(
            request,
            "ok",
            "Suppression rule created; it would have suppressed %(count)s past alerts.",
            count=rule.get("preview", 0),
        )
    return RedirectResponse(_incident_url(tenant_id, incident_id), status_code=303)
