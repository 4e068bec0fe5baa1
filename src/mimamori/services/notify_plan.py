"""Deciding what to send: outbox rows → notifications and escalation steps (digests and silent sensors:
:mod:`.notify_periodic`).

Each function runs in one transaction and only *queues* notifications (rows with an idempotency key);
``notify_delivery`` sends them. The pipeline writes an ``alert.created`` outbox row in the alert's own
transaction, so an alert that exists always gets its routing decision, exactly once: the outbox row is
marked processed in the same transaction that queues the notifications it leads to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from mimamori.config import Settings
from mimamori.domain import Alert, Contact, OnCallShift, Severity
from mimamori.errors import NotFoundError
from mimamori.notify.codec import notice_to_dict
from mimamori.notify.links import AckClaim, ack_url
from mimamori.notify.message import ChannelName, Notice
from mimamori.notify.notices import incident_notice, ticket_notice
from mimamori.notify.policy import DOCUMENT, Mode, NotifyPolicy, policy_from
from mimamori.notify.routing import (
    CUSTOMER,
    FIRST,
    LAST_STEP,
    Recipient,
    dedupe,
    first_contacts,
    next_step,
    soc_recipients,
    step_recipients,
)
from mimamori.services.incidents import incident_to_dict
from mimamori.services.tickets import ticket_to_dict
from mimamori.services.triage import PROFILE
from mimamori.storage import Database, Repositories, unit_of_work
from mimamori.storage.repositories import IncidentRow, OutboxMessage

STATE = "notify_state"  # per-tenant bookkeeping document: the last digest slot
OUTBOX_BATCH = 200


@dataclass(slots=True)
class PlanResult:
    outbox: int = 0
    queued: int = 0
    escalated: int = 0
    digests: int = 0
    silent: int = 0
    recovered: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


def default_policy(settings: Settings) -> NotifyPolicy:
    hour, minute = settings.notify_digest_time.split(":")
    return NotifyPolicy(
        escalation_minutes=settings.notify_escalation_minutes,
        quiet_hours=settings.notify_quiet_hours or None,
        digest_time=time(int(hour), int(minute)),
    )


def tenant_policy(uow: Repositories, settings: Settings, tenant_id: str) -> NotifyPolicy:
    return policy_from(uow.settings.get(tenant_id, DOCUMENT), default_policy(settings))


def soc_fallback(settings: Settings) -> list[Recipient]:
    if not settings.soc_email:
        return []
    return [Recipient("soc", "SOC", settings.language, ChannelName.EMAIL, settings.soc_email, "provider")]


@dataclass(slots=True)
class NoticeQueue:
    """Queues notices for recipients in the caller's transaction, counting what it did."""

    uow: Repositories
    settings: Settings
    now: datetime
    result: PlanResult

    def add(
        self,
        key: str,
        notice: Notice,
        recipient: Recipient,
        *,
        not_before: datetime | None = None,
        cause_at: datetime | None = None,
    ) -> None:
        queued = self.uow.notifications.add(
            {
                "tenant_id": notice.tenant_id,
                "incident_id": notice.incident_id,
                "kind": notice.kind.value,
                "channel": recipient.channel.value,
                "address": recipient.address,
                "recipient": recipient.key,
                "language": notice.language,
                "severity": notice.severity,
                "step": notice.escalation_step,
                "next_attempt_at": not_before or self.now,
                "notice": notice_to_dict(notice),
                "idempotency_key": f"{key}:{recipient.channel.value}:{recipient.address}"[:255],
                "cause_at": cause_at,
                "created_at": self.now,
            }
        )
        if queued is not None:
            self.result.queued += 1
            self.result.kinds[notice.kind.value] = self.result.kinds.get(notice.kind.value, 0) + 1


def _links(settings: Settings, recipient: Recipient, tenant_id: str, incident_id: str) -> tuple[str, str]:
    base = settings.public_url.rstrip("/")
    link = ack_url(base, settings.secret_key, AckClaim(tenant_id, incident_id, recipient.key))
    link += f"?lang={recipient.language}"  # the confirmation page speaks the recipient's language
    portal = f"{base}/portal" if recipient.audience == CUSTOMER else f"{base}/tenants/{tenant_id}"
    return link, portal


def _incident_view(uow: Repositories, row: IncidentRow) -> tuple[dict[str, Any], int]:
    """The incident as its notices show it, and how many alerts it has."""
    alerts = uow.alerts.of_incidents(row.tenant_id, [row.id])
    return incident_to_dict(row, alerts, uow.settings.get(row.tenant_id, PROFILE)), len(alerts)


