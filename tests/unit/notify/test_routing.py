"""The escalation ladder and the recipients of each notice, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from mimamori.domain import Contact, OnCallShift
from mimamori.notify.message import ChannelName
from mimamori.notify.routing import (
    FIRST,
    LAST_STEP,
    NEXT_CONTACT,
    SOC_AGAIN,
    TELEPHONE,
    Recipient,
    dedupe,
    next_step,
    silence_recipients,
    step_recipients,
)

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
OFFICE = NOW.astimezone(ZoneInfo("Asia/Tokyo"))  # Thursday 11:00
NIGHT = OFFICE.replace(hour=3)

CLERK = Contact(
    "c1",
    "t",
    "総務",
    "総務",
    email="soumu@a.example",
    phone="+81311112222",
    channels=("email", "phone"),
    hours="Mon-Fri 09:00-18:00",
    priority=1,
)
BOSS = Contact(
    "c2",
    "t",
    "社長",
    "代表",
    language="en",
    email="boss@a.example",
    channels=("email", "slack"),
    endpoints={"slack": "https://hooks.slack.example/x"},
    priority=2,
    hours="Mon-Fri 09:00-18:00",
)
INACTIVE = Contact("c3", "t", "退職者", "", email="old@a.example", priority=1, active=False)
PRIMARY = OnCallShift(
    "s1",
    "Analyst 1",
    NOW - timedelta(hours=1),
    NOW + timedelta(hours=8),
    level=1,
    email="a1@soc.example",
    phone="+81399990001",
    channels=("email", "phone"),
)
BACKUP = OnCallShift(
    "s2",
    "Analyst 2",
    NOW - timedelta(hours=1),
    NOW + timedelta(hours=8),
    level=2,
    email="a2@soc.example",
    channels=("email",),
)
FALLBACK = [Recipient("soc", "SOC", "ja", ChannelName.EMAIL, "soc@provider.example", "provider")]


def pairs(recipients: list[Recipient]) -> set[tuple[str, str]]:
    return {(r.channel.value, r.address) for r in recipients}


def test_first_step_tells_first_contacts_and_primary_on_call_never_by_phone() -> None:
    found = step_recipients(FIRST, [CLERK, BOSS, INACTIVE], [PRIMARY, BACKUP], OFFICE, FALLBACK)
    assert pairs(found) == {("email", "soumu@a.example"), ("email", "a1@soc.example")}
    assert {r.audience for r in found} == {"customer", "provider"}


def test_ladder_order_and_reachable_hours() -> None:
    contacts, shifts = [CLERK, BOSS], [PRIMARY, BACKUP]
    assert pairs(step_recipients(NEXT_CONTACT, contacts, shifts, OFFICE)) == {
        ("email", "boss@a.example"),
        ("slack", "https://hooks.slack.example/x"),
    }
    assert step_recipients(NEXT_CONTACT, contacts, shifts, NIGHT) == []  # the boss is not reachable at 3 a.m.
    assert pairs(step_recipients(SOC_AGAIN, contacts, shifts, OFFICE)) == {("email", "a2@soc.example")}
    assert pairs(step_recipients(TELEPHONE, contacts, shifts, OFFICE)) == {
        ("phone", "+81399990001"),
        ("phone", "+81311112222"),
    }
    assert pairs(step_recipients(TELEPHONE, contacts, shifts, NIGHT)) == {("phone", "+81399990001")}


def test_empty_steps_are_skipped_and_the_ladder_ends() -> None:
    contacts, shifts = [CLERK, BOSS], [PRIMARY, BACKUP]
    assert next_step(FIRST, contacts, shifts, NIGHT)[0] == SOC_AGAIN  # type: ignore[index]
    assert next_step(FIRST, contacts, shifts, OFFICE)[0] == NEXT_CONTACT  # type: ignore[index]
    assert next_step(LAST_STEP, contacts, shifts, OFFICE) is None
    # Without anyone with a phone, the telephone step has nobody and the ladder ends after the SOC step.
    assert next_step(SOC_AGAIN, [BOSS], [BACKUP], OFFICE) is None


def test_without_on_call_the_fallback_mailbox_is_used() -> None:
    assert pairs(step_recipients(FIRST, [CLERK], [], OFFICE, FALLBACK)) == {
        ("email", "soumu@a.example"),
        ("email", "soc@provider.example"),
    }
    assert pairs(step_recipients(SOC_AGAIN, [CLERK], [PRIMARY], OFFICE, FALLBACK)) == {
        ("email", "a1@soc.example")
    }
    assert pairs(silence_recipients([CLERK], [], FALLBACK)) == {
        ("email", "soc@provider.example"),
        ("email", "soumu@a.example"),
    }


def test_channels_without_an_address_and_unknown_channels_are_ignored() -> None:
    odd = Contact("c9", "t", "x", "", email=None, channels=("email", "fax", "teams"), priority=1)
    assert step_recipients(FIRST, [odd], [], OFFICE) == []


def test_dedupe_keeps_one_message_per_address() -> None:
    twice = [
        FALLBACK[0],
        FALLBACK[0],
        Recipient("x", "X", "en", ChannelName.EMAIL, "SOC@provider.example", "provider"),
    ]
    assert len(dedupe(twice)) == 1
