"""QuarantineRepository."""

from __future__ import annotations

from datetime import timedelta

from mimamori.domain.models import QuarantinedRecord, Tenant
from mimamori.storage import Repositories
from mimamori.storage.repositories import MAX_DATA_BYTES

from ..samples import T0


def record(tenant_id: str, data: bytes, minutes: int = 0) -> QuarantinedRecord:
    return QuarantinedRecord(
        tenant_id, "sensor-1", "fortigate", "no date field", data, T0 + timedelta(minutes=minutes)
    )


def test_add_many_list_count(repos: Repositories, tenant_a: Tenant) -> None:
    old, new = record(tenant_a.id, b"\x00\xffold", 0), record(tenant_a.id, "新しい".encode(), 5)
    repos.quarantine.add_many([old, new])
    repos.quarantine.add_many([])
    assert repos.quarantine.list(tenant_a.id, 10) == [new, old]
    assert repos.quarantine.list(tenant_a.id, 1) == [new]
    assert repos.quarantine.count(tenant_a.id) == 2


def test_data_is_truncated_to_64_kib(repos: Repositories, tenant_a: Tenant) -> None:
    repos.quarantine.add_many([record(tenant_a.id, b"x" * (MAX_DATA_BYTES + 10))])
    [stored] = repos.quarantine.list(tenant_a.id, 1)
    assert len(stored.data) == MAX_DATA_BYTES == 65536
