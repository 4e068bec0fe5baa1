"""The portal's device page: the inventory with the devices that need a look flagged in plain words,
the "this is ours" approval (customer admins only) and the network map drawn as SVG on the server."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.domain import Role
from mimamori.services import inventory
from mimamori.web.netmap import layout
from mimamori.web.portal_pages import _customer
from mimamori.web.render import check_csrf, render

router = APIRouter(include_in_schema=False)


def _devices(net: dict[str, Any]) -> list[dict[str, Any]]:
    """Every device of the map, the ones needing attention first."""
    found = [d for subnet in net.get("subnets", []) for d in subnet.get("devices", [])]
    return sorted(found, key=lambda d: (not d["flags"], "eol_os" not in d["flags"], d["ip"] or "", d["id"]))


@router.get("/portal/devices", response_class=HTMLResponse)
def devices(request: Request, user: UserDep, runtime: RuntimeDep, approved: str | None = None) -> Response:
    tenant_id = _customer(user)
    net = inventory.network_map(runtime.db, user, tenant_id)
    return render(
        request,
        "portal_devices.html",
        user=user,
        devices=_devices(net),
        summary=net["summary"],
        drawing=layout(net),
        may_approve=user.role == Role.CUSTOMER_ADMIN,
        approved=approved,
    )


@router.post("/portal/devices/{asset_id}/approve")
def approve(
    asset_id: str,
    request: Request,
    user: UserDep,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    tenant_id = _customer(user)
    inventory.approve(runtime.db, user, tenant_id, asset_id)  # viewers: 403; another tenant's: 404
    return RedirectResponse("/portal/devices?approved=1", status_code=303)
