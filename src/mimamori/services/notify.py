"""Notification rules and records for people: each tenant's rules, what was sent, dead letters, test
messages, and acknowledging an incident notice (link, portal, API, SOC). Contacts and the on-call rota
are in ``services.contacts``.

The same functions serve ``mimamori contacts|oncall|notify`` and ``/api/v1``. Customer users manage their
own tenant's contacts and rules and acknowledge their own incidents; the rota and the provider-wide
views are for provider staff.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from mimamori.config import Settings
from mimamori.domain import User
from mimamori.domain.contacts import check_email, check_phone
from mimamori.errors import NotFoundError, ValidationError
from mimamori.notify.codec import notice_to_dict
from mimamori.notify.links import AckClaim, read_ack
from mimamori.notify.message import ChannelName
from mimamori.notify.notices import trial_notice
from mimamori.notify.policy import DOCUMENT, NotifyPolicy, policy_from
from mimamori.services import contacts
from mimamori.services.alerts import visible_tenant
from mimamori.services.notify_plan import default_policy
from mimamori.storage import Database, Repositories, read_only, unit_of_work
from mimamori.storage.repositories import NotificationRow


def get_policy(db: Database, viewer: User | None, settings: Settings, tenant_id: str) -> NotifyPolicy:
    scope = contacts.tenant_scope(viewer, tenant_id)
    with read_only(db) as uow:
        return policy_from(uow.settings.get(scope, DOCUMENT), default_policy(settings))


def set_policy(
    db: Database, viewer: User | None, settings: Settings, tenant_id: str, changes: Mapping[str, Any]
) -> NotifyPolicy:
    """Change some of the tenant's rules (the others keep their values); ValidationError for bad ones."""
    scope = contacts.tenant_scope(viewer, tenant_id)
    contacts.may_edit(viewer)
    known = {"high", "medium", "low", "escalation_minutes", "quiet_hours", "digest_time", "timezone"}
    if set(changes) - known:
        raise ValidationError(f"unknown rule(s): {', '.join(sorted(set(changes) - known))}")
    with unit_of_work(db) as uow:
        current = uow.settings.get(scope, DOCUMENT) or {}
        document = {**current, **changes}
        policy = policy_from(document, default_policy(settings))
        uow.tenants.get(scope)
        uow.settings.put(scope, DOCUMENT, {k: v for k, v in policy.to_document().items() if k in document})
        return policy


def notification_to_dict(row: NotificationRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "incident_id": row.incident_id,
        "kind": row.kind,
        "channel": row.channel,
        "address": row.address,
        "recipient": row.recipient,
        "language": row.language,
        "severity": row.severity,
        "step": row.step,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at.isoformat(),
        "last_error": row.last_error,
        "title": str(row.notice.get("title", "")),
        "created_at": row.created_at.isoformat(),
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
    }


def list_notifications(
    db: Database, viewer: User | None, tenant_id: str | None, *, status: str | None = None, limit: int = 100
) -> list[NotificationRow]:
    """One tenant's notifications (a customer sees only theirs), or all of them for provider staff."""
    scope = visible_tenant(viewer, tenant_id)
    if scope is None:
        contacts.provider_only(viewer)
    with read_only(db) as uow:
        return uow.notifications.list(scope, status=status, limit=max(1, min(limit, 1000)))


def status(db: Database, viewer: User | None) -> dict[str, Any]:
    """Provider-wide counts by state and the age of the oldest undelivered notification."""
    contacts.provider_only(viewer)
    with read_only(db) as uow:
        counts = uow.notifications.counts()
        oldest = uow.notifications.oldest_pending()
    return {
        "pending": counts.get("pending", 0) + counts.get("sending", 0),
        "sent": counts.get("sent", 0),
        "dead": counts.get("dead", 0),
        "oldest_pending_seconds": round((contacts.now() - oldest).total_seconds(), 1) if oldest else None,
    }


def retry(db: Database, viewer: User | None, ids: Sequence[str] | None) -> int:
    """Dead letters back into the queue (all of them when ``ids`` is None)."""
    contacts.provider_only(viewer)
    with unit_of_work(db) as uow:
        return uow.notifications.retry(list(ids) if ids is not None else None, contacts.now())


def acknowledge_in(uow: Repositories, tenant_id: str, incident_id: str, by: str, now: datetime) -> bool:
    """Stop the incident's escalation (in the caller's transaction); False when nothing was waiting."""
    stopped = uow.escalations.acknowledge(tenant_id, incident_id, now, by)
    if stopped:
        uow.incidents.log(tenant_id, incident_id, by[:320], "acknowledged", {"notice": True})
    return stopped


