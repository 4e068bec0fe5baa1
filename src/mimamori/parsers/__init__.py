"""Log parsers: one module per format, all listed in ``PARSERS`` (no registration by side effect).

Each module exposes ``FORMAT`` and ``parse(record) -> Event | None``: ``None`` for a record that carries
no event by design (blank line, Zeek ``#`` header), ``ParseError`` for anything malformed, and never any
other exception, whatever bytes arrive.

``BUILD`` says whether the hot modules run compiled (mypyc, opt-in) or as Python; ``_compiled`` decides
before they are imported.
"""

from __future__ import annotations

from collections.abc import Callable

from mimamori.domain.models import Event, RawRecord
from mimamori.errors import ParseError
from mimamori.parsers import _compiled

BUILD = _compiled.choose()  # before any parser module is imported

from mimamori.parsers import (  # noqa: E402 - after choosing the build
    auto,
    cef,
    cisco_asa,
    ecs,
    evtx,
    fortigate,
    generic,
    leef,
    mde,
    paloalto,
    pfsense,
    sophos,
    suricata,
    syslog,
    wazuh,
    yamaha_rtx,
    zeek,
)

Parser = Callable[[RawRecord], Event | None]

PARSERS: dict[str, Parser] = {
    evtx.FORMAT: evtx.parse,
    syslog.FORMAT: syslog.parse,
    fortigate.FORMAT: fortigate.parse,
    zeek.FORMAT: zeek.parse,
    yamaha_rtx.FORMAT: yamaha_rtx.parse,
    pfsense.FORMAT: pfsense.parse,
    cisco_asa.FORMAT: cisco_asa.parse,
    paloalto.FORMAT: paloalto.parse,
    sophos.FORMAT: sophos.parse,
    cef.FORMAT: cef.parse,
    leef.FORMAT: leef.parse,
    auto.FORMAT: auto.parse,
    suricata.FORMAT: suricata.parse,
    ecs.FORMAT: ecs.parse,
    wazuh.FORMAT: wazuh.parse,
    mde.FORMAT: mde.parse,
    generic.FORMAT: generic.parse,
}


def parse_record(record: RawRecord) -> Event | None:
    """Parse ``record`` with the parser of its format; an unknown format is a ``ParseError``."""
    parser = PARSERS.get(record.format)
    if parser is None:
        raise ParseError(f"unknown format {record.format[:64]!r}")
    return parser(record)


__all__ = ["BUILD", "PARSERS", "Parser", "parse_record"]
