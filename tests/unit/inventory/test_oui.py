"""MAC normal form, private MACs and the IEEE OUI vendor table (bundled and refreshed)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from mimamori.inventory.oui import (
    OUI_FILE,
    OuiTable,
    decode_table,
    encode_table,
    is_private_mac,
    normalise_mac,
    parse_ieee_csv,
    parse_ieee_text,
    parse_registry,
)

CSV = (
    "Registry,Assignment,Organization Name,Organization Address\n"
    'MA-L,001132,"Synology Incorporated","3F., No.106, Chang An W. Rd. Taipei TW 103"\n'
    "MA-L,008077,Brother Industries  Ltd.,Nagoya JP\n"
    "MA-L,zz1234,Broken,\n"
)
TEXT = (
    "OUI/MA-L                                                    Organization\n"
    "00-00-4C   (hex)\t\tNEC Corporation\n"
    "00004C     (base 16)\t\tNEC Corporation\n"
    "\t\t\t\t7-1, Shiba 5-chome\n"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("00-00-4C-7A-4C-70", "00:00:4c:7a:4c:70"),
        ("00:00:4c:7a:4c:70", "00:00:4c:7a:4c:70"),
        ("0000.4c7a.4c70", "00:00:4c:7a:4c:70"),
        ("ff:ff:ff:ff:ff:ff", None),
        ("00:00:00:00:00:00", None),
        ("00:00:4c:7a:4c", None),
        ("zz:00:4c:7a:4c:70", None),
        ("0" * 10_000, None),
        (12, None),
        (None, None),
    ],
)
def test_normalise_mac(raw: object, expected: str | None) -> None:
    assert normalise_mac(raw) == expected


def test_locally_administered_macs_are_private() -> None:
    assert is_private_mac("b2:d7:2b:14:06:fe")  # an iPhone's private Wi-Fi address
    assert is_private_mac("aa:cb:45:18:ff:05")
    assert not is_private_mac("00:00:4c:7a:4c:70")


def test_the_bundled_table_names_the_simulators_vendors() -> None:
    table = OuiTable.load()
    assert len(table) > 30_000
    assert table.vendor("00:11:32:c0:fd:5f") == "Synology Incorporated"
    assert table.vendor("00:00:4c:55:57:a3") == "NEC"
    assert "Brother" in (table.vendor("00:80:77:41:ce:de") or "")
    assert table.vendor("b6:51:01:1d:14:d5") is None  # private: no vendor, whatever the prefix


def test_bundled_file_is_small_package_content() -> None:
    path = Path(__file__).parents[3] / "src" / "mimamori" / "content" / "oui" / OUI_FILE
    assert path.stat().st_size < 500_000


def test_parse_both_ieee_forms_and_round_trip() -> None:
    assert parse_ieee_csv(CSV) == {"001132": "Synology Incorporated", "008077": "Brother Industries"}
    assert "ZZ1234" not in parse_ieee_csv(CSV)
    assert parse_ieee_text(TEXT) == {"00004C": "NEC"}
    assert parse_registry(TEXT) == parse_ieee_text(TEXT)
    table = parse_registry(CSV)
    assert decode_table(encode_table(table)) == table
    assert encode_table(table) == encode_table(dict(reversed(list(table.items()))))  # deterministic


def test_data_dir_copy_wins_and_a_broken_one_falls_back(tmp_path: Path) -> None:
    (tmp_path / OUI_FILE).write_bytes(encode_table({"001132": "Someone Else"}))
    assert OuiTable.load(tmp_path).vendor("00:11:32:00:00:01") == "Someone Else"
    (tmp_path / OUI_FILE).write_bytes(b"not gzip")
    assert OuiTable.load(tmp_path).vendor("00:11:32:00:00:01") == "Synology Incorporated"
    (tmp_path / OUI_FILE).write_bytes(gzip.compress(b"garbage without tabs\n"))
    assert len(OuiTable.load(tmp_path)) > 30_000
