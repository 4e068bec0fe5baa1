"""The Sigma detector: compiled Sigma rules (and correlations) over the event stream, per-tenant policy.

Findings carry the rule's id (the alert key), title, level, ATT&CK tags, the fields that matched and
the version of the ruleset that produced them. Level maps to the SME's severity (緊急度):
critical/high → 高, medium → 中, low/informational → 低.

Which rules run is a policy: provider-wide disabled levels and rules (default: ``informational`` off,
those rules describe normal activity and would bury the customer's portal), then per tenant its own
disabled or re-enabled rules and levels, and its values for ``expand`` placeholders (``%Admins%``...).
The ruleset and the policy are swapped as a whole (``replace``): a reload never leaves a half-updated
detector, and the pipeline thread reads one consistent pair per batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from mimamori.detection.sigma import CompiledRuleset, SigmaMatch, lookup
from mimamori.detection.sigma.correlation import CorrelationEngine, CorrelationMatch
from mimamori.domain import Event, Finding, Severity
from mimamori.domain.models import Fields, FieldValue, Scalar

NAME = "sigma"
LEVELS = ("informational", "low", "medium", "high", "critical")
SEVERITY = {
    "critical": Severity.HIGH,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "informational": Severity.LOW,
}
DEFAULT_DISABLED_LEVELS = frozenset({"informational"})
MAX_ORIGINAL = 4096  # characters of the raw record quoted in the evidence
MAX_VALUE = 2048  # characters of one field value kept in the evidence (command lines can be 32 KB)
HOST_FIELDS = ("host.name", "winlog.computer_name", "observer.hostname")
_HOST_KEYS = frozenset(("computer", "computername", "hostname", "host.name", "workstationname"))


@dataclass(frozen=True, slots=True)
class TenantSigmaSettings:
    """One tenant's deviations from the provider's policy. ``None`` levels: inherit the provider's."""

    disabled_levels: frozenset[str] | None = None
    disabled_rules: frozenset[str] = frozenset()
    enabled_rules: frozenset[str] = frozenset()  # re-enables rules the provider switched off
    placeholders: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> TenantSigmaSettings:
        """From the stored JSON document (unknown keys ignored, wrong types refused by the service)."""
        levels = document.get("disabled_levels")
        return cls(
            disabled_levels=None if levels is None else frozenset(str(v) for v in levels),
            disabled_rules=frozenset(str(v) for v in document.get("disabled_rules", ())),
            enabled_rules=frozenset(str(v) for v in document.get("enabled_rules", ())),
            placeholders={
                str(k): tuple(str(v) for v in values)
                for k, values in dict(document.get("placeholders", {})).items()
            },
        )

    def to_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "disabled_rules": sorted(self.disabled_rules),
            "enabled_rules": sorted(self.enabled_rules),
            "placeholders": {k: list(v) for k, v in sorted(self.placeholders.items())},
        }
        if self.disabled_levels is not None:
            document["disabled_levels"] = sorted(self.disabled_levels, key=LEVELS.index)
        return document


@dataclass(frozen=True, slots=True)
class SigmaPolicy:
    """Which rules produce findings, provider-wide and per tenant."""

    disabled_levels: frozenset[str] = DEFAULT_DISABLED_LEVELS
    disabled_rules: frozenset[str] = frozenset()
    tenants: Mapping[str, TenantSigmaSettings] = field(default_factory=dict)

    def allows(self, tenant_id: str, rule_id: str, level: str) -> bool:
        settings = self.tenants.get(tenant_id)
        if settings is None:
            return level not in self.disabled_levels and rule_id not in self.disabled_rules
        if rule_id in settings.disabled_rules:
            return False
        if rule_id in settings.enabled_rules:
            return True
        levels = self.disabled_levels if settings.disabled_levels is None else settings.disabled_levels
        return level not in levels and rule_id not in self.disabled_rules

    def placeholders(self, tenant_id: str) -> Mapping[str, tuple[str, ...]] | None:
        settings = self.tenants.get(tenant_id)
        return settings.placeholders if settings is not None and settings.placeholders else None


@dataclass(frozen=True, slots=True)
class SigmaContent:
    """A loaded ruleset: the compiled rules, their correlations and the version they came from."""

    ruleset: CompiledRuleset
    version: str
    correlations: CorrelationEngine | None = None


def _short(value: FieldValue) -> FieldValue:
    if isinstance(value, str) and len(value) > MAX_VALUE:
        return value[:MAX_VALUE] + "…"
    if isinstance(value, list):
        return [_short(v) for v in value[:64]]  # type: ignore[misc]
    return value


