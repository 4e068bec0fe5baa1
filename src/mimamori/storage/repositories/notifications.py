"""Notifications (one message to one address), their attempts, escalations and what was already sent.

Delivery state: ``pending`` → ``sending`` (claimed by a worker until ``claimed_until``) → ``sent``, or back
to ``pending`` with a later ``next_attempt_at`` after a temporary failure, or ``dead`` after the retry
limit. A worker that dies while sending leaves its claim to expire; the next worker takes the row again.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, Update, and_, bindparam, func, insert, or_, select, update

from mimamori.errors import NotFoundError
from mimamori.storage.dialect import built_once, insert_for
from mimamori.storage.scoping import found, scoped
from mimamori.storage.tables import alerts, incidents, new_id
from mimamori.storage.tables_notify import escalations, notification_attempts, notifications, notify_marks

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
ACTIVE, ACKNOWLEDGED, EXHAUSTED = "active", "acknowledged", "exhausted"


# The delivery loop's statements, built once (a busy notifier runs them several times a second, and
# building a statement costs more than running it): parameters are bound at execution.
_N = notifications.c
_QUEUE: dict[str, Any] = {}  # backend name -> ``_queue``
_DUE = or_(
    and_(_N.status == PENDING, _N.next_attempt_at <= bindparam("now", type_=_N.next_attempt_at.type)),
    and_(_N.status == SENDING, _N.claimed_until < bindparam("now", type_=_N.claimed_until.type)),
)
_CLAIM_IDS = (
    select(_N.id)
    .where(_DUE)
    .order_by(_N.next_attempt_at, _N.created_at, _N.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_CLAIM = (
    update(notifications)
    .where(_N.id.in_(bindparam("ids", expanding=True)), _DUE)
    .values(status=SENDING, claimed_until=bindparam("until", type_=_N.claimed_until.type))
    .returning(*notifications.c)
)


def _queue(connection: Connection) -> Any:
    return (
        insert_for(connection, notifications)
        .on_conflict_do_nothing(index_elements=[_N.idempotency_key])
        .returning(_N.id)
    )


def _finish(**values: Any) -> Update:
    return (
        update(notifications)
        .where(_N.id == bindparam("b_id"))
        .values(**values, claimed_until=None, attempts=_N.attempts + 1)
    )


_FINISH_SENT = _finish(status=SENT, sent_at=bindparam("b_at", type_=_N.sent_at.type), last_error=None)
_FINISH_RETRY = _finish(
    status=PENDING,
    next_attempt_at=bindparam("b_retry_at", type_=_N.next_attempt_at.type),
    last_error=bindparam("b_error"),
)
_FINISH_DEAD = _finish(status=DEAD, last_error=bindparam("b_error"))
_ATTEMPT = insert(notification_attempts)


@dataclass(frozen=True, slots=True)
class NotificationRow:
    id: str
    tenant_id: str | None
    incident_id: str | None
    kind: str
    channel: str
    address: str
    recipient: str
    language: str
    severity: str | None
    step: int
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    notice: dict[str, Any]
    idempotency_key: str
    cause_at: datetime | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime
    ok: bool
    result: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class EscalationRow:
    incident_id: str
    tenant_id: str
    step: int
    state: str
    started_at: datetime
    due_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class NotificationRepository:
    """Notification rows on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, values: Mapping[str, Any]) -> str | None:
        """Queue one notification: its id, or None (nothing changes) when its key was queued before."""
        if values.get("tenant_id") is not None:
            scoped(notifications, values["tenant_id"])  # validates the tenant id
        row = {"attempts": 0, "status": PENDING, "step": 0, **values, "id": new_id()}
        statement = built_once(_QUEUE, self._connection, _queue)
        return self._connection.execute(statement, row).scalar_one_or_none()

    def claim(self, now: datetime, until: datetime, limit: int) -> builtins.list[NotificationRow]:
        """Provider-wide: take up to ``limit`` due notifications (and expired claims) for sending."""
        ids = [row.id for row in self._connection.execute(_CLAIM_IDS, {"now": now, "limit": limit})]
        if not ids:
            return []
        claimed = self._connection.execute(_CLAIM, {"ids": ids, "now": now, "until": until})
        rows = [_row(row._mapping) for row in claimed]
        return sorted(rows, key=lambda r: (r.next_attempt_at, r.created_at, r.id))

    def finish(
        self,
        notification_id: str,
        at: datetime,
        *,
        ok: bool,
        result: str,
        duration_ms: int,
        retry_at: datetime | None = None,
    ) -> None:
        """Record one attempt: sent (``ok``), retried at ``retry_at``, or dead (neither)."""
        error = result[:2000]
        if ok:
            statement, values = _FINISH_SENT, {"b_id": notification_id, "b_at": at}
        elif retry_at is not None:
            statement = _FINISH_RETRY
            values = {"b_id": notification_id, "b_retry_at": retry_at, "b_error": error}
        else:
            statement, values = _FINISH_DEAD, {"b_id": notification_id, "b_error": error}
        if self._connection.execute(statement, values).rowcount == 0:
            raise NotFoundError(f"notification {notification_id} not found")
        self._connection.execute(
            _ATTEMPT,
            {
                "id": new_id(),
                "notification_id": notification_id,
                "at": at,
                "ok": ok,
                "result": error,
                "duration_ms": duration_ms,
            },
        )

    def get(self, notification_id: str) -> NotificationRow:
        query = select(notifications).where(notifications.c.id == notification_id)
        return _row(found(self._connection.execute(query).first(), "notification", notification_id))

    def list(
        self, tenant_id: str | None, *, status: str | None = None, limit: int = 100
    ) -> builtins.list[NotificationRow]:
        """Newest first: one tenant's notifications, or (``tenant_id`` None) the provider's view of all."""
        query = select(notifications)
        if tenant_id is not None:
            query = query.where(scoped(notifications, tenant_id))
        if status is not None:
            query = query.where(notifications.c.status == status)
        query = query.order_by(notifications.c.created_at.desc(), notifications.c.id).limit(limit)
        return [_row(row._mapping) for row in self._connection.execute(query)]

    def attempts(self, notification_id: str) -> builtins.list[Attempt]:
        query = (
            select(notification_attempts)
            .where(notification_attempts.c.notification_id == notification_id)
            .order_by(notification_attempts.c.at, notification_attempts.c.id)
        )
        return [Attempt(r.at, r.ok, r.result, r.duration_ms) for r in self._connection.execute(query)]

    def counts(self) -> dict[str, int]:
        """Provider-wide: notifications by status."""
        query = select(notifications.c.status, func.count()).group_by(notifications.c.status)
        return {row[0]: int(row[1]) for row in self._connection.execute(query)}

    def oldest_pending(self) -> datetime | None:
        query = select(func.min(notifications.c.created_at)).where(
            notifications.c.status.in_((PENDING, SENDING))
        )
        value: datetime | None = self._connection.execute(query).scalar_one_or_none()
        return value

    def retry(self, ids: builtins.list[str] | None, now: datetime) -> int:
        """Dead notifications back to pending (all of them when ``ids`` is None); returns how many."""
        statement = update(notifications).where(notifications.c.status == DEAD)
        if ids is not None:
            statement = statement.where(notifications.c.id.in_(ids))
        statement = statement.values(status=PENDING, next_attempt_at=now, attempts=0)
        return self._connection.execute(statement).rowcount

    def latencies(self, since: datetime) -> builtins.list[float]:
        """Seconds from the cause (alert creation) to delivery, for sent notifications since ``since``."""
        query = select(notifications.c.cause_at, notifications.c.sent_at).where(
            notifications.c.status == SENT,
            notifications.c.cause_at.is_not(None),
            notifications.c.cause_at >= since,
        )
        return [(sent - cause).total_seconds() for cause, sent in self._connection.execute(query)]


