"""Microsoft Defender for Endpoint alerts to ECS-named Events, one Event per alert.

Two documented shapes are read, one JSON object per line: the Defender API ``Alert`` resource
(``GET /api/alerts``: ``id``, ``incidentId``, ``title``, ``severity``, ``category``, ``status``,
``detectionSource``, ``threatFamilyName``, ``machineId``, ``computerDnsName``, ``firstEventTime``,
``lastUpdateTime``, ``mitreTechniques``, ``relatedUser``, ``evidence[]``...) and the older SIEM
connector shape (``AlertId``, ``AlertTitle``, ``AlertTime``, ``ComputerDnsName``, ``Sha256``,
``IpAddress``, ``RemediationIsSuccess``...). Keys are matched case-insensitively, so ``computerDnsName``
and ``ComputerDnsName`` mean the same. Evidence entities are collected into lists (``file.hash.sha256``,
``file.name``, ``process.command_line``, ``related.ip``, ``url.original``, ``related.user``...).

``event.outcome`` follows the project's convention: "failure" when Defender blocked or remediated the
threat (evidence ``detectionStatus`` Blocked/Prevented/Remediated, ``RemediationIsSuccess`` true),
"success" when it was only detected. Unmapped keys are kept as ``mde.<key>`` (objects flattened, lists of
objects as JSON text). A list response (``{"value": [...]}``) is refused: import its items one per line.
"""

from __future__ import annotations

from typing import Any

from mimamori.domain.models import Event, Fields, RawRecord, Scalar
from mimamori.errors import ParseError
from mimamori.parsers import _json

FORMAT = "mde"

_TIME_KEYS = ("firsteventtime", "alerttime", "alertcreationtime", "firstactivitydatetime", "createddatetime",
              "lastupdatetime")  # fmt: skip
_TEXT = {
    "id": "event.id", "alertid": "event.id", "title": "rule.name", "alerttitle": "rule.name",
    "description": "rule.description", "category": "rule.category", "computerdnsname": "host.name",
    "machinename": "host.name", "machineid": "host.id", "deviceid": "host.id",
    "threatfamilyname": "threat.software.name", "threatfamily": "threat.software.name",
    "threatname": "threat.software.name", "firsteventtime": "event.start", "lasteventtime": "event.end",
    "alertcreationtime": "event.created", "username": "user.name", "userdomain": "user.domain",
    "linktowdatp": "event.url", "linktomtp": "event.url", "detectorid": "rule.uuid",
}  # fmt: skip
# Evidence (and SIEM top-level) keys collected into list fields.
_LISTS = {
    "sha1": ("file.hash.sha1", "related.hash"), "sha256": ("file.hash.sha256", "related.hash"),
    "md5": ("file.hash.md5", "related.hash"), "filename": ("file.name",), "filepath": ("file.path",),
    "ipaddress": ("related.ip",), "url": ("url.original",), "commandline": ("process.command_line",),
    "processcommandline": ("process.command_line",), "accountname": ("related.user",),
    "userprincipalname": ("related.user",), "registrykey": ("registry.key",),
    "domainname": ("user.domain",),
}  # fmt: skip
_SEVERITY = {"informational": 0, "low": 21, "medium": 47, "high": 73}
_BLOCKED = frozenset(("blocked", "prevented", "remediated"))
_MAX_EVIDENCE = 1000


def _collect(lists: dict[str, list[Scalar]], key: str, value: Any) -> bool:
    names = _LISTS.get(key)
    if names is None or type(value) is not str or not value:
        return False
    for name in names:
        target = lists.setdefault(name, [])
        if value not in target:
            target.append(value)
    return True


def _evidence(fields: Fields, lists: dict[str, list[Scalar]], evidence: list[Any]) -> str | None:
    """Collect the entities; return the outcome their ``detectionStatus`` implies."""
    outcome = None
    for entity in evidence[:_MAX_EVIDENCE]:
        if type(entity) is not dict:
            continue
        for key, value in entity.items():
            lower = key.lower()
            if lower == "detectionstatus" and type(value) is str:
                outcome = "failure" if value.lower() in _BLOCKED or outcome == "failure" else "success"
            elif lower == "entitytype" and type(value) is str:
                lists.setdefault("mde.evidence.entity_type", []).append(value)
            else:
                _collect(lists, lower, value)
    return outcome


def _fields(alert: dict[str, Any]) -> Fields:
    fields: Fields = {"observer.vendor": "Microsoft", "observer.product": "Defender for Endpoint",
                      "event.kind": "alert", "event.category": ["intrusion_detection"]}  # fmt: skip
    lists: dict[str, list[Scalar]] = {}
    outcome = None
    for key, value in alert.items():
        lower = key.lower()
        name = _TEXT.get(lower)
        if name is not None and type(value) is str and value:
            fields[name] = value
        elif lower == "severity" and type(value) is str:
            fields["log.level"] = value.lower()
            if value.lower() in _SEVERITY:
                fields["event.severity"] = _SEVERITY[value.lower()]
        elif lower == "evidence" and type(value) is list:
            outcome = _evidence(fields, lists, value)
        elif lower == "mitretechniques" and type(value) is list and all(type(v) is str for v in value):
            fields["threat.technique.id"] = list(value)
            fields["threat.framework"] = "MITRE ATT&CK"
        elif lower == "relateduser" and type(value) is dict:
            for inner, target in (("userName", "user.name"), ("domainName", "user.domain")):
                if type(value.get(inner)) is str and value[inner]:
                    fields[target] = value[inner]
        elif lower == "remediationissuccess" and type(value) is bool:
            outcome = "failure" if value else "success"
            fields["mde.RemediationIsSuccess"] = value
        elif not _collect(lists, lower, value):
            _json.flatten(fields, "mde." + key, value)
    for name, values in lists.items():
        fields[name] = values
    if outcome is not None:
        fields["event.outcome"] = outcome
    if type(fields.get("host.name")) is str:
        fields["host.name"] = str(fields["host.name"]).lower()
    return fields


def parse(record: RawRecord) -> Event | None:
    """Parse one alert object; a blank line gives ``None``, anything malformed raises ``ParseError``."""
    if not record.data.strip():
        return None
    alert = _json.load_object(record.data, "Defender alert")
    if type(alert.get("value")) is list:
        raise ParseError("a Defender alert list: import its items (value[]) one per line")
    lower = {key.lower(): value for key, value in alert.items()}
    timestamp = next((lower[k] for k in _TIME_KEYS if type(lower.get(k)) is str), None)
    if timestamp is None or not any(k in lower for k in ("id", "alertid")):
        raise ParseError("not a Defender alert: no id or no time")
    fields = _fields(alert)
    if b"\\u0000" in record.data:
        fields = _json.clean_nul(fields)
    return Event(
        timestamp=_json.iso_time(timestamp, record.timezone),
        tenant_id=record.tenant_id,
        sensor_id=record.sensor_id,
        dataset="mde.alert",
        fields=fields,
    )
