"""Generic JSON webhook: the ``mimamori.notification/v1`` document, HMAC-signed (Stripe-style).

The body is documented in ``docs/notifications-channels.md`` and ``docs/schemas/notification-v1.json``.
Headers: ``Idempotency-Key`` (stable across retries), ``X-Mimamori-Event`` (the notice kind) and
``X-Mimamori-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`` (see
``notify.signing``). The secret is the contact's own (``delivery.extra["secret"]``) or the provider's
``webhook_secret``; with neither, the request is sent unsigned.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from mimamori.notify.channels.base import (
    ChannelSettings,
    address_of,
    guarded,
    header_value,
    http_client,
    post_json,
)
from mimamori.notify.message import ChannelName, Delivery, Notice
from mimamori.notify.render import LANGUAGES, format_time, one_line, paragraphs, safe_url

SCHEMA = "mimamori.notification/v1"
TEXT_LIMIT = 2000


def _iso(when: datetime | None) -> str | None:
    """ISO 8601 with an offset (a naive time is UTC)."""
    if when is None:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()


def notice_document(notice: Notice) -> dict[str, Any]:
    """The notice part of the webhook body: cleaned plain text, no markup."""
    return {
        "kind": str(notice.kind),
        "language": notice.language if notice.language in LANGUAGES else LANGUAGES[0],
        "tenant": {"id": notice.tenant_id, "name": one_line(notice.tenant_name)},
        "title": one_line(notice.title),
        "summary": "\n".join(paragraphs(notice.summary, TEXT_LIMIT))[:TEXT_LIMIT],
        "severity": notice.severity if notice.severity in ("high", "medium", "low") else None,
        "steps": [one_line(s, 500) for s in notice.steps[:3]],
        "facts": [{"label": one_line(f.label, 60), "value": one_line(f.value, 500)} for f in notice.facts],
        "items": [
            {
                "incident_id": item.incident_id,
                "severity": item.severity,
                "title": one_line(item.title),
                "device": one_line(item.device),
                "when": _iso(item.when),
                "when_display": format_time(item.when),
                "url": safe_url(item.url),
            }
            for item in notice.items
        ],
        "incident_id": notice.incident_id,
        "ack_url": safe_url(notice.ack_url),
        "portal_url": safe_url(notice.portal_url),
        "escalation_step": notice.escalation_step,
        "created_at": _iso(notice.created_at),
    }


def payload(delivery: Delivery, settings: ChannelSettings) -> dict[str, Any]:
    """The whole ``mimamori.notification/v1`` body of ``delivery``."""
    return {
        "schema": SCHEMA,
        "delivery_id": delivery.id,
        "idempotency_key": delivery.idempotency_key,
        "attempt": delivery.attempt,
        "provider": one_line(settings.branding.name, 80),
        "notice": notice_document(delivery.notice),
    }


def encode(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document)


class WebhookChannel:
    """POSTs the signed JSON document to the contact's URL."""

    name = ChannelName.WEBHOOK

    def __init__(self, settings: ChannelSettings) -> None:
        self._settings = settings
        self._client = http_client(settings)

    def send(self, delivery: Delivery) -> str:
        def attempt() -> str:
            url = address_of(delivery, self.name)
            body = encode(payload(delivery, self._settings))
            headers = {
                "Idempotency-Key": header_value(delivery.idempotency_key),
                "X-Mimamori-Event": str(delivery.notice.kind),
            }
            secret = delivery.extra.get("secret") or self._settings.webhook_secret
            return post_json(self._client, url, body, headers, secret=secret)

        return guarded(attempt, "webhook")

    def close(self) -> None:
        self._client.close()
