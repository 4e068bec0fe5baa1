"""A customer's contacts and the provider's on-call rota: who notifications go to.

The same functions serve ``mimamori contacts|oncall`` and ``/api/v1``. Customer admins manage their own
tenant's contacts (viewers only read them); the rota is for provider staff. Addresses are validated on
the way in: e-mail syntax, E.164 phone numbers, https URLs on public hosts only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from mimamori.domain import Contact, OnCallShift, User
from mimamori.domain.contacts import CHANNEL_NAMES, check_email, check_phone, parse_hours
from mimamori.errors import PermissionDeniedError, ValidationError
from mimamori.services.alerts import visible_tenant
from mimamori.storage import Database, read_only, unit_of_work

LANGUAGES = ("ja", "en")
MAX_URL = 2048


def now() -> datetime:
    return datetime.now(UTC)


def provider_only(viewer: User | None) -> None:
    if viewer is not None and not viewer.role.is_provider:
        raise PermissionDeniedError("provider staff only")


def tenant_scope(viewer: User | None, tenant_id: str) -> str:
    scope = visible_tenant(viewer, tenant_id)
    assert scope is not None
    return scope


def may_edit(viewer: User | None) -> None:
    if viewer is not None and viewer.role.value == "customer_viewer":
        raise PermissionDeniedError("viewers cannot change settings")


def public_url(value: Any, what: str) -> str:
    """An https URL on the Internet: a customer-supplied webhook must not reach into the provider's own
    network (loopback, private, link-local addresses or local names are refused)."""
    text = str(value or "").strip()
    if not text.startswith("https://") or len(text) > MAX_URL or any(c.isspace() for c in text):
        raise ValidationError(f"{what}: an https:// URL")
    host = (urlsplit(text).hostname or "").rstrip(".").lower()
    if not host or host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise ValidationError(f"{what}: the URL must point to a public host")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return text
    if not address.is_global:
        raise ValidationError(f"{what}: the URL must point to a public host")
    return text


def clean_person(values: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validated contact/on-call fields (unknown keys are refused, so a typo is not silently lost)."""
    known = {
        "name",
        "role",
        "language",
        "email",
        "phone",
        "channels",
        "endpoints",
        "hours",
        "priority",
        "active",
        "level",
        "starts_at",
        "ends_at",
    }
    unknown = set(values) - known
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    if "name" in values or not partial:
        name = " ".join(str(values.get("name") or "").split())
        if not name or len(name) > 200:
            raise ValidationError("name: 1-200 characters")
        out["name"] = name
    if "role" in values or not partial:
        out["role"] = " ".join(str(values.get("role") or "").split())[:64]
    if "language" in values or not partial:
        language = str(values.get("language") or "ja")
        if language not in LANGUAGES:
            raise ValidationError("language: ja or en")
        out["language"] = language
    if "email" in values:
        out["email"] = check_email(str(values["email"])) if values["email"] else None
    if "phone" in values:
        out["phone"] = check_phone(str(values["phone"])) if values["phone"] else None
    if "endpoints" in values or not partial:
        endpoints = dict(values.get("endpoints") or {})
        if set(endpoints) - {"slack", "teams", "webhook"}:
            raise ValidationError("endpoints: slack, teams and webhook only")
        out["endpoints"] = {k: public_url(v, k) for k, v in endpoints.items() if v}
    if "channels" in values or not partial:
        channels = list(values.get("channels") or ["email"])
        bad = [c for c in channels if c not in CHANNEL_NAMES]
        if bad:
            raise ValidationError(f"channels: {', '.join(CHANNEL_NAMES)}")
        out["channels"] = sorted(set(channels), key=channels.index)
    if "hours" in values:
        hours = str(values["hours"] or "").strip() or None
        parse_hours(hours)
        out["hours"] = hours
    if "priority" in values:
        priority = values["priority"]
        if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 9:
            raise ValidationError("priority: 1 (told first) to 9")
        out["priority"] = priority
    if "active" in values:
        out["active"] = bool(values["active"])
    return out


