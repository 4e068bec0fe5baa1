"""Sigma field names to Event fields: EVTX names, Security 4688's names, ECS only for ECS documents."""

from __future__ import annotations

from mimamori.detection.sigma import lookup
from mimamori.detection.sigma.fields import is_ecs_document

from .conftest import Matches, security, sysmon  # type: ignore[import-not-found]


def test_event_data_user_data_and_system_names() -> None:
    fields = {
        "winlog.event_id": 1102,
        "winlog.channel": "Security",
        "winlog.provider_name": "Microsoft-Windows-Eventlog",
        "winlog.computer_name": "DC1",
        "winlog.user_data.SubjectUserName": "admin",
        "winlog.event_data.Image": "C:\\x.exe",
    }
    assert lookup(fields, "EventID") == 1102
    assert lookup(fields, "Channel") == "Security"
    assert lookup(fields, "Provider_Name") == "Microsoft-Windows-Eventlog"
    assert lookup(fields, "Computer") == "DC1"
    assert lookup(fields, "SubjectUserName") == "admin"
    assert lookup(fields, "Image") == "C:\\x.exe"
    assert lookup(fields, "CommandLine") is None


def test_security_4688_names_stand_for_sysmon_ones() -> None:
    fields = security(4688, NewProcessName="C:\\a.exe", ParentProcessName="C:\\p.exe")
    assert lookup(fields, "Image") == "C:\\a.exe"
    assert lookup(fields, "ParentImage") == "C:\\p.exe"


def test_ecs_names_only_for_ecs_documents() -> None:
    evtx_event = {**sysmon(10, SourceImage="C:\\s.exe"), "process.executable": "C:\\s.exe"}
    assert not is_ecs_document(evtx_event)
    assert lookup(evtx_event, "Image") is None  # a copy of SourceImage, not an Image
    ecs_event = {**sysmon(1), "process.executable": "C:\\w.exe", "ecs.version": "8.0.0"}
    assert is_ecs_document(ecs_event)
    assert lookup(ecs_event, "Image") == "C:\\w.exe"


def test_a_rule_matches_evtx_and_winlogbeat_shapes(matches: Matches) -> None:
    det = "sel:\n    Image|endswith: '\\mimikatz.exe'\ncondition: sel"
    logsource = "product: windows\ncategory: process_creation"
    evtx_event = sysmon(1, Image="C:\\t\\mimikatz.exe")
    ecs_event = {**sysmon(1), "process.executable": "C:\\t\\mimikatz.exe", "agent.type": "winlogbeat"}
    audit_event = security(4688, NewProcessName="C:\\t\\mimikatz.exe")
    for event in (evtx_event, ecs_event, audit_event):
        assert matches(det, event, logsource=logsource), event
