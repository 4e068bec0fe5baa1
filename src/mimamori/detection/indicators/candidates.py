"""The values of an event worth looking up: its addresses, and its rare fields (names, URLs, hashes,
TLS fingerprints, mail senders), normalised as the store keeps them, in the order a finding prefers them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mimamori.detection.indicators import values as v
from mimamori.detection.indicators.sides import ip_like

__all__ = [
    "DOMAIN_FIELDS",
    "DOMAIN_NAMES",
    "MAX_VALUE",
    "RARE_FIELDS",
    "Candidate",
    "candidates",
    "rare_candidates",
    "rare_lookups",
]

DOMAIN_FIELDS = (
    "dns.question.name",
    "url.domain",
    "tls.server.name",
    "tls.client.server_name",
    "destination.domain",
    "http.request.host",
)
HASH_FIELDS = (
    ("file.hash.sha256", v.SHA256),
    ("file.hash.sha1", v.SHA1),
    ("file.hash.md5", v.MD5),
    ("process.hash.sha256", v.SHA256),
    ("process.hash.sha1", v.SHA1),
    ("process.hash.md5", v.MD5),
)
CERT_FIELDS = ("tls.server.hash.sha1", "suricata.tls.fingerprint")
MAIL_FIELDS = ("email.from.address", "email.sender.address")
MAX_VALUE = 2048  # longer field values are not looked up (nor recorded)
Candidate = tuple[str, str, bool, str]  # (type, normalised value, outbound, field)


RARE_FIELDS = frozenset(
    (
        "url.original",
        *DOMAIN_FIELDS,
        *(n for n, _ in HASH_FIELDS),
        "tls.client.ja3",
        *CERT_FIELDS,
        *MAIL_FIELDS,
    )
)


DOMAIN_NAMES = frozenset(DOMAIN_FIELDS)
HASH_NAMES = frozenset(n for n, _ in HASH_FIELDS)
CERT_NAMES = frozenset(CERT_FIELDS)
MAIL_NAMES = frozenset(MAIL_FIELDS)


def candidates(fields: Mapping[str, object]) -> list[Candidate]:
    """Every value of an event worth looking up, in the order a finding prefers them."""
    found: list[Candidate] = []
    dst = fields.get("destination.ip")
    src = fields.get("source.ip")
    if isinstance(dst, str) and dst:
        found.append((v.IP, dst, True, "destination.ip"))
    if isinstance(src, str) and src:
        found.append((v.IP, src, False, "source.ip"))
    if not RARE_FIELDS.isdisjoint(fields):
        found.extend(rare_candidates(fields))
    return found


def rare_candidates(fields: Mapping[str, object]) -> list[Candidate]:
    """The names, URLs, hashes, fingerprints and senders of an event (most events carry none)."""
    found: list[Candidate] = []
    get = fields.get
    # One C pass over the (cold) event dict finds the few rare names present; a name that is absent
    # would be skipped below anyway, so only present ones are looked at.
    present = RARE_FIELDS.intersection(fields)
    if "url.original" in present:
        original = get("url.original")
        if isinstance(original, str) and len(original) <= MAX_VALUE:
            domain = get("url.domain")
            url = v.event_url(domain if isinstance(domain, str) else None, original)
            if url is not None:
                found.append((v.URL, url, True, "url.original"))
    seen = ""
    for name in DOMAIN_FIELDS if not DOMAIN_NAMES.isdisjoint(present) else ():
        if name not in present:
            continue
        value = get(name)
        if isinstance(value, str) and value and value != seen and len(value) <= v.MAX_DOMAIN:
            seen = value
            name_value = value.lower().rstrip(".") if not value.islower() or value.endswith(".") else value
            if "." in name_value and not ip_like(name_value):
                found.append((v.DOMAIN, name_value, True, name))
    for name, kind in HASH_FIELDS if not HASH_NAMES.isdisjoint(present) else ():
        value = get(name) if name in present else None
        if isinstance(value, str) and len(value) == v.HEX_LENGTHS[kind]:
            found.append((kind, value.lower(), False, name))
    if "tls.client.ja3" in present:
        ja3 = get("tls.client.ja3")
        if isinstance(ja3, str) and len(ja3) == v.HEX_LENGTHS[v.JA3]:
            found.append((v.JA3, ja3.lower(), True, "tls.client.ja3"))
    for name in CERT_FIELDS if not CERT_NAMES.isdisjoint(present) else ():
        value = get(name) if name in present else None
        if isinstance(value, str) and len(value) <= 64:
            cert = value.replace(":", "").lower()
            if len(cert) == v.HEX_LENGTHS[v.X509_SHA1]:
                found.append((v.X509_SHA1, cert, True, name))
                break
    for name in MAIL_FIELDS if not MAIL_NAMES.isdisjoint(present) else ():
        value = get(name) if name in present else None
        if isinstance(value, str) and "@" in value and len(value) <= v.MAX_EMAIL:
            found.append((v.EMAIL, value.strip().strip("<>").lower(), False, name))
            break
    return found


def rare_lookups(
    fields: Mapping[str, object],
    dst: object,
    src: object,
    listed: bool,
    in_ranges: Callable[[object], bool] | None,
) -> list[Candidate]:
    """``candidates`` of an event with rare fields, without the addresses when they cannot hit.

    ``listed``: an address is in the IP table. When it is not and neither is in a listed range,
    looking the addresses up (``IndicatorSet.match_ip``) would find nothing: they are left out. (A str
    subclass, which those exact-type tests skip, keeps the full lookup.)
    """
    exact = (dst.__class__ is str or not isinstance(dst, str)) and (
        src.__class__ is str or not isinstance(src, str)
    )
    if exact and not listed and not (in_ranges is not None and (in_ranges(dst) or in_ranges(src))):
        return rare_candidates(fields)
    return candidates(fields)
