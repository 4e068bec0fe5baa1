"""Retro-hunting over observed values: subdomains and ranges, the allowlist, live sightings, the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mimamori.detection.indicators import Indicator
from mimamori.domain import Severity
from mimamori.services import Database, retrohunt, tenants
from mimamori.services import indicators as ind
from mimamori.storage import read_only, unit_of_work
from mimamori.storage.repositories import Observation

NOW = datetime.now(UTC)


@pytest.fixture
def tenant_id(db: Database) -> str:
    tenant = tenants.add_tenant(db, "A社")
    days = [NOW - timedelta(days=n) for n in (1, 3, 45)]
    with unit_of_work(db) as uow:
        uow.observations.record(
            [
                Observation(
                    tenant.id, days[0].date(), "domain", "x.c2.example", days[0], days[0], 2, "192.168.1.5"
                ),
                Observation(
                    tenant.id, days[1].date(), "ip", "198.51.100.9", days[1], days[1], 1, "192.168.1.6", False
                ),
                Observation(
                    tenant.id, days[2].date(), "ip", "198.51.100.10", days[2], days[2], 1, "192.168.1.7"
                ),
                Observation(tenant.id, days[0].date(), "email", "a@phish.example", days[0], days[0], 1, None),
            ]
        )
    return tenant.id


def test_hunt_finds_subdomains_ranges_and_sender_domains_within_the_window(
    db: Database, tenant_id: str
) -> None:
    new = [
        Indicator("c2.example", "domain", threat="AsyncRAT"),
        Indicator("198.51.100.0/24", "cidr"),
        Indicator("phish.example", "email_domain"),
    ]
    result = retrohunt.hunt(db, new, days=30)
    assert (result.scanned, result.findings, result.alerts_created) == (3, 3, 3)
    assert result.incidents_created >= 1  # retrospective alerts join incidents like live ones
    with read_only(db) as repos:
        alerts = {a.key: a for a in repos.alerts.list(tenant_id)}
    assert all(a.incident_id is not None for a in alerts.values())
    domain = alerts["domain:c2.example"]
    assert domain.severity is Severity.HIGH
    assert domain.title == "Earlier access to a site now known to be malicious: c2.example"
    assert domain.evidence["observed.value"] == "x.c2.example"
    assert "mimamori.retrospective" in domain.tags
    assert alerts["cidr:198.51.100.0/24"].severity is Severity.LOW  # it was blocked back then
    assert alerts["email_domain:phish.example"].severity is Severity.MEDIUM
    # hunting again finds the same, but creates no new alert
    assert retrohunt.hunt(db, new, days=30).alerts_created == 0


def test_hunt_skips_allowlisted_values_and_what_the_live_detector_already_alerted(
    db: Database, tenant_id: str
) -> None:
    ind.allow(db, tenant_id, "domain", "c2.example", "sinkholed by our provider")
    day = (NOW - timedelta(days=3)).date()
    with unit_of_work(db) as uow:
        uow.sightings.record([Observation(tenant_id, day, "cidr", "198.51.100.0/24", NOW, NOW, 1)])
    result = retrohunt.hunt(
        db, [Indicator("c2.example", "domain"), Indicator("198.51.100.0/24", "cidr")], days=30
    )
    assert (result.scanned, result.findings) == (3, 0)


def test_a_longer_window_reaches_older_observations(db: Database, tenant_id: str) -> None:
    assert retrohunt.hunt(db, [Indicator("198.51.100.10", "ip")], days=30).findings == 0
    assert retrohunt.hunt(db, [Indicator("198.51.100.10", "ip")], days=60).findings == 1
    assert retrohunt.hunt(db, [], days=60).scanned == 0
