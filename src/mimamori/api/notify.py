"""``/api/v1`` contacts, notification rules, notifications and acknowledgement. Thin: parse, call a
service, render JSON; tenant scoping and permissions are the services' (another tenant's is a 404)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from mimamori.api import schemas
from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.services import contacts, notify

router = APIRouter(prefix="/api/v1")

# the services' value sets (contacts.LANGUAGES, domain CHANNEL_NAMES, notify.policy.Mode), spelled out for
# the OpenAPI document; tests/unit/api/test_openapi.py keeps them equal
Language = Literal["ja", "en"]
Channel = Literal["email", "webhook", "slack", "teams", "phone"]
EndpointKind = Literal["slack", "teams", "webhook"]
Mode = Literal["immediate", "digest", "portal"]


class ContactIn(BaseModel):
    name: str | None = Field(None, max_length=200)
    role: str | None = Field(None, max_length=64)
    language: Language | None = None
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=32)
    channels: list[Channel] | None = Field(None, max_length=5)
    endpoints: dict[EndpointKind, Annotated[str, Field(max_length=2048)]] | None = None
    hours: str | None = Field(None, max_length=64)
    priority: int | None = Field(None, ge=1, le=9, description="1 is told first")
    active: bool | None = None


def _email_only() -> list[Channel]:
    return ["email"]


class ShiftIn(BaseModel):
    name: str = Field(max_length=200)
    starts_at: datetime
    ends_at: datetime
    level: int = Field(1, ge=1, le=2, description="1 primary, 2 backup")
    language: Language = "ja"
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=32)
    channels: list[Channel] = Field(default_factory=_email_only, max_length=5)
    endpoints: dict[EndpointKind, Annotated[str, Field(max_length=2048)]] = Field(default_factory=dict)


class PolicyIn(BaseModel):
    medium: Mode | None = None
    low: Mode | None = None
    high: Mode | None = None
    escalation_minutes: int | None = Field(None, ge=0, le=100_000)
    quiet_hours: str | None = Field(None, max_length=64)
    digest_time: str | None = Field(None, max_length=5)
    timezone: str | None = Field(None, max_length=64)


class Retry(BaseModel):
    ids: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=1000)


def _given(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True)


@router.get(
    "/tenants/{tenant_id}/contacts",
    summary="List the tenant's contacts",
    tags=["contacts"],
    response_model=list[schemas.Contact],
    responses=schemas.SIGNED_IN,
)
def list_contacts(tenant_id: str, user: UserDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    return [contacts.contact_to_dict(c) for c in contacts.list_contacts(runtime.db, user, tenant_id)]


@router.post(
    "/tenants/{tenant_id}/contacts",
    status_code=201,
    summary="Add a contact (customer admin or provider staff)",
    tags=["contacts"],
    response_model=schemas.Contact,
    responses=schemas.SIGNED_IN,
)
def add_contact(tenant_id: str, body: ContactIn, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return contacts.contact_to_dict(contacts.add_contact(runtime.db, user, tenant_id, _given(body)))


@router.patch(
    "/tenants/{tenant_id}/contacts/{contact_id}",
    summary="Change some fields of a contact",
    tags=["contacts"],
    response_model=schemas.Contact,
    responses=schemas.SIGNED_IN,
)
def update_contact(
    tenant_id: str, contact_id: str, body: ContactIn, user: UserDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return contacts.contact_to_dict(
        contacts.update_contact(runtime.db, user, tenant_id, contact_id, _given(body))
    )


@router.delete(
    "/tenants/{tenant_id}/contacts/{contact_id}",
    status_code=204,
    summary="Remove a contact",
    tags=["contacts"],
    responses=schemas.SIGNED_IN,
)
def remove_contact(tenant_id: str, contact_id: str, user: UserDep, runtime: RuntimeDep) -> None:
    contacts.remove_contact(runtime.db, user, tenant_id, contact_id)


@router.get(
    "/tenants/{tenant_id}/notify-policy",
    summary="Get the tenant's notification rules",
    tags=["notifications"],
    response_model=schemas.NotifyPolicy,
    responses=schemas.SIGNED_IN,
)
def get_policy(tenant_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return notify.get_policy(runtime.db, user, runtime.settings, tenant_id).to_document()


@router.patch(
    "/tenants/{tenant_id}/notify-policy",
    summary="Change some of the tenant's notification rules",
    tags=["notifications"],
    response_model=schemas.NotifyPolicy,
    responses=schemas.SIGNED_IN,
)
def set_policy(tenant_id: str, body: PolicyIn, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return notify.set_policy(runtime.db, user, runtime.settings, tenant_id, _given(body)).to_document()


@router.post(
    "/tenants/{tenant_id}/incidents/{incident_id}/acknowledge",
    summary="Acknowledge an incident's notice (stops escalation)",
    tags=["notifications"],
    response_model=schemas.Acknowledgement,
    responses=schemas.SIGNED_IN,
)
def acknowledge(tenant_id: str, incident_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Stop the incident's notification escalation ("I have seen it")."""
    stopped = notify.acknowledge(runtime.db, user, tenant_id, incident_id)
    return {"incident_id": incident_id, "acknowledged": True, "escalation_stopped": stopped}


