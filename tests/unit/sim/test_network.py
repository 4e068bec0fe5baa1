"""The simulated tenants: distinct LANs, FortiGate identities, plausible devices."""

from __future__ import annotations

import ipaddress
import re

from mimamori.sim import build_tenants


def test_tenants_are_distinct_and_well_formed() -> None:
    tenants = build_tenants(300, seed=5)
    assert len({t.subnet for t in tenants}) == 300
    assert len({t.name for t in tenants}) == 300
    assert all(t.subnet.startswith("192.168.") for t in tenants[:254])
    for tenant in tenants:
        assert re.fullmatch(r"FG\w+-[A-Z0-9]+", tenant.firewall_name)
        assert re.fullmatch(r"FGT\w{5}\d{8}", tenant.firewall_serial)
        assert len(tenant.firewall_serial) == 16
        net = ipaddress.ip_network(tenant.subnet)
        for device in tenant.devices:
            assert ipaddress.ip_address(device.ip) in net
            assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", device.mac)
        assert len({d.ip for d in tenant.devices}) == len(tenant.devices)
    assert (
        build_tenants(3, seed=5) == tenants[:3] or build_tenants(3, seed=5)[0].devices == tenants[0].devices
    )


def test_devices_carry_fortigate_identification_fields() -> None:
    tenant = build_tenants(1, seed=1)[0]
    roles = {d.role for d in tenant.devices}
    assert {"server", "printer", "pc", "laptop", "phone", "legacy"} <= roles
    pcs = tenant.by_role("pc")
    assert any(re.fullmatch(r"PC-[A-Z]+-\d{2}", d.name) for d in pcs)
    legacy = tenant.by_role("legacy")[0]
    assert (legacy.os_name, legacy.os_version, legacy.device_type) == ("Windows", "XP", "Windows PC")
