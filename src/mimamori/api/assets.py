"""``/api/v1`` device inventory and network map. Thin: parse, call the service, render JSON; tenant
scoping and permissions are the service's (another tenant's devices are a 404)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mimamori.api import schemas
from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.services import inventory

router = APIRouter(prefix="/api/v1")


@router.get(
    "/tenants/{tenant_id}/assets",
    summary="List the tenant's devices",
    tags=["assets"],
    response_model=list[schemas.Asset],
    responses=schemas.SIGNED_IN,
)
def list_assets(tenant_id: str, user: UserDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    """The tenant's devices (端末一覧)."""
    return [inventory.asset_to_dict(a) for a in inventory.list_assets(runtime.db, user, tenant_id)]


@router.post(
    "/tenants/{tenant_id}/assets/{asset_id}/approve",
    summary="Approve a device as the customer's own",
    tags=["assets"],
    response_model=schemas.Asset,
    responses=schemas.SIGNED_IN,
)
def approve_asset(tenant_id: str, asset_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Approve a device as the customer's own (端末の承認)."""
    return inventory.asset_to_dict(inventory.approve(runtime.db, user, tenant_id, asset_id))


@router.get(
    "/tenants/{tenant_id}/network-map",
    summary="The tenant's network map",
    tags=["assets"],
    response_model=schemas.NetworkMap,
    responses=schemas.SIGNED_IN,
)
def network_map(tenant_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Devices by subnet, the gateway and the external services they use, for the portal to draw."""
    return inventory.network_map(runtime.db, user, tenant_id)
