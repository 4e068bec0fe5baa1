"""AssetRepository identity: address-only observations go to the MAC device holding the address, an
address-keyed device stored before its MAC was known is merged into the MAC's device, DHCP moves.

Runs on SQLite and PostgreSQL (the ``repos`` fixture)."""

from __future__ import annotations

from datetime import timedelta

from mimamori.domain.models import Tenant
from mimamori.inventory import DeviceFacts, OsGuess, summarise
from mimamori.inventory.classify import CONFIDENCE_DEVICE_ID, CONFIDENCE_USER_AGENT
from mimamori.storage import Repositories

from ..samples import T0

IP = "192.168.1.20"
MAC_A = "00:11:32:c0:fd:5f"
MAC_B = "3c:d9:2b:00:00:50"
XP = OsGuess("Windows", "XP", "fortigate.device-id", "Windows XP", CONFIDENCE_DEVICE_ID)
UA10 = OsGuess("Windows", "10/11", "zeek.http", "Mozilla/5.0 (Windows NT 10.0)", CONFIDENCE_USER_AGENT)


def seen(tenant: Tenant, minutes: int, **values: object) -> DeviceFacts:
    return DeviceFacts(tenant.id, T0 + timedelta(minutes=minutes), **values)  # type: ignore[arg-type]


def record(repos: Repositories, tenant: Tenant, *facts: DeviceFacts) -> None:
    repos.assets.record(tenant.id, summarise(facts))


