"""``/api/v1`` incidents and suppression rules. Thin: parse input, call a service, render JSON.

Included by the application next to ``api.routes.router``; tenant scoping and permissions are the
services' (another tenant's incident is a 404, a customer's change is a 403).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.services import incidents, triage_suppression

router = APIRouter(prefix="/api/v1")


class StatusChange(BaseModel):
    status: str
    resolution: str | None = None


class Assignment(BaseModel):
    assignee: str | None = None


class Note(BaseModel):
    text: str = Field(max_length=incidents.MAX_NOTE)


class Merge(BaseModel):
    sources: list[str] = Field(min_length=1, max_length=100)


class Split(BaseModel):
    alerts: list[str] = Field(min_length=1, max_length=1000)


class Rule(BaseModel):
    kind: str
    reason: str = Field(max_length=2000)
    host: str | None = None
    value: str | None = None
    expires_at: datetime | None = None


@router.get("/incidents")
def list_incidents(
    user: UserDep,
    runtime: RuntimeDep,
    tenant_id: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    return incidents.list_incidents(runtime.db, user, tenant_id, status=status, limit=limit, offset=offset)


@router.get("/tenants/{tenant_id}/incidents/{incident_id}")
def get_incident(tenant_id: str, incident_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return incidents.get_incident(runtime.db, user, tenant_id, incident_id)


@router.post("/tenants/{tenant_id}/incidents/{incident_id}/status")
def set_status(
    tenant_id: str, incident_id: str, body: StatusChange, user: UserDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return incidents.set_status(
        runtime.db, user, tenant_id, incident_id, body.status, resolution=body.resolution
    )


@router.post("/tenants/{tenant_id}/incidents/{incident_id}/assignee")
def assign(
    tenant_id: str, incident_id: str, body: Assignment, user: UserDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return incidents.assign(runtime.db, user, tenant_id, incident_id, body.assignee)


@router.post("/tenants/{tenant_id}/incidents/{incident_id}/notes")
def add_note(
    tenant_id: str, incident_id: str, body: Note, user: UserDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return incidents.add_note(runtime.db, user, tenant_id, incident_id, body.text)


@router.post("/tenants/{tenant_id}/incidents/{incident_id}/merge")
def merge(
    tenant_id: str, incident_id: str, body: Merge, user: UserDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return incidents.merge(runtime.db, user, tenant_id, incident_id, body.sources)


@router.post("/tenants/{tenant_id}/incidents/{incident_id}/split")
def split(
    tenant_id: str, incident_id: str, body: Split, user: UserDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return incidents.split(runtime.db, user, tenant_id, incident_id, body.alerts)


@router.get("/tenants/{tenant_id}/suppressions")
def list_rules(tenant_id: str, user: UserDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    return triage_suppression.list_rules(runtime.db, user, tenant_id)


@router.get("/tenants/{tenant_id}/suppressions/preview")
def preview_rule(
    tenant_id: str,
    kind: str,
    user: UserDep,
    runtime: RuntimeDep,
    host: str | None = None,
    value: str | None = None,
) -> dict[str, int]:
    count = triage_suppression.preview(runtime.db, user, tenant_id, kind, host=host, value=value)
    return {"preview": count}


@router.post("/tenants/{tenant_id}/suppressions", status_code=201)
def add_rule(tenant_id: str, body: Rule, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return triage_suppression.add_rule(
        runtime.db,
        user,
        tenant_id,
        body.kind,
        reason=body.reason,
        host=body.host,
        value=body.value,
        expires_at=body.expires_at,
    )


@router.delete("/tenants/{tenant_id}/suppressions/{rule_id}", status_code=204)
def remove_rule(tenant_id: str, rule_id: str, user: UserDep, runtime: RuntimeDep) -> None:
    triage_suppression.remove_rule(runtime.db, user, tenant_id, rule_id)
