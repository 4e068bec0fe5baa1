"""Tenant-scoped repositories, one module per aggregate, each built on one SQLAlchemy ``Connection``.

Repositories never commit: the caller (``mimamori.storage.unit_of_work`` or ``Database.transaction``) owns
the transaction, so one pipeline batch (alerts, counters, quarantine, outbox) commits or fails as a whole.
"""

from mimamori.storage.repositories.accounts import AccountRepository, ApiTokenRecord, ResetRecord, TotpRecord
from mimamori.storage.repositories.alerts import AlertChange, AlertRepository
from mimamori.storage.repositories.assets import AssetRepository
from mimamori.storage.repositories.contacts import ContactRepository, OnCallRepository
from mimamori.storage.repositories.imports import ImportEntry, ImportRepository
from mimamori.storage.repositories.incidents import (
    IncidentFilter,
    IncidentRepository,
    IncidentRow,
    LogEntry,
    SuppressionRule,
)
from mimamori.storage.repositories.indicators import (
    AllowEntry,
    AllowlistRepository,
    FeedRecord,
    FeedRepository,
    IndicatorRepository,
)
from mimamori.storage.repositories.notifications import (
    Attempt,
    EscalationRepository,
    EscalationRow,
    MarkRepository,
    NotificationRepository,
    NotificationRow,
)
from mimamori.storage.repositories.observations import Observation, ObservationRepository, SightingRepository
from mimamori.storage.repositories.outbox import OutboxMessage, OutboxRepository
from mimamori.storage.repositories.quarantine import MAX_DATA_BYTES, QuarantineRepository
from mimamori.storage.repositories.sensors import Counters, SensorRepository
from mimamori.storage.repositories.settings import SettingsRepository
from mimamori.storage.repositories.tenants import TenantRepository
from mimamori.storage.repositories.tickets import TicketRepository, TicketRow
from mimamori.storage.repositories.triage import TriageRepository
from mimamori.storage.repositories.users import LoginState, UserRepository

__all__ = [
    "MAX_DATA_BYTES",
    "AccountRepository",
    "AlertChange",
    "AlertRepository",
    "AllowEntry",
    "AllowlistRepository",
    "ApiTokenRecord",
    "AssetRepository",
    "Attempt",
    "ContactRepository",
    "Counters",
    "EscalationRepository",
    "EscalationRow",
    "FeedRecord",
    "FeedRepository",
    "ImportEntry",
    "ImportRepository",
    "IncidentFilter",
    "IncidentRepository",
    "IncidentRow",
    "IndicatorRepository",
    "LogEntry",
    "LoginState",
    "MarkRepository",
    "NotificationRepository",
    "NotificationRow",
    "Observation",
    "ObservationRepository",
    "OnCallRepository",
    "OutboxMessage",
    "OutboxRepository",
    "QuarantineRepository",
    "ResetRecord",
    "SensorRepository",
    "SettingsRepository",
    "SightingRepository",
    "SuppressionRule",
    "TenantRepository",
    "TicketRepository",
    "TicketRow",
    "TotpRecord",
    "TriageRepository",
    "UserRepository",
]