def _queue_incident(
    queue: NoticeQueue,
    row: IncidentRow,
    recipients: Sequence[Recipient],
    *,
    step: int,
    policy: NotifyPolicy,
    cause_at: datetime | None,
    not_before: datetime | None = None,
) -> int:
    """Queue the incident's notice for each recipient; returns the incident's alert count."""
    view, count = _incident_view(queue.uow, row)
    tenant_name = queue.uow.tenants.get(row.tenant_id).name
    for recipient in dedupe(recipients):
        link, portal = _links(queue.settings, recipient, row.tenant_id, row.id)
        notice = incident_notice(
            view,
            audience=recipient.audience,
            language=recipient.language,
            tenant_name=tenant_name,
            step=step,
            escalation_minutes=policy.escalation_minutes,
            ack_url=link,
            portal_url=portal,
            created_at=cause_at,
        )
        key = f"incident:{row.id}:{row.severity}:{step}"
        queue.add(key, notice, recipient, not_before=not_before, cause_at=cause_at)
    return count


def _who(uow: Repositories, tenant_id: str, now: datetime) -> tuple[list[Contact], list[OnCallShift]]:
    return uow.contacts.list(tenant_id, active_only=True), uow.oncall.at(now)


@dataclass(slots=True)
class _Round:
    """What one outbox round reads once: each tenant's policy and contacts, each incident (routing
    changes none of them), the on-call shifts, and each incident's "immediate" mark (kept current when
    the round puts one). ``prefetch`` reads the incidents and policies of a round's alerts in one query
    per tenant and one for all policies."""

    policies: dict[str, NotifyPolicy] = field(default_factory=dict)
    incidents: dict[tuple[str, str], IncidentRow | None] = field(default_factory=dict)
    told: dict[tuple[str, str], str | None] = field(default_factory=dict)
    contacts: dict[str, list[Contact]] = field(default_factory=dict)
    shifts: list[OnCallShift] | None = None

    def prefetch(self, queue: NoticeQueue, alerts: Iterable[Alert]) -> None:
        wanted: dict[str, set[str]] = {}
        for alert in alerts:
            if alert.incident_id is not None:
                wanted.setdefault(alert.tenant_id, set()).add(alert.incident_id)
        for tenant_id, ids in wanted.items():
            rows = queue.uow.incidents.get_many(tenant_id, ids)
            self.incidents.update({(tenant_id, i): rows.get(i) for i in ids})
        documents = queue.uow.settings.get_many(list(wanted), DOCUMENT)
        defaults = default_policy(queue.settings)
        self.policies.update({t: policy_from(doc, defaults) for t, doc in documents.items()})

    def who(self, queue: NoticeQueue, tenant_id: str) -> tuple[list[Contact], list[OnCallShift]]:
        contacts = self.contacts.get(tenant_id)
        if contacts is None:
            contacts = self.contacts[tenant_id] = queue.uow.contacts.list(tenant_id, active_only=True)
        if self.shifts is None:
            self.shifts = queue.uow.oncall.at(queue.now)
        return contacts, self.shifts

    def policy(self, queue: NoticeQueue, tenant_id: str) -> NotifyPolicy:
        found = self.policies.get(tenant_id)
        if found is None:
            found = self.policies[tenant_id] = tenant_policy(queue.uow, queue.settings, tenant_id)
        return found

    def incident(self, queue: NoticeQueue, tenant_id: str, incident_id: str) -> IncidentRow | None:
        key = (tenant_id, incident_id)
        if key not in self.incidents:
            try:
                self.incidents[key] = queue.uow.incidents.get(tenant_id, incident_id)
            except NotFoundError:
                self.incidents[key] = None
        return self.incidents[key]

    def told_at(self, queue: NoticeQueue, tenant_id: str, incident_id: str) -> str | None:
        """The severity the incident's contacts were last told at once, or None."""
        key = (tenant_id, incident_id)
        if key not in self.told:
            mark = queue.uow.marks.get(tenant_id, incident_id, "immediate")
            self.told[key] = None if mark is None else mark[0]
        return self.told[key]


