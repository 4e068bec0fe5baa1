"""Tickets: a customer asks the provider's desk for a call back (``consult``, 相談する) or for a technician
on site (``onsite``, 駆け付けを依頼), optionally about one incident.

Any user of the tenant may open one (viewers too: asking for help is not a change of settings); provider
staff see every tenant's tickets and move them ``open`` → ``in_progress`` → ``done``. A new ticket writes
an outbox row ``ticket.created`` in the same transaction, so the provider's side learns of it with the
same guarantees as an alert (the SOC console lists open tickets at once).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from mimamori.domain import User
from mimamori.errors import PermissionDeniedError, ValidationError
from mimamori.services.alerts import visible_tenant
from mimamori.storage import Database, read_only, unit_of_work
from mimamori.storage.repositories import TicketRow

KINDS = ("consult", "onsite")
STATUSES = ("open", "in_progress", "done")
OPEN_STATUSES = ("open", "in_progress")
MAX_MESSAGE = 2000
MAX_PREFERRED = 200
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{5,30}$")


def ticket_number(ticket_id: str) -> str:
    """The number a customer reads out on the phone: the id's first eight characters, in two groups."""
    head = ticket_id[:8].upper()
    return f"{head[:4]}-{head[4:]}"


def _scope(viewer: User | None, tenant_id: str) -> str:
    scope = visible_tenant(viewer, tenant_id)
    assert scope is not None
    return scope


def _staff_only(viewer: User | None) -> None:
    if viewer is not None and not viewer.role.is_provider:
        raise PermissionDeniedError("provider staff only")


def _text(value: str | None, limit: int, what: str) -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    if len(text) > limit:
        raise ValidationError(f"{what}: at most {limit} characters")
    return text


def clean_phone(value: str | None) -> str | None:
    """A phone number as people write it (03-1234-5678, +81 3 ...); None when empty."""
    text = " ".join((value or "").split())
    if not text:
        return None
    if not PHONE.match(text):
        raise ValidationError("phone: digits, spaces, +, - and parentheses only")
    return text


def create_ticket(
    db: Database,
    viewer: User | None,
    tenant_id: str,
    kind: str,
    *,
    message: str | None = None,
    phone: str | None = None,
    preferred_time: str | None = None,
    incident_id: str | None = None,
) -> TicketRow:
    """Open a ticket now; another tenant's incident (or tenant) is a NotFoundError like a missing one."""
    scope = _scope(viewer, tenant_id)
    if kind not in KINDS:
        raise ValidationError(f"kind: one of {', '.join(KINDS)}")
    values: dict[str, Any] = {
        "kind": kind,
        "incident_id": incident_id or None,
        "requester_id": viewer.id if viewer else None,
        "requester_name": (viewer.name or viewer.email) if viewer else "cli",
        "message": _text(message, MAX_MESSAGE, "message"),
        "phone": clean_phone(phone),
        "preferred_time": _text(preferred_time, MAX_PREFERRED, "preferred_time") or None,
    }
    with unit_of_work(db) as uow:
        uow.tenants.get(scope)
        if values["incident_id"] is not None:
            uow.incidents.get(scope, values["incident_id"])  # the incident must be the tenant's own
        ticket = uow.tickets.add(scope, values)
        uow.outbox.add(
            scope,
            None,
            "ticket.created",
            {"ticket_id": ticket.id, "kind": kind, "incident_id": ticket.incident_id},
            f"ticket:{ticket.id}",
        )
        return ticket


def get_ticket(db: Database, viewer: User | None, tenant_id: str, ticket_id: str) -> TicketRow:
    scope = _scope(viewer, tenant_id)
    with read_only(db) as uow:
        return uow.tickets.get(scope, ticket_id)


def list_tickets(
    db: Database, viewer: User | None, tenant_id: str, *, status: str | None = None
) -> list[TicketRow]:
    """One tenant's tickets, newest first."""
    scope = _scope(viewer, tenant_id)
    if status is not None and status not in STATUSES:
        raise ValidationError(f"status: one of {', '.join(STATUSES)}")
    with read_only(db) as uow:
        uow.tenants.get(scope)
        return uow.tickets.list(scope, status=status)


def list_all(
    db: Database, viewer: User | None, *, statuses: Sequence[str] | None = OPEN_STATUSES
) -> list[TicketRow]:
    """Provider-wide: tickets of every tenant, the longest waiting first (open ones by default)."""
    _staff_only(viewer)
    wanted = tuple(statuses) if statuses is not None else None
    if wanted is not None and set(wanted) - set(STATUSES):
        raise ValidationError(f"status: one of {', '.join(STATUSES)}")
    with read_only(db) as uow:
        return uow.tickets.list_across_tenants(statuses=wanted)


def set_status(db: Database, viewer: User | None, tenant_id: str, ticket_id: str, status: str) -> TicketRow:
    """Staff move a ticket along (``in_progress``, ``done``, or back to ``open``)."""
    scope = _scope(viewer, tenant_id)  # first: another tenant's ticket is a 404, not a 403
    _staff_only(viewer)
    if status not in STATUSES:
        raise ValidationError(f"status: one of {', '.join(STATUSES)}")
    with unit_of_work(db) as uow:
        uow.tickets.get(scope, ticket_id)
        return uow.tickets.set_status(scope, ticket_id, status, viewer.email if viewer else "cli")


def age_minutes(ticket: TicketRow, now: datetime | None = None) -> int:
    return max(0, int(((now or datetime.now(UTC)) - ticket.created_at).total_seconds() // 60))


def ticket_to_dict(ticket: TicketRow) -> dict[str, Any]:
    """The JSON shape of a ticket (``/api/v1``): keep it stable."""
    return {
        "id": ticket.id,
        "number": ticket_number(ticket.id),
        "tenant_id": ticket.tenant_id,
        "kind": ticket.kind,
        "incident_id": ticket.incident_id,
        "requester_id": ticket.requester_id,
        "requester_name": ticket.requester_name,
        "message": ticket.message,
        "phone": ticket.phone,
        "preferred_time": ticket.preferred_time,
        "status": ticket.status,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
    }
