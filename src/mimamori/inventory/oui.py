"""MAC addresses: normal form, locally administered ("private") MACs, and the IEEE OUI vendor table.

The vendor table is a gzip'd TSV (``AABBCC<TAB>Vendor``, MA-L assignments) bundled as package content
(``mimamori/content/oui/oui.tsv.gz``, see its README); a copy in the data directory (written by
``mimamori assets update-oui``) wins over the bundled one. Parsing the IEEE CSV or the ``oui.txt`` text form
lives here too, so the build script and the refresh command share one implementation.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

OUI_FILE = "oui.tsv.gz"  # name of the table, bundled and in the data directory
MAX_VENDOR = 64  # characters kept of an organisation name
_HEX = frozenset("0123456789abcdef")
_TXT_LINE = re.compile(r"^\s*([0-9A-Fa-f]{6})\s+\(base 16\)\s+(.+?)\s*$")
_SUFFIXES = (
    ", inc.",
    " inc.",
    ", inc",
    " inc",
    ", ltd.",
    " ltd.",
    " co., ltd.",
    " co.,ltd.",
    " corporation",
    " corp.",
)


def normalise_mac(value: object) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` from the common spellings (``AA-BB-..``, ``aabb.ccdd.eeff``), else None."""
    if not isinstance(value, str) or len(value) > 32:
        return None
    return _normalise(value)


@lru_cache(maxsize=65536)
def _normalise(value: str) -> str | None:
    digits = "".join(c for c in value.lower() if c not in ":-. ")
    if len(digits) != 12 or not set(digits) <= _HEX:
        return None
    if digits in ("000000000000", "ffffffffffff"):
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def is_private_mac(mac: str) -> bool:
    """Whether ``mac`` (normal form) is locally administered: randomised "private Wi-Fi" MACs, VMs."""
    return bool(int(mac[1], 16) & 0x2)


def oui_prefix(mac: str) -> str:
    """The first three octets, ``AABBCC`` (upper case), of a normal-form MAC."""
    return mac[:8].replace(":", "").upper()


def _short(name: str) -> str:
    name = " ".join(name.split())
    lowered = name.lower()
    for suffix in _SUFFIXES:
        if lowered.endswith(suffix) and len(name) > len(suffix) + 2:
            name = name[: -len(suffix)].rstrip(" ,")
            break
    return name[:MAX_VENDOR]


def _keep(name: str) -> bool:
    """Whether an organisation name names somebody (IEEE lists hidden registrants as "Private")."""
    return bool(name) and name.lower() != "private"


def parse_ieee_csv(text: str) -> dict[str, str]:
    """Prefix → vendor from the IEEE registry CSV (``Registry,Assignment,Organization Name,...``)."""
    table: dict[str, str] = {}
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 3:
            continue
        prefix = row[1].strip().upper()
        if len(prefix) == 6 and set(prefix.lower()) <= _HEX and _keep(row[2].strip()):
            table[prefix] = _short(row[2])
    return table


def parse_ieee_text(text: str) -> dict[str, str]:
    """Prefix → vendor from the IEEE ``oui.txt`` form (``AABBCC     (base 16)\\t\\tVendor``)."""
    table: dict[str, str] = {}
    for line in text.splitlines():
        match = _TXT_LINE.match(line)
        if match and _keep(match.group(2)):
            table[match.group(1).upper()] = _short(match.group(2))
    return table


def parse_registry(text: str) -> dict[str, str]:
    """Either IEEE form, recognised by its content."""
    return parse_ieee_text(text) if "(base 16)" in text else parse_ieee_csv(text)


def encode_table(table: Mapping[str, str]) -> bytes:
    """The gzip'd TSV of ``table`` (sorted, deterministic: mtime 0)."""
    lines = (f"{prefix}\t{vendor.replace(chr(9), ' ')}\n" for prefix, vendor in sorted(table.items()))
    return gzip.compress("".join(lines).encode("utf-8"), compresslevel=9, mtime=0)


def decode_table(data: bytes) -> dict[str, str]:
    """The table of a gzip'd TSV; malformed lines are skipped."""
    table: dict[str, str] = {}
    for line in gzip.decompress(data).decode("utf-8", "replace").splitlines():
        prefix, _, vendor = line.partition("\t")
        if len(prefix) == 6 and vendor:
            table[prefix] = vendor
    return table


class OuiTable:
    """Vendor look-up by MAC; private MACs have no vendor."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self._table = dict(table)

    def __len__(self) -> int:
        return len(self._table)

    def vendor(self, mac: str) -> str | None:
        """The organisation the OUI of normal-form ``mac`` is assigned to, or None (unknown/private)."""
        if is_private_mac(mac):
            return None
        return self._table.get(oui_prefix(mac))

    @classmethod
    def load(cls, data_dir: Path | None = None) -> OuiTable:
        """The data directory's table when present and readable, else the bundled one."""
        if data_dir is not None:
            path = data_dir / OUI_FILE
            try:
                table = decode_table(path.read_bytes())
            except (OSError, EOFError, gzip.BadGzipFile):
                table = {}
            if table:
                return cls(table)
        try:
            bundled = resources.files("mimamori").joinpath("content", "oui", OUI_FILE).read_bytes()
            return cls(decode_table(bundled))
        except (OSError, EOFError, gzip.BadGzipFile):
            return cls({})


_DEFAULT: list[OuiTable] = []


def default_table() -> OuiTable:
    """The process-wide table (loaded once from the bundled content unless ``use_table`` set another)."""
    if not _DEFAULT:
        _DEFAULT.append(OuiTable.load())
    return _DEFAULT[0]


def use_table(table: OuiTable) -> None:
    """Make ``table`` the process-wide table (the services load the data directory's copy)."""
    _DEFAULT[:] = [table]
