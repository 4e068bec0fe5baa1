"""SensorRepository: registration, sender lookup, counters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mimamori.domain.models import Tenant
from mimamori.errors import NotFoundError, ValidationError
from mimamori.storage import Counters, Repositories

from ..samples import T0


def test_add_get_list(repos: Repositories, tenant_a: Tenant) -> None:
    utm = repos.sensors.add(tenant_a.id, "UTM", "fortigate", source_address="192.0.2.1")
    zeek = repos.sensors.add(tenant_a.id, "Zeek", "zeek", token_hash="h1")
    assert repos.sensors.get(tenant_a.id, utm.id) == utm
    assert repos.sensors.list(tenant_a.id) == [utm, zeek]
    assert utm.received == 0
    assert utm.last_seen is None


def test_duplicate_address_or_token_is_a_validation_error(
    repos: Repositories, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    repos.sensors.add(tenant_a.id, "UTM", "fortigate", source_address="192.0.2.1", token_hash="h1")
    with pytest.raises(ValidationError):
        repos.sensors.add(tenant_b.id, "other", "fortigate", source_address="192.0.2.1")
    with pytest.raises(ValidationError):
        repos.sensors.add(tenant_b.id, "other", "zeek", token_hash="h1")
    # the transaction is still usable after the refusal
    assert len(repos.sensors.list(tenant_a.id)) == 1


def test_add_for_unknown_tenant(repos: Repositories) -> None:
    with pytest.raises(NotFoundError):
        repos.sensors.add("nope", "UTM", "fortigate")


def test_sender_lookups_are_provider_wide(repos: Repositories, tenant_a: Tenant, tenant_b: Tenant) -> None:
    a = repos.sensors.add(tenant_a.id, "UTM", "fortigate", source_address="192.0.2.1")
    b = repos.sensors.add(tenant_b.id, "agent", "winlogbeat", token_hash="hash-b")
    assert repos.sensors.find_by_source_address("192.0.2.1") == a
    assert repos.sensors.find_by_token_hash("hash-b") == b
    assert repos.sensors.find_by_source_address("192.0.2.99") is None
    assert repos.sensors.find_by_token_hash("other") is None
    assert repos.sensors.list_all_routes() == [a]


def test_add_counters_sums_and_keeps_newest_last_seen(repos: Repositories, tenant_a: Tenant) -> None:
    s1 = repos.sensors.add(tenant_a.id, "UTM", "fortigate")
    s2 = repos.sensors.add(tenant_a.id, "Zeek", "zeek")
    repos.sensors.add_counters(
        {s1.id: Counters(10, 8, 1, 1, T0 + timedelta(minutes=5)), s2.id: Counters(received=3)}
    )
    repos.sensors.add_counters({s1.id: Counters(5, 5, 0, 0, T0), "unknown": Counters(received=1)})
    one, two = repos.sensors.get(tenant_a.id, s1.id), repos.sensors.get(tenant_a.id, s2.id)
    assert (one.received, one.parsed, one.quarantined, one.dropped) == (15, 13, 1, 1)
    assert one.last_seen == T0 + timedelta(minutes=5)
    assert (two.received, two.last_seen) == (3, None)
    repos.sensors.add_counters({s2.id: Counters(received=1, last_seen=T0)})
    assert repos.sensors.get(tenant_a.id, s2.id).last_seen == T0
    repos.sensors.add_counters({})


def test_set_token_hash_rotates_and_refuses_duplicates(
    repos: Repositories, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    sensor = repos.sensors.add(tenant_a.id, "agent", "winlogbeat", token_hash="old")
    other = repos.sensors.add(tenant_a.id, "agent-2", "winlogbeat", token_hash="taken")
    repos.sensors.set_token_hash(tenant_a.id, sensor.id, "new")
    assert repos.sensors.find_by_token_hash("old") is None
    assert repos.sensors.find_by_token_hash("new") == sensor
    with pytest.raises(ValidationError):
        repos.sensors.set_token_hash(tenant_a.id, sensor.id, "taken")
    assert repos.sensors.find_by_token_hash("new") == sensor  # the transaction is still usable
    assert repos.sensors.find_by_token_hash("taken") == other
    with pytest.raises(NotFoundError):
        repos.sensors.set_token_hash(tenant_b.id, sensor.id, "stolen")
    assert repos.sensors.find_by_token_hash("stolen") is None
