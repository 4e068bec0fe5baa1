"""Who is told: a customer's contacts, the provider's on-call rota, and when they can be reached.

Reachable hours are written the way people say them: ``"Mon-Fri 09:00-18:00"``, several windows joined by
``;`` (``"Mon-Fri 09:00-18:00; Sat 10:00-12:00"``), windows across midnight (``"22:00-06:00"``: every
day), or empty for "always". They are read in the tenant's local time (Asia/Tokyo by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time

from mimamori.errors import ValidationError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(
    r"^\s*(?:(?P<d1>[a-z]{3})(?:\s*-\s*(?P<d2>[a-z]{3}))?\s+)?"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})\s*$"
)
CHANNEL_NAMES = ("email", "webhook", "slack", "teams", "phone")
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")  # E.164
_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


@dataclass(frozen=True, slots=True)
class Window:
    """One reachable window: on ``days`` (0 = Monday), from ``start`` to ``end`` (may cross midnight)."""

    days: frozenset[int]
    start: time
    end: time

    def contains(self, local: datetime) -> bool:
        now = local.time()
        if self.start <= self.end:
            return local.weekday() in self.days and self.start <= now < self.end
        # Across midnight: the evening part belongs to the day it starts, the morning part to the day before.
        if now >= self.start:
            return local.weekday() in self.days
        return now < self.end and (local.weekday() - 1) % 7 in self.days


def _clock(hour: str, minute: str, text: str) -> time:
    h, m = int(hour), int(minute)
    if h == 24 and m == 0:
        return time(23, 59, 59, 999999)
    if h > 23 or m > 59:
        raise ValidationError(f"not a time of day in {text!r}")
    return time(h, m)


def _days(first: str | None, last: str | None, text: str) -> frozenset[int]:
    if first is None:
        return frozenset(range(7))
    if first not in DAYS or (last is not None and last not in DAYS):
        raise ValidationError(f"unknown day in {text!r} (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)")
    a = DAYS.index(first)
    b = DAYS.index(last) if last is not None else a
    return frozenset((a + i) % 7 for i in range((b - a) % 7 + 1))


def parse_hours(text: str | None) -> tuple[Window, ...]:
    """The windows of ``text``; an empty tuple means always reachable. ValidationError when unreadable."""
    if text is None or not text.strip() or text.strip().lower() in {"always", "24h", "24/7"}:
        return ()
    windows = []
    for part in text.lower().split(";"):
        if not part.strip():
            continue
        match = _WINDOW.match(part)
        if match is None:
            raise ValidationError(
                f"cannot read reachable hours {part.strip()!r} (example: Mon-Fri 09:00-18:00)"
            )
        start = _clock(match["h1"], match["m1"], part)
        end = _clock(match["h2"], match["m2"], part)
        if start == end:
            raise ValidationError(f"empty window {part.strip()!r}")
        windows.append(Window(_days(match["d1"], match["d2"], part), start, end))
    return tuple(windows)


def reachable(windows: tuple[Window, ...], local: datetime) -> bool:
    """Whether ``local`` (the tenant's local time) falls in the windows (always, when there are none)."""
    return not windows or any(w.contains(local) for w in windows)


def check_phone(value: str) -> str:
    value = value.strip().replace(" ", "").replace("-", "")
    if not _PHONE.match(value):
        raise ValidationError("phone numbers are written in E.164 form, e.g. +81312345678")
    return value


def check_email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValidationError(f"not an e-mail address: {value[:80]!r}")
    return value


@dataclass(frozen=True, slots=True)
class Contact:
    """A person at the customer who is told about incidents (not necessarily a portal user)."""

    id: str
    tenant_id: str
    name: str
    role: str  # free text: 代表者, 総務, IT担当 ...
    language: str = "ja"
    email: str | None = None
    phone: str | None = None  # E.164; used by the telephone step of an escalation
    channels: tuple[str, ...] = ("email",)
    endpoints: dict[str, str] = field(default_factory=dict)  # slack/teams/webhook URLs
    hours: str | None = None  # reachable hours (see the module docstring)
    priority: int = 1  # 1 is told first; 2 when 1 does not acknowledge; ...
    active: bool = True

    def address(self, channel: str) -> str | None:
        """Where ``channel`` reaches this contact, or None."""
        if channel == "email":
            return self.email
        if channel == "phone":
            return self.phone
        return self.endpoints.get(channel)


@dataclass(frozen=True, slots=True)
class OnCallShift:
    """A provider analyst on call between ``starts_at`` and ``ends_at`` (level 1 primary, 2 backup)."""

    id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    level: int = 1
    language: str = "ja"
    email: str | None = None
    phone: str | None = None
    channels: tuple[str, ...] = ("email",)
    endpoints: dict[str, str] = field(default_factory=dict)

    def address(self, channel: str) -> str | None:
        if channel == "email":
            return self.email
        if channel == "phone":
            return self.phone
        return self.endpoints.get(channel)

    def covers(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at
