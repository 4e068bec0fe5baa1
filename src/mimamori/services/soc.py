"""The SOC console's use cases: the incident queue across tenants, bulk actions, one incident with its
raw evidence and timeline, and the customer overview (open incidents, sensors, silent sensors).

Provider staff only: a customer user gets PermissionDeniedError here, whatever the tenant. Tenant
scoping of the single-incident reads stays the incident service's (another tenant's is a 404).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mimamori.domain import Alert, Contact, Tenant, User
from mimamori.errors import MimamoriError, PermissionDeniedError, ValidationError
from mimamori.services import incidents, tenants
from mimamori.services.alerts import visible_tenant
from mimamori.services.tenants import SensorHealth, sensor_health
from mimamori.services.triage import PROFILE
from mimamori.storage import Database, read_only

ACTIONS = ("acknowledge", "assign", "resolve")
PAGE_SIZES = (25, 50, 100)
MAX_BULK = 500


def staff_only(viewer: User | None) -> None:
    if viewer is not None and not viewer.role.is_provider:
        raise PermissionDeniedError("provider staff only")


def admin_only(viewer: User | None) -> None:
    if viewer is not None and viewer.role.value != "provider_admin":
        raise PermissionDeniedError("only a provider administrator may do this")


@dataclass(frozen=True, slots=True)
class Queue:
    """One page of the queue: incident views, the total matching, and where the page starts."""

    items: list[dict[str, Any]]
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total

    @property
    def has_previous(self) -> bool:
        return self.offset > 0


def queue(
    db: Database,
    viewer: User | None,
    *,
    tenant_id: str | None = None,
    severity: str | None = None,
    status: str | None = "open",
    assignee: str | None = None,
    text: str | None = None,
    sort: str = "severity",
    limit: int = 50,
    offset: int = 0,
) -> Queue:
    """Incidents of every customer (or one), filtered and sorted for an analyst to work through."""
    staff_only(viewer)
    filters = incidents.incident_filter(status=status, severity=severity, assignee=assignee, text=text)
    items = incidents.list_incidents(
        db,
        viewer,
        tenant_id,
        status=status,
        severity=severity,
        assignee=assignee,
        text=text,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    with read_only(db) as uow:
        scope = None if tenant_id is None else [tenant_id]
        total = uow.incidents.count_across_tenants(filters, tenant_ids=scope)
    return Queue(items, total, offset, limit)


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"done": list(self.done), "failed": list(self.failed)}


def parse_item(value: str) -> tuple[str, str]:
    """``tenant_id:incident_id`` (the value of a queue checkbox) as a pair."""
    tenant_id, _, incident_id = value.partition(":")
    if not tenant_id or not incident_id:
        raise ValidationError(f"not an incident reference: {value[:80]!r}")
    return tenant_id, incident_id


def bulk(
    db: Database,
    viewer: User | None,
    items: Sequence[tuple[str, str]],
    action: str,
    *,
    assignee: str | None = None,
    resolution: str | None = None,
) -> BulkResult:
    """Apply one action to many incidents; each is its own change (one failure does not undo the others).

    ``acknowledge`` takes a new incident up; ``assign`` sets ``assignee`` (empty: unassign); ``resolve``
    needs a resolution. Incidents the viewer cannot see, or cannot move that way, are reported as failed.
    """
    staff_only(viewer)
    if action not in ACTIONS:
        raise ValidationError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    if not items:
        raise ValidationError("select at least one incident")
    if len(items) > MAX_BULK:
        raise ValidationError(f"at most {MAX_BULK} incidents at once")
    if action == "resolve" and resolution not in incidents.RESOLUTIONS:
        raise ValidationError(f"resolving needs a resolution: one of {', '.join(incidents.RESOLUTIONS)}")
    result = BulkResult()
    for tenant_id, incident_id in dict.fromkeys(items):
        try:
            if action == "acknowledge":
                incidents.set_status(db, viewer, tenant_id, incident_id, "acknowledged")
            elif action == "assign":
                incidents.assign(db, viewer, tenant_id, incident_id, assignee)
            else:
                incidents.set_status(db, viewer, tenant_id, incident_id, "resolved", resolution=resolution)
        except MimamoriError as error:
            detail = "not found" if "not found" in str(error) else str(error)
            result.failed.append({"tenant_id": tenant_id, "incident_id": incident_id, "error": detail})
        else:
            result.done.append(incident_id)
    return result


def timeline(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Alerts (first seen) and the change log (status, assignment, notes, acknowledgements) in time order."""
    entries: list[dict[str, Any]] = [
        {"at": a["first_seen"], "kind": "alert", "alert": a} for a in view.get("timeline", [])
    ]
    entries += [{"at": h["at"], "kind": "change", "change": h} for h in view.get("history", [])]
    return sorted(entries, key=lambda e: (_moment(e["at"]), e["kind"] != "alert"))


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def evidence_text(alert: Alert) -> list[tuple[str, str]]:
    """The alert's evidence as (field, text) pairs, the raw record quote last (rendered escaped)."""
    pairs = [(k, str(v)) for k, v in sorted(alert.evidence.items()) if k != "event.original"]
    original = alert.evidence.get("event.original")
    if original is not None:
        pairs.append(("event.original", str(original)))
    return pairs


