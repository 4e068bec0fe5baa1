"""AssetRepository's inventory side: recording merged device facts, services, approval, billing count.

Runs on SQLite and PostgreSQL (the ``repos`` fixture)."""

from __future__ import annotations

from datetime import timedelta

from mimamori.domain.models import Tenant
from mimamori.inventory import DeviceFacts, OsGuess, summarise
from mimamori.inventory.classify import CONFIDENCE_DEVICE_ID, CONFIDENCE_USER_AGENT
from mimamori.storage import Repositories
from mimamori.storage.repositories import assets as module

from ..samples import T0

XP = OsGuess("Windows", "XP", "fortigate.device-id", "Windows XP", CONFIDENCE_DEVICE_ID)
UA10 = OsGuess("Windows", "10/11", "zeek.http", "Mozilla/5.0 (Windows NT 10.0)", CONFIDENCE_USER_AGENT)
MAC = "00:00:4c:4e:4b:ff"


def facts(tenant: Tenant, **values: object) -> DeviceFacts:
    return DeviceFacts(tenant.id, values.pop("seen", T0), **values)  # type: ignore[arg-type]


def test_record_upserts_per_device_and_keeps_the_strongest_os(repos: Repositories, tenant_a: Tenant) -> None:
    batch = [
        facts(
            tenant_a,
            ip="192.168.1.33",
            mac=MAC,
            hostname="PC-SEIZOU-XP",
            vendor="NEC",
            os=XP,
            devtype="Windows PC",
            destination="203.0.113.66",
            port=8080,
        ),
        facts(
            tenant_a,
            ip="192.168.1.33",
            mac=MAC,
            destination="203.0.113.66",
            port=8080,
            seen=T0 + timedelta(minutes=5),
        ),
    ]
    assert repos.assets.record(tenant_a.id, summarise(batch)) == 1
    later = [
        facts(
            tenant_a,
            ip="192.168.1.34",
            mac=MAC,
            os=UA10,
            hostname="PC-SEIZOU-XP2",
            seen=T0 + timedelta(hours=1),
            destination="203.0.113.66",
            port=8080,
        )
    ]
    repos.assets.record(tenant_a.id, summarise(later))
    (device,) = repos.assets.inventory(tenant_a.id)
    assert (device.device_key, device.mac, device.vendor, device.device_class) == (
        f"mac:{MAC}",
        MAC,
        "NEC",
        "pc",
    )
    assert (device.os_family, device.os_version) == ("Windows", "XP")  # the weaker user agent did not win
    assert device.os_evidence == {
        "source": "fortigate.device-id",
        "detail": "Windows XP",
        "confidence": CONFIDENCE_DEVICE_ID,
    }
    assert device.ip == "192.168.1.34"  # the newest address
    assert device.names == ("PC-SEIZOU-XP", "PC-SEIZOU-XP2")
    assert (device.first_seen, device.last_seen) == (T0, T0 + timedelta(hours=1))
    assert not device.approved
    (service,) = repos.assets.services(tenant_a.id, top=10)
    assert (service.asset_id, service.destination, service.port, service.count) == (
        device.id,
        "203.0.113.66",
        8080,
        3,
    )
    assert (service.first_seen, service.last_seen) == (T0, T0 + timedelta(hours=1))


def test_an_address_known_device_is_rekeyed_when_its_mac_appears(
    repos: Repositories, tenant_a: Tenant
) -> None:
    old = repos.assets.upsert(tenant_a.id, "192.168.1.50", hostname="PC-50", seen_at=T0)
    repos.assets.record(
        tenant_a.id,
        summarise(
            [facts(tenant_a, ip="192.168.1.50", mac="3c:d9:2b:00:00:50", seen=T0 + timedelta(hours=1))]
        ),
    )
    (device,) = repos.assets.inventory(tenant_a.id)
    assert (device.id, device.device_key, device.hostname) == (old.id, "mac:3c:d9:2b:00:00:50", "PC-50")


def test_approval_is_per_tenant_and_recording_never_unapproves(
    repos: Repositories, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    repos.assets.record(tenant_a.id, summarise([facts(tenant_a, ip="192.168.1.10", mac="00:11:32:c0:fd:5f")]))
    (device,) = repos.assets.inventory(tenant_a.id)
    assert repos.assets.approve(tenant_b.id, device.id, by="b@b.example", at=T0) is None
    assert repos.assets.get(tenant_b.id, device.id) is None
    approved = repos.assets.approve(tenant_a.id, device.id, by="a@a.example", at=T0)
    assert approved is not None
    assert (approved.approved, approved.approved_by, approved.approved_at) == (True, "a@a.example", T0)
    repos.assets.record(
        tenant_a.id,
        summarise([facts(tenant_a, ip="192.168.1.10", mac="00:11:32:c0:fd:5f", seen=T0 + timedelta(days=1))]),
    )
    assert repos.assets.inventory(tenant_a.id)[0].approved
    assert repos.assets.inventory(tenant_b.id) == []
    assert repos.assets.services(tenant_b.id, top=10) == []


def test_services_are_bounded_per_device_and_counts_for_billing(
    repos: Repositories, tenant_a: Tenant
) -> None:
    many = [
        facts(
            tenant_a, ip="192.168.1.5", destination=f"d{i}.example", port=443, seen=T0 + timedelta(seconds=i)
        )
        for i in range(module.MAX_SERVICES_PER_DEVICE + 40)
    ]
    for start in range(0, len(many), 50):  # batches of 50 (each under the per-batch cap)
        repos.assets.record(tenant_a.id, summarise(many[start : start + 50]))
    repos.assets.record(tenant_a.id, summarise([many[0]]))  # a known service still counts on a full device
    used = repos.assets.services(tenant_a.id, top=1000)
    assert len(used) == module.MAX_SERVICES_PER_DEVICE
    assert next(s for s in used if s.destination == "d0.example").count == 2
    assert repos.assets.services(tenant_a.id, top=3)[0].count == 2  # most used first
    repos.assets.record(
        tenant_a.id, summarise([facts(tenant_a, ip="192.168.1.6", seen=T0 - timedelta(days=40))])
    )
    assert repos.assets.count_active(tenant_a.id, T0 - timedelta(days=30)) == 1
    assert repos.assets.count_active(tenant_a.id, T0 - timedelta(days=60)) == 2


def test_other_tenants_summaries_are_ignored(repos: Repositories, tenant_a: Tenant, tenant_b: Tenant) -> None:
    assert repos.assets.record(tenant_a.id, summarise([facts(tenant_b, ip="192.168.1.9")])) == 0
    assert repos.assets.inventory(tenant_a.id) == []