class EscalationRepository:
    """The escalation ladder of 高 incidents."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def start(self, tenant_id: str, incident_id: str, now: datetime, due_at: datetime | None) -> bool:
        """Begin escalating an incident (False when it already has an escalation)."""
        scoped(escalations, tenant_id)
        statement = (
            insert_for(self._connection, escalations)
            .values(
                incident_id=incident_id,
                tenant_id=tenant_id,
                step=0,
                state=ACTIVE if due_at else EXHAUSTED,
                started_at=now,
                due_at=due_at,
            )
            .on_conflict_do_nothing(index_elements=[escalations.c.incident_id])
            .returning(escalations.c.incident_id)
        )
        return self._connection.execute(statement).first() is not None

    def get(self, tenant_id: str, incident_id: str) -> EscalationRow | None:
        query = select(escalations).where(
            scoped(escalations, tenant_id), escalations.c.incident_id == incident_id
        )
        row = self._connection.execute(query).first()
        return None if row is None else _escalation(row._mapping)

    def due(self, now: datetime, limit: int = 100) -> builtins.list[EscalationRow]:
        """Provider-wide: active escalations whose next step is due."""
        query = (
            select(escalations)
            .where(escalations.c.state == ACTIVE, escalations.c.due_at <= now)
            .order_by(escalations.c.due_at)
            .limit(limit)
        )
        return [_escalation(row._mapping) for row in self._connection.execute(query)]

    def advance(self, tenant_id: str, incident_id: str, step: int, due_at: datetime | None) -> None:
        """The ladder moved to ``step``; ``due_at`` None: it was the last step."""
        statement = (
            update(escalations)
            .where(
                scoped(escalations, tenant_id),
                escalations.c.incident_id == incident_id,
                escalations.c.state == ACTIVE,
            )
            .values(step=step, due_at=due_at, state=ACTIVE if due_at is not None else EXHAUSTED)
        )
        self._connection.execute(statement)

    def acknowledge(self, tenant_id: str, incident_id: str, at: datetime, by: str) -> bool:
        """Stop the ladder; False when the incident has no escalation or it was acknowledged before."""
        statement = (
            update(escalations)
            .where(
                scoped(escalations, tenant_id),
                escalations.c.incident_id == incident_id,
                escalations.c.acknowledged_at.is_(None),
            )
            .values(state=ACKNOWLEDGED, acknowledged_at=at, acknowledged_by=by[:320], due_at=None)
        )
        return self._connection.execute(statement).rowcount == 1

    def awaiting(self, tenant_id: str) -> builtins.list[EscalationRow]:
        """The tenant's incidents that were notified and nobody has acknowledged yet."""
        query = select(escalations).where(
            scoped(escalations, tenant_id), escalations.c.acknowledged_at.is_(None)
        )
        return [_escalation(row._mapping) for row in self._connection.execute(query)]


