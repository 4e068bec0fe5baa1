"""SigmaDetector: findings from real compiled rules, the level→severity map, per-tenant policy, swaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

from mimamori.detection import DetectorContext, build_engine
from mimamori.detection.sigma import compile_ruleset
from mimamori.detection.sigma.correlation import CorrelationEngine
from mimamori.detection.sigma.detector import (
    SigmaContent,
    SigmaDetector,
    SigmaPolicy,
    TenantSigmaSettings,
)
from mimamori.domain import Event, RawRecord, Severity

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
RULES = """
title: Whoami Execution
id: 11111111-1111-1111-1111-111111111111
name: whoami_run
status: test
level: medium
tags: [attack.discovery, attack.t1033]
logsource: {category: process_creation, product: windows}
detection:
  selection: {Image|endswith: '\\whoami.exe'}
  condition: selection
---
title: Logon
id: 22222222-2222-2222-2222-222222222222
status: test
level: informational
logsource: {product: windows, service: security}
detection:
  selection: {EventID: 4624}
  condition: selection
---
title: Admin Group Check
id: 33333333-3333-3333-3333-333333333333
status: test
level: high
logsource: {category: process_creation, product: windows}
detection:
  selection: {CommandLine|contains|expand: '%Admins%'}
  condition: selection
---
title: Many whoami
id: 44444444-4444-4444-4444-444444444444
status: test
level: critical
correlation:
  type: event_count
  rules: [whoami_run]
  group-by: [Computer]
  timespan: 10m
  condition: {gte: 3}
  generate: true
"""


def _event(tenant: str, fields: dict[str, object], at: datetime = T0) -> Event:
    raw = RawRecord(tenant, "s", "evtx", b'{"Event": {}}', at, "sysmon.evtx")
    return Event(at, tenant, "windows.sysmon", fields, raw=raw)  # type: ignore[arg-type]


def _sysmon(image: str, command_line: str = "", computer: str = "PC-03") -> dict[str, object]:
    return {
        "winlog.channel": "Microsoft-Windows-Sysmon/Operational",
        "winlog.provider_name": "Microsoft-Windows-Sysmon",
        "winlog.event_id": 1,
        "winlog.computer_name": computer,
        "winlog.event_data.Image": image,
        "winlog.event_data.CommandLine": command_line or image,
        "host.name": computer,
    }


def _logon() -> dict[str, object]:
    return {"winlog.channel": "Security", "winlog.event_id": 4624, "winlog.computer_name": "PC-03"}


def _content(text: str = RULES) -> SigmaContent:
    collection = SigmaCollection.from_yaml(text)
    collection.resolve_rule_references()
    base = [r for r in collection.rules if isinstance(r, SigmaRule)]
    correlations = [r for r in collection.rules if isinstance(r, SigmaCorrelationRule)]
    return SigmaContent(compile_ruleset(base), "test-v1", CorrelationEngine(correlations))


def test_finding_fields_and_severity_mapping() -> None:
    detector = SigmaDetector(_content())
    findings = list(detector.detect([_event("t1", _sysmon("C:\\Windows\\System32\\whoami.exe"))]))
    assert len(findings) == 1
    finding = findings[0]
    assert (finding.detector, finding.key) == ("sigma", "11111111-1111-1111-1111-111111111111")
    assert finding.title == "Whoami Execution"
    assert finding.severity is Severity.MEDIUM
    assert finding.host == "PC-03"
    assert finding.tenant_id == "t1"
    assert "attack.t1033" in finding.tags
    assert finding.evidence["sigma.ruleset"] == "test-v1"
    assert finding.evidence["sigma.level"] == "medium"
    assert any("whoami.exe" in str(m) for m in finding.evidence["sigma.matched"])  # type: ignore[union-attr]
    assert finding.evidence["log.origin"] == "sysmon.evtx"


def test_informational_is_off_by_default_and_per_tenant_switches() -> None:
    detector = SigmaDetector(_content())
    assert list(detector.detect([_event("t1", _logon())])) == []
    policy = SigmaPolicy(
        tenants={
            "t2": TenantSigmaSettings(disabled_levels=frozenset()),
            "t3": TenantSigmaSettings(disabled_rules=frozenset({"11111111-1111-1111-1111-111111111111"})),
        }
    )
    detector.replace(policy=policy)
    assert [f.title for f in detector.detect([_event("t2", _logon())])] == ["Logon"]
    whoami = _sysmon("C:\\Windows\\System32\\whoami.exe")
    assert list(detector.detect([_event("t3", whoami)])) == []
    assert len(list(detector.detect([_event("t1", whoami)]))) == 1


def test_placeholders_are_per_tenant() -> None:
    admins = TenantSigmaSettings(placeholders={"Admins": ("sato-admin",)})
    detector = SigmaDetector(_content(), SigmaPolicy(tenants={"t1": admins}))
    event = _sysmon("C:\\Windows\\System32\\net.exe", "net localgroup administrators sato-admin /add")
    assert [f.title for f in detector.detect([_event("t1", event)])] == ["Admin Group Check"]
    assert list(detector.detect([_event("t2", event)])) == []  # t2 has no value for %Admins%


def test_correlation_fires_per_tenant_and_group() -> None:
    detector = SigmaDetector(_content())
    whoami = _sysmon("C:\\Windows\\System32\\whoami.exe")
    batch = [_event("t1", whoami, T0 + timedelta(minutes=i)) for i in range(3)]
    batch += [_event("t2", whoami, T0 + timedelta(minutes=i)) for i in range(2)]
    titles = [f.title for f in detector.detect(batch)]
    assert titles.count("Whoami Execution") == 5
    assert titles.count("Many whoami") == 1  # t2 saw only two
    more = [_event("t2", whoami, T0 + timedelta(minutes=3))]
    assert [f.title for f in detector.detect(more)].count("Many whoami") == 1  # now t2 has three


def test_swap_and_engine_registration(tmp_path: Path) -> None:
    content = _content()
    engine = build_engine(DetectorContext(sigma=content))
    assert "sigma" in [d.name for d in engine.detectors]
    assert "sigma" not in [d.name for d in build_engine(DetectorContext()).detectors]
    detector = next(d for d in engine.detectors if isinstance(d, SigmaDetector))
    detector.replace(content=SigmaContent(compile_ruleset([]), "empty"))
    assert detector.content.version == "empty"
    assert engine.run([_event("t1", _sysmon("C:\\Windows\\System32\\whoami.exe"))]) == []


def test_hostile_values_are_shortened_in_evidence() -> None:
    detector = SigmaDetector(_content())
    long_line = "C:\\Windows\\System32\\whoami.exe " + "A" * 100_000
    event = _sysmon("C:\\Windows\\System32\\whoami.exe", long_line)
    finding = next(iter(detector.detect([_event("t1", event)])))
    assert len(str(finding.evidence["winlog.event_data.CommandLine"])) < 3000


def test_base_rules_of_a_correlation_are_silent_unless_it_generates() -> None:
    detector = SigmaDetector(_content(RULES.replace("  generate: true\n", "")))
    whoami = _sysmon("C:\\Windows\\System32\\whoami.exe")
    titles = [
        f.title for f in detector.detect([_event("t1", whoami, T0 + timedelta(minutes=i)) for i in range(3)])
    ]
    assert titles == ["Many whoami"]  # Sigma's default: a correlation's base rules generate nothing alone
