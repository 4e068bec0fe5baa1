"""Indicator types and the one normalisation of their values, shared by feeds, the store and the matcher.

A value is stored and looked up in exactly one spelling, so a feed's ``HTTP://Evil.Example:80/x`` and an
event's ``evil.example`` + ``/x`` meet in one dictionary key: IP addresses canonical (``ipaddress``),
domains lower-case IDNA without the trailing dot, URLs without scheme, default port and fragment, hashes
lower-case hex. Every function raises ``ValueError`` with a reason on a bad value and nothing else.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

IP, CIDR, DOMAIN, URL = "ip", "cidr", "domain", "url"
MD5, SHA1, SHA256 = "md5", "sha1", "sha256"
EMAIL, EMAIL_DOMAIN, JA3, X509_SHA1 = "email", "email_domain", "ja3", "x509_sha1"
TYPES = (IP, CIDR, DOMAIN, URL, MD5, SHA1, SHA256, EMAIL, EMAIL_DOMAIN, JA3, X509_SHA1)
HEX_LENGTHS = {MD5: 32, SHA1: 40, SHA256: 64, JA3: 32, X509_SHA1: 40}
TYPE_ALIASES = {
    "ipv4": IP,
    "ipv6": IP,
    "ip-dst": IP,
    "ip-src": IP,
    "hostname": DOMAIN,
    "fqdn": DOMAIN,
    "sha-1": SHA1,
    "sha-256": SHA256,
    "email-src": EMAIL,
    "ja3-fingerprint-md5": JA3,
    "x509-fingerprint-sha1": X509_SHA1,
}
MAX_DOMAIN = 253
MAX_URL = 2048
MAX_EMAIL = 320
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")
_HEX = re.compile(r"[0-9a-f]+\Z")
DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


def normalise(kind: str, raw: str) -> tuple[str, str]:
    """``(type, value)`` in canonical form; ``kind`` may be an alias (``ipv4``, ``sha-256`` ...)."""
    kind = TYPE_ALIASES.get(kind.strip().lower(), kind.strip().lower())
    text = raw.strip()
    if not text:
        raise ValueError("empty value")
    if kind == IP:
        return IP, ip(text)
    if kind == CIDR:
        net = ipaddress.ip_network(text, strict=False)
        if net.num_addresses == 1:
            return IP, str(net.network_address)
        return CIDR, str(net)
    if kind == DOMAIN:
        return DOMAIN, domain(text)
    if kind == URL:
        return URL, url(text)
    if kind in HEX_LENGTHS:
        return kind, hexdigest(kind, text)
    if kind == EMAIL:
        return EMAIL, email(text)
    if kind == EMAIL_DOMAIN:
        return EMAIL_DOMAIN, domain(text.lstrip("@"))
    raise ValueError(f"unknown indicator type {kind!r}")


def guess(raw: str) -> str:
    """The type a bare value most likely has (plain lists without a type column)."""
    text = raw.strip()
    if "://" in text:
        return URL
    if "/" in text and _parses(ipaddress.ip_network, text):
        return CIDR
    if _parses(ipaddress.ip_address, text):
        return IP
    if "@" in text:
        return EMAIL
    lower = text.lower()
    if _HEX.match(lower):
        return {32: MD5, 40: SHA1, 64: SHA256}.get(len(lower), DOMAIN)
    return DOMAIN


def ip(text: str) -> str:
    return str(ipaddress.ip_address(text.strip("[]")))


def domain(text: str) -> str:
    name = text.strip().lower().rstrip(".")
    if name.startswith("*."):
        name = name[2:]
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"not a domain name: {text[:100]!r}") from exc
    if len(name) > MAX_DOMAIN or "." not in name:
        raise ValueError(f"not a domain name: {text[:100]!r}")
    labels = name.split(".")
    if not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise ValueError(f"not a domain name: {text[:100]!r}")
    return name


def url(text: str) -> str:
    """``host[:port]/path[?query]``: scheme-insensitive, because logs often carry no scheme at all."""
    if len(text) > MAX_URL:
        raise ValueError(f"URL longer than {MAX_URL} characters")
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if not host:
        raise ValueError(f"URL without a host: {text[:100]!r}")
    try:
        # Only a text of ASCII digits and dots, or one with a colon, can be an address: a name skips the
        # failed parse (two exceptions inside ``ipaddress``, most of this function's time).
        if ":" not in host and not host.replace(".", "").isdigit():
            raise ValueError(host)
        host_text = ip(host)
        if ":" in host_text:
            host_text = f"[{host_text}]"
    except ValueError:
        host_text = domain(host) if "." in host else host.lower()
        if not _LABEL.match(host_text.rsplit(":", 1)[0].split(".")[0]):
            raise ValueError(f"URL with a bad host: {text[:100]!r}") from None
    port = parts.port  # ValueError on a bad port
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        host_text = f"{host_text}:{port}"
    path = parts.path or "/"
    return f"{host_text}{path}?{parts.query}" if parts.query else f"{host_text}{path}"


_EVENT_URLS: dict[tuple[str | None, str], str | None] = {}  # event_url's memory: traffic repeats URLs
_EVENT_URLS_MAX = 8192  # entries; cleared when full (hostile input cannot grow it)
_EVENT_URL_CACHED = 512  # characters of domain + original above which a result is not remembered


def event_url(domain_value: str | None, original: str | None) -> str | None:
    """The normalised URL of an event's ``url.domain`` and ``url.original`` (often just path and query)."""
    if original is None:
        return None
    key = (domain_value, original)
    found = _EVENT_URLS.get(key, "")
    if found != "":  # "" is never a result: a hit, None included
        return found
    found = _event_url(domain_value, original)
    if len(original) + len(domain_value or "") <= _EVENT_URL_CACHED:
        if len(_EVENT_URLS) >= _EVENT_URLS_MAX:
            _EVENT_URLS.clear()
        _EVENT_URLS[key] = found
    return found


def _event_url(domain_value: str | None, original: str) -> str | None:
    try:
        if "://" in original[:12]:
            return url(original)
        if domain_value and original.startswith("/"):
            return url(domain_value + original)
    except ValueError:
        return None
    return None


def hexdigest(kind: str, text: str) -> str:
    value = text.replace(":", "").strip().lower()
    if len(value) != HEX_LENGTHS[kind] or not _HEX.match(value):
        raise ValueError(f"not a {kind} value: {text[:100]!r}")
    return value


def email(text: str) -> str:
    value = text.strip().strip("<>").lower()
    local, at, host = value.rpartition("@")
    if not at or not local or len(value) > MAX_EMAIL or " " in local:
        raise ValueError(f"not an e-mail address: {text[:100]!r}")
    return f"{local}@{domain(host)}"


def _parses(func: object, text: str) -> bool:
    try:
        func(text)  # type: ignore[operator]
    except ValueError:
        return False
    return True