def incident_detail(db: Database, viewer: User | None, tenant_id: str, incident_id: str) -> dict[str, Any]:
    """The incident view plus what the console shows around it: customer, alerts with evidence, the merged
    timeline, and the suppression rules already in force for the tenant."""
    staff_only(viewer)
    view = incidents.get_incident(db, viewer, tenant_id, incident_id)
    with read_only(db) as uow:
        tenant = uow.tenants.get(tenant_id)
        found = uow.alerts.of_incidents(tenant_id, [incident_id])
        rules = uow.incidents.rules(tenant_id)
    main = max(found, key=lambda a: (a.severity.rank, a.count)) if found else None
    return {
        "incident": view,
        "tenant": tenant,
        "alerts": found,
        "evidence": {a.id: evidence_text(a) for a in found},
        "timeline": timeline(view),
        "rules": rules,
        "suggested_value": main.key if main else "",
        "suggested_kind": _suggested_kind(main),
    }


def _suggested_kind(alert: Alert | None) -> str:
    if alert is None:
        return "host"
    return {"sigma": "rule", "indicator": "indicator"}.get(alert.detector, "host")


@dataclass(frozen=True, slots=True)
class TenantSummary:
    tenant: Tenant
    open_incidents: int
    sensors: int
    silent_sensors: int


def tenant_summaries(
    db: Database, viewer: User | None, silence_minutes: int, now: datetime, *, text: str | None = None
) -> list[TenantSummary]:
    """Every customer (or those whose name contains ``text``) with its open incidents and sensor counts."""
    staff_only(viewer)
    health = sensor_health(db, silence_minutes, now)
    with read_only(db) as uow:
        every = uow.tenants.list()
        counts = uow.incidents.open_counts_across_tenants()
    needle = (text or "").strip().casefold()
    sensors: dict[str, list[SensorHealth]] = {}
    for h in health:
        sensors.setdefault(h.sensor.tenant_id, []).append(h)
    return [
        TenantSummary(
            t,
            counts.get(t.id, 0),
            len(sensors.get(t.id, [])),
            sum(h.silent for h in sensors.get(t.id, [])),
        )
        for t in every
        if needle in t.name.casefold()
    ]


@dataclass(frozen=True, slots=True)
class TenantDetail:
    tenant: Tenant
    profile: dict[str, Any]
    contacts: list[Contact]
    sensors: list[SensorHealth]
    open_incidents: list[dict[str, Any]]


def tenant_detail(
    db: Database, viewer: User | None, tenant_id: str, silence_minutes: int, now: datetime
) -> TenantDetail:
    """One customer as the SOC sees it. Customer users may read their own tenant (others are a 404)."""
    scope = visible_tenant(viewer, tenant_id)
    assert scope is not None
    with read_only(db) as uow:
        tenant = uow.tenants.get(scope)
        profile = uow.settings.get(scope, PROFILE) or {}
        people = uow.contacts.list(scope)
    health = tenant_sensors(db, viewer, scope, silence_minutes, now)
    open_ones = incidents.list_incidents(db, viewer, scope, status="open", sort="severity", limit=100)
    return TenantDetail(tenant, profile, people, health, open_ones)


def tenant_sensors(
    db: Database, viewer: User | None, tenant_id: str, silence_minutes: int, now: datetime
) -> list[SensorHealth]:
    """One customer's sensors with their silence verdicts (customer users: their own tenant only)."""
    scope = visible_tenant(viewer, tenant_id)
    assert scope is not None
    with read_only(db) as uow:
        uow.tenants.get(scope)
    return [h for h in sensor_health(db, silence_minutes, now) if h.sensor.tenant_id == scope]


def all_sensor_health(
    db: Database, viewer: User | None, silence_minutes: int, now: datetime
) -> list[SensorHealth]:
    """Every customer's sensors, silent ones first (provider staff)."""
    staff_only(viewer)
    return sensor_health(db, silence_minutes, now)


def summary_to_dict(summary: TenantSummary) -> dict[str, Any]:
    return {
        "id": summary.tenant.id,
        "name": summary.tenant.name,
        "created_at": summary.tenant.created_at.isoformat(),
        "open_incidents": summary.open_incidents,
        "sensors": summary.sensors,
        "silent_sensors": summary.silent_sensors,
    }


def health_to_dict(health: SensorHealth) -> dict[str, Any]:
    s = health.sensor
    return {
        "id": s.id,
        "tenant_id": s.tenant_id,
        "tenant_name": health.tenant_name,
        "name": s.name,
        "format": s.format,
        "timezone": s.timezone,
        "source_address": s.source_address,
        "last_seen": s.last_seen.isoformat() if s.last_seen else None,
        "received": s.received,
        "parsed": s.parsed,
        "quarantined": s.quarantined,
        "dropped": s.dropped,
        "silence_limit_minutes": health.limit_minutes,
        "silent": health.silent,
        "silent_minutes": health.silent_minutes,
    }


def rotate_sensor_token(db: Database, viewer: User | None, tenant_id: str, sensor_id: str) -> str:
    """A new token for a customer's sensor (shown once; the old one stops working). Provider admins only;
    another tenant's sensor is a 404 like a missing one (the tenant is resolved before the role check)."""
    visible_tenant(viewer, tenant_id)
    admin_only(viewer)
    return tenants.rotate_token(db, tenant_id, sensor_id)


def revoke_sensor_token(db: Database, viewer: User | None, tenant_id: str, sensor_id: str) -> None:
    visible_tenant(viewer, tenant_id)
    admin_only(viewer)
    tenants.revoke_token(db, tenant_id, sensor_id)
