"""Onboarding a customer in one step: the tenant, its company profile, its contacts and its sensors.

Everything is validated first (every problem is reported at once, so the form can show them all), then
written in ONE transaction: a sensor that clashes with another's address rolls the whole customer back,
so no half-registered tenant is left behind. Sensor tokens are returned once (only their hashes are
stored), with the setup instructions for each sensor's format.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mimamori.config import Settings
from mimamori.domain import DEFAULT_TIMEZONE, Contact, Sensor, Tenant, User
from mimamori.errors import ValidationError
from mimamori.parsers import PARSERS
from mimamori.services.auth import hash_token, new_token
from mimamori.services.contacts import clean_person
from mimamori.services.soc import admin_only
from mimamori.services.triage import PROFILE
from mimamori.storage import Database, unit_of_work
from mimamori.triage.damage import damage_model

MAX_CONTACTS = 10
MAX_SENSORS = 20
MAX_NAME = 200
SD_ID = "mimamori@32473"  # the structured-data element a syslog sender puts its token in
SYSLOG_FORMATS = frozenset(
    {"fortigate", "yamaha_rtx", "pfsense", "cisco_asa", "paloalto", "sophos", "cef", "leef", "syslog"}
    | {"syslog-auto", "generic"}
)
FILE_FORMATS = frozenset({"evtx"})
DOC_PAGES = {
    "fortigate": "fortigate.md",
    "yamaha_rtx": "yamaha-rtx.md",
    "pfsense": "pfsense.md",
    "cisco_asa": "cisco-asa.md",
    "paloalto": "paloalto.md",
    "sophos": "sophos.md",
    "cef": "cef-leef.md",
    "leef": "cef-leef.md",
    "suricata": "suricata.md",
    "zeek": "zeek.md",
    "ecs": "windows.md",
    "evtx": "windows.md",
    "wazuh": "wazuh.md",
    "mde": "defender-for-endpoint.md",
}


class OnboardingError(ValidationError):
    """Every problem of an onboarding request, each as one sentence (``problems``)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class SensorPlan:
    name: str
    format: str
    timezone: str
    source_address: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    """A checked onboarding request, ready to be written."""

    name: str
    profile: dict[str, Any]
    contacts: list[dict[str, Any]]
    sensors: list[SensorPlan]


@dataclass(frozen=True, slots=True)
class Onboarded:
    tenant: Tenant
    profile: dict[str, Any]
    contacts: list[Contact]
    sensors: list[tuple[Sensor, str]]  # each sensor with its token (shown once)
    instructions: dict[str, dict[str, Any]] = field(default_factory=dict)  # by sensor id


def sales_bands() -> list[str]:
    return list(damage_model().sales_bands)


def formats() -> list[str]:
    return sorted(PARSERS)


def _japanese_phone(value: str) -> str:
    """A domestic number (03-1234-5678) in E.164 (+81312345678); other forms are left to the check."""
    digits = value.strip().replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
    if digits.startswith("0") and digits[1:].isdigit() and not digits.startswith("00"):
        return "+81" + digits[1:]
    return digits


