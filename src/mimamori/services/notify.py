"""Notification settings and records for people: contacts, the on-call rota, each tenant's rules,
what was sent, dead letters, and acknowledging an incident notice (link, portal, API, SOC).

The same functions serve ``mimamori contacts|oncall|notify`` and ``/api/v1``. Customer users manage their
own tenant's contacts and rules and acknowledge their own incidents; the rota and the provider-wide
views are for provider staff.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from mimamori.config import Settings
from mimamori.domain import Contact, OnCallShift, User
from mimamori.domain.contacts import CHANNEL_NAMES, check_email, check_phone, parse_hours
from mimamori.errors import NotFoundError, PermissionDeniedError, ValidationError
from mimamori.notify.codec import notice_to_dict
from mimamori.notify.links import AckClaim, read_ack
from mimamori.notify.message import ChannelName
from mimamori.notify.notices import trial_notice
from mimamori.notify.policy import DOCUMENT, NotifyPolicy, policy_from
from mimamori.services.alerts import visible_tenant
from mimamori.services.notify_plan import default_policy
from mimamori.storage import Database, Repositories, read_only, unit_of_work
from mimamori.storage.repositories import NotificationRow

LANGUAGES = ("ja", "en")
MAX_URL = 2048


def _now() -> datetime:
    return datetime.now(UTC)


def _provider(viewer: User | None) -> None:
    if viewer is not None and not viewer.role.is_provider:
        raise PermissionDeniedError("provider staff only")


def _scope(viewer: User | None, tenant_id: str) -> str:
    scope = visible_tenant(viewer, tenant_id)
    assert scope is not None
    return scope


def _may_edit(viewer: User | None) -> None:
    if viewer is not None and viewer.role.value == "customer_viewer":
        raise PermissionDeniedError("viewers cannot change settings")


def _url(value: Any, what: str) -> str:
    """An https URL on the Internet: a customer-supplied webhook must not reach into the provider's own
    network (loopback, private, link-local addresses or local names are refused)."""
    text = str(value or "").strip()
    if not text.startswith("https://") or len(text) > MAX_URL or any(c.isspace() for c in text):
        raise ValidationError(f"{what}: an https:// URL")
    host = (urlsplit(text).hostname or "").rstrip(".").lower()
    if not host or host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise ValidationError(f"{what}: the URL must point to a public host")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return text
    if not address.is_global:
        raise ValidationError(f"{what}: the URL must point to a public host")
    return text


def clean_person(values: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validated contact/on-call fields (unknown keys are refused, so a typo is not silently lost)."""
    known = {
        "name",
        "role",
        "language",
        "email",
        "phone",
        "channels",
        "endpoints",
        "hours",
        "priority",
        "active",
        "level",
        "starts_at",
        "ends_at",
    }
    unknown = set(values) - known
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    if "name" in values or not partial:
        name = " ".join(str(values.get("name") or "").split())
        if not name or len(name) > 200:
            raise ValidationError("name: 1-200 characters")
        out["name"] = name
    if "role" in values or not partial:
        out["role"] = " ".join(str(values.get("role") or "").split())[:64]
    if "language" in values or not partial:
        language = str(values.get("language") or "ja")
        if language not in LANGUAGES:
            raise ValidationError("language: ja or en")
        out["language"] = language
    if "email" in values:
        out["email"] = check_email(str(values["email"])) if values["email"] else None
    if "phone" in values:
        out["phone"] = check_phone(str(values["phone"])) if values["phone"] else None
    if "endpoints" in values or not partial:
        endpoints = dict(values.get("endpoints") or {})
        if set(endpoints) - {"slack", "teams", "webhook"}:
            raise ValidationError("endpoints: slack, teams and webhook only")
        out["endpoints"] = {k: _url(v, k) for k, v in endpoints.items() if v}
    if "channels" in values or not partial:
        channels = list(values.get("channels") or ["email"])
        bad = [c for c in channels if c not in CHANNEL_NAMES]
        if bad:
            raise ValidationError(f"channels: {', '.join(CHANNEL_NAMES)}")
        out["channels"] = sorted(set(channels), key=channels.index)
    if "hours" in values:
        hours = str(values["hours"] or "").strip() or None
        parse_hours(hours)
        out["hours"] = hours
    if "priority" in values:
        priority = values["priority"]
        if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 9:
            raise ValidationError("priority: 1 (told first) to 9")
        out["priority"] = priority
    if "active" in values:
        out["active"] = bool(values["active"])
    return out