def _check_reachable(values: Mapping[str, Any]) -> None:
    for channel in values.get("channels", ()):
        if channel == "email" and not values.get("email"):
            raise ValidationError("the e-mail channel needs an e-mail address")
        if channel == "phone" and not values.get("phone"):
            raise ValidationError("the phone channel needs a phone number")
        if channel in {"slack", "teams", "webhook"} and channel not in values.get("endpoints", {}):
            raise ValidationError(f"the {channel} channel needs its URL")


def contact_to_dict(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "tenant_id": contact.tenant_id,
        "name": contact.name,
        "role": contact.role,
        "language": contact.language,
        "email": contact.email,
        "phone": contact.phone,
        "channels": list(contact.channels),
        "endpoints": dict(contact.endpoints),
        "hours": contact.hours,
        "priority": contact.priority,
        "active": contact.active,
    }


def add_contact(db: Database, viewer: User | None, tenant_id: str, values: Mapping[str, Any]) -> Contact:
    scope = tenant_scope(viewer, tenant_id)
    may_edit(viewer)
    clean = {"priority": 1, "email": None, "phone": None, **clean_person(values)}
    if {"level", "starts_at", "ends_at"} & set(clean):
        raise ValidationError("level, starts_at and ends_at belong to on-call shifts")
    _check_reachable(clean)
    with unit_of_work(db) as uow:
        return uow.contacts.add(scope, clean)


def update_contact(
    db: Database, viewer: User | None, tenant_id: str, contact_id: str, values: Mapping[str, Any]
) -> Contact:
    scope = tenant_scope(viewer, tenant_id)
    may_edit(viewer)
    with unit_of_work(db) as uow:
        existing = uow.contacts.get(scope, contact_id)
        clean = clean_person(values, partial=True)
        if not clean:
            return existing  # nothing to change (an empty PATCH)
        _check_reachable({**contact_to_dict(existing), **clean})
        return uow.contacts.update(scope, contact_id, clean)


def list_contacts(db: Database, viewer: User | None, tenant_id: str) -> list[Contact]:
    scope = tenant_scope(viewer, tenant_id)
    with read_only(db) as uow:
        return uow.contacts.list(scope)


def remove_contact(db: Database, viewer: User | None, tenant_id: str, contact_id: str) -> None:
    scope = tenant_scope(viewer, tenant_id)
    may_edit(viewer)
    with unit_of_work(db) as uow:
        uow.contacts.remove(scope, contact_id)


def shift_to_dict(shift: OnCallShift) -> dict[str, Any]:
    return {
        "id": shift.id,
        "name": shift.name,
        "level": shift.level,
        "language": shift.language,
        "email": shift.email,
        "phone": shift.phone,
        "channels": list(shift.channels),
        "endpoints": dict(shift.endpoints),
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
    }


def add_shift(db: Database, viewer: User | None, values: Mapping[str, Any]) -> OnCallShift:
    provider_only(viewer)
    clean = {
        "email": None,
        "phone": None,
        **clean_person({k: v for k, v in values.items() if k not in {"level", "starts_at", "ends_at"}}),
    }
    clean.pop("role", None)
    level = values.get("level", 1)
    if level not in (1, 2):
        raise ValidationError("level: 1 (primary) or 2 (backup)")
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if not isinstance(starts, datetime) or not isinstance(ends, datetime) or starts.tzinfo is None:
        raise ValidationError("starts_at and ends_at: times with a time zone")
    if ends <= starts:
        raise ValidationError("a shift ends after it starts")
    _check_reachable(clean)
    with unit_of_work(db) as uow:
        return uow.oncall.add({**clean, "level": level, "starts_at": starts, "ends_at": ends})


def list_shifts(db: Database, viewer: User | None, *, current_only: bool = False) -> list[OnCallShift]:
    provider_only(viewer)
    with read_only(db) as uow:
        return uow.oncall.at(now()) if current_only else uow.oncall.list(ending_after=now())


def remove_shift(db: Database, viewer: User | None, shift_id: str) -> None:
    provider_only(viewer)
    with unit_of_work(db) as uow:
        uow.oncall.remove(shift_id)