def test_an_address_only_observation_goes_to_the_mac_device_holding_the_address(
    repos: Repositories, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    record(repos, tenant_a, seen(tenant_a, 0, ip=IP, mac=MAC_A, hostname="FS01", os=XP))
    record(repos, tenant_a, seen(tenant_a, 5, ip=IP, os=UA10, destination="203.0.113.9", port=443))
    record(repos, tenant_b, seen(tenant_b, 5, ip=IP))  # the same address on another tenant's LAN
    (device,) = repos.assets.inventory(tenant_a.id)
    assert (device.device_key, device.hostname, device.os_version) == (f"mac:{MAC_A}", "FS01", "XP")
    assert (device.first_seen, device.last_seen) == (T0, T0 + timedelta(minutes=5))
    (service,) = repos.assets.services(tenant_a.id, top=10)
    assert (service.asset_id, service.destination) == (device.id, "203.0.113.9")
    (other,) = repos.assets.inventory(tenant_b.id)
    assert other.device_key == f"ip:{IP}"
    assert repos.assets.count_active(tenant_a.id, T0) == 1


def test_an_address_device_stored_first_is_merged_into_the_mac_device(
    repos: Repositories, tenant_a: Tenant
) -> None:
    record(
        repos, tenant_a, seen(tenant_a, 0, ip="192.168.1.30", mac=MAC_A, destination="a.example", port=443)
    )
    record(
        repos,
        tenant_a,
        seen(tenant_a, -60, ip=IP, hostname="fs01-old", destination="a.example", port=443),
        seen(tenant_a, -59, ip=IP, destination="b.example", port=80),
    )  # nobody holds IP yet: a device known by its address
    loose = next(d for d in repos.assets.inventory(tenant_a.id) if d.device_key == f"ip:{IP}")
    repos.assets.approve(tenant_a.id, loose.id, by="clerk@a.example", at=T0)
    record(repos, tenant_a, seen(tenant_a, 10, ip=IP, mac=MAC_A, hostname="FS01"))  # the MAC takes IP
    (device,) = repos.assets.inventory(tenant_a.id)
    assert (device.device_key, device.ip, device.hostname) == (f"mac:{MAC_A}", IP, "FS01")
    assert (device.first_seen, device.last_seen) == (T0 - timedelta(minutes=60), T0 + timedelta(minutes=10))
    assert device.approved
    assert device.approved_by == "clerk@a.example"
    assert "fs01-old" in device.names
    assert repos.assets.get(tenant_a.id, loose.id) is None
    services = {(s.asset_id, s.destination, s.count) for s in repos.assets.services(tenant_a.id, top=10)}
    assert services == {(device.id, "a.example", 2), (device.id, "b.example", 1)}


def test_fold_addresses_repairs_an_inventory_written_before_the_rule(
    repos: Repositories, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    record(repos, tenant_a, seen(tenant_a, 0, ip=IP, mac=MAC_A, hostname="FS01"))
    twin = repos.assets.upsert(tenant_a.id, IP, seen_at=T0 - timedelta(days=2))  # the old address-keyed row
    lone = repos.assets.upsert(tenant_a.id, "192.168.1.77", seen_at=T0)  # nobody holds this address
    other = repos.assets.upsert(tenant_b.id, IP, seen_at=T0)
    assert len(repos.assets.inventory(tenant_a.id)) == 3
    assert repos.assets.fold_addresses(tenant_a.id) == 1
    devices = {d.id: d for d in repos.assets.inventory(tenant_a.id)}
    assert twin.id not in devices
    assert lone.id in devices
    assert len(devices) == 2
    (mac,) = [d for d in devices.values() if d.mac == MAC_A]
    assert mac.first_seen == T0 - timedelta(days=2)
    assert repos.assets.get(tenant_b.id, other.id) is not None  # another tenant's is untouched


def test_merge_repoints_and_sums_services(repos: Repositories, tenant_a: Tenant, tenant_b: Tenant) -> None:
    record(repos, tenant_a, seen(tenant_a, 0, ip=IP, mac=MAC_A, destination="a.example", port=443))
    record(repos, tenant_a, seen(tenant_a, 0, ip="192.168.1.99", destination="a.example", port=443))
    record(repos, tenant_a, seen(tenant_a, 9, ip="192.168.1.99", destination="b.example", port=80))
    devices = {d.device_key: d for d in repos.assets.inventory(tenant_a.id)}
    mac, loose = devices[f"mac:{MAC_A}"], devices["ip:192.168.1.99"]
    assert repos.assets.merge(tenant_b.id, loose.id, mac.id) is None  # another tenant's: nothing
    merged = repos.assets.merge(tenant_a.id, loose.id, mac.id)
    assert merged is not None
    assert merged.last_seen == T0 + timedelta(minutes=9)
    assert [d.id for d in repos.assets.inventory(tenant_a.id)] == [mac.id]
    services = {(s.asset_id, s.destination, s.count) for s in repos.assets.services(tenant_a.id, top=10)}
    assert services == {(mac.id, "a.example", 2), (mac.id, "b.example", 1)}


def test_address_only_device_first_then_mac_in_one_batch_and_later(
    repos: Repositories, tenant_a: Tenant
) -> None:
    record(repos, tenant_a, seen(tenant_a, 0, ip=IP, destination="a.example", port=443))  # Zeek first
    record(repos, tenant_a, seen(tenant_a, 1, ip=IP, mac=MAC_A, hostname="FS01"))  # re-keyed, same row
    record(repos, tenant_a, seen(tenant_a, 2, ip=IP, destination="a.example", port=443))
    (device,) = repos.assets.inventory(tenant_a.id)
    assert (device.device_key, device.hostname, device.first_seen) == (f"mac:{MAC_A}", "FS01", T0)
    (service,) = repos.assets.services(tenant_a.id, top=10)
    assert service.count == 2


def test_after_a_dhcp_move_address_only_observations_go_to_the_new_holder(
    repos: Repositories, tenant_a: Tenant
) -> None:
    record(repos, tenant_a, seen(tenant_a, 0, ip=IP, mac=MAC_A, hostname="PC-A"))
    record(repos, tenant_a, seen(tenant_a, 1, ip=IP, destination="a.example", port=443))
    record(repos, tenant_a, seen(tenant_a, 60, ip=IP, mac=MAC_B, hostname="PC-B"))  # A's lease went to B
    record(repos, tenant_a, seen(tenant_a, 61, ip=IP, destination="b.example", port=443))
    devices = {d.hostname: d for d in repos.assets.inventory(tenant_a.id)}
    assert set(devices) == {"PC-A", "PC-B"}
    used = {s.destination: s.asset_id for s in repos.assets.services(tenant_a.id, top=10)}
    assert used == {"a.example": devices["PC-A"].id, "b.example": devices["PC-B"].id}
    # A comes back on another address; B keeps the old one.
    record(repos, tenant_a, seen(tenant_a, 90, ip="192.168.1.21", mac=MAC_A))
    record(repos, tenant_a, seen(tenant_a, 91, ip=IP, destination="c.example", port=443))
    used = {s.destination: s.asset_id for s in repos.assets.services(tenant_a.id, top=10)}
    assert used["c.example"] == devices["PC-B"].id
    assert len(repos.assets.inventory(tenant_a.id)) == 2


def test_a_move_within_one_batch_goes_to_the_latest_holder(repos: Repositories, tenant_a: Tenant) -> None:
    record(
        repos,
        tenant_a,
        seen(tenant_a, 0, ip=IP, mac=MAC_A, hostname="PC-A"),
        seen(tenant_a, 30, ip=IP, mac=MAC_B, hostname="PC-B"),
    )
    record(repos, tenant_a, seen(tenant_a, 31, ip=IP, destination="b.example", port=443))
    devices = {d.hostname: d for d in repos.assets.inventory(tenant_a.id)}
    assert set(devices) == {"PC-A", "PC-B"}
    (service,) = repos.assets.services(tenant_a.id, top=10)
    assert service.asset_id == devices["PC-B"].id
