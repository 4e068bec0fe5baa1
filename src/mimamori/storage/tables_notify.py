"""Notification tables (migration 0007), kept beside ``tables`` on the same metadata.

``contacts`` (per tenant) and ``oncall_shifts`` (provider-wide) say who is told; ``notifications`` is one
message to one address over one channel, with its state machine (pending → sending → sent | dead) and a
unique idempotency key; ``notification_attempts`` records every try; ``escalations`` holds the ladder of
one 高 incident until somebody acknowledges it; ``notify_marks`` remembers what an incident was already
notified for (at once, at which severity; in a digest, with how many alerts), so nothing is sent twice.
"""

from __future__ import annotations

import sqlalchemy as sa

from mimamori.storage.tables import ID_LENGTH, JSONValue, UTCDateTime, _id, _tenant_fk, metadata

contacts = sa.Table(
    "contacts",
    metadata,
    _id(),
    _tenant_fk(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(64), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("phone", sa.String(32), nullable=True),
    sa.Column("channels", JSONValue, nullable=False),  # ["email", "slack", ...]
    sa.Column("endpoints", JSONValue, nullable=False),  # {"slack": url, "teams": url, "webhook": url}
    sa.Column("hours", sa.String(64), nullable=True),  # reachable hours, e.g. "Mon-Fri 09:00-18:00"
    sa.Column("priority", sa.Integer, nullable=False),  # 1 is told first; 2 on escalation; ...
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "tenant_id", "priority"),
)

oncall_shifts = sa.Table(
    "oncall_shifts",
    metadata,
    _id(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("phone", sa.String(32), nullable=True),
    sa.Column("channels", JSONValue, nullable=False),
    sa.Column("endpoints", JSONValue, nullable=False),
    sa.Column("level", sa.Integer, nullable=False),  # 1 primary, 2 backup
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "starts_at", "ends_at"),
)

notifications = sa.Table(
    "notifications",
    metadata,
    _id(),
    _tenant_fk(nullable=True),  # NULL: provider-wide (a channel test)
    sa.Column("incident_id", sa.String(ID_LENGTH), nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("address", sa.String(2048), nullable=False),
    sa.Column("recipient", sa.String(200), nullable=False),  # who: "contact:<id>", "oncall:<id>", ...
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("severity", sa.String(16), nullable=True),
    sa.Column("step", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("notice", JSONValue, nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Column("cause_at", UTCDateTime, nullable=True),  # when the alert that caused it was created
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "tenant_id", "created_at"),
)

notification_attempts = sa.Table(
    "notification_attempts",
    metadata,
    _id(),
    sa.Column("notification_id", sa.String(ID_LENGTH), sa.ForeignKey("notifications.id"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Index(None, "notification_id", "at"),
)

escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("incident_id", sa.String(ID_LENGTH), sa.ForeignKey("incidents.id"), primary_key=True),
    _tenant_fk(),
    sa.Column("step", sa.Integer, nullable=False),  # the last step sent
    sa.Column("state", sa.String(16), nullable=False),  # active | acknowledged | exhausted
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=True),  # when the next step goes out
    sa.Column("acknowledged_at", UTCDateTime, nullable=True),
    sa.Column("acknowledged_by", sa.String(320), nullable=True),
    sa.Index(None, "state", "due_at"),
)

notify_marks = sa.Table(
    "notify_marks",
    metadata,
    sa.Column("incident_id", sa.String(ID_LENGTH), sa.ForeignKey("incidents.id"), nullable=False),
    _tenant_fk(),
    sa.Column("kind", sa.String(16), nullable=False),  # "immediate" | "digest"
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("alerts", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("incident_id", "kind"),
)