def _route_alert(queue: NoticeQueue, seen: _Round, alert: Alert | None, cause_at: datetime) -> None:
    uow, now = queue.uow, queue.now
    if alert is None or alert.incident_id is None:  # gone, or suppressed: no incident, no message
        return
    tenant_id = alert.tenant_id
    row = seen.incident(queue, tenant_id, alert.incident_id)
    if row is None or row.status == "resolved" or row.merged_into is not None:
        return
    policy = seen.policy(queue, tenant_id)
    if policy.mode(row.severity) is not Mode.IMMEDIATE:
        return  # the digest or the portal
    severity = Severity(row.severity)
    told = seen.told_at(queue, tenant_id, row.id)
    if told is not None and Severity(told).rank >= severity.rank:
        return  # already told at this severity (or higher): one message per incident, not per alert
    contacts, shifts = seen.who(queue, tenant_id)
    if severity is Severity.HIGH:
        recipients = step_recipients(FIRST, contacts, shifts, policy.local(now), soc_fallback(queue.settings))
        not_before = None  # never held by quiet hours
    else:
        recipients = first_contacts(contacts)
        not_before = policy.quiet_end(now)
    count = _queue_incident(
        queue, row, recipients, step=FIRST, policy=policy, cause_at=cause_at, not_before=not_before
    )
    uow.marks.put(tenant_id, row.id, "immediate", severity=row.severity, alert_count=count, at=now)
    seen.told[(tenant_id, row.id)] = row.severity
    if severity is Severity.HIGH:
        uow.escalations.start(tenant_id, row.id, now, now + policy.escalation)


def _route_ticket(queue: NoticeQueue, tenant_id: str, ticket_id: str) -> None:
    """A customer asked for help in the portal (相談する / 駆け付けを依頼): the SOC on-call hears at once."""
    try:
        ticket = ticket_to_dict(queue.uow.tickets.get(tenant_id, ticket_id))
    except NotFoundError:
        return
    tenant_name = queue.uow.tenants.get(tenant_id).name
    portal = f"{queue.settings.public_url.rstrip('/')}/soc/tickets"
    shifts = queue.uow.oncall.at(queue.now)
    for recipient in dedupe(soc_recipients(shifts, soc_fallback(queue.settings))):
        language = recipient.language
        notice = ticket_notice(ticket, language=language, tenant_name=tenant_name, portal_url=portal)
        queue.add(f"ticket:{ticket_id}", notice, recipient)


def process_outbox(db: Database, settings: Settings, now: datetime) -> PlanResult:
    """Route the alerts created since the last call (see the module docstring)."""
    result = PlanResult()
    with unit_of_work(db) as uow:
        queue = NoticeQueue(uow, settings, now, result)
        messages = uow.outbox.pending(limit=OUTBOX_BATCH)
        alerts = _alerts_of(uow, messages)
        seen = _Round()
        seen.prefetch(queue, alerts.values())
        for message in messages:
            if message.kind == "alert.created" and message.alert_id is not None:
                alert = alerts.get((message.tenant_id, message.alert_id))
                _route_alert(queue, seen, alert, message.created_at)
            elif message.kind == "ticket.created":
                _route_ticket(queue, message.tenant_id, str(message.payload.get("ticket_id", "")))
        uow.outbox.mark_sent_many([message.id for message in messages])
        result.outbox += len(messages)
    return result


def _alerts_of(uow: Repositories, messages: Sequence[OutboxMessage]) -> dict[tuple[str, str], Alert]:
    """The alerts the round's ``alert.created`` messages name, one query per tenant (each tenant's own:
    a message can only name its own tenant's alert)."""
    wanted: dict[str, list[str]] = {}
    for message in messages:
        if message.kind == "alert.created" and message.alert_id is not None:
            wanted.setdefault(message.tenant_id, []).append(message.alert_id)
    return {
        (tenant_id, alert.id): alert
        for tenant_id, ids in wanted.items()
        for alert in uow.alerts.get_many(tenant_id, ids)
    }


def escalate_due(db: Database, settings: Settings, now: datetime) -> PlanResult:
    """Send the next step of every 高 incident that nobody acknowledged in time."""
    result = PlanResult()
    with unit_of_work(db) as uow:
        queue = NoticeQueue(uow, settings, now, result)
        for escalation in uow.escalations.due(now):
            tenant_id, incident_id = escalation.tenant_id, escalation.incident_id
            row = uow.incidents.get(tenant_id, incident_id)
            if row.status != "new" or row.merged_into is not None:
                # The SOC took it up (or resolved or merged it): the incident is being handled.
                uow.escalations.acknowledge(tenant_id, incident_id, now, f"status:{row.status}")
                continue
            policy = tenant_policy(uow, settings, tenant_id)
            contacts, shifts = _who(uow, tenant_id, now)
            step = next_step(escalation.step, contacts, shifts, policy.local(now), soc_fallback(settings))
            if step is None:
                uow.escalations.advance(tenant_id, incident_id, LAST_STEP, None)
                continue
            number, recipients = step
            _queue_incident(queue, row, recipients, step=number, policy=policy, cause_at=None)
            due = now + policy.escalation if number < LAST_STEP else None
            uow.escalations.advance(tenant_id, incident_id, number, due)
            result.escalated += 1
    return result
