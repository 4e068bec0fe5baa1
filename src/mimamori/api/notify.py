"""``/api/v1`` contacts, notification rules, notifications and acknowledgement. Thin: parse, call a
service, render JSON; tenant scoping and permissions are the services' (another tenant's is a 404)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.services import contacts, notify

router = APIRouter(prefix="/api/v1")


class ContactIn(BaseModel):
    name: str | None = Field(None, max_length=200)
    role: str | None = Field(None, max_length=64)
    language: str | None = Field(None, max_length=8)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=32)
    channels: list[str] | None = Field(None, max_length=5)
    endpoints: dict[str, str] | None = None
    hours: str | None = Field(None, max_length=64)
    priority: int | None = None
    active: bool | None = None


class ShiftIn(BaseModel):
    name: str = Field(max_length=200)
    starts_at: datetime
    ends_at: datetime
    level: int = 1
    language: str = "ja"
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=32)
    channels: list[str] = Field(default_factory=lambda: ["email"], max_length=5)
    endpoints: dict[str, str] = Field(default_factory=dict)


class PolicyIn(BaseModel):
    medium: str | None = None
    low: str | None = None
    high: str | None = None
    escalation_minutes: int | None = None
    quiet_hours: str | None = Field(None, max_length=64)
    digest_time: str | None = Field(None, max_length=5)
    timezone: str | None = Field(None, max_length=64)


class Retry(BaseModel):
    ids: list[str] | None = Field(None, max_length=1000)


def _given(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True)


@router.get("/tenants/{tenant_id}/contacts")
def list_contacts(tenant_id: str, user: UserDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    return [contacts.contact_to_dict(c) for c in contacts.list_contacts(runtime.db, user, tenant_id)]


@router.post("/tenants/{tenant_id}/contacts", status_code=201)
def add_contact(tenant_id: str, body: ContactIn, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return contacts.contact_to_dict(contacts.add_contact(runtime.db, user, tenant_id, _given(body)))


@router.patch("/tenants/{tenant_id}/contacts/{contact_id}")
def update_contact(
    tenant_id: str, contact_id: str, body: ContactIn, user: UserDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return contacts.contact_to_dict(
        contacts.update_contact(runtime.db, user, tenant_id, contact_id, _given(body))
    )


@router.delete("/tenants/{tenant_id}/contacts/{contact_id}", status_code=204)
def remove_contact(tenant_id: str, contact_id: str, user: UserDep, runtime: RuntimeDep) -> None:
    contacts.remove_contact(runtime.db, user, tenant_id, contact_id)


@router.get("/tenants/{tenant_id}/notify-policy")
def get_policy(tenant_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return notify.get_policy(runtime.db, user, runtime.settings, tenant_id).to_document()


@router.patch("/tenants/{tenant_id}/notify-policy")
def set_policy(tenant_id: str, body: PolicyIn, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return notify.set_policy(runtime.db, user, runtime.settings, tenant_id, _given(body)).to_document()


@router.post("/tenants/{tenant_id}/incidents/{incident_id}/acknowledge")
def acknowledge(tenant_id: str, incident_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Stop the incident's notification escalation ("I have seen it")."""
    stopped = notify.acknowledge(runtime.db, user, tenant_id, incident_id)
    return {"incident_id": incident_id, "acknowledged": True, "escalation_stopped": stopped}


@router.get("/notifications")
def list_notifications(
    user: UserDep,
    runtime: RuntimeDep,
    tenant_id: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """A customer's own notifications; provider staff see all tenants' (or one with ``tenant_id``)."""
    rows = notify.list_notifications(runtime.db, user, tenant_id, status=status, limit=limit)
    return [notify.notification_to_dict(r) for r in rows]


@router.get("/notifications/status")
def queue_status(user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return notify.status(runtime.db, user)


@router.get("/notifications/{notification_id}")
def get_notification(notification_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return notify.get_notification(runtime.db, user, notification_id)


@router.post("/notifications/retry")
def retry(body: Retry, user: UserDep, runtime: RuntimeDep) -> dict[str, int]:
    return {"queued": notify.retry(runtime.db, user, body.ids)}


@router.get("/oncall")
def list_shifts(user: UserDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    return [contacts.shift_to_dict(s) for s in contacts.list_shifts(runtime.db, user)]


@router.post("/oncall", status_code=201)
def add_shift(body: ShiftIn, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return contacts.shift_to_dict(contacts.add_shift(runtime.db, user, body.model_dump()))


@router.delete("/oncall/{shift_id}", status_code=204)
def remove_shift(shift_id: str, user: UserDep, runtime: RuntimeDep) -> None:
    contacts.remove_shift(runtime.db, user, shift_id)