def _profile(values: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    profile: dict[str, Any] = {}
    industry = " ".join(str(values.get("industry") or "").split())
    if len(industry) > MAX_NAME:
        problems.append("industry: at most 200 characters")
    elif industry:
        profile["industry"] = industry
    employees = values.get("employees")
    if employees not in (None, ""):
        try:
            count = int(str(employees).strip())
        except ValueError:
            count = -1
        if not 1 <= count <= 1_000_000:
            problems.append("employees: a whole number from 1")
        else:
            profile["employees"] = count
    band = str(values.get("sales_band") or "")
    if band and band not in sales_bands():
        problems.append(f"sales band: one of {', '.join(sales_bands())}")
    elif band:
        profile["sales_band"] = band
    return profile


def _contact(number: int, values: Mapping[str, Any], problems: list[str]) -> dict[str, Any] | None:
    raw = {k: str(values.get(k) or "").strip() for k in ("name", "email", "phone", "language", "role")}
    if not any(raw[k] for k in ("name", "email", "phone")):
        return None  # an empty form row
    given: dict[str, Any] = {"name": raw["name"], "role": raw["role"], "language": raw["language"] or "ja"}
    if raw["email"]:
        given["email"] = raw["email"]
    if raw["phone"]:
        given["phone"] = _japanese_phone(raw["phone"])
    given["channels"] = (["email"] if raw["email"] else []) + (["phone"] if raw["phone"] else [])
    try:
        if not raw["email"] and not raw["phone"]:
            raise ValidationError("an e-mail address or a phone number is needed")
        clean = clean_person(given)
    except ValidationError as error:
        problems.append(f"contact {number}: {error}")
        return None
    return {"priority": number, "email": None, "phone": None, **clean}


def _sensor(number: int, values: Mapping[str, Any], problems: list[str]) -> SensorPlan | None:
    name = " ".join(str(values.get("name") or "").split())
    fmt = str(values.get("format") or "").strip()
    zone = str(values.get("timezone") or "").strip() or DEFAULT_TIMEZONE
    address = str(values.get("source_address") or "").strip() or None
    if not name and not address:
        return None  # an empty form row
    before = len(problems)
    if not name or len(name) > MAX_NAME:
        problems.append(f"sensor {number}: a name of 1 to 200 characters")
    if fmt not in PARSERS:
        problems.append(f"sensor {number}: unknown format {fmt[:40]!r}")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a directory, long names fail
        problems.append(f"sensor {number}: unknown time zone {zone[:64]!r} (e.g. Asia/Tokyo)")
    if address is not None:
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            problems.append(f"sensor {number}: the source address is not an IP address")
    if len(problems) > before:
        return None
    return SensorPlan(name, fmt, zone, address)


def plan(payload: Mapping[str, Any]) -> Plan:
    """Check a whole request; OnboardingError lists every problem found."""
    problems: list[str] = []
    name = " ".join(str(payload.get("name") or "").split())
    if not name or len(name) > MAX_NAME:
        problems.append("company name: 1 to 200 characters")
    profile_in = payload.get("profile") or {}
    profile = _profile(profile_in if isinstance(profile_in, Mapping) else {}, problems)
    rows_c = payload.get("contacts") or []
    rows_s = payload.get("sensors") or []
    if not isinstance(rows_c, list) or not isinstance(rows_s, list):
        raise OnboardingError(["contacts and sensors are lists"])
    if len(rows_c) > MAX_CONTACTS or len(rows_s) > MAX_SENSORS:
        raise OnboardingError([f"at most {MAX_CONTACTS} contacts and {MAX_SENSORS} sensors"])
    people = [
        c
        for i, row in enumerate(rows_c, 1)
        if isinstance(row, Mapping) and (c := _contact(i, row, problems)) is not None
    ]
    sensors = [
        s
        for i, row in enumerate(rows_s, 1)
        if isinstance(row, Mapping) and (s := _sensor(i, row, problems)) is not None
    ]
    if not people and not any(p.startswith("contact") for p in problems):
        problems.append("at least one contact (name and e-mail or phone)")
    if not sensors and not any(p.startswith("sensor") for p in problems):
        problems.append("at least one sensor")
    names = [s.name for s in sensors]
    if len(set(names)) != len(names):
        problems.append("sensor names must differ")
    if problems:
        raise OnboardingError(problems)
    return Plan(name, profile, people, sensors)


def onboard(db: Database, viewer: User | None, settings: Settings, payload: Mapping[str, Any]) -> Onboarded:
    """Create the customer with its profile, contacts and sensors in one transaction (provider admins)."""
    admin_only(viewer)
    checked = plan(payload)
    tokens = [new_token() for _ in checked.sensors]
    try:
        with unit_of_work(db) as uow:
            tenant = uow.tenants.add(checked.name)
            if checked.profile:
                uow.settings.put(tenant.id, PROFILE, dict(checked.profile))
            people = [uow.contacts.add(tenant.id, c) for c in checked.contacts]
            made = [
                uow.sensors.add(
                    tenant.id,
                    s.name,
                    s.format,
                    source_address=s.source_address,
                    token_hash=hash_token(token),
                    timezone=s.timezone,
                )
                for s, token in zip(checked.sensors, tokens, strict=True)
            ]
    except ValidationError as error:  # e.g. a source address another customer's sensor already uses
        raise OnboardingError([str(error)]) from error
    pairs = list(zip(made, tokens, strict=True))
    guide = {s.id: instructions(settings, s, token) for s, token in pairs}
    return Onboarded(tenant, checked.profile, people, pairs, guide)


def _public_host(settings: Settings) -> str:
    """The address SME devices send to: the syslog host when it is a real address, else the portal's."""
    if settings.syslog_host not in {"", "0.0.0.0", "::", "127.0.0.1", "localhost"}:  # noqa: S104
        return settings.syslog_host
    return urlsplit(settings.public_url).hostname or settings.syslog_host


def instructions(settings: Settings, sensor: Sensor, token: str) -> dict[str, Any]:
    """How the device at the customer's site is pointed at mimamori (see docs/sources/)."""
    base = settings.public_url.rstrip("/")
    if sensor.format in FILE_FORMATS:
        transport = "file"
    elif sensor.format in SYSLOG_FORMATS:
        transport = "syslog"
    else:
        transport = "http"
    tls = settings.tls_cert_file is not None and settings.tls_key_file is not None
    return {
        "transport": transport,
        "format": sensor.format,
        "doc": "docs/sources/" + DOC_PAGES.get(sensor.format, "generic.md"),
        "syslog_host": _public_host(settings),
        "host_is_local": _public_host(settings) in {"127.0.0.1", "localhost", "::1"},
        "tcp_port": settings.syslog_tcp_port,
        "udp_port": settings.syslog_udp_port,
        "tls_port": settings.syslog_tls_port if tls else None,
        "structured_data": f'[{SD_ID} token="{token}"]',
        "url": f"{base}/api/v1/ingest",
        "header": f"Authorization: Bearer {token}",
        "import_command": (f"mimamori ingest PATH --tenant {sensor.tenant_id} --format {sensor.format}"),
        "source_address": sensor.source_address,
        "timezone": sensor.timezone,
    }


def onboarded_to_dict(result: Onboarded) -> dict[str, Any]:
    """The API's answer: the tokens appear here once and never again."""
    return {
        "tenant": {
            "id": result.tenant.id,
            "name": result.tenant.name,
            "created_at": result.tenant.created_at.isoformat(),
        },
        "profile": dict(result.profile),
        "contacts": [
            {"id": c.id, "name": c.name, "email": c.email, "phone": c.phone} for c in result.contacts
        ],
        "sensors": [
            {
                "id": s.id,
                "name": s.name,
                "format": s.format,
                "timezone": s.timezone,
                "token": token,
                "setup": result.instructions.get(s.id, {}),
            }
            for s, token in result.sensors
        ],
    }
