"""The shapes of ``/api/v1`` answers for the OpenAPI document (``/api/openapi.json``).

The services build plain dicts (the same shapes ``mimamori ... --json`` prints); these models describe
them. Every model allows extra keys, so a field a service adds later reaches clients before it is
described here — but a documented field must keep its name and type (that is the contract; clients
and the schemathesis test rely on it). Times are ISO 8601 strings with an offset, as the services
write them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    """Base of the answer models: extra keys pass through unchanged."""

    model_config = ConfigDict(extra="allow")


class Problem(BaseModel):
    """Every error answer: ``{"detail": "..."}`` (a list of field errors for a malformed request)."""

    detail: str | list[dict[str, Any]] = Field(
        description="What went wrong; for a request that does not match the schema, one entry per field."
    )


ERROR_TEXTS: dict[int, str] = {
    400: "The request body could not be read (bad encoding or compression).",
    401: "Not signed in: no session cookie and no valid bearer token.",
    403: "Signed in, but the role may not do this (or the CSRF token of a form is missing).",
    404: "No such object — also the answer for another tenant's object (tenant isolation).",
    413: "The body is larger than the server accepts.",
    422: "The request is well-formed JSON but a value is not acceptable.",
    429: "The server is busy; retry after the number of seconds in `Retry-After`.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each code documented with the ``Problem`` body."""
    return {code: {"model": Problem, "description": ERROR_TEXTS[code]} for code in codes}


# the answers every signed-in route may give
SIGNED_IN = errors(401, 403, 404, 422)


class Session(Out):
    id: str
    role: str = Field(description="provider_admin, analyst, technician, customer_admin or customer_viewer")
    tenant_id: str | None = Field(description="The customer's tenant; null for provider staff.")


class Credentials(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class IngestResult(Out):
    accepted: int = Field(description="Records queued for processing.")
    rejected: int = Field(description="Lines that were not JSON objects (quarantined).")


class Alert(Out):
    id: str
    tenant_id: str
    severity: str = Field(description="high, medium or low")
    severity_label: str = Field(description="高 / 中 / 低")
    title: str
    detector: str
    key: str
    host: str | None
    source_ip: str | None
    destination_ip: str | None
    first_seen: str
    last_seen: str
    count: int
    status: str
    description: str
    tags: list[str]


class TimelineEntry(Out):
    id: str
    detector: str
    key: str
    title: str
    severity: str
    category: str | None
    tactics: list[str]
    first_seen: str
    last_seen: str
    count: int


class HistoryEntry(Out):
    at: str
    actor: str
    action: str
    detail: dict[str, Any] | None


class Incident(Out):
    id: str
    tenant_id: str
    title: str
    severity: str
    severity_label: str
    score: int | float
    reasons: list[dict[str, Any]] = Field(description="Why the score: code, points and text per language.")
    category: str | None
    status: str = Field(description="new, acknowledged, investigating or resolved")
    resolution: str | None
    assignee: str | None
    host: str | None
    device: str | None
    opened_at: str
    last_seen: str
    alerts: list[str] = Field(description="Alert ids, oldest first.")
    timeline: list[TimelineEntry]
    guidance: dict[str, Any] = Field(description="What to do, per language (ja, en).")
    damage: dict[str, Any] = Field(description="Estimated damage range for the customer's profile.")
    history: list[HistoryEntry] | None = Field(None, description="The change log (single-incident answers).")


class SuppressionRule(Out):
    id: str
    tenant_id: str
    host: str | None
    detector: str | None
    key: str | None
    reason: str
    created_by: str
    created_at: str
    expires_at: str | None
    preview: int | None = Field(None, description="How many current alerts the rule would have hidden.")


class Preview(Out):
    preview: int


class Contact(Out):
    id: str
    tenant_id: str
    name: str
    role: str
    language: str
    email: str | None
    phone: str | None
    channels: list[str]
    endpoints: dict[str, str]
    hours: str | None
    priority: int
    active: bool


class NotifyPolicy(Out):
    high: str
    medium: str
    low: str
    escalation_minutes: int | None
    quiet_hours: str | None
    digest_time: str
    timezone: str


class Acknowledgement(Out):
    incident_id: str
    acknowledged: bool
    escalation_stopped: bool = Field(description="False when no notice escalation was waiting.")


class _NotificationFields(Out):
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
    status: str = Field(description="pending, sending, sent or dead")
    next_attempt_at: str
    last_error: str | None
    title: str
    created_at: str
    sent_at: str | None


class Notification(_NotificationFields):
    attempts: int = Field(description="Delivery attempts so far.")


class Attempt(Out):
    at: str
    ok: bool
    result: str
    duration_ms: int


class NotificationDetail(_NotificationFields):
    attempts: list[Attempt] = Field(description="Every delivery attempt, oldest first.")


class QueueStatus(Out):
    pending: int
    sent: int
    dead: int
    oldest_pending_seconds: float | None


class Queued(Out):
    queued: int


class Shift(Out):
    id: str
    name: str
    level: int
    language: str
    email: str | None
    phone: str | None
    channels: list[str]
    endpoints: dict[str, str]
    starts_at: str
    ends_at: str


class OperatingSystem(Out):
    family: str | None
    version: str | None
    evidence: dict[str, Any] | None = None


class Asset(Out):
    id: str
    ip: str | None
    mac: str | None
    hostname: str | None
    names: list[str]
    vendor: str | None
    private_mac: bool
    device_class: str
    os: OperatingSystem
    first_seen: str | None
    last_seen: str | None
    approved: bool
    approved_at: str | None
    approved_by: str | None


class NetworkMap(Out):
    tenant_id: str
    generated_at: str
    gateway: dict[str, Any] | None = Field(description="The UTM/router sensor, if the tenant has one.")
    subnets: list[dict[str, Any]] = Field(description="Devices grouped by subnet (cidr, devices).")
    services: list[dict[str, Any]] = Field(description="The most used external services.")
    summary: dict[str, int]
