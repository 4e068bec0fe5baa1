"""AssetRepository."""

from __future__ import annotations

from datetime import timedelta

from mimamori.domain.models import Tenant
from mimamori.storage import Repositories

from ..samples import T0


def test_upsert_keeps_known_attributes_and_widens_seen_times(repos: Repositories, tenant_a: Tenant) -> None:
    first = repos.assets.upsert(tenant_a.id, "192.168.1.10", hostname="pc-01", seen_at=T0)
    again = repos.assets.upsert(
        tenant_a.id, "192.168.1.10", mac="00:11:22:33:44:55", seen_at=T0 + timedelta(hours=1)
    )
    assert again.id == first.id
    assert (again.hostname, again.mac) == ("pc-01", "00:11:22:33:44:55")
    assert (again.first_seen, again.last_seen) == (T0, T0 + timedelta(hours=1))
    earlier = repos.assets.upsert(tenant_a.id, "192.168.1.10", seen_at=T0 - timedelta(hours=1))
    assert (earlier.first_seen, earlier.last_seen) == (T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert not earlier.approved
    repos.assets.upsert(tenant_a.id, "192.168.1.2", os="Windows 11")
    assert [a.ip for a in repos.assets.list(tenant_a.id)] == ["192.168.1.10", "192.168.1.2"]
