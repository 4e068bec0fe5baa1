"""Pure business objects and rules; imports nothing of the project but ``mimamori.errors``."""

from mimamori.domain.contacts import Contact, OnCallShift
from mimamori.domain.models import (
    DEFAULT_TIMEZONE,
    Alert,
    AlertStatus,
    Asset,
    Event,
    Fields,
    FieldValue,
    Finding,
    Incident,
    QuarantinedRecord,
    RawRecord,
    Role,
    Scalar,
    Sensor,
    Severity,
    Tenant,
    User,
)

__all__ = [
    "DEFAULT_TIMEZONE",
    "Alert",
    "AlertStatus",
    "Asset",
    "Contact",
    "Event",
    "FieldValue",
    "Fields",
    "Finding",
    "Incident",
    "OnCallShift",
    "QuarantinedRecord",
    "RawRecord",
    "Role",
    "Scalar",
    "Sensor",
    "Severity",
    "Tenant",
    "User",
]
