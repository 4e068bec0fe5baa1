"""ECS mappings of the PowerShell, Defender and System channels (see ``ecs`` for the conventions)."""

from __future__ import annotations

import re

from mimamori.domain.models import Fields
from mimamori.parsers.evtx.values import (
    Data,
    account,
    category,
    cleared_by,
    copy,
    executable,
    file,
    get,
    number,
)  # fmt: skip

__all__ = ["defender", "powershell", "system"]

_POWERSHELL = {
    4103: ("process", "info", "command-invoked"), 4104: ("process", "info", "script-block-logged"),
    400: ("process", "start", "engine-started"), 403: ("process", "end", "engine-stopped"),
    600: ("process", "info", "provider-started"), 800: ("process", "info", "pipeline-executed"),
}  # fmt: skip
_PS_SCRIPT_BLOCK = {
    "ScriptBlockText": "powershell.file.script_block_text",
    "ScriptBlockId": "powershell.file.script_block_id",
    "Path": "file.path",
}
_PS_CONTEXT = {
    "Host Application": "process.command_line", "HostApplication": "process.command_line",
    "Command Name": "powershell.command.name", "CommandName": "powershell.command.name",
    "Command Type": "powershell.command.type", "CommandType": "powershell.command.type",
    "Command Path": "powershell.command.path", "CommandPath": "powershell.command.path",
    "Script Name": "file.path", "ScriptName": "file.path", "CommandLine": "powershell.command.value",
    "Engine Version": "powershell.engine.version", "EngineVersion": "powershell.engine.version",
    "Runspace ID": "powershell.runspace_id", "RunspaceId": "powershell.runspace_id",
    "Pipeline ID": "powershell.pipeline_id", "PipelineId": "powershell.pipeline_id",
    "Host Name": "powershell.host.name", "HostName": "powershell.host.name",
    "HostVersion": "powershell.host.version", "Host Version": "powershell.host.version",
    "NewEngineState": "powershell.engine.new_state",
    "PreviousEngineState": "powershell.engine.previous_state",
    "ProviderName": "powershell.provider.name", "NewProviderState": "powershell.provider.new_state",
}  # fmt: skip
# The classic events' key=value block among their unnamed values (the others are script text).
_PS_CLASSIC_MARKERS = re.compile(
    r"^\s*(?:HostName|HostApplication|NewEngineState|ProviderName)=", re.MULTILINE
)
_PS_CONTEXT_RE = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,40}?)\s*=[ \t]*(.*?)\s*$", re.MULTILINE)
_DEFENDER = {
    1006: ("malware", "info", "malware-detected"), 1007: ("malware", "denied", "malware-action-taken"),
    1008: ("malware", "allowed", "malware-action-failed"),
    1015: ("malware", "info", "suspicious-behavior-detected"),
    1116: ("malware", "info", "malware-detected"), 1117: ("malware", "denied", "malware-action-taken"),
    1118: ("malware", "allowed", "malware-action-failed"),
    1119: ("malware", "allowed", "malware-action-critically-failed"),
    5001: ("configuration", "change", "real-time-protection-disabled"),
    5007: ("configuration", "change", "configuration-changed"),
    5010: ("configuration", "change", "antispyware-disabled"),
    5012: ("configuration", "change", "antivirus-disabled"),
}  # fmt: skip
_SERVICE = {"ServiceName": "service.name", "ServiceType": "service.type"}
_SYSTEM = {
    7045: ("configuration", "creation", "service-installed"),
    7040: ("configuration", "change", "service-start-type-changed"),
    7036: ("configuration", "change", "service-state-changed"),
    104: ("iam", "change", "log-cleared"),
}  # fmt: skip


def powershell(fields: Fields, data: Data, event_id: int) -> None:
    category(fields, _POWERSHELL.get(event_id))
    if event_id == 4104:
        copy(fields, data, _PS_SCRIPT_BLOCK)
        for key, name in (("MessageNumber", "powershell.sequence"), ("MessageTotal", "powershell.total")):
            count = number(get(data, key))
            if count is not None:
                fields[name] = count
        return
    context: str | None = get(data, "ContextInfo") if event_id == 4103 else None
    if context is None and event_id in (400, 403, 600, 800):
        texts = data.get("Data")
        if type(texts) is list:
            context = next((t for t in texts if type(t) is str and _PS_CLASSIC_MARKERS.search(t)), None)
    if context is None:
        return
    for key, value in _PS_CONTEXT_RE.findall(context[:65536]):
        target = _PS_CONTEXT.get(key)
        if target is not None and value:
            fields[target] = value
        elif key in ("User", "UserId") and value:
            account(fields, "user", value)


def defender(fields: Fields, data: Data, event_id: int) -> None:
    entry = _DEFENDER.get(event_id)
    category(fields, entry)
    if entry is not None and entry[0] == "malware":
        fields["event.kind"] = "alert"
        if entry[1] == "denied":
            fields["event.outcome"] = "failure"
        elif entry[1] == "allowed":
            fields["event.outcome"] = "success"
    threat = get(data, "Threat Name")
    if threat is not None:
        fields["threat.name"] = threat
    path = get(data, "Path")
    if path is not None:
        resources = [part.strip() for part in path.split(";")]
        files = [r.partition("_")[2] for r in resources if r.startswith(("file:_", "containerfile:_"))]
        file(fields, files[0] if files else (path if ":_" not in path else None))
    executable(fields, "process", get(data, "Process Name"))
    account(fields, "user", get(data, "Detection User"))


def system(fields: Fields, data: Data, event_id: int) -> None:
    category(fields, _SYSTEM.get(event_id))
    if event_id == 7045:
        copy(fields, data, _SERVICE)
        file(fields, get(data, "ImagePath"))
        account_name = get(data, "AccountName")
        if account_name is not None:
            fields["user.name"] = account_name
    elif event_id == 104:
        cleared_by(fields)
