"""``/api/v1`` tickets (相談する / 駆け付けを依頼). Thin: parse, call ``services.tickets``, render JSON.

Any user of a tenant opens and reads that tenant's tickets; provider staff read every tenant's
(``GET /api/v1/tickets``) and change a ticket's status. Another tenant's ticket is a 404.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from mimamori.api import schemas
from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.services import tickets

router = APIRouter(prefix="/api/v1")


Kind = Literal["consult", "onsite"]
Status = Literal["open", "in_progress", "done"]


class Ticket(BaseModel):
    """A customer's request: ``consult`` (call me back) or ``onsite`` (send a technician)."""

    id: str
    number: str = Field(description="what the customer quotes on the phone, e.g. 3F2A-9C01")
    tenant_id: str
    kind: Kind
    incident_id: str | None
    requester_id: str | None
    requester_name: str
    message: str
    phone: str | None
    preferred_time: str | None
    status: Status
    created_at: str
    updated_at: str


class NewTicket(BaseModel):
    kind: Kind
    message: str = Field(default="", max_length=tickets.MAX_MESSAGE)
    phone: str | None = Field(default=None, max_length=64)
    preferred_time: str | None = Field(default=None, max_length=tickets.MAX_PREFERRED)
    incident_id: str | None = Field(default=None, max_length=64)


class StatusChange(BaseModel):
    status: Status


@router.post(
    "/tenants/{tenant_id}/tickets",
    summary="Open a ticket (ask the desk or request on-site help)",
    tags=["tickets"],
    status_code=201,
    response_model=Ticket,
    responses=schemas.SIGNED_IN,
)
def create_ticket(tenant_id: str, body: NewTicket, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    ticket = tickets.create_ticket(
        runtime.db,
        user,
        tenant_id,
        body.kind,
        message=body.message,
        phone=body.phone,
        preferred_time=body.preferred_time,
        incident_id=body.incident_id,
    )
    return tickets.ticket_to_dict(ticket)


@router.get(
    "/tenants/{tenant_id}/tickets",
    summary="List the tenant's tickets",
    tags=["tickets"],
    response_model=list[Ticket],
    responses=schemas.SIGNED_IN,
)
def list_tickets(
    tenant_id: str, user: UserDep, runtime: RuntimeDep, status: Status | None = None
) -> list[dict[str, Any]]:
    return [
        tickets.ticket_to_dict(t) for t in tickets.list_tickets(runtime.db, user, tenant_id, status=status)
    ]


@router.get(
    "/tenants/{tenant_id}/tickets/{ticket_id}",
    summary="One ticket",
    tags=["tickets"],
    response_model=Ticket,
    responses=schemas.SIGNED_IN,
)
def get_ticket(tenant_id: str, ticket_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return tickets.ticket_to_dict(tickets.get_ticket(runtime.db, user, tenant_id, ticket_id))


@router.patch(
    "/tenants/{tenant_id}/tickets/{ticket_id}",
    summary="Change a ticket's status (provider staff)",
    tags=["tickets"],
    response_model=Ticket,
    responses=schemas.SIGNED_IN,
)
def change_ticket(
    tenant_id: str, ticket_id: str, body: StatusChange, user: UserDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Staff only: ``open``, ``in_progress`` or ``done``."""
    return tickets.ticket_to_dict(tickets.set_status(runtime.db, user, tenant_id, ticket_id, body.status))


@router.get(
    "/tickets",
    summary="Every tenant's tickets (provider staff)",
    tags=["tickets"],
    response_model=list[Ticket],
    responses=schemas.SIGNED_IN,
)
def list_all_tickets(
    user: UserDep, runtime: RuntimeDep, status: Status | None = None
) -> list[dict[str, Any]]:
    """Staff only: every tenant's tickets; open and in progress unless ``status`` says otherwise."""
    wanted = (status,) if status else tickets.OPEN_STATUSES
    return [tickets.ticket_to_dict(t) for t in tickets.list_all(runtime.db, user, statuses=wanted)]
