"""How an indicator hit is shown: the kind of thing each indicator type is, the title templates (message
ids the web translates with the value), and the ``indicator.*`` evidence fields. Shared by the live
matcher and the retro-hunt."""

from __future__ import annotations

from mimamori.detection.indicators import values as v
from mimamori.detection.indicators.store import Indicator

# What kind of thing a type is, for the title: address, domain (names and URLs), file, tls, mail.
KINDS = {
    v.IP: "address",
    v.CIDR: "address",
    v.DOMAIN: "domain",
    v.URL: "domain",
    v.MD5: "file",
    v.SHA1: "file",
    v.SHA256: "file",
    v.JA3: "tls",
    v.X509_SHA1: "tls",
    v.EMAIL: "mail",
    v.EMAIL_DOMAIN: "mail",
}
# Title templates are message ids: the web translates them with the alert's indicator value.
TITLES = {
    ("connection", "address", True): "Connection to a known malicious server: %(value)s",
    ("connection", "address", False): "Connection from a known malicious server: %(value)s",
    ("connection", "domain", True): "Access to a known malicious site: %(value)s",
    ("connection", "domain", False): "Access to a known malicious site: %(value)s",
    ("connection", "file", True): "Transfer of a known malicious file: %(value)s",
    ("connection", "file", False): "Transfer of a known malicious file: %(value)s",
    ("connection", "tls", True): "TLS connection with a known malware fingerprint: %(value)s",
    ("connection", "tls", False): "TLS connection with a known malware fingerprint: %(value)s",
    ("connection", "mail", True): "Mail from a known malicious sender: %(value)s",
    ("connection", "mail", False): "Mail from a known malicious sender: %(value)s",
    ("blocked", "address", True): "Blocked connection to a known malicious server: %(value)s",
    ("blocked", "address", False): "Blocked connection from a known malicious server: %(value)s",
    ("blocked", "domain", True): "Blocked access to a known malicious site: %(value)s",
    ("blocked", "domain", False): "Blocked access to a known malicious site: %(value)s",
    ("blocked", "file", True): "Blocked transfer of a known malicious file: %(value)s",
    ("blocked", "file", False): "Blocked transfer of a known malicious file: %(value)s",
    ("blocked", "tls", True): "Blocked TLS connection with a known malware fingerprint: %(value)s",
    ("blocked", "tls", False): "Blocked TLS connection with a known malware fingerprint: %(value)s",
    ("blocked", "mail", True): "Blocked mail from a known malicious sender: %(value)s",
    ("blocked", "mail", False): "Blocked mail from a known malicious sender: %(value)s",
    ("dns", "domain", True): "Name lookup of a known malicious site: %(value)s",
    ("dns", "domain", False): "Name lookup of a known malicious site: %(value)s",
    ("dns", "address", True): "Name lookup of a known malicious site: %(value)s",
    ("dns", "address", False): "Name lookup of a known malicious site: %(value)s",
    ("retro", "address", True): "Earlier connection to a server now known to be malicious: %(value)s",
    ("retro", "address", False): "Earlier connection from a server now known to be malicious: %(value)s",
    ("retro", "domain", True): "Earlier access to a site now known to be malicious: %(value)s",
    ("retro", "domain", False): "Earlier access to a site now known to be malicious: %(value)s",
    ("retro", "file", True): "Earlier transfer of a file now known to be malicious: %(value)s",
    ("retro", "file", False): "Earlier transfer of a file now known to be malicious: %(value)s",
    ("retro", "tls", True): "Earlier TLS connection with a fingerprint now known as malware: %(value)s",
    ("retro", "tls", False): "Earlier TLS connection with a fingerprint now known as malware: %(value)s",
    ("retro", "mail", True): "Earlier mail from a sender now known to be malicious: %(value)s",
    ("retro", "mail", False): "Earlier mail from a sender now known to be malicious: %(value)s",
}


def indicator_evidence(hit: Indicator, matched_field: str) -> dict[str, str | int]:
    """The ``indicator.*`` evidence fields of a hit (ECS ``threat.indicator`` in spirit, flat)."""
    evidence: dict[str, str | int] = {
        "indicator.value": hit.value,
        "indicator.type": hit.type,
        "indicator.source": hit.source,
        "indicator.confidence": hit.confidence,
        "indicator.tlp": hit.tlp,
        "indicator.matched_field": matched_field,
    }
    if hit.threat:
        evidence["indicator.threat"] = hit.threat
    if hit.description:
        evidence["indicator.description"] = hit.description
    if hit.expires_at is not None:
        evidence["indicator.expires_at"] = hit.expires_at.isoformat()
    return evidence


__all__ = ["KINDS", "TITLES", "indicator_evidence"]
