"""The SOC's ticket queue: every tenant's open 相談 / 駆け付け requests, the longest waiting first,
with a button to take one (in progress) or close it (done). Provider staff only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.errors import PermissionDeniedError
from mimamori.services import tenants, tickets
from mimamori.web.render import check_csrf, render

router = APIRouter(include_in_schema=False)


@router.get("/soc/tickets", response_class=HTMLResponse)
def ticket_queue(request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    if not user.role.is_provider:
        raise PermissionDeniedError("provider staff only")
    found = tickets.list_all(runtime.db, user)
    names = {t.id: t.name for t in tenants.list_tenants(runtime.db)}
    now = datetime.now(UTC)
    return render(
        request,
        "soc_tickets.html",
        user=user,
        tickets=found,
        tenant_names=names,
        ages={t.id: tickets.age_minutes(t, now) for t in found},
        number=tickets.ticket_number,
    )


@router.post("/soc/tickets/{tenant_id}/{ticket_id}/status")
def change_status(
    tenant_id: str,
    ticket_id: str,
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    status: Annotated[str, Form(max_length=16)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    tickets.set_status(runtime.db, user, tenant_id, ticket_id, status)  # customers: 403
    return RedirectResponse("/soc/tickets", status_code=303)
