"""What one notification says and where it goes, independent of the channel that carries it.

A ``Notice`` is built once by the services (texts already in the recipient's language, from the triage
guidance); each channel renders it its own way (an e-mail with HTML and plain text, a Slack or Teams
card, a signed JSON webhook, a short text for the telephony service). A ``Delivery`` is one notice to
one address over one channel; its ``idempotency_key`` is stable across retries and restarts, and every
channel passes it on (e-mail ``Message-ID``, webhook ``Idempotency-Key`` header), so a receiver can
collapse the rare duplicate that an at-least-once transport produces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class NoticeKind(StrEnum):
    """Why a notification is sent."""

    INCIDENT = "incident"  # a new incident (or one that rose to 高) — sent at once
    ESCALATION = "escalation"  # nobody acknowledged a 高 incident in time: the next person is told
    DIGEST = "digest"  # the daily summary of 中 incidents
    SENSOR_SILENT = "sensor_silent"  # a sensor sent nothing for longer than its gap: the monitor is blind
    SENSOR_RECOVERED = "sensor_recovered"  # the silent sensor speaks again
    TEST = "test"  # `mimamori notify test`: check a channel's settings
    TICKET = "ticket"  # a customer pressed 相談する / 駆け付けを依頼 in the portal: the SOC on-call is told


class ChannelName(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    SLACK = "slack"
    TEAMS = "teams"
    PHONE = "phone"


@dataclass(frozen=True, slots=True)
class Branding:
    """The provider's look in every message (``Settings.brand_*``)."""

    name: str = "mimamori"  # the provider's service name, shown as sender and in the header
    color: str = "#1f5fa8"  # header colour (#rrggbb; anything else falls back to the default)
    logo_url: str | None = None  # an https URL; omitted when unset
    footer: str = ""  # the provider's contact line (desk phone, e-mail, hours)
    public_url: str = "http://127.0.0.1:8000"  # the portal's base URL, for links


@dataclass(frozen=True, slots=True)
class Fact:
    """One labelled value shown in a notification (device, time, detector...). Both are plain text."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One incident in a daily digest."""

    incident_id: str
    severity: str  # "high" | "medium" | "low"
    title: str
    device: str
    when: datetime
    url: str  # the incident in the portal


@dataclass(frozen=True, slots=True)
class Notice:
    """The content of a notification, in one language. All strings are plain text (may come from logs:
    channels escape them for their format)."""

    kind: NoticeKind
    language: str  # "ja" | "en"
    tenant_id: str | None  # None for provider-wide notices (a test message)
    tenant_name: str
    title: str  # one line; the e-mail subject adds the brand and severity
    summary: str  # what happened, in plain words
    severity: str | None = None  # "high" | "medium" | "low"
    steps: tuple[str, ...] = ()  # what to do now (at most three)
    facts: tuple[Fact, ...] = ()
    items: tuple[DigestItem, ...] = ()  # digests only
    incident_id: str | None = None
    ack_url: str | None = None  # signed one-click acknowledgement link (incident/escalation notices)
    portal_url: str | None = None  # where to read more
    escalation_step: int = 0  # 0: first notification; 1, 2, ...: escalations
    created_at: datetime | None = None  # when the cause (the alert) was created


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notice to one address over one channel."""

    id: str
    channel: ChannelName
    address: str  # e-mail address, webhook URL, or E.164 phone number
    notice: Notice
    idempotency_key: str
    attempt: int = 1  # 1 for the first try
    extra: dict[str, str] = field(default_factory=dict)  # channel-specific options (e.g. a contact's name)
