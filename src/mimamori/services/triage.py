"""The pipeline's triage step: alerts of a batch into incidents, in the batch's own transaction.

Called by ``Pipeline.process`` after the alert upsert with the batch's ``AlertChange`` list. New alerts
are checked against the tenant's suppression rules, then correlated (``triage.correlate``) with the
tenant's open incidents on the same device; every touched incident gets its score, severity, category
and span recomputed from all its alerts, so a repeated alert that grows an incident is reflected too.
Because this runs in the same transaction, a redelivered batch finds its alerts already placed and
creates nothing twice.
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


def refresh(uow: Repositories, tenant_id: str, incident_ids: Iterable[str]) -> int:
    """Recompute the touched incidents from their alerts; log severity changes. Returns how many."""
    ids = sorted(set(incident_ids))
    if not ids:
        return 0
    by_incident: dict[str, list[Alert]] = {}
    for alert in uow.alerts.of_incidents(tenant_id, ids):
        if alert.incident_id is not None:
            by_incident.setdefault(alert.incident_id, []).append(alert)
    important = critical_hosts(uow.settings.get(tenant_id, PROFILE))
    for incident_id in ids:
        alerts = by_incident.get(incident_id, [])
        before = uow.incidents.get(tenant_id, incident_id)
        if not alerts:
            continue
        score = score_incident(alerts, important)
        worst = max(alerts, key=lambda a: (a.severity.rank, a.last_seen))
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
        uow.incidents.update(tenant_id, incident_id, values)
        if before.severity != score.severity.value:
            uow.incidents.log(
                tenant_id,
                incident_id,
                SYSTEM,
                "severity",
                {"from": before.severity, "to": score.severity.value, "score": score.score},
            )
    return len(ids)


def place_alerts(
    uow: Repositories, tenant_id: str, alerts: Sequence[Alert], result: TriageResult
) -> set[str]:
    """Suppress or correlate the tenant's unplaced alerts; returns the incidents they went to."""
    rules = uow.incidents.rules(tenant_id, active_at=utcnow())
    already = uow.alerts.suppressed(tenant_id, [a.id for a in alerts])
    to_place: list[Alert] = []
    for alert in alerts:
        if alert.id in already:
            continue
        rule = next((r for r in rules if rule_matches(r, alert)), None)
        if rule is not None:
            result.alerts_suppressed += uow.alerts.suppress(tenant_id, [alert.id], rule.id)
        else:
            to_place.append(alert)
    if not to_place:
        return set()
    open_rows = uow.incidents.open_for_devices(tenant_id, {device_of(a) for a in to_place})
    open_incidents = [
        OpenIncident(r.id, tenant_id, r.device or "", r.opened_at, r.last_seen or r.opened_at)
        for r in open_rows
    ]
    touched: set[str] = set()
    by_id = {a.id: a for a in to_place}
    for group in correlate(to_place, open_incidents):
        incident_id = group.incident_id
        if incident_id is None:
            first = by_id[group.alert_ids[0]]
            row = uow.incidents.create(
                tenant_id,
                {
                    "title": first.title,
                    "severity": first.severity.value,
                    "status": NEW,
                    "device": group.device,
                    "host": first.host,
                    "opened_at": group.first_seen,
                    "last_seen": group.last_seen,
                },
            )
            incident_id = row.id
            result.incidents_created.append(incident_id)
            # No outbox row of its own yet: the notification issue decides whether customers get one
            # message per incident; the alert.created rows already carry the alert ids.
            uow.incidents.log(tenant_id, incident_id, SYSTEM, "created", {"alerts": group.alert_ids})
        else:
            uow.incidents.log(tenant_id, incident_id, SYSTEM, "alerts_added", {"alerts": group.alert_ids})
        uow.alerts.place(tenant_id, group.alert_ids, incident_id)
        touched.add(incident_id)
    return touched


def triage_changes(uow: Repositories, changes: Sequence[AlertChange]) -> TriageResult:
    """The triage step of one batch (see the module docstring)."""
    result = TriageResult()
    by_tenant: dict[str, list[str]] = {}
    for change in changes:
        by_tenant.setdefault(change.tenant_id, []).append(change.alert_id)
    for tenant_id, alert_ids in sorted(by_tenant.items()):
        alerts = uow.alerts.get_many(tenant_id, alert_ids)
        touched = {a.incident_id for a in alerts if a.incident_id is not None}
        touched |= place_alerts(uow, tenant_id, [a for a in alerts if a.incident_id is None], result)
        result.incidents_updated += refresh(uow, tenant_id, touched)
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
    for change in recorded.changes:
        if change.created:
            recorded.created_alert_ids.append(change.alert_id)
            uow.outbox.add(
                change.tenant_id,
                change.alert_id,
                "alert.created",
                {"alert_id": change.alert_id, **(payload or {})},
                f"alert.created:{change.alert_id}",
            )
        else:
            recorded.alerts_updated += 1
    recorded.triage = triage_changes(uow, recorded.changes)
    return recorded