@router.get(
    "/notifications",
    summary="List notifications",
    tags=["notifications"],
    response_model=list[schemas.Notification],
    responses=schemas.SIGNED_IN,
)
def list_notifications(
    user: UserDep,
    runtime: RuntimeDep,
    tenant_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """A customer's own notifications; provider staff see all tenants' (or one with ``tenant_id``)."""
    rows = notify.list_notifications(runtime.db, user, tenant_id, status=status, limit=limit)
    return [notify.notification_to_dict(r) for r in rows]


@router.get(
    "/notifications/status",
    summary="Delivery queue counts (provider staff)",
    tags=["notifications"],
    response_model=schemas.QueueStatus,
    responses=schemas.SIGNED_IN,
)
def queue_status(user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return notify.status(runtime.db, user)


@router.get(
    "/notifications/{notification_id}",
    summary="One notification with its delivery attempts (provider staff)",
    tags=["notifications"],
    response_model=schemas.NotificationDetail,
    responses=schemas.SIGNED_IN,
)
def get_notification(notification_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return notify.get_notification(runtime.db, user, notification_id)


@router.post(
    "/notifications/retry",
    summary="Put dead letters back in the queue (provider staff)",
    tags=["notifications"],
    response_model=schemas.Queued,
    responses=schemas.SIGNED_IN,
)
def retry(body: Retry, user: UserDep, runtime: RuntimeDep) -> dict[str, int]:
    return {"queued": notify.retry(runtime.db, user, body.ids)}


@router.get(
    "/oncall",
    summary="List on-call shifts (provider staff)",
    tags=["on-call"],
    response_model=list[schemas.Shift],
    responses=schemas.SIGNED_IN,
)
def list_shifts(user: UserDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    return [contacts.shift_to_dict(s) for s in contacts.list_shifts(runtime.db, user)]


@router.post(
    "/oncall",
    status_code=201,
    summary="Add an on-call shift (provider staff)",
    tags=["on-call"],
    response_model=schemas.Shift,
    responses=schemas.SIGNED_IN,
)
def add_shift(body: ShiftIn, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return contacts.shift_to_dict(contacts.add_shift(runtime.db, user, body.model_dump()))


@router.delete(
    "/oncall/{shift_id}",
    status_code=204,
    summary="Remove an on-call shift (provider staff)",
    tags=["on-call"],
    responses=schemas.SIGNED_IN,
)
def remove_shift(shift_id: str, user: UserDep, runtime: RuntimeDep) -> None:
    contacts.remove_shift(runtime.db, user, shift_id)
