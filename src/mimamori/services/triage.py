"""The pipeline's triage step: alerts of a batch into incidents, in the batch's own transaction.

Called by ``Pipeline.process`` after the alert upsert with the batch's ``AlertChange`` list. New alerts
are checked against the tenant's suppression rules, then correlated (``triage.correlate``) with the
tenant's open incidents on the same device; every touched incident gets its score, severity, category
and span recomputed from all its alerts, so a repeated alert that grows an incident is reflected too.
Because this runs in the same transaction, a redelivered batch finds its alerts already placed and
creates nothing twice. Every tenant of the batch is triaged at once, a few statements per batch
(``storage.repositories.triage``), not per tenant or per incident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mimamori.domain import Alert, Finding
from mimamori.storage import Repositories
from mimamori.storage.repositories import AlertChange, SuppressionRule
from mimamori.storage.tables import utcnow
from mimamori.triage.categories import classify_alert, incident_category
from mimamori.triage.correlate import OpenIncident, correlate, device_of
from mimamori.triage.scoring import Reason, score_incident

PROFILE = "triage.profile"  # tenant settings document: company profile and important devices
SYSTEM = "system"
NEW = "new"


@dataclass(slots=True)
class TriageResult:
    incidents_created: list[str] = field(default_factory=list)
    incidents_updated: int = 0
    alerts_suppressed: int = 0


def rule_matches(rule: SuppressionRule, alert: Alert) -> bool:
    """True when the rule's set fields (host, detector, key) all match the alert."""
    if rule.host is not None and rule.host not in {alert.host, alert.source_ip, device_of(alert)}:
        return False
    if rule.detector is not None and rule.detector != alert.detector:
        return False
    return rule.key is None or rule.key == alert.key


def critical_hosts(profile: Mapping[str, Any] | None) -> frozenset[str]:
    hosts = (profile or {}).get("critical_hosts")
    return frozenset(h for h in hosts if isinstance(h, str)) if isinstance(hosts, list) else frozenset()


def reasons_json(reasons: Iterable[Reason]) -> list[dict[str, Any]]:
    return [
        {"code": r.code, "points": r.points, "message": r.message, "values": dict(r.values)} for r in reasons
    ]


Log = list[tuple[str, str, str, str, dict[str, Any]]]  # (tenant, incident, actor, action, detail)


def refresh(uow: Repositories, tenant_id: str, incident_ids: Iterable[str]) -> int:
    """Recompute the touched incidents from their alerts; log severity changes. Returns how many."""
    ids = set(incident_ids)
    if not ids:
        return 0
    logs: Log = []
    count = _refresh(uow, {tenant_id: ids}, logs)
    uow.triage.log(logs)
    return count


def _refresh(uow: Repositories, touched: Mapping[str, set[str]], logs: Log) -> int:
    """``refresh`` of every tenant's touched incidents at once (tenant id → incident ids); the severity
    changes are appended to ``logs``."""
    touched = {tenant: ids for tenant, ids in touched.items() if ids}
    if not touched:
        return 0
    batch = uow.triage
    by_incident: dict[str, list[Alert]] = {}
    for alert in batch.placed_alerts(touched):
        if alert.incident_id is not None:
            by_incident.setdefault(alert.incident_id, []).append(alert)
    profiles = batch.settings(touched, PROFILE)
    before_rows = batch.incidents(touched)
    updates: list[tuple[str, str, dict[str, Any]]] = []
    for tenant_id in sorted(touched):
        important = critical_hosts(profiles.get(tenant_id))
        for incident_id in sorted(touched[tenant_id]):
            alerts = by_incident.get(incident_id, [])
            before = before_rows[incident_id]
            if not alerts:
                continue
            score = score_incident(alerts, important)
            worst = _worst(alerts)
            values = {
                "title": worst.title,
                "severity": score.severity.value,
                "score": score.score,
                "category": incident_category(classify_alert(a).category for a in alerts),
                "host": worst.host or before.host,
                "opened_at": min(a.first_seen for a in alerts),
                "last_seen": max(a.last_seen for a in alerts),
                "reasons": reasons_json(score.reasons),
            }
            updates.append((tenant_id, incident_id, values))
            if before.severity != score.severity.value:
                detail = {"from": before.severity, "to": score.severity.value, "score": score.score}
                logs.append((tenant_id, incident_id, SYSTEM, "severity", detail))
    batch.refresh_incidents(updates)
    return sum(len(ids) for ids in touched.values())


def _worst(alerts: Sequence[Alert]) -> Alert:
    """The alert that names the incident: the most severe, then the latest seen; among equals the one
    seen first, then by fingerprint (alerts made from one event tie on all the rest: their random ids must
    not decide the title)."""
    return min(
        alerts, key=lambda a: (-a.severity.rank, -a.last_seen.timestamp(), a.first_seen, a.fingerprint)
    )


