from datetime import UTC, datetime

from mimamori.detection.hostnames import HostNames
from mimamori.domain import Event, Fields

T = datetime(2026, 11, 26, tzinfo=UTC)


def ev(tenant: str, **fields: str) -> Event:
    data: Fields = {k.replace("_", "."): v for k, v in fields.items()}
    return Event(T, tenant, "x", data)


def test_names_learned_from_one_source_fill_another_within_the_tenant_only() -> None:
    names = HostNames()
    named = ev("a", source_ip="192.168.1.5", host_name="PC-KEIRI-01")
    zeek_a = ev("a", source_ip="192.168.1.5")
    zeek_b = ev("b", source_ip="192.168.1.5")
    names.enrich([named, zeek_a, zeek_b])
    assert zeek_a.fields["host.name"] == "PC-KEIRI-01"
    assert "host.name" not in zeek_b.fields


def test_a_renamed_device_takes_its_new_name_and_the_map_is_bounded() -> None:
    names = HostNames(max_entries=2)
    names.enrich(
        [ev("a", source_ip="10.0.0.1", host_name="OLD"), ev("a", source_ip="10.0.0.1", host_name="NEW")]
    )
    later = ev("a", source_ip="10.0.0.1")
    names.enrich([later])
    assert later.fields["host.name"] == "NEW"
    names.enrich([ev("a", source_ip=f"10.0.0.{i}", host_name=f"H{i}") for i in range(2, 10)])
    assert len(names) == 2
