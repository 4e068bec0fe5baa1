"""A tenant's notification rules: what each severity does, escalation time, quiet hours, digest time.

Stored as the tenant settings document ``"notify"`` (the provider's defaults apply where a key is
missing). 高 is always notified at once and never held by quiet hours: the service's promise is that a
serious incident reaches a person around the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mimamori.domain.contacts import Window, parse_hours, reachable
from mimamori.errors import ValidationError

DOCUMENT = "notify"
DEFAULT_ESCALATION_MINUTES = 15  # a 高 incident nobody acknowledged within this goes to the next person
DEFAULT_QUIET_HOURS = "20:00-08:00"  # 中/低 messages wait until the morning
DEFAULT_DIGEST_TIME = time(8, 30)  # local time of the daily digest of 中 incidents
MAX_ESCALATION_MINUTES = 24 * 60
SEVERITIES = ("high", "medium", "low")


class Mode(StrEnum):
    IMMEDIATE = "immediate"  # at once to the contacts (高 also to the SOC on-call, with escalation)
    DIGEST = "digest"  # in the daily digest
    PORTAL = "portal"  # only the portal and the monthly report


@dataclass(frozen=True, slots=True)
class NotifyPolicy:
    high: Mode = Mode.IMMEDIATE
    medium: Mode = Mode.DIGEST
    low: Mode = Mode.PORTAL
    escalation_minutes: int = DEFAULT_ESCALATION_MINUTES
    quiet_hours: str | None = DEFAULT_QUIET_HOURS
    digest_time: time = DEFAULT_DIGEST_TIME
    timezone: str = "Asia/Tokyo"

    def mode(self, severity: str) -> Mode:
        return {"high": self.high, "medium": self.medium}.get(severity, self.low)

    @property
    def escalation(self) -> timedelta:
        return timedelta(minutes=self.escalation_minutes)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, now: datetime) -> datetime:
        return now.astimezone(self.zone)

    def _quiet(self) -> tuple[Window, ...]:
        return parse_hours(self.quiet_hours) if self.quiet_hours else ()

    def is_quiet(self, now: datetime) -> bool:
        """Whether ``now`` is in the quiet hours (for 中/低 only; 高 ignores them)."""
        windows = self._quiet()
        return bool(windows) and reachable(windows, self.local(now))

    def quiet_end(self, now: datetime) -> datetime:
        """The first moment at or after ``now`` outside the quiet hours (minute resolution, ≤ 1 day)."""
        moment = now
        for _ in range(24 * 60 + 1):
            if not self.is_quiet(moment):
                return moment
            moment = (moment + timedelta(minutes=1)).replace(second=0, microsecond=0)
        return now  # quiet all day long: do not hold messages forever

    def digest_slot(self, now: datetime) -> datetime:
        """The most recent scheduled digest time at or before ``now`` (moved out of quiet hours)."""
        local = self.local(now)
        slot = local.replace(
            hour=self.digest_time.hour, minute=self.digest_time.minute, second=0, microsecond=0
        )
        if slot > local:
            slot -= timedelta(days=1)
        moved = self.quiet_end(slot)
        if moved > local:  # today's moved slot is still ahead: the previous day's counts
            moved = self.quiet_end(slot - timedelta(days=1))
        return moved

    def to_document(self) -> dict[str, Any]:
        return {
            "high": self.high.value,
            "medium": self.medium.value,
            "low": self.low.value,
            "escalation_minutes": self.escalation_minutes,
            "quiet_hours": self.quiet_hours,
            "digest_time": self.digest_time.strftime("%H:%M"),
            "timezone": self.timezone,
        }


def _mode(value: Any, key: str) -> Mode:
    try:
        return Mode(str(value))
    except ValueError:
        raise ValidationError(f"{key}: one of {', '.join(m.value for m in Mode)}") from None


def _time(value: Any) -> time:
    try:
        hour, minute = str(value).split(":")
        return time(int(hour), int(minute))
    except ValueError:
        raise ValidationError(f"digest_time: a time of day like 08:30, not {value!r}") from None


def policy_from(document: Mapping[str, Any] | None, defaults: NotifyPolicy | None = None) -> NotifyPolicy:
    """The policy of a settings document over ``defaults``; ValidationError for a bad value."""
    policy = defaults or NotifyPolicy()
    doc = dict(document or {})
    changes: dict[str, Any] = {}
    for key in SEVERITIES:
        if key in doc:
            changes[key] = _mode(doc[key], key)
    if changes.get("high", Mode.IMMEDIATE) is not Mode.IMMEDIATE:
        raise ValidationError("high: 高 incidents are always notified at once")
    if "escalation_minutes" in doc:
        minutes = doc["escalation_minutes"]
        if (
            not isinstance(minutes, int)
            or isinstance(minutes, bool)
            or not 1 <= minutes <= MAX_ESCALATION_MINUTES
        ):
            raise ValidationError(f"escalation_minutes: a whole number from 1 to {MAX_ESCALATION_MINUTES}")
        changes["escalation_minutes"] = minutes
    if "quiet_hours" in doc:
        quiet = doc["quiet_hours"]
        if quiet is not None and not isinstance(quiet, str):
            raise ValidationError("quiet_hours: a window like 20:00-08:00, or null")
        parse_hours(quiet)  # raises on nonsense
        changes["quiet_hours"] = quiet or None
    if "digest_time" in doc:
        changes["digest_time"] = _time(doc["digest_time"])
    if "timezone" in doc:
        try:
            ZoneInfo(str(doc["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"timezone: unknown time zone {doc['timezone']!r}") from None
        changes["timezone"] = str(doc["timezone"])
    return replace(policy, **changes)
