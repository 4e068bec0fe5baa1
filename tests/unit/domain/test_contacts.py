"""Reachable hours, phone numbers and e-mail addresses of contacts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from mimamori.domain.contacts import Contact, check_email, check_phone, parse_hours, reachable
from mimamori.errors import ValidationError

TOKYO = ZoneInfo("Asia/Tokyo")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """2026-11-23 is a Monday: day 0 = Monday."""
    return datetime(2026, 11, 23 + day, hour, minute, tzinfo=TOKYO)


def test_empty_hours_mean_always() -> None:
    for text in (None, "", "always", "24/7"):
        assert parse_hours(text) == ()
        assert reachable(parse_hours(text), at(6, 3))


def test_weekday_office_hours() -> None:
    windows = parse_hours("Mon-Fri 09:00-18:00")
    assert reachable(windows, at(0, 9))
    assert reachable(windows, at(4, 17, 59))
    assert not reachable(windows, at(4, 18))
    assert not reachable(windows, at(0, 8, 59))
    assert not reachable(windows, at(5, 12))  # Saturday


def test_several_windows_and_wrapping_day_ranges() -> None:
    windows = parse_hours("Mon-Fri 09:00-18:00; Sat 10:00-12:00")
    assert reachable(windows, at(5, 11))
    assert not reachable(windows, at(6, 11))
    weekend = parse_hours("Sat-Mon 10:00-11:00")  # Saturday, Sunday, Monday
    assert reachable(weekend, at(6, 10, 30))
    assert reachable(weekend, at(0, 10, 30))
    assert not reachable(weekend, at(1, 10, 30))


def test_window_across_midnight_belongs_to_the_day_it_starts() -> None:
    windows = parse_hours("Fri 22:00-06:00")
    assert reachable(windows, at(4, 23))  # Friday night
    assert reachable(windows, at(5, 5))  # Saturday early morning
    assert not reachable(windows, at(4, 5))  # Friday early morning belongs to Thursday night
    assert not reachable(windows, at(5, 23))


@pytest.mark.parametrize(
    "text", ["Mon-Fri", "9-18", "Xyz 09:00-10:00", "25:00-26:00", "10:00-10:00", "Mon 9:00"]
)
def test_unreadable_hours_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_hours(text)


def test_phone_and_email_checks() -> None:
    assert check_phone("+81 3-1234-5678") == "+81312345678"
    for bad in ("0312345678", "+0123", "+81abc", "+8131234567890123"):
        with pytest.raises(ValidationError):
            check_phone(bad)
    assert check_email(" soumu@example.co.jp ") == "soumu@example.co.jp"
    for bad in ("a@b", "x y@example.com", "<a@example.com>", "a@example.com\r\nBcc: b@evil.test"):
        with pytest.raises(ValidationError):
            check_email(bad)


def test_contact_addresses_by_channel() -> None:
    contact = Contact(
        "c1",
        "t1",
        "総務 花子",
        "総務",
        email="a@example.com",
        phone="+81312345678",
        endpoints={"slack": "https://hooks.slack.com/x"},
    )
    assert contact.address("email") == "a@example.com"
    assert contact.address("phone") == "+81312345678"
    assert contact.address("slack") == "https://hooks.slack.com/x"
    assert contact.address("teams") is None
