"""``/api/v1`` incidents and suppression rules. Thin: parse input, call a service, render JSON.

Included by the application next to ``api.routes.router``; tenant scoping and permissions are the
services' (another tenant's incident is a 404, a customer's change is a 403).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from mimamori.api import schemas
from mimamori.api.deps import RuntimeDep, UserDep
from mimamori.services import incidents, triage_suppression

router = APIRouter(prefix="/api/v1")

# the services' value sets (incidents.STATES, RESOLUTIONS, triage_suppression.KINDS), spelled out for the
# OpenAPI document; tests/unit/api/test_openapi.py keeps them equal
Status = Literal["new", "acknowledged", "investigating", "resolved"]
Resolution = Literal["true_positive", "false_positive", "benign"]
RuleKind = Literal["tenant", "host", "rule", "indicator"]


class StatusChange(BaseModel):
    status: Status
    resolution: Resolution | None = Field(None, description="Required when resolving, else absent.")


class Assignment(BaseModel):
    assignee: str | None = Field(None, max_length=320, description="Empty or null to unassign.")


class Note(BaseModel):
    text: str = Field(max_length=incidents.MAX_NOTE)


class Merge(BaseModel):
    sources: list[Annotated[str, Field(max_length=64)]] = Field(min_length=1, max_length=100)


class Split(BaseModel):
    alerts: list[Annotated[str, Field(max_length=64)]] = Field(min_length=1, max_length=1000)


class Rule(BaseModel):
    kind: RuleKind = Field(description="host needs `host`; rule and indicator need `value`")
    reason: str = Field(max_length=2000)
    host: str | None = Field(None, max_length=255)
    value: str | None = Field(None, max_length=512)
    expires_at: datetime | None = None


@router.get(
    "/incidents",
    summary="List incidents the caller may see",
    tags=["incidents"],
    response_model=list[schemas.Incident],
    responses=schemas.SIGNED_IN,
)
def list_incidents(
    user: UserDep,
    runtime: RuntimeDep,
    tenant_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[Status | Literal["open"] | None, Query(description="a state, or open")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    severity: Literal["high", "medium", "low"] | None = None,
    assignee: Annotated[str | None, Query(max_length=320, description="e-mail; empty: nobody")] = None,
    q: Annotated[str | None, Query(max_length=200, description="text in title, host or device")] = None,
    sort: Literal["recent", "severity", "newest"] = "recent",
) -> list[dict[str, Any]]:
    """Scoped like ``GET /api/v1/alerts``. The SOC queue's filters; ``sort``: ``recent`` (last activity
    first), ``severity`` (highest first, oldest first within one) or ``newest`` (last opened first)."""
    return incidents.list_incidents(
        runtime.db,
        user,
        tenant_id,
        status=status,
        severity=severity,
        assignee=assignee,
        text=q,
        sort=sort,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/tenants/{tenant_id}/incidents/{incident_id}",
    summary="Get one incident with its change log",
    tags=["incidents"],
    response_model=schemas.Incident,
    responses=schemas.SIGNED_IN,
)
def get_incident(tenant_id: str, incident_id: str, user: UserDep, runtime: RuntimeDep) -> dict[str, Any]:
    return incidents.get_incident(runtime.db, user, tenant_id, incident_id)


@router.post(
    "/tenants/{tenant_id}/incidents/{incident_id}/status",
    summary="Change an incident's status (provider staff)",
    tags=["incidents"],
    response_model=schemas.Incident,
    responses=schemas.SIGNED_IN,
)
def set_status(
    tenant_id: str, incident_id: str, body: StatusChange, user: UserDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return incidents.set_status(
        runtime.db, user, tenant_id, incident_id, body.status, resolution=body.resolution
    )


@router.post(
    "/tenants/{tenant_id}/incidents/{incident_id}/assignee",
    summary="Assign an incident (provider staff)",
    tags=["incidents"],
    response_model=schemas.Incident,
    responses=schemas.SIGNED_IN,
)
def assign(
    tenant_id: str, incident_id: str, body: Assignment, user: UserDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return incidents.assign(runtime.db, user, tenant_id, incident_id, body.assignee)


@router.post(
    "/tenants/{tenant_id}/incidents/{incident_id}/notes",
    summary="Add a note to an incident (provider staff)",
    tags=["incidents"],
    response_model=schemas.Incident,
    responses=schemas.SIGNED_IN,
)
def add_note(
    tenant_id: str, incident_id: str, body: Note, user: UserDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return incidents.add_note(runtime.db, user, tenant_id, incident_id, body.text)


@router.post(
    "/tenants/{tenant_id}/incidents/{incident_id}/merge",
    summary="Merge other incidents into this one (provider staff)",
    tags=["incidents"],
    response_model=schemas.Incident,
    responses=schemas.SIGNED_IN,
)
def merge(
    tenant_id: str, incident_id: str, body: Merge, user: UserDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return incidents.merge(runtime.db, user, tenant_id, incident_id, body.sources)


@router.post(
    "/tenants/{tenant_id}/incidents/{incident_id}/split",
    summary="Split alerts off into a new incident (provider staff)",
    tags=["incidents"],
    response_model=schemas.Incident,
    responses=schemas.SIGNED_IN,
)
def split(
    tenant_id: str, incident_id: str, body: Split, user: UserDep, runtime: RuntimeDep
) -> dict[str, Any]:
    return incidents.split(runtime.db, user, tenant_id, incident_id, body.alerts)


@router.get(
    "/tenants/{tenant_id}/suppressions",
    summary="List suppression rules (provider staff)",
    tags=["suppressions"],
    response_model=list[schemas.SuppressionRule],
    responses=schemas.SIGNED_IN,
)
def list_rules(tenant_id: str, user: UserDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    return triage_suppression.list_rules(runtime.db, user, tenant_id)


@router.get(
    "/tenants/{tenant_id}/suppressions/preview",
    summary="Count the alerts a rule would hide (provider staff)",
    tags=["suppressions"],
    response_model=schemas.Preview,
    responses=schemas.SIGNED_IN,
)
def preview_rule(
    tenant_id: str,
    kind: RuleKind,
    user: UserDep,
    runtime: RuntimeDep,
    host: Annotated[str | None, Query(max_length=255)] = None,
    value: Annotated[str | None, Query(max_length=512)] = None,
) -> dict[str, int]:
    count = triage_suppression.preview(runtime.db, user, tenant_id, kind, host=host, value=value)
    return {"preview": count}


@router.post(
    "/tenants/{tenant_id}/suppressions",
    status_code=201,
    summary="Add a suppression rule (provider staff)",
    tags=["suppressions"],
    response_model=schemas.SuppressionRule,
    responses=schemas.SIGNED_IN,
)
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


@router.delete(
    "/tenants/{tenant_id}/suppressions/{rule_id}",
    status_code=204,
    summary="Remove a suppression rule (provider staff)",
    tags=["suppressions"],
    responses=schemas.SIGNED_IN,
)
def remove_rule(tenant_id: str, rule_id: str, user: UserDep, runtime: RuntimeDep) -> None:
    triage_suppression.remove_rule(runtime.db, user, tenant_id, rule_id)
