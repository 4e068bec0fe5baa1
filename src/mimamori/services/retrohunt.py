"""Retro-hunting: when new indicators arrive, look for them in what the tenants' networks showed before.

There is no event archive yet, so the search runs over the observed values the indicator detector
records (distinct external addresses, names, URLs, hashes per tenant and UTC day). Each observed value is
matched against a small store built from the *new* indicators only, with the detector's own semantics
(subdomains, CIDR ranges, the allowlist). A hit becomes an alert marked retrospective ("this PC contacted
a server that was identified as malicious today"), deduplicated like any alert by tenant, device, key and
the day of the observation, so hunting twice never doubles an alert.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from mimamori.config import Settings
from mimamori.detection.indicators import Allowlist, IndicatorSet
from mimamori.detection.indicators import values as v
from mimamori.detection.indicators.matcher import NAME, TAGS
from mimamori.detection.indicators.presentation import KINDS, TITLES, indicator_evidence
from mimamori.detection.indicators.sides import is_internal
from mimamori.detection.indicators.store import Indicator
from mimamori.domain import Finding, Severity
from mimamori.services.indicators import DEFAULT_RETROHUNT_DAYS, build_allowlist, setting
from mimamori.services.triage import record_findings
from mimamori.storage import Database, read_only, unit_of_work
from mimamori.storage.repositories import Observation
from mimamori.triage import fingerprinted

log = logging.getLogger(__name__)

MAX_FINDINGS = 10_000  # per hunt: a feed that suddenly lists a CDN must not flood the alert list
HIGH_KINDS = frozenset({"address", "domain", "file"})


@dataclass(slots=True)
class HuntResult:
    scanned: int = 0
    findings: int = 0
    alerts_created: int = 0
    created_alert_ids: list[str] = field(default_factory=list)
    incidents_created: int = 0


def finding(obs: Observation, hit: Indicator) -> Finding:
    """The retrospective finding of one observation of a now-listed value."""
    kind = KINDS.get(hit.type, "address")
    outbound = True
    if not obs.allowed:
        severity = Severity.LOW
    elif kind in HIGH_KINDS:
        severity = Severity.HIGH
    else:
        severity = Severity.MEDIUM
    template = TITLES[("retro", kind, outbound)]
    evidence: dict[str, str | int | bool] = {
        "title.template": template,
        "indicator.retrospective": True,
        "observed.type": obs.type,
        "observed.value": obs.value,
        "observed.day": obs.day.isoformat(),
        "observed.first_seen": obs.first_seen.isoformat(),
        "observed.last_seen": obs.last_seen.isoformat(),
        "observed.count": obs.count,
        "observed.allowed": obs.allowed,
    }
    evidence.update(indicator_evidence(hit, f"observed.{obs.type}"))
    device = obs.device if obs.device and is_internal(obs.device) else None
    return Finding(
        tenant_id=obs.tenant_id,
        detector=NAME,
        key=f"{hit.type}:{hit.value}",
        title=template % {"value": hit.value},
        severity=severity,
        timestamp=obs.last_seen,
        host=obs.device,
        source_ip=obs.device,
        destination_ip=obs.value if obs.type == v.IP else None,
        description=hit.description or hit.threat,
        tags=(*TAGS, "mimamori.retrospective"),
        evidence=dict(evidence),
        device_ip=device,
    )


def match(
    store: IndicatorSet,
    allowlist: Allowlist,
    observations: Iterable[Observation],
    sighted: Collection[tuple[str, date, str, str]] = (),
) -> tuple[list[Finding], int]:
    """The retrospective findings of ``observations`` against ``store`` and how many were scanned.

    An observation whose indicator the live detector already matched that day (a sighting) is skipped:
    it has its alert already.
    """
    found: list[Finding] = []
    scanned = 0
    now = datetime.now(UTC).timestamp()
    for obs in observations:
        scanned += 1
        hit = store.match(obs.type, obs.value, now)
        if hit is None and obs.type == v.EMAIL:
            hit = store.match(v.EMAIL_DOMAIN, obs.value.rpartition("@")[2], now)
        if hit is None or allowlist.reason(obs.tenant_id, obs.type, obs.value):
            continue
        if (obs.tenant_id, obs.day, hit.type, hit.value) in sighted:
            continue
        found.append(finding(obs, hit))
        if len(found) >= MAX_FINDINGS:
            log.warning("retro-hunt stopped at %d findings", MAX_FINDINGS)
            break
    return found, scanned


def hunt(
    db: Database,
    indicators: Iterable[Indicator],
    settings: Settings | None = None,
    *,
    days: int | None = None,
    today: date | None = None,
) -> HuntResult:
    """Search the last ``days`` (default: the ``retrohunt_days`` setting, 30) for ``indicators``."""
    return hunt_store(db, IndicatorSet.from_indicators(indicators), settings, days=days, today=today)


def hunt_store(
    db: Database,
    store: IndicatorSet,
    settings: Settings | None = None,
    *,
    days: int | None = None,
    today: date | None = None,
) -> HuntResult:
    """``hunt`` with a ready store (``mimamori feeds hunt`` re-hunts the whole loaded store)."""
    result = HuntResult()
    if not len(store):
        return result
    window = days if days is not None else setting(settings, "retrohunt_days", DEFAULT_RETROHUNT_DAYS)
    since = (today or datetime.now(UTC).date()) - timedelta(days=window)
    with read_only(db) as repos:
        allowlist = build_allowlist(repos.allowlist.list_across_tenants())
        sighted = repos.sightings.keys_across_tenants(since)
        observed = repos.observations.stream_across_tenants(since)
        findings, result.scanned = match(store, allowlist, observed, sighted)
    result.findings = len(findings)
    items = fingerprinted(findings)
    if not items:
        return result
    with unit_of_work(db) as uow:  # stored exactly like live detections, marked retrospective
        recorded = record_findings(uow, items, payload={"retrospective": True})
    result.alerts_created = len(recorded.created_alert_ids)
    result.created_alert_ids = recorded.created_alert_ids
    result.incidents_created = len(recorded.triage.incidents_created)
    log.info("retro-hunt: %d observations scanned, %d findings", result.scanned, result.findings)
    return result
