"""The telephone/SMS interface: a signed ``mimamori.phone/v1`` JSON request to the provider's
telephony service (``ChannelSettings.phone_url``), which calls ``to`` and reads ``say`` aloud, or texts
``sms``. Signed like the generic webhook (``X-Mimamori-Signature`` with ``phone_secret``). The schema is
in ``docs/notifications-channels.md`` and ``docs/schemas/phone-v1.json``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from mimamori.errors import DeliveryError
from mimamori.notify.channels.base import (
    ChannelSettings,
    address_of,
    guarded,
    header_value,
    http_client,
    post_json,
)
from mimamori.notify.message import ChannelName, Delivery
from mimamori.notify.render import LANGUAGES, one_line, render_phone, safe_url

SCHEMA = "mimamori.phone/v1"
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def check_number(number: str) -> str:
    """``number`` if it is an E.164 number (``+81312345678``), else a non-retryable ``DeliveryError``."""
    compact = re.sub(r"[\s()-]", "", number)
    if not E164.fullmatch(compact):
        raise DeliveryError("invalid phone number: E.164 (+81...) required", retryable=False)
    return compact


def payload(delivery: Delivery, settings: ChannelSettings, to: str) -> dict[str, Any]:
    """The ``mimamori.phone/v1`` body of ``delivery`` to the number ``to``."""
    notice = delivery.notice
    text = render_phone(notice, settings.branding)
    return {
        "schema": SCHEMA,
        "delivery_id": delivery.id,
        "idempotency_key": delivery.idempotency_key,
        "attempt": delivery.attempt,
        "to": to,
        "language": notice.language if notice.language in LANGUAGES else LANGUAGES[0],
        "kind": str(notice.kind),
        "severity": notice.severity if notice.severity in ("high", "medium", "low") else None,
        "say": text.say,
        "sms": text.sms,
        "ack_url": safe_url(notice.ack_url),
        "incident_id": notice.incident_id,
        "tenant_id": notice.tenant_id,
        "tenant_name": one_line(notice.tenant_name),
        "escalation_step": notice.escalation_step,
        "contact_name": one_line(delivery.extra.get("name", ""), 100) or None,
    }


class PhoneChannel:
    """Asks the provider's telephony service to call or text a number."""

    name = ChannelName.PHONE

    def __init__(self, settings: ChannelSettings) -> None:
        self._settings = settings
        self._client = http_client(settings)

    def send(self, delivery: Delivery) -> str:
        def attempt() -> str:
            to = check_number(address_of(delivery, self.name))
            if not self._settings.phone_url:
                raise DeliveryError("phone channel not configured (phone_url is empty)")
            if not self._settings.phone_secret:
                raise DeliveryError("phone channel not configured (phone_secret is empty)")
            body = orjson.dumps(payload(delivery, self._settings, to))
            headers = {
                "Idempotency-Key": header_value(delivery.idempotency_key),
                "X-Mimamori-Event": str(delivery.notice.kind),
            }
            return post_json(
                self._client, self._settings.phone_url, body, headers, secret=self._settings.phone_secret
            )

        return guarded(attempt, "phone")

    def close(self) -> None:
        self._client.close()
