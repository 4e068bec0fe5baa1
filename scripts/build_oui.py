#!/usr/bin/env python3
"""Build the bundled OUI vendor table ``src/mimamori/content/oui/oui.tsv.gz`` from an IEEE registry file.

Usage: ``.venv/bin/python scripts/build_oui.py SOURCE`` where SOURCE is the IEEE ``oui.csv``
(https://standards-oui.ieee.org/oui/oui.csv), the IEEE ``oui.txt``, or a netaddr wheel (which bundles
``netaddr/eui/oui.txt``: ``.venv/bin/pip download netaddr --no-deps -d /tmp/x``).
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

from mimamori.inventory.oui import OUI_FILE, encode_table, parse_registry

TARGET = Path(__file__).resolve().parent.parent / "src" / "mimamori" / "content" / "oui" / OUI_FILE


def read_source(path: Path) -> str:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return wheel.read("netaddr/eui/oui.txt").decode("utf-8", "replace")
    return path.read_bytes().decode("utf-8", "replace")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    table = parse_registry(read_source(Path(argv[1])))
    if len(table) < 1000:
        print(f"only {len(table)} prefixes: not an IEEE registry file", file=sys.stderr)
        return 1
    data = encode_table(table)
    TARGET.write_bytes(data)
    print(f"{TARGET}: {len(table)} prefixes, {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
