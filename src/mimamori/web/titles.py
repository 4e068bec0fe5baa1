"""Alert and incident titles in the page language.

Indicator detectors store an English message-id template (``title.template``) and the value
(``indicator.value``) with each alert; incident views carry the same pair as ``title_template`` /
``title_value`` (from the alert the incident's title was copied from). The web translates the template
and fills in the value. Titles without a template (Sigma and behaviour rules) stay as stored: analysts
read English rule titles. Customers instead get a short headline of the incident's guidance entry in
their language, so an SME clerk never reads a raw rule title.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from typing import Any

from mimamori.domain import Alert

# Short headlines of the guidance catalogue's entries (content/guidance/catalogue.toml ids); message ids
# translated in the web catalogue.
HEADLINES = {
    "c2": "Communication with a server that attackers use",
    "malicious-site": "Access to a dangerous web site",
    "malware": "A harmful program or a suspicious action on a device",
    "phishing": "A fake e-mail or a trap",
    "mail-burst": "An unusual amount of e-mail sent",
    "ransomware": "Signs of ransomware",
    "new-device": "A new device on your network",
    "eol-os": "A device whose system is no longer supported",
    "scan": "Someone probing your network",
    "dns-anomaly": "Unusual look-ups of site names",
    "exfiltration": "A large amount of data sent out",
    "risky-download": "A risky download",
    "intrusion": "An attempted break-in",
    "brute-force": "Repeated password guessing",
    "blocked": "A dangerous connection was blocked",
    "generic": "Suspicious activity",
}


def _fill(catalogue: gettext.NullTranslations, template: object, value: object, fallback: str) -> str:
    if isinstance(template, str) and isinstance(value, str):
        try:
            return catalogue.gettext(template) % {"value": value}
        except (KeyError, TypeError, ValueError):
            return fallback
    return fallback


def alert_title(catalogue: gettext.NullTranslations, alert: Alert | Mapping[str, Any]) -> str:
    """An alert (domain object or the incident view's timeline entry) or an incident view's title."""
    if isinstance(alert, Alert):
        evidence = alert.evidence
        return _fill(catalogue, evidence.get("title.template"), evidence.get("indicator.value"), alert.title)
    title = str(alert.get("title", ""))
    return _fill(catalogue, alert.get("title_template"), alert.get("title_value"), title)


def customer_title(catalogue: gettext.NullTranslations, incident: Mapping[str, Any]) -> str:
    """An incident's title for a customer: the translated template, else the guidance headline."""
    if incident.get("title_template"):
        return alert_title(catalogue, incident)
    guidance = incident.get("guidance") or {}
    entry = next((g.get("entry") for g in guidance.values() if isinstance(g, Mapping)), None)
    headline = HEADLINES.get(str(entry)) if entry else None
    return catalogue.gettext(headline) if headline else str(incident.get("title", ""))
