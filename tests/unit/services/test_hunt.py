"""Offline hunting (``mimamori hunt``): Winlogbeat JSON lines and evtx_dump lines, the JSON output of
the command, the per-rule summary, and unreadable input reported rather than fatal."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from typer.testing import CliRunner

from mimamori.cli.main import app
from mimamori.services.hunt import HuntMatch, hunt

RULE = """
title: Whoami Execution
id: 11111111-2222-3333-4444-555555555555
level: medium
tags:
    - attack.discovery
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\whoami.exe'
    condition: selection
"""
WINLOGBEAT = {
    "@timestamp": "2026-11-26T01:02:03.000Z",
    "agent": {"type": "winlogbeat"},
    "ecs": {"version": "8.0.0"},
    "winlog": {
        "channel": "Microsoft-Windows-Sysmon/Operational",
        "event_id": 1,
        "record_id": 77,
        "computer_name": "PC-07",
        "event_data": {"CommandLine": "whoami /all"},
    },
    "process": {"executable": "C:\\Windows\\System32\\whoami.exe"},
}
EVTX_DUMP = {
    "Event": {
        "System": {
            "EventID": 4688,
            "Channel": "Security",
            "Computer": "DC1",
            "EventRecordID": 9,
            "TimeCreated": {"#attributes": {"SystemTime": "2026-11-26T01:02:04Z"}},
        },
        "EventData": {"NewProcessName": "C:\\Windows\\System32\\whoami.exe"},
    }
}


def _inputs(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "whoami.yml").write_text(RULE)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "beat.json").write_bytes(
        orjson.dumps(WINLOGBEAT) + b"\n" + orjson.dumps(EVTX_DUMP) + b"\nnot json\n"
    )
    return rules, logs


def test_hunt_over_json_lines(tmp_path: Path) -> None:
    rules, logs = _inputs(tmp_path)
    found: list[HuntMatch] = []
    report = hunt([logs], rules, on_match=found.append)
    assert (report.files, report.events, report.unparsed, report.matches) == (1, 2, 1, 2)
    assert report.summary() == [("11111111-2222-3333-4444-555555555555", "Whoami Execution", "medium", 2)]
    beat, dump = found
    assert (beat.file, beat.event_record_id, beat.computer, beat.event_id) == ("beat.json", 77, "PC-07", 1)
    assert beat.matched == {"Image": "C:\\Windows\\System32\\whoami.exe"}
    assert (dump.event_record_id, dump.computer, dump.channel) == (9, "DC1", "Security")
    assert dump.tags == ("attack.discovery",)


def test_hunt_command_writes_json_lines(tmp_path: Path) -> None:
    rules, logs = _inputs(tmp_path)
    out = tmp_path / "matches.jsonl"
    result = CliRunner().invoke(app, ["hunt", str(logs), "--rules", str(rules), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "Whoami Execution" in result.stdout
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 2
    first = lines[0]
    assert first["rule_id"] == "11111111-2222-3333-4444-555555555555"
    assert (first["rule_title"], first["level"], first["file"]) == ("Whoami Execution", "medium", "beat.json")
    assert first["event_record_id"] == 77
    assert first["timestamp"].startswith("2026-11-26T01:02:03")
    assert first["matched"] == {"Image": "C:\\Windows\\System32\\whoami.exe"}


def test_unreadable_input_is_reported(tmp_path: Path) -> None:
    rules, _ = _inputs(tmp_path)
    bad = tmp_path / "broken.evtx"
    bad.write_bytes(b"ElfFile\x00" + b"\x00" * 100)
    report = hunt([bad], rules)
    assert report.events == 0
    assert len(report.errors) == 1
    assert "broken.evtx" in report.errors[0]