def _check_reachable(values: Mapping[str, Any]) -> None:
    for channel in values.get("channels", ()):
        if channel == "email" and not values.get("email"):
            raise ValidationError("the e-mail channel needs an e-mail address")
        if channel == "phone" and not values.get("phone"):
            raise ValidationError("the phone channel needs a phone number")
        if channel in {"slack", "teams", "webhook"} and channel not in values.get("endpoints", {}):
            raise ValidationError(f"the {channel} channel needs its URL")


def contact_to_dict(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "tenant_id": contact.tenant_id,
        "name": contact.name,
        "role": contact.role,
        "language": contact.language,
        "email": contact.email,
        "phone": contact.phone,
        "channels": list(contact.channels),
        "endpoints": dict(contact.endpoints),
        "hours": contact.hours,
        "priority": contact.priority,
        "active": contact.active,
    }


def add_contact(db: Database, viewer: User | None, tenant_id: str, values: Mapping[str, Any]) -> Contact:
    scope = _scope(viewer, tenant_id)
    _may_edit(viewer)
    clean = {"priority": 1, "email": None, "phone": None, **clean_person(values)}
    if {"level", "starts_at", "ends_at"} & set(clean):
        raise ValidationError("level, starts_at and ends_at belong to on-call shifts")
    _check_reachable(clean)
    with unit_of_work(db) as uow:
        return uow.contacts.add(scope, clean)


def update_contact(
    db: Database, viewer: User | None, tenant_id: str, contact_id: str, values: Mapping[str, Any]
) -> Contact:
    scope = _scope(viewer, tenant_id)
    _may_edit(viewer)
    with unit_of_work(db) as uow:
        current = contact_to_dict(uow.contacts.get(scope, contact_id))
        clean = clean_person(values, partial=True)
        _check_reachable({**current, **clean})
        return uow.contacts.update(scope, contact_id, clean)


def list_contacts(db: Database, viewer: User | None, tenant_id: str) -> list[Contact]:
    scope = _scope(viewer, tenant_id)
    with read_only(db) as uow:
        return uow.contacts.list(scope)


def remove_contact(db: Database, viewer: User | None, tenant_id: str, contact_id: str) -> None:
    scope = _scope(viewer, tenant_id)
    _may_edit(viewer)
    with unit_of_work(db) as uow:
        uow.contacts.remove(scope, contact_id)


def shift_to_dict(shift: OnCallShift) -> dict[str, Any]:
    return {
        "id": shift.id,
        "name": shift.name,
        "level": shift.level,
        "language": shift.language,
        "email": shift.email,
        "phone": shift.phone,
        "channels": list(shift.channels),
        "endpoints": dict(shift.endpoints),
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
    }


def add_shift(db: Database, viewer: User | None, values: Mapping[str, Any]) -> OnCallShift:
    _provider(viewer)
    clean = {
        "email": None,
        "phone": None,
        **clean_person({k: v for k, v in values.items() if k not in {"level", "starts_at", "ends_at"}}),
    }
    clean.pop("role", None)
    level = values.get("level", 1)
    if level not in (1, 2):
        raise ValidationError("level: 1 (primary) or 2 (backup)")
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if not isinstance(starts, datetime) or not isinstance(ends, datetime) or starts.tzinfo is None:
        raise ValidationError("starts_at and ends_at: times with a time zone")
    if ends <= starts:
        raise ValidationError("a shift ends after it starts")
    _check_reachable(clean)
    with unit_of_work(db) as uow:
        return uow.oncall.add({**clean, "level": level, "starts_at": starts, "ends_at": ends})


