"""Severity 緊急度 高/中/低 with a 0–100 score and the reasons that add up to it.

Why points and not a lookup table: the factors the issue names (detector level, indicator confidence,
outcome, asset class and criticality, spread) are independent and each must be shown to the analyst as
"+10: the PC runs Windows XP". A sum of explained points makes every severity reproducible by hand.
Reasons carry an English message id and its values; ``guidance.Translator`` renders them in ja and en.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from mimamori.domain import Alert, FieldValue, Severity
from mimamori.triage.categories import TACTICS, classify_alert

# Points of the detector's own level (Sigma levels first, then the alert's severity).
SIGMA_LEVEL_POINTS = {"critical": 75, "high": 60, "medium": 40, "low": 20, "informational": 5}
SEVERITY_POINTS = {Severity.HIGH: 60, Severity.MEDIUM: 40, Severity.LOW: 20}
BLOCKED_POINTS = -10  # the UTM stopped it: it still counts, but less
ALLOWED_POINTS = 5  # the connection went through
CONFIDENCE_STEP = 5  # one point per 5 % of indicator confidence away from 50 %
LEGACY_OS_POINTS = 10
SERVER_POINTS = 10
CRITICAL_ASSET_POINTS = 10
REPEATED_POINTS = 5
REPEATED_MIN_COUNT = 10  # findings in one alert from which it counts as ongoing
EXTRA_ALERT_POINTS = 5  # per further distinct alert in the incident
EXTRA_ALERT_MAX = 10
STAGES_POINTS = 10  # two or more kill-chain stages on the same device
EXTRA_HOST_POINTS = 5  # per further device in a merged incident
EXTRA_HOST_MAX = 10
HIGH_FROM = 60  # score thresholds of 高 and 中
MEDIUM_FROM = 35

# Every reason message id, for the translation catalogue (``guidance_pot``) and its completeness test.
MESSAGES = (
    "Detection rule level: %(level)s",
    "Detector's own rating: %(level)s",
    "Confidence of the threat information: %(confidence)s%%",
    "The security device blocked it",
    "The communication was not blocked",
    "The device runs %(os)s, which no longer gets security fixes",
    "The device is a server that holds shared data",
    "The customer marked this device as important",
    "Seen %(count)s times: still going on",
    "%(n)s different warnings on the same device",
    "Several steps of an attack were seen: %(stages)s",
    "%(n)s devices are involved",
)
# Values inside reasons that are words, translated too (levels, and ATT&CK tactics in plain words).
VALUE_WORDS = ("critical", "high", "medium", "low", "informational", *TACTICS)

LEGACY_OS_MARKERS = ("xp", "vista", "windows 7", "2003", "2008", "windows 8")
SERVER_PREFIXES = ("fs", "nas", "sv", "srv", "mail", "dc", "ad")  # FS01, MAIL01, SV-01 ...
_PREFIX = re.compile(r"[a-z]+")


@dataclass(frozen=True, slots=True)
class Reason:
    """One factor of a score: its points and an English message id with ``%(name)s`` values."""

    code: str
    points: int
    message: str
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Score:
    score: int
    severity: Severity
    reasons: tuple[Reason, ...]


def severity_of(score: int) -> Severity:
    if score >= HIGH_FROM:
        return Severity.HIGH
    if score >= MEDIUM_FROM:
        return Severity.MEDIUM
    return Severity.LOW


def _text(evidence: Mapping[str, FieldValue], name: str) -> str:
    value = evidence.get(name)
    return value if isinstance(value, str) else ""


def _confidence(evidence: Mapping[str, FieldValue]) -> int | None:
    value = evidence.get("indicator.confidence")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return max(0, min(100, int(value)))
    return {"high": 90, "medium": 60, "low": 30}.get(str(value).lower())


def _base(alert: Alert) -> Reason:
    level = _text(alert.evidence, "sigma.level").lower()
    if level in SIGMA_LEVEL_POINTS:
        return Reason(
            "level", SIGMA_LEVEL_POINTS[level], "Detection rule level: %(level)s", (("level", level),)
        )
    return Reason(
        "level",
        SEVERITY_POINTS[alert.severity],
        "Detector's own rating: %(level)s",
        (("level", alert.severity.value),),
    )


def _asset(alert: Alert, critical_hosts: Collection[str]) -> list[Reason]:
    reasons: list[Reason] = []
    evidence = alert.evidence
    os_text = f"{_text(evidence, 'host.os.name')} {_text(evidence, 'host.os.version')}".strip()
    if os_text and any(marker in os_text.lower() for marker in LEGACY_OS_MARKERS):
        reasons.append(
            Reason(
                "asset.legacy_os",
                LEGACY_OS_POINTS,
                "The device runs %(os)s, which no longer gets security fixes",
                (("os", os_text),),
            )
        )
    host = (alert.host or "").lower()
    device_type = _text(evidence, "host.type").lower()
    prefix = _PREFIX.match(host)
    if "server" in device_type or "nas" in device_type or (prefix and prefix.group() in SERVER_PREFIXES):
        reasons.append(Reason("asset.server", SERVER_POINTS, "The device is a server that holds shared data"))
    if alert.host and alert.host in critical_hosts:
        reasons.append(
            Reason("asset.critical", CRITICAL_ASSET_POINTS, "The customer marked this device as important")
        )
    return reasons


def score_alert(alert: Alert, critical_hosts: Collection[str] = ()) -> Score:
    """The score of one alert on its own."""
    reasons = [_base(alert)]
    confidence = _confidence(alert.evidence)
    if confidence is not None and confidence != 50:
        reasons.append(
            Reason(
                "confidence",
                (confidence - 50) // CONFIDENCE_STEP,
                "Confidence of the threat information: %(confidence)s%%",
                (("confidence", str(confidence)),),
            )
        )
    outcome = _text(alert.evidence, "event.outcome")
    if outcome == "failure":
        reasons.append(Reason("outcome.blocked", BLOCKED_POINTS, "The security device blocked it"))
    elif outcome == "success" and classify_alert(alert).category != "malicious-site":
        reasons.append(Reason("outcome.allowed", ALLOWED_POINTS, "The communication was not blocked"))
    reasons.extend(_asset(alert, critical_hosts))
    if alert.count >= REPEATED_MIN_COUNT:
        reasons.append(
            Reason(
                "repeated",
                REPEATED_POINTS,
                "Seen %(count)s times: still going on",
                (("count", str(alert.count)),),
            )
        )
    total = max(0, min(100, sum(r.points for r in reasons)))
    return Score(total, severity_of(total), tuple(reasons))


def score_incident(alerts: Sequence[Alert], critical_hosts: Collection[str] = ()) -> Score:
    """The incident's score: its worst alert plus the spread (more alerts, stages and devices)."""
    if not alerts:
        return Score(0, Severity.LOW, ())
    scored = sorted(
        ((score_alert(a, critical_hosts), a) for a in alerts), key=lambda pair: (-pair[0].score, pair[1].id)
    )
    reasons = list(scored[0][0].reasons)
    keys = {(a.detector, a.key) for a in alerts}
    if len(keys) > 1:
        reasons.append(
            Reason(
                "spread.alerts",
                min(EXTRA_ALERT_MAX, EXTRA_ALERT_POINTS * (len(keys) - 1)),
                "%(n)s different warnings on the same device",
                (("n", str(len(keys))),),
            )
        )
    stages = {t for a in alerts for t in classify_alert(a).tactics}
    if len(stages) > 1:
        reasons.append(
            Reason(
                "spread.stages",
                STAGES_POINTS,
                "Several steps of an attack were seen: %(stages)s",
                (("stages", ", ".join(sorted(stages))),),
            )
        )
    hosts = {a.host or a.source_ip or "" for a in alerts}
    if len(hosts) > 1:
        reasons.append(
            Reason(
                "spread.hosts",
                min(EXTRA_HOST_MAX, EXTRA_HOST_POINTS * (len(hosts) - 1)),
                "%(n)s devices are involved",
                (("n", str(len(hosts))),),
            )
        )
    total = max(0, min(100, sum(r.points for r in reasons)))
    return Score(total, severity_of(total), tuple(reasons))
