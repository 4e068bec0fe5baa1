"""Severity and score: each factor moves the score, and every point is explained."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.triage.samples import LOOKUP, alert, sigma_alert

from mimamori.domain import Severity
from mimamori.triage.scoring import HIGH_FROM, score_alert, score_incident, severity_of


def codes(score: object) -> dict[str, int]:
    return {r.code: r.points for r in score.reasons}  # type: ignore[attr-defined]


def test_allowed_connection_is_high_and_the_reasons_add_up() -> None:
    score = score_alert(alert())
    assert score.severity is Severity.HIGH
    assert score.score == sum(r.points for r in score.reasons) == 65
    assert codes(score) == {"level": 60, "outcome.allowed": 5}


def test_blocked_is_lower_than_allowed() -> None:
    blocked = alert(severity=Severity.LOW, evidence={"event.outcome": "failure"})
    score = score_alert(blocked)
    assert score.severity is Severity.LOW
    assert codes(score)["outcome.blocked"] < 0


def test_legacy_os_server_critical_and_repetition_raise_the_score() -> None:
    base = score_alert(alert()).score
    xp = alert(evidence={"event.outcome": "success", "host.os.name": "Windows", "host.os.version": "XP"})
    assert codes(score_alert(xp))["asset.legacy_os"] > 0
    assert score_alert(alert(host="FS01")).score > base
    assert score_alert(alert(), critical_hosts={"PC-KEIRI-01"}).score > base
    assert score_alert(alert(count=50)).score > base


def test_indicator_confidence_moves_the_score_both_ways() -> None:
    sure = alert(evidence={"event.outcome": "success", "indicator.confidence": 100})
    unsure = alert(evidence={"event.outcome": "success", "indicator.confidence": 10})
    assert score_alert(sure).score > score_alert(alert()).score > score_alert(unsure).score
    weird = alert(evidence={"indicator.confidence": "not a number", "event.outcome": True})
    assert score_alert(weird).score == 60  # bad evidence is ignored, never an exception


def test_sigma_level_sets_the_base() -> None:
    assert codes(score_alert(sigma_alert("s", "critical", ("attack.execution",))))["level"] == 75
    assert score_alert(sigma_alert("s", "low", ("attack.execution",))).severity is Severity.LOW
    assert score_alert(sigma_alert("s", "medium", ("attack.execution",))).severity is Severity.MEDIUM


def test_dns_lookup_only_is_medium() -> None:
    lookup = alert(severity=Severity.MEDIUM, evidence={"title.template": LOOKUP, "event.outcome": "success"})
    assert score_alert(lookup).severity is Severity.MEDIUM


def test_incident_spread_adds_to_the_worst_alert() -> None:
    lookup = alert(
        "a0",
        key="domain:x.example",
        severity=Severity.MEDIUM,
        evidence={"title.template": LOOKUP, "event.outcome": "success"},
    )
    c2 = alert("a1", at=timedelta(minutes=1))
    powershell = sigma_alert("a2", "high", ("attack.execution",))
    score = score_incident([lookup, c2, powershell])
    assert codes(score)["spread.alerts"] == 10
    assert codes(score)["spread.stages"] == 10
    assert score.score >= score_alert(c2).score + 20
    assert score_incident([]).score == 0
    other_host = alert("a3", host="PC-SOUMU-02", source_ip="192.168.1.11")
    assert "spread.hosts" in codes(score_incident([c2, other_host]))


def test_thresholds() -> None:
    assert severity_of(HIGH_FROM) is Severity.HIGH
    assert severity_of(HIGH_FROM - 1) is Severity.MEDIUM
    assert severity_of(0) is Severity.LOW
