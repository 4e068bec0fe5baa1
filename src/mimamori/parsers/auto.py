"""``syslog-auto``: recognise the vendor of a syslog line by an unambiguous signature and delegate.

For a sensor whose vendor is not configured. A few substring checks decide (no parser is tried on
speculation); a line matching no signature is parsed by the plain ``syslog`` parser, and a line matching
two vendor signatures is refused with ``ParseError("ambiguous format: ...")`` rather than guessed.

CEF and LEEF are containers: other vendors' fields travel inside them (FortiGate's CEF carries
``FTNTFGTlogid=``), so when a line's body starts with a CEF or LEEF header that container decides; only
a line that carries both a CEF and a LEEF header is ambiguous among them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mimamori.domain.models import Event, RawRecord
from mimamori.errors import ParseError
from mimamori.parsers import cef, cisco_asa, fortigate, leef, paloalto, pfsense, sophos, syslog, yamaha_rtx

FORMAT = "syslog-auto"

_CEF_RE = re.compile(r"(?:^|[\s:>])CEF: ?\d\|")
_LEEF_RE = re.compile(r"(?:^|[\s:>])LEEF: ?[12]\.0\|")
_ASA_RE = re.compile(r"%(?:ASA|FTD|PIX|FWSM)(?:-[A-Za-z_]{1,16})?-[0-7]-\d{6}")
_FORTI_RE = re.compile(r"(?:^|[\s>])(?:logid|devid|device_id)=")
_PANOS_TYPES = (
    ",TRAFFIC,",
    ",THREAT,",
    ",SYSTEM,",
    ",CONFIG,",
    ",GLOBALPROTECT,",
    ",HIPMATCH,",
    ",USERID,",
    ",DECRYPTION,",
)
_YAMAHA_MARKERS = (
    "[INSPECT] ",
    " Rejected at IN(",
    " Rejected at OUT(",
    " Passed at IN(",
    " Passed at OUT(",
    "[DHCPD] ",
)

Parser = Callable[[RawRecord], Event | None]


def _vendors(text: str) -> list[tuple[str, Parser]]:
    """Every vendor signature that ``text`` carries, by substring checks first, regexes to confirm."""
    found: list[tuple[str, Parser]] = []
    if "%" in text and _ASA_RE.search(text) is not None:
        found.append((cisco_asa.FORMAT, cisco_asa.parse))
    if "filterlog" in text and ("filterlog:" in text or "filterlog[" in text or " filterlog " in text):
        found.append((pfsense.FORMAT, pfsense.parse))
    if any(marker in text for marker in _PANOS_TYPES) and paloalto.BODY_RE.search(text) is not None:
        found.append((paloalto.FORMAT, paloalto.parse))
    if (
        "log_type=" in text
        or 'device="SFW"' in text
        or ('sys="' in text and 'sub="' in text and 'id="' in text)
    ):
        found.append((sophos.FORMAT, sophos.parse))
    forti = "logid=" in text or "devid=" in text or ("device_id=" in text and "devname=" in text)
    if forti and "type=" in text and _FORTI_RE.search(text) is not None:
        found.append((fortigate.FORMAT, fortigate.parse))
    if any(marker in text for marker in _YAMAHA_MARKERS):
        found.append((yamaha_rtx.FORMAT, yamaha_rtx.parse))
    return found


def detect(text: str) -> tuple[str, Parser]:
    """Return the format name and parser for ``text``; ``ParseError`` when two signatures match."""
    containers: list[tuple[str, Parser]] = []
    if "CEF:" in text and _CEF_RE.search(text) is not None:
        containers.append((cef.FORMAT, cef.parse))
    if "LEEF:" in text and _LEEF_RE.search(text) is not None:
        containers.append((leef.FORMAT, leef.parse))
    found = containers or _vendors(text)
    if len(found) > 1:
        raise ParseError("ambiguous format: " + " and ".join(name for name, _ in found))
    if not found:
        return syslog.FORMAT, syslog.parse
    return found[0]


def parse(record: RawRecord) -> Event | None:
    """Parse ``record`` with the parser its signature names, or as plain syslog."""
    text = syslog.decode(record.data)
    if not text.strip():
        return None
    _, parser = detect(text)
    return parser(record)
