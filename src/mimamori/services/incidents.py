"""Incidents for people: the list and detail views (severity, reasons, guidance, damage) and the analyst's
workflow (states, assignment, notes, merge, split), used by the CLI and the API alike.

Every change writes a line to the incident's log in the same transaction. Only the local operator (CLI,
``viewer=None``) and provider staff may change an incident; customer users read their own tenant's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from mimamori.domain import Alert, User
from mimamori.errors import PermissionDeniedError, ValidationError
from mimamori.services.alerts import visible_tenant
from mimamori.services.triage import PROFILE, refresh
from mimamori.storage import Database, Repositories, read_only, unit_of_work
from mimamori.storage.repositories import IncidentFilter, IncidentRow
from mimamori.storage.repositories.incidents import OPEN, SORTS
from mimamori.triage.categories import classify_alert
from mimamori.triage.correlate import device_of
from mimamori.triage.damage import damage_model, estimate
from mimamori.triage.guidance import LANGUAGES, catalogue, friendly_name, guidance_keys, render, render_entry
from mimamori.triage.scoring import VALUE_WORDS

STATES = ("new", "acknowledged", "investigating", "resolved")
RESOLUTIONS = ("true_positive", "false_positive", "benign")
SEVERITIES = ("high", "medium", "low")
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"acknowledged", "investigating", "resolved"}),
    "acknowledged": frozenset({"investigating", "resolved"}),
    "investigating": frozenset({"resolved"}),
    "resolved": frozenset({"investigating"}),  # reopened when new evidence turns up
}
JST = timezone(timedelta(hours=9))
MAX_NOTE = 4000


def actor_of(viewer: User | None) -> str:
    return "cli" if viewer is None else viewer.email


def _may_change(viewer: User | None) -> None:
    if viewer is not None and not viewer.role.is_provider:
        raise PermissionDeniedError("only the provider's staff change incidents")


def _blocked(alerts: Sequence[Alert]) -> bool:
    return bool(alerts) and all(a.evidence.get("event.outcome") == "failure" for a in alerts)


def guidance_for(row: IncidentRow, alerts: Sequence[Alert]) -> dict[str, Any]:
    """The catalogue entry of the incident in both languages, filled with its values."""
    classes = [classify_alert(a) for a in alerts]
    category = row.category or "suspicious"
    keys = guidance_keys(
        [a.detector for a in alerts],
        [category, *(c.category for c in classes)],
        [t for c in classes for t in c.tactics],
        blocked=_blocked(alerts),
    )
    entry = catalogue().find(keys)
    main = max(alerts, key=lambda a: (a.severity.rank, a.count)) if alerts else None
    value = ""
    if main is not None:
        value = str(main.evidence.get("indicator.value") or main.title)
    first = min((a.first_seen for a in alerts), default=row.opened_at)
    result: dict[str, Any] = {"catalogue_version": catalogue().version}
    for language in LANGUAGES:
        values = {
            "device": friendly_name(row.host, row.device, language),
            "time": first.astimezone(JST).strftime("%Y-%m-%d %H:%M"),
            "value": value,
            "count": sum(a.count for a in alerts),
            "detector": main.detector if main else "-",
            "key": main.key if main else "-",
        }
        result[language] = render_entry(entry, language, values)
    return result


def damage_for(
    row: IncidentRow, alerts: Sequence[Alert], profile: Mapping[str, Any] | None
) -> dict[str, Any]:
    model = damage_model()
    kind = model.incident_type(row.category or "suspicious", blocked=_blocked(alerts))
    return estimate(kind, model.profile(profile), model).to_dict(model)


def _words(values: Mapping[str, Any], language: str) -> dict[str, str]:
    """Reason values with their words translated (levels, tactics); other values pass unchanged."""
    allowed = set(VALUE_WORDS)
    return {
        k: ", ".join(render(p, language) if p in allowed else p for p in str(v).split(", "))
        for k, v in values.items()
    }


def _reasons(row: IncidentRow) -> list[dict[str, Any]]:
    """Each reason with its points and its sentence in both languages."""
    out: list[dict[str, Any]] = []
    for r in row.reasons:
        message, values = str(r.get("message", "")), r.get("values") or {}
        texts = {lang: render(message, lang, _words(values, lang)) for lang in LANGUAGES}
        out.append({"code": r.get("code"), "points": r.get("points"), **texts})
    return out


def title_source(alert: Alert | None) -> dict[str, str | None]:
    """The message-id template and value the web translates an alert's title from (None when the
    detector gave a plain title only, e.g. Sigma and behaviour rules)."""
    evidence = alert.evidence if alert is not None else {}
    template, value = evidence.get("title.template"), evidence.get("indicator.value")
    if isinstance(template, str) and isinstance(value, str):
        return {"title_template": template, "title_value": value}
    return {"title_template": None, "title_value": None}


def _title_alert(row: IncidentRow, alerts: Sequence[Alert]) -> Alert | None:
    """The alert the incident's title was taken from (triage copies the worst alert's title)."""
    ranked = sorted(alerts, key=lambda a: (a.severity.rank, a.count), reverse=True)
    return next((a for a in ranked if a.title == row.title), None)


def _alert_entry(alert: Alert) -> dict[str, Any]:
    kind = classify_alert(alert)
    return {
        "id": alert.id,
        "detector": alert.detector,
        "key": alert.key,
        "title": alert.title,
        **title_source(alert),
        "severity": alert.severity.value,
        "category": kind.category,
        "tactics": list(kind.tactics),
        "first_seen": alert.first_seen.isoformat(),
        "last_seen": alert.last_seen.isoformat(),
        "count": alert.count,
    }


def incident_to_dict(
    row: IncidentRow, alerts: Sequence[Alert], profile: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The scripting shape of an incident (``mimamori incidents list --json`` and the API): keep it stable."""
    timeline = sorted(alerts, key=lambda a: (a.first_seen, a.id))
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "title": row.title,
        **title_source(_title_alert(row, timeline)),
        "severity": row.severity,
        "severity_label": {"high": "高", "medium": "中", "low": "低"}.get(row.severity, row.severity),
        "score": row.score,
        "reasons": _reasons(row),
        "category": row.category,
        "status": row.status,
        "resolution": row.resolution,
        "assignee": row.assignee,
        "host": row.host,
        "device": row.device,
        "opened_at": row.opened_at.isoformat(),
        "last_seen": (row.last_seen or row.opened_at).isoformat(),
        "alerts": [a.id for a in timeline],
        "timeline": [_alert_entry(a) for a in timeline],
        "guidance": guidance_for(row, timeline),
        "damage": damage_for(row, timeline, profile),
    }


