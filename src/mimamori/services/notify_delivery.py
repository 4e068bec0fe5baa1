"""Sending queued notifications: claim due rows, send each over its channel, record every attempt.

At-least-once with idempotency: a notification is marked sent in its own transaction right after the
channel accepted it, so a process killed in between sends it once more after its claim expires — with
the same ``Message-ID`` / ``Idempotency-Key``, which receivers use to collapse it. Temporary failures are
retried with exponential backoff; after ``notify_max_attempts`` (or at once for a permanent failure) the
notification is dead-lettered and shown to the provider.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mimamori.config import Settings
from mimamori.errors import DeliveryError
from mimamori.notify.backoff import gives_up, retry_delay
from mimamori.notify.channels import CHANNELS
from mimamori.notify.channels.base import Channel, ChannelSettings
from mimamori.notify.codec import notice_from_dict
from mimamori.notify.maildir import MailDirChannel
from mimamori.notify.message import Branding, ChannelName, Delivery
from mimamori.storage import Database, unit_of_work
from mimamori.storage.repositories import NotificationRow

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
CLAIM_BATCH = 50


def utcnow() -> datetime:
    return datetime.now(UTC)


def branding(settings: Settings) -> Branding:
    return Branding(
        name=settings.brand_name,
        color=settings.brand_color,
        logo_url=settings.brand_logo_url,
        footer=settings.brand_footer,
        public_url=settings.public_url,
    )


def channel_settings(settings: Settings) -> ChannelSettings:
    security = settings.smtp_security if settings.smtp_security in {"starttls", "tls", "none"} else "starttls"
    return ChannelSettings(
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_security=security,  # type: ignore[arg-type]
        smtp_username=settings.smtp_username or None,
        smtp_password=settings.smtp_password or None,
        smtp_from=settings.smtp_from,
        smtp_timeout=settings.smtp_timeout,
        smtp_ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
        webhook_secret=settings.webhook_secret or settings.derived_secret("webhook"),
        phone_url=settings.phone_webhook_url,
        phone_secret=settings.phone_webhook_secret or settings.derived_secret("phone"),
        http_timeout=settings.http_timeout,
        branding=branding(settings),
    )


@dataclass(slots=True)
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    full: bool = False  # the claim took as many as it could: more may be due

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.dead


class Deliverer:
    """Sends due notifications; one per process (it keeps channel connections open between rounds)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Clock = utcnow,
        channels: Mapping[ChannelName, Channel] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self._channels: dict[ChannelName, Channel] = dict(channels or {})
        self._config = channel_settings(settings)

    def _channel(self, name: ChannelName) -> Channel:
        channel = self._channels.get(name)
        if channel is not None:
            return channel
        if name is ChannelName.EMAIL and not self.settings.smtp_host:
            if self.settings.mail_dir is None:
                raise DeliveryError("e-mail is not configured: set MIMAMORI_SMTP_HOST", retryable=False)
            channel = MailDirChannel(self.settings.mail_dir, self._config)
        elif name is ChannelName.PHONE and not self.settings.phone_webhook_url:
            raise DeliveryError(
                "telephony is not configured: set MIMAMORI_PHONE_WEBHOOK_URL", retryable=False
            )
        else:
            channel = CHANNELS[name](self._config)
        self._channels[name] = channel
        return channel

    def _send(self, row: NotificationRow) -> str:
        delivery = Delivery(
            id=row.id,
            channel=ChannelName(row.channel),
            address=row.address,
            notice=notice_from_dict(row.notice),
            idempotency_key=row.idempotency_key,
            attempt=row.attempts + 1,
        )
        return self._channel(delivery.channel).send(delivery)

    def run_once(self, limit: int = CLAIM_BATCH) -> DeliveryStats:
        """Send what is due now; returns what happened."""
        stats = DeliveryStats()
        now = self.clock()
        with unit_of_work(self.db) as uow:
            rows = uow.notifications.claim(
                now, now + timedelta(seconds=self.settings.notify_lease_seconds), limit
            )
        stats.full = len(rows) >= limit
        for row in rows:
            started = time.monotonic()
            retryable, ok = True, False
            try:
                result = self._send(row)
                ok = True
            except DeliveryError as error:
                result, retryable = str(error), error.retryable
            except Exception as error:  # a channel bug must not stop the others; it is retried
                log.exception("channel %s failed unexpectedly", row.channel)
                result = f"unexpected error: {error.__class__.__name__}"
            took = int((time.monotonic() - started) * 1000)
            at = self.clock()
            retry_at = None
            if (
                not ok
                and retryable
                and not gives_up(row.attempts + 1, max_attempts=self.settings.notify_max_attempts)
            ):
                delay = retry_delay(
                    row.attempts + 1,
                    base=timedelta(seconds=self.settings.notify_retry_base_seconds),
                    cap=timedelta(seconds=self.settings.notify_retry_cap_seconds),
                )
                retry_at = at + delay
            with unit_of_work(self.db) as uow:
                uow.notifications.finish(
                    row.id, at, ok=ok, result=result, duration_ms=took, retry_at=retry_at
                )
            if ok:
                stats.sent += 1
            elif retry_at is not None:
                stats.retried += 1
            else:
                stats.dead += 1
                log.warning("notification %s dead-lettered: %s", row.id, result)
        return stats

    def close(self) -> None:
        for channel in self._channels.values():
            try:
                channel.close()
            except Exception:  # closing is best effort
                log.exception("closing channel %s", channel.name)
        self._channels.clear()
