"""The portal's settings page: the people we contact (add, edit, remove), the notification rules shown
simply, and the user's own language. Customer admins change the tenant's settings; viewers read them
(and may still choose their own language)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.domain import Role, User
from mimamori.errors import ValidationError
from mimamori.services import contacts, notify, portal
from mimamori.web.portal_pages import _customer
from mimamori.web.render import LANG_COOKIE, check_csrf, render

router = APIRouter(include_in_schema=False)

FORM_CHANNELS = ("email", "phone")  # the channels this form edits; others (slack, ...) are kept
MODES = ("immediate", "digest", "portal")


def _page(
    request: Request, user: User, runtime: RuntimeDep, *, error: str | None = None, status_code: int = 200
) -> Response:
    tenant_id = _customer(user)
    people = contacts.list_contacts(runtime.db, user, tenant_id)
    policy = notify.get_policy(runtime.db, user, runtime.settings, tenant_id)
    return render(
        request,
        "portal_settings.html",
        status_code=status_code,
        user=user,
        contacts=people,
        policy=policy,
        modes=MODES,
        may_edit=user.role == Role.CUSTOMER_ADMIN,
        error=error,
        saved=request.query_params.get("saved"),
    )


@router.get("/portal/settings", response_class=HTMLResponse)
def settings_page(request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    return _page(request, user, runtime)


def _person(
    name: str, role: str, language: str, email: str, phone: str, channels: list[str], hours: str
) -> dict[str, Any]:
    return {
        "name": name,
        "role": role,
        "language": language,
        "email": email.strip() or None,
        "phone": phone.strip() or None,
        "channels": [c for c in channels if c in FORM_CHANNELS] or ["email"],
        "hours": hours.strip() or None,
    }


Text = Annotated[str, Form(max_length=320)]


@router.post("/portal/settings/contacts")
def add_contact(
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    name: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    role: Text = "",
    language: Annotated[str, Form(max_length=8)] = "ja",
    email: Text = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    channels: Annotated[list[str] | None, Form()] = None,
    hours: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    check_csrf(request, csrf)
    tenant_id = _customer(user)
    values = _person(name, role, language, email, phone, channels or [], hours)
    try:
        contacts.add_contact(runtime.db, user, tenant_id, values)
    except ValidationError as error:
        return _page(request, user, runtime, error=str(error), status_code=422)
    return RedirectResponse("/portal/settings?saved=contact", status_code=303)


@router.post("/portal/settings/contacts/{contact_id}")
def edit_contact(
    contact_id: str,
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    name: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    role: Text = "",
    language: Annotated[str, Form(max_length=8)] = "ja",
    email: Text = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    channels: Annotated[list[str] | None, Form()] = None,
    hours: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    check_csrf(request, csrf)
    tenant_id = _customer(user)
    values = _person(name, role, language, email, phone, channels or [], hours)
    current = next(
        (c for c in contacts.list_contacts(runtime.db, user, tenant_id) if c.id == contact_id), None
    )
    if current is not None:  # keep the channels this form does not show (slack, teams, webhook)
        values["channels"] += [c for c in current.channels if c not in FORM_CHANNELS]
    try:
        contacts.update_contact(runtime.db, user, tenant_id, contact_id, values)
    except ValidationError as error:
        return _page(request, user, runtime, error=str(error), status_code=422)
    return RedirectResponse("/portal/settings?saved=contact", status_code=303)


@router.post("/portal/settings/contacts/{contact_id}/remove")
def remove_contact(
    contact_id: str,
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    contacts.remove_contact(runtime.db, user, _customer(user), contact_id)
    return RedirectResponse("/portal/settings?saved=contact", status_code=303)


@router.post("/portal/settings/notify")
def change_policy(
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    medium: Annotated[str, Form(max_length=16)] = "digest",
    low: Annotated[str, Form(max_length=16)] = "portal",
    quiet_hours: Annotated[str, Form(max_length=64)] = "",
    digest_time: Annotated[str, Form(max_length=8)] = "08:30",
) -> Response:
    """高 is always sent at once (the service's promise); 中 and 低, quiet hours and the digest time
    are the customer's choice."""
    check_csrf(request, csrf)
    changes = {
        "medium": medium,
        "low": low,
        "quiet_hours": quiet_hours.strip() or None,
        "digest_time": digest_time,
    }
    try:
        notify.set_policy(runtime.db, user, runtime.settings, _customer(user), changes)
    except ValidationError as error:
        return _page(request, user, runtime, error=str(error), status_code=422)
    return RedirectResponse("/portal/settings?saved=notify", status_code=303)


@router.post("/portal/settings/language")
def change_language(
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    language: Annotated[str, Form(max_length=8)] = "ja",
) -> Response:
    """The user's own language: stored on the account and remembered by this browser too."""
    check_csrf(request, csrf)
    portal.set_language(runtime.db, user, language)
    response = RedirectResponse("/portal/settings?saved=language", status_code=303)
    response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, samesite="lax")
    return response