def list_shifts(db: Database, viewer: User | None, *, current_only: bool = False) -> list[OnCallShift]:
    _provider(viewer)
    with read_only(db) as uow:
        return uow.oncall.at(_now()) if current_only else uow.oncall.list(ending_after=_now())


def remove_shift(db: Database, viewer: User | None, shift_id: str) -> None:
    _provider(viewer)
    with unit_of_work(db) as uow:
        uow.oncall.remove(shift_id)


def get_policy(db: Database, viewer: User | None, settings: Settings, tenant_id: str) -> NotifyPolicy:
    scope = _scope(viewer, tenant_id)
    with read_only(db) as uow:
        return policy_from(uow.settings.get(scope, DOCUMENT), default_policy(settings))


def set_policy(
    db: Database, viewer: User | None, settings: Settings, tenant_id: str, changes: Mapping[str, Any]
) -> NotifyPolicy:
    """Change some of the tenant's rules (the others keep their values); ValidationError for bad ones."""
    scope = _scope(viewer, tenant_id)
    _may_edit(viewer)
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
        _provider(viewer)
    with read_only(db) as uow:
        return uow.notifications.list(scope, status=status, limit=max(1, min(limit, 1000)))


def status(db: Database, viewer: User | None) -> dict[str, Any]:
    """Provider-wide counts by state and the age of the oldest undelivered notification."""
    _provider(viewer)
    with read_only(db) as uow:
        counts = uow.notifications.counts()
        oldest = uow.notifications.oldest_pending()
    return {
        "pending": counts.get("pending", 0) + counts.get("sending", 0),
        "sent": counts.get("sent", 0),
        "dead": counts.get("dead", 0),
        "oldest_pending_seconds": round((_now() - oldest).total_seconds(), 1) if oldest else None,
    }


def retry(db: Database, viewer: User | None, ids: Sequence[str] | None) -> int:
    """Dead letters back into the queue (all of them when ``ids`` is None)."""
    _provider(viewer)
    with unit_of_work(db) as uow:
        return uow.notifications.retry(list(ids) if ids is not None else None, _now())


def acknowledge_in(uow: Repositories, tenant_id: str, incident_id: str, by: str, now: datetime) -> bool:
    """Stop the incident's escalation (in the caller's transaction); False when nothing was waiting."""
    stopped = uow.escalations.acknowledge(tenant_id, incident_id, now, by)
    if stopped:
        uow.incidents.log(tenant_id, incident_id, by[:320], "acknowledged", {"notice": True})
    return stopped


def acknowledge(db: Database, viewer: User | None, tenant_id: str, incident_id: str) -> bool:
    """A signed-in user (customer or staff) acknowledges the incident's notice."""
    scope = _scope(viewer, tenant_id)
    by = "cli" if viewer is None else viewer.email
    with unit_of_work(db) as uow:
        uow.incidents.get(scope, incident_id)  # NotFoundError for another tenant's
        return acknowledge_in(uow, scope, incident_id, by, _now())


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
        return acknowledge_in(uow, claim.tenant_id, claim.incident_id, f"link:{claim.recipient}", _now())


def queue_test(
    db: Database, viewer: User | None, settings: Settings, channel: str, address: str, *, language: str = "ja"
) -> str:
    """Queue a test message to ``address`` over ``channel``; returns its id (the notifier sends it)."""
    _provider(viewer)
    try:
        name = ChannelName(channel)
    except ValueError:
        raise ValidationError(f"channel: one of {', '.join(c.value for c in ChannelName)}") from None
    if language not in LANGUAGES:
        raise ValidationError("language: ja or en")
    if name is ChannelName.EMAIL:
        address = check_email(address)
    elif name is ChannelName.PHONE:
        address = check_phone(address)
    else:
        address = _url(address, name.value)
    notice = trial_notice(language=language, brand=settings.brand_name, portal_url=settings.public_url)
    now = _now()
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
    _provider(viewer)
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
    scope = _scope(viewer, tenant_id)
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