def place_alerts(
    uow: Repositories, unplaced: Mapping[str, Sequence[Alert]], result: TriageResult, logs: Log
) -> dict[str, set[str]]:
    """Suppress or correlate the unplaced alerts of every tenant (tenant id → alerts, oldest first);
    returns the incidents they went to, per tenant, and appends the incidents' log entries to ``logs``."""
    batch = uow.triage
    rules = batch.rules(unplaced, active_at=utcnow())
    silenced: list[tuple[str, str, str]] = []
    to_place: list[Alert] = []
    for tenant_id, alerts in unplaced.items():
        tenant_rules = rules.get(tenant_id, ())
        for alert in alerts:
            rule = next((r for r in tenant_rules if rule_matches(r, alert)), None)
            if rule is not None:
                silenced.append((tenant_id, alert.id, rule.id))
            else:
                to_place.append(alert)
    batch.suppress(silenced)
    result.alerts_suppressed += len(silenced)
    if not to_place:
        return {}
    devices: dict[str, set[str]] = {}
    for alert in to_place:
        devices.setdefault(alert.tenant_id, set()).add(device_of(alert))
    open_incidents = [
        OpenIncident(r.id, r.tenant_id, r.device or "", r.opened_at, r.last_seen or r.opened_at)
        for r in batch.open_incidents(devices)
    ]
    by_id = {a.id: a for a in to_place}
    # correlate keys its groups by (tenant, device): one call for the batch is one call per tenant; the
    # stable sort keeps each tenant's groups in their order
    groups = sorted(correlate(to_place, open_incidents), key=lambda g: g.tenant_id)
    new = [group for group in groups if group.incident_id is None]
    created = batch.create_incidents(
        [
            (
                group.tenant_id,
                {
                    "title": (first := by_id[group.alert_ids[0]]).title,
                    "severity": first.severity.value,
                    "status": NEW,
                    "device": group.device,
                    "host": first.host,
                    "opened_at": group.first_seen,
                    "last_seen": group.last_seen,
                },
            )
            for group in new
        ]
    )
    new_ids = {id(group): incident_id for group, incident_id in zip(new, created, strict=True)}
    touched: dict[str, set[str]] = {}
    placed: list[tuple[str, str, str]] = []
    for group in groups:
        incident_id = group.incident_id
        if incident_id is None:
            incident_id = new_ids[id(group)]
            result.incidents_created.append(incident_id)
            # No outbox row of its own yet: the notification issue decides whether customers get one
            # message per incident; the alert.created rows already carry the alert ids.
            logs.append((group.tenant_id, incident_id, SYSTEM, "created", {"alerts": group.alert_ids}))
        else:
            logs.append((group.tenant_id, incident_id, SYSTEM, "alerts_added", {"alerts": group.alert_ids}))
        placed += [(group.tenant_id, alert_id, incident_id) for alert_id in group.alert_ids]
        touched.setdefault(group.tenant_id, set()).add(incident_id)
    batch.place(placed)
    return touched


def triage_changes(uow: Repositories, changes: Sequence[AlertChange]) -> TriageResult:
    """The triage step of one batch (see the module docstring), every tenant of the batch at once."""
    result = TriageResult()
    wanted: dict[str, list[str]] = {}
    for change in changes:
        wanted.setdefault(change.tenant_id, []).append(change.alert_id)
    if not wanted:
        return result
    touched: dict[str, set[str]] = {}
    unplaced: dict[str, list[Alert]] = {}
    for alert, suppressed_by in uow.triage.alerts(wanted):
        if alert.incident_id is not None:
            touched.setdefault(alert.tenant_id, set()).add(alert.incident_id)
        elif suppressed_by is None:
            unplaced.setdefault(alert.tenant_id, []).append(alert)
    logs: Log = []
    if unplaced:
        for tenant_id, ids in place_alerts(uow, unplaced, result, logs).items():
            touched.setdefault(tenant_id, set()).update(ids)
    result.incidents_updated += _refresh(uow, touched, logs)
    uow.triage.log(logs)
    return result


@dataclass(slots=True)
class Recorded:
    """What ``record_findings`` did in the caller's transaction."""

    changes: list[AlertChange] = field(default_factory=list)
    created_alert_ids: list[str] = field(default_factory=list)
    alerts_updated: int = 0
    triage: TriageResult = field(default_factory=TriageResult)


def record_findings(
    uow: Repositories, items: Sequence[tuple[str, Finding]], *, payload: Mapping[str, Any] | None = None
) -> Recorded:
    """Fingerprinted findings → alerts (upsert), an ``alert.created`` outbox row per new alert, and the
    alerts into incidents: the one way live and retrospective detections are stored (same transaction)."""
    recorded = Recorded()
    if not items:
        return recorded
    recorded.changes = uow.alerts.record(items)
    messages: list[tuple[str, str | None, str, Mapping[str, Any], str]] = []
    for change in recorded.changes:
        if change.created:
            recorded.created_alert_ids.append(change.alert_id)
            messages.append(
                (
                    change.tenant_id,
                    change.alert_id,
                    "alert.created",
                    {"alert_id": change.alert_id, **(payload or {})},
                    f"alert.created:{change.alert_id}",
                )
            )
        else:
            recorded.alerts_updated += 1
    uow.triage.enqueue(messages)
    recorded.triage = triage_changes(uow, recorded.changes)
    return recorded
