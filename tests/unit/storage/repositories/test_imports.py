"""ImportRepository: the resumable-import ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from mimamori.domain.models import Tenant
from mimamori.storage import Repositories

FP = "400:" + "a" * 60


def test_start_is_idempotent_and_find_returns_the_row(repos: Repositories, tenant_a: Tenant) -> None:
    first = repos.imports.start(tenant_a.id, "sensor-1", FP, "/var/log/a.log")
    again = repos.imports.start(tenant_a.id, "sensor-1", FP, "/elsewhere/copy.log")
    assert first == again
    assert (first.position, first.records, first.completed, first.source) == (0, 0, False, "/var/log/a.log")
    assert repos.imports.find(tenant_a.id, "sensor-1", FP) == first
    assert repos.imports.find(tenant_a.id, "sensor-2", FP) is None
    assert repos.imports.start(tenant_a.id, "sensor-2", FP, "x").id != first.id


def test_advance_is_a_compare_and_set(repos: Repositories, tenant_a: Tenant) -> None:
    entry = repos.imports.start(tenant_a.id, "sensor-1", FP, "a.log")
    assert repos.imports.advance(tenant_a.id, entry.id, expected=0, position=1000, completed=False)
    assert not repos.imports.advance(tenant_a.id, entry.id, expected=0, position=1000, completed=False)
    assert repos.imports.advance(tenant_a.id, entry.id, expected=1000, position=1500, completed=True)
    stored = repos.imports.find(tenant_a.id, "sensor-1", FP)
    assert stored is not None
    assert (stored.position, stored.records, stored.completed) == (1500, 1500, True)
    assert stored.updated_at >= entry.updated_at


def test_advance_stores_the_last_record_of_an_evtx_file(repos: Repositories, tenant_a: Tenant) -> None:
    entry = repos.imports.start(tenant_a.id, "sensor-1", FP, "Security.evtx")
    assert (entry.last_record_id, entry.last_record_digest) == (None, None)
    assert repos.imports.advance(
        tenant_a.id, entry.id, expected=0, position=100, completed=False, last_record=(7100, "d" * 64)
    )
    assert repos.imports.advance(tenant_a.id, entry.id, expected=100, position=100, completed=True)
    stored = repos.imports.find(tenant_a.id, "sensor-1", FP)
    assert stored is not None
    assert (stored.position, stored.completed, stored.last_record_id, stored.last_record_digest) == (
        100,
        True,
        7100,
        "d" * 64,
    )  # kept when a batch brings no newer record
    assert not repos.imports.advance(
        tenant_a.id, entry.id, expected=0, position=5, completed=False, last_record=(1, "e" * 64)
    )
    assert repos.imports.by_source(tenant_a.id, "sensor-1", "Security.evtx")[0].last_record_id == 7100


def test_rekey_and_by_source(repos: Repositories, tenant_a: Tenant) -> None:
    old = repos.imports.start(tenant_a.id, "sensor-1", "10:" + "b" * 60, "/var/log/app.log")
    other = repos.imports.start(tenant_a.id, "sensor-1", "20:" + "c" * 60, "/var/log/other.log")
    assert [e.id for e in repos.imports.by_source(tenant_a.id, "sensor-1", "/var/log/app.log")] == [old.id]
    assert repos.imports.rekey(tenant_a.id, "sensor-1", old.id, "30:" + "d" * 60)
    assert repos.imports.find(tenant_a.id, "sensor-1", "30:" + "d" * 60) is not None
    assert not repos.imports.rekey(tenant_a.id, "sensor-1", old.id, other.fingerprint)  # taken


def test_tenant_isolation(repos: Repositories, tenant_a: Tenant, tenant_b: Tenant) -> None:
    entry = repos.imports.start(tenant_a.id, "sensor-1", FP, "a.log")
    assert repos.imports.find(tenant_b.id, "sensor-1", FP) is None
    assert repos.imports.by_source(tenant_b.id, "sensor-1", "a.log") == []
    assert repos.imports.list(tenant_b.id) == []
    assert not repos.imports.advance(tenant_b.id, entry.id, expected=0, position=5, completed=True)
    assert not repos.imports.rekey(tenant_b.id, "sensor-1", entry.id, "1:" + "e" * 60)
    assert [e.id for e in repos.imports.list(tenant_a.id)] == [entry.id]
    assert repos.imports.find(tenant_a.id, "sensor-1", FP) == entry
    with pytest.raises(ValueError, match="tenant id"):
        repos.imports.find("", "sensor-1", FP)
