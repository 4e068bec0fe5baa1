"""All repositories on one connection, so a service can commit a whole pipeline batch atomically.

with unit_of_work(db) as repos:
    changes = repos.alerts.record(items)
    repos.sensors.add_counters(deltas)
    repos.outbox.add(...)
# committed here, or rolled back if anything above raised
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from mimamori.storage.db import Database
from mimamori.storage.repositories import (
    AccountRepository,
    AlertRepository,
    AllowlistRepository,
    AssetRepository,
    ContactRepository,
    EscalationRepository,
    FeedRepository,
    ImportRepository,
    IncidentRepository,
    IndicatorRepository,
    MarkRepository,
    NotificationRepository,
    ObservationRepository,
    OnCallRepository,
    OutboxRepository,
    QuarantineRepository,
    SensorRepository,
    SettingsRepository,
    SightingRepository,
    TenantRepository,
    TicketRepository,
    TriageRepository,
    UserRepository,
)


class Repositories:
    """Every repository, sharing ``connection`` and therefore its transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.tenants = TenantRepository(connection)
        self.sensors = SensorRepository(connection)
        self.users = UserRepository(connection)
        self.accounts = AccountRepository(connection)
        self.alerts = AlertRepository(connection)
        self.assets = AssetRepository(connection)
        self.quarantine = QuarantineRepository(connection)
        self.outbox = OutboxRepository(connection)
        self.imports = ImportRepository(connection)
        self.settings = SettingsRepository(connection)
        self.indicators = IndicatorRepository(connection)
        self.feeds = FeedRepository(connection)
        self.allowlist = AllowlistRepository(connection)
        self.sightings = SightingRepository(connection)
        self.observations = ObservationRepository(connection)
        self.incidents = IncidentRepository(connection)
        self.contacts = ContactRepository(connection)
        self.oncall = OnCallRepository(connection)
        self.notifications = NotificationRepository(connection)
        self.escalations = EscalationRepository(connection)
        self.marks = MarkRepository(connection)
        self.tickets = TicketRepository(connection)
        self.triage = TriageRepository(connection)  # the pipeline's triage step, batch-wide


@contextmanager
def unit_of_work(db: Database) -> Iterator[Repositories]:
    """Repositories in one write transaction: committed when the block ends, rolled back if it raises."""
    with db.transaction() as connection:
        yield Repositories(connection)


@contextmanager
def read_only(db: Database) -> Iterator[Repositories]:
    """Repositories on a read-only connection (one consistent snapshot; any write raises)."""
    with db.connect() as connection:
        yield Repositories(connection)
