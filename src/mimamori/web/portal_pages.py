"""The SME portal (one tenant, a clerk on a phone): the home page with one status word, the incidents
with their guidance and damage estimate, and the two help buttons that open a ticket (相談する,
駆け付けを依頼). Devices and settings are in ``portal_devices`` / ``portal_settings``.

Thin: every read and write goes through a service that scopes to the user's tenant; another tenant's
incident or ticket is a 404 like a missing one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.domain import User
from mimamori.errors import NotFoundError, ValidationError
from mimamori.services import incidents, notify, portal, tenants, tickets
from mimamori.web.i18n import LANGUAGES
from mimamori.web.render import LANG_COOKIE, check_csrf, language, render

router = APIRouter(include_in_schema=False)


def yen_formatter(lang: str) -> Callable[[int], str]:
    """Amounts as a clerk reads them: 万円 in Japanese, ¥ with separators in English."""

    def yen(amount: int) -> str:
        if lang == "ja":
            if amount >= 10_000:
                return f"{amount / 10_000:,.0f}万円"
            return f"{amount:,}円"
        return f"¥{amount:,}"

    return yen


def own_tenant(user: User) -> str | None:
    """The customer's tenant; None for provider staff (who use the SOC console instead)."""
    return user.tenant_id


def _home(request: Request, runtime: RuntimeDep, user: User, tenant_id: str) -> Response:
    summary = portal.overview(runtime.db, user, tenant_id)  # scoping happens here
    tenant = tenants.get_tenant(runtime.db, tenant_id)
    waiting = notify.awaiting(runtime.db, user, tenant_id)
    return render(
        request,
        "portal.html",
        user=user,
        tenant=tenant,
        summary=summary,
        status=summary["status"],
        awaiting=waiting,
        yen=yen_formatter(language(request)),
        staff_view=user.role.is_provider,
    )


@router.get("/portal", response_class=HTMLResponse)
def home(request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    tenant_id = own_tenant(user)
    if tenant_id is None:
        return RedirectResponse("/soc", status_code=303)
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen is None and user.language in LANGUAGES and user.language != language(request):
        # A browser without a choice yet follows the user's stored language (the link sets the cookie).
        return RedirectResponse(f"/portal?lang={user.language}", status_code=303)
    return _home(request, runtime, user, tenant_id)


@router.get("/tenants/{tenant_id}", response_class=HTMLResponse)
def tenant_home(tenant_id: str, request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    """The portal home of one tenant as provider staff see it (a customer: their own only, else 404)."""
    return _home(request, runtime, user, tenant_id)


def _customer(user: User) -> str:
    tenant_id = own_tenant(user)
    if tenant_id is None:
        raise NotFoundError("the portal pages belong to a customer account")
    return tenant_id


@router.get("/portal/incidents", response_class=HTMLResponse)
def incident_list(request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    tenant_id = own_tenant(user)
    if tenant_id is None:
        return RedirectResponse("/soc", status_code=303)
    everything = incidents.list_incidents(runtime.db, user, tenant_id, limit=200)
    open_ones = portal.open_incidents(runtime.db, user, tenant_id)
    closed = [i for i in everything if i["status"] == "resolved"][:50]
    return render(
        request,
        "portal_incidents.html",
        user=user,
        tenant=tenants.get_tenant(runtime.db, tenant_id),
        open_incidents=open_ones,
        closed_incidents=closed,
    )


@router.get("/portal/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(incident_id: str, request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    tenant_id = _customer(user)
    view = incidents.get_incident(runtime.db, user, tenant_id, incident_id)
    return render(
        request,
        "portal_incident.html",
        user=user,
        tenant=tenants.get_tenant(runtime.db, tenant_id),
        incident=view,
        actions=portal.provider_actions(view),
        yen=yen_formatter(language(request)),
    )


@router.get("/portal/ask", response_class=HTMLResponse)
def ticket_form(
    request: Request, user: UserDep, runtime: RuntimeDep, kind: str = "consult", incident: str | None = None
) -> Response:
    """The small form behind 相談する / 駆け付けを依頼 (optionally about one incident)."""
    tenant_id = _customer(user)
    if kind not in tickets.KINDS:
        raise NotFoundError("no such request form")
    about = incidents.get_incident(runtime.db, user, tenant_id, incident) if incident else None
    return render(
        request,
        "portal_ticket_form.html",
        user=user,
        kind=kind,
        incident=about,
        phone=portal.phone_of(runtime.db, user, tenant_id),
        error=None,
        values={},
    )


@router.post("/portal/tickets")
def create_ticket(
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    kind: Annotated[str, Form(max_length=16)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    message: Annotated[str, Form(max_length=tickets.MAX_MESSAGE)] = "",
    phone: Annotated[str, Form(max_length=64)] = "",
    preferred_time: Annotated[str, Form(max_length=tickets.MAX_PREFERRED)] = "",
    incident_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    check_csrf(request, csrf)
    tenant_id = _customer(user)
    try:
        ticket = tickets.create_ticket(
            runtime.db,
            user,
            tenant_id,
            kind,
            message=message,
            phone=phone,
            preferred_time=preferred_time if kind == "onsite" else None,
            incident_id=incident_id or None,
        )
    except ValidationError:
        about = incidents.get_incident(runtime.db, user, tenant_id, incident_id) if incident_id else None
        values = {"message": message, "preferred_time": preferred_time}
        return render(
            request,
            "portal_ticket_form.html",
            status_code=422,
            user=user,
            kind=kind if kind in tickets.KINDS else "consult",
            incident=about,
            phone=phone,
            error=True,
            values=values,
        )
    return RedirectResponse(f"/portal/tickets/{ticket.id}", status_code=303)


@router.get("/portal/tickets", response_class=HTMLResponse)
def ticket_list(request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    tenant_id = _customer(user)
    found = tickets.list_tickets(runtime.db, user, tenant_id)
    return render(request, "portal_tickets.html", user=user, tickets=found, number=tickets.ticket_number)


@router.get("/portal/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket_done(ticket_id: str, request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    """The confirmation: the ticket number to quote, and what happens next."""
    tenant_id = _customer(user)
    ticket = tickets.get_ticket(runtime.db, user, tenant_id, ticket_id)
    return render(
        request, "portal_ticket_done.html", user=user, ticket=ticket, number=tickets.ticket_number(ticket.id)
    )
