"""Sigma field names (Sysmon and Windows Security native names) to the names of our Events' fields.

Events from EVTX and from Winlogbeat/Elastic Agent JSON (``mimamori.parsers.evtx``, ``parsers.ecs``) both
keep every data item under ``winlog.event_data.<Name>`` (``winlog.user_data.<Name>`` for UserData) and
the System values under ``winlog.*``; a rule's ``Image`` is looked up there first. Two more places follow:

* Security 4688 names the new process ``NewProcessName`` and its parent ``ParentProcessName`` where Sysmon
  (and Sigma's ``process_creation`` taxonomy) says ``Image``/``ParentImage``; pySigma's Windows audit
  pipeline maps them the same way. Only 4688 carries those names, so the fallback cannot hit another event.
* Winlogbeat's and Elastic Agent's Sysmon processing *renames* some data items to ECS (``process.executable``
  instead of ``winlog.event_data.Image``). Those ECS names are consulted only for documents that came
  as ECS JSON (they carry ``ecs.version`` or ``agent.type``, which the EVTX parser never writes): in an
  EVTX-derived event ``process.executable`` is a copy of whichever of ``Image``, ``SourceImage`` or
  ``NewProcessName`` the record had, and matching it in place of a missing ``Image`` would make
  ``not Image|endswith: ...`` false where the specification says true.

Finally the Sigma name itself is tried, so a rule written with ECS names works on any event.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from mimamori.domain.models import FieldValue

__all__ = ["is_ecs_document", "keys", "lookup"]

_ED = "winlog.event_data."
_UD = "winlog.user_data."

# Event/System elements, by the names Sigma rules use for them.
_SYSTEM: dict[str, tuple[str, ...]] = {
    "EventID": ("winlog.event_id",),
    "Channel": ("winlog.channel",),
    "Provider_Name": ("winlog.provider_name",),
    "ProviderName": (_ED + "ProviderName", "winlog.provider_name"),
    "Computer": ("winlog.computer_name",),
    "ComputerName": (_ED + "ComputerName", "winlog.computer_name"),
    "EventRecordID": ("winlog.record_id",),
    "Keywords": ("winlog.keywords",),
    "Task": (_ED + "Task", "winlog.task"),
    "Opcode": ("winlog.opcode",),
    "Version": (_ED + "Version", "winlog.version"),
    "Level": (_ED + "Level", "log.level"),
    "ProcessID": ("winlog.process.pid",),
    "ThreadID": ("winlog.process.thread.id",),
    "UserID": ("winlog.user.identifier",),
    "Guid": ("winlog.provider_guid",),
}
# Native names of Security 4688 (process_creation on the Security channel).
_AUDIT: dict[str, tuple[str, ...]] = {
    "Image": (_ED + "NewProcessName",),
    "ParentImage": (_ED + "ParentProcessName",),
}
# ECS names Winlogbeat / Elastic Agent rename Sysmon and PowerShell data items to.
_ECS: dict[str, tuple[str, ...]] = {
    "Image": ("process.executable",),
    "CommandLine": ("process.command_line",),
    "CurrentDirectory": ("process.working_directory",),
    "ProcessGuid": ("process.entity_id",),
    "ProcessId": ("process.pid",),
    "ParentImage": ("process.parent.executable",),
    "ParentCommandLine": ("process.parent.command_line",),
    "ParentProcessGuid": ("process.parent.entity_id",),
    "ParentProcessId": ("process.parent.pid",),
    "OriginalFileName": ("process.pe.original_file_name", "file.pe.original_file_name"),
    "Product": ("process.pe.product", "file.pe.product"),
    "Description": ("process.pe.description", "file.pe.description"),
    "Company": ("process.pe.company", "file.pe.company"),
    "FileVersion": ("process.pe.file_version", "file.pe.file_version"),
    "TargetFilename": ("file.path",),
    "ImageLoaded": ("file.path",),
    "TargetObject": ("registry.path",),
    "QueryName": ("dns.question.name",),
    "DestinationIp": ("destination.ip",),
    "DestinationPort": ("destination.port",),
    "DestinationHostname": ("destination.domain",),
    "SourceIp": ("source.ip",),
    "SourcePort": ("source.port",),
    "SourceHostname": ("source.domain",),
    "Protocol": ("network.transport",),
    "PipeName": ("file.name",),
    "ScriptBlockText": ("powershell.file.script_block_text",),
    "ServiceName": ("service.name",),
    "TargetUserName": ("user.name",),
    "IpAddress": ("source.ip",),
    "WorkstationName": ("source.domain",),
}


@lru_cache(maxsize=8192)
def keys(sigma_field: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(native, ecs)``: the event field names to try for a Sigma field, in order.

    ``native`` serves every event; ``ecs`` (a superset) serves documents that came as ECS JSON.
    """
    system = _SYSTEM.get(sigma_field)
    if system is not None:
        return system, system
    native = (_ED + sigma_field, _UD + sigma_field, *_AUDIT.get(sigma_field, ()))
    ecs = (*native, *_ECS.get(sigma_field, ()))
    return (*native, sigma_field), (*ecs, sigma_field)


def is_ecs_document(fields: Mapping[str, FieldValue]) -> bool:
    """Whether the event came as Winlogbeat/Elastic Agent JSON (its ECS names are originals, not copies)."""
    return "ecs.version" in fields or "agent.type" in fields


def lookup(fields: Mapping[str, FieldValue], sigma_field: str) -> FieldValue | None:
    """The event's value for a Sigma field name, or None when the event does not have it."""
    native, ecs = keys(sigma_field)
    for key in ecs if is_ecs_document(fields) else native:
        value = fields.get(key)
        if value is not None:
            return value
    return None
