"""ECS conveniences for the common Windows channels, added on top of the ``winlog.*`` fields.

``enrich(fields)`` picks the dataset from the channel (``windows.security``, ``windows.sysmon``,
``windows.powershell``, ``windows.defender``, ``windows.system``, else ``windows.<channel>``, or
``windows.<provider>`` for ETW-converted events that carry no channel) and, for the events analysts
and detectors look at most, copies values into their ECS names (``user.name``, ``source.ip``,
``process.command_line``, ``file.hash.sha256``, ``dns.question.name``, ``threat.name``...) with
``event.category``/``type``/``action``. The ``winlog.event_data.*`` originals are never removed.

``event.outcome`` follows the project's convention, "success" = allowed, "failure" = blocked/refused:
a failed logon (4625, audit-failure keyword, Kerberos/NTLM status not 0x0) is "failure"; a Defender
remediation that succeeded (1007/1117: the threat was blocked) is "failure" with ``event.type`` "denied";
one that failed (1008/1118/1119: the threat stays) is "success" with ``event.type`` "allowed".
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mimamori.domain.models import Fields, Scalar
from mimamori.parsers import _native
from mimamori.parsers.evtx import channels, values
from mimamori.parsers.evtx.values import (
    Data,
    account,
    category,
    cleared_by,
    copy,
    executable,
    file,
    get,
    hashes,
    ip,
    keywords,
    number,
    user,
)  # fmt: skip

__all__ = ["enrich"]

_DATASETS = {
    "security": "windows.security",
    "microsoft-windows-sysmon/operational": "windows.sysmon",
    "microsoft-windows-powershell/operational": "windows.powershell",
    "powershellcore/operational": "windows.powershell",
    "windows powershell": "windows.powershell",
    "microsoft-windows-windows defender/operational": "windows.defender",
    "system": "windows.system",
    "application": "windows.application",
}
_PROVIDER_DATASETS = {"microsoft-windows-sysmon": "windows.sysmon"}
_UNSAFE_RE = re.compile(r"[^a-z0-9]+")
_AUDIT_FAILURE = 0x10000000000000
_AUDIT_SUCCESS = 0x20000000000000

# event id -> (event.category, event.type, event.action), per channel
_SECURITY = {
    4624: ("authentication", "start", "logged-in"), 4625: ("authentication", "start", "logon-failed"),
    4634: ("authentication", "end", "logged-out"), 4647: ("authentication", "end", "logged-out"),
    4648: ("authentication", "start", "logged-in-explicit"), 4672: ("iam", "admin", "logged-in-special"),
    4688: ("process", "start", "created-process"), 4689: ("process", "end", "exited-process"),
    4697: ("configuration", "creation", "service-installed"),
    4698: ("configuration", "creation", "scheduled-task-created"),
    4719: ("configuration", "change", "changed-audit-config"),
    4720: ("iam", "creation", "added-user-account"), 4722: ("iam", "change", "enabled-user-account"),
    4724: ("iam", "change", "reset-password"), 4726: ("iam", "deletion", "deleted-user-account"),
    4728: ("iam", "change", "added-member-to-group"), 4732: ("iam", "change", "added-member-to-group"),
    4756: ("iam", "change", "added-member-to-group"), 4729: ("iam", "change", "removed-member-from-group"),
    4733: ("iam", "change", "removed-member-from-group"), 4738: ("iam", "change", "modified-user-account"),
    4740: ("iam", "change", "locked-out-user-account"),
    4768: ("authentication", "start", "kerberos-authentication-ticket-requested"),
    4769: ("authentication", "start", "kerberos-service-ticket-requested"),
    4771: ("authentication", "start", "kerberos-preauth-failed"),
    4776: ("authentication", "start", "credential-validated"),
    1102: ("iam", "change", "audit-log-cleared"),
}  # fmt: skip
# Copied as they are; Workstation after WorkstationName, so that it wins when both are set.
_SECURITY_STR = {
    "CommandLine": "process.command_line", "ServiceName": "service.name", "WorkstationName": "source.domain",
    "Workstation": "source.domain", "TargetLogonId": "winlog.logon.id",
}  # fmt: skip
_LOGON_USER_IS_TARGET = frozenset((4624, 4625, 4634, 4647, 4768, 4769, 4770, 4771, 4776, 4778, 4779))
_GROUP_EVENTS = frozenset((4727, 4728, 4729, 4731, 4732, 4733, 4754, 4756, 4757))
_FAILED = frozenset((4625, 4771))
_STATUS_EVENTS = frozenset((4768, 4769, 4776))
_LOGON_TYPES = {
    "0": "System", "2": "Interactive", "3": "Network", "4": "Batch", "5": "Service", "7": "Unlock",
    "8": "NetworkCleartext", "9": "NewCredentials", "10": "RemoteInteractive", "11": "CachedInteractive",
    "12": "CachedRemoteInteractive", "13": "CachedUnlock",
}  # fmt: skip
_SYSMON = {
    1: ("process", "start", "process-created"), 2: ("file", "change", "file-creation-time-changed"),
    3: ("network", "connection", "network-connection"), 5: ("process", "end", "process-terminated"),
    6: ("driver", "start", "driver-loaded"), 7: ("library", "start", "image-loaded"),
    8: ("process", "change", "remote-thread-created"), 9: ("file", "access", "raw-disk-access"),
    10: ("process", "access", "process-accessed"), 11: ("file", "creation", "file-created"),
    12: ("registry", "change", "registry-object-added-or-deleted"),
    13: ("registry", "change", "registry-value-set"), 14: ("registry", "change", "registry-key-renamed"),
    15: ("file", "creation", "file-stream-created"), 16: ("configuration", "change", "sysmon-config-changed"),
    17: ("file", "creation", "pipe-created"), 18: ("file", "access", "pipe-connected"),
    19: ("configuration", "creation", "wmi-filter-registered"),
    20: ("configuration", "creation", "wmi-consumer-registered"),
    21: ("configuration", "creation", "wmi-consumer-bound"), 22: ("network", "protocol", "dns-query"),
    23: ("file", "deletion", "file-deleted"), 25: ("process", "change", "process-tampering"),
    26: ("file", "deletion", "file-delete-logged"), 27: ("file", "denied", "file-block-executable"),
    28: ("file", "denied", "file-block-shredding"), 29: ("file", "creation", "file-executable-detected"),
}  # fmt: skip
_SYSMON_STR = {
    "CommandLine": "process.command_line", "CurrentDirectory": "process.working_directory",
    "ProcessGuid": "process.entity_id", "SourceProcessGuid": "process.entity_id",
    "SourceProcessGUID": "process.entity_id", "ParentCommandLine": "process.parent.command_line",
    "ParentProcessGuid": "process.parent.entity_id", "TargetObject": "registry.path",
    "RuleName": "rule.name", "PipeName": "file.name",
}  # fmt: skip
_SYSMON_INT = {
    "ProcessId": "process.pid", "SourceProcessId": "process.pid", "ParentProcessId": "process.parent.pid",
    "SourcePort": "source.port", "DestinationPort": "destination.port",
}  # fmt: skip


def _security(fields: Fields, data: Data, event_id: int) -> None:
    category(fields, _SECURITY.get(event_id))
    if event_id == 1102:  # written by the Eventlog provider, in UserData
        cleared_by(fields)
        return
    subject = (get(data, "SubjectUserName"), get(data, "SubjectDomainName"), get(data, "SubjectUserSid"))
    target = (get(data, "TargetUserName"), get(data, "TargetDomainName"), get(data, "TargetUserSid"))
    if event_id in _LOGON_USER_IS_TARGET:
        user(fields, "user", *target)
    elif event_id in _GROUP_EVENTS:
        user(fields, "user", *subject)
        user(fields, "group", target[0], target[1], get(data, "TargetSid"))
        user(fields, "user.target", get(data, "MemberName"), None, get(data, "MemberSid"))
    else:
        user(fields, "user", *subject)
        user(fields, "user.target", target[0], target[1], target[2] or get(data, "TargetSid"))
    if event_id == 4688:
        executable(fields, "process", get(data, "NewProcessName"))
        pid, parent = number(get(data, "NewProcessId")), number(get(data, "ProcessId"))
        executable(fields, "process.parent", get(data, "ParentProcessName"))
        if parent is not None:
            fields["process.parent.pid"] = parent
    else:
        executable(fields, "process", get(data, "ProcessName"))
        pid = number(get(data, "ProcessId")) if "process.executable" in fields else None
    if pid is not None:
        fields["process.pid"] = pid
    copy(fields, data, _SECURITY_STR)
    file(fields, get(data, "ServiceFileName"))
    source = ip(get(data, "IpAddress"))
    if source is not None:
        fields["source.ip"] = source
        port = number(get(data, "IpPort"))
        if port:
            fields["source.port"] = port
    logon_type = get(data, "LogonType")
    if logon_type is not None:
        fields["winlog.logon.type"] = _LOGON_TYPES.get(logon_type, logon_type)
    mask = keywords(fields.get("winlog.keywords"))
    if event_id in _FAILED or (mask is not None and mask & _AUDIT_FAILURE):
        fields["event.outcome"] = "failure"
    elif mask is not None and mask & _AUDIT_SUCCESS:
        fields["event.outcome"] = "success"
    if event_id in _STATUS_EVENTS:
        status = get(data, "Status") or get(data, "ResultCode")
        if status is not None:
            fields["event.outcome"] = "success" if number(status) == 0 else "failure"


def _sysmon(fields: Fields, data: Data, event_id: int) -> None:
    category(fields, _SYSMON.get(event_id))
    copy(fields, data, _SYSMON_STR)
    for key, name in _SYSMON_INT.items():
        value = get(data, key)
        count = number(value) if value is not None else None
        if count is not None and (count <= 65535 or not name.endswith("port")):
            fields[name] = count
    executable(fields, "process", get(data, "Image") or get(data, "SourceImage"))
    executable(fields, "process.parent", get(data, "ParentImage"))
    account(fields, "user", get(data, "User") or get(data, "SourceUser"))
    loaded = get(data, "ImageLoaded")
    file(fields, get(data, "TargetFilename") or loaded)
    original = get(data, "OriginalFileName")
    if original is not None:
        fields["file.pe.original_file_name" if loaded else "process.pe.original_file_name"] = original
    hashes(fields, "process" if event_id == 1 else "file", get(data, "Hashes") or get(data, "Hash"))
    if event_id == 3:
        _network(fields, data)
    elif event_id == 22:
        _dns(fields, data)
    elif event_id in (12, 13, 14):
        path = fields.get("registry.path")
        if type(path) is str:
            fields["registry.value"] = path.rpartition("\\")[2]
        details = get(data, "Details")
        if details is not None:
            fields["registry.data.strings"] = [details]


def _network(fields: Fields, data: Data) -> None:
    """Sysmon 3 (network connection): addresses, host names, transport and direction."""
    for key, name in (("SourceIp", "source.ip"), ("DestinationIp", "destination.ip")):
        address = ip(get(data, key))
        if address is not None:
            fields[name] = address
    for key, name in (("SourceHostname", "source.domain"), ("DestinationHostname", "destination.domain")):
        value = get(data, key)
        if value is not None:
            fields[name] = value.rstrip(".").lower()
    protocol = get(data, "Protocol")
    if protocol is not None:
        fields["network.transport"] = protocol.lower()
    initiated = get(data, "Initiated")
    if initiated is not None:
        fields["network.direction"] = "egress" if initiated.lower() == "true" else "ingress"


def _dns(fields: Fields, data: Data) -> None:
    name = get(data, "QueryName")
    if name is not None:
        fields["dns.question.name"] = name.rstrip(".").lower()
    fields["network.protocol"] = "dns"
    results = get(data, "QueryResults")
    if results:
        found = (ip(item.strip()) for item in results.split(";"))
        addresses: list[Scalar] = [address for address in found if address is not None]
        if addresses:
            fields["dns.resolved_ip"] = addresses


# With the C speedups, ``_sysmon`` runs in C (``_speedups_evtx_sysmon.c``, from the tables above; it
# calls back for number()'s odd cases, a non-ASCII hashes() text, _network and _dns). ``_sysmon``
# stays the reference.
if _native.evtx_sysmon_configure is not None:
    _native.evtx_sysmon_configure(
        _SYSMON, _SYSMON_STR, _SYSMON_INT, number, hashes, _network, _dns, values._HASH_FIELDS
    )
_sysmon_handler = _native.evtx_sysmon or _sysmon
# ... and ``_security`` (``_speedups_evtx_security.c``; calls back for cleared_by(), ip(), number()'s and
# keywords()' odd cases).
if _native.evtx_security_configure is not None:
    _native.evtx_security_configure(
        _SECURITY, _SECURITY_STR, _LOGON_USER_IS_TARGET, _GROUP_EVENTS, _FAILED, _STATUS_EVENTS,
        _LOGON_TYPES, ip, keywords, cleared_by,
    )  # fmt: skip
_security_handler = _native.evtx_security or _security

_HANDLERS = {
    "windows.security": _security_handler,
    "windows.sysmon": _sysmon_handler,
    "windows.powershell": channels.powershell,
    "windows.defender": channels.defender,
    "windows.system": channels.system,
}


def _dataset(channel: str | None, provider: str | None) -> str:
    if channel is not None:
        dataset = _DATASETS.get(channel.lower())
        if dataset is not None:
            return dataset
    name = (channel or provider or "").lower()
    dataset = _PROVIDER_DATASETS.get(name)
    if dataset is not None:
        return dataset
    name = _UNSAFE_RE.sub("_", name.removeprefix("microsoft-windows-")).strip("_")[:64]
    return f"windows.{name}" if name else "windows"


_KNOWN: dict[tuple[str | None, str | None], str] = {}  # (channel, provider) -> dataset, bounded
_KNOWN_MAX, _KNOWN_LENGTH = 1024, 256  # entries; characters of channel + provider in one
_CONSTANT = {"observer.vendor": "Microsoft", "observer.product": "Windows", "event.kind": "event"}


def _remember(key: tuple[str | None, str | None]) -> str:
    """The dataset of a (channel, provider) pair, kept in ``_KNOWN`` (bounded; overlong keys not kept)."""
    dataset = _dataset(*key)
    if len(_KNOWN) < _KNOWN_MAX and len(key[0] or "") + len(key[1] or "") <= _KNOWN_LENGTH:
        _KNOWN[key] = dataset
    return dataset


def _enrich(fields: Fields, data: Data) -> str:
    """Add the ECS fields for the record's channel and event id; return its dataset."""
    channel, provider = fields.get("winlog.channel"), fields.get("winlog.provider_name")
    key = (channel if type(channel) is str else None, provider if type(provider) is str else None)
    dataset = _KNOWN.get(key)
    if dataset is None:
        dataset = _remember(key)
    fields.update(_CONSTANT)
    handler = _HANDLERS.get(dataset)
    event_id = fields["winlog.event_id"]
    if handler is not None and type(event_id) is int:
        handler(fields, data, event_id)
    return dataset


# With the C speedups the dispatch above runs in C too (``evtx_enrich``, on the same dicts: a handler
# switched in ``_HANDLERS`` is the one called); ``_enrich`` stays the reference.
if _native.evtx_enrich_configure is not None:
    _native.evtx_enrich_configure(_KNOWN, _remember, _CONSTANT, _HANDLERS)
enrich: Callable[[Fields, Data], str] = _native.evtx_enrich or _enrich
