"""``/api/v1`` customers and the SOC queue's bulk action: what the SOC console's pages do, for scripts.

Thin: parse, call a service, render JSON. Onboarding is for provider administrators; the overview and
sensor health are for provider staff; a customer user reads only their own tenant (another is a 404).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from mimamori.api import schemas
from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.services import onboarding, soc

router = APIRouter(prefix="/api/v1")


class IncidentRef(BaseModel):
    tenant_id: str = Field(max_length=64)
    incident_id: str = Field(max_length=64)


class BulkAction(BaseModel):
    items: list[IncidentRef] = Field(min_length=1, max_length=soc.MAX_BULK)
    action: str = Field(description="acknowledge | assign | resolve")
    assignee: str | None = Field(None, max_length=320, description="for assign; empty or null unassigns")
    resolution: str | None = Field(None, description="for resolve: true_positive | false_positive | benign")


class ProfileIn(BaseModel):
    industry: str | None = Field(None, max_length=200)
    employees: int | None = None
    sales_band: str | None = Field(None, description="a band of the damage model, e.g. 100m-500m")


class ContactIn(BaseModel):
    name: str = Field(max_length=200)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=32)
    language: str = Field("ja", max_length=8)
    role: str | None = Field(None, max_length=64)


class SensorIn(BaseModel):
    name: str = Field(max_length=200)
    format: str = Field(max_length=40, description="a key of mimamori.parsers.PARSERS")
    timezone: str = Field("Asia/Tokyo", max_length=64)
    source_address: str | None = Field(None, max_length=64)


class Onboarding(BaseModel):
    name: str = Field(max_length=200)
    profile: ProfileIn = Field(default_factory=ProfileIn)
    contacts: list[ContactIn] = Field(min_length=1, max_length=onboarding.MAX_CONTACTS)
    sensors: list[SensorIn] = Field(min_length=1, max_length=onboarding.MAX_SENSORS)


@router.post(
    "/incidents/bulk",
    summary="Acknowledge, assign or resolve many incidents",
    tags=["incidents"],
    responses=schemas.SIGNED_IN,
)
def bulk_incidents(body: BulkAction, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    """One action on many incidents of any customers; each one succeeds or fails on its own."""
    items = [(i.tenant_id, i.incident_id) for i in body.items]
    result = soc.bulk(
        runtime.db, user, items, body.action, assignee=body.assignee, resolution=body.resolution
    )
    return result.to_dict()


@router.get("/tenants", summary="List customers with counts", tags=["tenants"], responses=schemas.SIGNED_IN)
def list_tenants(
    user: UserDep,
    runtime: RuntimeDep,
    q: Annotated[str | None, Query(max_length=200, description="text in the name")] = None,
) -> list[dict[str, Any]]:
    """Every customer with its open incidents, sensors and silent sensors (provider staff)."""
    found = soc.tenant_summaries(
        runtime.db, user, runtime.settings.sensor_silence_minutes, datetime.now(UTC), text=q
    )
    return [soc.summary_to_dict(s) for s in found]


@router.post(
    "/tenants",
    status_code=201,
    summary="Onboard a customer (profile, contacts, sensors)",
    tags=["tenants"],
    responses=schemas.SIGNED_IN,
)
def onboard(body: Onboarding, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Create a customer with profile, contacts and sensors in one go; sensor tokens are shown once."""
    payload = body.model_dump()
    result = onboarding.onboard(runtime.db, user, runtime.settings, payload)
    return onboarding.onboarded_to_dict(result)


@router.get("/tenants/{tenant_id}", summary="Get one customer", tags=["tenants"], responses=schemas.SIGNED_IN)
def get_tenant(tenant_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    """One customer: profile, contacts, sensors with health, open incidents (ids and titles)."""
    detail = soc.tenant_detail(
        runtime.db, user, tenant_id, runtime.settings.sensor_silence_minutes, datetime.now(UTC)
    )
    return {
        "id": detail.tenant.id,
        "name": detail.tenant.name,
        "created_at": detail.tenant.created_at.isoformat(),
        "profile": detail.profile,
        "contacts": [
            {"id": c.id, "name": c.name, "email": c.email, "phone": c.phone, "language": c.language}
            for c in detail.contacts
        ],
        "sensors": [soc.health_to_dict(h) for h in detail.sensors],
        "open_incidents": [
            {"id": i["id"], "title": i["title"], "severity": i["severity"], "status": i["status"]}
            for i in detail.open_incidents
        ],
    }


@router.get(
    "/tenants/{tenant_id}/sensors",
    summary="List a customer's sensors with health",
    tags=["tenants"],
    responses=schemas.SIGNED_IN,
)
def tenant_sensors(tenant_id: str, user: UserDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    """The customer's sensors with last-seen and the silence verdict (never their tokens)."""
    found = soc.tenant_sensors(
        runtime.db, user, tenant_id, runtime.settings.sensor_silence_minutes, datetime.now(UTC)
    )
    return [soc.health_to_dict(h) for h in found]


@router.get(
    "/sensors/health",
    summary="Every sensor, silent ones first",
    tags=["tenants"],
    responses=schemas.SIGNED_IN,
)
def sensors_health(user: UserDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    """Every customer's sensors, silent ones first (provider staff)."""
    return [
        soc.health_to_dict(h)
        for h in soc.all_sensor_health(
            runtime.db, user, runtime.settings.sensor_silence_minutes, datetime.now(UTC)
        )
    ]


class SensorToken(BaseModel):
    sensor_id: str
    token: str = Field(description="Shown once; only its hash is stored.")


@router.post(
    "/tenants/{tenant_id}/sensors/{sensor_id}/token",
    status_code=201,
    summary="Give a sensor a new token (the old one stops working)",
    tags=["tenants"],
    response_model=SensorToken,
    responses=schemas.SIGNED_IN,
)
def rotate_sensor_token(tenant_id: str, sensor_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, str]:
    token = soc.rotate_sensor_token(runtime.db, user, tenant_id, sensor_id)
    runtime.forget_tokens()
    return {"sensor_id": sensor_id, "token": token}


@router.delete(
    "/tenants/{tenant_id}/sensors/{sensor_id}/token",
    status_code=204,
    summary="Revoke a sensor's token",
    tags=["tenants"],
    responses=schemas.SIGNED_IN,
)
def revoke_sensor_token(tenant_id: str, sensor_id: str, user: UserDep, runtime: RuntimeDep) -> None:
    soc.revoke_sensor_token(runtime.db, user, tenant_id, sensor_id)
    runtime.forget_tokens()
