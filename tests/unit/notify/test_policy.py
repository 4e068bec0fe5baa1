"""Per-tenant notification rules: modes by severity, quiet hours, digest slots, validation."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from mimamori.errors import ValidationError
from mimamori.notify.policy import Mode, NotifyPolicy, policy_from

TOKYO = ZoneInfo("Asia/Tokyo")


def jst(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TOKYO).astimezone(UTC)


def test_defaults_follow_the_issue() -> None:
    policy = NotifyPolicy()
    assert policy.mode("high") is Mode.IMMEDIATE
    assert policy.mode("medium") is Mode.DIGEST
    assert policy.mode("low") is Mode.PORTAL


def test_quiet_hours_and_their_end() -> None:
    policy = NotifyPolicy(quiet_hours="20:00-08:00")
    assert policy.is_quiet(jst(26, 23))
    assert policy.is_quiet(jst(27, 7, 59))
    assert not policy.is_quiet(jst(26, 12))
    assert policy.quiet_end(jst(26, 23, 10)) == jst(27, 8)
    assert policy.quiet_end(jst(26, 12)) == jst(26, 12)
    assert not NotifyPolicy(quiet_hours=None).is_quiet(jst(26, 23))


def test_digest_slot_is_the_latest_scheduled_time_outside_quiet_hours() -> None:
    policy = NotifyPolicy(digest_time=time(8, 30), quiet_hours="20:00-08:00")
    assert policy.digest_slot(jst(26, 9)) == jst(26, 8, 30)
    assert policy.digest_slot(jst(26, 8, 29)) == jst(25, 8, 30)
    early = NotifyPolicy(digest_time=time(7, 0), quiet_hours="20:00-08:00")  # moved to the end of quiet hours
    assert early.digest_slot(jst(26, 7, 30)) == jst(25, 8)
    assert early.digest_slot(jst(26, 8, 1)) == jst(26, 8)


def test_document_round_trip_and_partial_documents() -> None:
    policy = policy_from({"medium": "immediate", "escalation_minutes": 5, "quiet_hours": None})
    assert policy.medium is Mode.IMMEDIATE
    assert policy.escalation_minutes == 5
    assert policy.quiet_hours is None
    assert policy_from(policy.to_document()) == policy
    assert policy_from(None) == NotifyPolicy()


@pytest.mark.parametrize(
    "document",
    [
        {"high": "digest"},
        {"medium": "sometimes"},
        {"escalation_minutes": 0},
        {"escalation_minutes": "15"},
        {"escalation_minutes": True},
        {"quiet_hours": "late"},
        {"digest_time": "8h"},
        {"timezone": "Mars/Olympus"},
    ],
)
def test_bad_rules_are_refused(document: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        policy_from(document)
