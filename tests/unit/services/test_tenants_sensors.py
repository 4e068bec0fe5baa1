"""Registering sensors: bad time zones are validation errors, never crashes."""

from __future__ import annotations

import pytest

from mimamori.errors import ValidationError
from mimamori.services import Database, tenants


@pytest.mark.parametrize("zone", ["Asia", "Not/AZone", "", "x" * 5000, "../../etc/passwd", "Asia/Tokyo\x00"])
def test_unknown_time_zones_are_refused_clearly(db: Database, zone: str) -> None:
    tenant = tenants.add_tenant(db, "山田製作所")
    with pytest.raises(ValidationError, match="time zone"):
        tenants.add_sensor(db, tenant.id, "utm", "fortigate", timezone=zone)


def test_an_iana_zone_is_kept(db: Database) -> None:
    tenant = tenants.add_tenant(db, "山田製作所")
    added = tenants.add_sensor(db, tenant.id, "utm", "fortigate", timezone="America/New_York")
    assert added.sensor.timezone == "America/New_York"