def acknowledge(db: Database, viewer: User | None, tenant_id: str, incident_id: str) -> bool:
    """A signed-in user (customer or staff) acknowledges the incident's notice."""
    scope = contacts.tenant_scope(viewer, tenant_id)
    by = "cli" if viewer is None else viewer.email
    with unit_of_work(db) as uow:
        uow.incidents.get(scope, incident_id)  # NotFoundError for another tenant's
        return acknowledge_in(uow, scope, incident_id, by, contacts.now())


def read_link(db: Database, settings: Settings, token: str) -> tuple[AckClaim, dict[str, Any]]:
    """The claim of an acknowledgement link and what the confirmation page shows (AuthError if invalid)."""
    claim = read_ack(settings.secret_key, token)
    with read_only(db) as uow:
        try:
            row = uow.incidents.get(claim.tenant_id, claim.incident_id)
            tenant = uow.tenants.get(claim.tenant_id)
        except NotFoundError:
            raise NotFoundError("incident not found") from None
        escalation = uow.escalations.get(claim.tenant_id, claim.incident_id)
    return claim, {
        "tenant_name": tenant.name,
        "title": row.title,
        "severity": row.severity,
        "device": row.host or row.device or "-",
        "acknowledged_at": escalation.acknowledged_at if escalation else None,
        "acknowledged_by": escalation.acknowledged_by if escalation else None,
    }


def acknowledge_link(db: Database, settings: Settings, token: str) -> bool:
    """Acknowledge through a signed link (the POST behind the link's one button)."""
    claim = read_ack(settings.secret_key, token)
    with unit_of_work(db) as uow:
        uow.incidents.get(claim.tenant_id, claim.incident_id)
        return acknowledge_in(
            uow, claim.tenant_id, claim.incident_id, f"link:{claim.recipient}", contacts.now()
        )


def queue_test(
    db: Database, viewer: User | None, settings: Settings, channel: str, address: str, *, language: str = "ja"
) -> str:
    """Queue a test message to ``address`` over ``channel``; returns its id (the notifier sends it)."""
    contacts.provider_only(viewer)
    try:
        name = ChannelName(channel)
    except ValueError:
        raise ValidationError(f"channel: one of {', '.join(c.value for c in ChannelName)}") from None
    if language not in contacts.LANGUAGES:
        raise ValidationError("language: ja or en")
    if name is ChannelName.EMAIL:
        address = check_email(address)
    elif name is ChannelName.PHONE:
        address = check_phone(address)
    else:
        address = contacts.public_url(address, name.value)
    notice = trial_notice(language=language, brand=settings.brand_name, portal_url=settings.public_url)
    now = contacts.now()
    with unit_of_work(db) as uow:
        queued = uow.notifications.add(
            {
                "tenant_id": None,
                "kind": notice.kind.value,
                "channel": name.value,
                "address": address,
                "recipient": "test",
                "language": language,
                "severity": notice.severity,
                "next_attempt_at": now,
                "notice": notice_to_dict(notice),
                "idempotency_key": f"test:{now.isoformat()}:{name.value}:{address}"[:255],
                "created_at": now,
            }
        )
    assert queued is not None  # the key holds the current time: it is new
    return queued


def get_notification(db: Database, viewer: User | None, notification_id: str) -> dict[str, Any]:
    """One notification with every attempt (provider staff)."""
    contacts.provider_only(viewer)
    with read_only(db) as uow:
        row = uow.notifications.get(notification_id)
        attempts = uow.notifications.attempts(notification_id)
    return {
        **notification_to_dict(row),
        "attempts": [
            {"at": a.at.isoformat(), "ok": a.ok, "result": a.result, "duration_ms": a.duration_ms}
            for a in attempts
        ],
    }


def awaiting(db: Database, viewer: User | None, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's notified incidents that nobody has acknowledged yet (the portal asks for it)."""
    scope = contacts.tenant_scope(viewer, tenant_id)
    with read_only(db) as uow:
        found = []
        for escalation in uow.escalations.awaiting(scope):
            row = uow.incidents.get(scope, escalation.incident_id)
            if row.status == "resolved" or row.merged_into is not None:
                continue
            found.append(
                {
                    "incident_id": row.id,
                    "title": row.title,
                    "severity": row.severity,
                    "device": row.host or row.device or "-",
                    "since": escalation.started_at,
                }
            )
    return found


def dead_letters(db: Database, viewer: User | None, limit: int = 20) -> list[dict[str, Any]]:
    """Provider-wide: notifications that could not be delivered (the SOC console shows them)."""
    return [notification_to_dict(r) for r in list_notifications(db, viewer, None, status="dead", limit=limit)]
