"""Who is told, step by step: the escalation ladder of a 高 incident and the recipients of other notices.

The ladder (each step only when nobody acknowledged the previous one within the tenant's escalation time;
a step with nobody to tell is skipped):

0. at once: the customer's first contacts (lowest priority number) and the SOC on-call (primary);
1. the customer's next contacts who are reachable now;
2. the SOC on-call again — the backup analyst when one is on shift — marked as an escalation;
3. the telephone webhook: the on-call analysts' phones and the first contacts' phones if reachable now.

Telephone is used only in the last step; e-mail and chat channels in the others. Reachable hours decide
whether a contact is tried in an escalation step or a call (an e-mail can wait in a mailbox; a call at
3 a.m. to the general-affairs clerk is not what the customer agreed to).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mimamori.domain.contacts import Contact, OnCallShift, parse_hours, reachable
from mimamori.errors import ValidationError
from mimamori.notify.message import ChannelName

CUSTOMER, PROVIDER = "customer", "provider"
WRITTEN = (ChannelName.EMAIL, ChannelName.SLACK, ChannelName.TEAMS, ChannelName.WEBHOOK)
FIRST, NEXT_CONTACT, SOC_AGAIN, TELEPHONE = 0, 1, 2, 3
LAST_STEP = TELEPHONE


@dataclass(frozen=True, slots=True)
class Recipient:
    key: str  # "contact:<id>", "oncall:<id>" or "soc" (the provider's fallback address)
    name: str
    language: str
    channel: ChannelName
    address: str
    audience: str  # CUSTOMER or PROVIDER: what the message says depends on it


def _can_reach(contact: Contact, local: datetime) -> bool:
    try:
        return reachable(parse_hours(contact.hours), local)
    except ValidationError:
        return True  # stored hours are validated on input; an unreadable value must not hide a contact


def contact_recipients(contact: Contact, channels: Sequence[ChannelName] = WRITTEN) -> list[Recipient]:
    found = []
    for name in contact.channels:
        try:
            channel = ChannelName(name)
        except ValueError:
            continue
        address = contact.address(channel.value)
        if channel in channels and address:
            found.append(
                Recipient(f"contact:{contact.id}", contact.name, contact.language, channel, address, CUSTOMER)
            )
    return found


def shift_recipients(shift: OnCallShift, channels: Sequence[ChannelName] = WRITTEN) -> list[Recipient]:
    found = []
    for name in shift.channels:
        try:
            channel = ChannelName(name)
        except ValueError:
            continue
        address = shift.address(channel.value)
        if channel in channels and address:
            found.append(
                Recipient(f"oncall:{shift.id}", shift.name, shift.language, channel, address, PROVIDER)
            )
    return found


def tiers(contacts: Sequence[Contact]) -> list[list[Contact]]:
    """Active contacts grouped by priority, first-told group first."""
    groups: dict[int, list[Contact]] = {}
    for contact in contacts:
        if contact.active:
            groups.setdefault(contact.priority, []).append(contact)
    return [groups[p] for p in sorted(groups)]


def soc_recipients(
    shifts: Sequence[OnCallShift], fallback: Sequence[Recipient], *, backup: bool = False
) -> list[Recipient]:
    """The on-call analysts (primary; the backup when ``backup`` and one is on shift), else ``fallback``."""
    primary = [s for s in shifts if s.level <= 1]
    chosen = primary
    if backup:
        chosen = [s for s in shifts if s.level > 1] or primary
    found = [r for shift in chosen for r in shift_recipients(shift)]
    return found or list(fallback)


def first_contacts(contacts: Sequence[Contact]) -> list[Recipient]:
    groups = tiers(contacts)
    return [r for c in groups[0] for r in contact_recipients(c)] if groups else []


def step_recipients(
    step: int,
    contacts: Sequence[Contact],
    shifts: Sequence[OnCallShift],
    local: datetime,
    fallback: Sequence[Recipient] = (),
) -> list[Recipient]:
    """Who step ``step`` of the ladder tells (``local`` is the tenant's local time)."""
    groups = tiers(contacts)
    if step == FIRST:
        return first_contacts(contacts) + soc_recipients(shifts, fallback)
    if step == NEXT_CONTACT:
        later = [c for group in groups[1:] for c in group if _can_reach(c, local)]
        return [r for c in later for r in contact_recipients(c)]
    if step == SOC_AGAIN:
        return soc_recipients(shifts, fallback, backup=True)
    if step == TELEPHONE:
        phones = [r for s in shifts for r in shift_recipients(s, (ChannelName.PHONE,))]
        first = [c for c in (groups[0] if groups else []) if _can_reach(c, local)]
        phones += [r for c in first for r in contact_recipients(c, (ChannelName.PHONE,))]
        return phones
    return []


def next_step(
    after: int,
    contacts: Sequence[Contact],
    shifts: Sequence[OnCallShift],
    local: datetime,
    fallback: Sequence[Recipient] = (),
) -> tuple[int, list[Recipient]] | None:
    """The first step after ``after`` that has somebody to tell, or None when the ladder is exhausted."""
    for step in range(after + 1, LAST_STEP + 1):
        recipients = step_recipients(step, contacts, shifts, local, fallback)
        if recipients:
            return step, recipients
    return None


def silence_recipients(
    contacts: Sequence[Contact], shifts: Sequence[OnCallShift], fallback: Sequence[Recipient] = ()
) -> list[Recipient]:
    """A blind sensor: the SOC on-call, and the customer's first contacts (their device may be off)."""
    return soc_recipients(shifts, fallback) + first_contacts(contacts)


def dedupe(recipients: Sequence[Recipient]) -> list[Recipient]:
    """One message per (channel, address), first occurrence kept."""
    seen: set[tuple[str, str]] = set()
    out = []
    for r in recipients:
        mark = (r.channel.value, r.address.lower())
        if mark not in seen:
            seen.add(mark)
            out.append(r)
    return out