def _views(uow: Repositories, rows: Sequence[IncidentRow]) -> list[dict[str, Any]]:
    by_tenant: dict[str, list[IncidentRow]] = {}
    for row in rows:
        by_tenant.setdefault(row.tenant_id, []).append(row)
    alerts: dict[str, list[Alert]] = {}
    profiles: dict[str, dict[str, Any] | None] = {}
    for tenant_id, tenant_rows in by_tenant.items():
        profiles[tenant_id] = uow.settings.get(tenant_id, PROFILE)
        for alert in uow.alerts.of_incidents(tenant_id, [r.id for r in tenant_rows]):
            alerts.setdefault(alert.incident_id or "", []).append(alert)
    return [incident_to_dict(r, alerts.get(r.id, []), profiles[r.tenant_id]) for r in rows]


def incident_filter(
    *,
    status: str | None = None,
    severity: str | None = None,
    assignee: str | None = None,
    text: str | None = None,
) -> IncidentFilter:
    """Checked queue filters: ``status`` a state or ``open``; ``assignee`` an e-mail or ``""`` (nobody)."""
    if status is not None and status not in (*STATES, OPEN):
        raise ValidationError(f"unknown status {status!r}; one of {', '.join((*STATES, OPEN))}")
    if severity is not None and severity not in SEVERITIES:
        raise ValidationError(f"unknown severity {severity!r}; one of {', '.join(SEVERITIES)}")
    text = (text or "").strip()[:200] or None
    assignee = None if assignee is None else assignee.strip()[:320]
    return IncidentFilter(severity=severity, status=status, assignee=assignee, text=text)


