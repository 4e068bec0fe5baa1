"""Pure business objects and rules; imports nothing of the project but ``mimamori.errors``."""

from mimamori.domain.models import (
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
    "Alert",
    "AlertStatus",
    "Asset",
    "Event",
    "FieldValue",
    "Fields",
    "Finding",
    "Incident",
    "QuarantinedRecord",
    "RawRecord",
    "Role",
    "Scalar",
    "Sensor",
    "Severity",
    "Tenant",
    "User",
]
