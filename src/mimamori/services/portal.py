"""What the SME portal shows on its home page: one status word with the reason and the next step.

The status derives from the tenant's open incidents (not resolved, not merged): any 高 → ``action``
(要対応), any 中/低 → ``caution`` (注意), none → ``safe`` (安全). An open alert that triage has not put in
an incident yet (it happens only for alerts recorded outside the pipeline) counts the same way, so
nothing open is ever hidden behind 安全.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mimamori.domain import AlertStatus, Severity, User
from mimamori.errors import ValidationError
from mimamori.services import incidents
from mimamori.services.alerts import list_alerts, visible_tenant
from mimamori.storage import Database, read_only, unit_of_work

SAFE, CAUTION, ACTION = "safe", "caution", "action"
LANGUAGES = ("ja", "en")
RANK = {"high": 3, "medium": 2, "low": 1}
# Incident log actions a customer sees (what the provider did); merges, splits and raw alert moves are
# the SOC's bookkeeping and stay internal.
PUBLIC_ACTIONS = frozenset({"created", "status", "assign", "note"})


def status_of(severities: list[str]) -> str:
    worst = max((RANK.get(s, 1) for s in severities), default=0)
    return ACTION if worst >= RANK["high"] else (CAUTION if worst else SAFE)


def open_incidents(db: Database, viewer: User | None, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's open incidents, the most serious and most recent first."""
    found = [
        i for i in incidents.list_incidents(db, viewer, tenant_id, limit=200) if i["status"] != "resolved"
    ]
    found.sort(key=lambda i: i["last_seen"], reverse=True)
    found.sort(key=lambda i: RANK.get(i["severity"], 1), reverse=True)
    return found


def overview(db: Database, viewer: User | None, tenant_id: str) -> dict[str, Any]:
    """``status``, the ``focus`` (the incident or alert the status is about), ``incidents`` and the
    open ``loose_alerts`` not yet in an incident."""
    open_ones = open_incidents(db, viewer, tenant_id)
    loose = [
        a
        for a in list_alerts(db, viewer, tenant_id, limit=200)
        if a.status != AlertStatus.RESOLVED and a.incident_id is None
    ]
    loose.sort(key=lambda a: a.severity.rank, reverse=True)
    status = status_of([i["severity"] for i in open_ones] + [a.severity.value for a in loose])
    focus: dict[str, Any] | None = None
    top_incident = open_ones[0] if open_ones else None
    top_alert = loose[0] if loose else None
    if top_incident is not None and (
        top_alert is None or RANK.get(top_incident["severity"], 1) >= top_alert.severity.rank
    ):
        focus = {"kind": "incident", "incident": top_incident}
    elif top_alert is not None:
        focus = {"kind": "alert", "alert": top_alert, "high": top_alert.severity == Severity.HIGH}
    return {"status": status, "focus": focus, "incidents": open_ones, "loose_alerts": loose}


def provider_actions(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The incident's log entries a customer may read: when, what (``action`` and plain details), never
    who (staff e-mail addresses stay internal)."""
    out = []
    for entry in view.get("history", []):
        action = entry["action"]
        if action not in PUBLIC_ACTIONS:
            continue
        detail = entry.get("detail") or {}
        item: dict[str, Any] = {"at": datetime.fromisoformat(entry["at"]), "action": action}
        if action == "status":
            item["to"] = detail.get("to")
            item["resolution"] = detail.get("resolution")
        elif action == "assign":
            if not detail.get("to"):
                continue
        elif action == "note":
            item["text"] = str(detail.get("text", ""))
        out.append(item)
    return out


def phone_of(db: Database, viewer: User | None, tenant_id: str) -> str:
    """The user's phone number if one of the tenant's contacts has the user's e-mail address."""
    scope = visible_tenant(viewer, tenant_id)
    if viewer is None or scope is None:
        return ""
    with read_only(db) as uow:
        for contact in uow.contacts.list(scope):
            if contact.email and contact.phone and contact.email.lower() == viewer.email.lower():
                return contact.phone
    return ""


def set_language(db: Database, viewer: User, language: str) -> None:
    """The user's own language (pages and messages)."""
    if language not in LANGUAGES:
        raise ValidationError("language: ja or en")
    with unit_of_work(db) as uow:
        uow.users.set_language(viewer.id, language)
