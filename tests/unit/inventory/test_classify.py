"""Device classes, OS families and end-of-life OS releases."""

from __future__ import annotations

import pytest

from mimamori.inventory import DeviceClass, device_class, is_eol
from mimamori.inventory.classify import os_family


@pytest.mark.parametrize(
    ("devtype", "os", "vendor", "hostname", "expected"),
    [
        ("iPhone", None, None, None, DeviceClass.PHONE),
        ("Android Phone", None, None, None, DeviceClass.PHONE),
        ("Printer", None, None, None, DeviceClass.PRINTER),
        ("NAS", None, None, None, DeviceClass.SERVER),
        ("Windows PC", None, None, None, DeviceClass.PC),
        ("Router", None, None, None, DeviceClass.NETWORK),
        ("IP Phone", None, None, None, DeviceClass.IOT),
        (None, "iOS", None, None, DeviceClass.PHONE),
        (None, "Windows", None, None, DeviceClass.PC),
        (None, None, "Brother industries", None, DeviceClass.PRINTER),
        (None, None, "Synology Incorporated", None, DeviceClass.SERVER),
        (None, None, "Fortinet", None, DeviceClass.NETWORK),
        (None, None, None, "PRN-FUKUGOUKI-01", DeviceClass.PRINTER),
        (None, None, None, "Taro-no-iPhone", DeviceClass.PHONE),
        (None, None, None, "PC-KEIRI-01", DeviceClass.PC),
        (None, None, None, "FS01", DeviceClass.SERVER),
        (None, None, None, "whatever", DeviceClass.UNKNOWN),
        (None, None, None, None, DeviceClass.UNKNOWN),
    ],
)
def test_device_class(
    devtype: str | None, os: str | None, vendor: str | None, hostname: str | None, expected: DeviceClass
) -> None:
    assert device_class(devtype, os, vendor, hostname) == expected


def test_os_family_names() -> None:
    assert os_family("Mac OS X") == "macOS"
    assert os_family("windows") == "Windows"
    assert os_family("iPadOS") == "iOS"
    assert os_family("Solaris") == "Solaris"


@pytest.mark.parametrize(
    ("family", "version"),
    [
        ("Windows", "XP"),
        ("Windows", "Vista"),
        ("Windows", "7"),
        ("Windows", "8.1"),
        ("Windows", "Server 2003"),
        ("Windows", "Server 2008 R2"),
        ("Windows", "2012 R2"),
        ("iOS", "16.1"),
        ("Android", "11"),
        ("macOS", "10.15"),
        ("macOS", "12.7"),
    ],
)
def test_end_of_life(family: str, version: str) -> None:
    assert is_eol(family, version)


@pytest.mark.parametrize(
    ("family", "version"),
    [
        ("Windows", "11"),
        ("Windows", "10"),
        ("Windows", "10/11"),
        ("Windows", "Server 2022"),
        ("iOS", "17.5"),
        ("Android", "14"),
        ("macOS", "14.5"),
        ("Linux", "DSM 7.2"),
        ("Windows", None),
        (None, "XP"),
        ("iOS", "x" * 1000),
        ("Windows", "²"),  # a digit to str.isdigit, not to int()
        ("Android", "٣"),
    ],
)
def test_supported_or_unknown(family: str | None, version: str | None) -> None:
    assert not is_eol(family, version)
