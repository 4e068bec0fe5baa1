"""Sample domain objects for storage tests (plain functions, importable, unlike conftest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mimamori.domain.models import Finding, Severity

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def finding(
    tenant_id: str,
    key: str = "rule-1",
    *,
    severity: Severity = Severity.LOW,
    at: timedelta = timedelta(0),
    host: str = "pc-01",
    tags: tuple[str, ...] = (),
) -> Finding:
    """A finding with sensible defaults; ``at`` is the offset from ``T0``."""
    return Finding(
        tenant_id=tenant_id,
        detector="indicator",
        key=key,
        title=f"Connection to {key}",
        severity=severity,
        timestamp=T0 + at,
        host=host,
        source_ip="192.0.2.10",
        destination_ip="198.51.100.7",
        description="A known bad address was contacted.",
        tags=tags,
        evidence={"destination.port": 443, "event.outcome": "success"},
    )
