"""The SOC console's customer pages: the list with open incidents and sensor counts, one customer's
detail, and onboarding a new customer in one form (provider administrators only; analysts may view).

The onboarding result page shows each sensor's token once; it is rendered directly (never through a
redirect or the session cookie) and marked ``no-store``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.domain import DEFAULT_TIMEZONE, User
from mimamori.errors import PermissionDeniedError
from mimamori.services import onboarding, soc
from mimamori.web.render import check_csrf
from mimamori.web.soc_pages import page, staff

router = APIRouter(include_in_schema=False)
CONTACT_ROWS = 3
SENSOR_ROWS = 4
PER_PAGE = 100


def _admin(user: User) -> None:
    if user.role.value != "provider_admin":
        raise PermissionDeniedError("only a provider administrator may onboard customers")


@router.get("/soc/tenants", response_class=HTMLResponse)
def soc_tenants(request: Request, user: UserDep, runtime: RuntimeDep, q: str | None = None) -> Response:
    staff(user)
    found = soc.tenant_summaries(
        runtime.db, user, runtime.settings.sensor_silence_minutes, datetime.now(UTC), text=q
    )
    number = request.query_params.get("page", "")
    page_no = max(1, int(number)) if number.isdecimal() and len(number) < 7 else 1
    start = (page_no - 1) * PER_PAGE
    return page(
        request,
        "soc_tenants.html",
        user,
        tenants=found[start : start + PER_PAGE],
        total=len(found),
        page_no=page_no,
        has_next=start + PER_PAGE < len(found),
        q=q or "",
        may_onboard=user.role.value == "provider_admin",
        section="tenants",
    )


def _blank_form() -> dict[str, Any]:
    return {
        "name": "",
        "profile": {"industry": "", "employees": "", "sales_band": ""},
        "contacts": [{"name": "", "email": "", "phone": "", "language": "ja", "role": ""}] * CONTACT_ROWS,
        "sensors": [{"name": "", "format": "", "timezone": DEFAULT_TIMEZONE, "source_address": ""}]
        * SENSOR_ROWS,
    }


def _form_payload(form: FormData) -> dict[str, Any]:
    """The form's fields (``contact-0-email``, ``sensor-1-format`` ...) as the onboarding payload."""

    def text(name: str, limit: int = 320) -> str:
        return str(form.get(name) or "")[:limit]

    return {
        "name": text("name"),
        "profile": {k: text(k) for k in ("industry", "employees", "sales_band")},
        "contacts": [
            {k: text(f"contact-{i}-{k}") for k in ("name", "email", "phone", "language", "role")}
            for i in range(CONTACT_ROWS)
        ],
        "sensors": [
            {k: text(f"sensor-{i}-{k}") for k in ("name", "format", "timezone", "source_address")}
            for i in range(SENSOR_ROWS)
        ],
    }


def _new_form(
    request: Request, user: User, values: dict[str, Any], problems: list[str], status_code: int = 200
) -> Response:
    return page(
        request,
        "soc_tenant_new.html",
        user,
        status_code=status_code,
        values=values,
        problems=problems,
        formats=onboarding.formats(),
        sales_bands=onboarding.sales_bands(),
        section="tenants",
    )


@router.get("/soc/tenants/new", response_class=HTMLResponse)
def soc_tenant_new(request: Request, user: UserDep) -> Response:
    staff(user)
    _admin(user)
    return _new_form(request, user, _blank_form(), [])


@router.post("/soc/tenants/new", response_class=HTMLResponse)
async def soc_tenant_create(request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    staff(user)
    _admin(user)
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    values = _form_payload(form)
    try:
        result = onboarding.onboard(runtime.db, user, runtime.settings, values)
    except onboarding.OnboardingError as error:
        return _new_form(request, user, values, error.problems, status_code=422)
    response = page(request, "soc_tenant_created.html", user, result=result, section="tenants")
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/soc/tenants/{tenant_id}", response_class=HTMLResponse)
def soc_tenant(tenant_id: str, request: Request, user: UserDep, runtime: RuntimeDep) -> Response:
    staff(user)
    detail = soc.tenant_detail(
        runtime.db, user, tenant_id, runtime.settings.sensor_silence_minutes, datetime.now(UTC)
    )
    return page(request, "soc_tenant.html", user, d=detail, section="tenants")
