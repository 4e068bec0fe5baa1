"""Malicious infrastructure of the scenarios, and the demo indicator list built from it.

Only reserved documentation ranges (RFC 5737 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24; RFC 3849
2001:db8::/32) and names under ``.example`` / ``.invalid`` (RFC 2606) are used, so nothing real is ever
implicated. ``indicator_lines()`` is the single source of ``src/mimamori/content/indicators.txt``.
"""

from __future__ import annotations

from pathlib import Path

# Command-and-control servers contacted by infected hosts (allowed by the firewall policy).
XP_C2_IP = "203.0.113.66"  # C2 of the malware on the legacy Windows XP PC
EMOTET_C2_IPS = ("198.51.100.77", "198.51.100.78")  # Emotet epoch C2 tier-1 nodes, port 8080/443
FREEWARE_C2_IP = "203.0.113.120"  # C2 of the trojanised freeware installer
C2_ALLOWED_IP = "192.0.2.44"  # C2 reached by a PC despite its endpoint antivirus
C2_CIDR = "203.0.113.192/27"  # a bullet-proof hosting block (listed as a range)
C2_CIDR_HOST = "203.0.113.201"  # one address inside C2_CIDR, used by the c2-allowed scenario
IPV6_C2_CIDR = "2001:db8:bad::/48"  # listed for completeness; IPv6 matching is exercised by parsers' tests

# Malware distribution (BYOD iPhone) and the freeware download site.
MALWARE_DIST_DOMAIN = "malware-dist.example"
MALWARE_DIST_HOST = "dl.malware-dist.example"
MALWARE_DIST_IP = "198.51.100.23"
BADSITE_DOMAIN = "badsite.example"
BADSITE_HOST = "free-soft.badsite.example"
BADSITE_IP = "198.51.100.140"
BADSITE_C2_HOST = "cdn-update.badsite.example"
PHISH_DOMAIN = "invoice-check.invalid"  # link target in the supply-chain phishing mails

# Not listed: the partner whose mail server was hacked is a victim, not an indicator.
PARTNER_DOMAIN = "torihikisaki-shoji.example"

_INDICATORS: tuple[tuple[str, str, str], ...] = (
    (XP_C2_IP, "ip", "C2 server of malware on legacy Windows XP PCs (scenario xp-malware)"),
    (EMOTET_C2_IPS[0], "ip", "Emotet C2 node (scenario emotet-hotel-wifi)"),
    (EMOTET_C2_IPS[1], "ip", "Emotet C2 node (scenario emotet-hotel-wifi)"),
    (FREEWARE_C2_IP, "ip", "C2 of a trojanised freeware installer (scenario freeware-malware)"),
    (C2_ALLOWED_IP, "ip", "C2 server reached despite endpoint antivirus (scenario c2-allowed)"),
    (C2_CIDR, "cidr", "bullet-proof hosting range used for C2 (scenario c2-allowed)"),
    (IPV6_C2_CIDR, "cidr", "IPv6 C2 range (documentation prefix)"),
    (MALWARE_DIST_DOMAIN, "domain", "malware and ransomware distribution server (scenario byod-iphone)"),
    (MALWARE_DIST_IP, "ip", "malware distribution server address (scenario byod-iphone)"),
    (BADSITE_DOMAIN, "domain", "malicious freeware download site and its C2 (scenario freeware-malware)"),
    (PHISH_DOMAIN, "domain", "phishing link target of fake invoice mails (scenario supply-chain-phish)"),
)

HEADER = (
    "# mimamori demo indicator list: value<TAB>type<TAB>description (type: ip, cidr or domain).",
    "# A domain also matches its subdomains. Only documentation addresses and .example/.invalid names:",
    "# Generated from mimamori.sim.infrastructure (edit there, then call write_indicator_file).",
)


def indicator_lines() -> list[str]:
    """The demo indicator list, one line per entry (comments first), without newlines."""
    return [*HEADER, *(f"{value}\t{kind}\t{text}" for value, kind, text in _INDICATORS)]


def indicator_values() -> frozenset[str]:
    """The listed indicator values, for tests and for checks that benign traffic stays clean."""
    return frozenset(value for value, _, _ in _INDICATORS)


def write_indicator_file(path: Path) -> None:
    """Write :func:`indicator_lines` to ``path`` (the bundled ``content/indicators.txt``)."""
    path.write_text("\n".join(indicator_lines()) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_indicator_file(Path(__file__).resolve().parent.parent / "content" / "indicators.txt")
