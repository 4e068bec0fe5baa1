"""What kind of thing an alert is: its category and its ATT&CK tactics (kill-chain stage).

The guidance catalogue, the damage model and incident correlation key on these, not on detector names, so
a new detector plugs in by declaring a category (``DETECTOR_CATEGORIES``) or by tagging its findings with
ATT&CK tactics (``attack.execution``): it gets a generic guidance entry and a damage type without any other
change. Only the indicator detector needs a look at its evidence (address vs name, lookup vs connection).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mimamori.domain import Alert, FieldValue

# ATT&CK enterprise tactics in kill-chain order (the timeline sorts stages by this rank).
TACTICS: tuple[str, ...] = (
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
)
TACTIC_RANK = {name: rank for rank, name in enumerate(TACTICS, start=1)}

# Detectors whose every finding is of one category: the behaviour detectors of the later issue.
DETECTOR_CATEGORIES: dict[str, str] = {
    "beacon": "beaconing",
    "new_device": "new-device",
    "eol_os": "eol-os",
    "no_antivirus": "eol-os",  # an unprotected device: the same advice as an unsupported one
    "smtp_burst": "mail-burst",
    "mail_burst": "mail-burst",
    "scan": "scan",
    "port_scan": "scan",
    "utm_virus": "malware",
    "dns_anomaly": "dns-anomaly",
    "large_transfer": "exfiltration",
    "risky_download": "risky-download",
    "ids_alert": "intrusion",
    "brute_force": "brute-force",
}

# The tactic a category stands for when the finding carries no ATT&CK tag.
CATEGORY_TACTIC: dict[str, str] = {
    "c2": "command-and-control",
    "beaconing": "command-and-control",
    "malicious-site": "initial-access",
    "phishing": "initial-access",
    "new-device": "initial-access",
    "malware": "execution",
    "execution": "execution",
    "credential": "credential-access",
    "scan": "discovery",
    "mail-burst": "impact",
    "ransomware": "impact",
    "dns-anomaly": "command-and-control",
    "exfiltration": "exfiltration",
    "risky-download": "initial-access",
    "intrusion": "initial-access",
    "brute-force": "credential-access",
}

# A category read from the most telling tactic of a tagged finding (Sigma rules, ...).
TACTIC_CATEGORY: dict[str, str] = {
    "reconnaissance": "scan",
    "discovery": "scan",
    "initial-access": "phishing",
    "execution": "execution",
    "persistence": "execution",
    "privilege-escalation": "execution",
    "defense-evasion": "execution",
    "credential-access": "credential",
    "lateral-movement": "execution",
    "collection": "execution",
    "command-and-control": "c2",
    "exfiltration": "exfiltration",
    "impact": "ransomware",
}

# Which category names an incident when it holds several: the later and the more harmful wins.
CATEGORY_PRIORITY: tuple[str, ...] = (
    "ransomware",
    "mail-burst",
    "exfiltration",
    "c2",
    "beaconing",
    "dns-anomaly",
    "credential",
    "brute-force",
    "execution",
    "malware",
    "phishing",
    "risky-download",
    "intrusion",
    "malicious-site",
    "new-device",
    "eol-os",
    "scan",
    "suspicious",
)
GENERIC = "suspicious"


@dataclass(frozen=True, slots=True)
class Classification:
    """An alert's category and tactics; ``stage`` is the highest tactic rank (0 when none)."""

    category: str
    tactics: tuple[str, ...]

    @property
    def stage(self) -> int:
        return max((TACTIC_RANK.get(t, 0) for t in self.tactics), default=0)


def tactics_of(tags: Iterable[str]) -> tuple[str, ...]:
    """The ATT&CK tactics among ``tags`` ("attack.execution"; technique ids like attack.t1059 are not)."""
    found = {tag[7:].replace("_", "-") for tag in tags if tag.startswith("attack.")}
    return tuple(sorted((t for t in found if t in TACTIC_RANK), key=TACTIC_RANK.__getitem__))


def _indicator_category(evidence: Mapping[str, FieldValue]) -> str:
    template = evidence.get("title.template")
    if isinstance(template, str) and ("site" in template or "Name lookup" in template):
        return "malicious-site"
    return "c2"


def classify(detector: str, tags: Iterable[str], evidence: Mapping[str, FieldValue]) -> Classification:
    """The category and tactics of one alert; never fails, unknown input is ``suspicious``."""
    tags = tuple(tags)
    tactics = tactics_of(tags)
    if detector == "indicator":
        category = _indicator_category(evidence)
    elif detector in DETECTOR_CATEGORIES:
        category = DETECTOR_CATEGORIES[detector]
    elif tactics:
        category = TACTIC_CATEGORY.get(tactics[-1], GENERIC)
    else:
        category = GENERIC
    if category == "c2" and detector == "indicator" and "command-and-control" not in tactics:
        tactics = (*tactics, "command-and-control")
    if not tactics and category in CATEGORY_TACTIC:
        tactics = (CATEGORY_TACTIC[category],)
    if detector == "indicator" and category == "malicious-site":
        # A listed name is the first step, whatever tags the detector carries.
        tactics = ("initial-access",)
    return Classification(category, tactics)


def classify_alert(alert: Alert) -> Classification:
    return classify(alert.detector, alert.tags, alert.evidence)


def incident_category(categories: Iterable[str]) -> str:
    """The one category that names an incident holding alerts of ``categories``."""
    present = set(categories)
    for category in CATEGORY_PRIORITY:
        if category in present:
            return category
    return next(iter(sorted(present)), GENERIC)