def list_incidents(
    db: Database,
    viewer: User | None,
    tenant_id: str | None = None,
    *,
    status: str | None = None,
    severity: str | None = None,
    assignee: str | None = None,
    text: str | None = None,
    sort: str = "recent",
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Incidents the viewer may see, filtered; ``sort``: ``recent`` (last activity first), ``severity``
    (highest first, oldest first within a severity) or ``newest`` (last opened first)."""
    filters = incident_filter(status=status, severity=severity, assignee=assignee, text=text)
    if sort not in SORTS:
        raise ValidationError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")
    scope = visible_tenant(viewer, tenant_id)
    with read_only(db) as uow:
        if scope is None:
            rows = uow.incidents.search_across_tenants(filters, sort=sort, limit=limit, offset=offset)
        else:
            uow.tenants.get(scope)
            rows = uow.incidents.search(scope, filters, sort=sort, limit=limit, offset=offset)
        return _views(uow, rows)


def get_incident(db: Database, viewer: User | None, tenant_id: str, incident_id: str) -> dict[str, Any]:
    """One incident with its change log."""
    scope = visible_tenant(viewer, tenant_id)
    assert scope is not None
    with read_only(db) as uow:
        row = uow.incidents.get(scope, incident_id)
        (view,) = _views(uow, [row])
        view["history"] = [
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
            for e in uow.incidents.history(scope, incident_id)
        ]
        return view


def _change(viewer: User | None, tenant_id: str) -> tuple[str, str]:
    scope = visible_tenant(viewer, tenant_id)  # first: another tenant's incident is a 404, not a 403
    _may_change(viewer)
    assert scope is not None
    return scope, actor_of(viewer)


def set_status(
    db: Database,
    viewer: User | None,
    tenant_id: str,
    incident_id: str,
    status: str,
    *,
    resolution: str | None = None,
) -> dict[str, Any]:
    """Move the incident along new → acknowledged → investigating → resolved (with a resolution)."""
    scope, actor = _change(viewer, tenant_id)
    if status not in STATES:
        raise ValidationError(f"unknown status {status!r}; one of {', '.join(STATES)}")
    if status == "resolved" and resolution not in RESOLUTIONS:
        raise ValidationError(f"resolving needs a resolution: one of {', '.join(RESOLUTIONS)}")
    if status != "resolved" and resolution is not None:
        raise ValidationError("a resolution is given only when resolving")
    with unit_of_work(db) as uow:
        row = uow.incidents.get(scope, incident_id)
        if status not in TRANSITIONS[row.status]:
            raise ValidationError(f"cannot go from {row.status} to {status}")
        uow.incidents.update(scope, incident_id, {"status": status, "resolution": resolution})
        uow.incidents.log(
            scope, incident_id, actor, "status", {"from": row.status, "to": status, "resolution": resolution}
        )
        if row.status == "new":  # taken up by the SOC: the notice escalation stops
            uow.escalations.acknowledge(scope, incident_id, datetime.now(UTC), actor)
    return get_incident(db, viewer, scope, incident_id)


def assign(
    db: Database, viewer: User | None, tenant_id: str, incident_id: str, assignee: str | None
) -> dict[str, Any]:
    scope, actor = _change(viewer, tenant_id)
    assignee = (assignee or "").strip()[:320] or None
    with unit_of_work(db) as uow:
        row = uow.incidents.get(scope, incident_id)
        uow.incidents.update(scope, incident_id, {"assignee": assignee})
        uow.incidents.log(scope, incident_id, actor, "assign", {"from": row.assignee, "to": assignee})
    return get_incident(db, viewer, scope, incident_id)


def add_note(
    db: Database, viewer: User | None, tenant_id: str, incident_id: str, text: str
) -> dict[str, Any]:
    scope, actor = _change(viewer, tenant_id)
    text = text.strip()
    if not text or len(text) > MAX_NOTE:
        raise ValidationError(f"a note has 1 to {MAX_NOTE} characters")
    with unit_of_work(db) as uow:
        uow.incidents.get(scope, incident_id)
        uow.incidents.log(scope, incident_id, actor, "note", {"text": text})
    return get_incident(db, viewer, scope, incident_id)


def merge(
    db: Database, viewer: User | None, tenant_id: str, target_id: str, source_ids: Sequence[str]
) -> dict[str, Any]:
    """Move the alerts of ``source_ids`` into ``target_id``; the sources stay, marked as merged."""
    scope, actor = _change(viewer, tenant_id)
    sources = sorted(set(source_ids) - {target_id})
    if not sources:
        raise ValidationError("merge needs at least one other incident")
    with unit_of_work(db) as uow:
        uow.incidents.get(scope, target_id)
        for source_id in sources:
            source = uow.incidents.get(scope, source_id)
            if source.merged_into is not None:
                raise ValidationError(f"incident {source_id} was already merged")
            moved = [a.id for a in uow.alerts.of_incidents(scope, [source_id])]
            uow.alerts.place(scope, moved, target_id)
            uow.incidents.update(
                scope, source_id, {"merged_into": target_id, "status": "resolved", "resolution": "merged"}
            )
            uow.incidents.log(scope, source_id, actor, "merged_into", {"target": target_id, "alerts": moved})
            uow.incidents.log(scope, target_id, actor, "merged", {"source": source_id, "alerts": moved})
        refresh(uow, scope, [target_id])
    return get_incident(db, viewer, scope, target_id)


def split(
    db: Database, viewer: User | None, tenant_id: str, incident_id: str, alert_ids: Sequence[str]
) -> dict[str, Any]:
    """Move some alerts of an incident into a new incident; returns the new one."""
    scope, actor = _change(viewer, tenant_id)
    wanted = set(alert_ids)
    with unit_of_work(db) as uow:
        row = uow.incidents.get(scope, incident_id)
        current = uow.alerts.of_incidents(scope, [incident_id])
        moving = [a for a in current if a.id in wanted]
        if len(moving) != len(wanted) or len(moving) == len(current):
            raise ValidationError("split takes some, not all, of the incident's own alerts")
        new = uow.incidents.create(
            scope,
            {
                "title": moving[0].title,
                "severity": moving[0].severity.value,
                "status": row.status if row.status != "resolved" else "investigating",
                "device": device_of(moving[0]),
                "host": moving[0].host,
                "opened_at": min(a.first_seen for a in moving),
                "last_seen": max(a.last_seen for a in moving),
                "assignee": row.assignee,
            },
        )
        ids = [a.id for a in moving]
        uow.alerts.place(scope, ids, new.id)
        uow.incidents.log(scope, incident_id, actor, "split", {"new": new.id, "alerts": ids})
        uow.incidents.log(scope, new.id, actor, "split_from", {"source": incident_id, "alerts": ids})
        refresh(uow, scope, [incident_id, new.id])
    return get_incident(db, viewer, scope, new.id)


def set_profile(
    db: Database, viewer: User | None, tenant_id: str, profile: Mapping[str, Any]
) -> dict[str, Any]:
    """Store the company profile the damage estimate and the asset criticality use."""
    _may_change(viewer)
    allowed = {
        "industry",
        "employees",
        "annual_sales_yen",
        "sales_band",
        "personal_records",
        "downtime_days",
        "critical_hosts",
    }
    unknown = set(profile) - allowed
    if unknown:
        raise ValidationError(f"unknown profile fields: {', '.join(sorted(unknown))}")
    scope = visible_tenant(viewer, tenant_id)
    assert scope is not None
    with unit_of_work(db) as uow:
        uow.tenants.get(scope)
        uow.settings.put(scope, PROFILE, dict(profile))
    return dict(profile)
