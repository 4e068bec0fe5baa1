"""Sample alerts for triage tests (plain functions, importable, unlike conftest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mimamori.domain import Alert, Fields, Severity

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
CONNECT = "Connection to a known malicious server: %(value)s"
LOOKUP = "Name lookup of a known malicious site: %(value)s"


def alert(
    alert_id: str = "a1",
    *,
    tenant_id: str = "t1",
    detector: str = "indicator",
    key: str = "ip:203.0.113.66",
    severity: Severity = Severity.HIGH,
    at: timedelta = timedelta(0),
    span: timedelta = timedelta(minutes=5),
    host: str | None = "PC-KEIRI-01",
    source_ip: str | None = "192.168.1.10",
    destination_ip: str | None = "203.0.113.66",
    count: int = 1,
    tags: tuple[str, ...] = ("attack.command-and-control", "attack.t1071"),
    evidence: Fields | None = None,
    title: str = "Connection to a known malicious server: 203.0.113.66",
) -> Alert:
    """An indicator alert (allowed outbound connection) unless told otherwise."""
    return Alert(
        id=alert_id,
        tenant_id=tenant_id,
        fingerprint=f"fp-{alert_id}",
        detector=detector,
        key=key,
        title=title,
        severity=severity,
        first_seen=T0 + at,
        last_seen=T0 + at + span,
        count=count,
        host=host,
        source_ip=source_ip,
        destination_ip=destination_ip,
        tags=tags,
        evidence=(
            {"event.outcome": "success", "title.template": CONNECT, "indicator.value": "203.0.113.66"}
            if evidence is None
            else evidence
        ),
    )


def sigma_alert(alert_id: str, level: str, tags: tuple[str, ...], **kw: object) -> Alert:
    return alert(
        alert_id,
        detector="sigma",
        key=f"rule-{alert_id}",
        severity=Severity.HIGH if level in {"high", "critical"} else Severity.MEDIUM,
        tags=tags,
        evidence={"sigma.level": level, "sigma.rule_id": f"rule-{alert_id}"},
        title="Suspicious PowerShell download cradle",
        destination_ip=None,
        **kw,  # type: ignore[arg-type]
    )
