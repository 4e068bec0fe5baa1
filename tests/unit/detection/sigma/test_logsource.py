"""Log sources to (channel, event id) sources; what cannot be placed on Windows events is refused."""

from __future__ import annotations

from sigma.rule import SigmaLogSource

from mimamori.detection.sigma.logsource import SECURITY, SYSMON, Source, sources


def test_process_creation_is_sysmon_1_and_security_4688() -> None:
    found = sources(SigmaLogSource(category="process_creation", product="windows"))
    assert found == (Source(SYSMON, frozenset({1})), Source(SECURITY, frozenset({4688})))


def test_service_names_channels() -> None:
    found = sources(SigmaLogSource(product="windows", service="powershell"))
    assert found is not None
    assert {s.channel for s in found} == {
        "microsoft-windows-powershell/operational",
        "powershellcore/operational",
    }
    assert all(s.event_ids is None for s in found)


def test_category_and_service_together_restrict() -> None:
    found = sources(SigmaLogSource(category="process_creation", product="windows", service="security"))
    assert found == (Source(SECURITY, frozenset({4688})),)


def test_product_only_is_any_windows_event() -> None:
    assert sources(SigmaLogSource(product="windows")) == (Source(None, None),)


def test_unplaceable_sources() -> None:
    assert sources(SigmaLogSource(product="linux", category="process_creation")) is None
    assert sources(SigmaLogSource(product="windows", category="file_access")) is None
    assert sources(SigmaLogSource(product="windows", service="no-such-service")) is None
    assert sources(SigmaLogSource(category="webserver")) is None


def test_admits() -> None:
    source = Source(SYSMON, frozenset({1}))
    assert source.admits(SYSMON, 1)
    assert not source.admits(SYSMON, 2)
    assert not source.admits(SECURITY, 1)
    assert Source(None, None).admits("anything", 7)
