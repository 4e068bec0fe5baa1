"""Palo Alto Networks PAN-OS syslog CSV (TRAFFIC, THREAT, SYSTEM, CONFIG, GLOBALPROTECT) to ECS Events.

Field positions follow the PAN-OS 10.x/11.x "Syslog Field Descriptions"; every position is read only
when the line has it, so older (8.x/9.x, fewer fields) and newer (extra trailing fields) versions parse
with the same table. Values are CSV: quoted when they contain commas. Times are the device clock
(``YYYY/MM/DD HH:MM:SS``, sensor zone) unless the line carries the high-resolution timestamp with its
offset. Other log types (HIPMATCH, USERID, DECRYPTION...) give an Event with the common header fields.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime

from mimamori.domain.models import Event, Fields, RawRecord, Scalar
from mimamori.errors import ParseError
from mimamori.parsers import _device, syslog

FORMAT = "paloalto"

_TYPES = (
    "TRAFFIC|THREAT|SYSTEM|CONFIG|GLOBALPROTECT|HIPMATCH|USERID|AUTHENTICATION|DECRYPTION|TUNNEL|GTP|SCTP"
    "|IPTAG|CORRELATION|AUDIT"
)
BODY_RE = re.compile(
    rf"(?:^|(?<=\s))[^\s,]{{0,16}},\d{{4}}/\d{{1,2}}/\d{{1,2}} \d{{1,2}}:\d{{2}}:\d{{2}},"
    rf"[^,\s]{{0,32}},({_TYPES}),"
)
_THREAT_ID_RE = re.compile(r"(.*?)\s*\((\d+)\)\s*$")
_SEVERITY = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
# Positions (0-based) shared by TRAFFIC and THREAT.
_NETWORK = (
    (7, "source.ip"), (8, "destination.ip"), (9, "source.nat.ip"), (10, "destination.nat.ip"),
    (11, "rule.name"), (12, "source.user.name"), (13, "destination.user.name"), (14, "network.application"),
    (15, "panos.vsys"), (16, "observer.ingress.zone"), (17, "observer.egress.zone"),
    (18, "observer.ingress.interface.name"), (19, "observer.egress.interface.name"),
    (20, "panos.log_profile"), (22, "panos.session_id"), (28, "panos.flags"), (30, "event.action"),
)  # fmt: skip
_NETWORK_PORTS = (
    (24, "source.port"),
    (25, "destination.port"),
    (26, "source.nat.port"),
    (27, "destination.nat.port"),
)
_TRAFFIC = (
    (37, "panos.url_category"), (39, "panos.sequence_number"), (41, "panos.source_location"),
    (42, "panos.destination_location"), (46, "event.reason"), (52, "observer.name"),
    (53, "panos.action_source"), (65, "rule.uuid"), (82, "source.domain"), (83, "source.mac"),
    (90, "destination.domain"), (91, "destination.mac"),
)  # fmt: skip
_TRAFFIC_INTS = (
    (31, "network.bytes"), (32, "source.bytes"), (33, "destination.bytes"), (34, "network.packets"),
    (44, "source.packets"), (45, "destination.packets"), (23, "panos.repeat_count"),
)  # fmt: skip
_THREAT = (
    (33, "panos.url_category"), (35, "panos.direction"), (36, "panos.sequence_number"),
    (38, "panos.source_location"), (39, "panos.destination_location"), (41, "http.response.mime_type"),
    (43, "file.hash.sha256"), (46, "user_agent.original"), (47, "file.type"), (48, "panos.xff"),
    (49, "http.request.referrer"), (50, "email.from.address"), (51, "email.subject"),
    (52, "email.to.address"),
    (59, "observer.name"), (63, "http.request.method"), (69, "panos.threat_category"),
    (70, "panos.content_version"), (76, "rule.uuid"),
)  # fmt: skip
_SYSTEM = (
    (7, "panos.vsys"), (8, "event.action"), (9, "panos.object"), (12, "panos.module"), (14, "message"),
    (15, "panos.sequence_number"), (22, "observer.name"),
)  # fmt: skip
_CONFIG = (
    (7, "source.address"), (8, "panos.vsys"), (9, "event.action"), (10, "user.name"), (11, "panos.client"),
    (12, "panos.result"), (13, "panos.config_path"), (14, "panos.before_change"), (15, "panos.after_change"),
    (16, "panos.sequence_number"), (23, "observer.name"), (25, "panos.audit_comment"),
)  # fmt: skip
_GLOBALPROTECT = (
    (7, "panos.vsys"), (8, "event.action"), (9, "panos.stage"), (10, "panos.auth_method"),
    (11, "panos.tunnel_type"), (12, "user.name"), (13, "source.geo.region_iso_code"), (14, "host.name"),
    (15, "source.ip"), (16, "panos.public_ipv6"), (17, "panos.private_ip"), (18, "panos.private_ipv6"),
    (19, "host.id"), (21, "panos.client_version"), (22, "host.os.name"), (23, "host.os.version"),
    (25, "event.reason"), (26, "error.message"), (27, "message"), (28, "panos.status"),
    (29, "panos.location"),
    (31, "panos.connect_method"), (32, "error.code"), (33, "panos.portal"), (34, "panos.sequence_number"),
    (41, "panos.gateway"), (47, "observer.name"),
)  # fmt: skip
_HIRES = {"TRAFFIC": 102, "THREAT": 107, "SYSTEM": 25, "CONFIG": 27, "GLOBALPROTECT": 36}
_EMPTY = frozenset(("", "N/A", "any", "0.0.0.0", "::"))  # noqa: S104 - "no address" values, not a bind
_THREAT_CATEGORY = {
    "url": "web", "virus": "malware", "wildfire": "malware", "wildfire-virus": "malware",
    "spyware": "malware",
    "vulnerability": "intrusion_detection", "scan": "intrusion_detection", "flood": "intrusion_detection",
    "packet": "intrusion_detection", "resource": "intrusion_detection", "file": "file", "data": "file",
}  # fmt: skip


def _csv(body: str) -> list[str]:
    if '"' not in body:
        return body.split(",")
    try:
        return next(csv.reader([body]))
    except (csv.Error, StopIteration) as exc:
        raise ParseError(f"bad PAN-OS CSV: {exc}") from exc


def _copy(fields: Fields, f: list[str], table: tuple[tuple[int, str], ...]) -> None:
    n = len(f)
    for index, name in table:
        if index < n:
            value = f[index]
            if value and value not in _EMPTY:
                fields[name] = value


def _ints(fields: Fields, f: list[str], table: tuple[tuple[int, str], ...], *, port: bool = False) -> None:
    n = len(f)
    for index, name in table:
        if index < n:
            number = _device.to_port(f[index]) if port else _device.to_int(f[index])
            if number is not None and (number or not port):
                fields[name] = number


def _network(fields: Fields, f: list[str]) -> None:
    _copy(fields, f, _NETWORK)
    _ints(fields, f, _NETWORK_PORTS, port=True)
    if len(f) > 29 and f[29]:
        fields["network.transport"] = _device.transport(f[29])
    action = fields.get("event.action")
    if isinstance(action, str):
        result = _device.outcome(action)
        if result is not None:
            fields["event.outcome"] = result
    user = fields.get("source.user.name")
    if isinstance(user, str):
        fields["user.name"] = user


def _traffic(fields: Fields, f: list[str], subtype: str) -> None:
    _network(fields, f)
    _copy(fields, f, _TRAFFIC)
    _ints(fields, f, _TRAFFIC_INTS)
    if len(f) > 36:
        seconds = _device.to_int(f[36])
        if seconds is not None and seconds < 2**63 // 10**9:
            fields["event.duration"] = seconds * 10**9
    for name in ("source.mac", "destination.mac"):
        value = fields.get(name)
        if isinstance(value, str):
            fields[name] = _device.mac(value)
    fields["event.category"] = ["network"]
    kind = {"start": "start", "end": "end"}.get(subtype)
    verdict = (
        "allowed"
        if fields.get("event.outcome") == "success"
        else "denied"
        if "event.outcome" in fields
        else None
    )
    types: list[Scalar] = ["connection"]
    if kind:
        types.append(kind)
    if verdict:
        types.append(verdict)
    fields["event.type"] = types


def _threat(fields: Fields, f: list[str], subtype: str) -> None:
    _network(fields, f)
    _copy(fields, f, _THREAT)
    misc = f[31] if len(f) > 31 else ""
    if misc:
        if subtype == "url":
            _device.set_url(fields, misc)
        else:
            fields["file.name"] = misc
    threat = f[32] if len(f) > 32 else ""
    m = _THREAT_ID_RE.fullmatch(threat)
    if m is not None:
        name, number = m.groups()
        if name and subtype != "url":
            fields["threat.name"] = name
        fields["panos.threat_id"] = number
    elif threat:
        fields["threat.name"] = threat
    severity = f[34] if len(f) > 34 else ""
    if severity in _SEVERITY:
        fields["log.level"] = severity
        fields["event.severity"] = _SEVERITY[severity]
    fields["event.category"] = [_THREAT_CATEGORY.get(subtype, "intrusion_detection")]
    fields["event.kind"] = "alert" if subtype != "url" else "event"
    if fields.get("url.category") is None and subtype == "url" and "panos.url_category" in fields:
        fields["url.category"] = fields["panos.url_category"]


def _system(fields: Fields, f: list[str]) -> None:
    _copy(fields, f, _SYSTEM)
    severity = f[13] if len(f) > 13 else ""
    if severity in _SEVERITY:
        fields["log.level"] = severity
        fields["event.severity"] = _SEVERITY[severity]
    action = fields.get("event.action")
    if isinstance(action, str) and action.startswith("auth-"):
        fields["event.category"] = ["authentication"]
        fields["event.outcome"] = "success" if action == "auth-success" else "failure"


def _config(fields: Fields, f: list[str]) -> None:
    _copy(fields, f, _CONFIG)
    fields["event.category"] = ["configuration"]
    result = fields.get("panos.result", "")
    if result == "Succeeded":
        fields["event.outcome"] = "success"
    elif result in ("Failed", "Unauthorized"):
        fields["event.outcome"] = "failure"


def _globalprotect(fields: Fields, f: list[str]) -> None:
    _copy(fields, f, _GLOBALPROTECT)
    status = fields.get("panos.status", "")
    if status in ("success", "failure"):
        fields["event.outcome"] = status
    action = str(fields.get("event.action", ""))
    fields["event.category"] = ["authentication" if "auth" in action or "login" in action else "session"]


def _timestamp(f: list[str], log_type: str, tz: str) -> datetime | None:
    index = _HIRES.get(log_type)
    if index is not None and index < len(f) and len(f[index]) > 19 and f[index][10:11] == "T":
        ts = _device.device_time(f[index], tz)
        if ts is not None:
            return ts
    for value in (f[6], f[1]):  # generated time, then receive time
        ts = _device.device_time(value, tz)
        if ts is not None:
            return ts
    return None


def parse(record: RawRecord) -> Event | None:
    """Parse one PAN-OS syslog CSV line; an empty line carries no event, anything malformed raises."""
    text = syslog.decode(record.data)
    if not text.strip():
        return None
    m = BODY_RE.search(text)
    if m is None:
        raise ParseError("no PAN-OS CSV log header (future,receive time,serial,TYPE,) found")
    f = _csv(text[m.start() :])
    log_type = m.group(1)
    if len(f) < 8:
        raise ParseError(f"PAN-OS {log_type} log truncated: {len(f)} fields")
    subtype = f[4]
    fields: Fields = {
        "observer.vendor": "Palo Alto Networks",
        "observer.product": "PAN-OS",
        "observer.type": "firewall",
    }
    if f[2]:
        fields["observer.serial_number"] = f[2]
    if subtype:
        fields["panos.subtype"] = subtype
    if log_type == "TRAFFIC":
        _traffic(fields, f, subtype)
    elif log_type == "THREAT":
        _threat(fields, f, subtype)
    elif log_type == "SYSTEM":
        _system(fields, f)
    elif log_type == "CONFIG":
        _config(fields, f)
    elif log_type == "GLOBALPROTECT":
        _globalprotect(fields, f)
    else:
        fields["message"] = text[m.start() :]
    header = text[: m.start()].strip()
    if header and "observer.name" not in fields:
        host = _device.split_header(header + " ", syslog.as_utc(record.received_at), record.timezone).hostname
        if host:
            fields["observer.name"] = host
    dataset = "paloalto." + log_type.lower()
    return _device.make_event(record, dataset, fields, _timestamp(f, log_type, record.timezone))
