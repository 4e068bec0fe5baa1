from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mimamori.domain import Finding, Severity
from mimamori.domain.fingerprint import fingerprint

BASE = Finding(
    "t1",
    "indicator",
    "ip:203.0.113.66",
    "x",
    Severity.HIGH,
    datetime(2026, 11, 26, 3, tzinfo=UTC),
    host="PC-01",
)


def test_same_detector_key_tenant_host_and_day_share_a_fingerprint() -> None:
    later = replace(BASE, timestamp=BASE.timestamp + timedelta(hours=2), title="other", severity=Severity.LOW)
    assert fingerprint(BASE) == fingerprint(later)


def test_any_identity_part_changes_the_fingerprint() -> None:
    variants = [
        replace(BASE, tenant_id="t2"),
        replace(BASE, host="PC-02"),
        replace(BASE, key="ip:203.0.113.67"),
        replace(BASE, detector="sigma"),
        replace(BASE, timestamp=BASE.timestamp + timedelta(days=1)),
    ]
    assert len({fingerprint(v) for v in variants} | {fingerprint(BASE)}) == 6


def test_device_ip_identifies_the_device_whatever_its_display_name() -> None:
    by_name = replace(BASE, host="PC-XP-01", device_ip="192.168.1.5")
    by_address = replace(BASE, host="192.168.1.5", device_ip="192.168.1.5")
    assert fingerprint(by_name) == fingerprint(by_address)
    assert fingerprint(by_name) != fingerprint(replace(by_name, device_ip="192.168.1.6"))