class MarkRepository:
    """What each incident was already notified for (so nothing is sent twice)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, tenant_id: str, incident_id: str, kind: str) -> tuple[str, int] | None:
        """(severity, alert count) of the last ``kind`` notification of the incident, or None."""
        query = select(notify_marks.c.severity, notify_marks.c.alerts).where(
            scoped(notify_marks, tenant_id),
            notify_marks.c.incident_id == incident_id,
            notify_marks.c.kind == kind,
        )
        row = self._connection.execute(query).first()
        return None if row is None else (row.severity, row.alerts)

    def put(
        self, tenant_id: str, incident_id: str, kind: str, *, severity: str, alert_count: int, at: datetime
    ) -> None:
        statement = insert_for(self._connection, notify_marks).values(
            incident_id=incident_id,
            tenant_id=tenant_id,
            kind=kind,
            severity=severity,
            alerts=alert_count,
            at=at,
        )
        statement = statement.on_conflict_do_update(
            index_elements=["incident_id", "kind"],
            set_={"severity": statement.excluded.severity, "alerts": statement.excluded.alerts, "at": at},
        )
        self._connection.execute(statement)

    def digest_candidates(
        self, tenant_id: str, severities: builtins.list[str]
    ) -> builtins.list[tuple[str, int, int]]:
        """Open, unmerged incidents of ``severities``: (incident id, alert count, alerts already digested)."""
        counted = (
            select(alerts.c.incident_id, func.count().label("n"))
            .where(scoped(alerts, tenant_id), alerts.c.incident_id.is_not(None))
            .group_by(alerts.c.incident_id)
            .subquery()
        )
        marks = (
            select(notify_marks.c.incident_id, notify_marks.c.alerts)
            .where(scoped(notify_marks, tenant_id), notify_marks.c.kind == "digest")
            .subquery()
        )
        query = (
            select(incidents.c.id, counted.c.n, func.coalesce(marks.c.alerts, 0))
            .join(counted, counted.c.incident_id == incidents.c.id)
            .outerjoin(marks, marks.c.incident_id == incidents.c.id)
            .where(
                scoped(incidents, tenant_id),
                incidents.c.severity.in_(severities),
                incidents.c.status != "resolved",
                incidents.c.merged_into.is_(None),
            )
            .order_by(incidents.c.opened_at, incidents.c.id)
        )
        return [(i, int(n), int(done)) for i, n, done in self._connection.execute(query)]


def _row(row: RowMapping) -> NotificationRow:
    return NotificationRow(**{name: row[name] for name in NotificationRow.__dataclass_fields__})


def _escalation(row: RowMapping) -> EscalationRow:
    return EscalationRow(**{name: row[name] for name in EscalationRow.__dataclass_fields__})