class SigmaDetector:
    """Runs the active ruleset over each batch; a rule's failure on one event never stops the batch."""

    name = NAME

    def __init__(self, content: SigmaContent, policy: SigmaPolicy | None = None) -> None:
        self._state = (content, policy or SigmaPolicy())
        self.events_seen = 0

    @property
    def content(self) -> SigmaContent:
        return self._state[0]

    @property
    def policy(self) -> SigmaPolicy:
        return self._state[1]

    def replace(self, content: SigmaContent | None = None, policy: SigmaPolicy | None = None) -> None:
        """Swap in a new ruleset and/or policy atomically (one tuple assignment)."""
        old_content, old_policy = self._state
        self._state = (content or old_content, policy or old_policy)

    def detect(self, events: Sequence[Event]) -> Iterator[Finding]:
        content, policy = self._state
        match = content.ruleset.match
        correlations = content.correlations
        referenced = correlations.referenced() if correlations is not None else set()
        silent = correlations.non_generating() if correlations is not None else set()
        watermark: datetime | None = None
        for event in events:
            self.events_seen += 1
            tenant = event.tenant_id
            matches = match(event.fields, policy.placeholders(tenant))
            if not matches:
                continue
            keys: list[str] = []
            for hit in matches:
                rule = hit.rule
                if rule.id in referenced or (rule.name is not None and rule.name in referenced):
                    keys.append(rule.id)
                    if rule.name:
                        keys.append(rule.name)
                if rule.id in silent or (rule.name is not None and rule.name in silent):
                    continue
                if policy.allows(tenant, rule.id, rule.level):
                    yield self._finding(event, hit, content.version)
            if keys and correlations is not None:
                if watermark is None or event.timestamp > watermark:
                    watermark = event.timestamp
                value = partial(lookup, event.fields)
                for fired in correlations.observe(tenant, keys, event.timestamp, value):
                    if policy.allows(tenant, fired.id, fired.level):
                        yield self._correlation_finding(fired, content.version, event)
        if correlations is not None and watermark is not None:
            # Windows that closed before this batch's newest event (minus the tolerated lateness):
            # "fewer than N" correlations can only be judged then.
            for fired in correlations.flush(watermark - timedelta(seconds=correlations.lateness)):
                if policy.allows(fired.tenant_id, fired.id, fired.level):
                    yield self._correlation_finding(fired, content.version, None)

    def _base_evidence(self, event: Event, version: str) -> dict[str, FieldValue]:
        evidence: dict[str, FieldValue] = {k: _short(v) for k, v in event.fields.items()}
        if event.raw is not None:
            evidence["event.original"] = event.raw.data[:MAX_ORIGINAL].decode("utf-8", "replace")
            evidence["log.origin"] = event.raw.origin
        evidence["sigma.ruleset"] = version
        return evidence

    @staticmethod
    def _host(event: Event) -> str | None:
        for name in HOST_FIELDS:
            value = event.get_str(name)
            if value:
                return value
        return None

    def _finding(self, event: Event, hit: SigmaMatch, version: str) -> Finding:
        rule = hit.rule
        evidence = self._base_evidence(event, version)
        evidence["sigma.rule_id"] = rule.id
        evidence["sigma.level"] = rule.level
        matched: list[Scalar] = []
        matched.extend(f"{k}={_short(v)}" for k, v in list(hit.matched.items())[:32])
        evidence["sigma.matched"] = matched
        return Finding(
            tenant_id=event.tenant_id,
            detector=NAME,
            key=rule.id,
            title=rule.title,
            severity=SEVERITY.get(rule.level, Severity.LOW),
            timestamp=event.timestamp,
            host=self._host(event),
            source_ip=event.get_str("source.ip"),
            destination_ip=event.get_str("destination.ip"),
            description=rule.description,
            tags=tuple(rule.tags),
            evidence=evidence,
        )

    def _correlation_finding(self, fired: CorrelationMatch, version: str, event: Event | None) -> Finding:
        evidence: Fields = (
            self._base_evidence(event, version) if event is not None else {"sigma.ruleset": version}
        )
        evidence["sigma.rule_id"] = fired.id
        evidence["sigma.level"] = fired.level
        evidence["sigma.correlation"] = fired.type
        group: list[Scalar] = [f"{k}={v}" for k, v in fired.group.items()]
        evidence["sigma.group"] = group
        rules: list[Scalar] = list(fired.rules)
        evidence["sigma.rules"] = rules
        evidence["sigma.count"] = fired.count
        evidence["sigma.window_start"] = fired.first.isoformat()
        evidence["sigma.window_end"] = fired.last.isoformat()
        if fired.values:
            evidence["sigma.values"] = [v[:MAX_VALUE] for v in fired.values]
        host = self._host(event) if event is not None else None
        if host is None:  # a group-by on the computer names the host
            host = next((v for k, v in fired.group.items() if k.lower() in _HOST_KEYS and v), None)
        return Finding(
            tenant_id=fired.tenant_id,
            detector=NAME,
            key=fired.id,
            title=fired.title,
            severity=SEVERITY.get(fired.level, Severity.LOW),
            timestamp=event.timestamp if event is not None else fired.last,
            host=host,
            source_ip=event.get_str("source.ip") if event is not None else None,
            destination_ip=event.get_str("destination.ip") if event is not None else None,
            tags=tuple(fired.tags),
            evidence=evidence,
        )
