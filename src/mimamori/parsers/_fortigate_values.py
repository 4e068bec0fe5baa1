"""FortiGate value normalisations: domain names, MAC notation, URLs split into ECS ``url.*`` fields.

Split out of ``fortigate`` (which calls them for ``hostname``, ``qname``, ``srcmac``/``dstmac`` and
``url``); pure functions of attacker-controlled text, memoised where values repeat (MACs, bounded).
"""

from __future__ import annotations

import re

from mimamori.domain.models import Fields
from mimamori.parsers._fast import BoundedCache

__all__ = ["domain", "mac", "url"]

_MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}")


def domain(value: str) -> str:
    """A DNS name as ECS wants it: lower-case, without the root's trailing dot."""
    return value.rstrip(".").lower()


MACS: BoundedCache[str, str] = BoundedCache(4096)


def mac(value: str) -> str:
    """ECS notation for MAC addresses: upper-case, hyphen-separated; anything else kept as sent."""
    found = MACS.get(value)
    if found is None:
        found = value.upper().replace(":", "-") if _MAC_RE.fullmatch(value) else value
        if len(value) <= 17:
            MACS.put(value, found)
    return found


def url(fields: Fields, url: str) -> None:
    """``url.original`` as sent; ``url.domain``/``url.path``/``url.query`` split out of it."""
    fields["url.original"] = url
    rest = url
    scheme_end = url.find("://")
    if scheme_end > 0:
        rest = url[scheme_end + 3 :]
        host_end = len(rest)
        for sep in "/?#":
            i = rest.find(sep)
            if 0 <= i < host_end:
                host_end = i
        host = rest[:host_end].rpartition("@")[2]
        if host.startswith("["):
            host = host[1 : host.find("]")] if "]" in host else host
        else:
            host = host.partition(":")[0]
        if host and "url.domain" not in fields:
            fields["url.domain"] = domain(host)
        rest = rest[host_end:]
    path, _, query = rest.partition("#")[0].partition("?")
    if path:
        fields["url.path"] = path
    if query:
        fields["url.query"] = query
